/* SPDX-License-Identifier: MIT */
/* Quoting for command lines run by a remote POSIX shell (the ssh exec channel). */
#ifndef MOSHMAN_SHQUOTE_H
#define MOSHMAN_SHQUOTE_H

/*
 * One word, any bytes, wrapped in single quotes so that no POSIX shell expands anything
 * in it: each ' becomes '\'' and the empty string becomes ''.  Every word is quoted,
 * even a harmless one, so no word can turn into an assignment or a glob.  Allocated
 * (free with free()); never NULL.
 */
char *shquote(const char *);

/*
 * Join argv[0..argc) (argc < 0: up to a NULL entry) into one command line, every word
 * passed through shquote() and separated by one space.  Allocated; never NULL.
 */
char *shquote_argv(int argc, const char *const *argv);

/*
 * Like shquote_argv, but the leading words of the form NAME=VALUE, where NAME is a valid
 * shell variable name, are environment for the command: "env A='x y' 'mosh-server'
 * 'new'", which csh and tcsh login shells run as well as POSIX ones.  (If the command
 * word itself contains '=', env would misread it, and the POSIX prefix form "A='x y'
 * 'cmd'" is used instead.)
 */
char *shquote_env_argv(int argc, const char *const *argv);

/*
 * A command line that runs SCRIPT (a POSIX sh script, any bytes but NUL) with $0 = NAME
 * and "$@" = WORDS (already quoted for sh, e.g. by shquote_argv; NULL for none), whatever
 * the login shell that reads the line: sh, bash, dash, BusyBox, csh, tcsh or fish.  The
 * script travels inside single-quoted words that hold no quote, newline, backslash or !
 * (all written as printf %b escapes), cut into runs of at most 1,000 bytes:
 *   sh -c 'eval "$(printf %b "$@")"' NAME 'set -- WORDS\n...' '...'
 * Trailing newlines of the script are dropped (command substitution).  Allocated.
 */
char *shquote_script(const char *name, const char *script, const char *words);

#endif
