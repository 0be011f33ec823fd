/* SPDX-License-Identifier: MIT */
#include "src/util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
proc_parse_stat(const char *buf, size_t len, struct proc_stat *out)
{
	const char *p, *end, *close = NULL;
	char *ep;
	int field;

	memset(out, 0, sizeof *out);
	end = buf + len;
	/* "PID (COMM) S ..." where COMM may contain ") " itself: the last ')' ends it. */
	for (p = buf; p < end; p++) {
		if (*p == ')')
			close = p;
	}
	if (close == NULL || len == 0)
		return -1;
	errno = 0;
	out->pid = strtol(buf, &ep, 10);
	if (ep == buf || errno != 0 || out->pid <= 0 || ep >= close || *ep != ' ' || ep[1] != '(')
		return -1;
	p = close + 1;
	/* Field 3 is the state; starttime is field 22. */
	for (field = 3; field <= 22; field++) {
		if (p >= end || *p != ' ')
			return -1;
		p++;
		if (p >= end)
			return -1;
		if (field == 3) {
			out->state = *p;
		} else if (field == 22) {
			uint64_t v = 0;
			const char *q = p;

			while (q < end && *q >= '0' && *q <= '9') {
				if (v > (UINT64_MAX - 9) / 10)
					return -1;
				v = v * 10 + (uint64_t)(*q - '0');
				q++;
			}
			if (q == p || (q < end && *q != ' ' && *q != '\n'))
				return -1;
			out->starttime = v;
			return 0;
		}
		while (p < end && *p != ' ')
			p++;
	}
	return -1;
}

int
proc_stat_read(pid_t pid, struct proc_stat *out)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (proc_parse_stat(buf, (size_t)n, out) == -1 || out->pid != (long)pid)
		return -1;
	return 0;
}

uint64_t
proc_start_time(pid_t pid)
{
	struct proc_stat st;

	if (proc_stat_read(pid, &st) == -1)
		return 0;
	return st.starttime;
}

int
proc_boot_id(char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int
proc_alive(pid_t pid, uint64_t start, const char *boot_id)
{
	struct proc_stat st;
	char now[PROC_BOOT_ID_LEN];

	if (pid <= 0)
		return PROC_DEAD;
	if (boot_id != NULL && *boot_id != '\0' && proc_boot_id(now, sizeof now) == 0 &&
	    strcmp(now, boot_id) != 0)
		return PROC_DEAD;
	if (proc_stat_read(pid, &st) == -1)
		return PROC_DEAD;
	if (st.state == 'Z' || st.state == 'X' || st.state == 'x')
		return PROC_DEAD;
	if (start != 0 && st.starttime != start)
		return PROC_DEAD;
	return PROC_ALIVE;
}
