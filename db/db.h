/* SPDX-License-Identifier: MIT */
/*
 * moshman's store: one SQLite file shared by the dashboard and every session supervisor.
 *
 * This layer knows SQLite and libc, nothing else.  Strings it hands out are allocated with
 * SQLite's allocator; release a record with its *_clear() function, a plain string with
 * db_free().  Every function that can fail returns -1 and leaves a message in db_error().
 */
#ifndef MOSHMAN_DB_H
#define MOSHMAN_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 5

#define DB_OK 0
#define DB_ERR (-1)
#define DB_NOTFOUND 1 /* lookups: no such row */
#define DB_EXISTS 2   /* inserts: the name is taken */

struct db;

/* Opens or creates the database file.  The file must already be 0600 (or is created so);
 * a file that group or others can read is refused.  A file that is not a moshman database,
 * is corrupt, or has a newer schema is refused and left untouched. */
int db_open(const char *path, struct db **out, char *err, size_t errlen);
void db_close(struct db *);
const char *db_error(const struct db *);
const char *db_path(const struct db *);
int db_user_version(struct db *);
void db_free(void *);
/* Strings and string vectors in records are SQLite-allocated: build them with these. */
char *db_strdup(const char *);
void db_strv_add(char ***v, size_t *n, const char *s);
void db_strv_clear(char ***v, size_t *n);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK, for several changes that must land together. */
int db_begin(struct db *);
/* BEGIN (deferred): several reads that see one snapshot, with one lock; end with
 * db_commit(). */
int db_begin_read(struct db *);
int db_commit(struct db *);
void db_rollback(struct db *);

/* Milliseconds since the Unix epoch, as the store records times.  db/ may include
 * nothing of src/, so the store keeps this clock; src/ and ui/ use clock_epoch_ms
 * (src/util/clock.h), the same clock. */
int64_t db_now_ms(void);

/* ---- host profiles ------------------------------------------------------------------ */

struct db_host {
	int64_t id;
	char *name;
	char *hostname;
	int port;
	char *user;
	char *identity;   /* NULL: agent and ssh defaults */
	char *proxy_type; /* "none", "socks5", "socks5h", "http" */
	char *proxy_host; /* NULL when proxy_type is "none" */
	int proxy_port;
	char *proxy_user;     /* NULL: no proxy auth */
	char *proxy_pass;     /* secret: never printed */
	char *jump;           /* [user@]host[:port], NULL for none */
	char *proxy_command;  /* verbatim ProxyCommand, NULL for none */
	char *transport;      /* "auto", "udp", "tcp", "command" */
	char *tunnel_command; /* template for transport "command" */
	char *server_command; /* default "mosh-server" */
	char *predict;        /* "adaptive", "always", "never", "experimental" */
	char *known_hosts;    /* NULL: ~/.ssh/known_hosts */
	char *hostkey_policy; /* "ask", "accept-new", "strict" */
	int64_t idle_timeout; /* seconds, MOSH_SERVER_NETWORK_TMOUT */
	int auto_clean;
	int server_port_lo; /* mosh-server -p LO[:HI]; 0: mosh's default (60001..60999) */
	int server_port_hi; /* == lo for one port, 0 when lo is 0 */
	char *bind_server;  /* NULL: "ssh" (-s); "any" (no -s), or an address (-i) */
	int no_init;        /* mosh-client without terminal init (MOSH_NO_TERM_INIT) */
	char *family;       /* mosh --family: NULL "all", "inet", "inet6", "prefer-inet",
	                       * "prefer-inet6", "auto" (src/ssh/resolve.h) */
	int pinned;
	int64_t created_at;
	int64_t last_used_at; /* 0: never */
	char **locales;       /* NAME=VALUE */
	size_t nlocales;
	char **tags;
	size_t ntags;
};

void db_host_clear(struct db_host *);
/* A deep copy of src into dst (dst owns no strings yet). */
void db_host_copy(struct db_host *dst, const struct db_host *src);
/* Inserts h (tags and locales too); sets h->id.  DB_EXISTS when the name is taken. */
int db_host_insert(struct db *, struct db_host *h);
/* Replaces every field of the row h->id (the name may change).  DB_EXISTS on a clash. */
int db_host_update(struct db *, const struct db_host *h);
int db_host_get(struct db *, const char *name, struct db_host *out);
int db_host_delete(struct db *, const char *name);
/* All hosts: pinned first, then most recently used, then by name. */
int db_host_list(struct db *, struct db_host **out, size_t *n);
void db_host_list_free(struct db_host *, size_t n);
int db_host_touch(struct db *, int64_t id, int64_t when_ms);
int db_host_set_pinned(struct db *, int64_t id, int pinned);
/* JSON made by SQLite: one object for name, or an array of all hosts when name is NULL.
 * Proxy passwords are masked.  Free with db_free(). */
int db_host_json(struct db *, const char *name, char **out);

/* ---- sessions and their events ------------------------------------------------------ */

/* States: starting, up, degraded, reconnecting (live); orphaned, closed, killed,
 * failed (ended).  Ending a session wipes its key.  closed and failed mean mosh-server is
 * known gone; orphaned means it is not confirmed stopped (the reason says why), whether
 * its supervisor is still trying to stop it or gone (src/session/ending.h). */
struct db_session {
	int64_t id;
	int64_t host_id; /* 0 when the profile was deleted later */
	char *host_name; /* kept even when the profile goes */
	char *state;
	char *path;        /* "udp", "tcp", "command", NULL before known */
	char *transport;   /* what was asked: auto/udp/tcp/command */
	char *remote_addr; /* address mosh-server was reached at */
	int mosh_port;
	int local_port; /* the supervisor's relay on 127.0.0.1 */
	int64_t server_pid;
	int64_t supervisor_pid;
	uint64_t supervisor_start; /* process start time (clock ticks since boot) */
	int64_t client_pid;
	uint64_t client_start;
	char *boot_id;     /* /proc/sys/kernel/random/boot_id of the supervisor's boot */
	char *session_key; /* secret; NULL once the session ended */
	int64_t started_at;
	int64_t updated_at;
	int64_t ended_at;   /* 0 while live */
	int64_t last_rx_at; /* last datagram from the server, ms epoch, 0 never */
	int64_t last_tx_at; /* last datagram from mosh-client */
	int64_t bytes_up, bytes_down, pkts_up, pkts_down;
	int rtt_ms; /* -1 unknown */
	int reconnects;
	/* read-only here: written by db_session_set_attached() */
	int attached;              /* a terminal is attached (moshman attach) */
	int64_t attach_changed_at; /* when it attached or left, 0 never */
};

/* A record's strings are SQLite-allocated whoever builds it (the supervisor too): set
 * one with db_session_str (the old value is freed, s copied; NULL clears it) and free
 * the whole record with db_session_clear.  session_key is the exception: it points at
 * the caller's buffer while the caller writes the row, and must be NULL before the
 * clear. */
void db_session_str(char **field, const char *s);
void db_session_clear(struct db_session *);
int db_session_insert(struct db *, struct db_session *s); /* sets s->id */
/* Writes every mutable field of row s->id (state, pids, ports, counters...). */
int db_session_update(struct db *, const struct db_session *s);
/* Sets the state; an ended state also sets ended_at and wipes the key.  Records an
 * event of kind "state" with the reason.  Returns DB_NOTFOUND for an unknown id. */
int db_session_set_state(struct db *, int64_t id, const char *state, const char *reason);
int db_session_get(struct db *, int64_t id, struct db_session *out);
/* Live and orphaned sessions (all sessions when all != 0), newest first. */
int db_session_list(struct db *, int all, struct db_session **out, size_t *n);
void db_session_list_free(struct db_session *, size_t n);
/* JSON array made by SQLite, without keys, of the same rows.  Free with db_free(). */
int db_session_json(struct db *, int all, char **out);
int db_session_is_live_state(const char *state);

/* Live sessions plus those that ended after since_ms, newest first, at most limit. */
int db_session_recent(struct db *, int64_t since_ms, int limit, struct db_session **out, size_t *n);

/* Per-host counts for the dashboard, in one query. */
struct db_host_stats {
	int64_t host_id;
	int live;           /* sessions in a live state */
	int orphaned;       /* sessions marked orphaned */
	int scan_orphans;   /* last scan: servers that `clean` would kill by default */
	int scan_detached;  /* last scan: detached servers that are not ours */
	int64_t scanned_at; /* 0: never scanned */
};
int db_host_stats(struct db *, struct db_host_stats **out, size_t *n);

/* ---- remote scans: the last one of each host ---------------------------------------- */

struct db_scan {
	int64_t host_id;
	int64_t scanned_at;  /* ms epoch */
	char *status;        /* ok, incomplete, unreachable, error */
	char *message;       /* why, for anything but ok */
	char *missing_tools; /* e.g. "ss netstat", NULL when none */
};

struct db_scan_server {
	int64_t pid, ppid;
	int64_t uid;       /* -1 unknown */
	int port;          /* 0 unknown */
	char *start_token; /* identifies the process instance (pid reuse) */
	int64_t age_s;     /* -1 unknown */
	char *utmp;        /* "attached", "detached", NULL none */
	char *tty;
	char *class_; /* ours-live, ours-orphaned, detached, attached, starting */
	char *why;
	int64_t session_id;     /* ours: the session row, else 0 */
	int candidate;          /* a kill target by default */
	int candidate_detached; /* a target with --detached */
	char *cmdline;
};

void db_scan_clear(struct db_scan *);
void db_scan_servers_free(struct db_scan_server *, size_t n);
/* Replace the host's last scan and its servers in one transaction. */
int db_scan_save(struct db *, const struct db_scan *, const struct db_scan_server *, size_t n);
/* DB_NOTFOUND when the host was never scanned. */
int
db_scan_get(struct db *, int64_t host_id, struct db_scan *, struct db_scan_server **, size_t *n);
/* The host's last scan as a JSON object made by SQLite: host, scanned_at, status, message,
 * missing_tools and servers[] (pid, ppid, uid, port, start, age_s, utmp, tty, class, why,
 * session_id, candidate, candidate_detached, cmdline).  DB_NOTFOUND when never scanned. */
int db_scan_json(struct db *, int64_t host_id, char **out);
/* JSON for command output that is not a stored row, made by SQLite's JSON functions too.
 * db_json_append adds a JSON value to the array *array (NULL starts "[]"; NULL value
 * appends null).  db_json_kill_target describes one clean target; db_json_clean_host
 * one host after a clean (scan_json may be NULL).  Free results with db_free(). */
int db_json_append(struct db *, char **array, const char *value);
int db_json_kill_target(struct db *, int64_t pid, const char *class_, int64_t session_id,
    const char *result, const char *signals, int gone, char **out);
int db_json_clean_host(struct db *, const char *scan_json, int kill_ran, const char *targets_json,
    char **out);
/* JSON through SQLite's own parser and writer, for files the commands read and write.
 * db_json_quote: s as a JSON string (NULL: null).  db_json_set: *obj (NULL starts {})
 * with key set to a JSON value (NULL: null).  db_json_type: the JSON type at path
 * ("null", "true", "false", "integer", "real", "text", "array", "object"); DB_ERR "not
 * valid JSON" for malformed text, DB_NOTFOUND when path is absent.  db_json_items: the
 * members of the array or object at path, in order: key (the index for arrays), type as
 * above, value as text (a scalar's text, or a container's JSON).  Free with db_free()
 * and db_json_items_free(). */
struct db_json_item {
	char *key;
	char *type;
	char *value;
};
int db_json_quote(struct db *, const char *s, char **out);
int db_json_set(struct db *, char **obj, const char *key, const char *value_json);
int db_json_type(struct db *, const char *json, const char *path, char **type);
int db_json_items(struct db *, const char *json, const char *path, struct db_json_item **out,
    size_t *n);
void db_json_items_free(struct db_json_item *, size_t n);

/* PRAGMA data_version: changes whenever another connection commits. */
int64_t db_data_version(struct db *);

int db_event_add(struct db *, int64_t session_id, const char *kind, const char *message);

/* ---- attached terminals (db_attach.c) ------------------------------------------------ */

/* Records that a terminal attached (attached != 0) or left, now, with an event of kind
 * "attach" or "detach" carrying why.  DB_NOTFOUND for an unknown id. */
int db_session_set_attached(struct db *, int64_t id, int attached, const char *why);

struct db_event {
	int64_t at; /* ms epoch */
	char *kind;
	char *message;
};
/* Events of one session, oldest first.  Free with db_event_list_free(). */
int db_event_list(struct db *, int64_t session_id, struct db_event **out, size_t *n);
void db_event_list_free(struct db_event *, size_t n);
/* Events of one session as a JSON array, oldest first. */
int db_event_json(struct db *, int64_t session_id, char **out);

#endif
