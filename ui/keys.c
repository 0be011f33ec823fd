/* Key bindings are data: the help screen and the man page list this table. */
#include <curses.h>

#include "ui/ui.h"

#define CTRL(c) ((c) & 0x1f)

const struct binding ui_bindings[] = {
	{ '\n', ACT_CONNECT, "Enter", "connect to the selected host; on a running session, attach" },
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
