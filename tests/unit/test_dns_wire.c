/*
 * test_dns_wire.c - DNS response decoding: records, compression, CNAME
 * chains, and malformed packets that must be rejected without a read past
 * the buffer (run under ASan in CI).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

struct pkt {
	uint8_t b[1024];
	size_t n;
};

/* put8 - append one octet */
static void
put8(struct pkt *p, unsigned v)
{
	ck_assert_uint_lt(p->n, sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

/* put16 - append a big-endian 16-bit value */
static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

/* putname - uncompressed wire name from "a.b.c" ("" is the root) */
static void
putname(struct pkt *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		put8(p, (unsigned)len);
		for (size_t i = 0; i < len; i++)
			put8(p, (unsigned char)name[i]);
		name += len + (dot ? 1 : 0);
	}
	put8(p, 0);
}

/* start - header + one question; QR set, rcode as given */
static void
start(struct pkt *p, unsigned rcode, unsigned ancount, const char *qname,
    unsigned qtype)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	put8(p, 0x81);		/* QR, RD */
	put8(p, 0x80 | rcode);	/* RA */
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	putname(p, qname);
	put16(p, qtype);
	put16(p, 1);
}

/* rr_ttl - append an RR header with a TTL; returns the offset of the rdlength */
static size_t
rr_ttl(struct pkt *p, unsigned type, uint32_t ttl)
{
	size_t at;

	put16(p, type);
	put16(p, 1);
	put16(p, ttl >> 16);
	put16(p, ttl & 0xffff);
	at = p->n;
	put16(p, 0);
	return at;
}

/* rr - append an RR header (TTL 300); returns the offset of the rdlength */
static size_t
rr(struct pkt *p, unsigned type)
{
	return rr_ttl(p, type, 300);
}

/* rdlen_fix - patch the rdlength at at to the bytes written since */
static void
rdlen_fix(struct pkt *p, size_t at)
{
	size_t len = p->n - at - 2;

	p->b[at] = (uint8_t)(len >> 8);
	p->b[at + 1] = (uint8_t)len;
}

/* parse - decode p for type t into o */
static int
parse(const struct pkt *p, enum dns_type t, struct dns_answer_owned *o)
{
	dns_answer_owned_init(o, "q", t);
	return dns_wire_parse(p->b, p->n, t, o);
}

START_TEST(dns_wire_txt_strings_concatenated_via_compressed_owner)
{
	struct pkt p;
	struct dns_answer_owned o;
	size_t at;

	start(&p, 0, 1, "Example.COM", 16);
	put16(&p, 0xc00c);	/* owner: the question name */
	at = rr(&p, 16);
	put8(&p, 7);
	memcpy(p.b + p.n, "v=spf1 ", 7);
	p.n += 7;
	put8(&p, 4);
	memcpy(p.b + p.n, "-all", 4);
	p.n += 4;
	rdlen_fix(&p, at);
	ck_assert_int_eq(parse(&p, DNS_TYPE_TXT, &o), 0);
	ck_assert_int_eq(o.ans.rcode, DNS_RCODE_NOERROR);
	ck_assert_uint_eq(o.ans.count, 1);
	ck_assert_uint_eq(o.ans.rr[0].len, 11);
	ck_assert_str_eq(o.ans.rr[0].data, "v=spf1 -all");
	dns_answer_owned_clear(&o);
}
END_TEST

START_TEST(dns_wire_mx_exchange_decompressed_and_lowercased)
{
	struct pkt p;
	struct dns_answer_owned o;
	size_t at;

	start(&p, 0, 1, "example.com", 15);
	put16(&p, 0xc00c);
	at = rr(&p, 15);
	put16(&p, 10);
	put8(&p, 2);
	put8(&p, 'M');
	put8(&p, 'X');
	put16(&p, 0xc00c);	/* mx.example.com */
	rdlen_fix(&p, at);
	ck_assert_int_eq(parse(&p, DNS_TYPE_MX, &o), 0);
	ck_assert_uint_eq(o.ans.count, 1);
	ck_assert_uint_eq(o.ans.rr[0].pref, 10);
	ck_assert_str_eq(o.ans.rr[0].data, "mx.example.com");
	dns_answer_owned_clear(&o);
}
END_TEST

START_TEST(dns_wire_cname_chain_followed_other_owners_ignored)
{
	struct pkt p;
	struct dns_answer_owned o;
	size_t at;

	start(&p, 0, 4, "a.example", 1);
	put16(&p, 0xc00c);
	at = rr(&p, 5);
	putname(&p, "b.example");
	rdlen_fix(&p, at);
	putname(&p, "c.example");	/* unrelated owner */
	at = rr(&p, 1);
	put8(&p, 9); put8(&p, 9); put8(&p, 9); put8(&p, 9);
	rdlen_fix(&p, at);
	putname(&p, "B.example");
	at = rr(&p, 1);
	put8(&p, 192); put8(&p, 0); put8(&p, 2); put8(&p, 1);
	rdlen_fix(&p, at);
	putname(&p, "b.example");	/* an RRSIG-like other type: ignored */
	at = rr(&p, 46);
	put8(&p, 0);
	rdlen_fix(&p, at);
	ck_assert_int_eq(parse(&p, DNS_TYPE_A, &o), 0);
	ck_assert_uint_eq(o.ans.count, 1);
	ck_assert_uint_eq(o.ans.rr[0].len, 4);
	ck_assert_mem_eq(o.ans.rr[0].data, "\xc0\x00\x02\x01", 4);
	dns_answer_owned_clear(&o);
}
END_TEST

/* a CNAME (TTL c) to b.example, whose A record has TTL a: the answer's TTL */
static uint32_t
cname_answer_ttl(uint32_t c, uint32_t a)
{
	struct pkt p;
	struct dns_answer_owned o;
	size_t at;
	uint32_t ttl;

	start(&p, 0, 2, "a.example", 1);
	put16(&p, 0xc00c);
	at = rr_ttl(&p, 5, c);
	putname(&p, "b.example");
	rdlen_fix(&p, at);
	putname(&p, "b.example");
	at = rr_ttl(&p, 1, a);
	put8(&p, 192); put8(&p, 0); put8(&p, 2); put8(&p, 1);
	rdlen_fix(&p, at);
	ck_assert_int_eq(parse(&p, DNS_TYPE_A, &o), 0);
	ck_assert_uint_eq(o.ans.count, 1);
	ttl = o.ans.ttl;
	dns_answer_owned_clear(&o);
	return ttl;
}

START_TEST(dns_wire_ttl_is_the_smallest_of_the_answer)
{
	ck_assert_uint_eq(cname_answer_ttl(300, 60), 60);
	ck_assert_uint_eq(cname_answer_ttl(30, 3600), 30);	/* the CNAME counts */
	ck_assert_uint_eq(cname_answer_ttl(0, 3600), 0);
	/* RFC 2181 §8: a TTL with the top bit set is taken as 0 */
	ck_assert_uint_eq(cname_answer_ttl(0x80000000u, 3600), 0);
	ck_assert_uint_eq(cname_answer_ttl(0x7fffffffu, 0x7fffffffu), 0x7fffffffu);
}
END_TEST

START_TEST(dns_wire_rcode_mapping)
{
	static const struct {
		unsigned wire;
		enum dns_rcode want;
	} cases[] = {
		{ 0, DNS_RCODE_NOERROR }, { 3, DNS_RCODE_NXDOMAIN },
		{ 2, DNS_RCODE_SERVFAIL }, { 5, DNS_RCODE_SERVFAIL },
		{ 1, DNS_RCODE_SERVFAIL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p;
		struct dns_answer_owned o;

		start(&p, cases[i].wire, 0, "x.example", 16);
		ck_assert_int_eq(parse(&p, DNS_TYPE_TXT, &o), 0);
		ck_assert_int_eq(o.ans.rcode, cases[i].want);
		ck_assert_uint_eq(o.ans.count, 0);
		dns_answer_owned_clear(&o);
	}
}
END_TEST

START_TEST(dns_wire_name_escapes_special_octets)
{
	static const uint8_t wire[] = { 3, 'a', '.', 'B', 2, 0, ' ', 0 };
	char out[DNS_WIRE_NAME_TEXT_SIZE];
	size_t off = 0, len;

	ck_assert_int_eq(dns_wire_name(wire, sizeof(wire), &off, out, &len), 0);
	ck_assert_str_eq(out, "a\\046b.\\000\\032");
	ck_assert_uint_eq(off, sizeof(wire));
	off = 7;
	ck_assert_int_eq(dns_wire_name(wire, sizeof(wire), &off, out, &len), 0);
	ck_assert_str_eq(out, "");	/* the root */
}
END_TEST

START_TEST(dns_wire_name_of_255_octets_accepted_256_rejected)
{
	uint8_t wire[300];
	char out[DNS_WIRE_NAME_TEXT_SIZE];
	size_t n = 0, off = 0, len;

	/* 4 labels of 63 = 256 octets with lengths, + root = 257: too long */
	for (int l = 0; l < 4; l++) {
		wire[n++] = 63;
		memset(wire + n, 'a', 63);
		n += 63;
	}
	wire[n++] = 0;
	ck_assert_int_eq(dns_wire_name(wire, n, &off, out, &len), -1);
	/* shorten the last label to 61: 64*3 + 62 + 1 = 255 */
	wire[3 * 64] = 61;
	memmove(wire + 3 * 64 + 62, wire + 3 * 64 + 64, 1);
	n -= 2;
	off = 0;
	ck_assert_int_eq(dns_wire_name(wire, n, &off, out, &len), 0);
	ck_assert_uint_eq(len, 63 * 3 + 61 + 3);
}
END_TEST

/* ---- malformed packets: each must give -1, never a crash ---- */

enum mangle {
	M_SHORT_HEADER, M_NOT_A_RESPONSE, M_POINTER_LOOP, M_FORWARD_POINTER,
	M_LABEL_PAST_END, M_RDATA_PAST_END, M_A_WRONG_LENGTH,
	M_TXT_STRING_PAST_RDATA, M_ANCOUNT_TOO_LARGE, M_EXTENDED_LABEL,
	M_MX_NAME_PAST_RDATA, M_NO_QUESTION, M_TRUNCATED_POINTER,
	M_PTR_TRAILING_GARBAGE,
};

static const struct {
	const char *what;
	enum mangle m;
	enum dns_type t;
} malformed[] = {
	{ "short_header", M_SHORT_HEADER, DNS_TYPE_A },
	{ "not_a_response", M_NOT_A_RESPONSE, DNS_TYPE_A },
	{ "pointer_loop", M_POINTER_LOOP, DNS_TYPE_A },
	{ "forward_pointer", M_FORWARD_POINTER, DNS_TYPE_A },
	{ "label_past_end", M_LABEL_PAST_END, DNS_TYPE_A },
	{ "rdata_past_end", M_RDATA_PAST_END, DNS_TYPE_A },
	{ "a_wrong_length", M_A_WRONG_LENGTH, DNS_TYPE_A },
	{ "txt_string_past_rdata", M_TXT_STRING_PAST_RDATA, DNS_TYPE_TXT },
	{ "ancount_too_large", M_ANCOUNT_TOO_LARGE, DNS_TYPE_A },
	{ "extended_label_type", M_EXTENDED_LABEL, DNS_TYPE_A },
	{ "mx_name_past_rdata", M_MX_NAME_PAST_RDATA, DNS_TYPE_MX },
	{ "no_question", M_NO_QUESTION, DNS_TYPE_A },
	{ "truncated_pointer", M_TRUNCATED_POINTER, DNS_TYPE_A },
	{ "ptr_trailing_garbage", M_PTR_TRAILING_GARBAGE, DNS_TYPE_PTR },
};

/* build_malformed - a packet that is valid except for one defect */
static void
build_malformed(struct pkt *p, enum mangle m, enum dns_type t)
{
	size_t at;

	start(p, 0, 1, "x.example", t);
	switch (m) {
	case M_SHORT_HEADER:
		p->n = 11;
		return;
	case M_NOT_A_RESPONSE:
		p->b[2] &= 0x7f;
		break;
	case M_NO_QUESTION:
		p->b[5] = 0;
		break;
	case M_ANCOUNT_TOO_LARGE:
		p->b[7] = 200;
		break;
	case M_POINTER_LOOP:
		put16(p, 0xc000 | p->n);	/* points at itself */
		break;
	case M_FORWARD_POINTER:
		put16(p, 0xc000 | (p->n + 2));
		break;
	case M_TRUNCATED_POINTER:
		put8(p, 0xc0);
		return;
	case M_EXTENDED_LABEL:
		put8(p, 0x41);
		break;
	case M_LABEL_PAST_END:
		put8(p, 40);
		put8(p, 'a');
		return;
	default:
		put16(p, 0xc00c);
		break;
	}
	at = rr(p, t);
	switch (m) {
	case M_RDATA_PAST_END:
		put8(p, 1); put8(p, 2); put8(p, 3); put8(p, 4);
		rdlen_fix(p, at);
		p->b[at + 1] += 10;
		return;
	case M_A_WRONG_LENGTH:
		put8(p, 1); put8(p, 2); put8(p, 3); put8(p, 4); put8(p, 5);
		break;
	case M_TXT_STRING_PAST_RDATA:
		put8(p, 5);
		put8(p, 'a');
		rdlen_fix(p, at);
		put8(p, 'b'); put8(p, 'c'); put8(p, 'd'); put8(p, 'e');
		return;
	case M_MX_NAME_PAST_RDATA:
		put16(p, 10);
		putname(p, "mx.example");
		rdlen_fix(p, at);
		p->b[at + 1] -= 3;	/* the name runs past the rdata */
		return;
	case M_PTR_TRAILING_GARBAGE:
		putname(p, "ptr.example");
		put8(p, 0);
		break;
	default:
		put8(p, 1); put8(p, 2); put8(p, 3); put8(p, 4);
		break;
	}
	rdlen_fix(p, at);
}

START_TEST(dns_wire_rejects_malformed_packet)
{
	struct pkt p;
	struct dns_answer_owned o;
	uint8_t *copy;

	build_malformed(&p, malformed[_i].m, malformed[_i].t);
	/* an exact-size heap copy lets ASan catch any read past the end */
	copy = malloc(p.n);
	memcpy(copy, p.b, p.n);
	dns_answer_owned_init(&o, "q", malformed[_i].t);
	ck_assert_msg(dns_wire_parse(copy, p.n, malformed[_i].t, &o) == -1,
	    "%s accepted", malformed[_i].what);
	dns_answer_owned_clear(&o);
	free(copy);
}
END_TEST

START_TEST(dns_wire_every_truncation_of_a_good_packet_is_safe)
{
	struct pkt p;
	size_t at;

	start(&p, 0, 2, "example.com", 15);
	put16(&p, 0xc00c);
	at = rr(&p, 15);
	put16(&p, 10);
	put8(&p, 2); put8(&p, 'm'); put8(&p, 'x');
	put16(&p, 0xc00c);
	rdlen_fix(&p, at);
	put16(&p, 0xc00c);
	at = rr(&p, 15);
	put16(&p, 20);
	put8(&p, 3); put8(&p, 'm'); put8(&p, 'x'); put8(&p, '2');
	put16(&p, 0xc00c);
	rdlen_fix(&p, at);
	for (size_t n = 0; n <= p.n; n++) {
		struct dns_answer_owned o;
		uint8_t *copy = malloc(n ? n : 1);
		int rc;

		memcpy(copy, p.b, n);
		dns_answer_owned_init(&o, "q", DNS_TYPE_MX);
		rc = dns_wire_parse(copy, n, DNS_TYPE_MX, &o);
		ck_assert_int_eq(rc, n == p.n ? 0 : -1);
		if (n == p.n)
			ck_assert_uint_eq(o.ans.count, 2);
		dns_answer_owned_clear(&o);
		free(copy);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns_wire");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, dns_wire_txt_strings_concatenated_via_compressed_owner);
	tcase_add_test(tc, dns_wire_mx_exchange_decompressed_and_lowercased);
	tcase_add_test(tc, dns_wire_cname_chain_followed_other_owners_ignored);
	tcase_add_test(tc, dns_wire_rcode_mapping);
	tcase_add_test(tc, dns_wire_ttl_is_the_smallest_of_the_answer);
	tcase_add_test(tc, dns_wire_name_escapes_special_octets);
	tcase_add_test(tc, dns_wire_name_of_255_octets_accepted_256_rejected);
	tcase_add_loop_test(tc, dns_wire_rejects_malformed_packet, 0,
	    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(tc, dns_wire_every_truncation_of_a_good_packet_is_safe);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
