/* SPDX-License-Identifier: MIT */
/* OpenSSH client configuration reader.  The tokenizer follows OpenSSH's readconf.c and
 * misc.c (strdelim for the keyword, argv_split for the arguments) so that odd spacing,
 * `Key=Value`, quotes, backslashes and comments split exactly as ssh splits them.
 *
 * Parsing turns every file into a flat list of events, Includes expanded in place between
 * ENTER/LEAVE markers.  Which blocks apply depends on the alias, so each concrete alias
 * then walks that list with ssh's state machine (active flag, Include save/restore, and
 * the never-match mode of an Include read inside an inactive block). */
#include "src/ssh/sshconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util/xmalloc.h"

#define WHITESPACE " \t\r\n"

enum ev_kind {
	EV_TOP,       /* a top-level file starts: everything active again */
	EV_ENTER,     /* an included file starts */
	EV_LEAVE,     /* ... and ends: the including block's state comes back */
	EV_HOST,      /* Host patterns */
	EV_MATCH_ALL, /* Match all: applies to everything */
	EV_MATCH,     /* any other Match: not evaluated, its block never applies here */
	EV_OPTION,    /* a keyword line */
};

enum opt {
	OPT_NONE, /* a line we only keep to count its error against the hosts it affects */
	OPT_HOSTNAME,
	OPT_USER,
	OPT_PORT,
	OPT_IDENTITY,
	OPT_PROXYJUMP,
	OPT_PROXYCOMMAND,
};

struct event {
	enum ev_kind kind;
	enum opt opt;
	int bad;    /* the line has an error: count it against hosts it applies to */
	size_t msg; /* index of that error in msgs */
	const char *file;
	unsigned line;
	char **pat; /* EV_HOST */
	size_t npat;
	char *value; /* EV_OPTION; NULL for ProxyJump/ProxyCommand "none" */
	int port;
	int blocks; /* ProxyJump: also claims ProxyCommand (all but a bare "none") */
};

/* A concrete name from a Host line, before duplicates are merged. */
struct alias {
	char *name;
	size_t ev;
};

struct skip_ent {
	char *name;
	const char *file;
	unsigned line;
	char *reason;
	size_t order; /* event index, to list skips in file order */
	size_t seq;   /* ties keep the order they were found in */
};

struct sshconfig {
	char **files; /* interned file names, for msgs and events to point at */
	size_t nfiles;
	struct event *ev;
	size_t nev;
	struct alias *aliases;
	size_t naliases;
	struct skip_ent *pskip; /* found while parsing */
	size_t npskip;
	char **ignore; /* IgnoreUnknown pattern lists */
	size_t nignore;
	struct sshconfig_msg *msgs;
	size_t nmsgs;

	/* Results, rebuilt after every parse. */
	struct sshconfig_host *hosts;
	size_t nhosts;
	struct sshconfig_skip *skips;
	size_t nskips;

	/* From the last parse, for IdentityFile expansion. */
	char *home;
	char *user;
	const char *(*getenv)(void *, const char *);
	void *envarg;

	size_t files_read;
	size_t bytes_read;
};

/* State of one parse: the chain of files being read, for loop detection. */
struct parse {
	struct sshconfig *cfg;
	const struct sshconfig_env *env;
	const char *chain[SSHCONFIG_MAX_DEPTH + 1];
	int depth;
	int errors;
};

/* ---- small helpers --------------------------------------------------------------- */

/* Appending one element at a time: capacity is the next power of two of n. */
#define GROW(arr, n) \
	do { \
		if (((n) & ((n)-1)) == 0) \
			(arr) = xreallocarray((arr), (n) == 0 ? 1 : (n)*2, sizeof *(arr)); \
	} while (0)

/* Config text may hold terminal escapes: never let them reach a message verbatim. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

/* Tabs are fine inside a value (a ProxyCommand may hold them); other control bytes would
 * reach a terminal or a shell when the value is shown or used. */
static int
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 1;
	}
	return 0;
}

static const char *
intern_file(struct sshconfig *cfg, const char *name)
{
	char *copy;

	for (size_t i = 0; i < cfg->nfiles; i++) {
		if (strcmp(cfg->files[i], name) == 0)
			return cfg->files[i];
	}
	copy = xstrdup(name);
	sanitize(copy);
	GROW(cfg->files, cfg->nfiles);
	cfg->files[cfg->nfiles++] = copy;
	return copy;
}

static size_t msg_add(struct sshconfig *cfg, const char *file, unsigned line,
    enum sshconfig_level level, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static size_t
msg_add(struct sshconfig *cfg, const char *file, unsigned line, enum sshconfig_level level,
    const char *fmt, ...)
{
	struct sshconfig_msg *m;
	va_list ap;

	GROW(cfg->msgs, cfg->nmsgs);
	m = &cfg->msgs[cfg->nmsgs];
	m->file = file;
	m->line = line;
	m->level = level;
	va_start(ap, fmt);
	xvasprintf(&m->text, fmt, ap);
	va_end(ap);
	sanitize(m->text);
	return cfg->nmsgs++;
}

static struct event *
ev_push(struct sshconfig *cfg, enum ev_kind kind, const char *file, unsigned line)
{
	struct event *e;

	GROW(cfg->ev, cfg->nev);
	e = &cfg->ev[cfg->nev++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->file = file;
	e->line = line;
	return e;
}

/* An error on a Host or Match line, which changes blocks rather than sitting in one. */
static size_t block_error(struct parse *p, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t
block_error(struct parse *p, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	size_t msg;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	msg = msg_add(p->cfg, file, line, SSHCONFIG_ERROR, "%s", text);
	p->errors++;
	free(text);
	return msg;
}

/* An error on any other line: reported, and kept as an event so that the hosts whose
 * blocks contain it learn that their values may be incomplete. */
static void line_error(struct parse *p, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
line_error(struct parse *p, const char *file, unsigned line, const char *fmt, ...)
{
	struct event *e;
	va_list ap;
	char *text = NULL;
	size_t msg;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	msg = block_error(p, file, line, "%s", text);
	free(text);
	e = ev_push(p->cfg, EV_OPTION, file, line);
	e->opt = OPT_NONE;
	e->bad = 1;
	e->msg = msg;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* order: the event the skip belongs to, so skips list in file order. */
static void
skip_add(struct sshconfig *cfg, const char *name, const char *file, unsigned line,
    const char *reason, size_t order)
{
	struct skip_ent *s;

	GROW(cfg->pskip, cfg->npskip);
	s = &cfg->pskip[cfg->npskip++];
	s->name = xstrdup(name);
	sanitize(s->name);
	s->file = file;
	s->line = line;
	s->reason = xstrdup(reason);
	s->order = order;
}

/* ---- OpenSSH's tokenizer --------------------------------------------------------- */

/* readconf.c strdelim(): the next word, split at whitespace, a quote, or one '=' (which
 * may have whitespace around it).  Returns NULL on an unterminated quote. */
static char *
strdelim(char **s)
{
	char *old;
	int wspace = 0;

	if (*s == NULL)
		return NULL;
	old = *s;
	*s = strpbrk(*s, WHITESPACE "\"=");
	if (*s == NULL)
		return old;
	if (**s == '"') {
		memmove(*s, *s + 1, strlen(*s));
		if ((*s = strpbrk(*s, "\"")) == NULL)
			return NULL;
		**s = '\0';
		*s += strspn(*s + 1, WHITESPACE) + 1;
		return old;
	}
	if (**s == '=')
		wspace = 1;
	**s = '\0';
	*s += strspn(*s + 1, WHITESPACE) + 1;
	if (**s == '=' && !wspace)
		*s += strspn(*s + 1, WHITESPACE) + 1;
	return old;
}

/* misc.c argv_split() with terminate_on_comment: words split at spaces and tabs, '…' and
 * "…" quote (also mid-word), backslash escapes quotes, backslash and (unquoted) space, and
 * a '#' where a word would start ends the line.  -1 on an unterminated quote. */
static int
argv_split(const char *s, char ***avp, size_t *acp)
{
	char **av = NULL, *buf;
	size_t ac = 0, i, j;
	int quote, rc = -1;

	buf = xmalloc(strlen(s) + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '#')
			break;
		quote = 0;
		for (j = 0; s[i] != '\0'; i++) {
			if (s[i] == '\\') {
				if (s[i + 1] == '\'' || s[i + 1] == '"' || s[i + 1] == '\\' ||
				    (quote == 0 && s[i + 1] == ' '))
					i++;
				buf[j++] = s[i];
			} else if (quote == 0 && (s[i] == ' ' || s[i] == '\t'))
				break;
			else if (quote == 0 && (s[i] == '"' || s[i] == '\''))
				quote = s[i];
			else if (quote != 0 && s[i] == quote)
				quote = 0;
			else
				buf[j++] = s[i];
		}
		buf[j] = '\0';
		GROW(av, ac);
		av[ac++] = xstrdup(buf);
		if (s[i] == '\0') {
			if (quote != 0)
				goto out;
			break;
		}
	}
	*avp = av;
	*acp = ac;
	av = NULL;
	ac = 0;
	rc = 0;
out:
	strv_free(av, ac);
	free(buf);
	return rc;
}

/* ---- patterns -------------------------------------------------------------------- */

/* match.c match_pattern() gives the same answers but backtracks exponentially on
 * patterns like "*a*a*a*b"; this is the usual greedy matcher with one backtrack point. */
int
sshconfig_match(const char *s, const char *p)
{
	const char *star = NULL, *retry = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			retry = s;
		} else if (*p != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++retry;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* match.c match_pattern_list() for IgnoreUnknown: comma-separated, '!' negates, and the
 * keyword is already lowercase. */
static int
match_list(const char *s, const char *list)
{
	char *copy = xstrdup(list), *cur = copy, *pat;
	int got = 0, neg;

	while ((pat = strsep(&cur, ",")) != NULL) {
		neg = *pat == '!';
		if (neg)
			pat++;
		for (char *c = pat; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (sshconfig_match(s, pat)) {
			if (neg) {
				got = -1;
				break;
			}
			got = 1;
		}
	}
	free(copy);
	return got;
}

/* readconf.c, Host: inactive unless a pattern matches; a matching negation ends it. */
static int
host_matches(const struct event *e, const char *name)
{
	int active = 0;

	for (size_t i = 0; i < e->npat; i++) {
		const char *pat = e->pat[i];
		int neg = *pat == '!';

		if (sshconfig_match(name, neg ? pat + 1 : pat)) {
			if (neg)
				return 0;
			active = 1;
		}
	}
	return active;
}

/* ---- strings --------------------------------------------------------------------- */

struct strbuf {
	char *s;
	size_t len, cap;
};

static void
sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_str(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* ---- values ---------------------------------------------------------------------- */

/* misc.c a2port(): 1..65535, or the service "ssh" (other service names would need
 * /etc/services, which a pure parser does not read).  -1 when bad. */
static int
parse_port(const char *s)
{
	long v = 0;
	const char *c = s;

	if (strcmp(s, "ssh") == 0)
		return 22;
	if (*c == '+')
		c++;
	if (*c == '\0')
		return -1;
	for (; *c != '\0'; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
		if (v > 65535)
			return -1;
	}
	return v == 0 ? -1 : (int)v;
}

/* misc.c parse_user_host_port() / parse_ssh_uri() for one ProxyJump hop,
 * [ssh://][user[;params]@]host[:port][/], host possibly a [bracketed] IPv6 address.
 * Appends the hop as "[user@]host[:port]" (what `ssh -G` prints); -1 when invalid. */
static int
jump_hop(const char *hop, struct strbuf *out)
{
	char *copy, *s, *at, *host, *port = NULL, *c;
	int uri = 0, rc = -1, n;
	char num[16];

	if (strncmp(hop, "ssh://", 6) == 0) {
		hop += 6;
		uri = 1;
	}
	s = copy = xstrdup(hop);
	if (uri && (c = strchr(s, '/')) != NULL) {
		if (c[1] != '\0')
			goto out; /* a path */
		*c = '\0';
	}
	if ((at = strrchr(s, '@')) != NULL) {
		*at = '\0';
		if (uri && (c = strchr(s, ';')) != NULL)
			*c = '\0';
		if (*s == '\0')
			goto out;
		sb_str(out, s);
		sb_str(out, "@");
		s = at + 1;
	}
	host = s;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (end == NULL || end == s + 1)
			goto out;
		if (end[1] == ':' || (!uri && end[1] == '/'))
			port = end + 2;
		else if (end[1] != '\0')
			goto out;
		end[1] = '\0';
	} else if ((c = strpbrk(s, uri ? ":" : ":/")) != NULL) {
		port = c + 1;
		*c = '\0';
	}
	if (*host == '\0')
		goto out;
	sb_str(out, host);
	if (port != NULL) {
		if ((n = parse_port(port)) == -1)
			goto out;
		snprintf(num, sizeof num, ":%d", n);
		sb_str(out, num);
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* A whole ProxyJump list, normalized; NULL when a hop is invalid. */
static char *
jump_normalize(const char *v)
{
	struct strbuf b = { NULL, 0, 0 };
	char *copy = xstrdup(v), *cur = copy, *hop;

	sb_add(&b, "", 0);
	while ((hop = strsep(&cur, ",")) != NULL) {
		if (b.len > 0)
			sb_str(&b, ",");
		if (jump_hop(hop, &b) == -1) {
			free(b.s);
			b.s = NULL;
			break;
		}
	}
	free(copy);
	return b.s;
}

/* misc.c valid_hostname(): what ssh accepts as a host on its command line. */
static int
alias_usable(const char *s)
{
	if (*s == '-' || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (strchr("'`\"$\\;&<>|(){}", *s) != NULL || isspace((unsigned char)*s) ||
		    iscntrl((unsigned char)*s))
			return 0;
	}
	return 1;
}

/* ---- keywords -------------------------------------------------------------------- */

enum kw {
	KW_OTHER, /* known to ssh, not needed for a profile */
	KW_HOST,
	KW_MATCH,
	KW_INCLUDE,
	KW_HOSTNAME,
	KW_USER,
	KW_PORT,
	KW_IDENTITYFILE,
	KW_PROXYJUMP,
	KW_PROXYCOMMAND,
	KW_IGNOREUNKNOWN,
};

/* Every keyword OpenSSH 9.x/10.x accepts (readconf.c keywords[], checked against
 * Debian's ssh 9.2 with `ssh -G`), plus widespread vendor ones (Debian GSSAPI, HPN,
 * Apple's UseKeychain) so that a config ssh accepts is not called broken. */
static const char *const other_keywords[] = {
	"addkeystoagent",
	"addressfamily",
	"afstokenpassing",
	"batchmode",
	"bindaddress",
	"bindinterface",
	"canonicaldomains",
	"canonicalizefallbacklocal",
	"canonicalizehostname",
	"canonicalizemaxdots",
	"canonicalizepermittedcnames",
	"casignaturealgorithms",
	"certificatefile",
	"challengeresponseauthentication",
	"channeltimeout",
	"checkhostip",
	"cipher",
	"ciphers",
	"clearallforwardings",
	"compression",
	"compressionlevel",
	"connectionattempts",
	"connecttimeout",
	"controlmaster",
	"controlpath",
	"controlpersist",
	"disablemtaes",
	"dsaauthentication",
	"dynamicforward",
	"enableescapecommandline",
	"enablesshkeysign",
	"escapechar",
	"exitonforwardfailure",
	"fallback",
	"fallbackport",
	"fallbacktorsh",
	"fingerprinthash",
	"forkafterauthentication",
	"forwardagent",
	"forwardx11",
	"forwardx11timeout",
	"forwardx11trusted",
	"gatewayports",
	"globalknownhostsfile",
	"globalknownhostsfile2",
	"gssapiauthentication",
	"gssapiclientidentity",
	"gssapidelegatecredentials",
	"gssapikexalgorithms",
	"gssapikeyexchange",
	"gssapirenewalforcesrekey",
	"gssapiserveridentity",
	"gssapitrustdns",
	"hashknownhosts",
	"hostbasedacceptedalgorithms",
	"hostbasedauthentication",
	"hostbasedkeytypes",
	"hostkeyalgorithms",
	"hostkeyalias",
	"hpnbufferlimit",
	"hpnbuffersize",
	"hpndisabled",
	"identitiesonly",
	"identityagent",
	"ipqos",
	"kbdinteractiveauthentication",
	"kbdinteractivedevices",
	"keepalive",
	"kerberosauthentication",
	"kerberostgtpassing",
	"kexalgorithms",
	"knownhostscommand",
	"localcommand",
	"localforward",
	"logfacility",
	"loglevel",
	"logverbose",
	"macs",
	"metrics",
	"metricsinterval",
	"metricspath",
	"nohostauthenticationforlocalhost",
	"noneenabled",
	"nonemacenabled",
	"noneswitch",
	"numberofpasswordprompts",
	"obscurekeystroketiming",
	"passwordauthentication",
	"permitlocalcommand",
	"permitremoteopen",
	"pkcs11provider",
	"preferredauthentications",
	"protocol",
	"protocolkeepalives",
	"proxyusefdpass",
	"pubkeyacceptedalgorithms",
	"pubkeyacceptedkeytypes",
	"pubkeyauthentication",
	"refuseconnection",
	"rekeylimit",
	"remotecommand",
	"remoteforward",
	"requesttty",
	"requiredrsasize",
	"revokedhostkeys",
	"rhostsauthentication",
	"rhostsrsaauthentication",
	"rsaauthentication",
	"securitykeyprovider",
	"sendenv",
	"serveralivecountmax",
	"serveraliveinterval",
	"sessiontype",
	"setenv",
	"setuptimeout",
	"skeyauthentication",
	"smartcarddevice",
	"stdinnull",
	"streamlocalbindmask",
	"streamlocalbindunlink",
	"stricthostkeychecking",
	"syslogfacility",
	"tag",
	"tcpkeepalive",
	"tcprcvbuf",
	"tcprcvbufpoll",
	"tisauthentication",
	"tunnel",
	"tunneldevice",
	"updatehostkeys",
	"useblacklistedkeys",
	"usekeychain",
	"useprivilegedport",
	"userknownhostsfile",
	"userknownhostsfile2",
	"useroaming",
	"usersh",
	"verifyhostkeydns",
	"visualhostkey",
	"warnweakcrypto",
	"xauthlocation",
};

static const struct {
	const char *name;
	enum kw kw;
} profile_keywords[] = {
	{ "host", KW_HOST },
	{ "match", KW_MATCH },
	{ "include", KW_INCLUDE },
	{ "hostname", KW_HOSTNAME },
	{ "user", KW_USER },
	{ "port", KW_PORT },
	{ "identityfile", KW_IDENTITYFILE },
	{ "identityfile2", KW_IDENTITYFILE },
	{ "proxyjump", KW_PROXYJUMP },
	{ "proxycommand", KW_PROXYCOMMAND },
	{ "ignoreunknown", KW_IGNOREUNKNOWN },
};

/* -1: unknown to ssh. */
static int
keyword_lookup(const char *kw)
{
	for (size_t i = 0; i < sizeof profile_keywords / sizeof profile_keywords[0]; i++) {
		if (strcmp(kw, profile_keywords[i].name) == 0)
			return (int)profile_keywords[i].kw;
	}
	for (size_t i = 0; i < sizeof other_keywords / sizeof other_keywords[0]; i++) {
		if (strcmp(kw, other_keywords[i]) == 0)
			return KW_OTHER;
	}
	return -1;
}

/* ---- parsing --------------------------------------------------------------------- */

static void parse_text(struct parse *, const char *, const char *, size_t);

static void
parse_host(struct parse *p, const char *file, unsigned line, char **av, size_t ac)
{
	struct sshconfig *cfg = p->cfg;
	struct event *e;
	size_t n, msg = 0;

	/* readconf.c stops at an empty pattern, keeping what it matched before it. */
	for (n = 0; n < ac && *av[n] != '\0'; n++)
		;
	if (n < ac)
		msg = block_error(p, file, line, "Host has an empty pattern");
	e = ev_push(cfg, EV_HOST, file, line);
	e->pat = xcalloc(n, sizeof *e->pat);
	for (size_t i = 0; i < n; i++)
		e->pat[i] = xstrdup(av[i]);
	e->npat = n;
	if (n < ac) {
		e->bad = 1;
		e->msg = msg;
	}

	for (size_t i = 0; i < n; i++) {
		const char *pat = av[i], *why = NULL;

		if (*pat == '!')
			why = "negated pattern: excludes hosts from this block";
		else if (strpbrk(pat, "*?") != NULL)
			why = "wildcard pattern: its options apply to the aliases it matches";
		else if (strchr(pat, '%') != NULL)
			why = "contains '%': ssh does not expand tokens in Host patterns";
		else if (strchr(pat, '@') != NULL)
			why = "contains '@': `ssh NAME` would read it as user@host";
		else if (!alias_usable(pat))
			why = "ssh rejects this name on its command line "
			      "(space, quote or shell character)";
		if (why != NULL) {
			skip_add(cfg, pat, file, line, why, cfg->nev - 1);
			continue;
		}
		GROW(cfg->aliases, cfg->naliases);
		cfg->aliases[cfg->naliases].name = xstrdup(pat);
		cfg->aliases[cfg->naliases].ev = cfg->nev - 1;
		cfg->naliases++;
	}
}

static const char *const match_criteria[] = {
	"all",
	"canonical",
	"final",
	"exec",
	"localnetwork",
	"host",
	"originalhost",
	"tagged",
	"command",
	"user",
	"localuser",
	"version",
	"sessiontype",
};

/* Only `Match all` is evaluated.  The rest is checked the way readconf.c
 * match_cfg_line() checks it, then its block is skipped. */
static void
parse_match(struct parse *p, const char *file, unsigned line, char **av, size_t ac)
{
	struct sshconfig *cfg = p->cfg;
	char *name = NULL, *tmp;
	int all = 0, others = 0;

	if (ac == 0) {
		block_error(p, file, line, "Match without criteria");
		goto bad;
	}
	for (size_t i = 0; i < ac; i++) {
		const char *c = av[i];
		size_t k;

		if (*c == '!')
			c++;
		for (k = 0; k < sizeof match_criteria / sizeof match_criteria[0]; k++) {
			if (strcasecmp(c, match_criteria[k]) == 0)
				break;
		}
		if (k == sizeof match_criteria / sizeof match_criteria[0]) {
			block_error(p, file, line, "Match has an unknown criterion \"%s\"", av[i]);
			goto bad;
		}
		if (k == 0)
			all = 1;
		else if (k >= 3) {
			others = 1;
			if (i + 1 >= ac) {
				block_error(p, file, line, "Match %s needs an argument", c);
				goto bad;
			}
			i++;
		}
	}
	if (all && others) {
		block_error(p, file, line, "Match all cannot be combined with other criteria");
		goto bad;
	}
	if (ac == 1 && all && av[0][0] != '!') {
		ev_push(cfg, EV_MATCH_ALL, file, line);
		return;
	}
	name = xstrdup("Match");
	for (size_t i = 0; i < ac; i++) {
		xasprintf(&tmp, "%s %s", name, av[i]);
		free(name);
		name = tmp;
	}
	skip_add(cfg, name, file, line,
	    "Match blocks are not evaluated: the options in this block were applied to no "
	    "host",
	    cfg->nev);
	free(name);
	ev_push(cfg, EV_MATCH, file, line);
	return;
bad:
	/* ssh refuses the file; here the block is treated as not matching. */
	ev_push(cfg, EV_MATCH, file, line);
}

static void
files_free(struct sshconfig_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].key);
		free(f[i].text);
		free(f[i].error);
	}
	free(f);
}

static void
include_one(struct parse *p, const char *file, unsigned line, struct sshconfig_file *f)
{
	struct sshconfig *cfg = p->cfg;
	const char *key = f->key != NULL ? f->key : f->path, *name;

	if (f->skip) {
		msg_add(cfg, file, line, SSHCONFIG_NOTE, "Include %s skipped: %s", f->path,
		    f->error != NULL ? f->error : "not a file");
		return;
	}
	if (f->text == NULL) {
		line_error(p, file, line, "cannot read included %s: %s", f->path,
		    f->error != NULL ? f->error : "unknown error");
		return;
	}
	if (p->depth + 1 > SSHCONFIG_MAX_DEPTH) {
		line_error(p, file, line,
		    "Include %s nests deeper than %d files; not read (ssh stops with \"Too many "
		    "recursive configuration includes\")",
		    f->path, SSHCONFIG_MAX_DEPTH);
		return;
	}
	for (int d = 0; d <= p->depth; d++) {
		if (strcmp(p->chain[d], key) == 0) {
			line_error(p, file, line,
			    "Include loop: %s is already being read; not read again", f->path);
			return;
		}
	}
	if (f->len > SSHCONFIG_MAX_FILE) {
		line_error(p, file, line, "included %s is larger than %d bytes; not read", f->path,
		    SSHCONFIG_MAX_FILE);
		return;
	}
	if (cfg->files_read >= SSHCONFIG_MAX_FILES ||
	    cfg->bytes_read + f->len > SSHCONFIG_MAX_BYTES) {
		line_error(p, file, line,
		    "Include %s not read: more than %d files or %d bytes included in all", f->path,
		    SSHCONFIG_MAX_FILES, SSHCONFIG_MAX_BYTES);
		return;
	}
	if (f->error != NULL)
		line_error(p, file, line, "included %s: %s", f->path, f->error);

	cfg->files_read++;
	cfg->bytes_read += f->len;
	name = intern_file(cfg, f->path);
	ev_push(cfg, EV_ENTER, file, line);
	p->chain[++p->depth] = key;
	parse_text(p, name, f->text, f->len);
	p->depth--;
	ev_push(cfg, EV_LEAVE, file, line);
}

/* readconf.c, Include: relative names live in ~/.ssh, each argument is a glob, no match
 * is fine. */
static void
parse_include(struct parse *p, const char *file, unsigned line, char **av, size_t ac)
{
	struct sshconfig *cfg = p->cfg;
	const struct sshconfig_env *env = p->env;

	for (size_t i = 0; i < ac; i++) {
		struct sshconfig_file *files = NULL;
		size_t nfiles = 0;
		char *pattern = NULL, *error = NULL;
		const char *arg = av[i];

		if (*arg == '\0') {
			line_error(p, file, line, "Include has an empty argument");
			return;
		}
		if (arg[0] == '~' && (arg[1] == '/' || arg[1] == '\0'))
			xasprintf(&pattern, "%s%s", env->home, arg + 1);
		else if (arg[0] == '~' || arg[0] == '/')
			pattern = xstrdup(arg);
		else
			xasprintf(&pattern, "%s/.ssh/%s", env->home, arg);

		if (env->include == NULL) {
			msg_add(cfg, file, line, SSHCONFIG_WARNING, "Include %s not followed",
			    pattern);
			free(pattern);
			continue;
		}
		if (env->include(env->arg, pattern, &files, &nfiles, &error) == -1) {
			line_error(p, file, line, "Include %s: %s", pattern,
			    error != NULL ? error : "cannot expand");
			files_free(files, nfiles);
			free(error);
			free(pattern);
			return;
		}
		free(error);
		if (nfiles == 0)
			msg_add(cfg, file, line, SSHCONFIG_NOTE, "Include %s matched no files",
			    pattern);
		for (size_t k = 0; k < nfiles; k++)
			include_one(p, file, line, &files[k]);
		files_free(files, nfiles);
		free(pattern);
	}
}

/* Keywords that take exactly one argument. */
static const char *
single_arg(struct parse *p, const char *file, unsigned line, const char *kw, char **av, size_t ac)
{
	if (ac == 0 || *av[0] == '\0') {
		line_error(p, file, line, "%s: missing argument", kw);
		return NULL;
	}
	if (ac > 1) {
		line_error(p, file, line, "%s: extra arguments at end of line (\"%s\")", kw, av[1]);
		return NULL;
	}
	if (has_control(av[0])) {
		line_error(p, file, line, "%s: value contains a control character", kw);
		return NULL;
	}
	return av[0];
}

static void
option_push(struct parse *p, const char *file, unsigned line, enum opt opt, const char *v)
{
	struct event *e = ev_push(p->cfg, EV_OPTION, file, line);

	e->opt = opt;
	e->value = v != NULL ? xstrdup(v) : NULL;
}

/* The raw rest of the line, as ProxyCommand and ProxyJump take it. */
static const char *
raw_rest(const char *str)
{
	return str + strspn(str, WHITESPACE "=");
}

static void
parse_proxyjump(struct parse *p, const char *file, unsigned line, const char *str)
{
	char *v = xstrdup(raw_rest(str)), *c, *norm = NULL;
	size_t n;

	/* readconf.c parse_jump(): a '#' anywhere starts a comment. */
	if ((c = strchr(v, '#')) != NULL)
		*c = '\0';
	for (n = strlen(v); n > 0 && strchr(WHITESPACE, v[n - 1]) != NULL; n--)
		v[n - 1] = '\0';
	if (*v == '\0')
		line_error(p, file, line, "ProxyJump: missing argument");
	else if (has_control(v))
		line_error(p, file, line, "ProxyJump: value contains a control character");
	else if (strcasecmp(v, "none") == 0) {
		/* ssh compares the unstripped value: for it "none # x" is a jump host
		 * called "none", which claims the ProxyCommand slot too. */
		option_push(p, file, line, OPT_PROXYJUMP, NULL);
		if (strcasecmp(raw_rest(str), "none") != 0) {
			p->cfg->ev[p->cfg->nev - 1].blocks = 1;
			msg_add(p->cfg, file, line, SSHCONFIG_WARNING,
			    "ssh reads \"ProxyJump none\" followed by a comment as a jump "
			    "through a host named \"none\"; taken as none here, but move the "
			    "comment to its own line");
		}
	} else if ((norm = jump_normalize(v)) == NULL)
		line_error(p, file, line,
		    "invalid ProxyJump \"%s\" (want [user@]host[:port][,...])", v);
	else {
		if (strpbrk(v, "\"'") != NULL)
			msg_add(p->cfg, file, line, SSHCONFIG_WARNING,
			    "ProxyJump is taken literally, quotes included: \"%s\"", v);
		option_push(p, file, line, OPT_PROXYJUMP, norm);
		p->cfg->ev[p->cfg->nev - 1].blocks = 1;
	}
	free(norm);
	free(v);
}

static void
parse_line(struct parse *p, const char *file, unsigned line, char *buf)
{
	struct sshconfig *cfg = p->cfg;
	char *str, *kw, *typed = NULL, **av = NULL;
	const char *v;
	size_t ac = 0, len;
	int k, port, cr;

	/* readconf.c: strip trailing whitespace (and form feeds) first. */
	for (len = strlen(buf); len > 0 && strchr(WHITESPACE "\f", buf[len - 1]) != NULL; len--)
		buf[len - 1] = '\0';
	cr = strchr(buf, '\r') != NULL;

	str = buf;
	kw = strdelim(&str);
	if (kw != NULL && *kw == '\0') {
		if (str == NULL)
			return; /* blank */
		kw = strdelim(&str);
	}
	if (kw == NULL) {
		msg_add(cfg, file, line, SSHCONFIG_WARNING,
		    "unterminated quote before the arguments; ssh ignores this line");
		return;
	}
	if (*kw == '\0' || *kw == '#')
		return;
	if (cr) {
		/* ssh would read "a\rb" as one word: old Mac line endings or a mangled file. */
		line_error(p, file, line, "carriage return inside the line; line ignored");
		return;
	}
	typed = xstrdup(kw);
	sanitize(typed);
	for (char *c = kw; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);

	if (str != NULL)
		str += strspn(str, WHITESPACE);
	if (str == NULL || *str == '\0') {
		line_error(p, file, line, "no argument after keyword \"%s\"", typed);
		goto out;
	}
	if ((k = keyword_lookup(kw)) == -1) {
		for (size_t i = 0; i < cfg->nignore; i++) {
			if (match_list(kw, cfg->ignore[i]) == 1)
				goto out;
		}
		line_error(p, file, line,
		    "unknown keyword \"%s\" (ssh stops with \"Bad configuration option\")", typed);
		goto out;
	}
	if (argv_split(str, &av, &ac) == -1) {
		line_error(p, file, line, "%s: unterminated quote", typed);
		goto out;
	}

	switch ((enum kw)k) {
	case KW_OTHER:
		break;
	case KW_HOST:
		parse_host(p, file, line, av, ac);
		break;
	case KW_MATCH:
		parse_match(p, file, line, av, ac);
		break;
	case KW_INCLUDE:
		parse_include(p, file, line, av, ac);
		break;
	case KW_HOSTNAME:
		if ((v = single_arg(p, file, line, typed, av, ac)) != NULL)
			option_push(p, file, line, OPT_HOSTNAME, v);
		break;
	case KW_USER:
		if ((v = single_arg(p, file, line, typed, av, ac)) != NULL)
			option_push(p, file, line, OPT_USER, v);
		break;
	case KW_IDENTITYFILE:
		if ((v = single_arg(p, file, line, typed, av, ac)) != NULL)
			option_push(p, file, line, OPT_IDENTITY, v);
		break;
	case KW_PORT:
		if ((v = single_arg(p, file, line, typed, av, ac)) == NULL)
			break;
		if ((port = parse_port(v)) == -1) {
			line_error(p, file, line, "bad port \"%s\": want a number from 1 to 65535",
			    v);
			break;
		}
		option_push(p, file, line, OPT_PORT, NULL);
		cfg->ev[cfg->nev - 1].port = port;
		break;
	case KW_PROXYCOMMAND:
		/* Verbatim: quotes and a trailing "# ..." belong to the shell command. */
		v = raw_rest(str);
		if (has_control(v))
			line_error(p, file, line, "ProxyCommand contains a control character");
		else
			option_push(p, file, line, OPT_PROXYCOMMAND,
			    strcmp(v, "none") == 0 ? NULL : v);
		break;
	case KW_PROXYJUMP:
		parse_proxyjump(p, file, line, str);
		break;
	case KW_IGNOREUNKNOWN:
		if ((v = single_arg(p, file, line, typed, av, ac)) != NULL) {
			GROW(cfg->ignore, cfg->nignore);
			cfg->ignore[cfg->nignore++] = xstrdup(v);
		}
		break;
	}
out:
	strv_free(av, ac);
	free(typed);
}

static void
parse_text(struct parse *p, const char *file, const char *text, size_t len)
{
	size_t start = 0, n;
	unsigned line = 0;
	const char *nl;
	char *buf;

	while (start < len) {
		nl = memchr(text + start, '\n', len - start);
		n = nl != NULL ? (size_t)(nl - (text + start)) : len - start;
		if (line < UINT_MAX)
			line++;
		if (n > SSHCONFIG_MAX_LINE)
			line_error(p, file, line, "line longer than %d bytes; ignored",
			    SSHCONFIG_MAX_LINE);
		else if (memchr(text + start, '\0', n) != NULL)
			line_error(p, file, line, "line contains a NUL byte; ignored");
		else {
			buf = xmalloc(n + 1);
			memcpy(buf, text + start, n);
			buf[n] = '\0';
			parse_line(p, file, line, buf);
			free(buf);
		}
		start += n + 1;
	}
}

/* ---- effective values per alias -------------------------------------------------- */

struct noteset {
	char **v;
	size_t n;
};

static void note_add(struct noteset *ns, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
note_add(struct noteset *ns, const char *file, unsigned line, const char *fmt, ...)
{
	char *text = NULL, *full = NULL;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	xasprintf(&full, "%s:%u: %s", file, line, text);
	free(text);
	sanitize(full);
	GROW(ns->v, ns->n);
	ns->v[ns->n++] = full;
}

/* ssh.c: HostName knows only %h (the alias) and %%; anything else is fatal there. */
static char *
expand_hostname(const char *raw, const char *alias, char *bad)
{
	struct strbuf b = { NULL, 0, 0 };

	sb_add(&b, "", 0);
	*bad = '\0';
	for (const char *c = raw; *c != '\0'; c++) {
		if (*c != '%') {
			sb_add(&b, c, 1);
			continue;
		}
		if (c[1] == '%')
			sb_add(&b, "%", 1);
		else if (c[1] == 'h')
			sb_str(&b, alias);
		else {
			*bad = c[1] == '\0' ? '%' : c[1];
			free(b.s);
			return NULL;
		}
		c++;
	}
	/* ssh lowercases names but leaves addresses (and IPv6 zone names) alone. */
	if (strchr(b.s, ':') == NULL) {
		for (char *c = b.s; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	return b.s;
}

/* IdentityFile as ssh.c loads it: tilde_expand_filename(), then %-tokens and ${VAR}.
 * Tokens that need the running connection (%C %i %j %k %l %L %T) are left as written and
 * reported. */
static char *
expand_identity(const struct sshconfig *cfg, const struct event *e, const struct sshconfig_host *h,
    struct noteset *ns)
{
	struct strbuf b = { NULL, 0, 0 };
	const char *c = e->value, *ruser = h->user != NULL ? h->user : cfg->user;
	char port[16];
	int unexpanded = 0;

	sb_add(&b, "", 0);
	if (c[0] == '~' && (c[1] == '/' || c[1] == '\0')) {
		sb_str(&b, cfg->home);
		c++;
	} else if (c[0] == '~')
		note_add(ns, e->file, e->line, "IdentityFile %s: ~user is not expanded", c);
	snprintf(port, sizeof port, "%d", h->port != 0 ? h->port : 22);

	for (; *c != '\0'; c++) {
		const char *val = NULL;

		if (c[0] == '$' && c[1] == '{') {
			const char *end = strchr(c + 2, '}');
			char *name;

			if (end != NULL) {
				name = xstrndup(c + 2, (size_t)(end - c - 2));
				if (cfg->getenv != NULL)
					val = cfg->getenv(cfg->envarg, name);
				free(name);
				if (val != NULL) {
					sb_str(&b, val);
					c = end;
					continue;
				}
			}
			unexpanded = 1;
			sb_add(&b, c, 1);
			continue;
		}
		if (c[0] != '%' || c[1] == '\0') {
			if (c[0] == '%')
				unexpanded = 1;
			sb_add(&b, c, 1);
			continue;
		}
		switch (c[1]) {
		case '%':
			val = "%";
			break;
		case 'd':
			val = cfg->home;
			break;
		case 'h':
			val = h->hostname;
			break;
		case 'n':
			val = h->name;
			break;
		case 'p':
			val = port;
			break;
		case 'r':
			val = ruser;
			break;
		case 'u':
			val = cfg->user;
			break;
		}
		if (val == NULL) {
			unexpanded = 1;
			sb_add(&b, c, 2);
		} else
			sb_str(&b, val);
		c++;
	}
	if (unexpanded)
		note_add(ns, e->file, e->line,
		    "IdentityFile %s: some %%-tokens or ${VARIABLES} could not be expanded "
		    "here and are kept as written",
		    e->value);
	return b.s;
}

struct walk {
	const struct event *hostname, *user, *port, *identity, *def;
	const struct event **more_ids; /* IdentityFiles after the first */
	size_t nmore;
	/* ssh keeps two slots: a ProxyJump other than a bare "none" also fills the
	 * ProxyCommand slot (with "none"), and a ProxyCommand blocks later ProxyJumps. */
	const struct event *jump, *command;
	const struct event *shadowed, *shadower; /* first Proxy* lost to the other kind */
	unsigned errors;
};

static void
walk_alias(const struct sshconfig *cfg, const char *name, struct walk *w, struct noteset *ns)
{
	struct {
		int active, never;
	} stack[SSHCONFIG_MAX_DEPTH + 1];
	int active = 1, never = 0, sp = 0;

	for (size_t i = 0; i < cfg->nev; i++) {
		const struct event *e = &cfg->ev[i];

		switch (e->kind) {
		case EV_TOP:
			active = 1;
			never = 0;
			sp = 0;
			break;
		case EV_ENTER:
			/* readconf.c: an Include read in an inactive block never matches. */
			if (sp < SSHCONFIG_MAX_DEPTH + 1) {
				stack[sp].active = active;
				stack[sp].never = never;
				sp++;
			}
			never = never || !active;
			break;
		case EV_LEAVE:
			if (sp > 0) {
				sp--;
				active = stack[sp].active;
				never = stack[sp].never;
			}
			break;
		case EV_HOST:
			active = !never && host_matches(e, name);
			if (!active)
				break;
			if (w->def == NULL) {
				for (size_t k = 0; k < e->npat; k++) {
					if (strcmp(e->pat[k], name) == 0)
						w->def = e;
				}
			}
			if (e->bad) {
				w->errors++;
				note_add(ns, e->file, e->line, "%s", cfg->msgs[e->msg].text);
			}
			break;
		case EV_MATCH_ALL:
			active = !never;
			break;
		case EV_MATCH:
			active = 0;
			break;
		case EV_OPTION:
			if (!active)
				break;
			if (e->bad) {
				w->errors++;
				note_add(ns, e->file, e->line, "%s", cfg->msgs[e->msg].text);
				break;
			}
			switch (e->opt) {
			case OPT_NONE:
				break;
			case OPT_HOSTNAME:
				if (w->hostname == NULL)
					w->hostname = e;
				break;
			case OPT_USER:
				if (w->user == NULL)
					w->user = e;
				break;
			case OPT_PORT:
				if (w->port == NULL)
					w->port = e;
				break;
			case OPT_IDENTITY:
				if (w->identity == NULL)
					w->identity = e;
				else {
					GROW(w->more_ids, w->nmore);
					w->more_ids[w->nmore++] = e;
				}
				break;
			case OPT_PROXYJUMP:
				if (w->jump == NULL && w->command == NULL) {
					w->jump = e;
					if (e->blocks)
						w->command = e;
				} else if (w->jump == NULL && w->shadowed == NULL &&
				    e->value != NULL) {
					w->shadowed = e;
					w->shadower = w->command;
				}
				break;
			case OPT_PROXYCOMMAND:
				if (w->command == NULL)
					w->command = e;
				else if (w->command->opt != e->opt && w->shadowed == NULL &&
				    e->value != NULL) {
					w->shadowed = e;
					w->shadower = w->command;
				}
				break;
			}
			break;
		}
	}
}

static const char *
opt_name(enum opt o)
{
	return o == OPT_PROXYJUMP ? "ProxyJump" : "ProxyCommand";
}

/* Returns 0 and fills h, or -1 when own is set and ssh never applies the alias's own
 * Host line (with own == 0 any name gets the settings its matching blocks give). */
static int
host_compute(const struct sshconfig *cfg, const char *name, struct sshconfig_host *h, int own)
{
	struct walk w;
	struct noteset ns = { NULL, 0 };
	char bad;

	memset(&w, 0, sizeof w);
	memset(h, 0, sizeof *h);
	walk_alias(cfg, name, &w, &ns);
	if (w.def == NULL && own) {
		strv_free(ns.v, ns.n);
		free(w.more_ids);
		return -1;
	}
	h->name = xstrdup(name);
	h->file = w.def != NULL ? w.def->file : NULL;
	h->line = w.def != NULL ? w.def->line : 0;
	h->errors = w.errors;

	if (w.hostname == NULL)
		h->hostname = expand_hostname("%h", name, &bad);
	else if ((h->hostname = expand_hostname(w.hostname->value, name, &bad)) == NULL) {
		h->errors++;
		note_add(&ns, w.hostname->file, w.hostname->line,
		    "HostName %s: unknown token %%%c (ssh stops with \"percent_expand: "
		    "unknown key\"); kept as written",
		    w.hostname->value, bad);
		h->hostname = xstrdup(w.hostname->value);
	}
	if (w.user != NULL)
		h->user = xstrdup(w.user->value);
	if (w.port != NULL)
		h->port = w.port->port;

	if (w.identity != NULL && strcasecmp(w.identity->value, "none") == 0)
		note_add(&ns, w.identity->file, w.identity->line,
		    "IdentityFile none: no key file; the profile uses the agent and defaults");
	else if (w.identity != NULL) {
		h->identity = expand_identity(cfg, w.identity, h, &ns);
		if (h->identity[0] != '/' && h->identity[0] != '~')
			note_add(&ns, w.identity->file, w.identity->line,
			    "IdentityFile %s is relative: ssh looks for it in the directory "
			    "it runs in; kept as written",
			    h->identity);
	}
	for (size_t i = 0; i < w.nmore; i++)
		note_add(&ns, w.more_ids[i]->file, w.more_ids[i]->line,
		    "IdentityFile %s ignored: a profile keeps one key, the first (%s:%u); "
		    "ssh would try this one too",
		    w.more_ids[i]->value, w.identity->file, w.identity->line);

	if (w.jump != NULL && w.jump->value != NULL)
		h->proxy_jump = xstrdup(w.jump->value);
	else if (w.command != NULL && w.command->opt == OPT_PROXYCOMMAND &&
	    w.command->value != NULL)
		h->proxy_command = xstrdup(w.command->value);
	if (w.shadowed != NULL)
		note_add(&ns, w.shadowed->file, w.shadowed->line,
		    "%s ignored: %s %s at %s:%u comes first, and ssh uses only one of them",
		    opt_name(w.shadowed->opt), opt_name(w.shadower->opt),
		    w.shadower->value != NULL ? w.shadower->value : "none", w.shadower->file,
		    w.shadower->line);

	h->notes = ns.v;
	h->nnotes = ns.n;
	free(w.more_ids);
	return 0;
}

static void
host_clear(struct sshconfig_host *h)
{
	free(h->name);
	free(h->hostname);
	free(h->user);
	free(h->identity);
	free(h->proxy_jump);
	free(h->proxy_command);
	strv_free(h->notes, h->nnotes);
}

void
sshconfig_lookup(const struct sshconfig *cfg, const char *name, struct sshconfig_host *h)
{
	host_compute(cfg, name, h, 0);
}

void
sshconfig_host_clear(struct sshconfig_host *h)
{
	host_clear(h);
	memset(h, 0, sizeof *h);
}

static void
results_clear(struct sshconfig *cfg)
{
	for (size_t i = 0; i < cfg->nhosts; i++)
		host_clear(&cfg->hosts[i]);
	free(cfg->hosts);
	cfg->hosts = NULL;
	cfg->nhosts = 0;
	for (size_t i = 0; i < cfg->nskips; i++) {
		free(cfg->skips[i].name);
		free(cfg->skips[i].reason);
	}
	free(cfg->skips);
	cfg->skips = NULL;
	cfg->nskips = 0;
}

struct sorted_alias {
	const char *name;
	size_t idx;
};

static int
sorted_alias_cmp(const void *a, const void *b)
{
	const struct sorted_alias *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
skip_cmp(const void *a, const void *b)
{
	const struct skip_ent *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
results_build(struct sshconfig *cfg)
{
	struct sorted_alias *sorted = NULL;
	struct skip_ent *all = NULL;
	char *first = NULL;
	size_t nall = 0;

	results_clear(cfg);

	/* Merge duplicate aliases, keeping the first appearance. */
	first = xcalloc(cfg->naliases, 1);
	sorted = xcalloc(cfg->naliases, sizeof *sorted);
	for (size_t i = 0; i < cfg->naliases; i++) {
		sorted[i].name = cfg->aliases[i].name;
		sorted[i].idx = i;
	}
	qsort(sorted, cfg->naliases, sizeof *sorted, sorted_alias_cmp);
	for (size_t i = 0; i < cfg->naliases; i++) {
		if (i == 0 || strcmp(sorted[i].name, sorted[i - 1].name) != 0)
			first[sorted[i].idx] = 1;
	}

	all = xcalloc(cfg->npskip + cfg->naliases, sizeof *all);
	for (size_t i = 0; i < cfg->npskip; i++)
		all[nall++] = cfg->pskip[i];
	cfg->hosts = xcalloc(cfg->naliases, sizeof *cfg->hosts);
	for (size_t i = 0; i < cfg->naliases; i++) {
		const struct alias *a = &cfg->aliases[i];
		const struct event *e = &cfg->ev[a->ev];

		if (!first[i])
			continue;
		if (host_compute(cfg, a->name, &cfg->hosts[cfg->nhosts], 1) == 0) {
			cfg->nhosts++;
			continue;
		}
		all[nall].name = a->name;
		all[nall].file = e->file;
		all[nall].line = e->line;
		all[nall].reason = "ssh never applies this Host line to this name (it is "
		                   "negated on the same line, or inside an Include read "
		                   "under a block that does not match it)";
		all[nall].order = a->ev;
		nall++;
	}

	for (size_t i = 0; i < nall; i++)
		all[i].seq = i;
	qsort(all, nall, sizeof *all, skip_cmp);
	cfg->skips = xcalloc(nall, sizeof *cfg->skips);
	for (size_t i = 0; i < nall; i++) {
		cfg->skips[i].name = xstrdup(all[i].name);
		sanitize(cfg->skips[i].name);
		cfg->skips[i].file = all[i].file;
		cfg->skips[i].line = all[i].line;
		cfg->skips[i].reason = xstrdup(all[i].reason);
	}
	cfg->nskips = nall;

	free(all);
	free(sorted);
	free(first);
}

/* ---- public ---------------------------------------------------------------------- */

struct sshconfig *
sshconfig_new(void)
{
	return xcalloc(1, sizeof(struct sshconfig));
}

void
sshconfig_free(struct sshconfig *cfg)
{
	if (cfg == NULL)
		return;
	results_clear(cfg);
	for (size_t i = 0; i < cfg->nev; i++) {
		strv_free(cfg->ev[i].pat, cfg->ev[i].npat);
		free(cfg->ev[i].value);
	}
	free(cfg->ev);
	for (size_t i = 0; i < cfg->naliases; i++)
		free(cfg->aliases[i].name);
	free(cfg->aliases);
	for (size_t i = 0; i < cfg->npskip; i++) {
		free(cfg->pskip[i].name);
		free(cfg->pskip[i].reason);
	}
	free(cfg->pskip);
	strv_free(cfg->ignore, cfg->nignore);
	for (size_t i = 0; i < cfg->nmsgs; i++)
		free(cfg->msgs[i].text);
	free(cfg->msgs);
	strv_free(cfg->files, cfg->nfiles);
	free(cfg->home);
	free(cfg->user);
	free(cfg);
}

static int
parse_top(struct sshconfig *cfg, const char *text, size_t len, const char *filename,
    const char *key, const struct sshconfig_env *env)
{
	struct parse p;
	const char *name;

	if (env == NULL || env->home == NULL)
		fatalx("sshconfig: no home directory given");
	free(cfg->home);
	free(cfg->user);
	cfg->home = xstrdup(env->home);
	cfg->user = env->user != NULL ? xstrdup(env->user) : NULL;
	cfg->getenv = env->getenv;
	cfg->envarg = env->arg;

	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	p.env = env;
	p.chain[0] = key;
	name = intern_file(cfg, filename);
	ev_push(cfg, EV_TOP, name, 0);
	if (len > SSHCONFIG_MAX_FILE) {
		msg_add(cfg, name, 0, SSHCONFIG_ERROR, "larger than %d bytes; not read",
		    SSHCONFIG_MAX_FILE);
		p.errors++;
	} else {
		cfg->files_read++;
		cfg->bytes_read += len;
		parse_text(&p, name, text, len);
	}
	results_build(cfg);
	return p.errors > 0 ? -1 : 0;
}

int
sshconfig_parse_buffer(struct sshconfig *cfg, const char *text, size_t len, const char *filename,
    const struct sshconfig_env *env)
{
	return parse_top(cfg, text, len, filename, filename, env);
}

void
sshconfig_hosts(const struct sshconfig *cfg, const struct sshconfig_host **out, size_t *n)
{
	*out = cfg->hosts;
	*n = cfg->nhosts;
}

void
sshconfig_skipped(const struct sshconfig *cfg, const struct sshconfig_skip **out, size_t *n)
{
	*out = cfg->skips;
	*n = cfg->nskips;
}

void
sshconfig_messages(const struct sshconfig *cfg, const struct sshconfig_msg **out, size_t *n)
{
	*out = cfg->msgs;
	*n = cfg->nmsgs;
}

size_t
sshconfig_count(const struct sshconfig *cfg, enum sshconfig_level level)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nmsgs; i++) {
		if (cfg->msgs[i].level == level)
			n++;
	}
	return n;
}

/* ---- files ----------------------------------------------------------------------- */

/* Reads one config file.  0 with *text, possibly with *error about permissions ssh would
 * refuse; -1 with *error when there is nothing to parse (*skip for a directory, which
 * ssh reads as empty). */
static int
file_read(const char *path, int checkperm, char **text, size_t *len, char **error, int *skip)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	ssize_t r;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	*error = NULL;
	*skip = 0;
	/* O_NONBLOCK: a FIFO named like a config file must not hang the import. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) == -1) {
		*error = xstrdup(strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*error = xstrdup(strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		*error = xstrdup("a directory");
		*skip = 1;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*error = xstrdup("not a regular file");
		goto out;
	}
	if (st.st_size > SSHCONFIG_MAX_FILE) {
		xasprintf(error, "larger than %d bytes", SSHCONFIG_MAX_FILE);
		goto out;
	}
	buf = xmalloc(SSHCONFIG_MAX_FILE + 1);
	while (have <= SSHCONFIG_MAX_FILE) {
		r = read(fd, buf + have, SSHCONFIG_MAX_FILE + 1 - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*error = xstrdup(strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have > SSHCONFIG_MAX_FILE) {
		xasprintf(error, "larger than %d bytes", SSHCONFIG_MAX_FILE);
		goto out;
	}
	/* readconf.c SSHCONF_CHECKPERM. */
	if (checkperm && ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & 022)))
		*error = xstrdup("bad owner or permissions (ssh refuses files that others "
		                 "can write)");
	*text = xreallocarray(buf, have + 1, 1);
	(*text)[have] = '\0';
	*len = have;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
load_include(void *arg, const char *pattern, struct sshconfig_file **out, size_t *nout,
    char **error)
{
	glob_t gl;
	struct sshconfig_file *files;
	char *real;
	int r;

	(void)arg;
	memset(&gl, 0, sizeof gl);
	r = glob(pattern, GLOB_TILDE, NULL, &gl);
	if (r == GLOB_NOMATCH) {
		globfree(&gl);
		return 0;
	}
	if (r != 0) {
		globfree(&gl);
		*error = xstrdup(r == GLOB_NOSPACE ? "out of memory" : "glob failed");
		return -1;
	}
	files = xcalloc(gl.gl_pathc, sizeof *files);
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		files[i].path = xstrdup(gl.gl_pathv[i]);
		if ((real = realpath(gl.gl_pathv[i], NULL)) != NULL) {
			files[i].key = xstrdup(real);
			free(real);
		}
		(void)file_read(gl.gl_pathv[i], 1, &files[i].text, &files[i].len, &files[i].error,
		    &files[i].skip);
	}
	*out = files;
	*nout = gl.gl_pathc;
	globfree(&gl);
	return 0;
}

static const char *
load_getenv(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

int
sshconfig_load_file(struct sshconfig *cfg, const char *path, const char *home)
{
	struct sshconfig_env env;
	struct passwd *pw;
	char *def = NULL, *text = NULL, *error = NULL, *real = NULL;
	const char *name;
	size_t len;
	int skip, rc = -1, bad = 0;

	if (home == NULL)
		fatalx("sshconfig_load_file: no home directory given");
	memset(&env, 0, sizeof env);
	env.home = home;
	if ((pw = getpwuid(getuid())) != NULL)
		env.user = pw->pw_name;
	env.getenv = load_getenv;
	env.include = load_include;

	if (path == NULL) {
		xasprintf(&def, "%s/.ssh/config", home);
		path = def;
	}
	if (file_read(path, def != NULL, &text, &len, &error, &skip) == -1) {
		name = intern_file(cfg, path);
		msg_add(cfg, name, 0, SSHCONFIG_ERROR, "cannot read: %s", error);
		goto out;
	}
	if (error != NULL) {
		name = intern_file(cfg, path);
		msg_add(cfg, name, 0, SSHCONFIG_ERROR, "%s", error);
		bad = 1;
	}
	real = realpath(path, NULL);
	rc = parse_top(cfg, text, len, path, real != NULL ? real : path, &env);
	if (bad)
		rc = -1;
out:
	free(real);
	free(text);
	free(error);
	free(def);
	return rc;
}
