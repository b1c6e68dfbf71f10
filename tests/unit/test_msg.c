/*
 * test_msg.c - the streaming RFC 5322 splitter: fields, folding, chunk
 * boundaries anywhere, bare LF handling, limits.
 */
#include <check.h>
#include <string.h>

#include "buf.h"
#include "msg.h"

/* A transcript of callbacks: "H<name>|<field>" per field, "E", then "B<body>". */
struct rec {
	struct buf t;
	bool in_body;
	int fail_at_field;	/* make the n-th header callback fail (1-based), 0: never */
	int fields;
};

static int
rec_header(void *arg, struct span name, struct span field)
{
	struct rec *r = arg;

	if (++r->fields == r->fail_at_field)
		return -1;
	buf_printf(&r->t, "H%.*s|%.*s", (int)name.len, name.p, (int)field.len, field.p);
	return 0;
}

static int
rec_eoh(void *arg)
{
	struct rec *r = arg;

	buf_append_str(&r->t, "E");
	return 0;
}

static int
rec_body(void *arg, const char *p, size_t len)
{
	struct rec *r = arg;

	if (!r->in_body)
		buf_append_str(&r->t, "B");
	r->in_body = true;
	buf_append(&r->t, p, len);
	return 0;
}

static const struct msg_callbacks rec_cb = { rec_header, rec_eoh, rec_body };

/* run - feed msg in pieces of at most step bytes (0: split once at cut) */
static int
run(const char *msg, size_t len, unsigned flags, size_t cut,
    const struct msg_limits *lim, struct rec *r, const char **err)
{
	struct msg_parser *m;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->t, 1 << 20);
	m = msg_parser_new(lim, flags, &rec_cb, r);
	if (msg_parser_feed(m, msg, cut) < 0 || msg_parser_feed(m, msg + cut, len - cut) < 0 ||
	    msg_parser_finish(m) < 0)
		rc = -1;
	*err = msg_parser_error(m);
	msg_parser_free(m);
	return rc;
}

struct msg_case {
	const char *name;
	const char *in;
	unsigned flags;
	int rc;
	const char *want;	/* transcript, or the error reason when rc == -1 */
};

static const struct msg_case msg_cases[] = {
	{ "splits_fields_and_body", "From: a\r\nTo: b\r\n\r\nhello\r\n", 0, 0,
	  "HFrom|From: a\r\nHTo|To: b\r\nEBhello\r\n" },
	{ "keeps_folding_raw", "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n", 0, 0,
	  "HSubject|Subject: a\r\n b\r\n\tc\r\nHX|X: y\r\nE" },
	{ "trims_wsp_before_colon", "Subject \t: x\r\n\r\nb", 0, 0,
	  "HSubject|Subject \t: x\r\nEBb" },
	{ "no_body_no_empty_line", "From: a\r\nTo: b\r\n", 0, 0,
	  "HFrom|From: a\r\nHTo|To: b\r\nE" },
	{ "last_field_without_crlf_gets_one", "From: a\r\nTo: b", 0, 0,
	  "HFrom|From: a\r\nHTo|To: b\r\nE" },
	{ "empty_message", "", 0, 0, "E" },
	{ "only_empty_line_then_body", "\r\nbody", 0, 0, "EBbody" },
	{ "empty_body_after_empty_line", "A: 1\r\n\r\n", 0, 0, "HA|A: 1\r\nE" },
	{ "lone_cr_in_field_is_data", "A: 1\r2\r\n\r\n", 0, 0, "HA|A: 1\r2\r\nE" },
	{ "body_bytes_untouched_without_flag", "A: 1\r\n\r\nx\ny\r\rz\n", 0, 0,
	  "HA|A: 1\r\nEBx\ny\r\rz\n" },
	{ "bare_lf_normalised_with_flag", "A: 1\n b\nB: 2\n\nx\ny\r\nz\n", MSG_BARE_LF_OK, 0,
	  "HA|A: 1\r\n b\r\nHB|B: 2\r\nEBx\r\ny\r\nz\r\n" },
	{ "bare_lf_refused_without_flag", "A: 1\nB: 2\r\n\r\n", 0, -1,
	  "bare LF in header section" },
	{ "bare_lf_empty_line_refused_without_flag", "A: 1\r\n\nbody", 0, -1,
	  "bare LF in header section" },
	{ "line_without_colon_refused", "A: 1\r\nnot a header\r\n\r\n", 0, -1,
	  "header line without colon" },
	{ "mbox_from_line_refused", "From someone Mon Jan  1 10:00:00 2026\r\nA: 1\r\n\r\n", 0, -1,
	  "invalid header field name" },
	{ "empty_name_refused", ": x\r\n\r\n", 0, -1, "invalid header field name" },
	{ "continuation_first_refused", " A: 1\r\n\r\n", 0, -1,
	  "continuation line before any header field" },
	{ "bare_cr_line_refused", "A: 1\r\n\rB: 2\r\n\r\n", 0, -1, "bare CR in header section" },
};

START_TEST(msg_table_every_split)
{
	const struct msg_case *c = &msg_cases[_i];
	size_t len = strlen(c->in);

	for (size_t cut = 0; cut <= len; cut++) {
		struct rec r;
		const char *err;
		int rc = run(c->in, len, c->flags, cut, NULL, &r, &err);

		ck_assert_msg(rc == c->rc, "%s cut %zu: rc %d (%s)", c->name, cut, rc,
		    err ? err : "");
		if (rc == 0)
			ck_assert_msg(r.t.len == strlen(c->want) &&
			    memcmp(r.t.data, c->want, r.t.len) == 0,
			    "%s cut %zu: got [%s]", c->name, cut, buf_cstr(&r.t));
		else
			ck_assert_msg(err && strcmp(err, c->want) == 0,
			    "%s cut %zu: error %s", c->name, cut, err ? err : "(none)");
		buf_clear(&r.t);
	}
}
END_TEST

START_TEST(msg_byte_at_a_time_equals_whole)
{
	const char *in = "Received: from x\r\n\tby y\r\nFrom: a@b\r\n\r\nline1\r\n\r\n";
	struct rec whole, bytes;
	struct msg_parser *m;
	const char *err;

	ck_assert_int_eq(run(in, strlen(in), 0, 0, NULL, &whole, &err), 0);
	memset(&bytes, 0, sizeof(bytes));
	buf_init(&bytes.t, 1 << 20);
	m = msg_parser_new(NULL, 0, &rec_cb, &bytes);
	for (size_t i = 0; in[i]; i++)
		ck_assert_int_eq(msg_parser_feed(m, in + i, 1), 0);
	ck_assert_int_eq(msg_parser_finish(m), 0);
	ck_assert_str_eq(buf_cstr(&bytes.t), buf_cstr(&whole.t));
	ck_assert_uint_eq(msg_parser_header_count(m), 2);
	ck_assert(msg_parser_in_body(m));
	msg_parser_free(m);
	buf_clear(&whole.t);
	buf_clear(&bytes.t);
}
END_TEST

/*
 * Lines of every length from 0 to 47 bytes, folded, with a lone CR inside,
 * so that line ends fall at every offset of the 16-byte blocks a line is
 * scanned in: fed whole and split at every byte, the fields are the raw
 * lines, byte for byte.
 */
START_TEST(msg_long_lines_every_offset)
{
	struct buf in, want;

	buf_init(&in, 1 << 16);
	buf_init(&want, 1 << 16);
	for (size_t n = 0; n < 48; n++) {
		size_t start = in.len;

		buf_append_str(&in, "X-Line: ");
		for (size_t k = 0; k < n; k++)
			buf_append_char(&in, (char)('a' + k % 26));
		buf_append_str(&in, "\r\n ");
		for (size_t k = 0; k < 47 - n; k++)
			buf_append_char(&in, 'b');
		buf_append_char(&in, '\r');
		for (size_t k = 0; k < n % 19; k++)
			buf_append_char(&in, 'c');
		buf_append_str(&in, "\r\n");
		buf_printf(&want, "HX-Line|%.*s", (int)(in.len - start), in.data + start);
	}
	buf_append_str(&in, "\r\nbody");
	buf_append_str(&want, "EBbody");
	for (size_t cut = 0; cut <= in.len; cut++) {
		struct rec r;
		const char *err;

		ck_assert_int_eq(run(in.data, in.len, 0, cut, NULL, &r, &err), 0);
		ck_assert_msg(r.t.len == want.len && memcmp(r.t.data, want.data, want.len) == 0,
		    "cut %zu", cut);
		buf_clear(&r.t);
	}
	buf_clear(&in);
	buf_clear(&want);
}
END_TEST

START_TEST(msg_header_size_limit_counts_folding)
{
	struct msg_limits lim = { 16, 100 };
	struct rec r;
	const char *err;
	/* "A: 1234567890\r\n" is 15 bytes: fits; one more folded byte does not */
	const char *ok = "A: 1234567890\r\n\r\n";
	const char *big = "A: 1234567890\r\n x\r\n\r\n";

	ck_assert_int_eq(run(ok, strlen(ok), 0, 0, &lim, &r, &err), 0);
	buf_clear(&r.t);
	ck_assert_int_eq(run(big, strlen(big), 0, 5, &lim, &r, &err), -1);
	ck_assert_str_eq(err, "header field too large");
	buf_clear(&r.t);
}
END_TEST

START_TEST(msg_header_count_limit)
{
	struct msg_limits lim = { 1000, 2 };
	struct rec r;
	const char *err;

	ck_assert_int_eq(run("A: 1\r\nB: 2\r\n\r\n", 14, 0, 0, &lim, &r, &err), 0);
	buf_clear(&r.t);
	ck_assert_int_eq(run("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 20, 0, 0, &lim, &r, &err), -1);
	ck_assert_str_eq(err, "too many header fields");
	buf_clear(&r.t);
}
END_TEST

START_TEST(msg_callback_failure_stops_parser)
{
	struct rec r = { 0 };
	struct msg_parser *m;
	const char *in = "A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody";

	buf_init(&r.t, 4096);
	r.fail_at_field = 2;
	m = msg_parser_new(NULL, 0, &rec_cb, &r);
	ck_assert_int_eq(msg_parser_feed(m, in, strlen(in)), -1);
	ck_assert_str_eq(msg_parser_error(m), "callback");
	ck_assert_int_eq(msg_parser_feed(m, "x", 1), -1);
	ck_assert_int_eq(msg_parser_finish(m), -1);
	ck_assert_str_eq(buf_cstr(&r.t), "HA|A: 1\r\n");
	msg_parser_free(m);
	buf_clear(&r.t);
}
END_TEST

START_TEST(msg_feed_after_finish_refused)
{
	struct msg_parser *m = msg_parser_new(NULL, 0, NULL, NULL);

	ck_assert_int_eq(msg_parser_feed(m, "A: 1\r\n\r\nx", 9), 0);
	ck_assert_int_eq(msg_parser_finish(m), 0);
	ck_assert_int_eq(msg_parser_feed(m, "y", 1), -1);
	msg_parser_free(m);
}
END_TEST

/* msg_scan: what it finds in header lines, "|"-separated values, "+" when incomplete */
struct scan_case {
	const char *name;
	const char *in;
	const char *want;
};

static const struct scan_case scan_cases[] = {
	{ "scan_finds_from_after_a_colonless_line",
	  "Subject: s\r\nno colon\r\nFrom: <a@x.example>\r\n\r\n", " <a@x.example>\r\n" },
	{ "scan_keeps_folding", "From: a\r\n\t<a@x.example>\r\nX: y\r\n\r\n",
	  " a\r\n\t<a@x.example>\r\n" },
	{ "scan_case_and_wsp_before_colon", "fROM \t:a@x.example\r\n\r\n", "a@x.example\r\n" },
	{ "scan_every_field", "From: a\r\nTo: b\r\nFrom: c\r\n\r\n", " a\r\n| c\r\n" },
	{ "scan_stops_at_empty_line", "X: 1\r\n\r\nFrom: body@x.example\r\n", "" },
	{ "scan_similar_names_are_not_from", "From-X: a\r\nFromage: b\r\nX-From: c\r\n"
	  " From: d\r\nFrom no colon\r\n\r\n", "" },
	{ "scan_continuation_of_other_field", "X: 1\r\n From: a\r\n\r\n", "" },
	{ "scan_bare_lf_lines", "X: 1\nFrom: a\n\nFrom: b\n", " a\n" },
	{ "scan_over_the_field_limit_is_incomplete",
	  "From: 1\r\nFrom: 2\r\nFrom: 3\r\nFrom: 4\r\nFrom: 5\r\nFrom: 6\r\nFrom: 7\r\n"
	  "From: 8\r\nFrom: 9\r\n\r\n", "+" },
	{ "scan_over_the_size_limit_is_incomplete",
	  "From: 0123456789012345678901234567890123456789\r\n"
	  " 0123456789012345678901234567890123456789\r\n\r\n", "+" },
};

START_TEST(msg_scan_table)
{
	const struct scan_case *c = &scan_cases[_i];
	struct msg_scan sc;
	struct buf got;

	/* line by line and all at once give the same */
	for (int whole = 0; whole < 2; whole++) {
		msg_scan_init(&sc, "From", 64);
		buf_init(&got, 4096);
		if (whole)
			msg_scan_lines(&sc, c->in, strlen(c->in));
		for (const char *p = c->in; !whole && *p; ) {
			const char *lf = strchr(p, '\n');
			size_t n = lf ? (size_t)(lf - p) + 1 : strlen(p);

			msg_scan_line(&sc, p, n);
			p += n;
		}
		for (size_t i = 0; !sc.overflow && i < sc.count; i++) {
			struct span v = msg_scan_value(&sc, i);

			buf_printf(&got, "%s%.*s", i ? "|" : "", (int)v.len, v.p);
		}
		if (sc.overflow)
			buf_append_str(&got, "+");
		ck_assert_msg(strcmp(buf_cstr(&got), c->want) == 0, "%s (%s): got \"%s\"",
		    c->name, whole ? "whole" : "lines", buf_cstr(&got));
		buf_clear(&got);
		msg_scan_clear(&sc);
	}
}
END_TEST

START_TEST(msg_scan_line_is_matches_name_wsp_colon)
{
	ck_assert(msg_scan_line_is("authentication-results :x\r\n", 26, "Authentication-Results"));
	ck_assert(!msg_scan_line_is("Authentication-Results-X: x\r\n", 28, "Authentication-Results"));
	ck_assert(!msg_scan_line_is(" Authentication-Results: x\r\n", 28, "Authentication-Results"));
	ck_assert(!msg_scan_line_is("Authentication-Results", 22, "Authentication-Results"));
}
END_TEST

static Suite *
msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, msg_table_every_split, 0,
	    (int)(sizeof(msg_cases) / sizeof(msg_cases[0])));
	tcase_add_test(tc, msg_byte_at_a_time_equals_whole);
	tcase_add_test(tc, msg_long_lines_every_offset);
	tcase_add_test(tc, msg_header_size_limit_counts_folding);
	tcase_add_test(tc, msg_header_count_limit);
	tcase_add_test(tc, msg_callback_failure_stops_parser);
	tcase_add_test(tc, msg_feed_after_finish_refused);
	tcase_add_test(tc, msg_scan_line_is_matches_name_wsp_colon);
	tcase_add_loop_test(tc, msg_scan_table, 0,
	    (int)(sizeof(scan_cases) / sizeof(scan_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
