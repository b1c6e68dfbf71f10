/*
 * test_authres.c - Authentication-Results builder/parser and Received-SPF
 * parsing (common/mail/authres.c, RFC 8601, RFC 7208 §9.1).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

START_TEST(authres_builds_dkim_and_spf_clauses)
{
	struct authres_builder b;
	const char *dkim[] = { "header.d", "example.com", "header.s", "sel",
	    "header.b", "ab/+=cdE", NULL };
	const char *spf[] = { "smtp.mailfrom", "user@example.com", NULL };

	authres_begin(&b, "mx.example.net");
	authres_add(&b, "dkim", "pass", NULL, dkim);
	authres_add(&b, "spf", "pass", "policyd", spf);
	ck_assert_int_eq(authres_finish(&b), 0);
	ck_assert_str_eq(buf_cstr(&b.out),
	    "Authentication-Results: mx.example.net;\r\n"
	    "\tdkim=pass header.d=example.com header.s=sel header.b=\"ab/+=cdE\";\r\n"
	    "\tspf=pass (policyd) smtp.mailfrom=user@example.com\r\n");
	authres_clear(&b);
}
END_TEST

START_TEST(authres_none_when_empty)
{
	struct authres_builder b;

	authres_begin(&b, "id");
	ck_assert_int_eq(authres_finish(&b), 0);
	ck_assert_str_eq(buf_cstr(&b.out), "Authentication-Results: id; none\r\n");
	authres_clear(&b);
}
END_TEST

START_TEST(authres_folds_long_clauses)
{
	struct authres_builder b;
	const char *p[] = { "header.d", "a-very-long-domain-name-that-goes-on.example.com",
	    "header.s", "selector-with-a-long-name-2026", "header.b", "AbCdEfGh", NULL };
	const char *s, *line;

	authres_begin(&b, "mx.example.net");
	authres_add(&b, "dkim", "fail", "body hash did not verify", p);
	authres_finish(&b);
	s = buf_cstr(&b.out);
	for (line = s; line; ) {
		const char *nl = strstr(line, "\r\n");

		ck_assert(nl);
		ck_assert_int_lt(nl - line, 79);
		line = nl[2] ? nl + 2 : NULL;
	}
	authres_clear(&b);
}
END_TEST

static const struct {
	const char *body;
	const char *id;
	bool claims;
} claim_cases[] = {
	{ " mx.example.net; dkim=pass", "mx.example.net", true },
	{ " MX.Example.NET 1; spf=pass", "mx.example.net", true },
	{ " (comment (nested)) mx.example.net; none", "mx.example.net", true },
	{ "\r\n\tmx.example.net;\r\n\tdkim=pass", "mx.example.net", true },
	{ " \"mx.example.net\"; none", "mx.example.net", true },
	{ " other.example; dkim=pass", "mx.example.net", false },
	{ " mx.example.net.evil; dkim=pass", "mx.example.net", false },
	{ " ", "mx.example.net", false },
};

START_TEST(authres_claims_id_table)
{
	ck_assert_int_eq(authres_claims_id(claim_cases[_i].body,
	    strlen(claim_cases[_i].body), claim_cases[_i].id), claim_cases[_i].claims);
}
END_TEST

START_TEST(authres_parse_results_and_properties)
{
	const char *f = " mx.example.net; dkim=pass (good sig) header.d=example.com"
	    " header.b=\"ab/c\"; spf=fail smtp.mailfrom=a@b.example;"
	    " dmarc/1=pass reason=\"x\" header.from=example.com";
	struct authres_parsed a;

	ck_assert_int_eq(authres_parse(f, strlen(f), &a), 0);
	ck_assert_uint_eq(a.nresults, 3);
	ck_assert(span_eq_ci(a.authserv_id, "mx.example.net"));
	ck_assert(span_eq_ci(a.results[0].method, "dkim"));
	ck_assert(span_eq_ci(a.results[0].result, "pass"));
	ck_assert_uint_eq(a.results[0].nprops, 2);
	ck_assert(span_eq_ci(a.results[0].props[1].value, "ab/c"));
	ck_assert(span_eq_ci(a.results[1].props[0].name, "mailfrom"));
	ck_assert(span_eq_ci(a.results[2].method, "dmarc"));
	ck_assert(span_eq_ci(a.results[2].props[0].ptype, "header"));
}
END_TEST

START_TEST(authres_spf_parse_policyd_header)
{
	const char *f = " Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1;"
	    " helo=mx.example.org; envelope-from=\"u@example.org\"; receiver=<UNKNOWN>";
	struct authres_spf s;

	ck_assert_int_eq(authres_spf_parse(f, strlen(f), &s), 0);
	ck_assert(span_eq_ci(s.result, "pass"));
	ck_assert(span_eq_ci(s.identity, "mailfrom"));
	ck_assert(span_eq_ci(s.client_ip, "192.0.2.1"));
	ck_assert(span_eq_ci(s.helo, "mx.example.org"));
	ck_assert(span_eq_ci(s.mailfrom, "u@example.org"));
	ck_assert_int_eq(authres_spf_parse(" maybe; x=y", 11, &s), -1);
}
END_TEST

static Suite *
authres_suite(void)
{
	Suite *s = suite_create("authres");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, authres_builds_dkim_and_spf_clauses);
	tcase_add_test(tc, authres_none_when_empty);
	tcase_add_test(tc, authres_folds_long_clauses);
	tcase_add_loop_test(tc, authres_claims_id_table, 0, ARRAY_LEN(claim_cases));
	tcase_add_test(tc, authres_parse_results_and_properties);
	tcase_add_test(tc, authres_spf_parse_policyd_header);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(authres_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
