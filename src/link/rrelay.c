/* SPDX-License-Identifier: MIT */
#include "src/link/rrelay.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link/relay.pl.h"
#include "src/util/clock.h"
#include "src/link/frame.h"
#include "src/link/udpsock.h"
#include "src/util/xmalloc.h"

/* Output queued beyond this stops all reading until it drains: the supervisor is slow,
 * so let the kernel drop UDP rather than grow without bound. */
#define RRELAY_HIGH (256 * 1024)
#define RRELAY_READ 65536
/* Datagrams taken per wake-up, so a UDP flood cannot starve stdin. */
#define RRELAY_UDP_BURST 64
/* How long a final CLOSE may take to drain. */
#define RRELAY_LINGER_MS 2000

/* The loader the Perl relay is started with: reads exactly LENGTH bytes of script with
 * sysread (buffered reading would swallow frames that follow the script) and runs it.
 * No ', \ or ! in it, so every common login shell (sh, bash, zsh, fish, csh) passes it
 * unchanged inside single quotes. */
#define RRELAY_PERL_LOADER \
	"$n=shift;$s=\"\";while(length($s)<$n){sysread(STDIN,$s,$n-length($s)," \
	"length($s))or exit(1)}eval($s);warn($@);exit(1)"

enum {
	RUN_GO = 0,
	RUN_DONE = 1,
	RUN_FAIL = -1,
};

struct rrelay {
	const struct rrelay_opts *o;
	const char *host;
	int udp;
	struct sockaddr_storage peer;
	struct frame_decoder dec;
	int got_input;
	long long last_frame; /* mono ms of the last frame from the client */
	long long last_udp;   /* mono ms of the last datagram from the peer (or the start) */
	int refused;          /* a REFUSED notice went out since the last datagram from the peer */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	char *err;
	size_t errsz;
};

static void
rrelay_error(struct rrelay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
rrelay_error(struct rrelay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errsz, fmt, ap);
	va_end(ap);
}

static size_t
rrelay_pending(const struct rrelay *r)
{
	return r->out_len - r->out_off;
}

static void
rrelay_queue(struct rrelay *r, const uint8_t *p, size_t n)
{
	if (r->out_off == r->out_len)
		r->out_off = r->out_len = 0;
	if (r->out_len + n > r->out_cap && r->out_off > 0) {
		memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
		r->out_len -= r->out_off;
		r->out_off = 0;
	}
	if (r->out_len + n > r->out_cap) {
		r->out_cap = r->out_cap < 16384 ? 16384 : r->out_cap;
		while (r->out_cap < r->out_len + n)
			r->out_cap *= 2;
		r->out = xreallocarray(r->out, r->out_cap, 1);
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
}

static int
rrelay_write(struct rrelay *r)
{
	ssize_t n;

	n = write(r->o->out_fd, r->out + r->out_off, rrelay_pending(r));
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		rrelay_error(r, "cannot write to stdout: %s", strerror(errno));
		return -1;
	}
	r->out_off += (size_t)n;
	return 0;
}

/* Sends CLOSE and gives it a moment to drain.  reason also becomes the error, unless an
 * earlier one (from writing) is already there. */
static int
rrelay_finish(struct rrelay *r, int status, const char *reason)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	long long deadline = clock_mono_ms() + RRELAY_LINGER_MS, left;
	struct pollfd p;

	if (status != FRAME_CLOSE_OK && reason != r->err)
		rrelay_error(r, "%s", reason);
	rrelay_queue(r, fb, frame_encode_close(fb, sizeof fb, status, reason));
	while (rrelay_pending(r) > 0 && (left = deadline - clock_mono_ms()) > 0) {
		p.fd = r->o->out_fd;
		p.events = POLLOUT;
		if (poll(&p, 1, (int)left) > 0 && rrelay_write(r) == -1)
			break;
	}
	return status == FRAME_CLOSE_OK ? RUN_DONE : RUN_FAIL;
}

static void
rrelay_notice(struct rrelay *r, int code, const char *text)
{
	uint8_t fb[FRAME_ENCODED_MAX];

	rrelay_queue(r, fb, frame_encode_notice(fb, sizeof fb, code, text));
}

static void
rrelay_refused(struct rrelay *r)
{
	char text[128];

	if (r->refused)
		return;
	r->refused = 1;
	snprintf(text, sizeof text, "nothing is listening on %s port %d", r->host, r->o->port);
	rrelay_notice(r, FRAME_NOTICE_REFUSED, text);
}

static int
rrelay_socket(struct rrelay *r)
{
	struct udpsock_addr a;
	char err[160];

	if (udpsock_resolve(r->host, r->o->port, 0, &a, err, sizeof err) == -1) {
		rrelay_error(r, "%s", err);
		return -1;
	}
	if ((r->udp = udpsock_open(&a, 0, err, sizeof err)) == -1) {
		rrelay_error(r, "%s", err);
		return -1;
	}
	/* connect() makes the kernel drop datagrams from anyone else and report ICMP
	 * "port unreachable" as ECONNREFUSED; it also binds us to the loopback address
	 * when the peer is on loopback.  (The relay sits next to mosh-server: its own
	 * address never changes, unlike the client side's, which never connects.) */
	if (connect(r->udp, (const struct sockaddr *)&a.ss, a.len) == -1) {
		rrelay_error(r, "cannot use UDP %s port %d: %s", r->host, r->o->port,
		    strerror(errno));
		return -1;
	}
	memcpy(&r->peer, &a.ss, a.len);
	return 0;
}

static int
rrelay_is_peer(const struct rrelay *r, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *a4 = (const void *)ss, *p4 = (const void *)&r->peer;
	const struct sockaddr_in6 *a6 = (const void *)ss, *p6 = (const void *)&r->peer;

	if (ss->ss_family != r->peer.ss_family)
		return 0;
	if (ss->ss_family == AF_INET)
		return a4->sin_port == p4->sin_port && a4->sin_addr.s_addr == p4->sin_addr.s_addr;
	if (ss->ss_family == AF_INET6)
		return a6->sin6_port == p6->sin6_port &&
		    memcmp(&a6->sin6_addr, &p6->sin6_addr, sizeof a6->sin6_addr) == 0;
	return 0;
}

static int
rrelay_read_udp(struct rrelay *r)
{
	uint8_t dg[FRAME_DATA_MAX], fb[FRAME_ENCODED_MAX];
	struct sockaddr_storage ss;
	socklen_t sl;
	char text[96], msg[160];
	ssize_t n;
	int i;

	for (i = 0; i < RRELAY_UDP_BURST && rrelay_pending(r) < RRELAY_HIGH; i++) {
		sl = sizeof ss;
		/* MSG_TRUNC: the real size, so an oversized datagram is named, not cut. */
		n = recvfrom(r->udp, dg, sizeof dg, MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ECONNREFUSED) {
				rrelay_refused(r);
				break;
			}
			snprintf(msg, sizeof msg, "UDP receive failed: %s", strerror(errno));
			return rrelay_finish(r, FRAME_CLOSE_FAILURE, msg);
		}
		/* connect() already filters; this says it twice. */
		if (!rrelay_is_peer(r, &ss))
			continue;
		r->refused = 0;
		r->last_udp = clock_mono_ms();
		if ((size_t)n > sizeof dg) {
			snprintf(text, sizeof text, "dropped a datagram of %zd bytes (limit %d)", n,
			    FRAME_DATA_MAX);
			rrelay_notice(r, FRAME_NOTICE_OVERSIZE, text);
			continue;
		}
		rrelay_queue(r, fb, frame_encode_data(fb, sizeof fb, dg, (size_t)n, NULL, 0));
	}
	return RUN_GO;
}

static int
rrelay_handle(struct rrelay *r, const struct frame *f)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	char msg[160];

	switch (f->type) {
	case FRAME_HELLO:
		if (frame_version_choose(r->o->vmin, r->o->vmax, f->version_min, f->version_max) ==
		    -1) {
			snprintf(msg, sizeof msg,
			    "no common protocol version: relay speaks %d..%d, client %u..%u",
			    r->o->vmin, r->o->vmax, f->version_min, f->version_max);
			return rrelay_finish(r, FRAME_CLOSE_VERSION, msg);
		}
		break;
	case FRAME_DATA:
		/* A datagram that cannot go now is lost, as UDP would lose it; mosh
		 * resends. */
		if (send(r->udp, f->payload, f->len, 0) == -1 && errno == ECONNREFUSED)
			rrelay_refused(r);
		break;
	case FRAME_PING:
		rrelay_queue(r, fb, frame_encode_pong(fb, sizeof fb, f->token));
		break;
	case FRAME_CLOSE:
		return rrelay_finish(r, FRAME_CLOSE_OK, "closed by the client");
	case FRAME_PONG:
	case FRAME_NOTICE:
		break;
	}
	return RUN_GO;
}

static int
rrelay_read_input(struct rrelay *r)
{
	uint8_t buf[RRELAY_READ];
	struct frame f;
	enum frame_result fr;
	ssize_t n;
	int rc;

	n = read(r->o->in_fd, buf, sizeof buf);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return RUN_GO;
		rrelay_error(r, "cannot read stdin: %s", strerror(errno));
		return rrelay_finish(r, FRAME_CLOSE_FAILURE, r->err);
	}
	if (n == 0) {
		if (r->got_input && frame_decoder_eof(&r->dec) == -1)
			return rrelay_finish(r, FRAME_CLOSE_PROTOCOL, frame_decoder_error(&r->dec));
		return rrelay_finish(r, FRAME_CLOSE_OK, "stdin closed");
	}
	r->got_input = 1;
	frame_decoder_feed(&r->dec, buf, (size_t)n);
	while ((fr = frame_decoder_next(&r->dec, &f)) == FRAME_OK) {
		r->last_frame = clock_mono_ms();
		if ((rc = rrelay_handle(r, &f)) != RUN_GO)
			return rc;
	}
	if (fr == FRAME_ERROR)
		return rrelay_finish(r, FRAME_CLOSE_PROTOCOL, frame_decoder_error(&r->dec));
	return RUN_GO;
}

/* Our parent, when it is the sshd session process this channel runs under (the login
 * shell exec'd us): the process that keeps a vanished client's connection open. */
static pid_t
rrelay_sshd_parent(void)
{
	char path[64], comm[32] = "";
	pid_t pp = getppid();
	FILE *f;

	if (pp <= 1)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pp);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(comm, sizeof comm, f) == NULL)
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "sshd") == 0 || strcmp(comm, "sshd-session") == 0 ? pp : -1;
}

/* The client said nothing for idle_s: its link is gone without a FIN.  sshd would keep
 * the session (and us) for as long as TCP retries, so end both. */
static int
rrelay_idle_exit(struct rrelay *r, int orphan)
{
	uint8_t fb[FRAME_ENCODED_MAX];
	pid_t pp;

	if (orphan)
		rrelay_error(r,
		    "nothing from the client nor from the UDP peer for %d s; another link took "
		    "over and this one is gone",
		    RRELAY_ORPHAN_S);
	else
		rrelay_error(r, "nothing from the client for %d s; its link is gone", r->o->idle_s);
	rrelay_queue(r, fb, frame_encode_close(fb, sizeof fb, FRAME_CLOSE_FAILURE, r->err));
	(void)rrelay_write(r);
	if ((pp = rrelay_sshd_parent()) != -1)
		kill(pp, SIGTERM);
	return RUN_FAIL;
}

int
rrelay_run(const struct rrelay_opts *o, char *err, size_t errsz)
{
	struct rrelay r;
	struct pollfd p[3];
	uint8_t fb[FRAME_ENCODED_MAX];
	char impl[32];
	int rc = RUN_GO, outflags = -1, wanted, timeout;
	long long left;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.host = o->host != NULL ? o->host : "127.0.0.1";
	r.udp = -1;
	r.err = err;
	r.errsz = errsz;
	if (errsz > 0)
		*err = '\0';
	frame_decoder_init(&r.dec, FRAME_PEER_CLIENT);
	r.last_frame = clock_mono_ms();
	r.last_udp = r.last_frame;

	snprintf(impl, sizeof impl, "moshman %s", MOSHMAN_VERSION);
	rrelay_queue(&r, fb, frame_encode_hello(fb, sizeof fb, o->vmin, o->vmax, impl));
	/* After the HELLO, so that a failure here reaches the supervisor in-band. */
	if (rrelay_socket(&r) == -1) {
		rc = rrelay_finish(&r, FRAME_CLOSE_FAILURE, err);
		goto out;
	}
	/* Restored at the end: stdout may be a terminal shared with a shell. */
	if ((outflags = fcntl(o->out_fd, F_GETFL)) != -1)
		fcntl(o->out_fd, F_SETFL, outflags | O_NONBLOCK);

	while (rc == RUN_GO) {
		/* A negative fd is skipped by poll(): nothing to do is never a busy loop. */
		wanted = rrelay_pending(&r) < RRELAY_HIGH;
		p[0].fd = wanted ? o->in_fd : -1;
		p[0].events = POLLIN;
		p[1].fd = wanted ? r.udp : -1;
		p[1].events = POLLIN;
		p[2].fd = rrelay_pending(&r) > 0 ? o->out_fd : -1;
		p[2].events = POLLOUT;
		timeout = -1;
		if (o->idle_s > 0) {
			long long now = clock_mono_ms(),
			          quiet = r.last_frame > r.last_udp ? r.last_frame : r.last_udp;
			long long orphan_left = quiet + RRELAY_ORPHAN_S * 1000LL - now;

			left = r.last_frame + o->idle_s * 1000LL - now;
			if (left <= 0 || orphan_left <= 0) {
				rc = rrelay_idle_exit(&r, left > 0);
				break;
			}
			timeout = (int)(left < orphan_left ? left : orphan_left);
		}
		if (poll(p, 3, timeout) == -1) {
			if (errno == EINTR)
				continue;
			rrelay_error(&r, "poll: %s", strerror(errno));
			rc = RUN_FAIL;
			break;
		}
		if (p[2].revents != 0 && rrelay_write(&r) == -1) {
			rc = RUN_FAIL;
			break;
		}
		if (p[1].revents != 0)
			rc = rrelay_read_udp(&r);
		if (rc == RUN_GO && p[0].revents != 0)
			rc = rrelay_read_input(&r);
	}
out:
	if (outflags != -1)
		fcntl(o->out_fd, F_SETFL, outflags);
	if (r.udp != -1)
		close(r.udp);
	frame_decoder_free(&r.dec);
	free(r.out);
	return rc == RUN_DONE ? 0 : -1;
}

int
rrelay_valid_host(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return s != NULL && (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1);
}

const char *
rrelay_perl_script(void)
{
	return relay_pl;
}

static char *
rrelay_command(const char *prefix, const char *host, int port, int proto)
{
	char *cmd = NULL, extra[96] = "";
	size_t n = 0;

	if (port < 1 || port > 65535 || (host != NULL && !rrelay_valid_host(host)))
		fatalx("rrelay_command: host %s port %d", host ? host : "-", port);
	if (proto > 0)
		n += (size_t)snprintf(extra + n, sizeof extra - n, " --proto %d", proto);
	if (host != NULL)
		snprintf(extra + n, sizeof extra - n, " --host %s", host);
	xasprintf(&cmd, "%s --port %d%s", prefix, port, extra);
	return cmd;
}

char *
rrelay_perl_command(const char *host, int port, int proto)
{
	char prefix[256];

	snprintf(prefix, sizeof prefix, "exec perl -e '%s' %zu", RRELAY_PERL_LOADER,
	    strlen(relay_pl));
	return rrelay_command(prefix, host, port, proto);
}

char *
rrelay_native_command(const char *host, int port, int proto)
{
	return rrelay_command("exec moshman relay", host, port, proto);
}
