/* The dashboard: the event loop, the selection, and what each key does. */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "src/session/reconnect.h"
#include "src/util/xmalloc.h"
#include "ui/dash.h"
#include "ui/pane.h"
#include "ui/ui.h"

static int curses_up;

static void
ui_restore_terminal(void)
{
	if (curses_up && !isendwin())
		endwin();
	curses_up = 0;
}

/* Crashes too must leave a usable terminal. */
static void
ui_crash(int sig)
{
	ui_restore_terminal();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
ui_status(struct ui *u, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->status, sizeof u->status, fmt, ap);
	va_end(ap);
	u->status_error = error;
	if (u->redraw == REDRAW_NONE)
		u->redraw = REDRAW_PANES;
}

struct model_host *
ui_selected_host(struct ui *u)
{
	if (u->nvis == 0 || u->sel[PANE_HOSTS] >= u->nvis)
		return NULL;
	return &u->m.hosts[u->vis[u->sel[PANE_HOSTS]]];
}

size_t
pane_rows(struct ui *u, int pane)
{
	switch (pane) {
	case PANE_HOSTS:
		return u->nvis;
	case PANE_SESSIONS:
		return u->m.nsessions;
	default:
		return u->nservers;
	}
}

void
pane_scroll(struct ui *u, int pane, int rows)
{
	size_t n = pane_rows(u, pane);

	if (rows < 1)
		rows = 1;
	if (u->sel[pane] >= n)
		u->sel[pane] = n ? n - 1 : 0;
	if (u->sel[pane] < u->top[pane])
		u->top[pane] = u->sel[pane];
	if (u->sel[pane] >= u->top[pane] + (size_t)rows)
		u->top[pane] = u->sel[pane] - (size_t)rows + 1;
	if (u->top[pane] + (size_t)rows > n)
		u->top[pane] = n > (size_t)rows ? n - (size_t)rows : 0;
}

/* The selected host's last scan, read again when the selection or data changed. */
static void
load_servers(struct ui *u, int force)
{
	struct model_host *mh = ui_selected_host(u);
	int64_t id = mh ? mh->h.id : 0;

	if (!force && id == u->servers_host)
		return;
	db_scan_servers_free(u->servers, u->nservers);
	db_scan_clear(&u->scan);
	free(u->tagged);
	u->servers = NULL;
	u->tagged = NULL;
	u->nservers = 0;
	u->servers_host = id;
	if (id == 0 || model_scan(&u->m, id, &u->scan, &u->servers, &u->nservers) != DB_OK) {
		u->nservers = 0;
		return;
	}
	u->tagged = xcalloc(u->nservers ? u->nservers : 1, 1);
}

/* Rebuild the visible hosts, keeping host `keep` selected when it is still there.  The
 * id is taken before a reload: after one, the old indexes mean nothing. */
static void
apply_filter_keep(struct ui *u, int64_t keep)
{
	free(u->vis);
	u->vis = xcalloc(u->m.nhosts ? u->m.nhosts : 1, sizeof *u->vis);
	u->nvis = 0;
	for (size_t i = 0; i < u->m.nhosts; i++) {
		if (model_host_matches(&u->m.hosts[i], u->filter))
			u->vis[u->nvis++] = i;
	}
	/* Keep the same host selected across reloads and sorts. */
	for (size_t i = 0; keep != 0 && i < u->nvis; i++) {
		if (u->m.hosts[u->vis[i]].h.id == keep) {
			u->sel[PANE_HOSTS] = i;
			break;
		}
	}
	if (u->sel[PANE_HOSTS] >= u->nvis)
		u->sel[PANE_HOSTS] = u->nvis ? u->nvis - 1 : 0;
	load_servers(u, 0);
}

static void
apply_filter(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);

	apply_filter_keep(u, mh != NULL ? mh->h.id : 0);
}

static void
sample_sparks(struct ui *u)
{
	for (size_t i = 0; i < u->m.nsessions; i++) {
		const struct db_session *s = &u->m.sessions[i];
		struct spark *sp = NULL;

		if (!db_session_is_live_state(s->state))
			continue;
		for (size_t j = 0; j < u->nsparks; j++)
			if (u->sparks[j].session_id == s->id)
				sp = &u->sparks[j];
		if (sp == NULL) {
			u->sparks = xreallocarray(u->sparks, u->nsparks + 1, sizeof *u->sparks);
			sp = &u->sparks[u->nsparks++];
			memset(sp, 0, sizeof *sp);
			sp->session_id = s->id;
		}
		if (sp->n == SPARK_LEN) {
			memmove(sp->v, sp->v + 1, sizeof sp->v[0] * (SPARK_LEN - 1));
			sp->n--;
		}
		sp->v[sp->n++] = s->rtt_ms;
	}
}

void
ui_reload(struct ui *u, int force)
{
	struct model_host *mh = ui_selected_host(u);
	int64_t keep = mh != NULL ? mh->h.id : 0;
	char *err = NULL;
	int rc = model_refresh(&u->m, force, &err);

	if (rc == -1) {
		ui_status(u, 1, "%s", err);
		free(err);
		return;
	}
	if (rc == 1) {
		apply_filter_keep(u, keep);
		load_servers(u, 1);
	}
	if (u->redraw == REDRAW_NONE)
		u->redraw = REDRAW_PANES;
}

static void
move_sel(struct ui *u, long delta)
{
	size_t n = pane_rows(u, u->focus);
	long s = (long)u->sel[u->focus] + delta;

	if (n == 0)
		return;
	if (s < 0)
		s = 0;
	if (s >= (long)n)
		s = (long)n - 1;
	u->sel[u->focus] = (size_t)s;
	if (u->focus == PANE_HOSTS)
		load_servers(u, 0);
}

static void
spawn_self(struct ui *u, const char *what, const char *cmd, const char *host,
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

static int
act_kill(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);
	static const char *const choices[] = { "TERM", "USR1 only if idle", "Cancel" };
	char lines[16][160], what[96];
	const char *extra[40];
	const char *lp[16];
	char pidargs[16][24];
	size_t n = 0, ne = 0, refused = 0;
	const struct db_scan_server *last_refused = NULL;
	int c;

	if (mh == NULL || u->nservers == 0) {
		ui_status(u, 1, "no remote servers listed: press R to scan %s",
		    mh ? mh->h.name : "a host");
		return REDRAW_PANES;
	}
	for (size_t i = 0; i < u->nservers && n < 14; i++) {
		const struct db_scan_server *s = &u->servers[i];
		char age[24];
		int tagged_any = 0;

		for (size_t t = 0; t < u->nservers; t++)
			tagged_any |= u->tagged[t];
		if (tagged_any ? !u->tagged[i] : i != u->sel[PANE_SERVERS])
			continue;
		/* Never a live session: the same rule as `clean`. */
		if (!s->candidate && !s->candidate_detached) {
			refused++;
			last_refused = s;
			continue;
		}
		fmt_duration(s->age_s, age, sizeof age);
		snprintf(lines[n], sizeof lines[n], "pid %lld  port %d  age %s  %s",
		    (long long)s->pid, s->port, age, s->class_);
		lp[n] = lines[n];
		snprintf(pidargs[n], sizeof pidargs[n], "%lld", (long long)s->pid);
		n++;
	}
	if (n == 0) {
		/* Say why, in the classifier's words (e.g. utmp still says attached). */
		if (refused == 1 && last_refused != NULL)
			ui_status(u, 1, "pid %lld is not a target: %s", (long long)last_refused->pid,
			    last_refused->why);
		else
			ui_status(u, 1, "none of those servers is a target (attached, live, "
			    "starting or not proven orphaned)");
		return REDRAW_PANES;
	}
	c = dialog_choose(u, "Kill these mosh-servers?", lp, n, choices, 3);
	if (c < 0 || c == 2) {
		ui_status(u, 0, "nothing killed");
		return REDRAW_ALL;
	}
	extra[ne++] = "--yes";
	extra[ne++] = "--detached";
	extra[ne++] = "--signal";
	extra[ne++] = c == 0 ? "term" : "usr1";
	for (size_t i = 0; i < n; i++) {
		extra[ne++] = "--pid";
		extra[ne++] = pidargs[i];
	}
	snprintf(what, sizeof what, "kill on %s", mh->h.name);
	spawn_self(u, what, "clean", mh->h.name, extra, ne);
	return REDRAW_ALL;
}

static int
confirm_quit(struct ui *u)
{
	int here = 0;
	char line[96];
	const char *lp[1];

	for (size_t i = 0; i < u->m.nsessions; i++) {
		if (db_session_is_live_state(u->m.sessions[i].state) &&
		    u->m.sessions[i].started_at >= u->started_at)
			here++;
	}
	if (here == 0)
		return 1;
	snprintf(line, sizeof line, "%d session%s started from this dashboard still run%s.",
	    here, here == 1 ? "" : "s", here == 1 ? "s" : "");
	lp[0] = line;
	return dialog_confirm(u, "Quit moshman?", lp, 1, "They keep running. Quit? (y/n)");
}

static int
handle_action(struct ui *u, enum action act)
{
	struct model_host *mh = ui_selected_host(u);
	const struct db_session *sess;
	char *err = NULL, what[96];

	switch (act) {
	case ACT_CONNECT:
	case ACT_TMUX:
		/* A running session: attach to it (persistent sessions, jobs_attach). */
		if (act == ACT_CONNECT && u->focus == PANE_SESSIONS &&
		    (sess = pane_sessions_selected(u)) != NULL &&
		    db_session_is_live_state(sess->state) && strcmp(sess->state, "starting") != 0)
			return jobs_attach(u, sess->id, sess->host_name), REDRAW_ALL;
		if (u->focus == PANE_SESSIONS && (sess = pane_sessions_selected(u)) != NULL)
			return jobs_connect(u, sess->host_name, act == ACT_TMUX || u->tmux_windows),
			       REDRAW_ALL;
		if (mh == NULL) {
			ui_status(u, 1, "no host selected: press a to add one");
			return REDRAW_PANES;
		}
		jobs_connect(u, mh->h.name, act == ACT_TMUX || (u->tmux_windows && getenv("TMUX")));
		return REDRAW_ALL;
	case ACT_RECONNECT:
		if (u->focus == PANE_SESSIONS && (sess = pane_sessions_selected(u)) != NULL) {
			if (db_session_is_live_state(sess->state)) {
				char msg[512];
				int bad = reconnect_request(u->m.db, sess->id, msg, sizeof msg);

				ui_status(u, bad, "%s", msg);
				ui_reload(u, 1);
				return REDRAW_PANES;
			}
			jobs_connect(u, sess->host_name, u->tmux_windows && getenv("TMUX"));
			return REDRAW_ALL;
		}
		return handle_action(u, ACT_CONNECT);
	case ACT_ADD:
		form_run(u, NULL, 0);
		return REDRAW_ALL;
	case ACT_EDIT:
	case ACT_DUP:
		if (mh == NULL)
			return REDRAW_NONE;
		form_run(u, mh->h.name, act == ACT_DUP);
		return REDRAW_ALL;
	case ACT_DELETE:
		if (mh == NULL)
			return REDRAW_NONE;
		{
			char line[128], name[80];
			const char *lp[1] = { line };

			snprintf(name, sizeof name, "%s", mh->h.name);
			snprintf(line, sizeof line, "%s (%s@%s); its session history is kept.", name,
			    mh->h.user, mh->h.hostname);
			if (dialog_confirm(u, "Delete host?", lp, 1, "Delete it? (y/n)")) {
				if (model_delete(&u->m, name, &err) == -1) {
					ui_status(u, 1, "%s", err);
					free(err);
				} else
					ui_status(u, 0, "deleted %s", name);
				ui_reload(u, 1);
			}
		}
		return REDRAW_ALL;
	case ACT_IMPORT:
		spawn_self(u, "import ~/.ssh/config", "host", "import", NULL, 0);
		return REDRAW_PANES;
	case ACT_FILTER:
		u->filtering = 1;
		u->focus = PANE_HOSTS;
		return REDRAW_PANES;
	case ACT_CLEAR:
		u->filter[0] = '\0';
		u->filtering = 0;
		apply_filter(u);
		return REDRAW_PANES;
	case ACT_NEXT_PANE:
		u->focus = (u->focus + 1) % PANE_COUNT;
		return REDRAW_ALL;
	case ACT_PANE1:
	case ACT_PANE2:
	case ACT_PANE3:
		u->focus = (enum pane_id)(act - ACT_PANE1);
		return REDRAW_ALL;
	case ACT_UP:
		move_sel(u, -1);
		return REDRAW_PANES;
	case ACT_DOWN:
		move_sel(u, 1);
		return REDRAW_PANES;
	case ACT_PGUP:
		move_sel(u, -(LINES / 2));
		return REDRAW_PANES;
	case ACT_PGDN:
		move_sel(u, LINES / 2);
		return REDRAW_PANES;
	case ACT_HOME:
		move_sel(u, -(long)pane_rows(u, u->focus));
		return REDRAW_PANES;
	case ACT_END:
		move_sel(u, (long)pane_rows(u, u->focus));
		return REDRAW_PANES;
	case ACT_SORT:
		/* Sorting moves the hosts under the visible indexes: keep the host, not the row. */
		model_set_sort(&u->m, (enum model_sort)((u->m.sort + 1) % MODEL_SORT_COUNT));
		apply_filter_keep(u, mh != NULL ? mh->h.id : 0);
		ui_status(u, 0, "sorted by %s", model_sort_name(u->m.sort));
		return REDRAW_PANES;
	case ACT_PIN:
		if (mh == NULL)
			return REDRAW_NONE;
		if (model_pin(&u->m, mh->h.id, !mh->h.pinned, &err) == -1) {
			ui_status(u, 1, "%s", err);
			free(err);
		}
		ui_reload(u, 1);
		return REDRAW_PANES;
	case ACT_RESCAN:
		if (mh == NULL)
			return REDRAW_NONE;
		snprintf(what, sizeof what, "scan %s", mh->h.name);
		spawn_self(u, what, "scan", mh->h.name, NULL, 0);
		return REDRAW_PANES;
	case ACT_TAG:
		if (u->focus != PANE_SERVERS || u->nservers == 0)
			return REDRAW_NONE;
		u->tagged[u->sel[PANE_SERVERS]] ^= 1;
		move_sel(u, 1);
		return REDRAW_PANES;
	case ACT_KILL:
		return act_kill(u);
	case ACT_CLEAN:
		if (mh == NULL)
			return REDRAW_NONE;
		{
			char line[128];
			const char *lp[1] = { line };

			snprintf(line, sizeof line, "Kill the orphaned mosh-servers of %s (SIGTERM)?",
			    mh->h.name);
			if (dialog_confirm(u, "Clean orphans", lp, 1, "Clean? (y/n)")) {
				const char *extra[] = { "--yes" };

				snprintf(what, sizeof what, "clean %s", mh->h.name);
				spawn_self(u, what, "clean", mh->h.name, extra, 1);
			}
		}
		return REDRAW_ALL;
	case ACT_HELP:
		u->help = 1;
		return REDRAW_ALL;
	case ACT_QUIT:
		if (confirm_quit(u))
			u->quit = 1;
		return REDRAW_ALL;
	case ACT_REDRAW:
		return REDRAW_ALL;
	case ACT_EVENTS:
		if (u->focus == PANE_SESSIONS && (sess = pane_sessions_selected(u)) != NULL)
			return events_view(u, sess->id);
		ui_status(u, 1, "select a session (press 2) to see its events");
		return REDRAW_PANES;
	default:
		return REDRAW_NONE;
	}
}

static void
handle_key(struct ui *u, int ch)
{
	int r;

	if (u->help) {
		if (ch != KEY_RESIZE)
			u->help = 0;
		u->redraw = REDRAW_ALL;
		return;
	}
	if (u->filtering) {
		size_t n = strlen(u->filter);

		if (ch == 27) {
			handle_action(u, ACT_CLEAR);
		} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			u->filtering = 0;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n > 0)
				u->filter[n - 1] = '\0';
			apply_filter(u);
		} else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof u->filter) {
			u->filter[n] = (char)ch;
			u->filter[n + 1] = '\0';
			u->sel[PANE_HOSTS] = 0;
			apply_filter(u);
		} else if (ch == KEY_UP || ch == KEY_DOWN) {
			handle_action(u, ui_key_action(ch));
		}
		u->redraw = u->redraw > REDRAW_PANES ? u->redraw : REDRAW_PANES;
		return;
	}
	r = handle_action(u, ui_key_action(ch));
	if (r > u->redraw)
		u->redraw = r;
}

static void
on_tty(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ui *u = w->data;
	int ch;

	while ((ch = getch()) != ERR) {
		if (ch == KEY_RESIZE) {
			u->redraw = REDRAW_ALL;
			continue;
		}
		handle_key(u, ch);
		if (u->quit) {
			ev_break(loop, EVBREAK_ALL);
			return;
		}
	}
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ui *u = w->data;

	ui_reload(u, 0);
	sample_sparks(u);
	/* Ages and contact times move even when the data does not. */
	if (u->redraw == REDRAW_NONE)
		u->redraw = REDRAW_PANES;
}

static void
on_winch(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ui *u = w->data;
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	u->redraw = REDRAW_ALL;
}

static void
on_quit_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Paint once per loop iteration, after every watcher has run. */
static void
on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct ui *u = w->data;

	if (u->redraw != REDRAW_NONE) {
		draw_all(u);
		/* For `make bench`: time to first paint, then leave. */
		if (u->exit_after_paint)
			ev_break(loop, EVBREAK_ALL);
	}
}

static char *
self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n <= 0)
		return xstrdup("moshman");
	buf[n] = '\0';
	return xstrdup(buf);
}

int
dash_run(struct db *db, const char *db_path, const struct dash_opts *opts)
{
	struct ui u;
	struct ev_loop *loop = EV_DEFAULT;
	ev_io tty;
	ev_timer tick;
	ev_signal winch, sigs[3];
	ev_prepare prep;
	static const int quit_sigs[3] = { SIGTERM, SIGHUP, SIGINT };
	const char *cs;
	char *err = NULL;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "moshman: the dashboard needs a terminal; see 'moshman --help' "
				"for the commands\n");
		return 1;
	}
	memset(&u, 0, sizeof u);
	u.loop = loop;
	u.db_path = db_path;
	u.self = u.self_buf = self_path();
	u.tmux_windows = opts->tmux_windows;
	u.exit_after_paint = getenv("MOSHMAN_EXIT_AFTER_PAINT") != NULL;
	u.started_at = db_now_ms();
	model_init(&u.m, db);
	cs = nl_langinfo(CODESET);
	u.unicode = !opts->no_unicode && cs != NULL && strcmp(cs, "UTF-8") == 0;
	u.g = u.unicode ? &draw_utf8 : &draw_ascii;
	if (model_refresh(&u.m, 1, &err) == -1) {
		fprintf(stderr, "moshman: %s\n", err);
		free(err);
		return 1;
	}

	/* Before initscr: ncurses then leaves SIGWINCH to us. */
	ev_signal_init(&winch, on_winch, SIGWINCH);
	winch.data = &u;
	ev_signal_start(loop, &winch);
	for (int i = 0; i < 3; i++) {
		ev_signal_init(&sigs[i], on_quit_signal, quit_sigs[i]);
		ev_signal_start(loop, &sigs[i]);
	}
	signal(SIGSEGV, ui_crash);
	signal(SIGABRT, ui_crash);
	signal(SIGBUS, ui_crash);
	fatal_set_hook(ui_restore_terminal);

	initscr();
	curses_up = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	draw_init_colors(&u);
	apply_filter(&u);
	sample_sparks(&u);

	ev_io_init(&tty, on_tty, STDIN_FILENO, EV_READ);
	tty.data = &u;
	ev_io_start(loop, &tty);
	ev_timer_init(&tick, on_tick, 1.0, 1.0);
	tick.data = &u;
	ev_timer_start(loop, &tick);
	ev_prepare_init(&prep, on_prepare);
	prep.data = &u;
	ev_prepare_start(loop, &prep);
	u.redraw = REDRAW_ALL;

	ev_run(loop, 0);

	ui_restore_terminal();
	fatal_set_hook(NULL);
	model_free(&u.m);
	free(u.vis);
	free(u.tagged);
	free(u.sparks);
	db_scan_servers_free(u.servers, u.nservers);
	db_scan_clear(&u.scan);
	free(u.self_buf);
	return 0;
}
