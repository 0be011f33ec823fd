/* SPDX-License-Identifier: MIT */
#include "src/ssh/profile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "src/util/paths.h"
#include "src/ssh/proxyurl.h"
#include "src/ssh/resolve.h"
#include "src/util/xmalloc.h"

#define MAX_IDLE_TIMEOUT (10LL * 365 * 24 * 3600)

const struct profile_option profile_options[] = {
	{ "host", "HOST", "host name or address to reach (required for add)", 0 },
	{ "port", "N", "ssh port (default 22)", 0 },
	{ "user", "USER", "login user (default: the current user)", 0 },
	{ "identity", "FILE", "private key file (default: agent and ssh's defaults)", 0 },
	{ "proxy", "URL", "none, socks5://, socks5h:// or http://[USER:PASS@]HOST:PORT", 0 },
	{ "jump", "[USER@]HOST[:PORT]", "ProxyJump host(s), comma-separated", 0 },
	{ "proxy-command", "CMD", "ProxyCommand, run by /bin/sh as ssh would", 0 },
	{ "transport", "MODE", "auto, udp, tcp or command (default auto)", 0 },
	{ "tunnel-command", "TEMPLATE",
	    "for transport command; {{host}} {{port}} {{user}} "
	    "{{mosh_port}} {{local_port}}",
	    0 },
	{ "server-command", "PATH", "mosh-server on the host (default mosh-server)", 0 },
	{ "locale", "NAME=VALUE", "locale for mosh-server, e.g. LANG=C.UTF-8 (repeatable)", 1 },
	{ "predict", "MODE", "adaptive, always, never or experimental", 0 },
	{ "known-hosts", "FILE", "known_hosts file (default ~/.ssh/known_hosts)", 0 },
	{ "hostkey-policy", "POLICY", "ask, accept-new or strict (default ask)", 0 },
	{ "idle-timeout", "SECONDS",
	    "end a mosh-server without a client after this long "
	    "(s/m/h/d suffixes; 0 never; default 7d)",
	    0 },
	{ "tag", "TAG", "a tag for grouping (repeatable)", 1 },
	{ "server-port", "PORT[:PORT2]",
	    "mosh-server's UDP port or range (mosh -p; none: "
	    "mosh's 60001-60999)",
	    0 },
	{ "bind-server", "ssh|any|ADDR",
	    "where mosh-server listens for UDP (mosh "
	    "--bind-server; default ssh: the address ssh reached)",
	    0 },
	{ "family", "FAMILY",
	    "address family for ssh and mosh's UDP (mosh --family): all "
	    "(default), inet, inet6, prefer-inet, prefer-inet6 or auto",
	    0 },
	{ "no-init", NULL,
	    "mosh-client leaves the terminal's init strings alone (mosh "
	    "--no-init)",
	    0 },
	{ "init", NULL, "mosh-client initialises the terminal (default)", 0 },
	{ "auto-clean", NULL, "clean this host's orphaned mosh-servers after connecting", 0 },
	{ "no-auto-clean", NULL, "do not clean orphans automatically (default)", 0 },
	{ NULL, NULL, NULL, 0 },
};

const struct profile_option *
profile_option_find(const char *name, size_t len)
{
	for (const struct profile_option *o = profile_options; o->name != NULL; o++) {
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

static int errf(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
errf(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Control characters, including newlines, never belong in a profile field. */
static int
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* A value as it may be shown in a message: control characters become '?', and long
 * values are cut.  One static buffer: one value per message. */
static const char *
shown(const char *s)
{
	static char buf[72];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof buf - 4; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static int
all_in(const char *s, const char *extra)
{
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	}
	return 1;
}

int
profile_check_name(const char *s, char **err)
{
	if (*s == '\0')
		return errf(err, "the name is empty");
	if (strlen(s) > 64)
		return errf(err, "the name is longer than 64 characters");
	if (!all_in(s, ".-_"))
		return errf(err, "'%s' has characters other than letters, digits, '.', '-', '_'",
		    shown(s));
	if (*s == '-' || *s == '.')
		return errf(err, "the name must not start with '%c'", *s);
	return 0;
}

int
profile_check_hostname(const char *s, char **err)
{
	unsigned char buf[sizeof(struct in6_addr)];
	size_t label = 0;

	if (*s == '\0')
		return errf(err, "the host name is empty");
	if (strlen(s) > 253)
		return errf(err, "the host name is longer than 253 characters");
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, buf) == 1)
			return 0;
		return errf(err, "'%s' is not a valid IPv6 address", shown(s));
	}
	if (*s == '-')
		return errf(err, "the host name must not start with '-'");
	if (!all_in(s, ".-_"))
		return errf(err, "'%s' is not a host name (letters, digits, '-', '.' only)",
		    shown(s));
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return errf(err, "'%s' has an empty label", shown(s));
			label = 0;
		} else if (++label > 63)
			return errf(err, "'%s' has a label longer than 63 characters", shown(s));
	}
	return 0;
}

static int
profile_check_user(const char *s, char **err)
{
	if (*s == '\0')
		return errf(err, "the user name is empty");
	if (strlen(s) > 32)
		return errf(err, "the user name is longer than 32 characters");
	if (*s == '-')
		return errf(err, "the user name must not start with '-'");
	if (!all_in(s, "._-"))
		return errf(err, "'%s' is not a user name (letters, digits, '.', '_', '-')",
		    shown(s));
	return 0;
}

static int
profile_check_port(const char *s, int *port, char **err)
{
	long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return errf(err, "'%s' is not a port number (1-65535)", shown(s));
	for (const char *p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return errf(err, "'%s' is not a port number (1-65535)", shown(s));
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return errf(err, "'%s' is not a port number (1-65535)", shown(s));
	if (port != NULL)
		*port = (int)v;
	return 0;
}

static int
profile_check_path(const char *s, char **err)
{
	if (*s == '\0')
		return errf(err, "the path is empty");
	if (strlen(s) > 4096)
		return errf(err, "the path is longer than 4096 characters");
	if (has_control(s))
		return errf(err, "the path contains control characters");
	if (*s != '/' && !(s[0] == '~' && (s[1] == '/' || s[1] == '\0')))
		return errf(err, "'%s' is relative; use an absolute path or ~/...", shown(s));
	return 0;
}

int
profile_parse_target(const char *spec, char **user, char **host, int *port, char **err)
{
	char *copy = xstrdup(spec), *h, *at, *p = NULL, *end;
	int rc = -1, pn = 0;

	*user = *host = NULL;
	*port = 0;
	h = copy;
	if (has_control(spec)) {
		errf(err, "'%s' has control characters", shown(spec));
		goto out;
	}
	if ((at = strrchr(copy, '@')) != NULL) {
		*at = '\0';
		if (profile_check_user(copy, err) == -1)
			goto out;
		h = at + 1;
	}
	if (*h == '[') {
		if ((end = strchr(h, ']')) == NULL) {
			errf(err, "'%s': unterminated '['", shown(spec));
			goto out;
		}
		*end = '\0';
		h++;
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] != '\0') {
			errf(err, "'%s': unexpected text after ']'", shown(spec));
			goto out;
		}
	} else if ((end = strchr(h, ':')) != NULL) {
		if (strchr(end + 1, ':') != NULL) {
			errf(err, "'%s': write an IPv6 address in brackets, [ADDR] or [ADDR]:PORT",
			    shown(spec));
			goto out;
		}
		*end = '\0';
		p = end + 1;
	}
	if (profile_check_hostname(h, err) == -1)
		goto out;
	if (p != NULL && profile_check_port(p, &pn, err) == -1)
		goto out;
	if (at != NULL)
		*user = xstrdup(copy);
	*host = xstrdup(h);
	*port = pn;
	rc = 0;
out:
	free(copy);
	return rc;
}

/* One hop: [user@]host[:port] or [user@][v6]:port. */
static int
check_hop(const char *hop, char **err)
{
	char *user, *host;
	int port;

	if (profile_parse_target(hop, &user, &host, &port, err) == -1)
		return -1;
	free(user);
	free(host);
	return 0;
}

int
profile_check_server_port(const char *s, int *lo, int *hi, char **err)
{
	char buf[16], *colon, *e1 = NULL;
	int a, b;

	if (strlen(s) >= sizeof buf)
		return errf(err, "'%s' is not a port or range (PORT or PORT:PORT2, 1-65535)",
		    shown(s));
	memcpy(buf, s, strlen(s) + 1);
	if ((colon = strchr(buf, ':')) != NULL)
		*colon = '\0';
	if (profile_check_port(buf, &a, &e1) == -1 ||
	    (colon != NULL && profile_check_port(colon + 1, &b, &e1) == -1)) {
		errf(err, "'%s': %s", shown(s), e1);
		free(e1);
		return -1;
	}
	if (colon == NULL)
		b = a;
	if (b < a)
		return errf(err, "'%s' is a backwards range: the low port comes first", shown(s));
	*lo = a;
	*hi = b;
	return 0;
}

static int
profile_check_jump(const char *s, char **err)
{
	char *copy, *hop, *save = NULL;
	int rc = 0;

	if (*s == '\0' || has_control(s))
		return errf(err, "expected [USER@]HOST[:PORT][,...]");
	copy = xstrdup(s);
	for (hop = strtok_r(copy, ",", &save); hop != NULL; hop = strtok_r(NULL, ",", &save)) {
		if ((rc = check_hop(hop, err)) == -1)
			break;
	}
	if (rc == 0 && (s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,") != NULL))
		rc = errf(err, "empty hop in '%s'", shown(s));
	free(copy);
	return rc;
}

static int
profile_check_locale(const char *s, char **err)
{
	const char *eq = strchr(s, '=');
	char name[64];
	size_t n;

	if (eq == NULL)
		return errf(err, "expected NAME=VALUE, e.g. LANG=C.UTF-8");
	n = (size_t)(eq - s);
	if (n == 0 || n >= sizeof name)
		return errf(err, "bad locale variable name");
	memcpy(name, s, n);
	name[n] = '\0';
	if (strcmp(name, "LANG") != 0 && strcmp(name, "LANGUAGE") != 0 &&
	    !(strncmp(name, "LC_", 3) == 0 && name[3] != '\0' && all_in(name + 3, "_")))
		return errf(err, "'%s' is not a locale variable (LANG, LANGUAGE or LC_*)",
		    shown(name));
	for (const char *p = name + 3; strncmp(name, "LC_", 3) == 0 && *p; p++) {
		if (islower((unsigned char)*p))
			return errf(err, "'%s' is not a locale variable (LANG, LANGUAGE or LC_*)",
			    shown(name));
	}
	if (eq[1] == '\0' || strlen(eq + 1) > 64 || !all_in(eq + 1, "._@:-"))
		return errf(err,
		    "'%s' is not a locale value (letters, digits, '.', '_', '@', "
		    "':', '-')",
		    shown(eq + 1));
	return 0;
}

static int
profile_check_tunnel_command(const char *s, char **err)
{
	static const char *const vars[] = { "host", "port", "user", "mosh_port", "local_port" };
	const char *p = s, *open, *close;
	size_t i, n;

	if (*s == '\0')
		return errf(err, "the tunnel command is empty");
	if (strlen(s) > 1024 || has_control(s))
		return errf(err, "the tunnel command is too long or has control characters");
	while ((open = strstr(p, "{{")) != NULL) {
		if ((close = strstr(open + 2, "}}")) == NULL)
			return errf(err, "unterminated '{{' in the tunnel command");
		n = (size_t)(close - open - 2);
		for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
			if (strlen(vars[i]) == n && strncmp(open + 2, vars[i], n) == 0)
				break;
		}
		if (i == sizeof vars / sizeof vars[0])
			return errf(err,
			    "unknown placeholder '{{%.*s}}' (known: {{host}} {{port}} "
			    "{{user}} {{mosh_port}} {{local_port}})",
			    (int)(n > 32 ? 32 : n), open + 2);
		p = close + 2;
	}
	if (strstr(s, "{{local_port}}") == NULL)
		return errf(err,
		    "the tunnel command must use {{local_port}} (where moshman's "
		    "relay sends mosh's datagrams)");
	return 0;
}

static int
profile_check_tag(const char *s, char **err)
{
	if (*s == '\0' || strlen(s) > 32)
		return errf(err, "a tag has 1 to 32 characters");
	if (*s == '-' || !all_in(s, "._-"))
		return errf(err, "'%s' is not a tag (letters, digits, '.', '_', '-')", shown(s));
	return 0;
}

static int
check_choice(const char *s, const char *const *choices, const char *what, char **err)
{
	char list[128] = "";

	for (size_t i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0)
			return 0;
		if (i > 0)
			strncat(list, ", ", sizeof list - strlen(list) - 1);
		strncat(list, choices[i], sizeof list - strlen(list) - 1);
	}
	return errf(err, "'%s' is not a %s (%s)", shown(s), what, list);
}

static int
parse_duration(const char *s, int64_t *out, char **err)
{
	char *end = NULL;
	long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return errf(err, "'%s' is not a duration (seconds, or N with s/m/h/d/w)", shown(s));
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'w':
			mult = 7 * 86400;
			break;
		default:
			return errf(err, "'%s' is not a duration (seconds, or N with s/m/h/d/w)",
			    shown(s));
		}
		if (end[1] != '\0')
			return errf(err, "'%s' is not a duration (seconds, or N with s/m/h/d/w)",
			    shown(s));
	}
	if (v < 0 || v > MAX_IDLE_TIMEOUT / mult)
		return errf(err, "'%s' is out of range (0 to 10 years)", shown(s));
	*out = v * mult;
	return 0;
}

/* Replace a string field; "" or "none" clears an optional one. */
static void
set_str(char **field, const char *value)
{
	db_free(*field);
	*field = (value == NULL || *value == '\0') ? NULL : db_strdup(value);
}

static int
set_path(char **field, const char *value, int must_exist, char **err)
{
	char *full;
	struct stat sb;

	if (*value == '\0' || strcmp(value, "none") == 0) {
		set_str(field, NULL);
		return 0;
	}
	if (profile_check_path(value, err) == -1)
		return -1;
	full = paths_expand_tilde(value);
	if (must_exist && stat(full, &sb) == -1) {
		errf(err, "%s: no such file", full);
		free(full);
		return -1;
	}
	set_str(field, full);
	free(full);
	return 0;
}

static int
set_proxy(struct db_host *h, const char *value, char **err)
{
	struct proxyurl u;

	if (proxyurl_parse(value, &u, err) == -1)
		return -1;
	set_str(&h->proxy_type, u.type);
	set_str(&h->proxy_host, u.host);
	h->proxy_port = u.port;
	set_str(&h->proxy_user, u.user);
	if (h->proxy_pass != NULL)
		memset(h->proxy_pass, 0, strlen(h->proxy_pass));
	set_str(&h->proxy_pass, u.pass);
	proxyurl_clear(&u);
	return 0;
}

static void
add_unique(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], s) == 0)
			return;
	}
	db_strv_add(v, n, s);
}

int
profile_set(struct db_host *h, const char *opt, const char *value, char **err)
{
	static const char *const transports[] = { "auto", "udp", "tcp", "command", NULL };
	static const char *const predicts[] = { "adaptive", "always", "never", "experimental",
		NULL };
	static const char *const policies[] = { "ask", "accept-new", "strict", NULL };
	const char *v = value ? value : "";
	int port;

	*err = NULL;
	if (strcmp(opt, "name") == 0) {
		if (profile_check_name(v, err) == -1)
			return -1;
		set_str(&h->name, v);
	} else if (strcmp(opt, "host") == 0) {
		if (profile_check_hostname(v, err) == -1)
			return -1;
		set_str(&h->hostname, v);
	} else if (strcmp(opt, "port") == 0) {
		if (profile_check_port(v, &port, err) == -1)
			return -1;
		h->port = port;
	} else if (strcmp(opt, "user") == 0) {
		if (profile_check_user(v, err) == -1)
			return -1;
		set_str(&h->user, v);
	} else if (strcmp(opt, "identity") == 0)
		return set_path(&h->identity, v, 1, err);
	else if (strcmp(opt, "known-hosts") == 0)
		return set_path(&h->known_hosts, v, 0, err);
	else if (strcmp(opt, "proxy") == 0)
		return set_proxy(h, v, err);
	else if (strcmp(opt, "jump") == 0) {
		if (*v != '\0' && strcmp(v, "none") != 0 && profile_check_jump(v, err) == -1)
			return -1;
		set_str(&h->jump, strcmp(v, "none") == 0 ? NULL : v);
	} else if (strcmp(opt, "proxy-command") == 0) {
		if (strlen(v) > 4096 || has_control(v))
			return errf(err, "the ProxyCommand is too long or has control characters");
		set_str(&h->proxy_command, strcmp(v, "none") == 0 ? NULL : v);
	} else if (strcmp(opt, "transport") == 0) {
		if (check_choice(v, transports, "transport", err) == -1)
			return -1;
		set_str(&h->transport, v);
	} else if (strcmp(opt, "tunnel-command") == 0) {
		if (*v != '\0' && profile_check_tunnel_command(v, err) == -1)
			return -1;
		set_str(&h->tunnel_command, v);
	} else if (strcmp(opt, "server-command") == 0) {
		if (*v == '\0' || strlen(v) > 255 || *v == '-' || !all_in(v, "_./+-"))
			return errf(err,
			    "'%s' is not a command path (letters, digits, '_', '.', "
			    "'/', '+', '-'; no leading '-')",
			    shown(v));
		set_str(&h->server_command, v);
	} else if (strcmp(opt, "locale") == 0) {
		if (*v == '\0') {
			db_strv_clear(&h->locales, &h->nlocales);
			return 0;
		}
		if (profile_check_locale(v, err) == -1)
			return -1;
		add_unique(&h->locales, &h->nlocales, v);
	} else if (strcmp(opt, "predict") == 0) {
		if (check_choice(v, predicts, "prediction mode", err) == -1)
			return -1;
		set_str(&h->predict, v);
	} else if (strcmp(opt, "hostkey-policy") == 0) {
		if (check_choice(v, policies, "host key policy", err) == -1)
			return -1;
		set_str(&h->hostkey_policy, v);
	} else if (strcmp(opt, "idle-timeout") == 0)
		return parse_duration(v, &h->idle_timeout, err);
	else if (strcmp(opt, "tag") == 0) {
		if (*v == '\0') {
			db_strv_clear(&h->tags, &h->ntags);
			return 0;
		}
		if (profile_check_tag(v, err) == -1)
			return -1;
		add_unique(&h->tags, &h->ntags, v);
	} else if (strcmp(opt, "server-port") == 0) {
		int lo, hi;

		if (*v == '\0' || strcmp(v, "none") == 0) {
			h->server_port_lo = h->server_port_hi = 0;
			return 0;
		}
		if (profile_check_server_port(v, &lo, &hi, err) == -1)
			return -1;
		h->server_port_lo = lo;
		h->server_port_hi = hi;
	} else if (strcmp(opt, "bind-server") == 0) {
		unsigned char a[sizeof(struct in6_addr)];

		if (strcmp(v, "ssh") == 0 || *v == '\0') {
			set_str(&h->bind_server, NULL);
			return 0;
		}
		if (strcmp(v, "any") != 0 && inet_pton(AF_INET, v, a) != 1 &&
		    inet_pton(AF_INET6, v, a) != 1)
			return errf(err, "'%s' is not ssh, any or a numeric IP address", shown(v));
		set_str(&h->bind_server, v);
	} else if (strcmp(opt, "family") == 0) {
		int f = resolve_family_from_name(v);

		if (f == -1)
			return errf(err,
			    "'%s' is not an address family (all, inet, inet6, "
			    "prefer-inet, prefer-inet6 or auto)",
			    shown(v));
		set_str(&h->family, f == RESOLVE_ALL ? NULL : v);
	} else if (strcmp(opt, "no-init") == 0)
		h->no_init = 1;
	else if (strcmp(opt, "init") == 0)
		h->no_init = 0;
	else if (strcmp(opt, "auto-clean") == 0)
		h->auto_clean = 1;
	else if (strcmp(opt, "no-auto-clean") == 0)
		h->auto_clean = 0;
	else
		return errf(err, "unknown option '%s'", shown(opt));
	return 0;
}

void
profile_defaults(struct db_host *h, const char *name)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw != NULL ? pw->pw_name : getenv("USER");
	char *err = NULL;

	memset(h, 0, sizeof *h);
	set_str(&h->name, name);
	h->port = 22;
	if (user != NULL && profile_check_user(user, &err) == 0)
		set_str(&h->user, user);
	else
		set_str(&h->user, "root");
	free(err);
	set_str(&h->proxy_type, "none");
	set_str(&h->transport, "auto");
	set_str(&h->server_command, "mosh-server");
	set_str(&h->predict, "adaptive");
	set_str(&h->hostkey_policy, "ask");
	h->idle_timeout = 604800;
}

int
profile_check(const struct db_host *h, char **err)
{
	int proxied = h->proxy_type != NULL && strcmp(h->proxy_type, "none") != 0;

	*err = NULL;
	if (h->hostname == NULL)
		return errf(err, "--host is required");
	if (h->transport != NULL && strcmp(h->transport, "command") == 0 &&
	    h->tunnel_command == NULL)
		return errf(err, "transport 'command' needs --tunnel-command");
	if (proxied && (h->jump != NULL || h->proxy_command != NULL))
		return errf(err,
		    "--proxy cannot be combined with --jump or --proxy-command; "
		    "put the proxy in the jump host's route instead");
	if (h->jump != NULL && h->proxy_command != NULL)
		return errf(err, "--jump and --proxy-command exclude each other");
	return 0;
}

char *
profile_route(const struct db_host *h)
{
	char *out;

	if (h->proxy_type != NULL && strcmp(h->proxy_type, "none") != 0)
		xasprintf(&out, "%s %s%s%s:%d", h->proxy_type,
		    strchr(h->proxy_host, ':') ? "[" : "", h->proxy_host,
		    strchr(h->proxy_host, ':') ? "]" : "", h->proxy_port);
	else if (h->jump != NULL)
		xasprintf(&out, "jump %s", h->jump);
	else if (h->proxy_command != NULL)
		out = xstrdup("command");
	else
		out = xstrdup("direct");
	return out;
}

char *
profile_proxy_display(const struct db_host *h)
{
	char *out;
	int v6;

	if (h->proxy_type == NULL || strcmp(h->proxy_type, "none") == 0 || h->proxy_host == NULL)
		return xstrdup("none");
	v6 = strchr(h->proxy_host, ':') != NULL;
	xasprintf(&out, "%s://%s%s%s%s%s%s:%d", h->proxy_type, h->proxy_user ? h->proxy_user : "",
	    h->proxy_user && h->proxy_pass ? ":***" : "", h->proxy_user ? "@" : "", v6 ? "[" : "",
	    h->proxy_host, v6 ? "]" : "", h->proxy_port);
	return out;
}

/* RFC 3986 userinfo: unreserved characters stay, the rest is percent-encoded. */
static void
pct_append(char *out, size_t outsz, const char *s)
{
	size_t n = strlen(out);

	for (; *s != '\0' && n + 4 < outsz; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			out[n++] = *s;
		else
			n += (size_t)snprintf(out + n, outsz - n, "%%%02X", (unsigned char)*s);
	}
	out[n] = '\0';
}

static char *
proxy_url(const struct db_host *h, int with_secrets)
{
	char buf[1024], *out;
	int v6;

	if (h->proxy_type == NULL || strcmp(h->proxy_type, "none") == 0 || h->proxy_host == NULL)
		return xstrdup("none");
	v6 = strchr(h->proxy_host, ':') != NULL;
	snprintf(buf, sizeof buf, "%s://", h->proxy_type);
	if (h->proxy_user != NULL) {
		pct_append(buf, sizeof buf, h->proxy_user);
		if (with_secrets && h->proxy_pass != NULL) {
			strncat(buf, ":", sizeof buf - strlen(buf) - 1);
			pct_append(buf, sizeof buf, h->proxy_pass);
		}
		strncat(buf, "@", sizeof buf - strlen(buf) - 1);
	}
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s%s:%d", v6 ? "[" : "",
	    h->proxy_host, v6 ? "]" : "", h->proxy_port);
	out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return out;
}

static char *
dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

char *
profile_get(const struct db_host *h, const char *opt, int with_secrets)
{
	char *out = NULL;

	if (strcmp(opt, "name") == 0)
		return dup_opt(h->name);
	if (strcmp(opt, "host") == 0)
		return dup_opt(h->hostname);
	if (strcmp(opt, "port") == 0) {
		xasprintf(&out, "%d", h->port);
		return out;
	}
	if (strcmp(opt, "user") == 0)
		return dup_opt(h->user);
	if (strcmp(opt, "identity") == 0)
		return dup_opt(h->identity);
	if (strcmp(opt, "proxy") == 0)
		return proxy_url(h, with_secrets);
	if (strcmp(opt, "jump") == 0)
		return dup_opt(h->jump);
	if (strcmp(opt, "proxy-command") == 0)
		return dup_opt(h->proxy_command);
	if (strcmp(opt, "transport") == 0)
		return dup_opt(h->transport);
	if (strcmp(opt, "tunnel-command") == 0)
		return dup_opt(h->tunnel_command);
	if (strcmp(opt, "server-command") == 0)
		return dup_opt(h->server_command);
	if (strcmp(opt, "predict") == 0)
		return dup_opt(h->predict);
	if (strcmp(opt, "known-hosts") == 0)
		return dup_opt(h->known_hosts);
	if (strcmp(opt, "hostkey-policy") == 0)
		return dup_opt(h->hostkey_policy);
	if (strcmp(opt, "idle-timeout") == 0) {
		xasprintf(&out, "%lld", (long long)h->idle_timeout);
		return out;
	}
	if (strcmp(opt, "server-port") == 0) {
		if (h->server_port_lo <= 0)
			return NULL;
		if (h->server_port_hi > h->server_port_lo)
			xasprintf(&out, "%d:%d", h->server_port_lo, h->server_port_hi);
		else
			xasprintf(&out, "%d", h->server_port_lo);
		return out;
	}
	if (strcmp(opt, "bind-server") == 0)
		return xstrdup(h->bind_server != NULL ? h->bind_server : "ssh");
	if (strcmp(opt, "family") == 0)
		return xstrdup(h->family != NULL ? h->family : "all");
	return NULL;
}

int
profile_get_flag(const struct db_host *h, const char *opt)
{
	if (strcmp(opt, "auto-clean") == 0)
		return h->auto_clean != 0;
	if (strcmp(opt, "init") == 0)
		return h->no_init == 0;
	return -1;
}

int
profile_get_list(const struct db_host *h, const char *opt, char *const **v, size_t *n)
{
	if (strcmp(opt, "tag") == 0) {
		*v = h->tags;
		*n = h->ntags;
	} else if (strcmp(opt, "locale") == 0) {
		*v = h->locales;
		*n = h->nlocales;
	} else
		return -1;
	return 0;
}
