/* Early stub so the header compiles for other branches; the real code follows. */
#include "src/proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ev.h>

#include "src/xmalloc.h"

enum proxy_type
proxy_type_from_name(const char *name)
{
	if (name == NULL || strcasecmp(name, "none") == 0)
		return PROXY_NONE;
	if (strcasecmp(name, "socks5") == 0)
		return PROXY_SOCKS5;
	if (strcasecmp(name, "socks5h") == 0)
		return PROXY_SOCKS5H;
	if (strcasecmp(name, "http") == 0)
		return PROXY_HTTP;
	return (enum proxy_type)-1;
}

const char *
proxy_type_name(enum proxy_type type)
{
	switch (type) {
	case PROXY_NONE:
		return "none";
	case PROXY_SOCKS5:
		return "socks5";
	case PROXY_SOCKS5H:
		return "socks5h";
	case PROXY_HTTP:
		return "http";
	}
	return "?";
}
