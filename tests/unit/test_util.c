/*
 * test_util.c - bounded buffer and span helpers; one log call, one line,
 * with the pid of the process that wrote it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "buf.h"
#include "log.h"
#include "netaddr.h"
#include "util.h"

START_TEST(buf_append_refuses_past_max_and_keeps_contents)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append_str(&b, "abcd"), 0);
	ck_assert_int_eq(buf_append_str(&b, "efghi"), -1);
	ck_assert(b.overflow);
	ck_assert_str_eq(buf_cstr(&b), "abcd");
	ck_assert_int_eq(buf_append_str(&b, "efgh"), 0);
	ck_assert_str_eq(buf_cstr(&b), "abcdefgh");
	ck_assert(b.overflow);	/* sticky */
	buf_reset(&b);
	ck_assert(!b.overflow);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_clear(&b);
}
END_TEST

START_TEST(buf_append_char_stops_at_max_below_the_first_allocation)
{
	struct buf b;

	/* the first allocation (64 bytes) is larger than max: max still holds */
	buf_init(&b, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(buf_append_char(&b, (char)('a' + i)), 0);
	ck_assert_int_eq(buf_append_char(&b, 'x'), -1);
	ck_assert(b.overflow);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	buf_clear(&b);
}
END_TEST

/* log_lines_of - log three lines into a file, one from a child; the text */
static void
log_lines_of(char *text, size_t size, pid_t *child)
{
	FILE *f = tmpfile();
	int saved = dup(2), status;
	size_t n;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	log_open("t", LOG_DEST_STDERR);
	log_info("before");
	if ((*child = fork()) == 0) {
		log_info("child");
		_exit(0);
	}
	waitpid(*child, &status, 0);
	log_info("after");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(text, 1, size - 1, f);
	text[n] = '\0';
	fclose(f);
}

START_TEST(log_names_each_process_by_its_own_pid)
{
	char text[512], want[128];
	pid_t child;

	log_lines_of(text, sizeof(text), &child);
	snprintf(want, sizeof(want), "t[%ld]: before\nt[%ld]: child\nt[%ld]: after\n",
	    (long)getpid(), (long)child, (long)getpid());
	ck_assert_str_eq(text, want);
}
END_TEST

START_TEST(buf_printf_formats_and_bounds)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	ck_assert_int_eq(buf_printf(&b, "%s", "0123456789"), -1);
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	buf_clear(&b);
}
END_TEST

START_TEST(buf_grows_over_many_appends)
{
	struct buf b;

	buf_init(&b, 100000);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(buf_append_char(&b, 'x'), -1);
	ck_assert_uint_eq(strlen(buf_cstr(&b)), 100000);
	buf_clear(&b);
}
END_TEST

START_TEST(span_trim_and_compare)
{
	struct span s = span_trim(span_from_cstr(" \tHello \r\n"));

	ck_assert_uint_eq(s.len, 5);
	ck_assert(span_eq_ci(s, "hELLO"));
	ck_assert(!span_eq_ci(s, "hell"));
	s = span_trim(span_from_cstr("   "));
	ck_assert_uint_eq(s.len, 0);
}
END_TEST

/* net_match - does text addr fall in net? */
static bool
net_match(const char *net, const char *addr)
{
	struct net_prefix n;
	unsigned char a[16];
	int family;

	ck_assert_int_eq(net_prefix_parse(net, strlen(net), &n), 0);
	ck_assert_int_eq(net_addr_parse(addr, strlen(addr), &family, a), 0);
	return net_prefix_match(&n, family, a);
}

/*
 * Every pair of bytes against the definition: equal after mapping A-Z to
 * a-z, nothing else (so '@' and '`', '[' and '{', 0xC1 and 0xE1 differ).
 */
START_TEST(ascii_mem_eq_ci_matches_every_byte_pair)
{
	for (unsigned x = 0; x < 256; x++)
		for (unsigned y = 0; y < 256; y++) {
			char a[3] = { 'k', (char)x, 'Z' }, b[3] = { 'K', (char)y, 'z' };
			unsigned lx = x >= 'A' && x <= 'Z' ? x + 32 : x;
			unsigned ly = y >= 'A' && y <= 'Z' ? y + 32 : y;

			ck_assert_msg(ascii_mem_eq_ci(a, b, 3) == (lx == ly), "%02x %02x", x, y);
		}
	ck_assert(ascii_mem_eq_ci("x", "y", 0));
}
END_TEST

START_TEST(netaddr_prefixes_parse_and_match)
{
	static const char *const bad[] = {
		"", "x", "192.0.2.1/33", "192.0.2.1/", "192.0.2.1/3a", "2001:db8::/129",
		"192.0.2.1/0032", "192.0.2.1 ",
	};
	struct net_prefix n;

	ck_assert(net_match("192.0.2.0/25", "192.0.2.127"));
	ck_assert(!net_match("192.0.2.0/25", "192.0.2.128"));
	ck_assert(net_match("192.0.2.7", "192.0.2.7"));
	ck_assert(!net_match("192.0.2.7", "192.0.2.6"));
	ck_assert(net_match("0.0.0.0/0", "203.0.113.9"));
	ck_assert(net_match("2001:db8::/33", "2001:db8:7fff::1"));
	ck_assert(!net_match("2001:db8::/33", "2001:db8:8000::1"));
	/* families never mix: a v4-mapped address is IPv6 here */
	ck_assert(!net_match("192.0.2.0/24", "::ffff:192.0.2.1"));
	ck_assert(!net_match("::/0", "192.0.2.1"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(net_prefix_parse(bad[i], strlen(bad[i]), &n) < 0, "%s", bad[i]);
}
END_TEST

/* log_stderr_of - what one log_info(fmt, arg) writes to stderr */
static size_t
log_stderr_of(const char *arg, char *out, size_t size)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	log_open("t", LOG_DEST_STDERR);
	log_info("v=%s end", arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return n;
}

START_TEST(log_line_escapes_control_characters)
{
	char out[LOG_LINE_MAX * 2], big[LOG_LINE_MAX * 2];
	char want[64];
	size_t n;

	log_stderr_of("a\r\nb: forged\x01\x7f\tz", out, sizeof(out));
	snprintf(want, sizeof(want), "t[%ld]: v=a\\r\\nb: forged\\x01\\x7f\\x09z end\n",
	    (long)getpid());
	ck_assert_str_eq(out, want);
	/* text longer than a line is cut, and still one line */
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = log_stderr_of(big, out, sizeof(out));
	ck_assert_uint_gt(n, LOG_LINE_MAX / 2);
	ck_assert_uint_le(n, LOG_LINE_MAX + 128);
	ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, buf_append_refuses_past_max_and_keeps_contents);
	tcase_add_test(tc, buf_printf_formats_and_bounds);
	tcase_add_test(tc, buf_append_char_stops_at_max_below_the_first_allocation);
	tcase_add_test(tc, log_names_each_process_by_its_own_pid);
	tcase_add_test(tc, buf_grows_over_many_appends);
	tcase_add_test(tc, span_trim_and_compare);
	tcase_add_test(tc, ascii_mem_eq_ci_matches_every_byte_pair);
	tcase_add_test(tc, netaddr_prefixes_parse_and_match);
	tcase_add_test(tc, log_line_escapes_control_characters);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(util_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
