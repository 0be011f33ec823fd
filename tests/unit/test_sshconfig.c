/* SPDX-License-Identifier: MIT */
/* ssh_config reader: syntax, ssh's block semantics, Includes, errors, the file loader on
 * the fixture tree, and a comparison with the real `ssh -G` when ssh is installed. */
#include <fnmatch.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/ssh/sshconfig.h"
#include "src/util/xmalloc.h"
#include "tests/unit/unit.h"

#define HOME "/home/t"

/* ---- an in-memory file system for Includes --------------------------------------- */

struct memfile {
	const char *path;
	const char *text;
};

static const struct memfile *memfs;
static size_t memfs_n;
static char memfs_patterns[16][256]; /* what the parser asked for */
static size_t memfs_npatterns;

static int
memfs_include(void *arg, const char *pattern, struct sshconfig_file **out, size_t *n, char **error)
{
	struct sshconfig_file *files = NULL;
	size_t k = 0;

	(void)arg;
	if (memfs_npatterns < 16)
		snprintf(memfs_patterns[memfs_npatterns++], 256, "%s", pattern);
	if (strstr(pattern, "GLOBFAIL") != NULL) {
		*error = xstrdup("glob failed");
		return -1;
	}
	/* The table is kept in sorted order, as glob(3) returns names. */
	files = xcalloc(memfs_n, sizeof *files);
	for (size_t i = 0; i < memfs_n; i++) {
		if (fnmatch(pattern, memfs[i].path, FNM_PATHNAME) != 0)
			continue;
		files[k].path = xstrdup(memfs[i].path);
		if (memfs[i].text == NULL) {
			files[k].error = xstrdup("Permission denied");
		} else {
			files[k].text = xstrdup(memfs[i].text);
			files[k].len = strlen(memfs[i].text);
		}
		k++;
	}
	*out = files;
	*n = k;
	return 0;
}

static const char *
fake_getenv(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "KEYDIR") == 0 ? "/vault" : NULL;
}

static struct sshconfig *
parse_with(const char *text, const struct memfile *files, size_t nfiles, int *rc)
{
	struct sshconfig *c = sshconfig_new();
	struct sshconfig_env env = { HOME, "tester", fake_getenv, memfs_include, NULL };
	int r;

	memfs = files;
	memfs_n = nfiles;
	memfs_npatterns = 0;
	r = sshconfig_parse_buffer(c, text, strlen(text), "cfg", &env);
	if (rc != NULL)
		*rc = r;
	return c;
}

static struct sshconfig *
parse(const char *text)
{
	return parse_with(text, NULL, 0, NULL);
}

static const struct sshconfig_host *
host(const struct sshconfig *c, const char *name)
{
	const struct sshconfig_host *h;
	size_t n;

	sshconfig_hosts(c, &h, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(h[i].name, name) == 0)
			return &h[i];
	}
	printf("    no host \"%s\"\n", name);
	return NULL;
}

static size_t
nhosts(const struct sshconfig *c)
{
	const struct sshconfig_host *h;
	size_t n;

	sshconfig_hosts(c, &h, &n);
	return n;
}

/* Is there a message at file:line with this level whose text holds needle? */
static int
has_msg(const struct sshconfig *c, enum sshconfig_level level, const char *file, unsigned line,
    const char *needle)
{
	const struct sshconfig_msg *m;
	size_t n;

	sshconfig_messages(c, &m, &n);
	for (size_t i = 0; i < n; i++) {
		if (m[i].level == level && m[i].line == line && strcmp(m[i].file, file) == 0 &&
		    strstr(m[i].text, needle) != NULL)
			return 1;
	}
	printf("    no message %d %s:%u \"%s\"; have:\n", level, file, line, needle);
	for (size_t i = 0; i < n; i++)
		printf("      %d %s:%u: %s\n", m[i].level, m[i].file, m[i].line, m[i].text);
	return 0;
}

static int
has_skip(const struct sshconfig *c, const char *name, unsigned line, const char *needle)
{
	const struct sshconfig_skip *s;
	size_t n;

	sshconfig_skipped(c, &s, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s[i].name, name) == 0 && s[i].line == line &&
		    strstr(s[i].reason, needle) != NULL)
			return 1;
	}
	printf("    no skip \"%s\" at line %u (\"%s\"); have:\n", name, line, needle);
	for (size_t i = 0; i < n; i++)
		printf("      %s %s:%u: %s\n", s[i].name, s[i].file, s[i].line, s[i].reason);
	return 0;
}

static int
has_note(const struct sshconfig_host *h, const char *needle)
{
	if (h == NULL)
		return 0;
	for (size_t i = 0; i < h->nnotes; i++) {
		if (strstr(h->notes[i], needle) != NULL)
			return 1;
	}
	printf("    %s has no note \"%s\"; has:\n", h->name, needle);
	for (size_t i = 0; i < h->nnotes; i++)
		printf("      %s\n", h->notes[i]);
	return 0;
}

/* The six values of a profile at once; NULL/0 mean unset. */
static void
check_host(const struct sshconfig *c, const char *name, const char *hostname, const char *user,
    int port, const char *identity, const char *jump, const char *command)
{
	const struct sshconfig_host *h = host(c, name);

	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK_STR(h->hostname, hostname);
	CHECK_STR(h->user, user);
	CHECK_INT(h->port, port);
	CHECK_STR(h->identity, identity);
	CHECK_STR(h->proxy_jump, jump);
	CHECK_STR(h->proxy_command, command);
}

/* ---- syntax ---------------------------------------------------------------------- */

static void
test_spellings(void)
{
	/* Every way ssh_config lets you write "Keyword value". */
	struct sshconfig *c = parse("Host a1\n"
	                            "  HostName one\n"
	                            "Host=a2\n"
	                            "  HostName=two\n"
	                            "Host = a3\n"
	                            "  HOSTNAME = three\n"
	                            "Host\ta4\n"
	                            "\thostname\tfour   \n"
	                            "Host a5\n"
	                            "  hostname =five\n"
	                            "Host a6\n"
	                            "  HostName= six\n"
	                            "  \n"
	                            "\n"
	                            "   # an indented comment\n"
	                            "# a comment\n"
	                            "Host a7 # comment after the pattern\n"
	                            "  HostName seven#not-a-comment\n"
	                            "  User \"quoted user\"\n"
	                            "  Port '2222'\n"
	                            "  IdentityFile ~/k\\ with\\ space\n");

	CHECK_INT(nhosts(c), 7);
	CHECK_STR(host(c, "a1")->hostname, "one");
	CHECK_STR(host(c, "a2")->hostname, "two");
	CHECK_STR(host(c, "a3")->hostname, "three");
	CHECK_STR(host(c, "a4")->hostname, "four");
	CHECK_STR(host(c, "a5")->hostname, "five");
	CHECK_STR(host(c, "a6")->hostname, "six");
	/* A '#' starts a comment only where a word would start. */
	check_host(c, "a7", "seven#not-a-comment", "quoted user", 2222, HOME "/k with space", NULL,
	    NULL);
	CHECK_INT(sshconfig_count(c, SSHCONFIG_ERROR), 0);
	CHECK_INT(sshconfig_count(c, SSHCONFIG_WARNING), 0);
	sshconfig_free(c);
}

static void
test_crlf_and_tabs(void)
{
	const char *lf = "Host crlf\n\tHostName\tcr.example\n\tPort\t2022\n\tUser  u\n";
	const char *crlf = "Host crlf\r\n\tHostName\tcr.example\r\n\tPort\t2022\r\n\tUser  u\r\n";
	struct sshconfig *a = parse(lf), *b = parse(crlf);

	check_host(a, "crlf", "cr.example", "u", 2022, NULL, NULL, NULL);
	check_host(b, "crlf", "cr.example", "u", 2022, NULL, NULL, NULL);
	CHECK_INT(sshconfig_count(b, SSHCONFIG_ERROR), 0);
	sshconfig_free(a);
	sshconfig_free(b);

	/* The last line needs no newline; a form feed at the end of a line is fine, and so
	 * is a stray carriage return inside a comment. */
	a = parse("Host last\n  Port 2\f\n  # odd\rcomment\n  User end");
	check_host(a, "last", "last", "end", 2, NULL, NULL, NULL);
	CHECK_INT(sshconfig_count(a, SSHCONFIG_ERROR), 0);
	sshconfig_free(a);
}

/* ---- ssh's block semantics ------------------------------------------------------- */

static void
test_first_value_wins(void)
{
	struct sshconfig *c = parse("Host *.example\n"
	                            "  User early\n"
	                            "Host web.example other\n"
	                            "  User late\n"
	                            "  Port 2200\n"
	                            "  HostName 10.1.1.1\n"
	                            "Host web.example\n"
	                            "  Port 9999\n"
	                            "  HostName ignored\n"
	                            "Host *\n"
	                            "  User everyone\n"
	                            "  Port 22\n");

	/* A wildcard block before the alias's own block still applies, and first wins. */
	check_host(c, "web.example", "10.1.1.1", "early", 2200, NULL, NULL, NULL);
	/* Host * defaults at the end fill what nothing set before. */
	check_host(c, "other", "10.1.1.1", "late", 2200, NULL, NULL, NULL);
	sshconfig_free(c);
}

static void
test_multi_name_host(void)
{
	const struct sshconfig_host *h;
	size_t n;
	struct sshconfig *c = parse("# header\n"
	                            "Host b a c\n"
	                            "  User shared\n"
	                            "Host a\n"
	                            "  Port 2001\n"
	                            "Host d b\n");

	sshconfig_hosts(c, &h, &n);
	CHECK_INT(n, 4);
	if (n == 4) {
		/* First-appearance order, where each name first appears. */
		CHECK_STR(h[0].name, "b");
		CHECK_STR(h[1].name, "a");
		CHECK_STR(h[2].name, "c");
		CHECK_STR(h[3].name, "d");
		CHECK_INT(h[0].line, 2);
		CHECK_INT(h[1].line, 2);
		CHECK_INT(h[3].line, 6);
		CHECK_STR(h[0].file, "cfg");
	}
	check_host(c, "a", "a", "shared", 2001, NULL, NULL, NULL);
	check_host(c, "b", "b", "shared", 0, NULL, NULL, NULL);
	check_host(c, "d", "d", NULL, 0, NULL, NULL, NULL);
	sshconfig_free(c);
}

static void
test_wildcards_and_negation(void)
{
	struct sshconfig *c = parse("Host *.corp !secret.corp\n"
	                            "  ProxyJump bastion\n"
	                            "Host app.corp secret.corp db?.corp\n"
	                            "  User corp\n"
	                            "Host db1.corp\n"
	                            "Host !app.corp *\n"
	                            "  Port 2222\n");

	check_host(c, "app.corp", "app.corp", "corp", 0, NULL, "bastion", NULL);
	check_host(c, "secret.corp", "secret.corp", "corp", 2222, NULL, NULL, NULL);
	check_host(c, "db1.corp", "db1.corp", "corp", 2222, NULL, "bastion", NULL);
	CHECK_INT(nhosts(c), 3);
	CHECK(has_skip(c, "*.corp", 1, "wildcard"));
	CHECK(has_skip(c, "!secret.corp", 1, "negated"));
	CHECK(has_skip(c, "db?.corp", 3, "wildcard"));
	CHECK(has_skip(c, "!app.corp", 6, "negated"));
	CHECK(has_skip(c, "*", 6, "wildcard"));
	sshconfig_free(c);
}

static void
test_unusable_names(void)
{
	struct sshconfig *c = parse("Host \"two words\" user@host -dash %h ok semi;colon\n"
	                            "Host self !self mid!bang\n"
	                            "  User never\n");

	/* '!' negates only at the start of a pattern: "mid!bang" is a plain name. */
	CHECK_INT(nhosts(c), 2);
	CHECK(host(c, "ok") != NULL);
	check_host(c, "mid!bang", "mid!bang", "never", 0, NULL, NULL, NULL);
	CHECK(has_skip(c, "two words", 1, "command line"));
	CHECK(has_skip(c, "user@host", 1, "user@host"));
	CHECK(has_skip(c, "-dash", 1, "command line"));
	CHECK(has_skip(c, "%h", 1, "%"));
	CHECK(has_skip(c, "semi;colon", 1, "command line"));
	/* Negated on its own line: ssh never applies that block to "self". */
	CHECK(has_skip(c, "self", 2, "never applies"));
	sshconfig_free(c);
}

static void
test_case(void)
{
	/* Keywords ignore case; Host patterns do not (ssh matches the name as typed), and the
	 * resulting host name is lowercased the way ssh does before connecting. */
	struct sshconfig *c = parse("hOsT Web\n  HOSTNAME Web.EXAMPLE.com\n"
	                            "Host web\n  hostname other\n"
	                            "Host v6\n  HostName FE80::1\n"
	                            "Host MiXed\n");

	check_host(c, "Web", "web.example.com", NULL, 0, NULL, NULL, NULL);
	check_host(c, "web", "other", NULL, 0, NULL, NULL, NULL);
	check_host(c, "v6", "FE80::1", NULL, 0, NULL, NULL, NULL);
	check_host(c, "MiXed", "mixed", NULL, 0, NULL, NULL, NULL);
	sshconfig_free(c);
}

static void
test_hostname_tokens(void)
{
	struct sshconfig *c = parse("Host a b c\n"
	                            "Host a\n  HostName %h.lan\n"
	                            "Host b\n  HostName 100%%-%h\n"
	                            "Host c\n  HostName %z.lan\n");
	const struct sshconfig_host *h;

	check_host(c, "a", "a.lan", NULL, 0, NULL, NULL, NULL);
	check_host(c, "b", "100%-b", NULL, 0, NULL, NULL, NULL);
	/* ssh dies on an unknown token: the host carries an error, never a guess. */
	h = host(c, "c");
	CHECK(h != NULL && h->errors == 1);
	CHECK(has_note(h, "unknown token %z"));
	CHECK(h != NULL && strcmp(h->hostname, "%z.lan") == 0);
	CHECK(host(c, "a")->errors == 0);
	sshconfig_free(c);
}

static void
test_proxies(void)
{
	struct sshconfig *c =
	    parse("Host cmd\n  ProxyCommand  ssh -W \"%h:%p\" 'jump host' # for the shell\n"
	          "Host jmp\n  ProxyJump ssh://alice;x=1@j1:022/,u@[fe80::1]:2200,j3 # comment\n"
	          "Host jmp-then-cmd\n  ProxyJump j\n  ProxyCommand nc %h %p\n"
	          "Host cmd-then-jmp\n  ProxyCommand nc %h %p\n  ProxyJump j\n"
	          "Host none-then-cmd\n  ProxyJump none\n  ProxyCommand nc %h %p\n"
	          "Host none-then-jmp\n  ProxyJump NONE\n  ProxyJump j\n"
	          "Host cmdnone\n  ProxyCommand none\n  ProxyJump j\n"
	          "Host none-comment\n  ProxyJump none # why\n  ProxyCommand nc %h %p\n"
	          "Host *\n  ProxyCommand default %h\n");

	check_host(c, "cmd", "cmd", NULL, 0, NULL, NULL,
	    "ssh -W \"%h:%p\" 'jump host' # for the shell");
	/* Hops normalized to [user@]host[:port], as `ssh -G` prints them. */
	check_host(c, "jmp", "jmp", NULL, 0, NULL, "alice@j1:22,u@[fe80::1]:2200,j3", NULL);
	check_host(c, "jmp-then-cmd", "jmp-then-cmd", NULL, 0, NULL, "j", NULL);
	CHECK(has_note(host(c, "jmp-then-cmd"), "ProxyCommand ignored: ProxyJump j"));
	check_host(c, "cmd-then-jmp", "cmd-then-jmp", NULL, 0, NULL, NULL, "nc %h %p");
	CHECK(has_note(host(c, "cmd-then-jmp"), "ProxyJump ignored"));
	/* ssh 9.2: a bare "ProxyJump none" leaves the ProxyCommand slot open. */
	check_host(c, "none-then-cmd", "none-then-cmd", NULL, 0, NULL, NULL, "nc %h %p");
	/* ...so the Host * default fills it here. */
	check_host(c, "none-then-jmp", "none-then-jmp", NULL, 0, NULL, NULL, "default %h");
	check_host(c, "cmdnone", "cmdnone", NULL, 0, NULL, NULL, NULL);
	/* ...but "none # why" is a jump host named none to ssh: none here, with a warning. */
	check_host(c, "none-comment", "none-comment", NULL, 0, NULL, NULL, NULL);
	CHECK(has_msg(c, SSHCONFIG_WARNING, "cfg", 21, "named \"none\""));
	CHECK_INT(sshconfig_count(c, SSHCONFIG_ERROR), 0);
	sshconfig_free(c);
}

static void
test_identity(void)
{
	struct sshconfig *c =
	    parse("Host k1\n  IdentityFile ~/.ssh/k1\n  IdentityFile ~/.ssh/second\n"
	          "Host k2\n  HostName K2.Example\n  User bob\n  Port 2022\n"
	          "  IdentityFile %d/.ssh/%u-%r@%h:%p-%n-%%\n"
	          "Host k3\n  IdentityFile ${KEYDIR}/k3\n"
	          "Host k4\n  IdentityFile keys/relative\n"
	          "Host k5\n  IdentityFile /abs/%C-${NOPE}\n"
	          "Host k6\n  IdentityFile none\n"
	          "Host k7\n  IdentityFile ~other/.ssh/k\n"
	          "Host k8\n  IdentityFile ~\n"
	          "Host *\n  IdentityFile ~/.ssh/id_default\n");
	const struct sshconfig_host *h;

	check_host(c, "k1", "k1", NULL, 0, HOME "/.ssh/k1", NULL, NULL);
	h = host(c, "k1");
	CHECK(has_note(h, "IdentityFile ~/.ssh/second ignored"));
	CHECK(has_note(h, "IdentityFile ~/.ssh/id_default ignored"));
	CHECK(h != NULL && h->nnotes == 2);
	check_host(c, "k2", "k2.example", "bob", 2022, HOME "/.ssh/tester-bob@k2.example:2022-k2-%",
	    NULL, NULL);
	check_host(c, "k3", "k3", NULL, 0, "/vault/k3", NULL, NULL);
	/* Relative: ssh resolves it against its working directory; kept, and said so. */
	check_host(c, "k4", "k4", NULL, 0, "keys/relative", NULL, NULL);
	CHECK(has_note(host(c, "k4"), "is relative"));
	check_host(c, "k5", "k5", NULL, 0, "/abs/%C-${NOPE}", NULL, NULL);
	CHECK(has_note(host(c, "k5"), "kept as written"));
	check_host(c, "k6", "k6", NULL, 0, NULL, NULL, NULL);
	CHECK(has_note(host(c, "k6"), "IdentityFile none"));
	check_host(c, "k7", "k7", NULL, 0, "~other/.ssh/k", NULL, NULL);
	CHECK(has_note(host(c, "k7"), "~user is not expanded"));
	check_host(c, "k8", "k8", NULL, 0, HOME, NULL, NULL);
	sshconfig_free(c);
}

static void
test_match(void)
{
	struct sshconfig *c = parse("Host a b\n"
	                            "Match host a exec \"true\"\n"
	                            "  User from-match\n"
	                            "Host b\n"
	                            "  Port 2\n"
	                            "Match all\n"
	                            "  User everyone\n"
	                            "Match canonical all\n"
	                            "  Port 9\n"
	                            "Match bogus x\n"
	                            "Match host\n");

	/* A skipped Match block applies to nobody; Match all applies to everybody. */
	check_host(c, "a", "a", "everyone", 0, NULL, NULL, NULL);
	check_host(c, "b", "b", "everyone", 2, NULL, NULL, NULL);
	CHECK(has_skip(c, "Match host a exec true", 2, "not evaluated"));
	CHECK(has_skip(c, "Match canonical all", 8, "not evaluated"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 10, "unknown criterion \"bogus\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 11, "needs an argument"));
	sshconfig_free(c);
}

/* ---- Include --------------------------------------------------------------------- */

static void
test_include_resolution(void)
{
	static const struct memfile fs[] = {
		{ HOME "/.ssh/conf.d/a.conf", "Host ia\n  HostName a.inc\n" },
		{ HOME "/.ssh/conf.d/b.conf", "Host ib\n  HostName b.inc\n" },
		{ HOME "/.ssh/conf.d/c.txt", "Host ic\n" },
		{ HOME "/tilde", "Host it\n" },
		{ "/etc/abs", "Host iabs\n" },
	};
	int rc;
	struct sshconfig *c = parse_with("Include conf.d/*.conf ~/tilde\n"
	                                 "Include /etc/abs /nowhere/* missing\n",
	    fs, sizeof fs / sizeof fs[0], &rc);
	const struct sshconfig_host *h;
	size_t n;

	CHECK_INT(rc, 0);
	/* Relative to ~/.ssh, ~ expanded, absolute kept. */
	CHECK_INT(memfs_npatterns, 5);
	CHECK_STR(memfs_patterns[0], HOME "/.ssh/conf.d/*.conf");
	CHECK_STR(memfs_patterns[1], HOME "/tilde");
	CHECK_STR(memfs_patterns[2], "/etc/abs");
	CHECK_STR(memfs_patterns[3], "/nowhere/*");
	CHECK_STR(memfs_patterns[4], HOME "/.ssh/missing");
	sshconfig_hosts(c, &h, &n);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_STR(h[0].name, "ia");
		CHECK_STR(h[0].file, HOME "/.ssh/conf.d/a.conf");
		CHECK_INT(h[0].line, 1);
		CHECK_STR(h[1].name, "ib");
		CHECK_STR(h[2].name, "it");
		CHECK_STR(h[3].name, "iabs");
	}
	/* No match is not an error, as in ssh: a note. */
	CHECK(has_msg(c, SSHCONFIG_NOTE, "cfg", 2, "/nowhere/* matched no files"));
	CHECK(has_msg(c, SSHCONFIG_NOTE, "cfg", 2, HOME "/.ssh/missing matched no files"));
	sshconfig_free(c);
}

static void
test_include_context(void)
{
	/* An Include inside a Host block: its lines apply only where that block applies,
	 * and a Host line inside an Include read under a non-matching block never matches. */
	static const struct memfile fs[] = {
		{ HOME "/.ssh/defaults",
		    "User from-include\n"
		    "Host inner\n"
		    "  HostName never.used\n"
		    "Host *\n"
		    "  Port 2345\n" },
	};
	struct sshconfig *c = parse_with("Host outer\n"
	                                 "  Include defaults\n"
	                                 "  HostName outer.example\n"
	                                 "Host other inner\n"
	                                 "  User other-user\n",
	    fs, 1, NULL);

	/* After the Include, "HostName outer.example" is back in Host outer's block. */
	check_host(c, "outer", "outer.example", "from-include", 2345, NULL, NULL, NULL);
	check_host(c, "other", "other", "other-user", 0, NULL, NULL, NULL);
	/* "inner" exists on line 4, but its block in the Include is dead for it. */
	check_host(c, "inner", "inner", "other-user", 0, NULL, NULL, NULL);
	CHECK(host(c, "inner") != NULL && host(c, "inner")->line == 4);
	sshconfig_free(c);

	/* Only defined inside such an Include: not a profile, and the skip says why. */
	c = parse_with("Host outer\n  Include defaults\n", fs, 1, NULL);
	CHECK_INT(nhosts(c), 1);
	CHECK(has_skip(c, "inner", 2, "never applies"));
	sshconfig_free(c);

	/* Match all before an Include at the end puts it back in the top-level context. */
	c = parse_with("Host outer\n  User o\nMatch all\nInclude defaults\n", fs, 1, NULL);
	check_host(c, "inner", "never.used", "from-include", 2345, NULL, NULL, NULL);
	check_host(c, "outer", "outer", "o", 2345, NULL, NULL, NULL);
	sshconfig_free(c);
}

static void
test_include_loop_and_depth(void)
{
	static const struct memfile loop[] = {
		{ HOME "/.ssh/a", "Host la\n  Include b\n" },
		{ HOME "/.ssh/b", "Port 2002\nInclude a\nUser after-loop\n" },
	};
	static const struct memfile deep[] = {
		{ HOME "/.ssh/d01", "Include d02\n" },
		{ HOME "/.ssh/d02", "Include d03\n" },
		{ HOME "/.ssh/d03", "Include d04\n" },
		{ HOME "/.ssh/d04", "Include d05\n" },
		{ HOME "/.ssh/d05", "Include d06\n" },
		{ HOME "/.ssh/d06", "Include d07\n" },
		{ HOME "/.ssh/d07", "Include d08\n" },
		{ HOME "/.ssh/d08", "Include d09\n" },
		{ HOME "/.ssh/d09", "Include d10\n" },
		{ HOME "/.ssh/d10", "Include d11\n" },
		{ HOME "/.ssh/d11", "Include d12\n" },
		{ HOME "/.ssh/d12", "Include d13\n" },
		{ HOME "/.ssh/d13", "Include d14\n" },
		{ HOME "/.ssh/d14", "Include d15\n" },
		{ HOME "/.ssh/d15", "Include d16\n" },
		{ HOME "/.ssh/d16", "Host deep16\nInclude d17\n" },
		{ HOME "/.ssh/d17", "Host deep17\n" },
	};
	int rc;
	struct sshconfig *c = parse_with("Include a\nHost other\n", loop, 2, &rc);
	const struct sshconfig_host *h;

	CHECK_INT(rc, -1);
	CHECK(has_msg(c, SSHCONFIG_ERROR, HOME "/.ssh/b", 2, "Include loop"));
	/* Parsing goes on around the loop. */
	check_host(c, "la", "la", "after-loop", 2002, NULL, NULL, NULL);
	h = host(c, "la");
	CHECK(h != NULL && h->errors == 1);
	CHECK(has_note(h, "Include loop"));
	/* The loop sits in la's block: other hosts are not blamed for it. */
	CHECK(host(c, "other") != NULL && host(c, "other")->errors == 0);
	sshconfig_free(c);

	/* ssh reads 16 levels below the top file and stops at the 17th. */
	c = parse_with("Include d01\n", deep, sizeof deep / sizeof deep[0], &rc);
	CHECK_INT(rc, -1);
	CHECK(host(c, "deep16") != NULL);
	CHECK_INT(nhosts(c), 1);
	CHECK(has_msg(c, SSHCONFIG_ERROR, HOME "/.ssh/d16", 2, "deeper than 16"));
	sshconfig_free(c);
}

static void
test_include_failures(void)
{
	static const struct memfile fs[] = {
		{ HOME "/.ssh/locked", NULL },
		{ HOME "/.ssh/ok", "Host fine\n" },
	};
	struct sshconfig *c = parse_with("Include locked ok\nInclude GLOBFAIL*\n", fs, 2, NULL);

	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 1, "cannot read included"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 1, "Permission denied"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 2, "glob failed"));
	CHECK(host(c, "fine") != NULL);
	sshconfig_free(c);

	/* Without a resolver, Includes are reported, not followed. */
	c = sshconfig_new();
	{
		struct sshconfig_env env = { HOME, NULL, NULL, NULL, NULL };

		CHECK_INT(sshconfig_parse_buffer(c, "Include x\n", 10, "cfg", &env), 0);
	}
	CHECK(has_msg(c, SSHCONFIG_WARNING, "cfg", 1, "not followed"));
	sshconfig_free(c);
}

/* ---- errors ---------------------------------------------------------------------- */

static void
test_errors(void)
{
	char longline[SSHCONFIG_MAX_LINE + 64];
	char *text = NULL;
	int rc;
	struct sshconfig *c;
	const struct sshconfig_host *h;

	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	xasprintf(&text,
	    "Host bad\n"               /* 1 */
	    "  Port 70000\n"           /* 2 */
	    "  Port 0\n"               /* 3 */
	    "  Port ssh2\n"            /* 4 */
	    "  HostName\n"             /* 5 */
	    "  User a b\n"             /* 6 */
	    "  User \"unterminated\n"  /* 7 */
	    "  Hostnme typo\n"         /* 8 */
	    "  IdentityFile \"\"\n"    /* 9 */
	    "  ProxyJump host:99999\n" /* 10 */
	    "  User \x1b[31mred\n"     /* 11 */
	    "  Port 2222\n"            /* 12 */
	    "%s\n"                     /* 13 */
	    "  User a\rb\n"            /* 14 */
	    "Host\n"                   /* 15: ssh stays in the block above */
	    "Host good\n"              /* 16 */
	    "  HostName good.example\n"
	    "Host bad good\n" /* 18 */
	    "  User shared\n",
	    longline);
	c = parse_with(text, NULL, 0, &rc);

	CHECK_INT(rc, -1);
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 2, "bad port \"70000\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 3, "bad port \"0\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 4, "bad port \"ssh2\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 5, "no argument after keyword \"HostName\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 6, "extra arguments"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 7, "unterminated quote"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 8, "unknown keyword \"Hostnme\""));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 9, "missing argument"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 10, "invalid ProxyJump"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 11, "control character"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 13, "longer than"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 14, "carriage return"));
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 15, "no argument after keyword \"Host\""));
	CHECK_INT(sshconfig_count(c, SSHCONFIG_ERROR), 13);

	/* Bad lines are never applied: the first good value wins, and the host says it
	 * was touched by errors. */
	h = host(c, "bad");
	check_host(c, "bad", "bad", "shared", 2222, NULL, NULL, NULL);
	CHECK(h != NULL && h->errors == 13);
	CHECK(has_note(h, "cfg:2: bad port \"70000\""));
	/* "good" shares no block with the bad lines. */
	check_host(c, "good", "good.example", "shared", 0, NULL, NULL, NULL);
	CHECK(host(c, "good") != NULL && host(c, "good")->errors == 0);
	sshconfig_free(c);
	free(text);
}

static void
test_messages_are_safe(void)
{
	const struct sshconfig_msg *m;
	const struct sshconfig_skip *s;
	size_t n;
	struct sshconfig *c = parse("Host \x1b]0;evil\x07\n  Bogus\x1b[2J value\n");

	/* Terminal escapes from the file never reach a message verbatim. */
	sshconfig_messages(c, &m, &n);
	CHECK(n >= 1);
	for (size_t i = 0; i < n; i++) {
		CHECK(strchr(m[i].text, '\x1b') == NULL);
		CHECK(strchr(m[i].text, '\x07') == NULL);
	}
	CHECK_INT(nhosts(c), 0);
	sshconfig_skipped(c, &s, &n);
	CHECK_INT(n, 1);
	CHECK(n == 1 && strchr(s[0].name, '\x1b') == NULL);
	sshconfig_free(c);
}

static void
test_nul_and_ignoreunknown(void)
{
	static const char text[] = "Host n\n  User a\0b\n  Port 22\n"
	                           "IgnoreUnknown UseMagic,Foo*\n"
	                           "UseMagic yes\nFooBar 1\nUseKeychain yes\nBaz 1\n";
	struct sshconfig_env env = { HOME, NULL, NULL, NULL, NULL };
	struct sshconfig *c = sshconfig_new();

	CHECK_INT(sshconfig_parse_buffer(c, text, sizeof text - 1, "cfg", &env), -1);
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 2, "NUL byte"));
	check_host(c, "n", "n", NULL, 22, NULL, NULL, NULL);
	/* IgnoreUnknown silences exactly its patterns; UseKeychain is Apple's, known. */
	CHECK(has_msg(c, SSHCONFIG_ERROR, "cfg", 8, "unknown keyword \"Baz\""));
	CHECK_INT(sshconfig_count(c, SSHCONFIG_ERROR), 2);
	sshconfig_free(c);
}

static void
test_match_pattern(void)
{
	char subject[4096];

	CHECK(sshconfig_match("web1.corp", "*.corp"));
	CHECK(sshconfig_match("web1.corp", "web?.c*p"));
	CHECK(sshconfig_match("", "*"));
	CHECK(sshconfig_match("abc", "a**c"));
	CHECK(!sshconfig_match("web1.corp", "*.corpx"));
	CHECK(!sshconfig_match("Web", "web"));
	CHECK(!sshconfig_match("ab", "a?b"));
	CHECK(!sshconfig_match("a", ""));
	CHECK(sshconfig_match("a,b", "a,b"));
	/* The classic exponential case for a backtracking matcher is linear here. */
	memset(subject, 'a', sizeof subject - 1);
	subject[sizeof subject - 1] = '\0';
	CHECK(!sshconfig_match(subject, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"));
}

static void
test_reparse_appends(void)
{
	struct sshconfig_env env = { HOME, NULL, NULL, NULL, NULL };
	struct sshconfig *c = sshconfig_new();
	const char *one = "Host a\n  User first\n", *two = "Host b\nHost *\n  User second\n";

	/* A second top-level file starts active again, like ssh's user then system file. */
	CHECK_INT(sshconfig_parse_buffer(c, one, strlen(one), "one", &env), 0);
	CHECK_INT(nhosts(c), 1);
	CHECK_INT(sshconfig_parse_buffer(c, two, strlen(two), "two", &env), 0);
	check_host(c, "a", "a", "first", 0, NULL, NULL, NULL);
	check_host(c, "b", "b", "second", 0, NULL, NULL, NULL);
	CHECK_STR(host(c, "b")->file, "two");
	sshconfig_free(c);
}

/* ---- the file loader on the fixture tree ----------------------------------------- */

static char tmpdir[256];

/* Copies the fixture tree to a fresh directory, because ssh's permission check (which
 * the loader repeats) depends on the umask the checkout was made with. */
static int
fixture_copy(void)
{
	const char *top = getenv("MOSHMAN_TOP");
	char src[512], cmd[1400];

	snprintf(src, sizeof src, "%s/tests/fixtures/sshconfig", top != NULL ? top : ".");
	snprintf(tmpdir, sizeof tmpdir, "%s/moshman-sshconfig.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "cp -R '%s/home' '%s/' && chmod -R go-w '%s'", src, tmpdir,
	    tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
fixture_remove(void)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", tmpdir);
}

static void
test_fixture_tree(void)
{
	char home[512], ssh[600], p[700], id[700], key[700], wkey[700], lkey[700];
	struct sshconfig *c;
	const struct sshconfig_host *h;
	size_t n;
	int rc;

	if (fixture_copy() == -1) {
		CHECK(!"fixture copy failed");
		return;
	}
	snprintf(home, sizeof home, "%s/home", tmpdir);
	snprintf(ssh, sizeof ssh, "%s/.ssh", home);
	snprintf(id, sizeof id, "%s/id_default", ssh);
	snprintf(key, sizeof key, "%s/key with space", ssh);
	snprintf(wkey, sizeof wkey, "%s/work_key", ssh);
	snprintf(lkey, sizeof lkey, "%s/lab_key", ssh);

	c = sshconfig_new();
	rc = sshconfig_load_file(c, NULL, home); /* NULL: home/.ssh/config */
	CHECK_INT(rc, -1);                       /* the loop and the bad port */

	sshconfig_hosts(c, &h, &n);
	CHECK_INT(n, 14);
	if (n == 14) {
		static const char *const order[] = { "work1", "work2", "lab", "loopy", "web1",
			"web2", "db", "kv", "jump", "app.corp", "secret.corp", "quoted", "badport",
			"nojump" };

		for (size_t i = 0; i < n; i++)
			CHECK_STR(h[i].name, order[i]);
	}
	check_host(c, "work1", "work1.work.example", "worker", 0, id, NULL, NULL);
	check_host(c, "work2", "work2.work.example", "worker", 2202, wkey, NULL, NULL);
	check_host(c, "lab", "192.168.7.10", "defaultuser", 0, lkey, NULL, NULL);
	CHECK(has_note(host(c, "lab"), "other_key ignored"));
	check_host(c, "loopy", "loopy.example", "defaultuser", 2345, id, NULL, NULL);
	check_host(c, "web1", "web1.example.com", "deploy", 0, id, NULL, NULL);
	check_host(c, "web2", "web2.example.com", "deploy", 0, id, NULL, NULL);
	check_host(c, "db", "db.example.com", "deploy", 2201, id, NULL, NULL);
	check_host(c, "kv", "10.0.0.5", "alice", 2222, id, NULL, NULL);
	check_host(c, "jump", "bastion.example.com", "ops", 2022, id, NULL, NULL);
	check_host(c, "app.corp", "app.corp", "corpuser", 2200, id, "jump", NULL);
	check_host(c, "secret.corp", "secret.corp", "defaultuser", 2200, id, NULL, NULL);
	check_host(c, "quoted", "quoted.example.com", "defaultuser", 0, key, NULL,
	    "ssh -W \"%h:%p\" jump # kept: the shell sees this comment");
	check_host(c, "badport", "badport.example.com", "defaultuser", 0, id, NULL, NULL);
	check_host(c, "nojump", "nojump", "defaultuser", 0, id, NULL, "nc %h %p");

	/* Where each alias comes from, and which carry errors. */
	snprintf(p, sizeof p, "%s/conf.d/10-work.conf", ssh);
	CHECK(host(c, "work2") != NULL && strcmp(host(c, "work2")->file, p) == 0);
	CHECK(host(c, "work2") != NULL && host(c, "work2")->line == 2);
	snprintf(p, sizeof p, "%s/config", ssh);
	CHECK(host(c, "kv") != NULL && strcmp(host(c, "kv")->file, p) == 0);
	CHECK(host(c, "kv") != NULL && host(c, "kv")->line == 15);
	CHECK(host(c, "badport") != NULL && host(c, "badport")->errors == 1);
	CHECK(host(c, "loopy") != NULL && host(c, "loopy")->errors == 1);
	CHECK(host(c, "web1") != NULL && host(c, "web1")->errors == 0);

	CHECK(has_skip(c, "*.corp", 25, "wildcard"));
	CHECK(has_skip(c, "!secret.corp", 25, "negated"));
	CHECK(
	    has_skip(c, "Match host *.example.com exec test -f /nonexistent", 37, "not evaluated"));
	CHECK(has_skip(c, "*", 48, "wildcard"));

	CHECK(has_msg(c, SSHCONFIG_ERROR, p, 42, "bad port \"70000\""));
	CHECK(has_msg(c, SSHCONFIG_NOTE, p, 4, "missing.conf matched no files"));
	CHECK(has_msg(c, SSHCONFIG_NOTE, p, 3, "zz-dir.conf skipped: a directory"));
	snprintf(p, sizeof p, "%s/loop_b", ssh);
	CHECK(has_msg(c, SSHCONFIG_ERROR, p, 1, "Include loop"));
	CHECK_INT(sshconfig_count(c, SSHCONFIG_ERROR), 2);
	sshconfig_free(c);

	/* ssh refuses included files that others can write; so does the loader. */
	snprintf(p, sizeof p, "%s/conf.d/10-work.conf", ssh);
	CHECK(chmod(p, 0666) == 0);
	c = sshconfig_new();
	sshconfig_load_file(c, NULL, home);
	snprintf(p, sizeof p, "%s/config", ssh);
	CHECK(has_msg(c, SSHCONFIG_ERROR, p, 3, "bad owner or permissions"));
	CHECK(host(c, "work1") != NULL);
	sshconfig_free(c);

	fixture_remove();
}

static void
test_load_failures(void)
{
	struct sshconfig *c = sshconfig_new();
	const struct sshconfig_msg *m;
	size_t n;

	CHECK_INT(sshconfig_load_file(c, "/nonexistent/moshman/config", HOME), -1);
	sshconfig_messages(c, &m, &n);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(m[0].file, "/nonexistent/moshman/config");
		CHECK_HAS(m[0].text, "No such file");
		CHECK_INT(m[0].level, SSHCONFIG_ERROR);
	}
	CHECK_INT(nhosts(c), 0);
	/* A directory is not a config file. */
	CHECK_INT(sshconfig_load_file(c, "/", HOME), -1);
	sshconfig_free(c);
}

/* ---- against the real ssh -------------------------------------------------------- */

/* One `ssh -G` value; "" when ssh does not print it.  -1 when ssh refused the config. */
static int
ssh_g(const char *cfg, const char *alias, const char *key, char *out, size_t outlen)
{
	char cmd[1024], line[2048];
	FILE *f;
	size_t klen = strlen(key);
	int rc;

	*out = '\0';
	snprintf(cmd, sizeof cmd, "timeout 10 ssh -G -F '%s' '%s' </dev/null 2>/dev/null", cfg,
	    alias);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (*out == '\0' && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, outlen, "%s", line + klen + 1);
		}
	}
	rc = pclose(f);
	return rc == 0 ? 0 : -1;
}

static void
test_against_ssh(void)
{
	char dir[256], main_cfg[300], inc[300], *text = NULL, got[1024], want[64];
	const struct sshconfig_host *h;
	struct passwd *pw = getpwuid(getuid());
	struct sshconfig *c;
	FILE *f;
	size_t n;

	if (pw == NULL) {
		CHECK(!"no passwd entry for this uid");
		return;
	}
	if (system("command -v ssh >/dev/null 2>&1") != 0) {
		printf("    ssh(1) is not installed (make deps-test installs it)\n");
		unit_case_failed = 1;
		return;
	}
	snprintf(dir, sizeof dir, "/tmp/moshman-sshg.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(main_cfg, sizeof main_cfg, "%s/config", dir);
	snprintf(inc, sizeof inc, "%s/inc", dir);
	/* Absolute Includes: ssh anchors relative ones in the real ~/.ssh. */
	f = fopen(inc, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("User inc-user\r\nHost inner\r\n  HostName inner.example\r\nHost *\r\n"
		      "  Port 2345\r\n",
		    f);
		fclose(f);
	}
	xasprintf(&text,
	    "Host Alpha beta \"gamma\" # three\n"
	    "  HostName=%%h.Example.ORG\n"
	    "Host beta\n"
	    "\tUser\t'b user'\n"
	    "\tPort = 2201\n"
	    "Host *.corp !secret.corp\n"
	    "  ProxyJump j1,u@j2:2222\n"
	    "Host app.corp secret.corp\n"
	    "  ProxyCommand nc %%h %%p # shell comment\n"
	    "Host outer\n"
	    "  Include %s\n"
	    "  HostName outer.example\n"
	    "Host nj\n  ProxyJump none\n  ProxyCommand socat - TCP:%%h:%%p\n"
	    "Host self !self\n"
	    "Match all\n"
	    "Host inner2\n"
	    "Host *\n"
	    "  User=default\n"
	    "  PORT 22\n",
	    inc);
	f = fopen(main_cfg, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(text);

	c = sshconfig_new();
	CHECK_INT(sshconfig_load_file(c, main_cfg, HOME), 0);
	sshconfig_hosts(c, &h, &n);
	CHECK_INT(n, 8);
	for (size_t i = 0; i < n; i++) {
		if (ssh_g(main_cfg, h[i].name, "hostname", got, sizeof got) == -1) {
			printf("    ssh -G refused %s\n", h[i].name);
			CHECK(!"ssh -G failed");
			continue;
		}
		CHECK_STR(h[i].hostname, got);
		ssh_g(main_cfg, h[i].name, "user", got, sizeof got);
		CHECK_STR(h[i].user != NULL ? h[i].user : pw->pw_name, got);
		ssh_g(main_cfg, h[i].name, "port", got, sizeof got);
		snprintf(want, sizeof want, "%d", h[i].port != 0 ? h[i].port : 22);
		CHECK_STR(want, got);
		ssh_g(main_cfg, h[i].name, "proxyjump", got, sizeof got);
		CHECK_STR(h[i].proxy_jump != NULL ? h[i].proxy_jump : "", got);
		ssh_g(main_cfg, h[i].name, "proxycommand", got, sizeof got);
		CHECK_STR(h[i].proxy_command != NULL ? h[i].proxy_command : "", got);
	}
	sshconfig_free(c);
	unlink(inc);
	unlink(main_cfg);
	rmdir(dir);
}

int
main(void)
{
	UNIT_BEGIN("test_sshconfig");
	RUN(test_spellings);
	RUN(test_crlf_and_tabs);
	RUN(test_first_value_wins);
	RUN(test_multi_name_host);
	RUN(test_wildcards_and_negation);
	RUN(test_unusable_names);
	RUN(test_case);
	RUN(test_hostname_tokens);
	RUN(test_proxies);
	RUN(test_identity);
	RUN(test_match);
	RUN(test_include_resolution);
	RUN(test_include_context);
	RUN(test_include_loop_and_depth);
	RUN(test_include_failures);
	RUN(test_errors);
	RUN(test_messages_are_safe);
	RUN(test_nul_and_ignoreunknown);
	RUN(test_match_pattern);
	RUN(test_reparse_appends);
	RUN(test_fixture_tree);
	RUN(test_load_failures);
	RUN(test_against_ssh);
	UNIT_END();
}
