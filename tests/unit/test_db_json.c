/* SPDX-License-Identifier: MIT */
/* db/db_json.c: JSON written and read by SQLite for host export and import, and the new
 * profile columns (migration 3) surviving a write and a read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/ssh/profile.h"
#include "tests/unit/unit.h"

static char dir[256];

static struct db *
open_db(const char *name)
{
	char path[400], err[512] = "";
	struct db *db = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (db_open(path, &db, err, sizeof err) != DB_OK)
		printf("    db_open: %s\n", err);
	return db;
}

static void
writing(void)
{
	struct db *db = open_db("w.db");
	char *q = NULL, *obj = NULL;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(db_json_quote(db, "a\"b\\c\n\x01", &q), DB_OK);
	CHECK_STR(q, "\"a\\\"b\\\\c\\n\\u0001\"");
	db_free(q);
	CHECK_INT(db_json_quote(db, NULL, &q), DB_OK);
	CHECK_STR(q, "null");
	db_free(q);
	CHECK_INT(db_json_set(db, &obj, "server-port", "\"60500:60510\""), DB_OK);
	CHECK_INT(db_json_set(db, &obj, "init", "true"), DB_OK);
	CHECK_INT(db_json_set(db, &obj, "tag", "[\"a\",\"b\"]"), DB_OK);
	CHECK_STR(obj, "{\"server-port\":\"60500:60510\",\"init\":true,\"tag\":[\"a\",\"b\"]}");
	/* A key that would break out of the JSON path is refused. */
	CHECK_INT(db_json_set(db, &obj, "x\"].y", "1"), DB_ERR);
	db_free(obj);
	db_close(db);
}

static void
reading(void)
{
	struct db *db = open_db("r.db");
	struct db_json_item *v = NULL;
	char *type = NULL;
	size_t n = 0;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(db_json_type(db, "{\"a\":", "$", &type), DB_ERR);
	CHECK_HAS(db_error(db), "not valid JSON");
	CHECK_INT(db_json_type(db, "{}", "$.profiles", &type), DB_NOTFOUND);
	CHECK_INT(db_json_type(db, "{\"p\":[1]}", "$.p", &type), DB_OK);
	CHECK_STR(type, "array");
	db_free(type);
	CHECK_INT(db_json_items(db,
	              "{\"n\":\"web\",\"port\":22,\"on\":true,\"x\":null,"
	              "\"t\":[\"a\"],\"o\":{\"k\":1},\"s\":\"\\u00e9\\n\"}",
	              "$", &v, &n),
	    DB_OK);
	CHECK_INT(n, 7);
	if (n == 7) {
		CHECK_STR(v[0].key, "n");
		CHECK_STR(v[0].type, "text");
		CHECK_STR(v[0].value, "web");
		CHECK_STR(v[1].type, "integer");
		CHECK_STR(v[1].value, "22");
		CHECK_STR(v[2].type, "true");
		CHECK_STR(v[3].type, "null");
		CHECK(v[3].value == NULL);
		CHECK_STR(v[4].type, "array");
		CHECK_STR(v[4].value, "[\"a\"]");
		CHECK_STR(v[5].type, "object");
		CHECK_STR(v[6].value, "\xc3\xa9\n");
	}
	db_json_items_free(v, n);
	/* Arrays: the index is the key. */
	CHECK_INT(db_json_items(db, "[\"x\",2]", "$", &v, &n), DB_OK);
	CHECK_INT(n, 2);
	if (n == 2)
		CHECK_STR(v[1].key, "1");
	db_json_items_free(v, n);
	CHECK_INT(db_json_items(db, "\"scalar\"", "$", &v, &n), DB_ERR);
	db_close(db);
}

static void
new_columns(void)
{
	struct db *db = open_db("h.db");
	struct db_host h, got, copy;
	char *err = NULL;

	if (db == NULL) {
		CHECK(0);
		return;
	}
	profile_defaults(&h, "web");
	CHECK_INT(profile_set(&h, "host", "web.example.org", &err), 0);
	CHECK_INT(profile_set(&h, "server-port", "60500:60510", &err), 0);
	CHECK_INT(profile_set(&h, "bind-server", "any", &err), 0);
	CHECK_INT(profile_set(&h, "no-init", NULL, &err), 0);
	CHECK_INT(db_host_insert(db, &h), DB_OK);
	CHECK_INT(db_host_get(db, "web", &got), DB_OK);
	CHECK_INT(got.server_port_lo, 60500);
	CHECK_INT(got.server_port_hi, 60510);
	CHECK_STR(got.bind_server, "any");
	CHECK_INT(got.no_init, 1);
	CHECK_INT(db_user_version(db), DB_SCHEMA_VERSION);
	/* A deep copy, for the supervisor's in-memory profile. */
	db_host_copy(&copy, &got);
	CHECK(copy.bind_server != got.bind_server);
	CHECK_STR(copy.bind_server, "any");
	CHECK_STR(copy.hostname, "web.example.org");
	db_host_clear(&got);
	CHECK_STR(copy.hostname, "web.example.org");
	db_host_clear(&copy);
	db_host_clear(&h);
	db_close(db);
}

int
main(void)
{
	char cmd[300];

	UNIT_BEGIN("test_db_json");
	snprintf(dir, sizeof dir, "%s/moshman-test-dbjson.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(writing);
	RUN(reading);
	RUN(new_columns);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("    cannot remove %s\n", dir);
	UNIT_END();
}
