/* SPDX-License-Identifier: MIT */
#include "src/session/supervisor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "src/util/clock.h"
#include "src/link/localrelay.h"
#include "src/link/cmdpath.h"
#include "src/link/health.h"
#include "src/util/log.h"
#include "src/session/ending.h"
#include "src/session/attach.h"
#include "src/session/moshconnect.h"
#include "src/util/proc.h"
#include "src/ssh/proxy.h"
#include "src/ssh/resolve.h"
#include "src/util/shquote.h"
#include "src/ssh/sshconn.h"
#include "src/link/autopath.h"
#include "src/link/netwatch.h"
#include "src/link/transport.h"
#include "src/link/udpsock.h"
#include "src/link/rrelay.h"
#include "src/link/tunnel.h"
#include "src/util/xmalloc.h"

#define SUP_SIGNAL_TMOUT 60 /* SIGUSR1 ends a server only after this long detached */
#define SUP_CONNECT_TIMEOUT 15000
#define SUP_REOPEN_TIMEOUT 5000 /* opens while ending or checking: the link may be down */
#define SUP_STOP_TIMEOUT 10000  /* the stop script waits up to 3 s itself */
#define SUP_FAIL 1              /* exit status: connecting failed */
/* udp: mosh-client sends and nothing has come back for this long: is mosh-server still
 * there?  (mosh acks every 3 s; src/link/health.h calls 3.5 s degraded.)  Asked again
 * after SUP_CHECK_EVERY_MS, doubling while the silence lasts, up to SUP_CHECK_MAX_MS. */
#define SUP_CHECK_SILENCE_MS 4000
#define SUP_CHECK_EVERY_MS 10000
#define SUP_CHECK_MAX_MS 120000
/* mosh-client asked to end (SIGTERM) gets this long to restore the terminal and exit
 * (its shutdown handshake waits for a server that may be gone), then SIGKILL. */
#define SUP_CLIENT_GRACE_S 3.

extern char **environ;

struct sup {
	struct ev_loop *loop;
	struct db *db;
	const struct supervisor_opts *opts;
	struct db_host host;
	struct db_session row;
	int have_row;
	const char *transport; /* what was asked */
	enum transport tr;
	struct localrelay *relay;
	struct sshconn *ssh;
	struct tunnel *tunnel;
	struct autopath *ap; /* transport auto (the relay's path owns it) */
	struct netwatch *nw; /* network changes and wake-ups, once mosh-client runs */
	/* Finding mosh's UDP address off the loop (sup_udp_addr): the lookup under way, the
	 * name it is for, whether that is the jump host, and what runs with the answer. */
	struct resolve *udp_res;
	char *udp_name;
	int udp_jump;
	void (*udp_then)(struct sup *, int found);
	struct cmdpath *cmdpath;
	char *command_line; /* transport command: the expanded command, for restarts */
	int colors;
	int bind_any;                      /* mosh-server on every address (no -s) */
	char relay_host[INET6_ADDRSTRLEN]; /* where the relay finds mosh-server (auto) */
	char key[MOSHCONNECT_KEY_LEN + 1];
	char remote_addr[INET6_ADDRSTRLEN];

	pid_t client;
	struct attach *att; /* attach_fd >= 0: mosh-client's terminal and socket */
	ev_child child_w;
	ev_timer stats_w;
	ev_signal sig_int, sig_term, sig_hup;
	ev_signal sig_usr1; /* `moshman kill`: end the session */
	ev_signal sig_usr2; /* `moshman reconnect`: rebuild the link now */
	int64_t link_since; /* ms epoch the current link came up (health counts from) */
	int forced;         /* links rebuilt on request outside the tunnel (command) */

	struct tunnel_config tc; /* tcp, auto: to build the tunnel again after a check */
	struct termios tio;      /* this terminal before mosh-client, restored if it dies */
	int have_tio;
	int no_tty; /* the terminal hung up: nothing more is written to it */

	/* Is mosh-server still there? (the relay's refusal on tcp, silence on udp) */
	int checking;
	int tunnel_lost;    /* the tunnel gave up while mosh-client runs: the row says
				  * degraded (with why) until a reconnect gets through */
	int64_t next_check; /* mono ms */
	int64_t check_every;
	int64_t check_rx; /* last_down_ms when the last check ran */
	ev_timer check_w; /* starts the check from the loop */

	/* The ending (src/session/ending.h): what is known, fed to ending_decide. */
	int ending;
	enum ending_cause cause;
	int cause_detail;
	enum ending_server server;
	char start_error[1024]; /* cause ENDING_START_FAILED: the message */
	char server_note[256];  /* what was learned about mosh-server */
	int end_busy;           /* an open or the stop script is under way */
	int gave_up;            /* asked again (moshman kill, SIGTERM): stop waiting */
	int orphan_written;     /* the row says orphaned while the link is down */
	int client_signalled;
	int64_t end_deadline; /* mono ms: stop waiting for the link */
	int64_t next_try;     /* mono ms: the next open or stop attempt */
	ev_timer end_w;       /* the next attempt */
	ev_timer client_w;    /* SUP_CLIENT_GRACE_S after asking mosh-client to end */

	int rc; /* exit status */
	int done;
};

/* ---- messages ---------------------------------------------------------------------- */

static void
sup_event(struct sup *s, const char *kind, const char *msg)
{
	if (s->have_row && db_event_add(s->db, s->row.id, kind, msg) != DB_OK)
		log_debug("supervisor: event not recorded: %s", db_error(s->db));
}

static void
sup_progress(const char *step, void *arg)
{
	struct sup *s = arg;

	/* Once mosh-client ran, the terminal is its own (and after it, the ending's one
	 * line): events only, and only for the bootstrap. */
	if (!s->opts->quiet && s->row.client_pid == 0)
		fprintf(stderr, "moshman: %s...\n", step);
	if (s->row.client_pid == 0)
		sup_event(s, "step", step);
}

static void
sup_progressf(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sup_progressf(struct sup *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sup_progress(buf, s);
}

static void sup_end(struct sup *, enum ending_cause, int);
static void sup_end_step(struct sup *);
static void sup_paths_stop(struct sup *);
static void sup_restore_terminal(struct sup *);
static void sup_udp_watch(struct sup *, const struct localrelay_stats *);

/* A failure before mosh-client ran.  The ending rule deals with a mosh-server that may
 * have started (stopped first: the row says failed, or orphaned if it cannot be), then
 * the message is the user's one line. */
static void sup_fail(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sup_fail(struct sup *s, const char *fmt, ...)
{
	va_list ap;

	if (s->ending)
		return;
	va_start(ap, fmt);
	vsnprintf(s->start_error, sizeof s->start_error, fmt, ap);
	va_end(ap);
	sup_end(s, ENDING_START_FAILED, 0);
}

/* ---- pure pieces ------------------------------------------------------------------- */

char *
supervisor_server_command(const char *server_command, int colors, const char *const *locales,
    int nlocales, long long idle_timeout, int signal_timeout, int tunnel, int bind_any,
    const struct supervisor_server_opts *so)
{
	const char **argv;
	char *net = NULL, *sig = NULL, *col = NULL, *ports = NULL, *cmd;
	int argc = 0;

	argv = xcalloc((size_t)nlocales * 2 + 16, sizeof *argv);
	if (idle_timeout > 0) {
		xasprintf(&net, "MOSH_SERVER_NETWORK_TMOUT=%lld", idle_timeout);
		argv[argc++] = net;
	}
	xasprintf(&sig, "MOSH_SERVER_SIGNAL_TMOUT=%d", signal_timeout);
	argv[argc++] = sig;
	xasprintf(&col, "%d", colors);
	argv[argc++] = server_command;
	argv[argc++] = "new";
	argv[argc++] = "-c";
	argv[argc++] = col;
	if (tunnel) {
		argv[argc++] = "-i";
		argv[argc++] = "127.0.0.1";
	} else if (so != NULL && so->bind_addr != NULL) {
		argv[argc++] = "-i";
		argv[argc++] = so->bind_addr;
	} else if (!bind_any)
		argv[argc++] = "-s";
	if (so != NULL && so->port_lo > 0) {
		if (so->port_hi > so->port_lo)
			xasprintf(&ports, "%d:%d", so->port_lo, so->port_hi);
		else
			xasprintf(&ports, "%d", so->port_lo);
		argv[argc++] = "-p";
		argv[argc++] = ports;
	}
	for (int i = 0; i < nlocales; i++) {
		argv[argc++] = "-l";
		argv[argc++] = locales[i];
	}
	argv[argc] = NULL;
	cmd = shquote_env_argv(argc, argv);
	free(net);
	free(sig);
	free(col);
	free(ports);
	free(argv);
	return cmd;
}

/* ---- local helpers ------------------------------------------------------------------- */

static const char *
sup_client_path(void)
{
	const char *p = getenv("MOSHMAN_MOSH_CLIENT");

	return p != NULL && *p != '\0' ? p : "mosh-client";
}

/* The colours of this terminal, as mosh's wrapper learns them: `mosh-client -c`.  This
 * also proves mosh-client runs here before a mosh-server is started for it.  -1 if it
 * cannot be run. */
static int
sup_colors(void)
{
	int pfd[2], status, colors = 8;
	char buf[32];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return colors;
	if ((pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return colors;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(pfd[1], 1);
		if (nul != -1)
			dup2(nul, 2);
		execlp(sup_client_path(), sup_client_path(), "-c", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], buf, sizeof buf - 1);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	if (n > 0) {
		buf[n] = '\0';
		if (atoi(buf) > 0)
			colors = atoi(buf);
	}
	return colors;
}

/* Locale settings for the server: the profile's, else the ones set here (as mosh). */
static char **
sup_locales(const struct db_host *h, int *n)
{
	static const char *const vars[] = { "LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME",
		"LC_COLLATE", "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS",
		"LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION", "LC_ALL" };
	char **v;
	const char *val;

	*n = 0;
	v = xcalloc(sizeof vars / sizeof vars[0] + h->nlocales + 1, sizeof *v);
	if (h->nlocales > 0) {
		for (size_t i = 0; i < h->nlocales; i++)
			v[(*n)++] = xstrdup(h->locales[i]);
		return v;
	}
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		if ((val = getenv(vars[i])) != NULL)
			xasprintf(&v[(*n)++], "%s=%s", vars[i], val);
	}
	return v;
}

static int
sup_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >>
		           24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

/* The jump host's name from "[user@]host[:port]". */
static char *
sup_jump_host(const char *jump)
{
	const char *at = strrchr(jump, '@');
	char *h = xstrdup(at != NULL ? at + 1 : jump), *p;

	if (h[0] == '[') {
		if ((p = strchr(h, ']')) != NULL)
			*p = '\0';
		memmove(h, h + 1, strlen(h));
	} else if ((p = strchr(h, ':')) != NULL && strchr(p + 1, ':') == NULL)
		*p = '\0';
	return h;
}

/* The UDP address is known (found 1, in s->remote_addr) or not (0): go on. */
static void
sup_udp_addr_done(struct sup *s, int found)
{
	void (*then)(struct sup *, int) = s->udp_then;

	free(s->udp_name);
	s->udp_name = NULL;
	s->udp_then = NULL;
	if (s->ending)
		return; /* the session ended while the name was looked up */
	then(s, found);
}

static void sup_udp_lookup(struct sup *, const char *name, int jump);

/* An address for s->udp_name: the target's, unless it is loopback as seen from here
 * (then the jump host's, if there is one). */
static void
sup_udp_answer(struct sup *s, const struct sockaddr *sa, socklen_t len)
{
	const char *jump = sshconn_jump_spec(s->ssh);
	char *jh;

	if (sa != NULL &&
	    getnameinfo(sa, len, s->remote_addr, sizeof s->remote_addr, NULL, 0, NI_NUMERICHOST) ==
	        0 &&
	    (s->udp_jump || !sup_is_loopback(sa))) {
		sup_udp_addr_done(s, 1);
		return;
	}
	if (s->udp_jump || jump == NULL) {
		sup_udp_addr_done(s, 0);
		return;
	}
	jh = sup_jump_host(jump);
	sup_udp_lookup(s, jh, 1);
	free(jh);
}

static void
sup_udp_resolved(struct addrinfo *res, const char *error, void *arg)
{
	struct sup *s = arg;

	s->udp_res = NULL;
	if (res == NULL) {
		log_debug("supervisor: %s: %s", s->udp_name, error);
		sup_udp_answer(s, NULL, 0);
		return;
	}
	resolve_remember(s->udp_name, "0", res->ai_addr, res->ai_addrlen);
	sup_udp_answer(s, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
}

/* Looks name up off the loop (src/ssh/resolve.h), of the profile's --family; the last
 * good address for it, when this process knows one, is taken at once. */
static void
sup_udp_lookup(struct sup *s, const char *name, int jump)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	free(s->udp_name);
	s->udp_name = xstrdup(name);
	s->udp_jump = jump;
	if (resolve_recall(name, "0", &ss, &len) == 0) {
		sup_udp_answer(s, (const struct sockaddr *)&ss, len);
		return;
	}
	s->udp_res = resolve_start_family(s->loop, name, "0",
	    resolve_family_from_name(s->host.family), sup_udp_resolved, s);
}

/* Where mosh's UDP goes; then runs with the answer (found: in s->remote_addr).  Directly
 * connected: the address ssh reached, at once.  Through a proxy or a command: the
 * profile's host resolved here (off the loop), as mosh's wrapper does; a target that is
 * loopback as seen from a jump host is the jump host itself. */
static void
sup_udp_addr(struct sup *s, void (*then)(struct sup *, int found))
{
	const char *peer = sshconn_peer_addr(s->ssh);

	s->udp_then = then;
	if (peer != NULL) {
		snprintf(s->remote_addr, sizeof s->remote_addr, "%s", peer);
		sup_udp_addr_done(s, 1);
		return;
	}
	sup_udp_lookup(s, sshconn_target_host(s->ssh), 0);
}

/* ---- the running session --------------------------------------------------------------- */

/* up <-> degraded, from the relay's counters (every path) and, while the tunnel
 * carries the session, its frames and round-trip time (src/link/health.h).  The row is
 * written by the caller. */
static void
sup_health(struct sup *s, const struct localrelay_stats *st)
{
	struct health_in in;
	char why[160], msg[200];
	int was, bad;

	if (s->tunnel_lost ||
	    (strcmp(s->row.state, "up") != 0 && strcmp(s->row.state, "degraded") != 0))
		return;
	was = strcmp(s->row.state, "degraded") == 0;
	memset(&in, 0, sizeof in);
	in.now = clock_epoch_ms();
	in.since = s->link_since;
	in.last_tx = st->last_up_ms;
	/* Any datagram of mosh-server's (with the key, only authentic ones are counted):
	 * an idle server's heartbeats rarely answer a client timestamp (mosh answers within
	 * 1 s only, and idle heartbeats on both sides are 3 s apart, in any phase). */
	in.last_rx = st->last_down_ms;
	in.rtt_ms = st->rtt_ms;
	in.degraded = was;
	if (s->tunnel != NULL &&
	    (s->tr == TRANSPORT_TCP || (s->ap != NULL && autopath_path(s->ap) == PATHSEL_TCP))) {
		struct tunnel_info ti;

		/* A PONG proves the link even when mosh-server has nothing to say. */
		tunnel_get_info(s->tunnel, &ti);
		if (ti.last_rx_ms > in.last_rx)
			in.last_rx = ti.last_rx_ms;
		in.rtt_ms = ti.rtt_ms;
	}
	bad = health_judge(&in, why, sizeof why);
	if (bad == was)
		return;
	snprintf(msg, sizeof msg, "%s: %s", bad ? "degraded" : "up", why);
	log_debug("supervisor: %s", msg);
	sup_event(s, "state", msg);
	db_session_str(&s->row.state, bad ? "degraded" : "up");
}

static void
sup_stats_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;
	struct localrelay_stats st;

	localrelay_get_stats(s->relay, &st);
	s->row.bytes_up = (int64_t)st.bytes_up;
	s->row.bytes_down = (int64_t)st.bytes_down;
	s->row.pkts_up = (int64_t)st.pkts_up;
	s->row.pkts_down = (int64_t)st.pkts_down;
	s->row.last_tx_at = st.last_up_ms;
	s->row.last_rx_at = st.last_down_ms;
	if (s->tunnel != NULL) {
		struct tunnel_info ti;

		tunnel_get_info(s->tunnel, &ti);
		s->row.rtt_ms = (int)ti.rtt_ms;
		s->row.reconnects = ti.reconnects + s->forced;
	} else
		s->row.reconnects = s->forced;
	/* mosh's own timestamps: the round trip of whatever path carries the session. */
	if (st.rtt_ms >= 0)
		s->row.rtt_ms = (int)st.rtt_ms;
	if (s->client > 0) {
		sup_health(s, &st);
		sup_udp_watch(s, &st);
	}
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: stats not written: %s", db_error(s->db));
}

/* mosh-client ended: what its status says about mosh-server (0: mosh's shutdown
 * handshake completed) goes to the ending rule. */
static void
sup_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;
	int st = w->rstatus;

	/* Reported only for an attached session (traced watcher): mosh's suspend. */
	if (WIFSTOPPED(st) || WIFCONTINUED(st)) {
		if (WIFSTOPPED(st) && s->att != NULL)
			attach_client_stopped(s->att);
		return;
	}
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &s->client_w);
	s->client = 0;
	if (s->att != NULL)
		attach_client_exited(s->att,
		    WIFEXITED(st)         ? WEXITSTATUS(st)
		        : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
		                          : 255);
	sup_stats_cb(loop, &s->stats_w, 0);
	ev_timer_stop(loop, &s->stats_w);
	s->row.session_key = NULL;
	explicit_bzero(s->key, sizeof s->key);
	if (WIFSIGNALED(st))
		sup_restore_terminal(s);
	s->rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : SUP_FAIL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		s->server = ENDING_SERVER_GONE;
	if (s->ending) {
		char msg[80];

		snprintf(msg, sizeof msg, "mosh-client exited (%s %d)",
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st)     ? WTERMSIG(st)
		        : WIFEXITED(st) ? WEXITSTATUS(st)
		                        : -1);
		sup_event(s, "ending", msg);
		sup_paths_stop(s);
		sup_end_step(s);
	} else if (WIFEXITED(st))
		sup_end(s, WEXITSTATUS(st) == 0 ? ENDING_EXIT : ENDING_CLIENT_FAILED,
		    WEXITSTATUS(st));
	else
		sup_end(s, WIFSIGNALED(st) ? ENDING_CLIENT_SIGNAL : ENDING_CLIENT_FAILED,
		    WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

/* SIGHUP, SIGINT, SIGTERM, and SIGUSR1 from `moshman kill`: while connecting, a failed
 * start; once mosh-client ran, an ending. */
static void
sup_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;

	if (w->signum == SIGHUP)
		s->no_tty = 1;
	if (!s->ending && s->row.client_pid == 0) {
		if (w->signum == SIGUSR1)
			sup_fail(s, "ended by moshman kill while connecting");
		else
			sup_fail(s, "interrupted by signal %d while connecting", w->signum);
		return;
	}
	sup_end(s,
	    w->signum == SIGHUP        ? ENDING_HANGUP
	        : w->signum == SIGUSR1 ? ENDING_KILL
	                               : ENDING_TERM,
	    w->signum);
}

/* ---- persistent sessions: the attach hooks (the rest is src/session/attach.c) ---- */

static void
sup_attach_changed(void *arg, int attached, const char *why)
{
	struct sup *s = arg;

	if (db_session_set_attached(s->db, s->row.id, attached, why) != DB_OK)
		log_debug("supervisor: attach not recorded: %s", db_error(s->db));
}

/* Opens mosh-client's own terminal and the attach socket.  -1 after sup_fail. */
static int
sup_attach_open(struct sup *s)
{
	char err[512];

	s->att = attach_new(s->loop, s->row.id, s->host.name, STDIN_FILENO, sup_attach_changed, s,
	    err, sizeof err);
	if (s->att == NULL) {
		sup_fail(s, "%s", err);
		return -1;
	}
	return 0;
}

/* mosh-client runs: leave the user's terminal.  A session of our own (a closed window's
 * SIGHUP no longer reaches the supervisor or mosh-client) and stdio on /dev/null; the
 * row and its events say what happens from here on. */
static void
sup_attach_leave(struct sup *s)
{
	int nul;

	if (setsid() == -1)
		log_debug("supervisor: setsid: %s", strerror(errno));
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
		close(nul);
	}
}

/* Starts mosh-client on this terminal (or, with attach_fd, on the supervisor's own),
 * pointed at the relay.  MOSH_KEY exists only in the child's environment. */
static int
sup_spawn_client(struct sup *s)
{
	static const int reset[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGPIPE, SIGTERM, SIGHUP,
		SIGCHLD, SIGUSR1, SIGUSR2 };
	char port[16];
	const char *client = sup_client_path();
	int pfd[2], err = 0;
	sigset_t all;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1) {
		sup_fail(s, "cannot start mosh-client: %s", strerror(errno));
		return -1;
	}
	snprintf(port, sizeof port, "%d", localrelay_port(s->relay));
	if (s->opts->attach_fd >= 0 && sup_attach_open(s) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	/* The client owns the terminal now: keyboard signals and window changes are its. */
	ev_signal_stop(s->loop, &s->sig_int);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGWINCH, SIG_IGN);
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(pfd[0]);
		close(pfd[1]);
		sup_fail(s, "cannot start mosh-client: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
			signal(reset[i], SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (s->att != NULL && attach_child_setup(s->att) == -1)
			err = errno;
		else if (setenv("MOSH_KEY", s->key, 1) == -1 ||
		    setenv("MOSH_PREDICTION_DISPLAY", s->host.predict, 1) == -1 ||
		    (s->host.no_init && setenv("MOSH_NO_TERM_INIT", "1", 1) == -1))
			err = errno;
		else {
			execlp(client, client, "127.0.0.1", port, (char *)NULL);
			err = errno;
		}
		(void)!write(pfd[1], &err, sizeof err);
		_exit(127);
	}
	close(pfd[1]);
	/* The pipe closes on a successful exec; an errno arrives if it failed. */
	while ((n = read(pfd[0], &err, sizeof err)) == -1 && errno == EINTR)
		;
	close(pfd[0]);
	if (n == (ssize_t)sizeof err) {
		waitpid(pid, NULL, 0);
		signal(SIGINT, SIG_DFL);
		sup_fail(s, "cannot run %s: %s; install mosh or set MOSHMAN_MOSH_CLIENT", client,
		    strerror(err));
		return -1;
	}
	s->client = pid;
	if (s->att != NULL) {
		sup_attach_leave(s);
		attach_start(s->att, pid, s->opts->attach_fd, s->opts->detached);
	}
	/* Attached sessions also hear of stops (Ctrl-^ Ctrl-Z: nobody's shell to return to). */
	ev_child_init(&s->child_w, sup_child_cb, pid, s->att != NULL);
	s->child_w.data = s;
	ev_child_start(s->loop, &s->child_w);
	return 0;
}

/* ---- the ending (src/session/ending.h) ------------------------------------------------- */

static void sup_tunnel_cb(struct tunnel *, enum tunnel_event, const char *, double, void *);

/* After mosh-client died by a signal it could not restore the terminal: put back what
 * it found, leave its alternate screen, show the cursor. */
static void
sup_restore_terminal(struct sup *s)
{
	static const char reset[] = "\033[?1049l\033[?25h\r\n";

	if (s->no_tty || !s->have_tio)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &s->tio);
	(void)!write(STDERR_FILENO, reset, sizeof reset - 1);
}

/* Stops everything that carries datagrams (no client is left to use them) and frees
 * the ssh connection for the stop script. */
static void
sup_paths_stop(struct sup *s)
{
	int dead = 0;

	if (s->tunnel != NULL) {
		/* A tunnel that is reconnecting knows its connection is dead (or being
		 * opened again for it): do not send the stop script into it. */
		struct tunnel_info ti;

		tunnel_get_info(s->tunnel, &ti);
		dead = strcmp(ti.state, "reconnecting") == 0;
		if (s->ap != NULL)
			autopath_set_tunnel(s->ap, NULL);
		tunnel_free(s->tunnel);
		s->tunnel = NULL;
	}
	cmdpath_free(s->cmdpath);
	s->cmdpath = NULL;
	/* Frees the path too (the autopath of transport auto). */
	if (s->relay != NULL)
		localrelay_set_path(s->relay, NULL, NULL);
	s->ap = NULL;
	/* An open the tunnel had started must not call back into it. */
	if (s->ssh != NULL && !s->checking && (dead || !sshconn_exec_possible(s->ssh)))
		sshconn_close(s->ssh);
}

/* The row's reason: the cause, then what is known of mosh-server. */
static void
sup_end_reason(struct sup *s, const char *state, char *buf, size_t len)
{
	char cause[1024];
	size_t n;

	if (s->cause == ENDING_START_FAILED)
		snprintf(cause, sizeof cause, "%s", s->start_error);
	else
		ending_cause_text(s->cause, s->cause_detail, cause, sizeof cause);
	snprintf(buf, len, "%s", cause);
	n = strlen(buf);
	if (strcmp(state, "orphaned") == 0)
		snprintf(buf + n, len - n,
		    "; mosh-server pid %lld not confirmed stopped%s%s; "
		    "'moshman clean %s' ends it",
		    (long long)s->row.server_pid, s->server_note[0] != '\0' ? ": " : "",
		    s->server_note, s->host.name);
	else if (s->server_note[0] != '\0')
		snprintf(buf + n, len - n, "; %s", s->server_note);
}

static void
sup_end_finish(struct sup *s, const struct ending_out *o)
{
	char reason[2048];

	sup_end_reason(s, o->state, reason, sizeof reason);
	if (s->have_row && db_session_set_state(s->db, s->row.id, o->state, reason) != DB_OK)
		log_debug("supervisor: cannot end the session: %s", db_error(s->db));
	/* A failed start's line is its error; the server is worth a word only when it may
	 * still run. */
	if (s->cause == ENDING_START_FAILED || s->cause == ENDING_SERVER_DIED)
		s->rc = SUP_FAIL;
	if (s->cause == ENDING_START_FAILED)
		fprintf(stderr, "moshman: %s\n",
		    strcmp(o->state, "orphaned") == 0 ? reason : s->start_error);
	else if (o->tell_user) {
		char line[2400];

		snprintf(line, sizeof line, "session %lld (%s) ended: %s%s%s%s",
		    (long long)s->row.id, s->host.name, reason,
		    s->cause == ENDING_SERVER_DIED ? "; 'moshman connect " : "",
		    s->cause == ENDING_SERVER_DIED ? s->host.name : "",
		    s->cause == ENDING_SERVER_DIED ? "' starts a new one" : "");
		/* The attached terminal says it; else this one, if it is still there. */
		if (!attach_say(s->att, s->rc, line) && s->att == NULL && !s->no_tty)
			fprintf(stderr, "moshman: %s\n", line);
	}
	ev_timer_stop(s->loop, &s->end_w);
	s->done = 1;
	ev_break(s->loop, EVBREAK_ALL);
}

/* mosh-client first: SIGTERM (SIGHUP after a hangup) lets it restore the terminal and
 * tell the server; SIGKILL if it does not end within SUP_CLIENT_GRACE_S. */
static void
sup_client_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	if (s->client > 0) {
		sup_event(s, "ending", "mosh-client did not end after SIGTERM: SIGKILL");
		kill(s->client, SIGKILL);
	}
}

static void
sup_end_client(struct sup *s)
{
	if (s->client_signalled)
		return;
	s->client_signalled = 1;
	kill(s->client, s->cause == ENDING_HANGUP ? SIGHUP : SIGTERM);
	ev_timer_init(&s->client_w, sup_client_grace_cb, SUP_CLIENT_GRACE_S, 0.);
	s->client_w.data = s;
	ev_timer_start(s->loop, &s->client_w);
}

static void
sup_stop_done(struct sshconn *c, const char *out, size_t outlen, const char *err, size_t errlen,
    int status, const char *error, void *arg)
{
	struct sup *s = arg;
	enum ending_answer a;

	s->end_busy = 0;
	s->next_try = clock_mono_ms() + ENDING_RETRY_EVERY_S * 1000;
	if (error != NULL) {
		snprintf(s->server_note, sizeof s->server_note, "the stop failed: %s", error);
		sshconn_close(c);
	} else if (!ending_answer_gone(a = ending_stop_parse(out, outlen))) {
		snprintf(s->server_note, sizeof s->server_note,
		    a == ENDING_ANS_ALIVE ? "it survived SIGTERM and SIGKILL"
		                          : "the stop script's answer is unreadable");
	} else {
		s->server = ENDING_SERVER_GONE;
		snprintf(s->server_note, sizeof s->server_note, "mosh-server pid %lld %s",
		    (long long)s->row.server_pid,
		    a == ENDING_ANS_GONE          ? "was already gone"
		        : a == ENDING_ANS_STOPPED ? "stopped"
		                                  : "killed (it ignored SIGTERM)");
	}
	sup_event(s, "ending", s->server_note);
	sup_end_step(s);
}

/* The stop script over the open connection: stop != 0 ends the server, else only asks
 * whether it still runs. */
static void
sup_stop_script(struct sup *s, int stop, sshconn_exec_cb done)
{
	char words[64], *cmd;

	ending_stop_words((long long)s->row.server_pid, stop, words, sizeof words);
	cmd = shquote_script(stop ? "moshman-stop" : "moshman-check", ending_stop_script(), words);
	sshconn_set_timeout(s->ssh, SUP_STOP_TIMEOUT);
	sshconn_exec(s->ssh, cmd, done, s);
	free(cmd);
}

static void
sup_server_stop(struct sup *s)
{
	s->end_busy = 1;
	sup_event(s, "ending", "stopping mosh-server over the link");
	sup_stop_script(s, 1, sup_stop_done);
}

static void
sup_end_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sup_end_step(w->data);
}

static void
sup_link_done(struct sshconn *c, const char *error, void *arg)
{
	struct sup *s = arg;

	s->end_busy = 0;
	if (error != NULL) {
		log_debug("supervisor: ending: %s", error);
		snprintf(s->server_note, sizeof s->server_note, "the host cannot be reached (%s)",
		    error);
	}
	sup_end_step(s);
}

/* The link is down: open it again (not interactively), now or at the next try. */
static void
sup_link_open(struct sup *s)
{
	int64_t now = clock_mono_ms();

	if (now < s->next_try || sshconn_is_open(s->ssh)) {
		ev_timer_stop(s->loop, &s->end_w);
		ev_timer_set(&s->end_w,
		    (double)(s->next_try > now ? s->next_try - now : 1000) / 1000., 0.);
		ev_timer_start(s->loop, &s->end_w);
		return;
	}
	s->end_busy = 1;
	s->next_try = now + ENDING_RETRY_EVERY_S * 1000;
	sshconn_set_timeout(s->ssh, SUP_REOPEN_TIMEOUT);
	sshconn_open(s->ssh, 0, sup_link_done, s);
}

/* The row says orphaned (once) while the supervisor waits for the link. */
static void
sup_end_waiting(struct sup *s)
{
	char reason[2048];

	if (s->orphan_written)
		return;
	s->orphan_written = 1;
	sup_end_reason(s, "orphaned", reason, sizeof reason);
	snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
	    "; moshman keeps "
	    "trying for %d s (supervisor pid %ld)",
	    ENDING_RETRY_S, (long)getpid());
	if (db_session_set_state(s->db, s->row.id, "orphaned", reason) != DB_OK)
		log_debug("supervisor: %s", db_error(s->db));
}

/* Asks the rule what to do with what is known now, and does it. */
static void
sup_end_step(struct sup *s)
{
	struct ending_in in;
	struct ending_out o;

	if (s->done)
		return;
	if (s->end_busy || s->checking) {
		if (!s->gave_up)
			return;
		/* Asked to stop waiting: drop the attempt under way. */
		sshconn_close(s->ssh);
		s->end_busy = s->checking = 0;
	}
	memset(&in, 0, sizeof in);
	in.cause = s->cause;
	in.server = s->server;
	in.client_running = s->client > 0;
	in.link_up =
	    s->client <= 0 && sshconn_exec_possible(s->ssh) && clock_mono_ms() >= s->next_try;
	/* Stopping needs the pid, and a host that will let us in again. */
	in.link_possible = s->row.server_pid > 0 && !sshconn_hostkey_refused(s->ssh) &&
	    !sshconn_auth_refused(s->ssh);
	in.time_left =
	    s->cause != ENDING_START_FAILED && !s->gave_up && clock_mono_ms() < s->end_deadline;
	if (!in.link_possible && s->server_note[0] == '\0')
		snprintf(s->server_note, sizeof s->server_note, "%s",
		    s->row.server_pid <= 0 ? "its pid is unknown"
		                           : "the host refuses to let moshman in again");
	ending_decide(&in, &o);
	switch (o.action) {
	case ENDING_END_CLIENT:
		sup_end_client(s);
		break;
	case ENDING_STOP_SERVER:
		sup_server_stop(s);
		break;
	case ENDING_WAIT_LINK:
		sup_end_waiting(s);
		sup_link_open(s);
		break;
	case ENDING_FINISH:
		sup_end_finish(s, &o);
		break;
	}
}

/* Every way a session ends comes here: the cause (the first one counts; asked again
 * means stop waiting), then the rule. */
static void
sup_end(struct sup *s, enum ending_cause cause, int detail)
{
	char text[1024];

	if (s->ending) {
		if (cause == ENDING_KILL || cause == ENDING_TERM) {
			if (!s->gave_up)
				sup_event(s, "ending", "asked again: no more waiting for the link");
			s->gave_up = 1;
		}
		if (s->client <= 0)
			sup_paths_stop(s);
		sup_end_step(s);
		return;
	}
	s->ending = 1;
	s->cause = cause;
	s->cause_detail = detail;
	s->end_deadline = clock_mono_ms() + ENDING_RETRY_S * 1000;
	ev_init(&s->end_w, sup_end_timer_cb);
	s->end_w.data = s;
	if (cause == ENDING_START_FAILED)
		snprintf(text, sizeof text, "%s", s->start_error);
	else
		ending_cause_text(cause, detail, text, sizeof text);
	sup_event(s, "ending", text);
	if (s->client <= 0)
		sup_paths_stop(s);
	sup_end_step(s);
}

/* ---- is mosh-server still there? ------------------------------------------------------- */

static void
sup_tunnel_rebuild(struct sup *s)
{
	if (s->tunnel != NULL || (s->tr != TRANSPORT_TCP && s->tr != TRANSPORT_AUTO) ||
	    (s->tr == TRANSPORT_AUTO && s->ap == NULL))
		return;
	s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, &s->tc, sup_tunnel_cb, s);
	if (s->ap != NULL)
		autopath_set_tunnel(s->ap, s->tunnel);
	tunnel_start(s->tunnel);
}

static void
sup_check_done(struct sshconn *c, const char *out, size_t outlen, const char *err, size_t errlen,
    int status, const char *error, void *arg)
{
	struct sup *s = arg;
	enum ending_answer a = error != NULL ? ENDING_ANS_BAD : ending_stop_parse(out, outlen);
	char msg[300];

	s->checking = 0;
	if (a == ENDING_ANS_GONE) {
		s->server = ENDING_SERVER_GONE;
		snprintf(s->server_note, sizeof s->server_note, "pid %lld is gone",
		    (long long)s->row.server_pid);
		if (s->ending)
			sup_end_step(s);
		else
			sup_end(s, ENDING_SERVER_DIED, 0);
		return;
	}
	snprintf(msg, sizeof msg, "mosh-server pid %lld %s", (long long)s->row.server_pid,
	    a == ENDING_ANS_ALIVE ? "still runs"
	        : error != NULL   ? error
	                          : "unknown: the check's answer is unreadable");
	sup_event(s, "check", msg);
	if (s->ending) {
		sup_end_step(s);
		return;
	}
	if (s->tr == TRANSPORT_TCP || s->tr == TRANSPORT_AUTO)
		sup_tunnel_rebuild(s);
	else
		sshconn_close(s->ssh);
}

static void
sup_check_open_done(struct sshconn *c, const char *error, void *arg)
{
	struct sup *s = arg;

	if (error == NULL) {
		sup_stop_script(s, 0, sup_check_done);
		return;
	}
	s->checking = 0;
	log_debug("supervisor: check: %s", error);
	if (s->ending)
		sup_end_step(s);
	else if (s->tr == TRANSPORT_TCP || s->tr == TRANSPORT_AUTO)
		sup_tunnel_rebuild(s);
}

/* Asks the host whether mosh-server still runs (over the open connection, or a new one;
 * the tunnel's stream gives the connection up for it).  Gone: the session ends.  From
 * the loop, not from inside the tunnel's callback (the tunnel is freed here). */
static void
sup_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;

	if (s->ending) {
		s->checking = 0;
		sup_end_step(s);
		return;
	}
	if (s->tunnel != NULL) {
		if (s->ap != NULL)
			autopath_set_tunnel(s->ap, NULL);
		tunnel_free(s->tunnel);
		s->tunnel = NULL;
	}
	if (sshconn_exec_possible(s->ssh)) {
		sup_stop_script(s, 0, sup_check_done);
		return;
	}
	sshconn_close(s->ssh);
	sshconn_set_timeout(s->ssh, SUP_REOPEN_TIMEOUT);
	sshconn_open(s->ssh, 0, sup_check_open_done, s);
}

static void
sup_check_server(struct sup *s, const char *why)
{
	char msg[300];

	int64_t mono = clock_mono_ms();

	/* A server that answered "still here" is asked again only after a while. */
	if (s->checking || s->ending || s->row.server_pid <= 0 || mono < s->next_check)
		return;
	s->next_check = mono + s->check_every;
	if (s->check_every < SUP_CHECK_MAX_MS)
		s->check_every *= 2;
	s->checking = 1;
	snprintf(msg, sizeof msg, "checking whether mosh-server pid %lld still runs: %s",
	    (long long)s->row.server_pid, why);
	sup_event(s, "check", msg);
	ev_timer_init(&s->check_w, sup_check_cb, 0., 0.);
	s->check_w.data = s;
	ev_timer_start(s->loop, &s->check_w);
}

/* udp: mosh-client sends and nothing comes back.  A link that is down looks the same,
 * so the check backs off while the silence lasts. */
static void
sup_udp_watch(struct sup *s, const struct localrelay_stats *st)
{
	int64_t now = clock_epoch_ms(), heard;

	if (s->tunnel != NULL || s->tr != TRANSPORT_UDP || s->checking)
		return;
	heard = st->last_down_ms > s->link_since ? st->last_down_ms : s->link_since;
	if (st->last_down_ms != s->check_rx && st->last_down_ms > 0) {
		/* Heard from the server since the last check: back to the short delay. */
		s->check_every = SUP_CHECK_EVERY_MS;
		s->check_rx = st->last_down_ms;
		s->next_check = 0;
	}
	if (st->last_up_ms <= heard || now - heard < SUP_CHECK_SILENCE_MS ||
	    now - st->last_up_ms > HEALTH_TX_RECENT_MS)
		return;
	sup_check_server(s, "no reply for over 4 s while mosh-client sends");
}

/* ---- the bootstrap, as callbacks ------------------------------------------------------ */

static void sup_client_up(struct sup *);
static void sup_start_server(struct sup *);
static void sup_sshconn_done(struct sshconn *, const char *, size_t, const char *, size_t, int,
    const char *, void *);
static void sup_exec_done(struct sshconn *, const char *, size_t, const char *, size_t, int,
    const char *, void *);

static void
sup_set_state(struct sup *s, const char *state)
{
	if (strcmp(s->row.state, state) == 0)
		return;
	db_session_str(&s->row.state, state);
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
}

/* The tunnel gave up (a changed host key, a relay of another protocol). */
static void
sup_tunnel_failed(struct sup *s, const char *msg)
{
	char why[2048];

	if (s->client == 0) {
		sup_fail(s, "tunnel: %s", msg);
		return;
	}
	if (s->ap != NULL) {
		/* UDP carries on; only the fallback is gone. */
		autopath_tcp_state(s->ap, 0);
		sup_event(s, "tunnel", msg);
		return;
	}
	/* mosh-client keeps running (its "Last contact" grows; Ctrl-^ . ends it) and so may
	 * mosh-server: the session is not over, so the row keeps a live state and says why
	 * nothing gets through and what to do.  When it ends, the ending rule decides (the
	 * row stays orphaned when the server cannot be stopped). */
	sup_event(s, "reconnect", msg);
	s->tunnel_lost = 1;
	snprintf(why, sizeof why,
	    "degraded: the tunnel gave up (%s); mosh-client still runs "
	    "but nothing gets through: fix the cause (a changed host key: check it, then "
	    "update known_hosts) and run 'moshman reconnect %lld', or end the session with "
	    "'moshman kill %lld'",
	    msg, (long long)s->row.id, (long long)s->row.id);
	if (db_session_set_state(s->db, s->row.id, "degraded", why) != DB_OK)
		log_debug("supervisor: cannot mark degraded: %s", db_error(s->db));
	db_session_str(&s->row.state, "degraded");
}

/* What the tunnel says becomes the row's state and an event; before mosh-client runs
 * it is also a progress line (or the failure). */
static void
sup_tunnel_cb(struct tunnel *t, enum tunnel_event ev, const char *msg, double secs, void *arg)
{
	struct sup *s = arg;

	switch (ev) {
	case TUNNEL_UP:
		if (s->ap != NULL)
			autopath_tcp_state(s->ap, 1);
		if (s->client == 0) {
			sup_progressf(s, "tunnel %s", msg);
			sup_client_up(s);
		} else
			sup_event(s, "tunnel", msg);
		break;
	case TUNNEL_DEAD:
		sup_event(s, "reconnect", msg);
		if (s->ap != NULL)
			autopath_tcp_state(s->ap, 0);
		if (s->ap == NULL || autopath_path(s->ap) == PATHSEL_TCP)
			sup_set_state(s, "reconnecting");
		break;
	case TUNNEL_UP_AGAIN:
		sup_event(s, "reconnect", msg);
		s->tunnel_lost = 0;
		if (s->ap != NULL)
			autopath_tcp_state(s->ap, 1);
		if (s->client == 0) {
			sup_client_up(s);
			break;
		}
		s->link_since = clock_epoch_ms();
		/* On auto, a standby tunnel coming back says nothing about the udp path
		 * that carries the session (nor about its degraded state). */
		if (s->ap == NULL || autopath_path(s->ap) == PATHSEL_TCP)
			sup_set_state(s, "up");
		sup_stats_cb(s->loop, &s->stats_w, 0);
		break;
	case TUNNEL_RETRY:
		log_debug("supervisor: %s", msg);
		break;
	case TUNNEL_NOTICE:
		sup_event(s, "notice", msg);
		break;
	case TUNNEL_REFUSED:
		sup_event(s, "notice", msg);
		if (s->client > 0)
			sup_check_server(s, msg);
		break;
	case TUNNEL_FAILED:
		sup_tunnel_failed(s, msg);
		break;
	}
}

/* ---- transport auto: UDP and the tunnel side by side (src/link/autopath.h) ---------- */

/* A path switch: an event, and the row's path. */
static void
sup_auto_switch_cb(const char *msg, enum pathsel_path now, void *arg)
{
	struct sup *s = arg;

	sup_event(s, "path", msg);
	db_session_str(&s->row.path, pathsel_name(now));
	/* The row's state follows the path that carries the session: UDP while the tunnel
	 * is still being rebuilt is up; the tunnel while it is down is reconnecting. */
	if (now == PATHSEL_UDP && strcmp(s->row.state, "reconnecting") == 0) {
		db_session_str(&s->row.state, "up");
		s->link_since = clock_epoch_ms();
	} else if (now == PATHSEL_TCP && !tunnel_is_up(s->tunnel) &&
	    strcmp(s->row.state, "failed") != 0) {
		db_session_str(&s->row.state, "reconnecting");
	}
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
}

static void
sup_auto_go(struct sup *s, int found)
{
	struct tunnel_config *tc = &s->tc;
	int udp, port = s->row.mosh_port;

	s->ap = autopath_new(s->loop, s->relay, found ? s->remote_addr : NULL, port,
	    sup_auto_switch_cb, s);
	if (!(udp = autopath_udp_possible(s->ap)))
		snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	memset(tc, 0, sizeof *tc);
	tc->udp_host = s->relay_host;
	tc->udp_port = port;
	tc->relay = TUNNEL_RELAY_ANY;
	tc->deliver = autopath_tcp_rx;
	tc->deliver_arg = s->ap;
	/* On UDP mosh-client starts at once: the tunnel is a standby whose failed start
	 * is rebuilt (a roam during it), not the end of auto's fallback. */
	tc->standby = udp;
	s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, tc, sup_tunnel_cb, s);
	autopath_set_tunnel(s->ap, s->tunnel);
	sup_progressf(s, "transport auto: %s, the tunnel relay beside it",
	    udp ? "direct UDP first" : "tcp only (no UDP address)");
	tunnel_start(s->tunnel);
	if (udp)
		sup_client_up(s);
}

static void
sup_auto_start(struct sup *s, int port)
{
	sup_udp_addr(s, sup_auto_go);
}

/* ---- transport command ------------------------------------------------------------- */

static void
sup_command_event(const char *msg, void *arg)
{
	struct sup *s = arg;

	sup_event(s, "command", msg);
}

/* A free UDP port on 127.0.0.1 for the command to listen on (it may be taken again
 * before the command binds it; the command then fails and is restarted... on the same
 * port, so pick well: the kernel's ephemeral choice). */
static int
sup_free_udp_port(void)
{
	struct udpsock_addr lo;
	char err[128];
	int fd, port;

	if (udpsock_resolve("127.0.0.1", 0, 1, &lo, err, sizeof err) == -1 ||
	    (fd = udpsock_open(&lo, 1, err, sizeof err)) == -1)
		return -1;
	port = udpsock_local_port(fd);
	close(fd);
	return port;
}

static void
sup_command_start(struct sup *s, int port)
{
	struct cmdpath_vars v;
	char err[512], *cmd = NULL;
	int lport;

	if ((lport = sup_free_udp_port()) == -1) {
		sup_fail(s, "%s", "cannot find a free UDP port on 127.0.0.1");
		return;
	}
	memset(&v, 0, sizeof v);
	v.host = sshconn_target_host(s->ssh);
	v.port = s->host.port;
	v.user = s->host.user;
	v.mosh_port = port;
	v.local_port = lport;
	if (cmdpath_expand(s->host.tunnel_command, &v, &cmd, err, sizeof err) == -1) {
		sup_fail(s, "%s", err);
		return;
	}
	log_debug("supervisor: tunnel command: %s", cmd);
	snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	if (localrelay_use_udp(s->relay, "127.0.0.1", lport, err, sizeof err) == -1) {
		free(cmd);
		sup_fail(s, "%s", err);
		return;
	}
	s->cmdpath = cmdpath_new(s->loop, cmd, sup_command_event, s);
	s->command_line = cmd;
	sup_progressf(s, "tunnel command listening on 127.0.0.1:%d", lport);
	cmdpath_start(s->cmdpath);
	/* The command carries the datagrams; ssh is not needed any more, nor what was
	 * typed to log in. */
	sshconn_close(s->ssh);
	sshconn_forget_secrets(s->ssh);
	sup_client_up(s);
}

/* SIGUSR2 (`moshman reconnect`, the dashboard's r): rebuild the link now.  mosh-client
 * is never restarted; each path does what rebuilding means for it, and the request is
 * an event either way. */
static void
sup_reconnect_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;
	int rc;

	if (s->client <= 0 || s->ending || s->checking) {
		sup_event(s, "reconnect",
		    s->client <= 0 || s->ending ? "reconnect requested "
		                                  "while the session ends: ignored"
		                                : "reconnect requested while checking "
		                                  "whether mosh-server still runs: ignored");
		return;
	}
	if (s->tr == TRANSPORT_COMMAND) {
		sup_event(s, "reconnect", "reconnect requested: restarting the tunnel command");
		cmdpath_restart(s->cmdpath);
		s->forced++;
		s->link_since = clock_epoch_ms();
		sup_stats_cb(loop, &s->stats_w, 0);
		return;
	}
	if (s->tunnel == NULL) {
		sup_event(s, "reconnect",
		    "reconnect requested: nothing to rebuild on udp "
		    "(mosh-client roams by itself)");
		return;
	}
	if (s->ap != NULL) {
		enum pathsel_path path = autopath_path(s->ap);

		sup_event(s, "reconnect",
		    path != PATHSEL_TCP ? "reconnect requested: on "
		                          "udp, rebuilding the standby tunnel only if it is down"
		        : autopath_udp_possible(s->ap)
		        ? "reconnect requested: probing UDP now and rebuilding the tunnel"
		        : "reconnect requested: rebuilding the tunnel (no UDP address to probe)");
		/* Open pathsel's UDP probe window now rather than within 15 s. */
		autopath_probe_now(s->ap);
		if (path == PATHSEL_UDP && tunnel_is_up(s->tunnel))
			return;
	} else
		sup_event(s, "reconnect", "reconnect requested: rebuilding the tunnel");
	rc = tunnel_reconnect(s->tunnel, "reconnect requested");
	if (rc == TUNNEL_RC_MOVED)
		sup_event(s, "reconnect", "already reconnecting: the next attempt starts now");
	else if (rc == TUNNEL_RC_UNDERWAY)
		sup_event(s, "reconnect", "already reconnecting: an attempt is under way");
	else if (rc == TUNNEL_RC_NOTYET)
		sup_event(s, "reconnect", "the tunnel is still starting: nothing to rebuild yet");
	else if (rc == TUNNEL_RC_RETRY) {
		sup_event(s, "reconnect", "the tunnel had given up: trying again now");
		s->tunnel_lost = 0;
		if (s->ap == NULL || autopath_path(s->ap) == PATHSEL_TCP)
			sup_set_state(s, "reconnecting");
	} else if (rc == TUNNEL_RC_FAILED)
		sup_event(s, "reconnect",
		    "the tunnel has given up for good (see the events "
		    "before); connect again");
}

/* transport tcp: the tunnel carries the datagrams to a relay next to mosh-server. */
static void
sup_tcp_start(struct sup *s, int port)
{
	struct tunnel_config *tc = &s->tc;

	memset(tc, 0, sizeof *tc);
	tc->udp_port = port;
	tc->relay = TUNNEL_RELAY_ANY;
	if (getenv("MOSHMAN_RELAY") != NULL && strcmp(getenv("MOSHMAN_RELAY"), "perl") == 0)
		tc->relay = TUNNEL_RELAY_PERL;
	snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, tc, sup_tunnel_cb, s);
	sup_progressf(s, "starting the tunnel relay");
	tunnel_start(s->tunnel);
}

/* transport udp: straight to mosh-server. */
static void
sup_udp_go(struct sup *s, int found)
{
	char errbuf[512];
	int port = s->row.mosh_port;

	if (!found) {
		sup_fail(s,
		    "cannot reach %s over UDP from here (it was reached through the "
		    "proxy and has no address of its own here); use --transport tcp or auto",
		    sshconn_target_host(s->ssh));
		return;
	}
	if (localrelay_use_udp(s->relay, s->remote_addr, port, errbuf, sizeof errbuf) == -1) {
		sup_fail(s, "%s", errbuf);
		return;
	}
	/* Direct UDP needs ssh no longer (like mosh), nor what was typed to log in: the
	 * ending and the server check open it again with a key or the agent only. */
	sshconn_close(s->ssh);
	sshconn_forget_secrets(s->ssh);
	sup_client_up(s);
}

static void
sup_udp_start(struct sup *s, int port)
{
	sup_udp_addr(s, sup_udp_go);
}

/* MOSH CONNECT arrived: record the server, then start the transport's path. */
static void
sup_exec_done(struct sshconn *c, const char *out, size_t outlen, const char *err, size_t errlen,
    int status, const char *error, void *arg)
{
	struct sup *s = arg;
	struct moshconnect mc;

	if (error != NULL) {
		sup_fail(s, "%s", error);
		return;
	}
	if (moshconnect_parse(out, outlen, err, errlen, status, &mc) == -1) {
		if (s->host.server_port_lo > 0 && mc.why == MOSHCONNECT_NO_LINE && err != NULL &&
		    memmem(err, errlen, "Address already in use", 22) != NULL) {
			/* mosh-server tried every port of the range. */
			char range[32];

			if (s->host.server_port_hi > s->host.server_port_lo)
				snprintf(range, sizeof range, "%d:%d", s->host.server_port_lo,
				    s->host.server_port_hi);
			else
				snprintf(range, sizeof range, "%d", s->host.server_port_lo);
			sup_fail(s,
			    "every UDP port of --server-port %s is taken on the host (by "
			    "other mosh sessions?): widen the range, or end sessions there "
			    "('moshman scan' lists them, 'moshman clean' removes orphans)",
			    range);
			return;
		}
		sup_fail(s, "%s", mc.error);
		return;
	}
	memcpy(s->key, mc.key, sizeof s->key);
	moshconnect_clear(&mc);
	/* The relay follows only mosh-client and reads mosh's timestamps (moshpkt.h). */
	if (localrelay_set_key(s->relay, s->key) == -1)
		log_debug("supervisor: the session key does not parse; the relay follows the "
		          "newest loopback sender");
	s->row.mosh_port = mc.port;
	s->row.server_pid = mc.pid;
	s->server = ENDING_SERVER_UNKNOWN;
	/* Recorded now: a supervisor killed before mosh-client runs leaves an orphan that
	 * scan must know by pid and port. */
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	if (mc.pid > 0)
		sup_progressf(s, "mosh-server on port %d (pid %ld)", mc.port, mc.pid);
	else
		sup_progressf(s, "mosh-server on port %d", mc.port);
	if (s->tr == TRANSPORT_AUTO)
		sup_auto_start(s, mc.port);
	else if (s->tr == TRANSPORT_COMMAND)
		sup_command_start(s, mc.port);
	else if (s->tr == TRANSPORT_TCP)
		sup_tcp_start(s, mc.port);
	else
		sup_udp_start(s, mc.port);
}

/* The network under the session changed, or the machine woke: the path acts at once
 * (udp: a new socket; auto: that and a UDP probe; tcp: tunnel_suspect), and it is an
 * event. */
static void
sup_netwatch_cb(const char *why, void *arg)
{
	struct sup *s = arg;

	sup_event(s, "network", why);
	localrelay_roam(s->relay, why);
}

/* Watch the route to mosh-server's address (any route when it is reached through a
 * tunnel command or only over the tunnel: then the ssh or proxy peer decides). */
static void
sup_netwatch_start(struct sup *s)
{
	struct udpsock_addr peer;
	const char *addr = s->remote_addr;
	char err[160];

	if (s->tr == TRANSPORT_COMMAND)
		return; /* the command's own business */
	if (strcmp(addr, "127.0.0.1") == 0)
		addr = sshconn_peer_addr(s->ssh);
	if ((s->nw = netwatch_new(s->loop,
	         addr != NULL && udpsock_resolve(addr, 0, 0, &peer, err, sizeof err) == 0 ? &peer
	                                                                                  : NULL,
	         sup_netwatch_cb, s, err, sizeof err)) == NULL)
		sup_event(s, "notice", err);
}

/* The path works: record it and start mosh-client. */
static void
sup_client_up(struct sup *s)
{
	int port = s->row.mosh_port;

	db_session_str(&s->row.remote_addr, s->remote_addr);
	db_session_str(&s->row.path,
	    s->ap != NULL ? pathsel_name(autopath_path(s->ap)) : transport_name(s->tr));
	/* The row holds the key while the session runs (every update writes it again);
	 * closing the session wipes it. */
	s->row.session_key = s->key;
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	sup_progressf(s, "starting mosh-client (%s to %s:%d via 127.0.0.1:%d)",
	    transport_name(s->tr), s->remote_addr, port, localrelay_port(s->relay));
	s->have_tio = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &s->tio) == 0;
	if (sup_spawn_client(s) == -1)
		return;
	/* From here on nothing is written to the terminal until the client exits. */
	s->row.client_pid = s->client;
	s->row.client_start = proc_start_time(s->client);
	db_session_str(&s->row.state, "up");
	s->link_since = clock_epoch_ms();
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	sup_event(s, "state", "up");
	ev_timer_init(&s->stats_w, sup_stats_cb, 1., 1.);
	s->stats_w.data = s;
	ev_timer_start(s->loop, &s->stats_w);
	sup_netwatch_start(s);
}

static void
sup_open_done(struct sshconn *c, const char *error, void *arg)
{
	struct sup *s = arg;
	int colors;

	if (error != NULL) {
		sup_fail(s, "%s", error);
		return;
	}
	sup_progressf(s, "authenticated (%s)", sshconn_auth_method(c));
	/* Checked here, late, so the bootstrap can be tested without one, but before a
	 * mosh-server exists that no client could use. */
	if (!s->opts->detached && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		sup_fail(s,
		    "mosh-client needs a terminal and this is not one; run moshman "
		    "connect in a terminal");
		return;
	}
	if ((colors = sup_colors()) == -1) {
		sup_fail(s, "cannot run %s here; install mosh (or set MOSHMAN_MOSH_CLIENT)",
		    sup_client_path());
		return;
	}
	s->colors = colors;
	s->bind_any = strcmp(sshconn_route(c), "proxycommand") == 0;
	if (s->host.bind_server != NULL && strcmp(s->host.bind_server, "any") == 0)
		s->bind_any = 1;
	else if (s->host.bind_server != NULL) {
		/* mosh --bind-server=ADDR: the relay on the host sends there too. */
		snprintf(s->relay_host, sizeof s->relay_host, "%s", s->host.bind_server);
		sup_start_server(s);
		return;
	}
	if (s->tr == TRANSPORT_AUTO && !s->bind_any) {
		/* mosh-server -s binds the address this ssh connection reached; the relay
		 * must send there too, so learn it first. */
		sshconn_exec(c, "echo \"$SSH_CONNECTION\"", sup_sshconn_done, s);
		return;
	}
	snprintf(s->relay_host, sizeof s->relay_host, "127.0.0.1");
	sup_start_server(s);
}

/* SSH_CONNECTION is "client-addr client-port server-addr server-port". */
static void
sup_sshconn_done(struct sshconn *c, const char *out, size_t outlen, const char *err, size_t errlen,
    int status, const char *error, void *arg)
{
	struct sup *s = arg;
	char a[4][INET6_ADDRSTRLEN + 8];

	if (error != NULL) {
		sup_fail(s, "%s", error);
		return;
	}
	if (out != NULL && sscanf(out, "%53s %53s %53s %53s", a[0], a[1], a[2], a[3]) == 4 &&
	    rrelay_valid_host(a[2]) && strlen(a[2]) < sizeof s->relay_host)
		memcpy(s->relay_host, a[2], strlen(a[2]) + 1);
	else {
		/* Unknown: let mosh-server listen everywhere and the relay use loopback. */
		s->bind_any = 1;
		snprintf(s->relay_host, sizeof s->relay_host, "127.0.0.1");
	}
	sup_start_server(s);
}

static void
sup_start_server(struct sup *s)
{
	struct supervisor_server_opts so;
	char **loc;
	char *cmd;
	int nloc;

	so.bind_addr = s->host.bind_server != NULL && strcmp(s->host.bind_server, "any") != 0
	    ? s->host.bind_server
	    : NULL;
	so.port_lo = s->host.server_port_lo;
	so.port_hi = s->host.server_port_hi;
	loc = sup_locales(&s->host, &nloc);
	cmd = supervisor_server_command(s->host.server_command, s->colors, (const char *const *)loc,
	    nloc, (long long)s->host.idle_timeout, SUP_SIGNAL_TMOUT,
	    s->tr == TRANSPORT_TCP || s->tr == TRANSPORT_COMMAND, s->bind_any, &so);
	for (int i = 0; i < nloc; i++)
		free(loc[i]);
	free(loc);
	log_debug("supervisor: remote command: %s", cmd);
	sup_progressf(s, "starting %s", s->host.server_command);
	sshconn_exec(s->ssh, cmd, sup_exec_done, s);
	free(cmd);
}

/* ---- setup ----------------------------------------------------------------------------- */

static int
sup_make_row(struct sup *s)
{
	char boot[PROC_BOOT_ID_LEN];

	memset(&s->row, 0, sizeof s->row);
	s->row.host_id = s->host.id;
	db_session_str(&s->row.host_name, s->host.name);
	db_session_str(&s->row.state, "starting");
	db_session_str(&s->row.transport, s->transport);
	s->row.local_port = localrelay_port(s->relay);
	s->row.supervisor_pid = getpid();
	s->row.supervisor_start = proc_start_time(getpid());
	proc_boot_id(boot, sizeof boot);
	db_session_str(&s->row.boot_id, boot);
	s->row.started_at = clock_epoch_ms();
	s->row.rtt_ms = -1;
	if (db_session_insert(s->db, &s->row) != DB_OK) {
		fprintf(stderr, "moshman: cannot record the session: %s\n", db_error(s->db));
		db_session_clear(&s->row);
		return -1;
	}
	s->have_row = 1;
	return 0;
}

int
supervisor_sshconn_config(const struct db_host *h, const char *policy, struct sshconn_config *cfg,
    char *err, size_t errlen)
{
	enum sshconn_policy p;
	char *e = NULL;

	if (sshconn_policy_from_name(policy, &p) == -1) {
		snprintf(err, errlen, "unknown host key policy '%s' (ask, accept-new or strict)",
		    policy);
		return SUPERVISOR_USAGE;
	}
	if (sshconn_config_from_profile(h, policy, SUP_CONNECT_TIMEOUT, cfg, &e) == 0)
		return 0;
	snprintf(err, errlen, "%s", e != NULL ? e : "cannot use this profile");
	free(e);
	return SUPERVISOR_FAIL;
}

/* The profile, the transport and the ssh settings, checked before anything starts. */
static int
sup_prepare(struct sup *s, struct sshconn_config *cfg, char *err, size_t errlen)
{
	const char *policy;
	int rc;

	if (s->opts->host != NULL) {
		db_host_copy(&s->host, s->opts->host);
		rc = DB_OK;
	} else
		rc = db_host_get(s->db, s->opts->name, &s->host);
	if (rc == DB_NOTFOUND) {
		snprintf(err, errlen,
		    "no host profile named '%s'; see 'moshman host list' or add "
		    "it with 'moshman host add'",
		    s->opts->name);
		return SUPERVISOR_FAIL;
	}
	if (rc != DB_OK) {
		snprintf(err, errlen, "%s", db_error(s->db));
		return SUPERVISOR_FAIL;
	}
	s->transport = s->opts->transport != NULL ? s->opts->transport : s->host.transport;
	if (transport_from_name(s->transport, &s->tr) == -1) {
		snprintf(err, errlen, "unknown transport '%s' (" TRANSPORT_NAMES ")", s->transport);
		return SUPERVISOR_USAGE;
	}
	if (s->tr == TRANSPORT_COMMAND &&
	    (s->host.tunnel_command == NULL || *s->host.tunnel_command == '\0')) {
		snprintf(err, errlen,
		    "transport command needs the profile's tunnel command: "
		    "moshman host edit %s --tunnel-command '...{{local_port}}...'",
		    s->host.name);
		return SUPERVISOR_USAGE;
	}
	policy = s->opts->hostkey_policy != NULL ? s->opts->hostkey_policy : s->host.hostkey_policy;
	return supervisor_sshconn_config(&s->host, policy, cfg, err, errlen);
}

static void
sup_signals_start(struct sup *s)
{
	ev_signal_init(&s->sig_int, sup_signal_cb, SIGINT);
	ev_signal_init(&s->sig_term, sup_signal_cb, SIGTERM);
	ev_signal_init(&s->sig_hup, sup_signal_cb, SIGHUP);
	ev_signal_init(&s->sig_usr1, sup_signal_cb, SIGUSR1);
	ev_signal_init(&s->sig_usr2, sup_reconnect_cb, SIGUSR2);
	s->sig_int.data = s->sig_term.data = s->sig_hup.data = s->sig_usr1.data = s;
	s->sig_usr2.data = s;
	ev_signal_start(s->loop, &s->sig_int);
	ev_signal_start(s->loop, &s->sig_term);
	ev_signal_start(s->loop, &s->sig_hup);
	ev_signal_start(s->loop, &s->sig_usr1);
	ev_signal_start(s->loop, &s->sig_usr2);
}

static void
sup_signals_stop(struct sup *s)
{
	ev_signal_stop(s->loop, &s->sig_int);
	ev_signal_stop(s->loop, &s->sig_term);
	ev_signal_stop(s->loop, &s->sig_hup);
	ev_signal_stop(s->loop, &s->sig_usr1);
	ev_signal_stop(s->loop, &s->sig_usr2);
	/* Stopping the watchers restored the defaults (terminate): a request that arrives
	 * now must not cut the clean-up short. */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
}

/* Everything the run held, in reverse. */
static void
sup_teardown(struct sup *s)
{
	if (s->client > 0) {
		/* Never leave the client behind (only reached on an internal failure). */
		kill(s->client, SIGTERM);
		waitpid(s->client, NULL, 0);
		s->client = 0;
	}
	if (s->loop != NULL) {
		sup_signals_stop(s);
		ev_timer_stop(s->loop, &s->stats_w);
		ev_timer_stop(s->loop, &s->end_w);
		ev_timer_stop(s->loop, &s->client_w);
		ev_timer_stop(s->loop, &s->check_w);
	}
	netwatch_free(s->nw);
	if (s->udp_res != NULL)
		resolve_cancel(s->udp_res);
	free(s->udp_name);
	s->nw = NULL;
	if (s->loop != NULL)
		sup_paths_stop(s);
	free(s->command_line);
	sshconn_free(s->ssh);
	localrelay_free(s->relay);
	/* Last: an attached terminal waits for this close to know the session is over. */
	attach_free(s->att);
	s->att = NULL;
	explicit_bzero(s->key, sizeof s->key);
	s->row.session_key = NULL;
	db_session_clear(&s->row);
	db_host_clear(&s->host);
}

/* The supervisor (and mosh-client after it) holds the session key and whatever
 * password, passphrase or answers were typed: no core file may keep them. */
static void
sup_no_core(void)
{
	struct rlimit nocore = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &nocore) == -1)
		log_debug("supervisor: setrlimit(RLIMIT_CORE): %s", strerror(errno));
}

int
supervisor_run(struct db *db, const struct supervisor_opts *opts, char *err, size_t errlen)
{
	struct sshconn_config cfg;
	struct sup s;
	int rc;

	sup_no_core();
	memset(&s, 0, sizeof s);
	s.db = db;
	s.opts = opts;
	s.rc = SUP_FAIL;
	s.check_every = SUP_CHECK_EVERY_MS;
	if ((rc = sup_prepare(&s, &cfg, err, errlen)) != 0)
		goto out;
	s.loop = ev_default_loop(EVFLAG_AUTO);
	signal(SIGPIPE, SIG_IGN);
	if ((s.relay = localrelay_new(s.loop, err, errlen)) == NULL) {
		rc = SUPERVISOR_FAIL;
		goto out;
	}
	if (sup_make_row(&s) == -1) {
		rc = SUP_FAIL;
		goto out;
	}
	sup_event(&s, "start", "connect requested");
	if (s.host.id > 0)
		db_host_touch(db, s.host.id, clock_epoch_ms());
	sup_signals_start(&s);
	s.ssh = sshconn_new(s.loop, &cfg, sup_progress, &s);
	sshconn_open(s.ssh, 1, sup_open_done, &s);
	while (!s.done)
		ev_run(s.loop, 0);
	rc = s.rc;
out:
	sup_teardown(&s);
	return rc;
}
