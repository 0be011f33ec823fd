/* SPDX-License-Identifier: MIT */
#include "src/link/transport.h"

#include <stddef.h>
#include <string.h>

static const char *const transport_names[] = {
	[TRANSPORT_UDP] = "udp",
	[TRANSPORT_TCP] = "tcp",
	[TRANSPORT_AUTO] = "auto",
	[TRANSPORT_COMMAND] = "command",
};

const char *
transport_name(enum transport t)
{
	if ((size_t)t >= sizeof transport_names / sizeof transport_names[0])
		return "?";
	return transport_names[t];
}

int
transport_from_name(const char *name, enum transport *out)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof transport_names / sizeof transport_names[0]; i++) {
		if (strcmp(name, transport_names[i]) == 0) {
			*out = (enum transport)i;
			return 0;
		}
	}
	return -1;
}
