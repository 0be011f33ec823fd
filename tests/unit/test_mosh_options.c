/* SPDX-License-Identifier: MIT */
/* mosh's options on profiles and connect: ad hoc targets, --server-port, --bind-server,
 * --no-init, --family, and how they reach mosh-server's command line. */
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "db/db.h"
#include "src/session/supervisor.h"
#include "src/ssh/profile.h"
#include "src/ssh/resolve.h"
#include "tests/unit/unit.h"

static void
targets(void)
{
	char *user, *host, *err = NULL;
	int port;

	CHECK_INT(profile_parse_target("alice@example.org:2222", &user, &host, &port, &err), 0);
	CHECK_STR(user, "alice");
	CHECK_STR(host, "example.org");
	CHECK_INT(port, 2222);
	free(user);
	free(host);
	CHECK_INT(profile_parse_target("example.org", &user, &host, &port, &err), 0);
	CHECK(user == NULL);
	CHECK_INT(port, 0);
	free(host);
	CHECK_INT(profile_parse_target("bob@[2001:db8::1]:22", &user, &host, &port, &err), 0);
	CHECK_STR(host, "2001:db8::1");
	CHECK_INT(port, 22);
	free(user);
	free(host);
	/* Shell syntax, option injection, bad ports, bare IPv6: refused, naming the part. */
	CHECK_INT(profile_parse_target("a@h;reboot", &user, &host, &port, &err), -1);
	CHECK_HAS(err, "h;reboot");
	free(err);
	CHECK_INT(profile_parse_target("-oProxyCommand=x@h", &user, &host, &port, &err), -1);
	CHECK_HAS(err, "user name");
	free(err);
	CHECK_INT(profile_parse_target("u@-h", &user, &host, &port, &err), -1);
	free(err);
	CHECK_INT(profile_parse_target("h:70000", &user, &host, &port, &err), -1);
	CHECK_HAS(err, "70000");
	free(err);
	CHECK_INT(profile_parse_target("2001:db8::1", &user, &host, &port, &err), -1);
	CHECK_HAS(err, "brackets");
	free(err);
	CHECK_INT(profile_parse_target("u@h\n", &user, &host, &port, &err), -1);
	free(err);
	CHECK_INT(profile_parse_target("", &user, &host, &port, &err), -1);
	free(err);
}

static void
server_ports(void)
{
	struct db_host h;
	char *err = NULL;
	int lo, hi;

	CHECK_INT(profile_check_server_port("60500:60510", &lo, &hi, &err), 0);
	CHECK_INT(lo, 60500);
	CHECK_INT(hi, 60510);
	CHECK_INT(profile_check_server_port("60001", &lo, &hi, &err), 0);
	CHECK_INT(hi, 60001);
	CHECK_INT(profile_check_server_port("70000:1", &lo, &hi, &err), -1);
	CHECK_HAS(err, "'70000' is not a port number");
	free(err);
	CHECK_INT(profile_check_server_port("60510:60500", &lo, &hi, &err), -1);
	CHECK_HAS(err, "backwards");
	free(err);
	CHECK_INT(profile_check_server_port("1:2:3", &lo, &hi, &err), -1);
	free(err);
	CHECK_INT(profile_check_server_port("0", &lo, &hi, &err), -1);
	free(err);
	CHECK_INT(profile_check_server_port("123456789012345678", &lo, &hi, &err), -1);
	free(err);

	profile_defaults(&h, "x");
	CHECK_INT(profile_set(&h, "server-port", "60500:60510", &err), 0);
	CHECK_INT(h.server_port_lo, 60500);
	CHECK_INT(profile_set(&h, "server-port", "none", &err), 0);
	CHECK_INT(h.server_port_lo, 0);
	CHECK_INT(profile_set(&h, "bind-server", "any", &err), 0);
	CHECK_STR(h.bind_server, "any");
	CHECK_INT(profile_set(&h, "bind-server", "ssh", &err), 0);
	CHECK(h.bind_server == NULL);
	CHECK_INT(profile_set(&h, "bind-server", "10.0.0.1", &err), 0);
	CHECK_INT(profile_set(&h, "bind-server", "fe80::1", &err), 0);
	CHECK_INT(profile_set(&h, "bind-server", "eth0; true", &err), -1);
	CHECK_HAS(err, "numeric IP");
	free(err);
	CHECK_INT(profile_set(&h, "no-init", NULL, &err), 0);
	CHECK_INT(h.no_init, 1);
	CHECK_INT(profile_set(&h, "init", NULL, &err), 0);
	CHECK_INT(h.no_init, 0);
	db_host_clear(&h);
}

static void
server_command(void)
{
	struct supervisor_server_opts so = { NULL, 60500, 60510 };
	char *cmd;

	cmd = supervisor_server_command("mosh-server", 8, NULL, 0, 0, 60, 0, 0, &so);
	CHECK_HAS(cmd, "'-s' '-p' '60500:60510'");
	free(cmd);
	so.port_hi = 60500;
	so.bind_addr = "10.1.2.3";
	cmd = supervisor_server_command("mosh-server", 8, NULL, 0, 0, 60, 0, 0, &so);
	CHECK_HAS(cmd, "'-i' '10.1.2.3' '-p' '60500'");
	CHECK(strstr(cmd, "'-s'") == NULL);
	free(cmd);
	/* The tunnel's relay on the host needs loopback, whatever --bind-server says. */
	cmd = supervisor_server_command("mosh-server", 8, NULL, 0, 0, 60, 1, 0, &so);
	CHECK_HAS(cmd, "'-i' '127.0.0.1' '-p' '60500'");
	CHECK(strstr(cmd, "10.1.2.3") == NULL);
	free(cmd);
}

/* profile_get is profile_set's inverse for every option with a value, so `host export`
 * and `host import --json`, driven by the same table, cannot drift from `host add`.  An
 * option added to the table without a sample here fails this test. */
static void
get_inverts_set(void)
{
	static const struct {
		const char *opt, *value;
	} samples[] = {
		{ "host", "web.example.org" },
		{ "port", "2222" },
		{ "user", "alice" },
		{ "identity", "/dev/null" },
		{ "proxy", "socks5h://a%40b:p%3Aw%2F@[2001:db8::1]:1080" },
		{ "jump", "bob@bastion:2200,inner" },
		{ "proxy-command", "nc -X connect -x p:3128 %h %p" },
		{ "transport", "tcp" },
		{ "tunnel-command", "gost -L udp://:{{local_port}}" },
		{ "server-command", "/opt/mosh/bin/mosh-server" },
		{ "predict", "never" },
		{ "known-hosts", "/etc/kh" },
		{ "hostkey-policy", "strict" },
		{ "idle-timeout", "3600" },
		{ "server-port", "60500:60510" },
		{ "bind-server", "10.0.0.1" },
		{ "family", "prefer-inet6" },
	};
	for (const struct profile_option *o = profile_options; o->name != NULL; o++) {
		struct db_host a, b;
		char *err = NULL, *v1, *v2;
		size_t i;

		if (o->arg == NULL || o->repeatable)
			continue;
		for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
			if (strcmp(samples[i].opt, o->name) == 0)
				break;
		}
		if (i == sizeof samples / sizeof samples[0]) {
			printf("    no sample for --%s\n", o->name);
			CHECK(0);
			continue;
		}
		profile_defaults(&a, "a");
		profile_defaults(&b, "b");
		CHECK_INT(profile_set(&a, o->name, samples[i].value, &err), 0);
		v1 = profile_get(&a, o->name, 1);
		CHECK(v1 != NULL);
		CHECK_INT(profile_set(&b, o->name, v1 ? v1 : "", &err), 0);
		v2 = profile_get(&b, o->name, 1);
		CHECK_STR(v2, v1);
		free(v1);
		free(v2);
		free(err);
		db_host_clear(&a);
		db_host_clear(&b);
	}
	/* Flags: their state is readable, the "no-" forms through the positive one. */
	CHECK_INT(profile_get_flag(NULL, "no-init"), -1);
	CHECK_INT(profile_get_flag(NULL, "no-auto-clean"), -1);
}

static void
family_values(void)
{
	static const char *const good[] = { "all", "inet", "inet6", "prefer-inet", "prefer-inet6",
		"auto" };
	struct db_host h;
	char *err = NULL, *v;

	profile_defaults(&h, "x");
	v = profile_get(&h, "family", 0);
	CHECK_STR(v, "all");
	free(v);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		CHECK_INT(profile_set(&h, "family", good[i], &err), 0);
		v = profile_get(&h, "family", 0);
		CHECK_STR(v, good[i]);
		free(v);
		CHECK_STR(resolve_family_name(resolve_family_from_name(good[i])), good[i]);
	}
	/* all is the default and is stored as nothing, like bind-server's ssh. */
	CHECK_INT(profile_set(&h, "family", "all", &err), 0);
	CHECK(h.family == NULL);
	CHECK_INT(profile_set(&h, "family", "inet", &err), 0);
	CHECK_STR(h.family, "inet");
	/* Refused, naming the bad value and the choices; the field is unchanged. */
	CHECK_INT(profile_set(&h, "family", "ipv4", &err), -1);
	CHECK_HAS(err, "'ipv4' is not an address family");
	CHECK_HAS(err, "prefer-inet6");
	free(err);
	CHECK_INT(profile_set(&h, "family", "INET", &err), -1);
	free(err);
	CHECK_INT(profile_set(&h, "family", "inet;reboot", &err), -1);
	CHECK_HAS(err, "inet;reboot");
	free(err);
	CHECK_INT(profile_set(&h, "family", "inet\n6", &err), -1);
	CHECK_HAS(err, "inet?6");
	free(err);
	CHECK_STR(h.family, "inet");
	CHECK_INT(resolve_family_from_name(NULL), RESOLVE_ALL);
	CHECK_INT(resolve_family_from_name("bogus"), -1);
	CHECK_STR(resolve_family_name(99), "?");
	CHECK_INT(resolve_family_hint(RESOLVE_INET), AF_INET);
	CHECK_INT(resolve_family_hint(RESOLVE_INET6), AF_INET6);
	CHECK_INT(resolve_family_hint(RESOLVE_PREFER_INET), AF_UNSPEC);
	CHECK_INT(resolve_family_hint(RESOLVE_AUTO), AF_UNSPEC);
	db_host_clear(&h);
}

/* A list like getaddrinfo's: families as the string says ('4', '6'), in that order. */
static struct addrinfo *
family_list(struct addrinfo *ai, const char *fams)
{
	size_t n = strlen(fams);

	memset(ai, 0, n * sizeof *ai);
	for (size_t i = 0; i < n; i++) {
		ai[i].ai_family = fams[i] == '4' ? AF_INET : AF_INET6;
		ai[i].ai_protocol = (int)i; /* identity, to check the order is stable */
		ai[i].ai_next = i + 1 < n ? &ai[i + 1] : NULL;
	}
	return n > 0 ? ai : NULL;
}

static void
family_list_str(const struct addrinfo *res, char *out)
{
	for (; res != NULL; res = res->ai_next) {
		*out++ = res->ai_family == AF_INET ? '4' : '6';
		*out++ = (char)('0' + res->ai_protocol);
	}
	*out = '\0';
}

static void
family_order(void)
{
	struct addrinfo ai[6], *res;
	char got[16], err[256];

	res = family_list(ai, "6464");
	CHECK_INT(resolve_family_order(&res, RESOLVE_PREFER_INET, err, sizeof err), 0);
	family_list_str(res, got);
	CHECK_STR(got, "41436062");
	res = family_list(ai, "4646");
	CHECK_INT(resolve_family_order(&res, RESOLVE_PREFER_INET6, err, sizeof err), 0);
	family_list_str(res, got);
	CHECK_STR(got, "61634042");
	/* all keeps the resolver's order (RFC 6724) */
	res = family_list(ai, "6446");
	CHECK_INT(resolve_family_order(&res, RESOLVE_ALL, err, sizeof err), 0);
	family_list_str(res, got);
	CHECK_STR(got, "60414263");
	/* preferring a family that is not there changes nothing */
	res = family_list(ai, "44");
	CHECK_INT(resolve_family_order(&res, RESOLVE_PREFER_INET6, err, sizeof err), 0);
	family_list_str(res, got);
	CHECK_STR(got, "4041");
	/* auto: one family is fine, both are refused as mosh refuses them */
	res = family_list(ai, "666");
	CHECK_INT(resolve_family_order(&res, RESOLVE_AUTO, err, sizeof err), 0);
	res = family_list(ai, "64");
	CHECK_INT(resolve_family_order(&res, RESOLVE_AUTO, err, sizeof err), -1);
	CHECK_HAS(err, "both IPv4 and IPv6");
	CHECK(res == &ai[0]);
	res = NULL;
	CHECK_INT(resolve_family_order(&res, RESOLVE_PREFER_INET, err, sizeof err), 0);
	CHECK(res == NULL);
}

static void
proxy_without_secret(void)
{
	struct db_host h;
	char *err = NULL, *v;

	profile_defaults(&h, "a");
	CHECK_INT(profile_set(&h, "proxy", "http://u:secret@proxy:3128", &err), 0);
	v = profile_get(&h, "proxy", 0);
	CHECK_STR(v, "http://u@proxy:3128");
	free(v);
	v = profile_get(&h, "proxy", 1);
	CHECK_STR(v, "http://u:secret@proxy:3128");
	free(v);
	db_host_clear(&h);
}

int
main(void)
{
	UNIT_BEGIN("test_mosh_options");
	RUN(targets);
	RUN(server_ports);
	RUN(server_command);
	RUN(get_inverts_set);
	RUN(proxy_without_secret);
	RUN(family_values);
	RUN(family_order);
	UNIT_END();
}
