/* SPDX-License-Identifier: MIT */
/* A session's event log over the dashboard: what `moshman events ID` prints, the newest
 * that fit the screen. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "src/util/fmt.h"
#include "src/util/xmalloc.h"
#include "ui/ui.h"

int
events_view(struct ui *u, int64_t id)
{
	struct db_event *v = NULL;
	char title[64], **lines;
	size_t n = 0, first, shown;
	int room = LINES - 5;

	if (db_event_list(u->m.db, id, &v, &n) != DB_OK) {
		ui_status(u, 1, "events of session %lld: %s", (long long)id, db_error(u->m.db));
		return REDRAW_PANES;
	}
	if (room < 1)
		room = 1;
	first = n > (size_t)room ? n - (size_t)room : 0;
	shown = n - first;
	lines = xcalloc(shown + 1, sizeof *lines);
	for (size_t i = 0; i < shown; i++) {
		const struct db_event *e = &v[first + i];
		time_t t = (time_t)(e->at / 1000);
		struct tm tm;
		char when[16];

		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		xasprintf(&lines[i], "%s  %-7.7s %s", when, e->kind, e->message);
		/* Messages quote remote hosts and proxies: nothing unprintable on screen. */
		fmt_printable(lines[i]);
	}
	if (shown == 0)
		lines[shown++] = xstrdup("(no events)");
	snprintf(title, sizeof title, "Events of session %lld%s", (long long)id,
	    first > 0 ? " (newest)" : "");
	dialog_show(u, title, (const char *const *)lines, shown);
	for (size_t i = 0; i < shown; i++)
		free(lines[i]);
	free(lines);
	db_event_list_free(v, n);
	return REDRAW_ALL;
}
