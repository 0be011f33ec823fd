/* SPDX-License-Identifier: MIT */
/* The host key verdict: OpenSSH's semantics for every command that opens ssh. */
#include "src/ssh/sshconn.h"
#include "tests/unit/unit.h"

#define V(st, pol, tty, seen, same) \
	sshconn_hostkey_verdict(SSHCONN_HK_##st, SSHCONN_##pol, tty, seen, same)

static void
known_and_changed(void)
{
	CHECK_INT(V(KNOWN, ASK, 0, 0, 0), SSHCONN_HK_OK);
	CHECK_INT(V(KNOWN, STRICT, 0, 1, 0), SSHCONN_HK_OK);
	/* A changed key is refused whatever the policy and whether or not a terminal is there. */
	CHECK_INT(V(MISMATCH, ACCEPT_NEW, 1, 0, 0), SSHCONN_HK_CHANGED);
	CHECK_INT(V(MISMATCH, ASK, 1, 0, 0), SSHCONN_HK_CHANGED);
	CHECK_INT(V(MISMATCH, STRICT, 0, 1, 1), SSHCONN_HK_CHANGED);
}

static void
never_seen(void)
{
	/* accept-new records a first key without a question, on a terminal or not
	 * (scan, clean, tunnel, the dashboard's R). */
	CHECK_INT(V(UNKNOWN, ACCEPT_NEW, 0, 0, 0), SSHCONN_HK_RECORD);
	CHECK_INT(V(UNKNOWN, ACCEPT_NEW, 1, 0, 0), SSHCONN_HK_RECORD);
	CHECK_INT(V(UNKNOWN, ASK, 1, 0, 0), SSHCONN_HK_ASK);
	CHECK_INT(V(UNKNOWN, ASK, 0, 0, 0), SSHCONN_HK_REFUSE_NO_TTY);
	CHECK_INT(V(UNKNOWN, STRICT, 1, 0, 0), SSHCONN_HK_REFUSE_STRICT);
	CHECK_INT(V(UNKNOWN, STRICT, 0, 0, 0), SSHCONN_HK_REFUSE_STRICT);
}

static void
seen_before(void)
{
	/* The key accepted earlier was removed from the file: "no longer" without a
	 * terminal or under strict; accept-new may record the same key again. */
	CHECK_INT(V(UNKNOWN, ASK, 0, 1, 1), SSHCONN_HK_GONE);
	CHECK_INT(V(UNKNOWN, STRICT, 1, 1, 1), SSHCONN_HK_GONE);
	CHECK_INT(V(UNKNOWN, ASK, 1, 1, 1), SSHCONN_HK_ASK);
	CHECK_INT(V(UNKNOWN, ACCEPT_NEW, 0, 1, 1), SSHCONN_HK_RECORD);
	/* A different key than the one seen is a change even though the file has none. */
	CHECK_INT(V(UNKNOWN, ACCEPT_NEW, 0, 1, 0), SSHCONN_HK_CHANGED_SINCE);
	CHECK_INT(V(UNKNOWN, ASK, 1, 1, 0), SSHCONN_HK_CHANGED_SINCE);
}

int
main(void)
{
	UNIT_BEGIN("test_hostkey");
	RUN(known_and_changed);
	RUN(never_seen);
	RUN(seen_before);
	UNIT_END();
}
