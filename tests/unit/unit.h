/* SPDX-License-Identifier: MIT */
/* A small unit-test harness.  UNIT_BEGIN prints the plan, "1..N", N being the number
 * of RUN() lines in the program; each RUN prints one line the runner counts:
 *   ok - <program>: <test>      not ok - <program>: <test>      skip - <program>: <test>: why
 * A check that fails prints where and why, and the test goes on to its end.  A case that
 * cannot run on this machine (not root) says UNIT_SKIP("why"); a missing program is a
 * failure, not a skip (docs/testing.md).  tests/run.sh fails a program that reports
 * fewer or more lines than its plan, e.g. one that exits half way. */
#ifndef MOSHMAN_UNIT_H
#define MOSHMAN_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_case_failed;
static int unit_total_failed;
static const char *unit_program = "unit";
static const char *unit_case_skipped;

/* Every RUN() site leaves its case's name in the section "unit_cases"; the linker bounds
 * it with these two symbols, so the plan is known before the first case runs, and
 * adding a RUN() line is all a new case needs.  A RUN() inside a loop counts once. */
extern const char *const __start_unit_cases[] __attribute__((weak));
extern const char *const __stop_unit_cases[] __attribute__((weak));

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			printf("    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			unit_case_failed = 1; \
		} \
	} while (0)

#define CHECK_INT(a, b) \
	do { \
		long long unit_a = (long long)(a), unit_b = (long long)(b); \
		if (unit_a != unit_b) { \
			printf("    %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, \
			    #a, unit_a, #b, unit_b); \
			unit_case_failed = 1; \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *unit_a = (a), *unit_b = (b); \
		if (unit_a == NULL || unit_b == NULL ? unit_a != unit_b \
		                                     : strcmp(unit_a, unit_b) != 0) { \
			printf("    %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
			    #a, unit_a ? unit_a : "(null)", unit_b ? unit_b : "(null)"); \
			unit_case_failed = 1; \
		} \
	} while (0)

/* Substring check, for error messages that must name what was wrong. */
#define CHECK_HAS(hay, needle) \
	do { \
		const char *unit_h = (hay), *unit_n = (needle); \
		if (unit_h == NULL || strstr(unit_h, unit_n) == NULL) { \
			printf("    %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
			    unit_h ? unit_h : "(null)", unit_n); \
			unit_case_failed = 1; \
		} \
	} while (0)

/* The contents of tests/fixtures/DIR/NAME (found through MOSHMAN_TOP, else the current
 * directory), NUL-terminated; marks the test failed and returns "" when it cannot be
 * read.  free() the result. */
__attribute__((unused)) static char *
unit_fixture(const char *dir, const char *name)
{
	const char *top = getenv("MOSHMAN_TOP");
	char path[4096], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/tests/fixtures/%s/%s", top ? top : ".", dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		printf("    cannot read %s\n", path);
		unit_case_failed = 1;
		if (f != NULL)
			fclose(f);
		return strdup("");
	}
	if ((buf = calloc(1, (size_t)n + 1)) == NULL)
		abort();
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		unit_case_failed = 1;
	fclose(f);
	return buf;
}

static void __attribute__((unused)) unit_run(const char *name, void (*fn)(void))
{
	unit_case_failed = 0;
	unit_case_skipped = NULL;
	fn();
	if (unit_case_skipped != NULL && !unit_case_failed)
		printf("skip - %s: %s: %s\n", unit_program, name, unit_case_skipped);
	else
		printf("%s - %s: %s\n", unit_case_failed ? "not ok" : "ok", unit_program, name);
	fflush(stdout);
	if (unit_case_failed)
		unit_total_failed++;
}

static void __attribute__((unused)) unit_begin(const char *name)
{
	unit_program = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n",
	    __start_unit_cases != NULL ? (size_t)(__stop_unit_cases - __start_unit_cases)
	                               : (size_t)0);
}

#define RUN(fn) \
	do { \
		static const char *const unit_case_##fn \
		    __attribute__((section("unit_cases"), used)) = #fn; \
		unit_run(unit_case_##fn, fn); \
	} while (0)
/* Inside a case: report it as skipped (only for what this machine cannot do). */
#define UNIT_SKIP(why) \
	do { \
		unit_case_skipped = (why); \
		return; \
	} while (0)
#define UNIT_BEGIN(name) unit_begin(name)
#define UNIT_END() return unit_total_failed ? 1 : 0

#endif
