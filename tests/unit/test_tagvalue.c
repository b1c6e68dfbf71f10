/*
 * test_tagvalue.c - RFC 6376 §3.2 tag=value parser: FWS, duplicates, errors.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "tagvalue.h"

struct tv_case {
	const char *name;
	const char *input;
	int ret;
	enum tagvalue_error error;
	size_t count;
	const char *dump;	/* "name=[value]" per tag, joined with "|" */
};

static const struct tv_case tv_cases[] = {
	{ "empty_list_has_no_tags", "", 0, TAGVALUE_OK, 0, "" },
	{ "only_fws_has_no_tags", "  \r\n\t ", 0, TAGVALUE_OK, 0, "" },
	{ "simple_pairs", "v=1; a=rsa-sha256", 0, TAGVALUE_OK, 2, "v=[1]|a=[rsa-sha256]" },
	{ "trailing_semicolon_allowed", "v=DKIM1; p=abc;", 0, TAGVALUE_OK, 2, "v=[DKIM1]|p=[abc]" },
	{ "trailing_semicolon_and_fws_allowed", "v=DKIM1;p=abc; \r\n ", 0, TAGVALUE_OK, 2, "v=[DKIM1]|p=[abc]" },
	{ "fws_around_name_equals_value", " v \r\n\t= \r\n 1 ;\tk = rsa ", 0, TAGVALUE_OK, 2, "v=[1]|k=[rsa]" },
	{ "internal_fws_kept_in_value", "b=abc\r\n def ghi;x=1", 0, TAGVALUE_OK, 2, "b=[abc\r\n def ghi]|x=[1]" },
	{ "bare_lf_fws_accepted", "h=from :\n to", 0, TAGVALUE_OK, 1, "h=[from :\n to]" },
	{ "empty_value_allowed", "p=; t=y", 0, TAGVALUE_OK, 2, "p=[]|t=[y]" },
	{ "empty_value_at_end", "v=DKIM1; p=", 0, TAGVALUE_OK, 2, "v=[DKIM1]|p=[]" },
	{ "names_case_sensitive_not_duplicates", "v=1; V=2", 0, TAGVALUE_OK, 2, "v=[1]|V=[2]" },
	{ "name_with_digits_and_underscore", "x_1=a", 0, TAGVALUE_OK, 1, "x_1=[a]" },
	{ "value_with_equals_and_colon", "z=From:a=3Db|To:c", 0, TAGVALUE_OK, 1, "z=[From:a=3Db|To:c]" },
	{ "utf8_value_accepted", "n=caf\xc3\xa9", 0, TAGVALUE_OK, 1, "n=[caf\xc3\xa9]" },
	{ "trailing_crlf_tolerated", "v=1; a=b\r\n", 0, TAGVALUE_OK, 2, "v=[1]|a=[b]" },
	{ "duplicate_tag_refused", "v=1; a=x; v=1", -1, TAGVALUE_ERR_DUPLICATE, 0, NULL },
	{ "missing_equals_refused", "v=1; abc", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "empty_tag_spec_refused", "v=1;; a=b", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "lone_semicolon_refused", ";", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "name_starting_with_digit_refused", "1a=b", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "name_with_dash_refused", "a-b=c", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "control_char_in_value_refused", "a=b\x01", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "nul_in_value_refused", "a=b\0c", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "unfolded_line_break_refused", "a=b\r\nc=d", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
	{ "equals_without_name_refused", "=b", -1, TAGVALUE_ERR_SYNTAX, 0, NULL },
};

/* tv_dump - render a parsed list as "name=[value]|..." */
static void
tv_dump(const struct tagvalue_list *l, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < l->count; i++) {
		int w = snprintf(out + n, outlen - n, "%s%.*s=[%.*s]", i ? "|" : "",
		    (int)l->tags[i].name.len, l->tags[i].name.p,
		    (int)l->tags[i].value.len, l->tags[i].value.p);
		ck_assert(w > 0 && (size_t)w < outlen - n);
		n += (size_t)w;
	}
}

START_TEST(tagvalue_table)
{
	const struct tv_case *c = &tv_cases[_i];
	struct tagvalue_list l;
	size_t len = strlen(c->input);
	char dump[512];
	int ret;

	if (strcmp(c->name, "nul_in_value_refused") == 0)
		len = 5;
	ret = tagvalue_parse(c->input, len, &l);
	ck_assert_msg(ret == c->ret, "%s: ret %d", c->name, ret);
	ck_assert_msg(l.error == c->error, "%s: error %s (%s)", c->name,
	    tagvalue_error_str(l.error), l.reason ? l.reason : "");
	if (ret == 0) {
		ck_assert_ptr_null(l.reason);
		ck_assert_msg(l.count == c->count, "%s: count %zu", c->name, l.count);
		tv_dump(&l, dump, sizeof(dump));
		ck_assert_msg(strcmp(dump, c->dump) == 0, "%s: got %s", c->name, dump);
	} else {
		ck_assert_ptr_nonnull(l.reason);
		ck_assert_uint_le(l.error_offset, len);
	}
}
END_TEST

START_TEST(tagvalue_raw_span_covers_surrounding_fws)
{
	const char *in = "a=1; b= \r\n abc\r\n def \r\n ; c=2";
	struct tagvalue_list l;
	const struct tagvalue_tag *b;

	ck_assert_int_eq(tagvalue_parse(in, strlen(in), &l), 0);
	b = tagvalue_find(&l, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->raw.len, strlen(" \r\n abc\r\n def \r\n "));
	ck_assert(memcmp(b->raw.p, " \r\n abc", 7) == 0);
	ck_assert_uint_eq(b->value.len, strlen("abc\r\n def"));
	ck_assert_ptr_null(tagvalue_find(&l, "B"));
}
END_TEST

START_TEST(tagvalue_duplicate_offset_points_at_second_name)
{
	const char *in = "v=1; a=x; v=2";
	struct tagvalue_list l;

	ck_assert_int_eq(tagvalue_parse(in, strlen(in), &l), -1);
	ck_assert_uint_eq(l.error_offset, 10);
	ck_assert_str_eq(l.reason, "duplicate tag");
}
END_TEST

START_TEST(tagvalue_tag_limit_enforced)
{
	char in[TAGVALUE_TAG_LIMIT * 8 + 16];
	size_t n = 0;
	struct tagvalue_list l;

	for (int i = 0; i < TAGVALUE_TAG_LIMIT; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "t%d=x;", i);
	ck_assert_int_eq(tagvalue_parse(in, n, &l), 0);
	ck_assert_uint_eq(l.count, TAGVALUE_TAG_LIMIT);
	n += (size_t)snprintf(in + n, sizeof(in) - n, "z=1");
	ck_assert_int_eq(tagvalue_parse(in, n, &l), -1);
	ck_assert_int_eq(l.error, TAGVALUE_ERR_TOO_MANY);
}
END_TEST

START_TEST(tagvalue_copy_nows_strips_folding)
{
	struct span v = SPAN_LIT("ab c\r\n\tde\nf");
	char out[8];

	ck_assert_int_eq(tagvalue_copy_nows(v, out, sizeof(out)), 6);
	ck_assert(memcmp(out, "abcdef", 6) == 0);
	ck_assert_int_eq(tagvalue_copy_nows(v, out, 5), -1);
}
END_TEST

START_TEST(tagvalue_parser_reads_only_given_length)
{
	/* the byte after the span would be a syntax error if read */
	const char in[] = "a=b\x01";
	struct tagvalue_list l;

	ck_assert_int_eq(tagvalue_parse(in, 3, &l), 0);
	ck_assert_uint_eq(l.tags[0].value.len, 1);
}
END_TEST

/* colon-separated values: items trimmed, empty ones kept, membership */
START_TEST(tagvalue_colon_lists)
{
	static const struct {
		const char *v;
		const char *items[5];
	} c[] = {
		{ "from:to", { "from", "to", NULL } },
		{ " from : To \r\n\t: subject", { "from", "To", "subject", NULL } },
		{ "", { "", NULL } },
		{ "a:", { "a", "", NULL } },
		{ ":", { "", "", NULL } },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct span v = span_from_cstr(c[i].v), item;
		size_t pos = 0, n = 0;

		while (tagvalue_list_next(v, &pos, &item)) {
			ck_assert_msg(c[i].items[n] != NULL, "%s: extra item", c[i].v);
			ck_assert_msg(item.len == strlen(c[i].items[n]) && memcmp(item.p, c[i].items[n], item.len) == 0,
			    "%s: item %zu", c[i].v, n);
			n++;
		}
		ck_assert_msg(c[i].items[n] == NULL, "%s: %zu items", c[i].v, n);
	}
	ck_assert(tagvalue_list_has(span_from_cstr("dns/txt"), "DNS/TXT"));
	ck_assert(tagvalue_list_has(span_from_cstr("sha1 : sha256"), "sha256"));
	ck_assert(!tagvalue_list_has(span_from_cstr("sha1:sha2567"), "sha256"));
}
END_TEST

static Suite *
tagvalue_suite(void)
{
	Suite *s = suite_create("tagvalue");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, tagvalue_table, 0, (int)(sizeof(tv_cases) / sizeof(tv_cases[0])));
	tcase_add_test(tc, tagvalue_raw_span_covers_surrounding_fws);
	tcase_add_test(tc, tagvalue_duplicate_offset_points_at_second_name);
	tcase_add_test(tc, tagvalue_tag_limit_enforced);
	tcase_add_test(tc, tagvalue_copy_nows_strips_folding);
	tcase_add_test(tc, tagvalue_parser_reads_only_given_length);
	tcase_add_test(tc, tagvalue_colon_lists);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tagvalue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
