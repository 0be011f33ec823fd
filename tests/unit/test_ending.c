/* SPDX-License-Identifier: MIT */
/* The ending rule (src/session/ending.c): every combination of what the supervisor can
 * know, and the stop script's answers. */
#include "tests/unit/unit.h"

#include "src/session/ending.h"

#define NCAUSES (ENDING_START_FAILED + 1)

static struct ending_out
decide(enum ending_cause c, enum ending_server sv, int client, int up, int possible, int left)
{
	struct ending_in in;
	struct ending_out out;

	memset(&in, 0, sizeof in);
	in.cause = c;
	in.server = sv;
	in.client_running = client;
	in.link_up = up;
	in.link_possible = possible;
	in.time_left = left;
	ending_decide(&in, &out);
	return out;
}

/* The promise itself, over every input: a row is closed or failed only when the server
 * is known gone (or never started); every other end is orphaned. */
static void
test_closed_only_when_gone(void)
{
	for (int c = 0; c < NCAUSES; c++)
		for (int sv = 0; sv <= ENDING_SERVER_GONE; sv++)
			for (int bits = 0; bits < 16; bits++) {
				struct ending_out o = decide(c, sv, bits & 1, bits >> 1 & 1,
				    bits >> 2 & 1, bits >> 3 & 1);

				if (o.state != NULL &&
				    (strcmp(o.state, "closed") == 0 ||
				        strcmp(o.state, "failed") == 0))
					CHECK(sv != ENDING_SERVER_UNKNOWN);
				if (o.action == ENDING_FINISH)
					CHECK(o.state != NULL);
				if (sv == ENDING_SERVER_UNKNOWN && o.action == ENDING_FINISH)
					CHECK_STR(o.state, "orphaned");
				if (sv == ENDING_SERVER_UNKNOWN && o.action == ENDING_WAIT_LINK)
					CHECK_STR(o.state, "orphaned");
				/* Stopping the server needs the link; waiting means it is down. */
				if (o.action == ENDING_STOP_SERVER)
					CHECK(bits >> 1 & 1);
				if (o.action == ENDING_WAIT_LINK)
					CHECK(
					    !(bits >> 1 & 1) && (bits >> 2 & 1) && (bits >> 3 & 1));
				/* Nothing is decided past a running mosh-client. */
				CHECK_INT(o.action == ENDING_END_CLIENT, bits & 1);
				if (o.action == ENDING_END_CLIENT)
					CHECK(o.state == NULL);
			}
}

/* mosh-client first, always: it restores the terminal, and its own shutdown may end the
 * server. */
static void
test_client_goes_first(void)
{
	for (int c = 0; c < NCAUSES; c++) {
		CHECK_INT(decide(c, ENDING_SERVER_GONE, 1, 1, 1, 1).action, ENDING_END_CLIENT);
		CHECK_INT(decide(c, ENDING_SERVER_UNKNOWN, 1, 0, 0, 0).action, ENDING_END_CLIENT);
	}
}

/* A clean exit (mosh's shutdown handshake) closes the row at once, quietly. */
static void
test_clean_exit(void)
{
	struct ending_out o = decide(ENDING_EXIT, ENDING_SERVER_GONE, 0, 0, 0, 0);

	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "closed");
	CHECK_INT(o.tell_user, 0);
}

/* mosh-client killed on a live link: stop the server now; its answer closes the row. */
static void
test_client_killed_live_link(void)
{
	struct ending_out o = decide(ENDING_CLIENT_SIGNAL, ENDING_SERVER_UNKNOWN, 0, 1, 1, 1);

	CHECK_INT(o.action, ENDING_STOP_SERVER);
	CHECK(o.state == NULL);
	o = decide(ENDING_CLIENT_SIGNAL, ENDING_SERVER_GONE, 0, 1, 1, 1);
	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "closed");
	CHECK_INT(o.tell_user, 1);
}

/* Hangup during an outage: orphaned while waiting, stopped when the link returns;
 * out of time: orphaned for good, and nobody to tell (no terminal). */
static void
test_hangup_during_outage(void)
{
	struct ending_out o = decide(ENDING_HANGUP, ENDING_SERVER_UNKNOWN, 0, 0, 1, 1);

	CHECK_INT(o.action, ENDING_WAIT_LINK);
	CHECK_STR(o.state, "orphaned");
	o = decide(ENDING_HANGUP, ENDING_SERVER_UNKNOWN, 0, 1, 1, 1);
	CHECK_INT(o.action, ENDING_STOP_SERVER);
	o = decide(ENDING_HANGUP, ENDING_SERVER_GONE, 0, 1, 1, 1);
	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "closed");
	CHECK_INT(o.tell_user, 0);
	o = decide(ENDING_HANGUP, ENDING_SERVER_UNKNOWN, 0, 0, 1, 0);
	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "orphaned");
	CHECK_INT(o.tell_user, 0);
}

/* A link that cannot come back (changed host key) or `moshman kill` while waiting: no
 * point waiting, the row stays orphaned for clean. */
static void
test_no_way_back(void)
{
	struct ending_out o = decide(ENDING_TERM, ENDING_SERVER_UNKNOWN, 0, 0, 0, 1);

	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "orphaned");
	CHECK_INT(o.tell_user, 1);
	o = decide(ENDING_KILL, ENDING_SERVER_UNKNOWN, 0, 0, 1, 0);
	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "orphaned");
}

/* The server died (confirmed): the user hears why, the row is closed. */
static void
test_server_died(void)
{
	struct ending_out o = decide(ENDING_SERVER_DIED, ENDING_SERVER_GONE, 1, 1, 1, 1);

	CHECK_INT(o.action, ENDING_END_CLIENT);
	o = decide(ENDING_SERVER_DIED, ENDING_SERVER_GONE, 0, 0, 0, 0);
	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "closed");
	CHECK_INT(o.tell_user, 1);
}

/* A failed start: failed once the server is gone or never started; a server that could
 * not be stopped leaves the row orphaned. */
static void
test_failed_start(void)
{
	struct ending_out o = decide(ENDING_START_FAILED, ENDING_SERVER_NONE, 0, 0, 0, 0);

	CHECK_INT(o.action, ENDING_FINISH);
	CHECK_STR(o.state, "failed");
	o = decide(ENDING_START_FAILED, ENDING_SERVER_UNKNOWN, 0, 1, 1, 1);
	CHECK_INT(o.action, ENDING_STOP_SERVER);
	o = decide(ENDING_START_FAILED, ENDING_SERVER_GONE, 0, 1, 1, 1);
	CHECK_STR(o.state, "failed");
	o = decide(ENDING_START_FAILED, ENDING_SERVER_UNKNOWN, 0, 0, 0, 0);
	CHECK_STR(o.state, "orphaned");
}

static void
test_cause_text(void)
{
	char buf[160];

	ending_cause_text(ENDING_CLIENT_SIGNAL, 9, buf, sizeof buf);
	CHECK_HAS(buf, "mosh-client was killed by signal 9");
	ending_cause_text(ENDING_SERVER_DIED, 0, buf, sizeof buf);
	CHECK_HAS(buf, "mosh-server ended on the host");
	ending_cause_text(ENDING_CLIENT_FAILED, 1, buf, sizeof buf);
	CHECK_STR(buf, "mosh-client exited with status 1");
	ending_cause_text((enum ending_cause)99, 0, buf, sizeof buf);
	CHECK_STR(buf, "the session ended");
}

#define PARSE(s) ending_stop_parse((s), sizeof(s) - 1)

static void
test_stop_answers(void)
{
	CHECK_INT(PARSE("moshman-stop 1\ngone\n"), ENDING_ANS_GONE);
	CHECK_INT(PARSE("moshman-stop 1\nalive\n"), ENDING_ANS_ALIVE);
	CHECK_INT(PARSE("moshman-stop 1\nstopped\n"), ENDING_ANS_STOPPED);
	CHECK_INT(PARSE("moshman-stop 1\nkilled\n"), ENDING_ANS_KILLED);
	/* A motd or rc-file noise before the answer. */
	CHECK_INT(PARSE("Welcome\n\nmoshman-stop 1\nstopped\n"), ENDING_ANS_STOPPED);
	CHECK(ending_answer_gone(ENDING_ANS_GONE));
	CHECK(ending_answer_gone(ENDING_ANS_STOPPED));
	CHECK(ending_answer_gone(ENDING_ANS_KILLED));
	CHECK(!ending_answer_gone(ENDING_ANS_ALIVE));
	CHECK(!ending_answer_gone(ENDING_ANS_BAD));
}

/* Anything else proves nothing: the server is not called gone on a garbled answer. */
static void
test_stop_answers_hostile(void)
{
	CHECK_INT(ending_stop_parse(NULL, 0), ENDING_ANS_BAD);
	CHECK_INT(PARSE(""), ENDING_ANS_BAD);
	CHECK_INT(PARSE("gone\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\ngone"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\ngone\nmore\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\ngoner\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\ngon\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 2\ngone\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\nbad\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1\ng\0ne\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("xmoshman-stop 1\ngone\n"), ENDING_ANS_BAD);
	CHECK_INT(PARSE("moshman-stop 1"), ENDING_ANS_BAD);
}

static void
test_stop_words(void)
{
	char buf[64];

	ending_stop_words(4242, 1, buf, sizeof buf);
	CHECK_STR(buf, "'4242' 'stop'");
	ending_stop_words(7, 0, buf, sizeof buf);
	CHECK_STR(buf, "'7' 'check'");
	CHECK_HAS(ending_stop_script(), "echo moshman-stop 1");
}

int
main(void)
{
	UNIT_BEGIN("test_ending");
	RUN(test_closed_only_when_gone);
	RUN(test_client_goes_first);
	RUN(test_clean_exit);
	RUN(test_client_killed_live_link);
	RUN(test_hangup_during_outage);
	RUN(test_no_way_back);
	RUN(test_server_died);
	RUN(test_failed_start);
	RUN(test_cause_text);
	RUN(test_stop_answers);
	RUN(test_stop_answers_hostile);
	RUN(test_stop_words);
	UNIT_END();
}
