/*
 * One session, start to end: the bootstrap (route, host key, auth, mosh-server), the
 * session's database row and its events, the local relay, and mosh-client as a child
 * (on a pseudo-terminal of the supervisor's own with attach_fd, src/session/attach.h; else
 * on this terminal).  The supervisor stays behind while the client runs, writes the
 * relay's counters to the row about once a second, and ends with the client.
 */
#ifndef MOSHMAN_SUPERVISOR_H
#define MOSHMAN_SUPERVISOR_H

struct db;
struct db_host;
struct sshconn_config;

struct supervisor_opts {
	const char *name;           /* host profile */
	const char *transport;      /* override, NULL: the profile's */
	const char *hostkey_policy; /* override, NULL: the profile's */
	int quiet;                  /* no progress lines */
	/* Persistent sessions (src/session/attach.h): >= 0, mosh-client runs on a terminal
	 * the supervisor owns, the supervisor leaves this terminal's session when it starts
	 * it, and this connected socket is the first attached terminal.  -1: mosh-client
	 * runs on this terminal and the session ends with it. */
	int attach_fd;
	int detached;               /* with attach_fd: start detached (only tell attach_fd
	                             * the session is up); no terminal needed */
};

/* Runs the session in the foreground.  Returns the exit status for the command: the
 * client's own status once it ran, 1 when connecting failed, 2 for unusable options. */
int supervisor_run(struct db *, const struct supervisor_opts *);

/* The ssh settings of a host profile with a host key policy (ask, accept-new, strict).
 * Strings point into h.  0, or the exit status after a message (2 usage, 1 failure). */
int supervisor_sshconn_config(const struct db_host *h, const char *policy,
    struct sshconn_config *cfg);

/* The remote command line that starts mosh-server (pure; every value shell-quoted).
 * tunnel != 0: bind to 127.0.0.1 for a relay on the host (-i), else -s unless
 * bind_any (a route where the ssh address is not the one UDP can reach).
 * Allocated. */
char *supervisor_server_command(const char *server_command, int colors,
    const char *const *locales, int nlocales, long long idle_timeout, int signal_timeout,
    int tunnel, int bind_any);

#endif
