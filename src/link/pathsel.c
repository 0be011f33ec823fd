/* SPDX-License-Identifier: MIT */
#include "src/link/pathsel.h"

#include <stdio.h>
#include <string.h>

void
pathsel_init(struct pathsel *ps, int64_t now, int udp_possible)
{
	memset(ps, 0, sizeof *ps);
	ps->udp_possible = udp_possible;
	ps->path = udp_possible ? PATHSEL_UDP : PATHSEL_TCP;
	ps->since = now;
	ps->next_probe = now + PATHSEL_PROBE_EVERY_MS;
}

void
pathsel_client_tx(struct pathsel *ps, int64_t now)
{
	if (ps->first_tx == 0)
		ps->first_tx = now;
	if (ps->train == 0 || ps->last_tx == 0 || now - ps->last_tx > PATHSEL_TRAIN_GAP_MS)
		ps->train = now;
	ps->last_tx = now;
}

void
pathsel_udp_rx(struct pathsel *ps, int64_t now)
{
	ps->udp_rx = now;
	ps->udp_ever = 1;
	ps->first_tx = 0;
}

void
pathsel_udp_heard(struct pathsel *ps, int64_t now)
{
	pathsel_udp_rx(ps, now);
	ps->train = 0;
}

void
pathsel_network_changed(struct pathsel *ps, int64_t now)
{
	ps->first_tx = 0;
	ps->train = 0;
	if (ps->path == PATHSEL_TCP)
		ps->next_probe = now;
}

void
pathsel_tcp_state(struct pathsel *ps, int up)
{
	ps->tcp_up = up;
}

static int
pathsel_probing(const struct pathsel *ps, int64_t now)
{
	return now >= ps->next_probe && now < ps->next_probe + PATHSEL_PROBE_MS;
}

int
pathsel_send_udp(const struct pathsel *ps, int64_t now)
{
	if (!ps->udp_possible)
		return 0;
	if (ps->path == PATHSEL_UDP)
		return 1;
	return !ps->tcp_up || pathsel_probing(ps, now);
}

int
pathsel_send_tcp(const struct pathsel *ps, int64_t now)
{
	return ps->path == PATHSEL_TCP || !ps->udp_possible;
}

static void
pathsel_switch(struct pathsel *ps, enum pathsel_path to, int64_t now, int64_t *was_ms)
{
	*was_ms = now - ps->since;
	ps->path = to;
	ps->since = now;
	ps->udp_rx_seen = ps->udp_rx;
	ps->first_tx = 0;
	ps->train = 0;
	ps->next_probe = now + PATHSEL_PROBE_EVERY_MS;
}

int
pathsel_tick(struct pathsel *ps, int64_t now, char *reason, size_t reasonsz, int64_t *was_ms)
{
	int64_t limit, last = ps->last_tick;

	ps->last_tick = now;
	if (!ps->udp_possible)
		return 0;
	if (last != 0 && now - last >= PATHSEL_TICK_GAP_MS) {
		/* We were not running: datagrams that went unanswered meanwhile say nothing. */
		ps->first_tx = 0;
		ps->train = 0;
		return 0;
	}
	if (ps->path == PATHSEL_UDP) {
		limit = ps->udp_ever ? PATHSEL_SILENCE_MS : PATHSEL_START_MS;
		if (ps->tcp_up && ps->first_tx != 0 && now - ps->first_tx >= limit) {
			if (ps->udp_ever)
				snprintf(reason, reasonsz, "UDP silent for %.1f s",
				    (double)(now - ps->first_tx) / 1000.0);
			else
				snprintf(reason, reasonsz, "no UDP reply within %.1f s",
				    (double)(now - ps->first_tx) / 1000.0);
			pathsel_switch(ps, PATHSEL_TCP, now, was_ms);
			return 1;
		}
		/* A train still running (its last datagram within the gap) and unanswered. */
		if (ps->tcp_up && ps->train != 0 && now - ps->last_tx <= PATHSEL_TRAIN_GAP_MS &&
		    now - ps->train >= PATHSEL_UNHEARD_MS) {
			if (ps->udp_rx < ps->train)
				snprintf(reason, reasonsz,
				    "UDP silent for %.1f s while the client "
				    "sends",
				    (double)(now - ps->train) / 1000.0);
			else
				snprintf(reason, reasonsz,
				    "the server has not heard the client "
				    "over UDP for %.1f s",
				    (double)(now - ps->train) / 1000.0);
			pathsel_switch(ps, PATHSEL_TCP, now, was_ms);
			return 1;
		}
		return 0;
	}
	if (ps->udp_rx > ps->udp_rx_seen) {
		snprintf(reason, reasonsz, "UDP answers again");
		pathsel_switch(ps, PATHSEL_UDP, now, was_ms);
		return 1;
	}
	if (now >= ps->next_probe + PATHSEL_PROBE_MS)
		ps->next_probe = now + PATHSEL_PROBE_EVERY_MS - PATHSEL_PROBE_MS;
	return 0;
}

const char *
pathsel_name(enum pathsel_path p)
{
	return p == PATHSEL_TCP ? "tcp" : "udp";
}
