/*
 * test_spf_header.c - Received-SPF (RFC 7208 §9.1) and Authentication-Results
 * spf= clause (RFC 8601 §2.7.2) rendering against golden strings: quoting,
 * comment escaping, header-injection bytes, folding, hidden receiver.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"
#include "util.h"

/* req_v4 - a request from an IPv4 client */
static struct spf_request
req_v4(const char *ip, const char *helo, const char *mail_from)
{
	struct spf_request r = { 0 };
	struct sockaddr_in *s = (struct sockaddr_in *)&r.client;

	s->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &s->sin_addr);
	r.helo = helo;
	r.mail_from = mail_from;
	r.receiver = "mx.example.net";
	return r;
}

/* verdict - a verdict with the given fields */
static struct spf_verdict
verdict(enum spf_result res, enum spf_identity id, const char *domain,
    const char *mech, const char *reason)
{
	struct spf_verdict v = { 0 };

	v.result = res;
	v.identity = id;
	v.domain = domain;
	v.sender = "user@example.com";
	v.mechanism = mech;
	v.reason = reason;
	return v;
}

#define PASS_REASON "domain of user@example.com designates 192.0.2.1 as permitted sender"

START_TEST(spf_header_received_pass_one_line)
{
	struct spf_request req = req_v4("192.0.2.1", "mail.example.com", "user@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_PASS, SPF_IDENTITY_MAILFROM, "example.com",
	    "ip4:192.0.2.0/24", PASS_REASON);
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, false, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Received-SPF: pass (mx.example.net: " PASS_REASON ") client-ip=192.0.2.1; "
	    "envelope-from=\"user@example.com\"; helo=mail.example.com; "
	    "receiver=mx.example.net; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_received_folds_long_lines)
{
	struct spf_request req = req_v4("192.0.2.1", "mail.example.com", "user@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_PASS, SPF_IDENTITY_MAILFROM, "example.com",
	    "ip4:192.0.2.0/24", PASS_REASON);
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header(&b, &v, &req, false), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Received-SPF: pass (mx.example.net: " PASS_REASON ")\r\n"
	    "\tclient-ip=192.0.2.1; envelope-from=\"user@example.com\"; helo=mail.example.com;\r\n"
	    "\treceiver=mx.example.net; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_received_fail_default_mechanism_hidden_receiver)
{
	struct spf_request req = req_v4("192.0.2.9", "mail.example.com", "user@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_NEUTRAL, SPF_IDENTITY_MAILFROM, "example.com",
	    NULL, "192.0.2.9 is neither permitted nor denied by domain of user@example.com");
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, true, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Received-SPF: neutral (192.0.2.9 is neither permitted nor denied by domain of "
	    "user@example.com) client-ip=192.0.2.9; envelope-from=\"user@example.com\"; "
	    "helo=mail.example.com; identity=mailfrom; mechanism=default");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_received_permerror_has_problem_no_mechanism)
{
	struct spf_request req = req_v4("192.0.2.1", "mail.example.com", "");
	struct spf_verdict v = verdict(SPF_RESULT_PERMERROR, SPF_IDENTITY_MAILFROM,
	    "mail.example.com", NULL, "SPF record of mail.example.com: unknown mechanism");
	struct buf b;

	v.sender = "postmaster@mail.example.com";
	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, false, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Received-SPF: permerror (mx.example.net: SPF record of mail.example.com: unknown "
	    "mechanism) client-ip=192.0.2.1; envelope-from=\"\"; helo=mail.example.com; "
	    "problem=\"SPF record of mail.example.com: unknown mechanism\"; "
	    "receiver=mx.example.net; identity=mailfrom");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_received_quotes_and_neutralises_peer_data)
{
	struct spf_request req = req_v4("192.0.2.1", "evil\"helo\\x", "a\r\nX-Injected: 1@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_FAIL, SPF_IDENTITY_HELO, "example.com",
	    "-all", "reason (with) parens \\ and\r\nCRLF");
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, true, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "Received-SPF: fail (reason \\(with\\) parens \\\\ and??CRLF) client-ip=192.0.2.1; "
	    "envelope-from=\"a??X-Injected: 1@example.com\"; helo=\"evil\\\"helo\\\\x\"; "
	    "identity=helo; mechanism=-all");
	ck_assert_ptr_null(strchr(buf_cstr(&b), '\n'));
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_received_ipv6_client)
{
	struct spf_request req = { 0 };
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&req.client;
	struct spf_verdict v = verdict(SPF_RESULT_SOFTFAIL, SPF_IDENTITY_MAILFROM,
	    "example.com", "~all", "r");
	struct buf b;

	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &s->sin6_addr);
	req.mail_from = "user@example.com";
	buf_init(&b, 4096);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, false, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    /* ':' is not atext: an IPv6 address is a quoted-string (§9.1 ABNF) */
	    "Received-SPF: softfail (unknown: r) client-ip=\"2001:db8::1\"; "
	    "envelope-from=\"user@example.com\"; receiver=unknown; identity=mailfrom; "
	    "mechanism=~all");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_authres_mailfrom_and_helo)
{
	struct spf_verdict v = verdict(SPF_RESULT_PASS, SPF_IDENTITY_MAILFROM, "example.org",
	    "mx", "domain of user@example.org designates 192.0.2.1 as permitted sender");
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(spf_authres_clause(&b, &v), 0);
	ck_assert_str_eq(buf_cstr(&b), "spf=pass (domain of user@example.org designates "
	    "192.0.2.1 as permitted sender) smtp.mailfrom=example.org");
	buf_reset(&b);
	v = verdict(SPF_RESULT_NONE, SPF_IDENTITY_HELO, "mail.example.org", NULL, "");
	ck_assert_int_eq(spf_authres_clause(&b, &v), 0);
	ck_assert_str_eq(buf_cstr(&b), "spf=none smtp.helo=mail.example.org");
	buf_reset(&b);
	v = verdict(SPF_RESULT_TEMPERROR, SPF_IDENTITY_HELO, "we(i)rd;name", NULL,
	    "DNS TIMEOUT (x)");
	ck_assert_int_eq(spf_authres_clause(&b, &v), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "spf=temperror (DNS TIMEOUT \\(x\\)) smtp.helo=\"we(i)rd;name\"");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_overflow_is_reported)
{
	struct spf_request req = req_v4("192.0.2.1", "mail.example.com", "user@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_PASS, SPF_IDENTITY_MAILFROM, "example.com",
	    "a", PASS_REASON);
	struct buf b;

	buf_init(&b, 40);
	ck_assert_int_eq(spf_received_header(&b, &v, &req, false), -1);
	buf_reset(&b);
	ck_assert_int_eq(spf_authres_clause(&b, &v), -1);
	buf_clear(&b);
}
END_TEST

/* repeat - n copies of c then tail, heap */
static char *
repeat(size_t n, char c, const char *tail)
{
	struct buf b;

	buf_init(&b, n + strlen(tail) + 1);
	for (size_t i = 0; i < n; i++)
		buf_append_char(&b, c);
	buf_append_str(&b, tail);
	return buf_steal(&b);
}

/* count_key - occurrences of "key=" in h */
static int
count_key(const char *h, const char *key)
{
	char pat[64];
	int n = 0;

	snprintf(pat, sizeof(pat), "%s=", key);
	for (const char *p = h; (p = strstr(p, pat)) != NULL; p++)
		n++;
	return n;
}

/*
 * Long senders, HELO names and reasons: every key still present exactly
 * once, values cut with "...", the header within SPF_HEADER_SIZE_MAX, never
 * a "; ;" nor "(null)".  A 5000-byte sender used to push envelope-from out.
 */
START_TEST(spf_header_received_keeps_every_key_with_long_values)
{
	char *sender = repeat(5000, 'l', "@example.com");
	char *helo = repeat(3000, 'h', ".example.com");
	char *reason = repeat(2000, '(', "");
	static const enum spf_result results[] = { SPF_RESULT_PASS, SPF_RESULT_PERMERROR };

	for (size_t i = 0; i < ARRAY_LEN(results); i++) {
		struct spf_request req = req_v4("192.0.2.1", helo, sender);
		struct spf_verdict v = verdict(results[i], SPF_IDENTITY_MAILFROM, "example.com",
		    "a", reason);
		struct buf b;
		const char *h;

		buf_init(&b, SPF_HEADER_SIZE_MAX);
		ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, false, NULL), 0);
		h = buf_cstr(&b);
		ck_assert_int_eq(count_key(h, "envelope-from"), 1);
		ck_assert_int_eq(count_key(h, "client-ip"), 1);
		ck_assert_int_eq(count_key(h, "helo"), 1);
		ck_assert_int_eq(count_key(h, "receiver"), 1);
		ck_assert_int_eq(count_key(h, "identity"), 1);
		ck_assert_int_eq(count_key(h, "problem"), results[i] == SPF_RESULT_PERMERROR);
		ck_assert_ptr_nonnull(strstr(h, "envelope-from=\"llll"));
		ck_assert_ptr_nonnull(strstr(h, "...\"; helo=\"hhh"));
		ck_assert_ptr_nonnull(strstr(h, "\\(\\(...)"));
		ck_assert_ptr_null(strstr(h, "; ;"));
		ck_assert_ptr_null(strstr(h, "(null)"));
		ck_assert_ptr_null(strpbrk(h, "\r\n"));
		ck_assert_uint_lt(b.len, SPF_HEADER_SIZE_MAX);
		/* folded for a message: the same keys */
		buf_reset(&b);
		ck_assert_int_eq(spf_received_header(&b, &v, &req, false), 0);
		ck_assert_int_eq(count_key(buf_cstr(&b), "envelope-from"), 1);
		buf_reset(&b);
		v.domain = sender;
		ck_assert_int_eq(spf_authres_clause(&b, &v), 0);
		ck_assert_ptr_nonnull(strstr(buf_cstr(&b), " smtp.mailfrom=\"llll"));
		ck_assert_uint_lt(b.len, SPF_HEADER_SIZE_MAX);
		buf_clear(&b);
	}
	free(sender);
	free(helo);
	free(reason);
}
END_TEST

/* A verdict without a reason: an empty comment, never "(null)". */
START_TEST(spf_header_received_without_reason)
{
	struct spf_request req = req_v4("192.0.2.1", "mail.example.com", "u@example.com");
	struct spf_verdict v = verdict(SPF_RESULT_PERMERROR, SPF_IDENTITY_MAILFROM,
	    "example.com", NULL, NULL);
	struct buf b;

	buf_init(&b, SPF_HEADER_SIZE_MAX);
	ck_assert_int_eq(spf_received_header_fold(&b, &v, &req, true, NULL), 0);
	ck_assert_str_eq(buf_cstr(&b), "Received-SPF: permerror () client-ip=192.0.2.1; "
	    "envelope-from=\"u@example.com\"; helo=mail.example.com; identity=mailfrom");
	buf_clear(&b);
}
END_TEST

START_TEST(spf_header_result_names_round_trip)
{
	for (int r = SPF_RESULT_NONE; r <= SPF_RESULT_PERMERROR; r++) {
		const char *s = spf_result_str(r);

		ck_assert_int_eq(spf_result_from_str(s, strlen(s)), r);
	}
	ck_assert_int_eq(spf_result_from_str("PASS", 4), SPF_RESULT_PASS);
	ck_assert_int_eq(spf_result_from_str("passed", 6), -1);
	ck_assert_int_eq(spf_result_from_str("pas", 3), -1);
}
END_TEST

/* main - run the rendering tests */
int
main(void)
{
	Suite *s = suite_create("spf_header");
	TCase *tc = tcase_create("render");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, spf_header_received_pass_one_line);
	tcase_add_test(tc, spf_header_received_folds_long_lines);
	tcase_add_test(tc, spf_header_received_fail_default_mechanism_hidden_receiver);
	tcase_add_test(tc, spf_header_received_permerror_has_problem_no_mechanism);
	tcase_add_test(tc, spf_header_received_quotes_and_neutralises_peer_data);
	tcase_add_test(tc, spf_header_received_ipv6_client);
	tcase_add_test(tc, spf_header_authres_mailfrom_and_helo);
	tcase_add_test(tc, spf_header_overflow_is_reported);
	tcase_add_test(tc, spf_header_received_keeps_every_key_with_long_values);
	tcase_add_test(tc, spf_header_received_without_reason);
	tcase_add_test(tc, spf_header_result_names_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
