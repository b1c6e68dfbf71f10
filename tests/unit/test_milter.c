/*
 * test_milter.c - the milter protocol library (common/milter): framing,
 * command parsing, replies and option negotiation, byte for byte against the
 * layouts sendmail's libmilter and Postfix's milter8.c use.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"

/* pkt - a packet with its length prefix from command byte and data */
static size_t
pkt(char *out, char cmd, const char *data, size_t len)
{
	uint32_t n = (uint32_t)len + 1;

	out[0] = (char)(n >> 24);
	out[1] = (char)(n >> 16);
	out[2] = (char)(n >> 8);
	out[3] = (char)n;
	out[4] = cmd;
	memcpy(out + 5, data, len);
	return len + 5;
}

/* parse - frame and parse one packet from (cmd, data) */
static enum milter_cmd_status
parse(char cmd, const char *data, size_t len, struct milter_cmd *c)
{
	static char wire[70000];
	struct milter_packet pk;
	size_t used, n = pkt(wire, cmd, data, len);

	ck_assert_int_eq(milter_frame(wire, n, 65536, &pk, &used), MILTER_FRAME_OK);
	ck_assert_uint_eq(used, n);
	return milter_cmd_parse(&pk, c);
}

static bool
span_is(struct span s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

START_TEST(milter_frame_waits_for_whole_packet)
{
	char wire[64];
	struct milter_packet pk;
	size_t used, n = pkt(wire, 'H', "mx.example", 11);

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(milter_frame(wire, i, 1024, &pk, &used),
		    MILTER_FRAME_MORE);
	ck_assert_int_eq(milter_frame(wire, n, 1024, &pk, &used), MILTER_FRAME_OK);
	ck_assert_int_eq(pk.cmd, 'H');
	ck_assert_uint_eq(pk.data.len, 11);
}
END_TEST

START_TEST(milter_frame_refuses_length_zero_and_over_limit_from_prefix)
{
	struct milter_packet pk;
	size_t used;

	ck_assert_int_eq(milter_frame("\0\0\0\0", 4, 1024, &pk, &used),
	    MILTER_FRAME_EMPTY);
	/* only the prefix arrived: refused before any data is waited for */
	ck_assert_int_eq(milter_frame("\0\0\4\1", 4, 1024, &pk, &used),
	    MILTER_FRAME_TOO_BIG);
	ck_assert_int_eq(milter_frame("\xff\xff\xff\xff", 4, 1024, &pk, &used),
	    MILTER_FRAME_TOO_BIG);
	ck_assert_int_eq(milter_frame("\0\0\4\0", 4, 1024, &pk, &used),
	    MILTER_FRAME_MORE);
}
END_TEST

START_TEST(milter_cmd_optneg_as_postfix_sends)
{
	struct milter_cmd c;

	ck_assert_int_eq(parse('O', "\0\0\0\6\0\0\1\xff\0\x1f\xff\xff", 12, &c),
	    MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.optneg.version, 6);
	ck_assert_uint_eq(c.u.optneg.actions, 0x1ff);
	ck_assert_uint_eq(c.u.optneg.protocol, 0x1fffff);
	ck_assert_int_eq(parse('O', "\0\0\0\6\0\0\1", 7, &c), MILTER_CMD_SHORT);
}
END_TEST

START_TEST(milter_cmd_connect_inet_unix_unknown)
{
	struct milter_cmd c;

	ck_assert_int_eq(parse('C', "mx.example\0004\x04\xd2" "192.0.2.1", 24, &c),
	    MILTER_CMD_OK);
	ck_assert(span_is(c.u.connect.hostname, "mx.example"));
	ck_assert_int_eq(c.u.connect.family, '4');
	ck_assert_uint_eq(c.u.connect.port, 1234);
	ck_assert(span_is(c.u.connect.address, "192.0.2.1"));
	ck_assert_int_eq(parse('C', "[2001:db8::1]\0006\0\x19" "2001:db8::1", 29, &c),
	    MILTER_CMD_OK);
	ck_assert(span_is(c.u.connect.address, "2001:db8::1"));
	ck_assert_int_eq(parse('C', "localhost\0U", 11, &c), MILTER_CMD_OK);
	ck_assert_int_eq(c.u.connect.family, 'U');
	ck_assert_uint_eq(c.u.connect.address.len, 0);
	ck_assert_int_eq(parse('C', "h\0X\0\0a", 7, &c), MILTER_CMD_BAD_FAMILY);
	ck_assert_int_eq(parse('C', "h\0004\0", 4, &c), MILTER_CMD_SHORT);
	ck_assert_int_eq(parse('C', "h\0004\0\0a", 6, &c), MILTER_CMD_UNTERMINATED);
	ck_assert_int_eq(parse('C', "h\0004\0\0a\0x", 8, &c), MILTER_CMD_TRAILING);
	ck_assert_int_eq(parse('C', "h", 1, &c), MILTER_CMD_UNTERMINATED);
}
END_TEST

START_TEST(milter_cmd_macro_pairs_and_braces)
{
	struct milter_cmd c;
	static const char d[] = "Mi\0ABC123\0{auth_authen}\0alice\0";

	ck_assert_int_eq(parse('D', d, sizeof(d) - 1, &c), MILTER_CMD_OK);
	ck_assert_int_eq(c.u.macro.stage, 'M');
	ck_assert_uint_eq(c.u.macro.n, 2);
	ck_assert(milter_macro_name_eq(c.u.macro.v[0].name, "i"));
	ck_assert(span_is(c.u.macro.v[0].value, "ABC123"));
	ck_assert(milter_macro_name_eq(c.u.macro.v[1].name, "auth_authen"));
	ck_assert(milter_macro_name_eq(c.u.macro.v[1].name, "{auth_authen}"));
	ck_assert(!milter_macro_name_eq(c.u.macro.v[1].name, "auth_type"));
	ck_assert(span_is(c.u.macro.v[1].value, "alice"));
	/* a stage alone is an empty list; a name without a value is malformed */
	ck_assert_int_eq(parse('D', "C", 1, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.macro.n, 0);
	ck_assert_int_eq(parse('D', "Ci\0", 3, &c), MILTER_CMD_UNTERMINATED);
	ck_assert_int_eq(parse('D', "C\0v\0", 4, &c), MILTER_CMD_BAD_VALUE);
	ck_assert_int_eq(parse('D', "", 0, &c), MILTER_CMD_SHORT);
}
END_TEST

START_TEST(milter_cmd_macro_limit)
{
	struct milter_cmd c;
	char d[1 + (MILTER_MACRO_LIMIT + 1) * 4];
	size_t n = 0;

	d[n++] = 'C';
	for (int i = 0; i <= MILTER_MACRO_LIMIT; i++) {
		memcpy(d + n, "a\0b\0", 4);
		n += 4;
	}
	ck_assert_int_eq(parse('D', d, n, &c), MILTER_CMD_TOO_MANY);
	ck_assert_int_eq(parse('D', d, n - 4, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.macro.n, MILTER_MACRO_LIMIT);
}
END_TEST

START_TEST(milter_cmd_mail_rcpt_header_body_unknown)
{
	struct milter_cmd c;
	static const char mail[] = "<a@example.com>\0SIZE=100\0BODY=8BITMIME\0";
	static const char hdr[] = "Subject\0 hello\n\tworld\0";

	ck_assert_int_eq(parse('M', mail, sizeof(mail) - 1, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.args.n, 3);
	ck_assert(span_is(c.u.args.v[0], "<a@example.com>"));
	ck_assert(span_is(c.u.args.v[2], "BODY=8BITMIME"));
	ck_assert_int_eq(parse('R', "<b@example.net>\0", 16, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.args.n, 1);
	ck_assert_int_eq(parse('R', "", 0, &c), MILTER_CMD_UNTERMINATED);
	ck_assert_int_eq(parse('M', "<a>", 3, &c), MILTER_CMD_UNTERMINATED);
	ck_assert_int_eq(parse('L', hdr, sizeof(hdr) - 1, &c), MILTER_CMD_OK);
	ck_assert(span_is(c.u.header.name, "Subject"));
	ck_assert(span_is(c.u.header.value, " hello\n\tworld"));
	ck_assert_int_eq(parse('L', "\0v\0", 3, &c), MILTER_CMD_BAD_VALUE);
	ck_assert_int_eq(parse('L', "Subject\0v", 9, &c), MILTER_CMD_UNTERMINATED);
	ck_assert_int_eq(parse('B', "a\0b\r\n", 5, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.body.len, 5);
	ck_assert_int_eq(parse('E', "", 0, &c), MILTER_CMD_OK);
	ck_assert_uint_eq(c.u.body.len, 0);
	ck_assert_int_eq(parse('U', "VRFY x\0", 7, &c), MILTER_CMD_OK);
	ck_assert(span_is(c.u.unknown, "VRFY x"));
	ck_assert_int_eq(parse('H', "mx\0x", 4, &c), MILTER_CMD_TRAILING);
}
END_TEST

START_TEST(milter_cmd_unknown_command_byte)
{
	struct milter_cmd c;

	ck_assert_int_eq(parse('Z', "", 0, &c), MILTER_CMD_BAD_COMMAND);
	ck_assert_int_eq(parse('c', "", 0, &c), MILTER_CMD_BAD_COMMAND);
	ck_assert_int_eq(parse('A', "", 0, &c), MILTER_CMD_OK);
	ck_assert_int_eq(c.code, MILTER_CMD_ABORT);
}
END_TEST

START_TEST(milter_reply_packets_byte_exact)
{
	struct buf b;

	buf_init(&b, 4096);
	milter_reply_simple(&b, MILTER_REPLY_CONTINUE);
	ck_assert_uint_eq(b.len, 5);
	ck_assert(memcmp(b.data, "\0\0\0\1c", 5) == 0);
	buf_reset(&b);
	milter_reply_code(&b, 550, "5.7.1", "no\r\nway");
	ck_assert_uint_eq(b.len, 5 + 18);
	ck_assert(memcmp(b.data, "\0\0\0\x13y550 5.7.1 no  way\0", 23) == 0);
	buf_reset(&b);
	milter_reply_header(&b, MILTER_REPLY_INSHEADER, 0,
	    SPAN_LIT("Authentication-Results"), SPAN_LIT(" mx; spf=pass\r\n\tx=y"));
	ck_assert(memcmp(b.data, "\0\0\0\x2fi\0\0\0\0Authentication-Results\0"
	    " mx; spf=pass\n\tx=y\0", 51) == 0);
	ck_assert_uint_eq(b.len, 51);
	buf_reset(&b);
	milter_reply_header(&b, MILTER_REPLY_CHGHEADER, 2, SPAN_LIT("X-A"),
	    SPAN_LIT(""));
	ck_assert_uint_eq(b.len, 14);
	ck_assert(memcmp(b.data, "\0\0\0\x0am\0\0\0\2X-A\0\0", 14) == 0);
	buf_reset(&b);
	milter_reply_header(&b, MILTER_REPLY_ADDHEADER, 9, SPAN_LIT("X"),
	    SPAN_LIT(" v"));
	ck_assert(memcmp(b.data, "\0\0\0\6hX\0 v\0", 10) == 0);
	buf_reset(&b);
	milter_reply_quarantine(&b, "dmarc");
	ck_assert(memcmp(b.data, "\0\0\0\7qdmarc\0", 11) == 0);
	ck_assert(!b.overflow);
	buf_clear(&b);
}
END_TEST

START_TEST(milter_optneg_intersects_and_lists_macros)
{
	struct milter_optneg mta = { 6, 0x1ff, 0x1fffff }, agreed;
	struct milter_want w = { 0 };
	struct buf b;

	w.actions = MILTER_ACT_ADDHDRS | MILTER_ACT_CHGHDRS;
	w.steps_off = MILTER_P_NODATA | MILTER_P_NOUNKNOWN;
	w.no_reply = MILTER_P_NR_HDR | MILTER_P_NR_BODY;
	w.flags = MILTER_P_HDR_LEADSPC;
	w.macros[MILTER_MACROS_ENVFROM] = "i {auth_authen}";
	buf_init(&b, 4096);
	ck_assert_int_eq(milter_optneg_answer(&mta, &w, &agreed, &b), MILTER_OPTNEG_OK);
	ck_assert_uint_eq(agreed.version, 6);
	ck_assert_uint_eq(agreed.actions, 0x111);
	ck_assert_uint_eq(agreed.protocol, 0x180380);
	ck_assert_uint_eq(b.len, 5 + 12 + 4 + 16);
	ck_assert(memcmp(b.data, "\0\0\0\x21O\0\0\0\6\0\0\1\x11\0\x18\3\x80"
	    "\0\0\0\2i {auth_authen}\0", 37) == 0);
	/* an MTA offering no NR_* bits: we ask none and answer every step */
	mta.protocol = 0x37f;	/* steps, no NR_HDR */
	mta.actions = 0x3f;
	buf_reset(&b);
	ck_assert_int_eq(milter_optneg_answer(&mta, &w, &agreed, &b), MILTER_OPTNEG_OK);
	ck_assert_uint_eq(agreed.protocol, 0x300);
	ck_assert_uint_eq(agreed.actions, 0x11);	/* no lists without SETSYMLIST */
	ck_assert_uint_eq(b.len, 17);
	mta.actions = MILTER_ACT_ADDHDRS;
	ck_assert_int_eq(milter_optneg_answer(&mta, &w, &agreed, &b),
	    MILTER_OPTNEG_NO_ACTIONS);
	mta.version = 1;
	ck_assert_int_eq(milter_optneg_answer(&mta, &w, &agreed, &b),
	    MILTER_OPTNEG_OLD_VERSION);
	ck_assert_uint_eq(milter_optneg_no_reply(MILTER_CMD_HEADER), MILTER_P_NR_HDR);
	ck_assert_uint_eq(milter_optneg_no_reply(MILTER_CMD_EOB), 0);
	buf_clear(&b);
}
END_TEST

static Suite *
milter_suite(void)
{
	Suite *s = suite_create("milter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, milter_frame_waits_for_whole_packet);
	tcase_add_test(tc, milter_frame_refuses_length_zero_and_over_limit_from_prefix);
	tcase_add_test(tc, milter_cmd_optneg_as_postfix_sends);
	tcase_add_test(tc, milter_cmd_connect_inet_unix_unknown);
	tcase_add_test(tc, milter_cmd_macro_pairs_and_braces);
	tcase_add_test(tc, milter_cmd_macro_limit);
	tcase_add_test(tc, milter_cmd_mail_rcpt_header_body_unknown);
	tcase_add_test(tc, milter_cmd_unknown_command_byte);
	tcase_add_test(tc, milter_reply_packets_byte_exact);
	tcase_add_test(tc, milter_optneg_intersects_and_lists_macros);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(milter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
