/* SPDX-License-Identifier: MIT */
/* The host form (add, edit, duplicate): every field is checked by the same rules as the
 * CLI, the error shows next to the field, and nothing invalid is saved. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ssh/profile.h"
#include "src/util/xmalloc.h"
#include "ui/ui.h"

struct field {
	const char *label;
	const char *opt; /* profile option, or NULL for the name */
	int list;        /* space-separated values of a repeatable option */
	char value[256];
	char initial[256];
	char *err;
};

static struct field fields_template[] = {
	{ "Name", "name", 0, "", "", NULL },
	{ "Host", "host", 0, "", "", NULL },
	{ "Port", "port", 0, "", "", NULL },
	{ "User", "user", 0, "", "", NULL },
	{ "Identity file", "identity", 0, "", "", NULL },
	{ "Proxy URL", "proxy", 0, "", "", NULL },
	{ "Jump host(s)", "jump", 0, "", "", NULL },
	{ "ProxyCommand", "proxy-command", 0, "", "", NULL },
	{ "Transport", "transport", 0, "", "", NULL },
	{ "Tunnel command", "tunnel-command", 0, "", "", NULL },
	{ "Server command", "server-command", 0, "", "", NULL },
	{ "Locales", "locale", 1, "", "", NULL },
	{ "Predict", "predict", 0, "", "", NULL },
	{ "Known hosts", "known-hosts", 0, "", "", NULL },
	{ "Host key policy", "hostkey-policy", 0, "", "", NULL },
	{ "Idle timeout (s)", "idle-timeout", 0, "", "", NULL },
	{ "Tags", "tag", 1, "", "", NULL },
	{ "Auto clean (yes/no)", "auto-clean", 0, "", "", NULL },
};
#define NFIELDS ((int)(sizeof fields_template / sizeof fields_template[0]))

static void
join(char *buf, size_t len, char *const *v, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, " ", len - strlen(buf) - 1);
		strncat(buf, v[i], len - strlen(buf) - 1);
	}
}

static void
fill(struct field *f, const struct db_host *h)
{
	char *proxy = profile_proxy_display(h);

#define SET(i, ...) snprintf(f[i].value, sizeof f[i].value, __VA_ARGS__)
	SET(0, "%s", h->name ? h->name : "");
	SET(1, "%s", h->hostname ? h->hostname : "");
	SET(2, "%d", h->port);
	SET(3, "%s", h->user ? h->user : "");
	SET(4, "%s", h->identity ? h->identity : "");
	SET(5, "%s", proxy);
	SET(6, "%s", h->jump ? h->jump : "");
	SET(7, "%s", h->proxy_command ? h->proxy_command : "");
	SET(8, "%s", h->transport ? h->transport : "auto");
	SET(9, "%s", h->tunnel_command ? h->tunnel_command : "");
	SET(10, "%s", h->server_command ? h->server_command : "mosh-server");
	join(f[11].value, sizeof f[11].value, h->locales, h->nlocales);
	SET(12, "%s", h->predict ? h->predict : "adaptive");
	SET(13, "%s", h->known_hosts ? h->known_hosts : "");
	SET(14, "%s", h->hostkey_policy ? h->hostkey_policy : "ask");
	SET(15, "%lld", (long long)h->idle_timeout);
	join(f[16].value, sizeof f[16].value, h->tags, h->ntags);
	SET(17, "%s", h->auto_clean ? "yes" : "no");
#undef SET
	for (int i = 0; i < NFIELDS; i++)
		memcpy(f[i].initial, f[i].value, sizeof f[i].value);
	free(proxy);
}

/* Apply one field to h; on failure the message goes to f->err. */
static int
apply(struct field *f, struct db_host *h)
{
	char *err = NULL, *copy, *tok, *save = NULL;

	free(f->err);
	f->err = NULL;
	/* The proxy shows its password masked; unchanged means keep the stored one. */
	if (strcmp(f->opt, "proxy") == 0 && strcmp(f->value, f->initial) == 0)
		return 0;
	if (strcmp(f->opt, "auto-clean") == 0) {
		if (strcmp(f->value, "yes") != 0 && strcmp(f->value, "no") != 0) {
			xasprintf(&f->err, "'yes' or 'no'");
			return -1;
		}
		profile_set(h, strcmp(f->value, "yes") == 0 ? "auto-clean" : "no-auto-clean", NULL,
		    &err);
		free(err);
		return 0;
	}
	if (!f->list) {
		if (profile_set(h, f->opt, f->value, &err) == -1) {
			f->err = err;
			return -1;
		}
		return 0;
	}
	profile_set(h, f->opt, "", &err); /* an empty value clears the list */
	free(err);
	err = NULL;
	copy = xstrdup(f->value);
	for (tok = strtok_r(copy, " ,", &save); tok != NULL; tok = strtok_r(NULL, " ,", &save)) {
		if (profile_set(h, f->opt, tok, &err) == -1) {
			f->err = err;
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

static void
paint(struct field *f, int cur, const char *title, const char *banner)
{
	int y0 = 2, labelw = 18, valw = COLS - labelw - 4;
	int fit = (LINES - 3) / 2, first = 0;

	/* Small terminals scroll the form so the current field stays visible. */
	if (fit < 1)
		fit = 1;
	if (cur >= fit)
		first = cur - fit + 1;

	erase();
	attrset(A_BOLD);
	mvaddnstr(0, 1, title, COLS - 2);
	attrset(A_DIM);
	mvaddnstr(1, 1,
	    "Tab next  Shift-Tab previous  Enter on the last field or F2 saves  "
	    "Ctrl-U clear  Esc cancel",
	    COLS - 2);
	attrset(A_NORMAL);
	for (int i = first; i < NFIELDS && y0 + (i - first) * 2 < LINES - 1; i++) {
		int y = y0 + (i - first) * 2;
		mvprintw(y, 1, "%-*.*s", labelw, labelw, f[i].label);
		attrset(i == cur ? A_REVERSE : A_UNDERLINE);
		mvprintw(y, labelw + 2, "%-*.*s", valw > 0 ? valw : 0, valw > 0 ? valw : 0,
		    f[i].value);
		attrset(A_NORMAL);
		if (f[i].err != NULL) {
			attrset(A_BOLD | (has_colors() ? COLOR_PAIR(3) : 0));
			mvaddnstr(y + 1, labelw + 2, f[i].err, COLS - labelw - 3);
			attrset(A_NORMAL);
		}
	}
	if (banner != NULL) {
		attrset(A_BOLD);
		mvaddnstr(LINES - 1, 1, banner, COLS - 2);
		attrset(A_NORMAL);
	}
	{
		int x = labelw + 2 + (int)strlen(f[cur].value);
		move(y0 + (cur - first) * 2, x < COLS - 1 ? x : COLS - 1);
	}
	curs_set(1);
	refresh();
}

/* A duplicate is a new host: no id, pin or history of its own. */
static void
as_new(struct db_host *h)
{
	h->id = 0;
	h->pinned = 0;
	h->last_used_at = 0;
	h->created_at = 0;
}

/* Checks a field when the cursor leaves it, so its error shows at once. */
static void
check_field(struct field *f)
{
	struct db_host scratch;

	if (f->opt == NULL)
		return;
	profile_defaults(&scratch, "x");
	apply(f, &scratch);
	db_host_clear(&scratch);
}

enum form_key {
	FORM_EDIT,
	FORM_SAVE,
	FORM_CANCEL
};

/* One key: moves the cursor or edits the current field, or asks to save or cancel. */
static enum form_key
form_key(struct field *f, int *cur, int ch)
{
	struct field *c = &f[*cur];
	size_t n = strlen(c->value);

	switch (ch) {
	case 27:
		return FORM_CANCEL;
	case KEY_F(2):
	case 's' & 0x1f:
		return FORM_SAVE;
	case '\t':
	case KEY_DOWN:
	case '\n':
	case '\r':
	case KEY_ENTER:
		check_field(c);
		if (ch != '\t' && ch != KEY_DOWN && *cur == NFIELDS - 1)
			return FORM_SAVE;
		*cur = (*cur + 1) % NFIELDS;
		return FORM_EDIT;
	case KEY_BTAB:
	case KEY_UP:
		*cur = (*cur + NFIELDS - 1) % NFIELDS;
		return FORM_EDIT;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (n > 0)
			c->value[n - 1] = '\0';
		return FORM_EDIT;
	case 'u' & 0x1f:
		c->value[0] = '\0';
		return FORM_EDIT;
	default:
		if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof c->value) {
			c->value[n] = (char)ch;
			c->value[n + 1] = '\0';
		}
		return FORM_EDIT;
	}
}

/* Saves the form, built field by field on a fresh copy of the stored profile.  Returns 1
 * when saved; else 0 with *cur on the field to fix (its error set) and *banner saying
 * why. */
static int
form_save(struct ui *u, struct field *f, const char *name, int duplicate, int *cur,
    const char **banner)
{
	struct db_host h;
	char *err = NULL;
	int bad = -1, rc;

	if (name == NULL)
		profile_defaults(&h, "");
	else if (model_host_get(&u->m, name, &h, &err) == -1) {
		/* Deleted or renamed by another moshman since the form opened. */
		free(f[0].err);
		f[0].err = err;
		*cur = 0;
		*banner = "not saved: the stored host cannot be read (Esc cancels)";
		return 0;
	}
	if (duplicate)
		as_new(&h);
	for (int i = 0; i < NFIELDS; i++) {
		if (apply(&f[i], &h) == -1 && bad == -1)
			bad = i;
	}
	if (bad == -1 && (rc = model_save(&u->m, &h, name == NULL || duplicate, &err)) != 0) {
		/* A clash of names belongs to the name field; the rest to the form. */
		if (rc != DB_EXISTS) {
			*banner = "could not save (see the message below the form)";
			ui_status(u, 1, "%s", err);
		}
		f[0].err = err;
		bad = 0;
	}
	if (bad == -1)
		ui_status(u, 0, "saved %s", h.name);
	else {
		*cur = bad;
		if (*banner == NULL)
			*banner = "not saved: fix the field marked below";
	}
	db_host_clear(&h);
	return bad == -1;
}

int
form_run(struct ui *u, const char *name, int duplicate)
{
	struct field f[NFIELDS];
	struct db_host base;
	char title[128], *err = NULL;
	const char *banner = NULL;
	int cur = 0, saved = 0, ch;
	enum form_key k = FORM_EDIT;

	memcpy(f, fields_template, sizeof f);
	if (name != NULL) {
		if (model_host_get(&u->m, name, &base, &err) == -1) {
			ui_status(u, 1, "%s", err);
			free(err);
			return 0;
		}
	} else
		profile_defaults(&base, "");
	fill(f, &base);
	if (duplicate) {
		snprintf(f[0].value, sizeof f[0].value, "%.60s-copy", base.name);
		as_new(&base);
	}
	snprintf(title, sizeof title, "%s",
	    name == NULL    ? "Add a host"
	        : duplicate ? "Duplicate a host"
	                    : "Edit a host");
	while (!saved && k != FORM_CANCEL) {
		paint(f, cur, title, banner);
		if ((ch = getch()) == KEY_RESIZE)
			continue;
		banner = NULL;
		k = form_key(f, &cur, ch);
		if (k == FORM_SAVE)
			saved = form_save(u, f, name, duplicate, &cur, &banner);
	}
	for (int i = 0; i < NFIELDS; i++)
		free(f[i].err);
	db_host_clear(&base);
	curs_set(0);
	u->redraw = REDRAW_ALL;
	if (saved)
		ui_reload(u, 1);
	return saved;
}
