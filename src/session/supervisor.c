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
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "src/util/clock.h"
#include "src/cmd/cmd.h"
#include "src/link/localrelay.h"
#include "src/link/cmdpath.h"
#include "src/link/health.h"
#include "src/util/log.h"
#include "src/session/attach.h"
#include "src/session/moshconnect.h"
#include "src/util/proc.h"
#include "src/ssh/proxy.h"
#include "src/util/shquote.h"
#include "src/ssh/sshconn.h"
#include "src/link/pathsel.h"
#include "src/link/rrelay.h"
#include "src/link/tunnel.h"
#include "src/util/xmalloc.h"

#define SUP_SIGNAL_TMOUT 60     /* SIGUSR1 ends a server only after this long detached */
#define SUP_CONNECT_TIMEOUT 15000

extern char **environ;

struct sup {
	struct ev_loop *loop;
	struct db *db;
	const struct supervisor_opts *opts;
	struct db_host host;
	struct db_session row;
	int have_row;
	const char *transport;   /* what was asked */
	struct localrelay *relay;
	struct sshconn *ssh;
	struct tunnel *tunnel;
	int tcp;                 /* the session runs over the tunnel */
	int autop;               /* transport auto: UDP and the tunnel, pathsel decides */
	int cmdp;                /* transport command: the profile's tunnel command */
	struct cmdpath *cmdpath;
	char *command_line;      /* transport command: the expanded command, for restarts */
	int colors;
	int bind_any;            /* mosh-server on every address (no -s) */
	char relay_host[INET6_ADDRSTRLEN]; /* where the relay finds mosh-server (auto) */
	struct pathsel ps;
	int udp_fd;              /* auto: the direct UDP socket, -1 none */
	ev_io udp_rd;
	ev_timer path_w;
	char key[MOSHCONNECT_KEY_LEN + 1];
	char remote_addr[INET6_ADDRSTRLEN];

	pid_t client;
	struct attach *att;      /* attach_fd >= 0: mosh-client's terminal and socket */
	ev_child child_w;
	ev_timer stats_w;
	ev_signal sig_int, sig_term, sig_hup;
	ev_signal sig_usr2;      /* `moshman reconnect`: rebuild the link now */
	int64_t link_since;      /* ms epoch the current link came up (health counts from) */
	int forced;              /* links rebuilt on request outside the tunnel (command) */

	int rc;                  /* exit status */
	int done;
	char pending[1024];      /* the error to report once the fresh server is ended */
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

	/* Once mosh-client runs, the terminal is its own: events only (reconnects). */
	if (!s->opts->quiet && s->client == 0)
		fprintf(stderr, "moshman: %s...\n", step);
	if (s->client == 0)
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

/* Ends the bootstrap with one line for the user; the row (if any) is failed. */
static void
sup_fail(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sup_fail(struct sup *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "moshman: %s\n", buf);
	if (s->have_row && db_session_set_state(s->db, s->row.id, "failed", buf) != DB_OK)
		log_debug("supervisor: cannot mark the session failed: %s", db_error(s->db));
	s->rc = EXIT_FAIL;
	s->done = 1;
	ev_break(s->loop, EVBREAK_ALL);
}

/* ---- pure pieces ------------------------------------------------------------------- */

char *
supervisor_server_command(const char *server_command, int colors,
    const char *const *locales, int nlocales, long long idle_timeout, int signal_timeout,
    int tunnel, int bind_any)
{
	const char **argv;
	char *net = NULL, *sig = NULL, *col = NULL, *cmd;
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
	} else if (!bind_any)
		argv[argc++] = "-s";
	for (int i = 0; i < nlocales; i++) {
		argv[argc++] = "-l";
		argv[argc++] = locales[i];
	}
	argv[argc] = NULL;
	cmd = shquote_env_argv(argc, argv);
	free(net);
	free(sig);
	free(col);
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
	static const char *const vars[] = { "LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC",
		"LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME",
		"LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION", "LC_ALL" };
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

/* A numeric address for name here; -1 if it does not resolve. */
static int
sup_resolve(const char *name, char *out, size_t outlen, int *loopback)
{
	struct addrinfo hints, *ai = NULL;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(name, NULL, &hints, &ai) != 0 || ai == NULL)
		return -1;
	*loopback = sup_is_loopback(ai->ai_addr);
	getnameinfo(ai->ai_addr, ai->ai_addrlen, out, outlen, NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(ai);
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

/* Where mosh's UDP goes.  Directly connected: the address ssh reached.  Through a proxy
 * or a command: the profile's host resolved here, as mosh's wrapper does; a target that
 * is loopback as seen from a jump host is the jump host itself. */
static int
sup_udp_addr(struct sup *s)
{
	const char *peer = sshconn_peer_addr(s->ssh), *jump = sshconn_jump_spec(s->ssh);
	char *jh;
	int lo = 0;

	if (peer != NULL) {
		snprintf(s->remote_addr, sizeof s->remote_addr, "%s", peer);
		return 0;
	}
	if (sup_resolve(sshconn_target_host(s->ssh), s->remote_addr, sizeof s->remote_addr,
	    &lo) == 0 && !lo)
		return 0;
	if (jump != NULL) {
		jh = sup_jump_host(jump);
		if (sup_resolve(jh, s->remote_addr, sizeof s->remote_addr, &lo) == 0) {
			free(jh);
			return 0;
		}
		free(jh);
	}
	return -1;
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

	if (strcmp(s->row.state, "up") != 0 && strcmp(s->row.state, "degraded") != 0)
		return;
	was = strcmp(s->row.state, "degraded") == 0;
	memset(&in, 0, sizeof in);
	in.now = db_now_ms();
	in.since = s->link_since;
	in.last_tx = st->last_up_ms;
	in.last_rx = st->last_down_ms;
	in.rtt_ms = -1;
	in.degraded = was;
	if (s->tunnel != NULL && (s->tcp || (s->autop && s->ps.path == PATHSEL_TCP))) {
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
	free(s->row.state);
	s->row.state = xstrdup(bad ? "degraded" : "up");
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
	if (s->client > 0)
		sup_health(s, &st);
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: stats not written: %s", db_error(s->db));
}

static void
sup_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct sup *s = w->data;
	char reason[128];
	int st = w->rstatus;

	/* Reported only for an attached session (traced watcher): mosh's suspend. */
	if (WIFSTOPPED(st) || WIFCONTINUED(st)) {
		if (WIFSTOPPED(st) && s->att != NULL)
			attach_client_stopped(s->att);
		return;
	}
	ev_child_stop(loop, w);
	if (WIFEXITED(st)) {
		s->rc = WEXITSTATUS(st);
		snprintf(reason, sizeof reason, "mosh-client exited with status %d", s->rc);
	} else if (WIFSIGNALED(st)) {
		s->rc = 128 + WTERMSIG(st);
		snprintf(reason, sizeof reason, "mosh-client killed by signal %d", WTERMSIG(st));
	} else {
		s->rc = EXIT_FAIL;
		snprintf(reason, sizeof reason, "mosh-client ended");
	}
	s->client = 0;
	if (s->att != NULL)
		attach_client_exited(s->att, s->rc, reason);
	sup_stats_cb(loop, &s->stats_w, 0);
	s->row.session_key = NULL;
	explicit_bzero(s->key, sizeof s->key);
	ev_timer_stop(loop, &s->stats_w);
	if (db_session_set_state(s->db, s->row.id, "closed", reason) != DB_OK)
		log_debug("supervisor: cannot close the session: %s", db_error(s->db));
	s->done = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void sup_fail_server(struct sup *, const char *);

static void
sup_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct sup *s = w->data;

	if (s->client > 0) {
		/* The client shuts down cleanly and tells the server; we follow it. */
		kill(s->client, w->signum);
		return;
	}
	/* A second signal while the fresh server is being ended: stop waiting for that. */
	if (s->pending[0] != '\0') {
		sup_fail(s, "%s", s->pending);
		return;
	}
	/* Like any failure after mosh-server started: end it first, so an interrupted
	 * connect leaves no server waiting for a client that will not come.  A tunnel
	 * still starting goes first (its stream and the kill cannot share the channel). */
	if (s->tunnel != NULL) {
		tunnel_free(s->tunnel);
		s->tunnel = NULL;
	}
	{
		char msg[96];

		snprintf(msg, sizeof msg, "interrupted by signal %d while connecting", w->signum);
		sup_fail_server(s, msg);
	}
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

	s->att = attach_new(s->loop, s->row.id, s->host.name, STDIN_FILENO,
	    sup_attach_changed, s, err, sizeof err);
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
	static const int reset[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGPIPE, SIGTERM,
		SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2 };
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
		    setenv("MOSH_PREDICTION_DISPLAY", s->host.predict, 1) == -1)
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

/* ---- the bootstrap, as callbacks ------------------------------------------------------ */

static void
sup_kill_done(struct sshconn *c, const char *out, size_t outlen, const char *err,
    size_t errlen, int status, const char *error, void *arg)
{
	struct sup *s = arg;

	sshconn_close(c);
	sup_fail(s, "%s", s->pending);
}

/* A failure after mosh-server started: end that server first (the ssh connection is
 * still open), so nothing is left waiting 60 s for a client that will not come. */
static void
sup_fail_server(struct sup *s, const char *msg)
{
	char *cmd = NULL;

	if (s->row.server_pid <= 0 || !sshconn_exec_possible(s->ssh)) {
		sshconn_close(s->ssh);
		sup_fail(s, "%s", msg);
		return;
	}
	snprintf(s->pending, sizeof s->pending, "%s", msg);
	xasprintf(&cmd, "kill -TERM %lld", (long long)s->row.server_pid);
	sshconn_exec(s->ssh, cmd, sup_kill_done, s);
	free(cmd);
}

static void sup_client_up(struct sup *);
static void sup_start_server(struct sup *);
static void sup_sshconn_done(struct sshconn *, const char *, size_t, const char *, size_t,
    int, const char *, void *);
static void sup_exec_done(struct sshconn *, const char *, size_t, const char *, size_t,
    int, const char *, void *);

static void
sup_set_state(struct sup *s, const char *state)
{
	if (strcmp(s->row.state, state) == 0)
		return;
	free(s->row.state);
	s->row.state = xstrdup(state);
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
}

/* What the tunnel says becomes the row's state and an event; before mosh-client runs
 * it is also a progress line (or the failure). */
static void
sup_tunnel_cb(struct tunnel *t, enum tunnel_event ev, const char *msg, double secs,
    void *arg)
{
	struct sup *s = arg;

	switch (ev) {
	case TUNNEL_UP:
		if (s->autop)
			pathsel_tcp_state(&s->ps, 1);
		if (s->client == 0) {
			sup_progressf(s, "tunnel %s", msg);
			sup_client_up(s);
		} else
			sup_event(s, "tunnel", msg);
		break;
	case TUNNEL_DEAD:
		sup_event(s, "reconnect", msg);
		if (s->autop)
			pathsel_tcp_state(&s->ps, 0);
		if (!s->autop || s->ps.path == PATHSEL_TCP)
			sup_set_state(s, "reconnecting");
		break;
	case TUNNEL_UP_AGAIN:
		sup_event(s, "reconnect", msg);
		if (s->autop)
			pathsel_tcp_state(&s->ps, 1);
		if (s->client == 0) {
			sup_client_up(s);
			break;
		}
		s->link_since = db_now_ms();
		/* On auto, a standby tunnel coming back says nothing about the udp path
		 * that carries the session (nor about its degraded state). */
		if (!s->autop || s->ps.path == PATHSEL_TCP)
			sup_set_state(s, "up");
		sup_stats_cb(s->loop, &s->stats_w, 0);
		break;
	case TUNNEL_RETRY:
		log_debug("supervisor: %s", msg);
		break;
	case TUNNEL_NOTICE:
		sup_event(s, "notice", msg);
		break;
	case TUNNEL_FAILED:
		if (s->client == 0) {
			char buf[1024];

			snprintf(buf, sizeof buf, "tunnel: %s", msg);
			sup_fail_server(s, buf);
			return;
		}
		if (s->autop) {
			/* UDP carries on; only the fallback is gone. */
			pathsel_tcp_state(&s->ps, 0);
			sup_event(s, "tunnel", msg);
			break;
		}
		/* mosh-client keeps running (its "Last contact" grows; Ctrl-^ . ends it):
		 * the row says why nothing gets through any more. */
		sup_event(s, "reconnect", msg);
		if (db_session_set_state(s->db, s->row.id, "failed", msg) != DB_OK)
			log_debug("supervisor: cannot mark failed: %s", db_error(s->db));
		free(s->row.state);
		s->row.state = xstrdup("failed");
		break;
	}
}

/* ---- transport auto: UDP and the tunnel side by side, pathsel decides -------------- */

static int
sup_auto_send(void *p, const void *buf, size_t len)
{
	struct sup *s = p;
	int64_t now = clock_mono_ms();
	int sent = 0;

	pathsel_client_tx(&s->ps, now);
	if (s->udp_fd != -1 && pathsel_send_udp(&s->ps, now) &&
	    send(s->udp_fd, buf, len, MSG_DONTWAIT) != -1)
		sent = 1;
	if (s->tunnel != NULL && pathsel_send_tcp(&s->ps, now) &&
	    tunnel_send(s->tunnel, buf, len) == 0)
		sent = 1;
	return sent ? 0 : -1;
}

static void
sup_auto_free(void *p)
{
}

static const struct localrelay_path_ops sup_auto_ops = {
	"auto", sup_auto_send, sup_auto_free,
};

static void
sup_auto_udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sup *s = w->data;
	unsigned char buf[LOCALRELAY_MAX_DATAGRAM + 1];
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		if ((n = recv(s->udp_fd, buf, sizeof buf, MSG_DONTWAIT)) == -1)
			return;
		if (n > LOCALRELAY_MAX_DATAGRAM)
			continue;
		pathsel_udp_rx(&s->ps, clock_mono_ms());
		localrelay_deliver(s->relay, buf, (size_t)n);
	}
}

static void
sup_auto_tcp_rx(const void *buf, size_t len, void *arg)
{
	struct sup *s = arg;

	localrelay_deliver(s->relay, buf, len);
}

/* Once a second: the policy's verdict, recorded as an event and in the row. */
static void
sup_path_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup *s = w->data;
	enum pathsel_path from = s->ps.path;
	char why[128], msg[256];
	int64_t was;

	if (!pathsel_tick(&s->ps, clock_mono_ms(), why, sizeof why, &was))
		return;
	snprintf(msg, sizeof msg, "%s -> %s: %s (after %.1f s on %s)", pathsel_name(from),
	    pathsel_name(s->ps.path), why, (double)was / 1000.0, pathsel_name(from));
	log_debug("supervisor: path %s", msg);
	sup_event(s, "path", msg);
	free(s->row.path);
	s->row.path = xstrdup(pathsel_name(s->ps.path));
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
}

/* A UDP socket connected to the server, or -1. */
static int
sup_auto_udp_open(struct sup *s, int port)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];
	int fd;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%d", port);
	if (getaddrinfo(s->remote_addr, portstr, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void
sup_auto_start(struct sup *s, int port)
{
	struct tunnel_config tc;

	memset(&tc, 0, sizeof tc);
	tc.udp_host = s->relay_host;
	tc.udp_port = port;
	tc.relay = TUNNEL_RELAY_ANY;
	tc.deliver = sup_auto_tcp_rx;
	tc.deliver_arg = s;
	s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, &tc, sup_tunnel_cb, s);
	if (sup_udp_addr(s) == 0)
		s->udp_fd = sup_auto_udp_open(s, port);
	pathsel_init(&s->ps, clock_mono_ms(), s->udp_fd != -1);
	if (s->udp_fd != -1) {
		ev_io_init(&s->udp_rd, sup_auto_udp_cb, s->udp_fd, EV_READ);
		s->udp_rd.data = s;
		ev_io_start(s->loop, &s->udp_rd);
	} else
		snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	localrelay_set_path(s->relay, &sup_auto_ops, s);
	ev_timer_init(&s->path_w, sup_path_cb, 1., 1.);
	s->path_w.data = s;
	ev_timer_start(s->loop, &s->path_w);
	sup_progressf(s, "transport auto: %s, the tunnel relay beside it",
	    s->udp_fd != -1 ? "direct UDP first" : "tcp only (no UDP address)");
	tunnel_start(s->tunnel);
	if (s->udp_fd != -1)
		sup_client_up(s);
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
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
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
		sup_fail_server(s, "cannot find a free UDP port on 127.0.0.1");
		return;
	}
	memset(&v, 0, sizeof v);
	v.host = sshconn_target_host(s->ssh);
	v.port = s->host.port;
	v.user = s->host.user;
	v.mosh_port = port;
	v.local_port = lport;
	if (cmdpath_expand(s->host.tunnel_command, &v, &cmd, err, sizeof err) == -1) {
		sup_fail_server(s, err);
		return;
	}
	log_debug("supervisor: tunnel command: %s", cmd);
	snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	if (localrelay_use_udp(s->relay, "127.0.0.1", lport, err, sizeof err) == -1) {
		free(cmd);
		sup_fail_server(s, err);
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

	if (s->client <= 0) {
		sup_event(s, "reconnect", "reconnect requested while mosh-client is not "
		    "running: ignored");
		return;
	}
	if (s->cmdp) {
		sup_event(s, "reconnect", "reconnect requested: restarting the tunnel command");
		cmdpath_restart(s->cmdpath);
		s->forced++;
		s->link_since = db_now_ms();
		sup_stats_cb(loop, &s->stats_w, 0);
		return;
	}
	if (s->tunnel == NULL) {
		sup_event(s, "reconnect", "reconnect requested: nothing to rebuild on udp "
		    "(mosh-client roams by itself)");
		return;
	}
	if (s->autop) {
		sup_event(s, "reconnect", s->ps.path != PATHSEL_TCP ? "reconnect requested: on "
		    "udp, rebuilding the standby tunnel only if it is down" : s->ps.udp_possible ?
		    "reconnect requested: probing UDP now and rebuilding the tunnel" :
		    "reconnect requested: rebuilding the tunnel (no UDP address to probe)");
		/* Open pathsel's UDP probe window now rather than within 15 s. */
		if (s->ps.path == PATHSEL_TCP && s->ps.udp_possible)
			s->ps.next_probe = clock_mono_ms();
		if (s->ps.path == PATHSEL_UDP && tunnel_is_up(s->tunnel))
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
	else if (rc == TUNNEL_RC_FAILED)
		sup_event(s, "reconnect", "the tunnel has given up for good (see the events "
		    "before); connect again");
}

static void
sup_exec_done(struct sshconn *c, const char *out, size_t outlen, const char *err,
    size_t errlen, int status, const char *error, void *arg)
{
	struct sup *s = arg;
	struct moshconnect mc;
	char errbuf[512];

	if (error != NULL) {
		sup_fail(s, "%s", error);
		return;
	}
	if (moshconnect_parse(out, outlen, err, errlen, status, &mc) == -1) {
		sup_fail(s, "%s", mc.error);
		return;
	}
	memcpy(s->key, mc.key, sizeof s->key);
	moshconnect_clear(&mc);
	s->row.mosh_port = mc.port;
	s->row.server_pid = mc.pid;
	if (mc.pid > 0)
		sup_progressf(s, "mosh-server on port %d (pid %ld)", mc.port, mc.pid);
	else
		sup_progressf(s, "mosh-server on port %d", mc.port);
	if (s->autop) {
		sup_auto_start(s, mc.port);
		return;
	}
	if (s->cmdp) {
		sup_command_start(s, mc.port);
		return;
	}
	if (s->tcp) {
		struct tunnel_config tc;

		memset(&tc, 0, sizeof tc);
		tc.udp_port = mc.port;
		tc.relay = TUNNEL_RELAY_ANY;
		if (getenv("MOSHMAN_RELAY") != NULL && strcmp(getenv("MOSHMAN_RELAY"), "perl") == 0)
			tc.relay = TUNNEL_RELAY_PERL;
		snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
		s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, &tc, sup_tunnel_cb, s);
		sup_progressf(s, "starting the tunnel relay");
		tunnel_start(s->tunnel);
		return;
	}
	if (sup_udp_addr(s) == -1) {
		snprintf(errbuf, sizeof errbuf, "cannot reach %s over UDP from here (it was "
		    "reached through the proxy and has no address of its own here); use "
		    "--transport tcp or auto", sshconn_target_host(s->ssh));
		sup_fail_server(s, errbuf);
		return;
	}
	if (localrelay_use_udp(s->relay, s->remote_addr, mc.port, errbuf, sizeof errbuf) == -1) {
		sup_fail_server(s, errbuf);
		return;
	}
	/* Direct UDP needs ssh no longer (like mosh), nor what was typed to log in. */
	sshconn_close(s->ssh);
	sshconn_forget_secrets(s->ssh);
	sup_client_up(s);
}

/* The path works: record it and start mosh-client. */
static void
sup_client_up(struct sup *s)
{
	int port = s->row.mosh_port;

	free(s->row.remote_addr);
	s->row.remote_addr = xstrdup(s->remote_addr);
	free(s->row.path);
	s->row.path = xstrdup(s->autop ? pathsel_name(s->ps.path) : s->tcp ? "tcp" :
	    s->cmdp ? "command" : "udp");
	/* The row holds the key while the session runs (every update writes it again);
	 * closing the session wipes it. */
	s->row.session_key = s->key;
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	sup_progressf(s, "starting mosh-client (%s to %s:%d via 127.0.0.1:%d)",
	    s->autop ? "auto" : s->tcp ? "tcp" : s->cmdp ? "command" : "udp", s->remote_addr, port, localrelay_port(s->relay));
	if (sup_spawn_client(s) == -1)
		return;
	/* From here on nothing is written to the terminal until the client exits. */
	s->row.client_pid = s->client;
	s->row.client_start = proc_start_time(s->client);
	free(s->row.state);
	s->row.state = xstrdup("up");
	s->link_since = db_now_ms();
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	sup_event(s, "state", "up");
	ev_timer_init(&s->stats_w, sup_stats_cb, 1., 1.);
	s->stats_w.data = s;
	ev_timer_start(s->loop, &s->stats_w);
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
		sup_fail(s, "mosh-client needs a terminal and this is not one; run moshman "
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
	if (s->autop && !s->bind_any) {
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
sup_sshconn_done(struct sshconn *c, const char *out, size_t outlen, const char *err,
    size_t errlen, int status, const char *error, void *arg)
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
	char **loc;
	char *cmd;
	int nloc;

	loc = sup_locales(&s->host, &nloc);
	cmd = supervisor_server_command(s->host.server_command, s->colors,
	    (const char *const *)loc, nloc, (long long)s->host.idle_timeout, SUP_SIGNAL_TMOUT,
	    s->tcp || s->cmdp, s->bind_any);
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
	s->row.host_name = s->host.name;
	s->row.state = "starting";
	s->row.transport = (char *)(uintptr_t)s->transport;
	s->row.local_port = localrelay_port(s->relay);
	s->row.supervisor_pid = getpid();
	s->row.supervisor_start = proc_start_time(getpid());
	proc_boot_id(boot, sizeof boot);
	s->row.boot_id = boot;
	s->row.started_at = db_now_ms();
	s->row.rtt_ms = -1;
	if (db_session_insert(s->db, &s->row) != DB_OK) {
		fprintf(stderr, "moshman: cannot record the session: %s\n", db_error(s->db));
		memset(&s->row, 0, sizeof s->row);
		return -1;
	}
	/* From now on the row's strings are ours (freed by db_session_clear-like code). */
	s->row.host_name = xstrdup(s->host.name);
	s->row.state = xstrdup("starting");
	s->row.transport = xstrdup(s->transport);
	s->row.boot_id = xstrdup(boot);
	s->have_row = 1;
	return 0;
}

static void
sup_free_row(struct db_session *r)
{
	free(r->host_name);
	free(r->state);
	free(r->path);
	free(r->transport);
	free(r->remote_addr);
	free(r->boot_id);
	memset(r, 0, sizeof *r);
}

int
supervisor_sshconn_config(const struct db_host *h, const char *policy,
    struct sshconn_config *cfg)
{
	enum sshconn_policy p;
	char *err = NULL;
	int rc;

	if (sshconn_policy_from_name(policy, &p) == -1)
		return cmd_usage("unknown host key policy '%s' (ask, accept-new or strict)",
		    policy);
	if (sshconn_config_from_profile(h, policy, SUP_CONNECT_TIMEOUT, cfg, &err) == 0)
		return 0;
	rc = cmd_fail("%s", err);
	free(err);
	return rc;
}

int
supervisor_run(struct db *db, const struct supervisor_opts *opts)
{
	struct sshconn_config cfg;
	struct sup s;
	char err[256];
	const char *policy;
	int rc;

	/* The supervisor (and mosh-client after it) holds the session key and whatever
	 * password, passphrase or answers were typed: no core file may keep them. */
	{
		struct rlimit nocore = { 0, 0 };

		if (setrlimit(RLIMIT_CORE, &nocore) == -1)
			log_debug("supervisor: setrlimit(RLIMIT_CORE): %s", strerror(errno));
	}
	memset(&s, 0, sizeof s);
	s.udp_fd = -1;
	s.db = db;
	s.opts = opts;
	s.rc = EXIT_FAIL;
	rc = db_host_get(db, opts->name, &s.host);
	if (rc == DB_NOTFOUND)
		return cmd_fail("no host profile named '%s'; see 'moshman host list' or add it "
		    "with 'moshman host add'", opts->name);
	if (rc != DB_OK)
		return cmd_fail("%s", db_error(db));

	s.transport = opts->transport != NULL ? opts->transport : s.host.transport;
	if (strcmp(s.transport, "udp") != 0 && strcmp(s.transport, "auto") != 0 &&
	    strcmp(s.transport, "tcp") != 0 && strcmp(s.transport, "command") != 0) {
		rc = cmd_usage("unknown transport '%s' (udp, tcp, auto or command)", s.transport);
		goto out;
	}
	s.cmdp = strcmp(s.transport, "command") == 0;
	if (s.cmdp && (s.host.tunnel_command == NULL || *s.host.tunnel_command == '\0')) {
		rc = cmd_usage("transport command needs the profile's tunnel command: moshman "
		    "host edit %s --tunnel-command '...{{local_port}}...'", s.host.name);
		goto out;
	}
	s.tcp = strcmp(s.transport, "tcp") == 0;
	s.autop = strcmp(s.transport, "auto") == 0;
	policy = opts->hostkey_policy != NULL ? opts->hostkey_policy : s.host.hostkey_policy;
	if ((rc = supervisor_sshconn_config(&s.host, policy, &cfg)) != 0)
		goto out;

	s.loop = ev_default_loop(EVFLAG_AUTO);
	signal(SIGPIPE, SIG_IGN);
	if ((s.relay = localrelay_new(s.loop, err, sizeof err)) == NULL) {
		rc = cmd_fail("%s", err);
		goto out;
	}
	if (sup_make_row(&s) == -1) {
		rc = EXIT_FAIL;
		goto out;
	}
	sup_event(&s, "start", "connect requested");
	db_host_touch(db, s.host.id, db_now_ms());

	ev_signal_init(&s.sig_int, sup_signal_cb, SIGINT);
	ev_signal_init(&s.sig_term, sup_signal_cb, SIGTERM);
	ev_signal_init(&s.sig_hup, sup_signal_cb, SIGHUP);
	s.sig_int.data = s.sig_term.data = s.sig_hup.data = &s;
	ev_signal_start(s.loop, &s.sig_int);
	ev_signal_start(s.loop, &s.sig_term);
	ev_signal_start(s.loop, &s.sig_hup);
	ev_signal_init(&s.sig_usr2, sup_reconnect_cb, SIGUSR2);
	s.sig_usr2.data = &s;
	ev_signal_start(s.loop, &s.sig_usr2);

	s.ssh = sshconn_new(s.loop, &cfg, sup_progress, &s);
	sshconn_open(s.ssh, 1, sup_open_done, &s);
	while (!s.done)
		ev_run(s.loop, 0);
	rc = s.rc;
	if (s.client > 0) {
		/* Never leave the client behind (only reached on an internal failure). */
		kill(s.client, SIGTERM);
		waitpid(s.client, NULL, 0);
	}
out:
	if (s.loop != NULL) {
		ev_signal_stop(s.loop, &s.sig_int);
		ev_signal_stop(s.loop, &s.sig_term);
		ev_signal_stop(s.loop, &s.sig_hup);
		ev_signal_stop(s.loop, &s.sig_usr2);
		/* Stopping the watcher restored SIGUSR2's default (terminate): a reconnect
		 * request that arrives now must not cut the clean-up short. */
		signal(SIGUSR2, SIG_IGN);
		ev_timer_stop(s.loop, &s.stats_w);
		ev_timer_stop(s.loop, &s.path_w);
		if (s.udp_fd != -1)
			ev_io_stop(s.loop, &s.udp_rd);
	}
	if (s.relay != NULL)
		localrelay_set_path(s.relay, NULL, NULL);
	if (s.udp_fd != -1)
		close(s.udp_fd);
	tunnel_free(s.tunnel);
	cmdpath_free(s.cmdpath);
	free(s.command_line);
	sshconn_free(s.ssh);
	localrelay_free(s.relay);
	/* Last: an attached terminal waits for this close to know the session is over. */
	attach_free(s.att);
	explicit_bzero(s.key, sizeof s.key);
	if (s.have_row)
		sup_free_row(&s.row);
	db_host_clear(&s.host);
	return rc;
}
