/*
 * test_dmarc_record.c - DMARC policy record parser (RFC 9989 "General Record Format", "Formal Definition", "DMARC Policy Discovery").
 */
#include <check.h>
#include <string.h>

#include "dmarc.h"

struct rec_case {
	const char *name;
	const char *text;
	enum dmarc_record_status status;
	bool has_policy;
	enum dmarc_policy p, sp, np;
	const char *reason_part;	/* substring of rec.reason, or NULL */
};

static const struct rec_case rec_cases[] = {
	{ "minimal_reject", "v=DMARC1; p=reject", DMARC_RECORD_VALID, true,
	  DMARC_POLICY_REJECT, DMARC_POLICY_UNSET, DMARC_POLICY_UNSET, NULL },
	{ "any_order_all_tags", "v=DMARC1; np=reject; sp=quarantine; t=y; psd=n; "
	  "fo=d:s; ruf=mailto:f@example.com; rua=mailto:a@example.com; aspf=s; adkim=s; p=none",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_NONE, DMARC_POLICY_QUARANTINE,
	  DMARC_POLICY_REJECT, NULL },
	{ "spaces_and_trailing_semicolon", "  v = DMARC1 ;p = quarantine ; ",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_QUARANTINE, 0, 0, NULL },
	{ "value_case_insensitive", "v=DMARC1; p=REJECT; sp=None",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_REJECT, DMARC_POLICY_NONE, 0, NULL },
	{ "unknown_tag_ignored", "v=DMARC1; p=reject; foo=bar; x_y=1",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_REJECT, 0, 0, NULL },
	{ "removed_tags_ignored", "v=DMARC1; p=reject; pct=10; rf=afrf; ri=3600",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_REJECT, 0, 0, NULL },
	{ "version_not_first", "p=reject; v=DMARC1", DMARC_RECORD_NOT_DMARC, false,
	  0, 0, 0, "v=DMARC1" },
	{ "version_wrong_case", "v=dmarc1; p=reject", DMARC_RECORD_NOT_DMARC, false,
	  0, 0, 0, NULL },
	{ "version_wrong_number", "v=DMARC2; p=reject", DMARC_RECORD_NOT_DMARC, false,
	  0, 0, 0, NULL },
	{ "version_prefix_only", "v=DMARC10; p=reject", DMARC_RECORD_NOT_DMARC, false,
	  0, 0, 0, NULL },
	{ "spf_record", "v=spf1 -all", DMARC_RECORD_NOT_DMARC, false, 0, 0, 0, NULL },
	{ "duplicate_p", "v=DMARC1; p=reject; p=none", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "duplicate" },
	{ "duplicate_p_other_case", "v=DMARC1; p=reject; P=none", DMARC_RECORD_INVALID,
	  false, 0, 0, 0, "duplicate tag p=" },
	{ "duplicate_v", "v=DMARC1; p=reject; v=DMARC1", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "duplicate" },
	{ "bad_adkim", "v=DMARC1; p=reject; adkim=x", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "adkim=" },
	{ "bad_aspf", "v=DMARC1; p=reject; aspf=relaxed", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "aspf=" },
	{ "bad_psd", "v=DMARC1; p=reject; psd=yes", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "psd=" },
	{ "bad_t", "v=DMARC1; p=reject; t=1", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "t=" },
	{ "bad_fo", "v=DMARC1; p=reject; fo=x", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "fo=" },
	{ "syntax_error_empty_tag", "v=DMARC1; p=reject;; sp=none", DMARC_RECORD_INVALID,
	  false, 0, 0, 0, "syntax" },
	{ "bad_p_without_rua_invalid", "v=DMARC1; p=block", DMARC_RECORD_INVALID, false,
	  0, 0, 0, "p=" },
	{ "bad_p_with_rua_is_none", "v=DMARC1; p=block; rua=mailto:r@example.com",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_NONE, 0, 0, "p=none because rua=" },
	{ "bad_sp_with_rua_is_none", "v=DMARC1; p=reject; sp=maybe; rua=mailto:r@example.com",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_NONE, 0, 0, "sp=" },
	{ "bad_np_without_rua_invalid", "v=DMARC1; p=reject; np=drop",
	  DMARC_RECORD_INVALID, false, 0, 0, 0, "np=" },
	{ "missing_p_with_rua_is_none", "v=DMARC1; rua=mailto:r@example.com",
	  DMARC_RECORD_VALID, true, DMARC_POLICY_NONE, 0, 0, "no p=" },
	{ "missing_p_no_rua_no_policy", "v=DMARC1; psd=y", DMARC_RECORD_VALID, false,
	  0, 0, 0, "no p= and no valid rua=" },
	{ "missing_p_bad_rua_no_policy", "v=DMARC1; rua=not a uri", DMARC_RECORD_VALID,
	  false, 0, 0, 0, "no p=" },
};

START_TEST(dmarc_record_parses_table)
{
	const struct rec_case *c = &rec_cases[_i];
	struct dmarc_record rec;
	enum dmarc_record_status st = dmarc_record_parse(c->text, strlen(c->text), &rec);

	ck_assert_msg(st == c->status, "%s: status %d, want %d (%s)", c->name, st,
	    c->status, rec.reason);
	ck_assert_msg(rec.has_policy == c->has_policy, "%s: has_policy", c->name);
	if (c->has_policy) {
		ck_assert_msg(rec.p == c->p, "%s: p=%d", c->name, rec.p);
		ck_assert_msg(rec.sp == c->sp, "%s: sp=%d", c->name, rec.sp);
		ck_assert_msg(rec.np == c->np, "%s: np=%d", c->name, rec.np);
	}
	if (c->reason_part)
		ck_assert_msg(strstr(rec.reason, c->reason_part) != NULL,
		    "%s: reason \"%s\" lacks \"%s\"", c->name, rec.reason, c->reason_part);
}
END_TEST

START_TEST(dmarc_record_defaults_and_tags)
{
	struct dmarc_record rec;
	const char *t = "v=DMARC1; p=reject";

	dmarc_record_parse(t, strlen(t), &rec);
	ck_assert_int_eq(rec.adkim, DMARC_ALIGN_RELAXED);
	ck_assert_int_eq(rec.aspf, DMARC_ALIGN_RELAXED);
	ck_assert_int_eq(rec.psd, DMARC_PSD_U);
	ck_assert(!rec.testing);
	ck_assert_uint_eq(rec.fo, DMARC_FO_0);
	ck_assert_int_eq(rec.pct, -1);

	t = "v=DMARC1; p=none; adkim=s; aspf=s; psd=y; t=y; fo=1:d; pct=25; "
	    "rua=mailto:a@example.com, mailto:b@example.net;ruf=mailto:f@example.org";
	dmarc_record_parse(t, strlen(t), &rec);
	ck_assert_int_eq(rec.adkim, DMARC_ALIGN_STRICT);
	ck_assert_int_eq(rec.aspf, DMARC_ALIGN_STRICT);
	ck_assert_int_eq(rec.psd, DMARC_PSD_Y);
	ck_assert(rec.testing);
	ck_assert_uint_eq(rec.fo, DMARC_FO_1 | DMARC_FO_D);
	ck_assert_int_eq(rec.pct, 25);
	ck_assert_uint_eq(rec.nrua, 2);
	ck_assert_str_eq(rec.rua[0], "mailto:a@example.com");
	ck_assert_str_eq(rec.rua[1], "mailto:b@example.net");
	ck_assert_uint_eq(rec.nruf, 1);
	ck_assert_str_eq(rec.ruf[0], "mailto:f@example.org");
}
END_TEST

START_TEST(dmarc_record_notes_unknown_removed_and_bad_uris)
{
	struct dmarc_record rec;
	const char *t = "v=DMARC1; p=reject; zz=1; ri=86400; rua=dmarc@example.com,mailto:ok@example.com";
	bool unknown = false, removed = false, baduri = false;

	ck_assert_int_eq(dmarc_record_parse(t, strlen(t), &rec), DMARC_RECORD_VALID);
	for (size_t i = 0; i < rec.nnotes; i++) {
		unknown |= strstr(rec.notes[i], "unknown tag zz") != NULL;
		removed |= strstr(rec.notes[i], "ri=86400: removed") != NULL;
		baduri |= strstr(rec.notes[i], "not a URI") != NULL;
	}
	ck_assert(unknown);
	ck_assert(removed);
	ck_assert(baduri);
	ck_assert_uint_eq(rec.nrua, 1);
	ck_assert_str_eq(rec.rua[0], "mailto:ok@example.com");
}
END_TEST

START_TEST(dmarc_record_pct_out_of_range_is_ignored)
{
	struct dmarc_record rec;
	const char *t = "v=DMARC1; p=reject; pct=150";

	ck_assert_int_eq(dmarc_record_parse(t, strlen(t), &rec), DMARC_RECORD_VALID);
	ck_assert_int_eq(rec.pct, -1);
}
END_TEST

START_TEST(dmarc_record_not_nul_terminated_input)
{
	/* the parser must honour len: the bytes after it are a different record */
	const char buf[] = "v=DMARC1; p=rejectXXXX";
	struct dmarc_record rec;

	ck_assert_int_eq(dmarc_record_parse(buf, strlen("v=DMARC1; p=reject"), &rec),
	    DMARC_RECORD_VALID);
	ck_assert_int_eq(rec.p, DMARC_POLICY_REJECT);
}
END_TEST

START_TEST(dmarc_record_format_shows_effective_values)
{
	struct dmarc_record rec;
	struct buf b;
	const char *t = "v=DMARC1; p=quarantine; sp=reject; t=y";

	dmarc_record_parse(t, strlen(t), &rec);
	buf_init(&b, 1024);
	ck_assert_int_eq(dmarc_record_format(&rec, &b), 0);
	ck_assert_str_eq(buf_cstr(&b),
	    "v=DMARC1; p=quarantine; sp=reject; adkim=r; aspf=r; psd=u; t=y");
	buf_clear(&b);
	ck_assert_ptr_nonnull(dmarc_record_tag_doc("np", 2));
	ck_assert_ptr_null(dmarc_record_tag_doc("zz", 2));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dmarc_record");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dmarc_record_parses_table, 0, (int)ARRAY_LEN(rec_cases));
	tcase_add_test(tc, dmarc_record_defaults_and_tags);
	tcase_add_test(tc, dmarc_record_notes_unknown_removed_and_bad_uris);
	tcase_add_test(tc, dmarc_record_pct_out_of_range_is_ignored);
	tcase_add_test(tc, dmarc_record_not_nul_terminated_input);
	tcase_add_test(tc, dmarc_record_format_shows_effective_values);
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
