/*
 * policyd_cidr.c - client addresses and CIDR networks (RFC 4632, RFC 4291 §2.3)
 * for skip_addresses.  Postfix sends client_address as plain IPv4 or IPv6 text;
 * an "IPv6:" prefix (RFC 5321 §4.1.3 literal form) is tolerated.  An address
 * only matches networks of its own family: list ::ffff:127.0.0.0/104 to cover
 * v4-mapped clients, as pypolicyd-spf's default does.
 */
#include <string.h>
#include <strings.h>

#include "netaddr.h"
#include "policyd.h"

/* policyd_cidr_addr_parse - IPv4 or IPv6 text (optional "IPv6:" prefix) */
bool
policyd_cidr_addr_parse(const char *s, int *family, unsigned char addr[16])
{
	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	return net_addr_parse(s, strlen(s), family, addr) == 0;
}

/* policyd_cidr_valid - "addr" or "addr/len", IPv4 or IPv6 */
bool
policyd_cidr_valid(const char *s)
{
	struct net_prefix n;

	return net_prefix_parse(s, strlen(s), &n) == 0;
}

/* policyd_cidr_list_match - is the address (family, bytes) in one of the CIDR items? */
bool
policyd_cidr_list_match(const struct config_list *l, int family,
    const unsigned char addr[16])
{
	struct net_prefix n;

	for (size_t i = 0; i < l->count; i++)
		if (net_prefix_parse(l->items[i], strlen(l->items[i]), &n) == 0 &&
		    net_prefix_match(&n, family, addr))
			return true;
	return false;
}
