/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/util/proc.h"
#include "tests/unit/unit.h"

static void
parse_plain(void)
{
	const char *s = "1234 (bash) S 1 1234 1234 34816 1234 4194304 1 2 3 4 5 6 7 8 20 0 1 "
	                "0 987654 123 45\n";
	struct proc_stat st;

	CHECK_INT(proc_parse_stat(s, strlen(s), &st), 0);
	CHECK_INT(st.pid, 1234);
	CHECK_INT(st.state, 'S');
	CHECK_INT(st.starttime, 987654);
}

static void
parse_odd_comm(void)
{
	/* A name with spaces and ") " in it must not shift the fields. */
	const char *s = "77 (a) b ) c) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 1\n";
	struct proc_stat st;

	CHECK_INT(proc_parse_stat(s, strlen(s), &st), 0);
	CHECK_INT(st.pid, 77);
	CHECK_INT(st.state, 'Z');
	CHECK_INT(st.starttime, 4242);
}

static void
parse_garbage(void)
{
	struct proc_stat st;
	const char *bad[] = {
		"",
		"hello",
		"12 (x) S 1 2",
		"(x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"-5 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"5 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 abc",
		"5 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99999999999999999999999",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(proc_parse_stat(bad[i], strlen(bad[i]), &st), -1);
}

static void
self_identity(void)
{
	char boot[PROC_BOOT_ID_LEN];
	uint64_t start = proc_start_time(getpid());

	CHECK(start > 0);
	CHECK_INT(proc_boot_id(boot, sizeof boot), 0);
	CHECK_INT(strlen(boot), 36);
	CHECK_INT(proc_alive(getpid(), start, boot), PROC_ALIVE);
	/* Same pid but another start time: a reused pid is not our process. */
	CHECK_INT(proc_alive(getpid(), start + 1, boot), PROC_DEAD);
	/* Another boot: dead whatever the pid says. */
	CHECK_INT(proc_alive(getpid(), start, "00000000-0000-0000-0000-000000000000"), PROC_DEAD);
}

static void
dead_child(void)
{
	pid_t pid;
	uint64_t start;
	siginfo_t si;
	int status;

	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	CHECK(pid > 0);
	start = proc_start_time(pid);
	CHECK(start > 0);
	CHECK_INT(proc_alive(pid, start, NULL), PROC_ALIVE);
	kill(pid, SIGKILL);
	/* A zombie is already dead for us.  waitid(WNOWAIT) returns once the child is one
	 * and leaves it unreaped; SIGKILL cannot be ignored, so the wait ends. */
	memset(&si, 0, sizeof si);
	CHECK_INT(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	CHECK_INT(si.si_pid, pid);
	CHECK_INT(proc_alive(pid, start, NULL), PROC_DEAD);
	waitpid(pid, &status, 0);
	CHECK_INT(proc_alive(pid, start, NULL), PROC_DEAD);
	CHECK_INT(proc_start_time(pid), 0);
}

int
main(void)
{
	UNIT_BEGIN("test_proc");
	RUN(parse_plain);
	RUN(parse_odd_comm);
	RUN(parse_garbage);
	RUN(self_identity);
	RUN(dead_child);
	UNIT_END();
}
