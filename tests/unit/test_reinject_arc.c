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
#include <sys/wait.h>
#include <unistd.h>

#include "dkim_table.h"
#include "dmarc.h"
#include "reinject.h"
#include "test_reinject_util.h"
#include "test_arc_util.h"
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
	  CHAIN_BODY, NULL, false, "\tarc=fail reason=\"signature did not verify\" smtp.remote-ip=203.0.113.5",
	  "\tarc=pass" },
	{ "no_chain_is_none", "From: <a@d1.example.org>\nSubject: hi\n\nbody\n", NULL, false,
	  "\tarc=none", "oldest-pass" },
	{ "two_sets_pass", CHAIN2, NULL, false, "\tarc=pass header.oldest-pass=0", "\tarc=fail" },
	{ "set_limit_is_a_fail", CHAIN2, "arc_set_limit = 1", false,
	  "\tarc=fail reason=\"ARC instance above the set limit\"", "\tarc=pass" },
	{ "signature_limit_is_a_fail", CHAIN2, "arc_signature_limit = 3", false,
	  "\tarc=fail reason=\"ARC signature verification limit reached\"", "\tarc=pass" },
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

/* run_message_to - text through the pipeline from client 203.0.113.5, seal_rcpt as the front-end found it */
static struct reinject_msg *
run_message_to(struct world *w, bool sign, bool seal_rcpt, const char *text)
{
	struct reinject_msg *m = world_begin(w, "lists.example.org", "203.0.113.5",
	    "list-bounces@lists.example.org", sign);

	m->arc_seal_rcpt = seal_rcpt;
	return world_finish(w, m, text);
}

/* run_message - text through the pipeline from client 203.0.113.5; the finished message */
static struct reinject_msg *
run_message(struct world *w, bool sign, const char *text)
{
	return run_message_to(w, sign, false, text);
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

/*
 * authres_py - the arc= result of our Authentication-Results field in pre, as
 * python3-authres (an independent RFC 8601 parser) reads it: "result|reason|
 * props" in out; false when that parser is not installed.
 */
static bool
authres_py(const char *pre, char *out, size_t size)
{
	static const char script[] = "/usr/bin/python3 -c '"
	    "import sys\n"
	    "try:\n import authres, authres.arc\n"
	    "except ImportError:\n sys.exit(77)\n"
	    "t = sys.stdin.read()\n"
	    "f = t[t.index(\"Authentication-Results:\"):]\n"
	    "f = f[:f.index(\"\\r\\n\\r\\n\")] if \"\\r\\n\\r\\n\" in f else f\n"
	    "import re\n"
	    "f = re.split(r\"\\r\\n(?![ \\t])\", f)[0]\n"
	    "h = authres.AuthenticationResultsHeader.parse(f)\n"
	    "for r in h.results:\n"
	    " if r.method == \"arc\":\n"
	    "  print(\"%s|%s|%s\" % (r.result, r.reason, \" \".join(\"%s.%s=%s\" % "
	    "(p.type, p.name, p.value) for p in r.properties)))\n"
	    "' >";
	char cmd[2048], path[64];
	FILE *p, *in;
	size_t n;
	int st;

	snprintf(path, sizeof(path), "/tmp/test_reinject_arc.%ld.authres", (long)getpid());
	snprintf(cmd, sizeof(cmd), "%s%s 2>&1", script, path);
	ck_assert_ptr_nonnull(p = popen(cmd, "w"));
	fputs(pre, p);
	st = pclose(p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return false;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "python3 authres failed on:\n%s", pre);
	ck_assert_ptr_nonnull(in = fopen(path, "r"));
	n = fread(out, 1, size - 1, in);
	out[n] = '\0';
	fclose(in);
	unlink(path);
	return true;
}

/* arc=fail carries reason= (RFC 8601 §2.7), which python3-authres reads as the reason */
START_TEST(reinject_arc_fail_reason_parses_as_rfc8601_reason)
{
	struct world w;
	struct reinject_msg *m;
	char got[1024];

	world_init(&w, NULL, true);
	m = run_message(&w, false, CHAIN_HEAD "Subject: [list] Example 1\n" CHAIN_BODY);
	if (authres_py(buf_cstr(&m->prepend), got, sizeof(got)))
		ck_assert_str_eq(got, "fail|signature did not verify|smtp.remote-ip=203.0.113.5\n");
	else
		fprintf(stderr, "python3-authres not installed: the parse is not checked\n");
	reinject_msg_free(m);
	world_free(&w);
	world_init(&w, NULL, true);
	m = run_message(&w, false, CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY);
	if (authres_py(buf_cstr(&m->prepend), got, sizeof(got)))
		ck_assert_str_eq(got, "pass|None|header.oldest-pass=0 smtp.remote-ip=203.0.113.5\n");
	reinject_msg_free(m);
	world_free(&w);
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
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "arc=fail reason=\"key lookup timed out\""));
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

/* state_of - the state stage keeps for m, or NULL */
static void *
state_of(const struct reinject_msg *m, const struct reinject_stage *stage)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (reinject_stages[i] == stage)
			return m->stage_state[i];
	return NULL;
}

/* body_len - bytes of text's body (after the first empty line) once lines end in CRLF */
static uint64_t
body_len(const char *text)
{
	const char *b = strstr(text, "\n\n");
	uint64_t n = 0;

	ck_assert_ptr_nonnull(b);
	for (b += 2; *b; b++)
		n += *b == '\n' ? 2 : 1;
	return n;
}

/* assert_body_hashed_once - the ARC verifier hashed the body once (one hasher) and the sealer not at all */
static void
assert_body_hashed_once(const struct reinject_msg *m, const char *text)
{
	const struct arc_verify *v = state_of(m, &reinject_stage_arc);
	const struct arc_sign *s = state_of(m, &reinject_stage_arcseal);

	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(arc_verify_body_hashed(v), body_len(text));
	ck_assert_uint_eq(arc_sign_body_hashed(s), 0);
}

/* assert_log - the ARC part of m's log line is want */
static void
assert_log(const struct reinject_msg *m, const char *want)
{
	struct buf b;

	buf_init(&b, 1024);
	reinject_arc_log(m, &b);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_clear(&b);
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
	/* the AMS of i=1 is relaxed/relaxed without l=: its body hash is the seal's */
	assert_body_hashed_once(m, text);
	assert_log(m, ", arc=pass oldest-pass=0 sealed i=2");
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
	assert_log(m, ", arc=fail (signature did not verify) sealed i=2");
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
	/* no chain to validate: the verifier still hashes the body, for the seal only */
	assert_body_hashed_once(m, text);
	assert_log(m, ", arc=none sealed i=1");
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

/* arc_seal_recipient_domains: which recipients' domains match */
START_TEST(reinject_arc_seal_recipient_domains_match)
{
	static const struct {
		const char *addr;
		bool seal;
	} cases[] = {
		{ "<a@example.net>", true }, { "a@Example.NET", true },
		{ "<a@mx.lists.example.net>", true }, { "<a@example.net.>", true },
		{ "<a@notexample.net>", false }, { "<a@example.net.evil.example>", false },
		{ "<a@other.example>", false }, { "<>", false }, { "<postmaster>", false },
		{ "<\"a@example.net\"@other.example>", false },
	};
	struct world w;

	world_init(&w, "arc_seal_recipient_domains = example.net, lists.example.org", false);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		ck_assert_msg(reinject_arc_seal_rcpt(&w.conf.arc, span_from_cstr(cases[i].addr)) ==
		    cases[i].seal, "%s", cases[i].addr);
	ck_assert(reinject_arc_seal_rcpt(&w.conf.arc, span_from_cstr("<x@lists.example.org>")));
	world_free(&w);
	world_init(&w, NULL, false);
	ck_assert(!reinject_arc_seal_rcpt(&w.conf.arc, span_from_cstr("<a@example.net>")));
	world_free(&w);
}
END_TEST

/* arc_seal = none, but a recipient in arc_seal_recipient_domains: verified mail is sealed, and it verifies */
START_TEST(reinject_arc_seals_mail_to_a_recipient_domain)
{
	const char *text = CHAIN_HEAD "Subject: Example 1\n" CHAIN_BODY, *key;
	struct world w;
	struct reinject_msg *m;

	seal_world(&w, "arc_seal = none\narc_seal_recipient_domains = example.net", &key);
	m = run_message_to(&w, false, true, text);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "cv=pass; d=example.org; i=2"));
	ck_assert_int_eq(sealed_verdict(&w, m, text).cv, ARC_CV_PASS);
	assert_body_hashed_once(m, text);
	reinject_msg_free(m);
	/* the same message with no recipient there: validated, not sealed */
	w.done = 0;
	m = run_message_to(&w, false, false, text);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "\tarc=pass"));
	ck_assert_ptr_null(strstr(buf_cstr(&m->prepend), "ARC-Seal"));
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

/* the same from a subdomain of the p=reject domain, which has no record of its own */
#define LIST_MSG_SUB "From: <ceo@news.reject.example>\r\nTo: <list@lists.example.org>\r\n" \
	"Subject: [list] pay\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n" \
	"please pay\r\n-- \r\nlist footer\r\n"

/* list_sealed - msg (NULL: LIST_MSG) sealed by example.org (i=1) with the AAR payload given, LF line ends */
static char *
list_sealed(const char *msg, const char *payload)
{
	static const char *const hdrs[] = { "from", "to", "subject", "date", NULL };

	return ta_sealed(msg ? msg : LIST_MSG, hdrs, payload);
}

struct trust_run {
	const char *name;
	const char *payload;		/* the list's AAR */
	const char *setting;
	bool tamper;			/* body changed after sealing */
	const char *has, *lacks;
	const char *msg;		/* NULL: LIST_MSG */
	const char *record;		/* _dmarc.reject.example; NULL: p=reject */
};

#define LIST_AR_DMARC "lists.example.org; dmarc=pass header.from=reject.example"
#define LIST_AR_SPF "lists.example.org; spf=pass smtp.mailfrom=ceo@reject.example"
#define OVERRIDDEN "dmarc=fail (p=reject dis=none override=trusted_forwarder)"
#define HELD "X-Mailauth-DMARC: hold"

static const struct trust_run trust_runs[] = {
	{ "trusted_sealer_dmarc_pass_overrides", LIST_AR_DMARC, "arc_trusted_sealers = example.org",
	  false, OVERRIDDEN, HELD, NULL, NULL },
	{ "trusted_parent_domain_overrides", LIST_AR_SPF, "arc_trusted_sealers = org", false,
	  OVERRIDDEN, HELD, NULL, NULL },
	{ "no_trusted_sealer_nothing_changes", LIST_AR_DMARC, NULL, false, HELD, "override=", NULL, NULL },
	{ "untrusted_sealer_is_held", LIST_AR_DMARC, "arc_trusted_sealers = other.example", false,
	  HELD, "override=", NULL, NULL },
	{ "aar_with_dmarc_fail_is_held", "lists.example.org; dmarc=fail header.from=reject.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=", NULL, NULL },
	{ "aar_for_another_domain_is_held", "lists.example.org; dmarc=pass header.from=other.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=", NULL, NULL },
	{ "broken_chain_is_held", LIST_AR_DMARC, "arc_trusted_sealers = example.org", true,
	  "\tarc=fail", "override=", NULL, NULL },
	/* RFC 9989 relaxed alignment: the same Organizational Domain */
	{ "spf_pass_relaxed_aligned_overrides",
	  "lists.example.org; spf=pass smtp.mailfrom=bounce@mail.reject.example",
	  "arc_trusted_sealers = example.org", false, OVERRIDDEN, HELD, NULL, NULL },
	{ "dkim_pass_relaxed_aligned_overrides", "lists.example.org; dkim=pass header.d=mail.reject.example",
	  "arc_trusted_sealers = example.org", false, OVERRIDDEN, HELD, NULL, NULL },
	{ "dkim_pass_org_domain_for_a_subdomain_overrides",
	  "lists.example.org; dkim=pass header.d=reject.example", "arc_trusted_sealers = example.org",
	  false, OVERRIDDEN, HELD, LIST_MSG_SUB, NULL },
	{ "dmarc_pass_for_the_org_domain_is_held",
	  "lists.example.org; dmarc=pass header.from=reject.example", "arc_trusted_sealers = example.org",
	  false, HELD, "override=", LIST_MSG_SUB, NULL },
	{ "dkim_pass_adkim_strict_is_held", "lists.example.org; dkim=pass header.d=mail.reject.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=", NULL,
	  "v=DMARC1; p=reject; adkim=s" },
	{ "spf_pass_aspf_strict_is_held",
	  "lists.example.org; spf=pass smtp.mailfrom=bounce@mail.reject.example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=", NULL,
	  "v=DMARC1; p=reject; aspf=s" },
	{ "dkim_pass_other_organization_is_held",
	  "lists.example.org; dkim=pass header.d=reject.example.net", "arc_trusted_sealers = example.org",
	  false, HELD, "override=", NULL, NULL },
	{ "dkim_pass_parent_of_org_domain_is_held", "lists.example.org; dkim=pass header.d=example",
	  "arc_trusted_sealers = example.org", false, HELD, "override=", NULL, NULL },
};

START_TEST(reinject_arc_trusted_sealers_table)
{
	const struct trust_run *r = &trust_runs[_i];
	char *text = list_sealed(r->msg, r->payload);
	struct world w;
	struct reinject_msg *m;
	struct buf t;
	const char *pre;

	buf_init(&t, 1 << 16);
	buf_append_str(&t, text);
	if (r->tamper)
		buf_append_str(&t, "added after sealing\n");
	world_init(&w, r->setting, true);
	dns_mem_add_txt(w.dns, "_dmarc.reject.example", r->record ? r->record : "v=DMARC1; p=reject");
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
	struct arc_set_result sets[2] = {
		{ .instance = 1, .seal_domain = "origin.example", .aar = "origin.example; none" },
		{ .instance = 2, .seal_domain = "lists.example.org",
		  .aar = "lists.example.org; dmarc=pass header.from=reject.example" },
	};
	struct arc_result res = { .cv = ARC_CV_PASS, .reason = "", .sets = 2, .set = sets };
	struct dmarc_report_record rec;
	struct dmarc_input in = { 0 };
	struct world w;
	struct reinject_msg *m;

	world_init(&w, "arc_trusted_sealers = example.org", false);
	m = reinject_msg_new(&w.ctx);
	m->arc.evaluated = true;
	m->arc.cv = ARC_CV_PASS;
	m->arc.result = &res;
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
	snprintf(v.domains[0].from_domain, sizeof(v.domains[0].from_domain), "other.example");
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
	tcase_add_test(tc, reinject_arc_fail_reason_parses_as_rfc8601_reason);
	tcase_add_test(tc, reinject_arc_seals_a_passing_chain_on_the_sign_path);
	tcase_add_test(tc, reinject_arc_seals_a_broken_chain_with_cv_fail);
	tcase_add_test(tc, reinject_arc_seals_the_first_set_and_only_when_configured);
	tcase_add_test(tc, reinject_arc_seal_recipient_domains_match);
	tcase_add_test(tc, reinject_arc_seals_mail_to_a_recipient_domain);
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
