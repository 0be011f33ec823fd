/* SPDX-License-Identifier: MIT */
/* Debug log to a file, off by default (MOSHMAN_LOG=path).  Never onto the screen.
 * Never pass secrets (keys, passwords) to it. */
#ifndef MOSHMAN_LOG_H
#define MOSHMAN_LOG_H

void log_open(const char *path);
void log_close(void);
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
