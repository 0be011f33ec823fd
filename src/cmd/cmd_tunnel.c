/* SPDX-License-Identifier: MIT */
/* moshman tunnel NAME --local ADDR:PORT --remote ADDR:PORT: any UDP service through the
 * same tunnel and reconnect logic as a mosh session, in the foreground. */
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/cmd/cmd.h"
#include "src/link/health.h"
#include "src/link/localrelay.h"
#include "src/link/rrelay.h"
#include "src/ssh/sshconn.h"
#include "src/session/supervisor.h"
#include "src/link/tunnel.h"
#include "src/util/clock.h"
#include "src/util/xmalloc.h"

#define TUNNEL_USAGE \
	"usage: moshman tunnel NAME --local ADDR:PORT --remote ADDR:PORT " \
	"[--relay any|native|perl] [--hostkey-policy ask|accept-new|strict]"

struct ct {
	struct ev_loop *loop;
	struct sshconn *ssh;
	struct localrelay *relay;
	struct tunnel *tunnel;
	struct tunnel_config tc;
	int64_t since; /* ms epoch the link came up (again) */
	int degraded;
	int rc;
	int done;
};

static void
ct_line(const char *msg)
{
	/* One line per state change; benchmarks read these. */
	fprintf(stderr, "tunnel: %s\n", msg);
	fflush(stderr);
}

/* Once a second while the link is up (from the tunnel's own tick): degraded and back,
 * as one line each. */
static void
ct_health_tick(void *arg)
{
	struct ct *c = arg;
	struct localrelay_stats st;
	struct tunnel_info ti;
	struct health_in in;
	char why[160], line[200];
	int bad;

	if (c->tunnel == NULL || !tunnel_is_up(c->tunnel))
		return;
	localrelay_get_stats(c->relay, &st);
	tunnel_get_info(c->tunnel, &ti);
	memset(&in, 0, sizeof in);
	in.now = clock_epoch_ms();
	in.since = c->since;
	in.last_tx = st.last_up_ms;
	in.last_rx = st.last_down_ms > ti.last_rx_ms ? st.last_down_ms : ti.last_rx_ms;
	in.rtt_ms = ti.rtt_ms;
	in.degraded = c->degraded;
	bad = health_judge(&in, why, sizeof why);
	if (bad == c->degraded)
		return;
	c->degraded = bad;
	snprintf(line, sizeof line, "%s: %s", bad ? "degraded" : "up", why);
	ct_line(line);
}

static void
ct_event(struct tunnel *t, enum tunnel_event ev, const char *msg, double secs, void *arg)
{
	struct ct *c = arg;

	switch (ev) {
	case TUNNEL_UP:
	case TUNNEL_UP_AGAIN:
		c->since = clock_epoch_ms();
		c->degraded = 0;
		ct_line(msg);
		break;
	case TUNNEL_DEAD:
		c->degraded = 0;
		ct_line(msg);
		break;
	case TUNNEL_NOTICE:
	case TUNNEL_REFUSED:
		ct_line(msg);
		break;
	case TUNNEL_RETRY:
		break;
	case TUNNEL_FAILED:
		ct_line(msg);
		c->rc = EXIT_FAIL;
		c->done = 1;
		ev_break(c->loop, EVBREAK_ALL);
		break;
	}
}

static void
ct_open_done(struct sshconn *s, const char *error, void *arg)
{
	struct ct *c = arg;

	if (error != NULL) {
		fprintf(stderr, "moshman: %s\n", error);
		c->rc = EXIT_FAIL;
		c->done = 1;
		ev_break(c->loop, EVBREAK_ALL);
		return;
	}
	c->tunnel = tunnel_new(c->loop, c->ssh, c->relay, &c->tc, ct_event, c);
	tunnel_start(c->tunnel);
}

static void
ct_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ct *c = w->data;

	fprintf(stderr, "tunnel: stopped by signal %d\n", w->signum);
	c->rc = 0;
	c->done = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
ct_progress(const char *step, void *arg)
{
	int *quiet = arg;

	if (!*quiet)
		fprintf(stderr, "moshman: %s...\n", step);
}

static int
cmd_tunnel_run(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "local", required_argument, NULL, 'l' },
		{ "remote", required_argument, NULL, 'r' },
		{ "relay", required_argument, NULL, 'R' },
		{ "hostkey-policy", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *local = NULL, *remote = NULL, *policy = NULL, *relay = "any";
	char laddr[64], raddr[64], err[512];
	struct sshconn_config cfg;
	struct db_host host;
	struct ct c;
	ev_signal si, st;
	struct db *db;
	int ch, lport, rport, rc, quiet = ctx->quiet;

	memset(&c, 0, sizeof c);
	memset(&host, 0, sizeof host);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			local = optarg;
			break;
		case 'r':
			remote = optarg;
			break;
		case 'R':
			relay = optarg;
			break;
		case 'k':
			policy = optarg;
			break;
		default:
			return cmd_usage(TUNNEL_USAGE);
		}
	}
	if (optind != argc - 1 || local == NULL || remote == NULL)
		return cmd_usage(TUNNEL_USAGE);
	if (tunnel_parse_addrport(local, 1, laddr, sizeof laddr, &lport, err, sizeof err) == -1)
		return cmd_usage("--local: %s", err);
	if (tunnel_parse_addrport(remote, 0, raddr, sizeof raddr, &rport, err, sizeof err) == -1)
		return cmd_usage("--remote: %s", err);
	if (!rrelay_valid_host(raddr))
		return cmd_usage("--remote: '%s' is not usable as the relay's address", raddr);
	if (strcmp(relay, "any") == 0)
		c.tc.relay = TUNNEL_RELAY_ANY;
	else if (strcmp(relay, "native") == 0)
		c.tc.relay = TUNNEL_RELAY_NATIVE;
	else if (strcmp(relay, "perl") == 0)
		c.tc.relay = TUNNEL_RELAY_PERL;
	else
		return cmd_usage("unknown relay '%s' (any, native or perl)", relay);
	c.tc.udp_host = raddr;
	c.tc.udp_port = rport;
	c.tc.tick = ct_health_tick;
	c.tc.tick_arg = &c;
	if ((db = cmd_db(ctx)) == NULL)
		return EXIT_FAIL;
	rc = db_host_get(db, argv[optind], &host);
	if (rc == DB_NOTFOUND)
		return cmd_fail("no host profile named '%s'; see 'moshman host list'",
		    argv[optind]);
	if (rc != DB_OK)
		return cmd_fail("%s", db_error(db));
	if ((rc = supervisor_sshconn_config(&host, policy != NULL ? policy : host.hostkey_policy,
	         &cfg, err, sizeof err)) != 0) {
		rc = rc == SUPERVISOR_USAGE ? cmd_usage("%s", err) : cmd_fail("%s", err);
		goto out;
	}

	c.loop = ev_default_loop(EVFLAG_AUTO);
	signal(SIGPIPE, SIG_IGN);
	/* A non-loopback local address means serving other machines: any sender. */
	c.relay = localrelay_new_at(c.loop, laddr, lport,
	    strncmp(laddr, "127.", 4) != 0 && strcmp(laddr, "::1") != 0, err, sizeof err);
	if (c.relay == NULL) {
		rc = cmd_fail("%s", err);
		goto out;
	}
	fprintf(stderr, "tunnel: listening on %s%s%s:%d, forwarding to %s:%d as seen from %s\n",
	    strchr(laddr, ':') != NULL ? "[" : "", laddr, strchr(laddr, ':') != NULL ? "]" : "",
	    localrelay_port(c.relay), raddr, rport, host.name);
	ev_signal_init(&si, ct_signal, SIGINT);
	ev_signal_init(&st, ct_signal, SIGTERM);
	si.data = st.data = &c;
	ev_signal_start(c.loop, &si);
	ev_signal_start(c.loop, &st);
	c.ssh = sshconn_new(c.loop, &cfg, ct_progress, &quiet);
	c.rc = EXIT_FAIL;
	sshconn_open(c.ssh, 1, ct_open_done, &c);
	while (!c.done)
		ev_run(c.loop, 0);
	rc = c.rc;
	ev_signal_stop(c.loop, &si);
	ev_signal_stop(c.loop, &st);
out:
	tunnel_free(c.tunnel);
	sshconn_free(c.ssh);
	localrelay_free(c.relay);
	db_host_clear(&host);
	return rc;
}

static void
cmd_tunnel_help(FILE *f)
{
	fputs("\nForwards UDP datagrams between a local address and ADDR:PORT as seen from the\n"
	      "profile's host, through the same TCP tunnel and reconnect logic as a mosh session\n"
	      "(inside the profile's ssh connection, over its proxy).  Runs in the foreground\n"
	      "until SIGINT or SIGTERM and prints one line per state change on stderr:\n"
	      "  tunnel: up via tcp (relay native)\n"
	      "  tunnel: link dead (no reply for 7.0 s); reconnecting\n"
	      "  tunnel: up again after 3.2 s (reconnect 1)\n"
	      "  tunnel: degraded: no reply for 3.6 s while the client sends\n"
	      "  tunnel: up: replies again (round trip 12 ms)\n"
	      "(degraded: the link is alive but the far side has been silent for over 3.5 s\n"
	      "while the client sends, or the round trip is over 1 s.)\n"
	      "Addresses are numeric: 127.0.0.1:5353, [::1]:5353 (local port 0: any free one).\n"
	      "Replies go to the newest sender.\n"
	      "\n"
	      "  --relay R           any (default: moshman on the host, else Perl), native, perl\n"
	      "  --hostkey-policy P  ask, accept-new or strict, for this run\n",
	    f);
}

const struct cmd cmd_tunnel = {
	"tunnel",
	"NAME --local ADDR:PORT --remote ADDR:PORT [--relay any|native|perl]",
	"forward any UDP service through the tunnel, in the foreground",
	cmd_tunnel_run,
	cmd_tunnel_help,
};
