/* SPDX-License-Identifier: MIT */
/* moshman host add|list|show|edit|rm|import|export: host profiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/util/fmt.h"
#include "src/ssh/profile.h"
#include "src/util/xmalloc.h"

int
cmd_profile_option(struct db_host *h, int argc, char **argv, int *i, int allow_name,
    int replace_lists, unsigned *cleared)
{
	const char *arg = argv[*i], *name, *eq, *value = NULL;
	const struct profile_option *o;
	char *err = NULL;
	size_t len;

	if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
		return CMD_NOT_OPTION;
	name = arg + 2;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	if ((o = profile_option_find(name, len)) == NULL &&
	    !(allow_name && len == 4 && strncmp(name, "name", 4) == 0))
		return CMD_NOT_OPTION;
	if (o != NULL && o->arg == NULL) {
		if (eq != NULL)
			return cmd_usage("--%s takes no value", o->name);
	} else if (eq != NULL)
		value = eq + 1;
	else if (*i + 1 < argc)
		value = argv[++*i];
	else
		return cmd_usage("--%.*s needs a value", (int)len, name);
	/* Repeatable options replace the stored list when editing: `edit --tag a` leaves
	 * just tag a. */
	if (replace_lists && o != NULL && strcmp(o->name, "tag") == 0 && !(*cleared & 1)) {
		*cleared |= 1;
		db_strv_clear(&h->tags, &h->ntags);
	}
	if (replace_lists && o != NULL && strcmp(o->name, "locale") == 0 && !(*cleared & 2)) {
		*cleared |= 2;
		db_strv_clear(&h->locales, &h->nlocales);
	}
	if (profile_set(h, o ? o->name : "name", value, &err) == -1) {
		cmd_usage("--%.*s: %s", (int)len, name, err);
		free(err);
		return EXIT_USAGE;
	}
	return 0;
}

/* Apply --option value pairs from argv[first..] to h.  Positional arguments are
 * refused.  Returns 0 or an exit code. */
static int
apply_options(struct db_host *h, int argc, char **argv, int first, int allow_name,
    int replace_lists)
{
	unsigned cleared = 0;
	int rc;

	for (int i = first; i < argc; i++) {
		rc = cmd_profile_option(h, argc, argv, &i, allow_name, replace_lists, &cleared);
		if (rc == CMD_NOT_OPTION && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0')
			return cmd_usage("unknown option '%.*s'; see 'moshman host --help'",
			    (int)strcspn(argv[i], "="), argv[i]);
		if (rc == CMD_NOT_OPTION)
			return cmd_usage("unexpected argument '%s'; see 'moshman host --help'",
			    argv[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
check_profile(const struct db_host *h)
{
	char *err = NULL;

	if (profile_check(h, &err) == -1) {
		cmd_usage("%s", err);
		free(err);
		return EXIT_USAGE;
	}
	return 0;
}

static int
host_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct db_host h;
	struct db *db;
	char *err = NULL;
	int rc;

	if (argc < 3 || argv[2][0] == '-')
		return cmd_usage("usage: moshman host add NAME --host HOST [options]");
	if (profile_check_name(argv[2], &err) == -1) {
		cmd_usage("host name: %s", err);
		free(err);
		return EXIT_USAGE;
	}
	profile_defaults(&h, argv[2]);
	if ((rc = apply_options(&h, argc, argv, 3, 0, 0)) != 0 || (rc = check_profile(&h)) != 0)
		goto out;
	if ((db = cmd_db(ctx)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	switch (db_host_insert(db, &h)) {
	case DB_OK:
		if (!ctx->quiet)
			printf("added %s (%s@%s:%d)\n", h.name, h.user, h.hostname, h.port);
		rc = 0;
		break;
	case DB_EXISTS:
		rc = cmd_usage("a host named '%s' exists already; change it with 'moshman host "
		               "edit %s'",
		    h.name, h.name);
		break;
	default:
		rc = cmd_fail("%s", db_error(db));
	}
out:
	db_host_clear(&h);
	return rc;
}

static int
host_edit(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct db_host h;
	struct db *db;
	int rc;

	if (argc < 3 || argv[2][0] == '-')
		return cmd_usage("usage: moshman host edit NAME [--name NEW] [options]");
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	switch (db_host_get(db, argv[2], &h)) {
	case DB_OK:
		break;
	case DB_NOTFOUND:
		return cmd_usage("no host named '%s'; see 'moshman host list'", argv[2]);
	default:
		return cmd_fail("%s", db_error(db));
	}
	if (argc == 3) {
		rc = cmd_usage("nothing to change; give options as for 'host add'");
		goto out;
	}
	if ((rc = apply_options(&h, argc, argv, 3, 1, 1)) != 0 || (rc = check_profile(&h)) != 0)
		goto out;
	switch (db_host_update(db, &h)) {
	case DB_OK:
		if (!ctx->quiet)
			printf("updated %s\n", h.name);
		rc = 0;
		break;
	case DB_EXISTS:
		rc = cmd_usage("a host named '%s' exists already", h.name);
		break;
	default:
		rc = cmd_fail("%s", db_error(db));
	}
out:
	db_host_clear(&h);
	return rc;
}

static int
has_flag(int argc, char **argv, int first, const char *flag)
{
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], flag) == 0)
			return 1;
	}
	return 0;
}

/* Every argument from first on must be one of the flags listed. */
static int
only_flags(int argc, char **argv, int first, const char *const *flags)
{
	for (int i = first; i < argc; i++) {
		size_t j;
		for (j = 0; flags[j] != NULL; j++) {
			if (strcmp(argv[i], flags[j]) == 0)
				break;
		}
		if (flags[j] == NULL)
			return cmd_usage("unexpected argument '%s'", argv[i]);
	}
	return 0;
}

/* "3m ago", "never". */
static void
format_ago(int64_t when_ms, char *buf, size_t len)
{
	fmt_ago(when_ms, buf, len);
	if (when_ms > 0)
		strncat(buf, " ago", len - strlen(buf) - 1);
}

static int
print_json(struct db *db, const char *name)
{
	char *json = NULL;
	int rc = db_host_json(db, name, &json);

	if (rc == DB_NOTFOUND)
		return cmd_usage("no host named '%s'", name);
	if (rc != DB_OK)
		return cmd_fail("%s", db_error(db));
	printf("%s\n", json);
	db_free(json);
	return 0;
}

static int
host_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const char *const flags[] = { "--json", NULL };
	struct db_host *v = NULL;
	struct db *db;
	size_t n = 0;
	int rc;

	if ((rc = only_flags(argc, argv, 2, flags)) != 0)
		return rc;
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	if (has_flag(argc, argv, 2, "--json"))
		return print_json(db, NULL);
	if (db_host_list(db, &v, &n) != DB_OK)
		return cmd_fail("%s", db_error(db));
	if (n == 0)
		printf("no hosts yet; add one with 'moshman host add NAME --host HOST' or "
		       "'moshman host import'\n");
	else
		printf("%-20s %-32s %-22s %-9s %-16s %s\n", "NAME", "TARGET", "ROUTE", "TRANSPORT",
		    "TAGS", "LAST USED");
	for (size_t i = 0; i < n; i++) {
		char target[300], tags[128] = "", ago[32], *route = profile_route(&v[i]);

		snprintf(target, sizeof target, "%s@%s:%d", v[i].user, v[i].hostname, v[i].port);
		for (size_t t = 0; t < v[i].ntags; t++) {
			if (t > 0)
				strncat(tags, ",", sizeof tags - strlen(tags) - 1);
			strncat(tags, v[i].tags[t], sizeof tags - strlen(tags) - 1);
		}
		format_ago(v[i].last_used_at, ago, sizeof ago);
		printf("%s%-19s %-32s %-22s %-9s %-16s %s\n", v[i].pinned ? "*" : " ", v[i].name,
		    target, route, v[i].transport, *tags ? tags : "-", ago);
		free(route);
	}
	db_host_list_free(v, n);
	return 0;
}

static void
show_line(const char *key, const char *value)
{
	printf("%-15s %s\n", key, value != NULL ? value : "-");
}

static int
host_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const char *const flags[] = { "--json", NULL };
	struct db_host h;
	struct db *db;
	char buf[64], *proxy, *route;
	int rc;

	if (argc < 3 || argv[2][0] == '-')
		return cmd_usage("usage: moshman host show NAME [--json]");
	if ((rc = only_flags(argc, argv, 3, flags)) != 0)
		return rc;
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	if (has_flag(argc, argv, 3, "--json"))
		return print_json(db, argv[2]);
	switch (db_host_get(db, argv[2], &h)) {
	case DB_OK:
		break;
	case DB_NOTFOUND:
		return cmd_usage("no host named '%s'; see 'moshman host list'", argv[2]);
	default:
		return cmd_fail("%s", db_error(db));
	}
	proxy = profile_proxy_display(&h);
	route = profile_route(&h);
	show_line("name", h.name);
	show_line("host", h.hostname);
	snprintf(buf, sizeof buf, "%d", h.port);
	show_line("port", buf);
	show_line("user", h.user);
	show_line("identity", h.identity);
	show_line("route", route);
	show_line("proxy", proxy);
	show_line("jump", h.jump);
	show_line("proxy-command", h.proxy_command);
	show_line("transport", h.transport);
	show_line("tunnel-command", h.tunnel_command);
	show_line("server-command", h.server_command);
	for (size_t i = 0; i < h.nlocales; i++)
		show_line("locale", h.locales[i]);
	show_line("predict", h.predict);
	show_line("known-hosts", h.known_hosts ? h.known_hosts : "~/.ssh/known_hosts");
	show_line("hostkey-policy", h.hostkey_policy);
	snprintf(buf, sizeof buf, "%llds", (long long)h.idle_timeout);
	show_line("idle-timeout", buf);
	{
		char *sp = profile_get(&h, "server-port", 0),
		     *bs = profile_get(&h, "bind-server", 0);

		show_line("server-port", sp != NULL ? sp : "mosh's default (60001-60999)");
		show_line("bind-server", bs);
		show_line("family", h.family != NULL ? h.family : "all");
		show_line("init", h.no_init ? "no (--no-init)" : "yes");
		free(sp);
		free(bs);
	}
	for (size_t i = 0; i < h.ntags; i++)
		show_line("tag", h.tags[i]);
	show_line("auto-clean", h.auto_clean ? "yes" : "no");
	show_line("pinned", h.pinned ? "yes" : "no");
	format_ago(h.last_used_at, buf, sizeof buf);
	show_line("last used", buf);
	free(proxy);
	free(route);
	db_host_clear(&h);
	return 0;
}

static int
host_rm(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct db *db;

	if (argc != 3 || argv[2][0] == '-')
		return cmd_usage("usage: moshman host rm NAME");
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	switch (db_host_delete(db, argv[2])) {
	case DB_OK:
		if (!ctx->quiet)
			printf("removed %s\n", argv[2]);
		return 0;
	case DB_NOTFOUND:
		return cmd_usage("no host named '%s'", argv[2]);
	default:
		return cmd_fail("%s", db_error(db));
	}
}

static const struct {
	const char *name;
	int (*run)(struct cmd_ctx *, int, char **);
} host_verbs[] = {
	{ "add", host_add },
	{ "list", host_list },
	{ "ls", host_list },
	{ "show", host_show },
	{ "edit", host_edit },
	{ "rm", host_rm },
	{ "remove", host_rm },
	{ "import", cmd_host_import },
	{ "export", cmd_host_export },
};

void
cmd_print_profile_options(FILE *f)
{
	for (const struct profile_option *o = profile_options; o->name != NULL; o++) {
		char left[64];

		snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
		    o->arg ? o->arg : "");
		fprintf(f, "  %-30s %s\n", left, o->help);
	}
}

static void
host_help(FILE *f)
{
	fputs("\nProfile options (add, edit):\n", f);
	cmd_print_profile_options(f);
	fputs("\nEdit replaces a repeatable option's whole list when it is given; an empty\n"
	      "value (--tag '') clears it, and '' or none resets --identity, --jump,\n"
	      "--proxy-command, --known-hosts and --tunnel-command.\n"
	      "\n"
	      "export writes the named profiles (all by default) as JSON, one object per\n"
	      "profile keyed by the option names above (flags as true/false, --tag and\n"
	      "--locale as arrays), for a dotfiles repository or another machine.  Proxy\n"
	      "passwords are left out unless --with-secrets, which makes the file 0600 and\n"
	      "refuses to print on a terminal.  import --json FILE ('-': stdin) checks\n"
	      "every profile as 'host add' does and imports nothing if one is invalid; a\n"
	      "name that exists is kept unless --overwrite replaces it.\n",
	    f);
}

static int
cmd_host_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cmd_usage("usage: moshman host add|list|show|edit|rm|import ...; see "
		                 "'moshman host --help'");
	for (size_t i = 0; i < sizeof host_verbs / sizeof host_verbs[0]; i++) {
		if (strcmp(argv[1], host_verbs[i].name) == 0)
			return host_verbs[i].run(ctx, argc, argv);
	}
	return cmd_usage("unknown 'host' command '%s'; see 'moshman host --help'", argv[1]);
}

const char *const cmd_host_verbs[] = { "add", "list", "show", "edit", "rm", "import", "export",
	NULL };

const struct cmd cmd_host = {
	"host",
	"add NAME --host HOST [options] | list [--json] | show NAME [--json] |\n"
	"       edit NAME [--name NEW] [options] | rm NAME | import [FILE] [--dry-run] "
	"[--overwrite] |\n"
	"       export [NAME...] [--json] [--with-secrets] [--output FILE] |\n"
	"       import --json FILE [--dry-run] [--overwrite]",
	"manage host profiles",
	cmd_host_run,
	host_help,
};
