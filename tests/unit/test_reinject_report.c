/*
 * test_reinject_report.c - reinject's DMARC stage with report_enable: the
 * messages it evaluates end up as store rows (through the worker's batch
 * writer), the report built from them has the right counts and passes the
 * RFC 9990 XSD, and "reinject report list|show|generate|mail" show the same
 * data from the command line.  Off by default: no store is touched.
 */
#include <unistd.h>

#include "dmarc.h"
#include "report.h"
#include "store.h"
#include "test_arc_util.h"
#include "test_reinject_util.h"

static char dir[64];
static char confpath[128];

/* world_init_with - the shared world reporting into dir (when enable), the
 * same settings in dir/reinject.conf for the command line, the test zone */
static void
world_init_with(struct world *w, bool enable, const char *extra)
{
	char set[1024];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_rreport.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(set, sizeof(set), "report_enable = %s\nreport_store = %s/r.db\n"
	    "report_spool_file = %s/r.spool\nreport_batch_interval_ms = 10\n"
	    "report_org_name = Ours\nreport_email = dmarc@ours.example\n",
	    enable ? "yes" : "no", dir, dir);
	world_setup(w, set, extra, false);
	snprintf(confpath, sizeof(confpath), "%s/reinject.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(confpath, "w"));
	fprintf(f, "authserv_id = %s\nmyhostname = %s\nspool_directory = /tmp\n"
	    "%s%s\n", OUR_ID, OUR_ID, set, extra);
	fclose(f);
	dns_mem_add_txt(w->dns, "_dmarc.quar.example",
	    "v=DMARC1; p=quarantine; rua=mailto:agg@quar.example!10m; fo=1");
	dns_mem_add_txt(w->dns, "quar.example", "v=spf1 -all");
	dns_mem_add_txt(w->dns, "mail.quar.example", "v=spf1 ip4:198.51.100.7 -all");
}

/* world_init - conf with reporting into dir (when enable), the test zone */
static void
world_init(struct world *w, bool enable)
{
	world_init_with(w, enable, "");
}

/* world_release - the shared world, then dir */
static void
world_release(struct world *w)
{
	char cmd[128];

	world_free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* run_message - one message from sender at client addr through the pipeline */
static void
run_message(struct world *w, const char *addr, const char *sender, const char *text)
{
	struct reinject_msg *m = world_begin(w, "mx.sender.example", addr, sender,
	    false);

	m->rcpt_domain = "example.net";
	reinject_msg_free(world_finish(w, m, text));
}

/* day_mix - 3 aligned passes from 198.51.100.7, 2 forgeries from 203.0.113.5,
 * one message without a DMARC policy, one DMARC report */
static void
day_mix(struct world *w)
{
	for (int i = 0; i < 3; i++)
		run_message(w, "198.51.100.7", "b@mail.quar.example",
		    "From: <boss@quar.example>\nSubject: ok\n\nbody\n");
	for (int i = 0; i < 2; i++)
		run_message(w, "203.0.113.5", "x@unrelated.example",
		    "From: <boss@quar.example>\nSubject: forged\n\nbody\n");
	run_message(w, "203.0.113.5", "x@unrelated.example",
	    "From: <a@nopolicy.example>\nSubject: none\n\nbody\n");
	/* a DMARC report itself (dmarc-subject, folded): never reported on */
	run_message(w, "203.0.113.5", "x@unrelated.example",
	    "From: <boss@quar.example>\nSubject: Report Domain: ours.example\n"
	    " Submitter: quar.example Report-ID: <1@quar.example>\n\nbody\n");
}

/* run_cmd - a shell command's exit status, its output in out */
static int
run_cmd(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/* reinject_bin - the built reinject */
static const char *
reinject_bin(void)
{
	static char path[512];
	const char *b = getenv("MAILAUTH_BUILD");

	snprintf(path, sizeof(path), "%s/reinject/reinject", b ? b : ".");
	return path;
}

static int
period_begin(void *arg, const struct store_period *p)
{
	*(int64_t *)arg = p->begin;
	return 0;
}

/* report_open - the store w's messages went to, and the metadata of its period */
static struct store *
report_open(struct world *w, struct report_meta *m)
{
	struct store_conf sc;
	struct store *st;
	struct buf err;
	char ebuf[128];
	int64_t begin = -1;

	reinject_report_store_conf(&w->conf, &sc);
	buf_init(&err, 1024);
	ck_assert_ptr_nonnull(st = store_open(&sc, &err));
	buf_clear(&err);
	ck_assert_int_eq(store_periods(st, INT64_MAX, period_begin, &begin), 0);
	ck_assert_int_ge(begin, 0);
	reinject_report_meta(&w->conf, begin, m, ebuf, sizeof(ebuf));
	return st;
}

START_TEST(reinject_report_records_every_policy_message)
{
	struct world w;
	struct store *st;
	struct report_meta m;
	struct buf xml;

	world_init(&w, true);
	reinject_report_worker_start(&w.conf);
	day_mix(&w);
	reinject_report_worker_stop();
	st = report_open(&w, &m);
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &m, "quar.example", &xml), 0);
	ck_assert_msg(strstr(xml.data, "<source_ip>198.51.100.7</source_ip>\n"
	    "      <count>3</count>\n      <policy_evaluated>\n"
	    "        <disposition>pass</disposition>"), "%s", xml.data);
	ck_assert_msg(strstr(xml.data, "<source_ip>203.0.113.5</source_ip>\n"
	    "      <count>2</count>\n      <policy_evaluated>\n"
	    "        <disposition>quarantine</disposition>"), "%s", xml.data);
	ck_assert_ptr_nonnull(strstr(xml.data, "<p>quarantine</p>"));
	ck_assert_ptr_nonnull(strstr(xml.data, "<fo>1</fo>"));
	ck_assert_ptr_nonnull(strstr(xml.data, "<envelope_to>example.net</envelope_to>"));
	ck_assert_ptr_nonnull(strstr(xml.data, "<org_name>Ours</org_name>"));
	ck_assert_ptr_null(strstr(xml.data, "nopolicy.example"));
	ck_assert_int_eq(report_xml_build(st, &m, "nopolicy.example", &xml), -1);
	buf_clear(&xml);
	store_close(st);
	world_release(&w);
}
END_TEST

static const struct {
	const char *addr, *want;
} rcpt_cases[] = {
	{ "b@example.net", "example.net" },
	{ "<B@Mail.Example.NET>", "mail.example.net" },
	{ "\"a@b\"@example.org", "example.org" },
	{ "postmaster", "" },
	{ "x@bad..example", "" },
	{ "", "" },
};

START_TEST(reinject_report_envelope_to_is_the_recipient_domain)
{
	char out[256];

	reinject_report_rcpt_domain(rcpt_cases[_i].addr, strlen(rcpt_cases[_i].addr), out,
	    sizeof(out));
	ck_assert_str_eq(out, rcpt_cases[_i].want);
}
END_TEST

#define LIST_MSG "From: <boss@quar.example>\r\nTo: <list@lists.example.org>\r\n" \
	"Subject: [list] forwarded\r\n\r\nbody\r\n-- \r\nlist footer\r\n"

/* A trusted sealer lifted the DMARC failure: the report row says so (RFC 9990 PolicyOverrideType). */
START_TEST(reinject_report_records_the_arc_override)
{
	static const char *const hdrs[] = { "from", "to", "subject", NULL };
	char *text = ta_sealed(LIST_MSG, hdrs, "lists.example.org; dmarc=pass header.from=quar.example");
	struct world w;
	struct store *st;
	struct report_meta m;
	struct buf xml;

	world_init_with(&w, true, "arc_trusted_sealers = example.org");
	dns_mem_add_txt(w.dns, "dummy._domainkey.example.org", TA_SEAL_KEY_TXT);
	reinject_report_worker_start(&w.conf);
	run_message(&w, "203.0.113.5", "list-bounces@lists.example.org", text);
	reinject_report_worker_stop();
	st = report_open(&w, &m);
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	ck_assert_int_eq(report_xml_build(st, &m, "quar.example", &xml), 0);
	ck_assert_msg(strstr(xml.data, "<disposition>none</disposition>") &&
	    strstr(xml.data, "<type>trusted_forwarder</type>"), "%s", xml.data);
	buf_clear(&xml);
	store_close(st);
	world_release(&w);
	free(text);
}
END_TEST

START_TEST(reinject_report_off_by_default)
{
	struct world w;
	char db[128];

	world_init(&w, false);
	reinject_report_worker_start(&w.conf);
	day_mix(&w);
	reinject_report_worker_stop();
	snprintf(db, sizeof(db), "%s/r.db", dir);
	ck_assert_int_eq(access(db, F_OK), -1);
	world_release(&w);
}
END_TEST

START_TEST(reinject_report_command_lists_shows_and_mails)
{
	struct world w;
	static char out[65536];
	char cmd[1024], begin[32];
	const char *src = getenv("MAILAUTH_SRC");

	world_init(&w, true);
	reinject_report_worker_start(&w.conf);
	day_mix(&w);
	reinject_report_worker_stop();
	/* list: "BEGIN DATE DOMAIN COUNT STATE" */
	snprintf(cmd, sizeof(cmd), "%s report -c %s list", reinject_bin(), confpath);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, " quar.example 5 open\n") != NULL, "%s", out);
	ck_assert_int_eq(sscanf(out, "%31s", begin), 1);
	/* show: the XML, valid against the RFC's XSD */
	snprintf(cmd, sizeof(cmd), "%s report -c %s show quar.example %s | xmllint --noout"
	    " --schema '%s/tests/data/report/dmarc-2.0.xsd' - 2>&1", reinject_bin(),
	    confpath, begin, src ? src : "..");
	ck_assert_msg(run_cmd(cmd, out, sizeof(out)) == 0, "%s", out);
	/* generate: the .xml.gz under the RFC name, in -d DIR */
	snprintf(cmd, sizeof(cmd), "%s report -c %s -d %s generate quar.example %s",
	    reinject_bin(), confpath, dir, begin);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "/mx.ours.example!quar.example!") &&
	    strstr(out, ".xml.gz\n"), "%s", out);
	/* mail: the message that would be sent, to the rua= address */
	snprintf(cmd, sizeof(cmd), "%s report -c %s mail quar.example %s", reinject_bin(),
	    confpath, begin);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "To: <agg@quar.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "From: <dmarc@ours.example>\r\n"));
	/* an unknown domain is an error */
	snprintf(cmd, sizeof(cmd), "%s report -c %s show none.example %s 2>&1",
	    reinject_bin(), confpath, begin);
	ck_assert_int_ne(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "no records"));
	world_release(&w);
}
END_TEST

/* queued_files - the failure report queue files in d */
static int
queued_files(const char *d)
{
	char cmd[300], out[64];

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '\\.arf$'", d);
	run_cmd(cmd, out, sizeof(out));
	return atoi(out);
}

/* The worker side of failure reports (RFC 9991): one queue file per failing
 * message whose record has ruf= and whose fo= asks; none for a psd=y
 * record, for a report, for a pass under fo=0; report_failure_queue_limit
 * holds.  The sender and the message format: 53-report-failure. */
START_TEST(reinject_failure_queues_what_ruf_and_fo_ask)
{
	struct world w;
	char fdir[128], cmd[256];
	static char out[16384];

	world_init_with(&w, false, "report_failure_enable = yes\n"
	    "report_failure_queue_limit = 3");
	snprintf(fdir, sizeof(fdir), "%s/failure", dir);
	free(w.conf.report.failure_directory);
	w.conf.report.failure_directory = xstrdup(fdir);
	dns_mem_add_txt(w.dns, "_dmarc.ruf.example",
	    "v=DMARC1; p=none; ruf=mailto:f@ruf.example");
	dns_mem_add_txt(w.dns, "mail.ruf.example", "v=spf1 ip4:198.51.100.7 -all");
	dns_mem_add_txt(w.dns, "_dmarc.psd.example",
	    "v=DMARC1; p=none; psd=y; ruf=mailto:f@psd.example");
	reinject_report_worker_start(&w.conf);
	/* fo=0: an aligned SPF pass asks for nothing */
	run_message(&w, "198.51.100.7", "b@mail.ruf.example",
	    "From: <boss@ruf.example>\nSubject: ok\n\nbody\n");
	ck_assert_int_eq(queued_files(fdir), 0);
	/* a spoof: one report; with report_failure_body the whole message,
	 * local parts hashed in its header section */
	w.conf.report.failure_body = true;
	run_message(&w, "203.0.113.5", "x@unrelated.example",
	    "From: <boss@ruf.example>\nSubject: forged\n\nthe body line\n");
	ck_assert_int_eq(queued_files(fdir), 1);
	snprintf(cmd, sizeof(cmd), "cat '%s'/*.arf", fdir);
	run_cmd(cmd, out, sizeof(out));
	ck_assert_msg(strstr(out, "domain ruf.example\nruf mailto:f@ruf.example\n"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: message/rfc822\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Subject: forged\r\n\r\nthe body line\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "From: <h-"));
	ck_assert_ptr_null(strstr(out, "boss@"));
	w.conf.report.failure_body = false;
	/* ruf= of a psd=y record: never (RFC 9991) */
	run_message(&w, "203.0.113.5", "x@unrelated.example",
	    "From: <boss@sub.psd.example>\nSubject: forged\n\nbody\n");
	ck_assert_int_eq(queued_files(fdir), 1);
	/* a report itself: never */
	run_message(&w, "203.0.113.5", "x@unrelated.example",
	    "From: <boss@ruf.example>\nContent-Type: multipart/report;\n"
	    " report-type=feedback-report; boundary=x\n\n--x--\n");
	ck_assert_int_eq(queued_files(fdir), 1);
	/* the queue limit: 3 files, the fourth and fifth spoof dropped */
	for (int i = 0; i < 4; i++)
		run_message(&w, "203.0.113.5", "x@unrelated.example",
		    "From: <boss@ruf.example>\nSubject: forged\n\nbody\n");
	ck_assert_int_eq(queued_files(fdir), 3);
	world_release(&w);
}
END_TEST

/*
 * Interoperability: Mail::DMARC's receiver (Debian libmail-dmarc-perl) reads
 * our report mail; its counts, rows and policy are what we stored.  Known
 * differences of its older (RFC 7489) schema: it finds nothing under RFC
 * 9990's namespace (report_xml_namespace = no serves it), it turns the
 * disposition "pass" into "none", and it does not read np, fo, testing or
 * discovery_method.
 */
START_TEST(reinject_report_mail_dmarc_reads_our_report)
{
	struct world w;
	static char out[8192], want[2048];
	char cmd[1024], begin[32];
	const char *src = getenv("MAILAUTH_SRC");
	long long b;

	world_init_with(&w, true, "report_xml_namespace = no");
	reinject_report_worker_start(&w.conf);
	day_mix(&w);
	reinject_report_worker_stop();
	snprintf(cmd, sizeof(cmd), "%s report -c %s list", reinject_bin(), confpath);
	ck_assert_int_eq(run_cmd(cmd, out, sizeof(out)), 0);
	ck_assert_int_eq(sscanf(out, "%31s", begin), 1);
	b = atoll(begin);
	snprintf(cmd, sizeof(cmd), "%s report -c %s mail quar.example %s | perl "
	    "'%s/tests/unit/report_maildmarc.pl' 2>&1", reinject_bin(), confpath, begin,
	    src ? src : "..");
	ck_assert_msg(run_cmd(cmd, out, sizeof(out)) == 0, "%s", out);
	snprintf(want, sizeof(want), "meta Ours %lld.quar.example@" OUR_ID " %lld %lld\n"
	    "policy quar.example quarantine r r\n"
	    "record 198.51.100.7 3 none fail pass quar.example mail.quar.example\n"
	    "record 203.0.113.5 2 quarantine fail fail quar.example unrelated.example\n"
	    "records 2\n", b, b, b + 86399);
	ck_assert_str_eq(out, want);
	world_release(&w);
	/* with RFC 9990's namespace (the default) it finds no report element */
	world_init(&w, true);
	reinject_report_worker_start(&w.conf);
	day_mix(&w);
	reinject_report_worker_stop();
	snprintf(cmd, sizeof(cmd), "%s report -c %s mail quar.example %s | perl "
	    "'%s/tests/unit/report_maildmarc.pl' 2>&1", reinject_bin(), confpath, begin,
	    src ? src : "..");
	ck_assert_int_ne(run_cmd(cmd, out, sizeof(out)), 0);
	world_release(&w);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reinject_report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, reinject_report_records_every_policy_message);
	tcase_add_test(tc, reinject_report_records_the_arc_override);
	tcase_add_test(tc, reinject_report_off_by_default);
	tcase_add_loop_test(tc, reinject_report_envelope_to_is_the_recipient_domain, 0,
	    ARRAY_LEN(rcpt_cases));
	tcase_add_test(tc, reinject_report_command_lists_shows_and_mails);
	tcase_add_test(tc, reinject_failure_queues_what_ruf_and_fo_ask);
	tcase_add_test(tc, reinject_report_mail_dmarc_reads_our_report);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
