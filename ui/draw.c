/* SPDX-License-Identifier: MIT */
/* Painting: colours, glyphs, the header, the panes' frames, the status line, help. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui.h"
#include "ui/pane.h"

const struct glyphs draw_utf8 = {
	"●",
	"◐",
	"↻",
	"✖",
	"○",
	"…",
	"✗",
	"─",
	{ "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" },
	"◆",
	"★",
	"↑",
	"↓",
};
const struct glyphs draw_ascii = {
	"*",
	"~",
	"@",
	"x",
	"-",
	".",
	"!",
	"-",
	{ "_", ".", ",", "-", "=", "+", "#", "#" },
	"+",
	"*",
	"^",
	"v",
};

enum {
	C_UP = 1,
	C_WARN,
	C_BAD,
	C_DIM,
	C_ACCENT
};

void
draw_init_colors(struct ui *u)
{
	const char *nc = getenv("NO_COLOR");

	u->colors = has_colors() && (nc == NULL || *nc == '\0');
	if (!u->colors)
		return;
	start_color();
	/* Default background everywhere: readable on light and dark terminals alike. */
	use_default_colors();
	init_pair(C_UP, COLOR_GREEN, -1);
	init_pair(C_WARN, COLOR_YELLOW, -1);
	init_pair(C_BAD, COLOR_RED, -1);
	init_pair(C_DIM, COLOR_BLUE, -1);
	init_pair(C_ACCENT, COLOR_CYAN, -1);
}

static int
color(struct ui *u, int pair)
{
	return u->colors ? COLOR_PAIR(pair) : 0;
}

int
draw_state_attr(struct ui *u, const char *state)
{
	if (state == NULL)
		return 0;
	if (strcmp(state, "up") == 0)
		return color(u, C_UP) | A_BOLD;
	if (strcmp(state, "degraded") == 0 || strcmp(state, "reconnecting") == 0 ||
	    strcmp(state, "starting") == 0)
		return color(u, C_WARN) | A_BOLD;
	if (strcmp(state, "orphaned") == 0 || strcmp(state, "failed") == 0 ||
	    strcmp(state, "ours-orphaned") == 0)
		return color(u, C_BAD) | A_BOLD;
	if (strcmp(state, "detached") == 0)
		return color(u, C_WARN);
	if (strcmp(state, "attached") == 0 || strcmp(state, "ours-live") == 0)
		return color(u, C_UP);
	return A_DIM;
}

const char *
draw_state_glyph(struct ui *u, const char *state)
{
	if (state == NULL)
		return " ";
	if (strcmp(state, "up") == 0)
		return u->g->up;
	if (strcmp(state, "degraded") == 0)
		return u->g->degraded;
	if (strcmp(state, "reconnecting") == 0)
		return u->g->reconnecting;
	if (strcmp(state, "orphaned") == 0)
		return u->g->orphaned;
	if (strcmp(state, "starting") == 0)
		return u->g->starting;
	if (strcmp(state, "failed") == 0)
		return u->g->failed;
	return u->g->closed;
}

/* A pane's title bar: "── Hosts (recent) ──────". */
void
draw_title(struct ui *u, int y, const char *title, int focused)
{
	int x;

	move(y, 0);
	clrtoeol();
	attrset(focused ? (A_REVERSE | A_BOLD) : A_BOLD);
	for (x = 0; x < COLS; x++)
		mvaddstr(y, x, u->g->hline);
	mvaddnstr(y, 2, " ", COLS - 2);
	mvaddnstr(y, 3, title, COLS - 4 > 0 ? COLS - 4 : 0);
	if (3 + (int)strlen(title) < COLS)
		mvaddstr(y, 3 + (int)strlen(title), " ");
	attrset(A_NORMAL);
}

/* One table row, clipped to the screen. */
void
draw_row(int y, const char *text, int attr)
{
	move(y, 0);
	clrtoeol();
	attrset(attr);
	mvaddnstr(y, 0, text, COLS);
	if (attr & A_REVERSE) {
		int len = (int)strlen(text);
		for (int x = len; x < COLS; x++)
			mvaddch(y, x, ' ');
	}
	attrset(A_NORMAL);
}

static void
draw_header(struct ui *u)
{
	char left[160], right[64];

	snprintf(left, sizeof left, " moshman %s  hosts %zu  sessions %d live", MOSHMAN_VERSION,
	    u->m.nhosts, u->m.nlive);
	snprintf(right, sizeof right, "[1]Hosts [2]Sessions [3]Servers ");
	move(0, 0);
	clrtoeol();
	attrset(A_BOLD);
	mvaddnstr(0, 0, left, COLS);
	if (u->m.norphaned > 0 && (int)strlen(left) + 14 < COLS) {
		attrset(color(u, C_BAD) | A_BOLD);
		printw("  orphans %d", u->m.norphaned);
	}
	attrset(A_NORMAL);
	if ((int)(strlen(left) + strlen(right) + 14) < COLS)
		mvaddstr(0, COLS - (int)strlen(right), right);
}

static void
draw_status(struct ui *u)
{
	char keys[96];
	int y = LINES - 1, kx;

	move(y, 0);
	clrtoeol();
	if (u->filtering || u->filter[0] != '\0') {
		attrset(color(u, C_ACCENT) | A_BOLD);
		mvprintw(y, 0, " /%s%s", u->filter, u->filtering ? "_" : "");
		attrset(A_NORMAL);
		printw("  ");
	}
	if (u->status[0] != '\0') {
		attrset(u->status_error ? (color(u, C_BAD) | A_BOLD) : A_NORMAL);
		addnstr(u->status, COLS - getcurx(stdscr) > 0 ? COLS - getcurx(stdscr) : 0);
		attrset(A_NORMAL);
	}
	snprintf(keys, sizeof keys, " Enter connect  ? help  q quit ");
	kx = COLS - (int)strlen(keys);
	if (kx > getcurx(stdscr) + 1) {
		attrset(A_DIM);
		mvaddstr(y, kx, keys);
		attrset(A_NORMAL);
	}
}

/* Rows for each pane: the focused one gets the most; each keeps its title and a row. */
static void
layout(struct ui *u, int *h)
{
	int avail = LINES - 2, base = 2, rest;

	for (int i = 0; i < PANE_COUNT; i++)
		h[i] = base;
	rest = avail - base * PANE_COUNT;
	if (rest <= 0) {
		h[u->focus] = avail - base * (PANE_COUNT - 1);
		return;
	}
	h[u->focus] += rest / 2;
	rest -= rest / 2;
	for (int i = 0; i < PANE_COUNT; i++) {
		if (i == (int)u->focus)
			continue;
		h[i] += rest / (PANE_COUNT - 1);
	}
	h[u->focus] += avail - h[0] - h[1] - h[2];
}

static void
draw_help(struct ui *u)
{
	int y = 0, col = 0, colw = COLS >= 150 ? COLS / 2 : COLS;
	char line[160];

	erase();
	attrset(A_BOLD);
	mvaddnstr(y++, 0, " moshman keys (any key closes this help)", COLS);
	attrset(A_NORMAL);
	y++;
	for (const struct binding *b = ui_bindings; b->key != 0; b++) {
		if (b->help == NULL)
			continue;
		if (y >= LINES - 1) {
			if (colw == COLS)
				break;
			y = 2;
			col = colw;
		}
		snprintf(line, sizeof line, " %-12s %s", b->keyname, b->help);
		mvaddnstr(y++, col, line, colw - 1);
	}
	if (y < LINES - 1 && col == 0) {
		y++;
		mvaddnstr(y, 0,
		    " Connecting suspends the dashboard; it returns when mosh-client exits.", COLS);
	}
	wnoutrefresh(stdscr);
	doupdate();
}

void
draw_all(struct ui *u)
{
	int h[PANE_COUNT], y = 1;

	if (u->redraw == REDRAW_ALL)
		clear();
	if (u->help) {
		draw_help(u);
		u->redraw = REDRAW_NONE;
		return;
	}
	draw_header(u);
	if (LINES >= 8 && COLS >= 20) {
		layout(u, h);
		pane_hosts_draw(u, y, h[PANE_HOSTS], u->focus == PANE_HOSTS);
		y += h[PANE_HOSTS];
		pane_sessions_draw(u, y, h[PANE_SESSIONS], u->focus == PANE_SESSIONS);
		y += h[PANE_SESSIONS];
		pane_servers_draw(u, y, h[PANE_SERVERS], u->focus == PANE_SERVERS);
	} else
		mvaddnstr(1, 0, "terminal too small", COLS);
	draw_status(u);
	wnoutrefresh(stdscr);
	doupdate();
	u->redraw = REDRAW_NONE;
}
