/* SPDX-License-Identifier: MIT */
#include "src/session/reconnect.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "db/db.h"
#include "src/session/liveness.h"
#include "src/util/log.h"

/* What the supervisor does on SIGUSR2, as the row tells it. */
static const char *
reconnect_what(const struct db_session *s)
{
	const char *path = s->path != NULL ? s->path : "";
	const char *transport = s->transport != NULL ? s->transport : "";

	if (strcmp(transport, "command") == 0)
		return "restarting the tunnel command";
	if (strcmp(transport, "tcp") == 0)
		return "rebuilding the tunnel (mosh-client keeps running)";
	if (strcmp(transport, "auto") == 0)
		return strcmp(path, "tcp") == 0
		    ? "probing UDP now and rebuilding the tunnel"
		    : "on udp, which roams by itself; the standby tunnel is rebuilt if it is down";
	return "nothing to rebuild: udp has no link of its own (mosh-client roams by "
	       "itself); the request is recorded";
}

static int
reconnect_gone(struct db *db, const struct db_session *s, char *msg, size_t msgsz)
{
	if (liveness_reap(db) == -1)
		log_debug("reconnect: %s", db_error(db));
	snprintf(msg, msgsz,
	    "session %lld (%s): its supervisor (pid %lld) is gone; marked "
	    "%s",
	    (long long)s->id, s->host_name, (long long)s->supervisor_pid,
	    s->mosh_port > 0 ? "orphaned (moshman clean ends its mosh-server)" : "failed");
	return -1;
}

int
reconnect_signal(struct db *db, const struct db_session *s, int sig, char *msg, size_t msgsz)
{
	int fd, rc = -1;

	if (s->supervisor_pid <= 0 || s->supervisor_pid == getpid())
		return reconnect_gone(db, s, msg, msgsz);
	/* The pidfd pins the process: if the pid is reused after the check below, the
	 * signal goes nowhere instead of to a stranger. */
	if ((fd = pidfd_open((pid_t)s->supervisor_pid, 0)) == -1) {
		if (errno == ESRCH)
			return reconnect_gone(db, s, msg, msgsz);
		snprintf(msg, msgsz, "session %lld (%s): cannot check supervisor pid %lld: %s",
		    (long long)s->id, s->host_name, (long long)s->supervisor_pid, strerror(errno));
		return -1;
	}
	if (!liveness_supervisor_alive(s)) {
		close(fd);
		return reconnect_gone(db, s, msg, msgsz);
	}
	if (pidfd_send_signal(fd, sig, NULL, 0) == -1) {
		if (errno == ESRCH)
			rc = reconnect_gone(db, s, msg, msgsz);
		else
			snprintf(msg, msgsz,
			    "session %lld (%s): cannot signal supervisor pid "
			    "%lld: %s",
			    (long long)s->id, s->host_name, (long long)s->supervisor_pid,
			    strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

static int
reconnect_row(struct db *db, const struct db_session *s, char *msg, size_t msgsz)
{
	if (!db_session_is_live_state(s->state)) {
		snprintf(msg, msgsz,
		    "session %lld (%s) is %s: nothing to reconnect; 'moshman "
		    "connect %s' starts a new one",
		    (long long)s->id, s->host_name, s->state, s->host_name);
		return -1;
	}
	if (strcmp(s->state, "starting") == 0) {
		snprintf(msg, msgsz,
		    "session %lld (%s) is still starting; try again once it "
		    "is up",
		    (long long)s->id, s->host_name);
		return -1;
	}
	if (reconnect_signal(db, s, SIGUSR2, msg, msgsz) == -1)
		return -1;
	snprintf(msg, msgsz,
	    "session %lld (%s, %s): supervisor pid %lld asked to reconnect: "
	    "%s",
	    (long long)s->id, s->host_name, s->path != NULL ? s->path : "-",
	    (long long)s->supervisor_pid, reconnect_what(s));
	return 0;
}

int
reconnect_request(struct db *db, int64_t id, char *msg, size_t msgsz)
{
	struct db_session s;
	int rc;

	/* The row as it is now, not as a caller's snapshot had it. */
	memset(&s, 0, sizeof s);
	rc = db_session_get(db, id, &s);
	if (rc == DB_NOTFOUND) {
		snprintf(msg, msgsz, "no session %lld", (long long)id);
		return -1;
	}
	if (rc != DB_OK) {
		snprintf(msg, msgsz, "%s", db_error(db));
		return -1;
	}
	rc = reconnect_row(db, &s, msg, msgsz);
	db_session_clear(&s);
	return rc;
}
