/* SPDX-License-Identifier: MIT */
/* The command table: one file per command (src/cmd_*.c), each exporting one entry. */
#ifndef MOSHMAN_CMD_H
#define MOSHMAN_CMD_H

#include <stdio.h>

#define EXIT_USAGE 2 /* bad arguments or a value that fails validation */
#define EXIT_FAIL 1  /* the world said no: network, remote host, database */

struct db;
struct db_host;

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
extern const struct cmd cmd_scan, cmd_clean, cmd_tunnel, cmd_reconnect, cmd_kill;
/* Not in cmd_table (so not in --help): the shells' completion helper. */
extern const struct cmd cmd_complete;
/* The subcommands of host (add, list, ...), NULL-ended. */
extern const char *const cmd_host_verbs[];
extern const struct cmd cmd_attach, cmd_events;

struct db_session;
/* For commands that take SESSION_ID|HOST_NAME (reconnect, kill): calls one() for the
 * session with that id if wanted() accepts it, else for every wanted session of the host
 * of that name, else for the id's session as it is (one() then says why it cannot be
 * asked).  Returns the exit status. */
int cmd_reconnect_each(struct cmd_ctx *, const char *arg, int (*wanted)(const struct db_session *),
    int (*one)(struct db *, const struct db_session *));

/* The command named, from the table or the hidden ones. */
const struct cmd *cmd_find(const char *name);
/* Opens the database the context names; prints why and returns NULL on failure. */
struct db *cmd_db(struct cmd_ctx *);
void cmd_ctx_close(struct cmd_ctx *);
/* Print "moshman: <message>" to stderr and return EXIT_USAGE / EXIT_FAIL. */
int cmd_usage(const char *, ...) __attribute__((format(printf, 1, 2)));
int cmd_fail(const char *, ...) __attribute__((format(printf, 1, 2)));
/* `host import`, in its own file (cmd_host_import.c); `host export` and `host import
 * --json FILE` (cmd_host_json.c). */
int cmd_host_import(struct cmd_ctx *, int argc, char **argv);
int cmd_host_export(struct cmd_ctx *, int argc, char **argv);
int cmd_host_import_json(struct cmd_ctx *, const char *file, int dry_run, int overwrite);
/* Apply the profile option at argv[*i] ("--NAME VALUE", "--NAME=VALUE" or a flag) to h,
 * validated by profile_set() as `host add` does; *i moves past a separate value.
 * allow_name admits --name; replace_lists makes the first --tag/--locale replace the
 * list (cleared remembers which, start it at 0).  0, CMD_NOT_OPTION (nothing printed)
 * when argv[*i] is not a profile option, or EXIT_USAGE after a message. */
#define CMD_NOT_OPTION (-1)
int cmd_profile_option(struct db_host *h, int argc, char **argv, int *i, int allow_name,
    int replace_lists, unsigned *cleared);
/* connect's command line (argv[0] is "connect"): the target (a profile name, or
 * [USER@]HOST[:PORT] with ~/.ssh/config applied), every profile option for this run,
 * and --save NAME (the profile is stored, h->id set).  own_flags (NULL-ended, or NULL)
 * are flags without a value the caller handles itself; they are skipped.  0 with *h
 * filled (h->id 0: not stored; clear it with db_host_clear), or an exit code after a
 * message.  The database is opened in ctx. */
int cmd_connect_target(struct cmd_ctx *, int argc, char **argv, const char *const *own_flags,
    struct db_host *h);
/* Every profile option with its argument and help line, from the option table. */
void cmd_print_profile_options(FILE *);
/* Is argv[i] "-h" or "--help"? */
int cmd_wants_help(int argc, char **argv);
void cmd_print_help(const struct cmd *, FILE *);

#endif
