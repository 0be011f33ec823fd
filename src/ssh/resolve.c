/* SPDX-License-Identifier: MIT */
#include "src/ssh/resolve.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/util/log.h"
#include "src/util/xmalloc.h"

/*
 * Shared by the loop side and the lookup thread; whichever lets go last frees it, so a
 * cancelled lookup needs no one to wait for it.  The pipe stays open until then: the
 * thread's write can never meet a closed reader (no SIGPIPE).
 */
struct resolve {
	atomic_int refs;
	struct ev_loop *loop;
	ev_io io;
	ev_timer now; /* numeric answers and thread failures, from the loop */
	char *host, *port;
	int fds[2];
	int rc, err; /* getaddrinfo's status and errno */
	int family;  /* enum resolve_family */
	struct addrinfo *res;
	resolve_done_cb done;
	void *arg;
};

static atomic_int resolve_threads;

int
resolve_pending(void)
{
	return atomic_load(&resolve_threads);
}

static void
resolve_unref(struct resolve *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->fds[0] != -1)
		close(r->fds[0]);
	if (r->fds[1] != -1)
		close(r->fds[1]);
	if (r->res != NULL)
		freeaddrinfo(r->res);
	free(r->host);
	free(r->port);
	free(r);
}

static int
resolve_lookup(struct resolve *r, int flags)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = resolve_family_hint(r->family);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | flags;
	r->rc = getaddrinfo(r->host, r->port, &hints, &r->res);
	r->err = errno;
	if (r->rc != 0)
		r->res = NULL;
	return r->rc;
}

static void *
resolve_thread(void *p)
{
	struct resolve *r = p;
	char one = 1;

	resolve_lookup(r, 0);
	while (write(r->fds[1], &one, 1) == -1 && errno == EINTR)
		;
	resolve_unref(r);
	atomic_fetch_sub(&resolve_threads, 1);
	return NULL;
}

/* The answer is in r: hand it over. */
static void
resolve_finish(struct resolve *r)
{
	char msg[256];
	struct addrinfo *res = r->res;

	ev_io_stop(r->loop, &r->io);
	ev_timer_stop(r->loop, &r->now);
	r->res = NULL;
	if (r->rc != 0)
		snprintf(msg, sizeof msg, "%s",
		    r->rc == EAI_SYSTEM ? strerror(r->err) : gai_strerror(r->rc));
	else if (res == NULL)
		snprintf(msg, sizeof msg, "no address");
	else if (resolve_family_order(&res, r->family, msg, sizeof msg) == -1) {
		freeaddrinfo(res);
		res = NULL;
		r->rc = EAI_FAMILY;
	}
	/* An IPv4-only name asked for IPv6 says "not known": say which family was asked. */
	if ((r->rc != 0 || res == NULL) &&
	    (r->family == RESOLVE_INET || r->family == RESOLVE_INET6))
		snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (%s only: --family %s)",
		    r->family == RESOLVE_INET ? "IPv4" : "IPv6", resolve_family_name(r->family));
	log_debug("resolve: %s: %s", r->host, r->rc == 0 && res != NULL ? "done" : msg);
	r->done(r->rc == 0 ? res : NULL, r->rc == 0 && res != NULL ? NULL : msg, r->arg);
	resolve_unref(r);
}

static void
resolve_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct resolve *r = w->data;
	char c;

	if (read(r->fds[0], &c, 1) != 1 && (errno == EAGAIN || errno == EINTR))
		return;
	resolve_finish(r);
}

static void
resolve_now_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	resolve_finish(w->data);
}

struct resolve *
resolve_start(struct ev_loop *loop, const char *host, const char *port, resolve_done_cb done,
    void *arg)
{
	return resolve_start_family(loop, host, port, RESOLVE_ALL, done, arg);
}

struct resolve *
resolve_start_family(struct ev_loop *loop, const char *host, const char *port, int family,
    resolve_done_cb done, void *arg)
{
	struct resolve *r = xcalloc(1, sizeof *r);
	pthread_attr_t attr;
	pthread_t th;
	int e;

	atomic_init(&r->refs, 1);
	r->loop = loop;
	r->family = family;
	r->host = xstrdup(host);
	r->port = xstrdup(port);
	r->fds[0] = r->fds[1] = -1;
	r->done = done;
	r->arg = arg;
	ev_timer_init(&r->now, resolve_now_cb, 0., 0.);
	r->now.data = r;
	ev_init(&r->io, resolve_io_cb);
	r->io.data = r;
	/* A numeric address never waits for anyone. */
	if (resolve_lookup(r, AI_NUMERICHOST) != EAI_NONAME) {
		ev_timer_start(loop, &r->now);
		return r;
	}
	if (pipe2(r->fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		r->rc = EAI_SYSTEM;
		r->err = errno;
		ev_timer_start(loop, &r->now);
		return r;
	}
	atomic_fetch_add(&r->refs, 1);
	atomic_fetch_add(&resolve_threads, 1);
	/* Small stack: getaddrinfo needs little, and a lookup may outlive its caller. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if ((e = pthread_create(&th, &attr, resolve_thread, r)) != 0) {
		atomic_fetch_sub(&r->refs, 1);
		atomic_fetch_sub(&resolve_threads, 1);
		r->rc = EAI_SYSTEM;
		r->err = e;
	}
	pthread_attr_destroy(&attr);
	if (r->rc == EAI_SYSTEM) {
		ev_timer_start(loop, &r->now);
		return r;
	}
	ev_io_set(&r->io, r->fds[0], EV_READ);
	ev_io_start(loop, &r->io);
	return r;
}

void
resolve_cancel(struct resolve *r)
{
	if (r == NULL)
		return;
	ev_io_stop(r->loop, &r->io);
	ev_timer_stop(r->loop, &r->now);
	resolve_unref(r);
}

/* ---- address families ----------------------------------------------------------------- */

static const char *const resolve_families[] = {
	[RESOLVE_ALL] = "all",
	[RESOLVE_INET] = "inet",
	[RESOLVE_INET6] = "inet6",
	[RESOLVE_PREFER_INET] = "prefer-inet",
	[RESOLVE_PREFER_INET6] = "prefer-inet6",
	[RESOLVE_AUTO] = "auto",
};

int
resolve_family_from_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return RESOLVE_ALL;
	for (size_t i = 0; i < sizeof resolve_families / sizeof resolve_families[0]; i++)
		if (strcmp(s, resolve_families[i]) == 0)
			return (int)i;
	return -1;
}

const char *
resolve_family_name(int family)
{
	if (family < 0 || (size_t)family >= sizeof resolve_families / sizeof resolve_families[0])
		return "?";
	return resolve_families[family];
}

int
resolve_family_hint(int family)
{
	if (family == RESOLVE_INET)
		return AF_INET;
	if (family == RESOLVE_INET6)
		return AF_INET6;
	return AF_UNSPEC;
}

int
resolve_family_order(struct addrinfo **res, int family, char *err, size_t errlen)
{
	struct addrinfo *first = NULL, **ft = &first, *rest = NULL, **rt = &rest, *a, *next;
	int want, n4 = 0, n6 = 0;

	for (a = *res; a != NULL; a = a->ai_next) {
		n4 += a->ai_family == AF_INET;
		n6 += a->ai_family == AF_INET6;
	}
	if (family == RESOLVE_AUTO && n4 > 0 && n6 > 0) {
		snprintf(err, errlen,
		    "it has both IPv4 and IPv6 addresses, and --family auto "
		    "takes only a name with one; choose inet, inet6, prefer-inet, prefer-inet6 "
		    "or all");
		return -1;
	}
	if (family != RESOLVE_PREFER_INET && family != RESOLVE_PREFER_INET6)
		return 0;
	/* A stable partition: the preferred family first, each part in the resolver's order. */
	want = family == RESOLVE_PREFER_INET ? AF_INET : AF_INET6;
	for (a = *res; a != NULL; a = next) {
		next = a->ai_next;
		a->ai_next = NULL;
		if (a->ai_family == want) {
			*ft = a;
			ft = &a->ai_next;
		} else {
			*rt = a;
			rt = &a->ai_next;
		}
	}
	*ft = rest;
	*res = first;
	return 0;
}

/* ---- last good address -------------------------------------------------------------- */

static struct resolve_entry *
resolve_memory_find(struct resolve_memory *m, const char *name)
{
	for (size_t i = 0; i < RESOLVE_MEMORY; i++)
		if (m->e[i].len > 0 && strcmp(m->e[i].name, name) == 0)
			return &m->e[i];
	return NULL;
}

static int
resolve_memory_name(char *buf, size_t size, const char *host, const char *port)
{
	int n = snprintf(buf, size, "%s %s", host, port);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void
resolve_memory_put(struct resolve_memory *m, const char *host, const char *port,
    const struct sockaddr *sa, socklen_t len)
{
	struct resolve_entry *e;
	char name[sizeof m->e[0].name];

	if (len == 0 || len > sizeof e->addr ||
	    resolve_memory_name(name, sizeof name, host, port) == -1)
		return;
	if ((e = resolve_memory_find(m, name)) == NULL) {
		e = &m->e[0];
		for (size_t i = 1; i < RESOLVE_MEMORY && e->len > 0; i++)
			if (m->e[i].len == 0 || m->e[i].used < e->used)
				e = &m->e[i];
		memcpy(e->name, name, strlen(name) + 1);
	}
	memset(&e->addr, 0, sizeof e->addr);
	memcpy(&e->addr, sa, len);
	e->len = len;
	e->used = ++m->clock;
}

int
resolve_memory_get(struct resolve_memory *m, const char *host, const char *port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct resolve_entry *e;
	char name[sizeof m->e[0].name];

	if (resolve_memory_name(name, sizeof name, host, port) == -1 ||
	    (e = resolve_memory_find(m, name)) == NULL)
		return -1;
	memcpy(ss, &e->addr, sizeof *ss);
	*len = e->len;
	e->used = ++m->clock;
	return 0;
}

void
resolve_memory_forget(struct resolve_memory *m, const char *host, const char *port)
{
	struct resolve_entry *e;
	char name[sizeof m->e[0].name];

	if (resolve_memory_name(name, sizeof name, host, port) == 0 &&
	    (e = resolve_memory_find(m, name)) != NULL)
		memset(e, 0, sizeof *e);
}

/* Only the loop's thread touches it. */
static struct resolve_memory resolve_mem;

void
resolve_remember(const char *host, const char *port, const struct sockaddr *sa, socklen_t len)
{
	resolve_memory_put(&resolve_mem, host, port, sa, len);
}

int
resolve_recall(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	return resolve_memory_get(&resolve_mem, host, port, ss, len);
}
