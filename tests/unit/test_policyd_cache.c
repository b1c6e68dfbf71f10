/*
 * test_policyd_cache.c - one evaluation per client/HELO/sender: recipients of
 * one message (same instance) share it, also while it is in flight; results
 * are reused for cache_ttl; the cache stays bounded.  DNS through dns_mem, the
 * real SPF engine and policyd_check; lookups counted with dns_resolver.queries.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "policyd.h"
#include "util.h"

struct fixture {
	struct event_base *base;
	struct dns_resolver *dns;
	struct policyd_env env;
	struct policyd_config *c;
	struct policyd_cache *cache;
};

/* One answered request, as the connection would see it. */
struct answer {
	int order;
	enum spf_result mfrom, helo;
	bool mfrom_checked;
	unsigned headers_before;
};

struct recorder {
	struct answer a[32];
	int n;
};

struct waiter_arg {
	struct recorder *rec;
};

static long long fake_now = 1000;

static long long
fake_clock(void)
{
	return fake_now;
}

/* fixture_init - zone, resolver (async when base), cache with the given settings */
static void
fixture_init(struct fixture *f, bool async, const char *const *settings)
{
	struct buf err;

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	f->dns = dns_mem_new(async ? f->base : NULL);
	dns_mem_add_txt(f->dns, "example.org", "v=spf1 ip4:192.0.2.0/24 -all");
	dns_mem_add_txt(f->dns, "mx.example.org", "v=spf1 a -all");
	dns_mem_add_addr(f->dns, "mx.example.org", "192.0.2.1");
	dns_mem_add_txt(f->dns, "fail.example", "v=spf1 -all");
	dns_mem_add_txt(f->dns, "forwarder.example", "v=spf1 ip4:198.51.100.0/24 -all");
	dns_mem_add_addr(f->dns, "relay.example", "198.51.100.7");
	f->env.base = f->base;
	f->env.dns = f->dns;
	buf_init(&err, 4096);
	f->c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, settings, &err);
	ck_assert_msg(f->c != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
	f->cache = policyd_cache_new(&f->env, policyd_check_start);
	fake_now = 1000;
	policyd_cache_set_clock(f->cache, fake_clock);
}

static void
fixture_clear(struct fixture *f)
{
	policyd_cache_free(f->cache);
	policyd_config_unref(f->c);
	dns_resolver_free(f->dns);
	event_base_free(f->base);
}

/* make_req - a RCPT request */
static void
make_req(struct policyd_request *r, const char *client, const char *helo,
    const char *sender, const char *instance)
{
	memset(r, 0, sizeof(*r));
	r->attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup(client);
	r->attr[POLICYD_ATTR_HELO_NAME] = xstrdup(helo);
	r->attr[POLICYD_ATTR_SENDER] = xstrdup(sender);
	if (instance)
		r->attr[POLICYD_ATTR_INSTANCE] = xstrdup(instance);
}

/* record - the cache callback: note the outcome, prepend one header */
static void
record(void *arg, const struct policyd_outcome *o, unsigned *headers_sent)
{
	struct recorder *rec = arg;
	struct answer *a = &rec->a[rec->n];

	a->order = rec->n++;
	a->mfrom = o->mfrom.result;
	a->mfrom_checked = o->mfrom.checked;
	a->helo = o->helo.result;
	a->headers_before = (*headers_sent)++;
}

/* ask - one request through the cache; true when answered at once */
static bool
ask(struct fixture *f, struct recorder *rec, const char *client, const char *helo,
    const char *sender, const char *instance)
{
	struct policyd_request r;
	struct policyd_cache_wait *w;

	make_req(&r, client, helo, sender, instance);
	w = policyd_cache_get(f->cache, f->c, &r, record, rec);
	policyd_request_clear(&r);
	return w == NULL;
}

START_TEST(cache_second_recipient_in_flight_waits_and_makes_no_lookups)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	struct policyd_cache_stats st;
	unsigned after_first;

	fixture_init(&f, true, (const char *[]){ NULL });
	ck_assert(!ask(&f, &rec, "192.0.2.1", "mx.example.org", "a@example.org", "I1"));
	after_first = f.dns->queries;
	ck_assert_uint_gt(after_first, 0);
	/* the second and third recipients arrive while the first is in flight */
	ck_assert(!ask(&f, &rec, "192.0.2.1", "mx.example.org", "a@example.org", "I1"));
	ck_assert(!ask(&f, &rec, "192.0.2.1", "mx.example.org", "a@example.org", "I1"));
	ck_assert_int_eq(rec.n, 0);
	event_base_dispatch(f.base);
	ck_assert_int_eq(rec.n, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rec.a[i].order, i);
		ck_assert_int_eq(rec.a[i].mfrom, SPF_RESULT_PASS);
		ck_assert_int_eq(rec.a[i].helo, SPF_RESULT_PASS);
		/* one header per message: the count is shared by the instance */
		ck_assert_uint_eq(rec.a[i].headers_before, (unsigned)i);
	}
	/* a fourth recipient after the verdict: answered at once, no lookup */
	unsigned total = f.dns->queries;
	ck_assert(ask(&f, &rec, "192.0.2.1", "mx.example.org", "a@example.org", "I1"));
	ck_assert_uint_eq(f.dns->queries, total);
	ck_assert_uint_eq(rec.a[3].headers_before, 3);
	policyd_cache_stats(f.cache, &st);
	ck_assert_uint_eq(st.evaluations, 1);
	ck_assert_uint_eq(st.joined, 2);
	fixture_clear(&f);
	/* the same check alone makes exactly as many lookups as the four did */
	fixture_init(&f, true, (const char *[]){ NULL });
	rec.n = 0;
	ask(&f, &rec, "192.0.2.1", "mx.example.org", "a@example.org", "I1");
	event_base_dispatch(f.base);
	ck_assert_uint_eq(f.dns->queries, total);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_reuses_results_across_transactions_within_ttl)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	unsigned q;

	fixture_init(&f, false, (const char *[]){ "cache_ttl=60s", NULL });
	ck_assert(ask(&f, &rec, "192.0.2.9", "mx.example.org", "b@fail.example", "T1"));
	ck_assert_int_eq(rec.a[0].helo, SPF_RESULT_FAIL);
	ck_assert(!rec.a[0].mfrom_checked);	/* HELO fail decided it */
	q = f.dns->queries;
	fake_now += 30;
	ck_assert(ask(&f, &rec, "192.0.2.9", "mx.example.org", "b@fail.example", "T2"));
	ck_assert_uint_eq(f.dns->queries, q);
	ck_assert_uint_eq(rec.a[1].headers_before, 0);	/* a new message: its own header */
	fake_now += 31;
	ck_assert(ask(&f, &rec, "192.0.2.9", "mx.example.org", "b@fail.example", "T3"));
	ck_assert_uint_gt(f.dns->queries, q);
	fixture_clear(&f);
}
END_TEST

/*
 * An instance reused with another sender, HELO or client address is not the
 * same transaction: each gets its own verdict, not the first one's.
 */
START_TEST(cache_reused_instance_with_other_identities_gets_its_own_verdict)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };

	fixture_init(&f, false, (const char *[]){ NULL });
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "R1"));
	ck_assert_int_eq(rec.a[0].mfrom, SPF_RESULT_PASS);
	/* same instance, another sender: its own evaluation, fail */
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "b@fail.example", "R1"));
	ck_assert_int_eq(rec.a[1].mfrom, SPF_RESULT_FAIL);
	ck_assert_uint_eq(rec.a[1].headers_before, 0);
	/* same instance and sender, another client address */
	ck_assert(ask(&f, &rec, "203.0.113.5", "", "a@example.org", "R1"));
	ck_assert_int_eq(rec.a[2].mfrom, SPF_RESULT_FAIL);
	/* same instance and sender, another HELO name */
	ck_assert(ask(&f, &rec, "192.0.2.9", "mx.example.org", "a@example.org", "R1"));
	ck_assert_int_eq(rec.a[3].helo, SPF_RESULT_FAIL);
	/* the first transaction's next recipient still shares its entry */
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "R1"));
	ck_assert_int_eq(rec.a[4].mfrom, SPF_RESULT_PASS);
	ck_assert_uint_eq(rec.a[4].headers_before, 1);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_ttl_zero_still_shares_within_a_message)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	unsigned q;

	fixture_init(&f, false, (const char *[]){ "cache_ttl=0", NULL });
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "M1"));
	q = f.dns->queries;
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "M1"));
	ck_assert_uint_eq(f.dns->queries, q);
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "M2"));
	ck_assert_uint_eq(f.dns->queries, 2 * q);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_without_instance_still_uses_ttl_cache)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	unsigned q;

	fixture_init(&f, false, (const char *[]){ NULL });
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", NULL));
	q = f.dns->queries;
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", NULL));
	ck_assert_uint_eq(f.dns->queries, q);
	ck_assert_uint_eq(rec.a[1].headers_before, 0);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_is_bounded_by_cache_size_limit)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	struct policyd_cache_stats st;
	char sender[64], inst[32];

	fixture_init(&f, false, (const char *[]){ "cache_size_limit=16", NULL });
	for (int i = 0; i < 200; i++) {
		snprintf(sender, sizeof(sender), "u%d@example.org", i);
		snprintf(inst, sizeof(inst), "inst%d", i);
		rec.n = 0;
		ask(&f, &rec, "192.0.2.1", "", sender, inst);
	}
	policyd_cache_stats(f.cache, &st);
	ck_assert_uint_le(st.entries, 17);
	ck_assert_uint_gt(st.evictions, 300);
	fixture_clear(&f);
}
END_TEST

/* Entries with waiters are not evicted, even past the limit: they come back. */
START_TEST(cache_keeps_entries_with_waiters_past_the_limit)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	struct policyd_cache_stats st;
	char sender[64], inst[32];

	fixture_init(&f, true, (const char *[]){ "cache_size_limit=16", NULL });
	for (int i = 0; i < 12; i++) {
		snprintf(sender, sizeof(sender), "p%d@example.org", i);
		snprintf(inst, sizeof(inst), "pend%d", i);
		ck_assert(!ask(&f, &rec, "192.0.2.1", "", sender, inst));
		ck_assert(!ask(&f, &rec, "192.0.2.1", "", sender, inst));
	}
	policyd_cache_stats(f.cache, &st);
	ck_assert_uint_eq(st.entries, 24);
	ck_assert_uint_eq(st.evictions, 0);
	event_base_dispatch(f.base);
	ck_assert_int_eq(rec.n, 24);
	for (int i = 0; i < 24; i++) {
		ck_assert_int_eq(rec.a[i].mfrom, SPF_RESULT_PASS);
		ck_assert_uint_le(rec.a[i].headers_before, 1);
	}
	fixture_clear(&f);
}
END_TEST

/* A waiter whose callback asks again (pipelined requests on its connection). */
struct flood {
	struct fixture *f;
	struct recorder rec, more;
	bool asked;
};

/* flood_cb - record, then send 20 new requests that fill the cache */
static void
flood_cb(void *arg, const struct policyd_outcome *o, unsigned *headers_sent)
{
	struct flood *fl = arg;
	char sender[64], inst[32];

	record(&fl->rec, o, headers_sent);
	if (fl->asked)
		return;
	fl->asked = true;
	for (int i = 0; i < 20; i++) {
		snprintf(sender, sizeof(sender), "f%d@example.org", i);
		snprintf(inst, sizeof(inst), "flood%d", i);
		ask(fl->f, &fl->more, "192.0.2.1", "", sender, inst);
	}
}

/*
 * Two messages wait on one result; the first one's callback fills the cache
 * past its limit before the second is called: the second message's instance
 * must not be evicted under it (it was, and its header count was freed
 * memory: ASan in the asan build).
 */
START_TEST(cache_waiter_instances_survive_evictions_by_earlier_waiters)
{
	struct fixture f;
	struct flood fl = { .f = &f };
	struct recorder b = { .n = 0 };
	struct policyd_request r;

	fixture_init(&f, true, (const char *[]){ "cache_size_limit=16", NULL });
	make_req(&r, "192.0.2.1", "mx.example.org", "a@example.org", "A1");
	ck_assert_ptr_nonnull(policyd_cache_get(f.cache, f.c, &r, flood_cb, &fl));
	policyd_request_clear(&r);
	make_req(&r, "192.0.2.1", "mx.example.org", "a@example.org", "B1");
	ck_assert_ptr_nonnull(policyd_cache_get(f.cache, f.c, &r, record, &b));
	policyd_request_clear(&r);
	event_base_dispatch(f.base);
	ck_assert_int_eq(fl.rec.n, 1);
	ck_assert_int_eq(b.n, 1);
	ck_assert_int_eq(b.a[0].mfrom, SPF_RESULT_PASS);
	ck_assert_uint_eq(b.a[0].headers_before, 0);	/* its own message's count */
	ck_assert_int_eq(fl.more.n, 20);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_cancelled_waiter_is_not_called)
{
	struct fixture f;
	struct recorder a = { .n = 0 }, b = { .n = 0 };
	struct policyd_request r;
	struct policyd_cache_wait *w1, *w2;

	fixture_init(&f, true, (const char *[]){ NULL });
	make_req(&r, "192.0.2.1", "mx.example.org", "a@example.org", "C1");
	w1 = policyd_cache_get(f.cache, f.c, &r, record, &a);
	w2 = policyd_cache_get(f.cache, f.c, &r, record, &b);
	ck_assert_ptr_nonnull(w1);
	ck_assert_ptr_nonnull(w2);
	policyd_cache_cancel(f.cache, w1);
	event_base_dispatch(f.base);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(b.n, 1);
	policyd_request_clear(&r);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_free_with_evaluation_in_flight)
{
	struct fixture f;
	struct recorder a = { .n = 0 };

	fixture_init(&f, true, (const char *[]){ NULL });
	ck_assert(!ask(&f, &a, "192.0.2.1", "mx.example.org", "a@example.org", "F1"));
	policyd_cache_free(f.cache);
	f.cache = policyd_cache_new(&f.env, policyd_check_start);
	event_base_dispatch(f.base);
	ck_assert_int_eq(a.n, 0);
	fixture_clear(&f);
}
END_TEST

START_TEST(cache_flush_keeps_instances)
{
	struct fixture f;
	struct recorder rec = { .n = 0 };
	unsigned q;

	fixture_init(&f, false, (const char *[]){ NULL });
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "K1"));
	q = f.dns->queries;
	policyd_cache_flush(f.cache);
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "K1"));
	ck_assert_uint_eq(f.dns->queries, q);
	ck_assert_uint_eq(rec.a[1].headers_before, 1);
	ck_assert(ask(&f, &rec, "192.0.2.1", "", "a@example.org", "K2"));
	ck_assert_uint_eq(f.dns->queries, 2 * q);
	fixture_clear(&f);
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite *s = suite_create("policyd_cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cache_second_recipient_in_flight_waits_and_makes_no_lookups);
	tcase_add_test(tc, cache_reuses_results_across_transactions_within_ttl);
	tcase_add_test(tc, cache_ttl_zero_still_shares_within_a_message);
	tcase_add_test(tc, cache_reused_instance_with_other_identities_gets_its_own_verdict);
	tcase_add_test(tc, cache_without_instance_still_uses_ttl_cache);
	tcase_add_test(tc, cache_is_bounded_by_cache_size_limit);
	tcase_add_test(tc, cache_keeps_entries_with_waiters_past_the_limit);
	tcase_add_test(tc, cache_waiter_instances_survive_evictions_by_earlier_waiters);
	tcase_add_test(tc, cache_cancelled_waiter_is_not_called);
	tcase_add_test(tc, cache_free_with_evaluation_in_flight);
	tcase_add_test(tc, cache_flush_keeps_instances);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
