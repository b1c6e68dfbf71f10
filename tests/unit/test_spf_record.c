/*
 * test_spf_record.c - SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §12):
 * valid records parse to the expected terms; every syntax error is a permerror
 * with a reason; malformed input never reads past its (pointer, length).
 *
 * Inputs are copied into exact-size heap blocks without a terminating NUL, so
 * AddressSanitizer reports any read past the end.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spf_int.h"
#include "util.h"

/* parse_exact - parse (s, len) from a heap block of exactly len bytes */
static struct spf_record *
parse_exact(const char *s, size_t len, const char **err)
{
	char *copy = xmalloc(len ? len : 1);
	struct spf_record *rec;

	memcpy(copy, s, len);
	*err = NULL;
	rec = spf_record_parse(copy, len, err);
	free(copy);
	return rec;
}

static const struct {
	const char *name;
	const char *text;
	size_t len;	/* 0: strlen(text) */
} bad_records[] = {
	{ "unknown_mechanism", " moo", 0 },
	{ "qualifier_alone", " -", 0 },
	{ "bad_qualifier", " =a", 0 },
	{ "all_with_argument", " -all:foo", 0 },
	{ "all_with_dot", " -all.", 0 },
	{ "all_with_cidr", " all/24", 0 },
	{ "include_without_domain", " include", 0 },
	{ "include_empty_domain", " include:", 0 },
	{ "exists_without_domain", " exists", 0 },
	{ "exists_empty_domain", " exists:", 0 },
	{ "ptr_empty_domain", " ptr:", 0 },
	{ "a_single_label", " a:museum", 0 },
	{ "a_numeric_toplabel", " a:1.2.3.4", 0 },
	{ "a_toplabel_trailing_hyphen", " a:example.com-", 0 },
	{ "a_colon_in_toplabel", " a:example.com:8080", 0 },
	{ "a_cidr4_33", " a/33", 0 },
	{ "a_cidr4_leading_zero", " a/024", 0 },
	{ "a_cidr6_129", " a//129", 0 },
	{ "a_cidr6_leading_zero", " a//064", 0 },
	{ "a_cidr_empty", " a:example.com/", 0 },
	{ "a_cidr_triple_slash", " a///64", 0 },
	{ "mx_bad_cidr", " mx/abc", 0 },
	{ "ip4_missing_network", " ip4", 0 },
	{ "ip4_empty_network", " ip4:", 0 },
	{ "ip4_octet_256", " ip4:1.2.3.256", 0 },
	{ "ip4_leading_zero", " ip4:1.2.03.4", 0 },
	{ "ip4_three_octets", " ip4:1.2.3", 0 },
	{ "ip4_five_octets", " ip4:1.2.3.4.5", 0 },
	{ "ip4_cidr_33", " ip4:1.2.3.4/33", 0 },
	{ "ip4_cidr_empty", " ip4:1.2.3.4/", 0 },
	{ "ip4_dual_cidr", " ip4:1.2.3.4//64", 0 },
	{ "ip4_letters", " ip4:1.2.3.n", 0 },
	{ "ip6_bad_text", " ip6:2001:db8:zzzz::", 0 },
	{ "ip6_cidr_129", " ip6:::1/129", 0 },
	{ "ip6_dual_cidr", " ip6:::1//64", 0 },
	{ "ip6_ip4_text", " ip6:1.2.3.4", 0 },
	{ "duplicate_redirect", " redirect=a.example.com redirect=b.example.com", 0 },
	{ "duplicate_exp", " exp=a.example.com exp=b.example.com -all", 0 },
	{ "redirect_empty", " redirect=", 0 },
	{ "redirect_colon", " redirect:example.com", 0 },
	{ "exp_single_label", " exp=museum", 0 },
	{ "modifier_bad_name", " moo.cow/far_out=man:dog/cat", 0 },
	{ "modifier_bad_macro", " moo=%{z}", 0 },
	{ "macro_truncated_open", " a:%{", 0 },
	{ "macro_truncated_letter", " a:%{d", 0 },
	{ "macro_truncated_digits", " a:%{d2", 0 },
	{ "macro_lone_percent", " a:example.com%", 0 },
	{ "macro_percent_letter", " a:%d.example.com", 0 },
	{ "macro_paren", " exists:%(ir).sbl.example.com", 0 },
	{ "macro_bad_letter", " a:%{x}.example.com", 0 },
	{ "macro_zero_digit", " a:%{d0}.example.com", 0 },
	{ "macro_bad_delimiter", " a:%{d2r:}.example.com", 0 },
	{ "macro_transformer_order", " a:%{dr2}.example.com", 0 },
	{ "macro_c_outside_exp", " a:%{c}.example.com", 0 },
	{ "macro_r_in_exp_domain", " -all exp=%{r}.example.com", 0 },
	{ "macro_t_in_modifier", " foo=%{t}", 0 },
	{ "non_ascii_utf8", " a:\xef\xbb\xbfgarbage.example.net -all", 0 },
	{ "non_ascii_byte", " \x80" "a:example.net", 0 },
	{ "control_cr", " a:ctrl.example.com\rptr -all", 0 },
	{ "control_lf", " ip4:192.0.2.5\n include:example.com", 0 },
	{ "control_tab", " a\t-all", 0 },
	{ "embedded_nul", " a:exa\0mple.com -all", 20 },
	{ "trailing_nul", " -all\0", 6 },
	{ "comma_separator", " a:mail.example.com,", 0 },
};

START_TEST(spf_record_rejects_malformed_with_reason)
{
	const char *text = bad_records[_i].text;
	size_t len = bad_records[_i].len ? bad_records[_i].len : strlen(text);
	const char *err = NULL;
	struct spf_record *rec = parse_exact(text, len, &err);

	ck_assert_msg(rec == NULL, "%s: parsed", bad_records[_i].name);
	ck_assert_msg(err != NULL && err[0] != '\0', "%s: no reason", bad_records[_i].name);
}
END_TEST

struct got {
	int calls;
	enum spf_result result;
	char reason[512];
};

/* on_verdict - copy the verdict out of the callback */
static void
on_verdict(void *arg, const struct spf_verdict *v)
{
	struct got *g = arg;

	g->calls++;
	g->result = v->result;
	snprintf(g->reason, sizeof(g->reason), "%s", v->reason);
}

START_TEST(spf_record_malformed_is_permerror_through_the_engine)
{
	const char *text = bad_records[_i].text;
	size_t len = bad_records[_i].len ? bad_records[_i].len : strlen(text);
	struct dns_resolver *r = dns_mem_new(NULL);
	struct spf_request req = { 0 };
	struct got g = { 0 };
	const char *err;
	char *txt = xmalloc(6 + len);

	memcpy(txt, "v=spf1", 6);
	memcpy(txt + 6, text, len);
	dns_mem_add(r, "bad.example.com", DNS_TYPE_TXT, 0, txt, 6 + len);
	dns_mem_add_addr(r, "x.example.com", "192.0.2.1");
	req.client.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &((struct sockaddr_in *)&req.client)->sin_addr);
	req.mail_from = "u@bad.example.com";
	ck_assert_ptr_null(spf_eval_start(r, NULL, NULL, &req, on_verdict, &g));
	ck_assert_int_eq(g.calls, 1);
	ck_assert_msg(g.result == SPF_RESULT_PERMERROR, "%s: %s", bad_records[_i].name,
	    spf_result_str(g.result));
	/* the reason is the parser's */
	spf_record_free(parse_exact(text, len, &err));
	ck_assert_msg(strstr(g.reason, err) != NULL, "%s: reason \"%s\"",
	    bad_records[_i].name, g.reason);
	free(txt);
	dns_resolver_free(r);
}
END_TEST

static const struct {
	const char *text;
	size_t nterms;
	bool redirect, exp;
} good_records[] = {
	{ "", 0, false, false },
	{ " ", 0, false, false },
	{ " -all", 1, false, false },
	{ " a  -all ", 2, false, false },
	{ " a mx ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.x.example.com ~all", 7,
	  false, false },
	{ " include:_spf.example.com ?all", 2, false, false },
	{ " A:Example.COM/24//64 MX:%{d}//48 PTR:example.com. -ALL", 4, false, false },
	{ " redirect=_spf.example.com", 0, true, false },
	{ " -all exp=explain._spf.%{d}", 1, false, true },
	{ " moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 2, false, false },
	{ " moo= -all", 1, false, false },
	{ " a:foo-bar.com-baz", 1, false, false },
	{ " a:%{d}.123-456", 1, false, false },
	{ " exists:%{i}.%{s1}.100/86400.rate.%{d}", 1, false, false },
	{ " mx:%%%_/.Clara.de/27", 1, false, false },
	{ " ip4:0.0.0.0/0 ip6:::/0", 2, false, false },
	{ " a:%{d}", 1, false, false },
	{ " a:foo.%-", 1, false, false },
};

START_TEST(spf_record_parses_valid_records)
{
	const char *text = good_records[_i].text, *err = NULL;
	struct spf_record *rec = parse_exact(text, strlen(text), &err);

	ck_assert_msg(rec != NULL, "\"%s\": %s", text, err);
	ck_assert_uint_eq(rec->nterms, good_records[_i].nterms);
	ck_assert(good_records[_i].redirect == (rec->redirect != NULL));
	ck_assert(good_records[_i].exp == (rec->exp != NULL));
	spf_record_free(rec);
}
END_TEST

START_TEST(spf_record_dual_cidr_and_qualifiers)
{
	const char *text = " -a:example.com/24//64 ~mx//48 ?mx/16 +ip4:192.0.2.0/25 ip6:2001:db8::/33";
	const char *err;
	struct spf_record *rec = parse_exact(text, strlen(text), &err);

	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(rec->nterms, 5);
	ck_assert_int_eq(rec->terms[0].qual, SPF_RESULT_FAIL);
	ck_assert_str_eq(rec->terms[0].spec, "example.com");
	ck_assert_uint_eq(rec->terms[0].cidr4, 24);
	ck_assert_uint_eq(rec->terms[0].cidr6, 64);
	ck_assert_int_eq(rec->terms[1].qual, SPF_RESULT_SOFTFAIL);
	ck_assert_ptr_null(rec->terms[1].spec);
	ck_assert_uint_eq(rec->terms[1].cidr4, 32);
	ck_assert_uint_eq(rec->terms[1].cidr6, 48);
	ck_assert_int_eq(rec->terms[2].qual, SPF_RESULT_NEUTRAL);
	ck_assert_uint_eq(rec->terms[2].cidr4, 16);
	ck_assert_uint_eq(rec->terms[2].cidr6, 128);
	ck_assert_int_eq(rec->terms[3].mech, SPF_MECH_IP4);
	ck_assert_int_eq(rec->terms[3].qual, SPF_RESULT_PASS);
	ck_assert_uint_eq(rec->terms[3].cidr4, 25);
	ck_assert_int_eq(rec->terms[3].net[0], 192);
	ck_assert_int_eq(rec->terms[4].mech, SPF_MECH_IP6);
	ck_assert_uint_eq(rec->terms[4].cidr6, 33);
	ck_assert_str_eq(rec->terms[0].text, "-a:example.com/24//64");
	spf_record_free(rec);
}
END_TEST

START_TEST(spf_record_version_prefix)
{
	ck_assert(spf_record_is_spf1("v=spf1", 6));
	ck_assert(spf_record_is_spf1("V=SpF1 -all", 11));
	ck_assert(!spf_record_is_spf1("v=spf10", 7));
	ck_assert(!spf_record_is_spf1("v=spf1-all", 10));
	ck_assert(!spf_record_is_spf1("v=spf", 5));
	ck_assert(!spf_record_is_spf1("spf2.0/pra", 10));
}
END_TEST

START_TEST(spf_record_long_inputs_do_not_crash)
{
	enum { N = 200000 };
	char *big = xmalloc(N);
	const char *err;
	struct spf_record *rec;

	/* many valid terms */
	for (size_t i = 0; i < N; i += 4)
		memcpy(big + i, " a  ", 4);
	rec = parse_exact(big, N, &err);
	ck_assert_ptr_nonnull(rec);
	ck_assert_uint_eq(rec->nterms, N / 4);
	spf_record_free(rec);
	/* one huge term ending in an open macro */
	memset(big, 'x', N);
	memcpy(big, " a:", 3);
	memcpy(big + N - 3, "%{d", 3);
	ck_assert_ptr_null(parse_exact(big, N, &err));
	/* huge transformer digits */
	memcpy(big, " a:%{d", 6);
	memset(big + 6, '9', N - 6 - 14);
	memcpy(big + N - 14, "}.example.com", 13);
	big[N - 1] = ' ';
	rec = parse_exact(big, N, &err);
	ck_assert_msg(rec != NULL, "%s", err);
	spf_record_free(rec);
	free(big);
}
END_TEST

START_TEST(spf_record_every_prefix_of_a_record_is_safe)
{
	const char *text = " ip4:192.0.2.1/24 a:%{l1r-}.%{d2}/24//64 exp=%{ir}.e.example.com ~all";
	size_t len = strlen(text);

	/* every truncation point: parse or fail cleanly, never overread */
	for (size_t n = 0; n <= len; n++) {
		const char *err;
		struct spf_record *rec = parse_exact(text, n, &err);

		if (rec == NULL)
			ck_assert_ptr_nonnull(err);
		spf_record_free(rec);
	}
}
END_TEST

/* main - run the parser tests */
int
main(void)
{
	Suite *s = suite_create("spf_record");
	TCase *tc = tcase_create("parser");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, spf_record_rejects_malformed_with_reason, 0,
	    (int)ARRAY_LEN(bad_records));
	tcase_add_loop_test(tc, spf_record_malformed_is_permerror_through_the_engine, 0,
	    (int)ARRAY_LEN(bad_records));
	tcase_add_loop_test(tc, spf_record_parses_valid_records, 0,
	    (int)ARRAY_LEN(good_records));
	tcase_add_test(tc, spf_record_dual_cidr_and_qualifiers);
	tcase_add_test(tc, spf_record_version_prefix);
	tcase_add_test(tc, spf_record_long_inputs_do_not_crash);
	tcase_add_test(tc, spf_record_every_prefix_of_a_record_is_safe);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
