/*
 * spf_addr.c - client address handling for SPF (RFC 7208 §5, §5.5, §5.6, §7.3).
 *
 * IPv4-mapped IPv6 clients are treated as IPv4 (RFC 7208 §5: "ip4" matching of
 * such a client, and the in-addr form of %{i}).  Network text from records is
 * parsed from (pointer, length) with strict syntax.
 */
#include <arpa/inet.h>
#include <string.h>

#include "spf_int.h"

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* spf_addr_from_sockaddr - client address, IPv4-mapped IPv6 unwrapped */
int
spf_addr_from_sockaddr(const struct sockaddr_storage *ss, struct spf_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		a->family = AF_INET;
		memcpy(a->b, &sin->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		const unsigned char *b = sin6->sin6_addr.s6_addr;

		if (memcmp(b, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
			a->family = AF_INET;
			memcpy(a->b, b + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->b, b, 16);
		}
		return 0;
	}
	return -1;
}

/* spf_addr_match - the client is in net/prefix of the same family (§5.6) */
bool
spf_addr_match(const struct spf_addr *a, int family, const unsigned char *net,
    unsigned prefix)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	unsigned full, rest;

	if (a->family != family)
		return false;
	if (prefix > bits)
		prefix = bits;
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a->b, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->b[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* spf_addr_parse_ip4 - strict dotted quad: no leading zeros, each <= 255 */
bool
spf_addr_parse_ip4(const char *p, size_t len, unsigned char out[4])
{
	size_t i = 0;

	for (int oct = 0; oct < 4; oct++) {
		unsigned v = 0, nd = 0;

		if (oct > 0) {
			if (i >= len || p[i] != '.')
				return false;
			i++;
		}
		for (; i < len && p[i] >= '0' && p[i] <= '9' && nd < 4; i++, nd++)
			v = v * 10 + (unsigned)(p[i] - '0');
		if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && p[i - nd] == '0'))
			return false;
		out[oct] = (unsigned char)v;
	}
	return i == len;
}

/* spf_addr_parse_ip6 - RFC 4291 text form, through inet_pton on a bounded copy */
bool
spf_addr_parse_ip6(const char *p, size_t len, unsigned char out[16])
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return false;
	}
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* spf_addr_text - printable form for %{c} and client-ip= */
int
spf_addr_text(const struct spf_addr *a, struct buf *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, a->b, tmp, sizeof(tmp)) == NULL)
		return -1;
	return buf_append_str(out, tmp);
}

/* spf_addr_dotted - %{i}: dotted quad, or 32 dot-separated nibbles (§7.3) */
int
spf_addr_dotted(const struct spf_addr *a, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	if (a->family == AF_INET)
		return buf_printf(out, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
	for (int i = 0; i < 16; i++) {
		if (i > 0)
			buf_append_char(out, '.');
		buf_append_char(out, hex[a->b[i] >> 4]);
		buf_append_char(out, '.');
		buf_append_char(out, hex[a->b[i] & 15]);
	}
	return out->overflow ? -1 : 0;
}

/* spf_addr_reverse_name - in-addr.arpa / ip6.arpa name for the PTR query */
int
spf_addr_reverse_name(const struct spf_addr *a, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";

	if (a->family == AF_INET)
		return buf_printf(out, "%u.%u.%u.%u.in-addr.arpa",
		    a->b[3], a->b[2], a->b[1], a->b[0]);
	for (int i = 15; i >= 0; i--) {
		buf_append_char(out, hex[a->b[i] & 15]);
		buf_append_char(out, '.');
		buf_append_char(out, hex[a->b[i] >> 4]);
		buf_append_char(out, '.');
	}
	buf_append_str(out, "ip6.arpa");
	return out->overflow ? -1 : 0;
}
