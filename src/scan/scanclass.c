/* SPDX-License-Identifier: MIT */
/* Which mosh-servers are whose, and which `clean` may kill.  The rule throughout: a
 * server becomes a kill candidate only when every fact the decision rests on was seen
 * and agrees; anything missing or contradictory keeps it alive and says why. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/scan/scanclass.h"
#include "src/util/xmalloc.h"

enum match {
	MATCH_NONE,
	MATCH_EXACT,    /* pid and port both match */
	MATCH_WEAK,     /* one matches, the other is unknown on one side */
	MATCH_CONFLICT, /* one matches, the other is known and differs */
};

static const char *class_names[] = {
	[SCAN_OURS_LIVE] = "ours-live",
	[SCAN_OURS_ORPHANED] = "ours-orphaned",
	[SCAN_DETACHED] = "detached",
	[SCAN_ATTACHED] = "attached",
	[SCAN_STARTING] = "starting",
	[SCAN_UNKNOWN] = "unknown",
};

const char *
scanclass_name(enum scan_class c)
{
	if ((size_t)c >= sizeof class_names / sizeof class_names[0])
		return "?";
	return class_names[c];
}

/* Append a clause to a why string, "; "-separated. */
static void why_add(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
why_add(char **why, const char *fmt, ...)
{
	va_list ap;
	char *part = NULL, *joined = NULL;

	va_start(ap, fmt);
	xvasprintf(&part, fmt, ap);
	va_end(ap);
	if (*why == NULL) {
		*why = part;
		return;
	}
	xasprintf(&joined, "%s; %s", *why, part);
	free(*why);
	free(part);
	*why = joined;
}

static int
has_port(const struct scan_server *s, int port)
{
	size_t i;

	for (i = 0; i < s->nports; i++) {
		if (s->ports[i] == port)
			return 1;
	}
	return 0;
}

static enum match
match(const struct scan_server *s, const struct scan_known *k)
{
	int pid_known = k->server_pid > 0, port_known = k->mosh_port > 0;
	int pid_eq = pid_known && k->server_pid == s->pid;
	int port_eq = port_known && has_port(s, k->mosh_port);
	int port_seen = s->nports > 0;

	if (pid_eq && port_eq)
		return MATCH_EXACT;
	if (pid_eq)
		return port_known && port_seen ? MATCH_CONFLICT : MATCH_WEAK;
	if (port_eq)
		return pid_known ? MATCH_CONFLICT : MATCH_WEAK;
	return MATCH_NONE;
}

static int
missing(const struct scan_result *r, const char *tool)
{
	size_t i;

	for (i = 0; i < r->nmissing; i++) {
		if (strcmp(r->missing[i], tool) == 0)
			return 1;
	}
	return 0;
}

/* Why no server of this scan, or this server, may be killed at all; NULL if none. */
static const char *
blocker(const struct scan_result *r, const struct scan_server *s, char *buf, size_t len)
{
	if (!r->complete)
		return "the scan output was cut off or damaged";
	if (r->suspect)
		return "the scan output had malformed records";
	if (r->uid < 0)
		return "the login user is unknown";
	if (s->uid != r->uid) {
		snprintf(buf, len, "owned by uid %ld, not the login user (uid %ld)", s->uid,
		    r->uid);
		return buf;
	}
	if (!s->is_mosh)
		return "its command name or argv[0] is not mosh-server";
	if (s->start == NULL)
		return "its start time is unknown, so a reused pid could not be told apart";
	if (s->tainted)
		return "the scan listed this pid twice";
	return NULL;
}

/* Why the utmp mark cannot be trusted to say "detached"; NULL if it can. */
static const char *
utmp_blocker(const struct scan_result *r, const struct scan_server *s, char *buf, size_t len)
{
	if (r->utmp_damaged)
		return "a malformed utmp line may hide a forged one";
	if (s->utmp_foreign)
		return "a utmp line of another user names this pid";
	if (s->utmp_marks > 1)
		return "several utmp lines name this pid";
	if (s->child_tty == NULL)
		return "no child process (shell) to confirm the utmp line's tty";
	if (s->child_ttys_differ)
		return "its child processes are on different ttys";
	if (s->utmp_tty == NULL || strcmp(s->utmp_tty, s->child_tty) != 0) {
		snprintf(buf, len, "the utmp line is on %s but its shell is on %s",
		    s->utmp_tty != NULL ? s->utmp_tty : "?", s->child_tty);
		return buf;
	}
	return NULL;
}

static void
classify_ours(const struct scan_result *r, const struct scan_server *s, const struct scan_known *k,
    enum match m, int nconflict, time_t now, long young, struct scan_verdict *v)
{
	char buf[160];
	const char *b;

	v->session_id = k->session_id;
	if (k->live) {
		v->class = SCAN_OURS_LIVE;
		why_add(&v->why, "moshman session %ld is live", k->session_id);
	} else if (k->stopping) {
		/* Its supervisor retries until the host answers; a clean racing it would
		 * gain nothing, and the supervisor's own stop checks the pid again. */
		v->class = SCAN_OURS_LIVE;
		why_add(&v->why,
		    "moshman session %ld is ending: its supervisor is still "
		    "stopping this server (orphaned once it gives up)",
		    k->session_id);
	} else {
		v->class = SCAN_OURS_ORPHANED;
		why_add(&v->why, "moshman session %ld: its supervisor or client is gone",
		    k->session_id);
	}
	if (m == MATCH_WEAK)
		why_add(&v->why, "matched on %s only",
		    k->server_pid > 0 && k->server_pid == s->pid ? "pid" : "port");
	if (v->class == SCAN_OURS_LIVE)
		return;

	if ((b = blocker(r, s, buf, sizeof buf)) != NULL)
		why_add(&v->why, "not killed: %s", b);
	else if (m != MATCH_EXACT)
		why_add(&v->why, "not killed: pid and port must both match the session");
	else if (nconflict > 0)
		why_add(&v->why, "not killed: another session's pid or port also fits");
	else if (k->started > 0 && now - k->started < young)
		why_add(&v->why,
		    "not killed: the session started %lds ago and may not "
		    "have its client yet",
		    (long)(now - k->started));
	else if (s->utmp == SCAN_UTMP_ATTACHED)
		why_add(&v->why,
		    "not killed: utmp says a client was heard within 30 s "
		    "(%s); scan again later",
		    s->utmp_host);
	else
		v->kill_default = v->kill_detached = 1;
}

static void
classify_foreign(const struct scan_result *r, const struct scan_server *s, int nconflict,
    long young, struct scan_verdict *v)
{
	char buf[160], ubuf[160];
	const char *b, *ub;

	b = blocker(r, s, buf, sizeof buf);
	ub = utmp_blocker(r, s, ubuf, sizeof ubuf);

	if (s->utmp == SCAN_UTMP_ATTACHED) {
		v->class = SCAN_ATTACHED;
		why_add(&v->why, "utmp: a client was heard within 30 s (%s)", s->utmp_host);
		if (ub != NULL)
			why_add(&v->why, "unsure: %s", ub);
		return;
	}
	if (s->utmp == SCAN_UTMP_NONE) {
		v->class = s->elapsed >= 0 && s->elapsed < young ? SCAN_STARTING : SCAN_UNKNOWN;
		if (s->utmp_foreign)
			why_add(&v->why,
			    "only a utmp line of another user names this "
			    "pid");
		else if (missing(r, "who"))
			why_add(&v->why, "no utmp data (who is missing on the host)");
		else
			why_add(&v->why,
			    "no utmp line names this pid (mosh without "
			    "utempter?), so a client may be attached");
		return;
	}
	if (s->elapsed < 0) {
		v->class = SCAN_DETACHED;
		why_add(&v->why, "utmp says detached (%s)",
		    s->utmp_host != NULL ? s->utmp_host : "?");
		why_add(&v->why, "not killed: its age is unknown");
		return;
	}
	if (s->elapsed < young) {
		v->class = SCAN_STARTING;
		why_add(&v->why,
		    "%lds old and no client attached: one may be connecting "
		    "now",
		    s->elapsed);
		return;
	}
	v->class = SCAN_DETACHED;
	if (s->has_twin)
		why_add(&v->why, "never reached by a client, and older than %ld s", young);
	else
		why_add(&v->why, "utmp says no client for 30 s or more (%s)",
		    s->utmp_host != NULL ? s->utmp_host : "?");
	if (b != NULL)
		why_add(&v->why, "not killed: %s", b);
	else if (ub != NULL)
		why_add(&v->why, "not killed: %s", ub);
	else if (nconflict > 0)
		why_add(&v->why,
		    "not killed: its pid or port half-matches a moshman "
		    "session");
	else
		v->kill_detached = 1;
}

void
scanclass_classify(const struct scan_result *r, const struct scan_known *known, size_t nknown,
    time_t now, struct scan_verdict **out, size_t *nout)
{
	scanclass_classify_young(r, known, nknown, now, SCANCLASS_STARTING_SECONDS, out, nout);
}

void
scanclass_classify_young(const struct scan_result *r, const struct scan_known *known, size_t nknown,
    time_t now, long young, struct scan_verdict **out, size_t *nout)
{
	struct scan_verdict *vs;
	size_t i, j;

	*out = NULL;
	*nout = 0;
	if (r->nservers == 0)
		return;
	vs = xcalloc(r->nservers, sizeof *vs);
	for (i = 0; i < r->nservers; i++) {
		const struct scan_server *s = &r->servers[i];
		struct scan_verdict *v = &vs[i];
		const struct scan_known *ours = NULL;
		enum match om = MATCH_NONE, m;
		int nours = 0, nconflict = 0, anylive = 0;

		v->pid = s->pid;
		v->age = s->elapsed;
		if (s->twin_of > 0) {
			v->class = SCAN_STARTING;
			why_add(&v->why,
			    "the pre-client twin of mosh-server %ld: it "
			    "becomes the shell when a client connects, or exits with it",
			    s->twin_of);
			continue;
		}
		for (j = 0; j < nknown; j++) {
			m = match(s, &known[j]);
			if (m == MATCH_EXACT || m == MATCH_WEAK) {
				nours++;
				anylive |= known[j].live || known[j].stopping;
				if (ours == NULL || m == MATCH_EXACT) {
					ours = &known[j];
					om = m;
				}
			} else if (m == MATCH_CONFLICT) {
				nconflict++;
				why_add(&v->why,
				    "pid or port fits moshman session %ld but "
				    "the other does not",
				    known[j].session_id);
			}
		}
		if (nours > 1) {
			v->class = anylive ? SCAN_OURS_LIVE : SCAN_OURS_ORPHANED;
			v->session_id = ours->session_id;
			why_add(&v->why, "matches %d moshman sessions; not killed", nours);
		} else if (nours == 1)
			classify_ours(r, s, ours, om, nconflict, now, young, v);
		else
			classify_foreign(r, s, nconflict, young, v);
	}
	*out = vs;
	*nout = r->nservers;
}

void
scanclass_free(struct scan_verdict *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].why);
	free(v);
}
