/*
 * listenhint.c - the explanation added to a bind error, so that -t and the
 * start-up log say why a listen address cannot be used.
 */
#include <errno.h>

#include "listenhint.h"

/* listenhint_why - the reason behind a bind errno */
const char *
listenhint_why(int e)
{
	switch (e) {
	case EADDRINUSE:
		return " (another process listens there: is the daemon already "
		    "running? ss -ltnp names it)";
	case EADDRNOTAVAIL:
		return " (no interface of this host has that address)";
	case EACCES:
		return " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)";
	default:
		return "";
	}
}
