/* SPDX-License-Identifier: MIT */
/*
 * How a session ends: one rule for every way it can (the remote shell exits, the
 * terminal hangs up, SIGTERM, `moshman kill`, mosh-client dies, mosh-server dies, the
 * start fails).  The rule: a row is closed (or failed) only once its mosh-server is known
 * to be gone; until then the supervisor stops it over a live link, or keeps trying while
 * the link is down, and the row says `orphaned` (with the reason) meanwhile.  A supervisor
 * that must exit before it succeeds leaves the row orphaned, and `scan` then calls the
 * server ours-orphaned, a default target of `clean`.
 *
 * "Known gone" means one of: mosh's own shutdown handshake completed (mosh-client exits
 * with status 0 only when mosh-server acknowledged the shutdown, or itself shut down
 * first: mosh's stmclient.cc), the stop script's answer (below), or the relay's refusal
 * confirmed by the same script's pid check.
 *
 * Pure: the supervisor (src/session/supervisor.c) fills in what it knows, applies the
 * action, and asks again whenever something changes (mosh-client exited, the link came
 * back, the stop script answered, time ran out).
 */
#ifndef MOSHMAN_ENDING_H
#define MOSHMAN_ENDING_H

#include <stddef.h>

/* How long a supervisor whose mosh-client is gone keeps trying to reach the host to stop
 * mosh-server (a link that is down, a host that does not answer); then it exits and
 * leaves the row orphaned for `clean`.  `moshman kill` cuts the wait short. */
#define ENDING_RETRY_S 600
/* Between two attempts to reach the host while the link is down. */
#define ENDING_RETRY_EVERY_S 2
/* The stop script: SIGTERM, then after this long SIGKILL (mosh-server's own shutdown
 * waits up to 10 s for a client that is gone). */
#define ENDING_TERM_WAIT_DS 20 /* tenths of a second */

enum ending_cause {
	ENDING_EXIT,          /* mosh-client exited with status 0: mosh's own shutdown */
	ENDING_CLIENT_FAILED, /* mosh-client exited with another status */
	ENDING_CLIENT_SIGNAL, /* mosh-client was killed by a signal (a crash, the OOM killer) */
	ENDING_HANGUP,        /* the supervisor's terminal hung up (SIGHUP) */
	ENDING_TERM,          /* SIGTERM or SIGINT to the supervisor */
	ENDING_KILL,          /* moshman kill */
	ENDING_SERVER_DIED,   /* mosh-server ended on the host by itself (confirmed) */
	ENDING_START_FAILED,  /* the start failed before mosh-client ran */
};

enum ending_server {
	ENDING_SERVER_NONE,    /* never started (no MOSH CONNECT) */
	ENDING_SERVER_UNKNOWN, /* started, not known to be stopped */
	ENDING_SERVER_GONE,    /* known gone (see above) */
};

struct ending_in {
	enum ending_cause cause;
	enum ending_server server;
	int client_running; /* mosh-client still runs */
	int link_up;        /* a command can run on the host now */
	int link_possible;  /* the link may come back (no changed host key, no refused login
			       * that retrying cannot fix) */
	int time_left;      /* the supervisor may keep trying (ENDING_RETRY_S not over, no
			       * `moshman kill` while waiting) */
};

enum ending_action {
	ENDING_END_CLIENT,  /* end mosh-client (it restores the terminal); ask again after */
	ENDING_STOP_SERVER, /* run the stop script over the live link; ask again with its
			     * answer */
	ENDING_WAIT_LINK,   /* the link is down: bring it back, ask again when it is up (or
			     * on the next attempt); the row says `state` meanwhile */
	ENDING_FINISH,      /* write `state` and exit */
};

struct ending_out {
	enum ending_action action;
	const char *state; /* the row's state now (NULL: leave it): closed, failed, killed,
			     * orphaned */
	int tell_user;     /* on FINISH: one line in the user's terminal says why */
};

void ending_decide(const struct ending_in *, struct ending_out *);

/* "mosh-client was killed by signal 9", "the terminal hung up", ... for events and the
 * user's line.  detail: the status or signal number where the cause has one. */
void ending_cause_text(enum ending_cause, int detail, char *buf, size_t len);

/* The stop script's words for shquote_script: PID and "check" (is it still there?) or
 * "stop" (SIGTERM, then SIGKILL).  The script itself: ending_stop_script(). */
const char *ending_stop_script(void);
void ending_stop_words(long long pid, int stop, char *buf, size_t len);

enum ending_answer {
	ENDING_ANS_GONE,    /* no such process, or the pid is no mosh-server of ours now */
	ENDING_ANS_ALIVE,   /* check: it runs; stop: it survived SIGKILL too */
	ENDING_ANS_STOPPED, /* stop: it exited after SIGTERM */
	ENDING_ANS_KILLED,  /* stop: it exited after SIGKILL */
	ENDING_ANS_BAD,     /* the answer is not the script's (cut off, garbage) */
};
/* Parses the script's stdout (hostile: any bytes). */
enum ending_answer ending_stop_parse(const char *out, size_t len);
/* Did the answer prove the server gone? */
int ending_answer_gone(enum ending_answer);

#endif
