/*
 * dns_wire.c - decode DNS response packets into dns.h answers.
 *
 * RFC 1035 §4.1 (message format), §4.1.4 (compression), §3.3.9 (MX),
 * §3.3.12 (PTR), §3.3.14 (TXT), RFC 3596 §2.2 (AAAA), RFC 7208 §3.3 and
 * RFC 6376 §3.6.2.2 (TXT character-strings are concatenated).
 *
 * Every read is checked against the packet end; a compression pointer must
 * point before the start of the name segment that contains it, so decoding
 * always terminates; names are limited to 255 wire octets.
 */
#include <string.h>
#include <stdlib.h>

#include "dns_wire.h"
#include "util.h"

/* one answer-section record, located in the packet */
struct wire_rr {
	size_t owner;		/* offset of the owner name */
	uint16_t type;
	uint16_t class;
	uint32_t ttl;		/* RFC 2181 §8: a value with the top bit set is 0 */
	size_t rd;		/* offset of the rdata */
	size_t rdlen;
};

#define WIRE_RR_FIXED 10	/* type, class, ttl, rdlength: RFC 1035 §4.1.3 */
#define WIRE_RR_MIN (1 + WIRE_RR_FIXED)	/* root owner name + fixed part */
#define WIRE_QUESTION_FIXED 4	/* qtype, qclass: RFC 1035 §4.1.2 */

/* wire_u16 - big-endian 16-bit value at off */
static uint16_t
wire_u16(const uint8_t *p, size_t off)
{
	return (uint16_t)((p[off] << 8) | p[off + 1]);
}

/* wire_ttl - a record's TTL at off (RFC 1035 §3.2.1; RFC 2181 §8: over 2^31-1 is 0) */
static uint32_t
wire_ttl(const uint8_t *p, size_t off)
{
	uint32_t v = ((uint32_t)wire_u16(p, off) << 16) | wire_u16(p, off + 2);

	return v > 0x7fffffffu ? 0 : v;
}

/* wire_put_octet - append one label octet in presentation form */
static void
wire_put_octet(char *out, size_t *o, uint8_t c)
{
	static const char digits[] = "0123456789";

	if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\') {
		out[(*o)++] = '\\';
		out[(*o)++] = digits[c / 100];
		out[(*o)++] = digits[(c / 10) % 10];
		out[(*o)++] = digits[c % 10];
		return;
	}
	if (c >= 'A' && c <= 'Z')
		c = (uint8_t)(c + ('a' - 'A'));
	out[(*o)++] = (char)c;
}

/* dns_wire_name - decode a possibly compressed name (see dns_wire.h) */
int
dns_wire_name(const uint8_t *pkt, size_t len, size_t *off,
    char out[DNS_WIRE_NAME_TEXT_SIZE], size_t *out_len)
{
	size_t pos = *off, segment = *off, wire = 0, o = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return -1;
		c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len)
				return -1;
			target = ((size_t)(c & 0x3f) << 8) | pkt[pos + 1];
			/* strictly backwards: no loops, no forward references */
			if (target >= segment)
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = segment = target;
			continue;
		}
		if (c > DNS_WIRE_LABEL_MAX)	/* 0x40/0x80: RFC 6891 §5 */
			return -1;
		wire += 1u + c;
		if (wire > DNS_WIRE_NAME_MAX)
			return -1;
		pos++;
		if (c == 0)
			break;
		if (c > len - pos)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < c; i++)
			wire_put_octet(out, &o, pkt[pos + i]);
		pos += c;
	}
	if (!jumped)
		*off = pos;
	out[o] = '\0';
	*out_len = o;
	return 0;
}

/* wire_skip_name - move *off past a name, validating it */
static int
wire_skip_name(const uint8_t *pkt, size_t len, size_t *off)
{
	char tmp[DNS_WIRE_NAME_TEXT_SIZE];
	size_t tlen;

	return dns_wire_name(pkt, len, off, tmp, &tlen);
}

/* wire_owner_is - does the record's owner equal name (both lower case)? */
static bool
wire_owner_is(const uint8_t *pkt, size_t len, const struct wire_rr *rr,
    const char *name)
{
	char tmp[DNS_WIRE_NAME_TEXT_SIZE];
	size_t tlen, off = rr->owner;

	if (dns_wire_name(pkt, len, &off, tmp, &tlen) < 0)
		return false;
	return strcmp(tmp, name) == 0;
}

/*
 * wire_rdata_name - decode a name that must fill the rdata exactly from off;
 * pointers may reach back into the packet but labels stay inside the rdata.
 */
static int
wire_rdata_name(const uint8_t *pkt, const struct wire_rr *rr, size_t off,
    char out[DNS_WIRE_NAME_TEXT_SIZE], size_t *out_len)
{
	size_t end = rr->rd + rr->rdlen;

	if (dns_wire_name(pkt, end, &off, out, out_len) < 0)
		return -1;
	return off == end ? 0 : -1;
}

/* wire_add_txt - concatenate the character-strings of a TXT/SPF rdata */
static int
wire_add_txt(const uint8_t *pkt, const struct wire_rr *rr, enum dns_type type,
    struct dns_answer_owned *o)
{
	char *text = xmalloc(rr->rdlen + 1);
	size_t pos = rr->rd, end = rr->rd + rr->rdlen, n = 0;

	while (pos < end) {
		size_t slen = pkt[pos++];

		if (slen > end - pos) {
			free(text);
			return -1;
		}
		memcpy(text + n, pkt + pos, slen);
		n += slen;
		pos += slen;
	}
	dns_answer_owned_add(o, type, 0, text, n);
	free(text);
	return 0;
}

/* wire_add_rr - decode one record of the asked type into o */
static int
wire_add_rr(const uint8_t *pkt, const struct wire_rr *rr, enum dns_type type,
    struct dns_answer_owned *o)
{
	char name[DNS_WIRE_NAME_TEXT_SIZE];
	size_t nlen;

	switch (type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		if (rr->rdlen != (type == DNS_TYPE_A ? 4u : 16u))
			return -1;
		dns_answer_owned_add(o, type, 0, pkt + rr->rd, rr->rdlen);
		return 0;
	case DNS_TYPE_TXT:
	case DNS_TYPE_SPF:
		return wire_add_txt(pkt, rr, type, o);
	case DNS_TYPE_MX:
		if (rr->rdlen < 3 ||
		    wire_rdata_name(pkt, rr, rr->rd + 2, name, &nlen) < 0)
			return -1;
		dns_answer_owned_add(o, type, wire_u16(pkt, rr->rd), name, nlen);
		return 0;
	case DNS_TYPE_PTR:
		if (wire_rdata_name(pkt, rr, rr->rd, name, &nlen) < 0)
			return -1;
		dns_answer_owned_add(o, type, 0, name, nlen);
		return 0;
	}
	return 0;
}

/* wire_read_rrs - locate the answer-section records starting at off */
static int
wire_read_rrs(const uint8_t *pkt, size_t len, size_t off, struct wire_rr *rrs,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rrs[i].owner = off;
		if (wire_skip_name(pkt, len, &off) < 0 ||
		    len - off < WIRE_RR_FIXED)
			return -1;
		rrs[i].type = wire_u16(pkt, off);
		rrs[i].class = wire_u16(pkt, off + 2);
		rrs[i].ttl = wire_ttl(pkt, off + 4);
		rrs[i].rdlen = wire_u16(pkt, off + 8);
		off += WIRE_RR_FIXED;
		if (rrs[i].rdlen > len - off)
			return -1;
		rrs[i].rd = off;
		off += rrs[i].rdlen;
	}
	return 0;
}

/* wire_follow_cname - replace name by its CNAME target while there is one */
static int
wire_follow_cname(const uint8_t *pkt, size_t len, const struct wire_rr *rrs,
    size_t n, char name[DNS_WIRE_NAME_TEXT_SIZE])
{
	for (unsigned hops = 0; hops < DNS_WIRE_CNAME_LIMIT; hops++) {
		const struct wire_rr *link = NULL;
		size_t tlen;

		for (size_t i = 0; i < n && link == NULL; i++)
			if (rrs[i].type == DNS_WIRE_TYPE_CNAME &&
			    rrs[i].class == DNS_WIRE_CLASS_IN &&
			    wire_owner_is(pkt, len, &rrs[i], name))
				link = &rrs[i];
		if (link == NULL)
			return 0;
		if (wire_rdata_name(pkt, link, link->rd, name, &tlen) < 0)
			return -1;
	}
	return 0;
}

/* wire_map_rcode - header rcode to the interface's rcode */
static enum dns_rcode
wire_map_rcode(unsigned rcode)
{
	if (rcode == DNS_WIRE_RCODE_NOERROR)
		return DNS_RCODE_NOERROR;
	if (rcode == DNS_WIRE_RCODE_NXDOMAIN)
		return DNS_RCODE_NXDOMAIN;
	return DNS_RCODE_SERVFAIL;
}

/* wire_question - decode the first question's name, skip all questions */
static int
wire_question(const uint8_t *pkt, size_t len, size_t *off, unsigned qdcount,
    char name[DNS_WIRE_NAME_TEXT_SIZE])
{
	size_t nlen;

	if (qdcount == 0)
		return -1;
	for (unsigned i = 0; i < qdcount; i++) {
		int rc = i == 0 ? dns_wire_name(pkt, len, off, name, &nlen)
		    : wire_skip_name(pkt, len, off);

		if (rc < 0 || len - *off < WIRE_QUESTION_FIXED)
			return -1;
		*off += WIRE_QUESTION_FIXED;
	}
	return 0;
}

/* dns_wire_parse - records of qtype answering the packet's question */
int
dns_wire_parse(const uint8_t *pkt, size_t len, enum dns_type qtype,
    struct dns_answer_owned *o)
{
	char name[DNS_WIRE_NAME_TEXT_SIZE];
	struct wire_rr *rrs;
	size_t off = DNS_WIRE_HEADER_SIZE, ancount;
	int rc = 0;

	if (len < DNS_WIRE_HEADER_SIZE || (pkt[2] & 0x80) == 0)	/* QR */
		return -1;
	o->ans.rcode = wire_map_rcode(pkt[3] & 0x0f);
	if (wire_question(pkt, len, &off, wire_u16(pkt, 4), name) < 0)
		return -1;
	ancount = wire_u16(pkt, 6);
	if (ancount > (len - off) / WIRE_RR_MIN)
		return -1;
	if (ancount == 0)
		return 0;
	rrs = xcalloc(ancount, sizeof(*rrs));
	if (wire_read_rrs(pkt, len, off, rrs, ancount) < 0 ||
	    wire_follow_cname(pkt, len, rrs, ancount, name) < 0)
		rc = -1;
	/* the answer lives as long as its shortest-lived record (CNAMEs too) */
	o->ans.ttl = rrs[0].ttl;
	for (size_t i = 1; i < ancount; i++)
		if (rrs[i].ttl < o->ans.ttl)
			o->ans.ttl = rrs[i].ttl;
	for (size_t i = 0; i < ancount && rc == 0; i++)
		if (rrs[i].type == (uint16_t)qtype &&
		    rrs[i].class == DNS_WIRE_CLASS_IN &&
		    wire_owner_is(pkt, len, &rrs[i], name))
			rc = wire_add_rr(pkt, &rrs[i], qtype, o);
	free(rrs);
	return rc;
}
