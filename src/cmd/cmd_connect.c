/* moshman connect NAME: one mosh session, supervised, attached to this terminal.
 *
 * The command forks: the child becomes the session's supervisor (it connects, asks for
 * passwords and prints its progress on this terminal as before, then leaves it for a
 * session of its own once mosh-client runs on the supervisor's pseudo-terminal); this
 * process waits for it over a socket pair and then is the attached terminal
 * (src/session/attachclient.c).  A failed start ends the child with its status, which
 * becomes this command's. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/cmd/cmd.h"
#include "src/scan/scan.h"
#include "src/session/attachclient.h"
#include "src/session/attachkey.h"
#include "src/session/supervisor.h"

#define CONNECT_USAGE                                                                    \
	"usage: moshman connect NAME [-d] [--transport udp|tcp|auto|command] "            \
	"[--hostkey-policy ask|accept-new|strict]"

/* The supervisor child, for a SIGTERM that reaches only this process. */
static volatile pid_t connect_child;

static void
connect_forward(int sig)
{
	if (connect_child > 0)
		kill(connect_child, sig);
}

/* The child's end as an exit status. */
static int
connect_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return EXIT_FAIL;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : EXIT_FAIL;
}

/* This side of the fork: wait until the session is up, then attach (or, detached, say
 * how to attach). */
static int
connect_attach(pid_t pid, int fd, const struct supervisor_opts *o, unsigned char key)
{
	struct attachclient c;
	struct sigaction sa;
	char err[256];
	int rc;

	memset(&c, 0, sizeof c);
	c.fd = fd;
	c.detach_key = key;
	/* Until the session is up the supervisor answers the keyboard's signals itself
	 * (it shares this terminal); a SIGTERM sent here only is passed on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	connect_child = pid;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = connect_forward;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	err[0] = '\0';
	if (attachclient_hello(&c, err, sizeof err) == -1) {
		/* The start failed, and the supervisor said why on this terminal. */
		close(fd);
		return connect_reap(pid);
	}
	signal(SIGTERM, SIG_DFL);
	if (o->detached) {
		close(fd);
		printf("moshman: session %lld (%s) is up, detached; attach with: moshman attach "
		    "%lld\n", (long long)c.session_id, c.host, (long long)c.session_id);
		return 0;
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	attachclient_run(&c);
	rc = attachclient_report(&c);
	close(fd);
	/* The supervisor is our child: reap it if it is done (it is when the session
	 * ended), else leave it running on its own. */
	waitpid(pid, NULL, WNOHANG);
	return rc;
}

static int
cmd_connect_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, 't' },
		{ "hostkey-policy", required_argument, NULL, 'k' },
		{ "detached", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct supervisor_opts o;
	struct db *db;
	char err[256];
	unsigned char key;
	int ch, sp[2], rc;
	pid_t pid;

	memset(&o, 0, sizeof o);
	o.quiet = ctx->quiet;
	o.attach_fd = -1;
	/* 0, not 1: glibc then forgets the "+" ordering main() used, so options may
	 * follow the operand. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "d", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o.transport = optarg;
			break;
		case 'k':
			o.hostkey_policy = optarg;
			break;
		case 'd':
			o.detached = 1;
			break;
		default:
			return cmd_usage(CONNECT_USAGE);
		}
	}
	if (optind != argc - 1)
		return cmd_usage(CONNECT_USAGE);
	o.name = argv[optind];
	if (o.hostkey_policy != NULL && strcmp(o.hostkey_policy, "ask") != 0 &&
	    strcmp(o.hostkey_policy, "accept-new") != 0 && strcmp(o.hostkey_policy, "strict") != 0)
		return cmd_usage("unknown host key policy '%s' (ask, accept-new or strict)",
		    o.hostkey_policy);
	if (o.transport != NULL && strcmp(o.transport, "udp") != 0 &&
	    strcmp(o.transport, "tcp") != 0 && strcmp(o.transport, "auto") != 0 &&
	    strcmp(o.transport, "command") != 0)
		return cmd_usage("unknown transport '%s' (udp, tcp, auto or command)", o.transport);
	if (attachclient_detach_key(&key, err, sizeof err) == -1)
		return cmd_usage("%s", err);
	/* Before the database is opened: each process then opens its own. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return cmd_fail("cannot start the session: socketpair: %s", strerror(errno));
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		return cmd_fail("cannot start the session: fork: %s", strerror(errno));
	}
	if (pid > 0) {
		close(sp[1]);
		return connect_attach(pid, sp[0], &o, key);
	}
	close(sp[0]);
	o.attach_fd = sp[1];
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	scan_connect_hook(db, o.name, o.quiet);
	rc = supervisor_run(db, &o);
	return rc;
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
	      "The session outlives this terminal: mosh-client runs on a terminal the\n"
	      "supervisor holds, and this one is attached to it.  Ctrl-^ d detaches (the\n"
	      "key after Ctrl-^ is set by MOSHMAN_DETACH_KEY, e.g. x or ^B); closing the\n"
	      "window detaches too.  'moshman attach' comes back, from any terminal.  The\n"
	      "session ends when its shell exits.  mosh-client's own keys (Ctrl-^ . quits,\n"
	      "Ctrl-^ Ctrl-Z, Ctrl-^ ^) work as always.\n"
	      "\n"
	      "  -d, --detached      start the session without attaching to it\n"
	      "  --transport T       auto (default: direct UDP, the tunnel when UDP fails,\n"
	      "                      back to UDP when it works again), udp, tcp (mosh's UDP\n"
	      "                      inside this ssh connection, reconnecting on its own) or\n"
	      "                      command (the profile's --tunnel-command)\n"
	      "  --hostkey-policy P  ask (default), accept-new or strict, for this run\n"
	      "\n"
	      "Exit status: mosh-client's when the session ended while attached, 0 when\n"
	      "detached, 1 if connecting failed, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_connect = {
	"connect",
	"NAME [-d] [--transport udp|tcp|auto|command] [--hostkey-policy ask|accept-new|strict]",
	"open a supervised mosh session to a host profile, attached to this terminal",
	cmd_connect_run,
	cmd_connect_help,
};
