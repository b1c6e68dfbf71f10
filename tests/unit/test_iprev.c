/*
 * test_iprev.c - iprev (RFC 8601 §3, §2.7.3) over the in-memory resolver:
 * forward-confirmed, missing and unconfirmed reverse DNS, lookup failures,
 * IPv6, the name limit, and the reverse names themselves.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "iprev.h"

struct got {
	int calls;
	enum iprev_result result;
	char name[256];
	char reason[512];
	size_t nnames, total;
	unsigned lookups;
};

/* got_cb - keep a copy of the verdict */
static void
got_cb(void *arg, const struct iprev_verdict *v)
{
	struct got *g = arg;

	g->calls++;
	g->result = v->result;
	snprintf(g->name, sizeof(g->name), "%s", v->name ? v->name : "");
	snprintf(g->reason, sizeof(g->reason), "%s", v->reason);
	g->nnames = v->nnames;
	g->total = v->names_total;
	g->lookups = v->lookups;
}

/* run - evaluate text address against r synchronously */
static struct got
run(struct dns_resolver *r, const char *text)
{
	struct iprev_addr a;
	struct got g = { 0 };

	ck_assert_int_eq(iprev_addr_parse(text, strlen(text), &a), 0);
	ck_assert_ptr_null(iprev_eval_start(r, &a, 0, got_cb, &g));
	ck_assert_int_eq(g.calls, 1);
	return g;
}

/* add_ptr - a PTR record */
static void
add_ptr(struct dns_resolver *r, const char *rname, const char *target)
{
	dns_mem_add(r, rname, DNS_TYPE_PTR, 0, target, strlen(target));
}

START_TEST(iprev_passes_forward_confirmed_ipv4)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	add_ptr(r, "25.2.0.192.in-addr.arpa", "mail.example");
	dns_mem_add_addr(r, "mail.example", "192.0.2.99");
	dns_mem_add_addr(r, "mail.example", "192.0.2.25");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_PASS);
	ck_assert_str_eq(g.name, "mail.example");
	ck_assert_str_eq(g.reason, "192.0.2.25 -> mail.example -> 192.0.2.25");
	ck_assert_uint_eq(g.lookups, 2);
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_no_ptr_is_permerror)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_add_addr(r, "mail.example", "192.0.2.25");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_PERMERROR);
	ck_assert_str_eq(g.reason, "no PTR record for 192.0.2.25");
	ck_assert_str_eq(g.name, "");
	/* a reverse name with other records but no PTR: NOERROR, no data */
	dns_mem_add_txt(r, "25.2.0.192.in-addr.arpa", "not a ptr");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_PERMERROR);
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_unconfirmed_ptr_is_fail)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	add_ptr(r, "25.2.0.192.in-addr.arpa", "mail.example");
	dns_mem_add_addr(r, "mail.example", "192.0.2.26");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_FAIL);
	ck_assert_str_eq(g.name, "");
	ck_assert_ptr_nonnull(strstr(g.reason, "mail.example"));
	/* the name does not exist at all: fail too (RFC 8601 §3) */
	add_ptr(r, "26.2.0.192.in-addr.arpa", "gone.example");
	g = run(r, "192.0.2.26");
	ck_assert_int_eq(g.result, IPREV_RESULT_FAIL);
	ck_assert_str_eq(g.reason,
	    "no A record of the PTR names of 192.0.2.26 is 192.0.2.26 (gone.example)");
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_servfail_is_temperror)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	dns_mem_set_rcode(r, "25.2.0.192.in-addr.arpa", DNS_TYPE_PTR, DNS_RCODE_SERVFAIL);
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_TEMPERROR);
	ck_assert_str_eq(g.reason, "PTR lookup of 192.0.2.25: SERVFAIL");

	dns_mem_set_rcode(r, "26.2.0.192.in-addr.arpa", DNS_TYPE_PTR, DNS_RCODE_TIMEOUT);
	g = run(r, "192.0.2.26");
	ck_assert_int_eq(g.result, IPREV_RESULT_TEMPERROR);

	/* forward lookup failed and nothing else confirmed: temperror */
	add_ptr(r, "27.2.0.192.in-addr.arpa", "broken.example");
	dns_mem_set_rcode(r, "broken.example", DNS_TYPE_A, DNS_RCODE_SERVFAIL);
	g = run(r, "192.0.2.27");
	ck_assert_int_eq(g.result, IPREV_RESULT_TEMPERROR);
	/* ... but another name that confirms still passes */
	add_ptr(r, "27.2.0.192.in-addr.arpa", "good.example");
	dns_mem_add_addr(r, "good.example", "192.0.2.27");
	g = run(r, "192.0.2.27");
	ck_assert_int_eq(g.result, IPREV_RESULT_PASS);
	ck_assert_str_eq(g.name, "good.example");
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_ipv6_uses_ip6_arpa_and_aaaa)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;
	const char *rn = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";

	add_ptr(r, rn, "mail6.example");
	dns_mem_add_addr(r, "mail6.example", "192.0.2.1");
	g = run(r, "2001:db8::1");
	/* an A record equal in its first bytes is no AAAA confirmation */
	ck_assert_int_eq(g.result, IPREV_RESULT_FAIL);
	ck_assert_ptr_nonnull(strstr(g.reason, "no AAAA record"));
	dns_mem_add_addr(r, "mail6.example", "2001:db8::1");
	g = run(r, "IPv6:2001:DB8::1");
	ck_assert_int_eq(g.result, IPREV_RESULT_PASS);
	ck_assert_str_eq(g.reason, "2001:db8::1 -> mail6.example -> 2001:db8::1");
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_checks_at_most_the_name_limit)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct iprev_addr a;
	struct got g = { 0 };
	char name[64];

	for (int i = 0; i < 15; i++) {
		snprintf(name, sizeof(name), "n%02d.example", i);
		add_ptr(r, "25.2.0.192.in-addr.arpa", name);
	}
	/* only the 13th name confirms: beyond the limit of 10 */
	dns_mem_add_addr(r, "n12.example", "192.0.2.25");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_FAIL);
	ck_assert_uint_eq(g.nnames, 10);
	ck_assert_uint_eq(g.total, 15);
	ck_assert_uint_eq(g.lookups, 11);
	ck_assert_ptr_nonnull(strstr(g.reason, "first 10 of 15"));
	/* a larger limit reaches it */
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(iprev_addr_parse("192.0.2.25", 10, &a), 0);
	iprev_eval_start(r, &a, 15, got_cb, &g);
	ck_assert_int_eq(g.result, IPREV_RESULT_PASS);
	ck_assert_str_eq(g.name, "n12.example");
	ck_assert_uint_eq(g.lookups, 14);
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_skips_names_that_are_not_host_names)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct got g;

	add_ptr(r, "25.2.0.192.in-addr.arpa", "bad name.example");
	dns_mem_add_addr(r, "bad name.example", "192.0.2.25");
	g = run(r, "192.0.2.25");
	ck_assert_int_eq(g.result, IPREV_RESULT_FAIL);
	ck_assert_uint_eq(g.lookups, 1);
	ck_assert_ptr_null(strstr(g.reason, "bad name"));
	ck_assert_ptr_nonnull(strstr(g.reason, "(not a host name)"));
	dns_resolver_free(r);
}
END_TEST

START_TEST(iprev_async_and_cancel)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct iprev_addr a;
	struct iprev_eval *e;
	struct got g = { 0 };

	add_ptr(r, "25.2.0.192.in-addr.arpa", "mail.example");
	dns_mem_add_addr(r, "mail.example", "192.0.2.25");
	ck_assert_int_eq(iprev_addr_parse("::ffff:192.0.2.25", 17, &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	e = iprev_eval_start(r, &a, 0, got_cb, &g);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(g.calls, 0);
	event_base_dispatch(base);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.result, IPREV_RESULT_PASS);

	memset(&g, 0, sizeof(g));
	e = iprev_eval_start(r, &a, 0, got_cb, &g);
	iprev_eval_cancel(e);
	event_base_dispatch(base);
	ck_assert_int_eq(g.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(iprev_reverse_names)
{
	struct iprev_addr a;
	char out[IPREV_REVERSE_NAME_SIZE];

	ck_assert_int_eq(iprev_addr_parse("192.0.2.1", 9, &a), 0);
	ck_assert_int_eq(iprev_reverse_name(&a, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "1.2.0.192.in-addr.arpa");
	ck_assert_int_eq(iprev_addr_parse("2001:db8::abcd", 14, &a), 0);
	ck_assert_int_eq(iprev_reverse_name(&a, out, sizeof(out)), 0);
	ck_assert_str_eq(out,
	    "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	ck_assert_int_eq(iprev_reverse_name(&a, out, 20), -1);
	ck_assert_int_eq(iprev_addr_parse("192.0.2", 7, &a), -1);
	ck_assert_int_eq(iprev_addr_parse("IPv6:", 5, &a), -1);
	ck_assert_int_eq(iprev_addr_parse("mail.example", 12, &a), -1);
}
END_TEST

START_TEST(iprev_host_names)
{
	ck_assert(iprev_name_ok("mail.example", 12));
	ck_assert(iprev_name_ok("mail.example.", 13));
	ck_assert(!iprev_name_ok("", 0));
	ck_assert(!iprev_name_ok(".", 1));
	ck_assert(!iprev_name_ok("a..example", 10));
	ck_assert(!iprev_name_ok("a b.example", 11));
	ck_assert(!iprev_name_ok("a(b).example", 12));
	ck_assert_int_eq(iprev_result_from_str("PermError", 9), IPREV_RESULT_PERMERROR);
	ck_assert_int_eq(iprev_result_from_str("none", 4), -1);
	ck_assert_str_eq(iprev_result_str(IPREV_RESULT_FAIL), "fail");
}
END_TEST

/* iprev_suite - the cases above */
static Suite *
iprev_suite(void)
{
	Suite *s = suite_create("iprev");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, iprev_passes_forward_confirmed_ipv4);
	tcase_add_test(tc, iprev_no_ptr_is_permerror);
	tcase_add_test(tc, iprev_unconfirmed_ptr_is_fail);
	tcase_add_test(tc, iprev_servfail_is_temperror);
	tcase_add_test(tc, iprev_ipv6_uses_ip6_arpa_and_aaaa);
	tcase_add_test(tc, iprev_checks_at_most_the_name_limit);
	tcase_add_test(tc, iprev_skips_names_that_are_not_host_names);
	tcase_add_test(tc, iprev_async_and_cancel);
	tcase_add_test(tc, iprev_reverse_names);
	tcase_add_test(tc, iprev_host_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(iprev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
