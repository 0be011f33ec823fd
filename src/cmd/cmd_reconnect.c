/* SPDX-License-Identifier: MIT */
/* moshman reconnect SESSION_ID|HOST_NAME: rebuild a live session's link now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/session/reconnect.h"

#define RECONNECT_USAGE "usage: moshman reconnect SESSION_ID|HOST_NAME"

/* A session id: 1 to 18 digits. */
static int
reconnect_parse_id(const char *a, int64_t *id)
{
	size_t n = strlen(a);

	if (n == 0 || n > 18 || strspn(a, "0123456789") != n)
		return -1;
	*id = strtoll(a, NULL, 10);
	return *id > 0 ? 0 : -1;
}

static int
reconnect_one(struct db *db, const struct db_session *s)
{
	char msg[512];

	if (reconnect_request(db, s->id, msg, sizeof msg) == -1) {
		fprintf(stderr, "moshman: %s\n", msg);
		return EXIT_FAIL;
	}
	printf("%s\n", msg);
	return 0;
}

static int
reconnect_live(const struct db_session *s)
{
	return db_session_is_live_state(s->state);
}

int
cmd_reconnect_each(struct cmd_ctx *ctx, const char *arg, int (*wanted)(const struct db_session *),
    int (*one)(struct db *, const struct db_session *))
{
	struct db_session one_s, *v = NULL;
	struct db *db;
	size_t n = 0, matched = 0;
	int64_t id;
	int rc = 0;

	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	/* No liveness_reap() first: a dead supervisor is found (and its session marked)
	 * by the request, which then says so about this very session. */
	/* A wanted session with that id wins; another one only when no host of that name
	 * (profile names may be all digits) has a wanted session. */
	memset(&one_s, 0, sizeof one_s);
	id = 0;
	if (reconnect_parse_id(arg, &id) == 0) {
		rc = db_session_get(db, id, &one_s);
		if (rc == DB_OK && wanted(&one_s)) {
			rc = one(db, &one_s);
			db_session_clear(&one_s);
			return rc;
		}
		if (rc != DB_OK && rc != DB_NOTFOUND)
			return cmd_fail("%s", db_error(db));
		if (rc == DB_NOTFOUND)
			id = 0;
		rc = 0;
	}
	if (db_session_list(db, 0, &v, &n) != DB_OK) {
		db_session_clear(&one_s);
		return cmd_fail("%s", db_error(db));
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].host_name, arg) != 0 || !wanted(&v[i]))
			continue;
		matched++;
		if (one(db, &v[i]) != 0)
			rc = EXIT_FAIL;
	}
	db_session_list_free(v, n);
	if (matched == 0 && id > 0) {
		/* Says why this session cannot be asked (closed, orphaned...). */
		rc = one(db, &one_s);
		db_session_clear(&one_s);
		return rc;
	}
	db_session_clear(&one_s);
	if (matched == 0)
		return cmd_fail("no live session with id or host name '%s'; see 'moshman "
		                "sessions'",
		    arg);
	return rc;
}

static int
cmd_reconnect_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0' || strlen(argv[1]) > 255)
		return cmd_usage(RECONNECT_USAGE);
	return cmd_reconnect_each(ctx, argv[1], reconnect_live, reconnect_one);
}

static void
cmd_reconnect_help(FILE *f)
{
	fputs("\nAsks the supervisor of a live session (or of every live session of a host)\n"
	      "to rebuild its link now, as the dashboard's r does.  mosh-client keeps\n"
	      "running.  What happens depends on the path:\n"
	      "\n"
	      "  tcp      the tunnel is dropped and rebuilt at once (reconnects + 1); a\n"
	      "           tunnel that gave up (a changed host key) tries again\n"
	      "  auto     on tcp: UDP is probed now and the tunnel rebuilt; on udp: the\n"
	      "           standby tunnel is rebuilt only if it is down\n"
	      "  command  the tunnel command is restarted (reconnects + 1)\n"
	      "  udp      nothing to rebuild (mosh roams by itself); the request is recorded\n"
	      "\n"
	      "Before it signals (SIGUSR2) it checks that the recorded pid is still that\n"
	      "supervisor (pid, start time and boot), so a reused pid is never signalled; a\n"
	      "supervisor that is gone gets its session marked orphaned.\n"
	      "\n"
	      "Exit status: 0 when every session was asked, 1 when there is no such live\n"
	      "session or a supervisor is gone, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_reconnect = {
	"reconnect",
	"SESSION_ID|HOST_NAME",
	"rebuild a live session's link now (mosh-client keeps running)",
	cmd_reconnect_run,
	cmd_reconnect_help,
};
