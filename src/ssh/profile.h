/* SPDX-License-Identifier: MIT */
/* Host profiles: every field's validation, shared by the CLI, the importer and the
 * dashboard's forms.  Nothing that passes these checks can smuggle shell syntax or an
 * ssh option into a command line later. */
#ifndef MOSHMAN_PROFILE_H
#define MOSHMAN_PROFILE_H

#include <stddef.h>

struct db_host;

struct profile_option {
	const char *name; /* the long option without dashes: "port" */
	const char *arg;  /* "N", or NULL for a flag */
	const char *help; /* one line */
	int repeatable;   /* --tag and --locale add; the rest replace */
};

/* Every settable option, in --help order; ends with a NULL name. */
extern const struct profile_option profile_options[];

/* The option named by the first len bytes of name, or NULL. */
const struct profile_option *profile_option_find(const char *name, size_t len);
/* Defaults for a new profile: port 22, the current user, transport auto, ...  h must not
 * own strings yet (db_host_clear() it first). */
void profile_defaults(struct db_host *, const char *name);
/* Validate value and set the field named by option.  0, or -1 with *err (allocated; it
 * names what is wrong, without the option name, and never echoes a password). */
int profile_set(struct db_host *, const char *option, const char *value, char **err);
/* Checks across fields (e.g. transport command needs a tunnel command). */
int profile_check(const struct db_host *, char **err);
/* A short route description: "direct", "socks5 HOST:PORT", "jump HOST", "command". */
char *profile_route(const struct db_host *);
/* The proxy as a URL with the password masked, or "none". */
char *profile_proxy_display(const struct db_host *);

/* The inverse of profile_set for an option with a value: the value that sets h's
 * field, allocated, or NULL when unset.  The proxy is a URL with user and password
 * percent-encoded; the password only with with_secrets.  NULL for repeatable options
 * and flags. */
char *profile_get(const struct db_host *, const char *option, int with_secrets);
/* A flag's state (auto-clean, init: 1 on, 0 off; the "no-" forms are their opposites),
 * -1 for anything else. */
int profile_get_flag(const struct db_host *, const char *option);

/* A repeatable option's values (pointers into h); -1 for other options. */
int profile_get_list(const struct db_host *, const char *option, char *const **v, size_t *n);

/* Single-value validators, also used by the importer and the proxy URL parser. */
int profile_check_name(const char *, char **err);
int profile_check_hostname(const char *, char **err);
/* PORT or PORT:PORT2 (mosh -p), each 1-65535, low first. */
int profile_check_server_port(const char *, int *lo, int *hi, char **err);
/* [USER@]HOST[:PORT] or [USER@][V6ADDR][:PORT], validated like the profile fields.
 * *user is NULL when not given, *port 0.  Allocated (free()). */
int profile_parse_target(const char *, char **user, char **host, int *port, char **err);

#endif
