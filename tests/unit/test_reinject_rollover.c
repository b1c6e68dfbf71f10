/*
 * test_reinject_rollover.c - the key rollover plan ("<keyfile>.next", written
 * by reinject keygen --next): what it accepts and every refusal with its
 * file:line message.
 */
#include <check.h>
#include <string.h>

#include "reinject_rollover.h"

struct plan_case {
	const char *name;
	const char *text;
	const char *selector;	/* NULL: refused */
	const char *key_file;
	const char *error;	/* the message when refused */
};

static const struct plan_case plan_cases[] = {
	{ "written_by_keygen", "# reinject keygen --next\n# comment\n"
	    "next_selector = rsa2027\nnext_key_file = /k/rsa2027.private\n",
	    "rsa2027", "/k/rsa2027.private", NULL },
	{ "crlf_blanks_and_case", "\r\n  NEXT_SELECTOR=s2 \r\n\tnext_key_file =/k/s2\r\n",
	    "s2", "/k/s2", NULL },
	{ "no_final_newline", "next_key_file = /a\nnext_selector = b", "b", "/a", NULL },
	{ "unknown_setting", "next_selectr = a\nnext_key_file = /a\n", NULL, NULL,
	    "p:1: unknown setting (next_selector or next_key_file)" },
	{ "set_twice", "next_selector = a\nnext_selector = b\nnext_key_file = /a\n",
	    NULL, NULL, "p:2: set twice" },
	{ "no_equals", "next_selector a\n", NULL, NULL, "p:1: expected \"name = value\"" },
	{ "relative_path", "next_selector = a\nnext_key_file = k/a\n", NULL, NULL,
	    "p:2: next_key_file: not an absolute path" },
	{ "bad_selector", "next_selector = a b\nnext_key_file = /a\n", NULL, NULL,
	    "p:1: next_selector: not a selector" },
	{ "double_dot", "next_selector = a..b\nnext_key_file = /a\n", NULL, NULL,
	    "p:1: next_selector: not a selector" },
	{ "missing_key_file", "next_selector = a\n", NULL, NULL,
	    "p: next_selector and next_key_file are both required" },
	{ "empty", "", NULL, NULL, "p: next_selector and next_key_file are both required" },
};

START_TEST(rollover_plan_parses_or_names_the_line)
{
	const struct plan_case *c = &plan_cases[_i];
	struct reinject_rollover_plan plan;
	struct buf err;
	int rc;

	buf_init(&err, 4096);
	rc = reinject_rollover_parse(c->text, strlen(c->text), "p", &plan, &err);
	if (c->selector != NULL) {
		ck_assert_msg(rc == 0, "%s: %s", c->name, buf_cstr(&err));
		ck_assert_str_eq(plan.selector, c->selector);
		ck_assert_str_eq(plan.key_file, c->key_file);
	} else {
		ck_assert_msg(rc < 0, "%s: accepted", c->name);
		ck_assert_msg(strstr(buf_cstr(&err), c->error) != NULL, "%s: %s",
		    c->name, buf_cstr(&err));
	}
	buf_clear(&err);
}
END_TEST

/* a NUL inside the text ends no parse early and passes into no value */
START_TEST(rollover_plan_with_nul_is_refused)
{
	static const char text[] = "next_selector = a\nnext_key_file = /a\0b\n";
	struct reinject_rollover_plan plan;
	struct buf err;

	buf_init(&err, 4096);
	ck_assert_int_lt(reinject_rollover_parse(text, sizeof(text) - 1, "p", &plan,
	    &err), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "p:2: next_key_file"));
	buf_clear(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reinject_rollover");
	TCase *tc = tcase_create("plan");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, rollover_plan_parses_or_names_the_line, 0,
	    sizeof(plan_cases) / sizeof(plan_cases[0]));
	tcase_add_test(tc, rollover_plan_with_nul_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
