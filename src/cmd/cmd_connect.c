/* moshman connect TARGET [options]: one mosh session in this terminal, supervised.
 * What the command line means (profile or [USER@]HOST[:PORT], options for this run,
 * --save) is cmd_connect_target.c's. */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/scan/scan.h"
#include "src/session/supervisor.h"

static int
cmd_connect_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct supervisor_opts o;
	struct db_host h;
	char err[1024];
	int rc;

	if ((rc = cmd_connect_target(ctx, argc, argv, NULL, &h)) != 0)
		return rc;
	memset(&o, 0, sizeof o);
	o.quiet = ctx->quiet;
	o.name = h.name;
	o.host = &h;
	if (h.id > 0)
		scan_connect_hook(ctx->db, h.name, o.quiet);
	rc = supervisor_run(ctx->db, &o, err, sizeof err);
	db_host_clear(&h);
	if (rc == SUPERVISOR_USAGE)
		return cmd_usage("%s", err);
	if (rc == SUPERVISOR_FAIL)
		return cmd_fail("%s", err);
	return rc;
}

static void
cmd_connect_help(FILE *f)
{
	fputs("\nTARGET is a profile name or, as for mosh and ssh, [USER@]HOST[:PORT] (an IPv6\n"
	      "address in brackets: [2001:db8::1]:2222).  A word with '@', ':' or '[' is\n"
	      "always a host; a bare word is the profile of that name if there is one, else\n"
	      "a host; a leading '@' forces the host meaning (moshman connect @web).\n"
	      "'moshman USER@HOST ...' alone means 'moshman connect USER@HOST ...'.\n"
	      "A host gets what ~/.ssh/config gives that name (HostName, User, Port,\n"
	      "IdentityFile, ProxyJump, ProxyCommand), as 'ssh HOST' would; the command line\n"
	      "wins over the config.\n"
	      "\n"
	      "Connects through the route (direct, SOCKS5, HTTP CONNECT, a jump host or a\n"
	      "ProxyCommand), checks the host key, logs in (agent, identity file, password),\n"
	      "starts mosh-server and runs mosh-client in this terminal through a local\n"
	      "relay.  moshman stays behind as the session's supervisor and records it (see\n"
	      "'moshman sessions'): up, degraded while the link is alive but in trouble (no\n"
	      "reply for over 3.5 s while mosh-client sends, or a round trip over 1 s),\n"
	      "reconnecting while the tunnel is rebuilt.  'moshman reconnect' (or SIGUSR2 to\n"
	      "the supervisor) rebuilds the link now.\n"
	      "\n"
	      "Every profile option applies to this run (lists such as --locale replace the\n"
	      "profile's), checked as 'host add' checks them:\n",
	    f);
	cmd_print_profile_options(f);
	fputs("  --save NAME                    store what this run used as profile NAME\n"
	      "\n"
	      "Exit status: mosh-client's once it ran, 1 if connecting failed, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_connect = {
	"connect",
	"NAME|[USER@]HOST[:PORT] [options] [--save NAME]",
	"open a supervised mosh session to a profile or USER@HOST in this terminal",
	cmd_connect_run,
	cmd_connect_help,
};
