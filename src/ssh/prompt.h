/* SPDX-License-Identifier: MIT */
/* Questions on the controlling terminal (/dev/tty), never on stdin/stdout, so they work
 * while those are redirected and never end up in a pipe or a log. */
#ifndef MOSHMAN_PROMPT_H
#define MOSHMAN_PROMPT_H

#include <stddef.h>

/* Is there a controlling terminal to ask on? */
int prompt_available(void);
/* Prints text (no newline added) on the terminal; -1 without one. */
int prompt_say(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Asks until the answer is "yes" or "no" (OpenSSH style).  1 yes, 0 no (also on EOF or
 * Ctrl-C), -1 without a terminal. */
int prompt_yesno(const char *question);
/* Reads one line with echo off when echo == 0.  Allocated (free with xfree_secret), or
 * NULL without a terminal, on EOF or on Ctrl-C.  The terminal's mode is always restored. */
char *prompt_line(const char *prompt, int echo);

#endif
