/* SPDX-License-Identifier: MIT */
/* Classify the mosh-servers of one host against the sessions moshman knows, and decide
 * which of them `clean` may kill.  Pure: the caller fills the inputs (from the scan
 * parser and the database) and passes the time. */
#ifndef MOSHMAN_SCANCLASS_H
#define MOSHMAN_SCANCLASS_H

#include <stddef.h>
#include <time.h>

#include "src/scan/scanparse.h"

/* Below this age a server that no client has reached may still be getting one. */
#define SCANCLASS_STARTING_SECONDS 60

enum scan_class {
	SCAN_OURS_LIVE,     /* a session moshman runs now (or is ending: its
				 * supervisor is stopping the server) */
	SCAN_OURS_ORPHANED, /* started by moshman; its supervisor or client is gone */
	SCAN_DETACHED,      /* not ours; utmp says no client */
	SCAN_ATTACHED,      /* not ours; a client was heard lately */
	SCAN_STARTING,      /* young and never attached, or the pre-client twin */
	SCAN_UNKNOWN,       /* not ours and nothing says whether a client is there */
};

/* What the database says about one session on this host. */
struct scan_known {
	long session_id;
	int mosh_port;   /* 0 if unknown */
	long server_pid; /* 0 if unknown */
	int live;        /* its supervisor and mosh-client are alive */
	time_t started;  /* when moshman started it, 0 if unknown */
	int stopping;    /* orphaned, but its supervisor still runs and is
					 * stopping this server (src/session/ending.h):
					 * not clean's to kill meanwhile */
};

struct scan_verdict {
	long pid;
	enum scan_class class;
	long session_id;   /* the matching session, 0 if none */
	char *why;         /* for people: how the class was reached */
	int kill_default;  /* a target of plain `clean` */
	int kill_detached; /* a target of `clean --detached` */
	long age;          /* seconds, -1 if unknown */
};

/* One verdict per server of r, in the same order; *out must be freed with
 * scanclass_free.  now is the local time: a session moshman started less than
 * SCANCLASS_STARTING_SECONDS ago may not have its mosh-client yet, so it is not called
 * orphaned however its live flag reads. */
void scanclass_classify(const struct scan_result *r, const struct scan_known *known, size_t nknown,
    time_t now, struct scan_verdict **out, size_t *nout);
/* The same with another threshold than SCANCLASS_STARTING_SECONDS (tests shorten it
 * through MOSHMAN_SCAN_STARTING_S, read by src/scan/scan.c, not here). */
void scanclass_classify_young(const struct scan_result *r, const struct scan_known *known,
    size_t nknown, time_t now, long young, struct scan_verdict **out, size_t *nout);
void scanclass_free(struct scan_verdict *v, size_t n);
const char *scanclass_name(enum scan_class);

#endif
