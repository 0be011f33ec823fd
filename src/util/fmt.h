/* SPDX-License-Identifier: MIT */
/* Short human forms of durations, ages and sizes, shared by the CLI and the dashboard. */
#ifndef MOSHMAN_FMT_H
#define MOSHMAN_FMT_H

#include <stddef.h>
#include <stdint.h>

/* "42s", "7m", "3h05m", "2d04h"; "-" for a negative (unknown) duration. */
void fmt_duration(int64_t seconds, char *, size_t);
/* Time since when_ms (ms since the epoch) as fmt_duration does; "never" for 0. */
void fmt_ago(int64_t when_ms, char *, size_t);
/* Replaces control characters in s with '?' (text from hosts and proxies reaching a
 * terminal); returns s. */
char *fmt_printable(char *s);
/* "512B", "1.5k", "3.2M", "1.1G". */
void fmt_bytes(int64_t, char *, size_t);
/* The local date and time of when_ms (ms since the epoch), "2026-12-06 23:05:09"; "-"
 * for 0 (never). */
void fmt_localtime(int64_t when_ms, char *, size_t);
/* Whole milliseconds from when_ms to now_ms (0 if when_ms is later), for machine-read
 * columns; "-" for 0 (never). */
void fmt_ms_since(int64_t when_ms, int64_t now_ms, char *, size_t);
/* The number, or "-" when it is not positive (a pid or port not known). */
void fmt_known(int64_t, char *, size_t);

#endif
