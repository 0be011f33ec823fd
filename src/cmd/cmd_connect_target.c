/* SPDX-License-Identifier: MIT */
/* connect's command line: the profile a session runs with (see cmd_connect_target in
 * cmd.h).
 *
 * TARGET is a profile name or, as for mosh and ssh, [USER@]HOST[:PORT].  Profile names
 * never contain '@', ':' or '[', so a word with one of them is a host; a bare word is the
 * profile of that name when there is one, else a host; a leading '@' forces the host
 * meaning (`moshman connect @web` when a profile is called web too).  An ad hoc target
 * gets what ~/.ssh/config gives that name, as `ssh HOST` would; the command line wins
 * over the config.  Every profile option applies to this run only, validated by the
 * same code as `host add`; --save NAME stores what was used. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/ssh/profile.h"
#include "src/ssh/sshconfig.h"
#include "src/util/paths.h"
#include "src/util/xmalloc.h"

#define CONNECT_USAGE "usage: moshman connect NAME|[USER@]HOST[:PORT] [options] [--save NAME]"

struct connect_args {
	const char *const *own; /* the caller's own flags, skipped here */
	const char *target;     /* the word, NULL with only --host */
	const char *save;       /* --save NAME */
	int route_given;        /* --proxy, --jump or --proxy-command on the command line */
	int user_given, port_given, identity_given;
};

/* First pass: the target, --save, and which options the command line sets; every
 * option name is checked here so a typo fails before anything is looked up. */
static int
is_own(const struct connect_args *a, const char *arg)
{
	for (size_t k = 0; a->own != NULL && a->own[k] != NULL; k++) {
		if (strcmp(arg, a->own[k]) == 0)
			return 1;
	}
	return 0;
}

static int
connect_scan_args(int argc, char **argv, const char *const *own, struct connect_args *a)
{
	memset(a, 0, sizeof *a);
	a->own = own;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq;
		const struct profile_option *o;
		size_t len;

		if (is_own(a, arg))
			continue;
		if (strcmp(arg, "--") == 0) {
			if (i + 1 < argc && a->target == NULL && i + 2 == argc) {
				a->target = argv[i + 1];
				break;
			}
			return cmd_usage(CONNECT_USAGE);
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (strcmp(arg, "-4") == 0 || strcmp(arg, "-6") == 0)
				continue; /* mosh's -4 and -6: --family inet, inet6 */
			if (strcmp(arg, "-p") == 0)
				return cmd_usage("unknown option '-p': mosh's -p PORT[:PORT2] is "
				                 "--server-port here, ssh's -p PORT is --port");
			if (arg[0] == '-')
				return cmd_usage(
				    "unknown option '%s'; see 'moshman connect --help'", arg);
			if (a->target != NULL)
				return cmd_usage("one target only ('%s' and '%s'); " CONNECT_USAGE,
				    a->target, arg);
			a->target = arg;
			continue;
		}
		eq = strchr(arg + 2, '=');
		len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if (len == 4 && strncmp(arg + 2, "save", 4) == 0) {
			if (eq != NULL)
				a->save = eq + 1;
			else if (i + 1 < argc)
				a->save = argv[++i];
			else
				return cmd_usage("--save needs a profile name");
			continue;
		}
		if ((o = profile_option_find(arg + 2, len)) == NULL)
			return cmd_usage("unknown option '%.*s'; see 'moshman connect --help'",
			    (int)len + 2, arg);
		if (strcmp(o->name, "proxy") == 0 || strcmp(o->name, "jump") == 0 ||
		    strcmp(o->name, "proxy-command") == 0)
			a->route_given = 1;
		a->user_given |= strcmp(o->name, "user") == 0;
		a->port_given |= strcmp(o->name, "port") == 0;
		a->identity_given |= strcmp(o->name, "identity") == 0;
		if (o->arg != NULL && eq == NULL)
			i++; /* its value; a missing one is reported by the second pass */
	}
	return 0;
}

/* Is word a host rather than a profile name, whatever the database holds? */
static int
connect_is_host_word(const char *word)
{
	return strpbrk(word, "@:[") != NULL;
}

static int
connect_set(struct db_host *h, const char *opt, const char *value, const char *what)
{
	char *err = NULL;

	if (profile_set(h, opt, value, &err) == 0)
		return 0;
	cmd_usage("%s: %s", what, err);
	free(err);
	return EXIT_USAGE;
}

/* ~/.ssh/config's values for host, for what the command line leaves open. */
static int
connect_ssh_config(struct db_host *h, const char *host, const struct connect_args *a,
    int target_user, int target_port, int quiet)
{
	struct sshconfig *cfg;
	struct sshconfig_host sh;
	char *path = NULL, port[16];
	int rc = 0;

	xasprintf(&path, "%s/.ssh/config", paths_home());
	if (access(path, F_OK) == -1) {
		free(path);
		return connect_set(h, "host", host, "target");
	}
	cfg = sshconfig_new();
	if (sshconfig_load_file(cfg, NULL, paths_home()) == -1 && !quiet)
		fprintf(stderr,
		    "moshman: %s has problems ssh may refuse; see 'moshman host import "
		    "--dry-run'\n",
		    path);
	sshconfig_lookup(cfg, host, &sh);
	if (sh.errors > 0) {
		for (size_t i = 0; i < sh.nnotes; i++)
			fprintf(stderr, "moshman: %s\n", sh.notes[i]);
		rc = cmd_fail("ssh would refuse the configuration for %s in %s (%u error%s)", host,
		    path, sh.errors, sh.errors == 1 ? "" : "s");
		goto out;
	}
	if ((rc = connect_set(h, "host", sh.hostname, path)) != 0)
		goto out;
	if (!target_user && !a->user_given && sh.user != NULL &&
	    (rc = connect_set(h, "user", sh.user, path)) != 0)
		goto out;
	if (!target_port && !a->port_given && sh.port > 0) {
		snprintf(port, sizeof port, "%d", sh.port);
		if ((rc = connect_set(h, "port", port, path)) != 0)
			goto out;
	}
	/* A key file that does not exist here is left out, as ssh skips it too. */
	if (!a->identity_given && sh.identity != NULL && access(sh.identity, F_OK) == 0 &&
	    (rc = connect_set(h, "identity", sh.identity, path)) != 0)
		goto out;
	if (!a->route_given && sh.proxy_jump != NULL &&
	    (rc = connect_set(h, "jump", sh.proxy_jump, path)) != 0)
		goto out;
	if (!a->route_given && sh.proxy_command != NULL &&
	    (rc = connect_set(h, "proxy-command", sh.proxy_command, path)) != 0)
		goto out;
out:
	sshconfig_host_clear(&sh);
	sshconfig_free(cfg);
	free(path);
	return rc;
}

/* A profile for [USER@]HOST[:PORT] (spec may be NULL when --host names it). */
static int
connect_adhoc(struct db_host *h, const char *spec, const struct connect_args *a, int quiet)
{
	char *user = NULL, *host = NULL, *err = NULL, port[16];
	int p = 0, rc;

	profile_defaults(h, NULL);
	if (spec == NULL)
		return 0;
	if (profile_parse_target(spec, &user, &host, &p, &err) == -1) {
		rc = cmd_usage("target '%s': %s", spec, err);
		free(err);
		return rc;
	}
	if ((rc = connect_ssh_config(h, host, a, user != NULL, p > 0, quiet)) != 0)
		goto out;
	if (user != NULL && (rc = connect_set(h, "user", user, "target")) != 0)
		goto out;
	snprintf(port, sizeof port, "%d", p);
	if (p > 0 && (rc = connect_set(h, "port", port, "target")) != 0)
		goto out;
out:
	free(user);
	free(host);
	return rc;
}

/* A bare word that names no profile: if it does not resolve either (and no proxy or
 * jump host resolves it for us), it was most likely a mistyped profile name. */
static int
connect_resolves(const struct db_host *h, const char *word)
{
	struct addrinfo hints, *ai = NULL;

	if ((h->proxy_type != NULL && strcmp(h->proxy_type, "none") != 0) || h->jump != NULL ||
	    h->proxy_command != NULL)
		return 0;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(h->hostname, NULL, &hints, &ai) == 0) {
		freeaddrinfo(ai);
		return 0;
	}
	return cmd_fail("no host profile named '%s', and %s does not resolve as a host name; "
	                "see 'moshman host list'",
	    word, h->hostname);
}

/* The name the session row shows for an unsaved target: user@host[:port]. */
static void
connect_label(struct db_host *h)
{
	char *label = NULL;
	int v6 = strchr(h->hostname, ':') != NULL;

	if (h->port == 22)
		xasprintf(&label, "%s@%s%s%s", h->user, v6 ? "[" : "", h->hostname, v6 ? "]" : "");
	else
		xasprintf(&label, "%s@%s%s%s:%d", h->user, v6 ? "[" : "", h->hostname,
		    v6 ? "]" : "", h->port);
	db_free(h->name);
	h->name = db_strdup(label);
	free(label);
}

static int
connect_save(struct db *db, struct db_host *h, const char *name, int quiet)
{
	char *err = NULL;
	int rc;

	if (profile_check_name(name, &err) == -1) {
		rc = cmd_usage("--save: %s", err);
		free(err);
		return rc;
	}
	db_free(h->name);
	h->name = db_strdup(name);
	h->id = 0;
	h->created_at = h->last_used_at = 0;
	h->pinned = 0;
	switch (db_host_insert(db, h)) {
	case DB_OK:
		if (!quiet)
			fprintf(stderr, "moshman: saved profile %s (%s@%s:%d)\n", h->name, h->user,
			    h->hostname, h->port);
		return 0;
	case DB_EXISTS:
		return cmd_usage("--save: a profile named '%s' exists already; change it with "
		                 "'moshman host edit %s'",
		    name, name);
	default:
		return cmd_fail("%s", db_error(db));
	}
}

int
cmd_connect_target(struct cmd_ctx *ctx, int argc, char **argv, const char *const *own_flags,
    struct db_host *h)
{
	struct connect_args a;
	struct db *db;
	const char *word;
	unsigned cleared = 0;
	int rc, profile = 0;

	memset(h, 0, sizeof *h);
	if ((rc = connect_scan_args(argc, argv, own_flags, &a)) != 0)
		return rc;
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	word = a.target;
	if (word != NULL && word[0] == '@')
		word++; /* forced host meaning */
	else if (word != NULL && !connect_is_host_word(word)) {
		switch (db_host_get(db, word, h)) {
		case DB_OK:
			profile = 1;
			break;
		case DB_NOTFOUND:
			break;
		default:
			return cmd_fail("%s", db_error(db));
		}
	}
	if (word == NULL) {
		int has_host = 0;

		for (int i = 1; i < argc; i++)
			has_host |=
			    strcmp(argv[i], "--host") == 0 || strncmp(argv[i], "--host=", 7) == 0;
		if (!has_host)
			return cmd_usage(CONNECT_USAGE);
	}
	if (!profile && (rc = connect_adhoc(h, word, &a, ctx->quiet)) != 0)
		goto out;
	/* Second pass: the options, over the profile or the target. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i] == a.target || is_own(&a, argv[i]))
			continue;
		if (strcmp(argv[i], "--save") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--save=", 7) == 0)
			continue;
		if (strcmp(argv[i], "-4") == 0 || strcmp(argv[i], "-6") == 0) {
			if ((rc = connect_set(h, "family", argv[i][1] == '4' ? "inet" : "inet6",
			         argv[i])) != 0)
				goto out;
			continue;
		}
		rc = cmd_profile_option(h, argc, argv, &i, 0, 1, &cleared);
		if (rc != 0)
			goto out; /* the first pass let only profile options through */
	}
	{
		char *err = NULL;

		if (profile_check(h, &err) == -1) {
			if (profile)
				rc = cmd_usage("%s (on this command line, or in the profile with "
				               "'moshman host edit %s')",
				    err, h->name);
			else
				rc = cmd_usage("%s", err);
			free(err);
			goto out;
		}
	}
	if (!profile && a.target != NULL && a.target[0] != '@' && !connect_is_host_word(a.target) &&
	    (rc = connect_resolves(h, a.target)) != 0)
		goto out;
	if (a.save != NULL && (rc = connect_save(db, h, a.save, ctx->quiet)) != 0)
		goto out;
	if (!profile && a.save == NULL)
		connect_label(h);
	return 0;
out:
	db_host_clear(h);
	return rc;
}
