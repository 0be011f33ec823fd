/* SPDX-License-Identifier: MIT */
#include "src/link/autopath.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/link/localrelay.h"
#include "src/link/tunnel.h"
#include "src/link/udpsock.h"
#include "src/util/clock.h"
#include "src/util/log.h"
#include "src/util/xmalloc.h"

struct autopath {
	struct ev_loop *loop;
	struct localrelay *relay;
	struct tunnel *tunnel;
	struct udpsock_leg *udp; /* NULL: no UDP address */
	struct pathsel ps;
	ev_timer tick;
	autopath_switch_cb cb;
	void *arg;
};

static int
ap_send(void *p, const void *buf, size_t len)
{
	struct autopath *a = p;
	int64_t now = clock_mono_ms();
	int sent = 0;

	pathsel_client_tx(&a->ps, now);
	if (a->udp != NULL && pathsel_send_udp(&a->ps, now) &&
	    udpsock_leg_send(a->udp, buf, len) == 0)
		sent = 1;
	if (a->tunnel != NULL && pathsel_send_tcp(&a->ps, now) &&
	    tunnel_send(a->tunnel, buf, len) == 0)
		sent = 1;
	return sent ? 0 : -1;
}

static void
ap_free(void *p)
{
	struct autopath *a = p;

	ev_timer_stop(a->loop, &a->tick);
	udpsock_leg_free(a->udp);
	free(a);
}

/* The network changed or the machine woke: a fresh UDP socket (it also sends the last
 * datagram again), a probe over UDP now even while on tcp, and the tunnel checks its
 * link, standby or not (an ssh connection from an old address is dead). */
static void
ap_roam(void *p, const char *why)
{
	struct autopath *a = p;

	if (a->udp != NULL) {
		udpsock_leg_rebuild(a->udp, why);
		pathsel_network_changed(&a->ps, clock_mono_ms());
	}
	if (a->tunnel != NULL)
		tunnel_suspect(a->tunnel, why);
}

static const struct localrelay_path_ops ap_ops = {
	"auto",
	ap_send,
	ap_free,
	ap_roam,
};

static void
ap_udp_rx(const void *buf, size_t len, void *arg)
{
	struct autopath *a = arg;

	/* Only a datagram showing the server hears the client proves UDP: with UDP lost one
	 * way, mosh-server's heartbeats keep arriving and answer nothing. */
	switch (localrelay_deliver(a->relay, buf, len)) {
	case LOCALRELAY_HEARD:
		pathsel_udp_heard(&a->ps, clock_mono_ms());
		break;
	case LOCALRELAY_TALKS:
		pathsel_udp_rx(&a->ps, clock_mono_ms());
		break;
	default:
		break;
	}
}

void
autopath_tcp_rx(const void *buf, size_t len, void *arg)
{
	struct autopath *a = arg;

	(void)localrelay_deliver(a->relay, buf, len);
}

/* Once a second: the policy's verdict. */
static void
ap_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct autopath *a = w->data;
	enum pathsel_path from = a->ps.path;
	char why[128], msg[256];
	int64_t was;

	if (!pathsel_tick(&a->ps, clock_mono_ms(), why, sizeof why, &was))
		return;
	snprintf(msg, sizeof msg, "%s -> %s: %s (after %.1f s on %s)", pathsel_name(from),
	    pathsel_name(a->ps.path), why, (double)was / 1000.0, pathsel_name(from));
	log_debug("autopath: %s", msg);
	a->cb(msg, a->ps.path, a->arg);
}

struct autopath *
autopath_new(struct ev_loop *loop, struct localrelay *relay, const char *udp_addr, int port,
    autopath_switch_cb cb, void *arg)
{
	struct autopath *a = xcalloc(1, sizeof *a);
	char err[256];

	a->loop = loop;
	a->relay = relay;
	a->cb = cb;
	a->arg = arg;
	if (udp_addr != NULL &&
	    (a->udp = udpsock_leg_new(loop, udp_addr, port, ap_udp_rx, a, err, sizeof err)) == NULL)
		log_debug("autopath: no UDP leg: %s", err);
	pathsel_init(&a->ps, clock_mono_ms(), a->udp != NULL);
	localrelay_set_path(relay, &ap_ops, a);
	ev_timer_init(&a->tick, ap_tick_cb, 1., 1.);
	a->tick.data = a;
	ev_timer_start(loop, &a->tick);
	return a;
}

void
autopath_set_tunnel(struct autopath *a, struct tunnel *t)
{
	a->tunnel = t;
}

void
autopath_tcp_state(struct autopath *a, int up)
{
	pathsel_tcp_state(&a->ps, up);
}

enum pathsel_path
autopath_path(const struct autopath *a)
{
	return a->ps.path;
}

int
autopath_udp_possible(const struct autopath *a)
{
	return a->ps.udp_possible;
}

void
autopath_probe_now(struct autopath *a)
{
	if (a->ps.path == PATHSEL_TCP && a->ps.udp_possible)
		a->ps.next_probe = clock_mono_ms();
}
