/* SPDX-License-Identifier: MIT */
/*
 * One ssh connection to a host profile's target, driven by libev in libssh's
 * non-blocking mode: TCP (directly, through a SOCKS5/HTTP proxy handled by src/ssh/proxy.c,
 * or a ProxyCommand / ProxyJump run by libssh), host key check, authentication, and exec
 * channels.
 *
 * The object keeps what it needs to connect again without asking (the route, and a
 * passphrase, password or keyboard-interactive answers typed earlier, in memory only and
 * wiped when freed), so the
 * tunnel can reconnect: sshconn_open() on a closed connection with interactive == 0 never
 * prompts and refuses a host key that is not already known.
 */
#ifndef MOSHMAN_SSHCONN_H
#define MOSHMAN_SSHCONN_H

#include <stddef.h>

#include "src/ssh/proxy.h"

struct ev_loop;
struct sshconn;

enum sshconn_policy {
	SSHCONN_ASK,
	SSHCONN_ACCEPT_NEW,
	SSHCONN_STRICT
};

struct sshconn_config {
	const char *host; /* target, as the profile names it */
	int port;
	const char *user;
	const char *identity;    /* NULL: agent and ~/.ssh defaults */
	const char *known_hosts; /* NULL: ~/.ssh/known_hosts */
	enum sshconn_policy policy;
	struct proxy_spec proxy;   /* type PROXY_NONE: direct (or ProxyCommand) */
	const char *jump;          /* [user@]host[:port]; NULL for none */
	const char *proxy_command; /* verbatim; NULL for none */
	int use_ssh_config;        /* read ~/.ssh/config and /etc/ssh/ssh_config first */
	int timeout_ms;            /* connect + handshake + auth, not counting prompts */
};

struct db_host;

/* "ask", "accept-new" or "strict" (NULL: ask).  -1 for anything else. */
int sshconn_policy_from_name(const char *, enum sshconn_policy *);

/* Fill cfg from a host profile (pointers into h) with the host key policy named by policy
 * ("ask", "accept-new", "strict"; NULL: the profile's).  -1 with *err (allocated) for an
 * unknown policy or proxy type. */
int sshconn_config_from_profile(const struct db_host *h, const char *policy, int timeout_ms,
    struct sshconn_config *cfg, char **err);

/* step: one line for the user ("ssh handshake", "auth publickey"); no secrets. */
typedef void (*sshconn_progress_cb)(const char *step, void *arg);
/* error == NULL: connected and authenticated.  Otherwise one line for the user. */
typedef void (*sshconn_done_cb)(struct sshconn *, const char *error, void *arg);
/* The exec finished: its stdout, stderr (bounded) and exit status (-1 unknown), or
 * error != NULL when the channel failed. */
typedef void (*sshconn_exec_cb)(struct sshconn *, const char *out, size_t outlen, const char *err,
    size_t errlen, int status, const char *error, void *arg);

/* Copies the config.  progress may be NULL. */
struct sshconn *
sshconn_new(struct ev_loop *, const struct sshconn_config *, sshconn_progress_cb, void *arg);
/* Wipes remembered secrets and frees everything (closing the connection). */
void sshconn_free(struct sshconn *);
/* A second, closed connection to the same place with the same remembered secrets (for a
 * connection made in parallel while the first one is suspect: it opens with
 * interactive == 0).  Free it on its own. */
struct sshconn *sshconn_clone(const struct sshconn *, sshconn_progress_cb, void *arg);
/* Connect, check the host key, authenticate.  done runs once, from the loop.  With
 * interactive == 0 nothing is asked on the terminal. */
void sshconn_open(struct sshconn *, int interactive, sshconn_done_cb, void *arg);
/* Run one command line on an exec channel of an open connection. */
void sshconn_exec(struct sshconn *, const char *command, sshconn_exec_cb, void *arg);
/* Disconnects; the object can open again. */
void sshconn_close(struct sshconn *);
/*
 * A long-lived exec channel for the tunnel: command runs on the open connection, its
 * stdout and stderr arrive through the callbacks as they come, and what is written is
 * queued and sent as the channel's window allows.  One stream at a time, next to
 * sshconn_exec.  After every wake-up of the loop the channel is drained (libssh may hold
 * decrypted data the socket no longer signals).  closed runs once when the channel ends
 * (error NULL: EOF or close, with the exit status or -1) or the connection fails (error
 * says why); it may close or reopen anything.
 */
struct sshconn_stream_ops {
	void (*data)(const void *, size_t, void *arg);
	void (*err)(const void *, size_t, void *arg);
	void (*closed)(int status, const char *error, void *arg);
};
/* -1 if the connection is not open (no callback runs then). */
int sshconn_stream_open(struct sshconn *, const char *command, const struct sshconn_stream_ops *,
    void *arg);
/* Queues bytes for the channel (sent at once when possible). */
void sshconn_stream_write(struct sshconn *, const void *, size_t);
/* Bytes queued and not yet handed to libssh. */
size_t sshconn_stream_queued(const struct sshconn *);
/* Ends the stream without calling closed. */
void sshconn_stream_close(struct sshconn *);
/* Wipes the passphrase, password and keyboard-interactive answers kept for reconnects,
 * once no reconnect will need them (direct UDP, the command transport).  A later open
 * asks again, or fails without a terminal. */
void sshconn_forget_secrets(struct sshconn *);
/* Did the last open fail on the host key (changed or gone)?  Reconnecting is pointless. */
int sshconn_hostkey_refused(const struct sshconn *);
/* Did the last open fail because the server refused every way we could log in (or asked
 * keyboard-interactive questions we cannot answer without a terminal)?  Retrying the
 * same credentials cannot help. */
int sshconn_auth_refused(const struct sshconn *);
/* Logged in and not closed (an exec or stream may be running). */
int sshconn_is_open(const struct sshconn *);
/* Connected and authenticated, and neither an exec nor a stream running (they share the
 * connection's watchers): sshconn_exec may be called now. */
int sshconn_exec_possible(const struct sshconn *);
/* Connect + handshake + auth timeout for the next opens (reconnects use short ones). */
void sshconn_set_timeout(struct sshconn *, int ms);

/* The connection's socket (TCP, or a pipe through a ProxyCommand or jump host), -1 when
 * not connected: for what the kernel knows of it (TCP_INFO). */
int sshconn_fd(const struct sshconn *);
/* The numeric address of the TCP peer when connected directly, else NULL. */
const char *sshconn_peer_addr(const struct sshconn *);
/* How the connection went out: "direct", "socks5", "socks5h", "http", "proxycommand". */
const char *sshconn_route(const struct sshconn *);
/* The host the connection went to after ~/.ssh/config (its HostName), and the jump
 * spec ([user@]host[:port]) of a ProxyJump from the profile or the config, or NULL. */
const char *sshconn_target_host(const struct sshconn *);
const char *sshconn_jump_spec(const struct sshconn *);
/* The auth method that succeeded ("publickey", "password", ...), or NULL. */
const char *sshconn_auth_method(const struct sshconn *);

/* Keyboard-interactive questions and their answers, in the order they were asked. */
#define SSHCONN_KBD_MAX 16
struct sshconn_kbd {
	size_t n;
	int no_replay; /* a one-time code, a visible answer or one that did not fit */
	char *prompt[SSHCONN_KBD_MAX];
	char *answer[SSHCONN_KBD_MAX]; /* secrets: wiped by sshconn_kbd_clear */
};
/* May the answer to this question be given again on a reconnect?  Only a hidden answer
 * (echo off) to a question that does not ask for a one-time code ("Verification code",
 * "OTP", "token", "passcode", ...): a stale code would be refused, count as a failed
 * login, and inside its time window could even be accepted again.  Pure. */
int sshconn_kbd_replayable(const char *prompt, int echo);
/* Wipes and frees every entry; the struct can be reused. */
void sshconn_kbd_clear(struct sshconn_kbd *);
/* Appends a copy of prompt and answer; -1 when full (SSHCONN_KBD_MAX). */
int sshconn_kbd_add(struct sshconn_kbd *, const char *prompt, const char *answer);
/* The answer given to the i-th question (0-based) if it was asked with exactly this
 * prompt, else NULL.  Pure. */
const char *sshconn_kbd_replay(const struct sshconn_kbd *, size_t i, const char *prompt);

/* What to do with the server's host key, as OpenSSH does for every command: a key
 * that differs from the known one is always refused; an unknown one is recorded
 * without a question under accept-new, asked about under ask (refused when there is
 * no terminal), refused under strict.  "No longer" is only for a key this connection
 * accepted before (seen) that has since gone from the file; a different key than the
 * one seen earlier counts as changed.  Pure. */
enum sshconn_hk_state {
	SSHCONN_HK_KNOWN,
	SSHCONN_HK_MISMATCH,
	SSHCONN_HK_UNKNOWN
};
enum sshconn_hk_verdict {
	SSHCONN_HK_OK,
	SSHCONN_HK_RECORD,        /* unknown: record without asking */
	SSHCONN_HK_ASK,           /* unknown: ask; record on yes */
	SSHCONN_HK_CHANGED,       /* differs from the file's entry */
	SSHCONN_HK_CHANGED_SINCE, /* not in the file and differs from the one seen before */
	SSHCONN_HK_GONE,          /* the key seen before is no longer in the file */
	SSHCONN_HK_REFUSE_STRICT, /* never seen, policy strict */
	SSHCONN_HK_REFUSE_NO_TTY, /* never seen, policy ask, nobody to ask */
};
enum sshconn_hk_verdict sshconn_hostkey_verdict(enum sshconn_hk_state, enum sshconn_policy,
    int interactive, int seen, int same_as_seen);

/* "host" for port 22, else "[host]:port", as known_hosts names hosts.  Allocated. */
char *sshconn_known_hosts_name(const char *host, int port);
/* The 1-based line of the first plain (unhashed) known_hosts entry naming name, 0 when
 * none.  Pure: text is the file's contents. */
int sshconn_known_hosts_line(const char *text, size_t len, const char *name);
/* The ProxyCommand for a jump spec "[user@]host[:port]", every value shell-quoted;
 * -1 with a message for a malformed spec.  Allocated into *out.  family (enum
 * resolve_family) inet or inet6 gives the jump's ssh -4 or -6, as OpenSSH's own
 * ProxyJump passes its -4/-6 on; the other families have no ssh option. */
int sshconn_jump_command(const char *jump, const char *target_host, int target_port,
    const char *known_hosts, const char *identity, enum sshconn_policy, int family, char **out,
    char *err, size_t errlen);

#endif
