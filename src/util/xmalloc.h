/* SPDX-License-Identifier: MIT */
/* Allocation helpers that never return NULL, and the two fatal error paths. */
#ifndef MOSHMAN_XMALLOC_H
#define MOSHMAN_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int xvasprintf(char **, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* Overwrite a secret before freeing it; NULL is fine. */
void xfree_secret(char *);

/* Broken invariants only: restore the terminal (see fatal_set_hook), print, exit 1.
 * fatal() appends strerror(errno). */
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The ui layer registers endwin() here so a fatal error never leaves curses behind. */
void fatal_set_hook(void (*)(void));

#endif
