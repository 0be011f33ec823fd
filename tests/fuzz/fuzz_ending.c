/* SPDX-License-Identifier: MIT */
/* libFuzzer: the stop script's answer as the host's shell returns it (ending_stop_parse),
 * any bytes.  A verdict of "gone" must rest on the exact answer lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/session/ending.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	enum ending_answer a = ending_stop_parse(s, size);

	if (a < ENDING_ANS_GONE || a > ENDING_ANS_BAD)
		abort();
	/* Anything but BAD came from a header line and one answer line ending the input. */
	if (a != ENDING_ANS_BAD &&
	    (size < 16 || s[size - 1] != '\n' || memmem(s, size, "moshman-stop 1\n", 15) == NULL))
		abort();
	return 0;
}
