/* SPDX-License-Identifier: MIT */
#include "src/link/mbb.h"

#include <string.h>

#include "src/link/tunnel.h"

void
mbb_init(struct mbb *m, int have_link)
{
	memset(m, 0, sizeof *m);
	m->have_link = have_link;
}

int
mbb_probing(const struct mbb *m)
{
	return m->suspect_at != 0;
}

int64_t
mbb_verdict_at(const struct mbb *m)
{
	if (m->suspect_at == 0 || !m->have_link)
		return 0;
	return m->suspect_at + MBB_VERDICT_MS;
}

int
mbb_verdict(const struct mbb_tcp *k)
{
	if (!k->known)
		return 1;
	return k->unacked > 0 && (k->retransmits > 0 || k->last_ack_ms >= MBB_VERDICT_MS);
}

int
mbb_suspect(struct mbb *m, int64_t now, enum mbb_why why)
{
	/* A network change while attempts back off (they failed fast on the old network:
	 * no route, refused): the new network deserves a fresh start, now. */
	if (!m->have_link || m->suspect_at != 0) {
		if (why == MBB_WHY_NETWORK && m->suspect_at != 0) {
			m->failures = 0;
			mbb_kick(m, now);
		}
		return 0;
	}
	if (why == MBB_WHY_SILENCE && m->false_alarm_at != 0 &&
	    now - m->false_alarm_at < MBB_QUIET_MS)
		return 0;
	m->suspect_at = now;
	m->suspect_why = why;
	m->retry_at = now;
	m->failures = 0;
	return 1;
}

int
mbb_link_answered(struct mbb *m, int64_t now)
{
	if (m->suspect_at == 0 || !m->have_link)
		return 0;
	m->suspect_at = 0;
	if (m->suspect_why != MBB_WHY_SILENCE)
		return 0;
	m->running = 0;
	m->false_alarm_at = now;
	return 1;
}

void
mbb_link_lost(struct mbb *m, int64_t now)
{
	if (m->have_link || m->lost_at == 0)
		m->lost_at = now;
	m->have_link = 0;
	if (m->suspect_at == 0) {
		m->suspect_at = now;
		m->retry_at = now;
		m->failures = 0;
	}
}

/* No link, lost less than MBB_OUTAGE_FOR_MS ago. */
static int
mbb_in_outage(const struct mbb *m, int64_t now)
{
	return !m->have_link && m->lost_at != 0 && now - m->lost_at < MBB_OUTAGE_FOR_MS;
}

void
mbb_attempt_failed(struct mbb *m, int64_t now, int64_t started, double r, int hold_ms)
{
	int64_t next;
	int pause;

	if (m->running > 0)
		m->running--;
	if (m->suspect_at == 0)
		return;
	if (hold_ms <= 0 && now - started >= MBB_HUNG_MS)
		return; /* it only waited; the ones overlapping it keep coming */
	pause = tunnel_backoff_ms(m->failures, r);
	/* In an outage's first minute a refused attempt (a proxy or sshd restarting, no route
	 * yet) comes back within MBB_OVERLAP_MS, jittered: the path may return any moment,
	 * and the backoff's 2 s would be the whole wait.  Later it backs off as ever. */
	if (mbb_in_outage(m, now) && pause > MBB_OVERLAP_MS * (0.5 + 0.5 * r))
		pause = (int)(MBB_OVERLAP_MS * (0.5 + 0.5 * r));
	next = now + (hold_ms > 0 ? hold_ms : pause);
	m->failures++;
	/* The latest failure sets the pace; a refused login holds everything. */
	if (hold_ms > 0 || m->retry_at < next)
		m->retry_at = next;
}

void
mbb_won(struct mbb *m, int64_t now)
{
	m->suspect_at = 0;
	m->running = 0;
	m->failures = 0;
	m->have_link = 1;
	m->lost_at = 0;
	m->false_alarm_at = 0;
}

void
mbb_kick(struct mbb *m, int64_t now)
{
	if (m->suspect_at == 0)
		return;
	m->retry_at = now;
	m->last_start = 0;
}

/* A new attempt this often while earlier ones wait: faster in the first minute of an
 * outage, when the path may come back any moment and each attempt is one SYN. */
static int64_t
mbb_overlap(const struct mbb *m, int64_t now)
{
	return mbb_in_outage(m, now) ? MBB_OUTAGE_MS : MBB_OVERLAP_MS;
}

int
mbb_next(struct mbb *m, int64_t now, int64_t *wake)
{
	int64_t gap = mbb_overlap(m, now);

	*wake = 0;
	if (m->suspect_at == 0)
		return 0;
	if (m->running == 0) {
		if (now >= m->retry_at) {
			m->running++;
			m->last_start = now;
			return 1;
		}
		*wake = m->retry_at;
		return 0;
	}
	/* Earlier attempts still wait: overlap one more, not faster than every gap ms
	 * and not while failures ask for a pause. */
	if (m->running >= MBB_RUNNING_MAX)
		return 0;
	if (now - m->last_start >= gap && now >= m->retry_at) {
		m->running++;
		m->last_start = now;
		return 1;
	}
	*wake = m->last_start + gap > m->retry_at ? m->last_start + gap : m->retry_at;
	return 0;
}
