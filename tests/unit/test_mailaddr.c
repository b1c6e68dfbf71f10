/*
 * test_mailaddr.c - RFC 5322 address-list parser and IDN A-label conversion.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "mailaddr.h"
#include "util.h"

struct addr_case {
	const char *name;
	const char *field;
	int rc;				/* 0 or -1 */
	size_t count;
	const char *domains[4];		/* expected domains, in order */
};

static const struct addr_case addr_cases[] = {
	{ "plain_addr_spec", "user@example.com", 0, 1, { "example.com" } },
	{ "name_addr", "Jane Doe <jane@Example.COM>", 0, 1, { "example.com" } },
	{ "quoted_display_with_at", "\"ceo@bank.example\" <x@evil.example>", 0, 1,
	  { "evil.example" } },
	{ "quoted_display_with_angle", "\"a <b@bank.example>\" <x@evil.example>", 0, 1,
	  { "evil.example" } },
	{ "quoted_local_with_at", "\"good@bank.example\"@evil.example", 0, 1,
	  { "evil.example" } },
	{ "quoted_local_with_angle", "<\"a<b@bank.example>\"@evil.example>", 0, 1,
	  { "evil.example" } },
	{ "comment_with_address", "x@evil.example (really from y@bank.example)", 0, 1,
	  { "evil.example" } },
	{ "nested_comments", "(a (b) c) Name (x) <u@(c)example.org(d)>", 0, 1,
	  { "example.org" } },
	{ "trailing_dot_domain", "u@example.com.", 0, 1, { "example.com" } },
	{ "trailing_spaces_and_crlf", "u@example.com   \r\n", 0, 1, { "example.com" } },
	{ "folded_field", "Jane\r\n Doe\r\n\t<jane@example.net>", 0, 1, { "example.net" } },
	{ "cfws_around_dots_obs", "u . v @ example . com", 0, 1, { "example.com" } },
	{ "two_addresses", "a@one.example, B <b@two.example>", 0, 2,
	  { "one.example", "two.example" } },
	{ "group_with_members", "Team: a@one.example, b@two.example;", 0, 2,
	  { "one.example", "two.example" } },
	{ "empty_group", "undisclosed-recipients:;", 0, 0, { NULL } },
	{ "group_then_mailbox", "G: a@one.example;, c@three.example", 0, 2,
	  { "one.example", "three.example" } },
	{ "obs_route", "<@relay.example,@other.example:u@example.com>", 0, 1,
	  { "example.com" } },
	{ "obs_empty_elements", ", ,a@example.com,,", 0, 1, { "example.com" } },
	{ "idn_a_label_kept", "u@XN--BCHER-KVA.example", 0, 1, { "xn--bcher-kva.example" } },
	{ "idn_u_label_converted", "u@b\xc3\xbc" "cher.example", 0, 1,
	  { "xn--bcher-kva.example" } },
	{ "utf8_display_name", "J\xc3\xb6rg <j@example.de>", 0, 1, { "example.de" } },
	{ "encoded_word_display", "=?utf-8?q?J=C3=B6rg?= <j@example.de>", 0, 1,
	  { "example.de" } },
	{ "domain_literal", "u@[192.0.2.1]", 0, 1, { "[192.0.2.1]" } },
	{ "empty_field", "   ", 0, 0, { NULL } },
	/* junk */
	{ "no_at", "just-a-name", -1, 0, { NULL } },
	{ "unquoted_display_at", "bank@bank.example <x@evil.example>", -1, 1, { NULL } },
	{ "unterminated_quote", "\"abc <x@evil.example>", -1, 0, { NULL } },
	{ "unterminated_comment", "x@example.com (abc", -1, 1, { NULL } },
	{ "unclosed_angle", "Name <x@example.com", -1, 1, { NULL } },
	{ "empty_angle", "Name <>", -1, 0, { NULL } },
	{ "bad_domain_chars", "x@exa!mple.com", -1, 1, { NULL } },
	{ "double_dot_domain", "x@example..com", -1, 1, { NULL } },
	{ "missing_domain", "x@", -1, 1, { NULL } },
	{ "group_not_closed", "G: a@example.com", -1, 1, { NULL } },
	{ "nul_byte", "x@exa\0mple.com", -1, 1, { NULL } },
	{ "label_too_long", "x@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  -1, 1, { NULL } },
};

START_TEST(mailaddr_parses_table)
{
	const struct addr_case *c = &addr_cases[_i];
	struct mailaddr_list l;
	size_t len = strlen(c->field);
	int rc;

	if (strcmp(c->name, "nul_byte") == 0)
		len = 14;
	rc = mailaddr_parse_list(c->field, len, &l);
	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->name, rc,
	    l.reason ? l.reason : "");
	if (rc == 0) {
		ck_assert_msg(l.count == c->count, "%s: count %zu", c->name, l.count);
		for (size_t i = 0; i < c->count; i++)
			ck_assert_msg(strcmp(l.addr[i].domain, c->domains[i]) == 0,
			    "%s: domain %zu \"%s\"", c->name, i, l.addr[i].domain);
	} else {
		ck_assert_ptr_nonnull(l.reason);
	}
}
END_TEST

START_TEST(mailaddr_error_keeps_only_complete_addresses)
{
	/* found by fuzz_dmarc: a bad domain after a good address */
	const char *f = "\"a@b\" <x@Example.COM.>, G: y@=recher.example;";
	struct mailaddr_list l;

	ck_assert_int_eq(mailaddr_parse_list(f, strlen(f), &l), -1);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.addr[0].domain, "example.com");
}
END_TEST

START_TEST(mailaddr_bounded_by_limit)
{
	char field[4096];
	size_t n = 0;
	struct mailaddr_list l;

	for (int i = 0; i < MAILADDR_LIMIT + 1; i++)
		n += (size_t)snprintf(field + n, sizeof(field) - n, "%su%d@d%d.example",
		    i ? "," : "", i, i);
	ck_assert_int_eq(mailaddr_parse_list(field, n, &l), -1);
	ck_assert_str_eq(l.reason, "too many addresses");
}
END_TEST

START_TEST(mailaddr_respects_length)
{
	/* "a@example.com" followed by bytes outside len */
	const char buf[] = "a@example.comEVIL";
	struct mailaddr_list l;

	ck_assert_int_eq(mailaddr_parse_list(buf, 13, &l), 0);
	ck_assert_str_eq(l.addr[0].domain, "example.com");
	ck_assert_str_eq(l.addr[0].local, "a");
}
END_TEST

START_TEST(mailaddr_idna_rfc3492_samples)
{
	char out[MAILADDR_DOMAIN_SIZE];
	/* RFC 3492 §7.1 (B) Chinese (simplified) and a German umlaut */
	const char *zh = "\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88"
	    "\xe4\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87";

	ck_assert_int_eq(mailaddr_domain_to_ascii(zh, strlen(zh), out), 0);
	ck_assert_str_eq(out, "xn--ihqwcrb4cv8a8dqg056pqjye");
	ck_assert_int_eq(mailaddr_domain_to_ascii("M\xc3\xbcnchen.DE.", 11, out), 0);
	ck_assert_str_eq(out, "xn--mnchen-3ya.de");
	ck_assert_int_eq(mailaddr_domain_to_ascii("\xc3\x28.example", 10, out), -1);
	ck_assert_int_eq(mailaddr_domain_to_ascii("", 0, out), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("mailaddr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, mailaddr_parses_table, 0, (int)ARRAY_LEN(addr_cases));
	tcase_add_test(tc, mailaddr_bounded_by_limit);
	tcase_add_test(tc, mailaddr_error_keeps_only_complete_addresses);
	tcase_add_test(tc, mailaddr_respects_length);
	tcase_add_test(tc, mailaddr_idna_rfc3492_samples);
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
