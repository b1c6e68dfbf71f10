/*
 * test_reinject_onaction.c - what reinject does with a message for the keys
 * of the opendkim.conf / opendmarc.conf migration, through the real
 * pipeline (verify -> arc -> dmarc -> iprev -> authres -> sign) over the
 * in-memory resolver: the DKIM condition actions (OpenDKIM's On-*) in each
 * front-end mode, peer_hosts (PeerList), dmarc_reject_action =
 * reject_or_hold (RejectFailures), dmarc_required_headers (RequiredHeaders),
 * dmarc_ignore_from_domains (IgnoreMailFrom), omit_headers (OmitHeaders)
 * and a sign_domain list (a Domain data set).
 */
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "dkim_table.h"
#include "reinject_dmarc.h"
#include "test_reinject_util.h"

#define SIG(d) "DKIM-Signature: v=1; a=rsa-sha256; d=" d "; s=s1; h=from; " \
	"bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n"

/* world_init - the shared world with the settings, the test zone and tables */
static void
world_init(struct world *w, const char *settings)
{
	struct buf err;

	world_setup(w, settings, NULL, false);
	dns_mem_add_txt(w->dns, "_dmarc.reject.example", "v=DMARC1; p=reject");
	dns_mem_add_txt(w->dns, "reject.example", "v=spf1 -all");
	dns_mem_add_txt(w->dns, "s1._domainkey.bad.example", "v=DKIM1; p=!!!");
	dns_mem_set_rcode(w->dns, "s1._domainkey.slow.example", DNS_TYPE_TXT,
	    DNS_RCODE_TIMEOUT);
	buf_init(&err, 4096);
	ck_assert_msg(reinject_worker_tables(&w->conf, &w->ctx.sign_table,
	    &w->ctx.internal, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_msg(reinject_worker_peers(&w->conf, &w->ctx.peers, &err) == 0,
	    "%s", buf_cstr(&err));
	buf_clear(&err);
}

/* world_release - the tables, then the shared world */
static void
world_release(struct world *w)
{
	if (w->ctx.sign_table)
		dkim_table_free(w->ctx.sign_table);
	if (w->ctx.internal)
		dkim_table_host_free(w->ctx.internal);
	if (w->ctx.peers)
		dkim_table_host_free(w->ctx.peers);
	world_free(w);
}

/* run_message - text from client addr through the pipeline in mode */
static struct reinject_msg *
run_message(struct world *w, enum reinject_mode mode, const char *addr,
    bool sign, const char *text)
{
	struct reinject_msg *m = world_begin(w, "mx.sender.example", addr,
	    "x@unrelated.example", sign);

	m->mode = mode;
	return world_finish(w, m, text);
}

struct run {
	const char *name;
	const char *settings;
	enum reinject_mode mode;
	const char *message;
	/* expectations */
	enum reinject_action action;
	int code;
	const char *enh;		/* or NULL */
	bool tempfail;
	const char *added;		/* in the fields added on top, or NULL */
	const char *not_added;		/* never in them, or NULL */
	const char *dkim_act;		/* m->dkim_act, or NULL */
};

#define PLAIN "From: <a@plain.example>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n" \
	"Subject: hi\n\nbody\n"
#define BAD SIG("bad.example") PLAIN
#define NOKEY SIG("nokey.example") PLAIN
#define SLOW SIG("slow.example") PLAIN
#define SPOOF "From: <ceo@reject.example>\nDate: Mon, 7 Dec 2026 10:00:00 +0000\n" \
	"Subject: pay\n\nbody\n"

static const struct run runs[] = {
	/* On-BadSignature reject: 550 where the client waits, held after the queue */
	{ "bad_signature_reject_after_queue_holds", "dkim_bad_signature_action = reject",
	  REINJECT_MODE_VERIFY, BAD, REINJECT_ACTION_RELAY, 0, NULL, false,
	  "X-Mailauth-DMARC: hold (dkim bad-signature)", NULL, "hold" },
	{ "bad_signature_reject_proxy_refuses", "dkim_bad_signature_action = reject",
	  REINJECT_MODE_PROXY, BAD, REINJECT_ACTION_REJECT, 550, "5.7.20", false,
	  NULL, "X-Mailauth-DMARC", "reject" },
	{ "bad_signature_reject_milter_refuses", "dkim_bad_signature_action = reject",
	  REINJECT_MODE_MILTER, BAD, REINJECT_ACTION_REJECT, 550, "5.7.20", false,
	  NULL, "X-Mailauth-DMARC", "reject" },
	{ "bad_signature_default_accepts", NULL, REINJECT_MODE_PROXY, BAD,
	  REINJECT_ACTION_RELAY, 0, NULL, false, "dkim=permerror", "X-Mailauth-DMARC",
	  NULL },
	{ "bad_signature_quarantine_holds_in_proxy_too",
	  "dkim_bad_signature_action = quarantine", REINJECT_MODE_PROXY, BAD,
	  REINJECT_ACTION_RELAY, 0, NULL, false, "X-Mailauth-DMARC: hold (dkim "
	  "bad-signature)", NULL, "hold" },
	{ "unparsed_header_is_a_bad_signature", "dkim_bad_signature_action = reject\n"
	  "dkim_internal_error_action = discard", REINJECT_MODE_PROXY,
	  "From: <a@plain.example>\nno colon on this line\nSubject: x\n\nbody\n",
	  REINJECT_ACTION_REJECT, 550, "5.7.20", false, NULL, NULL, "reject" },
	{ "key_not_found_discard", "dkim_key_not_found_action = discard",
	  REINJECT_MODE_VERIFY, NOKEY, REINJECT_ACTION_DISCARD, 0, NULL, false, NULL,
	  NULL, "discard" },
	{ "key_not_found_is_not_bad_signature", "dkim_bad_signature_action = discard",
	  REINJECT_MODE_VERIFY, NOKEY, REINJECT_ACTION_RELAY, 0, NULL, false, NULL,
	  NULL, NULL },
	{ "dns_error_tempfail", "dkim_dns_error_action = tempfail", REINJECT_MODE_VERIFY,
	  SLOW, REINJECT_ACTION_RELAY, 451, "4.4.3", true, NULL, NULL, "tempfail" },
	{ "no_signature_tempfail", "dkim_no_signature_action = tempfail",
	  REINJECT_MODE_VERIFY, PLAIN, REINJECT_ACTION_RELAY, 451, "4.3.0", true, NULL,
	  NULL, "tempfail" },
	{ "no_signature_reject_proxy", "dkim_no_signature_action = reject",
	  REINJECT_MODE_PROXY, PLAIN, REINJECT_ACTION_REJECT, 550, "5.7.20", false, NULL,
	  NULL, "reject" },
	/* PeerList: no stage runs, even with every action set to reject */
	{ "peer_passes_untouched", "peer_hosts = 203.0.113.0/24\n"
	  "dkim_no_signature_action = reject\ndmarc_reject_action = reject",
	  REINJECT_MODE_PROXY, SPOOF, REINJECT_ACTION_RELAY, 0, NULL, false, NULL,
	  "Authentication-Results", NULL },
	{ "not_a_peer_is_checked", "peer_hosts = 198.51.100.0/24\n"
	  "dkim_no_signature_action = reject", REINJECT_MODE_PROXY, SPOOF,
	  REINJECT_ACTION_REJECT, 550, "5.7.20", false, NULL, NULL, "reject" },
	/* RejectFailures: reject_or_hold */
	{ "reject_or_hold_after_queue_holds", "dmarc_reject_action = reject_or_hold",
	  REINJECT_MODE_VERIFY, SPOOF, REINJECT_ACTION_RELAY, 0, NULL, false,
	  "X-Mailauth-DMARC: hold (dmarc=fail", NULL, NULL },
	{ "reject_or_hold_proxy_rejects", "dmarc_reject_action = reject_or_hold",
	  REINJECT_MODE_PROXY, SPOOF, REINJECT_ACTION_REJECT, 550, "5.7.1", false,
	  NULL, "X-Mailauth-DMARC", NULL },
	{ "reject_or_hold_milter_rejects", "dmarc_reject_action = reject_or_hold",
	  REINJECT_MODE_MILTER, SPOOF, REINJECT_ACTION_REJECT, 550, "5.7.1", false,
	  NULL, "X-Mailauth-DMARC", NULL },
	/* IgnoreMailFrom */
	{ "ignored_from_domain_not_evaluated", "dmarc_reject_action = reject\n"
	  "dmarc_ignore_from_domains = other.example, Reject.Example",
	  REINJECT_MODE_PROXY, SPOOF, REINJECT_ACTION_RELAY, 0, NULL, false,
	  "dkim=none", "dmarc=", NULL },
	{ "ignored_domain_cannot_hide_another_from", "dmarc_reject_action = reject\n"
	  "dmarc_ignore_from_domains = plain.example",
	  REINJECT_MODE_PROXY, "From: <a@plain.example>\nFrom: <ceo@reject.example>\n"
	  "\nbody\n", REINJECT_ACTION_REJECT, 550, "5.7.1", false, NULL, NULL, NULL },
	/* RequiredHeaders */
	{ "required_headers_two_subjects_proxy_refused", "dmarc_required_headers = yes",
	  REINJECT_MODE_PROXY, "From: <a@plain.example>\nDate: Mon, 7 Dec 2026 "
	  "10:00:00 +0000\nSubject: a\nSubject: b\n\nbody\n", REINJECT_ACTION_REJECT,
	  550, "5.6.0", false, NULL, "dmarc=", NULL },
	{ "required_headers_no_date_held_after_queue", "dmarc_required_headers = yes",
	  REINJECT_MODE_VERIFY, "From: <a@plain.example>\nSubject: a\n\nbody\n",
	  REINJECT_ACTION_RELAY, 0, NULL, false, "X-Mailauth-DMARC: hold (RFC 5322",
	  NULL, NULL },
	{ "required_headers_good_message_evaluated", "dmarc_required_headers = yes",
	  REINJECT_MODE_PROXY, PLAIN, REINJECT_ACTION_RELAY, 0, NULL, false, "dmarc=",
	  "X-Mailauth-DMARC", NULL },
	{ "required_headers_off_by_default", NULL, REINJECT_MODE_PROXY,
	  "From: <a@plain.example>\nSubject: a\nSubject: b\n\nbody\n",
	  REINJECT_ACTION_RELAY, 0, NULL, false, "dmarc=", "X-Mailauth-DMARC", NULL },
};

START_TEST(message_actions_by_mode)
{
	const struct run *r = &runs[_i];
	struct world w;
	struct reinject_msg *m;
	const char *pre;

	world_init(&w, r->settings);
	m = run_message(&w, r->mode, "203.0.113.5", false, r->message);
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(m->action == r->action, "%s: action %d", r->name, m->action);
	ck_assert_msg(m->code == r->code, "%s: code %d", r->name, m->code);
	if (r->enh)
		ck_assert_msg(strcmp(m->enh, r->enh) == 0, "%s: enh %s", r->name, m->enh);
	ck_assert_msg((m->tempfail != NULL) == r->tempfail, "%s: tempfail", r->name);
	if (r->added)
		ck_assert_msg(strstr(pre, r->added) != NULL, "%s: no \"%s\" in:\n%s",
		    r->name, r->added, pre);
	if (r->not_added)
		ck_assert_msg(strstr(pre, r->not_added) == NULL, "%s: \"%s\" in:\n%s",
		    r->name, r->not_added, pre);
	if (r->mode == REINJECT_MODE_MILTER && r->code == 550) {
		/* the milter front-end turns it into a REPLYCODE with that code */
		struct buf out;
		char want[32];

		buf_init(&out, 65536);
		reinject_milter_eom(m, false, &out);
		snprintf(want, sizeof(want), "550 %s ", r->enh);
		ck_assert_msg(memmem(out.data, out.len, want, strlen(want)) != NULL,
		    "%s: milter reply lacks \"%s\"", r->name, want);
		buf_clear(&out);
	}
	if (r->dkim_act)
		ck_assert_msg(m->dkim_act && strcmp(m->dkim_act, r->dkim_act) == 0,
		    "%s: dkim_act %s", r->name, m->dkim_act ? m->dkim_act : "(none)");
	else
		ck_assert_msg(m->dkim_act == NULL, "%s: dkim_act %s", r->name,
		    m->dkim_act);
	reinject_msg_free(m);
	world_release(&w);
}
END_TEST

/* the condition of a result set: a pass ends it, else the first decides */
START_TEST(classify_follows_the_first_signature)
{
	static const struct {
		enum dkim_result r[2];
		const char *reason[2];
		size_t n;
		enum reinject_oncond want;
	} cases[] = {
		{ { 0 }, { "" }, 0, REINJECT_ONCOND_NO_SIGNATURE },
		{ { DKIM_RESULT_FAIL, DKIM_RESULT_PASS }, { "body hash", "" }, 2,
		  REINJECT_ONCOND_NONE },
		{ { DKIM_RESULT_FAIL, DKIM_RESULT_TEMPERROR }, { "bad", "t" }, 2,
		  REINJECT_ONCOND_BAD_SIGNATURE },
		{ { DKIM_RESULT_TEMPERROR }, { "key lookup timed out" }, 1,
		  REINJECT_ONCOND_DNS_ERROR },
		{ { DKIM_RESULT_PERMERROR }, { "no key record" }, 1,
		  REINJECT_ONCOND_KEY_NOT_FOUND },
		{ { DKIM_RESULT_PERMERROR }, { "key revoked (empty p=)" }, 1,
		  REINJECT_ONCOND_BAD_SIGNATURE },
		{ { DKIM_RESULT_POLICY }, { "signature expired (x=)" }, 1,
		  REINJECT_ONCOND_SECURITY },
		{ { DKIM_RESULT_FAIL }, { "RSA key shorter than the minimum (RFC 8301)" },
		  1, REINJECT_ONCOND_SECURITY },
		{ { DKIM_RESULT_NEUTRAL }, { "not evaluated" }, 1, REINJECT_ONCOND_NONE },
		{ { DKIM_RESULT_PERMERROR }, { "header section not parsed" }, 1,
		  REINJECT_ONCOND_BAD_SIGNATURE },
	};
	struct reinject_msg m;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		memset(&m, 0, sizeof(m));
		m.ndkim = cases[i].n;
		for (size_t j = 0; j < cases[i].n; j++) {
			m.dkim[j].result = cases[i].r[j];
			snprintf(m.dkim[j].reason, sizeof(m.dkim[j].reason), "%s",
			    cases[i].reason[j]);
		}
		ck_assert_msg(reinject_onaction_classify(&m) == cases[i].want,
		    "case %zu: %d", i, reinject_onaction_classify(&m));
	}
}
END_TEST

/* an ED25519 key file in dir, mode 0600 */
static void
write_key(const char *path)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	EVP_PKEY_free(k);
}

/* a sign_domain list signs each domain with its own d=; omit_headers holds */
START_TEST(domain_list_signs_each_and_omit_headers_are_left_out)
{
	char dir[] = "/tmp/reinject-onaction-XXXXXX", key[600], set[1024];
	struct world w;
	struct reinject_msg *m;
	const char *pre;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/s1.private", dir);
	write_key(key);
	snprintf(set, sizeof(set), "sign_domain = a.example, b.example\n"
	    "sign_selector = s1\nsign_key_file = %s\nomit_headers = Subject, From\n"
	    "sign_headers = From, To, Subject, Date", key);
	world_init(&w, set);
	m = run_message(&w, REINJECT_MODE_SIGN, "192.0.2.1", true,
	    "From: <u@b.example>\nTo: <v@c.example>\nSubject: s\n\nbody\n");
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(strstr(pre, "d=b.example") != NULL, "%s", pre);
	/* From and To signed and oversigned (present), Subject never */
	ck_assert_msg(strstr(pre, "h=From : To : From : To;") != NULL, "%s", pre);
	ck_assert_msg(!strstr(pre, "subject") && !strstr(pre, "Subject"), "%s", pre);
	reinject_msg_free(m);
	m = run_message(&w, REINJECT_MODE_SIGN, "192.0.2.1", true,
	    "From: <u@a.example>\n\nbody\n");
	ck_assert_msg(strstr(buf_cstr(&m->prepend), "d=a.example") != NULL, "%s",
	    buf_cstr(&m->prepend));
	reinject_msg_free(m);
	m = run_message(&w, REINJECT_MODE_SIGN, "192.0.2.1", true,
	    "From: <u@c.example>\n\nbody\n");
	ck_assert_msg(strstr(buf_cstr(&m->prepend), "DKIM-Signature") == NULL, "%s",
	    buf_cstr(&m->prepend));
	reinject_msg_free(m);
	world_release(&w);
	unlink(key);
	rmdir(dir);
}
END_TEST

static Suite *
onaction_suite(void)
{
	Suite *s = suite_create("reinject_onaction");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, message_actions_by_mode, 0, ARRAY_LEN(runs));
	tcase_add_test(tc, classify_follows_the_first_signature);
	tcase_add_test(tc, domain_list_signs_each_and_omit_headers_are_left_out);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(onaction_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
