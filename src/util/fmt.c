/* SPDX-License-Identifier: MIT */
#include "src/util/fmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "src/util/clock.h"

void
fmt_duration(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

char *
fmt_printable(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return s;
}

void
fmt_ago(int64_t when_ms, char *buf, size_t len)
{
	int64_t now, s;

	if (when_ms <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	now = clock_epoch_ms();
	s = (now - when_ms) / 1000;
	fmt_duration(s < 0 ? 0 : s, buf, len);
}

void
fmt_bytes(int64_t b, char *buf, size_t len)
{
	if (b < 1024)
		snprintf(buf, len, "%lldB", (long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1fk", b / 1024.0);
	else if (b < 1024LL * 1024 * 1024)
		snprintf(buf, len, "%.1fM", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.1fG", b / (1024.0 * 1024 * 1024));
}

void
fmt_localtime(int64_t when_ms, char *buf, size_t len)
{
	time_t t = (time_t)(when_ms / 1000);
	struct tm tm;

	if (when_ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "-");
}

void
fmt_ms_since(int64_t when_ms, int64_t now_ms, char *buf, size_t len)
{
	if (when_ms <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64, now_ms > when_ms ? now_ms - when_ms : 0);
}

void
fmt_known(int64_t v, char *buf, size_t len)
{
	if (v <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRId64, v);
}
