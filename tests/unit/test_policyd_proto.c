/*
 * test_policyd_proto.c - the policy delegation protocol parser, fed bytes
 * without sockets: good requests, pipelined requests split at every offset,
 * and every kind of malformed input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd.h"
#include "util.h"

static const struct policyd_proto_limits test_limits = {
	.line_size_limit = 100,
	.request_size_limit = 1000,
	.attribute_count_limit = 12,
};

#define GOOD_REQUEST \
	"request=smtpd_access_policy\n" \
	"protocol_state=RCPT\n" \
	"protocol_name=ESMTP\n" \
	"client_address=192.0.2.1\n" \
	"client_name=mx.example.org\n" \
	"helo_name=mx.example.org\n" \
	"sender=a@example.org\n" \
	"recipient=b@example.net\n" \
	"queue_id=\n" \
	"instance=123.456.7\n" \
	"future_attribute=ignored=really\n" \
	"\n"

/* What one feed run produced: statuses in order, with the error of each. */
struct run {
	enum policyd_proto_status st[16];
	const char *err[16];
	char sender[16][64];
	size_t n;
	bool idle_at_end;
};

/* run_feed - feed input in chunks of at most chunk bytes, collect results */
static void
run_feed(const char *in, size_t len, size_t first, size_t chunk, struct run *r)
{
	struct policyd_proto p;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	policyd_proto_init(&p, &test_limits);
	while (off < len && r->n < ARRAY_LEN(r->st)) {
		size_t n = off == 0 ? first : chunk;
		enum policyd_proto_status st;
		size_t used;

		if (n > len - off)
			n = len - off;
		/* feed the chunk until it is used up, one request at a time */
		while (n > 0) {
			used = policyd_proto_feed(&p, in + off, n, &st);
			off += used;
			n -= used;
			if (st == POLICYD_PROTO_MORE)
				break;
			r->st[r->n] = st;
			r->err[r->n] = p.error;
			snprintf(r->sender[r->n], sizeof(r->sender[0]), "%s",
			    policyd_request_get(&p.req, POLICYD_ATTR_SENDER));
			r->n++;
			if (st == POLICYD_PROTO_FATAL) {
				off = len;
				break;
			}
			policyd_proto_next(&p);
		}
	}
	r->idle_at_end = policyd_proto_idle(&p);
	policyd_proto_clear(&p);
}

START_TEST(proto_parses_a_postfix_request)
{
	struct policyd_proto p;
	enum policyd_proto_status st;
	size_t used;

	policyd_proto_init(&p, &test_limits);
	used = policyd_proto_feed(&p, GOOD_REQUEST "tail", sizeof(GOOD_REQUEST) + 3, &st);
	ck_assert_uint_eq(used, sizeof(GOOD_REQUEST) - 1);
	ck_assert_int_eq(st, POLICYD_PROTO_REQUEST);
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_PROTOCOL_STATE), "RCPT");
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_CLIENT_ADDRESS), "192.0.2.1");
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_HELO_NAME), "mx.example.org");
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_SENDER), "a@example.org");
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_INSTANCE), "123.456.7");
	ck_assert_ptr_nonnull(p.req.attr[POLICYD_ATTR_QUEUE_ID]);
	ck_assert_str_eq(policyd_request_get(&p.req, POLICYD_ATTR_QUEUE_ID), "");
	ck_assert_ptr_null(p.req.attr[POLICYD_ATTR_SASL_USERNAME]);
	ck_assert_uint_eq(p.req.nattrs, 11);
	policyd_proto_next(&p);
	ck_assert(policyd_proto_idle(&p));
	policyd_proto_clear(&p);
}
END_TEST

/* Two pipelined requests (the second with a null sender) split at every offset. */
START_TEST(proto_pipelined_requests_split_at_every_offset)
{
	static const char two[] = GOOD_REQUEST
	    "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=\r\n"
	    "client_address=2001:db8::1\n\n";
	size_t len = sizeof(two) - 1;
	struct run r;

	for (size_t first = 1; first <= len; first++) {
		run_feed(two, len, first, len, &r);
		ck_assert_msg(r.n == 2, "split at %zu: %zu results", first, r.n);
		ck_assert_int_eq(r.st[0], POLICYD_PROTO_REQUEST);
		ck_assert_int_eq(r.st[1], POLICYD_PROTO_REQUEST);
		ck_assert_str_eq(r.sender[0], "a@example.org");
		ck_assert_str_eq(r.sender[1], "");
		ck_assert(r.idle_at_end);
	}
	for (size_t chunk = 1; chunk < 8; chunk++) {
		run_feed(two, len, chunk, chunk, &r);
		ck_assert_uint_eq(r.n, 2);
		ck_assert_int_eq(r.st[1], POLICYD_PROTO_REQUEST);
	}
}
END_TEST

#define NEXT_GOOD "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=ok@x\n\n"

static char long_line[200];
static char big_request[1200];
static char many_attrs[400];

static void
setup_inputs(void)
{
	memset(long_line, 'x', sizeof(long_line) - 1);
	memcpy(long_line, "sender=", 7);
	size_t n = 0;
	while (n + 60 < sizeof(big_request) - 2) {
		memcpy(big_request + n, "client_name=", 12);
		memset(big_request + n + 12, 'y', 47);
		big_request[n + 59] = '\n';
		n += 60;
	}
	big_request[n] = '\0';
	n = (size_t)snprintf(many_attrs, sizeof(many_attrs),
	    "request=smtpd_access_policy\nprotocol_state=RCPT\n");
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(many_attrs + n, sizeof(many_attrs) - n, "x%d=1\n", i);
	snprintf(many_attrs + n, sizeof(many_attrs) - n, "\n" NEXT_GOOD);
}

/* Malformed input: what the parser says, and whether the next request still works. */
static const struct {
	const char *name;
	const char *input;		/* NULL: built in setup_inputs */
	size_t len;			/* 0: strlen */
	enum policyd_proto_status expect;
	const char *why;
	bool next_ok;			/* a good request after it is still parsed */
} bad[] = {
	{ "line_without_equals", "request=smtpd_access_policy\nprotocol_state=RCPT\njunk\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "without \"=\"", true },
	{ "attribute_without_name", "request=smtpd_access_policy\nprotocol_state=RCPT\n=x\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "without a name", true },
	{ "nul_byte", "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a\0b\n\n" NEXT_GOOD,
	  sizeof("request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a\0b\n\n" NEXT_GOOD) - 1,
	  POLICYD_PROTO_BAD_REQUEST, "NUL or control", true },
	{ "control_byte", "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a\x01" "b\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "NUL or control", true },
	{ "binary_junk_lines", "\xff\xfe\x00\x01\x02\n\x80\x81\n\n" NEXT_GOOD,
	  sizeof("\xff\xfe\x00\x01\x02\n\x80\x81\n\n" NEXT_GOOD) - 1,
	  POLICYD_PROTO_BAD_REQUEST, "NUL or control", true },
	{ "repeated_attribute", "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a\nsender=b\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "repeated", true },
	{ "missing_request", "protocol_state=RCPT\nsender=a\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "no request attribute", true },
	{ "wrong_request_type", "request=junk_policy\nprotocol_state=RCPT\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "not smtpd_access_policy", true },
	{ "missing_protocol_state", "request=smtpd_access_policy\nsender=a\n\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "no protocol_state", true },
	{ "empty_request", "\n" NEXT_GOOD, 0,
	  POLICYD_PROTO_BAD_REQUEST, "no request attribute", true },
	{ "too_many_attributes", NULL, 0, POLICYD_PROTO_BAD_REQUEST, "attribute_count_limit", true },
	{ "over_long_line", NULL, 0, POLICYD_PROTO_FATAL, "line_size_limit", false },
	{ "over_long_request", NULL, 0, POLICYD_PROTO_FATAL, "request_size_limit", false },
};

/* bad_input - the input of case i */
static const char *
bad_input(int i, size_t *len)
{
	const char *in = bad[i].input;

	if (in == NULL) {
		if (strcmp(bad[i].name, "too_many_attributes") == 0)
			in = many_attrs;
		else if (strcmp(bad[i].name, "over_long_line") == 0)
			in = long_line;
		else
			in = big_request;
	}
	*len = bad[i].len ? bad[i].len : strlen(in);
	return in;
}

START_TEST(proto_rejects_malformed_input_at_every_split)
{
	size_t len;
	const char *in;
	struct run r;

	setup_inputs();
	in = bad_input(_i, &len);
	for (size_t first = 1; first <= len; first++) {
		run_feed(in, len, first, len, &r);
		ck_assert_msg(r.n >= 1, "%s split %zu: no result", bad[_i].name, first);
		ck_assert_msg(r.st[0] == bad[_i].expect, "%s split %zu: status %d",
		    bad[_i].name, first, r.st[0]);
		ck_assert_msg(r.err[0] != NULL && strstr(r.err[0], bad[_i].why) != NULL,
		    "%s: error \"%s\"", bad[_i].name, r.err[0] ? r.err[0] : "(none)");
		if (bad[_i].next_ok) {
			ck_assert_msg(r.n == 2 && r.st[1] == POLICYD_PROTO_REQUEST,
			    "%s split %zu: next request not parsed", bad[_i].name, first);
			ck_assert_str_eq(r.sender[1], "ok@x");
		} else {
			ck_assert_uint_eq(r.n, 1);
		}
	}
}
END_TEST

START_TEST(proto_fatal_is_detected_before_the_newline_arrives)
{
	struct policyd_proto p;
	enum policyd_proto_status st = POLICYD_PROTO_MORE;
	char chunk[64];
	size_t total = 0;

	memset(chunk, 'z', sizeof(chunk));
	policyd_proto_init(&p, &test_limits);
	/* no newline ever: the parser must stop at the limit, not buffer forever */
	while (st == POLICYD_PROTO_MORE && total < 10000) {
		policyd_proto_feed(&p, chunk, sizeof(chunk), &st);
		total += sizeof(chunk);
	}
	ck_assert_int_eq(st, POLICYD_PROTO_FATAL);
	ck_assert_uint_le(total, test_limits.line_size_limit + sizeof(chunk));
	ck_assert_uint_le(p.line.len, test_limits.line_size_limit);
	policyd_proto_clear(&p);
}
END_TEST

START_TEST(proto_half_request_is_not_idle_and_gives_no_verdict)
{
	static const char half[] = "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@b";
	struct run r;

	run_feed(half, sizeof(half) - 1, 5, 5, &r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert(!r.idle_at_end);
}
END_TEST

START_TEST(proto_crlf_lines_are_tolerated)
{
	static const char crlf[] = "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n"
	    "sender=c@d\r\n\r\n";
	struct run r;

	run_feed(crlf, sizeof(crlf) - 1, 3, 3, &r);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.st[0], POLICYD_PROTO_REQUEST);
	ck_assert_str_eq(r.sender[0], "c@d");
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("policyd_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, proto_parses_a_postfix_request);
	tcase_add_test(tc, proto_pipelined_requests_split_at_every_offset);
	tcase_add_loop_test(tc, proto_rejects_malformed_input_at_every_split, 0,
	    (int)ARRAY_LEN(bad));
	tcase_add_test(tc, proto_fatal_is_detected_before_the_newline_arrives);
	tcase_add_test(tc, proto_half_request_is_not_idle_and_gives_no_verdict);
	tcase_add_test(tc, proto_crlf_lines_are_tolerated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
