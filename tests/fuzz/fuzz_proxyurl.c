/* SPDX-License-Identifier: MIT */
/* libFuzzer: the --proxy URL parser and the profile field validators. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "src/ssh/profile.h"
#include "src/ssh/proxyurl.h"
#include "src/util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const opts[] = { "host", "port", "user", "jump", "locale", "tag",
		"tunnel-command", "idle-timeout", "server-command", "proxy", "known-hosts" };
	struct proxyurl u;
	struct db_host h;
	char *s, *err = NULL;

	if (size < 1 || size > 4096)
		return 0;
	s = xstrndup((const char *)data + 1, size - 1);
	if (proxyurl_parse(s, &u, &err) == 0) {
		/* What parses must be usable: a host, a sane port, no raw control bytes. */
		if (strcmp(u.type, "none") != 0 && (u.host == NULL || u.port < 1 || u.port > 65535))
			abort();
		proxyurl_clear(&u);
	} else if (err == NULL)
		abort();
	free(err);
	err = NULL;
	profile_defaults(&h, "fuzz");
	if (profile_set(&h, opts[data[0] % (sizeof opts / sizeof opts[0])], s, &err) == -1) {
		if (err == NULL)
			abort();
		for (const char *p = err; *p; p++) {
			if ((unsigned char)*p < 0x20)
				abort(); /* messages reach terminals */
		}
	}
	free(err);
	db_host_clear(&h);
	free(s);
	return 0;
}
