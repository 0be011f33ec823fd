/* SPDX-License-Identifier: MIT */
#include "src/scan/scan.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/session/liveness.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/proc.h"
#include "src/util/shquote.h"
#include "src/ssh/sshconn.h"
#include "src/util/xmalloc.h"

/* ---- running one command on many hosts ------------------------------------------------ */

enum job_state {
	JOB_WAITING,
	JOB_RUNNING,
	JOB_DONE
};

struct runner;

struct job {
	const struct db_host *host;
	char *command;
	int timeout_s;

	/* Results. */
	char *out;
	size_t outlen;
	char *error;     /* set: no output to trust */
	int unreachable; /* the error came before the command ran */
	double seconds;

	struct runner *run;
	enum job_state state;
	struct sshconn *conn;
	ev_timer timer; /* the whole job's deadline */
	ev_timer reap;  /* frees conn from the loop, outside sshconn's callbacks */
	ev_tstamp t0;
};

struct runner {
	struct ev_loop *loop;
	struct job *jobs;
	size_t n;
	size_t next; /* the first job never started */
	size_t running;
	size_t done;
	int concurrency;
	int interactive;
};

static void runner_start_next(struct runner *);

static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;

	(void)loop;
	(void)revents;
	sshconn_free(j->conn);
	j->conn = NULL;
}

/* The job ends (once): results are in j; its connection goes from the loop. */
static void
job_end(struct job *j)
{
	struct runner *r = j->run;

	if (j->state == JOB_DONE)
		return;
	j->state = JOB_DONE;
	j->seconds = ev_now(r->loop) - j->t0;
	ev_timer_stop(r->loop, &j->timer);
	if (j->conn != NULL)
		ev_timer_start(r->loop, &j->reap);
	r->running--;
	r->done++;
	runner_start_next(r);
}

static void
job_exec_cb(struct sshconn *c, const char *out, size_t outlen, const char *err, size_t errlen,
    int status, const char *error, void *arg)
{
	struct job *j = arg;

	(void)c;
	(void)err;
	(void)errlen;
	if (j->state == JOB_DONE)
		return;
	log_debug("scan: %s: exec done, status %d, %zu bytes", j->host->name, status, outlen);
	if (error != NULL)
		j->error = xstrdup(error);
	else {
		j->out = xmalloc(outlen + 1);
		memcpy(j->out, out, outlen);
		j->out[outlen] = '\0';
		j->outlen = outlen;
	}
	job_end(j);
}

static void
job_open_cb(struct sshconn *c, const char *error, void *arg)
{
	struct job *j = arg;

	if (j->state == JOB_DONE)
		return;
	if (error != NULL) {
		j->error = xstrdup(error);
		j->unreachable = 1;
		job_end(j);
		return;
	}
	sshconn_exec(c, j->command, job_exec_cb, j);
}

static void
job_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct job *j = w->data;

	(void)loop;
	(void)revents;
	/* An ssh connection that never came up means an unreachable host; one that hangs
	 * in the command is an error of the host. */
	j->unreachable = sshconn_auth_method(j->conn) == NULL;
	xasprintf(&j->error, "no answer within %d s%s", j->timeout_s,
	    j->unreachable ? "" : " (the remote command hung)");
	job_end(j);
}

/* Fills cfg from the profile (pointers into h).  -1 with *err for a bad profile. */
static int
scan_config(const struct db_host *h, int timeout_s, struct sshconn_config *cfg, char **err)
{
	return sshconn_config_from_profile(h, NULL, timeout_s * 1000, cfg, err);
}

static void
runner_start_next(struct runner *r)
{
	struct sshconn_config cfg;
	char *err = NULL;

	while (r->running < (size_t)r->concurrency && r->next < r->n) {
		struct job *j = &r->jobs[r->next++];

		j->run = r;
		j->t0 = ev_now(r->loop);
		j->state = JOB_RUNNING;
		r->running++;
		ev_timer_init(&j->timer, job_timer_cb, j->timeout_s, 0.);
		j->timer.data = j;
		ev_timer_init(&j->reap, reap_cb, 0., 0.);
		j->reap.data = j;
		if (scan_config(j->host, j->timeout_s, &cfg, &err) == -1) {
			j->error = err;
			err = NULL;
			job_end(j);
			continue;
		}
		ev_timer_start(r->loop, &j->timer);
		log_debug("scan: %s: connecting", j->host->name);
		j->conn = sshconn_new(r->loop, &cfg, NULL, NULL);
		sshconn_open(j->conn, r->interactive, job_open_cb, j);
	}
}

/* Runs every job to its end. */
static void
runner_run(struct job *jobs, size_t n, int concurrency, int interactive)
{
	struct runner r;

	if (n == 0)
		return;
	memset(&r, 0, sizeof r);
	r.loop = ev_default_loop(EVFLAG_AUTO);
	r.jobs = jobs;
	r.n = n;
	r.concurrency = concurrency > 0 ? concurrency : 1;
	r.interactive = interactive;
	signal(SIGPIPE, SIG_IGN);
	ev_now_update(r.loop);
	runner_start_next(&r);
	while (r.done < r.n)
		ev_run(r.loop, EVRUN_ONCE);
	/* Let the reapers run. */
	for (size_t i = 0; i < n; i++) {
		ev_timer_stop(r.loop, &jobs[i].timer);
		if (jobs[i].conn != NULL) {
			ev_timer_stop(r.loop, &jobs[i].reap);
			sshconn_free(jobs[i].conn);
			jobs[i].conn = NULL;
		}
	}
}

static void
job_clear(struct job *j)
{
	free(j->command);
	free(j->out);
	free(j->error);
	memset(j, 0, sizeof *j);
}

char *
scan_command(const char *script, const char *words)
{
	/* The script goes in as sh -c's text, not on stdin: sshconn's exec has no stdin.
	 * Encoded so that any login shell (csh, tcsh and fish too) hands it to sh intact. */
	return shquote_script("moshman-scan", script, words);
}

/* ---- options and profiles ------------------------------------------------------------ */

void
scan_opts_default(struct scan_opts *o)
{
	const char *e = getenv("MOSHMAN_SCAN_STARTING_S");
	char *end = NULL;
	long v;

	memset(o, 0, sizeof *o);
	o->concurrency = SCAN_CONCURRENCY;
	o->timeout_s = SCAN_TIMEOUT_S;
	o->young = SCANCLASS_STARTING_SECONDS;
	if (e != NULL && *e != '\0') {
		v = strtol(e, &end, 10);
		if (*end == '\0' && v >= 0 && v <= 86400)
			o->young = v;
	}
}

int
scan_hosts_load(struct db *db, const char *const *names, int nnames, int all,
    struct scan_host **out, size_t *n)
{
	struct scan_host *v = NULL;
	struct db_host *list = NULL;
	size_t nlist = 0, nv = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (all) {
		if (db_host_list(db, &list, &nlist) != DB_OK) {
			fprintf(stderr, "moshman: %s\n", db_error(db));
			return -1;
		}
		v = xcalloc(nlist + 1, sizeof *v);
		for (size_t i = 0; i < nlist; i++) {
			rc = db_host_get(db, list[i].name, &v[nv].host);
			if (rc == DB_OK)
				nv++;
		}
		db_host_list_free(list, nlist);
	} else {
		v = xcalloc((size_t)nnames + 1, sizeof *v);
		for (int i = 0; i < nnames; i++) {
			int dup = 0;

			for (size_t k = 0; k < nv; k++)
				dup |= strcmp(v[k].host.name, names[i]) == 0;
			if (dup)
				continue;
			rc = db_host_get(db, names[i], &v[nv].host);
			if (rc == DB_NOTFOUND) {
				fprintf(stderr,
				    "moshman: no host profile named '%s'; see 'moshman "
				    "host list'\n",
				    names[i]);
				scan_hosts_free(v, nv);
				return -1;
			}
			if (rc != DB_OK) {
				fprintf(stderr, "moshman: %s\n", db_error(db));
				scan_hosts_free(v, nv);
				return -1;
			}
			nv++;
		}
	}
	*out = v;
	*n = nv;
	return 0;
}

void
scan_hosts_free(struct scan_host *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		db_host_clear(&v[i].host);
		free(v[i].message);
		scanparse_free(&v[i].r);
		scanclass_free(v[i].v, v[i].nv);
		free(v[i].kill_error);
		scanparse_kill_free(&v[i].k);
	}
	free(v);
}

/* ---- classification against the database ------------------------------------------- */

/* The host's sessions as the classifier wants them.  Marks sessions whose supervisor or
 * client is gone as orphaned on the way (with an event saying why). */
static struct scan_known *
scan_known_load(struct db *db, int64_t host_id, size_t *n)
{
	struct db_session *s = NULL;
	struct scan_known *k = NULL;
	size_t ns = 0, nk = 0;

	*n = 0;
	if (liveness_reap(db) == -1)
		log_debug("scan: liveness: %s", db_error(db));
	if (db_session_list(db, 0, &s, &ns) != DB_OK) {
		log_debug("scan: sessions: %s", db_error(db));
		return NULL;
	}
	k = xcalloc(ns + 1, sizeof *k);
	for (size_t i = 0; i < ns; i++) {
		int live;

		if (s[i].host_id != host_id)
			continue;
		live = db_session_is_live_state(s[i].state) && liveness_supervisor_alive(&s[i]);
		if (live && s[i].client_pid > 0 &&
		    proc_alive((pid_t)s[i].client_pid, s[i].client_start, s[i].boot_id) !=
		        PROC_ALIVE) {
			char why[160];

			live = 0;
			snprintf(why, sizeof why,
			    "mosh-client pid %lld is gone (noticed by "
			    "scan)",
			    (long long)s[i].client_pid);
			if (s[i].mosh_port > 0)
				db_session_set_state(db, s[i].id, "orphaned", why);
		}
		k[nk].session_id = (long)s[i].id;
		k[nk].mosh_port = s[i].mosh_port;
		k[nk].server_pid = (long)s[i].server_pid;
		k[nk].live = live;
		k[nk].stopping =
		    strcmp(s[i].state, "orphaned") == 0 && liveness_supervisor_alive(&s[i]);
		k[nk].started = (time_t)(s[i].started_at / 1000);
		nk++;
	}
	db_session_list_free(s, ns);
	*n = nk;
	return k;
}

struct db_scan_server *
scan_rows(const struct scan_host *h, size_t *n)
{
	struct db_scan_server *rows;
	char(*names)[16];

	*n = 0;
	if (h->nv == 0)
		return NULL;
	/* The rows' class_ is a char * (db/ frees what it reads), so the class names are
	 * copied into the same block, behind the rows: one free() still releases all. */
	rows = xcalloc(h->nv, sizeof *rows + sizeof *names);
	names = (void *)(rows + h->nv);
	for (size_t i = 0; i < h->nv && i < h->r.nservers; i++) {
		const struct scan_server *s = &h->r.servers[i];
		const struct scan_verdict *v = &h->v[i];
		struct db_scan_server *w = &rows[i];

		w->pid = s->pid;
		w->ppid = s->ppid;
		w->uid = s->uid;
		w->port = s->nports > 0 ? s->ports[0] : 0;
		w->start_token = s->start;
		w->age_s = v->age;
		w->utmp = s->utmp == SCAN_UTMP_ATTACHED ? "attached"
		    : s->utmp == SCAN_UTMP_DETACHED     ? "detached"
		                                        : NULL;
		w->tty = s->utmp_tty != NULL ? s->utmp_tty
		    : s->child_tty != NULL   ? s->child_tty
		                             : s->tty;
		snprintf(names[i], sizeof names[i], "%s", scanclass_name(v->class));
		w->class_ = names[i];
		w->why = v->why;
		w->session_id = v->session_id;
		w->candidate = v->kill_default;
		w->candidate_detached = v->kill_detached;
		w->cmdline = s->cmdline;
	}
	*n = h->nv;
	return rows;
}

static void
scan_save(struct db *db, const struct scan_host *h)
{
	struct db_scan sc;
	struct db_scan_server *rows;
	char *missing = NULL, *t = NULL, status[16];
	size_t n = 0;

	memset(&sc, 0, sizeof sc);
	for (size_t i = 0; i < h->r.nmissing; i++) {
		xasprintf(&t, "%s%s%s", missing != NULL ? missing : "", missing != NULL ? " " : "",
		    h->r.missing[i]);
		free(missing);
		missing = t;
	}
	sc.host_id = h->host.id;
	sc.scanned_at = clock_epoch_ms();
	snprintf(status, sizeof status, "%s", h->status);
	sc.status = status;
	sc.message = h->message;
	sc.missing_tools = missing;
	rows = scan_rows(h, &n);
	if (db_scan_save(db, &sc, rows, n) != DB_OK)
		fprintf(stderr, "moshman: %s: saving the scan: %s\n", h->host.name, db_error(db));
	free(rows);
	free(missing);
}

/* Turns one job's output into h's result, classified. */
static void
scan_digest(struct db *db, struct scan_host *h, struct job *j, const struct scan_opts *o)
{
	struct scan_known *k = NULL;
	char *perr = NULL;
	size_t nk = 0;

	h->seconds = j->seconds;
	if (j->error != NULL) {
		h->status = j->unreachable ? "unreachable" : "error";
		h->message = xstrdup(j->error);
		return;
	}
	if (scanparse_collect(j->out, j->outlen, &h->r, &perr) == -1) {
		h->status = "error";
		xasprintf(&h->message, "the host's answer is not a scan: %s",
		    perr != NULL ? perr : "?");
		free(perr);
		return;
	}
	free(perr);
	if (h->r.complete && !h->r.suspect)
		h->status = "ok";
	else {
		h->status = "incomplete";
		h->message =
		    xstrdup(!h->r.complete ? "the scan output was cut off or damaged; "
		                             "nothing is killed"
		                           : "the scan output had malformed records; nothing is "
		                             "killed");
	}
	k = scan_known_load(db, h->host.id, &nk);
	scanclass_classify_young(&h->r, k, nk, time(NULL), o->young, &h->v, &h->nv);
	free(k);
}

int
scan_collect(struct db *db, struct scan_host *hosts, size_t n, const struct scan_opts *o)
{
	struct job *jobs;
	char *cmd;
	int bad = 0;

	if (n == 0)
		return 0;
	jobs = xcalloc(n, sizeof *jobs);
	cmd = scan_command(scanparse_collect_script(), NULL);
	for (size_t i = 0; i < n; i++) {
		jobs[i].host = &hosts[i].host;
		jobs[i].command = xstrdup(cmd);
		jobs[i].timeout_s = o->timeout_s;
	}
	free(cmd);
	runner_run(jobs, n, o->concurrency, o->interactive);
	for (size_t i = 0; i < n; i++) {
		scan_digest(db, &hosts[i], &jobs[i], o);
		scan_save(db, &hosts[i]);
		if (strcmp(hosts[i].status, "ok") != 0)
			bad++;
		job_clear(&jobs[i]);
	}
	free(jobs);
	return bad;
}

int
scan_is_target(const struct scan_host *h, size_t i, int detached)
{
	if (i >= h->nv || i >= h->r.nservers)
		return 0;
	/* Never a class that may have a person behind it, whatever the flags say. */
	switch (h->v[i].class) {
	case SCAN_OURS_LIVE:
	case SCAN_ATTACHED:
	case SCAN_STARTING:
	case SCAN_UNKNOWN:
		return 0;
	case SCAN_OURS_ORPHANED:
		return h->v[i].kill_default;
	case SCAN_DETACHED:
		return detached && h->v[i].kill_detached;
	}
	return 0;
}

/* ---- kill ----------------------------------------------------------------------------- */

const struct scan_kill_report *
scan_kill_report_for(const struct scan_host *h, long pid)
{
	for (size_t i = 0; i < h->k.nreports; i++) {
		if (h->k.reports[i].pid == pid)
			return &h->k.reports[i];
	}
	return NULL;
}

/* Was pid one of the selected servers, and is it gone? */
static int
kill_gone(const struct scan_host *h, const int *sel, long pid)
{
	const struct scan_kill_report *rep;

	for (size_t i = 0; i < h->nv; i++) {
		if (sel[i] && h->v[i].pid == pid)
			return (rep = scan_kill_report_for(h, pid)) != NULL &&
			    scanparse_kill_gone(rep->status);
	}
	return 0;
}

/* The database after a kill: sessions, events, and the saved scan without the gone. */
static void
kill_record(struct db *db, struct scan_host *h, const int *sel)
{
	struct db_scan_server *rows;
	size_t n = 0, keep = 0;
	char msg[256];

	for (size_t i = 0; i < h->nv; i++) {
		const struct scan_kill_report *rep;
		long sid = h->v[i].session_id;

		if (!sel[i])
			continue;
		rep = scan_kill_report_for(h, h->v[i].pid);
		if (rep == NULL)
			snprintf(msg, sizeof msg,
			    "clean: mosh-server pid %ld on %s: no report "
			    "from the kill script",
			    h->v[i].pid, h->host.name);
		else
			snprintf(msg, sizeof msg, "clean: mosh-server pid %ld on %s: %s%s%s",
			    h->v[i].pid, h->host.name, scanparse_kill_status_name(rep->status),
			    rep->signals[0] != '\0' ? " after SIG" : "", rep->signals);
		if (sid <= 0)
			continue;
		if (rep != NULL && scanparse_kill_gone(rep->status))
			db_session_set_state(db, sid, "killed", msg);
		else
			db_event_add(db, sid, "clean", msg);
	}
	rows = scan_rows(h, &n);
	for (size_t i = 0; i < n; i++) {
		const struct scan_kill_report *rep =
		    sel[i] ? scan_kill_report_for(h, h->v[i].pid) : NULL;
		long twin_of = h->r.servers[i].twin_of;

		if (rep != NULL && scanparse_kill_gone(rep->status))
			continue;
		/* A pre-client twin ends with its server. */
		if (twin_of > 0 && kill_gone(h, sel, twin_of))
			continue;
		rows[keep++] = rows[i];
	}
	if (keep != n) {
		struct db_scan sc;
		struct db_scan *old = NULL;
		struct db_scan_server *ov = NULL;
		size_t on = 0;

		memset(&sc, 0, sizeof sc);
		if (db_scan_get(db, h->host.id, &sc, &ov, &on) == DB_OK)
			old = &sc;
		if (old != NULL) {
			sc.scanned_at = clock_epoch_ms();
			if (db_scan_save(db, &sc, rows, keep) != DB_OK)
				fprintf(stderr, "moshman: %s: %s\n", h->host.name, db_error(db));
			db_scan_clear(&sc);
			db_scan_servers_free(ov, on);
		}
	}
	free(rows);
}

void
scan_kill(struct db *db, struct scan_host *hosts, size_t n, int *const *sel, int usr1, int force,
    const struct scan_opts *o)
{
	struct job *jobs;
	size_t *which, nj = 0;

	jobs = xcalloc(n + 1, sizeof *jobs);
	which = xcalloc(n + 1, sizeof *which);
	for (size_t i = 0; i < n; i++) {
		struct scan_host *h = &hosts[i];
		struct scan_kill_req *reqs = xcalloc(h->nv + 1, sizeof *reqs);
		size_t nr = 0;
		char *words = NULL, *err = NULL;

		for (size_t s = 0; s < h->nv; s++) {
			if (!sel[i][s])
				continue;
			reqs[nr].pid = h->r.servers[s].pid;
			reqs[nr].start = h->r.servers[s].start;
			nr++;
		}
		if (nr == 0) {
			free(reqs);
			continue;
		}
		if (scanparse_kill_args(reqs, nr, usr1, force, &words, &err) == -1) {
			xasprintf(&h->kill_error, "cannot build the kill request: %s",
			    err != NULL ? err : "?");
			free(err);
			free(reqs);
			continue;
		}
		jobs[nj].host = &h->host;
		jobs[nj].command = scan_command(scanparse_kill_script(), words);
		jobs[nj].timeout_s =
		    o->timeout_s > SCAN_KILL_TIMEOUT_S ? o->timeout_s : SCAN_KILL_TIMEOUT_S;
		which[nj++] = i;
		free(words);
		free(reqs);
	}
	runner_run(jobs, nj, o->concurrency, o->interactive);
	for (size_t j = 0; j < nj; j++) {
		struct scan_host *h = &hosts[which[j]];
		char *perr = NULL;

		if (jobs[j].error != NULL)
			h->kill_error = xstrdup(jobs[j].error);
		else if (scanparse_kill(jobs[j].out, jobs[j].outlen, &h->k, &perr) == -1) {
			xasprintf(&h->kill_error, "the kill script's answer is unreadable: %s",
			    perr != NULL ? perr : "?");
			free(perr);
		} else {
			free(perr);
			h->kill_ran = 1;
			if (!h->k.complete)
				h->kill_error = xstrdup("the kill script's answer was cut off");
		}
		kill_record(db, h, sel[which[j]]);
		job_clear(&jobs[j]);
	}
	free(jobs);
	free(which);
}

/* ---- summaries ------------------------------------------------------------------------ */

void
scan_summary(const struct scan_host *h, char *buf, size_t len)
{
	static const struct {
		enum scan_class c;
		const char *name;
	} order[] = {
		{ SCAN_OURS_ORPHANED, "orphaned" },
		{ SCAN_DETACHED, "detached" },
		{ SCAN_ATTACHED, "attached" },
		{ SCAN_OURS_LIVE, "live" },
		{ SCAN_STARTING, "starting" },
		{ SCAN_UNKNOWN, "unknown" },
	};
	size_t used;
	int first = 1;

	if (h->status == NULL || strcmp(h->status, "unreachable") == 0 ||
	    strcmp(h->status, "error") == 0) {
		snprintf(buf, len, "%s: %s: %s", h->host.name,
		    h->status != NULL ? h->status : "not scanned",
		    h->message != NULL ? h->message : "?");
		return;
	}
	snprintf(buf, len, "%s: %zu mosh-server%s", h->host.name, h->nv, h->nv == 1 ? "" : "s");
	for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
		int count = 0;

		for (size_t i = 0; i < h->nv; i++)
			count += h->v[i].class == order[o].c;
		if (count == 0)
			continue;
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%d %s", first ? " (" : ", ", count,
		    order[o].name);
		first = 0;
	}
	used = strlen(buf);
	if (!first)
		snprintf(buf + used, len - used, ")");
	used = strlen(buf);
	if (strcmp(h->status, "ok") != 0)
		snprintf(buf + used, len - used, "; %s: %s", h->status,
		    h->message != NULL ? h->message : "?");
}

/* ---- the connect hook ------------------------------------------------------------------ */

/* The background auto-clean: its own process, session and database connection. */
static void scan_auto_clean(const char *path, const char *name) __attribute__((noreturn));

static void
scan_auto_clean(const char *path, const char *name)
{
	struct scan_host *hosts = NULL;
	struct scan_opts o;
	struct db *db = NULL;
	char err[256];
	const char *names[1] = { name };
	int **sel = NULL, fd;
	size_t n = 0, total = 0;

	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (db_open(path, &db, err, sizeof err) != DB_OK)
		_exit(1);
	scan_opts_default(&o);
	o.interactive = 0;
	if (scan_hosts_load(db, names, 1, 0, &hosts, &n) == -1 || n != 1)
		_exit(1);
	scan_collect(db, hosts, n, &o);
	sel = xcalloc(1, sizeof *sel);
	sel[0] = xcalloc(hosts[0].nv + 1, sizeof *sel[0]);
	for (size_t i = 0; i < hosts[0].nv; i++)
		total += sel[0][i] = scan_is_target(&hosts[0], i, 0);
	if (total > 0)
		scan_kill(db, hosts, n, sel, 0, 0, &o);
	log_debug("auto-clean %s: %zu target(s)", name, total);
	db_close(db);
	_exit(0);
}

void
scan_connect_hook(struct db *db, const char *name, int quiet)
{
	struct db_host h;
	struct db_session *s = NULL;
	size_t ns = 0, count = 0;
	char pids[160] = "";
	pid_t pid;

	memset(&h, 0, sizeof h);
	if (db_host_get(db, name, &h) != DB_OK)
		return;
	if (liveness_reap(db) == -1 || db_session_list(db, 0, &s, &ns) != DB_OK)
		goto out;
	for (size_t i = 0; i < ns; i++) {
		size_t u = strlen(pids);

		if (s[i].host_id != h.id || strcmp(s[i].state, "orphaned") != 0)
			continue;
		count++;
		if (s[i].server_pid > 0)
			snprintf(pids + u, sizeof pids - u, "%s%lld", u > 0 ? " " : "",
			    (long long)s[i].server_pid);
	}
	if (count == 0)
		goto out;
	if (!h.auto_clean) {
		if (!quiet)
			fprintf(stderr,
			    "moshman: %s has %zu orphaned session%s (mosh-server "
			    "pid %s); 'moshman clean %s' kills %s\n",
			    name, count, count == 1 ? "" : "s", pids, name,
			    count == 1 ? "it" : "them");
		goto out;
	}
	if (!quiet)
		fprintf(stderr,
		    "moshman: %s has %zu orphaned session%s (mosh-server pid %s); "
		    "auto-clean kills %s in the background\n",
		    name, count, count == 1 ? "" : "s", pids, count == 1 ? "it" : "them");
	fflush(stderr);
	fflush(stdout);
	/* Twice, so the cleaner is nobody's child here and never mistaken for ours. */
	if ((pid = fork()) == 0) {
		if (fork() == 0)
			scan_auto_clean(db_path(db), name);
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
out:
	db_session_list_free(s, ns);
	db_host_clear(&h);
}
