/* SPDX-License-Identifier: MIT */
#include "src/link/wake.h"

#include <stdio.h>
#include <string.h>

void
wake_init(struct wake *w)
{
	memset(w, 0, sizeof *w);
}

int
wake_tick(struct wake *w, int64_t boot_ms, int64_t mono_ms, char *why, size_t whysz)
{
	int64_t db, dm;
	int primed = w->primed;

	db = boot_ms - w->boot;
	dm = mono_ms - w->mono;
	w->boot = boot_ms;
	w->mono = mono_ms;
	w->primed = 1;
	if (!primed || dm < 0 || db < 0)
		return 0;
	if (db - dm >= WAKE_SUSPEND_MS) {
		snprintf(why, whysz, "woke from a suspend of %.1f s", (double)(db - dm) / 1000.0);
		return 1;
	}
	if (dm - WAKE_TICK_MS >= WAKE_LATE_MS) {
		snprintf(why, whysz, "ran again after %.1f s frozen",
		    (double)(dm - WAKE_TICK_MS) / 1000.0);
		return 1;
	}
	return 0;
}
