/* SPDX-License-Identifier: MIT */
/* The three panes of the dashboard, one file each. */
#ifndef MOSHMAN_PANE_H
#define MOSHMAN_PANE_H

struct ui;

void pane_hosts_draw(struct ui *, int y, int h, int focused);
void pane_sessions_draw(struct ui *, int y, int h, int focused);
void pane_servers_draw(struct ui *, int y, int h, int focused);
/* Selected session (or NULL) in the sessions pane. */
const struct db_session *pane_sessions_selected(struct ui *);
size_t pane_rows(struct ui *, int pane);
/* Keep the selection visible in a pane of `rows` lines. */
void pane_scroll(struct ui *, int pane, int rows);
void draw_title(struct ui *, int y, const char *title, int focused);
void draw_row(int y, const char *text, int attr);

#endif
