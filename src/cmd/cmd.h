/* The command table: one file per command (src/cmd_*.c), each exporting one entry. */
#ifndef MOSHMAN_CMD_H
#define MOSHMAN_CMD_H

#include <stdio.h>

#define EXIT_USAGE 2 /* bad arguments or a value that fails validation */
#define EXIT_FAIL 1  /* the world said no: network, remote host, database */

struct db;

struct cmd_ctx {
	const char *db_path; /* --db, or NULL for MOSHMAN_DB / the XDG default */
	int quiet;           /* -q: no progress lines */
	struct db *db;       /* opened on first use by cmd_db() */
};

struct cmd {
	const char *name;
	const char *args;    /* synopsis after the name, for --help */
	const char *summary; /* one line */
	int (*run)(struct cmd_ctx *, int argc, char **argv); /* argv[0] is the name */
	void (*help)(FILE *); /* more for `moshman NAME --help`, or NULL */
};

extern const struct cmd *const cmd_table[];
extern const struct cmd cmd_host, cmd_connect, cmd_sessions, cmd_relay;
extern const struct cmd cmd_scan, cmd_clean, cmd_tunnel, cmd_reconnect;
extern const struct cmd cmd_attach, cmd_events;

const struct cmd *cmd_find(const char *name);
/* Opens the database the context names; prints why and returns NULL on failure. */
struct db *cmd_db(struct cmd_ctx *);
void cmd_ctx_close(struct cmd_ctx *);
/* Print "moshman: <message>" to stderr and return EXIT_USAGE / EXIT_FAIL. */
int cmd_usage(const char *, ...) __attribute__((format(printf, 1, 2)));
int cmd_fail(const char *, ...) __attribute__((format(printf, 1, 2)));
/* `host import`, in its own file (cmd_host_import.c). */
int cmd_host_import(struct cmd_ctx *, int argc, char **argv);
/* Is argv[i] "-h" or "--help"? */
int cmd_wants_help(int argc, char **argv);
void cmd_print_help(const struct cmd *, FILE *);

#endif
