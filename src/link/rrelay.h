/* SPDX-License-Identifier: MIT */
/* The remote relay: the far end of the tunnel, next to mosh-server.  `moshman relay` runs
 * it natively; src/link/relay.pl is its twin for hosts without moshman.  docs/protocol.md. */
#ifndef MOSHMAN_RRELAY_H
#define MOSHMAN_RRELAY_H

#include <stddef.h>

struct rrelay_opts {
	int in_fd;        /* frames from the supervisor */
	int out_fd;       /* frames to the supervisor */
	const char *host; /* numeric address of the UDP peer; NULL means 127.0.0.1 */
	int port;         /* mosh-server's UDP port */
	int vmin, vmax;   /* protocol versions to offer */
	int idle_s;       /* no frame from the client for this long: exit (0 never) */
};

/* The client PINGs an idle link every 2 s and a busy one at least every 10 s, so this
 * much silence means its link vanished without a FIN (a roam, a route gone): the relay
 * exits and ends the sshd session it runs under, which would otherwise live on for as
 * long as TCP retries.  docs/protocol.md. */
#define RRELAY_IDLE_S 30
/* Sooner when the UDP side is silent too: mosh-server sends at least a heartbeat every
 * 3 s to the relay it last heard from, so a relay that hears neither side for this long
 * was replaced (a newer link's relay, or auto's direct UDP, carries the session) and its
 * own link is gone: the old link of a roam, which could not send its FIN.  Only with
 * idle_s (and never longer than it). */
#define RRELAY_ORPHAN_S 10

/* Sends its HELLO, then relays until the input ends at a frame boundary or a CLOSE
 * arrives (0), or until something fails: a protocol error, the UDP socket, the output,
 * idle_s seconds without a frame (-1 and a message in err; the peer got a CLOSE saying
 * the same when possible).  After the idle exit, a parent that is sshd got SIGTERM. */
int rrelay_run(const struct rrelay_opts *, char *err, size_t errsz);

/* Is s a numeric IPv4 or IPv6 address (safe to pass on a remote command line)? */
int rrelay_valid_host(const char *s);
/* The embedded Perl relay, NUL-terminated. */
const char *rrelay_perl_script(void);
/* What the supervisor gives the remote login shell to run a relay.  host is NULL or
 * passes rrelay_valid_host() (anything else is a caller bug: fatalx); proto 0 means
 * "whatever the relay speaks".  Nothing in them is secret.  The Perl one reads exactly
 * strlen(rrelay_perl_script()) bytes of script from stdin first: write the script, then
 * the frame stream, with no need to wait in between.  Allocated. */
char *rrelay_perl_command(const char *host, int port, int proto);
char *rrelay_native_command(const char *host, int port, int proto);

#endif
