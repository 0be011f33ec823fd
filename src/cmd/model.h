/* SPDX-License-Identifier: MIT */
/* What the dashboard shows, read from the store: a snapshot the ui draws from, reloaded
 * only when another process changed the database.  The ui never talks to db/ itself. */
#ifndef MOSHMAN_MODEL_H
#define MOSHMAN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

enum model_sort {
	MODEL_SORT_RECENT,
	MODEL_SORT_NAME,
	MODEL_SORT_TAG,
	MODEL_SORT_COUNT
};

struct model_host {
	struct db_host h;
	char *route;      /* "direct", "socks5 HOST:PORT", "jump HOST", "command" */
	const char *kind; /* "direct", "socks5", "socks5h", "http", "jump", "command" */
	int live;
	int orphans;  /* known orphans: last scan's kill candidates, else orphaned rows */
	int detached; /* last scan: detached servers that are not ours */
	int64_t scanned_at;
};

struct model {
	struct db *db;
	int64_t version;          /* db_data_version at the last load */
	struct model_host *hosts; /* sorted: pinned first, then by sort */
	size_t nhosts;
	struct db_session *sessions; /* live ones and those ended in the last hour */
	size_t nsessions;
	int nlive, norphaned;
	enum model_sort sort;
};

void model_init(struct model *, struct db *);
/* Reload if the database changed since the last load (or always when force).  Returns 1
 * when reloaded, 0 when nothing changed, -1 with *err on failure. */
int model_refresh(struct model *, int force, char **err);
void model_free(struct model *);
void model_set_sort(struct model *, enum model_sort);
const char *model_sort_name(enum model_sort);

/* Does the host match the filter text (case-insensitive, in name, host, user, tags)? */
int model_host_matches(const struct model_host *, const char *filter);
/* The last scan of a host; DB_NOTFOUND when it was never scanned. */
int
model_scan(struct model *, int64_t host_id, struct db_scan *, struct db_scan_server **, size_t *);
int model_pin(struct model *, int64_t host_id, int pinned, char **err);
int model_delete(struct model *, const char *name, char **err);
/* Save a profile from a form: validate across fields, then insert or update.  0, or with
 * *err set DB_EXISTS when the name is taken, -1 for anything else. */
int model_save(struct model *, struct db_host *, int insert, char **err);
/* A copy of a stored profile, for the edit and duplicate forms. */
int model_host_get(struct model *, const char *name, struct db_host *, char **err);

#endif
