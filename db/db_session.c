/* SPDX-License-Identifier: MIT */
/* Sessions and their event log. */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

#define SESSION_COLS \
	"id, coalesce(host_id, 0), host_name, state, path, transport, remote_addr, " \
	"mosh_port, local_port, server_pid, supervisor_pid, supervisor_start, client_pid, " \
	"client_start, boot_id, session_key, started_at, updated_at, ended_at, last_rx_at, " \
	"last_tx_at, bytes_up, bytes_down, pkts_up, pkts_down, rtt_ms, reconnects, " \
	"attached, attach_changed_at"

static const char sql_sess_insert[] =
    "INSERT INTO sessions (host_id, host_name, state, path, transport, remote_addr, "
    "mosh_port, local_port, server_pid, supervisor_pid, supervisor_start, client_pid, "
    "client_start, boot_id, session_key, started_at, updated_at) VALUES (nullif(?1, 0), "
    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)";
static const char sql_sess_update[] =
    "UPDATE sessions SET state = ?2, path = ?3, transport = ?4, remote_addr = ?5, "
    "mosh_port = ?6, local_port = ?7, server_pid = ?8, supervisor_pid = ?9, "
    "supervisor_start = ?10, client_pid = ?11, client_start = ?12, boot_id = ?13, "
    "session_key = CASE WHEN ended_at = 0 THEN ?14 ELSE NULL END, updated_at = ?15, "
    "last_rx_at = ?16, last_tx_at = ?17, bytes_up = ?18, bytes_down = ?19, pkts_up = ?20, "
    "pkts_down = ?21, rtt_ms = ?22, reconnects = ?23 WHERE id = ?1";
static const char sql_sess_state[] =
    "UPDATE sessions SET state = ?2, updated_at = ?3, "
    "ended_at = CASE WHEN ?4 AND ended_at = 0 THEN ?3 ELSE ended_at END, "
    "session_key = CASE WHEN ?4 THEN NULL ELSE session_key END WHERE id = ?1";
static const char sql_sess_get[] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1";
/* "Live" listings include orphans: their server still runs and needs cleaning. */
static const char sql_sess_live[] =
    "SELECT " SESSION_COLS " FROM sessions WHERE ended_at = 0 OR state = 'orphaned' "
    "ORDER BY id DESC";
static const char sql_sess_all[] = "SELECT " SESSION_COLS " FROM sessions ORDER BY id DESC";
static const char sql_sess_recent[] =
    "SELECT " SESSION_COLS " FROM sessions WHERE ended_at = 0 OR ended_at >= ?1 "
    "OR state = 'orphaned' "
    "ORDER BY ended_at = 0 DESC, id DESC LIMIT ?2";
static const char sql_host_stats[] =
    "SELECT h.id, "
    "  (SELECT count(*) FROM sessions s WHERE s.host_id = h.id AND s.ended_at = 0), "
    "  (SELECT count(*) FROM sessions s WHERE s.host_id = h.id AND s.state = 'orphaned'), "
    "  (SELECT count(*) FROM scan_servers v WHERE v.host_id = h.id AND v.candidate), "
    "  (SELECT count(*) FROM scan_servers v WHERE v.host_id = h.id "
    "    AND v.class = 'detached'), "
    "  coalesce((SELECT scanned_at FROM scans c WHERE c.host_id = h.id), 0) "
    "FROM hosts h";
static const char sql_event_add[] =
    "INSERT INTO events (session_id, at, kind, message) VALUES (?1, ?2, ?3, ?4)";

#define SESSION_JSON \
	"json_object('id', id, 'host', host_name, 'state', state, 'path', path, " \
	"'transport', transport, 'remote_addr', remote_addr, 'mosh_port', mosh_port, " \
	"'local_port', local_port, 'server_pid', server_pid, " \
	"'supervisor_pid', supervisor_pid, 'client_pid', client_pid, " \
	"'started_at', started_at, 'updated_at', updated_at, " \
	"'ended_at', CASE WHEN ended_at > 0 THEN ended_at END, " \
	"'last_rx_ms_ago', CASE WHEN last_rx_at > 0 THEN max(0, ?1 - last_rx_at) END, " \
	"'last_tx_ms_ago', CASE WHEN last_tx_at > 0 THEN max(0, ?1 - last_tx_at) END, " \
	"'bytes_up', bytes_up, 'bytes_down', bytes_down, 'pkts_up', pkts_up, " \
	"'pkts_down', pkts_down, 'rtt_ms', CASE WHEN rtt_ms >= 0 THEN rtt_ms END, " \
	"'reconnects', reconnects, " \
	"'attached', json(CASE WHEN attached THEN 'true' ELSE 'false' END), " \
	"'attach_changed_at', CASE WHEN attach_changed_at > 0 THEN attach_changed_at END)"
static const char sql_sess_json_live[] =
    "SELECT json_group_array(json(obj)) FROM (SELECT " SESSION_JSON " AS obj "
    "FROM sessions WHERE ended_at = 0 OR state = 'orphaned' ORDER BY id DESC)";
static const char sql_sess_json_all[] =
    "SELECT json_group_array(json(obj)) FROM (SELECT " SESSION_JSON " AS obj "
    "FROM sessions ORDER BY id DESC)";
static const char sql_event_json[] =
    "SELECT json_group_array(json(obj)) FROM (SELECT json_object('at', at, 'kind', kind, "
    "'message', message) AS obj FROM events WHERE session_id = ?1 ORDER BY id)";

static const char *const live_states[] = { "starting", "up", "degraded", "reconnecting" };
static const char *const ended_states[] = { "orphaned", "closed", "killed", "failed" };

static int
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return 1;
	}
	return 0;
}

int
db_session_is_live_state(const char *state)
{
	return in_list(state, live_states, sizeof live_states / sizeof live_states[0]);
}

static int
is_ended_state(const char *state)
{
	return in_list(state, ended_states, sizeof ended_states / sizeof ended_states[0]);
}

void
db_session_str(char **field, const char *s)
{
	sqlite3_free(*field);
	*field = s != NULL ? db_strdup(s) : NULL;
}

void
db_session_clear(struct db_session *s)
{
	if (s == NULL)
		return;
	sqlite3_free(s->host_name);
	sqlite3_free(s->state);
	sqlite3_free(s->path);
	sqlite3_free(s->transport);
	sqlite3_free(s->remote_addr);
	sqlite3_free(s->boot_id);
	if (s->session_key != NULL) {
		memset(s->session_key, 0, strlen(s->session_key));
		sqlite3_free(s->session_key);
	}
	memset(s, 0, sizeof *s);
}

static void
read_session(sqlite3_stmt *st, void *elem)
{
	struct db_session *s = elem;

	memset(s, 0, sizeof *s);
	s->id = sqlite3_column_int64(st, 0);
	s->host_id = sqlite3_column_int64(st, 1);
	s->host_name = db_col_text(st, 2);
	s->state = db_col_text(st, 3);
	s->path = db_col_text(st, 4);
	s->transport = db_col_text(st, 5);
	s->remote_addr = db_col_text(st, 6);
	s->mosh_port = sqlite3_column_int(st, 7);
	s->local_port = sqlite3_column_int(st, 8);
	s->server_pid = sqlite3_column_int64(st, 9);
	s->supervisor_pid = sqlite3_column_int64(st, 10);
	s->supervisor_start = (uint64_t)sqlite3_column_int64(st, 11);
	s->client_pid = sqlite3_column_int64(st, 12);
	s->client_start = (uint64_t)sqlite3_column_int64(st, 13);
	s->boot_id = db_col_text(st, 14);
	s->session_key = db_col_text(st, 15);
	s->started_at = sqlite3_column_int64(st, 16);
	s->updated_at = sqlite3_column_int64(st, 17);
	s->ended_at = sqlite3_column_int64(st, 18);
	s->last_rx_at = sqlite3_column_int64(st, 19);
	s->last_tx_at = sqlite3_column_int64(st, 20);
	s->bytes_up = sqlite3_column_int64(st, 21);
	s->bytes_down = sqlite3_column_int64(st, 22);
	s->pkts_up = sqlite3_column_int64(st, 23);
	s->pkts_down = sqlite3_column_int64(st, 24);
	s->rtt_ms = sqlite3_column_int(st, 25);
	s->reconnects = sqlite3_column_int(st, 26);
	s->attached = sqlite3_column_int(st, 27) != 0;
	s->attach_changed_at = sqlite3_column_int64(st, 28);
}

int
db_session_insert(struct db *db, struct db_session *s)
{
	sqlite3_stmt *st;

	if (!db_session_is_live_state(s->state) && !is_ended_state(s->state))
		return db_failf(db, "unknown session state '%s'", s->state ? s->state : "");
	if ((st = db_stmt(db, sql_sess_insert)) == NULL)
		return DB_ERR;
	if (s->host_id > 0)
		sqlite3_bind_int64(st, 1, s->host_id);
	else
		sqlite3_bind_null(st, 1); /* an ad hoc target: no profile */
	db_bind_text(st, 2, s->host_name);
	db_bind_text(st, 3, s->state);
	db_bind_text(st, 4, s->path);
	db_bind_text(st, 5, s->transport);
	db_bind_text(st, 6, s->remote_addr);
	sqlite3_bind_int(st, 7, s->mosh_port);
	sqlite3_bind_int(st, 8, s->local_port);
	sqlite3_bind_int64(st, 9, s->server_pid);
	sqlite3_bind_int64(st, 10, s->supervisor_pid);
	sqlite3_bind_int64(st, 11, (int64_t)s->supervisor_start);
	sqlite3_bind_int64(st, 12, s->client_pid);
	sqlite3_bind_int64(st, 13, (int64_t)s->client_start);
	db_bind_text(st, 14, s->boot_id);
	db_bind_text(st, 15, s->session_key);
	if (s->started_at == 0)
		s->started_at = db_now_ms();
	sqlite3_bind_int64(st, 16, s->started_at);
	if (db_exec_stmt(db, st, "recording the session") != DB_OK)
		return DB_ERR;
	s->id = sqlite3_last_insert_rowid(db->h);
	return DB_OK;
}

int
db_session_update(struct db *db, const struct db_session *s)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_sess_update)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, s->id);
	db_bind_text(st, 2, s->state);
	db_bind_text(st, 3, s->path);
	db_bind_text(st, 4, s->transport);
	db_bind_text(st, 5, s->remote_addr);
	sqlite3_bind_int(st, 6, s->mosh_port);
	sqlite3_bind_int(st, 7, s->local_port);
	sqlite3_bind_int64(st, 8, s->server_pid);
	sqlite3_bind_int64(st, 9, s->supervisor_pid);
	sqlite3_bind_int64(st, 10, (int64_t)s->supervisor_start);
	sqlite3_bind_int64(st, 11, s->client_pid);
	sqlite3_bind_int64(st, 12, (int64_t)s->client_start);
	db_bind_text(st, 13, s->boot_id);
	db_bind_text(st, 14, s->session_key);
	sqlite3_bind_int64(st, 15, db_now_ms());
	sqlite3_bind_int64(st, 16, s->last_rx_at);
	sqlite3_bind_int64(st, 17, s->last_tx_at);
	sqlite3_bind_int64(st, 18, s->bytes_up);
	sqlite3_bind_int64(st, 19, s->bytes_down);
	sqlite3_bind_int64(st, 20, s->pkts_up);
	sqlite3_bind_int64(st, 21, s->pkts_down);
	sqlite3_bind_int(st, 22, s->rtt_ms);
	sqlite3_bind_int(st, 23, s->reconnects);
	if (db_exec_stmt(db, st, "updating the session") != DB_OK)
		return DB_ERR;
	if (sqlite3_changes(db->h) == 0) {
		db_failf(db, "no session %lld", (long long)s->id);
		return DB_NOTFOUND;
	}
	return DB_OK;
}

int
db_event_add(struct db *db, int64_t session_id, const char *kind, const char *message)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_event_add)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, session_id);
	sqlite3_bind_int64(st, 2, db_now_ms());
	db_bind_text(st, 3, kind);
	db_bind_text(st, 4, message ? message : "");
	return db_exec_stmt(db, st, "recording an event");
}

int
db_session_set_state(struct db *db, int64_t id, const char *state, const char *reason)
{
	sqlite3_stmt *st;
	int ended = is_ended_state(state);

	if (!ended && !db_session_is_live_state(state))
		return db_failf(db, "unknown session state '%s'", state ? state : "");
	if (db_begin(db) != DB_OK)
		return DB_ERR;
	if ((st = db_stmt(db, sql_sess_state)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, state);
	sqlite3_bind_int64(st, 3, db_now_ms());
	sqlite3_bind_int(st, 4, ended);
	if (db_exec_stmt(db, st, "changing the session state") != DB_OK)
		goto fail;
	if (sqlite3_changes(db->h) == 0) {
		db_rollback(db);
		db_failf(db, "no session %lld", (long long)id);
		return DB_NOTFOUND;
	}
	if (db_event_add(db, id, "state", reason ? reason : state) != DB_OK)
		goto fail;
	if (db_commit(db) != DB_OK)
		return DB_ERR;
	/* The key is gone from the table; secure_delete zeroed its old page.  Also fold
	 * the WAL back so old frames holding it do not linger (best effort: readers may
	 * hold it open). */
	if (ended)
		sqlite3_exec(db->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	return DB_OK;
fail:
	db_rollback(db);
	return DB_ERR;
}

int
db_session_get(struct db *db, int64_t id, struct db_session *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof *out);
	if ((st = db_stmt(db, sql_sess_get)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_session(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		db_failf(db, "no session %lld", (long long)id);
		return DB_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return db_fail(db, "reading a session");
	return DB_OK;
}

int
db_session_list(struct db *db, int all, struct db_session **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, all ? sql_sess_all : sql_sess_live)) == NULL)
		return DB_ERR;
	if (db_collect(db, st, sizeof **out, read_session, &v, n, "listing sessions") != DB_OK) {
		db_session_list_free(v, *n);
		*n = 0;
		return DB_ERR;
	}
	*out = v;
	return DB_OK;
}

int
db_session_recent(struct db *db, int64_t since_ms, int limit, struct db_session **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql_sess_recent)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, since_ms);
	sqlite3_bind_int(st, 2, limit);
	if (db_collect(db, st, sizeof **out, read_session, &v, n, "listing sessions") != DB_OK) {
		db_session_list_free(v, *n);
		*n = 0;
		return DB_ERR;
	}
	*out = v;
	return DB_OK;
}

static void
read_stats(sqlite3_stmt *st, void *elem)
{
	struct db_host_stats *h = elem;

	h->host_id = sqlite3_column_int64(st, 0);
	h->live = sqlite3_column_int(st, 1);
	h->orphaned = sqlite3_column_int(st, 2);
	h->scan_orphans = sqlite3_column_int(st, 3);
	h->scan_detached = sqlite3_column_int(st, 4);
	h->scanned_at = sqlite3_column_int64(st, 5);
}

int
db_host_stats(struct db *db, struct db_host_stats **out, size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql_host_stats)) == NULL)
		return DB_ERR;
	if (db_collect(db, st, sizeof **out, read_stats, &v, n, "counting sessions") != DB_OK) {
		sqlite3_free(v);
		*n = 0;
		return DB_ERR;
	}
	*out = v;
	return DB_OK;
}

void
db_session_list_free(struct db_session *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_session_clear(&v[i]);
	sqlite3_free(v);
}

static int
json_query(struct db *db, const char *sql, int64_t param, char **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, param);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || *out == NULL)
		return db_fail(db, "making JSON");
	return DB_OK;
}

int
db_session_json(struct db *db, int all, char **out)
{
	return json_query(db, all ? sql_sess_json_all : sql_sess_json_live, db_now_ms(), out);
}

int
db_event_json(struct db *db, int64_t session_id, char **out)
{
	return json_query(db, sql_event_json, session_id, out);
}
