/* SPDX-License-Identifier: MIT */
/*
 * Remote scans and kills on many hosts at once: one libssh connection per host (through
 * the profile's route, by src/ssh/sshconn.c), at most a few at a time, each bounded by its
 * own timeout, all on one libev loop, so an unreachable host costs its timeout and never
 * holds up the others.  The collector's output is parsed (src/scan/scanparse.c), classified
 * against the database's sessions (src/scan/scanclass.c) and saved as the host's last scan.
 *
 * Prompts: a scan never asks anything unless it runs on a terminal for one host; in
 * every other case (several hosts, the dashboard's background jobs, scripts) only the
 * agent and unencrypted keys are tried, and only host keys already known are accepted.
 */
#ifndef MOSHMAN_SCAN_H
#define MOSHMAN_SCAN_H

#include <stddef.h>

#include "db/db.h"
#include "src/scan/scanclass.h"
#include "src/scan/scanparse.h"

#define SCAN_CONCURRENCY 8
#define SCAN_TIMEOUT_S 20      /* per host: connect, log in, run, read */
#define SCAN_KILL_TIMEOUT_S 40 /* the kill script waits up to 10 s (+ 1 s with -f) */

struct scan_opts {
	int concurrency; /* hosts at once, >= 1 */
	int timeout_s;   /* per host */
	int interactive; /* prompts allowed: one host, on a terminal */
	long young;      /* the classifier's "starting" age */
};

struct scan_host {
	struct db_host host; /* in: the profile (cleared by scan_hosts_free) */

	/* Out of scan_collect. */
	const char *status; /* ok, incomplete, unreachable, error */
	char *message;      /* why, for anything but ok */
	double seconds;     /* wall time of this host's ssh work */
	struct scan_result r;
	struct scan_verdict *v; /* one per r.servers[i] */
	size_t nv;

	/* Out of scan_kill. */
	int kill_ran;     /* a kill script ran and its output parsed */
	char *kill_error; /* why the kill could not run, or NULL */
	struct scan_kill_result k;
};

/* Defaults, with MOSHMAN_SCAN_STARTING_S (tests only) for young. */
void scan_opts_default(struct scan_opts *);
/* Loads the named profiles (or all with all != 0) into *out.  -1 with a message
 * printed when a name is unknown. */
int scan_hosts_load(struct db *, const char *const *names, int nnames, int all,
    struct scan_host **out, size_t *n);
void scan_hosts_free(struct scan_host *, size_t n);

/* Scans every host in parallel, classifies and saves each result (db_scan_save).
 * Returns the number of hosts whose status is not ok. */
int scan_collect(struct db *, struct scan_host *, size_t n, const struct scan_opts *);

/* Is server i of h a target (kill_default, or kill_detached with detached)? */
int scan_is_target(const struct scan_host *h, size_t i, int detached);

/* Runs the kill script on every host with a non-empty selection: sel[h][i] != 0 marks
 * server i of host h.  Then records the results: sessions whose server is gone become
 * killed (key wiped, event), others get an event; the saved scan drops gone servers. */
void scan_kill(struct db *, struct scan_host *, size_t n, int *const *sel, int usr1, int force,
    const struct scan_opts *);
/* What the kill script reported for pid on h (the first report of it), or NULL. */
const struct scan_kill_report *scan_kill_report_for(const struct scan_host *, long pid);

/* For `moshman connect NAME`, before the session starts: reports the orphaned sessions
 * the database knows on that host (one line on stderr unless quiet), and with the
 * profile's auto_clean kills their servers from a detached background process (the
 * same rules as `clean NAME --yes`: a fresh scan, ours-orphaned targets only, nothing
 * asked).  Never fails the connect. */
void scan_connect_hook(struct db *, const char *name, int quiet);

/* "web: 3 mosh-servers (1 orphaned, 1 detached, 1 attached)", or why the scan failed. */
void scan_summary(const struct scan_host *, char *buf, size_t len);
/* The rows db_scan_save takes, pointing into h (free with free() only). */
struct db_scan_server *scan_rows(const struct scan_host *h, size_t *n);
/* The remote command line that runs script with words (already safe) as arguments. */
char *scan_command(const char *script, const char *words);

#endif
