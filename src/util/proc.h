/* SPDX-License-Identifier: MIT */
/* Process identity: a pid alone is reused, so a process is named by its pid, its start
 * time (clock ticks since boot, field 22 of /proc/PID/stat) and the boot it ran in. */
#ifndef MOSHMAN_PROC_H
#define MOSHMAN_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_BOOT_ID_LEN 37 /* 36 characters of UUID and a NUL */

struct proc_stat {
	long pid;
	char state;         /* R, S, D, Z, T, ... */
	uint64_t starttime; /* clock ticks after boot */
};

/* Parses the contents of /proc/PID/stat (pure; the command name may hold spaces and
 * parentheses).  -1 when the text is not a stat line. */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *out);
/* /proc/PID/stat read and parsed: 0, or -1 (no such process, unreadable). */
int proc_stat_read(pid_t pid, struct proc_stat *out);
/* The start time of pid, 0 when it does not exist. */
uint64_t proc_start_time(pid_t pid);
/* This boot's id into buf (at least PROC_BOOT_ID_LEN); -1 if unavailable (buf "" then). */
int proc_boot_id(char *buf, size_t len);

#define PROC_DEAD 0
#define PROC_ALIVE 1
/* Is the process that was (pid, start, boot_id) still running?  A different boot, a
 * missing pid, another start time or a zombie all mean dead.  start == 0 or a NULL boot
 * id skip that comparison (rows written without them). */
int proc_alive(pid_t pid, uint64_t start, const char *boot_id);

#endif
