/*
 * iprev_addr.c - the address an iprev check is about and its reverse name:
 * in-addr.arpa (RFC 1035 §3.5) and nibble-form ip6.arpa (RFC 3596 §2.5);
 * IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2) are checked as IPv4, and
 * the host names a PTR record may name (RFC 1123 §2.1).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "iprev.h"
#include "netaddr.h"

/* The IPv6 address literal tag of RFC 5321 §4.1.3, which XFORWARD carries. */
#define IPREV_V6_TAG		"ipv6:"
#define IPREV_V6_TAG_LEN	5
/* RFC 1035 §2.3.4 name and label limits. */
#define IPREV_NAME_MAX		253
#define IPREV_LABEL_MAX		63

static const unsigned char iprev_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* iprev_addr_parse - text address, tag and v4-mapped form handled */
int
iprev_addr_parse(const char *p, size_t len, struct iprev_addr *a)
{
	if (len > IPREV_V6_TAG_LEN && strncasecmp(p, IPREV_V6_TAG, IPREV_V6_TAG_LEN) == 0) {
		p += IPREV_V6_TAG_LEN;
		len -= IPREV_V6_TAG_LEN;
	}
	memset(a, 0, sizeof(*a));
	if (net_addr_parse(p, len, &a->family, a->b) < 0)
		return -1;
	if (a->family == AF_INET6 && memcmp(a->b, iprev_v4mapped, 12) == 0) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = AF_INET;
	}
	return 0;
}

/* iprev_addr_text - presentation form */
void
iprev_addr_text(const struct iprev_addr *a, char *out, size_t size)
{
	if (inet_ntop(a->family, a->b, out, (socklen_t)size) == NULL && size > 0)
		out[0] = '\0';
}

/* iprev_reverse_name - the PTR query name */
int
iprev_reverse_name(const struct iprev_addr *a, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int n;

	if (a->family == AF_INET) {
		n = snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa",
		    a->b[3], a->b[2], a->b[1], a->b[0]);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	if (a->family != AF_INET6 || size < IPREV_REVERSE_NAME_SIZE)
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[o++] = hex[a->b[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a->b[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/* iprev_label_ok - one LDH label (RFC 1123 §2.1; '_' tolerated as DNS allows it) */
static bool
iprev_label_ok(const char *p, size_t len)
{
	if (len == 0 || len > IPREV_LABEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* iprev_name_ok - a host name (a trailing dot allowed) */
bool
iprev_name_ok(const char *p, size_t len)
{
	size_t start = 0;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > IPREV_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (!iprev_label_ok(p + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}
