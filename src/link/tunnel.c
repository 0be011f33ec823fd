/* SPDX-License-Identifier: MIT */
#include "src/link/tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <ev.h>
#include <stddef.h>
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
#include "src/link/mbb.h"
#include "src/util/log.h"
#include "src/link/rrelay.h"
#include "src/ssh/sshconn.h"
#include "src/util/xmalloc.h"

#ifndef MOSHMAN_VERSION
#define MOSHMAN_VERSION "0.1.0"
#endif

/* One connection attempt: connect + handshake + auth must finish in this long.  Attempts
 * overlap (src/link/mbb.h), so a hanging one costs no time. */
#define TUNNEL_ATTEMPT_MS 4000
/* Output queued for the channel beyond this: new datagrams are dropped, as UDP would. */
#define TUNNEL_QUEUE_MAX (256 * 1024)
/* Datagrams mosh-client sent since the link last said anything, kept (the newest this
 * many) to go again on the link that takes over.  Otherwise the typed line waits for
 * mosh-client's next send: a retransmission (up to 1 s, mosh's MAX_RTO) or, once it has
 * heard nothing for 10 s (a freeze, a long outage: mosh's ACTIVE_RETRY_TIMEOUT), only its
 * next heartbeat, up to 3 s (measured: 3.0 s after a 20 s freeze).  A duplicate is
 * harmless to mosh (repeated and out-of-order instructions are ignored); the newest one
 * carries everything not acknowledged. */
#define TUNNEL_REPLAY_N 4

enum tstate {
	T_IDLE,
	T_STARTING,
	T_UP,
	T_RECONNECTING,
	T_FAILED
};

/* One ssh connection with its relay stream: the link that carries the session, or an
 * attempt at a new one. */
struct tlink {
	struct tunnel *t;
	struct sshconn *ssh;
	int owned;       /* ssh is ours (a clone); else the caller's */
	int64_t started; /* when the attempt began (mono ms) */
	int opened;      /* ssh is open; the stream was started */
	int stream;      /* a relay stream is open */
	int have_hello;
	int64_t stream_at;       /* when the stream was opened (mono ms) */
	enum tunnel_relay using; /* NATIVE or PERL for the current stream */
	struct frame_decoder dec;
	char errtail[256]; /* the relay's stderr, last bytes */
	size_t errlen;
	struct tlink *next; /* attempts */
};

struct tunnel {
	struct ev_loop *loop;
	struct sshconn *ssh; /* the caller's: the first link, the model for clones */
	struct localrelay *relay;
	int attached; /* installed as the relay's path */
	char *udp_host;
	int udp_port;
	enum tunnel_relay want;
	int native_failed; /* the native relay is not there: Perl from now on */
	tunnel_event_cb cb;
	void *cb_arg;
	void (*deliver)(const void *, size_t, void *);
	void *deliver_arg;

	enum tstate state;
	struct tlink *link;  /* carries the session; NULL while reconnecting */
	struct tlink *tries; /* attempts at a new link (make-before-break) */
	struct mbb mbb;
	char suspect_reason[128];
	uint8_t probe_token[FRAME_TOKEN_LEN]; /* the alarm's PING on the old link */
	int probe_out;

	struct tunnel_live live;
	uint8_t ping_token[FRAME_TOKEN_LEN];
	int64_t ping_sent; /* mono ms of the outstanding PING, 0 none */
	int64_t rtt_ms;
	int64_t last_rx_epoch;

	int reconnects;
	int was_up;         /* the link came up once: a give-up may be retried */
	int standby;        /* a failed start is a dead link (tunnel_config.standby) */
	int64_t dead_at;    /* mono ms when the link was declared dead */
	int64_t suspect_at; /* mono ms of the alarm that led to a switch */

	int rtt_slow_once; /* the last PONG was slow: not trusted until confirmed */
	ev_timer tick;
	void (*on_tick)(void *); /* the owner's once-a-second hook (tunnel_config.tick) */
	void *tick_arg;
	ev_timer mbbw;       /* the next make-before-break step */
	ev_timer quiet;      /* MBB_SILENCE_MS after the first unanswered datagram */
	struct tlink *grave; /* closed links, freed from the loop (see t_link_free) */
	ev_idle reap;
	int unanswered;   /* datagrams sent since the last frame from the relay */
	ev_timer verdict; /* MBB_VERDICT_MS after an alarm's PING: dead unless answered */
	struct {
		size_t len;
		uint8_t buf[FRAME_DATA_MAX];
	} replay[TUNNEL_REPLAY_N]; /* the newest unanswered datagrams, a ring */
	int replay_n, replay_next;
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
tunnel_live_tick(struct tunnel_live *l, int64_t now, int *ping, char *reason, size_t reasonsz)
{
	*ping = 0;
	if (l->first_tx != 0 && now - l->first_tx >= TUNNEL_SILENCE_MS) {
		snprintf(reason, reasonsz, "no reply for %.1f s",
		    (double)(now - l->last_rx) / 1000.0);
		return 1;
	}
	if (l->pings_out >= TUNNEL_PINGS_LOST && now - l->last_ping >= TUNNEL_PING_IDLE_MS) {
		snprintf(reason, reasonsz, "%d pings unanswered, nothing for %.1f s", l->pings_out,
		    (double)(now - l->last_rx) / 1000.0);
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
			snprintf(err, errsz,
			    "'%s': an IPv6 address goes in brackets, then :PORT, "
			    "e.g. [::1]:5353",
			    s);
			return -1;
		}
		a = s + 1;
		alen = (size_t)(colon - a);
		p = colon + 2;
		six = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errsz,
			    "'%s' has no port; expected ADDR:PORT, e.g. "
			    "127.0.0.1:5353",
			    s);
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(err, errsz,
			    "'%s': put an IPv6 address in brackets, e.g. "
			    "[::1]:5353",
			    s);
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
		snprintf(err, errsz,
		    "'%s' is not a numeric %s address (names are not "
		    "resolved here)",
		    buf, six ? "IPv6" : "IPv4");
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

static void t_emit(struct tunnel *t, enum tunnel_event ev, double secs, const char *fmt, ...)
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
t_relay_name(const struct tlink *l)
{
	return l->using == TUNNEL_RELAY_PERL ? "perl" : "native";
}

static double
t_rand(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

static void t_dead(struct tunnel *, const char *);
static void t_open_stream(struct tlink *);
static void t_mbb_run(struct tunnel *);

/* ---- links --------------------------------------------------------------------------- */

static struct tlink *
t_link_new(struct tunnel *t, struct sshconn *ssh, int owned)
{
	struct tlink *l = xcalloc(1, sizeof *l);

	l->t = t;
	l->ssh = ssh;
	l->owned = owned;
	frame_decoder_init(&l->dec, FRAME_PEER_RELAY);
	return l;
}

/* Frees a closed link; its connection too when it is ours. */
static void
t_link_destroy(struct tlink *l)
{
	if (l->owned)
		sshconn_free(l->ssh);
	frame_decoder_free(&l->dec);
	free(l);
}

/* Closes the stream and the connection now (a stalled one is not worth a goodbye; the
 * relay on the far side exits on its own when nothing arrives) and frees the link from
 * the loop: this runs inside the connection's own callbacks, which touch it on return.
 * The caller's connection is closed, never freed: it stays the model for new attempts. */
static void
t_link_free(struct tlink *l)
{
	struct tunnel *t;

	if (l == NULL)
		return;
	t = l->t;
	if (l->stream) {
		sshconn_stream_close(l->ssh);
		l->stream = 0;
	}
	sshconn_close(l->ssh);
	l->next = t->grave;
	t->grave = l;
	ev_idle_start(t->loop, &t->reap);
}

static void
t_reap_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct tunnel *t = w->data;
	struct tlink *l;

	ev_idle_stop(loop, w);
	while ((l = t->grave) != NULL) {
		t->grave = l->next;
		t_link_destroy(l);
	}
}

static void
t_tries_unlink(struct tunnel *t, struct tlink *l)
{
	for (struct tlink **p = &t->tries; *p != NULL; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			l->next = NULL;
			return;
		}
}

static void
t_tries_drop(struct tunnel *t)
{
	struct tlink *l;

	while ((l = t->tries) != NULL) {
		t->tries = l->next;
		t_link_free(l);
	}
}

static int
t_is_try(const struct tunnel *t, const struct tlink *l)
{
	return l != t->link;
}

/* ---- the path ------------------------------------------------------------------------ */

static void t_quiet_cb(struct ev_loop *, ev_timer *, int);

/* Silence that makes the link suspect: mosh-client sent at least twice (a retransmission:
 * it wants an answer) and nothing came back for MBB_SILENCE_MS since the first.  One
 * unanswered datagram is normal: an idle mosh-client's heartbeat gets none of its own. */
static int
t_quiet_now(const struct tunnel *t, int64_t now)
{
	return t->unanswered >= 2 && t->live.first_tx != 0 &&
	    now - t->live.first_tx >= MBB_SILENCE_MS;
}

static int
t_path_send(void *p, const void *buf, size_t len)
{
	struct tunnel *t = p;
	struct tlink *l = t->link;
	uint8_t out[FRAME_ENCODED_MAX];
	int64_t now;
	size_t n;

	if (t->state != T_FAILED && len <= FRAME_DATA_MAX) {
		t->replay[t->replay_next].len = len;
		memcpy(t->replay[t->replay_next].buf, buf, len);
		t->replay_next = (t->replay_next + 1) % TUNNEL_REPLAY_N;
		if (t->replay_n < TUNNEL_REPLAY_N)
			t->replay_n++;
	}
	/* Nothing goes into a link declared dead (t_stale): a connection that delivers late
	 * could carry mosh-client's goodbye to mosh-server after the session ended. */
	if (l == NULL || !l->stream || t->state == T_FAILED || t->state == T_RECONNECTING)
		return -1;
	if (sshconn_stream_queued(l->ssh) > TUNNEL_QUEUE_MAX)
		return -1;
	if ((n = frame_encode_data(out, sizeof out, buf, len, NULL, 0)) == 0)
		return -1;
	sshconn_stream_write(l->ssh, out, n);
	if (l->have_hello) {
		now = clock_mono_ms();
		tunnel_live_tx(&t->live, now);
		t->unanswered++;
		/* The first datagram nothing has answered yet: if that lasts, suspect. */
		if (t->live.first_tx == now && !ev_is_active(&t->quiet)) {
			ev_timer_set(&t->quiet, MBB_SILENCE_MS / 1000.0, 0.);
			ev_timer_start(t->loop, &t->quiet);
		} else if (t_quiet_now(t, now))
			t_quiet_cb(t->loop, &t->quiet, 0);
	}
	return 0;
}

static void
t_path_free(void *p)
{
	struct tunnel *t = p;

	t->attached = 0;
}

/* A network change or a wake (localrelay_roam): the link is suspect. */
static void
t_path_roam(void *p, const char *why)
{
	tunnel_suspect(p, why);
}

static const struct localrelay_path_ops tunnel_path_ops = {
	"tcp",
	t_path_send,
	t_path_free,
	t_path_roam,
};

/* ---- switching ----------------------------------------------------------------------- */

/* The datagrams the old link may have swallowed go again on l, oldest first. */
static void
t_replay(struct tunnel *t, struct tlink *l)
{
	uint8_t out[FRAME_ENCODED_MAX];
	int i = (t->replay_next + TUNNEL_REPLAY_N - t->replay_n) % TUNNEL_REPLAY_N;
	size_t n;

	if (t->replay_n > 0)
		log_debug("tunnel: sending the last %d datagrams again on the new link",
		    t->replay_n);
	for (int k = 0; k < t->replay_n; k++, i = (i + 1) % TUNNEL_REPLAY_N)
		if ((n = frame_encode_data(out, sizeof out, t->replay[i].buf, t->replay[i].len,
		         NULL, 0)) > 0)
			sshconn_stream_write(l->ssh, out, n);
	t->replay_n = 0;
}

/* An attempt's relay answered: it carries the session from now on; the old link (if
 * any) and the other attempts are closed. */
static void
t_promote(struct tunnel *t, struct tlink *l)
{
	int64_t now = clock_mono_ms();
	struct tlink *old = t->link;
	enum tstate was = t->state;

	t_tries_unlink(t, l);
	t_tries_drop(t);
	t->link = l;
	t_link_free(old);
	mbb_won(&t->mbb, now);
	ev_timer_stop(t->loop, &t->mbbw);
	ev_timer_stop(t->loop, &t->quiet);
	ev_timer_stop(t->loop, &t->verdict);
	tunnel_live_reset(&t->live, now);
	t->unanswered = 0;
	t->ping_sent = 0;
	t->probe_out = 0;
	t->state = T_UP;
	t->was_up = 1;
	t->reconnects++;
	t_replay(t, l);
	if (was == T_RECONNECTING) {
		double secs = (double)(now - t->dead_at) / 1000.0;

		t_emit(t, TUNNEL_UP_AGAIN, secs, "up again after %.1f s (reconnect %d)", secs,
		    t->reconnects);
	} else {
		double secs = (double)(now - t->suspect_at) / 1000.0;

		t_emit(t, TUNNEL_UP_AGAIN, secs,
		    "moved to a new connection %.1f s after the "
		    "link became suspect (%s), before it broke (reconnect %d)",
		    secs, t->suspect_reason, t->reconnects);
	}
}

/* The link declared dead (t_stale) said something again before any new one came up:
 * it carries the session again, the attempts are dropped, and the newest datagrams
 * mosh-client sent meanwhile (kept out of it) go on it now. */
static void
t_revive(struct tunnel *t)
{
	int64_t now = clock_mono_ms();
	double secs = (double)(now - t->dead_at) / 1000.0;

	t_tries_drop(t);
	mbb_won(&t->mbb, now);
	ev_timer_stop(t->loop, &t->mbbw);
	ev_timer_stop(t->loop, &t->verdict);
	t->probe_out = 0;
	t->state = T_UP;
	t->reconnects++;
	t_replay(t, t->link);
	t_emit(t, TUNNEL_UP_AGAIN, secs,
	    "up again after %.1f s: the old connection answered before a new one came up "
	    "(reconnect %d)",
	    secs, t->reconnects);
}

/* ---- the stream ---------------------------------------------------------------------- */

static void
t_hello(struct tlink *l, const struct frame *f, int64_t now)
{
	struct tunnel *t = l->t;

	if (frame_version_choose(FRAME_VERSION_MIN, FRAME_VERSION_MAX, f->version_min,
	        f->version_max) == -1) {
		t->state = T_FAILED;
		t_tries_drop(t);
		if (t->link != NULL && t->link->stream) {
			sshconn_stream_close(t->link->ssh);
			t->link->stream = 0;
		}
		t_emit(t, TUNNEL_FAILED, 0,
		    "the remote relay (%s) speaks protocol %d..%d, this "
		    "moshman %d..%d; update one of them",
		    f->text, f->version_min, f->version_max, FRAME_VERSION_MIN, FRAME_VERSION_MAX);
		return;
	}
	l->have_hello = 1;
	if (t_is_try(t, l)) {
		t_promote(t, l);
		return;
	}
	tunnel_live_reset(&t->live, now);
	if (t->state == T_STARTING) {
		t->state = T_UP;
		t->was_up = 1;
		t_emit(t, TUNNEL_UP, 0, "up via tcp (relay %s)", t_relay_name(l));
	}
}

static void
t_stream_data(const void *buf, size_t len, void *arg)
{
	struct tlink *l = arg;
	struct tunnel *t = l->t;
	struct frame f;
	enum frame_result r;
	int64_t now = clock_mono_ms();

	frame_decoder_feed(&l->dec, buf, len);
	while ((r = frame_decoder_next(&l->dec, &f)) == FRAME_OK) {
		if (f.type == FRAME_HELLO) {
			t_hello(l, &f, now);
			return; /* l may be promoted or the tunnel failed: come back fresh */
		}
		if (t_is_try(t, l))
			continue; /* nothing but its HELLO matters before it takes over */
		if (t->state == T_RECONNECTING)
			t_revive(t);
		tunnel_live_rx(&t->live, now);
		t->unanswered = 0;
		t->replay_n = 0;
		ev_timer_stop(t->loop, &t->quiet);
		t->last_rx_epoch = clock_epoch_ms();
		switch (f.type) {
		case FRAME_DATA:
			if (t->deliver != NULL)
				t->deliver(f.payload, f.len, t->deliver_arg);
			else if (t->attached)
				localrelay_deliver(t->relay, f.payload, f.len);
			break;
		case FRAME_PING: {
			uint8_t out[FRAME_ENCODED_MAX];
			size_t n = frame_encode_pong(out, sizeof out, f.token);

			sshconn_stream_write(l->ssh, out, n);
			break;
		}
		case FRAME_PONG:
			if (t->probe_out && memcmp(f.token, t->probe_token, FRAME_TOKEN_LEN) == 0) {
				/* The old link answered the alarm: it was a false one. */
				t->probe_out = 0;
				ev_timer_stop(t->loop, &t->mbbw);
				ev_timer_stop(t->loop, &t->verdict);
				if (mbb_link_answered(&t->mbb, now)) {
					log_debug(
					    "tunnel: the link answered (%s was a false alarm); "
					    "dropping the new attempts",
					    t->suspect_reason);
					t_tries_drop(t);
				} else if (t->tries != NULL)
					log_debug("tunnel: the link answered after %s; the new "
					          "connection under way still takes over",
					    t->suspect_reason);
			}
			if (t->ping_sent != 0 &&
			    memcmp(f.token, t->ping_token, FRAME_TOKEN_LEN) == 0) {
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
			t_dead(t, f.code == FRAME_CLOSE_OK ? "the remote relay closed" : f.text);
			return;
		case FRAME_NOTICE:
			if (f.code == FRAME_NOTICE_REFUSED)
				t_emit(t, TUNNEL_REFUSED, 0, "relay: %s (has mosh-server ended?)",
				    f.text);
			break;
		default:
			break;
		}
	}
	if (r == FRAME_ERROR) {
		char why[600];

		snprintf(why, sizeof why, "garbage from the relay: %s",
		    frame_decoder_error(&l->dec));
		if (t_is_try(t, l)) {
			log_debug("tunnel: attempt: %s", why);
			int64_t started = l->started;

			t_tries_unlink(t, l);
			t_link_free(l);
			mbb_attempt_failed(&t->mbb, now, started, t_rand(), 0);
			t_mbb_run(t);
			return;
		}
		t_dead(t, why);
	}
}

static void
t_stream_err(const void *buf, size_t len, void *arg)
{
	struct tlink *l = arg;
	size_t room = sizeof l->errtail - 1;

	if (len >= room) {
		memcpy(l->errtail, (const char *)buf + len - room, room);
		l->errlen = room;
	} else {
		if (l->errlen + len > room) {
			size_t drop = l->errlen + len - room;

			memmove(l->errtail, l->errtail + drop, l->errlen - drop);
			l->errlen -= drop;
		}
		memcpy(l->errtail + l->errlen, buf, len);
		l->errlen += len;
	}
	l->errtail[l->errlen] = '\0';
}

/* An attempt ended without taking over. */
static void
t_try_failed(struct tlink *l, const char *why)
{
	struct tunnel *t = l->t;
	int64_t started = l->started;

	t_emit(t, TUNNEL_RETRY, 0, "connection attempt failed: %s", why);
	t_tries_unlink(t, l);
	t_link_free(l);
	mbb_attempt_failed(&t->mbb, clock_mono_ms(), started, t_rand(), 0);
	t_mbb_run(t);
}

static void
t_stream_closed(int status, const char *error, void *arg)
{
	struct tlink *l = arg;
	struct tunnel *t = l->t;
	char why[768], ex[200], noise[600] = "";

	l->stream = 0;
	if (!l->have_hello) {
		/* The relay never answered: the command is not there or refused us.  (Even
		 * with an error: writing the Perl script to a command that had already
		 * exited fails, and that must not pass for a dead link worth retrying.) */
		if (error != NULL)
			log_debug("tunnel: relay stream ended before its hello: %s", error);
		if (frame_decoder_eof(&l->dec) == -1)
			snprintf(noise, sizeof noise, "%s", frame_decoder_error(&l->dec));
		frame_excerpt(l->errtail, l->errlen, ex, sizeof ex);
		if (l->using == TUNNEL_RELAY_NATIVE && t->want == TUNNEL_RELAY_ANY) {
			log_debug("tunnel: native relay unavailable (status %d: %s); trying perl",
			    status, ex);
			t->native_failed = 1;
			t_open_stream(l);
			return;
		}
		snprintf(why, sizeof why,
		    "no relay could be started on the host (status %d%s%s)%s%s", status,
		    ex[0] != '\0' ? ": " : "", ex, noise[0] != '\0' ? "; " : "", noise);
		if (t_is_try(t, l)) {
			t_try_failed(l, why);
			return;
		}
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
		frame_excerpt(l->errtail, l->errlen, ex, sizeof ex);
		snprintf(why, sizeof why, "the relay ended (status %d%s%s)", status,
		    ex[0] != '\0' ? ": " : "", ex);
	}
	if (t_is_try(t, l)) {
		t_try_failed(l, why);
		return;
	}
	t_dead(t, why);
}

static const struct sshconn_stream_ops t_stream_ops = {
	t_stream_data,
	t_stream_err,
	t_stream_closed,
};

static void
t_open_stream(struct tlink *l)
{
	struct tunnel *t = l->t;
	uint8_t hello[FRAME_ENCODED_MAX];
	char *cmd;
	const char *script;
	size_t n;

	frame_decoder_free(&l->dec);
	frame_decoder_init(&l->dec, FRAME_PEER_RELAY);
	l->have_hello = 0;
	l->errlen = 0;
	l->errtail[0] = '\0';
	l->using = t->want == TUNNEL_RELAY_PERL || (t->want == TUNNEL_RELAY_ANY && t->native_failed)
	    ? TUNNEL_RELAY_PERL
	    : TUNNEL_RELAY_NATIVE;
	if (l->using == TUNNEL_RELAY_PERL)
		cmd = rrelay_perl_command(t->udp_host, t->udp_port, 0);
	else
		cmd = rrelay_native_command(t->udp_host, t->udp_port, 0);
	log_debug("tunnel: relay command: %s", cmd);
	if (sshconn_stream_open(l->ssh, cmd, &t_stream_ops, l) == -1) {
		free(cmd);
		if (t_is_try(t, l))
			t_try_failed(l, "the ssh connection is not open");
		else
			t_dead(t, "the ssh connection is not open");
		return;
	}
	free(cmd);
	l->stream = 1;
	l->stream_at = clock_mono_ms();
	if (l == t->link)
		t->ping_sent = 0;
	if (l->using == TUNNEL_RELAY_PERL) {
		script = rrelay_perl_script();
		sshconn_stream_write(l->ssh, script, strlen(script));
	}
	n = frame_encode_hello(hello, sizeof hello, FRAME_VERSION_MIN, FRAME_VERSION_MAX,
	    "moshman " MOSHMAN_VERSION);
	sshconn_stream_write(l->ssh, hello, n);
}

/* ---- liveness and make-before-break -------------------------------------------------- */

/* The link carries nothing any more: say so once (an outage already under way is not
 * announced again) and let the attempts run. */
static void
t_lost(struct tunnel *t, int64_t now, const char *reason)
{
	if (t->state != T_RECONNECTING) {
		t->dead_at = now;
		t->state = T_RECONNECTING;
		t_emit(t, TUNNEL_DEAD, 0, "link dead (%s); reconnecting", reason);
	}
	mbb_link_lost(&t->mbb, now);
	t_mbb_run(t);
}

/* An alarm's PING went unanswered for MBB_VERDICT_MS: the link is dead as far as the
 * session goes (reconnecting, an event), but it is not closed: it stays beside the
 * attempts, listening only (nothing mosh-client sends goes into it), and if it answers
 * before one of them comes up it carries the session again (t_revive).  The liveness
 * tick closes it once it has been silent for good (t_dead). */
static void
t_stale(struct tunnel *t, const char *reason)
{
	int64_t now = clock_mono_ms();

	if (t->state != T_UP || t->link == NULL)
		return;
	ev_timer_stop(t->loop, &t->quiet);
	t_lost(t, now, reason);
}

/* What the kernel says of l's TCP connection; nothing known through a ProxyCommand's
 * pipe. */
static void
t_tcp_info(const struct tlink *l, struct mbb_tcp *k)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int fd = sshconn_fd(l->ssh);

	memset(k, 0, sizeof *k);
	memset(&ti, 0, sizeof ti);
	if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_last_ack_recv) + sizeof ti.tcpi_last_ack_recv)
		return;
	k->known = 1;
	k->unacked = ti.tcpi_unacked;
	k->retransmits =
	    ti.tcpi_retransmits > ti.tcpi_backoff ? ti.tcpi_retransmits : ti.tcpi_backoff;
	k->last_ack_ms = ti.tcpi_last_ack_recv;
}

static void
t_verdict_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;
	int64_t now = clock_mono_ms(), at = mbb_verdict_at(&t->mbb);
	char why[160];

	struct mbb_tcp k;

	if (at == 0 || !t->probe_out || t->link == NULL)
		return; /* answered, or the link went another way meanwhile */
	if (now < at) {
		ev_timer_set(w, (double)(at - now) / 1000.0, 0.);
		ev_timer_start(loop, w);
		return;
	}
	t_tcp_info(t->link, &k);
	if (!mbb_verdict(&k)) {
		/* TCP is acknowledged: the far end is stalled, the path is not gone. */
		ev_timer_set(w, MBB_VERDICT_AGAIN_MS / 1000.0, 0.);
		ev_timer_start(loop, w);
		return;
	}
	snprintf(why, sizeof why, "%s; a PING unanswered for %.1f s", t->suspect_reason,
	    (double)(now - t->suspect_at) / 1000.0);
	t_stale(t, why);
}

/* The link is gone: drop it; the attempts (already running if it was suspect) go on. */
static void
t_dead(struct tunnel *t, const char *reason)
{
	int64_t now = clock_mono_ms();

	if (t->state == T_FAILED)
		return;
	ev_timer_stop(t->loop, &t->quiet);
	ev_timer_stop(t->loop, &t->verdict);
	/* Before the link was ever up (the relay hangs, the connection drops during the
	 * start) this is a failed start, reported like every other bootstrap failure, with
	 * the ssh connection left as it is so the caller can still end the mosh-server it
	 * started.  Retrying in silence would leave `connect` hanging.  A standby tunnel
	 * (auto, already on UDP) has nobody waiting: it reconnects as below. */
	if (t->state == T_STARTING && !t->standby) {
		if (t->link != NULL && t->link->stream) {
			sshconn_stream_close(t->link->ssh);
			t->link->stream = 0;
		}
		t->state = T_FAILED;
		t_emit(t, TUNNEL_FAILED, 0, "%s", reason);
		return;
	}
	t_link_free(t->link);
	t->link = NULL;
	t->probe_out = 0;
	t_lost(t, now, reason);
}

static void
t_try_open_done(struct sshconn *c, const char *error, void *arg)
{
	struct tlink *l = arg;
	struct tunnel *t = l->t;

	if (error == NULL) {
		l->opened = 1;
		t_open_stream(l);
		return;
	}
	/* A changed host key is never worked around. */
	if (sshconn_hostkey_refused(c)) {
		t->state = T_FAILED;
		t_tries_drop(t);
		ev_timer_stop(t->loop, &t->mbbw);
		t_emit(t, TUNNEL_FAILED, 0, "not reconnecting: %s", error);
		return;
	}
	/* A login the server refused (a changed password, a revoked key, a locked agent,
	 * a new question) does not get better in 2 s, and failed logins every 2 s lock
	 * accounts (fail2ban, pam_faillock: 3 in 15 min).  Try again rarely; a reconnect
	 * request (SIGUSR2, `moshman reconnect`) tries at once. */
	if (sshconn_auth_refused(c)) {
		t_emit(t, TUNNEL_NOTICE, 0,
		    "login refused on reconnect: %s; next try in %d "
		    "min ('moshman reconnect' tries now)",
		    error, TUNNEL_AUTH_RETRY_S / 60);
		int64_t started = l->started;

		t_tries_unlink(t, l);
		t_link_free(l);
		t_tries_drop(t);
		mbb_attempt_failed(&t->mbb, clock_mono_ms(), started, t_rand(),
		    TUNNEL_AUTH_RETRY_S * 1000);
		t->mbb.running = 0;
		t_mbb_run(t);
		return;
	}
	t_try_failed(l, error);
}

/* Starts what the make-before-break machine asks for, and times its next step. */
static void
t_mbb_run(struct tunnel *t)
{
	int64_t now = clock_mono_ms(), wake;
	struct tlink *l;

	if (t->state == T_FAILED)
		return;
	while (mbb_next(&t->mbb, now, &wake)) {
		l = t_link_new(t, sshconn_clone(t->ssh, NULL, NULL), 1);
		l->started = now;
		l->next = t->tries;
		t->tries = l;
		log_debug("tunnel: connection attempt (%d running)", t->mbb.running);
		sshconn_set_timeout(l->ssh, TUNNEL_ATTEMPT_MS);
		sshconn_open(l->ssh, 0, t_try_open_done, l);
	}
	ev_timer_stop(t->loop, &t->mbbw);
	if (wake > 0) {
		ev_timer_set(&t->mbbw, (double)(wake - now) / 1000.0, 0.);
		ev_timer_start(t->loop, &t->mbbw);
	}
}

static void
t_mbbw_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	t_mbb_run(w->data);
}

static void
t_suspect(struct tunnel *t, const char *reason, enum mbb_why why)
{
	int64_t now = clock_mono_ms();
	uint8_t out[FRAME_ENCODED_MAX];
	size_t n;

	if (t->state != T_UP && t->state != T_RECONNECTING)
		return;
	if (mbb_suspect(&t->mbb, now, why)) {
		snprintf(t->suspect_reason, sizeof t->suspect_reason, "%s", reason);
		t->suspect_at = now;
		t_emit(t, TUNNEL_NOTICE, 0,
		    "link suspect (%s); trying a second connection "
		    "beside it",
		    reason);
		/* Whichever answers first: this PING on the old link, or a new link. */
		for (size_t i = 0; i < FRAME_TOKEN_LEN; i++)
			t->probe_token[i] = (uint8_t)(random() & 0xff);
		t->probe_out = 1;
		n = frame_encode_ping(out, sizeof out, t->probe_token);
		sshconn_stream_write(t->link->ssh, out, n);
		ev_timer_stop(t->loop, &t->verdict);
		ev_timer_set(&t->verdict, MBB_VERDICT_MS / 1000.0, 0.);
		ev_timer_start(t->loop, &t->verdict);
	}
	t_mbb_run(t);
}

static void
t_quiet_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;
	char why[96];

	if (!t_quiet_now(t, clock_mono_ms()))
		return; /* t_path_send checks again when the next datagram goes */
	snprintf(why, sizeof why, "no reply for %.1f s while the client sends (%d datagrams)",
	    MBB_SILENCE_MS / 1000.0, t->unanswered);
	t_suspect(t, why, MBB_WHY_SILENCE);
}

static void
t_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = w->data;
	struct tlink *l = t->link, *next;
	uint8_t out[FRAME_ENCODED_MAX];
	char why[256];
	int64_t now = clock_mono_ms();
	int ping;
	size_t n;

	/* Attempts whose relay says nothing. */
	for (struct tlink *a = t->tries; a != NULL; a = next) {
		next = a->next;
		if (a->stream && !a->have_hello && now - a->stream_at >= TUNNEL_HELLO_MS) {
			snprintf(why, sizeof why, "the relay did not answer within %d s",
			    TUNNEL_HELLO_MS / 1000);
			t_try_failed(a, why);
		}
	}
	if (l == NULL || !l->stream)
		return;
	if (!l->have_hello) {
		if (now - l->stream_at >= TUNNEL_HELLO_MS) {
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
		sshconn_stream_write(l->ssh, out, n);
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
	t->standby = cfg->standby;
	t->tick_arg = cfg->tick_arg;
	t->deliver_arg = cfg->deliver_arg;
	t->cb = cb;
	t->cb_arg = arg;
	t->rtt_ms = -1;
	mbb_init(&t->mbb, 1);
	ev_timer_init(&t->tick, t_tick_cb, 1., 1.);
	t->tick.data = t;
	ev_timer_init(&t->mbbw, t_mbbw_cb, 1., 0.);
	t->mbbw.data = t;
	ev_timer_init(&t->quiet, t_quiet_cb, 1., 0.);
	t->quiet.data = t;
	ev_timer_init(&t->verdict, t_verdict_cb, 1., 0.);
	t->verdict.data = t;
	ev_idle_init(&t->reap, t_reap_cb);
	t->reap.data = t;
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
	t->link = t_link_new(t, t->ssh, 0);
	t->link->opened = 1;
	t_open_stream(t->link);
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	if (t->attached)
		localrelay_set_path(t->relay, NULL, NULL);
	ev_timer_stop(t->loop, &t->tick);
	ev_timer_stop(t->loop, &t->mbbw);
	ev_timer_stop(t->loop, &t->quiet);
	ev_timer_stop(t->loop, &t->verdict);
	t_tries_drop(t);
	t_reap_cb(t->loop, &t->reap, 0);
	/* The caller's connection stays open for what the caller still does with it (ending
	 * mosh-server): only the stream ends here. */
	if (t->link != NULL) {
		if (t->link->stream)
			sshconn_stream_close(t->link->ssh);
		t_link_destroy(t->link);
	}
	free(t->udp_host);
	free(t);
}

void
tunnel_get_info(const struct tunnel *t, struct tunnel_info *i)
{
	static const char *const names[] = { "connecting", "connecting", "up", "reconnecting",
		"failed" };

	i->state = names[t->state];
	i->relay = t->link != NULL && t->link->have_hello ? t_relay_name(t->link) : NULL;
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
	return t->state == T_UP && t->link != NULL && t->link->have_hello;
}

/* Asked to reconnect after giving up (a changed host key, a relay of another protocol):
 * the user may have fixed the cause, so the attempts start over, now; the same cause
 * gives up again. */
static int
t_retry(struct tunnel *t)
{
	int64_t now = clock_mono_ms();

	t_tries_drop(t);
	if (t->link != NULL) {
		/* It gave up while the old link was still there (make-before-break). */
		t_link_free(t->link);
		t->link = NULL;
		t->dead_at = now;
	}
	ev_timer_stop(t->loop, &t->quiet);
	ev_timer_stop(t->loop, &t->verdict);
	t->probe_out = 0;
	t->mbb.running = 0;
	t->state = T_RECONNECTING;
	mbb_link_lost(&t->mbb, now);
	mbb_kick(&t->mbb, now);
	t_mbb_run(t);
	return TUNNEL_RC_RETRY;
}

int
tunnel_reconnect(struct tunnel *t, const char *reason)
{
	switch (t->state) {
	case T_UP:
		/* Dropped, and the first attempt starts at once (no backoff). */
		t_dead(t, reason);
		return TUNNEL_RC_NOW;
	case T_RECONNECTING:
		if (t->mbb.running > 0)
			return TUNNEL_RC_UNDERWAY;
		mbb_kick(&t->mbb, clock_mono_ms());
		t_mbb_run(t);
		return TUNNEL_RC_MOVED;
	case T_IDLE:
	case T_STARTING:
		return TUNNEL_RC_NOTYET;
	case T_FAILED:
		if (t->was_up)
			return t_retry(t);
		break;
	}
	return TUNNEL_RC_FAILED;
}

void
tunnel_suspect(struct tunnel *t, const char *reason)
{
	t_suspect(t, reason, MBB_WHY_NETWORK);
}
