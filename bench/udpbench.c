/* SPDX-License-Identifier: MIT */
/*
 * udpbench: the UDP client and echo server of `make bench` (bench/run.sh builds it
 * with cc; it is not part of moshman).
 *
 *   udpbench echo PORT [ADDR]
 *	send every datagram back to where it came from.
 *   udpbench rtt HOST PORT COUNT SIZE OUTFILE
 *	COUNT sequential round trips of SIZE bytes (1 s timeout each); every round trip
 *	in microseconds into OUTFILE (-1 for a lost one); prints
 *	"n N lost L p50 US p99 US min US max US".
 *   udpbench flood HOST PORT SECONDS SIZE INFLIGHT
 *	keep INFLIGHT datagrams of SIZE bytes outstanding for SECONDS; classify what comes
 *	back; prints "sent S recv R intact I merged M split P misaligned X dup D lost L
 *	secs T".
 *   udpbench tick HOST PORT SECONDS INTERVAL_MS HOP_MS OUTFILE
 *	one numbered datagram every INTERVAL_MS; like mosh-client, open a new socket (new
 *	source port) after HOP_MS without a reply (0: never).  OUTFILE gets "rx MS SEQ" per
 *	echo, "tx MS SEQ" per datagram and "hop MS" per new socket (wall clock, ms, so the
 *	shell's `date +%s%3N` lines up).
 *   udpbench maxrss OUTFILE CMD...
 *	run CMD, write its peak RSS in KiB (getrusage) into OUTFILE, exit with its status.
 *
 * Every datagram carries a 16-byte header (magic, sequence number, length, checksum of
 * the whole datagram), so a reply that is two datagrams glued together, a piece of one,
 * or bytes shifted across a boundary is told apart from an intact one.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x4d424e43u /* "MBNC" */
#define HDR 16
#define MAXDG 65536

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
fnv(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A datagram of SIZE bytes (>= HDR) for sequence number SEQ. */
static void
make_dg(unsigned char *b, size_t size, uint32_t seq)
{
	uint32_t x = seq * 2654435761u + 1;
	size_t i;

	put32(b, MAGIC);
	put32(b + 4, seq);
	put32(b + 8, (uint32_t)size);
	put32(b + 12, 0);
	for (i = HDR; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	put32(b + 12, fnv(b, size));
}

/* 1 and the sequence number if B is exactly one intact datagram. */
static int
check_dg(unsigned char *b, size_t n, uint32_t *seq)
{
	uint32_t sum;
	int ok;

	if (n < HDR || get32(b) != MAGIC || get32(b + 8) != n)
		return 0;
	sum = get32(b + 12);
	put32(b + 12, 0);
	ok = fnv(b, n) == sum;
	put32(b + 12, sum);
	if (ok)
		*seq = get32(b + 4);
	return ok;
}

static int
udp_socket(const char *host, const char *port, struct sockaddr_in *to)
{
	int s;

	memset(to, 0, sizeof *to);
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, host, &to->sin_addr) != 1) {
		fprintf(stderr, "udpbench: %s: not a numeric IPv4 address\n", host);
		exit(2);
	}
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket");
	if (connect(s, (struct sockaddr *)to, sizeof *to) == -1)
		die("connect");
	return s;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
do_echo(int argc, char **argv)
{
	struct sockaddr_in a, from;
	socklen_t fl;
	unsigned char buf[MAXDG];
	ssize_t n;
	int s, one = 1;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[0]));
	if (inet_pton(AF_INET, argc > 1 ? argv[1] : "0.0.0.0", &a.sin_addr) != 1)
		return 2;
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) == -1)
		die("bind");
	for (;;) {
		fl = sizeof from;
		n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int
do_rtt(char **argv)
{
	struct sockaddr_in to;
	unsigned char out[MAXDG], in[MAXDG];
	int count = atoi(argv[2]), size = atoi(argv[3]), i, s, lost = 0, got;
	int64_t *v, *sorted, t0, left;
	struct pollfd pfd;
	uint32_t seq;
	ssize_t n;
	FILE *f;

	if (count < 1 || size < HDR || size > 2048)
		return 2;
	s = udp_socket(argv[0], argv[1], &to);
	v = calloc((size_t)count, sizeof *v);
	sorted = calloc((size_t)count, sizeof *sorted);
	if (v == NULL || sorted == NULL)
		die("calloc");
	for (i = 0; i < count; i++) {
		make_dg(out, (size_t)size, (uint32_t)i);
		t0 = now_ns();
		if (send(s, out, (size_t)size, 0) == -1 && errno != ECONNREFUSED)
			die("send");
		got = 0;
		while (!got && (left = (t0 + 1000000000 - now_ns()) / 1000000) >= 0) {
			pfd.fd = s;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)left + 1) <= 0)
				break;
			n = recv(s, in, sizeof in, 0);
			if (n > 0 && check_dg(in, (size_t)n, &seq) && seq == (uint32_t)i)
				got = 1;
		}
		v[i] = got ? (now_ns() - t0) / 1000 : -1;
		if (!got)
			lost++;
	}
	if ((f = fopen(argv[4], "w")) == NULL)
		die(argv[4]);
	for (i = 0, got = 0; i < count; i++) {
		fprintf(f, "%lld\n", (long long)v[i]);
		if (v[i] >= 0)
			sorted[got++] = v[i];
	}
	fclose(f);
	if (got == 0) {
		printf("n %d lost %d p50 - p99 - min - max -\n", count, lost);
		return 0;
	}
	qsort(sorted, (size_t)got, sizeof *sorted, cmp64);
	printf("n %d lost %d p50 %lld p99 %lld min %lld max %lld\n", count, lost,
	    (long long)sorted[(got - 1) / 2], (long long)sorted[(got * 99 + 99) / 100 - 1],
	    (long long)sorted[0], (long long)sorted[got - 1]);
	return 0;
}

static int
do_flood(char **argv)
{
	struct sockaddr_in to;
	unsigned char out[MAXDG], in[MAXDG];
	double secs = atof(argv[2]);
	int size = atoi(argv[3]), inflight = atoi(argv[4]), s, fl;
	long long sent = 0, recvd = 0, intact = 0, merged = 0, split = 0, mis = 0, dup = 0;
	int64_t start, end, last_rx, t, outstanding = 0;
	unsigned char *seen;
	struct pollfd pfd;
	uint32_t seq;
	ssize_t n;

	if (size < HDR || size > 2048 || inflight < 1 || secs <= 0)
		return 2;
	s = udp_socket(argv[0], argv[1], &to);
	fl = fcntl(s, F_GETFL);
	fcntl(s, F_SETFL, fl | O_NONBLOCK);
	/* One bit per sequence number: 2^26 datagrams is far more than 10 s can send. */
	if ((seen = calloc(1u << 23, 1)) == NULL)
		die("calloc");
	start = last_rx = now_ns();
	end = start + (int64_t)(secs * 1e9);
	while ((t = now_ns()) < end) {
		/* Outstanding bytes, not datagrams: a merged reply settles several. */
		while (outstanding < (int64_t)inflight * size && sent < (1LL << 26)) {
			make_dg(out, (size_t)size, (uint32_t)sent);
			if (send(s, out, (size_t)size, 0) == -1) {
				if (errno == EAGAIN || errno == ENOBUFS)
					break;
				if (errno != ECONNREFUSED)
					die("send");
			}
			sent++;
			outstanding += size;
		}
		/* Nothing back for 200 ms: count the window as lost and refill it. */
		if (t - last_rx > 200000000) {
			outstanding = 0;
			last_rx = t;
		}
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		while ((n = recv(s, in, sizeof in, 0)) > 0) {
			recvd++;
			last_rx = now_ns();
			outstanding -= n;
			if (outstanding < 0)
				outstanding = 0;
			if (check_dg(in, (size_t)n, &seq) && n == size && seq < (1u << 26)) {
				if (seen[seq >> 3] & (1 << (seq & 7)))
					dup++;
				else {
					seen[seq >> 3] |= (unsigned char)(1 << (seq & 7));
					intact++;
				}
			} else if (n > size)
				merged++;
			else if (n < size)
				split++;
			else
				mis++;
		}
	}
	/* Let the last replies arrive, uncounted in the rate but counted as delivered. */
	t = now_ns();
	printf("sent %lld recv %lld intact %lld merged %lld split %lld misaligned %lld "
	       "dup %lld lost %lld secs %.3f\n",
	    sent, recvd, intact, merged, split, mis, dup, sent - intact, (double)(t - start) / 1e9);
	return 0;
}

static int
do_tick(char **argv)
{
	struct sockaddr_in to;
	unsigned char out[64], in[MAXDG];
	double secs = atof(argv[2]);
	int interval = atoi(argv[3]), hop = atoi(argv[4]), s, wait_ms;
	int64_t start, end, next, last_rx, t;
	uint32_t seq = 0, rseq;
	struct pollfd pfd;
	ssize_t n;
	FILE *f;

	if (interval < 1 || secs <= 0)
		return 2;
	if ((f = fopen(argv[5], "w")) == NULL)
		die(argv[5]);
	setvbuf(f, NULL, _IOLBF, 0);
	s = udp_socket(argv[0], argv[1], &to);
	start = next = last_rx = now_ns();
	end = start + (int64_t)(secs * 1e9);
	while ((t = now_ns()) < end) {
		if (t >= next) {
			if (hop > 0 && t - last_rx > (int64_t)hop * 1000000) {
				close(s);
				s = udp_socket(argv[0], argv[1], &to);
				last_rx = t;
				fprintf(f, "hop %lld\n", (long long)wall_ms());
			}
			make_dg(out, sizeof out, seq);
			send(s, out, sizeof out, 0);
			fprintf(f, "tx %lld %u\n", (long long)wall_ms(), seq);
			seq++;
			next += (int64_t)interval * 1000000;
		}
		wait_ms = (int)((next - now_ns()) / 1000000) + 1;
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms) <= 0)
			continue;
		n = recv(s, in, sizeof in, 0);
		if (n > 0 && check_dg(in, (size_t)n, &rseq)) {
			last_rx = now_ns();
			fprintf(f, "rx %lld %u\n", (long long)wall_ms(), rseq);
		}
	}
	fclose(f);
	return 0;
}

static int
do_maxrss(char **argv)
{
	struct rusage ru;
	pid_t pid;
	int st;
	FILE *f;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) == -1)
		die("wait4");
	if ((f = fopen(argv[0], "w")) == NULL)
		die(argv[0]);
	fprintf(f, "%ld\n", ru.ru_maxrss);
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (strcmp(m, "echo") == 0 && argc >= 3)
		return do_echo(argc - 2, argv + 2);
	if (strcmp(m, "rtt") == 0 && argc == 7)
		return do_rtt(argv + 2);
	if (strcmp(m, "flood") == 0 && argc == 7)
		return do_flood(argv + 2);
	if (strcmp(m, "tick") == 0 && argc == 8)
		return do_tick(argv + 2);
	if (strcmp(m, "maxrss") == 0 && argc >= 4)
		return do_maxrss(argv + 2);
	fprintf(stderr, "usage: udpbench echo|rtt|flood|tick|maxrss ... (see the source)\n");
	return 2;
}
