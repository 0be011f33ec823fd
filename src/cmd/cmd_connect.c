/* SPDX-License-Identifier: MIT */
/* moshman connect TARGET [-d] [options]: one mosh session, supervised, attached to this
 * terminal.  What the command line means (profile or [USER@]HOST[:PORT], options for
 * this run, --save) is cmd_connect_target.c's.
 *
 * The command forks: the child becomes the session's supervisor (it connects, asks for
 * passwords and prints its progress on this terminal as before, then leaves it for a
 * session of its own once mosh-client runs on the supervisor's pseudo-terminal); this
 * process waits for it over a socket pair and then is the attached terminal
 * (src/session/attachclient.c).  A failed start ends the child with its status, which
 * becomes this command's. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/scan/scan.h"
#include "src/session/attachclient.h"
#include "src/session/attachkey.h"
#include "src/session/supervisor.h"

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
		       "%lld\n",
		    (long long)c.session_id, c.host, (long long)c.session_id);
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
	static const char *const own[] = { "-d", "--detached", NULL };
	struct supervisor_opts o;
	struct db_host h;
	char err[1024];
	unsigned char key;
	int sp[2], rc;
	pid_t pid;

	if ((rc = cmd_connect_target(ctx, argc, argv, own, &h)) != 0)
		return rc;
	memset(&o, 0, sizeof o);
	o.quiet = ctx->quiet;
	o.attach_fd = -1;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--detached") == 0)
			o.detached = 1;
	}
	o.name = h.name;
	o.host = &h;
	if (attachclient_detach_key(&key, err, sizeof err) == -1) {
		db_host_clear(&h);
		return cmd_usage("%s", err);
	}
	/* The supervisor opens its own database connection: none crosses the fork. */
	cmd_ctx_close(ctx);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		db_host_clear(&h);
		return cmd_fail("cannot start the session: socketpair: %s", strerror(errno));
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(sp[0]);
		close(sp[1]);
		db_host_clear(&h);
		return cmd_fail("cannot start the session: fork: %s", strerror(errno));
	}
	if (pid > 0) {
		close(sp[1]);
		db_host_clear(&h);
		return connect_attach(pid, sp[0], &o, key);
	}
	close(sp[0]);
	o.attach_fd = sp[1];
	if (cmd_db(ctx) == NULL) {
		db_host_clear(&h);
		return EXIT_FAIL;
	}
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
	      "starts mosh-server and runs mosh-client through a local\n"
	      "relay.  moshman stays behind as the session's supervisor and records it (see\n"
	      "'moshman sessions'): up, degraded while the link is alive but in trouble (no\n"
	      "reply for over 3.5 s while mosh-client sends, or a round trip over 1 s),\n"
	      "reconnecting while the tunnel is rebuilt.  'moshman reconnect' (or SIGUSR2 to\n"
	      "the supervisor) rebuilds the link now.\n"
	      "\n"
	      "The session outlives this terminal: mosh-client runs on a terminal the\n"
	      "supervisor holds, and this one is attached to it.  Ctrl-^ d detaches (the\n"
	      "key after Ctrl-^ is set by MOSHMAN_DETACH_KEY, e.g. x or ^B); closing the\n"
	      "window detaches too.  'moshman attach' comes back, from any terminal.  The\n"
	      "session ends when its shell exits.  mosh-client's own keys (Ctrl-^ . quits,\n"
	      "Ctrl-^ Ctrl-Z, Ctrl-^ ^) work as always.\n"
	      "\n"
	      "  -d, --detached                 start the session without attaching to it\n"
	      "\n"
	      "Every profile option applies to this run (lists such as --locale replace the\n"
	      "profile's), checked as 'host add' checks them:\n",
	    f);
	cmd_print_profile_options(f);
	fputs("  -4, -6                         mosh's -4 and -6: --family inet, --family inet6\n"
	      "  --save NAME                    store what this run used as profile NAME\n"
	      "\n"
	      "Exit status: mosh-client's when the session ended while attached, 0 when\n"
	      "detached, 1 if connecting failed, 2 for bad usage.\n",
	    f);
}

const struct cmd cmd_connect = {
	"connect",
	"NAME|[USER@]HOST[:PORT] [-d] [options] [--save NAME]",
	"open a supervised mosh session to a profile or USER@HOST, attached to this terminal",
	cmd_connect_run,
	cmd_connect_help,
};
