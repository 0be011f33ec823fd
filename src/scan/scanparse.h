/* SPDX-License-Identifier: MIT */
/* Pure parsers of what src/scan/scan_collect.sh and src/scan/scan_kill.sh print on a remote host
 * (formats described at the top of those scripts).  The remote output is hostile: other
 * users' processes and utmp entries feed into it, so every field is checked, anything
 * doubtful is flagged, and a cut-off transfer leaves the result marked incomplete. */
#ifndef MOSHMAN_SCANPARSE_H
#define MOSHMAN_SCANPARSE_H

#include <stddef.h>

#define SCANPARSE_MAXPORTS 8

enum scan_utmp {
	SCAN_UTMP_NONE,     /* no mark names this pid */
	SCAN_UTMP_DETACHED, /* "mosh [PID]": no client heard for 30 s, or never */
	SCAN_UTMP_ATTACHED, /* "ADDR via mosh [PID]": a client was heard lately */
};

struct scan_server {
	long pid;
	long ppid;
	long uid;
	char *start;   /* start token, NULL if unknown */
	long elapsed;  /* seconds, -1 if unknown */
	char *tty;     /* the server's own tty, NULL if none */
	char *comm;    /* printable (escaped) */
	char *cmdline; /* printable (escaped), argv joined by spaces */
	int is_mosh;   /* comm and argv[0] both name mosh-server */

	int ports[SCANPARSE_MAXPORTS];
	size_t nports;

	enum scan_utmp utmp;
	char *utmp_host;  /* printable, e.g. "127.0.0.1 via mosh [42]" */
	char *utmp_tty;   /* the tty of that utmp line */
	int utmp_marks;   /* how many utmp lines name this pid */
	int utmp_foreign; /* a line of another user names this pid */

	long twin_of;    /* parent pid if the parent is a listed mosh-server */
	int has_twin;    /* a listed mosh-server is its child: no client yet */
	char *child_tty; /* tty of its child (shell or twin), NULL if none */
	int child_ttys_differ;

	int tainted; /* listed twice or contradicting itself */
};

struct scan_result {
	int complete; /* header, trailer, nothing after it */
	int suspect;  /* a record of the script's own was malformed */
	long uid;     /* login user, -1 if unknown */
	char *user;   /* login name, NULL if unknown */
	char *os;
	char *boot;
	char *mode;       /* proc, ps or none */
	char *ports_from; /* ss, netstat, procfd, lsof or none */
	long now;         /* remote epoch seconds, -1 if unknown */
	long uptime;      /* -1 if unknown */
	int utmp_seen;    /* who ran */
	int utmp_damaged; /* a who line was malformed: marks are untrusted */

	struct scan_server *servers;
	size_t nservers;
	char **missing; /* tools the host lacks */
	size_t nmissing;
	char **warnings; /* printable */
	size_t nwarnings;
};

/* The scripts to send to `sh -s` on the remote host (NUL-terminated text): the
 * collector takes no arguments; the kill script takes what scanparse_kill_args builds. */
const char *scanparse_collect_script(void);
const char *scanparse_kill_script(void);

/* Parse a collector's whole output.  Returns 0 and fills r (check r->complete), or -1
 * with *error set when the text is not collector output at all.  r is always safe to
 * pass to scanparse_free. */
int scanparse_collect(const char *buf, size_t len, struct scan_result *r, char **error);
void scanparse_free(struct scan_result *r);
/* The server with that pid, or NULL. */
const struct scan_server *scanparse_find(const struct scan_result *r, long pid);

/* Parsers of single raw tool lines, exposed for tests: each returns 0 and the port
 * (and pid) found, or -1 if the line is not of that form. */
int scanparse_ss_line(const char *line, int *port, long *pids, size_t maxpids, size_t *npids);
int scanparse_netstat_line(const char *line, int *port, long *pid);
int scanparse_procnet_line(const char *line, int *port, unsigned long *inode);

/* One utmp line of `who` (GNU, BusyBox or BSD layout).  Returns 1 with the fields
 * filled if it carries a mosh mark, 0 if it is a well-formed line without one, -1 if it
 * is malformed (for instance one half of a line that a newline in a host name broke). */
struct scan_who {
	char *user;
	char *tty;
	long pid;
	enum scan_utmp state;
	char *host;
};
int scanparse_who_line(const char *line, struct scan_who *w);
void scanparse_who_free(struct scan_who *w);

/* Elapsed time as ps prints it ([[dd-]hh:]mm:ss) or plain seconds; -1 if malformed. */
long scanparse_etime(const char *s);
/* True if s is a start token as the scripts print it. */
int scanparse_token_ok(const char *s);

/* ---- the kill script ----------------------------------------------------------------- */

enum scan_kill_status {
	SCAN_KILL_GONE,          /* no such process: nothing sent */
	SCAN_KILL_NOT_MOSH,      /* pid is something else now: nothing sent */
	SCAN_KILL_NOT_OWNER,     /* pid belongs to another user: nothing sent */
	SCAN_KILL_START_CHANGED, /* pid was reused: nothing sent */
	SCAN_KILL_BAD_REQUEST,   /* the request was malformed: nothing sent */
	SCAN_KILL_EXITED,        /* signalled, and it exited within the wait */
	SCAN_KILL_KILLED,        /* still there after the wait, SIGKILLed, gone */
	SCAN_KILL_ALIVE,         /* still running */
	SCAN_KILL_FAILED,        /* kill(1) refused */
};

struct scan_kill_req {
	long pid;
	const char *start;
};

struct scan_kill_report {
	long pid;
	enum scan_kill_status status;
	char signals[16]; /* "TERM", "TERM,KILL", "" */
	int waited;
};

struct scan_kill_result {
	int complete;
	long uid;
	struct scan_kill_report *reports;
	size_t nreports;
};

/* The arguments after `sh -s --` for src/scan/scan_kill.sh: "-s TERM [-f] PID:START ...".
 * Every token is checked so the string is safe in a remote shell command without
 * quoting.  Returns 0, or -1 with *error set. */
int scanparse_kill_args(const struct scan_kill_req *reqs, size_t n, int usr1, int force, char **out,
    char **error);
int scanparse_kill(const char *buf, size_t len, struct scan_kill_result *r, char **error);
void scanparse_kill_free(struct scan_kill_result *r);
const char *scanparse_kill_status_name(enum scan_kill_status);
/* True if the process that was asked for no longer runs (including a reused pid). */
int scanparse_kill_gone(enum scan_kill_status);

#endif
