/* SPDX-License-Identifier: MIT */
/*
 * Transport auto: direct UDP and the tunnel side by side, src/link/pathsel.h decides
 * where each client datagram goes.  This is the I/O around that pure policy: the UDP leg
 * (src/link/udpsock.h: never pins a source address, rebuilt on send errors), the
 * tunnel's deliveries, the once-a-second verdict, and what a network change or a wake
 * does (localrelay_roam): a new UDP socket at once, a UDP probe now, and the tunnel told
 * its link is suspect (tunnel_suspect).  The owner creates the tunnel with
 * autopath_tcp_rx as its deliver function and reports its state.
 */
#ifndef MOSHMAN_AUTOPATH_H
#define MOSHMAN_AUTOPATH_H

#include <stddef.h>

#include "src/link/pathsel.h"

struct ev_loop;
struct localrelay;
struct tunnel;
struct autopath;

/* A path switch: "udp -> tcp: UDP silent for 5.0 s (after 30.2 s on udp)". */
typedef void (*autopath_switch_cb)(const char *msg, enum pathsel_path now, void *arg);

/* udp_addr NULL: no UDP address (tcp only).  Installs itself as the relay's path (the
 * relay frees it with its path) and starts its 1 s tick. */
struct autopath *autopath_new(struct ev_loop *, struct localrelay *, const char *udp_addr, int port,
    autopath_switch_cb, void *arg);
void autopath_set_tunnel(struct autopath *, struct tunnel *);
/* The tunnel's deliver function (arg: the autopath). */
void autopath_tcp_rx(const void *buf, size_t len, void *arg);
void autopath_tcp_state(struct autopath *, int up);
enum pathsel_path autopath_path(const struct autopath *);
int autopath_udp_possible(const struct autopath *);
/* Open pathsel's UDP probe window now (a reconnect request). */
void autopath_probe_now(struct autopath *);

#endif
