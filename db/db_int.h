/* SPDX-License-Identifier: MIT */
/* Inside the db layer only. */
#ifndef MOSHMAN_DB_INT_H
#define MOSHMAN_DB_INT_H

#include <sqlite3.h>

#include "db/db.h"

#define DB_MAX_STMTS 64

struct db {
	sqlite3 *h;
	char *path;
	char err[512];
	struct {
		const char *sql; /* identity: the caller's static string */
		sqlite3_stmt *st;
	} stmts[DB_MAX_STMTS];
	int nstmts;
};

/* The prepared statement for sql (prepared on first use, then reused), reset and with
 * its bindings cleared.  NULL with db_error() set on failure. */
sqlite3_stmt *db_stmt(struct db *, const char *sql);
/* Record the connection's current error as "what: sqlite's message"; returns DB_ERR. */
int db_fail(struct db *, const char *what);
int db_failf(struct db *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A copy of a column as text, NULL for SQL NULL.  Aborts on out-of-memory. */
char *db_col_text(sqlite3_stmt *, int col);
/* Bind text or NULL. */
int db_bind_text(sqlite3_stmt *, int idx, const char *);
/* Step st to its end, appending one zeroed element of size sz per row to *out, filled by
 * fill(st, elem).  On failure the elements filled so far are left for the caller to free
 * (*n counts them) and DB_ERR is returned with the error recorded as "what: ...". */
int db_collect(struct db *, sqlite3_stmt *st, size_t sz, void (*fill)(sqlite3_stmt *, void *),
    void **out, size_t *n, const char *what);
/* Run a statement that returns no rows; reset it afterwards. */
int db_exec_stmt(struct db *, sqlite3_stmt *, const char *what);

#endif
