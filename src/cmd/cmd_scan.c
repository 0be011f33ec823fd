/* SPDX-License-Identifier: MIT */
/* moshman scan NAME... | --all: every mosh-server of the login user on those hosts,
 * classified, saved as each host's last scan. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/cmd/cmd_scan.h"
#include "src/scan/scan.h"
#include "src/util/xmalloc.h"

#define SCAN_USAGE "usage: moshman scan NAME... | --all [--json] [--timeout SECONDS]"

int
cmd_scan_timeout(const char *s, int *out)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 3600)
		return -1;
	*out = (int)v;
	return 0;
}

static void
cmd_scan_print_json(struct db *db, const struct scan_host *h, size_t n)
{
	char *array = NULL;

	/* Every object and the array around them are made by SQLite. */
	for (size_t i = 0; i < n; i++) {
		char *js = NULL;

		if (db_scan_json(db, h[i].host.id, &js) != DB_OK) {
			fprintf(stderr, "moshman: %s: %s\n", h[i].host.name, db_error(db));
			continue;
		}
		if (db_json_append(db, &array, js) != DB_OK)
			fprintf(stderr, "moshman: %s\n", db_error(db));
		db_free(js);
	}
	printf("%s\n", array != NULL ? array : "[]");
	db_free(array);
}

static void
cmd_scan_print_table(const struct scan_host *h)
{
	if (h->nv == 0)
		return;
	printf("  %-7s %-5s %-7s %-13s %-6s %s\n", "PID", "PORT", "AGE", "CLASS", "TARGET", "WHY");
	for (size_t i = 0; i < h->nv; i++) {
		const struct scan_server *s = &h->r.servers[i];
		const struct scan_verdict *v = &h->v[i];
		char port[16], age[24];

		if (s->nports > 0)
			snprintf(port, sizeof port, "%d", s->ports[0]);
		else
			snprintf(port, sizeof port, "-");
		if (v->age < 0)
			snprintf(age, sizeof age, "-");
		else if (v->age < 3600)
			snprintf(age, sizeof age, "%ldm%02lds", v->age / 60, v->age % 60);
		else
			snprintf(age, sizeof age, "%ldh%02ldm", v->age / 3600, v->age / 60 % 60);
		printf("  %-7ld %-5s %-7s %-13s %-6s %s\n", v->pid, port, age,
		    scanclass_name(v->class),
		    v->kill_default        ? "yes"
		        : v->kill_detached ? "--det"
		                           : "no",
		    v->why != NULL ? v->why : "");
	}
}

static int
cmd_scan_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct scan_opts o;
	struct scan_host *hosts = NULL;
	struct db *db;
	size_t n = 0;
	int ch, all = 0, json = 0, bad;
	char line[512];

	scan_opts_default(&o);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (cmd_scan_timeout(optarg, &o.timeout_s) == -1)
				return cmd_usage("--timeout wants whole seconds, 1 to 3600");
			break;
		default:
			return cmd_usage(SCAN_USAGE);
		}
	}
	if (all == (optind < argc))
		return cmd_usage(SCAN_USAGE);
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	if (scan_hosts_load(db, (const char *const *)(argv + optind), argc - optind, all, &hosts,
	        &n) == -1)
		return EXIT_FAIL;
	if (n == 0) {
		printf("no host profiles to scan\n");
		return 0;
	}
	/* Prompts only for one host on a terminal: parallel prompts would interleave. */
	o.interactive = n == 1 && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	bad = scan_collect(db, hosts, n, &o);
	if (json)
		cmd_scan_print_json(db, hosts, n);
	else {
		int nservers = 0, nbad = 0;

		for (size_t i = 0; i < n; i++) {
			scan_summary(&hosts[i], line, sizeof line);
			if (n > 1)
				printf("%s\n", line);
			cmd_scan_print_table(&hosts[i]);
			nservers += (int)hosts[i].nv;
			nbad += strcmp(hosts[i].status, "ok") != 0;
		}
		/* The last line is the summary the dashboard shows. */
		if (n == 1)
			printf("%s\n", line);
		else if (nbad > 0)
			printf("%zu hosts: %d mosh-servers; %d host%s not scanned fully\n", n,
			    nservers, nbad, nbad == 1 ? "" : "s");
		else
			printf("%zu hosts: %d mosh-servers\n", n, nservers);
	}
	scan_hosts_free(hosts, n);
	return bad > 0 ? EXIT_FAIL : 0;
}

static void
cmd_scan_help(FILE *f)
{
	fputs("\nRuns one script over ssh on each host (in parallel, at most 8 at a time) that\n"
	      "lists the login user's mosh-servers, their UDP ports and utmp marks, then sorts\n"
	      "each server: ours-live, ours-orphaned, detached, attached, starting (or\n"
	      "unknown), and saves the result as the host's last scan.\n"
	      "\n"
	      "  --all            every host profile\n"
	      "  --json           the saved scans as a JSON array, one object per host\n"
	      "  --timeout S      per host, default 20\n"
	      "\n"
	      "Nothing is asked: the agent and unencrypted keys are tried and only known host\n"
	      "keys are accepted, unless one host is scanned on a terminal.\n"
	      "Exit status: 0 when every host was scanned fully, 1 otherwise, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_scan = {
	"scan",
	"NAME... | --all [--json] [--timeout SECONDS]",
	"list and classify the mosh-servers on hosts",
	cmd_scan_run,
	cmd_scan_help,
};
