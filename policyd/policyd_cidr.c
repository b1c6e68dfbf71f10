/*
 * policyd_cidr.c - client addresses and CIDR networks (RFC 4632, RFC 4291 §2.3)
 * for skip_addresses.  Postfix sends client_address as plain IPv4 or IPv6 text;
 * an "IPv6:" prefix (RFC 5321 §4.1.3 literal form) is tolerated.  An address
 * only matches networks of its own family: list ::ffff:127.0.0.0/104 to cover
 * v4-mapped clients, as pypolicyd-spf's default does.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policyd.h"

/* A parsed CIDR network: family, 16 address bytes (v4 in the first 4), prefix. */
struct policyd_cidr {
	int family;
	unsigned char addr[16];
	unsigned prefix;
};

/* policyd_cidr_addr_parse - IPv4 or IPv6 text (optional "IPv6:" prefix) */
bool
policyd_cidr_addr_parse(const char *s, int *family, unsigned char addr[16])
{
	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* policyd_cidr_parse - "addr" or "addr/prefix" */
static bool
policyd_cidr_parse(const char *s, struct policyd_cidr *n)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long prefix;
	unsigned max;

	if (strlen(s) >= sizeof(tmp))
		return false;
	snprintf(tmp, sizeof(tmp), "%s", s);
	slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!policyd_cidr_addr_parse(tmp, &n->family, n->addr))
		return false;
	max = n->family == AF_INET ? 32 : 128;
	n->prefix = max;
	if (slash == NULL)
		return true;
	prefix = strtoul(slash + 1, &end, 10);
	if (slash[1] == '\0' || *end != '\0' || prefix > max)
		return false;
	n->prefix = (unsigned)prefix;
	return true;
}

/* policyd_cidr_valid - "addr" or "addr/len", IPv4 or IPv6 */
bool
policyd_cidr_valid(const char *s)
{
	struct policyd_cidr n;

	return policyd_cidr_parse(s, &n);
}

/* policyd_cidr_match - address within network */
static bool
policyd_cidr_match(const struct policyd_cidr *n, int family,
    const unsigned char addr[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (family != n->family || memcmp(addr, n->addr, full) != 0)
		return false;
	return rest == 0 ||
	    ((addr[full] ^ n->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* policyd_cidr_list_match - is the address text in one of the CIDR items? */
bool
policyd_cidr_list_match(const struct config_list *l, const char *addr)
{
	unsigned char a[16];
	int family;
	struct policyd_cidr n;

	if (addr == NULL || !policyd_cidr_addr_parse(addr, &family, a))
		return false;
	for (size_t i = 0; i < l->count; i++) {
		if (policyd_cidr_parse(l->items[i], &n) &&
		    policyd_cidr_match(&n, family, a))
			return true;
	}
	return false;
}
