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
#include "src/session/moshconnect.h"
#include "src/util/proc.h"
#include "src/ssh/proxy.h"
#include "src/util/shquote.h"
#include "src/ssh/sshconn.h"
#include "src/link/autopath.h"
#include "src/link/netwatch.h"
#include "src/link/transport.h"
#include "src/link/udpsock.h"
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
	enum transport tr;
	struct localrelay *relay;
	struct sshconn *ssh;
	struct tunnel *tunnel;
	struct autopath *ap;     /* transport auto (the relay's path owns it) */
	struct netwatch *nw;     /* network changes and wake-ups, once mosh-client runs */
	struct cmdpath *cmdpath;
	char *command_line;      /* transport command: the expanded command, for restarts */
	int colors;
	int bind_any;            /* mosh-server on every address (no -s) */
	char relay_host[INET6_ADDRSTRLEN]; /* where the relay finds mosh-server (auto) */
	char key[MOSHCONNECT_KEY_LEN + 1];
	char remote_addr[INET6_ADDRSTRLEN];

	pid_t client;
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
	/* Any datagram of mosh-server's (with the key, only authentic ones are counted):
	 * an idle server's heartbeats rarely answer a client timestamp (mosh answers within
	 * 1 s only, and idle heartbeats on both sides are 3 s apart, in any phase). */
	in.last_rx = st->last_down_ms;
	in.rtt_ms = st->rtt_ms;
	in.degraded = was;
	if (s->tunnel != NULL && (s->tr == TRANSPORT_TCP ||
	    (s->ap != NULL && autopath_path(s->ap) == PATHSEL_TCP))) {
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
	/* mosh's own timestamps: the round trip of whatever path carries the session. */
	if (st.rtt_ms >= 0)
		s->row.rtt_ms = (int)st.rtt_ms;
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

/* Starts mosh-client on this terminal, pointed at the relay.  MOSH_KEY exists only in
 * the child's environment. */
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
		if (setenv("MOSH_KEY", s->key, 1) == -1 ||
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
	ev_child_init(&s->child_w, sup_child_cb, pid, 0);
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
		if (s->ap != NULL)
			autopath_tcp_state(s->ap, 1);
		if (s->client == 0) {
			sup_client_up(s);
			break;
		}
		s->link_since = db_now_ms();
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
	case TUNNEL_FAILED:
		if (s->client == 0) {
			char buf[1024];

			snprintf(buf, sizeof buf, "tunnel: %s", msg);
			sup_fail_server(s, buf);
			return;
		}
		if (s->ap != NULL) {
			/* UDP carries on; only the fallback is gone. */
			autopath_tcp_state(s->ap, 0);
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

/* ---- transport auto: UDP and the tunnel side by side (src/link/autopath.h) ---------- */

/* A path switch: an event, and the row's path. */
static void
sup_auto_switch_cb(const char *msg, enum pathsel_path now, void *arg)
{
	struct sup *s = arg;

	sup_event(s, "path", msg);
	free(s->row.path);
	s->row.path = xstrdup(pathsel_name(now));
	/* The row's state follows the path that carries the session: UDP while the tunnel
	 * is still being rebuilt is up; the tunnel while it is down is reconnecting. */
	if (now == PATHSEL_UDP && strcmp(s->row.state, "reconnecting") == 0) {
		free(s->row.state);
		s->row.state = xstrdup("up");
		s->link_since = db_now_ms();
	} else if (now == PATHSEL_TCP && !tunnel_is_up(s->tunnel) &&
	    strcmp(s->row.state, "failed") != 0) {
		free(s->row.state);
		s->row.state = xstrdup("reconnecting");
	}
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
}

static void
sup_auto_start(struct sup *s, int port)
{
	struct tunnel_config tc;
	int udp;

	s->ap = autopath_new(s->loop, s->relay, sup_udp_addr(s) == 0 ? s->remote_addr : NULL,
	    port, sup_auto_switch_cb, s);
	if (!(udp = autopath_udp_possible(s->ap)))
		snprintf(s->remote_addr, sizeof s->remote_addr, "127.0.0.1");
	memset(&tc, 0, sizeof tc);
	tc.udp_host = s->relay_host;
	tc.udp_port = port;
	tc.relay = TUNNEL_RELAY_ANY;
	tc.deliver = autopath_tcp_rx;
	tc.deliver_arg = s->ap;
	s->tunnel = tunnel_new(s->loop, s->ssh, s->relay, &tc, sup_tunnel_cb, s);
	autopath_set_tunnel(s->ap, s->tunnel);
	sup_progressf(s, "transport auto: %s, the tunnel relay beside it",
	    udp ? "direct UDP first" : "tcp only (no UDP address)");
	tunnel_start(s->tunnel);
	if (udp)
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
	if (s->tr == TRANSPORT_COMMAND) {
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
	if (s->ap != NULL) {
		enum pathsel_path path = autopath_path(s->ap);

		sup_event(s, "reconnect", path != PATHSEL_TCP ? "reconnect requested: on "
		    "udp, rebuilding the standby tunnel only if it is down" :
		    autopath_udp_possible(s->ap) ?
		    "reconnect requested: probing UDP now and rebuilding the tunnel" :
		    "reconnect requested: rebuilding the tunnel (no UDP address to probe)");
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
	/* The relay follows only mosh-client and reads mosh's timestamps (moshpkt.h). */
	if (localrelay_set_key(s->relay, s->key) == -1)
		log_debug("supervisor: the session key does not parse; the relay follows the "
		    "newest loopback sender");
	s->row.mosh_port = mc.port;
	s->row.server_pid = mc.pid;
	if (mc.pid > 0)
		sup_progressf(s, "mosh-server on port %d (pid %ld)", mc.port, mc.pid);
	else
		sup_progressf(s, "mosh-server on port %d", mc.port);
	if (s->tr == TRANSPORT_AUTO) {
		sup_auto_start(s, mc.port);
		return;
	}
	if (s->tr == TRANSPORT_COMMAND) {
		sup_command_start(s, mc.port);
		return;
	}
	if (s->tr == TRANSPORT_TCP) {
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
	if ((s->nw = netwatch_new(s->loop, addr != NULL &&
	    udpsock_resolve(addr, 0, 0, &peer, err, sizeof err) == 0 ? &peer : NULL,
	    sup_netwatch_cb, s, err, sizeof err)) == NULL)
		sup_event(s, "notice", err);
}

/* The path works: record it and start mosh-client. */
static void
sup_client_up(struct sup *s)
{
	int port = s->row.mosh_port;

	free(s->row.remote_addr);
	s->row.remote_addr = xstrdup(s->remote_addr);
	free(s->row.path);
	s->row.path = xstrdup(s->ap != NULL ? pathsel_name(autopath_path(s->ap)) :
	    transport_name(s->tr));
	/* The row holds the key while the session runs (every update writes it again);
	 * closing the session wipes it. */
	s->row.session_key = s->key;
	if (db_session_update(s->db, &s->row) != DB_OK)
		log_debug("supervisor: row not updated: %s", db_error(s->db));
	sup_progressf(s, "starting mosh-client (%s to %s:%d via 127.0.0.1:%d)",
	    transport_name(s->tr), s->remote_addr, port, localrelay_port(s->relay));
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
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
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
	    s->tr == TRANSPORT_TCP || s->tr == TRANSPORT_COMMAND, s->bind_any);
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
	if (transport_from_name(s.transport, &s.tr) == -1) {
		rc = cmd_usage("unknown transport '%s' (" TRANSPORT_NAMES ")", s.transport);
		goto out;
	}
	if (s.tr == TRANSPORT_COMMAND && (s.host.tunnel_command == NULL || *s.host.tunnel_command == '\0')) {
		rc = cmd_usage("transport command needs the profile's tunnel command: moshman "
		    "host edit %s --tunnel-command '...{{local_port}}...'", s.host.name);
		goto out;
	}
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
	}
	netwatch_free(s.nw);
	/* Frees the path too (the autopath of transport auto). */
	if (s.relay != NULL)
		localrelay_set_path(s.relay, NULL, NULL);
	s.ap = NULL;
	tunnel_free(s.tunnel);
	cmdpath_free(s.cmdpath);
	free(s.command_line);
	sshconn_free(s.ssh);
	localrelay_free(s.relay);
	explicit_bzero(s.key, sizeof s.key);
	if (s.have_row)
		sup_free_row(&s.row);
	db_host_clear(&s.host);
	return rc;
}
