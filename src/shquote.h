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
 * shell variable name, keep NAME= bare and quote only VALUE, so that the shell still
 * treats them as environment assignments for the command ("A='x y' mosh-server new").
 */
char *shquote_env_argv(int argc, const char *const *argv);

#endif
