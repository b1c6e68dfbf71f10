/*
 * fuzz_iprev.c - libFuzzer target for common/iprev.
 *
 * Input: byte 0 selects a mode, the rest is data.
 *  - reverse name: 16 address bytes (IPv4 or IPv6 by a bit of byte 0) give a
 *    reverse name equal to a reference built another way (inet_ntop and
 *    per-nibble snprintf, RFC 1035 §3.5 / RFC 3596 §2.5);
 *  - address text: what iprev_addr_parse accepts prints and parses back to
 *    the same address, and its reverse name is a valid host name;
 *  - evaluation: the data split at '\n' is a list of PTR names of
 *    192.0.2.1, the odd ones given that address; the verdict is pass exactly
 *    when one of the first IPREV_NAME_LIMIT names is an odd, valid one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "iprev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names put in the in-memory zone per input. */
#define FUZZ_NAMES_MAX	16

/* fuzz_reference - the reverse name built another way */
static void
fuzz_reference(const struct iprev_addr *a, char *out, size_t size)
{
	size_t o = 0;

	if (a->family == AF_INET) {
		snprintf(out, size, "%d.%d.%d.%d.in-addr.arpa",
		    a->b[3], a->b[2], a->b[1], a->b[0]);
		return;
	}
	for (int i = 31; i >= 0; i--) {
		unsigned nib = i % 2 ? a->b[i / 2] & 0xf : a->b[i / 2] >> 4;

		o += (size_t)snprintf(out + o, size - o, "%x.", nib);
	}
	snprintf(out + o, size - o, "ip6.arpa");
}

/* fuzz_reverse - the reverse name agrees with the reference */
static void
fuzz_reverse(uint8_t mode, const uint8_t *d, size_t n)
{
	struct iprev_addr a = { .family = mode & 1 ? AF_INET6 : AF_INET };
	char got[IPREV_REVERSE_NAME_SIZE], want[128];

	memcpy(a.b, d, n < 16 ? n : 16);
	if (iprev_reverse_name(&a, got, sizeof(got)) < 0)
		abort();
	fuzz_reference(&a, want, sizeof(want));
	if (strcmp(got, want) != 0 || !iprev_name_ok(got, strlen(got)))
		abort();
}

/* fuzz_text - parsed addresses print and parse back unchanged */
static void
fuzz_text(const uint8_t *d, size_t n)
{
	struct iprev_addr a, b;
	char text[IPREV_ADDR_TEXT_SIZE], rname[IPREV_REVERSE_NAME_SIZE];

	if (iprev_addr_parse((const char *)d, n, &a) < 0)
		return;
	iprev_addr_text(&a, text, sizeof(text));
	if (iprev_addr_parse(text, strlen(text), &b) < 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (iprev_reverse_name(&a, rname, sizeof(rname)) < 0 ||
	    !iprev_name_ok(rname, strlen(rname)))
		abort();
}

/* fuzz_verdict - remember the verdict */
static void
fuzz_verdict(void *arg, const struct iprev_verdict *v)
{
	int *result = arg;

	if (v->reason == NULL || (v->result == IPREV_RESULT_PASS) != (v->name != NULL))
		abort();
	for (const char *p = v->reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	*result = (int)v->result;
}

/* fuzz_has_addr - answer callback of the reference: is 192.0.2.1 among the A records? */
static void
fuzz_has_addr(void *arg, const struct dns_answer *ans)
{
	static const unsigned char want[4] = { 192, 0, 2, 1 };
	bool *found = arg;

	for (size_t i = 0; i < ans->count; i++)
		if (ans->rr[i].len == 4 && memcmp(ans->rr[i].data, want, 4) == 0)
			*found = true;
}

/* fuzz_ptr_expect - answer callback of the reference: does a checked name confirm? */
static void
fuzz_ptr_expect(void *arg, const struct dns_answer *ans)
{
	struct dns_resolver *r = ((void **)arg)[0];
	bool *expect = ((void **)arg)[1];

	for (size_t i = 0; i < ans->count && i < IPREV_NAME_LIMIT; i++)
		if (iprev_name_ok(ans->rr[i].data, ans->rr[i].len))
			dns_query(r, ans->rr[i].data, DNS_TYPE_A, fuzz_has_addr, expect);
}

/* fuzz_zone - PTR names of 192.0.2.1 from the data; odd ones get the address */
static void
fuzz_zone(struct dns_resolver *r, const uint8_t *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n;

	for (size_t i = 0; i < FUZZ_NAMES_MAX && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *name = strndup(p, len);

		if (len > 0 && memchr(p, '\0', len) == NULL) {
			dns_mem_add(r, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, name, len);
			if (i % 2 == 1)
				dns_mem_add_addr(r, name, "192.0.2.1");
		}
		free(name);
		p += len + 1;
	}
}

/* fuzz_eval - the verdict agrees with a direct reading of the zone */
static void
fuzz_eval(const uint8_t *d, size_t n)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct iprev_addr a;
	bool expect_pass = false;
	void *ref[2] = { r, &expect_pass };
	int result = -1;

	fuzz_zone(r, d, n);
	dns_query(r, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, fuzz_ptr_expect, ref);
	iprev_addr_parse("192.0.2.1", 9, &a);
	iprev_eval_start(r, &a, 0, fuzz_verdict, &result);
	if (result < 0 || (result == IPREV_RESULT_PASS) != expect_pass)
		abort();
	dns_resolver_free(r);
}

/* LLVMFuzzerTestOneInput - one input, three modes */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_reverse(data[0] >> 2, data + 1, size - 1);
		break;
	case 1:
		fuzz_text(data + 1, size - 1);
		break;
	default:
		fuzz_eval(data + 1, size - 1);
		break;
	}
	return 0;
}
