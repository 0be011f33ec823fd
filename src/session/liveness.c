/* SPDX-License-Identifier: MIT */
#include "src/session/liveness.h"

#include <stdio.h>
#include <sys/types.h>

#include "db/db.h"
#include "src/util/log.h"
#include "src/util/proc.h"

int
liveness_supervisor_alive(const struct db_session *s)
{
	if (s->supervisor_pid <= 0)
		return 0;
	return proc_alive((pid_t)s->supervisor_pid, s->supervisor_start, s->boot_id) == PROC_ALIVE;
}

int
liveness_reap(struct db *db)
{
	struct db_session *v = NULL;
	char reason[160];
	size_t n = 0;
	int changed = 0;

	if (db_session_list(db, 0, &v, &n) != DB_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *state;

		if (!db_session_is_live_state(v[i].state) || liveness_supervisor_alive(&v[i]))
			continue;
		if (v[i].mosh_port > 0) {
			state = "orphaned";
			snprintf(reason, sizeof reason,
			    "supervisor pid %lld is gone; mosh-server "
			    "pid %lld may still run on the host",
			    (long long)v[i].supervisor_pid, (long long)v[i].server_pid);
		} else {
			state = "failed";
			snprintf(reason, sizeof reason,
			    "supervisor pid %lld died before "
			    "mosh-server started",
			    (long long)v[i].supervisor_pid);
		}
		if (db_session_set_state(db, v[i].id, state, reason) == DB_OK)
			changed++;
		else
			log_debug("liveness: %s", db_error(db));
	}
	db_session_list_free(v, n);
	return changed;
}
