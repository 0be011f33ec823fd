/* mosh's options on profiles and connect: ad hoc targets, --server-port, --bind-server,
 * --no-init, and how they reach mosh-server's command line. */
#include "db/db.h"
#include "src/session/supervisor.h"
#include "src/ssh/profile.h"
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
	UNIT_END();
}
