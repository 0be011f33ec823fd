/* SPDX-License-Identifier: MIT */
/* moshman complete (hidden): shell completion, for bash, zsh and fish alike.
 *
 *   moshman complete bash|zsh|fish     prints that shell's completion file
 *   moshman complete -- WORD...        the words after "moshman" up to the one being
 *                                      completed (last, maybe empty): prints candidates
 *
 * The shell files hold no command or option names: they hand the command line to the
 * binary, which answers from the command table (names, verbs), each command's synopsis
 * and --help text (its options), the profile option table, and the database (profile
 * names, session ids).  So completions cannot drift from the program, and no shell ever
 * parses the database.  Nothing is printed on errors; a database that does not exist is
 * not created. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/ssh/profile.h"
#include "src/util/paths.h"
#include "src/util/xmalloc.h"

/* Global options main() takes before the command; those with a value. */
static const char *const global_opts[] = { "--db", "-q", "--quiet", "--no-unicode",
	"--tmux-windows", "--help", "--version", NULL };

static void
emit(const char *cand, const char *cur)
{
	if (strncmp(cand, cur, strlen(cur)) == 0)
		printf("%s\n", cand);
}

/* Every "--option" token in text, each once, with whether a value follows it
 * ("--timeout SECONDS", "--db PATH": an upper-case word or one in brackets). */
struct optset {
	char **name;
	int *takes;
	size_t n;
};

static void
optset_add(struct optset *s, const char *name, size_t len, int takes)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strlen(s->name[i]) == len && strncmp(s->name[i], name, len) == 0) {
			s->takes[i] |= takes;
			return;
		}
	}
	s->name = xreallocarray(s->name, s->n + 1, sizeof *s->name);
	s->takes = xreallocarray(s->takes, s->n + 1, sizeof *s->takes);
	s->name[s->n] = xstrndup(name, len);
	s->takes[s->n] = takes;
	s->n++;
}

static void
optset_scan(struct optset *s, const char *text)
{
	for (const char *p = text; (p = strstr(p, "--")) != NULL;) {
		const char *q = p + 2, *v;
		int takes;

		if (p > text && p[-1] != ' ' && p[-1] != '[' && p[-1] != '|' && p[-1] != '(' &&
		    p[-1] != '\'' && p[-1] != '\n' && p[-1] != ',') {
			p += 2;
			continue;
		}
		while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')
			q++;
		if (q == p + 2 || q[-1] == '-') {
			p = q;
			continue;
		}
		v = q;
		if (*v == ' ' || *v == '=')
			v++;
		takes = (*q == ' ' || *q == '=') && ((*v >= 'A' && *v <= 'Z') || *v == '[');
		optset_add(s, p, (size_t)(q - p), takes);
		p = q;
	}
}

static void
optset_free(struct optset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->name[i]);
	free(s->name);
	free(s->takes);
}

/* The options of c: its synopsis and its --help text, plus the profile options for the
 * commands that take them (connect; host add and edit). */
static void
command_options(const struct cmd *c, struct optset *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	memset(s, 0, sizeof *s);
	optset_scan(s, c->args);
	if ((f = open_memstream(&text, &len)) != NULL) {
		cmd_print_help(c, f);
		fclose(f);
		if (text != NULL)
			optset_scan(s, text);
		free(text);
	}
	for (const struct profile_option *o = profile_options; o->name != NULL; o++) {
		if (c == &cmd_connect || c == &cmd_host) {
			char *name = NULL;

			xasprintf(&name, "--%s", o->name);
			optset_add(s, name, strlen(name), o->arg != NULL);
			free(name);
		}
	}
}

/* The database named by --db, $MOSHMAN_DB or the default, if it exists. */
static struct db *
complete_db(const char *db_path)
{
	char err[256], *path = paths_db(db_path);
	struct db *db = NULL;

	if (access(path, F_OK) == 0 && db_open(path, &db, err, sizeof err) != DB_OK)
		db = NULL;
	free(path);
	return db;
}

static void
emit_profiles(struct db *db, const char *cur)
{
	struct db_host *v = NULL;
	size_t n = 0;

	if (db == NULL || db_host_list(db, &v, &n) != DB_OK)
		return;
	for (size_t i = 0; i < n; i++)
		emit(v[i].name, cur);
	db_host_list_free(v, n);
}

static void
emit_sessions(struct db *db, const char *cur)
{
	struct db_session *v = NULL;
	size_t n = 0;
	char id[32];

	if (db == NULL || db_session_list(db, 0, &v, &n) != DB_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof id, "%lld", (long long)v[i].id);
		emit(id, cur);
	}
	db_session_list_free(v, n);
}

/* Candidates for the last word of w[0..n-1] (the words after "moshman"). */
static void
complete_words(const char *db_path, char **w, int n)
{
	const char *cur = n > 0 ? w[n - 1] : "", *synopsis;
	const struct cmd *c = NULL;
	struct optset opts;
	struct db *db = NULL;
	int i = 0, verb = -1;

	/* Global options, then the command. */
	for (; i < n - 1 && w[i][0] == '-'; i++) {
		if (strcmp(w[i], "--db") == 0 && i + 1 < n - 1)
			db_path = w[++i];
		else if (strncmp(w[i], "--db=", 5) == 0)
			db_path = w[i] + 5;
	}
	if (i == n - 1) {
		if (i > 0 && strcmp(w[i - 1], "--db") == 0)
			return; /* a path: the shell's own file completion */
		if (cur[0] == '-') {
			for (size_t k = 0; global_opts[k] != NULL; k++)
				emit(global_opts[k], cur);
			return;
		}
		for (size_t k = 0; cmd_table[k] != NULL; k++)
			emit(cmd_table[k]->name, cur);
		return;
	}
	if (i >= n || (c = cmd_find(w[i])) == NULL || c == &cmd_complete)
		return;
	i++;
	if (c == &cmd_host) {
		if (i == n - 1) {
			for (size_t k = 0; cmd_host_verbs[k] != NULL; k++)
				emit(cmd_host_verbs[k], cur);
			return;
		}
		verb = i++;
	}
	command_options(c, &opts);
	/* The value of an option: left to the shell (files, free text). */
	if (n >= 2 && w[n - 2][0] == '-') {
		for (size_t k = 0; k < opts.n; k++) {
			if (opts.takes[k] && strcmp(opts.name[k], w[n - 2]) == 0) {
				optset_free(&opts);
				return;
			}
		}
		if (strcmp(w[n - 2], "--save") == 0 || strcmp(w[n - 2], "--output") == 0 ||
		    strcmp(w[n - 2], "-o") == 0) {
			optset_free(&opts);
			return;
		}
	}
	if (cur[0] == '-') {
		for (size_t k = 0; k < opts.n; k++)
			emit(opts.name[k], cur);
		optset_free(&opts);
		return;
	}
	optset_free(&opts);
	/* A positional word: what the synopsis says goes there. */
	synopsis = c->args;
	if (verb >= 0) {
		const char *p = strstr(c->args, w[verb]);

		synopsis = p != NULL ? p : "";
		if (strcmp(w[verb], "import") == 0 || strcmp(w[verb], "list") == 0 ||
		    strcmp(w[verb], "add") == 0)
			return; /* a file, or a new name */
	}
	db = complete_db(db_path);
	if (strstr(synopsis, "SESSION_ID") != NULL)
		emit_sessions(db, cur);
	if (strstr(synopsis, "NAME") != NULL)
		emit_profiles(db, cur);
	if (db != NULL)
		db_close(db);
}

/* The shells' files.  Each passes the words to `moshman complete --` and shows what
 * comes back; with nothing back they fall back to file names. */
static const char bash_script[] =
    "# bash completion for moshman: generated by `moshman complete bash`; do not edit.\n"
    "# Every candidate comes from the binary (commands, options, profiles, sessions).\n"
    "_moshman() {\n"
    "\tlocal IFS=$'\\n' cur words cword\n"
    "\tif declare -F _get_comp_words_by_ref >/dev/null; then\n"
    "\t\t_get_comp_words_by_ref -n =:@ cur words cword\n"
    "\telse\n"
    "\t\twords=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]}\n"
    "\tfi\n"
    "\tCOMPREPLY=($(command \"${words[0]}\" complete -- \"${words[@]:1:cword}\" "
    "2>/dev/null))\n"
    "}\n"
    "complete -o default -o nosort -F _moshman moshman 2>/dev/null ||\n"
    "\tcomplete -o default -F _moshman moshman\n";

static const char zsh_script[] =
    "#compdef moshman\n"
    "# zsh completion for moshman: generated by `moshman complete zsh`; do not edit.\n"
    "# Every candidate comes from the binary (commands, options, profiles, sessions).\n"
    "local -a cands\n"
    "cands=(\"${(@f)$(${words[1]} complete -- \"${(@)words[2,CURRENT]}\" "
    "2>/dev/null)}\")\n"
    "cands=(${cands:#})\n"
    "if (( ${#cands} )); then\n"
    "\tcompadd -Q -- \"${cands[@]}\"\n"
    "else\n"
    "\t_files\n"
    "fi\n";

static const char fish_script[] =
    "# fish completion for moshman: generated by `moshman complete fish`; do not edit.\n"
    "# Every candidate comes from the binary (commands, options, profiles, sessions).\n"
    "function __moshman_complete\n"
    "    set -l words (commandline -opc)\n"
    "    set -l cur (commandline -ct)\n"
    "    set -l out (command $words[1] complete -- $words[2..-1] \"$cur\" 2>/dev/null)\n"
    "    if test (count $out) -gt 0\n"
    "        printf '%s\\n' $out\n"
    "    else\n"
    "        __fish_complete_path \"$cur\"\n"
    "    end\n"
    "end\n"
    "complete -c moshman -f -a '(__moshman_complete)'\n";

static int
cmd_complete_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "bash") == 0)
		fputs(bash_script, stdout);
	else if (argc == 2 && strcmp(argv[1], "zsh") == 0)
		fputs(zsh_script, stdout);
	else if (argc == 2 && strcmp(argv[1], "fish") == 0)
		fputs(fish_script, stdout);
	else if (argc >= 2 && strcmp(argv[1], "--") == 0)
		complete_words(ctx->db_path, argv + 2, argc - 2);
	else
		return cmd_usage("usage: moshman complete bash|zsh|fish | -- WORD...");
	return 0;
}

const struct cmd cmd_complete = {
	"complete",
	"bash|zsh|fish | -- WORD...",
	"shell completion: the shells' files, and candidates for a command line",
	cmd_complete_run,
	NULL,
};
