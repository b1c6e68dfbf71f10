/*
 * test_report_failure.c - DMARC failure reports (RFC 9991): when fo= asks
 * for one, the RFC 6591 message (its MIME structure parsed by Python's
 * email package, tests/unit/report_afrf_check.py), redaction of local parts,
 * the SPF-DNS fields (folded, escaped, bounded), the queue file format, the
 * hourly rate limit per policy domain, and the ruf= override of an external
 * destination's confirming record.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "report.h"
#include "report_failure.h"

/* ---- fo= ---- */

static const struct {
	const char *name;
	unsigned fo;
	bool dkim_ok, spf_ok, dkim_failed, spf_failed;
	enum report_fail_kind want;
} fo_cases[] = {
	{ "fo0_both_unaligned", DMARC_FO_0, false, false, true, true, REPORT_FAIL_DMARC },
	{ "fo0_dkim_aligned_no_report", DMARC_FO_0, true, false, false, true, REPORT_FAIL_NONE },
	{ "fo0_spf_aligned_no_report", DMARC_FO_0, false, true, true, false, REPORT_FAIL_NONE },
	{ "fo1_one_unaligned", DMARC_FO_1, true, false, false, true, REPORT_FAIL_DMARC },
	{ "fo1_all_aligned_no_report", DMARC_FO_1, true, true, false, false, REPORT_FAIL_NONE },
	{ "fod_signature_failed", DMARC_FO_D, true, true, true, false, REPORT_FAIL_DKIM },
	{ "fod_no_failed_signature", DMARC_FO_D, false, false, false, true, REPORT_FAIL_NONE },
	{ "fos_spf_failed", DMARC_FO_S, true, true, false, true, REPORT_FAIL_SPF },
	{ "fos_spf_not_failed", DMARC_FO_S, false, false, true, false, REPORT_FAIL_NONE },
	{ "fod_s_spf_only", DMARC_FO_D | DMARC_FO_S, true, true, false, true, REPORT_FAIL_SPF },
	{ "fo0_1_dmarc_first", DMARC_FO_0 | DMARC_FO_1 | DMARC_FO_D, false, true, true, false,
	  REPORT_FAIL_DMARC },
	{ "fo_none", 0, false, false, true, true, REPORT_FAIL_NONE },
};

START_TEST(report_failure_fo_decides)
{
	struct report_fail_facts f = { fo_cases[_i].fo, fo_cases[_i].dkim_ok,
	    fo_cases[_i].spf_ok, fo_cases[_i].dkim_failed, fo_cases[_i].spf_failed };

	ck_assert_msg(report_fail_due(&f) == fo_cases[_i].want, "%s: got %d",
	    fo_cases[_i].name, report_fail_due(&f));
}
END_TEST

/* ---- redaction ---- */

static const struct {
	const char *name, *in;
	enum report_redact_mode mode;
	const char *want;
} redact_cases[] = {
	{ "keep", "From: <boss@example.com>", REPORT_REDACT_KEEP, "From: <boss@example.com>" },
	{ "remove_angle", "From: Boss <boss.x+y@example.com>\r\n", REPORT_REDACT_REMOVE,
	  "From: Boss <redacted@example.com>\r\n" },
	{ "remove_bare_and_list", "To: a@x.example, b_c@y.example", REPORT_REDACT_REMOVE,
	  "To: redacted@x.example, redacted@y.example" },
	{ "remove_quoted", "From: <\"john q\"@example.com>", REPORT_REDACT_REMOVE,
	  "From: <redacted@example.com>" },
	{ "remove_quoted_escape", "x \"a\\\"b\"@example.com", REPORT_REDACT_REMOVE,
	  "x redacted@example.com" },
	{ "remove_unpaired_quote", "<x\"y@example.com>", REPORT_REDACT_REMOVE,
	  "<redacted@example.com>" },
	{ "remove_received_for", "Received: by mx for <rcpt@example.net>; Mon",
	  REPORT_REDACT_REMOVE, "Received: by mx for <redacted@example.net>; Mon" },
	{ "no_local_part", "user <@example.com>", REPORT_REDACT_REMOVE, "user <@example.com>" },
	{ "hash_stable", "a@x.example b@x.example a@y.example", REPORT_REDACT_HASH,
	  "h-HASHA@x.example h-HASHB@x.example h-HASHA@y.example" },
};

START_TEST(report_failure_redacts_local_parts)
{
	struct buf out, a, b;
	char want[256];

	buf_init(&out, 4096);
	report_redact(redact_cases[_i].in, strlen(redact_cases[_i].in), redact_cases[_i].mode,
	    "key", &out);
	if (redact_cases[_i].mode != REPORT_REDACT_HASH) {
		ck_assert_msg(strcmp(buf_cstr(&out), redact_cases[_i].want) == 0,
		    "%s: got [%s]", redact_cases[_i].name, buf_cstr(&out));
		buf_clear(&out);
		return;
	}
	/* the same local part gives the same hash; another gives another */
	buf_init(&a, 256);
	buf_init(&b, 256);
	report_redact("a@z", 3, REPORT_REDACT_HASH, "key", &a);
	report_redact("b@z", 3, REPORT_REDACT_HASH, "key", &b);
	ck_assert_uint_eq(a.len, 2 + 16 + 2);
	ck_assert_str_ne(buf_cstr(&a), buf_cstr(&b));
	snprintf(want, sizeof(want), "%.*s@x.example %.*s@x.example %.*s@y.example",
	    (int)a.len - 2, a.data, (int)b.len - 2, b.data, (int)a.len - 2, a.data);
	ck_assert_str_eq(buf_cstr(&out), want);
	/* another key, another hash */
	buf_reset(&b);
	report_redact("a@z", 3, REPORT_REDACT_HASH, "other", &b);
	ck_assert_str_ne(buf_cstr(&a), buf_cstr(&b));
	buf_clear(&a);
	buf_clear(&b);
	buf_clear(&out);
}
END_TEST

/* ---- the message ---- */

/* the SPF records and SPF alignment afrf_sample reports */
static const struct spf_records *sample_records;
static bool sample_spf_aligned;

/* afrf_sample - a report of kind with body or not into out; 0 or -1 */
static int
afrf_sample(struct buf *out, enum report_fail_kind kind, bool body)
{
	static const struct dmarc_report_dkim dk[] = {
		{ "other.example", "s1", DMARC_AUTH_PASS },
		{ "mail.example.com", "sel", DMARC_AUTH_FAIL },
	};
	static const char hdrs[] = "Received: from x by mx for <redacted@example.net>\r\n"
	    "From: Boss <redacted@example.com>\r\nSubject: hello\r\n"
	    "Message-ID: <redacted@x.example>\r\n";
	struct report_failure f = {
		.kind = kind, .from = "dmarc-noreply@mx.example.net",
		.reporting_mta = "mx.example.net", .user_agent = "mailauth-reinject/1.0",
		.authserv_id = "mx.example.net", .policy_domain = "example.com",
		.header_from = "example.com", .org_domain = "example.com",
		.source_ip = "192.0.2.7", .mail_from = "redacted@spoof.example",
		.envelope_id = "4ABC123", .delivery_result = "reject",
		.dmarc_result = "fail", .spf_result = "fail", .spf_domain = "spoof.example",
		.dkim = dk, .ndkim = 2, .arrival = 86400, .message_id = "1.ab.0@mx.example.net",
		.headers = hdrs, .headers_len = sizeof(hdrs) - 1,
		.body = body ? "hello\r\n" : NULL, .body_len = body ? 7 : 0,
		.spf_records = sample_records, .spf_aligned_pass = sample_spf_aligned,
	};

	return report_failure_build(&f, out);
}

/* afrf_check - Python's email package on the report in out; mode: the
 * third part's expectation for report_afrf_check.py */
static void
afrf_check(const struct buf *out, const char *mode)
{
	char path[] = "/tmp/test_afrf.XXXXXX", cmd[512];
	const char *src = getenv("MAILAUTH_SRC");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, out->data, out->len), (ssize_t)out->len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/unit/report_afrf_check.py' '%s' %s",
	    src ? src : "..", path, mode);
	ck_assert_int_eq(system(cmd), 0);
	unlink(path);
}

START_TEST(report_failure_message_is_rfc6591)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DMARC, false), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nAuth-Failure: dmarc\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nIdentity-Alignment: dkim, spf\r\n"));
	/* the failed signature of an aligned domain; not the passing other one */
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nDKIM-Domain: mail.example.com\r\n"
	    "DKIM-Identity: @mail.example.com\r\nDKIM-Selector: sel\r\n"));
	ck_assert_ptr_null(strstr(out.data, "DKIM-Domain: other.example"));
	ck_assert_ptr_null(strstr(out.data, "\nTo:"));
	afrf_check(&out, "headers");
	buf_reset(&out);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DMARC, true), 0);
	afrf_check(&out, "message");
	buf_reset(&out);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_SPF, false), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nAuth-Failure: spf\r\n"));
	buf_clear(&out);
}
END_TEST

/* spf_dns_count - SPF-DNS fields in (s) */
static int
spf_dns_count(const char *s)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, "\nSPF-DNS: ")) != NULL; p++)
		n++;
	return n;
}

/* spf_dns_unfold - the n-th SPF-DNS field of s unfolded (RFC 5322 §3.2.2:
 * CRLF before a blank removed) into out; every line of it at most 78 */
static void
spf_dns_unfold(const char *s, int n, char *out, size_t size)
{
	const char *p = s, *end;
	size_t k = 0, col = 0;

	for (int i = 0; i <= n; i++)
		ck_assert_ptr_nonnull(p = strstr(p + 1, "\nSPF-DNS: "));
	p++;
	end = strstr(p, "\"\r\n");
	ck_assert_ptr_nonnull(end);
	for (; p <= end && k + 1 < size; p++) {
		if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
			ck_assert_uint_le(col, 78);
			col = 0;
			p++;
			continue;
		}
		out[k++] = *p;
		col++;
	}
	ck_assert_uint_le(col, 78);
	out[k] = '\0';
}

START_TEST(report_failure_spf_dns_field)
{
	struct spf_records r;
	struct buf out, longrec, want;
	char got[8192], run[700];

	memset(&r, 0, sizeof(r));
	buf_init(&longrec, 4096);
	buf_init(&want, 8192);
	buf_append_str(&longrec, "v=spf1");
	for (int i = 0; i < 30; i++)
		buf_printf(&longrec, " ip4:198.51.100.%d", i);
	buf_append_str(&longrec, " exp=\"q\\\x01\xff\t-all");
	memset(run, 'a', sizeof(run));
	ck_assert(spf_records_add(&r, "v=spf1 ip4:192.0.2.0/24 -all", 28));
	ck_assert(spf_records_add(&r, longrec.data, longrec.len));
	ck_assert(spf_records_add(&r, run, sizeof(run)));	/* too long a line */
	sample_records = &r;
	buf_init(&out, 1 << 20);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DMARC, false), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\r\nSPF-DNS: txt : spoof.example : "
	    "\"v=spf1 ip4:192.0.2.0/24 -all\"\r\n"));
	ck_assert_int_eq(spf_dns_count(out.data), 2);
	/* folded before blanks; quotes and backslashes as quoted-pairs,
	 * controls and 8-bit bytes as '?', the tab as a blank */
	spf_dns_unfold(out.data, 1, got, sizeof(got));
	buf_append_str(&want, "SPF-DNS: txt : spoof.example : \"");
	buf_append(&want, longrec.data, longrec.len - 15);
	buf_append_str(&want, " exp=\\\"q\\\\?? -all\"");
	ck_assert_str_eq(got, buf_cstr(&want));
	ck_assert_ptr_nonnull(strstr(out.data, "\r\n ip4:"));
	afrf_check(&out, "headers");
	/* SPF gave an aligned pass: not about SPF, no SPF-DNS */
	sample_spf_aligned = true;
	buf_reset(&out);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DMARC, false), 0);
	ck_assert_int_eq(spf_dns_count(out.data), 0);
	sample_spf_aligned = false;
	/* a signature report (fo=d) is not about SPF */
	buf_reset(&out);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DKIM, false), 0);
	ck_assert_int_eq(spf_dns_count(out.data), 0);
	buf_reset(&out);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_SPF, false), 0);
	ck_assert_int_eq(spf_dns_count(out.data), 2);
	sample_records = NULL;
	buf_clear(&out);
	buf_clear(&longrec);
	buf_clear(&want);
}
END_TEST

START_TEST(report_failure_spf_records_bound)
{
	struct spf_records r;
	char big[SPF_RECORDS_SIZE];

	memset(&r, 0, sizeof(r));
	memset(big, 'x', sizeof(big));
	ck_assert(spf_records_add(&r, big, sizeof(big)));	/* exactly full */
	ck_assert(!spf_records_add(&r, big, 1));
	memset(&r, 0, sizeof(r));
	ck_assert(spf_records_add(&r, big, sizeof(big) - 10));
	ck_assert(!spf_records_add(&r, big, 11));	/* does not fit whole: left out */
	ck_assert(spf_records_add(&r, big, 10));
	ck_assert_uint_eq(r.n, 2);
	for (int i = 0; i < SPF_RECORDS_LIMIT; i++)
		spf_records_add(&r, big, 0);
	ck_assert_uint_eq(r.n, SPF_RECORDS_LIMIT);
}
END_TEST

START_TEST(report_failure_message_size_limit)
{
	struct buf out;

	buf_init(&out, 512);
	ck_assert_int_eq(afrf_sample(&out, REPORT_FAIL_DMARC, false), -1);
	buf_clear(&out);
}
END_TEST

/* ---- queue file ---- */

START_TEST(report_failure_queue_file_round_trip)
{
	struct buf b;
	struct report_fjob j;
	const char msg[] = "From: x\r\n\r\nbody\r\n";

	buf_init(&b, 4096);
	ck_assert_int_eq(report_fjob_format(&b, "example.com",
	    "mailto:a@example.com mailto:b@example.net!10k", msg, sizeof(msg) - 1), 0);
	ck_assert_int_eq(report_fjob_parse(b.data, b.len, &j), REPORT_FJOB_OK);
	ck_assert_str_eq(j.domain, "example.com");
	ck_assert_str_eq(j.ruf, "mailto:a@example.com mailto:b@example.net!10k");
	ck_assert_uint_eq(j.msg_len, sizeof(msg) - 1);
	ck_assert_int_eq(memcmp(j.msg, msg, j.msg_len), 0);
	/* every proper prefix is a file still being written */
	for (size_t n = 0; n < b.len; n++)
		ck_assert_msg(report_fjob_parse(b.data, n, &j) == REPORT_FJOB_SHORT,
		    "prefix %zu", n);
	/* longer than announced, or another magic: malformed */
	buf_append_str(&b, "x");
	ck_assert_int_eq(report_fjob_parse(b.data, b.len, &j), REPORT_FJOB_BAD);
	ck_assert_int_eq(report_fjob_parse("MAILAUTH-FAILURE 2\n", 19, &j), REPORT_FJOB_BAD);
	ck_assert_int_eq(report_fjob_parse("MAILAUTH-FAILURE 1\ndomain x\nruf y\nsize -1\n\n",
	    43, &j), REPORT_FJOB_BAD);
	buf_clear(&b);
}
END_TEST

/* ---- rate limit ---- */

START_TEST(report_failure_rate_limit_per_domain_and_hour)
{
	struct report_rate r = { 0 }, back = { 0 };
	struct buf t;

	for (int i = 0; i < 3; i++) {
		ck_assert(report_rate_allows(&r, "example.com", 100, 3));
		report_rate_count(&r, "example.com", 100);
	}
	ck_assert(!report_rate_allows(&r, "example.com", 100, 3));
	ck_assert(!report_rate_allows(&r, "EXAMPLE.com", 100, 3));
	/* another domain has its own count; the next hour starts again */
	ck_assert(report_rate_allows(&r, "example.org", 100, 3));
	ck_assert(report_rate_allows(&r, "example.com", 101, 3));
	/* the counts survive the file; other hours and bad lines are dropped */
	buf_init(&t, 4096);
	report_rate_save(&r, &t);
	buf_append_str(&t, "99 7 old.example\ngarbage\n100 x bad.example\n100 1 b.example\n");
	report_rate_load(&back, t.data, t.len, 100);
	ck_assert_uint_eq(back.n, 2);
	ck_assert(!report_rate_allows(&back, "example.com", 100, 3));
	ck_assert(report_rate_allows(&back, "old.example", 100, 3));
	ck_assert(!report_rate_allows(&back, "b.example", 100, 1));
	/* counting in a new hour forgets the old one */
	report_rate_count(&back, "example.com", 101);
	ck_assert_uint_eq(back.n, 1);
	buf_clear(&t);
	report_rate_clear(&r);
	report_rate_clear(&back);
}
END_TEST

/* ---- ruf= destinations ---- */

START_TEST(report_failure_verify_uses_ruf_override)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct report_verify v;

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	dns_mem_add_txt(r, "example.com._report._dmarc.over.example.net",
	    "v=DMARC1; rua=mailto:agg@over.example.net; ruf=mailto:fail@over.example.net");
	dns_mem_add_txt(r, "example.com._report._dmarc.evil.example.net",
	    "v=DMARC1; ruf=mailto:victim@victim.example");
	report_verify_start_tag(&v, r, "example.com", "over.example.net", true);
	ck_assert(v.done);
	ck_assert_int_eq(v.result, REPORT_VERIFY_OK);
	ck_assert(v.has_override);
	ck_assert_str_eq(v.override.uri[0].addr, "fail@over.example.net");
	report_verify_start_tag(&v, r, "example.com", "evil.example.net", true);
	ck_assert_int_eq(v.result, REPORT_VERIFY_NO);
	/* for rua= the same record has no override there */
	report_verify_start_tag(&v, r, "example.com", "evil.example.net", false);
	ck_assert_int_eq(v.result, REPORT_VERIFY_OK);
	ck_assert(!v.has_override);
	report_verify_cancel(&v);
	dns_resolver_free(r);
}
END_TEST

static Suite *
failure_suite(void)
{
	Suite *s = suite_create("report_failure");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, report_failure_fo_decides, 0, ARRAY_LEN(fo_cases));
	tcase_add_loop_test(tc, report_failure_redacts_local_parts, 0,
	    ARRAY_LEN(redact_cases));
	tcase_add_test(tc, report_failure_message_is_rfc6591);
	tcase_add_test(tc, report_failure_spf_dns_field);
	tcase_add_test(tc, report_failure_spf_records_bound);
	tcase_add_test(tc, report_failure_message_size_limit);
	tcase_add_test(tc, report_failure_queue_file_round_trip);
	tcase_add_test(tc, report_failure_rate_limit_per_domain_and_hour);
	tcase_add_test(tc, report_failure_verify_uses_ruf_override);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(failure_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
