/* Early stub so the header compiles for other branches; the real parser follows. */
#include "src/moshconnect.h"

#include <stdio.h>
#include <string.h>

int
moshconnect_parse(const char *out, size_t outlen, const char *err, size_t errlen,
    int exit_status, struct moshconnect *mc)
{
	memset(mc, 0, sizeof *mc);
	mc->why = MOSHCONNECT_NO_LINE;
	snprintf(mc->error, sizeof mc->error, "not implemented yet");
	return -1;
}

void
moshconnect_clear(struct moshconnect *mc)
{
	explicit_bzero(mc->key, sizeof mc->key);
}
