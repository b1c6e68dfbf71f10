/*
 * test_dmarc_discover.c - DNS Tree Walk, policy discovery and Organizational
 * Domain selection (RFC 9989 §4.10) through the in-memory resolver.
 */
#include <check.h>
#include <string.h>

#include <event2/event.h>

#include "dmarc.h"

struct got {
	int calls;
	struct dmarc_walk w;
};

static void
walked(void *arg, const struct dmarc_walk *w)
{
	struct got *g = arg;

	g->calls++;
	g->w = *w;
}

/* walk_sync - run a walk on a synchronous dns_mem resolver */
static void
walk_sync(struct dns_resolver *r, const char *domain, struct got *g)
{
	memset(g, 0, sizeof(*g));
	ck_assert_ptr_null(dmarc_walk_start(r, domain, walked, g));
	ck_assert_int_eq(g->calls, 1);
}

START_TEST(dmarc_walk_record_at_author_domain)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.a.mail.example.com", "v=DMARC1; p=reject");
	walk_sync(r, "A.Mail.Example.COM.", &g);
	ck_assert_int_eq(g.w.status, DMARC_WALK_DONE);
	ck_assert_str_eq(g.w.domain, "a.mail.example.com");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_AUTHOR);
	ck_assert_str_eq(g.w.policy_domain, "a.mail.example.com");
	/* no psd= tag: the walk goes on to the root for the Organizational Domain */
	ck_assert_uint_eq(g.w.nsteps, 4);
	ck_assert_str_eq(g.w.steps[3].domain, "com");
	ck_assert_str_eq(g.w.org_domain, "a.mail.example.com");
	ck_assert_uint_eq(r->queries, 4);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_deep_name_is_shortened_to_eight_queries)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;
	static const char *want[] = {
		"a.b.c.d.e.f.g.h.example.com", "f.g.h.example.com"
	};

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=quarantine; sp=reject");
	walk_sync(r, "a.b.c.d.e.f.g.h.example.com", &g);
	ck_assert_uint_eq(g.w.nsteps, DMARC_WALK_QUERY_LIMIT);
	ck_assert_uint_eq(r->queries, DMARC_WALK_QUERY_LIMIT);
	ck_assert_str_eq(g.w.steps[0].domain, want[0]);
	ck_assert_uint_eq(g.w.steps[0].labels, 10);
	ck_assert_str_eq(g.w.steps[1].domain, "d.e.f.g.h.example.com");
	ck_assert_uint_eq(g.w.steps[1].labels, 7);
	ck_assert_str_eq(g.w.steps[3].domain, want[1]);
	ck_assert_str_eq(g.w.steps[7].domain, "com");
	ck_assert_str_eq(g.w.org_domain, "example.com");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);
	ck_assert_str_eq(g.w.policy_domain, "example.com");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_eight_labels_cut_to_seven)
{
	ck_assert_uint_eq(dmarc_walk_next_labels(8), 7);
	ck_assert_uint_eq(dmarc_walk_next_labels(20), 7);
	ck_assert_uint_eq(dmarc_walk_next_labels(7), 6);
	ck_assert_uint_eq(dmarc_walk_next_labels(1), 0);
}
END_TEST

START_TEST(dmarc_walk_psd_y_makes_org_one_label_below)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.example", "v=DMARC1; p=reject; psd=y");
	walk_sync(r, "a.mail.shop.example", &g);
	ck_assert_str_eq(g.w.org_domain, "shop.example");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_PSD);
	ck_assert_str_eq(g.w.policy_domain, "example");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_psd_y_stops_the_walk)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.shop.example", "v=DMARC1; p=none; psd=y");
	dns_mem_add_txt(r, "_dmarc.example", "v=DMARC1; p=reject");
	walk_sync(r, "mail.shop.example", &g);
	ck_assert_uint_eq(g.w.nsteps, 2);
	ck_assert_str_eq(g.w.org_domain, "mail.shop.example");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_PSD);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_psd_y_at_start_does_not_stop)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.gov.example", "v=DMARC1; p=reject; psd=y");
	walk_sync(r, "gov.example", &g);
	ck_assert_uint_eq(g.w.nsteps, 2);
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_AUTHOR);
	ck_assert_str_eq(g.w.org_domain, "gov.example");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_psd_n_is_the_org_domain_and_stops)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.dept.uni.example", "v=DMARC1; p=quarantine; psd=n");
	dns_mem_add_txt(r, "_dmarc.uni.example", "v=DMARC1; p=reject");
	walk_sync(r, "a.dept.uni.example", &g);
	ck_assert_uint_eq(g.w.nsteps, 2);
	ck_assert_str_eq(g.w.org_domain, "dept.uni.example");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);
	ck_assert_str_eq(g.w.policy_domain, "dept.uni.example");
	ck_assert_uint_eq(r->queries, 2);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_psd_n_at_author_stops_at_once)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.a.example.com", "v=DMARC1; p=none; psd=n");
	walk_sync(r, "a.example.com", &g);
	ck_assert_uint_eq(g.w.nsteps, 1);
	ck_assert_str_eq(g.w.org_domain, "a.example.com");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_records_at_several_levels_fewest_labels_wins)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.mail.example.com", "v=DMARC1; p=none");
	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine");
	walk_sync(r, "a.mail.example.com", &g);
	ck_assert_str_eq(g.w.org_domain, "example.com");
	/* "DMARC Policy Discovery": the policy is the Author Domain's, the Org Domain's or the PSD's */
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);
	ck_assert_str_eq(g.w.policy_domain, "example.com");
	ck_assert_int_eq(g.w.steps[1].outcome, DMARC_STEP_RECORD);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_nxdomain_continues_timeout_is_temperror)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	dns_mem_set_rcode(r, "_dmarc.mail.example.com", DNS_TYPE_TXT, DNS_RCODE_NXDOMAIN);
	walk_sync(r, "a.mail.example.com", &g);
	ck_assert_int_eq(g.w.status, DMARC_WALK_DONE);
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);
	dns_resolver_free(r);

	r = dns_mem_new(NULL);
	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	dns_mem_set_rcode(r, "_dmarc.mail.example.com", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
	walk_sync(r, "a.mail.example.com", &g);
	ck_assert_int_eq(g.w.status, DMARC_WALK_TEMPERROR);
	ck_assert_uint_eq(g.w.nsteps, 2);
	ck_assert_int_eq(g.w.steps[1].outcome, DMARC_STEP_DNS_ERROR);
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_NONE);
	dns_resolver_free(r);

	r = dns_mem_new(NULL);
	dns_mem_set_rcode(r, "_dmarc.example.com", DNS_TYPE_TXT, DNS_RCODE_SERVFAIL);
	walk_sync(r, "example.com", &g);
	ck_assert_int_eq(g.w.status, DMARC_WALK_TEMPERROR);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_multiple_records_are_discarded)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.a.example.com", "v=DMARC1; p=none");
	dns_mem_add_txt(r, "_dmarc.a.example.com", "v=DMARC1; p=reject");
	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=quarantine");
	walk_sync(r, "a.example.com", &g);
	ck_assert_int_eq(g.w.steps[0].outcome, DMARC_STEP_MULTIPLE);
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);
	ck_assert_str_eq(g.w.policy_domain, "example.com");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_non_dmarc_txt_and_invalid_records_ignored)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_txt(r, "_dmarc.a.example.com", "v=spf1 -all");
	dns_mem_add_txt(r, "_dmarc.a.example.com", "v=DMARC1; p=reject; adkim=z");
	walk_sync(r, "a.example.com", &g);
	ck_assert_int_eq(g.w.steps[0].outcome, DMARC_STEP_INVALID);
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_NONE);
	ck_assert_ptr_null(dmarc_walk_policy_record(&g.w));
	ck_assert_str_eq(g.w.org_domain, "a.example.com");
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_bad_domain)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	walk_sync(r, "bad..example", &g);
	ck_assert_int_eq(g.w.status, DMARC_WALK_BAD_DOMAIN);
	ck_assert_uint_eq(r->queries, 0);
	dns_resolver_free(r);
}
END_TEST

START_TEST(dmarc_walk_async_on_event_loop_and_cancel)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct dmarc_walker *wk;
	struct got g = { 0 };

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	wk = dmarc_walk_start(r, "x.y.example.com", walked, &g);
	ck_assert_ptr_nonnull(wk);
	ck_assert_int_eq(g.calls, 0);
	event_base_dispatch(base);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_str_eq(g.w.org_domain, "example.com");
	ck_assert_int_eq(g.w.source, DMARC_SOURCE_ORG);

	memset(&g, 0, sizeof(g));
	wk = dmarc_walk_start(r, "x.y.example.com", walked, &g);
	ck_assert_ptr_nonnull(wk);
	dmarc_walk_cancel(wk);
	event_base_dispatch(base);
	ck_assert_int_eq(g.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dmarc_discover");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dmarc_walk_record_at_author_domain);
	tcase_add_test(tc, dmarc_walk_deep_name_is_shortened_to_eight_queries);
	tcase_add_test(tc, dmarc_walk_eight_labels_cut_to_seven);
	tcase_add_test(tc, dmarc_walk_psd_y_makes_org_one_label_below);
	tcase_add_test(tc, dmarc_walk_psd_y_stops_the_walk);
	tcase_add_test(tc, dmarc_walk_psd_y_at_start_does_not_stop);
	tcase_add_test(tc, dmarc_walk_psd_n_is_the_org_domain_and_stops);
	tcase_add_test(tc, dmarc_walk_psd_n_at_author_stops_at_once);
	tcase_add_test(tc, dmarc_walk_records_at_several_levels_fewest_labels_wins);
	tcase_add_test(tc, dmarc_walk_nxdomain_continues_timeout_is_temperror);
	tcase_add_test(tc, dmarc_walk_multiple_records_are_discarded);
	tcase_add_test(tc, dmarc_walk_non_dmarc_txt_and_invalid_records_ignored);
	tcase_add_test(tc, dmarc_walk_bad_domain);
	tcase_add_test(tc, dmarc_walk_async_on_event_loop_and_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
