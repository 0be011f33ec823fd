/* SPDX-License-Identifier: MIT */
/*
 * One session, start to end: the bootstrap (route, host key, auth, mosh-server), the
 * session's database row and its events, the local relay, and mosh-client as a child
 * (on a pseudo-terminal of the supervisor's own with attach_fd, src/session/attach.h; else
 * on this terminal).  The supervisor stays behind while the client runs, writes the
 * relay's counters to the row about once a second, notices a mosh-server that died (the
 * relay's refusal on tcp, silence on udp, each confirmed by a pid check over ssh), and
 * ends the session by the ending rule (src/session/ending.h).
 */
#ifndef MOSHMAN_SUPERVISOR_H
#define MOSHMAN_SUPERVISOR_H

struct db;
struct db_host;
struct sshconn_config;

struct supervisor_opts {
	const char *name;           /* host profile, loaded by name when host is NULL */
	const struct db_host *host; /* or the profile itself (an ad hoc target, a profile
	                               with options for this run); id 0: not stored */
	const char *transport;      /* override, NULL: the profile's */
	const char *hostkey_policy; /* override, NULL: the profile's */
	int quiet;                  /* no progress lines */
	/* Persistent sessions (src/session/attach.h): >= 0, mosh-client runs on a terminal
	 * the supervisor owns, the supervisor leaves this terminal's session when it starts
	 * it, and this connected socket is the first attached terminal.  -1: mosh-client
	 * runs on this terminal and the session ends with it. */
	int attach_fd;
	int detached; /* with attach_fd: start detached (only tell attach_fd
	                             * the session is up); no terminal needed */
};

#include <stddef.h>

/* Errors found before anything started, returned as values with the message in err
 * (the command prints it): */
#define SUPERVISOR_FAIL (-1)  /* the world said no (no such profile, the database) */
#define SUPERVISOR_USAGE (-2) /* an unusable option or profile value */

/* Runs the session in the foreground.  Returns the exit status for the command: the
 * client's own status once it ran, 1 when connecting failed (the one line was printed),
 * or SUPERVISOR_FAIL / SUPERVISOR_USAGE with err set.  However the session ends, it goes
 * through the ending rule (src/session/ending.h): the row is closed only once mosh-server
 * is known gone.  Signals: SIGHUP, SIGTERM and SIGINT end the session (mosh-client first);
 * SIGUSR1 is `moshman kill` (asked again while ending: stop waiting for the link); SIGUSR2
 * is `moshman reconnect`. */
int supervisor_run(struct db *, const struct supervisor_opts *, char *err, size_t errlen);

/* The ssh settings of a host profile with a host key policy (ask, accept-new, strict).
 * Strings point into h.  0, or SUPERVISOR_USAGE / SUPERVISOR_FAIL with err set. */
int supervisor_sshconn_config(const struct db_host *h, const char *policy,
    struct sshconn_config *cfg, char *err, size_t errlen);

/* mosh's own server options a profile may set (NULL: none of them). */
struct supervisor_server_opts {
	const char *bind_addr; /* -i ADDR (mosh --bind-server=ADDR), NULL: by the route */
	int port_lo, port_hi;  /* -p LO[:HI] (mosh -p), 0: mosh's default range */
};

/* The remote command line that starts mosh-server (pure; every value shell-quoted).
 * tunnel != 0: bind to 127.0.0.1 for a relay on the host (-i), else -i bind_addr when
 * given, else -s unless bind_any (a route where the ssh address is not the one UDP can
 * reach, or --bind-server any).  Allocated. */
char *supervisor_server_command(const char *server_command, int colors, const char *const *locales,
    int nlocales, long long idle_timeout, int signal_timeout, int tunnel, int bind_any,
    const struct supervisor_server_opts *);

#endif
