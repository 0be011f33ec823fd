#include "src/link/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>

#include "src/util/clock.h"
#include "src/link/frame.h"
#include "src/link/localrelay.h"
#include "src/util/log.h"
#include "src/link/rrelay.h"
#include "src/ssh/sshconn.h"
#include "src/util/xmalloc.h"

#ifndef MOSHMAN_VERSION
#define MOSHMAN_VERSION "0.1.0"
#endif

/* Reconnect attempts: connect + handshake + auth must finish in this long.  A fresh
 * attempt soon beats waiting on a stalled one. */
#define TUNNEL_ATTEMPT_MS 3000
/* Output queued for the channel beyond this: new datagrams are dropped, as UDP would. */
#define TUNNEL_QUEUE_MAX (256 * 1024)

enum tstate { T_IDLE, T_STARTING, T_UP, T_RECONNECTING, T_FAILED };

struct tunnel {
	struct ev_loop *loop;
	struct sshconn *ssh;
	struct localrelay *relay;
	int attached;             /* installed as the relay's path */
	char *udp_host;
	int udp_port;
	enum tunnel_relay want;
	enum tunnel_relay using;  /* NATIVE or PERL for the current stream */
	int native_failed;        /* the native relay is not there: Perl from now on */
	tunnel_event_cb cb;
	void *cb_arg;
	void (*deliver)(const void *, size_t, void *);
	void *deliver_arg;

	enum tstate state;
	int have_hello;
	int stream;               /* a relay stream is open */
	int64_t stream_at;        /* when the stream was opened (mono ms) */
	struct frame_decoder dec;
	char errtail[256];        /* the relay's stderr, last bytes */
	size_t errlen;

	struct tunnel_live live;
	uint8_t ping_token[FRAME_TOKEN_LEN];
	int64_t ping_sent;        /* mono ms of the outstanding PING, 0 none */
	int64_t rtt_ms;
	int64_t last_rx_epoch;

	int attempt;              /* reconnect attempts since the link died */
	int reconnects;
	int64_t dead_at;          /* mono ms when the link was declared dead */
	char dead_reason[256];

	int rtt_slow_once;        /* the last PONG was slow: not trusted until confirmed */
	ev_timer tick;
	void (*on_tick)(void *);  /* the owner's once-a-second hook (tunnel_config.tick) */
	void *tick_arg;
	ev_timer retry;
	ev_idle again;            /* reopen the stream from the loop (native -> perl) */
};

/* ---- pure pieces --------------------------------------------------------------------- */

void
tunnel_live_reset(struct tunnel_live *l, int64_t now)
{
	memset(l, 0, sizeof *l);
	l->last_rx = now;
}

void
tunnel_live_rx(struct tunnel_live *l, int64_t now)
{
	l->last_rx = now;
	l->first_tx = 0;
	l->pings_out = 0;
}

void
tunnel_live_tx(struct tunnel_live *l, int64_t now)
{
	if (l->first_tx == 0)
		l->first_tx = now;
}

void
tunnel_live_pong(struct tunnel_live *l, int64_t rtt_ms)
{
	/* A PING that waited out a stall measures the stall: ask again at the next tick
	 * rather than keep a stale slow sample (and a degraded session) for 10 s. */
	if (rtt_ms > TUNNEL_RTT_RECHECK_MS)
		l->last_ping = 0;
}

int
tunnel_live_tick(struct tunnel_live *l, int64_t now, int *ping, char *reason,
    size_t reasonsz)
{
	*ping = 0;
	if (l->first_tx != 0 && now - l->first_tx >= TUNNEL_SILENCE_MS) {
		snprintf(reason, reasonsz, "no reply for %.1f s",
		    (double)(now - l->last_rx) / 1000.0);
		return 1;
	}
	if (l->pings_out >= TUNNEL_PINGS_LOST && now - l->last_ping >= TUNNEL_PING_IDLE_MS) {
		snprintf(reason, reasonsz, "%d pings unanswered, nothing for %.1f s",
		    l->pings_out, (double)(now - l->last_rx) / 1000.0);
		return 1;
	}
	/* Only an idle link gets PINGs (a busy one proves itself), plus a rare one for the
	 * round-trip time. */
	if ((now - l->last_rx >= TUNNEL_PING_IDLE_MS &&
	    (l->last_ping == 0 || now - l->last_ping >= TUNNEL_PING_IDLE_MS)) ||
	    l->last_ping == 0 || now - l->last_ping >= TUNNEL_PING_EVERY_MS) {
		*ping = 1;
		l->last_ping = now;
		if (now - l->last_rx >= TUNNEL_PING_IDLE_MS)
			l->pings_out++;
	}
	return 0;
}

int
tunnel_parse_addrport(const char *s, int allow_zero, char *addr, size_t addrsz, int *port,
    char *err, size_t errsz)
{
	const char *colon, *a, *p;
	char buf[64];
	size_t alen;
	unsigned char bin[16];
	long v = 0;
	int six = 0;

	if (s == NULL || *s == '\0') {
		snprintf(err, errsz, "empty address; expected ADDR:PORT, e.g. 127.0.0.1:5353");
		return -1;
	}
	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':') {
			snprintf(err, errsz, "'%s': an IPv6 address goes in brackets, then :PORT, "
			    "e.g. [::1]:5353", s);
			return -1;
		}
		a = s + 1;
		alen = (size_t)(colon - a);
		p = colon + 2;
		six = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errsz, "'%s' has no port; expected ADDR:PORT, e.g. "
			    "127.0.0.1:5353", s);
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errsz, "'%s': put an IPv6 address in brackets, e.g. "
			    "[::1]:5353", s);
			return -1;
		}
		a = s;
		alen = (size_t)(colon - s);
		p = colon + 1;
	}
	if (alen == 0 || alen >= sizeof buf) {
		snprintf(err, errsz, "'%s' has no address before the port", s);
		return -1;
	}
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	if (inet_pton(six ? AF_INET6 : AF_INET, buf, bin) != 1) {
		snprintf(err, errsz, "'%s' is not a numeric %s address (names are not "
		    "resolved here)", buf, six ? "IPv6" : "IPv4");
		return -1;
	}
	if (*p == '\0') {
		snprintf(err, errsz, "'%s' has no port after the colon", s);
		return -1;
	}
	for (const char *q = p; *q != '\0'; q++) {
		if (*q < '0' || *q > '9' || v > 65535) {
			snprintf(err, errsz, "port '%s' is not a number from %d to 65535", p,
			    allow_zero ? 0 : 1);
			return -1;
		}
		v = v * 10 + (*q - '0');
	}
	if (v > 65535 || (v == 0 && !allow_zero)) {
		snprintf(err, errsz, "port '%s' is not a number from %d to 65535", p,
		    allow_zero ? 0 : 1);
		return -1;
	}
	if (strlen(buf) >= addrsz) {
		snprintf(err, errsz, "address '%s' too long", buf);
		return -1;
	}
	memcpy(addr, buf, strlen(buf) + 1);
	*port = (int)v;
	return 0;
}

int
tunnel_backoff_ms(int n, double r)
{
	double base = 150.0;

	for (int i = 0; i < n && base < 2000.0; i++)
		base *= 2.0;
	if (base > 1600.0)
		base = 1600.0;
	/* Jitter: 0.75x .. 1.25x, so a cap of 1.6 s stays at or under 2 s. */
	return (int)(base * (0.75 + 0.5 * r));
}

/* ---- helpers ------------------------------------------------------------------------- */

static void
t_emit(struct tunnel *t, enum tunnel_event ev, double secs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
t_emit(struct tunnel *t, enum tunnel_event ev, double secs, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_debug("tunnel: %s", buf);
	if (t->cb != NULL)
		t->cb(t, ev, buf, secs, t->cb_arg);
}

static const char *
t_relay_name(const struct tunnel *t)
{
	return t->using == TUNNEL_RELAY_PERL ? "perl" : "native";
}

static void t_dead(struct tunnel *, const char *);
static void t_open_stream(struct tunnel *);
static void t_attempt(struct tunnel *);

/* ---- the path ------------------------------------------------------------------------ */

static int
t_path_send(void *p, const void *buf, size_t len)
{
	struct tunnel *t = p;
	uint8_t out[FRAME_ENCODED_MAX];
	size_t n;

	if (!t->stream || t->state == T_FAILED)
		return -1;
	if (sshconn_stream_queued(t->ssh) > TUNNEL_QUEUE_MAX)
		return -1;
	if ((n = frame_encode_data(out, sizeof out, buf, len, NULL, 0)) == 0)
		return -1;
	sshconn_stream_write(t->ssh, out, n);
	if (t->have_hello)
		tunnel_live_tx(&t->live, clock_mono_ms());
	return 0;
}

static void
t_path_free(void *p)
{
	struct tunnel *t = p;

	t->attached = 0;
}

static const struct localrelay_path_ops tunnel_path_ops = {
	"tcp", t_path_send, t_path_free,
};

/* ---- the stream ---------------------------------------------------------------------- */

static void
t_stream_data(const void *buf, size_t len, void *arg)
{
	struct tunnel *t = arg;
	struct frame f;
	enum frame_result r;
	int64_t now = clock_mono_ms();

	frame_decoder_feed(&t->dec, buf, len);
	while ((r = frame_decoder_next(&t->dec, &f)) == FRAME_OK) {
		tunnel_live_rx(&t->live, now);
		t->last_rx_epoch = clock_epoch_ms();
		switch (f.type) {
		case FRAME_HELLO:
			if (frame_version_choose(FRAME_VERSION_MIN, FRAME_VERSION_MAX,
			    f.version_min, f.version_max) == -1) {
				sshconn_stream_close(t->ssh);
				t->stream = 0;
				t->state = T_FAILED;
				t_emit(t, TUNNEL_FAILED, 0, "the remote relay (%s) speaks protocol "
				    "%d..%d, this moshman %d..%d; update one of them", f.text,
				    f.version_min, f.version_max, FRAME_VERSION_MIN,
				    FRAME_VERSION_MAX);
				return;
			}
			t->have_hello = 1;
			tunnel_live_reset(&t->live, now);
			if (t->state == T_STARTING) {
				t->state = T_UP;
				t_emit(t, TUNNEL_UP, 0, "up via tcp (relay %s)", t_relay_name(t));
			} else if (t->state == T_RECONNECTING) {
				double secs = (double)(now - t->dead_at) / 1000.0;

				t->state = T_UP;
				t->reconnects++;
				t->attempt = 0;
				t_emit(t, TUNNEL_UP_AGAIN, secs, "up again after %.1f s (reconnect %d)",
				    secs, t->reconnects);
			}
			break;
		case FRAME_DATA:
			if (t->deliver != NULL)
				t->deliver(f.payload, f.len, t->deliver_arg);
			else if (t->attached)
				localrelay_deliver(t->relay, f.payload, f.len);
			break;
		case FRAME_PING: {
			uint8_t out[FRAME_ENCODED_MAX];
			size_t n = frame_encode_pong(out, sizeof out, f.token);

			sshconn_stream_write(t->ssh, out, n);
			break;
		}
		case FRAME_PONG:
			if (t->ping_sent != 0 && memcmp(f.token, t->ping_token,
			    FRAME_TOKEN_LEN) == 0) {
				int64_t rtt = now - t->ping_sent;

				/* One slow PONG is most often the PING that waited out a stall
				 * that is over now: it is measured again at the next tick, and
				 * only a second slow one becomes the link's round trip. */
				if (rtt > TUNNEL_RTT_RECHECK_MS && !t->rtt_slow_once)
					t->rtt_slow_once = 1;
				else {
					t->rtt_ms = rtt;
					t->rtt_slow_once = 0;
				}
				t->ping_sent = 0;
				tunnel_live_pong(&t->live, rtt);
			}
			break;
		case FRAME_CLOSE:
			t_dead(t, f.code == FRAME_CLOSE_OK ? "the remote relay closed" :
			    f.text);
			return;
		case FRAME_NOTICE:
			if (f.code == FRAME_NOTICE_REFUSED)
				t_emit(t, TUNNEL_NOTICE, 0, "relay: %s (has mosh-server ended?)",
				    f.text);
			break;
		default:
			break;
		}
	}
	if (r == FRAME_ERROR) {
		char why[600];

		snprintf(why, sizeof why, "garbage from the relay: %s",
		    frame_decoder_error(&t->dec));
		t_dead(t, why);
	}
}

static void
t_stream_err(const void *buf, size_t len, void *arg)
{
	struct tunnel *t = arg;
	size_t room = sizeof t->errtail - 1;

	if (len >= room) {
		memcpy(t->errtail, (const char *)buf + len - room, room);
		t->errlen = room;
	} else {
		if (t->errlen + len > room) {
			size_t drop = t->errlen + len - room;

			memmove(t->errtail, t->errtail + drop, t->errlen - drop);
			t->errlen -= drop;
		}
		memcpy(t->errtail + t->errlen, buf, len);
		t->errlen += len;
	}
	t->errtail[t->errlen] = '\0';
}

static void
t_stream_closed(int status, const char *error, void *arg)
{
	struct tunnel *t = arg;
	char why[768], ex[200], noise[600] = "";

	t->stream = 0;
	if (!t->have_hello) {
		/* The relay never answered: the command is not there or refused us.  (Even
		 * with an error: writing the Perl script to a command that had already
		 * exited fails, and that must not pass for a dead link worth retrying.) */
		if (error != NULL)
			log_debug("tunnel: relay stream ended before its hello: %s", error);
		if (frame_decoder_eof(&t->dec) == -1)
			snprintf(noise, sizeof noise, "%s", frame_decoder_error(&t->dec));
		frame_excerpt(t->errtail, t->errlen, ex, sizeof ex);
		if (t->using == TUNNEL_RELAY_NATIVE && t->want == TUNNEL_RELAY_ANY) {
			log_debug("tunnel: native relay unavailable (status %d: %s); trying perl",
			    status, ex);
			t->native_failed = 1;
			ev_idle_start(t->loop, &t->again);
			return;
		}
		snprintf(why, sizeof why, "no relay could be started on the host (status %d%s%s)%s%s",
		    status, ex[0] != '\0' ? ": " : "", ex, noise[0] != '\0' ? "; " : "", noise);
		if (t->state == T_STARTING) {
			t->state = T_FAILED;
			t_emit(t, TUNNEL_FAILED, 0, "%s; neither moshman nor perl runs there", why);
			return;
		}
		t_dead(t, why);
		return;
	}
	if (error != NULL)
		snprintf(why, sizeof why, "%s", error);
	else {
		frame_excerpt(t->errtail, t->errlen, ex, sizeof ex);
		snprintf(why, sizeof why, "the relay ended (status %d%s%s)", status,
		    ex[0] != '\0' ? ": " : "", ex);
	}
	t_dead(t, why);
}

static const struct sshconn_stream_ops t_stream_ops = {
	t_stream_data, t_stream_err, t_stream_closed,
};

static void
t_open_stream(struct tunnel *t)
{
	uint8_t hello[FRAME_ENCODED_MAX];
	char *cmd;
	const char *script;
	size_t n;

	frame_decoder_free(&t->dec);
	frame_decoder_init(&t->dec, FRAME_PEER_RELAY);
	t->have_hello = 0;
	t->errlen = 0;
	t->errtail[0] = '\0';
	t->ping_sent = 0;
	t->using = t->want == TUNNEL_RELAY_PERL || (t->want == TUNNEL_RELAY_ANY &&
	    t->native_failed) ? TUNNEL_RELAY_PERL : TUNNEL_RELAY_NATIVE;
	if (t->using == TUNNEL_RELAY_PERL)
		cmd = rrelay_perl_command(t->udp_host, t->udp_port, 0);
	else
		cmd = rrelay_native_command(t->udp_host, t->udp_port, 0);
	log_debug("tunnel: relay command: %s", cmd);
	if (sshconn_stream_open(t->ssh, cmd, &t_stream_ops, t) == -1) {
		free(cmd);
		t_dead(t, "the ssh connection is not open");
		return;
	}
	free(cmd);
	t->stream = 1;
	t->stream_at = clock_mono_ms();
	if (t->using == TUNNEL_RELAY_PERL) {
		script = rrelay_perl_script();
		sshconn_stream_write(t->ssh, script, strlen(script));
	}
	n = frame_encode_hello(hello, sizeof hello, FRAME_VERSION_MIN, FRAME_VERSION_MAX,
	    "moshman " MOSHMAN_VERSION);
	sshconn_stream_write(t->ssh, hello, n);
}

static void
t_again_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct tunnel *t = w->data;

	ev_idle_stop(loop, w);
	t_open_stream(t);
}

/* ---- liveness and reconnect --------------------------------------------------------- */

static void
t_schedule(struct tunnel *t)
{
	int ms = tunnel_backoff_ms(t->attempt, (double)random() / ((double)RAND_MAX + 1.0));

	ev_timer_stop(t->loop, &t->retry);
	ev_timer_set(&t->retry, ms / 1000.0, 0.);
	ev_timer_start(t->loop, &t->retry);
}

/* The link is gone: drop everything and start reconnecting. */
static void
t_dead(struct tunnel *t, const char *reason)
{
	if (t->state == T_FAILED)
		return;
	sshconn_stream_close(t->ssh);
	t->stream = 0;
	t->have_hello = 0;
	ev_idle_stop(t->loop, &t->again);
	/* Before the link was ever up (the relay hangs, the connection drops during the
	 * start) this is a failed start, reported like every other bootstrap failure, with
	 * the ssh connection left as it is so the caller can still end the mosh-server it
	 * started.  Retrying in silence would leave `connect` hanging. */
	if (t->state == T_STARTING) {
		t->state = T_FAILED;
		t_emit(t, TUNNEL_FAILED, 0, "%s", reason);
		return;
	}
	if (t->state != T_RECONNECTING) {
		t->dead_at = clock_mono_ms();
		t->attempt = 0;
		snprintf(t->dead_reason, sizeof t->dead_reason, "%s", reason);
		t->state = T_RECONNECTING;
		t_emit(t, TUNNEL_DEAD, 0, "link dead (%s); reconnecting", reason);
	} else {
		t_emit(t, TUNNEL_RETRY, 0, "reconnect attempt %d failed: %s", t->attempt + 1,
		    reason);
		t->attempt++;
	}
	/* A stalled connection is not worth a goodbye: drop it. */
	sshconn_close(t->ssh);
	t_schedule(t);
}

static void
t_open_done(struct sshconn *c, const char *error, void *arg)
{
	struct tunnel *t = arg;

	if (error != NULL) {
		/* A changed host key is never worked around. */
		if (sshconn_hostkey_refused(c)) {
			t->state = T_FAILED;
			t_emit(t, TUNNEL_FAILED, 0, "not reconnecting: %s", error);
			return;
		}
		/* A login the server refused (a changed password, a revoked key, a locked
		 * agent, a new question) does not get better in 2 s, and failed logins every
		 * 2 s lock accounts (fail2ban, pam_faillock: 3 in 15 min).  Try again rarely;
		 * a reconnect request (SIGUSR2, `moshman reconnect`) tries at once. */
		if (sshconn_auth_refused(c)) {
			t->attempt++;
			t_emit(t, TUNNEL_NOTICE, 0, "login refused on reconnect: %s; next try in %d "
			    "min ('moshman reconnect' tries now)", error, TUNNEL_AUTH_RETRY_S / 60);
			ev_timer_stop(t->loop, &t->retry);
			ev_timer_set(&t->retry, TUNNEL_AUTH_RETRY_S, 0.);
			ev_timer_start(t->loop, &t->retry);
			return;
		}
		t_emit(t, TUNNEL_RETRY, 0, "reconnect attempt %d failed: %s", t->attempt + 1,
		    error);
		t->attempt++;
		t_schedule(t);
		return;
	}
	t_open_stream(t);
}

static void
t_attempt(struct tunnel *t)
{
	log_debug("tunnel: reconnect attempt %d", t->attempt + 1);
	sshconn_set_timeout(t->ssh, TUNNEL_ATTEMPT_MS);
	sshconn_open(t->ssh, 0, t_open_done, t);
}

static void
t_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;

	if (t->state == T_RECONNECTING)
		t_attempt(t);
}

static void
t_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;
	uint8_t out[FRAME_ENCODED_MAX];
	char why[256];
	int64_t now = clock_mono_ms();
	int ping;
	size_t n;

	if (!t->stream)
		return;
	if (!t->have_hello) {
		if (now - t->stream_at >= TUNNEL_HELLO_MS) {
			snprintf(why, sizeof why, "the relay did not answer within %d s",
			    TUNNEL_HELLO_MS / 1000);
			t_dead(t, why);
		}
		return;
	}
	if (tunnel_live_tick(&t->live, now, &ping, why, sizeof why)) {
		t_dead(t, why);
		return;
	}
	if (ping) {
		for (size_t i = 0; i < FRAME_TOKEN_LEN; i++)
			t->ping_token[i] = (uint8_t)(random() & 0xff);
		t->ping_sent = now;
		n = frame_encode_ping(out, sizeof out, t->ping_token);
		sshconn_stream_write(t->ssh, out, n);
	}
	if (t->on_tick != NULL && t->state == T_UP)
		t->on_tick(t->tick_arg);
}

/* ---- the object ---------------------------------------------------------------------- */

struct tunnel *
tunnel_new(struct ev_loop *loop, struct sshconn *ssh, struct localrelay *relay,
    const struct tunnel_config *cfg, tunnel_event_cb cb, void *arg)
{
	struct tunnel *t = xcalloc(1, sizeof *t);
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ (long)getpid()));
	t->loop = loop;
	t->ssh = ssh;
	t->relay = relay;
	t->udp_host = cfg->udp_host != NULL ? xstrdup(cfg->udp_host) : NULL;
	t->udp_port = cfg->udp_port;
	t->want = cfg->relay;
	t->deliver = cfg->deliver;
	t->on_tick = cfg->tick;
	t->tick_arg = cfg->tick_arg;
	t->deliver_arg = cfg->deliver_arg;
	t->cb = cb;
	t->cb_arg = arg;
	t->rtt_ms = -1;
	frame_decoder_init(&t->dec, FRAME_PEER_RELAY);
	ev_timer_init(&t->tick, t_tick_cb, 1., 1.);
	t->tick.data = t;
	ev_timer_init(&t->retry, t_retry_cb, 1., 0.);
	t->retry.data = t;
	ev_idle_init(&t->again, t_again_cb);
	t->again.data = t;
	return t;
}

void
tunnel_start(struct tunnel *t)
{
	t->state = T_STARTING;
	if (t->deliver == NULL) {
		localrelay_set_path(t->relay, &tunnel_path_ops, t);
		t->attached = 1;
	}
	ev_timer_start(t->loop, &t->tick);
	t_open_stream(t);
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	if (t->attached)
		localrelay_set_path(t->relay, NULL, NULL);
	ev_timer_stop(t->loop, &t->tick);
	ev_timer_stop(t->loop, &t->retry);
	ev_idle_stop(t->loop, &t->again);
	if (t->stream)
		sshconn_stream_close(t->ssh);
	frame_decoder_free(&t->dec);
	free(t->udp_host);
	free(t);
}

void
tunnel_get_info(const struct tunnel *t, struct tunnel_info *i)
{
	static const char *const names[] = { "connecting", "connecting", "up", "reconnecting",
		"failed" };

	i->state = names[t->state];
	i->relay = t->have_hello ? t_relay_name(t) : NULL;
	i->rtt_ms = t->rtt_ms;
	i->reconnects = t->reconnects;
	i->last_rx_ms = t->last_rx_epoch;
}

int
tunnel_send(struct tunnel *t, const void *buf, size_t len)
{
	return t_path_send(t, buf, len);
}

int
tunnel_is_up(const struct tunnel *t)
{
	return t->state == T_UP && t->have_hello;
}

int
tunnel_reconnect(struct tunnel *t, const char *reason)
{
	switch (t->state) {
	case T_UP:
		t_dead(t, reason);
		/* Requested: no backoff before the first attempt. */
		ev_timer_stop(t->loop, &t->retry);
		ev_timer_set(&t->retry, 0., 0.);
		ev_timer_start(t->loop, &t->retry);
		return TUNNEL_RC_NOW;
	case T_RECONNECTING:
		if (!ev_is_active(&t->retry))
			return TUNNEL_RC_UNDERWAY;
		ev_timer_stop(t->loop, &t->retry);
		ev_timer_set(&t->retry, 0., 0.);
		ev_timer_start(t->loop, &t->retry);
		return TUNNEL_RC_MOVED;
	case T_IDLE:
	case T_STARTING:
		return TUNNEL_RC_NOTYET;
	case T_FAILED:
		break;
	}
	return TUNNEL_RC_FAILED;
}

void
tunnel_suspect(struct tunnel *t, const char *reason)
{
	(void)tunnel_reconnect(t, reason);
}
