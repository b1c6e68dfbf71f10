/*
 * test_reinject_data.c - the DATA stream decoder (reinject/reinject_data.c):
 * end of data, dot-unstuffing, bare CR/LF (CVE-2023-51764), NUL bytes, 998-octet lines,
 * size limit, input split at every byte.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "reinject.h"

struct out {
	struct buf b;
};

/* collect - line callback: concatenate */
static void
collect(void *arg, const char *p, size_t len)
{
	struct out *o = arg;

	buf_append(&o->b, p, len);
}

static const struct {
	const char *name;
	const char *in;
	const char *out;
	bool bare;		/* bare CR/LF flagged */
	size_t rest;		/* bytes left after the end of data */
} cases[] = {
	{ "plain", "a\r\nb\r\n.\r\n", "a\r\nb\r\n", false, 0 },
	{ "dot_unstuffing", "..a\r\n..\r\n.\r\n", ".a\r\n.\r\n", false, 0 },
	{ "pipelined_rest_left", "x\r\n.\r\nQUIT\r\n", "x\r\n", false, 6 },
	{ "empty_message", ".\r\n", "", false, 0 },
	{ "bare_lf_normalised", "a\nb\r\n.\r\n", "a\r\nb\r\n", true, 0 },
	{ "bare_cr_normalised", "a\rb\r\n.\r\n", "a\r\nb\r\n", true, 0 },
	{ "lf_dot_lf_is_not_the_end", "a\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 0 },
	{ "cr_dot_cr_is_not_the_end", "a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 0 },
	{ "dot_lf_after_crlf_is_not_the_end", "a\r\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 0 },
	/* SMTP smuggling: "." CRLF after a bare LF or CR is a line of the message */
	{ "lf_dot_crlf_is_not_the_end", "a\n.\r\nMAIL FROM:<e@example.org>\r\n.\r\n",
	    "a\r\n.\r\nMAIL FROM:<e@example.org>\r\n", true, 0 },
	{ "cr_dot_crlf_is_not_the_end", "a\r.\r\nRCPT TO:<e@example.org>\r\n.\r\n",
	    "a\r\n.\r\nRCPT TO:<e@example.org>\r\n", true, 0 },
	{ "lf_lf_dot_crlf_is_not_the_end", "a\n\n.\r\nDATA\r\n.\r\n",
	    "a\r\n\r\n.\r\nDATA\r\n", true, 0 },
	{ "crlf_lf_dot_crlf_is_not_the_end", "a\r\n\n.\r\nb\r\n.\r\n",
	    "a\r\n\r\n.\r\nb\r\n", true, 0 },
	{ "crlf_cr_dot_crlf_is_not_the_end", "a\r\n\r.\r\nb\r\n.\r\n",
	    "a\r\n\r\n.\r\nb\r\n", true, 0 },
	{ "cr_cr_dot_crlf_is_not_the_end", "a\r\r.\r\nb\r\n.\r\n",
	    "a\r\n\r\n.\r\nb\r\n", true, 0 },
	{ "first_line_bare_lf_then_dot", "\n.\r\nb\r\n.\r\n", "\r\n.\r\nb\r\n", true, 0 },
	{ "lf_dot_crlf_then_real_end_rest_left", "a\n.\r\nb\r\n.\r\nQUIT\r\n",
	    "a\r\n.\r\nb\r\n", true, 6 },
};

/* feed - whole input, or one byte at a time */
static size_t
feed(struct reinject_data *d, const char *in, bool bytewise)
{
	size_t n = strlen(in), used = 0;

	if (!bytewise)
		return reinject_data_feed(d, in, n);
	while (used < n && !d->done)
		used += reinject_data_feed(d, in + used, 1);
	return used;
}

static void
run_case(int i, bool bytewise)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;
	size_t used;

	c.message_size_limit = 1 << 20;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	used = feed(&d, cases[i].in, bytewise);
	ck_assert_msg(d.done, "%s: end not seen", cases[i].name);
	ck_assert_uint_eq(strlen(cases[i].in) - used, cases[i].rest);
	ck_assert_msg(strcmp(buf_cstr(&o.b), cases[i].out) == 0, "%s: got \"%s\"",
	    cases[i].name, buf_cstr(&o.b));
	ck_assert_int_eq(d.bare_nl, cases[i].bare);
	reinject_data_clear(&d);
	buf_clear(&o.b);
}

START_TEST(data_decode_table)
{
	run_case(_i, false);
}
END_TEST

START_TEST(data_decode_table_bytewise)
{
	run_case(_i, true);
}
END_TEST

/*
 * data_refuse_mode_smuggled_end_is_not_the_end - bare_newline_action = refuse
 * flags the message, but the end of data is still only CRLF "." CRLF: what
 * follows "\n.\r\n" is message content, never commands
 */
START_TEST(data_refuse_mode_smuggled_end_is_not_the_end)
{
	static const char in[] = "a\n.\r\nMAIL FROM:<e@example.org>\r\n"
	    "RCPT TO:<v@example.net>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n";
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;
	size_t used;

	c.message_size_limit = 1 << 20;
	c.bare_newline_action = REINJECT_BARE_NL_REFUSE;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	used = reinject_data_feed(&d, in, sizeof(in) - 1);
	ck_assert(d.done && d.bare_nl);
	ck_assert_uint_eq(sizeof(in) - 1 - used, 6);	/* only QUIT is left */
	ck_assert_uint_eq(o.b.len, 0);
	reinject_data_clear(&d);
	buf_clear(&o.b);
}
END_TEST

/* NUL bytes (RFC 5322 §2.1): left out, but never making an end of data */
static const struct {
	const char *name;
	const char *in;
	size_t in_len;
	const char *out;
	size_t rest;
} nul_cases[] = {
#define NUL_CASE(name, in, out, rest) { name, in, sizeof(in) - 1, out, rest }
	NUL_CASE("nul_stripped", "a\0b\r\n\0\r\n.\r\n", "ab\r\n\r\n", 0),
	NUL_CASE("crlf_nul_dot_crlf_is_not_the_end",
	    "a\r\n\0.\r\nMAIL FROM:<e@example.org>\r\n.\r\n",
	    "a\r\n.\r\nMAIL FROM:<e@example.org>\r\n", 0),
	NUL_CASE("crlf_dot_nul_crlf_is_not_the_end", "a\r\n.\0\r\nb\r\n.\r\n",
	    "a\r\n.\r\nb\r\n", 0),
	NUL_CASE("nul_then_dots_is_no_stuffing", "\0..x\r\n.\r\n", "..x\r\n", 0),
	NUL_CASE("dot_nul_dot_is_stuffing", ".\0.x\r\n.\r\n", ".x\r\n", 0),
	NUL_CASE("nul_after_the_end_left", "a\r\n.\r\n\0", "a\r\n", 1),
#undef NUL_CASE
};

/* run_nul_case - a NUL case whole or byte by byte, under strip */
static void
run_nul_case(int i, bool bytewise)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;
	size_t used = 0, n = nul_cases[i].in_len;

	c.message_size_limit = 1 << 20;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	if (!bytewise)
		used = reinject_data_feed(&d, nul_cases[i].in, n);
	while (bytewise && used < n && !d.done)
		used += reinject_data_feed(&d, nul_cases[i].in + used, 1);
	ck_assert_msg(d.done, "%s: end not seen", nul_cases[i].name);
	/* a NUL after the end is not the message's */
	ck_assert_int_eq(d.nul, nul_cases[i].rest == 0);
	ck_assert_uint_eq(n - used, nul_cases[i].rest);
	ck_assert_msg(o.b.len == strlen(nul_cases[i].out) &&
	    memcmp(o.b.data, nul_cases[i].out, o.b.len) == 0, "%s: got \"%s\"",
	    nul_cases[i].name, buf_cstr(&o.b));
	reinject_data_clear(&d);
	buf_clear(&o.b);
}

START_TEST(data_nul_table)
{
	run_nul_case(_i, false);
}
END_TEST

START_TEST(data_nul_table_bytewise)
{
	run_nul_case(_i, true);
}
END_TEST

/* data_nul_refuse_feeds_nothing - nul_byte_action = refuse */
START_TEST(data_nul_refuse_feeds_nothing)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;

	c.message_size_limit = 1 << 20;
	c.nul_byte_action = REINJECT_NUL_REFUSE;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	reinject_data_feed(&d, "a\r\nb\0c\r\n.\r\n", 12);
	ck_assert(d.done && d.nul);
	ck_assert_uint_eq(o.b.len, 3);	/* "a" CRLF only, before the NUL */
	reinject_data_clear(&d);
	buf_clear(&o.b);
}
END_TEST

START_TEST(data_long_body_line_broken_at_998)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;
	char in[3000];

	c.message_size_limit = 1 << 20;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	reinject_data_feed(&d, "\r\n", 2);	/* into the body */
	memset(in, 'x', 2500);
	memcpy(in + 2500, "\r\n.\r\n", 6);
	reinject_data_feed(&d, in, strlen(in));
	ck_assert(d.done && d.long_line);
	ck_assert_uint_eq(o.b.len, 2 + 2500 + 3 * 2);
	ck_assert(memcmp(o.b.data + 2 + 998, "\r\n", 2) == 0);
	reinject_data_clear(&d);
	buf_clear(&o.b);
}
END_TEST

START_TEST(data_long_header_folded_before_a_blank)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;
	struct buf in;
	const char *s;

	c.message_size_limit = 1 << 20;
	buf_init(&o.b, 1 << 20);
	buf_init(&in, 1 << 20);
	buf_append_str(&in, "X-Long:");
	for (int i = 0; i < 300; i++)
		buf_printf(&in, " w%04d", i);
	buf_append_str(&in, "\r\n\r\nbody\r\n.\r\n");
	reinject_data_init(&d, &c, collect, &o);
	reinject_data_feed(&d, in.data, in.len);
	ck_assert(d.done && d.long_line);
	s = strstr(buf_cstr(&o.b), "\r\n ");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_le(s - buf_cstr(&o.b), 998);
	reinject_data_clear(&d);
	buf_clear(&o.b);
	buf_clear(&in);
}
END_TEST

START_TEST(data_refuse_modes_and_size_limit_still_find_the_end)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct out o;

	c.message_size_limit = 10;
	c.bare_newline_action = REINJECT_BARE_NL_REFUSE;
	buf_init(&o.b, 1 << 20);
	reinject_data_init(&d, &c, collect, &o);
	reinject_data_feed(&d, "0123456789abcdef\r\nx\ny\r\n.\r\n", 26);
	ck_assert(d.done && d.too_big && d.bare_nl);
	ck_assert_uint_eq(o.b.len, 0);
	reinject_data_clear(&d);
	buf_clear(&o.b);
}
END_TEST

static Suite *
data_suite(void)
{
	Suite *s = suite_create("reinject_data");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, data_decode_table, 0, ARRAY_LEN(cases));
	tcase_add_loop_test(tc, data_decode_table_bytewise, 0, ARRAY_LEN(cases));
	tcase_add_test(tc, data_refuse_mode_smuggled_end_is_not_the_end);
	tcase_add_loop_test(tc, data_nul_table, 0, ARRAY_LEN(nul_cases));
	tcase_add_loop_test(tc, data_nul_table_bytewise, 0, ARRAY_LEN(nul_cases));
	tcase_add_test(tc, data_nul_refuse_feeds_nothing);
	tcase_add_test(tc, data_long_body_line_broken_at_998);
	tcase_add_test(tc, data_long_header_folded_before_a_blank);
	tcase_add_test(tc, data_refuse_modes_and_size_limit_still_find_the_end);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(data_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
