/* SPDX-License-Identifier: MIT */
/* The dashboard's children: `moshman connect` and `moshman attach` in the foreground
 * (the dashboard steps aside until the session ends or is detached with Ctrl-^ d), or
 * connect in a new tmux window; scans and cleans in the background with their last line
 * of output shown in the status line. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/util/xmalloc.h"
#include "ui/ui.h"

struct job {
	struct ui *u;
	char *what;
	ev_child child;
	ev_io out;
	int fd;
	char last[256]; /* the last complete line the child printed */
	char partial[256];
	size_t plen;
};

/* execv wants char *const[]; give it private copies of the strings. */
static char **
argv_copy(const char *const *src)
{
	size_t n = 0;
	char **v;

	while (src[n] != NULL)
		n++;
	v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(src[i]);
	return v;
}

static void
argv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
job_line(struct job *j, const char *line)
{
	if (*line != '\0')
		snprintf(j->last, sizeof j->last, "%s", line);
}

static void
job_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = w->data;
	char buf[1024];
	ssize_t n = read(j->fd, buf, sizeof buf);

	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		ev_io_stop(loop, w);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			j->partial[j->plen] = '\0';
			job_line(j, j->partial);
			j->plen = 0;
		} else if (j->plen + 1 < sizeof j->partial)
			j->partial[j->plen++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
}

static void
job_done(struct ev_loop *loop, ev_child *w, int revents)
{
	struct job *j = w->data;
	int st = w->rstatus;

	ev_child_stop(loop, w);
	/* Drain what is left, then close. */
	job_read(loop, &j->out, EV_READ);
	if (j->plen > 0) {
		j->partial[j->plen] = '\0';
		job_line(j, j->partial);
	}
	ev_io_stop(loop, &j->out);
	close(j->fd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ui_status(j->u, 0, "%s: %s", j->what, j->last[0] ? j->last : "done");
	else
		ui_status(j->u, 1, "%s failed: %s", j->what, j->last[0] ? j->last : "no output");
	j->u->jobs--;
	ui_reload(j->u, 1);
	free(j->what);
	free(j);
}

static int
jobs_background(struct ui *u, const char *what, const char *const cargv[])
{
	char **argv = argv_copy(cargv);
	int p[2];
	pid_t pid;
	struct job *j;

	if (pipe2(p, O_CLOEXEC) == -1) {
		ui_status(u, 1, "%s: cannot start: %s", what, strerror(errno));
		argv_free(argv);
		return -1;
	}
	if ((pid = fork()) == -1) {
		ui_status(u, 1, "%s: cannot start: %s", what, strerror(errno));
		close(p[0]);
		close(p[1]);
		argv_free(argv);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(u->self, argv);
		_exit(127);
	}
	close(p[1]);
	argv_free(argv);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	j = xcalloc(1, sizeof *j);
	j->u = u;
	j->what = xstrdup(what);
	j->fd = p[0];
	ev_io_init(&j->out, job_read, p[0], EV_READ);
	j->out.data = j;
	ev_io_start(u->loop, &j->out);
	ev_child_init(&j->child, job_done, pid, 0);
	j->child.data = j;
	ev_child_start(u->loop, &j->child);
	u->jobs++;
	ui_status(u, 0, "%s...", what);
	return 0;
}

/* Runs `moshman --db DB CMD [HOST] [EXTRA...]` in the background. */
void
jobs_self(struct ui *u, const char *what, const char *cmd, const char *host,
    const char *const *extra, size_t nextra)
{
	const char *argv[32];
	int n = 0;

	argv[n++] = u->self;
	argv[n++] = "--db";
	argv[n++] = u->db_path;
	argv[n++] = cmd;
	if (host != NULL)
		argv[n++] = host;
	for (size_t i = 0; i < nextra && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	jobs_background(u, what, argv);
}

/* Runs moshman with cargv in this terminal, curses put aside, until it ends (the session
 * ended, or was detached).  The child's exit status, -1 if it could not run. */
static int
jobs_foreground(struct ui *u, const char *const cargv[], const char *banner)
{
	char **argv = argv_copy(cargv);
	struct sigaction ign, old_int, old_quit;
	pid_t pid;
	int st = 0;

	def_prog_mode();
	endwin();
	printf("moshman: %s\n", banner);
	fflush(stdout);
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	if ((pid = fork()) == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		execv(u->self, argv);
		fprintf(stderr, "moshman: cannot run %s: %s\n", u->self, strerror(errno));
		_exit(127);
	}
	if (pid > 0) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	argv_free(argv);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (pid == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		dialog_wait_key("moshman: the session ended with an error (see above); press "
		                "Enter to return to the dashboard ");
	reset_prog_mode();
	u->redraw = REDRAW_ALL;
	ui_reload(u, 1);
	return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* After a foreground session: did it end, or is it still running (detached)? */
static void
jobs_after(struct ui *u, int rc, int64_t id, const char *host)
{
	struct db_session s;

	memset(&s, 0, sizeof s);
	if (rc != 0) {
		ui_status(u, 1, "%s: the session ended with status %d", host, rc);
		return;
	}
	if (id > 0 && db_session_get(u->m.db, id, &s) == DB_OK && db_session_is_live_state(s.state))
		ui_status(u, 0,
		    "session %lld to %s detached; it keeps running (Enter on it "
		    "attaches)",
		    (long long)id, host);
	else
		ui_status(u, 0, "session to %s ended", host);
	db_session_clear(&s);
}

/* The newest session of host, 0 if none. */
static int64_t
jobs_newest(struct ui *u, const char *host)
{
	struct db_session *v = NULL;
	size_t n = 0;
	int64_t id = 0;

	if (db_session_list(u->m.db, 1, &v, &n) != DB_OK)
		return 0;
	for (size_t i = 0; i < n && id == 0; i++) {
		if (strcmp(v[i].host_name, host) == 0)
			id = v[i].id;
	}
	db_session_list_free(v, n);
	return id;
}

/* Enter on a running session: attach this terminal to it. */
int
jobs_attach(struct ui *u, int64_t id, const char *host)
{
	const char *cargv[8];
	char ids[24], banner[512], name[256];
	int n = 0;

	/* host may point into the model, which the reload after the run replaces. */
	snprintf(name, sizeof name, "%s", host);
	host = name;
	snprintf(ids, sizeof ids, "%lld", (long long)id);
	cargv[n++] = u->self;
	cargv[n++] = "--db";
	cargv[n++] = u->db_path;
	cargv[n++] = "attach";
	cargv[n++] = ids;
	cargv[n] = NULL;
	snprintf(banner, sizeof banner,
	    "attaching to session %lld (%s); Ctrl-^ d returns to "
	    "the dashboard, the session keeps running",
	    (long long)id, host);
	jobs_after(u, jobs_foreground(u, cargv, banner), id, host);
	return 0;
}

/* Enter: run the session in this terminal exactly as `moshman connect` does. */
int
jobs_connect(struct ui *u, const char *host, int in_tmux)
{
	const char *cargv[8];
	char banner[512], name[256];
	pid_t pid;
	int st = 0, n = 0;

	/* host may point into the model, which the reload after the run replaces. */
	snprintf(name, sizeof name, "%s", host);
	host = name;

	if (in_tmux) {
		const char *ccmd[12];
		char **cmd;
		int c = 0;

		if (getenv("TMUX") == NULL) {
			ui_status(u, 1, "not inside tmux: press Enter to connect here");
			return -1;
		}
		ccmd[c++] = "tmux";
		ccmd[c++] = "new-window";
		ccmd[c++] = "-n";
		ccmd[c++] = host;
		ccmd[c++] = "--";
		ccmd[c++] = u->self;
		ccmd[c++] = "--db";
		ccmd[c++] = u->db_path;
		ccmd[c++] = "connect";
		ccmd[c++] = host;
		ccmd[c] = NULL;
		cmd = argv_copy(ccmd);
		if ((pid = fork()) == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execvp("tmux", cmd);
			_exit(127);
		}
		argv_free(cmd);
		if (pid == -1 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			ui_status(u, 1, "tmux new-window failed for %s", host);
			return -1;
		}
		ui_status(u, 0, "%s: opened in a new tmux window", host);
		return 0;
	}

	cargv[n++] = u->self;
	cargv[n++] = "--db";
	cargv[n++] = u->db_path;
	cargv[n++] = "connect";
	cargv[n++] = host;
	cargv[n] = NULL;
	snprintf(banner, sizeof banner,
	    "connecting to %s (Ctrl-^ d returns to the dashboard, "
	    "the session keeps running)",
	    host);
	st = jobs_foreground(u, cargv, banner);
	if (st != 0)
		ui_status(u, 1, "connect %s failed (exit %d)", host, st);
	else
		jobs_after(u, st, jobs_newest(u, host), host);
	return 0;
}
