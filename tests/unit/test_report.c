/*
 * test_report.c - RFC 9990 aggregate reports from the store: the XML of a
 * period validated with xmllint --schema against the RFC's XSD
 * (tests/data/report/dmarc-2.0.xsd), its grouping and values, escaping, and
 * the Report-ID, file name and Subject, rua= destinations with size limits,
 * the report mail (unpacked by Python's email parser and gzip), and the
 * verification of external destinations over an in-memory DNS zone.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "store.h"

#define SET(f, v)	snprintf((f), sizeof(f), "%s", (v))

static char dir[64];
static struct store *st;

static void
setup(void)
{
	struct store_conf c = { STORE_SQLITE, NULL, 86400, 1000 };
	char path[128];
	struct buf err;

	SET(dir, "/tmp/test_report.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	c.path = path;
	buf_init(&err, 1024);
	st = store_open(&c, &err);
	ck_assert_msg(st != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
}

static void
teardown(void)
{
	char cmd[128];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* base_row - a message of example.com from ip */
static void
base_row(struct store_row *r, int64_t t, const char *ip)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	SET(r->policy_domain, "example.com");
	SET(r->header_from, "example.com");
	SET(r->envelope_from, "example.com");
	SET(r->source_ip, ip);
	SET(r->disposition, "pass");
	SET(r->dkim_align, "pass");
	SET(r->spf_align, "pass");
	SET(r->p, "reject");
	SET(r->np, "quarantine");
	SET(r->adkim, "r");
	SET(r->aspf, "s");
	SET(r->testing, "n");
	SET(r->psd, "u");
	SET(r->fo, "1:d");
	SET(r->dkim, "pass example.com s1;fail other.example s2");
	SET(r->spf_domain, "example.com");
	SET(r->spf_scope, "mfrom");
	SET(r->spf_result, "pass");
}

/* fill - a day's mix: 3 passing from one IPv4, a forged one over IPv6
 * with a null sender (helo scope), and an override with a comment */
static void
fill(void)
{
	struct store_row r[5];

	base_row(&r[0], 86400 + 1, "192.0.2.1");
	base_row(&r[1], 86400 + 2, "192.0.2.1");
	base_row(&r[2], 86400 + 3, "192.0.2.1");
	base_row(&r[3], 86400 + 4, "2001:db8::25");
	SET(r[3].header_from, "mail.example.com");
	SET(r[3].envelope_from, "");
	SET(r[3].disposition, "quarantine");
	SET(r[3].dkim_align, "fail");
	SET(r[3].spf_align, "fail");
	SET(r[3].dkim, "");
	SET(r[3].spf_domain, "helo.example.net");
	SET(r[3].spf_scope, "helo");
	SET(r[3].spf_result, "softfail");
	base_row(&r[4], 86400 + 5, "198.51.100.7");
	SET(r[4].disposition, "none");
	SET(r[4].dkim_align, "fail");
	SET(r[4].reason, "other");
	SET(r[4].reason_comment, "list <&> \"x\"");
	ck_assert_int_eq(store_put(st, r, 5), 0);
}

static const struct report_meta meta = {
	"Example Receiver", "dmarc-noreply@receiver.example", "https://receiver.example/dmarc",
	"", "mailauth", "receiver.example", 86400, 86400 * 2, false,
};

/* xmllint_ok - does xmllint --schema accept the document */
static bool
xmllint_ok(const struct buf *xml)
{
	char path[128], cmd[1024];
	const char *src = getenv("MAILAUTH_SRC");
	FILE *f;

	snprintf(path, sizeof(path), "%s/report.xml", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(xml->data, 1, xml->len, f), xml->len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --schema '%s/tests/data/report/"
	    "dmarc-2.0.xsd' '%s'", src ? src : "..", path);
	return system(cmd) == 0;
}

START_TEST(report_xml_validates_against_rfc9990_xsd)
{
	struct buf xml;

	fill();
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), 0);
	ck_assert_msg(xmllint_ok(&xml), "%s", buf_cstr(&xml));
	buf_clear(&xml);
}
END_TEST

START_TEST(report_xml_schema_check_can_fail)
{
	struct buf xml;
	char *p;

	fill();
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), 0);
	/* a value outside ActionDispositionType must be caught by the check */
	ck_assert_ptr_nonnull(p = strstr(xml.data, "<disposition>none<"));
	memcpy(p + 13, "nope", 4);
	ck_assert(!xmllint_ok(&xml));
	buf_clear(&xml);
}
END_TEST

START_TEST(report_xml_groups_and_values)
{
	struct buf xml;
	const char *x;

	fill();
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), 0);
	x = buf_cstr(&xml);
	ck_assert_ptr_nonnull(strstr(x, "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"));
	ck_assert_ptr_nonnull(strstr(x, "<report_id>86400.example.com@receiver.example</report_id>"));
	ck_assert_ptr_nonnull(strstr(x, "<begin>86400</begin>"));
	ck_assert_ptr_nonnull(strstr(x, "<end>172799</end>"));
	ck_assert_ptr_nonnull(strstr(x, "<extra_contact_info>https://receiver.example/dmarc<"));
	ck_assert_ptr_nonnull(strstr(x, "<discovery_method>treewalk</discovery_method>"));
	ck_assert_ptr_nonnull(strstr(x, "<np>quarantine</np>"));
	ck_assert_ptr_nonnull(strstr(x, "<fo>1:d</fo>"));
	ck_assert_ptr_null(strstr(x, "<sp>"));	/* not published: left out */
	/* the three identical messages are one record, listed first */
	ck_assert_ptr_nonnull(strstr(x, "<source_ip>192.0.2.1</source_ip>\n      <count>3</count>"));
	ck_assert_ptr_nonnull(strstr(x, "<source_ip>2001:db8::25</source_ip>\n      <count>1</count>"));
	ck_assert(strstr(x, "192.0.2.1") < strstr(x, "2001:db8::25"));
	/* helo scope is not in the schema's SPFDomainScope: no scope element */
	ck_assert_ptr_nonnull(strstr(x, "<domain>helo.example.net</domain>\n        <result>softfail"));
	ck_assert_ptr_nonnull(strstr(x, "<comment>list &lt;&amp;&gt; &quot;x&quot;</comment>"));
	ck_assert_ptr_nonnull(strstr(x, "<selector>s2</selector>"));
	buf_clear(&xml);
}
END_TEST

START_TEST(report_xml_needs_records)
{
	struct buf xml;

	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&xml), "no records"));
	buf_clear(&xml);
}
END_TEST

START_TEST(report_xml_size_limit_is_an_error)
{
	struct buf xml;

	fill();
	buf_init(&xml, 1200);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&xml), "size limit"));
	buf_clear(&xml);
}
END_TEST

START_TEST(report_names_follow_rfc9990)
{
	char id[STORE_ID_SIZE], name[512];
	struct buf subj;

	ck_assert_int_eq(report_id(id, sizeof(id), "example.com", 86400, "receiver.example"), 0);
	ck_assert_str_eq(id, "86400.example.com@receiver.example");
	ck_assert_int_eq(report_filename(name, sizeof(name), "example.com", &meta), 0);
	ck_assert_str_eq(name, "receiver.example!example.com!86400!172799.xml.gz");
	buf_init(&subj, 1024);
	ck_assert_int_eq(report_subject(&subj, "example.com", &meta, id), 0);
	ck_assert_str_eq(buf_cstr(&subj), "Report Domain: example.com Submitter: "
	    "receiver.example Report-ID: <86400.example.com@receiver.example>");
	buf_clear(&subj);
	ck_assert_int_eq(report_id(id, 10, "example.com", 86400, "receiver.example"), -1);
}
END_TEST


static const struct {
	const char *in;
	size_t n;
	const char *addr0;
	unsigned long long limit0;
	size_t ignored;
} rua_cases[] = {
	{ "mailto:dmarc@example.com", 1, "dmarc@example.com", 0, 0 },
	{ "mailto:a@example.net!10m", 1, "a@example.net", 10ull << 20, 0 },
	{ "MAILTO:a@example.net!5k mailto:b@example.org", 2, "a@example.net", 5120, 0 },
	{ "mailto:a@example.net!123", 1, "a@example.net", 123, 0 },
	{ "https://example.com/r mailto:x@example.com", 1, "x@example.com", 0, 1 },
	{ "mailto:x@example.com?subject=hi", 1, "x@example.com", 0, 0 },
	{ "mailto:x%2By@example.com", 1, "x+y@example.com", 0, 0 },
	{ "mailto:a%40b@example.com", 0, NULL, 0, 1 },		/* two @ */
	{ "mailto:a%3Cb@example.com", 0, NULL, 0, 1 },		/* < */
	{ "mailto:a%0D%0Ab@example.com", 0, NULL, 0, 1 },	/* CR LF */
	{ "mailto:a@example.com!", 0, NULL, 0, 1 },
	{ "mailto:a@example.com!12x", 0, NULL, 0, 1 },
	{ "mailto:a@example.com!99999999999999999999999", 0, NULL, 0, 1 },
	{ "mailto:@example.com mailto:a@", 0, NULL, 0, 2 },
	{ "mailto:a@1.example mailto:a@2.example mailto:a@3.example "
	  "mailto:a@4.example mailto:a@5.example", 4, "a@1.example", 0, 0 },
};

START_TEST(report_rua_mailto_only_with_limits)
{
	struct report_rua r;

	report_rua_parse(rua_cases[_i].in, strlen(rua_cases[_i].in), &r);
	ck_assert_uint_eq(r.n, rua_cases[_i].n);
	ck_assert_uint_eq(r.ignored, rua_cases[_i].ignored);
	if (r.n) {
		ck_assert_str_eq(r.uri[0].addr, rua_cases[_i].addr0);
		ck_assert_uint_eq(r.uri[0].size_limit, rua_cases[_i].limit0);
		ck_assert_str_eq(r.uri[0].domain, strchr(rua_cases[_i].addr0, '@') + 1);
	}
}
END_TEST

START_TEST(report_subject_of_a_report_is_recognised)
{
	static const struct { const char *s; bool report; } t[] = {
		{ "Report Domain: example.com Submitter: r.example Report-ID: <1@r>", true },
		{ " Report\r\n Domain:\texample.com", true },
		{ "Report Domain:", false },
		{ "report domain: example.com", false },	/* %s: case-sensitive */
		{ "Re: Report Domain: example.com", false },
		{ "ReportDomain: example.com", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(report_subject_is_report(t[i].s, strlen(t[i].s)) == t[i].report,
		    "\"%s\"", t[i].s);
}
END_TEST

START_TEST(report_mail_unpacks_to_the_xml)
{
	const char *to[] = { "dmarc@example.com", "b@example.org" };
	struct buf xml, msg;
	struct report_mail rm = { &meta, "example.com", to, 2, NULL, 0, 86400 * 2 + 60 };
	char path[128], cmd[1024];
	const char *src = getenv("MAILAUTH_SRC");
	FILE *f;

	fill();
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	buf_init(&msg, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &meta, "example.com", &xml), 0);
	rm.xml = xml.data;
	rm.xml_len = xml.len;
	ck_assert_int_eq(report_mail_build(&rm, &msg), 0);
	ck_assert_ptr_nonnull(strstr(msg.data, "\r\nSubject: Report Domain: example.com\r\n"
	    " Submitter: receiver.example\r\n Report-ID: <86400.example.com@receiver.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(msg.data, "\r\nMessage-ID: <86400.example.com@receiver.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(msg.data, "To: <dmarc@example.com>,\r\n <b@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(msg.data, "Date: Sat, 03 Jan 1970 00:01:00 +0000\r\n"));
	snprintf(path, sizeof(path), "%s/report.eml", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(msg.data, 1, msg.len, f), msg.len);
	fclose(f);
	snprintf(path, sizeof(path), "%s/report.xml", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(xml.data, 1, xml.len, f), xml.len);
	fclose(f);
	/* Python's email parser finds the application/gzip part under the
	 * RFC's file name; gunzipped, it is the XML byte for byte */
	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/unit/report_unpack.py' '%s/report.eml' "
	    "'receiver.example!example.com!86400!172799.xml.gz' '%s/report.xml'",
	    src ? src : "..", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	buf_clear(&msg);
	buf_clear(&xml);
}
END_TEST


static const struct {
	const char *name, *policy, *dest;
	enum report_verify_result result;
	const char *override;	/* first override address, or NULL */
} verify_cases[] = {
	{ "same_domain", "example.com", "example.com", REPORT_VERIFY_OK, NULL },
	{ "same_org_domain", "example.com", "mail.example.com", REPORT_VERIFY_OK, NULL },
	{ "external_unconfirmed", "example.com", "reports.example.net", REPORT_VERIFY_NO, NULL },
	{ "external_confirmed", "example.com", "ok.example.net", REPORT_VERIFY_OK, NULL },
	{ "external_wildcard_style_override", "example.com", "over.example.net",
	  REPORT_VERIFY_OK, "agg@over.example.net" },
	{ "override_to_another_host", "example.com", "evil.example.net", REPORT_VERIFY_NO,
	  "victim@victim.example" },
	{ "not_dmarc_txt", "example.com", "spf.example.net", REPORT_VERIFY_NO, NULL },
	{ "dns_failure_is_temporary", "example.com", "flaky.example.net", REPORT_VERIFY_TEMP,
	  NULL },
	{ "name_too_long", "example.com",
	  "a123456789012345678901234567890123456789012345678901234567890.b1234567890123456789"
	  "0123456789012345678901234567890123456789012.c123456789012345678901234567890123456"
	  "789012345678901234567890.d12345678901234567890123456789.example.net",
	  REPORT_VERIFY_NO, NULL },
};

START_TEST(report_verify_external_destinations)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct report_verify v;

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	dns_mem_add_txt(r, "example.com._report._dmarc.ok.example.net", "v=DMARC1");
	dns_mem_add_txt(r, "example.com._report._dmarc.over.example.net",
	    "v=DMARC1; rua=mailto:agg@over.example.net");
	dns_mem_add_txt(r, "example.com._report._dmarc.evil.example.net",
	    "v=DMARC1; rua=mailto:victim@victim.example");
	dns_mem_add_txt(r, "example.com._report._dmarc.spf.example.net", "v=spf1 -all");
	dns_mem_set_rcode(r, "example.com._report._dmarc.flaky.example.net", DNS_TYPE_TXT,
	    DNS_RCODE_SERVFAIL);
	/* 257 octets: over the DNS limit, so never asked even though it exists */
	{
		char longname[300];

		snprintf(longname, sizeof(longname), "example.com._report._dmarc.%s",
		    verify_cases[ARRAY_LEN(verify_cases) - 1].dest);
		dns_mem_add_txt(r, longname, "v=DMARC1");
	}
	report_verify_start(&v, r, verify_cases[_i].policy, verify_cases[_i].dest);
	ck_assert_msg(v.done, "%s: not decided", verify_cases[_i].name);
	ck_assert_msg(v.result == verify_cases[_i].result, "%s: result %d",
	    verify_cases[_i].name, v.result);
	if (verify_cases[_i].override) {
		ck_assert(v.has_override);
		ck_assert_uint_ge(v.override.n, 1);
		ck_assert_str_eq(v.override.uri[0].addr, verify_cases[_i].override);
	}
	report_verify_cancel(&v);
	dns_resolver_free(r);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, report_xml_validates_against_rfc9990_xsd);
	tcase_add_test(tc, report_xml_schema_check_can_fail);
	tcase_add_test(tc, report_xml_groups_and_values);
	tcase_add_test(tc, report_xml_needs_records);
	tcase_add_test(tc, report_xml_size_limit_is_an_error);
	tcase_add_test(tc, report_names_follow_rfc9990);
	tcase_add_loop_test(tc, report_rua_mailto_only_with_limits, 0,
	    (int)(sizeof(rua_cases) / sizeof(rua_cases[0])));
	tcase_add_test(tc, report_mail_unpacks_to_the_xml);
	tcase_add_test(tc, report_subject_of_a_report_is_recognised);
	tcase_add_loop_test(tc, report_verify_external_destinations, 0,
	    (int)(sizeof(verify_cases) / sizeof(verify_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
