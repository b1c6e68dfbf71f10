/*
 * test_dns_cache.c - the answer cache in front of a resolver (dns_cache.c):
 * positive answers reused only while their TTL lasts, negative answers,
 * errors and bogus data never reused, the size limit, cancellation, and a
 * callback that queries again while its answer is delivered.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns.h"

static long long fake_now = 1000;

/* fake_clock - the test's clock */
static long long
fake_clock(void)
{
	return fake_now;
}

struct got {
	int calls;
	enum dns_rcode rcode;
	enum dns_sec sec;
	size_t count;
	uint32_t ttl;
	char first[64];
};

/* record - keep what an answer said */
static void
record(void *arg, const struct dns_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->rcode = a->rcode;
	g->sec = a->sec;
	g->count = a->count;
	g->ttl = a->ttl;
	g->first[0] = '\0';
	if (a->count > 0 && a->rr[0].len < sizeof(g->first)) {
		memcpy(g->first, a->rr[0].data, a->rr[0].len);
		g->first[a->rr[0].len] = '\0';
	}
}

/* setup - a synchronous in-memory zone with a TTL, behind a cache of limit bytes */
static struct dns_resolver *
setup(struct dns_resolver **inner, uint32_t ttl, size_t limit)
{
	struct dns_resolver *r;

	*inner = dns_mem_new(NULL);
	dns_mem_set_ttl(*inner, ttl);
	dns_mem_add_txt(*inner, "a.example", "v=spf1 -all");
	dns_mem_add_txt(*inner, "b.example", "v=spf1 +all");
	dns_mem_add_txt(*inner, "c.example", "v=spf1 ~all");
	dns_mem_add_addr(*inner, "a.example", "192.0.2.1");
	r = dns_cache_new(*inner, limit);
	dns_cache_set_clock(r, fake_clock);
	fake_now = 1000;
	return r;
}

/* entry_size - the bytes one of the zone's TXT answers takes in the cache
 * (a, b and c are of one size) */
static size_t
entry_size(void)
{
	struct dns_resolver *inner, *r = setup(&inner, 60, 1u << 20);
	struct got g = { 0 };
	size_t n;

	dns_query(r, "a.example", DNS_TYPE_TXT, record, &g);
	n = dns_cache_bytes(r);
	ck_assert_uint_gt(n, strlen("a.example") + strlen("v=spf1 -all"));
	dns_resolver_free(r);
	return n;
}

/* ask - one lookup through r; the number of queries the zone behind got so far */
static unsigned
ask(struct dns_resolver *r, struct dns_resolver *inner, const char *name,
    enum dns_type type, struct got *g)
{
	memset(g, 0, sizeof(*g));
	dns_query(r, name, type, record, g);
	ck_assert_int_eq(g->calls, 1);
	return inner->queries;
}

START_TEST(dns_cache_reuses_a_positive_answer_until_its_ttl_ends)
{
	struct dns_resolver *inner, *r = setup(&inner, 60, 1u << 20);
	struct got g;

	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_str_eq(g.first, "v=spf1 -all");
	ck_assert_uint_eq(g.ttl, 60);
	fake_now += 59;
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_str_eq(g.first, "v=spf1 -all");
	ck_assert_uint_eq(g.ttl, 1);		/* what is left of it */
	fake_now += 1;				/* 60 s after: expired */
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	/* another type of the same name is another answer */
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_A, &g), 3);
	ck_assert_uint_eq(g.count, 1);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_names_match_without_case_and_trailing_dot)
{
	struct dns_resolver *inner, *r = setup(&inner, 60, 1u << 20);
	struct got g;

	ck_assert_uint_eq(ask(r, inner, "A.Example.", DNS_TYPE_TXT, &g), 1);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_str_eq(g.first, "v=spf1 -all");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_ttl_zero_is_never_reused)
{
	struct dns_resolver *inner, *r = setup(&inner, 0, 1u << 20);
	struct got g;

	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_ttl_is_capped)
{
	struct dns_resolver *inner, *r = setup(&inner, 0x7fffffffu, 1u << 20);
	struct got g;

	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	fake_now += DNS_CACHE_TTL_MAX - 1;
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	fake_now += 1;
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_never_reuses_negative_or_failed_answers)
{
	struct dns_resolver *inner, *r = setup(&inner, 60, 1u << 20);
	struct got g;

	dns_mem_set_rcode(inner, "fail.example", 0, DNS_RCODE_SERVFAIL);
	dns_mem_set_rcode(inner, "slow.example", 0, DNS_RCODE_TIMEOUT);
	ck_assert_uint_eq(ask(r, inner, "none.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(ask(r, inner, "none.example", DNS_TYPE_TXT, &g), 2);
	/* NODATA: the name exists, not this type */
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_MX, &g), 3);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_uint_eq(g.count, 0);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_MX, &g), 4);
	ck_assert_uint_eq(ask(r, inner, "fail.example", DNS_TYPE_TXT, &g), 5);
	ck_assert_int_eq(g.rcode, DNS_RCODE_SERVFAIL);
	ck_assert_uint_eq(ask(r, inner, "fail.example", DNS_TYPE_TXT, &g), 6);
	ck_assert_uint_eq(ask(r, inner, "slow.example", DNS_TYPE_TXT, &g), 7);
	ck_assert_int_eq(g.rcode, DNS_RCODE_TIMEOUT);
	ck_assert_uint_eq(ask(r, inner, "slow.example", DNS_TYPE_TXT, &g), 8);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_keeps_dnssec_status_never_bogus)
{
	struct dns_resolver *inner, *r = setup(&inner, 60, 1u << 20);
	struct got g;

	dns_mem_set_sec(inner, "b.example", DNS_SEC_SECURE);
	dns_mem_set_sec(inner, "c.example", DNS_SEC_BOGUS);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_int_eq(g.sec, DNS_SEC_SECURE);
	ck_assert_uint_eq(ask(r, inner, "c.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_int_eq(g.sec, DNS_SEC_BOGUS);
	ck_assert_uint_eq(ask(r, inner, "c.example", DNS_TYPE_TXT, &g), 3);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_size_limit_drops_the_least_recently_used)
{
	size_t one = entry_size();
	struct dns_resolver *inner, *r = setup(&inner, 60, 2 * one + one / 2);
	struct got g;

	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_uint_eq(ask(r, inner, "c.example", DNS_TYPE_TXT, &g), 3);	/* b goes */
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 3);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_TXT, &g), 4);
	ck_assert_uint_le(dns_cache_bytes(r), 2 * one + one / 2);
	dns_resolver_free(r);
	/* an answer larger than the whole cache is not kept */
	r = setup(&inner, 60, one - 1);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 1);
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_uint_eq(dns_cache_bytes(r), 0);
	dns_resolver_free(r);
}
END_TEST

struct again {
	struct dns_resolver *r;
	struct got inner_got;
	int calls;
	char first[64];
};

/* query_again - during a cached answer's delivery, a lookup whose answer
 * evicts (limit 1), then use the delivered answer (ASan: no use after free) */
static void
query_again(void *arg, const struct dns_answer *a)
{
	struct again *x = arg;

	x->calls++;
	if (x->calls == 2)
		dns_query(x->r, "b.example", DNS_TYPE_TXT, record, &x->inner_got);
	ck_assert_uint_eq(a->count, 1);
	memcpy(x->first, a->rr[0].data, a->rr[0].len);
	x->first[a->rr[0].len] = '\0';
}

START_TEST(dns_cache_callback_may_query_while_its_answer_is_delivered)
{
	size_t one = entry_size();
	struct dns_resolver *inner, *r = setup(&inner, 60, one + one / 2);
	struct again x = { .r = r };
	struct got g;

	dns_query(r, "a.example", DNS_TYPE_TXT, query_again, &x);	/* stored */
	dns_query(r, "a.example", DNS_TYPE_TXT, query_again, &x);	/* hit */
	ck_assert_int_eq(x.calls, 2);
	ck_assert_int_eq(x.inner_got.calls, 1);
	ck_assert_str_eq(x.first, "v=spf1 -all");
	ck_assert_uint_eq(inner->queries, 2);
	/* the pinned a.example stayed; b.example could not be kept */
	ck_assert_uint_eq(ask(r, inner, "a.example", DNS_TYPE_TXT, &g), 2);
	ck_assert_uint_eq(ask(r, inner, "b.example", DNS_TYPE_TXT, &g), 3);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dns_cache_asynchronous_misses_cancel_and_deliver)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *inner = dns_mem_new(base), *r;
	struct got g1 = { 0 }, g2 = { 0 }, g3;
	struct dns_query *q1, *q2;

	dns_mem_set_ttl(inner, 60);
	dns_mem_add_txt(inner, "a.example", "v=spf1 -all");
	r = dns_cache_new(inner, 1u << 20);
	q1 = dns_query(r, "a.example", DNS_TYPE_TXT, record, &g1);
	q2 = dns_query(r, "a.example", DNS_TYPE_TXT, record, &g2);
	ck_assert_ptr_nonnull(q1);
	ck_assert_ptr_nonnull(q2);
	dns_cancel(r, q1);
	event_base_dispatch(base);
	ck_assert_int_eq(g1.calls, 0);
	ck_assert_int_eq(g2.calls, 1);
	ck_assert_str_eq(g2.first, "v=spf1 -all");
	/* now from the cache, before dns_query returns */
	memset(&g3, 0, sizeof(g3));
	ck_assert_ptr_null(dns_query(r, "a.example", DNS_TYPE_TXT, record, &g3));
	ck_assert_int_eq(g3.calls, 1);
	ck_assert_uint_eq(inner->queries, 2);
	/* a miss in flight when the resolver goes: freed, never called */
	memset(&g1, 0, sizeof(g1));
	ck_assert_ptr_nonnull(dns_query(r, "b.example", DNS_TYPE_TXT, record, &g1));
	dns_resolver_free(r);
	event_base_dispatch(base);
	ck_assert_int_eq(g1.calls, 0);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dns_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, dns_cache_reuses_a_positive_answer_until_its_ttl_ends);
	tcase_add_test(tc, dns_cache_names_match_without_case_and_trailing_dot);
	tcase_add_test(tc, dns_cache_ttl_zero_is_never_reused);
	tcase_add_test(tc, dns_cache_ttl_is_capped);
	tcase_add_test(tc, dns_cache_never_reuses_negative_or_failed_answers);
	tcase_add_test(tc, dns_cache_keeps_dnssec_status_never_bogus);
	tcase_add_test(tc, dns_cache_size_limit_drops_the_least_recently_used);
	tcase_add_test(tc, dns_cache_callback_may_query_while_its_answer_is_delivered);
	tcase_add_test(tc, dns_cache_asynchronous_misses_cancel_and_deliver);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
