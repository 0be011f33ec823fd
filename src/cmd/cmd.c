/* SPDX-License-Identifier: MIT */
#include "src/cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/util/paths.h"
#include "src/util/xmalloc.h"

/* Every command, in the order --help lists them.  Add one line per new command. */

const struct cmd *const cmd_table[] = {
	&cmd_host,
	&cmd_connect,
	&cmd_attach,
	&cmd_sessions,
	&cmd_events,
	&cmd_reconnect,
	&cmd_kill,
	&cmd_relay,
	&cmd_scan,
	&cmd_clean,
	&cmd_tunnel,
	NULL,
};

const struct cmd *
cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i] != NULL; i++) {
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	}
	if (strcmp(name, cmd_complete.name) == 0)
		return &cmd_complete;
	return NULL;
}

struct db *
cmd_db(struct cmd_ctx *ctx)
{
	char err[512], *path;

	if (ctx->db != NULL)
		return ctx->db;
	path = paths_db(ctx->db_path);
	if (paths_make_parent(path) == -1) {
		fprintf(stderr, "moshman: cannot create the directory for %s: %m\n", path);
		free(path);
		return NULL;
	}
	if (db_open(path, &ctx->db, err, sizeof err) != DB_OK) {
		fprintf(stderr, "moshman: %s\n", err);
		ctx->db = NULL;
	}
	free(path);
	return ctx->db;
}

void
cmd_ctx_close(struct cmd_ctx *ctx)
{
	if (ctx->db != NULL)
		db_close(ctx->db);
	ctx->db = NULL;
}

static void cmd_vprint(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void
cmd_vprint(const char *fmt, va_list ap)
{
	fputs("moshman: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
cmd_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_vprint(fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int
cmd_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_vprint(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int
cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

void
cmd_print_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "usage: moshman %s %s\n\n%s\n", c->name, c->args, c->summary);
	if (c->help != NULL)
		c->help(f);
}
