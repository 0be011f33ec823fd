/* SPDX-License-Identifier: MIT */
/* The command transport (src/link/cmdpath.c): template expansion, and the command's output,
 * read from real `sh` children on a libev loop. */
#include "tests/unit/unit.h"

#include <ev.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

#include "src/link/cmdpath.h"
#include "src/util/log.h"

static char log_path[] = "/tmp/moshman-test-cmdpath-XXXXXX";

static void
test_expand(void)
{
	struct cmdpath_vars v = { "example.org", 22, "alice", 60001, 41234 };
	char err[256], *out = NULL;

	CHECK_INT(cmdpath_expand("gost -L udp://127.0.0.1:{{local_port}}/127.0.0.1:"
	                         "{{mosh_port}} -F relay://{{host}}:1081",
	              &v, &out, err, sizeof err),
	    0);
	CHECK_STR(out,
	    "gost -L udp://127.0.0.1:'41234'/127.0.0.1:'60001' -F "
	    "relay://'example.org':1081");
	free(out);
	CHECK_INT(cmdpath_expand("x {{user}}@{{host}} -p {{port}}", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "x 'alice'@'example.org' -p '22'");
	free(out);
	CHECK_INT(cmdpath_expand("no placeholders", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "no placeholders");
	free(out);
}

static void
test_quoting(void)
{
	struct cmdpath_vars v = { "h'; rm -rf / #", 22, "$(id)", 1, 2 };
	char err[256], *out = NULL;

	/* Values can never break out of their quotes. */
	CHECK_INT(cmdpath_expand("c {{host}} {{user}}", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "c 'h'\\''; rm -rf / #' '$(id)'");
	free(out);
	v.user = NULL;
	CHECK_INT(cmdpath_expand("c {{user}}", &v, &out, err, sizeof err), 0);
	CHECK_STR(out, "c ''");
	free(out);
}

static void
test_errors(void)
{
	struct cmdpath_vars v = { "h", 22, "u", 1, 2 };
	char err[256], *out = NULL;

	CHECK_INT(cmdpath_expand("c {{hostname}}", &v, &out, err, sizeof err), -1);
	CHECK_HAS(err, "unknown placeholder '{{hostname}}'");
	CHECK(out == NULL);
	CHECK_INT(cmdpath_expand("c {{host", &v, &out, err, sizeof err), -1);
	CHECK_HAS(err, "unterminated");
	CHECK_INT(cmdpath_expand("c {{}}", &v, &out, err, sizeof err), -1);
}

/* ---- the command's output ----------------------------------------------------------- */

struct run {
	char exited[1024]; /* the event sent when the command ended */
	size_t heap_peak;  /* heap in use (mallinfo2) when it ended */
};

static void
run_event(const char *msg, void *arg)
{
	struct run *r = arg;

	if (strncmp(msg, "tunnel command exited", 21) == 0 ||
	    strncmp(msg, "tunnel command was killed", 25) == 0) {
		snprintf(r->exited, sizeof r->exited, "%s", msg);
		r->heap_peak = mallinfo2().uordblks;
		ev_break(EV_DEFAULT, EVBREAK_ALL);
	}
}

static void
run_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

/* Runs command once (until its first exit, 20 s at most); *heap_before is the heap in
 * use just before it started. */
static void
run_command(const char *command, struct run *r, size_t *heap_before)
{
	struct cmdpath *c;
	ev_timer t;

	memset(r, 0, sizeof *r);
	c = cmdpath_new(EV_DEFAULT, command, run_event, r);
	ev_timer_init(&t, run_timeout, 20., 0.);
	ev_timer_start(EV_DEFAULT, &t);
	if (heap_before != NULL)
		*heap_before = mallinfo2().uordblks;
	cmdpath_start(c);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &t);
	cmdpath_free(c);
	if (*r->exited == '\0')
		printf("    '%s' did not exit within 20 s\n", command);
}

/* The log so far (the file log_open was given), NUL-terminated; free() it. */
static char *
read_log(void)
{
	FILE *f = fopen(log_path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = 0;

	if (buf == NULL)
		abort();
	if (f != NULL) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void
test_output_last_line(void)
{
	struct run r;
	char *log;

	run_command("sh -c 'echo hi; echo oops >&2; exit 3'", &r, NULL);
	CHECK_HAS(r.exited, "tunnel command exited with status 3 after ");
	CHECK_HAS(r.exited, " s: oops; restarting in ");
	log = read_log();
	CHECK_HAS(log, "cmdpath: sh[");
	CHECK_HAS(log, "]: hi\n");
	CHECK_HAS(log, "]: oops\n");
	free(log);

	/* Nothing printed: no ": ..." in the event. */
	run_command("exit 4", &r, NULL);
	CHECK_HAS(r.exited, "exited with status 4 after ");
	CHECK(strstr(r.exited, ": ") == NULL);
	/* Blank lines are not "last words"; a last line without its newline is. */
	run_command("echo first; printf '\\n\\n  \\n'; printf 'no newline'; exit 1", &r, NULL);
	CHECK_HAS(r.exited, ": no newline; restarting");
	run_command("echo real; printf '\\n \\t\\r\\n'; exit 1", &r, NULL);
	CHECK_HAS(r.exited, ": real; restarting");
}

static void
test_output_hostile(void)
{
	struct run r;
	char *log;

	/* Colours, a window title and a bell: none of it reaches the event or the log. */
	run_command("printf '\\033[31mred\\033[0m \\033]0;evil title\\007bell\\001\\n'; exit 2", &r,
	    NULL);
	CHECK_HAS(r.exited, ": red bell?; restarting");
	CHECK(strchr(r.exited, '\033') == NULL);
	log = read_log();
	CHECK(strchr(log, '\033') == NULL && strchr(log, '\007') == NULL);
	CHECK(strstr(log, "evil title") == NULL);
	free(log);
}

static void
test_output_bounded(void)
{
	struct run r;
	size_t before;
	char *log, *p;

	/* 1 MB on one line: read to its end (the command is not stopped by a full pipe),
	 * its start shown cut, nothing of it kept beyond a fixed buffer. */
	run_command("head -c 1048576 /dev/zero | tr '\\0' a; exit 5", &r, &before);
	CHECK_HAS(r.exited, "exited with status 5 after ");
	CHECK_HAS(r.exited, ": aaaaaaaaaa");
	CHECK_HAS(r.exited, "...; restarting");
	CHECK(strlen(r.exited) < 300);
	CHECK(r.heap_peak < before + 64 * 1024);
	if (r.heap_peak >= before + 64 * 1024)
		printf("    heap grew by %zu bytes\n", r.heap_peak - before);
	/* The same followed by a line: that line is the last one. */
	run_command("head -c 1048576 /dev/zero | tr '\\0' b; echo; echo after the flood; exit 6",
	    &r, NULL);
	CHECK_HAS(r.exited, ": after the flood; restarting");
	/* The log has the flood's start once, cut, and not the rest. */
	log = read_log();
	p = strstr(log, "bbbbbbbbbb");
	CHECK(p != NULL && strstr(p + 1024, "bbbbbbbbbb") == NULL);
	CHECK(strlen(log) < 64 * 1024);
	free(log);
}

static void
test_no_inherited_fds(void)
{
	struct run r;
	char cmd[256];
	int fd;

	/* A descriptor of ours without close-on-exec must not reach the command. */
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd > 2);
	snprintf(cmd, sizeof cmd,
	    "if [ -e /proc/$$/fd/%d ]; then echo leaked; else echo "
	    "clean; fi; exit 7",
	    fd);
	run_command(cmd, &r, NULL);
	CHECK_HAS(r.exited, "exited with status 7 after ");
	CHECK_HAS(r.exited, ": clean; restarting");
	close(fd);
	/* stdin is /dev/null, not ours. */
	run_command("cat; echo stdin-ended; exit 8", &r, NULL);
	CHECK_HAS(r.exited, ": stdin-ended; restarting");
}

static void
run_for(double seconds)
{
	ev_timer t;

	ev_timer_init(&t, run_timeout, seconds, 0.);
	ev_timer_start(EV_DEFAULT, &t);
	ev_run(EV_DEFAULT, 0);
	ev_timer_stop(EV_DEFAULT, &t);
}

static void
test_free_ignoring_sigterm(void)
{
	struct run r;
	struct cmdpath *c;
	struct timespec t0, t1;
	double took;
	int pid;

	/* A command (and its child) that ignores SIGTERM is killed, and free returns. */
	memset(&r, 0, sizeof r);
	c = cmdpath_new(EV_DEFAULT, "trap '' TERM; sleep 60; sleep 60", run_event, &r);
	cmdpath_start(c);
	run_for(0.5);
	pid = cmdpath_pid(c);
	CHECK(pid > 0);
	CHECK_INT(kill(-pid, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cmdpath_free(c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("    # free of a command ignoring SIGTERM took %.2f s\n", took);
	CHECK(took >= 1.5 && took < 10.);
	/* The group's other members were orphaned by the SIGKILL: give init a moment to
	 * reap them (zombies still count as members). */
	for (int i = 0; i < 100 && kill(-pid, 0) == 0; i++)
		run_for(0.02);
	CHECK(kill(-pid, 0) == -1 && errno == ESRCH);
	CHECK(*r.exited == '\0');
}

static char restart_msg[1024];

static void
restart_event(const char *msg, void *arg)
{
	(void)arg;
	if (strstr(msg, "stopped on request") != NULL) {
		snprintf(restart_msg, sizeof restart_msg, "%s", msg);
		ev_break(EV_DEFAULT, EVBREAK_ALL);
	}
}

static double
mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A requested restart never blocks the loop: the command is stopped (SIGKILL after 2 s
 * if it ignores SIGTERM) and started again at once when it has exited. */
static void
test_restart(void)
{
	static const char *const cmds[] = { "exec sleep 60", "trap '' TERM; sleep 60; sleep 60" };
	struct cmdpath *c;
	double t0, took, waited;
	int pid0, pid1, i;

	for (i = 0; i < 2; i++) {
		*restart_msg = '\0';
		c = cmdpath_new(EV_DEFAULT, cmds[i], restart_event, NULL);
		cmdpath_start(c);
		run_for(0.3);
		pid0 = cmdpath_pid(c);
		CHECK(pid0 > 0);
		t0 = mono_s();
		cmdpath_restart(c);
		cmdpath_restart(c); /* a second request while the first runs: no effect */
		took = mono_s() - t0;
		CHECK(took < 0.1);
		run_for(5.);
		waited = mono_s() - t0;
		pid1 = cmdpath_pid(c);
		printf("    # '%s': restart returned after %.3f s, new child after %.2f s\n",
		    cmds[i], took, waited);
		CHECK_HAS(restart_msg, "starting it again");
		CHECK(pid1 > 0 && pid1 != pid0);
		CHECK(i == 0 ? waited < 1.5 : (waited >= 1.5 && waited < 4.5));
		CHECK(kill(pid0, 0) == -1);
		cmdpath_free(c);
	}
}

int
main(void)
{
	int fd;

	UNIT_BEGIN("test_cmdpath");
	if ((fd = mkstemp(log_path)) == -1) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	log_open(log_path);
	RUN(test_expand);
	RUN(test_quoting);
	RUN(test_errors);
	RUN(test_output_last_line);
	RUN(test_output_hostile);
	RUN(test_output_bounded);
	RUN(test_no_inherited_fds);
	RUN(test_free_ignoring_sigterm);
	RUN(test_restart);
	log_close();
	unlink(log_path);
	UNIT_END();
}
