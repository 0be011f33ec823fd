/* SPDX-License-Identifier: MIT */
/* moshman sessions: the session table, after noticing dead supervisors. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/session/liveness.h"
#include "src/util/clock.h"
#include "src/util/fmt.h"
#include "src/util/xmalloc.h"

#define NCOL 16

/* TERMINAL and SINCE: is a terminal attached to a live session, since how long. */
static void
terminal_cells(const struct db_session *s, char *term, char *since, size_t len)
{
	snprintf(term, len, "-");
	snprintf(since, len, "-");
	if (!db_session_is_live_state(s->state) || s->attach_changed_at <= 0)
		return;
	snprintf(term, len, "%s", s->attached ? "attached" : "detached");
	fmt_ago(s->attach_changed_at, since, len);
}

static int
print_table(struct db *db, int all)
{
	static const char *const head[NCOL] = { "ID", "HOST", "STATE", "PATH", "PORT", "SERVER",
		"SUPERVISOR", "CLIENT", "STARTED", "RX_MS_AGO", "UP", "DOWN", "RECONNECTS",
		"TRANSPORT", "TERMINAL", "SINCE" };
	struct db_session *v = NULL;
	size_t n = 0;
	char ***cells;
	size_t w[NCOL];
	int64_t now = clock_epoch_ms();

	if (db_session_list(db, all, &v, &n) != DB_OK)
		return cmd_fail("%s", db_error(db));
	cells = xcalloc(n + 1, sizeof *cells);
	for (size_t c = 0; c < NCOL; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		char buf[NCOL][64];
		const struct db_session *s = &v[i];

		snprintf(buf[0], sizeof buf[0], "%" PRId64, s->id);
		snprintf(buf[1], sizeof buf[1], "%s", s->host_name);
		/* Orphaned while its supervisor still tries to stop the server. */
		snprintf(buf[2], sizeof buf[2], "%s%s", s->state,
		    strcmp(s->state, "orphaned") == 0 && liveness_supervisor_alive(s) ? "/stopping"
		                                                                      : "");
		snprintf(buf[3], sizeof buf[3], "%s", s->path != NULL ? s->path : "-");
		fmt_known(s->mosh_port, buf[4], sizeof buf[4]);
		fmt_known(s->server_pid, buf[5], sizeof buf[5]);
		fmt_known(s->supervisor_pid, buf[6], sizeof buf[6]);
		fmt_known(s->client_pid, buf[7], sizeof buf[7]);
		fmt_localtime(s->started_at, buf[8], sizeof buf[8]);
		fmt_ms_since(s->last_rx_at, now, buf[9], sizeof buf[9]);
		snprintf(buf[10], sizeof buf[10], "%" PRId64, s->bytes_up);
		snprintf(buf[11], sizeof buf[11], "%" PRId64, s->bytes_down);
		snprintf(buf[12], sizeof buf[12], "%d", s->reconnects);
		snprintf(buf[13], sizeof buf[13], "%s", s->transport != NULL ? s->transport : "-");
		terminal_cells(s, buf[14], buf[15], sizeof buf[14]);
		cells[i] = xcalloc(NCOL, sizeof **cells);
		for (size_t c = 0; c < NCOL; c++) {
			cells[i][c] = xstrdup(buf[c]);
			if (strlen(buf[c]) > w[c])
				w[c] = strlen(buf[c]);
		}
	}
	for (size_t c = 0; c < NCOL; c++)
		printf("%-*s%s", (int)w[c], head[c], c + 1 < NCOL ? "  " : "\n");
	for (size_t i = 0; i < n; i++) {
		for (size_t c = 0; c < NCOL; c++) {
			printf("%-*s%s", (int)w[c], cells[i][c], c + 1 < NCOL ? "  " : "\n");
			free(cells[i][c]);
		}
		free(cells[i]);
	}
	free(cells);
	if (n == 0)
		printf("(no live sessions)\n");
	db_session_list_free(v, n);
	return 0;
}

static int
cmd_sessions_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct db *db;
	char *json = NULL;
	int ch, all = 0, as_json = 0;

	/* 0, not 1: glibc then forgets the "+" ordering main() used, so options may
	 * follow the operand. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			return cmd_usage("usage: moshman sessions [--all] [--json]");
		}
	}
	if (optind != argc)
		return cmd_usage("usage: moshman sessions [--all] [--json]");
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	if (liveness_reap(db) == -1)
		return cmd_fail("%s", db_error(db));
	if (!as_json)
		return print_table(db, all);
	if (db_session_json(db, all, &json) != DB_OK)
		return cmd_fail("%s", db_error(db));
	printf("%s\n", json);
	db_free(json);
	return 0;
}

static void
cmd_sessions_help(FILE *f)
{
	fputs("\nLive and orphaned sessions by default, every recorded session with --all.  A\n"
	      "session whose supervisor is gone (checked by pid, process start time and boot\n"
	      "id) is marked orphaned first; its mosh-server may still run on the host until\n"
	      "'moshman clean' ends it.  A session that ended while its link was down is\n"
	      "orphaned/stopping while its supervisor keeps trying to stop the server.\n"
	      "closed and failed mean mosh-server is known gone.  TERMINAL says whether a\n"
	      "terminal is attached to a running session (moshman attach) and SINCE for how\n"
	      "long.\n"
	      "\n"
	      "  --all    ended sessions too (closed, failed, killed)\n"
	      "  --json   a JSON array (no session keys)\n",
	    f);
}

const struct cmd cmd_sessions = {
	"sessions",
	"[--all] [--json]",
	"list sessions (live and orphaned ones; --all for ended ones too)",
	cmd_sessions_run,
	cmd_sessions_help,
};
