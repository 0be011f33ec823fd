/* SPDX-License-Identifier: MIT */
/* The Hosts pane: saved profiles, filtered and sorted. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/pane.h"
#include "ui/ui.h"

static void
tags_of(const struct db_host *h, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < h->ntags; i++) {
		if (i > 0)
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, h->tags[i], len - strlen(buf) - 1);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
}

void
pane_hosts_draw(struct ui *u, int y, int h, int focused)
{
	char title[128], line[512], target[300], tags[64], ago[24];
	int rows = h - 1, wide = COLS >= 120, mid = COLS >= 90;

	snprintf(title, sizeof title, "Hosts (%s%s%s)", model_sort_name(u->m.sort),
	    u->filter[0] ? ", filter " : "", u->filter);
	draw_title(u, y, title, focused);
	if (rows <= 0)
		return;
	pane_scroll(u, PANE_HOSTS, rows - 1);
	/* Narrow terminals (down to 60 columns) keep name, target, last use and counts. */
	int nw = mid ? 16 : 14, tw = mid ? 26 : 23;

	snprintf(line, sizeof line, "  %-*s %-*s %s%s%s%-9s %4s %4s", nw, "NAME", tw, "TARGET",
	    mid ? "ROUTE                    " : "", wide ? "TRANSPORT  " : "",
	    wide ? "TAGS            " : "", "LAST USED", "LIVE", "ORPH");
	draw_row(y + 1, line, A_BOLD);
	for (int r = 0; r < rows - 1; r++) {
		size_t i = u->top[PANE_HOSTS] + (size_t)r;
		const struct model_host *mh;
		char route[32], transport[16], tagcol[20];
		int attr = A_NORMAL;

		if (i >= u->nvis) {
			draw_row(y + 2 + r, "", A_NORMAL);
			continue;
		}
		mh = &u->m.hosts[u->vis[i]];
		snprintf(target, sizeof target, "%s@%s:%d", mh->h.user, mh->h.hostname, mh->h.port);
		tags_of(&mh->h, tags, sizeof tags);
		fmt_ago(mh->h.last_used_at, ago, sizeof ago);
		snprintf(route, sizeof route, "%-24.24s ", mh->route);
		snprintf(transport, sizeof transport, "%-10.10s ", mh->h.transport);
		snprintf(tagcol, sizeof tagcol, "%-15.15s ", tags);
		snprintf(line, sizeof line, "%s %-*.*s %-*.*s %s%s%s%-9.9s %4d %4d",
		    mh->h.pinned ? u->g->pin : " ", nw, nw, mh->h.name, tw, tw, target,
		    mid ? route : "", wide ? transport : "", wide ? tagcol : "", ago, mh->live,
		    mh->orphans);
		if (focused && i == u->sel[PANE_HOSTS])
			attr = A_REVERSE;
		else if (!focused && i == u->sel[PANE_HOSTS])
			attr = A_BOLD;
		draw_row(y + 2 + r, line, attr);
	}
	if (u->nvis == 0 && rows > 1)
		draw_row(y + 2,
		    u->filter[0] ? "  no host matches the filter (Esc clears it)"
		                 : "  no hosts yet: press a to add one, i to import "
		                   "~/.ssh/config",
		    A_DIM);
}
