/* SPDX-License-Identifier: MIT */
/* The classifier on the recorded scene (tests/fixtures/scan/record.sh: one attached,
 * one detached, one new server with its twin) and on variations of it that remove or
 * contradict one fact at a time: each must cost the kill, and say so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/scan/scanclass.h"
#include "src/scan/scanparse.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

#define NOW 1800000000

static const char *scenes[] = { "linux-ss.txt", "linux-netstat.txt", "linux-procfd.txt",
	"busybox.txt", "linux-ps.txt", "linux-ps-lsof.txt" };

static char *
fixture(const char *name)
{
	return unit_fixture("scan", name);
}

static long
role(const char *name)
{
	char *file = fixture("pids.txt"), *buf = NULL, key[32], *p;
	long pid = -1;

	snprintf(key, sizeof key, " %s=", name);
	xasprintf(&buf, " %s", file);
	if ((p = strstr(buf, key)) != NULL)
		pid = strtol(p + strlen(key), NULL, 10);
	free(buf);
	free(file);
	return pid;
}

/* Replace the first occurrence of from (which must be there) by to. */
static char *
edit(char *buf, const char *from, const char *to)
{
	char *at = strstr(buf, from), *out = NULL;

	if (at == NULL) {
		printf("    fixture edit: \"%s\" not found\n", from);
		unit_case_failed = 1;
		return buf;
	}
	xasprintf(&out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	free(buf);
	return out;
}

/* Remove every line that starts with prefix. */
static char *
drop(char *buf, const char *prefix)
{
	char *out = xcalloc(1, strlen(buf) + 1), *p = buf, *nl, *o = out;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) != 0) {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	free(buf);
	return out;
}

struct run {
	struct scan_result r;
	struct scan_verdict *v;
	size_t nv;
};

static void
classify(const char *text, size_t len, const struct scan_known *k, size_t nk, struct run *run)
{
	char *err = NULL;

	memset(run, 0, sizeof *run);
	if (scanparse_collect(text, len, &run->r, &err) != 0) {
		printf("    parse failed: %s\n", err);
		unit_case_failed = 1;
		free(err);
		return;
	}
	scanclass_classify(&run->r, k, nk, NOW, &run->v, &run->nv);
}

static const struct scan_verdict *
verdict(const struct run *run, long pid)
{
	size_t i;

	for (i = 0; i < run->nv; i++) {
		if (run->v[i].pid == pid)
			return &run->v[i];
	}
	printf("    no verdict for pid %ld\n", pid);
	unit_case_failed = 1;
	return NULL;
}

static void
done(struct run *run)
{
	scanclass_free(run->v, run->nv);
	scanparse_free(&run->r);
}

static int
port_of(const struct run *run, long pid)
{
	const struct scan_server *s = scanparse_find(&run->r, pid);

	return s != NULL && s->nports > 0 ? s->ports[0] : 0;
}

static long
twin_pid(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->r.nservers; i++) {
		if (run->r.servers[i].ppid == role("new"))
			return run->r.servers[i].pid;
	}
	return -1;
}

/* Check one verdict: class, both kill flags, and a word of the why. */
#define VERDICT(run, pid, cls, kd, kx, word) \
	do { \
		const struct scan_verdict *vv = verdict((run), (pid)); \
		if (vv != NULL) { \
			CHECK_STR(scanclass_name(vv->class), scanclass_name(cls)); \
			CHECK_INT(vv->kill_default, (kd)); \
			CHECK_INT(vv->kill_detached, (kx)); \
			CHECK_HAS(vv->why, (word)); \
		} \
	} while (0)

/* Without moshman sessions, on every recording of the scene. */
static void
scene_foreign(void)
{
	struct run run;
	size_t i;
	char *buf;

	for (i = 0; i < sizeof scenes / sizeof scenes[0]; i++) {
		buf = fixture(scenes[i]);
		classify(buf, strlen(buf), NULL, 0, &run);
		VERDICT(&run, role("attached"), SCAN_ATTACHED, 0, 0, "via mosh");
		VERDICT(&run, role("detached"), SCAN_DETACHED, 0, 1, "no client for 30 s");
		VERDICT(&run, role("new"), SCAN_STARTING, 0, 0, "may be connecting");
		VERDICT(&run, twin_pid(&run), SCAN_STARTING, 0, 0, "twin");
		CHECK_INT(run.nv, 4);
		done(&run);
		free(buf);
	}
}

/* The detached server is a moshman session whose client died: the default target. */
static void
scene_orphan_and_live(void)
{
	struct run run;
	struct scan_known k[2];
	size_t i;
	char *buf;

	for (i = 0; i < sizeof scenes / sizeof scenes[0]; i++) {
		buf = fixture(scenes[i]);
		classify(buf, strlen(buf), NULL, 0, &run);
		memset(k, 0, sizeof k);
		k[0] = (struct scan_known){ 7, port_of(&run, role("detached")), role("detached"), 0,
			NOW - 3600, 0 };
		k[1] = (struct scan_known){ 8, port_of(&run, role("attached")), role("attached"), 1,
			NOW - 3600, 0 };
		done(&run);
		classify(buf, strlen(buf), k, 2, &run);
		VERDICT(&run, role("detached"), SCAN_OURS_ORPHANED, 1, 1, "session 7");
		VERDICT(&run, role("attached"), SCAN_OURS_LIVE, 0, 0, "session 8 is live");
		VERDICT(&run, role("new"), SCAN_STARTING, 0, 0, "may be connecting");
		CHECK_INT(verdict(&run, role("detached"))->session_id, 7);
		done(&run);

		/* Live sessions are never killed, whatever utmp says. */
		k[0].live = 1;
		classify(buf, strlen(buf), k, 1, &run);
		VERDICT(&run, role("detached"), SCAN_OURS_LIVE, 0, 0, "is live");
		done(&run);
		free(buf);
	}
}

/* Cut anywhere, the scene yields no candidate at all. */
static void
truncated(void)
{
	struct run run;
	struct scan_known k;
	char *buf = fixture("linux-ss.txt");
	size_t len = strlen(buf), cut, j, bad = 0;

	classify(buf, len, NULL, 0, &run);
	k = (struct scan_known){ 7, port_of(&run, role("detached")), role("detached"), 0, 0, 0 };
	done(&run);
	for (cut = 0; cut + 1 < len; cut++) {
		char *err = NULL;

		if (scanparse_collect(buf, cut, &run.r, &err) != 0) {
			free(err);
			scanparse_free(&run.r);
			continue;
		}
		scanclass_classify(&run.r, &k, 1, NOW, &run.v, &run.nv);
		for (j = 0; j < run.nv; j++)
			bad += run.v[j].kill_default || run.v[j].kill_detached;
		done(&run);
	}
	CHECK_INT(bad, 0);
	/* The whole text does give one, so the loop above tested something. */
	classify(buf, len, &k, 1, &run);
	VERDICT(&run, role("detached"), SCAN_OURS_ORPHANED, 1, 1, "session 7");
	done(&run);
	free(buf);
}

/* Orphaned while its supervisor still tries to stop it (src/session/ending.h): not a
 * target meanwhile; once the supervisor is gone it is an ordinary orphan. */
static void
ending_supervisor_alive(void)
{
	struct run run;
	struct scan_known k;
	char *buf = fixture("linux-ss.txt");

	classify(buf, strlen(buf), NULL, 0, &run);
	k = (struct scan_known){ 7, port_of(&run, role("detached")), role("detached"), 0, 0, 1 };
	done(&run);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, role("detached"), SCAN_OURS_LIVE, 0, 0, "supervisor is still stopping");
	done(&run);
	k.stopping = 0;
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, role("detached"), SCAN_OURS_ORPHANED, 1, 1, "session 7");
	done(&run);
	free(buf);
}

static void
session_too_young(void)
{
	struct run run;
	struct scan_known k;
	char *buf = fixture("linux-ss.txt");

	classify(buf, strlen(buf), NULL, 0, &run);
	k = (struct scan_known){ 7, port_of(&run, role("detached")), role("detached"), 0, NOW - 10,
		0 };
	done(&run);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, role("detached"), SCAN_OURS_ORPHANED, 0, 0, "started 10s ago");
	done(&run);
	free(buf);
}

static void
orphan_heard_lately(void)
{
	struct run run;
	struct scan_known k;
	char *buf = fixture("linux-ss.txt");

	classify(buf, strlen(buf), NULL, 0, &run);
	k = (struct scan_known){ 9, port_of(&run, role("attached")), role("attached"), 0, 0, 0 };
	done(&run);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, role("attached"), SCAN_OURS_ORPHANED, 0, 0, "scan again later");
	done(&run);
	free(buf);
}

static void
half_matches(void)
{
	struct run run;
	struct scan_known k[2];
	char *buf = fixture("linux-ss.txt");
	long d = role("detached");
	int port;

	classify(buf, strlen(buf), NULL, 0, &run);
	port = port_of(&run, d);
	done(&run);

	/* The pid matches, the port does not: a reused pid, not ours, not killed. */
	k[0] = (struct scan_known){ 7, 1, d, 0, 0, 0 };
	classify(buf, strlen(buf), k, 1, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "half-matches");
	done(&run);

	/* The port matches, the pid does not. */
	k[0] = (struct scan_known){ 7, port, 99999, 0, 0, 0 };
	classify(buf, strlen(buf), k, 1, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "fits moshman session 7");
	done(&run);

	/* Pid unknown in the database: ours by port, but not enough to kill. */
	k[0] = (struct scan_known){ 7, port, 0, 0, 0, 0 };
	classify(buf, strlen(buf), k, 1, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "both match");
	done(&run);

	/* Two sessions claim it. */
	k[0] = (struct scan_known){ 7, port, d, 0, 0, 0 };
	k[1] = (struct scan_known){ 8, port, d, 0, 0, 0 };
	classify(buf, strlen(buf), k, 2, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "matches 2 moshman sessions");
	done(&run);
	free(buf);
}

static void
utmp_doubts(void)
{
	struct run run;
	char *buf, line[128];
	long d = role("detached");

	/* No who on the host: nothing says whether a client is attached. */
	buf = drop(fixture("linux-ss.txt"), "who ");
	buf = edit(buf, "\nend\n", "\nmissing who\nend\n");
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_UNKNOWN, 0, 0, "who is missing");
	VERDICT(&run, role("attached"), SCAN_UNKNOWN, 0, 0, "who is missing");
	done(&run);
	free(buf);

	/* A malformed who line (half of a line split by a newline in a host name). */
	buf = edit(fixture("linux-ss.txt"), "\nend\n", "\nwho eve pts/9 Nov 29 19:00 (x\nend\n");
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "malformed utmp line");
	done(&run);
	free(buf);

	/* Another user's line names our pid. */
	snprintf(line, sizeof line, "\nwho eve pts/9 Nov 29 19:00 (mosh [%ld])\nend\n", d);
	buf = edit(fixture("linux-ss.txt"), "\nend\n", line);
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "another user");
	done(&run);
	free(buf);

	/* Two lines of ours name it. */
	snprintf(line, sizeof line, "\nwho root pts/9 Nov 29 19:00 (mosh [%ld])\nend\n", d);
	buf = edit(fixture("linux-ss.txt"), "\nend\n", line);
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "several utmp lines");
	done(&run);
	free(buf);

	/* The utmp line's tty is not its shell's. */
	snprintf(line, sizeof line, "(mosh [%ld])", d);
	buf = fixture("linux-ss.txt");
	{
		char *at = strstr(buf, line), *tty;
		/* "who root     pts/N        Nov 29 ..." : the tty is the 3rd word */
		while (at != NULL && at > buf && at[-1] != '\n')
			at--;
		tty = at != NULL ? strstr(at, "pts/") : NULL;
		CHECK(tty != NULL);
		if (tty != NULL)
			memcpy(tty, "tty/", 4);
	}
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "but its shell is on");
	done(&run);
	free(buf);

	/* No child process to confirm the tty. */
	snprintf(line, sizeof line, "child %ld ", d);
	buf = drop(fixture("linux-ss.txt"), line);
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "no child process");
	done(&run);
	free(buf);
}

static void
process_doubts(void)
{
	struct run run;
	struct scan_known k;
	char *buf, from[64], to[64];
	long d = role("detached");
	const struct scan_server *s;

	/* Unknown start time: a reused pid could not be told apart. */
	buf = fixture("linux-ss.txt");
	classify(buf, strlen(buf), NULL, 0, &run);
	s = scanparse_find(&run.r, d);
	k = (struct scan_known){ 7, port_of(&run, d), d, 0, 0, 0 };
	snprintf(from, sizeof from, "proc %ld 1 0 %s ", d, s != NULL ? s->start : "?");
	snprintf(to, sizeof to, "proc %ld 1 0 - ", d);
	done(&run);
	buf = edit(buf, from, to);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "start time is unknown");
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "not killed");
	done(&run);
	free(buf);

	/* Someone else's server (the collector would not list it; a hostile host might). */
	buf = fixture("linux-ss.txt");
	snprintf(from, sizeof from, "proc %ld 1 0 ", d);
	snprintf(to, sizeof to, "proc %ld 1 1000 ", d);
	buf = edit(buf, from, to);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "owned by uid 1000");
	done(&run);
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, d, SCAN_DETACHED, 0, 0, "owned by uid 1000");
	done(&run);
	free(buf);

	/* Malformed record anywhere: nothing in this scan is killed. */
	buf = edit(fixture("linux-ss.txt"), "\nend\n", "\nchild x y z\nend\n");
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "malformed records");
	done(&run);
	free(buf);

	/* Missing login user. */
	buf = edit(fixture("linux-ss.txt"), "me 0 726f6f74\n", "");
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, d, SCAN_OURS_ORPHANED, 0, 0, "login user is unknown");
	done(&run);
	free(buf);
}

/* A server that never had a client and outlived the 60 s (mosh would normally exit). */
static void
never_connected_old(void)
{
	static const char text[] =
	    "moshman-scan 1\nme 0 726f6f74\n"
	    "proc 100 1 0 p:b:1 300 - 6d6f73682d736572766572 6d6f73682d736572766572\n"
	    "proc 101 100 0 p:b:2 300 pts/4 6d6f73682d736572766572 6d6f73682d736572766572\n"
	    "child 100 101 pts/4\n"
	    "who root pts/4 Nov 29 19:00 (mosh [100])\n"
	    "end\n";
	struct run run;

	classify(text, strlen(text), NULL, 0, &run);
	VERDICT(&run, 100, SCAN_DETACHED, 0, 1, "never reached by a client");
	VERDICT(&run, 101, SCAN_STARTING, 0, 0, "twin of mosh-server 100");
	done(&run);
}

static void
other_views(void)
{
	struct run run;
	char *buf;

	/* The same scene seen by user nobody: its own new server only. */
	buf = fixture("linux-ss-nobody.txt");
	classify(buf, strlen(buf), NULL, 0, &run);
	CHECK_INT(run.nv, 2);
	VERDICT(&run, role("nobody"), SCAN_STARTING, 0, 0, "may be connecting");
	done(&run);
	free(buf);

	buf = fixture("macos-like.txt");
	classify(buf, strlen(buf), NULL, 0, &run);
	VERDICT(&run, 812, SCAN_DETACHED, 0, 1, "mosh [812]");
	VERDICT(&run, 950, SCAN_ATTACHED, 0, 0, "192.0.2.7");
	done(&run);
	free(buf);
}

/* macOS without lsof: no ports at all.  Foreign servers are still judged by utmp, but
 * a moshman session matched on its pid alone is not enough to kill. */
static void
no_ports(void)
{
	struct run run;
	struct scan_known k = { 7, 60001, 812, 0, 0, 0 };
	char *buf;

	buf = drop(fixture("macos-like.txt"), "lsof ");
	buf = edit(buf, "ports lsof\n", "missing lsof\nports none\n");
	classify(buf, strlen(buf), NULL, 0, &run);
	CHECK_INT(run.r.nmissing, 3);
	VERDICT(&run, 812, SCAN_DETACHED, 0, 1, "mosh [812]");
	done(&run);
	classify(buf, strlen(buf), &k, 1, &run);
	VERDICT(&run, 812, SCAN_OURS_ORPHANED, 0, 0, "matched on pid only");
	done(&run);
	free(buf);
}

static void
names(void)
{
	CHECK_STR(scanclass_name(SCAN_OURS_LIVE), "ours-live");
	CHECK_STR(scanclass_name(SCAN_OURS_ORPHANED), "ours-orphaned");
	CHECK_STR(scanclass_name(SCAN_DETACHED), "detached");
	CHECK_STR(scanclass_name(SCAN_ATTACHED), "attached");
	CHECK_STR(scanclass_name(SCAN_STARTING), "starting");
	CHECK_STR(scanclass_name(SCAN_UNKNOWN), "unknown");
}

int
main(void)
{
	UNIT_BEGIN("test_scanclass");
	RUN(scene_foreign);
	RUN(scene_orphan_and_live);
	RUN(truncated);
	RUN(ending_supervisor_alive);
	RUN(session_too_young);
	RUN(orphan_heard_lately);
	RUN(half_matches);
	RUN(utmp_doubts);
	RUN(process_doubts);
	RUN(never_connected_old);
	RUN(other_views);
	RUN(no_ports);
	RUN(names);
	UNIT_END();
}
