/* SPDX-License-Identifier: MIT */
/* The dashboard: the event loop and the selection (what each key does: ui/keys.c). */
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

#include "src/util/clock.h"
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
void
ui_apply_filter_keep(struct ui *u, int64_t keep)
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

void
ui_apply_filter(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);

	ui_apply_filter_keep(u, mh != NULL ? mh->h.id : 0);
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
		ui_apply_filter_keep(u, keep);
		load_servers(u, 1);
	}
	if (u->redraw == REDRAW_NONE)
		u->redraw = REDRAW_PANES;
}

void
ui_move_sel(struct ui *u, long delta)
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
			ui_act(u, ACT_CLEAR);
		} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
			u->filtering = 0;
		} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			if (n > 0)
				u->filter[n - 1] = '\0';
			ui_apply_filter(u);
		} else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof u->filter) {
			u->filter[n] = (char)ch;
			u->filter[n + 1] = '\0';
			u->sel[PANE_HOSTS] = 0;
			ui_apply_filter(u);
		} else if (ch == KEY_UP || ch == KEY_DOWN) {
			ui_act(u, ui_key_action(ch));
		}
		u->redraw = u->redraw > REDRAW_PANES ? u->redraw : REDRAW_PANES;
		return;
	}
	r = ui_act(u, ui_key_action(ch));
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
		fprintf(stderr,
		    "moshman: the dashboard needs a terminal; see 'moshman --help' "
		    "for the commands\n");
		return 1;
	}
	memset(&u, 0, sizeof u);
	u.loop = loop;
	u.db_path = db_path;
	u.self = u.self_buf = self_path();
	u.tmux_windows = opts->tmux_windows;
	u.exit_after_paint = getenv("MOSHMAN_EXIT_AFTER_PAINT") != NULL;
	u.started_at = clock_epoch_ms();
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
	ui_apply_filter(&u);
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
