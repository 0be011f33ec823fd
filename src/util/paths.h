/* SPDX-License-Identifier: MIT */
/* Where moshman keeps its files. */
#ifndef MOSHMAN_PATHS_H
#define MOSHMAN_PATHS_H

/* The database path: explicit (--db), else $MOSHMAN_DB, else
 * $XDG_DATA_HOME/moshman/moshman.db, else ~/.local/share/moshman/moshman.db.
 * Returns an allocated string. */
char *paths_db(const char *explicit_path);
/* Creates every missing directory above path, mode 0700.  -1 and errno on failure. */
int paths_make_parent(const char *path);
/* The current user's home directory (never NULL). */
const char *paths_home(void);
/* Expand a leading "~/" (or a lone "~") against the home directory.  Allocated. */
char *paths_expand_tilde(const char *);

#endif
