/*
 * report_rua.c - the rua= URIs of a policy record as report destinations
 * (RFC 9990 "Report Delivery": URIs in the order given, malformed ones
 * ignored; "Email": mailto only).  Each URI may end in "!" 1*DIGIT
 * [k / m / g / t], the largest report it takes (RFC 7489 §6.2 dmarc-uri,
 * kept by RFC 9989 records in the wild; units powers of two); the address is
 * the mailto path (RFC 6068 §2) percent-decoded, with any "?hfields" dropped.
 * An address with anything that could break an SMTP command or a header
 * field (controls, blanks, <>, quotes, a second @) is refused.
 */
#include <ctype.h>
#include <string.h>

#include "report.h"

/* rua_hex - value of one hex digit, -1 if not one */
static int
rua_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* rua_size - "!N[kmgt]" at the end of (p, *len): cut it off, bytes in *limit */
static int
rua_size(const char *p, size_t *len, uint64_t *limit)
{
	const char *bang = memrchr(p, '!', *len);
	static const char units[] = "kmgt";
	const char *d, *u, *end = p + *len;
	uint64_t v = 0, mult = 1;

	*limit = 0;
	if (!bang)
		return 0;
	d = bang + 1;
	if (end - d >= 2 && end[-1] && (u = strchr(units, tolower((unsigned char)end[-1])))) {
		mult = (uint64_t)1 << (10 * (1 + (u - units)));
		end--;
	}
	if (d == end)
		return -1;
	for (; d < end; d++) {
		if (!isdigit((unsigned char)*d) || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	*limit = v > UINT64_MAX / mult ? UINT64_MAX : v * mult;
	*len = (size_t)(bang - p);
	return 0;
}

/* rua_addr_char - may c appear in an address we hand to SMTP */
static bool
rua_addr_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("<>\"\\,;()[]", c);
}

/* rua_decode - percent-decode the mailto path into out; -1 when unusable */
static int
rua_decode(const char *p, size_t len, char *out, size_t size)
{
	size_t n = 0, ats = 0;

	for (size_t i = 0; i < len && p[i] != '?'; i++) {
		int c = (unsigned char)p[i];

		if (c == '%') {
			int h = i + 2 < len ? rua_hex(p[i + 1]) : -1;
			int l = i + 2 < len ? rua_hex(p[i + 2]) : -1;

			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (!rua_addr_char((unsigned char)c) || n + 1 >= size)
			return -1;
		ats += c == '@';
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (ats != 1 || out[0] == '@' || out[n - 1] == '@')
		return -1;
	return 0;
}

/* rua_one - one URI (p, len) into u; -1 when it is not a usable mailto */
static int
rua_one(const char *p, size_t len, struct report_uri *u)
{
	if (len < 7 || strncasecmp(p, "mailto:", 7) != 0)
		return -1;
	if (rua_size(p, &len, &u->size_limit) < 0)
		return -1;
	if (rua_decode(p + 7, len - 7, u->addr, sizeof(u->addr)) < 0)
		return -1;
	u->domain = strrchr(u->addr, '@') + 1;
	return 0;
}

/* report_rua_parse - the blank-separated URIs of (p, len), usable mailto only */
void
report_rua_parse(const char *p, size_t len, struct report_rua *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len && out->n < DMARC_URI_LIMIT) {
		size_t start, end;

		while (i < len && (p[i] == ' ' || p[i] == ','))
			i++;
		start = i;
		while (i < len && p[i] != ' ' && p[i] != ',')
			i++;
		end = i;
		if (end > start && rua_one(p + start, end - start, &out->uri[out->n]) == 0)
			out->n++;
		else if (end > start)
			out->ignored++;
	}
}
