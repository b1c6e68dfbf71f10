/*
 * test_reinject_rollover.c - the key rollover plan ("<keyfile>.next", written
 * by reinject keygen --next): what it accepts and every refusal with its
 * file:line message; the state file that keeps a switch across restarts:
 * its parser, its writer (round trip) and the store in a directory (first
 * writer wins, a link is never followed).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define HASH_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define STATE_OK "domain = example.org\nold_selector = rsa2026\n" \
	"next_selector = rsa2027\nnext_key_sha256 = " HASH_A "\n"

struct state_case {
	const char *name;
	const char *text;
	long long at;		/* 0: refused */
	const char *error;
};

static const struct state_case state_cases[] = {
	{ "written", "# c\n" STATE_OK "switched_at = 1796212345\n", 1796212345, NULL },
	{ "crlf_and_case", "DOMAIN=example.org\r\nOld_Selector = rsa2026\r\n"
	    "next_selector=rsa2027\r\nnext_key_sha256 = " HASH_A "\r\n"
	    "switched_at = 7", 7, NULL },
	{ "missing_time", STATE_OK, 0,
	    "s: domain, old_selector, next_selector, next_key_sha256 and "
	    "switched_at are all required" },
	{ "empty", "", 0, "are all required" },
	{ "unknown", STATE_OK "switched_at = 1\ntold = yes\n", 0,
	    "s:6: unknown setting" },
	{ "twice", STATE_OK "switched_at = 1\nswitched_at = 2\n", 0,
	    "s:6: switched_at: set twice" },
	{ "negative_time", STATE_OK "switched_at = -1\n", 0,
	    "s:5: switched_at: not a time" },
	{ "zero_time", STATE_OK "switched_at = 0\n", 0, "s:5: switched_at: not a time" },
	{ "leading_zero", STATE_OK "switched_at = 012\n", 0, "s:5: switched_at" },
	{ "time_past_9999", STATE_OK "switched_at = 253402300800\n", 0,
	    "s:5: switched_at" },
	{ "huge_time", STATE_OK "switched_at = 99999999999999999999999\n", 0,
	    "s:5: switched_at" },
	{ "short_hash", "next_key_sha256 = abc\n", 0,
	    "s:1: next_key_sha256: not 64 lowercase hex digits" },
	{ "upper_hash", "next_key_sha256 = 0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n", 0, "s:1: next_key_sha256" },
	{ "bad_domain", "domain = exa mple.org\n", 0, "s:1: domain: not a domain name" },
	{ "slash_selector", "old_selector = ../x\n", 0, "s:1: old_selector: not a selector" },
	{ "no_equals", "domain example.org\n", 0, "s:1: expected \"name = value\"" },
};

START_TEST(rollover_state_parses_or_names_the_line)
{
	const struct state_case *c = &state_cases[_i];
	struct reinject_rollover_state st;
	struct buf err;
	int rc;

	buf_init(&err, 4096);
	rc = reinject_rollover_state_parse(c->text, strlen(c->text), "s", &st, &err);
	if (c->at != 0) {
		ck_assert_msg(rc == 0, "%s: %s", c->name, buf_cstr(&err));
		ck_assert_str_eq(st.domain, "example.org");
		ck_assert_str_eq(st.old_selector, "rsa2026");
		ck_assert_str_eq(st.next_selector, "rsa2027");
		ck_assert_str_eq(st.key_sha256, HASH_A);
		ck_assert_int_eq(st.switched_at, c->at);
	} else {
		ck_assert_msg(rc < 0, "%s: accepted", c->name);
		ck_assert_msg(strstr(buf_cstr(&err), c->error) != NULL, "%s: %s",
		    c->name, buf_cstr(&err));
	}
	buf_clear(&err);
}
END_TEST

/* what the writer makes, the parser reads back the same */
START_TEST(rollover_state_format_round_trips)
{
	struct reinject_rollover_state st = { "example.org", "rsa2026", "rsa2027",
	    HASH_A, 1796212345 }, back;
	char text[REINJECT_ROLLOVER_STATE_MAX];
	struct buf err;
	int n = reinject_rollover_state_format(&st, text, sizeof(text));

	buf_init(&err, 4096);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(reinject_rollover_state_parse(text, (size_t)n, "s", &back,
	    &err), 0);
	ck_assert_str_eq(back.domain, st.domain);
	ck_assert_str_eq(back.old_selector, st.old_selector);
	ck_assert_str_eq(back.next_selector, st.next_selector);
	ck_assert_str_eq(back.key_sha256, st.key_sha256);
	ck_assert_int_eq(back.switched_at, st.switched_at);
	ck_assert_int_lt(reinject_rollover_state_format(&st, text, 40), 0);
	buf_clear(&err);
}
END_TEST

/* a NUL in a value is refused, not cut short */
START_TEST(rollover_state_with_nul_is_refused)
{
	static const char text[] = STATE_OK "switched_at = 1\0\n";
	struct reinject_rollover_state st;
	struct buf err;

	buf_init(&err, 4096);
	ck_assert_int_lt(reinject_rollover_state_parse(text, sizeof(text) - 1, "s",
	    &st, &err), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "s:5: switched_at"));
	buf_clear(&err);
}
END_TEST

/* the name: the old record's DNS name, nothing a path could climb out with */
START_TEST(rollover_store_name_is_the_old_record)
{
	char name[300], longsel[300];

	ck_assert_int_eq(reinject_rollover_store_name("example.org", "rsa2026", name,
	    sizeof(name)), 0);
	ck_assert_str_eq(name, "dkim-rollover.rsa2026._domainkey.example.org");
	ck_assert_int_lt(reinject_rollover_store_name("a/b", "s", name, sizeof(name)), 0);
	ck_assert_int_lt(reinject_rollover_store_name("x..y", "s", name, sizeof(name)), 0);
	memset(longsel, 'a', 250);
	longsel[250] = '\0';
	ck_assert_int_lt(reinject_rollover_store_name("example.org", longsel, name,
	    sizeof(name)), 0);
}
END_TEST

/* write, first writer wins, read back, refuse a link and a bad file, remove */
START_TEST(rollover_store_keeps_the_first_switch)
{
	struct reinject_rollover_state a = { "example.org", "rsa2026", "rsa2027",
	    HASH_A, 100 }, b = a, got;
	char dir[] = "/tmp/ma-rollstate-XXXXXX", path[128];
	struct buf err;
	int dfd;

	b.switched_at = 200;
	buf_init(&err, 4096);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(reinject_rollover_store_read(dfd, dir, "st", &got, &err), 0);
	ck_assert_int_eq(reinject_rollover_store_write(dfd, dir, "st", &a, false, &err), 1);
	ck_assert_int_eq(reinject_rollover_store_write(dfd, dir, "st", &b, false, &err), 0);
	ck_assert_int_eq(reinject_rollover_store_read(dfd, dir, "st", &got, &err), 1);
	ck_assert_int_eq(got.switched_at, 100);
	ck_assert_int_eq(reinject_rollover_store_write(dfd, dir, "st", &b, true, &err), 1);
	ck_assert_int_eq(reinject_rollover_store_read(dfd, dir, "st", &got, &err), 1);
	ck_assert_int_eq(got.switched_at, 200);
	/* no temporary file left behind */
	snprintf(path, sizeof(path), ".st.%ld", (long)getpid());
	ck_assert_int_lt(faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	/* a symbolic link is never followed */
	ck_assert_int_eq(symlinkat("st", dfd, "ln"), 0);
	ck_assert_int_eq(reinject_rollover_store_read(dfd, dir, "ln", &got, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "/ln: a symbolic link, not read"));
	/* a damaged file: its line named */
	ck_assert_int_eq(reinject_rollover_store_remove(dfd, dir, "st", &err), 0);
	snprintf(path, sizeof(path), "%s/st", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("domain = example.org\nswitched_at = soon\n", f);
	fclose(f);
	buf_reset(&err);
	ck_assert_int_eq(reinject_rollover_store_read(dfd, dir, "st", &got, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "/st:2: switched_at: not a time"));
	ck_assert_int_eq(reinject_rollover_store_remove(dfd, dir, "st", &err), 0);
	ck_assert_int_eq(reinject_rollover_store_remove(dfd, dir, "st", &err), 0);
	ck_assert_int_eq(unlinkat(dfd, "ln", 0), 0);
	close(dfd);
	ck_assert_int_eq(rmdir(dir), 0);
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
	tc = tcase_create("state");
	tcase_add_loop_test(tc, rollover_state_parses_or_names_the_line, 0,
	    sizeof(state_cases) / sizeof(state_cases[0]));
	tcase_add_test(tc, rollover_state_format_round_trips);
	tcase_add_test(tc, rollover_state_with_nul_is_refused);
	tcase_add_test(tc, rollover_store_name_is_the_old_record);
	tcase_add_test(tc, rollover_store_keeps_the_first_switch);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
