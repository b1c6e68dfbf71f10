/*
 * test_reinject_doctor.c - "reinject doctor" checks over the in-memory
 * resolver: failures named (timeout, SERVFAIL), the RFC 7208 §4.6.4 limit
 * warnings (within DOCTOR_SPF_MARGIN, void lookups), IPv6 records to
 * publish, the worst level, and the JSON and text outputs keeping DNS
 * text from breaking them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reinject_doctor.h"

/* find - the finding of check about subject, or NULL */
static const struct doctor_finding *
find(const struct doctor *d, const char *check, const char *subject)
{
	for (size_t i = 0; i < d->nf; i++)
		if (strcmp(d->f[i].check, check) == 0 && strcmp(d->f[i].subject, subject) == 0)
			return &d->f[i];
	return NULL;
}

/* setup - a doctor for domain and one address on r */
static void
setup(struct doctor *d, struct dns_resolver *r, const char *domain, const char *ip)
{
	doctor_init(d, NULL, r);
	d->domain = domain;
	d->mail_from_domain = domain;
	ck_assert_int_eq(iprev_addr_parse(ip, strlen(ip), &d->ips[0]), 0);
	d->nips = 1;
}

START_TEST(doctor_names_network_failures)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	const struct doctor_finding *f;
	struct doctor d;

	dns_mem_set_rcode(r, "slow.example", DNS_TYPE_MX, DNS_RCODE_TIMEOUT);
	dns_mem_set_rcode(r, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, DNS_RCODE_SERVFAIL);
	setup(&d, r, "slow.example", "192.0.2.1");
	doctor_check_mx(&d);
	doctor_check_fcrdns(&d);
	f = find(&d, "mx", "slow.example");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(f->level, DOCTOR_FAIL);
	ck_assert_str_eq(f->text, "DNS lookup of MX slow.example failed: no answer from "
	    "the resolver in time (TIMEOUT)");
	f = find(&d, "fcrdns", "192.0.2.1");
	ck_assert_int_eq(f->level, DOCTOR_FAIL);
	ck_assert_str_eq(f->text, "DNS failure: PTR lookup of 192.0.2.1: SERVFAIL");
	ck_assert_int_eq(doctor_worst(&d), DOCTOR_FAIL);
	doctor_clear(&d);
	dns_resolver_free(r);
}
END_TEST

START_TEST(doctor_warns_near_spf_limits)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	const struct doctor_finding *f;
	struct doctor d;

	/* 8 includes: within 2 of the 10-term limit */
	dns_mem_add_txt(r, "near.example", "v=spf1 ip4:192.0.2.1 include:i.example "
	    "include:i.example include:i.example include:i.example include:i.example "
	    "include:i.example include:i.example include:i.example -all");
	dns_mem_add_txt(r, "i.example", "v=spf1 -all");
	/* one void lookup */
	dns_mem_add_txt(r, "void.example", "v=spf1 ip4:192.0.2.1 a:gone.example -all");
	/* 7 terms and no void: ok */
	dns_mem_add_txt(r, "fine.example", "v=spf1 ip4:192.0.2.1 include:i.example "
	    "include:i.example include:i.example include:i.example include:i.example "
	    "include:i.example include:i.example -all");
	setup(&d, r, "near.example", "192.0.2.1");
	doctor_check_spf(&d);
	f = find(&d, "spf-limits", "near.example");
	ck_assert_int_eq(f->level, DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(f->text, "8 of 10 DNS-querying terms, 0 of 2 void"));
	f = find(&d, "spf", "near.example for 192.0.2.1");
	ck_assert_int_eq(f->level, DOCTOR_OK);
	ck_assert_str_eq(f->text, "pass (matched ip4:192.0.2.1; 0 DNS-querying terms, "
	    "0 void lookups)");
	doctor_clear(&d);

	setup(&d, r, "void.example", "192.0.2.1");
	doctor_check_spf(&d);
	f = find(&d, "spf-limits", "void.example");
	ck_assert_int_eq(f->level, DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(f->text, "1 of 2 void lookups"));
	doctor_clear(&d);

	setup(&d, r, "fine.example", "192.0.2.1");
	doctor_check_spf(&d);
	f = find(&d, "spf-limits", "fine.example");
	ck_assert_int_eq(f->level, DOCTOR_OK);
	ck_assert_ptr_null(f->fix);
	doctor_clear(&d);
	dns_resolver_free(r);
}
END_TEST

START_TEST(doctor_ipv6_records_to_publish)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	const struct doctor_finding *f;
	struct doctor d;

	setup(&d, r, "six.example", "2001:db8::25");
	d.helo = "mail.six.example";
	doctor_check_fcrdns(&d);
	doctor_check_spf(&d);
	f = find(&d, "fcrdns", "2001:db8::25");
	ck_assert_int_eq(f->level, DOCTOR_FAIL);
	ck_assert_str_eq(f->record, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mail.six.example.");
	f = find(&d, "spf", "six.example for 2001:db8::25");
	ck_assert_int_eq(f->level, DOCTOR_FAIL);
	ck_assert_str_eq(f->record, "six.example. IN TXT \"v=spf1 ip6:2001:db8::25 -all\"");
	/* no HELO record: recommended (RFC 7208 §2.3), so a warning */
	f = find(&d, "spf-helo", "mail.six.example for 2001:db8::25");
	ck_assert_int_eq(f->level, DOCTOR_WARN);
	ck_assert_str_eq(f->record, "mail.six.example. IN TXT \"v=spf1 ip6:2001:db8::25 -all\"");
	doctor_clear(&d);
	dns_resolver_free(r);
}
END_TEST

START_TEST(doctor_outputs_keep_dns_text_in_place)
{
	struct doctor d;
	char buf[2048] = "";
	FILE *f;

	doctor_init(&d, NULL, NULL);
	d.domain = "x.example";
	doctor_add(&d, DOCTOR_WARN, "mx", "x\"y\\z", NULL, "r\n", "a\nb\x01");
	doctor_add(&d, DOCTOR_OK, "dmarc", "x.example", NULL, NULL, "fine");
	ck_assert_int_eq(doctor_worst(&d), DOCTOR_WARN);
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	doctor_report_json(&d, f);
	fclose(f);
	ck_assert_str_eq(buf, "{\"domain\":\"x.example\",\"result\":\"warn\",\"findings\":["
	    "{\"level\":\"warn\",\"check\":\"mx\",\"subject\":\"x\\\"y\\\\z\",\"text\":\"a?b?\","
	    "\"fix\":null,\"record\":\"r?\"},{\"level\":\"ok\",\"check\":\"dmarc\","
	    "\"subject\":\"x.example\",\"text\":\"fine\",\"fix\":null,\"record\":null}]}\n");
	memset(buf, 0, sizeof(buf));
	f = fmemopen(buf, sizeof(buf) - 1, "w");
	doctor_report_text(&d, f);
	fclose(f);
	ck_assert_str_eq(buf, "warn mx         x\"y\\z: a?b?; publish: r?\n"
	    "ok   dmarc      x.example: fine\nresult: warn\n");
	doctor_clear(&d);
}
END_TEST

/* doctor_suite - the cases above */
static Suite *
doctor_suite(void)
{
	Suite *s = suite_create("reinject_doctor");
	TCase *tc = tcase_create("doctor");

	tcase_add_test(tc, doctor_names_network_failures);
	tcase_add_test(tc, doctor_warns_near_spf_limits);
	tcase_add_test(tc, doctor_ipv6_records_to_publish);
	tcase_add_test(tc, doctor_outputs_keep_dns_text_in_place);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(doctor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
