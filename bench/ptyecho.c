/* SPDX-License-Identifier: MIT */
/*
 * ptyecho: keystroke-to-echo through a program on a pseudo-terminal (bench/run.sh's
 * section attach builds it with cc; it is not part of moshman).
 *
 *   ptyecho COUNT CMD...
 *	run CMD on a new pty (100x30), wait until its output has been quiet for 500 ms,
 *	then COUNT times: write one letter, time until that letter comes back.  Prints
 *	"n N p50 US p90 US min US max US" (microseconds).
 *   ptyecho -u TEXT CMD...
 *	run CMD on a new pty, print "us N": how long until TEXT is in its output (10 s
 *	at most; "us -1" then).
 *   ptyecho -h SECONDS CMD...
 *	run CMD on a new pty and read (and drop) its output for SECONDS, then end it:
 *	a terminal that stays attached and shows nothing new (the idle figures).
 *   ptyecho -t TEXT CMD...
 *	run CMD, wait until quiet, type TEXT (\r for Enter), wait until quiet, type
 *	Ctrl-^ d, wait for CMD to end.
 *
 * With CMD an echo in raw mode (`stty raw -echo; exec cat`) this is the pty's own cost;
 * with CMD `moshman attach ID` of a session whose "mosh-client" is that echo, it is the
 * attach layer's cost on top (terminal -> socket -> supervisor -> pty, and back).
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int echo_main(int, char **);

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Reads until `want` arrives (0), or ms pass without it (-1). */
static int
wait_for(int fd, char want, int ms)
{
	int64_t end = now_us() + (int64_t)ms * 1000;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = (end - now_us()) / 1000;
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if ((n = read(fd, buf, sizeof buf)) <= 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == want)
				return 0;
	}
}

static pid_t
spawn(int *fd, char **argv)
{
	struct winsize ws = { 30, 100, 0, 0 };
	pid_t pid;

	if ((pid = forkpty(fd, NULL, NULL, &ws)) == -1) {
		perror("forkpty");
		exit(1);
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void
quiet(int fd, int ms)
{
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];

		if (poll(&p, 1, ms) <= 0 || read(fd, buf, sizeof buf) <= 0)
			break;
	}
}

/* -u: time until text shows. */
static int
until(const char *text, char **argv)
{
	int64_t t0 = now_us(), end = t0 + 10000000;
	size_t len = strlen(text), have = 0;
	char seen[1 << 16];
	int fd;
	pid_t pid = spawn(&fd, argv);

	while (now_us() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, (int)((end - now_us()) / 1000) + 1) <= 0)
			break;
		if (have + 4096 > sizeof seen) {
			memmove(seen, seen + have - len, len);
			have = len;
		}
		if ((n = read(fd, seen + have, 4096)) <= 0)
			break;
		have += (size_t)n;
		if (memmem(seen, have, text, len) != NULL) {
			printf("us %lld\n", (long long)(now_us() - t0));
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
			return 0;
		}
	}
	printf("us -1\n");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 1;
}

/* -h: hold CMD's terminal for a while. */
static int
hold(int secs, char **argv)
{
	int64_t end = now_us() + (int64_t)secs * 1000000;
	int fd;
	pid_t pid = spawn(&fd, argv);

	while (now_us() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];
		int r = poll(&p, 1, (int)((end - now_us()) / 1000) + 1);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && read(fd, buf, sizeof buf) <= 0)
			break;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 0;
}

/* -t: type text, then detach. */
static int
type(const char *text, char **argv)
{
	int fd;
	pid_t pid = spawn(&fd, argv);

	quiet(fd, 500);
	for (const char *p = text; *p != '\0'; p++) {
		char c = *p;

		if (p[0] == '\\' && p[1] == 'r') {
			c = '\r';
			p++;
		}
		if (write(fd, &c, 1) != 1)
			return 1;
	}
	quiet(fd, 500);
	if (write(fd, "\036d", 2) != 2)
		return 1;
	quiet(fd, 500);
	waitpid(pid, NULL, 0);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "-u") == 0)
		return until(argv[2], argv + 3);
	if (argc >= 4 && strcmp(argv[1], "-h") == 0)
		return hold(atoi(argv[2]), argv + 3);
	if (argc >= 4 && strcmp(argv[1], "-t") == 0)
		return type(argv[2], argv + 3);
	return echo_main(argc, argv);
}

static int
echo_main(int argc, char **argv)
{
	int64_t *t;
	int fd, count, got = 0;
	pid_t pid;

	if (argc < 3 || (count = atoi(argv[1])) <= 0) {
		fprintf(stderr,
		    "usage: ptyecho COUNT CMD... | -u TEXT CMD... | -h SECONDS CMD... | -t TEXT CMD...\n");
		return 2;
	}
	t = calloc((size_t)count, sizeof *t);
	pid = spawn(&fd, argv + 2);
	/* Quiet for 500 ms: the start (or the attach's repaint) is over. */
	quiet(fd, 500);
	for (int i = 0; i < count; i++) {
		char c = (char)('a' + i % 26);
		int64_t t0 = now_us();

		if (write(fd, &c, 1) != 1 || wait_for(fd, c, 2000) == -1)
			break;
		t[got++] = now_us() - t0;
		usleep(20000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	if (got == 0) {
		printf("n 0\n");
		return 1;
	}
	qsort(t, (size_t)got, sizeof *t, cmp);
	printf("n %d p50 %lld p90 %lld min %lld max %lld\n", got, (long long)t[got / 2],
	    (long long)t[got * 9 / 10], (long long)t[0], (long long)t[got - 1]);
	return 0;
}
