/* SPDX-License-Identifier: MIT */
/* The dashboard's shared state and the pieces that draw it. */
#ifndef MOSHMAN_UI_H
#define MOSHMAN_UI_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "src/util/fmt.h"
#include "src/cmd/model.h"

enum pane_id {
	PANE_HOSTS,
	PANE_SESSIONS,
	PANE_SERVERS,
	PANE_COUNT
};

enum action {
	ACT_NONE,
	ACT_CONNECT,
	ACT_RECONNECT,
	ACT_TMUX,
	ACT_ADD,
	ACT_EDIT,
	ACT_DUP,
	ACT_DELETE,
	ACT_IMPORT,
	ACT_FILTER,
	ACT_CLEAR,
	ACT_NEXT_PANE,
	ACT_PANE1,
	ACT_PANE2,
	ACT_PANE3,
	ACT_UP,
	ACT_DOWN,
	ACT_PGUP,
	ACT_PGDN,
	ACT_HOME,
	ACT_END,
	ACT_SORT,
	ACT_PIN,
	ACT_RESCAN,
	ACT_TAG,
	ACT_KILL,
	ACT_CLEAN,
	ACT_HELP,
	ACT_QUIT,
	ACT_REDRAW,
	ACT_EVENTS,
	ACT_COUNT
};

/* What an action asks of the screen. */
#define REDRAW_NONE 0
#define REDRAW_PANES 1
#define REDRAW_ALL 2 /* clear and paint everything (resize, Ctrl-L, back from a child) */

struct binding {
	int key;
	enum action act;
	const char *keyname;
	const char *help;
};
extern const struct binding ui_bindings[];
enum action ui_key_action(int key);

/* Glyphs: UTF-8 or plain ASCII. */
struct glyphs {
	const char *up, *degraded, *reconnecting, *orphaned, *closed, *starting, *failed;
	const char *hline, *spark[8], *tag, *pin, *arrow_up, *arrow_down;
};

#define SPARK_LEN 16

struct spark {
	int64_t session_id;
	int v[SPARK_LEN]; /* -1: no sample */
	int n;
};

struct ui {
	struct ev_loop *loop;
	struct model m;
	const char *db_path;
	const char *self; /* this binary, for connect/scan/clean children */
	char *self_buf;
	const struct glyphs *g;
	int colors;
	int unicode;
	int tmux_windows;   /* Enter opens a tmux window (inside tmux) */
	int64_t started_at; /* to count sessions started from here */
	enum pane_id focus;
	size_t sel[PANE_COUNT]; /* selected row per pane (index into the visible list) */
	size_t top[PANE_COUNT]; /* first visible row */
	char filter[64];
	int filtering; /* typing into the filter */
	char status[256];
	int status_error;
	int help; /* the help screen is up */
	int redraw;
	int quit;
	int exit_after_paint; /* MOSHMAN_EXIT_AFTER_PAINT: benchmarks */
	/* visible host indexes after the filter */
	size_t *vis;
	size_t nvis;
	/* servers of the selected host's last scan */
	int64_t servers_host;
	struct db_scan scan;
	struct db_scan_server *servers;
	size_t nservers;
	unsigned char *tagged; /* per server */
	struct spark *sparks;
	size_t nsparks;
	int jobs; /* background scans / cleans running */
};

/* ui.c */
void ui_status(struct ui *, int error, const char *, ...) __attribute__((format(printf, 3, 4)));
void ui_reload(struct ui *, int force);
struct model_host *ui_selected_host(struct ui *);
/* Moves the focused pane's selection by delta rows (clamped). */
void ui_move_sel(struct ui *, long delta);
/* Rebuilds the visible hosts from the filter, keeping the selected host (or host `keep`). */
void ui_apply_filter(struct ui *);
void ui_apply_filter_keep(struct ui *, int64_t keep);
/* keys.c: runs an action; returns what must be redrawn (REDRAW_*) */
int ui_act(struct ui *, enum action);
/* draw.c */
void draw_init_colors(struct ui *);
void draw_all(struct ui *);
int draw_state_attr(struct ui *, const char *state);
const char *draw_state_glyph(struct ui *, const char *state);
extern const struct glyphs draw_utf8, draw_ascii;
/* form.c: the add/edit/duplicate form; returns 1 when something was saved */
int form_run(struct ui *, const char *name, int duplicate);
/* dialog.c */
int dialog_confirm(struct ui *, const char *title, const char *const *lines, size_t n,
    const char *question);
int dialog_choose(struct ui *, const char *title, const char *const *lines, size_t n,
    const char *const *choices, size_t nchoices);
void dialog_wait_key(const char *message);
/* Shows lines until a key is pressed. */
void dialog_show(struct ui *, const char *title, const char *const *lines, size_t n);
/* v on a session: its events, newest at the bottom (ui/events_view.c). */
int events_view(struct ui *, int64_t session_id);
/* jobs.c: children (connect in the foreground; scan and clean in the background) */
int jobs_connect(struct ui *, const char *host, int in_tmux);
void jobs_self(struct ui *, const char *what, const char *cmd, const char *host,
    const char *const *extra, size_t nextra);
/* Attaches this terminal to running session id (moshman attach); back on Ctrl-^ d. */
int jobs_attach(struct ui *, int64_t id, const char *host);

#endif
