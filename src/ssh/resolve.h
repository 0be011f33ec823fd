/* SPDX-License-Identifier: MIT */
/*
 * Name resolution off the event loop: getaddrinfo(3) runs in a short-lived thread of its
 * own and the answer comes back through a pipe the loop watches, so a slow or dead DNS
 * server never stalls forwarding (the tunnel, auto's UDP leg) while a session reconnects.
 * A numeric address is answered at once, without a thread.
 *
 * Also a small memory of the last address that worked per name (resolve_remember /
 * resolve_recall): a reconnect tries it at once while the lookup runs.  It holds no
 * secrets; it is process-wide because names are (one DNS for the whole program).
 */
#ifndef MOSHMAN_RESOLVE_H
#define MOSHMAN_RESOLVE_H

#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct addrinfo;
struct resolve;

/* res == NULL: error is one line ("Name or service not known").  Otherwise the caller
 * owns res (freeaddrinfo).  Runs from the loop, never inside resolve_start. */
typedef void (*resolve_done_cb)(struct addrinfo *res, const char *error, void *arg);

/* Resolve host:port (numeric port) for SOCK_STREAM, any family.  Never NULL. */
struct resolve *
resolve_start(struct ev_loop *, const char *host, const char *port, resolve_done_cb, void *arg);
/* The same, with the addresses a profile's --family allows, in its order; a failure
 * names the family ("... (IPv6 only: --family inet6)"). */
struct resolve *resolve_start_family(struct ev_loop *, const char *host, const char *port,
    int family, resolve_done_cb, void *arg);

/* ---- address families (mosh's --family) --------------------------------------------- */

/*
 * mosh's choices, as moshman applies them to the names it resolves (the ssh target when
 * it connects directly or through socks5, and the address mosh's UDP goes to):
 *   all           every address, in the system resolver's order (RFC 6724 via
 *                 getaddrinfo); moshman's default, as it always was
 *   inet, inet6   that family only (mosh -4, -6)
 *   prefer-inet   every address, IPv4 ones first (mosh's own default)
 *   prefer-inet6  every address, IPv6 ones first
 *   auto          the one family a name has; a name with both is refused, as mosh does
 */
enum resolve_family {
	RESOLVE_ALL,
	RESOLVE_INET,
	RESOLVE_INET6,
	RESOLVE_PREFER_INET,
	RESOLVE_PREFER_INET6,
	RESOLVE_AUTO,
};

/* NULL or "" is all; -1 for an unknown name. */
int resolve_family_from_name(const char *);
/* "all", "inet", ...; "?" out of range. */
const char *resolve_family_name(int family);
/* getaddrinfo's ai_family hint for it: AF_INET, AF_INET6 or AF_UNSPEC. */
int resolve_family_hint(int family);
/* Reorders *res (a getaddrinfo list made with resolve_family_hint's hint) as family
 * wants it; 0, or -1 with err ("both IPv4 and IPv6 addresses ...") and *res untouched. */
int resolve_family_order(struct addrinfo **res, int family, char *err, size_t errlen);
/* done will not run; the lookup thread finishes on its own and cleans up after itself. */
void resolve_cancel(struct resolve *);
/* Lookup threads still running (a cancelled one until getaddrinfo returns): tests wait
 * for 0 before they count file descriptors. */
int resolve_pending(void);

/* ---- last good address -------------------------------------------------------------- */

#define RESOLVE_MEMORY 16 /* names remembered, least recently used forgotten first */

struct resolve_entry {
	char name[256]; /* "host port" */
	struct sockaddr_storage addr;
	socklen_t len;
	unsigned long long used; /* recency: higher is newer */
};

struct resolve_memory {
	struct resolve_entry e[RESOLVE_MEMORY];
	unsigned long long clock;
};

/* Pure pieces on a given memory (unit-tested). */
void resolve_memory_put(struct resolve_memory *, const char *host, const char *port,
    const struct sockaddr *, socklen_t);
/* 0 and the address when one is known, else -1. */
int resolve_memory_get(struct resolve_memory *, const char *host, const char *port,
    struct sockaddr_storage *, socklen_t *);
void resolve_memory_forget(struct resolve_memory *, const char *host, const char *port);

/* The process's own memory. */
void resolve_remember(const char *host, const char *port, const struct sockaddr *, socklen_t);
int resolve_recall(const char *host, const char *port, struct sockaddr_storage *, socklen_t *);

#endif
