/* SPDX-License-Identifier: MIT */
/*
 * A forced reconnect: ask the supervisor of a live session to rebuild its link now
 * (SIGUSR2; src/session/supervisor.c says what that means on each path).  Shared by
 * `moshman reconnect` and the dashboard's r, so both check the same things: the session
 * is live, and the recorded supervisor pid is still that supervisor (pid, start time,
 * boot, checked through a pidfd so a reused pid is never signalled).  A supervisor that
 * is gone gets its session marked orphaned, as the sessions listing does.
 */
#ifndef MOSHMAN_RECONNECT_H
#define MOSHMAN_RECONNECT_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Session id, read afresh.  0: signalled, msg says what the supervisor will do; -1:
 * nothing signalled, msg says why. */
int reconnect_request(struct db *, int64_t id, char *msg, size_t msgsz);
struct db_session;
/* The check and the signal alone, for any request to a supervisor (`moshman kill` sends
 * SIGUSR1): 0 sent; -1 nothing sent, msg says why (a supervisor that is gone gets its
 * session marked orphaned or failed). */
int reconnect_signal(struct db *, const struct db_session *, int sig, char *msg, size_t msgsz);

#endif
