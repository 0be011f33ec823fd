/* SPDX-License-Identifier: MIT */
#include "src/link/cmdpath.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/link/frame.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/shquote.h"
#include "src/link/tunnel.h"
#include "src/util/xmalloc.h"

/* A command that ran this long before exiting starts again from the shortest delay. */
#define CMDPATH_STABLE_MS 10000
/* The command's output is kept a line at a time: this many raw bytes of the current line
 * (the rest of a longer one is dropped), shown as at most CMDPATH_SHOW_MAX - 1 printable
 * characters.  Nothing else of it is kept, however much it prints. */
#define CMDPATH_LINE_MAX 1024
#define CMDPATH_SHOW_MAX 160
/* Read at most this much per wake-up, so a command that floods its output cannot keep
 * the loop from the session's other watchers. */
#define CMDPATH_READ_BURST (64 * 1024)
/* A command asked to stop (SIGTERM) has this long before SIGKILL. */
#define CP_STOP_GRACE_MS 2000
#define CP_STOP_STEP_MS 20

struct cmdpath {
	struct ev_loop *loop;
	char *command;
	char name[32]; /* the command's first word, for the log */
	cmdpath_event_cb cb;
	void *arg;
	pid_t pid;
	int attempt;
	int64_t started_ms; /* clock_mono_ms() at the spawn */
	ev_child child;
	ev_timer restart;
	ev_timer kill_w; /* a requested restart: SIGKILL if SIGTERM was not enough */
	int restart_now; /* the child was stopped on request: start it again at once */

	/* The child's stdout and stderr (one pipe), read on the loop; fd -1 when closed. */
	ev_io out;
	pid_t outpid; /* the child the pipe belongs to */
	char line[CMDPATH_LINE_MAX];
	size_t linelen;
	int skipping;                /* dropping the rest of an overlong line */
	char last[CMDPATH_SHOW_MAX]; /* the last non-empty line, printable */
};

int
cmdpath_expand(const char *tmpl, const struct cmdpath_vars *v, char **out, char *err, size_t errsz)
{
	char *buf = NULL, *q, num[16];
	const char *p = tmpl, *open, *close, *val;
	size_t len = 0, n, cap = 0;

	*out = NULL;
	for (;;) {
		open = strstr(p, "{{");
		n = open != NULL ? (size_t)(open - p) : strlen(p);
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + len, p, n);
		len += n;
		buf[len] = '\0';
		if (open == NULL)
			break;
		if ((close = strstr(open + 2, "}}")) == NULL) {
			snprintf(err, errsz, "unterminated '{{' in the tunnel command");
			free(buf);
			return -1;
		}
		n = (size_t)(close - open - 2);
		val = NULL;
#define IS(name) (n == strlen(name) && strncmp(open + 2, name, n) == 0)
		if (IS("host"))
			val = v->host != NULL ? v->host : "";
		else if (IS("user"))
			val = v->user != NULL ? v->user : "";
		else if (IS("port") || IS("mosh_port") || IS("local_port")) {
			snprintf(num, sizeof num, "%d",
			    IS("port")            ? v->port
			        : IS("mosh_port") ? v->mosh_port
			                          : v->local_port);
			val = num;
		}
#undef IS
		if (val == NULL) {
			snprintf(err, errsz, "unknown placeholder '{{%.*s}}' in the tunnel command",
			    (int)(n > 32 ? 32 : n), open + 2);
			free(buf);
			return -1;
		}
		q = shquote(val);
		n = strlen(q);
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + len, q, n + 1);
		len += n;
		free(q);
		p = close + 2;
	}
	*out = buf;
	return 0;
}

static void cp_say(struct cmdpath *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cp_say(struct cmdpath *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_debug("cmdpath: %s", buf);
	if (c->cb != NULL)
		c->cb(buf, c->arg);
}

/* ---- the command's output ----------------------------------------------------------- */

/* One line of output (or the start of an overlong one, cut set): into the log, and kept
 * as the last line if it shows anything.  The output is the command's, so hostile: only
 * frame_excerpt's printable rendering goes anywhere. */
static void
cp_line_done(struct cmdpath *c, int cut)
{
	char shown[CMDPATH_SHOW_MAX];
	size_t n;

	frame_excerpt(c->line, c->linelen, shown, sizeof shown);
	c->linelen = 0;
	n = strlen(shown);
	if (cut && n > 0 && (n < 3 || strcmp(shown + n - 3, "...") != 0)) {
		if (n + 4 > sizeof shown)
			n = sizeof shown - 4;
		memcpy(shown + n, "...", 4);
	}
	if (*shown == '\0')
		return;
	log_debug("cmdpath: %s[%ld]: %s", c->name, (long)c->outpid, shown);
	memcpy(c->last, shown, sizeof c->last);
}

static void
cp_out_feed(struct cmdpath *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* \r ends a line too: progress meters redraw one line with it. */
		if (p[i] == '\n' || p[i] == '\r') {
			if (c->linelen > 0)
				cp_line_done(c, 0);
			c->skipping = 0;
		} else if (c->skipping)
			continue;
		else if (c->linelen < sizeof c->line)
			c->line[c->linelen++] = p[i];
		else {
			/* Too long: show its start, drop the rest up to its end. */
			cp_line_done(c, 1);
			c->skipping = 1;
		}
	}
}

static void
cp_out_close(struct cmdpath *c)
{
	if (c->out.fd == -1)
		return;
	ev_io_stop(c->loop, &c->out);
	close(c->out.fd);
	ev_io_set(&c->out, -1, EV_READ);
	if (c->linelen > 0)
		cp_line_done(c, 0);
	c->skipping = 0;
}

/* Reads what is there, at most limit bytes; closes the pipe at its end.  Never blocks:
 * the pipe is non-blocking. */
static void
cp_out_drain(struct cmdpath *c, size_t limit)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	while (c->out.fd != -1 && got < limit) {
		n = read(c->out.fd, buf, sizeof buf);
		if (n > 0) {
			cp_out_feed(c, buf, (size_t)n);
			got += (size_t)n;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		else
			cp_out_close(c);
	}
}

static void
cp_out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	cp_out_drain(w->data, CMDPATH_READ_BURST);
}

/* ---- the child ---------------------------------------------------------------------- */

static void cp_spawn(struct cmdpath *);

static void
cp_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cmdpath *c = w->data;
	char how[64], last[CMDPATH_SHOW_MAX + 2];
	int ms, st = w->rstatus;
	int64_t ran;

	ev_child_stop(loop, w);
	ev_timer_stop(loop, &c->kill_w);
	c->pid = 0;
	/* What it wrote before it exited is in the pipe now (at most the pipe's size); read
	 * it so its last words make the event.  Then stop listening: whatever it left
	 * running in the background is not heard any more. */
	cp_out_drain(c, 4 * CMDPATH_READ_BURST);
	cp_out_close(c);
	ran = clock_mono_ms() - c->started_ms;
	if (ran >= CMDPATH_STABLE_MS)
		c->attempt = 0;
	if (WIFSIGNALED(st))
		snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
	*last = '\0';
	if (*c->last != '\0')
		snprintf(last, sizeof last, ": %s", c->last);
	if (c->restart_now) {
		c->restart_now = 0;
		c->attempt = 0;
		cp_say(c,
		    "tunnel command stopped on request (%s after %.1f s%s); starting it "
		    "again",
		    how, (double)ran / 1000.0, last);
		cp_spawn(c);
		return;
	}
	ms = tunnel_backoff_ms(c->attempt++, (double)random() / ((double)RAND_MAX + 1.0));
	cp_say(c, "tunnel command %s after %.1f s%s; restarting in %.1f s", how,
	    (double)ran / 1000.0, last, ms / 1000.0);
	ev_timer_set(&c->restart, ms / 1000.0, 0.);
	ev_timer_start(loop, &c->restart);
}

static void
cp_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cmdpath *c = w->data;

	if (c->pid > 0) {
		log_debug("cmdpath: command %ld ignored SIGTERM for %d ms; SIGKILL", (long)c->pid,
		    CP_STOP_GRACE_MS);
		kill(-c->pid, SIGKILL);
	}
}

void
cmdpath_restart(struct cmdpath *c)
{
	if (c->pid > 0) {
		/* Already on its way out: one restart is enough. */
		if (c->restart_now)
			return;
		c->restart_now = 1;
		kill(-c->pid, SIGTERM);
		ev_timer_set(&c->kill_w, CP_STOP_GRACE_MS / 1000.0, 0.);
		ev_timer_start(c->loop, &c->kill_w);
		return;
	}
	/* Between runs (a backoff): start now. */
	ev_timer_stop(c->loop, &c->restart);
	c->attempt = 0;
	cp_spawn(c);
}

static void
cp_restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	cp_spawn(w->data);
}

/* In the child: no descriptor of moshman's beyond 0-2 (the database, the ssh socket, the
 * relay's sockets) reaches the command, CLOEXEC or not. */
static void
cp_close_from(int lowfd)
{
	long max;

	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

static void
cp_spawn(struct cmdpath *c)
{
	static const int reset[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGPIPE, SIGTERM, SIGHUP,
		SIGCHLD, SIGUSR1, SIGUSR2 };
	sigset_t all;
	pid_t pid;
	int nul, pfd[2] = { -1, -1 };

	c->started_ms = clock_mono_ms();
	/* Both ends close-on-exec; the child's copies on 1 and 2 (dup2) are not. */
	if (pipe2(pfd, O_CLOEXEC) == -1 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) == -1 ||
	    (pid = fork()) == -1) {
		cp_say(c, "cannot start the tunnel command: %s", strerror(errno));
		if (pfd[0] != -1) {
			close(pfd[0]);
			close(pfd[1]);
		}
		ev_timer_set(&c->restart, 1., 0.);
		ev_timer_start(c->loop, &c->restart);
		return;
	}
	if (pid == 0) {
		/* Its own process group, so ending it ends what it started; no terminal
		 * (mosh-client owns it). */
		setpgid(0, 0);
		for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
			signal(reset[i], SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if ((nul = open("/dev/null", O_RDWR)) == -1 || dup2(nul, 0) == -1 ||
		    dup2(pfd[1], 1) == -1 || dup2(pfd[1], 2) == -1)
			_exit(127);
		cp_close_from(3);
		execl("/bin/sh", "sh", "-c", c->command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	cp_out_close(c);
	c->last[0] = '\0';
	c->outpid = pid;
	ev_io_set(&c->out, pfd[0], EV_READ);
	ev_io_start(c->loop, &c->out);
	c->pid = pid;
	ev_child_init(&c->child, cp_child_cb, pid, 0);
	c->child.data = c;
	ev_child_start(c->loop, &c->child);
	cp_say(c, "tunnel command started (pid %ld)", (long)pid);
}

/* The command's first word without its directory, printable, for the log. */
static void
cp_name(struct cmdpath *c)
{
	const char *p = c->command, *end, *slash;

	p += strspn(p, " \t");
	end = p + strcspn(p, " \t");
	for (slash = p; slash < end; slash++) {
		if (*slash == '/')
			p = slash + 1;
	}
	frame_excerpt(p, (size_t)(end - p), c->name, sizeof c->name);
	if (*c->name == '\0')
		snprintf(c->name, sizeof c->name, "command");
}

struct cmdpath *
cmdpath_new(struct ev_loop *loop, const char *command, cmdpath_event_cb cb, void *arg)
{
	struct cmdpath *c = xcalloc(1, sizeof *c);

	c->loop = loop;
	c->command = xstrdup(command);
	cp_name(c);
	c->cb = cb;
	c->arg = arg;
	ev_timer_init(&c->restart, cp_restart_cb, 1., 0.);
	c->restart.data = c;
	ev_timer_init(&c->kill_w, cp_kill_cb, 1., 0.);
	c->kill_w.data = c;
	ev_io_init(&c->out, cp_out_cb, -1, EV_READ);
	c->out.data = c;
	return c;
}

void
cmdpath_start(struct cmdpath *c)
{
	cp_spawn(c);
}

int
cmdpath_pid(const struct cmdpath *c)
{
	return (int)c->pid;
}

/*
 * End the command's process group: SIGTERM, up to CP_STOP_GRACE_MS for it to go, then
 * SIGKILL, so a command that ignores SIGTERM cannot hang the supervisor on its way out.
 * Runs once, at the end of a session: the short sleeps are not an idle cost.
 */
static void
cp_stop_group(pid_t pid)
{
	struct timespec step = { 0, CP_STOP_STEP_MS * 1000000L };
	int waited;

	kill(-pid, SIGTERM);
	for (waited = 0; waited < CP_STOP_GRACE_MS; waited += CP_STOP_STEP_MS) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			return;
		nanosleep(&step, NULL);
	}
	log_debug("cmdpath: command %ld ignored SIGTERM for %d ms; SIGKILL", (long)pid,
	    CP_STOP_GRACE_MS);
	kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

void
cmdpath_free(struct cmdpath *c)
{
	if (c == NULL)
		return;
	ev_timer_stop(c->loop, &c->restart);
	ev_timer_stop(c->loop, &c->kill_w);
	if (c->pid > 0) {
		ev_child_stop(c->loop, &c->child);
		cp_stop_group(c->pid);
	}
	cp_out_close(c);
	free(c->command);
	free(c);
}
