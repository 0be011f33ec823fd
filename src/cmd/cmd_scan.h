/* Output helpers that `scan` and `clean` share. */
#ifndef MOSHMAN_CMD_SCAN_H
#define MOSHMAN_CMD_SCAN_H

#include <stddef.h>

struct db;
struct scan_host;

/* --timeout's value: whole seconds, 1 to 3600.  -1 if malformed. */
int cmd_scan_timeout(const char *, int *out);
/* The saved scans of the hosts as a JSON array of SQLite-made objects. */
void cmd_scan_print_json(struct db *, const struct scan_host *, size_t n);
/* One line per server of the host: pid, port, age, class, target, why. */
void cmd_scan_print_table(const struct scan_host *);

#endif
