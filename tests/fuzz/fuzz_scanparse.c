/* SPDX-License-Identifier: MIT */
/* libFuzzer target for both scan parsers and the classifier behind them.  The first
 * byte picks the parser; the rest is the remote output.  Besides not crashing, the
 * invariants the kill decision rests on are checked: nothing from an incomplete scan,
 * and nothing that lacks a start time, is ever a kill candidate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/scan/scanclass.h"
#include "src/scan/scanparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
collect(const char *buf, size_t len)
{
	struct scan_result r;
	struct scan_verdict *v = NULL;
	struct scan_known k[2] = { { 1, 60001, 100, 0, 0, 0 }, { 2, 60002, 200, 1, 0, 1 } };
	char *err = NULL;
	size_t nv, i;

	if (scanparse_collect(buf, len, &r, &err) != 0) {
		if (err == NULL)
			abort();
		free(err);
		scanparse_free(&r);
		return;
	}
	scanclass_classify(&r, k, 2, 1800000000, &v, &nv);
	for (i = 0; i < nv; i++) {
		const struct scan_server *s = &r.servers[i];

		if (v[i].why == NULL)
			abort();
		if (!v[i].kill_default && !v[i].kill_detached)
			continue;
		if (!r.complete || r.suspect || s->start == NULL || !s->is_mosh ||
		    s->uid != r.uid || s->tainted || s->twin_of != 0)
			abort();
		if (v[i].kill_default && v[i].class != SCAN_OURS_ORPHANED)
			abort();
		if (v[i].class == SCAN_OURS_LIVE || v[i].class == SCAN_ATTACHED ||
		    v[i].class == SCAN_STARTING || v[i].class == SCAN_UNKNOWN)
			abort();
		if (v[i].class == SCAN_DETACHED &&
		    (s->utmp != SCAN_UTMP_DETACHED || r.utmp_damaged ||
		        s->elapsed < SCANCLASS_STARTING_SECONDS))
			abort();
	}
	scanclass_free(v, nv);
	scanparse_free(&r);
}

static void
kill_output(const char *buf, size_t len)
{
	struct scan_kill_result r;
	char *err = NULL;

	if (scanparse_kill(buf, len, &r, &err) != 0)
		free(err);
	scanparse_kill_free(&r);
}

static void
lines(const char *buf, size_t len)
{
	struct scan_who w;
	char *s;
	long pids[4], pid;
	size_t n;
	int port;
	unsigned long inode;

	/* The line parsers take C strings. */
	if ((s = malloc(len + 1)) == NULL)
		return;
	memcpy(s, buf, len);
	s[len] = '\0';
	if (scanparse_who_line(s, &w) == 1) {
		if (w.pid <= 0 || w.host == NULL || strstr(w.host, "mosh [") == NULL)
			abort();
		scanparse_who_free(&w);
	}
	(void)scanparse_ss_line(s, &port, pids, 4, &n);
	(void)scanparse_netstat_line(s, &port, &pid);
	(void)scanparse_procnet_line(s, &port, &inode);
	(void)scanparse_etime(s);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		collect(buf, size - 1);
		break;
	case 1:
		kill_output(buf, size - 1);
		break;
	default:
		lines(buf, size - 1);
		break;
	}
	return 0;
}
