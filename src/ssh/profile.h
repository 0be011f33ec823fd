/* Host profiles: every field's validation, shared by the CLI, the importer and the
 * dashboard's forms.  Nothing that passes these checks can smuggle shell syntax or an
 * ssh option into a command line later. */
#ifndef MOSHMAN_PROFILE_H
#define MOSHMAN_PROFILE_H

struct db_host;

struct profile_option {
	const char *name;  /* the long option without dashes: "port" */
	const char *arg;   /* "N", or NULL for a flag */
	const char *help;  /* one line */
	int repeatable;    /* --tag and --locale add; the rest replace */
};

/* Every settable option, in --help order; ends with a NULL name. */
extern const struct profile_option profile_options[];

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

/* Single-value validators, also used by the importer and the proxy URL parser. */
int profile_check_name(const char *, char **err);
int profile_check_hostname(const char *, char **err);

#endif
