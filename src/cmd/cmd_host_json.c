/* SPDX-License-Identifier: MIT */
/* moshman host export [NAME...] [--json] [--with-secrets] [--output FILE] and
 * moshman host import --json FILE [--overwrite] [--dry-run]: profiles as a JSON file
 * that can live in a dotfiles repository and move to another machine.
 *
 * The keys are the profile options themselves (src/ssh/profile.c's table), so the file
 * cannot drift from `host add`: export writes each option's value through profile_get,
 * import sets it through profile_set, the same validation as the command line.  Flags
 * are booleans (auto-clean, init), repeatable options arrays of strings; name, pinned,
 * created_at and last_used_at complete a profile.  JSON is written and read by SQLite
 * (db/db_json.c).  Proxy passwords only with --with-secrets, and the file is then 0600. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/ssh/profile.h"
#include "src/util/paths.h"
#include "src/util/xmalloc.h"

#define EXPORT_VERSION 1
#define IMPORT_MAX_BYTES (16 * 1024 * 1024)
#define IMPORT_MAX_PROFILES 100000

/* ---- export ------------------------------------------------------------------------ */

static int
set_json(struct db *db, char **obj, const char *key, const char *json)
{
	return db_json_set(db, obj, key, json) == DB_OK ? 0 : -1;
}

static int
set_text(struct db *db, char **obj, const char *key, const char *text)
{
	char *q = NULL;
	int rc;

	if (text == NULL)
		return set_json(db, obj, key, "null");
	if (db_json_quote(db, text, &q) != DB_OK)
		return -1;
	rc = set_json(db, obj, key, q);
	if (q != NULL)
		explicit_bzero(q, strlen(q));
	db_free(q);
	return rc;
}

static int
set_int(struct db *db, char **obj, const char *key, long long v)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", v);
	return set_json(db, obj, key, num);
}

static int
all_digits(const char *s)
{
	if (*s == '\0' || strlen(s) > 15)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

/* One profile as a JSON object, keyed by option names. */
static int
export_one(struct db *db, const struct db_host *h, int secrets, char **out)
{
	char *obj = NULL, *arr = NULL, *q = NULL;
	int rc = -1;

	*out = NULL;
	if (set_text(db, &obj, "name", h->name) == -1)
		goto out;
	for (const struct profile_option *o = profile_options; o->name != NULL; o++) {
		char *const *v;
		size_t n;
		int flag;

		if (o->arg == NULL) {
			if ((flag = profile_get_flag(h, o->name)) == -1)
				continue; /* the "no-" form of a flag written once */
			if (set_json(db, &obj, o->name, flag ? "true" : "false") == -1)
				goto out;
		} else if (o->repeatable) {
			if (profile_get_list(h, o->name, &v, &n) == -1)
				fatalx("export: no list for --%s", o->name);
			db_free(arr);
			arr = db_strdup("[]");
			for (size_t i = 0; i < n; i++) {
				if (db_json_quote(db, v[i], &q) != DB_OK ||
				    db_json_append(db, &arr, q) != DB_OK)
					goto out;
				db_free(q);
				q = NULL;
			}
			if (set_json(db, &obj, o->name, arr) == -1)
				goto out;
		} else {
			char *val = profile_get(h, o->name, secrets);
			int r;

			if (val != NULL && all_digits(val))
				r = set_json(db, &obj, o->name, val);
			else
				r = set_text(db, &obj, o->name, val);
			xfree_secret(val);
			if (r == -1)
				goto out;
		}
	}
	if (set_json(db, &obj, "pinned", h->pinned ? "true" : "false") == -1 ||
	    set_int(db, &obj, "created_at", (long long)h->created_at) == -1 ||
	    set_int(db, &obj, "last_used_at", (long long)h->last_used_at) == -1)
		goto out;
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	if (obj != NULL)
		explicit_bzero(obj, strlen(obj));
	db_free(obj);
	db_free(arr);
	db_free(q);
	return rc;
}

/* The profiles named (all when none), in `host list` order for all. */
static int
export_collect(struct db *db, char **names, int nnames, struct db_host **v, size_t *n)
{
	*v = NULL;
	*n = 0;
	if (nnames == 0)
		return db_host_list(db, v, n) == DB_OK ? 0 : cmd_fail("%s", db_error(db));
	*v = xcalloc((size_t)nnames, sizeof **v);
	for (int i = 0; i < nnames; i++) {
		int rc = db_host_get(db, names[i], &(*v)[i]);

		if (rc != DB_OK) {
			for (int j = 0; j < i; j++)
				db_host_clear(&(*v)[j]);
			free(*v);
			*v = NULL;
			if (rc == DB_NOTFOUND)
				return cmd_usage("no host named '%s'; see 'moshman host list'",
				    names[i]);
			return cmd_fail("%s", db_error(db));
		}
	}
	*n = (size_t)nnames;
	return 0;
}

/* Where the export goes: FILE (created 0600, or made 0600 with secrets) or stdout.  A
 * file given with secrets never stays readable by others, and secrets are not printed
 * on a terminal.  0, or an exit code after a message. */
static int
export_open(const char *file, int secrets, FILE **out)
{
	struct stat st;
	int fd;

	*out = NULL;
	if (file == NULL) {
		if (secrets && isatty(STDOUT_FILENO))
			return cmd_usage("--with-secrets does not print passwords on a terminal; "
			                 "use --output FILE or redirect to a file");
		/* A file we were redirected to gets the mode a secret needs. */
		if (secrets && fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
		    fchmod(STDOUT_FILENO, 0600) == -1)
			return cmd_fail("cannot make the output file 0600: %s", strerror(errno));
		*out = stdout;
		return 0;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return cmd_fail("cannot write %s: %s", file, strerror(errno));
	if (secrets && fchmod(fd, 0600) == -1) {
		close(fd);
		return cmd_fail("cannot make %s 0600: %s", file, strerror(errno));
	}
	if ((*out = fdopen(fd, "w")) == NULL) {
		close(fd);
		return cmd_fail("cannot write %s: %s", file, strerror(errno));
	}
	return 0;
}

int
cmd_host_export(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct db_host *v = NULL;
	struct db *db;
	const char *file = NULL;
	char **names = xcalloc((size_t)argc, sizeof *names), *obj = NULL;
	size_t n = 0;
	int nnames = 0, secrets = 0, rc;
	FILE *f = NULL;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue; /* the one format */
		else if (strcmp(argv[i], "--with-secrets") == 0)
			secrets = 1;
		else if (strcmp(argv[i], "--output") == 0 || strcmp(argv[i], "-o") == 0) {
			if (++i == argc) {
				rc = cmd_usage("%s needs a file name", argv[i - 1]);
				goto out;
			}
			file = argv[i];
		} else if (argv[i][0] == '-') {
			rc = cmd_usage("usage: moshman host export [NAME...] [--json] "
			               "[--with-secrets] [--output FILE]");
			goto out;
		} else
			names[nnames++] = argv[i];
	}
	if ((db = cmd_db(ctx)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	if ((rc = export_collect(db, names, nnames, &v, &n)) != 0)
		goto out;
	if ((rc = export_open(file, secrets, &f)) != 0)
		goto out;
	fprintf(f, "{\n  \"moshman_profiles\": %d,\n  \"profiles\": [", EXPORT_VERSION);
	for (size_t i = 0; i < n; i++) {
		if (export_one(db, &v[i], secrets, &obj) == -1) {
			rc = cmd_fail("%s", db_error(db));
			goto out;
		}
		fprintf(f, "%s\n    %s", i > 0 ? "," : "", obj);
		explicit_bzero(obj, strlen(obj));
		db_free(obj);
		obj = NULL;
	}
	fprintf(f, "%s]\n}\n", n > 0 ? "\n  " : "");
	if (fflush(f) != 0 || ferror(f))
		rc = cmd_fail("writing %s failed: %s", file ? file : "the output", strerror(errno));
out:
	if (f != NULL && f != stdout && fclose(f) != 0 && rc == 0)
		rc = cmd_fail("writing %s failed: %s", file, strerror(errno));
	if (v != NULL && nnames == 0)
		db_host_list_free(v, n);
	else if (v != NULL) {
		for (size_t i = 0; i < n; i++)
			db_host_clear(&v[i]);
		free(v);
	}
	free(names);
	return rc;
}

/* ---- import ------------------------------------------------------------------------ */

/* The file, whole; "-" is stdin.  NULL after a message, with *rc the exit code. */
static char *
import_read(const char *file, int *rc)
{
	char *buf = xmalloc(IMPORT_MAX_BYTES + 1);
	size_t have = 0;
	ssize_t r;
	int fd = STDIN_FILENO;

	if (strcmp(file, "-") != 0 &&
	    (fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		*rc = cmd_fail("cannot read %s: %s", file, strerror(errno));
		free(buf);
		return NULL;
	}
	while (have <= IMPORT_MAX_BYTES) {
		r = read(fd, buf + have, IMPORT_MAX_BYTES + 1 - have);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (have > IMPORT_MAX_BYTES) {
		*rc = cmd_usage("%s is larger than %d bytes; not a moshman export", file,
		    IMPORT_MAX_BYTES);
		free(buf);
		return NULL;
	}
	if (memchr(buf, '\0', have) != NULL) {
		*rc = cmd_usage("%s has a NUL byte; not a moshman export", file);
		free(buf);
		return NULL;
	}
	buf[have] = '\0';
	return buf;
}

/* The flag that means the opposite of o ("auto-clean" <-> "no-auto-clean"), or NULL. */
static const char *
flag_opposite(const char *name, char *buf, size_t len)
{
	if (strncmp(name, "no-", 3) == 0)
		snprintf(buf, len, "%s", name + 3);
	else
		snprintf(buf, len, "no-%s", name);
	return profile_option_find(buf, strlen(buf)) != NULL ? buf : NULL;
}

static int
is_int(const char *type)
{
	return strcmp(type, "integer") == 0;
}

/* An absolute or ~/ path of printable characters that names no file here. */
static int
identity_missing(const char *v)
{
	char *full;
	int missing;

	if (v[0] != '/' && strncmp(v, "~/", 2) != 0)
		return 0;
	for (const char *p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	}
	full = paths_expand_tilde(v);
	missing = access(full, F_OK) == -1;
	free(full);
	return missing;
}

/* One member of a profile object.  0, or -1 with *err (allocated). */
static int
import_field(struct db *db, struct db_host *h, const struct db_json_item *f, char **err)
{
	const struct profile_option *o;
	struct db_json_item *items = NULL;
	size_t n = 0;
	char opp[64], *e = NULL;
	const char *opt;
	int rc = -1;

	if (strcmp(f->key, "name") == 0)
		return 0;
	if (strcmp(f->key, "pinned") == 0) {
		if (strcmp(f->type, "true") != 0 && strcmp(f->type, "false") != 0) {
			xasprintf(err, "pinned: expected true or false, not %s", f->type);
			return -1;
		}
		h->pinned = strcmp(f->type, "true") == 0;
		return 0;
	}
	if (strcmp(f->key, "created_at") == 0 || strcmp(f->key, "last_used_at") == 0) {
		long long v = is_int(f->type) ? strtoll(f->value, NULL, 10) : -1;

		if (v < 0) {
			xasprintf(err, "%s: expected a time in milliseconds", f->key);
			return -1;
		}
		if (strcmp(f->key, "created_at") == 0)
			h->created_at = v;
		else
			h->last_used_at = v;
		return 0;
	}
	if ((o = profile_option_find(f->key, strlen(f->key))) == NULL) {
		xasprintf(err, "unknown key \"%.40s\" (keys are 'moshman host add' options)",
		    f->key);
		return -1;
	}
	if (strcmp(f->type, "null") == 0)
		return 0; /* unset: the default */
	if (strcmp(o->name, "identity") == 0 && strcmp(f->type, "text") == 0 &&
	    identity_missing(f->value)) {
		/* As the ssh-config import: a key that is not on this machine is left out
		 * (ssh skips it too), not a reason to refuse the whole file. */
		fprintf(stderr, "moshman: import %s: identity %s does not exist here; left out\n",
		    h->name, f->value);
		return 0;
	}
	if (o->arg == NULL) {
		if (strcmp(f->type, "true") != 0 && strcmp(f->type, "false") != 0) {
			xasprintf(err, "%s: expected true or false, not %s", o->name, f->type);
			return -1;
		}
		opt = strcmp(f->type, "true") == 0 ? o->name
		                                   : flag_opposite(o->name, opp, sizeof opp);
		if (opt == NULL) {
			xasprintf(err, "%s: false has no meaning", o->name);
			return -1;
		}
		return profile_set(h, opt, NULL, err);
	}
	if (o->repeatable) {
		if (strcmp(f->type, "array") != 0) {
			xasprintf(err, "%s: expected an array of strings, not %s", o->name,
			    f->type);
			return -1;
		}
		if (db_json_items(db, f->value, "$", &items, &n) != DB_OK) {
			xasprintf(err, "%s: %s", o->name, db_error(db));
			return -1;
		}
		profile_set(h, o->name, "", &e); /* start from an empty list */
		free(e);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(items[i].type, "text") != 0) {
				xasprintf(err, "%s[%zu]: expected a string, not %s", o->name, i,
				    items[i].type);
				goto out;
			}
			if (profile_set(h, o->name, items[i].value, &e) == -1) {
				xasprintf(err, "%s[%zu]: %s", o->name, i, e);
				free(e);
				goto out;
			}
		}
		rc = 0;
		goto out;
	}
	if (strcmp(f->type, "text") != 0 && !is_int(f->type)) {
		xasprintf(err, "%s: expected a string%s, not %s", o->name,
		    strcmp(o->name, "port") == 0 || strcmp(o->name, "idle-timeout") == 0
		        ? " or a number"
		        : "",
		    f->type);
		return -1;
	}
	if (profile_set(h, o->name, f->value, &e) == -1) {
		xasprintf(err, "%s: %s", o->name, e);
		free(e);
		return -1;
	}
	return 0;
out:
	db_json_items_free(items, n);
	return rc;
}

/* Profile number idx from its JSON object: 0, or an exit code after a message. */
static int
import_profile(struct db *db, const char *file, size_t idx, const struct db_json_item *p,
    struct db_host *h)
{
	struct db_json_item *f = NULL;
	size_t n = 0;
	const char *name = NULL;
	char *err = NULL;
	int rc = EXIT_USAGE;

	memset(h, 0, sizeof *h);
	if (strcmp(p->type, "object") != 0)
		return cmd_usage("%s: profiles[%zu] is %s, not an object", file, idx, p->type);
	if (db_json_items(db, p->value, "$", &f, &n) != DB_OK)
		return cmd_usage("%s: profiles[%zu]: %s", file, idx, db_error(db));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].key, "name") == 0 && strcmp(f[i].type, "text") == 0)
			name = f[i].value;
	}
	if (name == NULL) {
		cmd_usage("%s: profiles[%zu] has no \"name\" string", file, idx);
		goto out;
	}
	if (profile_check_name(name, &err) == -1) {
		cmd_usage("%s: profiles[%zu]: name: %s", file, idx, err);
		goto out;
	}
	profile_defaults(h, name);
	for (size_t i = 0; i < n; i++) {
		if (import_field(db, h, &f[i], &err) == -1) {
			cmd_usage("%s: profile %s: %s", file, name, err);
			goto out;
		}
	}
	if (profile_check(h, &err) == -1) {
		cmd_usage("%s: profile %s: %s", file, name, err);
		goto out;
	}
	rc = 0;
out:
	free(err);
	db_json_items_free(f, n);
	if (rc != 0)
		db_host_clear(h);
	return rc;
}

/* The profiles of a file: every one valid, or nothing is imported. */
static int
import_parse(struct db *db, const char *file, const char *text, struct db_host **out, size_t *nout)
{
	struct db_json_item *p = NULL;
	struct db_host *v = NULL;
	char *type = NULL;
	const char *path = "$.profiles";
	size_t n = 0, ok = 0;
	int rc;

	*out = NULL;
	*nout = 0;
	if (db_json_type(db, text, "$", &type) != DB_OK)
		return cmd_usage("%s: %s", file, db_error(db));
	if (strcmp(type, "array") == 0)
		path = "$"; /* a bare list of profiles */
	else if (strcmp(type, "object") != 0) {
		rc = cmd_usage("%s: expected a moshman export (an object with \"profiles\"), "
		               "not %s",
		    file, type);
		goto out;
	} else {
		struct db_json_item *top = NULL;
		size_t ntop = 0;
		long long version = 0;
		int profiles_array = 0;

		if (db_json_items(db, text, "$", &top, &ntop) != DB_OK) {
			rc = cmd_usage("%s: %s", file, db_error(db));
			goto out;
		}
		for (size_t i = 0; i < ntop; i++) {
			if (strcmp(top[i].key, "moshman_profiles") == 0 && is_int(top[i].type))
				version = strtoll(top[i].value, NULL, 10);
			if (strcmp(top[i].key, "profiles") == 0)
				profiles_array = strcmp(top[i].type, "array") == 0;
		}
		db_json_items_free(top, ntop);
		if (version < 1 || !profiles_array) {
			rc = cmd_usage(
			    "%s: not a moshman export (an object with \"moshman_profiles\": "
			    "%d and a \"profiles\" array)",
			    file, EXPORT_VERSION);
			goto out;
		}
		if (version > EXPORT_VERSION) {
			rc =
			    cmd_usage("%s: written by a newer moshman (format %lld; this one reads "
			              "%d)",
			        file, version, EXPORT_VERSION);
			goto out;
		}
	}
	if ((rc = db_json_items(db, text, path, &p, &n)) != DB_OK) {
		rc = cmd_usage("%s: %s", file, db_error(db));
		goto out;
	}
	if (n > IMPORT_MAX_PROFILES) {
		rc = cmd_usage("%s: more than %d profiles", file, IMPORT_MAX_PROFILES);
		goto out;
	}
	v = xcalloc(n ? n : 1, sizeof *v);
	for (ok = 0; ok < n; ok++) {
		if ((rc = import_profile(db, file, ok, &p[ok], &v[ok])) != 0)
			goto out;
		for (size_t j = 0; j < ok; j++) {
			if (strcmp(v[j].name, v[ok].name) == 0) {
				rc = cmd_usage("%s: profile %s appears twice", file, v[ok].name);
				ok++;
				goto out;
			}
		}
	}
	*out = v;
	*nout = n;
	v = NULL;
	rc = 0;
out:
	if (v != NULL) {
		for (size_t j = 0; j < ok; j++)
			db_host_clear(&v[j]);
		free(v);
	}
	db_json_items_free(p, n);
	db_free(type);
	return rc;
}

int
cmd_host_import_json(struct cmd_ctx *ctx, const char *file, int dry_run, int overwrite)
{
	struct db_host *v = NULL, old;
	struct db *db;
	char *text = NULL;
	size_t n = 0;
	int added = 0, updated = 0, kept = 0, failed = 0, rc;

	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	if ((text = import_read(file, &rc)) == NULL)
		return rc;
	rc = import_parse(db, file, text, &v, &n);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int exists;

		switch (db_host_get(db, v[i].name, &old)) {
		case DB_OK:
			exists = 1;
			break;
		case DB_NOTFOUND:
			exists = 0;
			break;
		default:
			fprintf(stderr, "moshman: import %s: %s\n", v[i].name, db_error(db));
			failed++;
			continue;
		}
		if (exists && !overwrite) {
			printf("kept %s: a profile of that name exists (use --overwrite)\n",
			    v[i].name);
			kept++;
		} else if (dry_run) {
			printf("would %s %s (%s@%s:%d)\n", exists ? "replace" : "add", v[i].name,
			    v[i].user, v[i].hostname, v[i].port);
			*(exists ? &updated : &added) += 1;
		} else {
			if (exists)
				v[i].id = old.id;
			rc = exists ? db_host_update(db, &v[i]) : db_host_insert(db, &v[i]);
			if (rc != DB_OK) {
				fprintf(stderr, "moshman: import %s: %s\n", v[i].name,
				    db_error(db));
				failed++;
			} else {
				printf("%s %s (%s@%s:%d)\n", exists ? "replaced" : "added",
				    v[i].name, v[i].user, v[i].hostname, v[i].port);
				*(exists ? &updated : &added) += 1;
			}
		}
		if (exists)
			db_host_clear(&old);
	}
	printf("%s%d added, %d replaced, %d kept, %d failed\n", dry_run ? "dry run: " : "", added,
	    updated, kept, failed);
	for (size_t i = 0; i < n; i++)
		db_host_clear(&v[i]);
	free(v);
	return failed > 0 ? EXIT_FAIL : 0;
}
