/* SPDX-License-Identifier: MIT */
/* moshman host import [FILE] [--dry-run] [--overwrite]: profiles from an OpenSSH client
 * config, with the values ssh itself would use for each concrete Host alias; with --json,
 * a file written by `host export` (cmd_host_json.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/util/paths.h"
#include "src/ssh/profile.h"
#include "src/ssh/sshconfig.h"
#include "src/util/xmalloc.h"

struct import_counts {
	int added, updated, unchanged, skipped, failed;
};

static const char *
level_name(enum sshconfig_level l)
{
	switch (l) {
	case SSHCONFIG_ERROR:
		return "error";
	case SSHCONFIG_WARNING:
		return "warning";
	default:
		return "note";
	}
}

/* Set one imported value; a value our stricter rules refuse is reported, not saved. */
static int
import_set(struct db_host *h, const char *alias, const char *opt, const char *value)
{
	char *err = NULL;

	if (value == NULL)
		return 0;
	if (profile_set(h, opt, value, &err) == 0)
		return 0;
	fprintf(stderr, "moshman: import %s: %s: %s\n", alias, opt, err);
	free(err);
	return -1;
}

/* Fill h from one alias; -1 when the alias cannot become a valid profile. */
static int
import_fill(struct db_host *h, const struct sshconfig_host *sh)
{
	char port[16], *err = NULL;
	int rc = 0;

	if (import_set(h, sh->name, "host", sh->hostname) == -1)
		rc = -1;
	if (sh->user != NULL && import_set(h, sh->name, "user", sh->user) == -1)
		rc = -1;
	if (sh->port > 0) {
		snprintf(port, sizeof port, "%d", sh->port);
		if (import_set(h, sh->name, "port", port) == -1)
			rc = -1;
	}
	/* A key file that does not exist here is left out, as ssh skips it too. */
	if (sh->identity != NULL) {
		if (access(sh->identity, F_OK) == -1)
			fprintf(stderr,
			    "moshman: import %s: identity %s does not exist here; "
			    "left out\n",
			    sh->name, sh->identity);
		else if (import_set(h, sh->name, "identity", sh->identity) == -1)
			rc = -1;
	}
	if (sh->proxy_jump != NULL && import_set(h, sh->name, "jump", sh->proxy_jump) == -1)
		rc = -1;
	if (sh->proxy_command != NULL &&
	    import_set(h, sh->name, "proxy-command", sh->proxy_command) == -1)
		rc = -1;
	if (rc == 0 && profile_check(h, &err) == -1) {
		fprintf(stderr, "moshman: import %s: %s\n", sh->name, err);
		free(err);
		rc = -1;
	}
	return rc;
}

/* Same imported fields?  (Only what an import sets: tags and other settings stay.) */
static int
same_import(const struct db_host *a, const struct db_host *b)
{
#define SAME(f) \
	((a->f == NULL && b->f == NULL) || \
	    (a->f != NULL && b->f != NULL && strcmp(a->f, b->f) == 0))
	return SAME(hostname) && SAME(user) && a->port == b->port && SAME(identity) && SAME(jump) &&
	    SAME(proxy_command);
#undef SAME
}

static void
import_one(struct db *db, const struct sshconfig_host *sh, int dry_run, int overwrite,
    struct import_counts *c)
{
	struct db_host h, old;
	char *err = NULL;
	int exists, rc;

	if (profile_check_name(sh->name, &err) == -1) {
		printf("skipped %s (%s:%u): not usable as a profile name: %s\n", sh->name, sh->file,
		    sh->line, err);
		free(err);
		c->skipped++;
		return;
	}
	for (size_t i = 0; i < sh->nnotes; i++)
		fprintf(stderr, "moshman: import %s: %s\n", sh->name, sh->notes[i]);
	/* ssh itself refuses a config with errors in this host's blocks: importing what is
	 * left would save values the author did not mean. */
	if (sh->errors > 0) {
		printf(
		    "skipped %s (%s:%u): ssh would reject its configuration (%u error%s above)\n",
		    sh->name, sh->file, sh->line, sh->errors, sh->errors == 1 ? "" : "s");
		c->failed++;
		return;
	}
	exists = db_host_get(db, sh->name, &old) == DB_OK;
	if (exists && !overwrite) {
		printf("kept %s: a profile of that name exists (use --overwrite)\n", sh->name);
		db_host_clear(&old);
		c->skipped++;
		return;
	}
	if (exists) {
		/* Start from the stored profile so tags, transport and the rest stay. */
		h = old;
		memset(&old, 0, sizeof old);
		db_free(h.identity);
		db_free(h.jump);
		db_free(h.proxy_command);
		h.identity = h.jump = h.proxy_command = NULL;
		h.port = 22;
		db_host_get(db, sh->name, &old);
	} else
		profile_defaults(&h, sh->name);
	if (import_fill(&h, sh) == -1) {
		printf("skipped %s (%s:%u): see the messages above\n", sh->name, sh->file,
		    sh->line);
		c->failed++;
		goto out;
	}
	if (exists && same_import(&h, &old)) {
		printf("unchanged %s\n", sh->name);
		c->unchanged++;
		goto out;
	}
	if (dry_run) {
		printf("would %s %s (%s@%s:%d)\n", exists ? "update" : "add", h.name, h.user,
		    h.hostname, h.port);
		if (exists)
			c->updated++;
		else
			c->added++;
		goto out;
	}
	rc = exists ? db_host_update(db, &h) : db_host_insert(db, &h);
	if (rc != DB_OK) {
		fprintf(stderr, "moshman: import %s: %s\n", sh->name, db_error(db));
		c->failed++;
		goto out;
	}
	printf("%s %s (%s@%s:%d)\n", exists ? "updated" : "added", h.name, h.user, h.hostname,
	    h.port);
	if (exists)
		c->updated++;
	else
		c->added++;
out:
	if (exists)
		db_host_clear(&old);
	db_host_clear(&h);
}

int
cmd_host_import(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct sshconfig_host *hosts;
	const struct sshconfig_skip *skips;
	const struct sshconfig_msg *msgs;
	struct import_counts c = { 0, 0, 0, 0, 0 };
	struct sshconfig *cfg = NULL;
	const char *file = NULL;
	char *path = NULL;
	size_t nhosts, nskips, nmsgs;
	int dry_run = 0, overwrite = 0, loaded, rc = 0;
	struct db *db = NULL;

	int json = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else if (strcmp(argv[i], "--overwrite") == 0)
			overwrite = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if ((argv[i][0] == '-' && strcmp(argv[i], "-") != 0) || file != NULL)
			return cmd_usage("usage: moshman host import [FILE] [--dry-run] "
			                 "[--overwrite] | --json FILE [--dry-run] [--overwrite]");
		else
			file = argv[i];
	}
	if (json && file == NULL)
		return cmd_usage("--json needs the file to import ('-' for stdin)");
	if (json)
		return cmd_host_import_json(ctx, file, dry_run, overwrite);
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	path = file ? paths_expand_tilde(file) : NULL;
	cfg = sshconfig_new();
	loaded = sshconfig_load_file(cfg, path, paths_home());
	sshconfig_messages(cfg, &msgs, &nmsgs);
	for (size_t i = 0; i < nmsgs; i++) {
		if (msgs[i].line > 0)
			fprintf(stderr, "moshman: %s:%u: %s: %s\n", msgs[i].file, msgs[i].line,
			    level_name(msgs[i].level), msgs[i].text);
		else
			fprintf(stderr, "moshman: %s: %s: %s\n", msgs[i].file,
			    level_name(msgs[i].level), msgs[i].text);
	}
	sshconfig_hosts(cfg, &hosts, &nhosts);
	if (loaded == -1 && nhosts == 0) {
		rc = cmd_fail("nothing imported from %s", path ? path : "~/.ssh/config");
		goto out;
	}
	for (size_t i = 0; i < nhosts; i++)
		import_one(db, &hosts[i], dry_run, overwrite, &c);
	sshconfig_skipped(cfg, &skips, &nskips);
	for (size_t i = 0; i < nskips; i++) {
		printf("skipped %s (%s:%u): %s\n", skips[i].name, skips[i].file, skips[i].line,
		    skips[i].reason);
		c.skipped++;
	}
	printf("%s%d added, %d updated, %d unchanged, %d skipped, %d failed\n",
	    dry_run ? "dry run: " : "", c.added, c.updated, c.unchanged, c.skipped, c.failed);
	if (c.failed > 0)
		rc = EXIT_FAIL;
out:
	sshconfig_free(cfg);
	free(path);
	return rc;
}
