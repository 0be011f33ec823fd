/* SPDX-License-Identifier: MIT */
/* Noticing dead supervisors.  Any process that reads the sessions (the sessions command,
 * the dashboard, the scan) calls this first, so a killed supervisor's session shows as
 * orphaned whoever looks. */
#ifndef MOSHMAN_LIVENESS_H
#define MOSHMAN_LIVENESS_H

struct db;
struct db_session;

/* Is the supervisor recorded in s still running (pid + start time + boot id)? */
int liveness_supervisor_alive(const struct db_session *s);
/* Marks every live session whose supervisor is gone: orphaned when a mosh-server was
 * started (it may still run on the host), failed when it died before that.  Returns the
 * number of rows changed, -1 on a database error. */
int liveness_reap(struct db *);

#endif
