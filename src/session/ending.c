/* SPDX-License-Identifier: MIT */
/* The ending rule (ending.h says it in full) and the stop script with its answer. */
#include "src/session/ending.h"

#include <stdio.h>
#include <string.h>

#define ENDING_STR(x) #x
#define ENDING_XSTR(x) ENDING_STR(x)

static const char *
ending_final_state(enum ending_cause c)
{
	return c == ENDING_START_FAILED ? "failed" : "closed";
}

/* A plain exit needs no word; after a hangup there is no terminal to write to. */
static int
ending_tells(enum ending_cause c)
{
	return c != ENDING_EXIT && c != ENDING_HANGUP;
}

void
ending_decide(const struct ending_in *in, struct ending_out *out)
{
	memset(out, 0, sizeof *out);
	if (in->client_running) {
		/* Whatever happened, mosh-client goes first: it restores the terminal, and
		 * its own shutdown may end the server (then it exits 0). */
		out->action = ENDING_END_CLIENT;
		return;
	}
	if (in->server != ENDING_SERVER_UNKNOWN) {
		out->action = ENDING_FINISH;
		out->state = ending_final_state(in->cause);
		out->tell_user = ending_tells(in->cause);
		return;
	}
	/* No client state anywhere now, so the server can never be used again: stop it. */
	if (in->link_up) {
		out->action = ENDING_STOP_SERVER;
		return;
	}
	out->state = "orphaned";
	if (in->link_possible && in->time_left) {
		out->action = ENDING_WAIT_LINK;
		return;
	}
	out->action = ENDING_FINISH;
	out->tell_user = in->cause != ENDING_HANGUP;
}

void
ending_cause_text(enum ending_cause c, int detail, char *buf, size_t len)
{
	switch (c) {
	case ENDING_EXIT:
		snprintf(buf, len, "the session ended (mosh-client exited with status 0)");
		break;
	case ENDING_CLIENT_FAILED:
		snprintf(buf, len, "mosh-client exited with status %d", detail);
		break;
	case ENDING_CLIENT_SIGNAL:
		snprintf(buf, len, "mosh-client was killed by signal %d (%s)", detail,
		    detail > 0 ? strsignal(detail) : "?");
		break;
	case ENDING_HANGUP:
		snprintf(buf, len, "the terminal hung up");
		break;
	case ENDING_TERM:
		snprintf(buf, len, "moshman was asked to stop (signal %d)", detail);
		break;
	case ENDING_KILL:
		snprintf(buf, len, "ended by moshman kill");
		break;
	case ENDING_SERVER_DIED:
		snprintf(buf, len,
		    "mosh-server ended on the host (killed, or the host "
		    "rebooted)");
		break;
	case ENDING_START_FAILED:
		snprintf(buf, len, "the start failed");
		break;
	default:
		snprintf(buf, len, "the session ended");
		break;
	}
}

/* Runs under sh (through shquote_script, whatever the login shell).  $1 the pid, $2
 * check or stop.  "Ours" is a mosh-server the login user may signal; a pid that is no
 * longer a mosh-server means the server is gone (its pid was reused). */
static const char stop_script[] =
    "p=$1\n"
    "case $p in ''|*[!0-9]*) echo moshman-stop 1; echo bad; exit 0;; esac\n"
    "ours() {\n"
    "\tkill -0 \"$p\" 2>/dev/null || return 1\n"
    "\tc=\n"
    "\tif [ -r /proc/$p/comm ]; then IFS= read -r c </proc/$p/comm 2>/dev/null\n"
    "\telse c=$(ps -o comm= -p \"$p\" 2>/dev/null); fi\n"
    "\t[ \"${c##*/}\" = mosh-server ]\n"
    "}\n"
    "nap=0.1; n=" ENDING_XSTR(
        ENDING_TERM_WAIT_DS) "\n"
                             "sleep $nap 2>/dev/null || { nap=1; n=2; }\n"
                             "echo moshman-stop 1\n"
                             "ours || { echo gone; exit 0; }\n"
                             "[ \"$2\" = stop ] || { echo alive; exit 0; }\n"
                             "kill -TERM \"$p\" 2>/dev/null\n"
                             "i=0; while ours && [ $i -lt $n ]; do sleep $nap; i=$((i+1)); done\n"
                             "ours || { echo stopped; exit 0; }\n"
                             "kill -KILL \"$p\" 2>/dev/null\n"
                             "i=0; while ours && [ $i -lt 10 ]; do sleep $nap; i=$((i+1)); done\n"
                             "ours && echo alive || echo killed\n";

const char *
ending_stop_script(void)
{
	return stop_script;
}

void
ending_stop_words(long long pid, int stop, char *buf, size_t len)
{
	snprintf(buf, len, "'%lld' '%s'", pid, stop ? "stop" : "check");
}

enum ending_answer
ending_stop_parse(const char *out, size_t len)
{
	static const struct {
		const char *word;
		enum ending_answer a;
	} words[] = {
		{ "gone", ENDING_ANS_GONE },
		{ "alive", ENDING_ANS_ALIVE },
		{ "stopped", ENDING_ANS_STOPPED },
		{ "killed", ENDING_ANS_KILLED },
	};
	static const char head[] = "moshman-stop 1\n";
	const char *p, *nl = NULL;
	size_t n;

	if (out == NULL)
		return ENDING_ANS_BAD;
	/* A login shell may print something first (a motd, rc-file noise): the answer
	 * starts at the header's line. */
	for (p = out; p < out + len; p = nl + 1) {
		if ((size_t)(out + len - p) >= sizeof head - 1 &&
		    memcmp(p, head, sizeof head - 1) == 0)
			break;
		if ((nl = memchr(p, '\n', (size_t)(out + len - p))) == NULL)
			return ENDING_ANS_BAD;
	}
	if (p >= out + len)
		return ENDING_ANS_BAD;
	p += sizeof head - 1;
	n = len - (size_t)(p - out);
	/* Exactly one more line, and nothing after it. */
	if ((nl = memchr(p, '\n', n)) == NULL || (size_t)(nl - p) + 1 != n)
		return ENDING_ANS_BAD;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if ((size_t)(nl - p) == strlen(words[i].word) &&
		    memcmp(p, words[i].word, (size_t)(nl - p)) == 0)
			return words[i].a;
	}
	return ENDING_ANS_BAD;
}

int
ending_answer_gone(enum ending_answer a)
{
	return a == ENDING_ANS_GONE || a == ENDING_ANS_STOPPED || a == ENDING_ANS_KILLED;
}
