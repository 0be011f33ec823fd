/* SPDX-License-Identifier: MIT */
/* The store: creation, permissions, hostile files, migrations, hosts, sessions. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "src/util/paths.h"
#include "tests/unit/unit.h"

static char dir[256];
static char path[300];
static int seq;

static void
fresh_path(void)
{
	snprintf(path, sizeof path, "%s/sub%d/dir/moshman.db", dir, ++seq);
	if (paths_make_parent(path) != 0) {
		printf("    cannot create %s\n", path);
		exit(1);
	}
}

static void
write_file(const char *p, const void *data, size_t len, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd == -1 || write(fd, data, len) != (ssize_t)len) {
		printf("    cannot write %s\n", p);
		exit(1);
	}
	fchmod(fd, mode);
	close(fd);
}

static size_t
read_file(const char *p, char *buf, size_t len)
{
	int fd = open(p, O_RDONLY);
	ssize_t n;

	if (fd == -1)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static struct db *
open_ok(void)
{
	struct db *db = NULL;
	char err[512] = "";

	if (db_open(path, &db, err, sizeof err) != DB_OK) {
		printf("    db_open: %s\n", err);
		return NULL;
	}
	return db;
}

static void
test_create_permissions(void)
{
	struct db *db;
	struct stat sb;
	char d[512];

	fresh_path();
	CHECK((db = open_ok()) != NULL);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	snprintf(d, sizeof d, "%s/sub%d/dir", dir, seq);
	CHECK(stat(d, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK_INT(db_user_version(db), DB_SCHEMA_VERSION);
	db_close(db);
	/* -wal and -shm are as private as the database. */
	snprintf(d, sizeof d, "%s-wal", path);
	if (stat(d, &sb) == 0)
		CHECK((sb.st_mode & 077) == 0);
	/* Reopening is idempotent. */
	CHECK((db = open_ok()) != NULL);
	CHECK_INT(db_user_version(db), DB_SCHEMA_VERSION);
	db_close(db);
}

static void
test_refuse_readable(void)
{
	struct db *db = NULL;
	char err[512] = "";

	fresh_path();
	CHECK((db = open_ok()) != NULL);
	db_close(db);
	chmod(path, 0644);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_ERR);
	CHECK_HAS(err, "can be read by others");
	CHECK_HAS(err, "chmod 600");
	CHECK(db == NULL);
}

static void
test_refuse_symlink(void)
{
	struct db *db = NULL;
	char err[512] = "", target[512];

	fresh_path();
	snprintf(target, sizeof target, "%s.real", path);
	write_file(target, "", 0, 0600);
	CHECK(symlink(target, path) == 0);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_ERR);
	CHECK_HAS(err, "symbolic link");
}

static void
test_not_sqlite_untouched(void)
{
	static const char garbage[] = "this is not a database, it is a shopping list\n"
	                              "eggs\nmilk\n";
	struct db *db = NULL;
	char err[512] = "", buf[256];
	size_t n;

	fresh_path();
	write_file(path, garbage, sizeof garbage - 1, 0600);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_ERR);
	CHECK_HAS(err, "not a SQLite database");
	CHECK_HAS(err, "untouched");
	n = read_file(path, buf, sizeof buf);
	CHECK_INT(n, sizeof garbage - 1);
	CHECK(memcmp(buf, garbage, sizeof garbage - 1) == 0);
}

static void
test_corrupt_untouched(void)
{
	struct db *db = NULL;
	char err[512] = "", before[8192], after[8192];
	size_t n1, n2;

	fresh_path();
	CHECK((db = open_ok()) != NULL);
	db_close(db);
	n1 = read_file(path, before, sizeof before);
	CHECK(n1 > 100);
	/* Keep the header, scramble the schema page. */
	for (size_t i = 100; i < n1 && i < 4096; i++)
		before[i] = (char)(i * 7);
	write_file(path, before, n1, 0600);
	db_open(path, &db, err, sizeof err);
	if (db != NULL) {
		/* SQLite may open it lazily; a read of the schema must then fail. */
		CHECK(0);
		db_close(db);
	}
	CHECK(strstr(err, "corrupt") != NULL || strstr(err, "not a SQLite") != NULL ||
	    strstr(err, "malformed") != NULL);
	n2 = read_file(path, after, sizeof after);
	CHECK_INT(n2, n1);
	CHECK(memcmp(before, after, n1) == 0);
}

static void
test_newer_schema_refused(void)
{
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char err[512] = "";

	fresh_path();
	CHECK((db = open_ok()) != NULL);
	db_close(db);
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_ERR);
	CHECK_HAS(err, "schema version 99");
	CHECK_HAS(err, "upgrade moshman");
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	{
		sqlite3_stmt *st;
		sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL);
		CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 99);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
}

static void
test_foreign_sqlite_refused(void)
{
	struct db *db = NULL;
	sqlite3 *h = NULL;
	char err[512] = "";

	fresh_path();
	write_file(path, "", 0, 0600);
	CHECK(sqlite3_open(path, &h) == SQLITE_OK);
	CHECK(sqlite3_exec(h, "CREATE TABLE recipes (x)", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(h);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_ERR);
	CHECK_HAS(err, "not moshman's");
}

static char *
sqlite_strdup(const char *s)
{
	return sqlite3_mprintf("%s", s);
}

static void
fill_host(struct db_host *h, const char *name)
{
	memset(h, 0, sizeof *h);
	h->name = sqlite_strdup(name);
	h->hostname = sqlite_strdup("example.org");
	h->port = 2222;
	h->user = sqlite_strdup("alice");
	h->proxy_type = sqlite_strdup("socks5h");
	h->proxy_host = sqlite_strdup("::1");
	h->proxy_port = 1080;
	h->proxy_user = sqlite_strdup("bob");
	h->proxy_pass = sqlite_strdup("s3cret-pw");
	h->idle_timeout = 604800;
	h->ntags = 2;
	h->tags = sqlite3_malloc(2 * sizeof *h->tags);
	h->tags[0] = sqlite_strdup("work");
	h->tags[1] = sqlite_strdup("eu");
	h->nlocales = 1;
	h->locales = sqlite3_malloc(sizeof *h->locales);
	h->locales[0] = sqlite_strdup("LANG=C.UTF-8");
}

static void
test_host_crud(void)
{
	struct db *db;
	struct db_host h, g, *all = NULL;
	size_t n = 0;
	char *json = NULL;

	fresh_path();
	if ((db = open_ok()) == NULL) {
		CHECK(0);
		return;
	}
	fill_host(&h, "web1");
	CHECK_INT(db_host_insert(db, &h), DB_OK);
	CHECK(h.id > 0);
	CHECK_INT(db_host_insert(db, &h), DB_EXISTS);
	CHECK_HAS(db_error(db), "exists already");

	CHECK_INT(db_host_get(db, "web1", &g), DB_OK);
	CHECK_STR(g.hostname, "example.org");
	CHECK_INT(g.port, 2222);
	CHECK_STR(g.transport, "auto");
	CHECK_STR(g.server_command, "mosh-server");
	CHECK_STR(g.hostkey_policy, "ask");
	CHECK_INT(g.ntags, 2);
	CHECK(g.ntags == 2 && strcmp(g.tags[0], "work") == 0 && strcmp(g.tags[1], "eu") == 0);
	CHECK(g.nlocales == 1 && strcmp(g.locales[0], "LANG=C.UTF-8") == 0);
	CHECK_STR(g.proxy_pass, "s3cret-pw");

	/* JSON: valid, password masked, IPv6 proxy in brackets. */
	CHECK_INT(db_host_json(db, "web1", &json), DB_OK);
	CHECK(json != NULL && strstr(json, "s3cret") == NULL);
	CHECK_HAS(json, "\"proxy\":\"socks5h://bob:***@[::1]:1080\"");
	CHECK_HAS(json, "\"tags\":[\"work\",\"eu\"]");
	CHECK_HAS(json, "\"pinned\":false");
	db_free(json);

	/* Update: rename, drop a tag. */
	sqlite3_free(g.name);
	g.name = sqlite_strdup("web2");
	g.ntags = 1;
	CHECK_INT(db_host_update(db, &g), DB_OK);
	g.ntags = 2;
	db_host_clear(&g);
	CHECK_INT(db_host_get(db, "web1", &g), DB_NOTFOUND);
	CHECK_INT(db_host_get(db, "web2", &g), DB_OK);
	CHECK_INT(g.ntags, 1);
	db_host_clear(&g);

	/* A rename onto an existing name is refused. */
	db_host_clear(&h);
	fill_host(&h, "web3");
	CHECK_INT(db_host_insert(db, &h), DB_OK);
	sqlite3_free(h.name);
	h.name = sqlite_strdup("web2");
	CHECK_INT(db_host_update(db, &h), DB_EXISTS);
	db_host_clear(&h);

	/* Order: pinned first, then recent. */
	CHECK_INT(db_host_get(db, "web3", &g), DB_OK);
	CHECK_INT(db_host_set_pinned(db, g.id, 1), DB_OK);
	db_host_clear(&g);
	CHECK_INT(db_host_list(db, &all, &n), DB_OK);
	CHECK_INT(n, 2);
	CHECK(n == 2 && strcmp(all[0].name, "web3") == 0);
	db_host_list_free(all, n);

	CHECK_INT(db_host_json(db, NULL, &json), DB_OK);
	CHECK(json != NULL && json[0] == '[');
	db_free(json);

	CHECK_INT(db_host_delete(db, "web2"), DB_OK);
	CHECK_INT(db_host_delete(db, "web2"), DB_NOTFOUND);
	db_close(db);
}

static void
test_sessions(void)
{
	struct db *db;
	struct db_session s, g;
	struct db_host h;
	char *json = NULL;
	size_t n = 0;
	struct db_session *v = NULL;

	fresh_path();
	if ((db = open_ok()) == NULL) {
		CHECK(0);
		return;
	}
	fill_host(&h, "box");
	CHECK_INT(db_host_insert(db, &h), DB_OK);
	memset(&s, 0, sizeof s);
	s.host_id = h.id;
	s.host_name = "box";
	s.state = "starting";
	s.session_key = "AAAAAAAAAAAAAAAAAAAAAA";
	s.mosh_port = 60001;
	s.supervisor_pid = 1234;
	s.rtt_ms = -1;
	CHECK_INT(db_session_insert(db, &s), DB_OK);
	CHECK(s.id > 0);
	s.state = "up";
	s.bytes_up = 10;
	s.last_rx_at = db_now_ms() - 1500;
	CHECK_INT(db_session_update(db, &s), DB_OK);
	CHECK_INT(db_session_json(db, 0, &json), DB_OK);
	CHECK(json != NULL && strstr(json, "AAAAAAAAAAAAAAAAAAAAAA") == NULL);
	CHECK_HAS(json, "\"state\":\"up\"");
	CHECK_HAS(json, "\"last_rx_ms_ago\":");
	db_free(json);
	CHECK_INT(db_host_json(db, "box", &json), DB_OK);
	CHECK_HAS(json, "\"live_sessions\":1");
	db_free(json);

	CHECK_INT(db_session_set_state(db, s.id, "closed", "mosh-client exited"), DB_OK);
	CHECK_INT(db_session_get(db, s.id, &g), DB_OK);
	CHECK_STR(g.state, "closed");
	CHECK(g.session_key == NULL);
	CHECK(g.ended_at > 0);
	db_session_clear(&g);
	/* A late stats write must not bring the key back. */
	CHECK_INT(db_session_update(db, &s), DB_OK);
	CHECK_INT(db_session_get(db, s.id, &g), DB_OK);
	CHECK(g.session_key == NULL);
	db_session_clear(&g);

	CHECK_INT(db_session_list(db, 0, &v, &n), DB_OK);
	CHECK_INT(n, 0);
	db_session_list_free(v, n);
	CHECK_INT(db_session_list(db, 1, &v, &n), DB_OK);
	CHECK_INT(n, 1);
	db_session_list_free(v, n);
	CHECK_INT(db_session_set_state(db, s.id, "bogus", NULL), DB_ERR);
	CHECK_INT(db_session_set_state(db, 999, "closed", NULL), DB_NOTFOUND);
	CHECK_INT(db_event_json(db, s.id, &json), DB_OK);
	CHECK_HAS(json, "mosh-client exited");
	db_free(json);
	/* Deleting the profile keeps the history. */
	CHECK_INT(db_host_delete(db, "box"), DB_OK);
	CHECK_INT(db_session_get(db, s.id, &g), DB_OK);
	CHECK_INT(g.host_id, 0);
	CHECK_STR(g.host_name, "box");
	db_session_clear(&g);
	db_host_clear(&h);
	db_close(db);
}

static void
test_scans(void)
{
	struct db *db;
	struct db_host h;
	struct db_scan scan = { 0 }, got;
	struct db_scan_server sv[2], *v = NULL;
	size_t n = 0;
	int64_t ver;

	fresh_path();
	if ((db = open_ok()) == NULL) {
		CHECK(0);
		return;
	}
	fill_host(&h, "scanme");
	CHECK_INT(db_host_insert(db, &h), DB_OK);
	CHECK_INT(db_scan_get(db, h.id, &got, &v, &n), DB_NOTFOUND);
	memset(sv, 0, sizeof sv);
	sv[0].pid = 100;
	sv[0].port = 60001;
	sv[0].class_ = "ours-orphaned";
	sv[0].why = "supervisor 42 is gone";
	sv[0].candidate = 1;
	sv[1].pid = 200;
	sv[1].class_ = "attached";
	sv[1].why = "utmp: via mosh [200]";
	scan.host_id = h.id;
	scan.status = "ok";
	ver = db_data_version(db);
	CHECK(ver >= 0);
	CHECK_INT(db_scan_save(db, &scan, sv, 2), DB_OK);
	CHECK_INT(db_scan_get(db, h.id, &got, &v, &n), DB_OK);
	CHECK_STR(got.status, "ok");
	CHECK_INT(n, 2);
	CHECK(n == 2 && v[0].pid == 100 && v[0].candidate == 1 && v[1].candidate == 0);
	CHECK(n == 2 && strcmp(v[1].class_, "attached") == 0);
	db_scan_servers_free(v, n);
	db_scan_clear(&got);
	{
		char *json = NULL;

		CHECK_INT(db_scan_json(db, h.id, &json), DB_OK);
		CHECK_HAS(json, "\"host\":\"scanme\"");
		CHECK_HAS(json, "\"class\":\"ours-orphaned\"");
		CHECK_HAS(json, "\"candidate\":true");
		CHECK_HAS(json, "\"port\":60001");
		db_free(json);
	}
	/* A rescan replaces the list. */
	CHECK_INT(db_scan_save(db, &scan, sv + 1, 1), DB_OK);
	CHECK_INT(db_scan_get(db, h.id, &got, &v, &n), DB_OK);
	CHECK_INT(n, 1);
	db_scan_servers_free(v, n);
	db_scan_clear(&got);
	/* Deleting the host deletes its scan. */
	CHECK_INT(db_host_delete(db, "scanme"), DB_OK);
	CHECK_INT(db_scan_get(db, h.id, &got, &v, &n), DB_NOTFOUND);
	db_host_clear(&h);
	db_close(db);
}

/* Two processes write at once: the busy timeout and IMMEDIATE transactions serialise
 * them and nothing is lost. */
static void
test_concurrent_writers(void)
{
	struct db *db;
	pid_t pids[2];
	int status, ok = 1;
	struct db_host *all = NULL;
	size_t n = 0;

	fresh_path();
	if ((db = open_ok()) == NULL) {
		CHECK(0);
		return;
	}
	db_close(db);
	for (int p = 0; p < 2; p++) {
		if ((pids[p] = fork()) == 0) {
			struct db *d = open_ok();
			struct db_host h;
			char name[32];

			if (d == NULL)
				_exit(1);
			for (int i = 0; i < 50; i++) {
				snprintf(name, sizeof name, "p%d-h%d", p, i);
				fill_host(&h, name);
				if (db_host_insert(d, &h) != DB_OK)
					_exit(2);
				db_host_clear(&h);
			}
			db_close(d);
			_exit(0);
		}
	}
	for (int p = 0; p < 2; p++) {
		if (waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			ok = 0;
	}
	CHECK(ok);
	CHECK((db = open_ok()) != NULL);
	CHECK_INT(db_host_list(db, &all, &n), DB_OK);
	CHECK_INT(n, 100);
	db_host_list_free(all, n);
	db_close(db);
}

int
main(void)
{
	char cmd[300];

	UNIT_BEGIN("test_db");
	snprintf(dir, sizeof dir, "%s/moshman-test-db.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_create_permissions);
	RUN(test_refuse_readable);
	RUN(test_refuse_symlink);
	RUN(test_not_sqlite_untouched);
	RUN(test_corrupt_untouched);
	RUN(test_newer_schema_refused);
	RUN(test_foreign_sqlite_refused);
	RUN(test_host_crud);
	RUN(test_sessions);
	RUN(test_scans);
	RUN(test_concurrent_writers);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", dir);
	UNIT_END();
}
