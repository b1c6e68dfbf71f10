/*
 * test_dmarc_spfhdr.c - which header SPF result DMARC may trust: only one our
 * MTA added in this hop (above the first Received field) and about this
 * envelope.  A forged header must never change the verdict.
 */
#include <check.h>
#include <string.h>

#include "dmarc.h"

#define H(n, v) { SPAN_LIT(n), SPAN_LIT(v) }
#define OUR_RCVD H("Received", " from mx.sender.example (mx.sender.example [192.0.2.1]) by mx.ours.example (Postfix) with ESMTP id ABC")

struct spf_case {
	const char *name;
	struct dmarc_header h[5];
	size_t n;
	const char *mail_from;
	bool found;
	enum spf_result result;
	enum spf_identity identity;
	const char *domain;
};

static const struct spf_case spf_cases[] = {
	{ "received_spf_above_received_trusted", {
	    H("Received-SPF", " Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; "
	      "helo=mx.sender.example; envelope-from=bob@sender.example; receiver=mx.ours.example"),
	    OUR_RCVD }, 2, "bob@sender.example", true, SPF_RESULT_PASS,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "forged_received_spf_below_received_ignored", {
	    OUR_RCVD,
	    H("Received-SPF", " pass identity=mailfrom; envelope-from=bob@sender.example") },
	  2, "bob@sender.example", false, 0, 0, NULL },
	{ "topmost_received_spf_used", {
	    H("Received-SPF", " Fail identity=mailfrom; envelope-from=\"bob@sender.example\""),
	    H("Received-SPF", " Pass identity=mailfrom; envelope-from=bob@sender.example"),
	    OUR_RCVD }, 3, "bob@sender.example", true, SPF_RESULT_FAIL,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "other_envelope_sender_ignored", {
	    H("Received-SPF", " Pass identity=mailfrom; envelope-from=bob@other.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "helo_identity_not_for_real_sender", {
	    H("Received-SPF", " Pass identity=helo; helo=mx.sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "helo_identity_for_null_sender", {
	    H("Received-SPF", " Pass (helo) identity=helo; client-ip=192.0.2.1; helo=MX.sender.example"),
	    OUR_RCVD }, 2, "", true, SPF_RESULT_PASS, SPF_IDENTITY_HELO, "mx.sender.example" },
	{ "wrong_client_ip_ignored", {
	    H("Received-SPF", " Pass identity=mailfrom; client-ip=203.0.113.9; envelope-from=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "our_authres_spf_used", {
	    H("Authentication-Results", " mx.ours.example; spf=softfail (not allowed) smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", true, SPF_RESULT_SOFTFAIL,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "foreign_authres_ignored", {
	    H("Authentication-Results", " mx.evil.example; spf=pass smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "forged_our_authres_below_received_ignored", {
	    OUR_RCVD,
	    H("Authentication-Results", " mx.ours.example; spf=pass smtp.mailfrom=bob@sender.example; dmarc=pass") },
	  2, "bob@sender.example", false, 0, 0, NULL },
	{ "no_header_at_all", { OUR_RCVD }, 1, "bob@sender.example", false, 0, 0, NULL },
	{ "trusted_authres_above_received_used", {
	    H("Authentication-Results", " filter.ours.example; spf=fail smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", true, SPF_RESULT_FAIL,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "trusted_authres_case_insensitive_id", {
	    H("Authentication-Results", " Filter.Ours.Example; spf=pass smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", true, SPF_RESULT_PASS,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "trusted_authres_below_received_ignored", {
	    OUR_RCVD,
	    H("Authentication-Results", " filter.ours.example; spf=pass smtp.mailfrom=bob@sender.example") },
	  2, "bob@sender.example", false, 0, 0, NULL },
	{ "untrusted_authres_above_received_ignored", {
	    H("Authentication-Results", " filter.evil.example; spf=pass smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "trusted_authres_other_mailfrom_domain_ignored", {
	    H("Authentication-Results", " filter.ours.example; spf=pass smtp.mailfrom=bob@forged.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "trusted_authres_helo_for_null_sender", {
	    H("Authentication-Results", " filter.ours.example; spf=neutral smtp.helo=mx.sender.example"),
	    OUR_RCVD }, 2, "", true, SPF_RESULT_NEUTRAL, SPF_IDENTITY_HELO,
	  "mx.sender.example" },
	{ "trusted_authres_helo_not_for_real_sender", {
	    H("Authentication-Results", " filter.ours.example; spf=pass smtp.helo=mx.sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
	{ "untrusted_above_trusted_skipped", {
	    H("Authentication-Results", " filter.evil.example; spf=pass smtp.mailfrom=bob@sender.example"),
	    H("Authentication-Results", " filter.ours.example; spf=softfail smtp.mailfrom=bob@sender.example"),
	    OUR_RCVD }, 3, "bob@sender.example", true, SPF_RESULT_SOFTFAIL,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "received_spf_wins_over_trusted_authres", {
	    H("Authentication-Results", " filter.ours.example; spf=pass smtp.mailfrom=bob@sender.example"),
	    H("Received-SPF", " Fail identity=mailfrom; envelope-from=bob@sender.example"),
	    OUR_RCVD }, 3, "bob@sender.example", true, SPF_RESULT_FAIL,
	  SPF_IDENTITY_MAILFROM, "sender.example" },
	{ "garbage_result_ignored", {
	    H("Received-SPF", " maybe identity=mailfrom; envelope-from=bob@sender.example"),
	    OUR_RCVD }, 2, "bob@sender.example", false, 0, 0, NULL },
};

/* ids trusted besides our own (reinject.conf trusted_authserv_ids) */
static char *const trusted_ids[] = { "mx.other.example", "filter.ours.example" };

START_TEST(dmarc_spfhdr_table)
{
	const struct spf_case *c = &spf_cases[_i];
	struct dmarc_spfhdr out;

	dmarc_spfhdr_find_trusted(c->h, c->n, "mx.ours.example", trusted_ids,
	    ARRAY_LEN(trusted_ids), c->mail_from, "mx.sender.example", "192.0.2.1",
	    &out);
	ck_assert_msg(out.found == c->found, "%s: found=%d (%s)", c->name, out.found,
	    out.why ? out.why : "");
	ck_assert_ptr_nonnull(out.why);
	if (!c->found)
		return;
	ck_assert_msg(out.result == c->result, "%s: result %d", c->name, out.result);
	ck_assert_int_eq(out.identity, c->identity);
	ck_assert_str_eq(out.domain, c->domain);
}
END_TEST

/* without a trusted list, only our own authserv-id counts */
START_TEST(dmarc_spfhdr_untrusted_without_list)
{
	static const struct dmarc_header h[] = {
		H("Authentication-Results", " filter.ours.example; spf=pass smtp.mailfrom=bob@sender.example"),
		OUR_RCVD,
	};
	struct dmarc_spfhdr out;

	dmarc_spfhdr_find(h, ARRAY_LEN(h), "mx.ours.example", "bob@sender.example",
	    "mx.sender.example", "192.0.2.1", &out);
	ck_assert(!out.found);
	dmarc_spfhdr_find_trusted(h, ARRAY_LEN(h), "mx.ours.example", trusted_ids,
	    ARRAY_LEN(trusted_ids), "bob@sender.example", "mx.sender.example",
	    "192.0.2.1", &out);
	ck_assert(out.found);
	ck_assert_int_eq(out.result, SPF_RESULT_PASS);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dmarc_spfhdr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dmarc_spfhdr_table, 0, (int)ARRAY_LEN(spf_cases));
	tcase_add_test(tc, dmarc_spfhdr_untrusted_without_list);
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
