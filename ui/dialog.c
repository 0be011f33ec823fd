/* SPDX-License-Identifier: MIT */
/* Modal dialogs drawn over the dashboard: confirmations and choices. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui/ui.h"

static WINDOW *
dialog_open(const char *title, const char *const *lines, size_t n, int extra, int *w)
{
	int width = (int)strlen(title) + 6, height;
	WINDOW *win;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(lines[i]) + 4 > width)
			width = (int)strlen(lines[i]) + 4;
	if (width > COLS - 2)
		width = COLS - 2;
	if (width < 20)
		width = COLS;
	height = (int)n + 3 + extra;
	if (height > LINES)
		height = LINES;
	win = newwin(height, width, (LINES - height) / 2, (COLS - width) / 2);
	keypad(win, TRUE);
	werase(win);
	box(win, 0, 0);
	wattron(win, A_BOLD);
	mvwaddnstr(win, 0, 2, title, width - 4);
	wattroff(win, A_BOLD);
	for (size_t i = 0; i < n && (int)i + 1 < height - 1; i++)
		mvwaddnstr(win, (int)i + 1, 2, lines[i], width - 4);
	*w = width;
	return win;
}

int
dialog_confirm(struct ui *u, const char *title, const char *const *lines, size_t n,
    const char *question)
{
	int w, ch, yes = -1;
	WINDOW *win = dialog_open(title, lines, n, 1, &w);

	mvwaddnstr(win, getmaxy(win) - 2, 2, question, w - 4);
	wrefresh(win);
	while (yes == -1) {
		ch = wgetch(win);
		if (ch == 'y' || ch == 'Y')
			yes = 1;
		else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q')
			yes = 0;
		else if (ch == KEY_RESIZE)
			yes = 0;
	}
	delwin(win);
	u->redraw = REDRAW_ALL;
	return yes;
}

/* Returns the chosen index, or -1 when cancelled.  Keys: arrows/Tab move, Enter picks,
 * the first letter of a choice picks it. */
int
dialog_choose(struct ui *u, const char *title, const char *const *lines, size_t n,
    const char *const *choices, size_t nchoices)
{
	int w, ch, sel = 0, done = -2;
	WINDOW *win = dialog_open(title, lines, n, 1, &w);

	while (done == -2) {
		int x = 2, y = getmaxy(win) - 2;

		wmove(win, y, 1);
		wclrtoeol(win);
		for (size_t i = 0; i < nchoices; i++) {
			if ((int)i == sel)
				wattron(win, A_REVERSE);
			mvwprintw(win, y, x, "[%s]", choices[i]);
			wattroff(win, A_REVERSE);
			x += (int)strlen(choices[i]) + 3;
		}
		box(win, 0, 0);
		wattron(win, A_BOLD);
		mvwaddnstr(win, 0, 2, title, w - 4);
		wattroff(win, A_BOLD);
		wrefresh(win);
		ch = wgetch(win);
		if (ch == KEY_LEFT || ch == KEY_BTAB)
			sel = (sel + (int)nchoices - 1) % (int)nchoices;
		else if (ch == KEY_RIGHT || ch == '\t')
			sel = (sel + 1) % (int)nchoices;
		else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
			done = sel;
		else if (ch == 27 || ch == 'q' || ch == KEY_RESIZE)
			done = -1;
		else {
			for (size_t i = 0; i < nchoices; i++)
				if (ch == choices[i][0] || ch == choices[i][0] + 32)
					done = (int)i;
		}
	}
	delwin(win);
	u->redraw = REDRAW_ALL;
	return done;
}

void
dialog_show(struct ui *u, const char *title, const char *const *lines, size_t n)
{
	int w, ch;
	WINDOW *win = dialog_open(title, lines, n, 1, &w);

	mvwaddnstr(win, getmaxy(win) - 2, 2, "press any key", w - 4);
	wrefresh(win);
	ch = wgetch(win);
	(void)ch;
	delwin(win);
	u->redraw = REDRAW_ALL;
}

/* Outside curses: wait for Enter so the user can read what a child printed. */
void
dialog_wait_key(const char *message)
{
	char buf[64];
	FILE *tty = fopen("/dev/tty", "r+");

	if (tty == NULL)
		return;
	fprintf(tty, "\n%s", message);
	fflush(tty);
	if (fgets(buf, sizeof buf, tty) == NULL)
		clearerr(tty);
	fclose(tty);
}
