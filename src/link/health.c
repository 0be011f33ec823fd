/* SPDX-License-Identifier: MIT */
#include "src/link/health.h"

#include <stdio.h>

int
health_judge(const struct health_in *in, char *reason, size_t reasonsz)
{
	int64_t ref = in->last_rx > in->since ? in->last_rx : in->since;
	int64_t quiet = in->now - ref;

	if (reasonsz > 0)
		reason[0] = '\0';
	if (in->last_tx > ref && in->now - in->last_tx <= HEALTH_TX_RECENT_MS &&
	    quiet > HEALTH_SILENCE_MS) {
		snprintf(reason, reasonsz, "no reply for %.1f s while the client sends",
		    (double)quiet / 1000.0);
		return 1;
	}
	if (in->rtt_ms > HEALTH_RTT_MS || (in->degraded && in->rtt_ms >= HEALTH_RTT_OK_MS)) {
		snprintf(reason, reasonsz, "round trip %lld ms (over %d ms)", (long long)in->rtt_ms,
		    in->degraded && in->rtt_ms <= HEALTH_RTT_MS ? HEALTH_RTT_OK_MS : HEALTH_RTT_MS);
		return 1;
	}
	if (in->degraded) {
		if (in->rtt_ms >= 0)
			snprintf(reason, reasonsz, "replies again (round trip %lld ms)",
			    (long long)in->rtt_ms);
		else
			snprintf(reason, reasonsz, "replies again");
	}
	return 0;
}
