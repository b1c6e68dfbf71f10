/*
 * test_dns_mem.c - the in-memory resolver backend keeps the dns.h contract.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns.h"

struct got {
	int calls;
	enum dns_rcode rcode;
	enum dns_sec sec;
	size_t count;
	char first[256];
	size_t first_len;
	unsigned pref;
};

static void
record(void *arg, const struct dns_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->rcode = a->rcode;
	g->sec = a->sec;
	g->count = a->count;
	if (a->count) {
		g->first_len = a->rr[0].len < sizeof(g->first) ? a->rr[0].len : sizeof(g->first) - 1;
		memcpy(g->first, a->rr[0].data, g->first_len);
		g->first[g->first_len] = '\0';
		g->pref = a->rr[0].pref;
	}
}

START_TEST(dns_mem_answers_nxdomain_nodata_and_records)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g = { 0 };

	dns_mem_add_txt(r, "Example.COM.", "v=spf1 -all");
	dns_mem_add(r, "example.com", DNS_TYPE_MX, 10, "MX.example.com.", 15);
	ck_assert_ptr_null(dns_query(r, "example.com", DNS_TYPE_TXT, record, &g));
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_str_eq(g.first, "v=spf1 -all");

	memset(&g, 0, sizeof(g));
	dns_query(r, "EXAMPLE.com.", DNS_TYPE_MX, record, &g);
	ck_assert_int_eq(g.count, 1);
	ck_assert_str_eq(g.first, "mx.example.com");
	ck_assert_uint_eq(g.pref, 10);

	memset(&g, 0, sizeof(g));
	dns_query(r, "example.com", DNS_TYPE_A, record, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_int_eq(g.count, 0);

	memset(&g, 0, sizeof(g));
	dns_query(r, "nope.example.com", DNS_TYPE_A, record, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(r->queries, 4);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_mem_forced_rcode_and_dnssec_status)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g = { 0 };

	dns_mem_add_addr(r, "slow.example", "192.0.2.1");
	dns_mem_set_rcode(r, "slow.example", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
	dns_mem_set_sec(r, "slow.example", DNS_SEC_SECURE);
	dns_query(r, "slow.example", DNS_TYPE_TXT, record, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_TIMEOUT);
	memset(&g, 0, sizeof(g));
	dns_query(r, "slow.example", DNS_TYPE_A, record, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_int_eq(g.sec, DNS_SEC_SECURE);
	ck_assert_uint_eq(g.first_len, 4);
	ck_assert_int_eq((unsigned char)g.first[0], 192);
	ck_assert_int_eq(dns_mem_add_addr(r, "x.example", "not-an-ip"), -1);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_mem_async_delivery_and_cancel)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct got g1 = { 0 }, g2 = { 0 };
	struct dns_query *q1, *q2;

	dns_mem_add_txt(r, "a.example", "hello");
	q1 = dns_query(r, "a.example", DNS_TYPE_TXT, record, &g1);
	q2 = dns_query(r, "a.example", DNS_TYPE_TXT, record, &g2);
	ck_assert_ptr_nonnull(q1);
	ck_assert_ptr_nonnull(q2);
	ck_assert_int_eq(g1.calls, 0);	/* not before the loop runs */
	dns_cancel(r, q2);
	event_base_dispatch(base);
	ck_assert_int_eq(g1.calls, 1);
	ck_assert_str_eq(g1.first, "hello");
	ck_assert_int_eq(g2.calls, 0);
	/* a pending query is released with the resolver */
	dns_query(r, "a.example", DNS_TYPE_TXT, record, &g2);
	dns_resolver_free(r);
	event_base_free(base);
	ck_assert_int_eq(g2.calls, 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns_mem");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, dns_mem_answers_nxdomain_nodata_and_records);
	tcase_add_test(tc, dns_mem_forced_rcode_and_dnssec_status);
	tcase_add_test(tc, dns_mem_async_delivery_and_cancel);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
