/* SPDX-License-Identifier: MIT */
/* OpenSSH client configuration (ssh_config(5)) reader for `moshman host import`.
 *
 * The parser is pure: it reads text buffers and asks a callback for the files an Include
 * names.  sshconfig_load_file() is the wrapper that reads real files and expands globs.
 * After each parse the effective settings of every concrete Host alias are computed the
 * way ssh(1) would: blocks are walked in file order (Includes expanded in place), a block
 * applies when one of its patterns matches the alias and no negated one does, and the
 * first value obtained for each option wins.
 *
 * What is not modelled: Match blocks other than `Match all` (reported as skipped), the
 * system-wide /etc/ssh/ssh_config, CanonicalizeHostname re-parsing, and the values of
 * keywords other than the six that make a profile.  Messages say where that matters. */
#ifndef MOSHMAN_SSHCONFIG_H
#define MOSHMAN_SSHCONFIG_H

#include <stddef.h>

/* As OpenSSH's READCONF_MAX_DEPTH: the top file is depth 0, Includes may nest 16 deep. */
#define SSHCONFIG_MAX_DEPTH 16
/* Larger files are refused (ssh has no limit; nobody writes a megabyte of ssh_config). */
#define SSHCONFIG_MAX_FILE (1024 * 1024)
/* Longer lines are reported and ignored. */
#define SSHCONFIG_MAX_LINE 8192
/* Bounds on one parse, so a config that includes the same files over and over ends. */
#define SSHCONFIG_MAX_FILES 1024
#define SSHCONFIG_MAX_BYTES (16 * 1024 * 1024)

enum sshconfig_level {
	SSHCONFIG_NOTE,    /* for the user's information (an Include that matched nothing) */
	SSHCONFIG_WARNING, /* ssh accepts it, but moshman may not reproduce it exactly */
	SSHCONFIG_ERROR,   /* ssh itself would reject this line; it was not applied */
};

struct sshconfig_msg {
	const char *file; /* as given to the parser or returned by the include callback */
	unsigned line;    /* 0: about the whole file */
	enum sshconfig_level level;
	char *text;
};

/* A Host pattern or block that does not become a profile, and why. */
struct sshconfig_skip {
	char *name; /* the pattern as written ("*.corp", "!secret"), or "Match ..." */
	const char *file;
	unsigned line;
	char *reason;
};

/* The effective settings of one concrete alias, as ssh would use them. */
struct sshconfig_host {
	char *name;          /* the alias, as written after Host */
	char *hostname;      /* never NULL: HostName with %h expanded, else the alias;
	                        lowercased like ssh does unless it holds a ':' (IPv6) */
	char *user;          /* NULL: unset (ssh uses the local user) */
	int port;            /* 0: unset (22) */
	char *identity;      /* first IdentityFile, with ~ and %-tokens expanded; NULL: unset */
	char *proxy_jump;    /* ProxyJump as written ("[user@]host[:port][,...]"); NULL: none */
	char *proxy_command; /* ProxyCommand verbatim (%h/%p left for libssh); NULL: none */
	const char *file;    /* where the alias first appears in a Host line */
	unsigned line;
	/* Erroneous lines in blocks that apply to this alias: ssh refuses such a config, and
	 * the values above may lack what the author meant.  An importer should not trust a
	 * host with errors > 0 without showing notes. */
	unsigned errors;
	char **notes; /* "file:line: text", about this alias only (ignored IdentityFiles...) */
	size_t nnotes;
};

/* A file an Include resolved to.  The callback allocates every field (xmalloc family);
 * the parser takes ownership and frees them. */
struct sshconfig_file {
	char *path; /* shown in messages */
	char *key;  /* identity for loop detection (a realpath); NULL: path */
	char *text; /* contents; NULL when the file could not be read */
	size_t len;
	char *error; /* why text is NULL, or (with text) a problem ssh would refuse,
	                 such as bad permissions; NULL: none */
	int skip;    /* 1: ignore this file silently-but-noted (a directory, as ssh does) */
};

struct sshconfig_env {
	const char *home; /* for ~ and for relative Includes (home/.ssh/...); not NULL */
	const char *user; /* local user name for %u and the default %r; may be NULL */
	/* ${NAME} in IdentityFile; NULL: never set. */
	const char *(*getenv)(void *arg, const char *name);
	/* Expand one Include pattern, already anchored (absolute, or "~user/..."), into
	 * files in glob(3) order.  Return 0 with *nfiles = 0 when nothing matches, or -1 with
	 * *error set (allocated) when the pattern cannot be expanded.  NULL: Includes are
	 * reported and not followed. */
	int (*include)(void *arg, const char *pattern, struct sshconfig_file **files,
	    size_t *nfiles, char **error);
	void *arg; /* passed to getenv and include */
};

struct sshconfig;

struct sshconfig *sshconfig_new(void);
void sshconfig_free(struct sshconfig *);

/* Parse one top-level config (ssh starts each file with every line active).  May be
 * called again to add files, as ssh reads several.  Returns 0, or -1 when an error-level
 * message was added; the results are usable either way. */
int sshconfig_parse_buffer(struct sshconfig *, const char *text, size_t len, const char *filename,
    const struct sshconfig_env *);
/* Read path (NULL: home/.ssh/config, owner and permissions checked as ssh does) and
 * follow its Includes with glob(3).  -1 when the file cannot be read (the reason is an
 * error message) or any error-level message was added. */
int sshconfig_load_file(struct sshconfig *, const char *path, const char *home);

/* Results of all parses so far; owned by the config, valid until the next parse. */
void sshconfig_hosts(const struct sshconfig *, const struct sshconfig_host **, size_t *);
void sshconfig_skipped(const struct sshconfig *, const struct sshconfig_skip **, size_t *);
void sshconfig_messages(const struct sshconfig *, const struct sshconfig_msg **, size_t *);
size_t sshconfig_count(const struct sshconfig *, enum sshconfig_level);

/* The settings `ssh NAME` would use for any target name (wildcard blocks too; no Host
 * line of its own needed: then file is NULL).  Free with sshconfig_host_clear(). */
void sshconfig_lookup(const struct sshconfig *, const char *name, struct sshconfig_host *);
void sshconfig_host_clear(struct sshconfig_host *);

/* OpenSSH's Host pattern match: '*' and '?' wildcards, case-sensitive, linear time. */
int sshconfig_match(const char *string, const char *pattern);

#endif
