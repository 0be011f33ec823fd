/* SPDX-License-Identifier: MIT */
/* The dashboard's entry point, for ui/main.c. */
#ifndef MOSHMAN_DASH_H
#define MOSHMAN_DASH_H

struct db;

struct dash_opts {
	int no_unicode;
	int tmux_windows; /* inside tmux, Enter opens the session in a new window */
};

int dash_run(struct db *, const char *db_path, const struct dash_opts *);

#endif
