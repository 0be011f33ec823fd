/* SPDX-License-Identifier: MIT */
#include "src/session/supervisor.h"
#include "tests/unit/unit.h"

static void
server_command_udp(void)
{
	const char *loc[] = { "LANG=C.UTF-8", "LC_ALL=en_US.UTF-8" };
	char *cmd;

	cmd = supervisor_server_command("mosh-server", 256, loc, 2, 604800, 60, 0, 0, NULL);
	CHECK_STR(cmd,
	    "env MOSH_SERVER_NETWORK_TMOUT='604800' MOSH_SERVER_SIGNAL_TMOUT='60' "
	    "'mosh-server' 'new' '-c' '256' '-s' '-l' 'LANG=C.UTF-8' '-l' "
	    "'LC_ALL=en_US.UTF-8'");
	free(cmd);
}

static void
server_command_variants(void)
{
	const char *loc[] = { "LANG=C.UTF-8'; touch /tmp/x; '" };
	char *cmd;

	/* No idle timeout: the variable is left out, not set to 0. */
	cmd = supervisor_server_command("/opt/mosh/bin/mosh-server", 8, NULL, 0, 0, 60, 1, 0, NULL);
	CHECK_STR(cmd,
	    "env MOSH_SERVER_SIGNAL_TMOUT='60' '/opt/mosh/bin/mosh-server' 'new' '-c' "
	    "'8' '-i' '127.0.0.1'");
	free(cmd);
	/* bind_any: no -s (the ssh address is not where UDP arrives). */
	cmd = supervisor_server_command("mosh-server", 256, NULL, 0, 10, 60, 0, 1, NULL);
	CHECK(strstr(cmd, "'-s'") == NULL);
	CHECK(strstr(cmd, "'-i'") == NULL);
	free(cmd);
	/* A hostile value stays one quoted word. */
	cmd = supervisor_server_command("mosh-server; rm -rf ~", 256, loc, 1, 10, 60, 0, 0, NULL);
	CHECK_HAS(cmd, "'mosh-server; rm -rf ~'");
	CHECK_HAS(cmd, "'-l' 'LANG=C.UTF-8'\\''; touch /tmp/x; '\\'''");
	free(cmd);
}

int
main(void)
{
	UNIT_BEGIN("test_supervisor");
	RUN(server_command_udp);
	RUN(server_command_variants);
	UNIT_END();
}
