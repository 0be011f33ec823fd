/* SPDX-License-Identifier: MIT */
#include "src/session/attachclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "src/session/attach.h"
#include "src/session/attachkey.h"
#include "src/util/clock.h"

/* After mosh-client's end, how long to wait for the supervisor to finish closing the
 * session (its row, the server) before returning anyway. */
#define ATTACHCLIENT_END_WAIT_MS 10000

/* Terminal modes mosh-client may have left on, switched off when it is not there to do
 * it (detach, takeover): cursor keys, attributes, cursor, mouse, bracketed paste, then
 * out of the alternate screen. */
static const char reset_seq[] = "\033[?1l\033>\033[0m\033[?25h\033[?1000l\033[?1002l"
                                "\033[?1003l\033[?1005l\033[?1006l\033[?1015l\033[?2004l"
                                "\033[?1049l\r\n";

/* Signals reach the loop through a pipe (a handler can only write). */
static int sig_pipe[2] = { -1, -1 };

static void
sig_handler(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

int
attachclient_detach_key(unsigned char *key, char *err, size_t errlen)
{
	const char *spec = getenv(ATTACHKEY_ENV);

	*key = ATTACHKEY_DEFAULT;
	if (spec == NULL || *spec == '\0')
		return 0;
	if (attachkey_parse(spec, key, err, errlen) == -1) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (from %s)", ATTACHKEY_ENV);
		return -1;
	}
	return 0;
}

int
attachclient_connect(int64_t id, int64_t supervisor_pid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (attach_socket_path(id, supervisor_pid, sun.sun_path, sizeof sun.sun_path, err,
	        errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, errlen,
			    "session %lld has no attach socket (%s): its "
			    "supervisor is gone or it was started by an older moshman",
			    (long long)id, strerror(e));
		else
			snprintf(err, errlen, "cannot attach to session %lld: %s", (long long)id,
			    strerror(e));
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row > ATTACHPROTO_DIM_MAX ? ATTACHPROTO_DIM_MAX : ws.ws_row;
		*cols = ws.ws_col > ATTACHPROTO_DIM_MAX ? ATTACHPROTO_DIM_MAX : ws.ws_col;
	}
}

typedef int (*handle_fn)(struct attachclient *, const struct attachproto_msg *);

/* Every whole message already read goes to handle() until it says stop.  Returns what
 * handle() returned last (0: go on), or -1 on a broken message (err set). */
static int
handle_buffered(struct attachclient *c, handle_fn handle, char *err, size_t errlen)
{
	struct attachproto_msg m;
	size_t at = 0;
	long used = 0;
	int rc = 0;

	while (rc == 0 &&
	    (used = attachproto_parse(ATTACHPROTO_FROM_SUPERVISOR, c->in + at, c->inlen - at, &m,
	         err, errlen)) > 0) {
		at += (size_t)used;
		rc = handle(c, &m);
	}
	memmove(c->in, c->in + at, c->inlen - at);
	c->inlen -= at;
	return rc == 0 && used == -1 ? -1 : rc;
}

/* One read from the supervisor, then handle_buffered().  -1 also on EOF. */
static int
read_messages(struct attachclient *c, handle_fn handle, char *err, size_t errlen)
{
	ssize_t n;

	n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		snprintf(err, errlen, "the session's supervisor closed the connection");
		return -1;
	}
	c->inlen += (size_t)n;
	return handle_buffered(c, handle, err, errlen);
}

static int
hello_handle(struct attachclient *c, const struct attachproto_msg *m)
{
	if (m->type != ATTACHPROTO_WELCOME)
		return -1;
	c->session_id = m->session_id;
	snprintf(c->host, sizeof c->host, "%s", m->text);
	return 1;
}

int
attachclient_hello(struct attachclient *c, char *err, size_t errlen)
{
	uint8_t msg[16];
	int rows, cols, rc;

	c->inlen = 0;
	c->end = ATTACHCLIENT_LOST;
	term_size(&rows, &cols);
	if (write_all(c->fd, msg, attachproto_hello(msg, sizeof msg, rows, cols)) == -1) {
		snprintf(err, errlen, "the session's supervisor closed the connection");
		return -1;
	}
	/* Blocking: nothing else to do until the supervisor answers or goes. */
	while ((rc = read_messages(c, hello_handle, err, errlen)) == 0)
		;
	if (rc == -1) {
		if (err[0] == '\0')
			snprintf(err, errlen, "the supervisor did not welcome this terminal");
		return -1;
	}
	return 0;
}

/* ---- the attached loop -------------------------------------------------------------------- */

static int
run_handle(struct attachclient *c, const struct attachproto_msg *m)
{
	switch (m->type) {
	case ATTACHPROTO_DATA:
		if (write_all(STDOUT_FILENO, m->data, m->len) == -1)
			return 2; /* the screen is gone */
		return 0;
	case ATTACHPROTO_DETACHED:
		c->end = ATTACHCLIENT_DETACHED;
		snprintf(c->text, sizeof c->text, "%s", m->text);
		return 1;
	case ATTACHPROTO_TAKEOVER:
		c->end = ATTACHCLIENT_TAKEN_OVER;
		snprintf(c->text, sizeof c->text, "%s", m->text);
		return 1;
	case ATTACHPROTO_EXIT:
		c->end = ATTACHCLIENT_EXITED;
		c->status = m->status;
		snprintf(c->text, sizeof c->text, "%s", m->text);
		return 1;
	default:
		return 0;
	}
}

/* After EXIT the session's last word may follow (a second EXIT: why it ended, when that
 * is worth a line); keep its text. */
static int
end_handle(struct attachclient *c, const struct attachproto_msg *m)
{
	if (m->type == ATTACHPROTO_EXIT) {
		c->status = m->status;
		snprintf(c->text, sizeof c->text, "%s", m->text);
	}
	return 0;
}

/* After EXIT: the supervisor closes the socket once the session's row is closed and
 * its server ended; wait for that (bounded) so the command returns on a finished
 * session. */
static void
wait_close(struct attachclient *c)
{
	int64_t until = clock_mono_ms() + ATTACHCLIENT_END_WAIT_MS;
	struct pollfd p = { c->fd, POLLIN, 0 };
	char err[128];

	for (;;) {
		int64_t left = until - clock_mono_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return;
		if (read_messages(c, end_handle, err, sizeof err) == -1)
			return;
	}
}

enum attachclient_end
attachclient_run(struct attachclient *c)
{
	static const int sigs[] = { SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCONT };
	struct sigaction sa, old[sizeof sigs / sizeof sigs[0]];
	struct termios saved, raw;
	struct attachkey k;
	uint8_t msg[ATTACHPROTO_MSG_MAX];
	unsigned char kbd[4096], out[sizeof kbd + 1];
	char err[256];
	int have_tty, done = 0, rows, cols, rc;

	c->end = ATTACHCLIENT_LOST;
	attachkey_init(&k, c->detach_key);
	if (sig_pipe[0] == -1 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return c->end;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, &old[i]);
	have_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (have_tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
	}
	/* The size may have changed while the supervisor was connecting. */
	term_size(&rows, &cols);
	if (write_all(c->fd, msg, attachproto_resize(msg, sizeof msg, rows, cols)) == -1)
		done = 1;

	/* What came with the WELCOME: the screen drawn again. */
	if (!done && (rc = handle_buffered(c, run_handle, err, sizeof err)) != 0) {
		c->end = rc == 2 ? ATTACHCLIENT_HUNGUP : c->end;
		done = 1;
	}
	while (!done) {
		struct pollfd p[3] = {
			{ STDIN_FILENO, POLLIN, 0 },
			{ c->fd, POLLIN, 0 },
			{ sig_pipe[0], POLLIN, 0 },
		};

		if (poll(p, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents & POLLIN) {
			unsigned char sig;

			while (read(sig_pipe[0], &sig, 1) == 1) {
				if (sig == SIGWINCH) {
					term_size(&rows, &cols);
					if (write_all(c->fd, msg,
					        attachproto_resize(msg, sizeof msg, rows, cols)) ==
					    -1)
						done = 1;
				} else if (sig == SIGCONT) {
					if (have_tty)
						tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
				} else if (sig == SIGHUP) {
					c->end = ATTACHCLIENT_HUNGUP;
					done = 1;
				} else {
					/* Asked to stop: leave the session running. */
					(void)write_all(c->fd, msg,
					    attachproto_detach(msg, sizeof msg));
					c->end = ATTACHCLIENT_DETACHED;
					done = 1;
				}
			}
		}
		if (!done && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			rc = read_messages(c, run_handle, err, sizeof err);
			if (rc == -1) {
				c->end = ATTACHCLIENT_LOST;
				snprintf(c->text, sizeof c->text, "%.200s", err);
				done = 1;
			} else if (rc == 2) {
				c->end = ATTACHCLIENT_HUNGUP;
				done = 1;
			} else if (rc == 1)
				done = 1;
		}
		if (!done && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, kbd, sizeof kbd);
			size_t used, o;
			int detach;

			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				c->end = ATTACHCLIENT_HUNGUP;
				break;
			}
			o = attachkey_feed(&k, kbd, (size_t)n, out, &used, &detach);
			if (o > 0 &&
			    write_all(c->fd, msg, attachproto_data(msg, sizeof msg, out, o)) ==
			        -1) {
				c->end = ATTACHCLIENT_LOST;
				break;
			}
			if (detach) {
				(void)write_all(c->fd, msg, attachproto_detach(msg, sizeof msg));
				c->end = ATTACHCLIENT_DETACHED;
				break;
			}
		}
	}
	/* mosh-client restores the screen as it leaves, unless it was killed. */
	if (c->end == ATTACHCLIENT_DETACHED || c->end == ATTACHCLIENT_TAKEN_OVER ||
	    c->end == ATTACHCLIENT_LOST || (c->end == ATTACHCLIENT_EXITED && c->status >= 128))
		(void)write_all(STDOUT_FILENO, reset_seq, sizeof reset_seq - 1);
	if (have_tty && c->end != ATTACHCLIENT_HUNGUP)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (c->end == ATTACHCLIENT_EXITED) {
		c->text[0] = '\0';
		wait_close(c);
	}
	return c->end;
}

int
attachclient_report(const struct attachclient *c)
{
	switch (c->end) {
	case ATTACHCLIENT_DETACHED:
		fprintf(stderr,
		    "moshman: detached from session %lld (%s)%s%s; it keeps running: "
		    "moshman attach %lld\n",
		    (long long)c->session_id, c->host, c->text[0] ? ": " : "", c->text,
		    (long long)c->session_id);
		return 0;
	case ATTACHCLIENT_TAKEN_OVER:
		fprintf(stderr,
		    "moshman: session %lld (%s) was attached from another terminal, "
		    "so this one let go; it keeps running there (moshman attach %lld takes it "
		    "back)\n",
		    (long long)c->session_id, c->host, (long long)c->session_id);
		return 0;
	case ATTACHCLIENT_EXITED:
		if (c->text[0] != '\0')
			fprintf(stderr, "moshman: %s\n", c->text);
		return c->status;
	case ATTACHCLIENT_HUNGUP:
		return 0;
	case ATTACHCLIENT_LOST:
		break;
	}
	fprintf(stderr,
	    "moshman: lost session %lld (%s): %s; see moshman sessions and "
	    "moshman events %lld\n",
	    (long long)c->session_id, c->host, c->text[0] ? c->text : "the supervisor went away",
	    (long long)c->session_id);
	return 1;
}
