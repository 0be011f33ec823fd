/* SPDX-License-Identifier: MIT */
#include "src/session/attach.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "src/session/attachproto.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/proc.h"
#include "src/util/xmalloc.h"

/* mosh-client's output waits at most this much for a slow terminal; beyond it the pty
 * is not read until the terminal catches up (as a slow real terminal would do). */
#define ATTACH_OUT_HIGH (1 << 20)
/* Keyboard input waiting for mosh-client; beyond it the terminal is not read. */
#define ATTACH_KBD_HIGH (64 << 10)

struct buf {
	uint8_t *p;
	size_t len, cap;
};

struct attach {
	struct ev_loop *loop;
	int64_t id;
	char host[ATTACHPROTO_TEXT_MAX + 1];
	attach_changed_cb changed;
	void *arg;

	int master, slave;
	pid_t client;
	int client_gone;
	ev_io master_r, master_w;
	struct buf kbd;         /* keyboard bytes for mosh-client */
	uint8_t kbd_last;       /* the last of them */
	int64_t suspend_key_at; /* when Ctrl-^ Ctrl-Z went to mosh-client (mono ms) */

	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ev_io listen_r;

	int term;    /* the attached terminal's connection, -1 none */
	int greeted; /* its HELLO arrived */
	ev_io term_r, term_w;
	uint8_t in[2 * ATTACHPROTO_MSG_MAX];
	size_t inlen;
	struct buf out; /* messages for the terminal */
};

/* ---- the directory -------------------------------------------------------------------- */

static int
check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "cannot check %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s is not a private directory of this user (owner uid "
		    "%ld, mode %03o); refusing to put a session's socket there; remove it or "
		    "set XDG_RUNTIME_DIR",
		    dir, (long)st.st_uid, (unsigned)st.st_mode & 0777);
		return -1;
	}
	return 0;
}

int
attach_dir(char *buf, size_t len, char *err, size_t errlen)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (rt != NULL && rt[0] == '/')
		n = snprintf(buf, len, "%s/moshman", rt);
	else
		n = snprintf(buf, len, "/tmp/moshman-%ld", (long)getuid());
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen,
		    "the socket directory's name is too long; set a shorter "
		    "XDG_RUNTIME_DIR");
		return -1;
	}
	return check_dir(buf, err, errlen);
}

int
attach_socket_path(int64_t id, int64_t supervisor_pid, char *buf, size_t len, char *err,
    size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n;

	if (attach_dir(dir, sizeof dir, err, errlen) == -1)
		return -1;
	n = snprintf(buf, len, "%s/session-%lld-%lld.sock", dir, (long long)id,
	    (long long)supervisor_pid);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof dir) {
		snprintf(err, errlen,
		    "the socket path under %s is too long; set a shorter "
		    "XDG_RUNTIME_DIR",
		    dir);
		return -1;
	}
	return 0;
}

/* Sockets of supervisors that died without removing them (SIGKILL, a crash): a socket
 * names its supervisor's pid, and a pid that no longer runs (gone, or a zombie nobody
 * reaped yet) cannot be listening.  A reused pid only keeps a stale file a while. */
static void
remove_stale(const char *dir)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct dirent *d;
	struct proc_stat ps;
	long long id, pid;
	char tail[8];
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (sscanf(d->d_name, "session-%lld-%lld%7s", &id, &pid, tail) != 3 ||
		    strcmp(tail, ".sock") != 0 || pid <= 0 || pid > 0x7fffffff)
			continue;
		if ((proc_stat_read((pid_t)pid, &ps) == -1 || ps.state == 'Z') &&
		    snprintf(path, sizeof path, "%s/%s", dir, d->d_name) < (int)sizeof path)
			unlink(path);
	}
	closedir(dp);
}

/* ---- buffers ---------------------------------------------------------------------------- */

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = xreallocarray(b->p, cap, 1);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_drop(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

/* Writes what it can; -1 on a real error. */
static int
buf_flush(struct buf *b, int fd)
{
	while (b->len > 0) {
		ssize_t n = write(fd, b->p, b->len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		buf_drop(b, (size_t)n);
	}
	return 0;
}

/* ---- the terminal ----------------------------------------------------------------------- */

static void term_update(struct attach *);

static void
term_close(struct attach *a, const char *why)
{
	if (a->term == -1)
		return;
	ev_io_stop(a->loop, &a->term_r);
	ev_io_stop(a->loop, &a->term_w);
	close(a->term);
	a->term = -1;
	a->inlen = 0;
	a->out.len = 0;
	if (a->greeted && why != NULL)
		a->changed(a->arg, 0, why);
	a->greeted = 0;
	term_update(a);
}

/* Queues an encoded message for the terminal. */
static void
term_send(struct attach *a, const uint8_t *msg, size_t n)
{
	if (a->term == -1 || n == 0)
		return;
	buf_add(&a->out, msg, n);
	term_update(a);
}

/* Watchers follow the buffers: write interest only while output waits; the pty is not
 * read while a slow terminal is far behind, the terminal not while mosh-client is. */
static void
term_update(struct attach *a)
{
	if (a->term != -1) {
		if (a->out.len > 0)
			ev_io_start(a->loop, &a->term_w);
		else
			ev_io_stop(a->loop, &a->term_w);
		if (a->kbd.len < ATTACH_KBD_HIGH)
			ev_io_start(a->loop, &a->term_r);
		else
			ev_io_stop(a->loop, &a->term_r);
	}
	if (a->client_gone)
		return;
	if (a->out.len < ATTACH_OUT_HIGH)
		ev_io_start(a->loop, &a->master_r);
	else
		ev_io_stop(a->loop, &a->master_r);
	if (a->kbd.len > 0)
		ev_io_start(a->loop, &a->master_w);
	else
		ev_io_stop(a->loop, &a->master_w);
}

static void
pty_resize(struct attach *a, int rows, int cols)
{
	struct winsize ws;

	memset(&ws, 0, sizeof ws);
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	/* The kernel sends mosh-client SIGWINCH when the size changed. */
	if (ioctl(a->master, TIOCSWINSZ, &ws) == -1)
		log_debug("attach: TIOCSWINSZ: %s", strerror(errno));
}

static void
term_greet(struct attach *a, const struct attachproto_msg *m)
{
	uint8_t msg[ATTACHPROTO_HEADER + 8 + ATTACHPROTO_TEXT_MAX];

	a->greeted = 1;
	term_send(a, msg, attachproto_welcome(msg, sizeof msg, a->id, a->host));
	pty_resize(a, m->rows, m->cols);
	/* The new terminal shows something else than mosh-client last drew: SIGCONT makes
	 * it set the terminal up again and repaint everything (STMClient::resume(), which
	 * it runs after a suspend), without a byte reaching the remote shell. */
	if (!a->client_gone && a->client > 0)
		kill(a->client, SIGCONT);
	a->changed(a->arg, 1, "attached");
}

/* mosh-client stops itself on Ctrl-^ Ctrl-Z; remember when the user typed that, so that
 * a stop nobody asked for here (a debugger, a test freezing every client-side process,
 * a job-control signal from elsewhere) is not taken for the user's suspend. */
#define ATTACH_SUSPEND_KEY_MS 5000

static void
kbd_watch(struct attach *a, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a->kbd_last == 0x1e && p[i] == 0x1a)
			a->suspend_key_at = clock_mono_ms();
		a->kbd_last = p[i];
	}
}

static int
term_message(struct attach *a, const struct attachproto_msg *m)
{
	if (!a->greeted && m->type != ATTACHPROTO_HELLO) {
		log_debug("attach: a terminal spoke before its HELLO");
		return -1;
	}
	switch (m->type) {
	case ATTACHPROTO_HELLO:
		if (a->greeted)
			return -1;
		term_greet(a, m);
		break;
	case ATTACHPROTO_DATA:
		if (!a->client_gone) {
			kbd_watch(a, m->data, m->len);
			buf_add(&a->kbd, m->data, m->len);
		}
		break;
	case ATTACHPROTO_RESIZE:
		pty_resize(a, m->rows, m->cols);
		break;
	case ATTACHPROTO_DETACH:
		term_close(a, "detached by the user");
		return 1;
	default:
		return -1;
	}
	return 0;
}

static void
term_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attach *a = w->data;
	struct attachproto_msg m;
	char err[256];
	size_t at = 0;
	ssize_t n;
	long used;
	int rc;

	n = read(a->term, a->in + a->inlen, sizeof a->in - a->inlen);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		term_close(a,
		    n == 0 ? "the terminal went away"
		           : "the terminal's connection "
		             "failed");
		return;
	}
	a->inlen += (size_t)n;
	while ((used = attachproto_parse(ATTACHPROTO_FROM_TERMINAL, a->in + at, a->inlen - at, &m,
	            err, sizeof err)) > 0) {
		at += (size_t)used;
		if ((rc = term_message(a, &m)) == -1) {
			term_close(a, "the terminal broke the attach protocol");
			return;
		}
		if (rc == 1)
			return; /* detached: the terminal is gone */
	}
	if (used == -1) {
		log_debug("attach: bad message from the terminal: %s", err);
		term_close(a, "the terminal broke the attach protocol");
		return;
	}
	memmove(a->in, a->in + at, a->inlen - at);
	a->inlen -= at;
	if (buf_flush(&a->kbd, a->master) == -1)
		log_debug("attach: writing to mosh-client's terminal: %s", strerror(errno));
	term_update(a);
}

static void
term_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attach *a = w->data;

	if (buf_flush(&a->out, a->term) == -1) {
		term_close(a, "the terminal went away");
		return;
	}
	term_update(a);
}

static void
term_take(struct attach *a, int fd)
{
	if (a->term != -1) {
		uint8_t msg[ATTACHPROTO_HEADER + ATTACHPROTO_TEXT_MAX];
		size_t n = attachproto_takeover(msg, sizeof msg,
		    "the session was attached "
		    "from another terminal");

		/* Best effort, and short: the old terminal must not hold up the new one. */
		buf_add(&a->out, msg, n);
		(void)buf_flush(&a->out, a->term);
		term_close(a, "taken over by another terminal");
	}
	a->term = fd;
	a->inlen = 0;
	a->greeted = 0;
	ev_io_init(&a->term_r, term_read_cb, fd, EV_READ);
	ev_io_init(&a->term_w, term_write_cb, fd, EV_WRITE);
	a->term_r.data = a->term_w.data = a;
	term_update(a);
}

static void
listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attach *a = w->data;
	struct ucred cred;
	socklen_t len = sizeof cred;
	int fd;

	if ((fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 || cred.uid != getuid()) {
		log_debug("attach: refused a connection from uid %ld", (long)cred.uid);
		close(fd);
		return;
	}
	term_take(a, fd);
}

/* ---- mosh-client's terminal ----------------------------------------------------------- */

static void
master_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attach *a = w->data;
	uint8_t buf[ATTACHPROTO_MSG_MAX];
	ssize_t n;

	n = read(a->master, buf + ATTACHPROTO_HEADER, ATTACHPROTO_DATA_MAX);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EIO: no process holds the terminal side any more (mosh-client ended). */
		ev_io_stop(loop, &a->master_r);
		ev_io_stop(loop, &a->master_w);
		a->client_gone = 1;
		return;
	}
	if (a->term != -1 && a->greeted) {
		attachproto_data(buf, sizeof buf, buf + ATTACHPROTO_HEADER, (size_t)n);
		term_send(a, buf, ATTACHPROTO_HEADER + (size_t)n);
	}
}

static void
master_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct attach *a = w->data;

	if (buf_flush(&a->kbd, a->master) == -1)
		a->kbd.len = 0;
	term_update(a);
}

/* ---- life --------------------------------------------------------------------------------- */

struct attach *
attach_new(struct ev_loop *loop, int64_t session_id, const char *host, int size_fd,
    attach_changed_cb changed, void *arg, char *err, size_t errlen)
{
	struct attach *a = xcalloc(1, sizeof *a);
	struct sockaddr_un sun;
	struct winsize ws;
	mode_t old;

	a->loop = loop;
	a->id = session_id;
	snprintf(a->host, sizeof a->host, "%s", host != NULL ? host : "");
	a->changed = changed;
	a->arg = arg;
	a->master = a->slave = a->listen_fd = a->term = -1;
	if (ioctl(size_fd, TIOCGWINSZ, &ws) == -1 || ws.ws_row == 0 || ws.ws_col == 0) {
		memset(&ws, 0, sizeof ws);
		ws.ws_row = 24;
		ws.ws_col = 80;
	}
	if (openpty(&a->master, &a->slave, NULL, NULL, &ws) == -1) {
		snprintf(err, errlen, "cannot open a terminal for mosh-client: %s",
		    strerror(errno));
		goto fail;
	}
	if (fcntl(a->master, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(a->master, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(a->slave, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot set up mosh-client's terminal: %s", strerror(errno));
		goto fail;
	}
	if (attach_socket_path(session_id, getpid(), a->path, sizeof a->path, err, errlen) == -1)
		goto fail;
	{
		char dir[sizeof a->path];

		if (attach_dir(dir, sizeof dir, err, errlen) == 0)
			remove_stale(dir);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, a->path, strlen(a->path) + 1);
	/* A socket left by a dead supervisor of the same id and pid is stale. */
	unlink(a->path);
	if ((a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "cannot create the attach socket: %s", strerror(errno));
		goto fail;
	}
	old = umask(077);
	if (bind(a->listen_fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(a->listen_fd, 4) == -1) {
		umask(old);
		snprintf(err, errlen, "cannot listen on %s: %s", a->path, strerror(errno));
		a->path[0] = '\0';
		goto fail;
	}
	umask(old);
	ev_io_init(&a->listen_r, listen_cb, a->listen_fd, EV_READ);
	ev_io_init(&a->master_r, master_read_cb, a->master, EV_READ);
	ev_io_init(&a->master_w, master_write_cb, a->master, EV_WRITE);
	a->listen_r.data = a->master_r.data = a->master_w.data = a;
	return a;
fail:
	attach_free(a);
	return NULL;
}

int
attach_child_setup(const struct attach *a)
{
	if (setsid() == -1 || ioctl(a->slave, TIOCSCTTY, 0) == -1)
		return -1;
	if (dup2(a->slave, 0) == -1 || dup2(a->slave, 1) == -1 || dup2(a->slave, 2) == -1)
		return -1;
	return 0;
}

void
attach_start(struct attach *a, pid_t client, int first_fd, int detached)
{
	a->client = client;
	close(a->slave);
	a->slave = -1;
	ev_io_start(a->loop, &a->listen_r);
	if (first_fd >= 0 && detached) {
		uint8_t msg[ATTACHPROTO_HEADER + 8 + ATTACHPROTO_TEXT_MAX];
		size_t n = attachproto_welcome(msg, sizeof msg, a->id, a->host);

		/* A blocking socket pair whose reader waits for exactly this. */
		if (write(first_fd, msg, n) != (ssize_t)n)
			log_debug("attach: could not say the session is up: %s", strerror(errno));
		close(first_fd);
		term_update(a);
	} else if (first_fd >= 0) {
		if (fcntl(first_fd, F_SETFL, O_NONBLOCK) == -1)
			log_debug("attach: O_NONBLOCK: %s", strerror(errno));
		term_take(a, first_fd);
	} else
		term_update(a);
}

/* What mosh-client wrote and the loop has not read yet, queued for the terminal. */
static void
pty_drain(struct attach *a)
{
	uint8_t buf[ATTACHPROTO_MSG_MAX];
	ssize_t n;

	while (!a->client_gone &&
	    (n = read(a->master, buf + ATTACHPROTO_HEADER, ATTACHPROTO_DATA_MAX)) > 0) {
		if (a->term != -1 && a->greeted) {
			attachproto_data(buf, sizeof buf, buf + ATTACHPROTO_HEADER, (size_t)n);
			buf_add(&a->out, buf, ATTACHPROTO_HEADER + (size_t)n);
		}
	}
}

void
attach_client_stopped(struct attach *a)
{
	if (a->suspend_key_at == 0 || clock_mono_ms() - a->suspend_key_at > ATTACH_SUSPEND_KEY_MS) {
		/* Not the user's suspend: whoever stopped mosh-client continues it. */
		log_debug("attach: mosh-client stopped, not by Ctrl-^ Ctrl-Z: left as it is");
		return;
	}
	a->suspend_key_at = 0;
	pty_drain(a);
	if (a->term != -1 && a->greeted) {
		uint8_t msg[ATTACHPROTO_HEADER + ATTACHPROTO_TEXT_MAX];

		buf_add(&a->out, msg,
		    attachproto_detached(msg, sizeof msg,
		        "mosh-client was "
		        "suspended (Ctrl-^ Ctrl-Z)"));
		(void)buf_flush(&a->out, a->term);
		term_close(a, "suspended with Ctrl-^ Ctrl-Z");
	}
	if (!a->client_gone && a->client > 0)
		kill(a->client, SIGCONT);
}

/* Hands EXIT to the terminal now, waiting up to 2 s for a slow one: the supervisor is
 * about to leave its loop. */
static void
term_send_exit(struct attach *a, int status, const char *text)
{
	uint8_t buf[ATTACHPROTO_HEADER + 1 + ATTACHPROTO_TEXT_MAX];
	struct timeval tv = { 2, 0 };
	int fl;

	buf_add(&a->out, buf,
	    attachproto_exit(buf, sizeof buf, status < 0 || status > 255 ? 255 : status, text));
	if ((fl = fcntl(a->term, F_GETFL)) != -1)
		fcntl(a->term, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(a->term, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (buf_flush(&a->out, a->term) == -1)
		log_debug("attach: the terminal did not take the session's end");
}

void
attach_client_exited(struct attach *a, int status)
{
	/* mosh-client's last words (it restores the terminal as it leaves) go first. */
	pty_drain(a);
	a->client_gone = 1;
	ev_io_stop(a->loop, &a->master_r);
	ev_io_stop(a->loop, &a->master_w);
	if (a->term == -1)
		return;
	if (a->greeted)
		a->changed(a->arg, 0, "the session ended");
	a->greeted = 0;
	ev_io_stop(a->loop, &a->term_r);
	ev_io_stop(a->loop, &a->term_w);
	term_send_exit(a, status, NULL);
}

int
attach_say(struct attach *a, int status, const char *line)
{
	if (a == NULL || a->term == -1 || !a->client_gone)
		return 0;
	term_send_exit(a, status, line);
	return 1;
}

void
attach_free(struct attach *a)
{
	if (a == NULL)
		return;
	if (a->loop != NULL) {
		ev_io_stop(a->loop, &a->listen_r);
		ev_io_stop(a->loop, &a->master_r);
		ev_io_stop(a->loop, &a->master_w);
	}
	if (a->term != -1) {
		if (a->loop != NULL) {
			ev_io_stop(a->loop, &a->term_r);
			ev_io_stop(a->loop, &a->term_w);
		}
		close(a->term);
	}
	if (a->listen_fd != -1)
		close(a->listen_fd);
	if (a->path[0] != '\0')
		unlink(a->path);
	if (a->master != -1)
		close(a->master);
	if (a->slave != -1)
		close(a->slave);
	free(a->kbd.p);
	free(a->out.p);
	free(a);
}
