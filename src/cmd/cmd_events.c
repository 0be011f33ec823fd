/* SPDX-License-Identifier: MIT */
/* moshman events ID [--json]: what happened in a session, oldest first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/util/fmt.h"

#define EVENTS_USAGE "usage: moshman events SESSION_ID [--json]"

static int
cmd_events_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct db_session s;
	struct db_event *v = NULL;
	struct db *db;
	char *json = NULL, *end;
	size_t n = 0;
	long long id;
	int ch, as_json = 0, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'j')
			return cmd_usage(EVENTS_USAGE);
		as_json = 1;
	}
	if (optind != argc - 1)
		return cmd_usage(EVENTS_USAGE);
	id = strtoll(argv[optind], &end, 10);
	if (*argv[optind] == '\0' || *end != '\0' || id <= 0 || strlen(argv[optind]) > 18)
		return cmd_usage("'%s' is not a session id; see 'moshman sessions --all'",
		    argv[optind]);
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	memset(&s, 0, sizeof s);
	rc = db_session_get(db, id, &s);
	if (rc == DB_NOTFOUND)
		return cmd_fail("no session %lld; see 'moshman sessions --all'", id);
	if (rc != DB_OK)
		return cmd_fail("%s", db_error(db));
	if (as_json) {
		db_session_clear(&s);
		if (db_event_json(db, id, &json) != DB_OK)
			return cmd_fail("%s", db_error(db));
		printf("%s\n", json);
		db_free(json);
		return 0;
	}
	if (db_event_list(db, id, &v, &n) != DB_OK) {
		db_session_clear(&s);
		return cmd_fail("%s", db_error(db));
	}
	printf("session %lld (%s), %s\n", id, s.host_name, s.state);
	for (size_t i = 0; i < n; i++) {
		char when[32];

		fmt_localtime(v[i].at, when, sizeof when);
		/* Messages quote remote hosts and proxies: nothing unprintable on the
		 * terminal (the copy is SQLite's, ours to change). */
		printf("%s  %-8s %s\n", when, fmt_printable(v[i].kind),
		    fmt_printable(v[i].message));
	}
	db_event_list_free(v, n);
	db_session_clear(&s);
	return 0;
}

static void
cmd_events_help(FILE *f)
{
	fputs("\nWhat happened in one session, oldest first: the route and each connection\n"
	      "step, authentication, the state changes (up, degraded, reconnecting, closed,\n"
	      "with the reason), path switches, reconnects, and terminals attaching and\n"
	      "detaching.  KIND is start, step, state, path, attach, detach, ...\n"
	      "\n"
	      "  --json   a JSON array of {at (ms since the epoch), kind, message}\n",
	    f);
}

const struct cmd cmd_events = {
	"events",
	"SESSION_ID [--json]",
	"show a session's events (connection steps, state changes, attach and detach)",
	cmd_events_run,
	cmd_events_help,
};
