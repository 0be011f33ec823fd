/* moshman connect NAME: one mosh session in this terminal, supervised. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "src/cmd/cmd.h"
#include "src/link/transport.h"
#include "src/scan/scan.h"
#include "src/session/supervisor.h"

static int
cmd_connect_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "hostkey-policy", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_opts o;
	enum transport tr;
	struct db *db;
	int ch;

	memset(&o, 0, sizeof o);
	o.quiet = ctx->quiet;
	/* 0, not 1: glibc then forgets the "+" ordering main() used, so options may
	 * follow the operand. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o.transport = optarg;
			break;
		case 'k':
			o.hostkey_policy = optarg;
			break;
		default:
			return cmd_usage("usage: moshman connect NAME [--transport udp|tcp|auto|"
			    "command] [--hostkey-policy ask|accept-new|strict]");
		}
	}
	if (optind != argc - 1)
		return cmd_usage("usage: moshman connect NAME [--transport udp|tcp|auto|command] "
		    "[--hostkey-policy ask|accept-new|strict]");
	o.name = argv[optind];
	if (o.hostkey_policy != NULL && strcmp(o.hostkey_policy, "ask") != 0 &&
	    strcmp(o.hostkey_policy, "accept-new") != 0 && strcmp(o.hostkey_policy, "strict") != 0)
		return cmd_usage("unknown host key policy '%s' (ask, accept-new or strict)",
		    o.hostkey_policy);
	if (o.transport != NULL && transport_from_name(o.transport, &tr) == -1)
		return cmd_usage("unknown transport '%s' (" TRANSPORT_NAMES ")", o.transport);
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	scan_connect_hook(db, o.name, o.quiet);
	return supervisor_run(db, &o);
}

static void
cmd_connect_help(FILE *f)
{
	fputs("\nConnects through the profile's route (direct, SOCKS5, HTTP CONNECT, a jump host\n"
	      "or a ProxyCommand, also from ~/.ssh/config), checks the host key, logs in\n"
	      "(agent, identity file, password), starts mosh-server and runs mosh-client in\n"
	      "this terminal through a local relay.  moshman stays behind as the session's\n"
	      "supervisor and records it (see 'moshman sessions'): up, degraded while the\n"
	      "link is alive but in trouble (no reply for over 3.5 s while mosh-client\n"
	      "sends, or a round trip over 1 s), reconnecting while the tunnel is rebuilt.\n"
	      "'moshman reconnect' (or SIGUSR2 to the supervisor) rebuilds the link now.\n"
	      "\n"
	      "  --transport T       auto (default: direct UDP, the tunnel when UDP fails,\n"
	      "                      back to UDP when it works again), udp, tcp (mosh's UDP\n"
	      "                      inside this ssh connection, reconnecting on its own) or\n"
	      "                      command (the profile's --tunnel-command)\n"
	      "  --hostkey-policy P  ask (default), accept-new or strict, for this run\n"
	      "\n"
	      "Exit status: mosh-client's once it ran, 1 if connecting failed, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_connect = {
	"connect",
	"NAME [--transport udp|tcp|auto|command] [--hostkey-policy ask|accept-new|strict]",
	"open a supervised mosh session to a host profile in this terminal",
	cmd_connect_run,
	cmd_connect_help,
};
