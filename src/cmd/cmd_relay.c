/* SPDX-License-Identifier: MIT */
/* moshman relay: the remote end of the tunnel, started by moshman over ssh. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/cmd/cmd.h"
#include "src/link/frame.h"
#include "src/link/rrelay.h"
#include "src/util/xmalloc.h"

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
		{ "idle", required_argument, NULL, 'i' },
		{ "print-perl", no_argument, NULL, 's' },
		{ "print-perl-command", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct rrelay_opts o;
	char err[512], *cmd = NULL;
	int ch, print_script = 0, print_command = 0, proto = 0, idle_set = 0;

	memset(&o, 0, sizeof o);
	o.in_fd = 0;
	o.out_fd = 1;
	o.vmin = FRAME_VERSION_MIN;
	o.vmax = FRAME_VERSION_MAX;
	o.idle_s = RRELAY_IDLE_S;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (cmd_relay_number(optarg, 1, 65535, &o.port) == -1)
				return cmd_usage("relay: --port must be 1..65535, not '%s'",
				    optarg);
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
		case 'i':
			if (cmd_relay_number(optarg, 0, 999999, &o.idle_s) == -1)
				return cmd_usage("relay: --idle must be a number of seconds "
				                 "(0: never), not '%s'",
				    optarg);
			idle_set = 1;
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
		if (idle_set)
			printf("%s --idle %d\n", cmd, o.idle_s);
		else
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

static void
cmd_relay_help(FILE *f)
{
	fputs("\nReads tunnel frames on stdin, sends each datagram to ADDR:PORT from a UDP\n"
	      "socket of its own, and writes every datagram from exactly that address back as a\n"
	      "frame on stdout.  moshman runs it at the far end of an ssh channel; you do not.\n"
	      "\n"
	      "  --port PORT        mosh-server's UDP port\n"
	      "  --host ADDR        numeric IPv4 or IPv6 address (default 127.0.0.1)\n"
	      "  --proto VERSION    speak only this protocol version (exit 2 if unknown)\n"
	      "  --idle SECONDS     exit after this long without a frame from moshman (the\n"
	      "                     link is gone), ending the sshd session it runs under;\n"
	      "                     default 30, 0 never\n"
	      "  --print-perl       print the embedded Perl relay, used where moshman is\n"
	      "                     not installed\n"
	      "  --print-perl-command\n"
	      "                     print the shell command that starts it; it reads the\n"
	      "                     script from stdin first.  To see a host's relay answer\n"
	      "                     with its HELLO:\n"
	      "                     moshman relay --print-perl | ssh HOST \"$(moshman relay\n"
	      "                     --print-perl-command --port 60001)\"\n"
	      "\n"
	      "Exit status: 0 after CLOSE or the end of stdin, 1 protocol error or failure,\n"
	      "2 bad arguments.  The protocol is described in docs/protocol.md.\n",
	    f);
}

const struct cmd cmd_relay = {
	"relay",
	"--port PORT [--host ADDR] [--proto VERSION] [--idle SECONDS] | --print-perl |\n"
	"       --print-perl-command --port PORT [--host ADDR] [--proto VERSION]",
	"the remote end of the TCP tunnel (moshman starts it over ssh)",
	cmd_relay_run,
	cmd_relay_help,
};
