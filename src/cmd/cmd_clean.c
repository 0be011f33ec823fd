/* SPDX-License-Identifier: MIT */
/* moshman clean NAME... | --all: kill what a fresh scan shows is truly orphaned. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/cmd/cmd_scan.h"
#include "src/ssh/prompt.h"
#include "src/scan/scan.h"
#include "src/util/xmalloc.h"

#define CLEAN_USAGE \
	"usage: moshman clean NAME... | --all [--dry-run] [--yes] [--detached] " \
	"[--signal term|usr1] [--force] [--pid PID]... [--json] [--timeout SECONDS]"

struct clean {
	int all, json, dry_run, yes, detached, usr1, force;
	long *pids;
	size_t npids;
	struct scan_opts o;

	/* The run: the hosts scanned, per host the targets marked and their count. */
	struct scan_host *hosts;
	size_t n;
	int **sel;
	size_t *ntargets;
	size_t total; /* targets on all hosts */
	int refused;  /* pids named with --pid that are not targets now */
	int bad;      /* hosts not scanned fully */
};

static int
clean_named(const struct clean *c, long pid)
{
	if (c->npids == 0)
		return 1;
	for (size_t i = 0; i < c->npids; i++) {
		if (c->pids[i] == pid)
			return 1;
	}
	return 0;
}

/* Marks the targets of host h in sel; returns how many.  *refused counts pids named with
 * --pid that the fresh scan shows are not targets (they are left alone). */
static size_t
clean_select(const struct clean *c, const struct scan_host *h, int *sel, int *refused)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nv; i++) {
		int named = clean_named(c, h->v[i].pid);

		sel[i] = named && scan_is_target(h, i, c->detached);
		n += sel[i];
		if (c->npids > 0 && named && !sel[i]) {
			(*refused)++;
			if (!c->json)
				printf("%s: pid %ld is %s now, not killed: %s\n", h->host.name,
				    h->v[i].pid, scanclass_name(h->v[i].class),
				    h->v[i].why != NULL ? h->v[i].why : "");
		}
	}
	for (size_t p = 0; p < c->npids && !c->json; p++) {
		if (scanparse_find(&h->r, c->pids[p]) == NULL && strcmp(h->status, "ok") == 0)
			printf("%s: pid %ld is no mosh-server of %s now (gone already)\n",
			    h->host.name, c->pids[p],
			    h->host.user != NULL ? h->host.user : "the login user");
	}
	return n;
}

static void
clean_list(const struct scan_host *h, const int *sel, const char *verb)
{
	for (size_t i = 0; i < h->nv; i++) {
		const struct scan_server *s = &h->r.servers[i];

		if (!sel[i])
			continue;
		printf("%s: %s pid %ld", h->host.name, verb, h->v[i].pid);
		if (s->nports > 0)
			printf(" port %d", s->ports[0]);
		printf(" (%s): %s\n", scanclass_name(h->v[i].class),
		    h->v[i].why != NULL ? h->v[i].why : "");
	}
}

/* One line per host after the kill; returns how many targets are still there. */
static int
clean_report(const struct scan_host *h, const int *sel, size_t ntargets, int print, char *line,
    size_t len)
{
	int gone = 0, left = 0;
	char pids[256] = "";

	for (size_t i = 0; i < h->nv; i++) {
		const struct scan_kill_report *rep;

		if (!sel[i])
			continue;
		rep = scan_kill_report_for(h, h->v[i].pid);
		if (rep != NULL && scanparse_kill_gone(rep->status)) {
			size_t u = strlen(pids);

			gone++;
			snprintf(pids + u, sizeof pids - u, "%s%ld", gone > 1 ? " " : "",
			    h->v[i].pid);
		} else
			left++;
		if (print)
			printf("%s: pid %ld: %s%s%s\n", h->host.name, h->v[i].pid,
			    rep != NULL ? scanparse_kill_status_name(rep->status) : "no report",
			    rep != NULL && rep->signals[0] != '\0' ? " after SIG" : "",
			    rep != NULL ? rep->signals : "");
	}
	if (h->kill_error != NULL)
		snprintf(line, len, "%s: %d of %zu mosh-servers killed (%s); %s", h->host.name,
		    gone, ntargets, gone > 0 ? pids : "none", h->kill_error);
	else
		snprintf(line, len, "%s: %d of %zu mosh-server%s killed%s%s%s", h->host.name, gone,
		    ntargets, ntargets == 1 ? "" : "s", gone > 0 ? " (pid " : "",
		    gone > 0 ? pids : "", gone > 0 ? ")" : "");
	return left;
}

/* The JSON of one host after the clean, appended to *array: the scan object, then what
 * happened to each target.  All of it is made by SQLite. */
static void
clean_json_host(struct db *db, const struct scan_host *h, const int *sel, char **array)
{
	char *js = NULL, *targets = NULL, *obj = NULL, *t;

	if (db_scan_json(db, h->host.id, &js) != DB_OK)
		js = NULL;
	for (size_t i = 0; i < h->nv; i++) {
		const struct scan_kill_report *rep;

		if (!sel[i])
			continue;
		rep = scan_kill_report_for(h, h->v[i].pid);
		t = NULL;
		if (db_json_kill_target(db, h->v[i].pid, scanclass_name(h->v[i].class),
		        h->v[i].session_id,
		        rep != NULL ? scanparse_kill_status_name(rep->status)
		            : h->kill_ran || h->kill_error != NULL ? "no-report"
		                                                   : "not-run",
		        rep != NULL ? rep->signals : "",
		        rep != NULL && scanparse_kill_gone(rep->status), &t) == DB_OK)
			db_json_append(db, &targets, t);
		db_free(t);
	}
	if (db_json_clean_host(db, js, h->kill_ran, targets, &obj) == DB_OK)
		db_json_append(db, array, obj);
	else
		fprintf(stderr, "moshman: %s: %s\n", h->host.name, db_error(db));
	db_free(obj);
	db_free(targets);
	db_free(js);
}

/* Print the hosts' JSON array. */
static void
clean_json(struct db *db, const struct scan_host *hosts, size_t n, int **sel)
{
	char *array = NULL;

	for (size_t i = 0; i < n; i++)
		clean_json_host(db, &hosts[i], sel[i], &array);
	printf("%s\n", array != NULL ? array : "[]");
	db_free(array);
}

static int
clean_parse(struct clean *c, int argc, char **argv)
{
	/* The switches set their field themselves (getopt_long then returns 0). */
	const struct option longopts[] = {
		{ "all", no_argument, &c->all, 1 },
		{ "json", no_argument, &c->json, 1 },
		{ "dry-run", no_argument, &c->dry_run, 1 },
		{ "yes", no_argument, &c->yes, 1 },
		{ "detached", no_argument, &c->detached, 1 },
		{ "signal", required_argument, NULL, 's' },
		{ "force", no_argument, &c->force, 1 },
		{ "pid", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 0:
			break;
		case 's':
			if (strcmp(optarg, "term") == 0 || strcmp(optarg, "TERM") == 0)
				c->usr1 = 0;
			else if (strcmp(optarg, "usr1") == 0 || strcmp(optarg, "USR1") == 0)
				c->usr1 = 1;
			else
				return cmd_usage("--signal is term or usr1, not '%s'", optarg);
			break;
		case 'p':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 2 || v > 0x7fffffffL)
				return cmd_usage("--pid wants a process id, not '%s'", optarg);
			c->pids = xreallocarray(c->pids, c->npids + 1, sizeof *c->pids);
			c->pids[c->npids++] = v;
			break;
		case 't':
			if (cmd_scan_timeout(optarg, &c->o.timeout_s) == -1)
				return cmd_usage("--timeout wants whole seconds, 1 to 3600");
			break;
		default:
			return cmd_usage(CLEAN_USAGE);
		}
	}
	if (c->all == (optind < argc))
		return cmd_usage(CLEAN_USAGE);
	if (c->npids > 0 && (c->all || argc - optind != 1))
		return cmd_usage("--pid needs exactly one host NAME");
	return 0;
}

/* Refuse before any connection: nobody could be asked. */
static int
clean_may_ask(const struct clean *c)
{
	if (c->yes || c->dry_run || isatty(STDIN_FILENO))
		return 0;
	return cmd_usage("refusing to kill without asking, and there is no terminal to ask "
	                 "on: add --yes (or --dry-run to see the targets)");
}

/* Marks the targets on every host scanned; a host that could not be scanned says so. */
static void
clean_select_all(struct clean *c)
{
	char line[512];

	c->sel = xcalloc(c->n + 1, sizeof *c->sel);
	c->ntargets = xcalloc(c->n + 1, sizeof *c->ntargets);
	for (size_t i = 0; i < c->n; i++) {
		const struct scan_host *h = &c->hosts[i];

		c->sel[i] = xcalloc(h->nv + 1, sizeof *c->sel[i]);
		if (strcmp(h->status, "unreachable") == 0 || strcmp(h->status, "error") == 0) {
			c->bad++;
			if (!c->json) {
				scan_summary(h, line, sizeof line);
				printf("%s\n", line);
			}
			continue;
		}
		if (strcmp(h->status, "ok") != 0)
			c->bad++;
		c->ntargets[i] = clean_select(c, h, c->sel[i], &c->refused);
		c->total += c->ntargets[i];
	}
}

/* Nothing to kill, or a dry run: the targets and a summary line. */
static void
clean_print_no_kill(const struct clean *c)
{
	char line[512];

	for (size_t i = 0; i < c->n; i++) {
		if (c->dry_run)
			clean_list(&c->hosts[i], c->sel[i], "would kill");
		scan_summary(&c->hosts[i], line, sizeof line);
		if (c->n > 1 && c->ntargets[i] == 0 && c->dry_run)
			printf("%s; nothing to kill\n", line);
	}
	if (c->n == 1 && c->total == 0) {
		scan_summary(&c->hosts[0], line, sizeof line);
		printf("%s; nothing to kill\n", line);
	} else if (c->n == 1)
		printf("%s: dry run: %zu of %zu mosh-servers would be killed, nothing was\n",
		    c->hosts[0].host.name, c->total, c->hosts[0].nv);
	else if (c->dry_run)
		printf("dry run: %zu mosh-server%s would be killed, nothing was\n", c->total,
		    c->total == 1 ? "" : "s");
	else if (c->bad > 0)
		printf("%zu hosts: nothing to kill; %d host%s not scanned fully\n", c->n, c->bad,
		    c->bad == 1 ? "" : "s");
	else
		printf("%zu hosts: nothing to kill\n", c->n);
}

/* Lists the targets and asks; 1 when the user said yes. */
static int
clean_confirm(const struct clean *c)
{
	char q[128];

	for (size_t i = 0; i < c->n; i++)
		clean_list(&c->hosts[i], c->sel[i], "target");
	snprintf(q, sizeof q, "Kill %zu mosh-server%s with SIG%s? ", c->total,
	    c->total == 1 ? "" : "s", c->usr1 ? "USR1" : "TERM");
	return prompt_yesno(q) == 1;
}

/* What the kill did, per host and in sum; returns how many targets are still there. */
static int
clean_print_killed(const struct clean *c, struct db *db)
{
	char line[512];
	int left = 0, hosts_with = 0;

	if (c->json) {
		clean_json(db, c->hosts, c->n, c->sel);
		for (size_t i = 0; i < c->n; i++)
			left += clean_report(&c->hosts[i], c->sel[i], c->ntargets[i], 0, line,
			    sizeof line);
		return left;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->ntargets[i] == 0)
			continue;
		hosts_with++;
		left += clean_report(&c->hosts[i], c->sel[i], c->ntargets[i], 1, line, sizeof line);
		printf("%s\n", line);
	}
	/* The last line is the summary the dashboard shows. */
	if (hosts_with > 1 || c->n > 1)
		printf("%zu hosts: %zu targeted, %d still running%s\n", c->n, c->total, left,
		    c->bad ? ", some hosts not scanned fully" : "");
	return left;
}

static void
clean_free(struct clean *c)
{
	if (c->sel != NULL) {
		for (size_t i = 0; i < c->n; i++)
			free(c->sel[i]);
		free(c->sel);
	}
	free(c->ntargets);
	free(c->pids);
	scan_hosts_free(c->hosts, c->n);
}

static int
cmd_clean_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct clean c;
	struct db *db;
	int rc, left;

	memset(&c, 0, sizeof c);
	scan_opts_default(&c.o);
	if ((rc = clean_parse(&c, argc, argv)) != 0 || (rc = clean_may_ask(&c)) != 0)
		goto out;
	rc = EXIT_FAIL;
	if ((db = cmd_db(ctx)) == NULL)
		goto out;
	if (scan_hosts_load(db, (const char *const *)(argv + optind), argc - optind, c.all,
	        &c.hosts, &c.n) == -1)
		goto out;
	c.o.interactive = c.n == 1 && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	scan_collect(db, c.hosts, c.n, &c.o);
	clean_select_all(&c);
	if (c.total == 0 || c.dry_run) {
		if (c.json)
			clean_json(db, c.hosts, c.n, c.sel);
		else
			clean_print_no_kill(&c);
		rc = c.bad > 0 || c.refused > 0 ? EXIT_FAIL : 0;
		goto out;
	}
	if (!c.yes && !clean_confirm(&c)) {
		printf("nothing killed\n");
		rc = 0;
		goto out;
	}
	scan_kill(db, c.hosts, c.n, c.sel, c.usr1, c.force, &c.o);
	left = clean_print_killed(&c, db);
	rc = left > 0 || c.refused > 0 || c.bad > 0 ? EXIT_FAIL : 0;
out:
	clean_free(&c);
	return rc;
}

static void
cmd_clean_help(FILE *f)
{
	fputs("\nScans the hosts again, then kills the mosh-servers that are targets:\n"
	      "ours-orphaned ones (moshman started them and their supervisor or client is\n"
	      "gone), and with --detached also detached ones that moshman did not start.\n"
	      "Attached, live and starting servers are never killed, even when named.  On the\n"
	      "host one script checks each pid again (still a mosh-server of the user with the\n"
	      "same start time), signals it, waits up to 10 s and reports.\n"
	      "\n"
	      "  --dry-run        list the targets, kill nothing\n"
	      "  --yes            do not ask (needed without a terminal)\n"
	      "  --detached       also detached servers that are not ours\n"
	      "  --signal S       term (default) or usr1 (ends only servers idle past their\n"
	      "                   MOSH_SERVER_SIGNAL_TMOUT)\n"
	      "  --force          SIGKILL what is still there after the wait\n"
	      "  --pid PID        only this server (repeatable; one host NAME)\n"
	      "  --json           each host's scan after the clean and what happened to each\n"
	      "                   target\n"
	      "  --timeout S      per host for the scan, default 20\n"
	      "\n"
	      "Exit status: 0 when everything targeted is gone, 1 otherwise, 2 for bad usage\n"
	      "or when it would have to ask and cannot.\n",
	    f);
}

const struct cmd cmd_clean = {
	"clean",
	"NAME... | --all [--dry-run] [--yes] [--detached] [--signal term|usr1] [--force] "
	"[--pid PID]... [--json]",
	"kill orphaned mosh-servers on hosts, safely",
	cmd_clean_run,
	cmd_clean_help,
};
