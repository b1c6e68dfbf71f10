/*
 * netaddr.c - IP addresses and CIDR prefixes (see netaddr.h).
 */
#include <arpa/inet.h>
#include <string.h>

#include "netaddr.h"

/* net_addr_parse - IPv4 or IPv6 text into family and 16 bytes; 0/-1 */
int
net_addr_parse(const char *p, size_t len, int *family, unsigned char addr[16])
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, tmp, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, addr) == 1)
		*family = AF_INET6;
	else
		return -1;
	return 0;
}

/* net_prefix_parse - "addr" or "addr/len"; 0/-1 */
int
net_prefix_parse(const char *p, size_t len, struct net_prefix *n)
{
	const char *slash = memchr(p, '/', len);
	size_t alen = slash ? (size_t)(slash - p) : len;
	unsigned max, v = 0;

	if (net_addr_parse(p, alen, &n->family, n->addr) < 0)
		return -1;
	max = n->family == AF_INET ? 32 : 128;
	n->prefix = max;
	if (slash == NULL)
		return 0;
	if (len - alen < 2 || len - alen > 4)	/* "/" and 1 to 3 digits */
		return -1;
	for (const char *q = slash + 1; q < p + len; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (unsigned)(*q - '0');
	}
	if (v > max)
		return -1;
	n->prefix = v;
	return 0;
}

/* net_prefix_match - same family, the first n->prefix bits agree */
bool
net_prefix_match(const struct net_prefix *n, int family, const unsigned char addr[16])
{
	unsigned full = n->prefix / 8, rest = n->prefix % 8;

	if (family != n->family || memcmp(addr, n->addr, full) != 0)
		return false;
	return rest == 0 || ((addr[full] ^ n->addr[full]) & (0xff00 >> rest) & 0xff) == 0;
}
