/* SPDX-License-Identifier: MIT */
/* What `scan` and `clean` share. */
#ifndef MOSHMAN_CMD_SCAN_H
#define MOSHMAN_CMD_SCAN_H

/* --timeout's value: whole seconds, 1 to 3600.  -1 if malformed. */
int cmd_scan_timeout(const char *, int *out);

#endif
