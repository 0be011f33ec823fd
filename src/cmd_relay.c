/* moshman relay: the remote end of the tunnel, started by moshman over ssh. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/cmd.h"
#include "src/frame.h"
#include "src/rrelay.h"
#include "src/xmalloc.h"

static int
cmd_relay_number(const char *s, int lo, int hi, int *out)
{
	char *end = NULL;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int
cmd_relay_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "proto", required_argument, NULL, 'v' },
		{ "host", required_argument, NULL, 'H' },
		{ "print-perl", no_argument, NULL, 's' },
		{ "print-perl-command", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct rrelay_opts o;
	char err[512], *cmd = NULL;
	int ch, print_script = 0, print_command = 0, proto = 0;

	memset(&o, 0, sizeof o);
	o.in_fd = 0;
	o.out_fd = 1;
	o.vmin = FRAME_VERSION_MIN;
	o.vmax = FRAME_VERSION_MAX;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (cmd_relay_number(optarg, 1, 65535, &o.port) == -1)
				return cmd_usage("relay: --port must be 1..65535, not '%s'", optarg);
			break;
		case 'v':
			if (cmd_relay_number(optarg, 1, 255, &proto) == -1 ||
			    proto < FRAME_VERSION_MIN || proto > FRAME_VERSION_MAX)
				return cmd_usage("relay: protocol version %s is not supported "
						 "(this moshman speaks %d..%d)",
				    optarg, FRAME_VERSION_MIN, FRAME_VERSION_MAX);
			o.vmin = o.vmax = proto;
			break;
		case 'H':
			if (!rrelay_valid_host(optarg))
				return cmd_usage("relay: --host must be a numeric IPv4 or IPv6 "
						 "address, not '%s'",
				    optarg);
			o.host = optarg;
			break;
		case 's':
			print_script = 1;
			break;
		case 'c':
			print_command = 1;
			break;
		default:
			return cmd_usage("relay: see 'moshman relay --help'");
		}
	}
	if (optind < argc)
		return cmd_usage("relay: unexpected argument '%s'", argv[optind]);

	if (print_script) {
		fputs(rrelay_perl_script(), stdout);
		return fflush(stdout) == 0 ? 0 : cmd_fail("relay: cannot write the script");
	}
	if (o.port == 0)
		return cmd_usage("relay: --port is required");
	if (print_command) {
		cmd = rrelay_perl_command(o.host, o.port, proto);
		printf("%s\n", cmd);
		free(cmd);
		return fflush(stdout) == 0 ? 0 : cmd_fail("relay: cannot write the command");
	}

	/* A vanished supervisor shows up as EPIPE on stdout, not as a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (rrelay_run(&o, err, sizeof err) == -1)
		return cmd_fail("relay: %s", err);
	return 0;
}

const struct cmd cmd_relay = {
	"relay",
	"--port PORT [--proto VERSION] [--host ADDR] | --print-perl | "
	"--print-perl-command --port PORT [--proto VERSION] [--host ADDR]",
	"the remote end of the TCP tunnel (moshman starts it over ssh)",
	cmd_relay_run,
};
