/* SPDX-License-Identifier: MIT */
/* Opening the store: permissions, sanity of the file, pragmas, migrations. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "db/db_int.h"

#define DB_APPLICATION_ID 0x6d6f7368 /* "mosh" */

/* Numbered migrations: entry i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  hostname TEXT NOT NULL,"
	"  port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),"
	"  user TEXT NOT NULL,"
	"  identity TEXT,"
	"  proxy_type TEXT NOT NULL DEFAULT 'none'"
	"    CHECK (proxy_type IN ('none', 'socks5', 'socks5h', 'http')),"
	"  proxy_host TEXT,"
	"  proxy_port INTEGER NOT NULL DEFAULT 0 CHECK (proxy_port BETWEEN 0 AND 65535),"
	"  proxy_user TEXT,"
	"  proxy_pass TEXT,"
	"  jump TEXT,"
	"  proxy_command TEXT,"
	"  transport TEXT NOT NULL DEFAULT 'auto'"
	"    CHECK (transport IN ('auto', 'udp', 'tcp', 'command')),"
	"  tunnel_command TEXT,"
	"  server_command TEXT NOT NULL DEFAULT 'mosh-server',"
	"  predict TEXT NOT NULL DEFAULT 'adaptive'"
	"    CHECK (predict IN ('adaptive', 'always', 'never', 'experimental')),"
	"  known_hosts TEXT,"
	"  hostkey_policy TEXT NOT NULL DEFAULT 'ask'"
	"    CHECK (hostkey_policy IN ('ask', 'accept-new', 'strict')),"
	"  idle_timeout INTEGER NOT NULL DEFAULT 604800 CHECK (idle_timeout >= 0),"
	"  auto_clean INTEGER NOT NULL DEFAULT 0,"
	"  pinned INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  last_used_at INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE host_tags ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  PRIMARY KEY (host_id, pos)"
	");"
	"CREATE TABLE host_locales ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  setting TEXT NOT NULL,"
	"  PRIMARY KEY (host_id, pos)"
	");"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,"
	"  host_name TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('starting', 'up', 'degraded', 'reconnecting',"
	"    'orphaned', 'closed', 'killed', 'failed')),"
	"  path TEXT,"
	"  transport TEXT,"
	"  remote_addr TEXT,"
	"  mosh_port INTEGER NOT NULL DEFAULT 0,"
	"  local_port INTEGER NOT NULL DEFAULT 0,"
	"  server_pid INTEGER NOT NULL DEFAULT 0,"
	"  supervisor_pid INTEGER NOT NULL DEFAULT 0,"
	"  supervisor_start INTEGER NOT NULL DEFAULT 0,"
	"  client_pid INTEGER NOT NULL DEFAULT 0,"
	"  client_start INTEGER NOT NULL DEFAULT 0,"
	"  boot_id TEXT,"
	"  session_key TEXT,"
	"  started_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  ended_at INTEGER NOT NULL DEFAULT 0,"
	"  last_rx_at INTEGER NOT NULL DEFAULT 0,"
	"  last_tx_at INTEGER NOT NULL DEFAULT 0,"
	"  bytes_up INTEGER NOT NULL DEFAULT 0,"
	"  bytes_down INTEGER NOT NULL DEFAULT 0,"
	"  pkts_up INTEGER NOT NULL DEFAULT 0,"
	"  pkts_down INTEGER NOT NULL DEFAULT 0,"
	"  rtt_ms INTEGER NOT NULL DEFAULT -1,"
	"  reconnects INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX sessions_by_end ON sessions(ended_at, id);"
	"CREATE INDEX sessions_by_host ON sessions(host_id);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  message TEXT NOT NULL"
	");"
	"CREATE INDEX events_by_session ON events(session_id, id);",
	/* 1 -> 2: the last scan of each host, for the dashboard and `clean` */
	"CREATE TABLE scans ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
	"  scanned_at INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('ok', 'incomplete', 'unreachable', 'error')),"
	"  message TEXT,"
	"  missing_tools TEXT"
	");"
	"CREATE TABLE scan_servers ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES scans(host_id) ON DELETE CASCADE,"
	"  pid INTEGER NOT NULL,"
	"  ppid INTEGER NOT NULL DEFAULT 0,"
	"  uid INTEGER NOT NULL DEFAULT -1,"
	"  port INTEGER NOT NULL DEFAULT 0,"
	"  start_token TEXT,"
	"  age_s INTEGER NOT NULL DEFAULT -1,"
	"  utmp TEXT,"
	"  tty TEXT,"
	"  class TEXT NOT NULL,"
	"  why TEXT NOT NULL,"
	"  session_id INTEGER NOT NULL DEFAULT 0,"
	"  candidate INTEGER NOT NULL DEFAULT 0,"
	"  candidate_detached INTEGER NOT NULL DEFAULT 0,"
	"  cmdline TEXT"
	");"
	"CREATE INDEX scan_servers_by_host ON scan_servers(host_id, pid);",
	/* 2 -> 3: mosh's own options on a profile (mosh -p, --bind-server, --no-init). */
	"ALTER TABLE hosts ADD COLUMN server_port_lo INTEGER NOT NULL DEFAULT 0"
	"  CHECK (server_port_lo BETWEEN 0 AND 65535);"
	"ALTER TABLE hosts ADD COLUMN server_port_hi INTEGER NOT NULL DEFAULT 0"
	"  CHECK (server_port_hi BETWEEN 0 AND 65535);"
	"ALTER TABLE hosts ADD COLUMN bind_server TEXT;"
	"ALTER TABLE hosts ADD COLUMN no_init INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: is a terminal attached to the session, and since when (ms epoch) */
	/* (Parenthesized: clang takes two literals in a row for a missing comma.) */
	("ALTER TABLE sessions ADD COLUMN attached INTEGER NOT NULL DEFAULT 0;"
	 "ALTER TABLE sessions ADD COLUMN attach_changed_at INTEGER NOT NULL DEFAULT 0;"),
	/* 4 -> 5: mosh's --family on a profile (NULL: all) */
	("ALTER TABLE hosts ADD COLUMN family TEXT CHECK (family IN ('inet', 'inet6', "
	 "  'prefer-inet', 'prefer-inet6', 'auto'));"),
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

_Static_assert(NMIGRATIONS == DB_SCHEMA_VERSION, "one migration per schema version");

int64_t
db_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

const char *
db_error(const struct db *db)
{
	return db->err;
}

const char *
db_path(const struct db *db)
{
	return db->path;
}

void
db_free(void *p)
{
	sqlite3_free(p);
}

int
db_failf(struct db *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof db->err, fmt, ap);
	va_end(ap);
	return DB_ERR;
}

int
db_fail(struct db *db, const char *what)
{
	int code = sqlite3_errcode(db->h);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return db_failf(db, "%s: the database %s is locked by another moshman; try again",
		    what, db->path);
	return db_failf(db, "%s: %s", what, sqlite3_errmsg(db->h));
}

char *
db_strdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = sqlite3_mprintf("%s", s)) == NULL)
		abort(); /* out of memory */
	return p;
}

char *
db_col_text(sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return NULL;
	return db_strdup((const char *)sqlite3_column_text(st, col));
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int i;

	for (i = 0; i < db->nstmts; i++) {
		if (db->stmts[i].sql == sql) {
			st = db->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_fail(db, "preparing a query");
		return NULL;
	}
	if (db->nstmts == DB_MAX_STMTS)
		abort(); /* a programming error: raise DB_MAX_STMTS */
	db->stmts[db->nstmts].sql = sql;
	db->stmts[db->nstmts].st = st;
	db->nstmts++;
	return st;
}

int
db_collect(struct db *db, sqlite3_stmt *st, size_t sz, void (*fill)(sqlite3_stmt *, void *),
    void **out, size_t *n, const char *what)
{
	unsigned char *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = sqlite3_realloc64(v, cap * sz)) == NULL)
				abort(); /* out of memory */
			v = nv;
		}
		memset(v + cnt * sz, 0, sz);
		fill(st, v + cnt * sz);
		cnt++;
	}
	sqlite3_reset(st);
	*out = v;
	*n = cnt;
	if (rc != SQLITE_DONE)
		return db_fail(db, what);
	return DB_OK;
}

int
db_exec_stmt(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			return db_failf(db, "%s: %s", what, sqlite3_errstr(rc));
		return db_fail(db, what);
	}
	return DB_OK;
}

int
db_begin(struct db *db)
{
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "starting a transaction");
	return DB_OK;
}

int
db_begin_read(struct db *db)
{
	if (sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(db, "starting a read");
	return DB_OK;
}

int
db_commit(struct db *db)
{
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "committing");
		db_rollback(db);
		return DB_ERR;
	}
	return DB_OK;
}

void
db_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/* A single-integer pragma or query; -1 on error. */
static int64_t
db_int_query(struct db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		v = -1;
	sqlite3_finalize(st);
	return v;
}

int
db_user_version(struct db *db)
{
	return (int)db_int_query(db, "PRAGMA user_version");
}

/* Refuse files others could read, files that are not plain files, files of other users.
 * Creates a missing file 0600 so SQLite never creates it with the umask's mode. */
static int
db_check_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot use the database %s: %s", path,
			    strerror(errno));
			return DB_ERR;
		}
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1) {
			snprintf(err, errlen, "cannot create the database %s: %s", path,
			    strerror(errno));
			return DB_ERR;
		}
		close(fd);
		return DB_OK;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "the database %s is not a regular file%s", path,
		    S_ISLNK(sb.st_mode) ? " (it is a symbolic link; name the real file)" : "");
		return DB_ERR;
	}
	if (sb.st_uid != getuid()) {
		snprintf(err, errlen,
		    "the database %s belongs to another user (uid %ld); refusing it", path,
		    (long)sb.st_uid);
		return DB_ERR;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "the database %s can be read by others (mode %04o); it holds session keys "
		    "and proxy passwords; run: chmod 600 '%s'",
		    path, (unsigned)(sb.st_mode & 07777), path);
		return DB_ERR;
	}
	return DB_OK;
}

/* Before anything writes: is this an empty file, a moshman database we understand, or
 * something to leave alone? */
static int
db_check_contents(struct db *db)
{
	sqlite3_stmt *st = NULL;
	int rc, ntables = 0;
	int64_t appid, version;

	rc = sqlite3_prepare_v2(db->h, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ntables = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		rc = sqlite3_errcode(db->h);
		if (rc == SQLITE_NOTADB)
			return db_failf(db,
			    "%s is not a SQLite database; left untouched (move it "
			    "away or name another file with --db)",
			    db->path);
		if (rc == SQLITE_CORRUPT)
			return db_failf(db,
			    "the database %s is corrupt; left untouched (restore a "
			    "copy or move it away)",
			    db->path);
		return db_fail(db, "reading the database");
	}
	appid = db_int_query(db, "PRAGMA application_id");
	version = db_int_query(db, "PRAGMA user_version");
	if (appid < 0 || version < 0)
		return db_fail(db, "reading the database header");
	if (version == 0 && appid == 0 && ntables == 0)
		return DB_OK; /* new */
	if (appid != DB_APPLICATION_ID)
		return db_failf(db, "%s is a SQLite database but not moshman's; left untouched",
		    db->path);
	if (version > DB_SCHEMA_VERSION)
		return db_failf(db,
		    "the database %s has schema version %lld, newer than this "
		    "moshman knows (%d); upgrade moshman; the file was left untouched",
		    db->path, (long long)version, DB_SCHEMA_VERSION);
	return DB_OK;
}

static int
db_migrate(struct db *db)
{
	char *msg = NULL, sql[64];
	int v;

	if (db_begin(db) != DB_OK)
		return DB_ERR;
	/* Another process may have migrated while we waited for the lock. */
	v = db_user_version(db);
	if (v > DB_SCHEMA_VERSION) {
		db_rollback(db);
		return db_failf(db, "the database %s was upgraded by a newer moshman meanwhile",
		    db->path);
	}
	for (; v < DB_SCHEMA_VERSION; v++) {
		if (sqlite3_exec(db->h, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
			db_failf(db, "migrating the database to version %d: %s", v + 1,
			    msg ? msg : "unknown error");
			sqlite3_free(msg);
			db_rollback(db);
			return DB_ERR;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
			db_fail(db, "recording the schema version");
			db_rollback(db);
			return DB_ERR;
		}
	}
	snprintf(sql, sizeof sql, "PRAGMA application_id = %d", DB_APPLICATION_ID);
	if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "recording the application id");
		db_rollback(db);
		return DB_ERR;
	}
	return db_commit(db);
}

int
db_open(const char *path, struct db **out, char *err, size_t errlen)
{
	struct db *db = NULL;
	sqlite3_stmt *st = NULL;
	mode_t old_umask;
	int rc;

	*out = NULL;
	if (db_check_file(path, err, errlen) != DB_OK)
		return DB_ERR;
	if ((db = sqlite3_malloc(sizeof *db)) == NULL)
		abort();
	memset(db, 0, sizeof *db);
	db->path = db_strdup(path);
	/* -wal and -shm files take the database's mode, but never looser than 0600. */
	old_umask = umask(077);
	rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	umask(old_umask);
	if (rc != SQLITE_OK) {
		db_failf(db, "cannot open the database %s: %s", path,
		    db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, 5000);
	/* The file is input like any other: no functions from its schema, no writes to
	 * sqlite_master through pragmas. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (db_check_contents(db) != DB_OK)
		goto fail;
	if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		db_fail(db, "switching the database to WAL mode");
		goto fail;
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db->h,
	        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
	        "PRAGMA secure_delete = ON",
	        NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "setting pragmas");
		goto fail;
	}
	if (db_user_version(db) < DB_SCHEMA_VERSION && db_migrate(db) != DB_OK)
		goto fail;
	*out = db;
	return DB_OK;
fail:
	snprintf(err, errlen, "%s", db->err);
	db_close(db);
	return DB_ERR;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (int i = 0; i < db->nstmts; i++)
		sqlite3_finalize(db->stmts[i].st);
	if (db->h != NULL)
		sqlite3_close(db->h);
	sqlite3_free(db->path);
	sqlite3_free(db);
}
