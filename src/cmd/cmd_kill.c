/* SPDX-License-Identifier: MIT */
/* moshman kill SESSION_ID|HOST_NAME: end a live session from outside, through its
 * supervisor, which ends it by the ending rule (src/session/ending.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/session/liveness.h"
#include "src/session/reconnect.h"

#define KILL_USAGE "usage: moshman kill SESSION_ID|HOST_NAME"
/* How long kill waits to report the outcome: mosh-client's own shutdown, then the stop
 * script (SIGTERM, 2 s, SIGKILL) over the link. */
#define KILL_WAIT_MS 15000

/* Live, or ending with its supervisor still trying to reach the host (asked again, it
 * stops waiting and leaves the row orphaned for clean). */
static int
kill_wanted(const struct db_session *s)
{
	return db_session_is_live_state(s->state) ||
	    (strcmp(s->state, "orphaned") == 0 && liveness_supervisor_alive(s));
}

/* The row's last word once the supervisor is done (or KILL_WAIT_MS passed). */
static void
kill_report(struct db *db, const struct db_session *s)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	struct db_session now;
	int waited = 0, alive = 1;

	memset(&now, 0, sizeof now);
	while (waited < KILL_WAIT_MS) {
		db_session_clear(&now);
		if (db_session_get(db, s->id, &now) != DB_OK)
			break;
		if (!(alive = liveness_supervisor_alive(&now)))
			break;
		nanosleep(&nap, NULL);
		waited += 100;
	}
	if (now.state == NULL)
		printf("session %lld (%s): asked to end\n", (long long)s->id, s->host_name);
	else if (alive)
		printf("session %lld (%s): asked to end; still %s after %d s (see 'moshman "
		       "sessions')\n",
		    (long long)s->id, s->host_name, now.state, KILL_WAIT_MS / 1000);
	else
		printf("session %lld (%s): %s%s\n", (long long)s->id, s->host_name, now.state,
		    strcmp(now.state, "orphaned") == 0 ? ": its mosh-server was not confirmed "
		                                         "stopped; 'moshman clean' ends it"
		                                       : ": mosh-server stopped");
	db_session_clear(&now);
}

static int
kill_one(struct db *db, const struct db_session *s)
{
	char msg[512];

	if (!kill_wanted(s)) {
		fprintf(stderr, "moshman: session %lld (%s) is %s: nothing to kill%s\n",
		    (long long)s->id, s->host_name, s->state,
		    strcmp(s->state, "orphaned") == 0
		        ? "; its supervisor is gone: 'moshman clean' ends its mosh-server"
		        : "");
		return EXIT_FAIL;
	}
	if (reconnect_signal(db, s, SIGUSR1, msg, sizeof msg) == -1) {
		fprintf(stderr, "moshman: %s\n", msg);
		return EXIT_FAIL;
	}
	kill_report(db, s);
	return 0;
}

static int
cmd_kill_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0' || strlen(argv[1]) > 255)
		return cmd_usage(KILL_USAGE);
	return cmd_reconnect_each(ctx, argv[1], kill_wanted, kill_one);
}

static void
cmd_kill_help(FILE *f)
{
	fputs("\nEnds a live session (or every live session of a host) from outside, as exit\n"
	      "in the remote shell would: its supervisor ends mosh-client, stops mosh-server\n"
	      "over the link and closes the row.  When the link is down the supervisor keeps\n"
	      "trying (the row says orphaned meanwhile); kill it again to stop waiting: the\n"
	      "row stays orphaned and 'moshman clean' ends the server later.\n"
	      "\n"
	      "Before it signals (SIGUSR1) it checks that the recorded pid is still that\n"
	      "supervisor (pid, start time and boot), so a reused pid is never signalled.  It\n"
	      "waits up to 15 s and prints how the session ended.\n"
	      "\n"
	      "Exit status: 0 when every session was asked, 1 when there is no such live\n"
	      "session or its supervisor is gone, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_kill = {
	"kill",
	"SESSION_ID|HOST_NAME",
	"end a live session: mosh-client, then mosh-server over the link",
	cmd_kill_run,
	cmd_kill_help,
};
