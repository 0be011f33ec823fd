/* SPDX-License-Identifier: MIT */
/* src/scan/scan.c without a remote host: summaries, the rows saved, the target rule, the
 * remote command's quoting (run by a local sh), and the parallel runner against hosts
 * that refuse or never answer (on loopback), which must cost their timeout at most,
 * together, and be saved as unreachable. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "src/scan/scan.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

static char *
fixture(const char *name)
{
	return unit_fixture("scan", name);
}

/* A host holding the recorded scene (attached, detached, new and its twin). */
static void
scene(struct scan_host *h, const struct scan_known *k, size_t nk)
{
	char *buf = fixture("linux-ss.txt"), *err = NULL;

	memset(h, 0, sizeof *h);
	h->host.name = db_strdup("web");
	h->status = "ok";
	if (scanparse_collect(buf, strlen(buf), &h->r, &err) != 0) {
		printf("    parse: %s\n", err);
		unit_case_failed = 1;
	}
	free(err);
	free(buf);
	scanclass_classify_young(&h->r, k, nk, 1800000000, 60, &h->v, &h->nv);
}

static long
pid_of_class(const struct scan_host *h, enum scan_class c)
{
	for (size_t i = 0; i < h->nv; i++) {
		if (h->v[i].class == c)
			return (long)i;
	}
	return -1;
}

static void
test_summary(void)
{
	struct scan_host h;
	char line[256];

	scene(&h, NULL, 0);
	scan_summary(&h, line, sizeof line);
	CHECK_STR(line, "web: 4 mosh-servers (1 detached, 1 attached, 2 starting)");
	h.status = "incomplete";
	h.message = xstrdup("cut off");
	scan_summary(&h, line, sizeof line);
	CHECK_STR(line,
	    "web: 4 mosh-servers (1 detached, 1 attached, 2 starting); "
	    "incomplete: cut off");
	db_host_clear(&h.host);
	free(h.message);
	scanparse_free(&h.r);
	scanclass_free(h.v, h.nv);

	memset(&h, 0, sizeof h);
	h.host.name = db_strdup("far");
	h.status = "unreachable";
	h.message = xstrdup("no answer within 5 s");
	scan_summary(&h, line, sizeof line);
	CHECK_STR(line, "far: unreachable: no answer within 5 s");
	h.status = "ok";
	scan_summary(&h, line, sizeof line);
	CHECK_STR(line, "far: 0 mosh-servers");
	db_host_clear(&h.host);
	free(h.message);
}

static void
test_rows_and_targets(void)
{
	struct scan_host h;
	struct db_scan_server *rows;
	size_t n = 0;
	long d, a, s;

	scene(&h, NULL, 0);
	rows = scan_rows(&h, &n);
	CHECK_INT(n, 4);
	d = pid_of_class(&h, SCAN_DETACHED);
	a = pid_of_class(&h, SCAN_ATTACHED);
	s = pid_of_class(&h, SCAN_STARTING);
	CHECK(d >= 0 && a >= 0 && s >= 0);
	if (d >= 0 && a >= 0 && s >= 0 && n == 4) {
		CHECK_STR(rows[d].class_, "detached");
		CHECK_STR(rows[d].utmp, "detached");
		CHECK_INT(rows[d].candidate, 0);
		CHECK_INT(rows[d].candidate_detached, 1);
		CHECK(rows[d].port > 0);
		CHECK(rows[d].start_token != NULL);
		CHECK_STR(rows[a].class_, "attached");
		CHECK_STR(rows[a].utmp, "attached");
		CHECK_INT(rows[a].candidate_detached, 0);

		/* The target rule: detached only with --detached. */
		CHECK_INT(scan_is_target(&h, (size_t)d, 0), 0);
		CHECK_INT(scan_is_target(&h, (size_t)d, 1), 1);
		/* Attached and starting never, even if a flag were wrongly set. */
		h.v[a].kill_default = h.v[a].kill_detached = 1;
		h.v[s].kill_default = h.v[s].kill_detached = 1;
		CHECK_INT(scan_is_target(&h, (size_t)a, 1), 0);
		CHECK_INT(scan_is_target(&h, (size_t)s, 1), 0);
		CHECK_INT(scan_is_target(&h, 99, 1), 0);
	}
	free(rows);
	db_host_clear(&h.host);
	scanparse_free(&h.r);
	scanclass_free(h.v, h.nv);
}

/* The detached server is a moshman session whose supervisor is gone: the default
 * target; a live session on it: ours-live, never a target. */
static void
test_ours(void)
{
	struct scan_host h, tmp;
	struct scan_known k;
	char line[256];
	long d;

	scene(&tmp, NULL, 0);
	d = pid_of_class(&tmp, SCAN_DETACHED);
	memset(&k, 0, sizeof k);
	k.session_id = 7;
	if (d >= 0) {
		k.server_pid = tmp.r.servers[d].pid;
		k.mosh_port = tmp.r.servers[d].ports[0];
	}
	k.started = 1800000000 - 3600;
	scene(&h, &k, 1);
	if (d >= 0) {
		CHECK_STR(scanclass_name(h.v[d].class), "ours-orphaned");
		CHECK_INT(scan_is_target(&h, (size_t)d, 0), 1);
		CHECK_INT(h.v[d].session_id, 7);
	}
	scan_summary(&h, line, sizeof line);
	CHECK_HAS(line, "1 orphaned");
	db_host_clear(&h.host);
	scanparse_free(&h.r);
	scanclass_free(h.v, h.nv);

	k.live = 1;
	scene(&h, &k, 1);
	if (d >= 0) {
		CHECK_STR(scanclass_name(h.v[d].class), "ours-live");
		CHECK_INT(scan_is_target(&h, (size_t)d, 1), 0);
	}
	db_host_clear(&h.host);
	scanparse_free(&h.r);
	scanclass_free(h.v, h.nv);
	db_host_clear(&tmp.host);
	scanparse_free(&tmp.r);
	scanclass_free(tmp.v, tmp.nv);
}

/* The script and its words reach a local sh intact: quotes, $, newlines. */
static void
test_command(void)
{
	char *cmd, buf[512] = "";
	size_t n;
	FILE *p;

	cmd = scan_command("printf '%s|' \"$@\"; echo \"it's $0\"\n", "-s TERM 12:p:ab-cd:34");
	CHECK_HAS(cmd, "sh -c '");
	if ((p = popen(cmd, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, p);
		buf[n] = '\0';
		pclose(p);
	}
	CHECK_STR(buf, "-s|TERM|12:p:ab-cd:34|it's moshman-scan\n");
	free(cmd);
}

static void
test_young_env(void)
{
	struct scan_opts o;

	setenv("MOSHMAN_SCAN_STARTING_S", "5", 1);
	scan_opts_default(&o);
	CHECK_INT(o.young, 5);
	setenv("MOSHMAN_SCAN_STARTING_S", "5x", 1);
	scan_opts_default(&o);
	CHECK_INT(o.young, SCANCLASS_STARTING_SECONDS);
	unsetenv("MOSHMAN_SCAN_STARTING_S");
	scan_opts_default(&o);
	CHECK_INT(o.young, 60);
	CHECK_INT(o.concurrency, SCAN_CONCURRENCY);
}

/* A loopback port: listening (accepts, never speaks) or closed (refuses). */
static int
loop_port(int listening, int *fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s == -1 || bind(s, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1 ||
	    (listening && listen(s, 16) == -1))
		return -1;
	if (!listening)
		close(s);
	else
		*fd = s;
	return ntohs(sa.sin_port);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Six silent hosts and two refusing ones, concurrency 8, timeout 1 s: about 1 s in
 * all, every one saved as unreachable. */
static void
test_runner_unreachable(void)
{
	char dir[] = "/tmp/moshman-test-scan.XXXXXX", path[600], err[256];
	struct db *db = NULL;
	struct scan_host *hosts = NULL;
	struct scan_opts o;
	const char *names[8];
	char namebuf[8][8];
	int lfd[8], silent = 0;
	size_t n = 0;
	double t0, took;
	int bad;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/t.db", dir);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_OK);
	if (db == NULL)
		return;
	for (int i = 0; i < 8; i++) {
		struct db_host h;
		int port;

		memset(&h, 0, sizeof h);
		snprintf(namebuf[i], sizeof namebuf[i], "h%d", i);
		names[i] = namebuf[i];
		port = loop_port(i < 6, &lfd[silent]);
		if (i < 6)
			silent++;
		CHECK(port > 0);
		h.name = namebuf[i];
		h.hostname = (char *)(uintptr_t) "127.0.0.1";
		h.port = port;
		h.user = (char *)(uintptr_t) "nobody";
		h.proxy_type = (char *)(uintptr_t) "none";
		h.transport = (char *)(uintptr_t) "udp";
		h.server_command = (char *)(uintptr_t) "mosh-server";
		h.predict = (char *)(uintptr_t) "adaptive";
		h.hostkey_policy = (char *)(uintptr_t) "strict";
		h.known_hosts = (char *)(uintptr_t) "/dev/null";
		CHECK_INT(db_host_insert(db, &h), DB_OK);
	}
	CHECK_INT(scan_hosts_load(db, names, 8, 0, &hosts, &n), 0);
	CHECK_INT(n, 8);
	scan_opts_default(&o);
	o.timeout_s = 1;
	t0 = now_s();
	bad = scan_collect(db, hosts, n, &o);
	took = now_s() - t0;
	printf("# 8 unreachable hosts (6 silent, 2 refusing), timeout 1 s: %.2f s\n", took);
	CHECK_INT(bad, 8);
	CHECK(took < 2.5);
	for (size_t i = 0; i < n; i++) {
		struct db_scan sc;
		struct db_scan_server *v = NULL;
		size_t nv = 0;

		CHECK_STR(hosts[i].status, "unreachable");
		memset(&sc, 0, sizeof sc);
		CHECK_INT(db_scan_get(db, hosts[i].host.id, &sc, &v, &nv), DB_OK);
		CHECK_STR(sc.status, "unreachable");
		CHECK(sc.message != NULL);
		db_scan_clear(&sc);
		db_scan_servers_free(v, nv);
	}
	if (n == 8)
		CHECK_HAS(hosts[0].message, " 1 s");
	scan_hosts_free(hosts, n);
	for (int i = 0; i < silent; i++)
		close(lfd[i]);
	db_close(db);
	unlink(path);
	for (const char *const *s = (const char *const[]){ "-wal", "-shm", NULL }; *s; s++) {
		snprintf(path, sizeof path, "%s/t.db%s", dir, *s);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	UNIT_BEGIN("test_scan");
	RUN(test_summary);
	RUN(test_rows_and_targets);
	RUN(test_ours);
	RUN(test_command);
	RUN(test_young_env);
	RUN(test_runner_unreachable);
	UNIT_END();
}
