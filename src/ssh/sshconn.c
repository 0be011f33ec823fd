/* SPDX-License-Identifier: MIT */
#include "src/ssh/sshconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "src/util/log.h"
#include "src/util/paths.h"
#include "src/ssh/prompt.h"
#include "src/ssh/resolve.h"
#include "src/util/shquote.h"
#include "src/util/xmalloc.h"

#define SSHCONN_EXEC_MAX (64 * 1024) /* per stream: mosh-server says a few lines */
#define SSHCONN_TRIES 3              /* passphrase / password attempts, as OpenSSH */

enum sc_state {
	SC_IDLE,
	SC_TCP,     /* proxy_connect in flight */
	SC_CONNECT, /* ssh_connect: banner, kex */
	SC_AUTH_NONE,
	SC_AUTH_AGENT,
	SC_AUTH_KEY,
	SC_AUTH_AUTO,
	SC_AUTH_PASSWORD,
	SC_AUTH_KBDINT,
	SC_AUTH_EXHAUSTED, /* no method left that the server takes and we can try */
	SC_READY,
	SC_FAILED,
};

enum ex_state {
	EX_NONE,
	EX_OPEN,
	EX_EXEC,
	EX_READ
};

struct sshconn {
	struct ev_loop *loop;
	/* The route and policy, copied so the object can reconnect on its own. */
	char *host, *user, *identity, *known_hosts, *jump, *proxy_command;
	char *proxy_host, *proxy_user, *proxy_pass;
	struct sshconn_config cfg;

	sshconn_progress_cb progress;
	void *progress_arg;
	sshconn_done_cb done;
	void *done_arg;

	ssh_session ssh;
	enum sc_state state;
	int interactive;
	int methods; /* from ssh_userauth_list */
	int tried_agent, tried_key, tried_auto, tried_password, tried_kbdint;
	int pw_tries, kbd_tries;
	ssh_key key;      /* the imported identity while SC_AUTH_KEY runs */
	char *passphrase; /* secret, remembered for reconnects */
	char *password;   /* secret, remembered for reconnects */
	/* Keyboard-interactive: the questions and answers of the exchange in progress, and
	 * of the last one that succeeded (secrets, remembered for reconnects). */
	struct sshconn_kbd kbd_pending, kbd_saved;
	size_t kbd_asked; /* questions answered so far in the exchange in progress */
	const char *auth_method;
	const char *route;
	char peer[INET6_ADDRSTRLEN];
	char deferred[512]; /* an error found inside sshconn_open, reported from the loop */
	char *eff_host;     /* the host after ~/.ssh/config (HostName), for UDP */
	char *eff_jump;     /* the first hop of a jump (profile or config), or NULL */
	char *hk_seen;      /* fingerprint of the host key an earlier open accepted */

	struct proxy_conn *pc;
	int sock;       /* the socket handed to libssh with SSH_OPTIONS_FD, -1 if none */
	ino_t sock_ino; /* to recognise it: the number may have been reused */
	ev_io io;
	int io_fd;
	ev_timer timer;
	ev_idle kick; /* runs a step from the loop, never from inside the caller */

	/* The exec in flight. */
	enum ex_state ex;
	ssh_channel chan;
	char *ex_cmd;
	sshconn_exec_cb ex_done;
	void *ex_arg;
	char *out, *err;
	size_t outlen, errlen;

	/* The stream (sshconn_stream_open). */
	int st;          /* enum st_state */
	unsigned st_gen; /* changes whenever the stream ends: callbacks check it */
	ssh_channel st_chan;
	char *st_cmd;
	const struct sshconn_stream_ops *st_ops;
	void *st_arg;
	unsigned char *st_q;
	size_t st_off, st_len, st_cap;
	ev_prepare st_check;
	int hostkey_refused;
	int auth_refused; /* the last open failed on authentication, not the network */
};

enum st_state {
	ST_NONE,
	ST_OPEN,
	ST_EXEC,
	ST_RUN
};

static void sc_step(struct sshconn *);
static void ex_step(struct sshconn *);
static void st_step(struct sshconn *);
static void st_reset(struct sshconn *);

/* ---- logging -------------------------------------------------------------------- */

static void
sc_log_cb(int priority, const char *function, const char *buffer, void *userdata)
{
	log_debug("libssh[%d] %s: %s", priority, function, buffer);
}

static void
sc_log_init(void)
{
	static int done;
	const char *l;

	if (done)
		return;
	done = 1;
	/* libssh's default logger writes to stderr, which is the user's terminal. */
	ssh_set_log_callback(sc_log_cb);
	l = getenv("MOSHMAN_LOG");
	ssh_set_log_level(l != NULL && *l != '\0' ? SSH_LOG_PROTOCOL : SSH_LOG_NONE);
}

/* ---- pure helpers ---------------------------------------------------------------- */

char *
sshconn_known_hosts_name(const char *host, int port)
{
	char *s = NULL;

	if (port == 22)
		return xstrdup(host);
	xasprintf(&s, "[%s]:%d", host, port);
	return s;
}

int
sshconn_known_hosts_line(const char *text, size_t len, const char *name)
{
	const char *p = text, *end = text + len, *eol, *f, *fe, *pat;
	size_t nlen = strlen(name);
	int line = 0;

	while (p < end) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		f = p;
		while (f < eol && (*f == ' ' || *f == '\t'))
			f++;
		/* Markers (@cert-authority, @revoked) are not plain host keys. */
		if (f < eol && *f != '#' && *f != '@' && *f != '|') {
			fe = f;
			while (fe < eol && *fe != ' ' && *fe != '\t')
				fe++;
			for (pat = f; pat < fe;) {
				const char *pe = pat;

				while (pe < fe && *pe != ',')
					pe++;
				if ((size_t)(pe - pat) == nlen && strncasecmp(pat, name, nlen) == 0)
					return line;
				pat = pe + 1;
			}
		}
		p = eol + 1;
	}
	return 0;
}

int
sshconn_jump_command(const char *jump, const char *target_host, int target_port,
    const char *known_hosts, const char *identity, enum sshconn_policy policy, int family,
    char **out, char *err, size_t errlen)
{
	const char *argv[24];
	char *user = NULL, *host = NULL, *port = NULL, *kh = NULL, *target = NULL, *s, *at;
	const char *strict;
	int argc = 0, rc = -1;

	*out = NULL;
	/* libssh expands %h-style escapes in a ProxyCommand; a literal % cannot pass. */
	if (strchr(jump, '%') != NULL || strchr(target_host, '%') != NULL ||
	    (known_hosts != NULL && strchr(known_hosts, '%') != NULL) ||
	    (identity != NULL && strchr(identity, '%') != NULL)) {
		snprintf(err, errlen, "a jump host, target or path must not contain '%%'");
		return -1;
	}
	s = xstrdup(jump);
	if ((at = strrchr(s, '@')) != NULL) {
		*at = '\0';
		user = xstrdup(s);
		host = xstrdup(at + 1);
	} else
		host = xstrdup(s);
	free(s);
	/* host:port, or [v6]:port, or a bare v6 literal. */
	if (host[0] == '[') {
		char *close = strchr(host, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(err, errlen, "bad jump host '%s': expected [user@]host[:port]",
			    jump);
			goto out;
		}
		if (close[1] == ':')
			port = xstrdup(close + 2);
		*close = '\0';
		memmove(host, host + 1, strlen(host));
	} else if ((s = strchr(host, ':')) != NULL && strchr(s + 1, ':') == NULL) {
		port = xstrdup(s + 1);
		*s = '\0';
	}
	if (*host == '\0' || host[0] == '-' || (user != NULL && (*user == '\0' || *user == '-')) ||
	    (port != NULL &&
	        (strspn(port, "0123456789") != strlen(port) || *port == '\0' || atoi(port) < 1 ||
	            atoi(port) > 65535))) {
		snprintf(err, errlen, "bad jump host '%s': expected [user@]host[:port]", jump);
		goto out;
	}
	switch (policy) {
	case SSHCONN_ASK:
		strict = "StrictHostKeyChecking=ask";
		break;
	case SSHCONN_ACCEPT_NEW:
		strict = "StrictHostKeyChecking=accept-new";
		break;
	default:
		strict = "StrictHostKeyChecking=yes";
		break;
	}
	if (known_hosts != NULL)
		xasprintf(&kh, "UserKnownHostsFile=%s", known_hosts);
	if (strchr(target_host, ':') != NULL)
		xasprintf(&target, "[%s]:%d", target_host, target_port);
	else
		xasprintf(&target, "%s:%d", target_host, target_port);
	argv[argc++] = "ssh";
	if (resolve_family_hint(family) != AF_UNSPEC)
		argv[argc++] = resolve_family_hint(family) == AF_INET ? "-4" : "-6";
	argv[argc++] = "-o";
	argv[argc++] = strict;
	if (kh != NULL) {
		argv[argc++] = "-o";
		argv[argc++] = kh;
	}
	if (identity != NULL) {
		argv[argc++] = "-i";
		argv[argc++] = identity;
	}
	if (user != NULL) {
		argv[argc++] = "-l";
		argv[argc++] = user;
	}
	if (port != NULL) {
		argv[argc++] = "-p";
		argv[argc++] = port;
	}
	argv[argc++] = "-W";
	argv[argc++] = target;
	argv[argc++] = "--";
	argv[argc++] = host;
	argv[argc] = NULL;
	*out = shquote_argv(argc, argv);
	rc = 0;
out:
	free(user);
	free(host);
	free(port);
	free(kh);
	free(target);
	return rc;
}

/* ---- the object ---------------------------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct sshconn *
sshconn_new(struct ev_loop *loop, const struct sshconn_config *cfg, sshconn_progress_cb progress,
    void *arg)
{
	struct sshconn *c = xcalloc(1, sizeof *c);

	sc_log_init();
	c->loop = loop;
	c->cfg = *cfg;
	c->cfg.host = c->host = xstrdup(cfg->host);
	c->cfg.user = c->user = dup_or_null(cfg->user);
	c->cfg.identity = c->identity = dup_or_null(cfg->identity);
	c->cfg.jump = c->jump = dup_or_null(cfg->jump);
	c->cfg.proxy_command = c->proxy_command = dup_or_null(cfg->proxy_command);
	c->cfg.proxy.host = c->proxy_host = dup_or_null(cfg->proxy.host);
	c->cfg.proxy.user = c->proxy_user = dup_or_null(cfg->proxy.user);
	c->cfg.proxy.pass = c->proxy_pass = dup_or_null(cfg->proxy.pass);
	if (cfg->known_hosts != NULL)
		c->known_hosts = paths_expand_tilde(cfg->known_hosts);
	else
		xasprintf(&c->known_hosts, "%s/.ssh/known_hosts", paths_home());
	c->cfg.known_hosts = c->known_hosts;
	if (c->cfg.timeout_ms <= 0)
		c->cfg.timeout_ms = 15000;
	c->progress = progress;
	c->progress_arg = arg;
	c->io_fd = -1;
	c->sock = -1;
	return c;
}

static void sc_say(struct sshconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sc_say(struct sshconn *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_debug("ssh: %s", buf);
	if (c->progress != NULL)
		c->progress(buf, c->progress_arg);
}

static void
sc_io_stop(struct sshconn *c)
{
	ev_io_stop(c->loop, &c->io);
	c->io_fd = -1;
}

static void
sc_teardown(struct sshconn *c)
{
	if (c->pc != NULL) {
		proxy_cancel(c->pc);
		c->pc = NULL;
	}
	sc_io_stop(c);
	ev_timer_stop(c->loop, &c->timer);
	ev_idle_stop(c->loop, &c->kick);
	if (c->chan != NULL) {
		ssh_channel_free(c->chan);
		c->chan = NULL;
	}
	c->ex = EX_NONE;
	st_reset(c);
	if (c->key != NULL) {
		ssh_key_free(c->key);
		c->key = NULL;
	}
	if (c->ssh != NULL) {
		if (ssh_is_connected(c->ssh))
			ssh_disconnect(c->ssh);
		ssh_free(c->ssh);
		c->ssh = NULL;
	}
	/* libssh leaves a socket given with SSH_OPTIONS_FD open (seen with 0.10.6). */
	if (c->sock != -1) {
		struct stat sb;

		if (fstat(c->sock, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_ino == c->sock_ino)
			close(c->sock);
	}
	c->sock = -1;
	c->state = SC_IDLE;
}

void
sshconn_close(struct sshconn *c)
{
	sc_teardown(c);
	free(c->ex_cmd);
	c->ex_cmd = NULL;
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
	c->outlen = c->errlen = 0;
}

void
sshconn_free(struct sshconn *c)
{
	if (c == NULL)
		return;
	sshconn_close(c);
	free(c->host);
	free(c->user);
	free(c->identity);
	free(c->known_hosts);
	free(c->jump);
	free(c->proxy_command);
	free(c->eff_host);
	free(c->eff_jump);
	free(c->hk_seen);
	free(c->proxy_host);
	free(c->proxy_user);
	xfree_secret(c->proxy_pass);
	xfree_secret(c->passphrase);
	xfree_secret(c->password);
	sshconn_kbd_clear(&c->kbd_pending);
	sshconn_kbd_clear(&c->kbd_saved);
	free(c);
}

void
sshconn_forget_secrets(struct sshconn *c)
{
	xfree_secret(c->passphrase);
	c->passphrase = NULL;
	xfree_secret(c->password);
	c->password = NULL;
	sshconn_kbd_clear(&c->kbd_pending);
	sshconn_kbd_clear(&c->kbd_saved);
}

struct sshconn *
sshconn_clone(const struct sshconn *c, sshconn_progress_cb progress, void *arg)
{
	struct sshconn *n = sshconn_new(c->loop, &c->cfg, progress, arg);

	n->passphrase = c->passphrase != NULL ? xstrdup(c->passphrase) : NULL;
	n->password = c->password != NULL ? xstrdup(c->password) : NULL;
	for (size_t i = 0; i < c->kbd_saved.n; i++)
		sshconn_kbd_add(&n->kbd_saved, c->kbd_saved.prompt[i], c->kbd_saved.answer[i]);
	n->kbd_saved.no_replay = c->kbd_saved.no_replay;
	return n;
}

const char *
sshconn_peer_addr(const struct sshconn *c)
{
	return c->peer[0] != '\0' ? c->peer : NULL;
}

int
sshconn_fd(const struct sshconn *c)
{
	return c->ssh != NULL ? ssh_get_fd(c->ssh) : -1;
}

const char *
sshconn_route(const struct sshconn *c)
{
	return c->route != NULL ? c->route : "direct";
}

const char *
sshconn_auth_method(const struct sshconn *c)
{
	return c->auth_method;
}

/* Ends the open with an error (NULL: success).  done may free c: nothing after it. */
static void
sc_finish(struct sshconn *c, const char *error)
{
	sshconn_done_cb done = c->done;
	void *arg = c->done_arg;
	char msg[1024];

	c->done = NULL;
	ev_timer_stop(c->loop, &c->timer);
	if (error != NULL) {
		snprintf(msg, sizeof msg, "%s", error);
		sc_teardown(c);
		c->state = SC_FAILED;
		if (done != NULL)
			done(c, msg, arg);
		return;
	}
	c->state = SC_READY;
	if (done != NULL)
		done(c, NULL, arg);
}

static void sc_failf(struct sshconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sc_failf(struct sshconn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sc_finish(c, buf);
}

/* Re-arms the fd watcher from what libssh waits for. */
static void
sc_arm(struct sshconn *c)
{
	int fd, flags, ev = 0;

	if (c->ssh == NULL || (fd = ssh_get_fd(c->ssh)) == -1)
		return;
	flags = ssh_get_poll_flags(c->ssh);
	if (flags & SSH_READ_PENDING)
		ev |= EV_READ;
	if (flags & SSH_WRITE_PENDING)
		ev |= EV_WRITE;
	if (ev == 0)
		ev = EV_READ;
	if (c->io_fd == fd && (c->io.events & (EV_READ | EV_WRITE)) == ev && ev_is_active(&c->io))
		return;
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, fd, ev);
	ev_io_start(c->loop, &c->io);
	c->io_fd = fd;
}

static void
sc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sshconn *c = w->data;

	if (c->state != SC_READY && c->state != SC_IDLE && c->state != SC_FAILED)
		sc_step(c);
	else {
		if (c->ex != EX_NONE)
			ex_step(c);
		if (c->st != ST_NONE)
			st_step(c);
	}
}

static void
sc_kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct sshconn *c = w->data;

	ev_idle_stop(loop, w);
	if (c->deferred[0] != '\0') {
		char msg[sizeof c->deferred];

		snprintf(msg, sizeof msg, "%s", c->deferred);
		c->deferred[0] = '\0';
		sc_finish(c, msg);
	} else if (c->ex != EX_NONE || c->st != ST_NONE) {
		if (c->ex != EX_NONE)
			ex_step(c);
		if (c->st != ST_NONE)
			st_step(c);
	} else
		sc_step(c);
}

static void
sc_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sshconn *c = w->data;
	const char *what;

	switch (c->state) {
	case SC_TCP:
	case SC_CONNECT:
		what = "the ssh handshake";
		break;
	default:
		what = "authentication";
		break;
	}
	sc_failf(c, "%s with %s:%d timed out after %d s; check the host and route", what, c->host,
	    c->cfg.port, c->cfg.timeout_ms / 1000);
}

/* A prompt blocked the loop: the timeout counts from now again. */
static void
sc_timer_restart(struct sshconn *c)
{
	ev_now_update(c->loop);
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, c->cfg.timeout_ms / 1000.0, 0.);
	ev_timer_start(c->loop, &c->timer);
}

/* ---- opening ------------------------------------------------------------------------ */

static int
sc_setup_session(struct sshconn *c, int fd, char *err, size_t errlen)
{
	char *sshdir = NULL, *cfgfile = NULL, *pc = NULL;
	int port = c->cfg.port, rc = -1;
	long timeout = c->cfg.timeout_ms / 1000 + 1;
	socket_t sfd = fd;

	if ((c->ssh = ssh_new()) == NULL) {
		snprintf(err, errlen, "cannot create an ssh session");
		return -1;
	}
	/* libssh finds ~ through the password database; tests and users moving HOME expect
	 * $HOME, as OpenSSH's own files are found through it here too. */
	xasprintf(&sshdir, "%s/.ssh", paths_home());
	if (ssh_options_set(c->ssh, SSH_OPTIONS_SSH_DIR, sshdir) != 0 ||
	    ssh_options_set(c->ssh, SSH_OPTIONS_HOST, c->host) != 0) {
		snprintf(err, errlen, "bad host name '%s': %s", c->host, ssh_get_error(c->ssh));
		goto out;
	}
	if (c->cfg.use_ssh_config) {
		xasprintf(&cfgfile, "%s/config", sshdir);
		if (access(cfgfile, R_OK) == 0 && ssh_options_parse_config(c->ssh, cfgfile) != 0)
			log_debug("ssh: cannot parse %s", cfgfile);
		if (access("/etc/ssh/ssh_config", R_OK) == 0)
			ssh_options_parse_config(c->ssh, "/etc/ssh/ssh_config");
		/* A HostName from the config stays (the profile may name an alias); the
		 * profile's port, user and identity below win over the config's. */
	}
	ssh_options_set(c->ssh, SSH_OPTIONS_PORT, &port);
	if (c->user != NULL)
		ssh_options_set(c->ssh, SSH_OPTIONS_USER, c->user);
	ssh_options_set(c->ssh, SSH_OPTIONS_KNOWNHOSTS, c->known_hosts);
	ssh_options_set(c->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
	if (c->identity != NULL) {
		char *id = paths_expand_tilde(c->identity);

		ssh_options_set(c->ssh, SSH_OPTIONS_ADD_IDENTITY, id);
		free(id);
	}
	if (fd != -1) {
		/* An explicit socket overrides any ProxyCommand the config set. */
		ssh_options_set(c->ssh, SSH_OPTIONS_PROXYCOMMAND, "none");
		ssh_options_set(c->ssh, SSH_OPTIONS_FD, &sfd);
	} else if (c->proxy_command != NULL) {
		ssh_options_set(c->ssh, SSH_OPTIONS_PROXYCOMMAND, c->proxy_command);
	} else if (c->jump != NULL) {
		if (sshconn_jump_command(c->jump, c->host, c->cfg.port, c->known_hosts, c->identity,
		        c->cfg.policy, c->cfg.proxy.family, &pc, err, errlen) == -1)
			goto out;
		log_debug("ssh: jump via %s", pc);
		ssh_options_set(c->ssh, SSH_OPTIONS_PROXYCOMMAND, pc);
	}
	ssh_set_blocking(c->ssh, 0);
	rc = 0;
out:
	free(pc);
	free(sshdir);
	free(cfgfile);
	return rc;
}

/* Does ~/.ssh/config (or the profile) route this host through a command? */
static int
sc_config_proxy_command(struct sshconn *c)
{
	ssh_session s;
	char *sshdir = NULL, *file = NULL, *pc = NULL;
	int yes = 0;

	if (c->proxy_command != NULL || c->jump != NULL)
		return 1;
	if (!c->cfg.use_ssh_config)
		return 0;
	if ((s = ssh_new()) == NULL)
		return 0;
	xasprintf(&sshdir, "%s/.ssh", paths_home());
	xasprintf(&file, "%s/config", sshdir);
	ssh_options_set(s, SSH_OPTIONS_SSH_DIR, sshdir);
	ssh_options_set(s, SSH_OPTIONS_HOST, c->host);
	if (access(file, R_OK) == 0)
		ssh_options_parse_config(s, file);
	if (access("/etc/ssh/ssh_config", R_OK) == 0)
		ssh_options_parse_config(s, "/etc/ssh/ssh_config");
	if (ssh_options_get(s, SSH_OPTIONS_PROXYCOMMAND, &pc) == SSH_OK && pc != NULL &&
	    strcmp(pc, "none") != 0)
		yes = 1;
	if (pc != NULL)
		ssh_string_free_char(pc);
	/* A direct connection goes to the config's HostName for this alias, if any. */
	pc = NULL;
	if (!yes && ssh_options_get(s, SSH_OPTIONS_HOST, &pc) == SSH_OK && pc != NULL) {
		free(c->eff_host);
		c->eff_host = xstrdup(pc);
		ssh_string_free_char(pc);
	}
	ssh_free(s);
	free(sshdir);
	free(file);
	return yes;
}

static void
sc_proxy_progress(const char *step, void *arg)
{
	struct sshconn *c = arg;

	sc_say(c, "%s", step);
}

static void
sc_proxy_done(int fd, const char *error, void *arg)
{
	struct sshconn *c = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct stat sb;
	char err[512];

	c->pc = NULL;
	if (fd == -1) {
		sc_finish(c, error);
		return;
	}
	c->peer[0] = '\0';
	if (c->cfg.proxy.type == PROXY_NONE && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		getnameinfo((struct sockaddr *)&ss, sl, c->peer, sizeof c->peer, NULL, 0,
		    NI_NUMERICHOST);
	c->sock = fd;
	c->sock_ino = fstat(fd, &sb) == 0 ? sb.st_ino : 0;
	if (sc_setup_session(c, fd, err, sizeof err) == -1) {
		sc_finish(c, err);
		return;
	}
	c->state = SC_CONNECT;
	sc_say(c, "ssh handshake");
	sc_step(c);
}

/* Remembers where the connection really goes once the config is applied: the HostName,
 * and the jump host of a ProxyJump (libssh 0.10 turns it into "ssh ... -W '[%h]:%p'
 * HOST"), so the supervisor can aim mosh's UDP at the right machine. */
static void
sc_note_route(struct sshconn *c)
{
	char *h = NULL, *pc = NULL, *last;

	free(c->eff_host);
	free(c->eff_jump);
	c->eff_host = c->eff_jump = NULL;
	if (ssh_options_get(c->ssh, SSH_OPTIONS_HOST, &h) == SSH_OK && h != NULL) {
		c->eff_host = xstrdup(h);
		ssh_string_free_char(h);
	}
	if (c->jump != NULL) {
		c->eff_jump = xstrdup(c->jump);
		return;
	}
	if (ssh_options_get(c->ssh, SSH_OPTIONS_PROXYCOMMAND, &pc) != SSH_OK || pc == NULL)
		return;
	if (strncmp(pc, "ssh ", 4) == 0 && strstr(pc, " -W ") != NULL &&
	    (last = strrchr(pc, ' ')) != NULL && last[1] != '\0' && last[1] != '-')
		c->eff_jump = xstrdup(last + 1);
	ssh_string_free_char(pc);
}

const char *
sshconn_target_host(const struct sshconn *c)
{
	return c->eff_host != NULL ? c->eff_host : c->host;
}

const char *
sshconn_jump_spec(const struct sshconn *c)
{
	return c->eff_jump;
}

void
sshconn_open(struct sshconn *c, int interactive, sshconn_done_cb done, void *arg)
{
	char err[512];

	sshconn_close(c);
	c->interactive = interactive;
	c->done = done;
	c->done_arg = arg;
	c->methods = 0;
	c->tried_agent = c->tried_key = c->tried_auto = 0;
	c->tried_password = c->tried_kbdint = 0;
	c->pw_tries = c->kbd_tries = 0;
	sshconn_kbd_clear(&c->kbd_pending);
	c->kbd_asked = 0;
	c->hostkey_refused = 0;
	c->auth_refused = 0;
	c->auth_method = NULL;
	c->peer[0] = '\0';
	free(c->eff_host);
	free(c->eff_jump);
	c->eff_host = c->eff_jump = NULL;
	ev_init(&c->io, sc_io_cb);
	c->io.data = c;
	ev_timer_init(&c->timer, sc_timer_cb, c->cfg.timeout_ms / 1000.0, 0.);
	c->timer.data = c;
	ev_idle_init(&c->kick, sc_kick_cb);
	c->kick.data = c;
	ev_timer_start(c->loop, &c->timer);

	if (c->cfg.proxy.type == PROXY_NONE && sc_config_proxy_command(c)) {
		c->route = "proxycommand";
		if (sc_setup_session(c, -1, err, sizeof err) == -1) {
			/* Report from the loop, as promised. */
			snprintf(c->deferred, sizeof c->deferred, "%s", err);
			ev_idle_start(c->loop, &c->kick);
			return;
		}
		sc_note_route(c);
		sc_say(c, "%s", c->eff_jump != NULL ? "jump host" : "proxy command");
		sc_say(c, "ssh handshake");
		c->state = SC_CONNECT;
		ev_idle_start(c->loop, &c->kick);
		return;
	}
	c->route = c->cfg.proxy.type == PROXY_NONE ? "direct" : proxy_type_name(c->cfg.proxy.type);
	c->state = SC_TCP;
	/* The driver reports its own steps ("connecting to socks5 proxy ..."). */
	c->pc = proxy_connect(c->loop, &c->cfg.proxy, sshconn_target_host(c), c->cfg.port,
	    c->cfg.timeout_ms, sc_proxy_progress, sc_proxy_done, c);
}

/* ---- host key ------------------------------------------------------------------------ */

static char *
sc_fingerprint(struct sshconn *c, const char **type)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL, *out = NULL;

	*type = "unknown";
	if (ssh_get_server_publickey(c->ssh, &key) != SSH_OK)
		return NULL;
	*type = ssh_key_type_to_char(ssh_key_type(key));
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
		if (fp != NULL) {
			out = xstrdup(fp);
			ssh_string_free_char(fp);
		}
		ssh_clean_pubkey_hash(&hash);
	}
	ssh_key_free(key);
	return out;
}

static int
sc_find_line(const char *file, const char *name)
{
	char buf[256 * 1024];
	ssize_t n;
	int fd, line;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0)
		return 0;
	line = sshconn_known_hosts_line(buf, (size_t)n, name);
	return line;
}

enum sshconn_hk_verdict
sshconn_hostkey_verdict(enum sshconn_hk_state st, enum sshconn_policy policy, int interactive,
    int seen, int same_as_seen)
{
	if (st == SSHCONN_HK_KNOWN)
		return SSHCONN_HK_OK;
	if (st == SSHCONN_HK_MISMATCH)
		return SSHCONN_HK_CHANGED;
	if (seen && !same_as_seen)
		return SSHCONN_HK_CHANGED_SINCE;
	if (policy == SSHCONN_ACCEPT_NEW)
		return SSHCONN_HK_RECORD;
	if (seen && (policy == SSHCONN_STRICT || !interactive))
		return SSHCONN_HK_GONE;
	if (policy == SSHCONN_STRICT)
		return SSHCONN_HK_REFUSE_STRICT;
	return interactive ? SSHCONN_HK_ASK : SSHCONN_HK_REFUSE_NO_TTY;
}

/* Ask on the terminal; 0 yes, -1 refused (c finished). */
static int
sc_ask_hostkey(struct sshconn *c, const char *name, const char *type, const char *fp)
{
	char *q = NULL;
	int answer;

	xasprintf(&q,
	    "The authenticity of host '%s' can't be established.\r\n"
	    "%s key fingerprint is %s.\r\n"
	    "Are you sure you want to continue connecting (yes/no)? ",
	    name, type, fp != NULL ? fp : "?");
	answer = prompt_yesno(q);
	free(q);
	sc_timer_restart(c);
	if (answer == -1) {
		sc_failf(c,
		    "host key for %s is unknown and there is no terminal to ask; use "
		    "--hostkey-policy accept-new",
		    name);
		return -1;
	}
	if (answer == 0) {
		sc_failf(c, "host key for %s not accepted; nothing recorded", name);
		return -1;
	}
	return 0;
}

/* 0: the key is fine (maybe newly recorded); -1: refused, c finished. */
static int
sc_check_hostkey(struct sshconn *c)
{
	enum ssh_known_hosts_e kh;
	enum sshconn_hk_state st;
	const char *type = NULL;
	char *fp = NULL, *name = NULL, where[64] = "";
	int line, ok = -1;

	kh = ssh_session_is_known_server(c->ssh);
	fp = sc_fingerprint(c, &type);
	name = sshconn_known_hosts_name(c->host, c->cfg.port);
	if (kh == SSH_KNOWN_HOSTS_OK)
		st = SSHCONN_HK_KNOWN;
	else if (kh == SSH_KNOWN_HOSTS_CHANGED || kh == SSH_KNOWN_HOSTS_OTHER)
		st = SSHCONN_HK_MISMATCH;
	else if (kh == SSH_KNOWN_HOSTS_NOT_FOUND || kh == SSH_KNOWN_HOSTS_UNKNOWN)
		st = SSHCONN_HK_UNKNOWN;
	else {
		sc_failf(c, "cannot check the host key of %s: %s", name, ssh_get_error(c->ssh));
		goto out;
	}
	switch (sshconn_hostkey_verdict(st, c->cfg.policy, c->interactive, c->hk_seen != NULL,
	    c->hk_seen != NULL && fp != NULL && strcmp(c->hk_seen, fp) == 0)) {
	case SSHCONN_HK_OK:
		sc_say(c, "host key ok (%s)", fp != NULL ? fp : "?");
		ok = 0;
		break;
	case SSHCONN_HK_CHANGED:
		if ((line = sc_find_line(c->known_hosts, name)) > 0)
			snprintf(where, sizeof where, ":%d", line);
		sc_failf(c,
		    "REMOTE HOST IDENTIFICATION HAS CHANGED for %s: the %s key %s "
		    "differs from the one in %s%s; refusing to connect (if the host was "
		    "reinstalled, remove that entry: ssh-keygen -R '%s' -f %s)",
		    name, type, fp != NULL ? fp : "?", c->known_hosts, where, name, c->known_hosts);
		goto out;
	case SSHCONN_HK_CHANGED_SINCE:
		sc_failf(c,
		    "REMOTE HOST IDENTIFICATION HAS CHANGED for %s: the %s key %s "
		    "differs from %s, accepted earlier in this session and since removed from "
		    "%s; refusing to connect",
		    name, type, fp != NULL ? fp : "?", c->hk_seen, c->known_hosts);
		goto out;
	case SSHCONN_HK_GONE:
		sc_failf(c,
		    "host key for %s is no longer in %s; not connecting again "
		    "without asking",
		    name, c->known_hosts);
		goto out;
	case SSHCONN_HK_REFUSE_STRICT:
		sc_failf(c,
		    "host key for %s is unknown (not in %s) and the policy is strict; "
		    "add it first or use --hostkey-policy ask or accept-new",
		    name, c->known_hosts);
		goto out;
	case SSHCONN_HK_REFUSE_NO_TTY:
		sc_failf(c,
		    "host key for %s is unknown (not in %s) and there is no terminal to "
		    "ask; connect once with 'moshman connect' on a terminal, or use "
		    "--hostkey-policy accept-new",
		    name, c->known_hosts);
		goto out;
	case SSHCONN_HK_ASK:
		if (sc_ask_hostkey(c, name, type, fp) == -1)
			goto out;
		/* FALLTHROUGH */
	case SSHCONN_HK_RECORD:
		/* Recording may need ~/.ssh first. */
		paths_make_parent(c->known_hosts);
		if (ssh_session_update_known_hosts(c->ssh) != SSH_OK) {
			sc_failf(c, "cannot record the host key in %s: %s", c->known_hosts,
			    ssh_get_error(c->ssh));
			goto out;
		}
		sc_say(c, "host key recorded in %s (%s)", c->known_hosts, fp != NULL ? fp : "?");
		ok = 0;
		break;
	}
	if (ok == 0 && c->hk_seen == NULL && fp != NULL)
		c->hk_seen = xstrdup(fp);
out:
	free(fp);
	free(name);
	return ok;
}

/* ---- authentication ------------------------------------------------------------------- */

/* Picks the next auth state by what the server offers and what was tried. */
static void
sc_next_auth(struct sshconn *c)
{
	const char *sock = getenv("SSH_AUTH_SOCK");

	if ((c->methods & SSH_AUTH_METHOD_PUBLICKEY) && !c->tried_agent && sock != NULL &&
	    *sock != '\0') {
		c->tried_agent = 1;
		c->state = SC_AUTH_AGENT;
		sc_say(c, "auth publickey (agent)");
		return;
	}
	if ((c->methods & SSH_AUTH_METHOD_PUBLICKEY) && c->identity != NULL && !c->tried_key) {
		c->tried_key = 1;
		c->state = SC_AUTH_KEY;
		return;
	}
	if ((c->methods & SSH_AUTH_METHOD_PUBLICKEY) && c->identity == NULL && !c->tried_auto) {
		c->tried_auto = 1;
		c->state = SC_AUTH_AUTO;
		sc_say(c, "auth publickey");
		return;
	}
	if ((c->methods & SSH_AUTH_METHOD_PASSWORD) && !c->tried_password &&
	    ((c->interactive && prompt_available()) || c->password != NULL)) {
		c->tried_password = 1;
		c->state = SC_AUTH_PASSWORD;
		return;
	}
	if ((c->methods & SSH_AUTH_METHOD_INTERACTIVE) && !c->tried_kbdint &&
	    ((c->interactive && prompt_available()) || c->kbd_saved.n > 0)) {
		c->tried_kbdint = 1;
		c->state = SC_AUTH_KBDINT;
		sc_say(c, "auth keyboard-interactive");
		return;
	}
	c->state = SC_AUTH_EXHAUSTED;
}

/* A secret kept for reconnects stays out of swap where the system lets us (best effort:
 * RLIMIT_MEMLOCK may say no); it is wiped when freed (xfree_secret). */
static void
sc_lock_secret(const char *p)
{
	if (p != NULL && mlock(p, strlen(p) + 1) == -1)
		log_debug("ssh: mlock: %s", strerror(errno));
}

/* Loads the profile's identity, asking for its passphrase (kept for reconnects). */
static int
sc_load_key(struct sshconn *c)
{
	char *path = paths_expand_tilde(c->identity), *q = NULL, *pp;
	int rc, tries;

	rc = ssh_pki_import_privkey_file(path, c->passphrase, NULL, NULL, &c->key);
	if (rc == SSH_OK)
		goto out;
	if (access(path, R_OK) != 0) {
		log_debug("ssh: identity %s: %s", path, strerror(errno));
		rc = -1;
		goto out;
	}
	if (!c->interactive)
		goto out;
	xasprintf(&q, "Enter passphrase for key '%s': ", path);
	for (tries = 0; tries < SSHCONN_TRIES; tries++) {
		if ((pp = prompt_line(q, 0)) == NULL)
			break;
		rc = ssh_pki_import_privkey_file(path, pp, NULL, NULL, &c->key);
		if (rc == SSH_OK) {
			xfree_secret(c->passphrase);
			c->passphrase = pp;
			sc_lock_secret(pp);
			break;
		}
		xfree_secret(pp);
		prompt_say("Bad passphrase, try again.\r\n");
	}
	sc_timer_restart(c);
out:
	free(q);
	free(path);
	return rc == SSH_OK ? 0 : -1;
}

void
sshconn_kbd_clear(struct sshconn_kbd *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		free(k->prompt[i]);
		xfree_secret(k->answer[i]);
		k->prompt[i] = k->answer[i] = NULL;
	}
	k->n = 0;
	k->no_replay = 0;
}

int
sshconn_kbd_replayable(const char *prompt, int echo)
{
	static const char *const otp[] = { "code", "otp", "token", "passcode", "one-time",
		"one time", "verif", "2fa", "two-factor", "authenticator", "duo", "yubi",
		"challenge", "option" };
	size_t i, j, n;

	if (echo)
		return 0;
	n = strlen(prompt);
	for (i = 0; i < sizeof otp / sizeof otp[0]; i++) {
		size_t m = strlen(otp[i]);

		for (j = 0; j + m <= n; j++)
			if (strncasecmp(prompt + j, otp[i], m) == 0)
				return 0;
	}
	return 1;
}

int
sshconn_kbd_add(struct sshconn_kbd *k, const char *prompt, const char *answer)
{
	if (k->n >= SSHCONN_KBD_MAX)
		return -1;
	k->prompt[k->n] = xstrdup(prompt);
	k->answer[k->n] = xstrdup(answer);
	sc_lock_secret(k->answer[k->n]);
	k->n++;
	return 0;
}

const char *
sshconn_kbd_replay(const struct sshconn_kbd *k, size_t i, const char *prompt)
{
	if (i >= k->n || strcmp(k->prompt[i], prompt) != 0)
		return NULL;
	return k->answer[i];
}

/* Keyboard-interactive: answer the server's questions on the terminal, or without one
 * (a reconnect) with the answers that worked before, if the server asks exactly the
 * same questions in the same order.  Anything new (a changed prompt) is not guessed at,
 * and an exchange that asked for a one-time code or a visible answer is never replayed
 * (sshconn_kbd_replayable).  The answers are kept until the exchange succeeds. */
static int
sc_kbdint_answer(struct sshconn *c)
{
	int i, n = ssh_userauth_kbdint_getnprompts(c->ssh);
	const char *p, *name, *instr, *old;
	char echo = 0, *a;

	name = ssh_userauth_kbdint_getname(c->ssh);
	instr = ssh_userauth_kbdint_getinstruction(c->ssh);
	if (c->interactive && name != NULL && *name != '\0')
		prompt_say("%s\r\n", name);
	if (c->interactive && instr != NULL && *instr != '\0')
		prompt_say("%s\r\n", instr);
	for (i = 0; i < n; i++) {
		p = ssh_userauth_kbdint_getprompt(c->ssh, (unsigned)i, &echo);
		if (p == NULL)
			p = "Response: ";
		if (!c->interactive) {
			old = sshconn_kbd_replay(&c->kbd_saved, c->kbd_asked, p);
			if (old == NULL)
				return -1;
			ssh_userauth_kbdint_setanswer(c->ssh, (unsigned)i, old);
			c->kbd_asked++;
			continue;
		}
		if ((a = prompt_line(p, echo)) == NULL)
			return -1;
		ssh_userauth_kbdint_setanswer(c->ssh, (unsigned)i, a);
		if (!sshconn_kbd_replayable(p, echo) ||
		    sshconn_kbd_add(&c->kbd_pending, p, a) == -1)
			c->kbd_pending.no_replay = 1;
		c->kbd_asked++;
		xfree_secret(a);
	}
	sc_timer_restart(c);
	return 0;
}

static void
sc_auth_failed(struct sshconn *c)
{
	char *name = sshconn_known_hosts_name(c->host, c->cfg.port);
	char tried[128] = "";

	c->auth_refused = 1;
	if (c->tried_agent)
		strncat(tried, " agent", sizeof tried - strlen(tried) - 1);
	if (c->tried_key || c->tried_auto)
		strncat(tried, " publickey", sizeof tried - strlen(tried) - 1);
	if (c->tried_password)
		strncat(tried, " password", sizeof tried - strlen(tried) - 1);
	if (c->tried_kbdint)
		strncat(tried, " keyboard-interactive", sizeof tried - strlen(tried) - 1);
	sc_failf(c,
	    "authentication failed for %s@%s (tried:%s); check the user, the "
	    "identity file or the password",
	    c->user != NULL ? c->user : "?", name,
	    tried[0] != '\0' ? tried : " nothing the server accepts");
	free(name);
}

/* ---- the open's state machine ------------------------------------------------------- */

/* What one state's round asks of sc_step, the one place that drives the machine. */
enum sc_next {
	SC_NEXT_DONE = -1, /* the open finished (sc_finish ran): c may be gone */
	SC_NEXT_WAIT,      /* libssh waits for the socket: re-arm the watcher */
	SC_NEXT_RUN,       /* run the (new) state now */
};

static enum sc_next
sc_fail_auth_error(struct sshconn *c)
{
	sc_failf(c, "ssh connection to %s failed during authentication: %s", c->host,
	    ssh_get_error(c->ssh));
	return SC_NEXT_DONE;
}

static enum sc_next
sc_auth_done(struct sshconn *c, const char *method)
{
	c->auth_method = method;
	c->state = SC_READY;
	return SC_NEXT_RUN;
}

static enum sc_next
sc_state_connect(struct sshconn *c)
{
	int rc = ssh_connect(c->ssh);

	if (rc == SSH_AGAIN)
		return SC_NEXT_WAIT;
	if (rc != SSH_OK) {
		sc_failf(c, "ssh connection to %s port %d failed: %s", c->host, c->cfg.port,
		    ssh_get_error(c->ssh));
		return SC_NEXT_DONE;
	}
	c->hostkey_refused = 1;
	if (sc_check_hostkey(c) == -1)
		return SC_NEXT_DONE;
	c->hostkey_refused = 0;
	c->state = SC_AUTH_NONE;
	return SC_NEXT_RUN;
}

static enum sc_next
sc_state_auth_none(struct sshconn *c)
{
	int rc = ssh_userauth_none(c->ssh, NULL);

	if (rc == SSH_AUTH_AGAIN)
		return SC_NEXT_WAIT;
	if (rc == SSH_AUTH_SUCCESS)
		return sc_auth_done(c, "none");
	if (rc == SSH_AUTH_ERROR)
		return sc_fail_auth_error(c);
	c->methods = ssh_userauth_list(c->ssh, NULL);
	sc_next_auth(c);
	return SC_NEXT_RUN;
}

/* A method was refused (or accepted in part): on to the next one the server offers. */
static enum sc_next
sc_auth_next(struct sshconn *c, int rc)
{
	if (rc == SSH_AUTH_PARTIAL)
		c->methods = ssh_userauth_list(c->ssh, NULL);
	sc_next_auth(c);
	return SC_NEXT_RUN;
}

/* As OpenSSH: the same method again, with a fresh answer from the terminal. */
static enum sc_next
sc_ask_again(void)
{
	prompt_say("Permission denied, please try again.\r\n");
	return SC_NEXT_RUN;
}

/* The answer to a publickey or password attempt (the state that made it is current). */
static enum sc_next
sc_auth_result(struct sshconn *c, int rc)
{
	if (rc == SSH_AUTH_AGAIN)
		return SC_NEXT_WAIT;
	if (rc == SSH_AUTH_SUCCESS)
		return sc_auth_done(c,
		    c->state == SC_AUTH_AGENT          ? "publickey (agent)"
		        : c->state == SC_AUTH_PASSWORD ? "password"
		                                       : "publickey");
	if (rc == SSH_AUTH_ERROR)
		return sc_fail_auth_error(c);
	if (c->state == SC_AUTH_KEY && c->key != NULL) {
		ssh_key_free(c->key);
		c->key = NULL;
	}
	if (c->state == SC_AUTH_PASSWORD) {
		xfree_secret(c->password);
		c->password = NULL;
		if (c->interactive && c->pw_tries < SSHCONN_TRIES) {
			return sc_ask_again();
		}
	}
	return sc_auth_next(c, rc);
}

static enum sc_next
sc_state_auth_agent(struct sshconn *c)
{
	return sc_auth_result(c, ssh_userauth_agent(c->ssh, NULL));
}

static enum sc_next
sc_state_auth_auto(struct sshconn *c)
{
	return sc_auth_result(c, ssh_userauth_publickey_auto(c->ssh, NULL, c->passphrase));
}

static enum sc_next
sc_state_auth_key(struct sshconn *c)
{
	if (c->key == NULL) {
		if (sc_load_key(c) == -1) {
			if (c->interactive)
				prompt_say("Cannot use identity %s.\r\n", c->identity);
			sc_next_auth(c);
			return SC_NEXT_RUN;
		}
		sc_say(c, "auth publickey (%s)", c->identity);
	}
	return sc_auth_result(c, ssh_userauth_publickey(c->ssh, NULL, c->key));
}

/* Asks for the password on the terminal (kept for reconnects).  -1: none given, c
 * finished. */
static int
sc_ask_password(struct sshconn *c)
{
	char *name = sshconn_known_hosts_name(c->host, c->cfg.port), *q = NULL, *pw;

	xasprintf(&q, "%s@%s's password: ", c->user != NULL ? c->user : "", name);
	free(name);
	pw = prompt_line(q, 0);
	free(q);
	sc_timer_restart(c);
	if (pw == NULL) {
		sc_failf(c, "no password given for %s@%s", c->user != NULL ? c->user : "", c->host);
		return -1;
	}
	c->password = pw;
	sc_lock_secret(pw);
	c->pw_tries++;
	sc_say(c, "auth password");
	return 0;
}

static enum sc_next
sc_state_auth_password(struct sshconn *c)
{
	if (c->password == NULL && sc_ask_password(c) == -1)
		return SC_NEXT_DONE;
	return sc_auth_result(c, ssh_userauth_password(c->ssh, NULL, c->password));
}

/* A keyboard-interactive exchange went through: its answers are remembered for
 * reconnects only now that they have worked, and only if every round may be replayed
 * (answers given in part are worse than none). */
static void
sc_kbd_settle(struct sshconn *c)
{
	int keep;

	if (c->interactive) {
		keep = !c->kbd_pending.no_replay && !c->kbd_saved.no_replay;
		sshconn_kbd_clear(&c->kbd_saved);
		if (keep) {
			c->kbd_saved = c->kbd_pending;
			memset(&c->kbd_pending, 0, sizeof c->kbd_pending);
		} else {
			sshconn_kbd_clear(&c->kbd_pending);
			c->kbd_saved.no_replay = 1;
		}
	}
	c->kbd_asked = 0;
}

static enum sc_next
sc_state_auth_kbdint(struct sshconn *c)
{
	int rc = ssh_userauth_kbdint(c->ssh, NULL, NULL);

	if (rc == SSH_AUTH_AGAIN)
		return SC_NEXT_WAIT;
	if (rc == SSH_AUTH_INFO) {
		if (sc_kbdint_answer(c) == -1) {
			c->auth_refused = 1;
			sc_failf(c,
			    c->interactive
			        ? "no answer given for %s's questions"
			        : "%s asked keyboard-interactive questions that were not answered "
			          "before; not answering without a terminal",
			    c->host);
			return SC_NEXT_DONE;
		}
		return SC_NEXT_RUN;
	}
	if (rc == SSH_AUTH_SUCCESS || rc == SSH_AUTH_PARTIAL)
		sc_kbd_settle(c);
	if (rc == SSH_AUTH_SUCCESS)
		return sc_auth_done(c, "keyboard-interactive");
	if (rc == SSH_AUTH_ERROR)
		return sc_fail_auth_error(c);
	if (rc == SSH_AUTH_DENIED) {
		sshconn_kbd_clear(&c->kbd_pending);
		c->kbd_asked = 0;
		/* As OpenSSH (NumberOfPasswordPrompts): ask again, up to three times. */
		if (c->interactive && ++c->kbd_tries < SSHCONN_TRIES) {
			return sc_ask_again();
		}
	}
	return sc_auth_next(c, rc);
}

static enum sc_next
sc_state_auth_exhausted(struct sshconn *c)
{
	sc_auth_failed(c);
	return SC_NEXT_DONE;
}

static enum sc_next
sc_state_ready(struct sshconn *c)
{
	sc_io_stop(c);
	sc_finish(c, NULL);
	return SC_NEXT_DONE;
}

/* One round per state; the states without a round (idle, the proxy's TCP connect,
 * failed) wait for whoever moves them on. */
static enum sc_next (*const sc_states[SC_FAILED + 1])(struct sshconn *) = {
	[SC_CONNECT] = sc_state_connect,
	[SC_AUTH_NONE] = sc_state_auth_none,
	[SC_AUTH_AGENT] = sc_state_auth_agent,
	[SC_AUTH_KEY] = sc_state_auth_key,
	[SC_AUTH_AUTO] = sc_state_auth_auto,
	[SC_AUTH_PASSWORD] = sc_state_auth_password,
	[SC_AUTH_KBDINT] = sc_state_auth_kbdint,
	[SC_AUTH_EXHAUSTED] = sc_state_auth_exhausted,
	[SC_READY] = sc_state_ready,
};

/* The one driver of the open: runs states until libssh waits for the socket (then the
 * watcher is re-armed from ssh_get_poll_flags) or the open finished. */
static void
sc_step(struct sshconn *c)
{
	enum sc_next (*run)(struct sshconn *);

	for (;;) {
		run = sc_states[c->state];
		switch (run != NULL ? run(c) : SC_NEXT_WAIT) {
		case SC_NEXT_DONE:
			return; /* c may be gone */
		case SC_NEXT_WAIT:
			sc_arm(c);
			return;
		case SC_NEXT_RUN:
			break;
		}
	}
}

/* ---- exec -------------------------------------------------------------------------- */

static void
ex_finish(struct sshconn *c, const char *error)
{
	sshconn_exec_cb done = c->ex_done;
	void *arg = c->ex_arg;
	char *out = c->out, *err = c->err;
	size_t outlen = c->outlen, errlen = c->errlen;
	int status = -1;

	if (c->chan != NULL && error == NULL)
		status = ssh_channel_get_exit_status(c->chan);
	if (c->chan != NULL) {
		ssh_channel_close(c->chan);
		ssh_channel_free(c->chan);
		c->chan = NULL;
	}
	c->ex = EX_NONE;
	c->out = c->err = NULL;
	c->outlen = c->errlen = 0;
	if (c->st == ST_NONE)
		sc_io_stop(c);
	ev_timer_stop(c->loop, &c->timer);
	free(c->ex_cmd);
	c->ex_cmd = NULL;
	if (done != NULL)
		done(c, out != NULL ? out : "", outlen, err != NULL ? err : "", errlen, status,
		    error, arg);
	if (out != NULL)
		explicit_bzero(out, outlen);
	free(out);
	free(err);
}

static void
ex_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sshconn *c = w->data;
	char msg[256];

	snprintf(msg, sizeof msg, "the remote command on %s did not finish within %d s", c->host,
	    c->cfg.timeout_ms / 1000);
	ex_finish(c, msg);
}

/* Reads what the channel has (both streams); -1 on error. */
static int
ex_drain(struct sshconn *c, int is_stderr)
{
	char buf[4096];
	char **dst = is_stderr ? &c->err : &c->out;
	size_t *len = is_stderr ? &c->errlen : &c->outlen;
	int n;

	for (;;) {
		n = ssh_channel_read_nonblocking(c->chan, buf, sizeof buf, is_stderr);
		if (n == SSH_ERROR)
			return -1;
		if (n <= 0)
			return 0;
		if (*len + (size_t)n > SSHCONN_EXEC_MAX)
			n = (int)(SSHCONN_EXEC_MAX - *len);
		if (n <= 0)
			continue; /* keep reading and dropping so the window stays open */
		*dst = xreallocarray(*dst, 1, *len + (size_t)n + 1);
		memcpy(*dst + *len, buf, (size_t)n);
		*len += (size_t)n;
		(*dst)[*len] = '\0';
	}
}

static void
ex_step(struct sshconn *c)
{
	char msg[512];
	int rc;

	for (;;) {
		switch (c->ex) {
		case EX_OPEN:
			rc = ssh_channel_open_session(c->chan);
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			c->ex = EX_EXEC;
			break;
		case EX_EXEC:
			rc = ssh_channel_request_exec(c->chan, c->ex_cmd);
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			c->ex = EX_READ;
			break;
		case EX_READ:
			if (ex_drain(c, 0) == -1 || ex_drain(c, 1) == -1)
				goto fail;
			if (ssh_channel_is_eof(c->chan) || ssh_channel_is_closed(c->chan)) {
				/* The exit status travels next to EOF: give it a moment. */
				if (!ssh_channel_is_closed(c->chan) &&
				    ssh_channel_get_exit_status(c->chan) == -1)
					goto wait;
				ex_finish(c, NULL);
				return;
			}
			goto wait;
		default:
			return;
		}
	}
wait:
	sc_arm(c);
	return;
fail:
	snprintf(msg, sizeof msg, "running the remote command on %s failed: %s", c->host,
	    ssh_get_error(c->ssh));
	ex_finish(c, msg);
}

void
sshconn_exec(struct sshconn *c, const char *command, sshconn_exec_cb done, void *arg)
{
	if (c->state != SC_READY || c->ssh == NULL || c->ex != EX_NONE)
		fatalx("sshconn_exec: connection not ready");
	c->ex_done = done;
	c->ex_arg = arg;
	c->ex_cmd = xstrdup(command);
	if ((c->chan = ssh_channel_new(c->ssh)) == NULL) {
		c->ex = EX_OPEN;
		ex_finish(c, "cannot create an ssh channel");
		return;
	}
	c->ex = EX_OPEN;
	ev_init(&c->io, sc_io_cb);
	c->io.data = c;
	c->io_fd = -1;
	ev_timer_init(&c->timer, ex_timer_cb, c->cfg.timeout_ms / 1000.0, 0.);
	c->timer.data = c;
	ev_timer_start(c->loop, &c->timer);
	ev_idle_start(c->loop, &c->kick);
}

/* ---- the stream ---------------------------------------------------------------------- */

#define ST_WRITE_CHUNK 32768

static void
st_reset(struct sshconn *c)
{
	if (c->st == ST_NONE && c->st_chan == NULL)
		return;
	ev_prepare_stop(c->loop, &c->st_check);
	if (c->st_chan != NULL) {
		if (c->ssh != NULL && ssh_is_connected(c->ssh))
			ssh_channel_close(c->st_chan);
		ssh_channel_free(c->st_chan);
		c->st_chan = NULL;
	}
	c->st = ST_NONE;
	c->st_gen++;
	free(c->st_cmd);
	c->st_cmd = NULL;
	free(c->st_q);
	c->st_q = NULL;
	c->st_off = c->st_len = c->st_cap = 0;
}

/* Ends the stream and tells the owner (which may free or reopen anything). */
static void
st_end(struct sshconn *c, int status, const char *error)
{
	const struct sshconn_stream_ops *ops = c->st_ops;
	void *arg = c->st_arg;
	char msg[512];

	if (error != NULL)
		snprintf(msg, sizeof msg, "%s", error);
	st_reset(c);
	if (c->ex == EX_NONE)
		sc_io_stop(c);
	if (ops != NULL && ops->closed != NULL)
		ops->closed(status, error != NULL ? msg : NULL, arg);
}

static void
st_failf(struct sshconn *c, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s: %s", what,
	    c->ssh != NULL ? ssh_get_error(c->ssh) : "no connection");
	st_end(c, -1, msg);
}

/* Hands queued bytes to libssh as far as the remote window allows.  -1 on error. */
static int
st_flush(struct sshconn *c)
{
	uint32_t win;
	size_t n;
	int w;

	while (c->st_off < c->st_len) {
		win = ssh_channel_window_size(c->st_chan);
		if (win == 0)
			return 0;
		n = c->st_len - c->st_off;
		if (n > win)
			n = win;
		if (n > ST_WRITE_CHUNK)
			n = ST_WRITE_CHUNK;
		w = ssh_channel_write(c->st_chan, c->st_q + c->st_off, (uint32_t)n);
		if (w == SSH_ERROR)
			return -1;
		if (w <= 0)
			return 0;
		c->st_off += (size_t)w;
	}
	c->st_off = c->st_len = 0;
	return 0;
}

/* The remote side closed or ended the channel: writing fails, but what it said (and
 * its exit status) is still to be read, so that is not an error of its own. */
static int
st_ending(struct sshconn *c)
{
	if (!ssh_channel_is_closed(c->st_chan) && !ssh_channel_is_eof(c->st_chan))
		return 0;
	c->st_off = c->st_len = 0;
	return 1;
}

static void
st_step(struct sshconn *c)
{
	char buf[16384];
	unsigned gen = c->st_gen;
	int rc, n, is_err, got;

	switch (c->st) {
	case ST_OPEN:
		rc = ssh_channel_open_session(c->st_chan);
		if (rc == SSH_AGAIN)
			goto wait;
		if (rc != SSH_OK) {
			st_failf(c, "cannot open an ssh channel");
			return;
		}
		c->st = ST_EXEC;
		/* FALLTHROUGH */
	case ST_EXEC:
		rc = ssh_channel_request_exec(c->st_chan, c->st_cmd);
		if (rc == SSH_AGAIN)
			goto wait;
		if (rc != SSH_OK) {
			st_failf(c, "cannot run the relay command");
			return;
		}
		c->st = ST_RUN;
		/* FALLTHROUGH */
	case ST_RUN:
		if (st_flush(c) == -1 && !st_ending(c)) {
			st_failf(c, "writing to the ssh channel failed");
			return;
		}
		do {
			got = 0;
			for (is_err = 0; is_err <= 1; is_err++) {
				n = ssh_channel_read_nonblocking(c->st_chan, buf, sizeof buf,
				    is_err);
				if (n == SSH_ERROR) {
					st_failf(c, "reading from the ssh channel failed");
					return;
				}
				if (n <= 0)
					continue;
				got = 1;
				if (!is_err && c->st_ops->data != NULL)
					c->st_ops->data(buf, (size_t)n, c->st_arg);
				else if (is_err && c->st_ops->err != NULL)
					c->st_ops->err(buf, (size_t)n, c->st_arg);
				if (gen != c->st_gen)
					return; /* the owner ended or replaced the stream */
			}
		} while (got);
		if (ssh_channel_is_eof(c->st_chan) || ssh_channel_is_closed(c->st_chan)) {
			st_end(c, ssh_channel_get_exit_status(c->st_chan), NULL);
			return;
		}
		if (c->ssh == NULL || !ssh_is_connected(c->ssh) ||
		    (ssh_get_status(c->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR))) {
			st_failf(c, "the ssh connection closed");
			return;
		}
		if (st_flush(c) == -1 && !st_ending(c)) {
			st_failf(c, "writing to the ssh channel failed");
			return;
		}
		/* Writing makes libssh read the socket as well (it flushes through its own
		 * poll): what it read may sit in the channel's buffer now, with nothing on
		 * the fd to wake us.  Come round again instead of sleeping on it. */
		if (ssh_channel_poll(c->st_chan, 0) > 0 || ssh_channel_poll(c->st_chan, 1) > 0)
			ev_idle_start(c->loop, &c->kick);
		break;
	default:
		return;
	}
wait:
	sc_arm(c);
}

/* Runs before the loop sleeps, whatever woke it: libssh may already hold decrypted data
 * for this channel that the socket no longer shows (read while serving an exec, the
 * handshake or a write), and no fd watcher would fire for it.  An ev_prepare, not an
 * ev_check: libev runs check watchers before the wake-up's other callbacks, so data
 * libssh read while one of those wrote to the channel would wait for the next wake-up
 * (the 1 s tick: a ~1 s stall). */
static void
st_check_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct sshconn *c = w->data;

	if (c->st == ST_RUN)
		st_step(c);
}

int
sshconn_stream_open(struct sshconn *c, const char *command, const struct sshconn_stream_ops *ops,
    void *arg)
{
	if (c->state != SC_READY || c->ssh == NULL || c->st != ST_NONE)
		return -1;
	if ((c->st_chan = ssh_channel_new(c->ssh)) == NULL)
		return -1;
	c->st = ST_OPEN;
	c->st_cmd = xstrdup(command);
	c->st_ops = ops;
	c->st_arg = arg;
	ev_init(&c->io, sc_io_cb);
	c->io.data = c;
	c->io_fd = -1;
	ev_prepare_init(&c->st_check, st_check_cb);
	c->st_check.data = c;
	ev_prepare_start(c->loop, &c->st_check);
	ev_idle_start(c->loop, &c->kick);
	return 0;
}

void
sshconn_stream_write(struct sshconn *c, const void *p, size_t n)
{
	if (c->st == ST_NONE || n == 0)
		return;
	if (c->st_off > 0 && c->st_len + n > c->st_cap) {
		memmove(c->st_q, c->st_q + c->st_off, c->st_len - c->st_off);
		c->st_len -= c->st_off;
		c->st_off = 0;
	}
	if (c->st_len + n > c->st_cap) {
		c->st_cap = c->st_cap < 16384 ? 16384 : c->st_cap;
		while (c->st_cap < c->st_len + n)
			c->st_cap *= 2;
		c->st_q = xreallocarray(c->st_q, c->st_cap, 1);
	}
	memcpy(c->st_q + c->st_len, p, n);
	c->st_len += n;
	if (c->st == ST_RUN && st_flush(c) == 0)
		sc_arm(c);
	/* An error shows at the next step, from the loop. */
}

size_t
sshconn_stream_queued(const struct sshconn *c)
{
	return c->st_len - c->st_off;
}

void
sshconn_stream_close(struct sshconn *c)
{
	st_reset(c);
	if (c->ex == EX_NONE)
		sc_io_stop(c);
}

int
sshconn_hostkey_refused(const struct sshconn *c)
{
	return c->hostkey_refused;
}

int
sshconn_auth_refused(const struct sshconn *c)
{
	return c->auth_refused;
}

void
sshconn_set_timeout(struct sshconn *c, int ms)
{
	c->cfg.timeout_ms = ms > 0 ? ms : 15000;
}

int
sshconn_is_open(const struct sshconn *c)
{
	return c != NULL && c->state == SC_READY && c->ssh != NULL;
}

int
sshconn_exec_possible(const struct sshconn *c)
{
	return sshconn_is_open(c) && c->ex == EX_NONE && c->st == ST_NONE;
}

int
sshconn_policy_from_name(const char *p, enum sshconn_policy *out)
{
	if (p == NULL || strcmp(p, "ask") == 0)
		*out = SSHCONN_ASK;
	else if (strcmp(p, "accept-new") == 0)
		*out = SSHCONN_ACCEPT_NEW;
	else if (strcmp(p, "strict") == 0)
		*out = SSHCONN_STRICT;
	else
		return -1;
	return 0;
}

int
sshconn_config_from_profile(const struct db_host *h, const char *policy, int timeout_ms,
    struct sshconn_config *cfg, char **err)
{
	const char *p = policy != NULL ? policy : h->hostkey_policy;

	memset(cfg, 0, sizeof *cfg);
	if (sshconn_policy_from_name(p, &cfg->policy) == -1) {
		xasprintf(err, "unknown host key policy '%s' (ask, accept-new or strict)", p);
		return -1;
	}
	cfg->proxy.type = proxy_type_from_name(h->proxy_type != NULL ? h->proxy_type : "none");
	if ((int)cfg->proxy.type == -1) {
		xasprintf(err, "profile '%s' has an unknown proxy type '%s'", h->name,
		    h->proxy_type);
		return -1;
	}
	cfg->host = h->hostname;
	cfg->port = h->port;
	cfg->user = h->user;
	cfg->identity = h->identity;
	cfg->known_hosts = h->known_hosts;
	cfg->proxy.host = h->proxy_host;
	cfg->proxy.port = h->proxy_port;
	cfg->proxy.user = h->proxy_user;
	cfg->proxy.pass = h->proxy_pass;
	if ((cfg->proxy.family = resolve_family_from_name(h->family)) == -1) {
		xasprintf(err, "profile '%s' has an unknown address family '%s'", h->name,
		    h->family);
		return -1;
	}
	cfg->jump = h->jump;
	cfg->proxy_command = h->proxy_command;
	/* ~/.ssh/config supplies a route only when the profile names none. */
	cfg->use_ssh_config =
	    cfg->proxy.type == PROXY_NONE && cfg->jump == NULL && cfg->proxy_command == NULL;
	cfg->timeout_ms = timeout_ms;
	return 0;
}
