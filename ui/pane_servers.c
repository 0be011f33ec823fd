/* SPDX-License-Identifier: MIT */
/* The Remote servers pane: the selected host's last scan. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/pane.h"
#include "ui/ui.h"

void
pane_servers_draw(struct ui *u, int y, int h, int focused)
{
	struct model_host *mh = ui_selected_host(u);
	char title[160], line[512], age[24], ago[24];
	int rows = h - 1;

	if (mh == NULL)
		snprintf(title, sizeof title, "Remote servers");
	else if (u->scan.status == NULL)
		snprintf(title, sizeof title, "Remote servers on %s: not scanned (press R)",
		    mh->h.name);
	else {
		fmt_ago(u->scan.scanned_at, ago, sizeof ago);
		snprintf(title, sizeof title, "Remote servers on %s: scanned %s ago%s%s",
		    mh->h.name, ago, strcmp(u->scan.status, "ok") ? ", " : "",
		    strcmp(u->scan.status, "ok") ? u->scan.status : "");
	}
	draw_title(u, y, title, focused);
	if (rows <= 0)
		return;
	pane_scroll(u, PANE_SERVERS, rows - 1);
	snprintf(line, sizeof line, "  %-14s %7s %6s %8s %-9s %s", "CLASS", "PID", "PORT", "AGE",
	    "UTMP", "WHY");
	draw_row(y + 1, line, A_BOLD);
	for (int r = 0; r < rows - 1; r++) {
		size_t i = u->top[PANE_SERVERS] + (size_t)r;
		const struct db_scan_server *s;
		int attr;

		if (i >= u->nservers) {
			draw_row(y + 2 + r, "", A_NORMAL);
			continue;
		}
		s = &u->servers[i];
		fmt_duration(s->age_s, age, sizeof age);
		snprintf(line, sizeof line, "%s %-14.14s %7lld %6d %8s %-9.9s %s",
		    u->tagged && u->tagged[i] ? u->g->tag : " ", s->class_, (long long)s->pid,
		    s->port, age, s->utmp ? s->utmp : "-", s->why);
		attr = (focused && i == u->sel[PANE_SERVERS]) ? A_REVERSE : A_NORMAL;
		draw_row(y + 2 + r, line, attr);
		attrset(attr | draw_state_attr(u, s->class_));
		mvaddnstr(y + 2 + r, 2, s->class_, 14);
		attrset(A_NORMAL);
	}
	if (u->nservers == 0 && rows > 1 && u->scan.status != NULL)
		draw_row(y + 2,
		    strcmp(u->scan.status, "ok") == 0
		        ? "  no mosh-server of this user on the host"
		        : (u->scan.message ? u->scan.message : "scan failed"),
		    strcmp(u->scan.status, "ok") == 0 ? A_DIM : A_BOLD);
}
