/* SPDX-License-Identifier: MIT */
/* libFuzzer: the ad hoc connect target ([USER@]HOST[:PORT]) and --server-port parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/ssh/profile.h"
#include "src/util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_message(const char *err)
{
	if (err == NULL)
		abort(); /* a refusal always says why */
	for (const char *p = err; *p; p++) {
		if ((unsigned char)*p < 0x20)
			abort(); /* messages reach terminals */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *user = NULL, *host = NULL, *err = NULL, *e2 = NULL;
	int port = -1, lo = -1, hi = -1;

	if (size > 4096)
		return 0;
	s = xstrndup((const char *)data, size);
	if (profile_parse_target(s, &user, &host, &port, &err) == 0) {
		/* What parses is safe on a command line and in a shell: each part passes the
		 * field validators again, and the port is 0 (unset) or 1-65535. */
		struct db_host h;

		profile_defaults(&h, "fuzz");
		if (host == NULL || port < 0 || port > 65535 ||
		    profile_set(&h, "host", host, &e2) == -1 ||
		    (user != NULL && profile_set(&h, "user", user, &e2) == -1))
			abort();
		db_host_clear(&h);
		if (strpbrk(host, " ;|&$`'\"\\<>(){}*?\n") != NULL ||
		    (user != NULL && strpbrk(user, " ;|&$`'\"\\<>(){}*?\n@") != NULL))
			abort();
	} else
		check_message(err);
	free(err);
	err = NULL;
	if (profile_check_server_port(s, &lo, &hi, &err) == 0) {
		if (lo < 1 || hi > 65535 || lo > hi)
			abort();
	} else
		check_message(err);
	free(err);
	free(e2);
	free(user);
	free(host);
	free(s);
	return 0;
}
