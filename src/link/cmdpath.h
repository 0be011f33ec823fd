/* SPDX-License-Identifier: MIT */
/*
 * The command transport: the profile's --tunnel-command template (e.g. gost) with
 * {{host}} {{port}} {{user}} {{mosh_port}} {{local_port}} substituted, each value
 * shell-quoted, run through /bin/sh in its own process group, and restarted with backoff
 * whenever it exits, until freed.  The local relay sends mosh's datagrams to
 * 127.0.0.1:{{local_port}}, where the command listens.
 *
 * The command's stdout and stderr go through one pipe read on the loop: each line, made
 * printable and cut to a bounded length, goes to the log as "NAME[PID]: line", and the
 * last non-empty one ends the event sent when the command exits.  Nothing more of the
 * output is kept.  The command inherits no descriptor of moshman's beyond 0-2 (stdin is
 * /dev/null).
 */
#ifndef MOSHMAN_CMDPATH_H
#define MOSHMAN_CMDPATH_H

#include <stddef.h>

struct ev_loop;
struct cmdpath;

struct cmdpath_vars {
	const char *host;
	int port;
	const char *user; /* NULL: empty */
	int mosh_port;
	int local_port;
};

/* The command line for tmpl (pure).  Unknown or unterminated placeholders are errors
 * (-1 and a message); otherwise 0 and *out allocated. */
int
cmdpath_expand(const char *tmpl, const struct cmdpath_vars *, char **out, char *err, size_t errsz);

/* msg: "tunnel command started (pid N)", "tunnel command exited with status 1 after 0.3 s:
 * LAST LINE OF ITS OUTPUT; restarting in 0.2 s" (no ": ..." when it printed nothing). */
typedef void (*cmdpath_event_cb)(const char *msg, void *arg);

struct cmdpath *cmdpath_new(struct ev_loop *, const char *command, cmdpath_event_cb, void *arg);
/* Starts the command (and keeps it running). */
void cmdpath_start(struct cmdpath *);
/* Restarts the command at once (a reconnect request): SIGTERM to its process group,
 * SIGKILL 2 s later if it is still there, started again as soon as it has exited
 * (without backoff); between runs, starts it now.  Never blocks. */
void cmdpath_restart(struct cmdpath *);
/* Ends the command's process group (SIGTERM; SIGKILL after 2 s) and frees. */
void cmdpath_free(struct cmdpath *);
/* The current child's pid, 0 when none runs. */
int cmdpath_pid(const struct cmdpath *);

#endif
