/* SPDX-License-Identifier: MIT */
#include "src/session/attachkey.h"

#include <stdio.h>
#include <string.h>

void
attachkey_init(struct attachkey *k, unsigned char detach)
{
	k->detach = detach;
	k->held = 0;
}

int
attachkey_parse(const char *spec, unsigned char *out, char *err, size_t errlen)
{
	unsigned char c;

	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "the detach key is empty; give one character (d) or ^X");
		return -1;
	}
	if (spec[0] == '^' && spec[1] != '\0' && spec[2] == '\0') {
		c = (unsigned char)spec[1];
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c < '@' || c > '_') {
			snprintf(err, errlen,
			    "detach key '%s': after ^ comes @, A-Z, [, \\, ], ^ "
			    "or _",
			    spec);
			return -1;
		}
		c = (unsigned char)(c - '@');
	} else if (spec[1] == '\0' && (unsigned char)spec[0] > 0x20 &&
	    (unsigned char)spec[0] < 0x7f)
		c = (unsigned char)spec[0];
	else {
		snprintf(err, errlen,
		    "detach key '%.32s': give one printable character (d) or "
		    "^X for a control key",
		    spec);
		return -1;
	}
	if (c == '.' || c == '^' || c == 0x1a || c == ATTACHKEY_ESCAPE) {
		snprintf(err, errlen,
		    "detach key '%s' is mosh-client's own (Ctrl-^ . quits, "
		    "Ctrl-^ Ctrl-Z suspends, Ctrl-^ ^ types Ctrl-^); pick another",
		    spec);
		return -1;
	}
	*out = c;
	return 0;
}

size_t
attachkey_feed(struct attachkey *k, const unsigned char *in, size_t n, unsigned char *out,
    size_t *used, int *detach)
{
	size_t i, o = 0;

	*detach = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = in[i];

		if (!k->held) {
			if (c == ATTACHKEY_ESCAPE)
				k->held = 1;
			else
				out[o++] = c;
			continue;
		}
		k->held = 0;
		if (c == k->detach) {
			*detach = 1;
			*used = i + 1;
			return o;
		}
		/* Whatever follows, mosh-client decides: both bytes go on, and its own
		 * escape state ends with them as ours does. */
		out[o++] = ATTACHKEY_ESCAPE;
		out[o++] = c;
	}
	*used = n;
	return o;
}

const char *
attachkey_name(unsigned char detach, char *buf, size_t len)
{
	if (detach < 0x20)
		snprintf(buf, len, "Ctrl-^ Ctrl-%c", detach + '@');
	else
		snprintf(buf, len, "Ctrl-^ %c", detach);
	return buf;
}
