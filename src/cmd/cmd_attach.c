/* SPDX-License-Identifier: MIT */
/* moshman attach [ID|HOST]: this terminal becomes the one attached to a live session. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/session/attachclient.h"
#include "src/session/liveness.h"

#define ATTACH_USAGE "usage: moshman attach [SESSION_ID|HOST_NAME]"

/* A session id: 1 to 18 digits. */
static int
attach_parse_id(const char *a, int64_t *id)
{
	size_t n = strlen(a);

	if (n == 0 || n > 18 || strspn(a, "0123456789") != n)
		return -1;
	*id = strtoll(a, NULL, 10);
	return *id > 0 ? 0 : -1;
}

/* Running: live and mosh-client started (a session still connecting has nothing to
 * attach to yet). */
static int
attach_running(const struct db_session *s)
{
	return db_session_is_live_state(s->state) && strcmp(s->state, "starting") != 0;
}

/* The session arg names: a running session with that id, else the newest running
 * session of the host of that name (NULL: the newest running session of all).  0 with
 * *id and its supervisor's *pid set; else the exit status after a message. */
static int
attach_resolve(struct db *db, const char *arg, int64_t *id, int64_t *pid)
{
	struct db_session one, *v = NULL;
	size_t n = 0;
	int rc;

	memset(&one, 0, sizeof one);
	if (arg != NULL && attach_parse_id(arg, id) == 0) {
		rc = db_session_get(db, *id, &one);
		if (rc == DB_OK && attach_running(&one)) {
			*pid = one.supervisor_pid;
			db_session_clear(&one);
			return 0;
		}
		if (rc == DB_OK && strcmp(one.state, "starting") == 0) {
			db_session_clear(&one);
			return cmd_fail("session %s is still starting; attach once it is up", arg);
		}
		db_session_clear(&one);
	}
	if (db_session_list(db, 0, &v, &n) != DB_OK)
		return cmd_fail("%s", db_error(db));
	*id = 0;
	for (size_t i = 0; i < n && *id == 0; i++) {
		if (attach_running(&v[i]) && (arg == NULL || strcmp(v[i].host_name, arg) == 0)) {
			*id = v[i].id;
			*pid = v[i].supervisor_pid;
		}
	}
	db_session_list_free(v, n);
	if (*id > 0)
		return 0;
	if (arg == NULL)
		return cmd_fail("no running session to attach to; see 'moshman sessions', or "
		                "start one with 'moshman connect NAME'");
	return cmd_fail("no running session '%s' (by id or host); see 'moshman sessions', or "
	                "start one with 'moshman connect NAME'",
	    arg);
}

static int
cmd_attach_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct attachclient c;
	struct db *db;
	char err[512];
	int64_t id = 0, pid = 0;
	int rc;

	if (argc > 2 ||
	    (argc == 2 && (argv[1][0] == '-' || argv[1][0] == '\0' || strlen(argv[1]) > 255)))
		return cmd_usage(ATTACH_USAGE);
	memset(&c, 0, sizeof c);
	if (attachclient_detach_key(&c.detach_key, err, sizeof err) == -1)
		return cmd_usage("%s", err);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return cmd_fail("attach needs a terminal and this is not one; run moshman attach "
		                "in a terminal");
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	/* A session whose supervisor died is marked first, so it is not picked. */
	if (liveness_reap(db) == -1)
		return cmd_fail("%s", db_error(db));
	if ((rc = attach_resolve(db, argc == 2 ? argv[1] : NULL, &id, &pid)) != 0)
		return rc;
	cmd_ctx_close(ctx);
	signal(SIGPIPE, SIG_IGN);
	if ((c.fd = attachclient_connect(id, pid, err, sizeof err)) == -1)
		return cmd_fail("%s", err);
	if (attachclient_hello(&c, err, sizeof err) == -1) {
		close(c.fd);
		return cmd_fail("session %lld did not take this terminal: %s", (long long)id, err);
	}
	attachclient_run(&c);
	rc = attachclient_report(&c);
	close(c.fd);
	return rc;
}

static void
cmd_attach_help(FILE *f)
{
	fputs("\nAttaches this terminal to a running session: by its id, by host (that host's\n"
	      "newest running session), or without an argument the newest running session.\n"
	      "The screen is drawn again at once, at this terminal's size.  A terminal that\n"
	      "was attached before lets go and says so.\n"
	      "\n"
	      "Ctrl-^ d detaches again (MOSHMAN_DETACH_KEY sets the key after Ctrl-^, e.g.\n"
	      "x or ^B); closing the window detaches too.  Everything else you type goes to\n"
	      "mosh-client unchanged, its own Ctrl-^ . (quit), Ctrl-^ Ctrl-Z and Ctrl-^ ^\n"
	      "included; mosh-client's suspend (Ctrl-^ Ctrl-Z) detaches.  The session ends\n"
	      "when its shell exits or mosh-client quits.\n"
	      "\n"
	      "Only the user who started a session can attach to it: its socket is in a\n"
	      "0700 directory ($XDG_RUNTIME_DIR/moshman, else /tmp/moshman-UID) and the\n"
	      "supervisor checks the peer's uid.\n"
	      "\n"
	      "Exit status: 0 when detached or taken over, mosh-client's when the session\n"
	      "ended while attached, 1 when there is nothing to attach to.\n",
	    f);
}

const struct cmd cmd_attach = {
	"attach",
	"[SESSION_ID|HOST_NAME]",
	"attach this terminal to a running session (Ctrl-^ d detaches)",
	cmd_attach_run,
	cmd_attach_help,
};
