/*
 * test_reinject_arc.c - reinject's ARC stage inside the real pipeline
 * (verify -> arc -> dmarc -> authres -> sign) over the in-memory resolver:
 * the arc= clause of the Authentication-Results field for a chain that
 * validates, one broken after sealing, no chain, a key lookup slower than
 * dkim_timeout, and the cases where the stage does not run.
 *
 * The chain is the ValiMail suite's cv_pass_i1_1 (tests/data/arc, MIT).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim_table.h"
#include "dmarc.h"
#include "reinject.h"
#include "test_reinject_util.h"
#define SUITE_KEY "v=DKIM1; k=rsa; p=" \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQ" \
	"iY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzo" \
	"xZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

/* cv_pass_i1_1 without its Subject line, which each message adds */
#define CHAIN_HEAD \
	"MIME-Version: 1.0\n" \
	"Return-Path: <jqd@d1.example.org>\n" \
	"ARC-Seal: a=rsa-sha256;\n" \
	"    b=dOdFEyhrk/tw5wl3vMIogoxhaVsKJkrkEhnAcq2XqOLSQhPpGzhGBJzR7k1sWGokon3TmQ\n" \
	"    7TX9zQLO6ikRpwd/pUswiRW5DBupy58fefuclXJAhErsrebfvfiueGyhHXV7C1LyJTztywzn\n" \
	"    QGG4SCciU/FTlsJ0QANrnLRoadfps=; cv=none; d=example.org; i=1; s=dummy;\n" \
	"    t=12345\n" \
	"ARC-Message-Signature: a=rsa-sha256;\n" \
	"    b=QsRzR/UqwRfVLBc1TnoQomlVw5qi6jp08q8lHpBSl4RehWyHQtY3uOIAGdghDk/mO+/Xpm\n" \
	"    9JA5UVrPyDV0f+2q/YAHuwvP11iCkBQkocmFvgTSxN8H+DwFFPrVVUudQYZV7UDDycXoM6UE\n" \
	"    cdfzLLzVNPOAHEDIi/uzoV4sUqZ18=;\n" \
	"    bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; c=relaxed/relaxed;\n" \
	"    d=example.org; h=from:to:date:subject:mime-version:arc-authentication-results;\n" \
	"    i=1; s=dummy; t=12345\n" \
	"ARC-Authentication-Results: i=1; lists.example.org;\n" \
	"    spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"    dkim=pass (1024-bit key) header.i=@d1.example;\n" \
	"    dmarc=pass\n" \
	"Received: from segv.d1.example (segv.d1.example [72.52.75.15])\n" \
	"    by lists.example.org (8.14.5/8.14.5) with ESMTP id t0EKaNU9010123\n" \
	"    for <arc@example.org>; Thu, 14 Jan 2015 15:01:30 -0800 (PST)\n" \
	"    (envelope-from jqd@d1.example)\n" \
	"Authentication-Results: lists.example.org;\n" \
	"    spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"    dkim=pass (1024-bit key) header.i=@d1.example;\n" \
	"    dmarc=pass\n" \
	"Received: by 10.157.14.6 with HTTP; Tue, 3 Jan 2017 12:22:54 -0800 (PST)\n" \
	"Message-ID: <54B84785.1060301@d1.example.org>\n" \
	"Date: Thu, 14 Jan 2015 15:00:01 -0800\n" \
	"From: John Q Doe <jqd@d1.example.org>\n" \
	"To: arc@dmarc.org\n"
#define CHAIN_BODY \
	"\n" \
	"Hey gang,\n" \
	"This is a test message.\n" \
	"--J.\n"

/* cv_pass_i2_1: two sets */
#define CHAIN2 \
	"MIME-Version: 1.0\n" \
	"ARC-Seal: a=rsa-sha256;\n" \
	"    b=IAqZJ5HwfNxxsrn9R4ayQgiu9RibPKEUVevbt7XFTkSh1baJ533D2Z6IZ2NaBreUhDBb2e\n" \
	"    K9Gtcv+eyUhWkD8VTmE6fq/F8CDIK3ScIiJykF8hNL1wpa/mGwWWwBnkozIJGAbTAAX7AgnH\n" \
	"    knAehnSW99TeU0lmib0XmOt4TN3sY=; cv=pass; d=example.org; i=2; s=dummy;\n" \
	"    t=12346\n" \
	"ARC-Message-Signature: a=rsa-sha256;\n" \
	"    b=2cDGNznUmp4YSSThCe9nrQIH2Gpd5qPFw3OU8sWFzZgEQ5UZtaVQifVUXUrsSyEzjro3Ul\n" \
	"    YPPDx+C1K+LbKRlOZ06il4ws2zlPafsrx1piKsKSCUq0KjFs01hYCDBa3tfdyITSfoWu2HHY\n" \
	"    pCjrhPMPH1jruIdBV/5Gk2Fvy+mW8=;\n" \
	"    bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; c=relaxed/relaxed;\n" \
	"    d=example.org; h=from:to:date:subject:mime-version:arc-authentication-results;\n" \
	"    i=2; s=dummy; t=12346\n" \
	"ARC-Authentication-Results: i=2; lists.example.org;\n" \
	"    spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"    dkim=pass (1024-bit key) header.i=@d1.example;\n" \
	"    dmarc=pass\n" \
	"Received: by 10.157.11.240 with SMTP id 103csp420860oth;\n" \
	"    Fri, 6 Jan 2017 14:27:31 -0800 (PST)\n" \
	"ARC-Seal: a=rsa-sha256;\n" \
	"    b=dOdFEyhrk/tw5wl3vMIogoxhaVsKJkrkEhnAcq2XqOLSQhPpGzhGBJzR7k1sWGokon3TmQ\n" \
	"    7TX9zQLO6ikRpwd/pUswiRW5DBupy58fefuclXJAhErsrebfvfiueGyhHXV7C1LyJTztywzn\n" \
	"    QGG4SCciU/FTlsJ0QANrnLRoadfps=; cv=none; d=example.org; i=1; s=dummy;\n" \
	"    t=12345\n" \
	"ARC-Message-Signature: a=rsa-sha256;\n" \
	"    b=QsRzR/UqwRfVLBc1TnoQomlVw5qi6jp08q8lHpBSl4RehWyHQtY3uOIAGdghDk/mO+/Xpm\n" \
	"    9JA5UVrPyDV0f+2q/YAHuwvP11iCkBQkocmFvgTSxN8H+DwFFPrVVUudQYZV7UDDycXoM6UE\n" \
	"    cdfzLLzVNPOAHEDIi/uzoV4sUqZ18=;\n" \
	"    bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; c=relaxed/relaxed;\n" \
	"    d=example.org; h=from:to:date:subject:mime-version:arc-authentication-results;\n" \
	"    i=1; s=dummy; t=12345\n" \
	"ARC-Authentication-Results: i=1; lists.example.org;\n" \
	"    spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"    dkim=pass (1024-bit key) header.i=@d1.example;\n" \
	"    dmarc=pass\n" \
	"Received: from segv.d1.example (segv.d1.example [72.52.75.15])\n" \
	"    by lists.example.org (8.14.5/8.14.5) with ESMTP id t0EKaNU9010123\n" \
	"    for <arc@example.org>; Thu, 14 Jan 2015 15:01:30 -0800 (PST)\n" \
	"    (envelope-from jqd@d1.example)\n" \
	"Authentication-Results: lists.example.org;\n" \
	"    spf=pass smtp.mfrom=jqd@d1.example;\n" \
	"    dkim=pass (1024-bit key) header.i=@d1.example;\n" \
	"    dmarc=pass\n" \
	"Received: by 10.157.14.6 with HTTP; Tue, 3 Jan 2017 12:22:54 -0800 (PST)\n" \
	"Message-ID: <54B84785.1060301@d1.example.org>\n" \
	"Date: Thu, 14 Jan 2015 15:00:01 -0800\n" \
	"From: John Q Doe <jqd@d1.example.org>\n" \
	"To: arc@dmarc.org\n" \
	"Subject: Example 1\n" \
	"\n" \
	"Hey gang,\n" \
	"This is a test message.\n" \
	"--J.\n"

struct run {
	const char *name;
	const char *message;
	const char *setting;		/* "key = value" for reinject.conf, or NULL */
	bool sign;
	const char *has;		/* substring of the fields added on top (clauses start with a tab) */
	const char *lacks;
};

static const struct run runs[] = {
	{ "sealed_chain_passes", CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY, NULL, false,
	  "\tarc=pass header.oldest-pass=0 smtp.remote-ip=203.0.113.5", "\tarc=fail" },
	{ "subject_changed_after_sealing_fails", CHAIN_HEAD "Subject: [list] Example 1\n"
	  CHAIN_BODY, NULL, false, "\tarc=fail (signature did not verify) smtp.remote-ip=203.0.113.5",
	  "\tarc=pass" },
	{ "no_chain_is_none", "From: <a@d1.example.org>\nSubject: hi\n\nbody\n", NULL, false,
	  "\tarc=none", "oldest-pass" },
	{ "two_sets_pass", CHAIN2, NULL, false, "\tarc=pass header.oldest-pass=0", "\tarc=fail" },
	{ "set_limit_is_a_fail", CHAIN2, "arc_set_limit = 1", false,
	  "\tarc=fail (ARC instance above the set limit)", "\tarc=pass" },
	{ "signature_limit_is_a_fail", CHAIN2, "arc_signature_limit = 3", false,
	  "\tarc=fail (ARC signature verification limit reached)", "\tarc=pass" },
	{ "smallest_limits_pass_one_set", CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY,
	  "arc_hash_size_limit = 64k\narc_signature_limit = 2\narc_set_limit = 1\n"
	  "arc_dns_query_limit = 1", false, "\tarc=pass", NULL },
	{ "mail_to_sign_is_not_validated", CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY, NULL,
	  true, NULL, "\tarc=" },
	{ "arc_disabled", CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY, "arc_enable = no", false,
	  "dkim=", "\tarc=" },
};

/* world_init - conf (defaults + one setting), resolver with the suite's key */
static void
world_init(struct world *w, const char *setting, bool async)
{
	world_setup(w, NULL, setting, async);
	dns_mem_add_txt(w->dns, "dummy._domainkey.example.org", SUITE_KEY);
}

/* run_message - text through the pipeline from client 203.0.113.5; the finished message */
static struct reinject_msg *
run_message(struct world *w, bool sign, const char *text)
{
	return world_run(w, "lists.example.org", "203.0.113.5",
	    "list-bounces@lists.example.org", sign, text);
}

/* check_run - one table entry, with synchronous or event-loop DNS */
static void
check_run(const struct run *r, bool async)
{
	struct world w;
	struct reinject_msg *m;
	const char *pre;

	world_init(&w, r->setting, async);
	m = run_message(&w, r->sign, r->message);
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(m->action == REINJECT_ACTION_RELAY && !m->tempfail, "%s: verdict", r->name);
	if (r->has)
		ck_assert_msg(strstr(pre, r->has) != NULL, "%s: added fields lack \"%s\":\n%s",
		    r->name, r->has, pre);
	if (r->lacks)
		ck_assert_msg(strstr(pre, r->lacks) == NULL, "%s: added fields have \"%s\":\n%s",
		    r->name, r->lacks, pre);
	reinject_msg_free(m);
	world_free(&w);
}

START_TEST(reinject_arc_stage_table_sync)
{
	check_run(&runs[_i], false);
}
END_TEST

START_TEST(reinject_arc_stage_table_async)
{
	check_run(&runs[_i], true);
}
END_TEST

/* A key lookup slower than dkim_timeout: the chain fails, the mail is relayed. */
START_TEST(reinject_arc_timeout_is_a_fail)
{
	struct world w;
	struct reinject_msg *m;

	world_init(&w, "dkim_timeout = 1s", true);
	dns_mem_set_delay(w.dns, 5000);
	m = run_message(&w, false, CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "arc=fail (key lookup timed out)"));
	ck_assert_ptr_null(m->tempfail);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* seal_key_file - the suite's RSA key (RFC 8463 Appendix A) in a private file; its path */
static const char *
seal_key_file(void)
{
	static char path[256];
	const char *shared = getenv("MAILAUTH_SHARED");
	char src[4096], text[4096];
	size_t n;
	FILE *in, *out;

	snprintf(src, sizeof(src), "%s/testdata/dkim/rfc8463/rsa.key.pem",
	    shared ? shared : "../shared");
	ck_assert_msg((in = fopen(src, "r")) != NULL, "cannot open %s", src);
	n = fread(text, 1, sizeof(text), in);
	fclose(in);
	snprintf(path, sizeof(path), "/tmp/test_reinject_arc.%ld.key", (long)getpid());
	umask(077);
	ck_assert_ptr_nonnull(out = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, n, out), n);
	fclose(out);
	return path;
}

/* seal_world - a world that seals mail on the sign path with example.org/dummy */
static void
seal_world(struct world *w, const char *extra, const char **key)
{
	char setting[1024], err[DKIM_TABLE_ERR_MAX];
	struct dkim_table_config tc = { 0 };

	*key = seal_key_file();
	snprintf(setting, sizeof(setting), "arc_seal = sign\nsign_domain = example.org\n"
	    "sign_selector = dummy\nsign_key_file = %s\n%s", *key, extra ? extra : "");
	world_init(w, setting, true);
	tc.domain = "example.org";
	tc.selector = "dummy";
	tc.key_file = *key;
	w->ctx.sign_table = dkim_table_load(&tc, err, sizeof(err));
	ck_assert_msg(w->ctx.sign_table != NULL, "%s", err);
}

/* crlf_text - text with LF made CRLF, appended to out */
static void
crlf_text(struct buf *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '\n')
			buf_append_char(out, '\r');
		buf_append_char(out, *text);
	}
}

/* on_arc - collect a verdict */
static void
on_arc(void *arg, const struct arc_result *res)
{
	struct arc_result *o = arg;

	*o = *res;
	o->set = NULL;
}

/* sealed_verdict - the message as it leaves (added fields, then the text) through the ARC verifier */
static struct arc_result
sealed_verdict(struct world *w, const struct reinject_msg *m, const char *text)
{
	struct arc_verify *v = arc_verify_new(w->dns, NULL);
	struct arc_result res = { .cv = ARC_CV_NONE, .reason = "" };
	struct buf out;

	buf_init(&out, 1 << 20);
	buf_append(&out, m->prepend.data, m->prepend.len);
	crlf_text(&out, text);
	res.sets = 99;
	ck_assert_int_eq(arc_verify_chunk(v, out.data, out.len), 0);
	ck_assert_int_eq(arc_verify_finish(v, on_arc, &res), 0);
	event_base_dispatch(w->base);
	ck_assert_uint_ne(res.sets, 99);
	arc_verify_free(v);
	buf_clear(&out);
	return res;
}

/* A list (sign path) relays a chain that passed: sealed as i=2 cv=pass, and it verifies. */
START_TEST(reinject_arc_seals_a_passing_chain_on_the_sign_path)
{
	const char *text = CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY, *key;
	struct world w;
	struct reinject_msg *m;
	struct arc_result r;
	const char *pre;

	seal_world(&w, NULL, &key);
	m = run_message(&w, true, text);
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(strncmp(pre, "ARC-Seal: ", 10) == 0, "set not on top:\n%s", pre);
	ck_assert_ptr_nonnull(strstr(pre, "cv=pass; d=example.org; i=2"));
	ck_assert_ptr_nonnull(strstr(pre, "ARC-Authentication-Results: i=2; " OUR_ID "; arc=pass"));
	r = sealed_verdict(&w, m, text);
	ck_assert_msg(r.cv == ARC_CV_PASS, "%s", r.reason);
	ck_assert_uint_eq(r.sets, 2);
	reinject_msg_free(m);
	dkim_table_free(w.ctx.sign_table);
	world_free(&w);
	unlink(key);
}
END_TEST

/* The Subject changed after the first seal: sealed with cv=fail, which downstream sees as fail. */
START_TEST(reinject_arc_seals_a_broken_chain_with_cv_fail)
{
	const char *text = CHAIN_HEAD "Subject: [list] Example 1\n" CHAIN_BODY, *key;
	struct world w;
	struct reinject_msg *m;

	seal_world(&w, NULL, &key);
	m = run_message(&w, true, text);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "cv=fail; d=example.org; i=2"));
	ck_assert_int_eq(sealed_verdict(&w, m, text).cv, ARC_CV_FAIL);
	reinject_msg_free(m);
	dkim_table_free(w.ctx.sign_table);
	world_free(&w);
	unlink(key);
}
END_TEST

/* No chain yet: the first set, cv=none, verifies; arc_seal = none adds nothing. */
START_TEST(reinject_arc_seals_the_first_set_and_only_when_configured)
{
	const char *text = "From: <a@d1.example.org>\nTo: <l@example.org>\nSubject: hi\n\nbody\n";
	const char *key;
	struct world w;
	struct reinject_msg *m;

	seal_world(&w, NULL, &key);
	m = run_message(&w, true, text);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "cv=none; d=example.org; i=1"));
	ck_assert_int_eq(sealed_verdict(&w, m, text).cv, ARC_CV_PASS);
	reinject_msg_free(m);
	dkim_table_free(w.ctx.sign_table);
	world_free(&w);
	seal_world(&w, "arc_seal = none", &key);
	m = run_message(&w, true, text);
	ck_assert_ptr_null(strstr(buf_cstr(&m->prepend), "ARC-"));
	reinject_msg_free(m);
	dkim_table_free(w.ctx.sign_table);
	world_free(&w);
	unlink(key);
}
END_TEST

/* ---- arc_trusted_sealers: a list changed a p=reject domain's mail and sealed it ---- */

#define LIST_MSG "From: <ceo@reject.example>\r\nTo: <list@lists.example.org>\r\n" \
	"Subject: [list] pay\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n" \
	"please pay\r\n-- \r\nlist footer\r\n"

/* list_sealed - LIST_MSG sealed by example.org (i=1) with the AAR payload given, LF line ends */
static char *
list_sealed(const char *payload)
{
	static const char *const hdrs[] = { "from", "to", "subject", "date", NULL };
	struct arc_sign_config c;
	struct arc_sign *s;
	struct buf err, out;
	const char *key = seal_key_file(), *why;
	char *set;

	buf_init(&err, 1024);
	arc_sign_config_default(&c);
	c.key = dkim_key_load_file(key, false, &err);
	ck_assert_msg(c.key != NULL, "%s", buf_cstr(&err));
	c.domain = "example.org";
	c.selector = "dummy";
	c.headers = hdrs;
	ck_assert_ptr_nonnull(s = arc_sign_new(&c, &why));
	ck_assert_int_eq(arc_sign_chunk(s, LIST_MSG, strlen(LIST_MSG)), 0);
	ck_assert_ptr_nonnull(set = arc_sign_finish(s, ARC_CV_NONE, payload, &why));
	buf_init(&out, 1 << 16);
	for (const char *p = set; *p; p++)
		if (*p != '\r')
			buf_append_char(&out, *p);
	for (const char *p = LIST_MSG; *p; p++)
		if (*p != '\r')
			buf_append_char(&out, *p);
	free(set);
	arc_sign_free(s);
	EVP_PKEY_free(c.key);
	buf_clear(&err);
	unlink(key);
	return buf_steal(&out);
}

struct trust_run {
	const char *name;
	const char *payload;		/* the list's AAR */
	const char *setting;
	bool tamper;			/* body changed after sealing */
	const char *has, *lacks;
};

#define LIST_AR_DMARC "lists.example.org; dmarc=pass header.from=reject.example"
#define LIST_AR_SPF "lists.example.org; spf=pass smtp.mailfrom=ceo@reject.example"
#define OVERRIDDEN "dmarc=fail (p=reject dis=none override=trusted_forwarder)"
#define HELD "X-Mailauth-DMARC: hold"

static const struct trust_run trust_runs[] = {
	{ "trusted_sealer_dmarc_pass_overrides", LIST_AR_DMARC, "arc_trusted_sealers = example.org",
	  false, OVERRIDDEN, HELD },
	{ "trusted_parent_domain_overrides", LIST_AR_SPF, "arc_trusted_sealers = org", false,
	  OVERRIDDEN, HELD },
	{ "no_trusted_sealer_nothing_changes", LIST_AR_DMARC, NULL, false, HELD, "override=" },
	{ "untrusted_sealer_is_held", LIST_AR_DMARC, "arc_trusted_sealers = other.example", false,
	  HELD, "override=" },
	{ "aar_with_dmarc_fail_is_held", "lists.example.org; dmarc=fail header.from=reject.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=" },
	{ "aar_for_another_domain_is_held", "lists.example.org; dmarc=pass header.from=other.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=" },
	{ "broken_chain_is_held", LIST_AR_DMARC, "arc_trusted_sealers = example.org", true,
	  "\tarc=fail", "override=" },
};

START_TEST(reinject_arc_trusted_sealers_table)
{
	const struct trust_run *r = &trust_runs[_i];
	char *text = list_sealed(r->payload);
	struct world w;
	struct reinject_msg *m;
	struct buf t;
	const char *pre;

	buf_init(&t, 1 << 16);
	buf_append_str(&t, text);
	if (r->tamper)
		buf_append_str(&t, "added after sealing\n");
	world_init(&w, r->setting, true);
	dns_mem_add_txt(w.dns, "_dmarc.reject.example", "v=DMARC1; p=reject");
	m = run_message(&w, false, buf_cstr(&t));
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(strstr(pre, r->has) != NULL, "%s: lacks \"%s\":\n%s", r->name, r->has, pre);
	ck_assert_msg(strstr(pre, r->lacks) == NULL, "%s: has \"%s\":\n%s", r->name, r->lacks, pre);
	ck_assert_int_eq(m->action, REINJECT_ACTION_RELAY);
	reinject_msg_free(m);
	world_free(&w);
	buf_clear(&t);
	free(text);
}
END_TEST

/* The override reaches the aggregate-report record (RFC 9990 PolicyOverrideType). */
START_TEST(reinject_arc_override_in_the_report_record)
{
	static struct dmarc_verdict v;	/* about 290 KiB: not on the stack */
	struct dmarc_report_record rec;
	struct dmarc_input in = { 0 };
	struct world w;
	struct reinject_msg *m;

	world_init(&w, NULL, false);
	m = reinject_msg_new(&w.ctx);
	m->arc.vouch_instance = 2;
	snprintf(m->arc.vouch_sealer, sizeof(m->arc.vouch_sealer), "lists.example.org");
	snprintf(m->arc.vouch_from, sizeof(m->arc.vouch_from), "reject.example");
	dmarc_verdict_init(&v);
	v.evaluated = true;
	v.result = DMARC_RESULT_FAIL;
	v.disposition = DMARC_DIS_REJECT;
	v.ndomains = 1;
	v.decisive = 0;
	memset(&v.domains[0], 0, sizeof(v.domains[0]));
	snprintf(v.domains[0].from_domain, sizeof(v.domains[0].from_domain), "Reject.Example");
	v.domains[0].result = DMARC_RESULT_FAIL;
	v.domains[0].disposition = DMARC_DIS_REJECT;
	reinject_arc_dmarc_override(m, &v);
	ck_assert_int_eq(v.disposition, DMARC_DIS_NONE);
	ck_assert_ptr_nonnull(strstr(v.reason, "trusted sealer lists.example.org (i=2)"));
	dmarc_report_fill(&rec, &v, 0, &in, "example.net");
	ck_assert_int_eq(rec.disposition, DMARC_DIS_NONE);
	ck_assert_int_eq(rec.override, DMARC_OVERRIDE_TRUSTED_FORWARDER);
	ck_assert_str_eq(rec.override_comment, "trusted_forwarder");
	/* a vouch for another From domain changes nothing */
	v.disposition = v.domains[0].disposition = DMARC_DIS_REJECT;
	v.domains[0].override = DMARC_OVERRIDE_NONE;
	snprintf(m->arc.vouch_from, sizeof(m->arc.vouch_from), "other.example");
	reinject_arc_dmarc_override(m, &v);
	ck_assert_int_eq(v.disposition, DMARC_DIS_REJECT);
	ck_assert_int_eq(v.domains[0].override, DMARC_OVERRIDE_NONE);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* main - run the stage's cases */
int
main(void)
{
	Suite *s = suite_create("reinject_arc");
	TCase *tc = tcase_create("stage");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, reinject_arc_stage_table_sync, 0, (int)ARRAY_LEN(runs));
	tcase_add_loop_test(tc, reinject_arc_stage_table_async, 0, (int)ARRAY_LEN(runs));
	tcase_add_test(tc, reinject_arc_timeout_is_a_fail);
	tcase_add_test(tc, reinject_arc_seals_a_passing_chain_on_the_sign_path);
	tcase_add_test(tc, reinject_arc_seals_a_broken_chain_with_cv_fail);
	tcase_add_test(tc, reinject_arc_seals_the_first_set_and_only_when_configured);
	tcase_add_loop_test(tc, reinject_arc_trusted_sealers_table, 0, (int)ARRAY_LEN(trust_runs));
	tcase_add_test(tc, reinject_arc_override_in_the_report_record);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
