/* SPDX-License-Identifier: MIT */
/* The dashboard's keys: what each action does (one act_* function each, returning what
 * must be redrawn), and the bindings as data, which the help screen lists. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/session/reconnect.h"
#include "ui/pane.h"
#include "ui/ui.h"

/* Whether a connect opens a new tmux window: asked for with `t`, or --tmux-windows while
 * running inside tmux. */
static int
in_tmux_window(const struct ui *u, int asked)
{
	return asked || (u->tmux_windows && getenv("TMUX") != NULL);
}

/* Connects to the selected session's host (sessions pane) or the selected host. */
static int
connect_selected(struct ui *u, int tmux_asked)
{
	struct model_host *mh = ui_selected_host(u);
	const struct db_session *sess;

	if (u->focus == PANE_SESSIONS && (sess = pane_sessions_selected(u)) != NULL) {
		/* A running session: attach to it (persistent sessions, jobs_attach). */
		if (!tmux_asked && db_session_is_live_state(sess->state) &&
		    strcmp(sess->state, "starting") != 0)
			return jobs_attach(u, sess->id, sess->host_name), REDRAW_ALL;
		jobs_connect(u, sess->host_name, in_tmux_window(u, tmux_asked));
		return REDRAW_ALL;
	}
	if (mh == NULL) {
		ui_status(u, 1, "no host selected: press a to add one");
		return REDRAW_PANES;
	}
	jobs_connect(u, mh->h.name, in_tmux_window(u, tmux_asked));
	return REDRAW_ALL;
}

static int
act_connect(struct ui *u)
{
	return connect_selected(u, 0);
}

static int
act_tmux(struct ui *u)
{
	return connect_selected(u, 1);
}

/* A live session: its link now (the supervisor does it); a finished one: its host. */
static int
act_reconnect(struct ui *u)
{
	const struct db_session *sess;
	char msg[512];
	int bad;

	if (u->focus != PANE_SESSIONS || (sess = pane_sessions_selected(u)) == NULL)
		return act_connect(u);
	if (!db_session_is_live_state(sess->state)) {
		jobs_connect(u, sess->host_name, in_tmux_window(u, 0));
		return REDRAW_ALL;
	}
	bad = reconnect_request(u->m.db, sess->id, msg, sizeof msg);
	ui_status(u, bad, "%s", msg);
	ui_reload(u, 1);
	return REDRAW_PANES;
}

static int
act_add(struct ui *u)
{
	form_run(u, NULL, 0);
	return REDRAW_ALL;
}

/* The form on the selected host: edit it, or a copy as a new host. */
static int
form_selected(struct ui *u, int duplicate)
{
	struct model_host *mh = ui_selected_host(u);

	if (mh == NULL)
		return REDRAW_NONE;
	form_run(u, mh->h.name, duplicate);
	return REDRAW_ALL;
}

static int
act_edit(struct ui *u)
{
	return form_selected(u, 0);
}

static int
act_dup(struct ui *u)
{
	return form_selected(u, 1);
}

static int
act_delete(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);
	char line[128], name[80], *err = NULL;
	const char *lp[1] = { line };

	if (mh == NULL)
		return REDRAW_NONE;
	snprintf(name, sizeof name, "%s", mh->h.name);
	snprintf(line, sizeof line, "%s (%s@%s); its session history is kept.", name, mh->h.user,
	    mh->h.hostname);
	if (!dialog_confirm(u, "Delete host?", lp, 1, "Delete it? (y/n)"))
		return REDRAW_ALL;
	if (model_delete(&u->m, name, &err) == -1) {
		ui_status(u, 1, "%s", err);
		free(err);
	} else
		ui_status(u, 0, "deleted %s", name);
	ui_reload(u, 1);
	return REDRAW_ALL;
}

static int
act_import(struct ui *u)
{
	jobs_self(u, "import ~/.ssh/config", "host", "import", NULL, 0);
	return REDRAW_PANES;
}

static int
act_filter(struct ui *u)
{
	u->filtering = 1;
	u->focus = PANE_HOSTS;
	return REDRAW_PANES;
}

static int
act_clear(struct ui *u)
{
	u->filter[0] = '\0';
	u->filtering = 0;
	ui_apply_filter(u);
	return REDRAW_PANES;
}

static int
act_next_pane(struct ui *u)
{
	u->focus = (u->focus + 1) % PANE_COUNT;
	return REDRAW_ALL;
}

static int
act_pane1(struct ui *u)
{
	u->focus = PANE_HOSTS;
	return REDRAW_ALL;
}

static int
act_pane2(struct ui *u)
{
	u->focus = PANE_SESSIONS;
	return REDRAW_ALL;
}

static int
act_pane3(struct ui *u)
{
	u->focus = PANE_SERVERS;
	return REDRAW_ALL;
}

static int
act_up(struct ui *u)
{
	ui_move_sel(u, -1);
	return REDRAW_PANES;
}

static int
act_down(struct ui *u)
{
	ui_move_sel(u, 1);
	return REDRAW_PANES;
}

static int
act_pgup(struct ui *u)
{
	ui_move_sel(u, -(LINES / 2));
	return REDRAW_PANES;
}

static int
act_pgdn(struct ui *u)
{
	ui_move_sel(u, LINES / 2);
	return REDRAW_PANES;
}

static int
act_home(struct ui *u)
{
	ui_move_sel(u, -(long)pane_rows(u, u->focus));
	return REDRAW_PANES;
}

static int
act_end(struct ui *u)
{
	ui_move_sel(u, (long)pane_rows(u, u->focus));
	return REDRAW_PANES;
}

static int
act_sort(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);

	/* Sorting moves the hosts under the visible indexes: keep the host, not the row. */
	model_set_sort(&u->m, (enum model_sort)((u->m.sort + 1) % MODEL_SORT_COUNT));
	ui_apply_filter_keep(u, mh != NULL ? mh->h.id : 0);
	ui_status(u, 0, "sorted by %s", model_sort_name(u->m.sort));
	return REDRAW_PANES;
}

static int
act_pin(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);
	char *err = NULL;

	if (mh == NULL)
		return REDRAW_NONE;
	if (model_pin(&u->m, mh->h.id, !mh->h.pinned, &err) == -1) {
		ui_status(u, 1, "%s", err);
		free(err);
	}
	ui_reload(u, 1);
	return REDRAW_PANES;
}

static int
act_rescan(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);
	char what[96];

	if (mh == NULL)
		return REDRAW_NONE;
	snprintf(what, sizeof what, "scan %s", mh->h.name);
	jobs_self(u, what, "scan", mh->h.name, NULL, 0);
	return REDRAW_PANES;
}

static int
act_tag(struct ui *u)
{
	if (u->focus != PANE_SERVERS || u->nservers == 0)
		return REDRAW_NONE;
	u->tagged[u->sel[PANE_SERVERS]] ^= 1;
	ui_move_sel(u, 1);
	return REDRAW_PANES;
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
			ui_status(u, 1, "pid %lld is not a target: %s",
			    (long long)last_refused->pid, last_refused->why);
		else
			ui_status(u, 1,
			    "none of those servers is a target (attached, live, "
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
	jobs_self(u, what, "clean", mh->h.name, extra, ne);
	return REDRAW_ALL;
}

static int
act_clean(struct ui *u)
{
	struct model_host *mh = ui_selected_host(u);
	static const char *const extra[] = { "--yes" };
	char line[128], what[96];
	const char *lp[1] = { line };

	if (mh == NULL)
		return REDRAW_NONE;
	snprintf(line, sizeof line, "Kill the orphaned mosh-servers of %s (SIGTERM)?", mh->h.name);
	if (dialog_confirm(u, "Clean orphans", lp, 1, "Clean? (y/n)")) {
		snprintf(what, sizeof what, "clean %s", mh->h.name);
		jobs_self(u, what, "clean", mh->h.name, extra, 1);
	}
	return REDRAW_ALL;
}

static int
act_help(struct ui *u)
{
	u->help = 1;
	return REDRAW_ALL;
}

static int
quit_confirmed(struct ui *u)
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
	snprintf(line, sizeof line, "%d session%s started from this dashboard still run%s.", here,
	    here == 1 ? "" : "s", here == 1 ? "s" : "");
	lp[0] = line;
	return dialog_confirm(u, "Quit moshman?", lp, 1, "They keep running. Quit? (y/n)");
}

static int
act_quit(struct ui *u)
{
	if (quit_confirmed(u))
		u->quit = 1;
	return REDRAW_ALL;
}

static int
act_redraw(struct ui *u)
{
	return REDRAW_ALL;
}

/* A session's events, from the sessions pane. */
static int
act_events(struct ui *u)
{
	const struct db_session *sess;

	if (u->focus == PANE_SESSIONS && (sess = pane_sessions_selected(u)) != NULL)
		return events_view(u, sess->id);
	ui_status(u, 1, "select a session (press 2) to see its events");
	return REDRAW_PANES;
}

static int (*const actions[ACT_COUNT])(struct ui *) = {
	[ACT_CONNECT] = act_connect,
	[ACT_RECONNECT] = act_reconnect,
	[ACT_TMUX] = act_tmux,
	[ACT_ADD] = act_add,
	[ACT_EDIT] = act_edit,
	[ACT_DUP] = act_dup,
	[ACT_DELETE] = act_delete,
	[ACT_IMPORT] = act_import,
	[ACT_FILTER] = act_filter,
	[ACT_CLEAR] = act_clear,
	[ACT_NEXT_PANE] = act_next_pane,
	[ACT_PANE1] = act_pane1,
	[ACT_PANE2] = act_pane2,
	[ACT_PANE3] = act_pane3,
	[ACT_UP] = act_up,
	[ACT_DOWN] = act_down,
	[ACT_PGUP] = act_pgup,
	[ACT_PGDN] = act_pgdn,
	[ACT_HOME] = act_home,
	[ACT_END] = act_end,
	[ACT_SORT] = act_sort,
	[ACT_PIN] = act_pin,
	[ACT_RESCAN] = act_rescan,
	[ACT_TAG] = act_tag,
	[ACT_KILL] = act_kill,
	[ACT_CLEAN] = act_clean,
	[ACT_HELP] = act_help,
	[ACT_QUIT] = act_quit,
	[ACT_REDRAW] = act_redraw,
	[ACT_EVENTS] = act_events,
};

int
ui_act(struct ui *u, enum action act)
{
	if ((unsigned)act >= ACT_COUNT || actions[act] == NULL)
		return REDRAW_NONE;
	return actions[act](u);
}

#define CTRL(c) ((c)&0x1f)

const struct binding ui_bindings[] = {
	{ '\n', ACT_CONNECT, "Enter",
	    "connect to the selected host; on a running session, attach" },
	{ '\r', ACT_CONNECT, NULL, NULL },
	{ KEY_ENTER, ACT_CONNECT, NULL, NULL },
	{ 'r', ACT_RECONNECT, "r", "reconnect: a live session's link now, else the host" },
	{ 't', ACT_TMUX, "t", "connect in a new tmux window (inside tmux)" },
	{ 'v', ACT_EVENTS, "v", "the selected session's events (steps, states, attaches)" },
	{ 'a', ACT_ADD, "a", "add a host" },
	{ 'e', ACT_EDIT, "e", "edit the selected host" },
	{ 'y', ACT_DUP, "y", "duplicate the selected host" },
	{ 'd', ACT_DELETE, "d", "delete the selected host (asks first)" },
	{ 'i', ACT_IMPORT, "i", "import hosts from ~/.ssh/config" },
	{ '/', ACT_FILTER, "/", "filter hosts as you type" },
	{ 27, ACT_CLEAR, "Esc", "clear the filter, close dialogs (never quits)" },
	{ '\t', ACT_NEXT_PANE, "Tab", "next pane" },
	{ '1', ACT_PANE1, "1 2 3", "Hosts, Sessions, Remote servers" },
	{ '2', ACT_PANE2, NULL, NULL },
	{ '3', ACT_PANE3, NULL, NULL },
	{ 'k', ACT_UP, "k Up", "move up" },
	{ KEY_UP, ACT_UP, NULL, NULL },
	{ 'j', ACT_DOWN, "j Down", "move down" },
	{ KEY_DOWN, ACT_DOWN, NULL, NULL },
	{ KEY_PPAGE, ACT_PGUP, "PgUp PgDn", "page up, page down" },
	{ KEY_NPAGE, ACT_PGDN, NULL, NULL },
	{ KEY_HOME, ACT_HOME, "Home End", "first, last" },
	{ KEY_END, ACT_END, NULL, NULL },
	{ 'g', ACT_HOME, NULL, NULL },
	{ 'G', ACT_END, NULL, NULL },
	{ 's', ACT_SORT, "s", "cycle the sort: recent, name, tag" },
	{ 'p', ACT_PIN, "p", "pin or unpin the selected host" },
	{ 'R', ACT_RESCAN, "R F5", "rescan the selected host's mosh-servers" },
	{ KEY_F(5), ACT_RESCAN, NULL, NULL },
	{ ' ', ACT_TAG, "Space", "tag a remote server" },
	{ 'x', ACT_KILL, "x F9", "kill the selected or tagged servers (asks first)" },
	{ KEY_F(9), ACT_KILL, NULL, NULL },
	{ 'X', ACT_CLEAN, "X", "clean the host's orphaned servers (asks first)" },
	{ '?', ACT_HELP, "? F1", "this help" },
	{ KEY_F(1), ACT_HELP, NULL, NULL },
	{ 'q', ACT_QUIT, "q F10", "quit (asks only if sessions started here still run)" },
	{ KEY_F(10), ACT_QUIT, NULL, NULL },
	{ CTRL('l'), ACT_REDRAW, "Ctrl-L", "redraw the screen" },
	{ 0, ACT_NONE, NULL, NULL },
};

enum action
ui_key_action(int key)
{
	for (const struct binding *b = ui_bindings; b->key != 0; b++) {
		if (b->key == key)
			return b->act;
	}
	return ACT_NONE;
}
