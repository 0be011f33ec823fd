/* SPDX-License-Identifier: MIT */
/* JSON in and out for the commands, made and read by SQLite's JSON functions: the same
 * parser the rest of the store trusts, so a hostile file meets a fuzzed parser, and the
 * callers see only typed items. */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

static const char sql_json_quote[] = "SELECT json_quote(?1)";
static const char sql_json_set[] =
    "SELECT json_set(coalesce(?1, '{}'), '$.\"' || ?2 || '\"', json(?3))";
static const char sql_json_type[] =
    "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_type(?1, ?2) END";
static const char sql_json_items[] =
    "SELECT CAST(key AS TEXT), type, CAST(value AS TEXT) FROM json_each(?1, ?2)";

static int
one_text(struct db *db, sqlite3_stmt *st, char **out, const char *what)
{
	int rc = sqlite3_step(st);

	*out = NULL;
	if (rc == SQLITE_ROW)
		*out = db_col_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW || *out == NULL)
		return db_fail(db, what);
	return DB_OK;
}

int
db_json_quote(struct db *db, const char *s, char **out)
{
	sqlite3_stmt *st;

	if ((st = db_stmt(db, sql_json_quote)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, s);
	return one_text(db, st, out, "making JSON");
}

int
db_json_set(struct db *db, char **obj, const char *key, const char *value_json)
{
	sqlite3_stmt *st;
	char *out = NULL;

	if (strchr(key, '"') != NULL || strchr(key, '\\') != NULL)
		return db_failf(db, "a JSON key with a quote or backslash");
	if ((st = db_stmt(db, sql_json_set)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, *obj);
	db_bind_text(st, 2, key);
	db_bind_text(st, 3, value_json != NULL ? value_json : "null");
	if (one_text(db, st, &out, "making JSON") != DB_OK)
		return DB_ERR;
	sqlite3_free(*obj);
	*obj = out;
	return DB_OK;
}

int
db_json_type(struct db *db, const char *json, const char *path, char **type)
{
	sqlite3_stmt *st;
	int rc;

	*type = NULL;
	if ((st = db_stmt(db, sql_json_type)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, json);
	db_bind_text(st, 2, path);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return db_fail(db, "reading JSON");
	}
	if (sqlite3_column_int(st, 0) == 0) {
		sqlite3_reset(st);
		return db_failf(db, "not valid JSON");
	}
	*type = db_col_text(st, 1);
	sqlite3_reset(st);
	if (*type == NULL) {
		db_failf(db, "no %s in the JSON", path);
		return DB_NOTFOUND;
	}
	return DB_OK;
}

static void
read_item(sqlite3_stmt *st, void *elem)
{
	struct db_json_item *it = elem;

	it->key = db_col_text(st, 0);
	it->type = db_col_text(st, 1);
	it->value = db_col_text(st, 2);
}

int
db_json_items(struct db *db, const char *json, const char *path, struct db_json_item **out,
    size_t *n)
{
	sqlite3_stmt *st;
	void *v = NULL;
	char *type = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_json_type(db, json, path, &type)) != DB_OK)
		return rc;
	rc = strcmp(type, "array") == 0 || strcmp(type, "object") == 0;
	sqlite3_free(type);
	if (!rc)
		return db_failf(db, "%s in the JSON is neither an array nor an object", path);
	if ((st = db_stmt(db, sql_json_items)) == NULL)
		return DB_ERR;
	db_bind_text(st, 1, json);
	db_bind_text(st, 2, path);
	if (db_collect(db, st, sizeof **out, read_item, &v, n, "reading JSON") != DB_OK) {
		db_json_items_free(v, *n);
		*n = 0;
		return DB_ERR;
	}
	*out = v;
	return DB_OK;
}

void
db_json_items_free(struct db_json_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_free(v[i].key);
		sqlite3_free(v[i].type);
		sqlite3_free(v[i].value);
	}
	sqlite3_free(v);
}
