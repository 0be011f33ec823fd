/* SPDX-License-Identifier: MIT */
/* libFuzzer target for moshconnect_parse.  Input: byte 0 picks the exit status, byte 1
 * where stdout ends and stderr begins, the rest is the two streams. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/session/moshconnect.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
key_ok(const char *k)
{
	size_t i;

	for (i = 0; i < MOSHCONNECT_KEY_LEN; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
		        k[i]) == NULL ||
		    k[i] == '\0')
			return 0;
	return k[MOSHCONNECT_KEY_LEN] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct moshconnect mc;
	const char *body, *p;
	size_t split, len;
	int status, rc;
	char *out, *err;

	if (size < 2)
		return 0;
	status = data[0] == 255 ? -1 : data[0];
	len = size - 2;
	split = len == 0 ? 0 : (size_t)data[1] * len / 255;
	body = (const char *)data + 2;
	/* Copies so ASan catches any read past either stream. */
	out = malloc(split ? split : 1);
	err = malloc(len - split ? len - split : 1);
	memcpy(out, body, split);
	memcpy(err, body + split, len - split);
	rc = moshconnect_parse(out, split, err, len - split, status, &mc);
	if (rc == 0) {
		if (mc.why != MOSHCONNECT_OK || mc.port < 1 || mc.port > 65535 || !key_ok(mc.key))
			abort();
		/* the key came from a MOSH CONNECT line in the input */
		if (memmem(body, len, mc.key, MOSHCONNECT_KEY_LEN) == NULL)
			abort();
	} else {
		if (rc != -1 || mc.why == MOSHCONNECT_OK || mc.port != 0 || mc.key[0] != '\0')
			abort();
		if (strlen(mc.error) >= sizeof mc.error - 1 || mc.error[0] == '\0')
			abort();
		for (p = mc.error; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				abort();
	}
	if (mc.pid < 0 || mc.pid > 2147483647L)
		abort();
	free(out);
	free(err);
	return 0;
}
