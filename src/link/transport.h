/* SPDX-License-Identifier: MIT */
/* The four ways a session's datagrams travel, named once (docs/design.md). */
#ifndef MOSHMAN_TRANSPORT_H
#define MOSHMAN_TRANSPORT_H

enum transport {
	TRANSPORT_UDP,     /* direct UDP to mosh-server, as mosh */
	TRANSPORT_TCP,     /* the tunnel: frames over ssh to a relay (src/link/tunnel.h) */
	TRANSPORT_AUTO,    /* both, src/link/autopath.h picks */
	TRANSPORT_COMMAND, /* the profile's own tunnel command (src/link/cmdpath.h) */
};

/* "udp", "tcp", "auto", "command". */
const char *transport_name(enum transport);
/* 0 and *out for a known name, else -1. */
int transport_from_name(const char *, enum transport *out);
/* "udp, tcp, auto or command", for usage messages. */
#define TRANSPORT_NAMES "udp, tcp, auto or command"

#endif
