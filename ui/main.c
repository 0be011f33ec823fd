/* SPDX-License-Identifier: MIT */
/* moshman's entry point: global options, then the dashboard or one command. */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/util/log.h"
#include "src/util/xmalloc.h"
#include "ui/dash.h"

static void
usage(FILE *f)
{
	fputs(
	    "usage: moshman [--db PATH] [-q] [--no-unicode] [--tmux-windows] [COMMAND [ARGS...]]\n"
	    "       moshman [-q] USER@HOST[:PORT] | @HOST [connect options]  (= moshman connect ...)\n"
	    "\n"
	    "mosh sessions that survive networks where UDP cannot pass: host profiles,\n"
	    "ssh bootstrap through proxies, mosh's UDP carried over TCP when needed,\n"
	    "automatic reconnect, and cleanup of orphaned mosh-servers.\n"
	    "\n"
	    "With no command, opens the dashboard.\n"
	    "\n"
	    "Options:\n"
	    "  --db PATH       database file (default $MOSHMAN_DB, else\n"
	    "                  $XDG_DATA_HOME/moshman/moshman.db)\n"
	    "  -q, --quiet     no progress lines\n"
	    "  --no-unicode    ASCII only in the dashboard\n"
	    "  --tmux-windows  inside tmux, Enter opens sessions in new windows\n"
	    "  -h, --help      this help; `moshman COMMAND --help` for a command\n"
	    "  -V, --version   print the version\n"
	    "\n"
	    "Commands:\n",
	    f);
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", cmd_table[i]->name, cmd_table[i]->summary);
	fputs("\nSee moshman(1) for details.  Exit status: 0 ok, 1 failure, 2 usage.\n", f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-unicode", no_argument, NULL, 'U' },
		{ "tmux-windows", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_ctx ctx = { 0 };
	struct dash_opts dopts = { 0, 0 };
	struct db *db;
	const struct cmd *c;
	char **av = NULL; /* argv with "connect" in front, for `moshman USER@HOST` */
	int ch, rc;

	setlocale(LC_ALL, "");
	log_open(getenv("MOSHMAN_LOG"));
	/* '+': stop at the first non-option, which is the command. */
	while ((ch = getopt_long(argc, argv, "+qhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			ctx.db_path = optarg;
			break;
		case 'q':
			ctx.quiet = 1;
			break;
		case 'U':
			dopts.no_unicode = 1;
			break;
		case 'T':
			dopts.tmux_windows = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("moshman %s\n", MOSHMAN_VERSION);
			return 0;
		default:
			fputs("moshman: see 'moshman --help'\n", stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		if ((db = cmd_db(&ctx)) == NULL)
			return EXIT_FAIL;
		rc = dash_run(db, db_path(db), &dopts);
		cmd_ctx_close(&ctx);
		log_close();
		return rc;
	}
	if ((c = cmd_find(argv[0])) == NULL && strchr(argv[0], '@') != NULL) {
		/* `moshman USER@HOST ...` as mosh is used: no command has an '@'. */
		av = xcalloc((size_t)argc + 2, sizeof *av);
		av[0] = (char *)"connect";
		memcpy(av + 1, argv, (size_t)argc * sizeof *av);
		argv = av;
		argc++;
		c = &cmd_connect;
	}
	if (c == NULL) {
		fprintf(stderr, "moshman: unknown command '%s'; see 'moshman --help'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (cmd_wants_help(argc, argv)) {
		cmd_print_help(c, stdout);
		free(av);
		return 0;
	}
	optind = 1;
	rc = c->run(&ctx, argc, argv);
	cmd_ctx_close(&ctx);
	log_close();
	free(av);
	return rc;
}
