/* SPDX-License-Identifier: MIT */
/* Every validation rule of a host profile, and the proxy URL parser. */
#include <stdlib.h>

#include "db/db.h"
#include "src/ssh/profile.h"
#include "src/ssh/proxyurl.h"
#include "tests/unit/unit.h"

static struct db_host h;

/* Setting option to value fails and the message contains want. */
static void
bad(const char *option, const char *value, const char *want)
{
	char *err = NULL;

	if (profile_set(&h, option, value, &err) != -1) {
		printf("    --%s '%s' was accepted\n", option, value);
		unit_case_failed = 1;
	} else if (err == NULL || strstr(err, want) == NULL) {
		printf("    --%s '%s': message \"%s\" lacks \"%s\"\n", option, value,
		    err ? err : "(null)", want);
		unit_case_failed = 1;
	}
	free(err);
}

static void
good(const char *option, const char *value)
{
	char *err = NULL;

	if (profile_set(&h, option, value, &err) != 0) {
		printf("    --%s '%s' was refused: %s\n", option, value, err ? err : "");
		unit_case_failed = 1;
	}
	free(err);
}

static void
test_defaults(void)
{
	profile_defaults(&h, "box");
	CHECK_STR(h.name, "box");
	CHECK_INT(h.port, 22);
	CHECK(h.user != NULL);
	CHECK_STR(h.transport, "auto");
	CHECK_STR(h.predict, "adaptive");
	CHECK_STR(h.hostkey_policy, "ask");
	CHECK_INT(h.idle_timeout, 604800);
	CHECK_STR(h.proxy_type, "none");
	CHECK_STR(h.server_command, "mosh-server");
}

static void
test_names(void)
{
	char *err = NULL;

	CHECK_INT(profile_check_name("web-1.prod_eu", &err), 0);
	CHECK_INT(profile_check_name("", &err), -1);
	CHECK_HAS(err, "empty");
	free(err);
	CHECK_INT(profile_check_name("a b", &err), -1);
	CHECK_HAS(err, "letters, digits");
	free(err);
	CHECK_INT(profile_check_name("-rf", &err), -1);
	CHECK_HAS(err, "must not start with '-'");
	free(err);
	CHECK_INT(profile_check_name("x$(id)", &err), -1);
	free(err);
}

static void
test_hosts_users_ports(void)
{
	good("host", "example.org");
	good("host", "10.0.0.1");
	good("host", "::1");
	good("host", "fe80::1");
	CHECK_STR(h.hostname, "fe80::1");
	bad("host", "", "empty");
	bad("host", "-oProxyCommand=sh", "must not start with '-'");
	bad("host", "a;b", "not a host name");
	bad("host", "a b", "not a host name");
	bad("host", "a..b", "empty label");
	bad("host", "1::2::3", "not a valid IPv6");
	bad("host", "$(reboot)", "not a host name");
	bad("host", "evil\nhost", "not a host name");
	good("user", "alice");
	good("user", "svc.backup-1");
	bad("user", "", "empty");
	bad("user", "-l", "must not start with '-'");
	bad("user", "bob;id", "not a user name");
	bad("user", "a'b", "not a user name");
	good("port", "2222");
	CHECK_INT(h.port, 2222);
	bad("port", "0", "1-65535");
	bad("port", "65536", "1-65535");
	bad("port", "22a", "1-65535");
	bad("port", "-1", "1-65535");
	bad("port", "", "1-65535");
	bad("port", "0x16", "1-65535");
}

static void
test_paths_and_commands(void)
{
	good("known-hosts", "~/.ssh/lab_known_hosts");
	CHECK(h.known_hosts != NULL && h.known_hosts[0] == '/');
	good("known-hosts", "");
	CHECK(h.known_hosts == NULL);
	bad("known-hosts", "relative/file", "relative");
	bad("known-hosts", "/tmp/a\nb", "control characters");
	bad("identity", "/nonexistent/moshman/key", "no such file");
	good("identity", "/dev/null");
	good("identity", "none");
	CHECK(h.identity == NULL);
	good("server-command", "/usr/local/bin/mosh-server");
	bad("server-command", "mosh-server; rm -rf ~", "not a command path");
	bad("server-command", "--help", "not a command path");
	bad("server-command", "", "not a command path");
	good("jump", "bastion");
	good("jump", "ops@bastion.example:2200,inner");
	good("jump", "[::1]:22");
	bad("jump", "a@b@c;d", "not a");
	bad("jump", "host:99999", "1-65535");
	bad("jump", "a,,b", "");
	bad("jump", "[::1", "unterminated");
	good("proxy-command", "nc -X 5 -x 127.0.0.1:1080 %h %p");
	bad("proxy-command", "nc\nrm", "control characters");
	good("tunnel-command",
	    "gost -L udp://127.0.0.1:{{local_port}}/127.0.0.1:{{mosh_port}} "
	    "-F relay://{{host}}:1081");
	bad("tunnel-command", "gost {{nope}} {{local_port}}", "unknown placeholder '{{nope}}'");
	bad("tunnel-command", "gost {{local_port", "unterminated");
	bad("tunnel-command", "gost -L udp://:1", "must use {{local_port}}");
}

static void
test_choices_locales_tags(void)
{
	good("transport", "tcp");
	bad("transport", "quic", "'quic' is not a transport (auto, udp, tcp, command)");
	good("predict", "never");
	bad("predict", "sometimes", "not a prediction mode");
	good("hostkey-policy", "accept-new");
	bad("hostkey-policy", "yolo", "ask, accept-new, strict");
	good("locale", "LANG=C.UTF-8");
	good("locale", "LC_CTYPE=de_DE.UTF-8@euro");
	good("locale", "LANGUAGE=de:en");
	good("locale", "LANG=C.UTF-8");
	CHECK_INT(h.nlocales, 3); /* duplicates collapse */
	bad("locale", "LANG", "NAME=VALUE");
	bad("locale", "PATH=/tmp", "not a locale variable");
	bad("locale", "LC_all=C", "not a locale variable");
	bad("locale", "LANG=C.UTF-8'; touch /tmp/x; '", "not a locale value");
	bad("locale", "LANG=$(id)", "not a locale value");
	bad("locale", "LANG=", "not a locale value");
	good("locale", "");
	CHECK_INT(h.nlocales, 0);
	good("tag", "prod");
	good("tag", "eu-west");
	bad("tag", "a b", "not a tag");
	bad("tag", "012345678901234567890123456789012", "1 to 32");
	CHECK_INT(h.ntags, 2);
	good("tag", ""); /* clears the list */
	CHECK_INT(h.ntags, 0);
	good("idle-timeout", "3600");
	CHECK_INT(h.idle_timeout, 3600);
	good("idle-timeout", "2d");
	CHECK_INT(h.idle_timeout, 172800);
	good("idle-timeout", "0");
	bad("idle-timeout", "soon", "not a duration");
	bad("idle-timeout", "5x", "not a duration");
	bad("idle-timeout", "99999w", "out of range");
	good("auto-clean", NULL);
	CHECK_INT(h.auto_clean, 1);
	bad("frobnicate", "1", "unknown option");
}

static void
test_cross_field(void)
{
	char *err = NULL;

	db_host_clear(&h);
	profile_defaults(&h, "x");
	CHECK_INT(profile_check(&h, &err), -1);
	CHECK_HAS(err, "--host is required");
	free(err);
	good("host", "example.org");
	CHECK_INT(profile_check(&h, &err), 0);
	good("transport", "command");
	CHECK_INT(profile_check(&h, &err), -1);
	CHECK_HAS(err, "needs --tunnel-command");
	free(err);
	good("transport", "auto");
	good("proxy", "socks5://127.0.0.1:1080");
	good("jump", "bastion");
	CHECK_INT(profile_check(&h, &err), -1);
	CHECK_HAS(err, "cannot be combined");
	free(err);
	good("proxy", "none");
	CHECK_INT(profile_check(&h, &err), 0);
}

static void
test_messages_are_safe(void)
{
	char *err = NULL;

	/* Control characters never reach the terminal through an error message. */
	CHECK_INT(profile_set(&h, "host", "a\033[2Jb", &err), -1);
	CHECK(err != NULL && strchr(err, '\033') == NULL);
	free(err);
	/* A proxy password is never echoed. */
	CHECK_INT(profile_set(&h, "proxy", "socks5://u:hunter2@host", &err), -1);
	CHECK(err != NULL && strstr(err, "hunter2") == NULL);
	free(err);
	CHECK_INT(profile_set(&h, "proxy", "http://u:hunter2@bad host:1", &err), -1);
	CHECK(err != NULL && strstr(err, "hunter2") == NULL);
	free(err);
}

static void
url_bad(const char *s, const char *want)
{
	struct proxyurl u;
	char *err = NULL;

	if (proxyurl_parse(s, &u, &err) != -1) {
		printf("    '%s' was accepted\n", s);
		unit_case_failed = 1;
		proxyurl_clear(&u);
	} else if (err == NULL || strstr(err, want) == NULL) {
		printf("    '%s': message \"%s\" lacks \"%s\"\n", s, err ? err : "", want);
		unit_case_failed = 1;
	}
	free(err);
}

static void
test_proxy_urls(void)
{
	struct proxyurl u;
	char *err = NULL;

	CHECK_INT(proxyurl_parse("none", &u, &err), 0);
	CHECK_STR(u.type, "none");
	proxyurl_clear(&u);
	CHECK_INT(proxyurl_parse("socks5://127.0.0.1:1080", &u, &err), 0);
	CHECK_STR(u.type, "socks5");
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 1080);
	CHECK(u.user == NULL && u.pass == NULL);
	proxyurl_clear(&u);
	CHECK_INT(proxyurl_parse("socks5h://bob:p%40ss%3Aw@proxy.example:9050/", &u, &err), 0);
	CHECK_STR(u.type, "socks5h");
	CHECK_STR(u.user, "bob");
	CHECK_STR(u.pass, "p@ss:w");
	CHECK_STR(u.host, "proxy.example");
	proxyurl_clear(&u);
	CHECK_INT(proxyurl_parse("http://[::1]:3128", &u, &err), 0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.port, 3128);
	proxyurl_clear(&u);
	CHECK_INT(proxyurl_parse("http://user@10.0.0.1:8080", &u, &err), 0);
	CHECK_STR(u.user, "user");
	CHECK(u.pass == NULL);
	proxyurl_clear(&u);

	url_bad("ftp://x:1", "accepted forms");
	url_bad("socks4://x:1", "accepted forms");
	url_bad("SOCKS5://x:1", "accepted forms");
	url_bad("socks5://", "no host");
	url_bad("socks5://host", "needs a port");
	url_bad("socks5://host:", "not a number");
	url_bad("socks5://host:0", "1-65535");
	url_bad("socks5://host:65536", "1-65535");
	url_bad("socks5://host:80x", "1-65535");
	url_bad("http://host:80/path", "path, query");
	url_bad("http://host:80?q", "1-65535");
	url_bad("socks5://[::1:1080", "unterminated");
	url_bad("socks5://[host]:1080", "IPv6");
	url_bad("socks5://:pw@host:1", "empty proxy user");
	url_bad("socks5://u:p%zz@host:1", "encoding");
	url_bad("socks5://u:p%0a@host:1", "encoding");
	url_bad("socks5://u:p%4@host:1", "encoding");
	url_bad("socks5://-oops:1", "must not start with '-'");
	url_bad("http://a;b:1", "not a host name");
}

int
main(void)
{
	UNIT_BEGIN("test_profile");
	RUN(test_defaults);
	RUN(test_names);
	RUN(test_hosts_users_ports);
	RUN(test_paths_and_commands);
	RUN(test_choices_locales_tags);
	RUN(test_cross_field);
	RUN(test_messages_are_safe);
	RUN(test_proxy_urls);
	db_host_clear(&h);
	UNIT_END();
}
