/* SPDX-License-Identifier: MIT */
/* Which sessions have a terminal attached, and the event log as rows. */
#include <stdlib.h>

#include "db/db_int.h"

static const char sql_set_attached[] =
    "UPDATE sessions SET attached = ?2, attach_changed_at = ?3, updated_at = ?3 "
    "WHERE id = ?1";
static const char sql_event_list[] =
    "SELECT at, kind, message FROM events WHERE session_id = ?1 ORDER BY id";

int
db_session_set_attached(struct db *db, int64_t id, int attached, const char *why)
{
	sqlite3_stmt *st;
	int64_t now = db_now_ms();

	if (db_begin(db) != DB_OK)
		return DB_ERR;
	if ((st = db_stmt(db, sql_set_attached)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, attached != 0);
	sqlite3_bind_int64(st, 3, now);
	if (db_exec_stmt(db, st, "recording the attached terminal") != DB_OK)
		goto fail;
	if (sqlite3_changes(db->h) == 0) {
		db_rollback(db);
		db_failf(db, "no session %lld", (long long)id);
		return DB_NOTFOUND;
	}
	if (db_event_add(db, id, attached ? "attach" : "detach", why) != DB_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return DB_ERR;
}

static void
read_event(sqlite3_stmt *st, void *p)
{
	struct db_event *e = p;

	e->at = sqlite3_column_int64(st, 0);
	e->kind = db_col_text(st, 1);
	e->message = db_col_text(st, 2);
}

int
db_event_list(struct db *db, int64_t session_id, struct db_event **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql_event_list)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, session_id);
	if (db_collect(db, st, sizeof **out, read_event, &v, n, "reading events") != DB_OK) {
		db_event_list_free(v, *n);
		*n = 0;
		return DB_ERR;
	}
	*out = v;
	return DB_OK;
}

void
db_event_list_free(struct db_event *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_free(v[i].kind);
		sqlite3_free(v[i].message);
	}
	sqlite3_free(v);
}
