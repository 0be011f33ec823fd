/* SPDX-License-Identifier: MIT */
#include <time.h>

#include "src/util/clock.h"
#include "src/util/fmt.h"
#include "tests/unit/unit.h"

static void
duration(void)
{
	char b[32];

	fmt_duration(-1, b, sizeof b);
	CHECK_STR(b, "-");
	fmt_duration(0, b, sizeof b);
	CHECK_STR(b, "0s");
	fmt_duration(59, b, sizeof b);
	CHECK_STR(b, "59s");
	fmt_duration(60, b, sizeof b);
	CHECK_STR(b, "1m");
	fmt_duration(3 * 3600 + 5 * 60 + 7, b, sizeof b);
	CHECK_STR(b, "3h05m");
	fmt_duration(2 * 86400 + 4 * 3600 + 59, b, sizeof b);
	CHECK_STR(b, "2d04h");
}

static void
ago(void)
{
	char b[32];

	fmt_ago(0, b, sizeof b);
	CHECK_STR(b, "never");
	/* 90 s ago reads "1m" for the next 29 s whatever the machine's load. */
	fmt_ago(clock_epoch_ms() - 90 * 1000, b, sizeof b);
	CHECK_STR(b, "1m");
	/* A time in the future (another host's clock) is "0s", not negative. */
	fmt_ago(clock_epoch_ms() + 60 * 1000, b, sizeof b);
	CHECK_STR(b, "0s");
}

static void
bytes(void)
{
	char b[32];

	fmt_bytes(512, b, sizeof b);
	CHECK_STR(b, "512B");
	fmt_bytes(1536, b, sizeof b);
	CHECK_STR(b, "1.5k");
	fmt_bytes(3 * 1024 * 1024 + 200 * 1024, b, sizeof b);
	CHECK_STR(b, "3.2M");
}

static void
localtime_utc(void)
{
	char b[32], small[8];

	setenv("TZ", "UTC", 1);
	tzset();
	fmt_localtime(0, b, sizeof b);
	CHECK_STR(b, "-");
	fmt_localtime(-5, b, sizeof b);
	CHECK_STR(b, "-");
	/* 2026-12-06 23:05:09.999 UTC: the milliseconds are cut, not rounded. */
	fmt_localtime(1796598309999LL, b, sizeof b);
	CHECK_STR(b, "2026-12-06 23:05:09");
	/* Too small a buffer says "-", never half a date. */
	fmt_localtime(1796598309999LL, small, sizeof small);
	CHECK_STR(small, "-");
}

static void
ms_since(void)
{
	char b[32];

	fmt_ms_since(0, 5000, b, sizeof b);
	CHECK_STR(b, "-");
	fmt_ms_since(3500, 5000, b, sizeof b);
	CHECK_STR(b, "1500");
	/* A clock step back shows 0, not a negative age. */
	fmt_ms_since(6000, 5000, b, sizeof b);
	CHECK_STR(b, "0");
}

static void
known(void)
{
	char b[32];

	fmt_known(0, b, sizeof b);
	CHECK_STR(b, "-");
	fmt_known(-3, b, sizeof b);
	CHECK_STR(b, "-");
	fmt_known(4242, b, sizeof b);
	CHECK_STR(b, "4242");
	fmt_known(9007199254740993LL, b, sizeof b);
	CHECK_STR(b, "9007199254740993");
}

int
main(void)
{
	UNIT_BEGIN("test_fmt");
	RUN(duration);
	RUN(ago);
	RUN(bytes);
	RUN(localtime_utc);
	RUN(ms_since);
	RUN(known);
	UNIT_END();
}
