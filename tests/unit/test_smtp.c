/*
 * test_smtp.c - SMTP command, path, parameter, xtext, XFORWARD, reply and EHLO
 * parsing (common/smtp_*.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static struct span
S(const char *s)
{
	return span_from_cstr(s);
}

static const struct {
	const char *line;
	enum smtp_cmd_status st;
	enum smtp_verb verb;
	const char *arg;
} cmd_cases[] = {
	{ "EHLO client.example", SMTP_CMD_OK, SMTP_VERB_EHLO, "client.example" },
	{ "ehlo   x  ", SMTP_CMD_OK, SMTP_VERB_EHLO, "x" },
	{ "MAIL FROM:<a@b> SIZE=10", SMTP_CMD_OK, SMTP_VERB_MAIL, "FROM:<a@b> SIZE=10" },
	{ "xforward NAME=x", SMTP_CMD_OK, SMTP_VERB_XFORWARD, "NAME=x" },
	{ "DATA", SMTP_CMD_OK, SMTP_VERB_DATA, "" },
	{ "FOO bar", SMTP_CMD_OK, SMTP_VERB_UNKNOWN, "bar" },
	{ "   ", SMTP_CMD_EMPTY, SMTP_VERB_UNKNOWN, "" },
	{ "", SMTP_CMD_EMPTY, SMTP_VERB_UNKNOWN, "" },
	{ "MA\x01L", SMTP_CMD_BAD_CHAR, SMTP_VERB_UNKNOWN, "" },
};

START_TEST(smtp_cmd_parse_table)
{
	struct smtp_cmd c;
	enum smtp_cmd_status st = smtp_cmd_parse(cmd_cases[_i].line,
	    strlen(cmd_cases[_i].line), &c);

	ck_assert_int_eq(st, cmd_cases[_i].st);
	if (st != SMTP_CMD_OK)
		return;
	ck_assert_int_eq(c.verb, cmd_cases[_i].verb);
	ck_assert_uint_eq(c.arg.len, strlen(cmd_cases[_i].arg));
	ck_assert(memcmp(c.arg.p, cmd_cases[_i].arg, c.arg.len) == 0);
}
END_TEST

START_TEST(smtp_cmd_parse_rejects_nul_inside_line)
{
	struct smtp_cmd c;

	ck_assert_int_eq(smtp_cmd_parse("NOOP\0x", 6, &c), SMTP_CMD_NUL);
}
END_TEST

static const struct {
	const char *arg;
	const char *prefix;
	enum smtp_path_status st;
	const char *addr;
	size_t nparams;
} path_cases[] = {
	{ "FROM:<a@example.com>", "FROM", SMTP_PATH_OK, "a@example.com", 0 },
	{ "FROM:<>", "FROM", SMTP_PATH_OK, "", 0 },
	{ "from: <a@b> SIZE=100 BODY=8BITMIME", "FROM", SMTP_PATH_OK, "a@b", 2 },
	{ "TO:<@r1,@r2:u@d> NOTIFY=NEVER", "TO", SMTP_PATH_OK, "u@d", 1 },
	{ "TO:<\"a >b\"@d>", "TO", SMTP_PATH_OK, "\"a >b\"@d", 0 },
	{ "TO:u@d", "TO", SMTP_PATH_OK, "u@d", 0 },
	{ "TO:<u@d", "TO", SMTP_PATH_SYNTAX, NULL, 0 },
	{ "FROM<u@d>", "FROM", SMTP_PATH_SYNTAX, NULL, 0 },
	{ "TO:<u@d>x", "TO", SMTP_PATH_SYNTAX, NULL, 0 },
	{ "TO:", "TO", SMTP_PATH_SYNTAX, NULL, 0 },
	{ "TO:<a@b> =x", "TO", SMTP_PATH_SYNTAX, NULL, 0 },
	{ "TO:<a@b> A B C D E F G H I J K L M N O P Q", "TO",
	  SMTP_PATH_TOO_MANY_PARAMS, NULL, 0 },
};

START_TEST(smtp_path_parse_table)
{
	struct smtp_path p;
	enum smtp_path_status st = smtp_path_parse(S(path_cases[_i].arg),
	    path_cases[_i].prefix, &p);

	ck_assert_int_eq(st, path_cases[_i].st);
	if (st != SMTP_PATH_OK)
		return;
	ck_assert_uint_eq(p.addr.len, strlen(path_cases[_i].addr));
	ck_assert(memcmp(p.addr.p, path_cases[_i].addr, p.addr.len) == 0);
	ck_assert_uint_eq(p.nparams, path_cases[_i].nparams);
}
END_TEST

START_TEST(smtp_path_rejects_overlong_path)
{
	char arg[400] = "TO:<";
	struct smtp_path p;

	memset(arg + 4, 'a', 300);
	memcpy(arg + 304, "@d>", 4);
	ck_assert_int_eq(smtp_path_parse(S(arg), "TO", &p), SMTP_PATH_TOO_LONG);
	/* 256 octets with the brackets pass, 257 do not */
	memcpy(arg + 4 + 252, "@d>", 4);
	ck_assert_uint_eq(strlen(arg) - 3, 256);
	ck_assert_int_eq(smtp_path_parse(S(arg), "TO", &p), SMTP_PATH_OK);
	memset(arg + 4, 'a', 253);
	memcpy(arg + 4 + 253, "@d>", 4);
	ck_assert_int_eq(smtp_path_parse(S(arg), "TO", &p), SMTP_PATH_TOO_LONG);
}
END_TEST

static const struct {
	const char *key, *value;
	bool rcpt;
	bool ok;
} param_cases[] = {
	{ "SIZE", "12345", false, true },
	{ "SIZE", "12a", false, false },
	{ "SIZE", "123456789012345678901", false, false },
	{ "BODY", "8BITMIME", false, true },
	{ "BODY", "7bit", false, true },
	{ "BODY", "BINARYMIME", false, false },
	{ "SMTPUTF8", NULL, false, true },
	{ "SMTPUTF8", "yes", false, false },
	{ "RET", "HDRS", false, true },
	{ "RET", "BOTH", false, false },
	{ "ENVID", "abc+2Bdef", false, true },
	{ "ENVID", "bad+ZZ", false, false },
	{ "NOTIFY", "SUCCESS,FAILURE,DELAY", true, true },
	{ "NOTIFY", "NEVER", true, true },
	{ "NOTIFY", "NEVER,SUCCESS", true, false },
	{ "NOTIFY", "SOMETIMES", true, false },
	{ "ORCPT", "rfc822;u+40d", true, true },
	{ "ORCPT", "rfc822", true, false },
	{ "NOTIFY", "NEVER", false, false },
	{ "SIZE", "1", true, false },
	{ "X-FOO", "1", false, false },
};

START_TEST(smtp_param_check_table)
{
	struct smtp_param prm = { S(param_cases[_i].key),
	    param_cases[_i].value ? S(param_cases[_i].value) : S(""),
	    param_cases[_i].value != NULL };
	const char *why = smtp_param_check(&prm, param_cases[_i].rcpt, NULL);

	ck_assert_msg((why == NULL) == param_cases[_i].ok, "%s=%s: %s",
	    param_cases[_i].key, param_cases[_i].value, why ? why : "ok");
}
END_TEST

START_TEST(smtp_xtext_round_trip)
{
	struct buf e, d;
	const char in[] = "a+b=c d\x01\xff~";

	buf_init(&e, 1024);
	buf_init(&d, 1024);
	ck_assert_int_eq(smtp_xtext_encode(in, sizeof(in) - 1, &e), 0);
	ck_assert_str_eq(buf_cstr(&e), "a+2Bb+3Dc+20d+01+FF~");
	ck_assert(smtp_xtext_valid(e.data, e.len));
	ck_assert_int_eq(smtp_xtext_decode(e.data, e.len, &d), 0);
	ck_assert_uint_eq(d.len, sizeof(in) - 1);
	ck_assert(memcmp(d.data, in, d.len) == 0);
	buf_reset(&d);
	ck_assert_int_eq(smtp_xtext_decode("ab+4", 4, &d), -1);
	ck_assert_int_eq(smtp_xtext_decode("a b", 3, &d), -1);
	ck_assert(!smtp_xtext_valid("x=y", 3));
	buf_clear(&e);
	buf_clear(&d);
}
END_TEST

START_TEST(smtp_xforward_parses_accumulates_and_formats)
{
	struct smtp_xforward x = { 0 };
	struct buf out;

	ck_assert_ptr_null(smtp_xforward_parse(
	    S("NAME=mail.example ADDR=IPV6:2001:db8::1 PORT=2525"), &x));
	ck_assert_ptr_null(smtp_xforward_parse(
	    S("HELO=[UNAVAILABLE] IDENT=4Xyz+2B1 PROTO=ESMTP SOURCE=REMOTE"), &x));
	ck_assert_str_eq(x.value[SMTP_XFWD_NAME], "mail.example");
	ck_assert_str_eq(smtp_xforward_addr(&x), "2001:db8::1");
	ck_assert_str_eq(x.value[SMTP_XFWD_IDENT], "4Xyz+1");
	ck_assert(x.unavailable[SMTP_XFWD_HELO]);
	ck_assert_ptr_null(x.value[SMTP_XFWD_HELO]);
	buf_init(&out, 4096);
	ck_assert_int_eq(smtp_xforward_format(&x,
	    (1u << SMTP_XFWD_NAME) | (1u << SMTP_XFWD_HELO) |
	    (1u << SMTP_XFWD_IDENT), &out), 3);
	ck_assert_str_eq(buf_cstr(&out),
	    "XFORWARD NAME=mail.example HELO=[UNAVAILABLE] IDENT=4Xyz+2B1");
	ck_assert_ptr_nonnull(smtp_xforward_parse(S("BOGUS=1"), &x));
	ck_assert_ptr_nonnull(smtp_xforward_parse(S("NAME"), &x));
	ck_assert_ptr_nonnull(smtp_xforward_parse(S("NAME=a NAME=b"), &x));
	ck_assert_ptr_nonnull(smtp_xforward_parse(S("NAME=bad+4"), &x));
	ck_assert_ptr_nonnull(smtp_xforward_parse(S(""), &x));
	ck_assert_str_eq(x.value[SMTP_XFWD_NAME], "mail.example");
	smtp_xforward_clear(&x);
	buf_clear(&out);
}
END_TEST

static enum smtp_reply_status
feed(struct smtp_reply *r, const char *l)
{
	return smtp_reply_feed(r, l, strlen(l));
}

START_TEST(smtp_reply_multiline_with_enhanced_codes)
{
	struct smtp_reply r;
	struct buf out;
	struct span id;

	smtp_reply_init(&r);
	ck_assert_int_eq(feed(&r, "250-2.0.0 first"), SMTP_REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250 2.0.0 Ok: queued as 4AbCdE"), SMTP_REPLY_DONE);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(r.enh, "2.0.0");
	ck_assert_str_eq(buf_cstr(&r.text), "first\nOk: queued as 4AbCdE");
	id = smtp_reply_queue_id(&r);
	ck_assert_uint_eq(id.len, 6);
	ck_assert(memcmp(id.p, "4AbCdE", 6) == 0);
	buf_init(&out, 4096);
	smtp_reply_relay(&out, &r);
	ck_assert_str_eq(buf_cstr(&out),
	    "250-2.0.0 first\r\n250 2.0.0 Ok: queued as 4AbCdE\r\n");
	smtp_reply_clear(&r);
	buf_clear(&out);
}
END_TEST

START_TEST(smtp_reply_relay_adds_default_enhanced_code)
{
	struct smtp_reply r;
	struct buf out;

	smtp_reply_init(&r);
	ck_assert_int_eq(feed(&r, "451 try later"), SMTP_REPLY_DONE);
	ck_assert_str_eq(r.enh, "");
	buf_init(&out, 4096);
	smtp_reply_relay(&out, &r);
	ck_assert_str_eq(buf_cstr(&out), "451 4.0.0 try later\r\n");
	/* no class 3 enhanced code (RFC 3463 has none) */
	ck_assert_int_eq(feed(&r, "354 go ahead"), SMTP_REPLY_DONE);
	buf_reset(&out);
	smtp_reply_relay(&out, &r);
	ck_assert_str_eq(buf_cstr(&out), "354 go ahead\r\n");
	/* an enhanced code of the wrong class is text, not a code */
	ck_assert_int_eq(feed(&r, "550 2.1.0 odd"), SMTP_REPLY_DONE);
	ck_assert_str_eq(r.enh, "");
	smtp_reply_clear(&r);
	buf_clear(&out);
}
END_TEST

START_TEST(smtp_reply_rejects_malformed_lines)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	ck_assert_int_eq(feed(&r, "25"), SMTP_REPLY_BAD);
	ck_assert_int_eq(feed(&r, "abc hello"), SMTP_REPLY_BAD);
	ck_assert_int_eq(feed(&r, "250xhello"), SMTP_REPLY_BAD);
	ck_assert_int_eq(feed(&r, "650 no"), SMTP_REPLY_BAD);
	ck_assert_int_eq(feed(&r, "250-a"), SMTP_REPLY_MORE);
	ck_assert_int_eq(feed(&r, "251 b"), SMTP_REPLY_BAD);
	ck_assert_int_eq(feed(&r, "250"), SMTP_REPLY_DONE);
	smtp_reply_clear(&r);
}
END_TEST

START_TEST(smtp_reply_format_multiline)
{
	struct buf out;

	buf_init(&out, 4096);
	smtp_reply_format(&out, 250, NULL, "host\nPIPELINING\nSIZE 10");
	ck_assert_str_eq(buf_cstr(&out),
	    "250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
	buf_clear(&out);
}
END_TEST

START_TEST(smtp_ehlo_parse_capabilities)
{
	struct smtp_reply r;
	struct smtp_ehlo e;

	smtp_reply_init(&r);
	feed(&r, "250-mx.example");
	feed(&r, "250-PIPELINING");
	feed(&r, "250-SIZE 10240000");
	feed(&r, "250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
	feed(&r, "250-ENHANCEDSTATUSCODES");
	feed(&r, "250-8BITMIME");
	feed(&r, "250-DSN");
	ck_assert_int_eq(feed(&r, "250 SMTPUTF8"), SMTP_REPLY_DONE);
	smtp_ehlo_parse(&r, &e);
	ck_assert_uint_eq(e.size, 10240000);
	ck_assert(e.ext & SMTP_EXT_PIPELINING);
	ck_assert(e.ext & SMTP_EXT_8BITMIME);
	ck_assert(e.ext & SMTP_EXT_SMTPUTF8);
	ck_assert(e.ext & SMTP_EXT_DSN);
	ck_assert(!(e.ext & SMTP_EXT_CHUNKING));
	ck_assert_uint_eq(e.xforward, (1u << SMTP_XFWD_COUNT) - 1);
	smtp_reply_clear(&r);
}
END_TEST

static Suite *
smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, smtp_cmd_parse_table, 0, ARRAY_LEN(cmd_cases));
	tcase_add_test(tc, smtp_cmd_parse_rejects_nul_inside_line);
	tcase_add_loop_test(tc, smtp_path_parse_table, 0, ARRAY_LEN(path_cases));
	tcase_add_test(tc, smtp_path_rejects_overlong_path);
	tcase_add_loop_test(tc, smtp_param_check_table, 0, ARRAY_LEN(param_cases));
	tcase_add_test(tc, smtp_xtext_round_trip);
	tcase_add_test(tc, smtp_xforward_parses_accumulates_and_formats);
	tcase_add_test(tc, smtp_reply_multiline_with_enhanced_codes);
	tcase_add_test(tc, smtp_reply_relay_adds_default_enhanced_code);
	tcase_add_test(tc, smtp_reply_rejects_malformed_lines);
	tcase_add_test(tc, smtp_reply_format_multiline);
	tcase_add_test(tc, smtp_ehlo_parse_capabilities);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(smtp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
