/* SPDX-License-Identifier: MIT */
/* The Sessions pane: running sessions with link health, and recently ended ones. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "src/util/clock.h"
#include "ui/pane.h"
#include "ui/ui.h"

const struct db_session *
pane_sessions_selected(struct ui *u)
{
	if (u->m.nsessions == 0 || u->sel[PANE_SESSIONS] >= u->m.nsessions)
		return NULL;
	return &u->m.sessions[u->sel[PANE_SESSIONS]];
}

static const struct spark *
spark_of(struct ui *u, int64_t id)
{
	for (size_t i = 0; i < u->nsparks; i++) {
		if (u->sparks[i].session_id == id)
			return &u->sparks[i];
	}
	return NULL;
}

/* The rtt history as a sparkline, scaled to its own maximum. */
static void
sparkline(struct ui *u, const struct spark *sp, char *buf, size_t len)
{
	int max = 1;

	buf[0] = '\0';
	if (sp == NULL)
		return;
	for (int i = 0; i < sp->n; i++)
		if (sp->v[i] > max)
			max = sp->v[i];
	for (int i = 0; i < sp->n; i++) {
		const char *g = " ";
		if (sp->v[i] >= 0)
			g = u->g->spark[sp->v[i] * 7 / max];
		strncat(buf, g, len - strlen(buf) - 1);
	}
}

void
pane_sessions_draw(struct ui *u, int y, int h, int focused)
{
	char title[64], line[512], rtt[16], contact[16], up[16], down[16], uptime[16];
	char term[32], ago[16];
	char spark[SPARK_LEN * 4 + 1];
	int rows = h - 1, wide = COLS >= 100;

	snprintf(title, sizeof title, "Sessions (%d live)", u->m.nlive);
	draw_title(u, y, title, focused);
	if (rows <= 0)
		return;
	pane_scroll(u, PANE_SESSIONS, rows - 1);
	snprintf(line, sizeof line, "  %-14s %-12s %-7s %6s %8s %3s %-12s%s", "HOST", "STATE",
	    "PATH", "RTT", "CONTACT", "RC", "TERMINAL",
	    wide ? "   UP/DOWN         UPTIME   RTT HISTORY" : "");
	draw_row(y + 1, line, A_BOLD);
	for (int r = 0; r < rows - 1; r++) {
		size_t i = u->top[PANE_SESSIONS] + (size_t)r;
		const struct db_session *s;
		int live, attr;

		if (i >= u->m.nsessions) {
			draw_row(y + 2 + r, "", A_NORMAL);
			continue;
		}
		s = &u->m.sessions[i];
		live = db_session_is_live_state(s->state);
		if (s->rtt_ms >= 0)
			snprintf(rtt, sizeof rtt, "%dms", s->rtt_ms);
		else
			snprintf(rtt, sizeof rtt, "-");
		if (live && s->last_rx_at > 0)
			fmt_ago(s->last_rx_at, contact, sizeof contact);
		else
			snprintf(contact, sizeof contact, "-");
		fmt_bytes(s->bytes_up, up, sizeof up);
		fmt_bytes(s->bytes_down, down, sizeof down);
		fmt_duration(((s->ended_at ? s->ended_at : clock_epoch_ms()) - s->started_at) /
		        1000,
		    uptime, sizeof uptime);
		sparkline(u, spark_of(u, s->id), spark, sizeof spark);
		/* A running session with a terminal attached or not, and since when. */
		if (live && s->attach_changed_at > 0) {
			fmt_ago(s->attach_changed_at, ago, sizeof ago);
			snprintf(term, sizeof term, "%s %s", s->attached ? "attached" : "detached",
			    ago);
		} else
			snprintf(term, sizeof term, "-");
		snprintf(line, sizeof line, "  %-14.14s %-12.12s %-7.7s %6s %8s %3d %-12.12s",
		    s->host_name, s->state, s->path ? s->path : "-", rtt, contact, s->reconnects,
		    term);
		if (wide) {
			char more[256];
			snprintf(more, sizeof more, "   %7s/%-7s %-8s %s", up, down, uptime, spark);
			strncat(line, more, sizeof line - strlen(line) - 1);
		}
		attr = (focused && i == u->sel[PANE_SESSIONS]) ? A_REVERSE : A_NORMAL;
		draw_row(y + 2 + r, line, attr);
		/* The state glyph in its colour, over the row's first column. */
		attrset(attr | draw_state_attr(u, s->state));
		mvaddstr(y + 2 + r, 0, draw_state_glyph(u, s->state));
		attrset(A_NORMAL);
	}
	if (u->m.nsessions == 0 && rows > 1)
		draw_row(y + 2, "  no sessions in the last hour: select a host and press Enter",
		    A_DIM);
}
