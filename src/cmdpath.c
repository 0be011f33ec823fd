#include "src/cmdpath.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/log.h"
#include "src/shquote.h"
#include "src/tunnel.h"
#include "src/xmalloc.h"

/* A command that ran this long before exiting starts again from the shortest delay. */
#define CMDPATH_STABLE_MS 10000

struct cmdpath {
	struct ev_loop *loop;
	char *command;
	cmdpath_event_cb cb;
	void *arg;
	pid_t pid;
	int attempt;
	struct timespec started;
	ev_child child;
	ev_timer restart;
};

int
cmdpath_expand(const char *tmpl, const struct cmdpath_vars *v, char **out, char *err,
    size_t errsz)
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
			snprintf(num, sizeof num, "%d", IS("port") ? v->port : IS("mosh_port") ?
			    v->mosh_port : v->local_port);
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

static void
cp_say(struct cmdpath *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cp_say(struct cmdpath *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_debug("cmdpath: %s", buf);
	if (c->cb != NULL)
		c->cb(buf, c->arg);
}

static void cp_spawn(struct cmdpath *);

static void
cp_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cmdpath *c = w->data;
	struct timespec now;
	char how[64];
	int ms, st = w->rstatus;
	long ran;

	ev_child_stop(loop, w);
	c->pid = 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ran = (now.tv_sec - c->started.tv_sec) * 1000 +
	    (now.tv_nsec - c->started.tv_nsec) / 1000000;
	if (ran >= CMDPATH_STABLE_MS)
		c->attempt = 0;
	if (WIFSIGNALED(st))
		snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
	ms = tunnel_backoff_ms(c->attempt++, (double)random() / ((double)RAND_MAX + 1.0));
	cp_say(c, "tunnel command %s after %.1f s; restarting in %.1f s", how,
	    (double)ran / 1000.0, ms / 1000.0);
	ev_timer_set(&c->restart, ms / 1000.0, 0.);
	ev_timer_start(loop, &c->restart);
}

static void
cp_restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	cp_spawn(w->data);
}

static void
cp_spawn(struct cmdpath *c)
{
	static const int reset[] = { SIGINT, SIGQUIT, SIGTSTP, SIGWINCH, SIGPIPE, SIGTERM,
		SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2 };
	sigset_t all;
	pid_t pid;
	int nul;

	clock_gettime(CLOCK_MONOTONIC, &c->started);
	if ((pid = fork()) == -1) {
		cp_say(c, "cannot start the tunnel command: %s", strerror(errno));
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
		if ((nul = open("/dev/null", O_RDWR)) != -1) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execl("/bin/sh", "sh", "-c", c->command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	c->pid = pid;
	ev_child_init(&c->child, cp_child_cb, pid, 0);
	c->child.data = c;
	ev_child_start(c->loop, &c->child);
	cp_say(c, "tunnel command started (pid %ld)", (long)pid);
}

struct cmdpath *
cmdpath_new(struct ev_loop *loop, const char *command, cmdpath_event_cb cb, void *arg)
{
	struct cmdpath *c = xcalloc(1, sizeof *c);

	c->loop = loop;
	c->command = xstrdup(command);
	c->cb = cb;
	c->arg = arg;
	ev_timer_init(&c->restart, cp_restart_cb, 1., 0.);
	c->restart.data = c;
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

void
cmdpath_free(struct cmdpath *c)
{
	if (c == NULL)
		return;
	ev_timer_stop(c->loop, &c->restart);
	if (c->pid > 0) {
		ev_child_stop(c->loop, &c->child);
		kill(-c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
	}
	free(c->command);
	free(c);
}
