/*
 * fuzz_dns_wire.c - libFuzzer target for the DNS response decoder
 * (common/dns/dns_wire.c): any byte string, decoded for every record type the
 * resolver interface asks for, must give 0 or -1, never a crash or a read
 * past the input; decoded records must respect the dns.h shapes, and the
 * answer's TTL stays within 2^31 - 1 (RFC 2181 §8).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type fuzz_types[] = {
	DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX, DNS_TYPE_TXT, DNS_TYPE_PTR,
	DNS_TYPE_SPF,
};

/* fuzz_check_rr - a decoded record has the shape dns.h promises */
static void
fuzz_check_rr(const struct dns_rr *rr)
{
	if (rr->type == DNS_TYPE_A && rr->len != 4)
		abort();
	if (rr->type == DNS_TYPE_AAAA && rr->len != 16)
		abort();
	if ((rr->type == DNS_TYPE_MX || rr->type == DNS_TYPE_PTR) &&
	    (rr->len >= DNS_WIRE_NAME_TEXT_SIZE || strlen(rr->data) != rr->len))
		abort();
	if (rr->data[rr->len] != '\0')
		abort();
}

/* LLVMFuzzerTestOneInput - decode data as a response packet */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_WIRE_NAME_TEXT_SIZE];
	size_t off = size > DNS_WIRE_HEADER_SIZE ? DNS_WIRE_HEADER_SIZE : 0;
	size_t nlen;

	if (dns_wire_name(data, size, &off, name, &nlen) == 0 &&
	    (nlen != strlen(name) || off > size))
		abort();
	for (size_t i = 0; i < sizeof(fuzz_types) / sizeof(fuzz_types[0]); i++) {
		struct dns_answer_owned o;

		dns_answer_owned_init(&o, "fuzz.example", fuzz_types[i]);
		if (dns_wire_parse(data, size, fuzz_types[i], &o) == 0) {
			for (size_t r = 0; r < o.ans.count; r++)
				fuzz_check_rr(&o.ans.rr[r]);
			/* RFC 2181 §8: a TTL above 2^31 - 1 is read as 0 */
			if (o.ans.ttl > 0x7fffffffu)
				abort();
		}
		dns_answer_owned_clear(&o);
	}
	return 0;
}
