/* SPDX-License-Identifier: MIT */
/* The last remote scan of each host. */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

static const char sql_scan_del[] = "DELETE FROM scans WHERE host_id = ?1";
static const char sql_scan_add[] =
    "INSERT INTO scans (host_id, scanned_at, status, message, missing_tools) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_server_add[] =
    "INSERT INTO scan_servers (host_id, pid, ppid, uid, port, start_token, age_s, utmp, tty, "
    "class, why, session_id, candidate, candidate_detached, cmdline) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
static const char sql_scan_get[] =
    "SELECT scanned_at, status, message, missing_tools FROM scans WHERE host_id = ?1";
static const char sql_servers_get[] =
    "SELECT pid, ppid, uid, port, start_token, age_s, utmp, tty, class, why, session_id, "
    "candidate, candidate_detached, cmdline FROM scan_servers WHERE host_id = ?1 "
    "ORDER BY pid";
static const char sql_data_version[] = "PRAGMA data_version";
static const char sql_json_append[] = "SELECT json_insert(coalesce(?1, '[]'), '$[#]', json(?2))";
static const char sql_json_target[] =
    "SELECT json_object('pid', ?1, 'class', ?2, 'session_id', CASE WHEN ?3 > 0 THEN ?3 END, "
    "'result', ?4, 'signals', ?5, 'gone', json(CASE WHEN ?6 THEN 'true' ELSE 'false' END))";
static const char sql_json_clean_host[] =
    "SELECT json_object('scan', json(?1), 'kill_ran', "
    "json(CASE WHEN ?2 THEN 'true' ELSE 'false' END), 'targets', json(coalesce(?3, '[]')))";
static const char sql_scan_json[] =
    "SELECT json_object('host', h.name, 'scanned_at', c.scanned_at, 'status', c.status, "
    "'message', c.message, 'missing_tools', c.missing_tools, 'servers', "
    "json((SELECT json_group_array(json(obj)) FROM (SELECT json_object('pid', v.pid, "
    "'ppid', v.ppid, 'uid', CASE WHEN v.uid >= 0 THEN v.uid END, "
    "'port', CASE WHEN v.port > 0 THEN v.port END, 'start', v.start_token, "
    "'age_s', CASE WHEN v.age_s >= 0 THEN v.age_s END, 'utmp', v.utmp, 'tty', v.tty, "
    "'class', v.class, 'why', v.why, "
    "'session_id', CASE WHEN v.session_id > 0 THEN v.session_id END, "
    "'candidate', json(CASE WHEN v.candidate THEN 'true' ELSE 'false' END), "
    "'candidate_detached', json(CASE WHEN v.candidate_detached THEN 'true' ELSE 'false' END), "
    "'cmdline', v.cmdline) AS obj FROM scan_servers v WHERE v.host_id = c.host_id "
    "ORDER BY v.pid)))) FROM scans c JOIN hosts h ON h.id = c.host_id WHERE c.host_id = ?1";

void
db_scan_clear(struct db_scan *s)
{
	sqlite3_free(s->status);
	sqlite3_free(s->message);
	sqlite3_free(s->missing_tools);
	memset(s, 0, sizeof *s);
}

void
db_scan_servers_free(struct db_scan_server *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_free(v[i].start_token);
		sqlite3_free(v[i].utmp);
		sqlite3_free(v[i].tty);
		sqlite3_free(v[i].class_);
		sqlite3_free(v[i].why);
		sqlite3_free(v[i].cmdline);
	}
	sqlite3_free(v);
}

int
db_scan_save(struct db *db, const struct db_scan *scan, const struct db_scan_server *v, size_t n)
{
	sqlite3_stmt *st;

	if (db_begin(db) != DB_OK)
		return DB_ERR;
	if ((st = db_stmt(db, sql_scan_del)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, scan->host_id);
	if (db_exec_stmt(db, st, "replacing the scan") != DB_OK)
		goto fail;
	if ((st = db_stmt(db, sql_scan_add)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, scan->host_id);
	sqlite3_bind_int64(st, 2, scan->scanned_at ? scan->scanned_at : db_now_ms());
	db_bind_text(st, 3, scan->status);
	db_bind_text(st, 4, scan->message);
	db_bind_text(st, 5, scan->missing_tools);
	if (db_exec_stmt(db, st, "saving the scan") != DB_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((st = db_stmt(db, sql_server_add)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, scan->host_id);
		sqlite3_bind_int64(st, 2, v[i].pid);
		sqlite3_bind_int64(st, 3, v[i].ppid);
		sqlite3_bind_int64(st, 4, v[i].uid);
		sqlite3_bind_int(st, 5, v[i].port);
		db_bind_text(st, 6, v[i].start_token);
		sqlite3_bind_int64(st, 7, v[i].age_s);
		db_bind_text(st, 8, v[i].utmp);
		db_bind_text(st, 9, v[i].tty);
		db_bind_text(st, 10, v[i].class_);
		db_bind_text(st, 11, v[i].why ? v[i].why : "");
		sqlite3_bind_int64(st, 12, v[i].session_id);
		sqlite3_bind_int(st, 13, v[i].candidate != 0);
		sqlite3_bind_int(st, 14, v[i].candidate_detached != 0);
		db_bind_text(st, 15, v[i].cmdline);
		if (db_exec_stmt(db, st, "saving a scanned server") != DB_OK)
			goto fail;
	}
	return db_commit(db);
fail:
	db_rollback(db);
	return DB_ERR;
}

static void
read_server(sqlite3_stmt *st, void *elem)
{
	struct db_scan_server *v = elem;

	v->pid = sqlite3_column_int64(st, 0);
	v->ppid = sqlite3_column_int64(st, 1);
	v->uid = sqlite3_column_int64(st, 2);
	v->port = sqlite3_column_int(st, 3);
	v->start_token = db_col_text(st, 4);
	v->age_s = sqlite3_column_int64(st, 5);
	v->utmp = db_col_text(st, 6);
	v->tty = db_col_text(st, 7);
	v->class_ = db_col_text(st, 8);
	v->why = db_col_text(st, 9);
	v->session_id = sqlite3_column_int64(st, 10);
	v->candidate = sqlite3_column_int(st, 11);
	v->candidate_detached = sqlite3_column_int(st, 12);
	v->cmdline = db_col_text(st, 13);
}

int
db_scan_get(struct db *db, int64_t host_id, struct db_scan *scan, struct db_scan_server **out,
    size_t *n)
{
	sqlite3_stmt *st;
	struct db_scan_server *v = NULL;
	void *vv = NULL;
	size_t cnt = 0;
	int rc;

	memset(scan, 0, sizeof *scan);
	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql_scan_get)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, host_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		scan->host_id = host_id;
		scan->scanned_at = sqlite3_column_int64(st, 0);
		scan->status = db_col_text(st, 1);
		scan->message = db_col_text(st, 2);
		scan->missing_tools = db_col_text(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(db, "reading the scan");
	if ((st = db_stmt(db, sql_servers_get)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, host_id);
	if (db_collect(db, st, sizeof *v, read_server, &vv, &cnt, "reading scanned servers") !=
	    DB_OK) {
		v = vv;
		goto fail;
	}
	v = vv;
	*out = v;
	*n = cnt;
	return DB_OK;
fail:
	db_scan_servers_free(v, cnt);
	db_scan_clear(scan);
	return DB_ERR;
}

int64_t
db_data_version(struct db *db)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if ((st = db_stmt(db, sql_data_version)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int
db_scan_json(struct db *db, int64_t host_id, char **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((st = db_stmt(db, sql_scan_json)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, host_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return DB_NOTFOUND;
	if (rc != SQLITE_ROW || *out == NULL)
		return db_fail(db, "making JSON");
	return DB_OK;
}

/* Run a one-row, one-column JSON query whose parameters are already bound. */
static int
json_result(struct db *db, sqlite3_stmt *st, char **out)
{
	int rc = sqlite3_step(st);

	*out = NULL;
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || *out == NULL)
		return db_fail(db, "making JSON");
	return DB_OK;
}

int
db_json_append(struct db *db, char **array, const char *value)
{
	sqlite3_stmt *st;
	char *out = NULL;

	if ((st = db_stmt(db, sql_json_append)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, *array);
	db_bind_text(st, 2, value ? value : "null");
	if (json_result(db, st, &out) != DB_OK)
		return DB_ERR;
	sqlite3_free(*array);
	*array = out;
	return DB_OK;
}

int
db_json_kill_target(struct db *db, int64_t pid, const char *class_, int64_t session_id,
    const char *result, const char *signals, int gone, char **out)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_json_target)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, pid);
	db_bind_text(st, 2, class_);
	sqlite3_bind_int64(st, 3, session_id);
	db_bind_text(st, 4, result);
	db_bind_text(st, 5, signals);
	sqlite3_bind_int(st, 6, gone != 0);
	return json_result(db, st, out);
}

int
db_json_clean_host(struct db *db, const char *scan_json, int kill_ran, const char *targets_json,
    char **out)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_json_clean_host)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, scan_json);
	sqlite3_bind_int(st, 2, kill_ran != 0);
	db_bind_text(st, 3, targets_json);
	return json_result(db, st, out);
}
