/* SPDX-License-Identifier: MIT */
/* libFuzzer: what moshman tunnel and the command transport parse: ADDR:PORT
 * (tunnel_parse_addrport) and the --tunnel-command template (cmdpath_expand). */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/link/cmdpath.h"
#include "src/link/tunnel.h"
#include "src/util/xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmdpath_vars v = { "h'o\"st", 22, "u$(x)", 60001, 41234 };
	unsigned char bin[16];
	char addr[64], err[512], *s, *out = NULL;
	int port = -1;

	if (size > 4096)
		return 0;
	s = xstrndup((const char *)data, size);
	err[0] = '\0';
	if (tunnel_parse_addrport(s, size & 1, addr, sizeof addr, &port, err, sizeof err) == 0) {
		/* What parses is a numeric address and a port in range. */
		if (port < 0 || port > 65535 ||
		    (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1))
			abort();
	} else if (err[0] == '\0')
		abort();
	err[0] = '\0';
	if (cmdpath_expand(s, &v, &out, err, sizeof err) == 0) {
		/* The values only ever appear quoted. */
		if (out == NULL ||
		    (strstr(s, "u$(x)") == NULL && strstr(out, "u$(x)") != NULL &&
		        strstr(out, "'u$(x)'") == NULL))
			abort();
		free(out);
	} else if (err[0] == '\0' || out != NULL)
		abort();
	free(s);
	return 0;
}
