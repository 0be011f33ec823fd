/* SPDX-License-Identifier: MIT */
/* Host profiles: the hosts table with its tags and locales. */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

#define HOST_COLS \
	"id, name, hostname, port, user, identity, proxy_type, proxy_host, proxy_port, " \
	"proxy_user, proxy_pass, jump, proxy_command, transport, tunnel_command, " \
	"server_command, predict, known_hosts, hostkey_policy, idle_timeout, auto_clean, " \
	"pinned, created_at, last_used_at, server_port_lo, server_port_hi, bind_server, " \
	"no_init, family"

static const char sql_host_insert[] =
    "INSERT INTO hosts (name, hostname, port, user, identity, proxy_type, proxy_host, "
    "proxy_port, proxy_user, proxy_pass, jump, proxy_command, transport, tunnel_command, "
    "server_command, predict, known_hosts, hostkey_policy, idle_timeout, auto_clean, "
    "pinned, created_at, last_used_at, server_port_lo, server_port_hi, bind_server, "
    "no_init, family) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
    "?18, ?19, ?20, ?21, ?22, ?23, ?25, ?26, ?27, ?28, ?29)";
static const char sql_host_update[] =
    "UPDATE hosts SET name = ?1, hostname = ?2, port = ?3, user = ?4, identity = ?5, "
    "proxy_type = ?6, proxy_host = ?7, proxy_port = ?8, proxy_user = ?9, proxy_pass = ?10, "
    "jump = ?11, proxy_command = ?12, transport = ?13, tunnel_command = ?14, "
    "server_command = ?15, predict = ?16, known_hosts = ?17, hostkey_policy = ?18, "
    "idle_timeout = ?19, auto_clean = ?20, pinned = ?21, created_at = ?22, "
    "last_used_at = ?23, server_port_lo = ?25, server_port_hi = ?26, bind_server = ?27, "
    "no_init = ?28, family = ?29 WHERE id = ?24";
static const char sql_host_by_name[] = "SELECT " HOST_COLS " FROM hosts WHERE name = ?1";
static const char sql_host_exists[] = "SELECT id FROM hosts WHERE name = ?1";
static const char sql_host_all[] =
    "SELECT " HOST_COLS " FROM hosts ORDER BY pinned DESC, last_used_at DESC, name";
static const char sql_host_delete[] = "DELETE FROM hosts WHERE name = ?1";
static const char sql_host_touch[] = "UPDATE hosts SET last_used_at = ?2 WHERE id = ?1";
static const char sql_host_pin[] = "UPDATE hosts SET pinned = ?2 WHERE id = ?1";
static const char sql_tags_get[] = "SELECT tag FROM host_tags WHERE host_id = ?1 ORDER BY pos";
static const char sql_tags_del[] = "DELETE FROM host_tags WHERE host_id = ?1";
static const char sql_tags_add[] = "INSERT INTO host_tags (host_id, pos, tag) VALUES (?1, ?2, ?3)";
static const char sql_tags_all[] = "SELECT host_id, tag FROM host_tags ORDER BY host_id, pos";
static const char sql_loc_all[] = "SELECT host_id, setting FROM host_locales ORDER BY host_id, pos";
static const char sql_loc_get[] =
    "SELECT setting FROM host_locales WHERE host_id = ?1 ORDER BY pos";
static const char sql_loc_del[] = "DELETE FROM host_locales WHERE host_id = ?1";
static const char sql_loc_add[] =
    "INSERT INTO host_locales (host_id, pos, setting) VALUES (?1, ?2, ?3)";

/* One JSON object per host, built by SQLite; the proxy password shows as "***". */
#define HOST_JSON \
	"json_object('name', h.name, 'host', h.hostname, 'port', h.port, 'user', h.user, " \
	"'identity', h.identity, " \
	"'proxy', CASE h.proxy_type WHEN 'none' THEN 'none' ELSE h.proxy_type || '://' || " \
	"  CASE WHEN h.proxy_user IS NULL THEN '' ELSE h.proxy_user || " \
	"    CASE WHEN h.proxy_pass IS NULL THEN '' ELSE ':***' END || '@' END || " \
	"  CASE WHEN instr(h.proxy_host, ':') > 0 THEN '[' || h.proxy_host || ']' " \
	"    ELSE h.proxy_host END || ':' || h.proxy_port END, " \
	"'jump', h.jump, 'proxy_command', h.proxy_command, 'transport', h.transport, " \
	"'tunnel_command', h.tunnel_command, 'server_command', h.server_command, " \
	"'predict', h.predict, 'known_hosts', h.known_hosts, " \
	"'hostkey_policy', h.hostkey_policy, 'idle_timeout', h.idle_timeout, " \
	"'auto_clean', json(CASE WHEN h.auto_clean THEN 'true' ELSE 'false' END), " \
	"'server_port', CASE WHEN h.server_port_lo = 0 THEN NULL " \
	"  WHEN h.server_port_hi = h.server_port_lo THEN CAST(h.server_port_lo AS TEXT) " \
	"  ELSE h.server_port_lo || ':' || h.server_port_hi END, " \
	"'bind_server', coalesce(h.bind_server, 'ssh'), " \
	"'init', json(CASE WHEN h.no_init THEN 'false' ELSE 'true' END), " \
	"'family', coalesce(h.family, 'all'), " \
	"'pinned', json(CASE WHEN h.pinned THEN 'true' ELSE 'false' END), " \
	"'created_at', h.created_at, " \
	"'last_used_at', CASE WHEN h.last_used_at > 0 THEN h.last_used_at END, " \
	"'locales', json((SELECT json_group_array(setting) FROM (SELECT setting FROM " \
	"  host_locales WHERE host_id = h.id ORDER BY pos))), " \
	"'tags', json((SELECT json_group_array(tag) FROM (SELECT tag FROM host_tags " \
	"  WHERE host_id = h.id ORDER BY pos))), " \
	"'live_sessions', (SELECT count(*) FROM sessions s WHERE s.host_id = h.id " \
	"  AND s.ended_at = 0))"

static const char sql_host_json_one[] = "SELECT " HOST_JSON " FROM hosts h WHERE h.name = ?1";
static const char sql_host_json_all[] =
    "SELECT json_group_array(json(obj)) FROM (SELECT " HOST_JSON " AS obj FROM hosts h "
    "ORDER BY h.pinned DESC, h.last_used_at DESC, h.name)";

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sqlite3_free(v[i]);
	sqlite3_free(v);
}

void
db_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = sqlite3_realloc64(*v, (*n + 1) * sizeof **v)) == NULL)
		abort();
	nv[(*n)++] = db_strdup(s);
	*v = nv;
}

void
db_strv_clear(char ***v, size_t *n)
{
	free_strv(*v, *n);
	*v = NULL;
	*n = 0;
}

void
db_host_clear(struct db_host *h)
{
	if (h == NULL)
		return;
	sqlite3_free(h->name);
	sqlite3_free(h->hostname);
	sqlite3_free(h->user);
	sqlite3_free(h->identity);
	sqlite3_free(h->proxy_type);
	sqlite3_free(h->proxy_host);
	sqlite3_free(h->proxy_user);
	if (h->proxy_pass != NULL) {
		memset(h->proxy_pass, 0, strlen(h->proxy_pass));
		sqlite3_free(h->proxy_pass);
	}
	sqlite3_free(h->jump);
	sqlite3_free(h->proxy_command);
	sqlite3_free(h->transport);
	sqlite3_free(h->tunnel_command);
	sqlite3_free(h->server_command);
	sqlite3_free(h->predict);
	sqlite3_free(h->known_hosts);
	sqlite3_free(h->hostkey_policy);
	sqlite3_free(h->bind_server);
	sqlite3_free(h->family);
	free_strv(h->locales, h->nlocales);
	free_strv(h->tags, h->ntags);
	memset(h, 0, sizeof *h);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? db_strdup(s) : NULL;
}

static void
copy_strv(char ***dst, size_t *dn, char *const *src, size_t n)
{
	*dst = NULL;
	*dn = 0;
	for (size_t i = 0; i < n; i++)
		db_strv_add(dst, dn, src[i]);
}

void
db_host_copy(struct db_host *dst, const struct db_host *src)
{
	*dst = *src;
	dst->name = dup_or_null(src->name);
	dst->hostname = dup_or_null(src->hostname);
	dst->user = dup_or_null(src->user);
	dst->identity = dup_or_null(src->identity);
	dst->proxy_type = dup_or_null(src->proxy_type);
	dst->proxy_host = dup_or_null(src->proxy_host);
	dst->proxy_user = dup_or_null(src->proxy_user);
	dst->proxy_pass = dup_or_null(src->proxy_pass);
	dst->jump = dup_or_null(src->jump);
	dst->proxy_command = dup_or_null(src->proxy_command);
	dst->transport = dup_or_null(src->transport);
	dst->tunnel_command = dup_or_null(src->tunnel_command);
	dst->server_command = dup_or_null(src->server_command);
	dst->predict = dup_or_null(src->predict);
	dst->known_hosts = dup_or_null(src->known_hosts);
	dst->hostkey_policy = dup_or_null(src->hostkey_policy);
	dst->bind_server = dup_or_null(src->bind_server);
	dst->family = dup_or_null(src->family);
	copy_strv(&dst->locales, &dst->nlocales, src->locales, src->nlocales);
	copy_strv(&dst->tags, &dst->ntags, src->tags, src->ntags);
}

static int
read_strv(struct db *db, const char *sql, int64_t id, char ***out, size_t *n)
{
	sqlite3_stmt *st;
	char **v = NULL, **nv;
	size_t cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nv = sqlite3_realloc64(v, (cnt + 1) * sizeof *v)) == NULL)
			abort();
		v = nv;
		v[cnt++] = db_strdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free_strv(v, cnt);
		return db_fail(db, "reading host details");
	}
	*out = v;
	*n = cnt;
	return DB_OK;
}

static void
read_host(sqlite3_stmt *st, void *elem)
{
	struct db_host *h = elem;

	memset(h, 0, sizeof *h);
	h->id = sqlite3_column_int64(st, 0);
	h->name = db_col_text(st, 1);
	h->hostname = db_col_text(st, 2);
	h->port = sqlite3_column_int(st, 3);
	h->user = db_col_text(st, 4);
	h->identity = db_col_text(st, 5);
	h->proxy_type = db_col_text(st, 6);
	h->proxy_host = db_col_text(st, 7);
	h->proxy_port = sqlite3_column_int(st, 8);
	h->proxy_user = db_col_text(st, 9);
	h->proxy_pass = db_col_text(st, 10);
	h->jump = db_col_text(st, 11);
	h->proxy_command = db_col_text(st, 12);
	h->transport = db_col_text(st, 13);
	h->tunnel_command = db_col_text(st, 14);
	h->server_command = db_col_text(st, 15);
	h->predict = db_col_text(st, 16);
	h->known_hosts = db_col_text(st, 17);
	h->hostkey_policy = db_col_text(st, 18);
	h->idle_timeout = sqlite3_column_int64(st, 19);
	h->auto_clean = sqlite3_column_int(st, 20);
	h->pinned = sqlite3_column_int(st, 21);
	h->created_at = sqlite3_column_int64(st, 22);
	h->last_used_at = sqlite3_column_int64(st, 23);
	h->server_port_lo = sqlite3_column_int(st, 24);
	h->server_port_hi = sqlite3_column_int(st, 25);
	h->bind_server = db_col_text(st, 26);
	h->no_init = sqlite3_column_int(st, 27);
	h->family = db_col_text(st, 28);
}

static int
read_host_lists(struct db *db, struct db_host *h)
{
	if (read_strv(db, sql_tags_get, h->id, &h->tags, &h->ntags) != DB_OK ||
	    read_strv(db, sql_loc_get, h->id, &h->locales, &h->nlocales) != DB_OK)
		return DB_ERR;
	return DB_OK;
}

static void
bind_host(sqlite3_stmt *st, const struct db_host *h)
{
	db_bind_text(st, 1, h->name);
	db_bind_text(st, 2, h->hostname);
	sqlite3_bind_int(st, 3, h->port);
	db_bind_text(st, 4, h->user);
	db_bind_text(st, 5, h->identity);
	db_bind_text(st, 6, h->proxy_type ? h->proxy_type : "none");
	db_bind_text(st, 7, h->proxy_host);
	sqlite3_bind_int(st, 8, h->proxy_port);
	db_bind_text(st, 9, h->proxy_user);
	db_bind_text(st, 10, h->proxy_pass);
	db_bind_text(st, 11, h->jump);
	db_bind_text(st, 12, h->proxy_command);
	db_bind_text(st, 13, h->transport ? h->transport : "auto");
	db_bind_text(st, 14, h->tunnel_command);
	db_bind_text(st, 15, h->server_command ? h->server_command : "mosh-server");
	db_bind_text(st, 16, h->predict ? h->predict : "adaptive");
	db_bind_text(st, 17, h->known_hosts);
	db_bind_text(st, 18, h->hostkey_policy ? h->hostkey_policy : "ask");
	sqlite3_bind_int64(st, 19, h->idle_timeout);
	sqlite3_bind_int(st, 20, h->auto_clean != 0);
	sqlite3_bind_int(st, 21, h->pinned != 0);
	sqlite3_bind_int64(st, 22, h->created_at ? h->created_at : db_now_ms());
	sqlite3_bind_int64(st, 23, h->last_used_at);
	sqlite3_bind_int(st, 25, h->server_port_lo);
	sqlite3_bind_int(st, 26, h->server_port_lo > 0 ? h->server_port_hi : 0);
	db_bind_text(st, 27, h->bind_server);
	sqlite3_bind_int(st, 28, h->no_init != 0);
	db_bind_text(st, 29, h->family);
}

static int
write_strv(struct db *db, const char *del, const char *add, int64_t id, char *const *v, size_t n)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, del)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, id);
	if (db_exec_stmt(db, st, "replacing host details") != DB_OK)
		return DB_ERR;
	for (size_t i = 0; i < n; i++) {
		if ((st = db_stmt(db, add)) == NULL)
			return DB_ERR;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		db_bind_text(st, 3, v[i]);
		if (db_exec_stmt(db, st, "saving host details") != DB_OK)
			return DB_ERR;
	}
	return DB_OK;
}

/* The id of the host with this name, 0 if none, -1 on error. */
static int64_t
host_id_by_name(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	int rc;

	if ((st = db_stmt(db, sql_host_exists)) == NULL)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, "looking up a host");
	return id;
}

static int
host_write(struct db *db, struct db_host *h, int insert)
{
	sqlite3_stmt *st;
	int64_t other;

	if (db_begin(db) != DB_OK)
		return DB_ERR;
	if ((other = host_id_by_name(db, h->name)) < 0)
		goto fail;
	if (other > 0 && (insert || other != h->id)) {
		db_rollback(db);
		db_failf(db, "a host named '%s' exists already", h->name);
		return DB_EXISTS;
	}
	if ((st = db_stmt(db, insert ? sql_host_insert : sql_host_update)) == NULL)
		goto fail;
	bind_host(st, h);
	if (!insert)
		sqlite3_bind_int64(st, 24, h->id);
	if (db_exec_stmt(db, st, "saving the host") != DB_OK)
		goto fail;
	if (insert)
		h->id = sqlite3_last_insert_rowid(db->h);
	else if (sqlite3_changes(db->h) == 0) {
		db_rollback(db);
		db_failf(db, "the host was deleted meanwhile");
		return DB_NOTFOUND;
	}
	if (write_strv(db, sql_tags_del, sql_tags_add, h->id, h->tags, h->ntags) != DB_OK ||
	    write_strv(db, sql_loc_del, sql_loc_add, h->id, h->locales, h->nlocales) != DB_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return DB_ERR;
}

int
db_host_insert(struct db *db, struct db_host *h)
{
	return host_write(db, h, 1);
}

int
db_host_update(struct db *db, const struct db_host *h)
{
	struct db_host copy = *h;

	return host_write(db, &copy, 0);
}

int
db_host_get(struct db *db, const char *name, struct db_host *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof *out);
	if ((st = db_stmt(db, sql_host_by_name)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		db_failf(db, "no host named '%s'", name);
		return DB_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, "reading a host");
	}
	read_host(st, out);
	sqlite3_reset(st);
	if (read_host_lists(db, out) != DB_OK) {
		db_host_clear(out);
		return DB_ERR;
	}
	return DB_OK;
}

static int
cmp_host_id(const void *a, const void *b)
{
	const struct db_host *x = *(const struct db_host *const *)a;
	const struct db_host *y = *(const struct db_host *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Tags or locales of every host in one query (one statement, not one per host). */
static int
read_all_strv(struct db *db, const char *sql, struct db_host **byid, size_t n, int tags)
{
	sqlite3_stmt *st;
	size_t lo = 0;
	int rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);

		/* Rows come by host id, as byid is sorted: walk forward. */
		while (lo < n && byid[lo]->id < id)
			lo++;
		if (lo == n || byid[lo]->id != id || text == NULL)
			continue;
		if (tags)
			db_strv_add(&byid[lo]->tags, &byid[lo]->ntags, text);
		else
			db_strv_add(&byid[lo]->locales, &byid[lo]->nlocales, text);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "reading host details");
	return DB_OK;
}

int
db_host_list(struct db *db, struct db_host **out, size_t *n)
{
	sqlite3_stmt *st;
	struct db_host **byid = NULL;
	void *v = NULL;
	int rc = DB_ERR;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql_host_all)) == NULL)
		return DB_ERR;
	if (db_collect(db, st, sizeof **out, read_host, &v, n, "listing hosts") != DB_OK)
		goto out;
	*out = v;
	if ((byid = sqlite3_malloc64((*n ? *n : 1) * sizeof *byid)) == NULL)
		abort();
	for (size_t i = 0; i < *n; i++)
		byid[i] = &(*out)[i];
	qsort(byid, *n, sizeof *byid, cmp_host_id);
	if (read_all_strv(db, sql_tags_all, byid, *n, 1) != DB_OK ||
	    read_all_strv(db, sql_loc_all, byid, *n, 0) != DB_OK)
		goto out;
	rc = DB_OK;
out:
	sqlite3_free(byid);
	if (rc != DB_OK) {
		db_host_list_free(v, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void
db_host_list_free(struct db_host *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		db_host_clear(&v[i]);
	sqlite3_free(v);
}

int
db_host_delete(struct db *db, const char *name)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_host_delete)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, name);
	if (db_exec_stmt(db, st, "deleting the host") != DB_OK)
		return DB_ERR;
	if (sqlite3_changes(db->h) == 0) {
		db_failf(db, "no host named '%s'", name);
		return DB_NOTFOUND;
	}
	return DB_OK;
}

static int
host_set_int(struct db *db, const char *sql, int64_t id, int64_t v)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, v);
	return db_exec_stmt(db, st, "updating the host");
}

int
db_host_touch(struct db *db, int64_t id, int64_t when_ms)
{
	return host_set_int(db, sql_host_touch, id, when_ms);
}

int
db_host_set_pinned(struct db *db, int64_t id, int pinned)
{
	return host_set_int(db, sql_host_pin, id, pinned != 0);
}

int
db_host_json(struct db *db, const char *name, char **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((st = db_stmt(db, name ? sql_host_json_one : sql_host_json_all)) == NULL)
		return DB_ERR;
	if (name != NULL)
		db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		db_failf(db, "no host named '%s'", name ? name : "");
		return DB_NOTFOUND;
	}
	if (rc != SQLITE_ROW || *out == NULL)
		return db_fail(db, "making JSON");
	return DB_OK;
}
