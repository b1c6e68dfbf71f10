/*
 * test_policyd_action.c - SPF results to Postfix actions, for every result and
 * the settings that change the mapping (RFC 7372 codes, one header per message).
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

#define NOT_CHECKED (-1)

struct action_case {
	const char *name;
	const char *settings[6];	/* name=value overrides */
	int helo;			/* enum spf_result or NOT_CHECKED */
	int mfrom;
	const char *sender;
	const char *expect_prefix;	/* action of the first recipient */
	const char *expect_in;		/* also contained, or NULL */
	const char *identity;
	const char *second;		/* action prefix of the second recipient */
};

static const struct action_case cases[] = {
	{ "fail_rejects_5_7_23_with_explanation", { NULL }, SPF_RESULT_PASS, SPF_RESULT_FAIL,
	  "a@example.org", "550 5.7.23 Message rejected due to: Go away. Please see https://",
	  "s=mfrom;id=a@example.org;ip=192.0.2.1;r=mx.test", "mailfrom", "550 5.7.23" },
	{ "softfail_prepends_header", { NULL }, SPF_RESULT_NONE, SPF_RESULT_SOFTFAIL,
	  "a@example.org", "PREPEND Received-SPF: softfail", "identity=mailfrom", "mailfrom", "DUNNO" },
	{ "neutral_prepends_header", { NULL }, SPF_RESULT_NONE, SPF_RESULT_NEUTRAL,
	  "a@example.org", "PREPEND Received-SPF: neutral", NULL, "mailfrom", "DUNNO" },
	{ "none_prepends_header", { NULL }, SPF_RESULT_NONE, SPF_RESULT_NONE,
	  "a@example.org", "PREPEND Received-SPF: none", "identity=mailfrom", "mailfrom", "DUNNO" },
	{ "pass_prepends_header", { NULL }, SPF_RESULT_NONE, SPF_RESULT_PASS,
	  "a@example.org", "PREPEND Received-SPF: pass", NULL, "mailfrom", "DUNNO" },
	{ "temperror_defers_4_7_24", { NULL }, SPF_RESULT_NONE, SPF_RESULT_TEMPERROR,
	  "a@example.org", "DEFER_IF_PERMIT 4.7.24 Message deferred due to: dns timeout",
	  NULL, "mailfrom", "DEFER_IF_PERMIT 4.7.24" },
	{ "temperror_accepted_when_not_deferring", { "temperror_defer=no" }, SPF_RESULT_NONE,
	  SPF_RESULT_TEMPERROR, "a@example.org", "PREPEND Received-SPF: temperror", NULL,
	  "mailfrom", "DUNNO" },
	{ "permerror_accepted_by_default", { NULL }, SPF_RESULT_NONE, SPF_RESULT_PERMERROR,
	  "a@example.org", "PREPEND Received-SPF: permerror", NULL, "mailfrom", "DUNNO" },
	{ "permerror_rejects_5_7_24", { "permerror_reject=yes" }, SPF_RESULT_NONE,
	  SPF_RESULT_PERMERROR, "a@example.org", "550 5.7.24 Message rejected", NULL,
	  "mailfrom", "550 5.7.24" },
	{ "softfail_rejects_under_softfail_policy", { "mail_from_reject=softfail" },
	  SPF_RESULT_NONE, SPF_RESULT_SOFTFAIL, "a@example.org", "550 5.7.23", NULL,
	  "mailfrom", "550" },
	{ "neutral_accepted_under_softfail_policy", { "mail_from_reject=softfail" },
	  SPF_RESULT_NONE, SPF_RESULT_NEUTRAL, "a@example.org", "PREPEND", NULL,
	  "mailfrom", "DUNNO" },
	{ "neutral_rejects_under_not_pass", { "mail_from_reject=not_pass" },
	  SPF_RESULT_NONE, SPF_RESULT_NEUTRAL, "a@example.org", "550 5.7.23", NULL,
	  "mailfrom", "550" },
	{ "fail_accepted_under_never", { "mail_from_reject=never" },
	  SPF_RESULT_NONE, SPF_RESULT_FAIL, "a@example.org", "PREPEND Received-SPF: fail",
	  NULL, "mailfrom", "DUNNO" },
	{ "helo_fail_rejects_first", { NULL }, SPF_RESULT_FAIL, NOT_CHECKED,
	  "a@example.org", "550 5.7.23 Message rejected due to: helo says no",
	  "s=helo;id=mx.example.org", "helo", "550" },
	{ "helo_null_policy_ignores_helo_fail_with_sender", { "helo_reject=null" },
	  SPF_RESULT_FAIL, SPF_RESULT_PASS, "a@example.org", "PREPEND Received-SPF: pass",
	  "identity=mailfrom", "mailfrom", "DUNNO" },
	{ "helo_null_policy_rejects_null_sender", { "helo_reject=null" },
	  SPF_RESULT_FAIL, NOT_CHECKED, "", "550 5.7.23", NULL, "helo", "550" },
	{ "helo_header_when_mailfrom_says_nothing", { NULL }, SPF_RESULT_PASS,
	  SPF_RESULT_NONE, "a@example.org", "PREPEND Received-SPF: pass", "identity=helo",
	  "helo", "DUNNO" },
	{ "null_sender_uses_helo_header", { NULL }, SPF_RESULT_SOFTFAIL, NOT_CHECKED, "",
	  "PREPEND Received-SPF: softfail", "identity=helo", "helo", "DUNNO" },
	{ "test_only_never_rejects", { "test_only=yes" }, SPF_RESULT_NONE, SPF_RESULT_FAIL,
	  "a@example.org", "PREPEND Received-SPF: fail", NULL, "mailfrom", "DUNNO" },
	{ "test_only_never_defers", { "test_only=yes" }, SPF_RESULT_NONE,
	  SPF_RESULT_TEMPERROR, "a@example.org", "PREPEND", NULL, "mailfrom", "DUNNO" },
	{ "plain_codes_without_rfc7372", { "enhanced_status_codes=no" }, SPF_RESULT_NONE,
	  SPF_RESULT_FAIL, "a@example.org", "550 Message rejected", NULL, "mailfrom", "550 M" },
	{ "plain_defer_without_rfc7372", { "enhanced_status_codes=no" }, SPF_RESULT_NONE,
	  SPF_RESULT_TEMPERROR, "a@example.org", "DEFER_IF_PERMIT Message deferred", NULL,
	  "mailfrom", "DEFER_IF_PERMIT M" },
	{ "authentication_results_header", { "header_type=ar", "authserv_id=auth.test" },
	  SPF_RESULT_NONE, SPF_RESULT_PASS, "a@example.org",
	  "PREPEND Authentication-Results: auth.test; spf=pass", "smtp.mailfrom=example.org",
	  "mailfrom", "DUNNO" },
	{ "both_headers_one_per_request", { "header_type=both", "authserv_id=auth.test" },
	  SPF_RESULT_NONE, SPF_RESULT_PASS, "a@example.org", "PREPEND Received-SPF: pass",
	  NULL, "mailfrom", "PREPEND Authentication-Results: auth.test; spf=pass" },
	{ "no_header", { "header_type=none" }, SPF_RESULT_NONE, SPF_RESULT_PASS,
	  "a@example.org", "DUNNO", NULL, "mailfrom", "DUNNO" },
	{ "custom_reason_message", { "reason_message=SPF {result} for {identity} {domain} from {ip}" },
	  SPF_RESULT_NONE, SPF_RESULT_FAIL, "a@example.org",
	  "550 5.7.23 SPF fail for mailfrom example.org from 192.0.2.1", NULL, "mailfrom", "550" },
	{ "unknown_placeholder_kept", { "reason_message={nope} {spf}" },
	  SPF_RESULT_NONE, SPF_RESULT_FAIL, "a@example.org", "550 5.7.23 {nope} Go away",
	  NULL, "mailfrom", "550" },
	{ "receiver_policy_rejects_softfail_of_listed_domain",
	  { "reject_not_pass_domains=example.org" }, SPF_RESULT_NONE, SPF_RESULT_SOFTFAIL,
	  "a@example.org", "550 5.7.23 Message rejected due to: Receiver policy for SPF softfail.",
	  NULL, "mailfrom", "550" },
	{ "receiver_policy_rejects_neutral_of_parent_domain",
	  { "reject_not_pass_domains=org" }, SPF_RESULT_NONE, SPF_RESULT_NEUTRAL,
	  "a@example.org", "550 5.7.23", "Receiver policy for SPF neutral", "mailfrom", "550" },
	{ "receiver_policy_ignores_other_domains",
	  { "reject_not_pass_domains=ample.org" }, SPF_RESULT_NONE, SPF_RESULT_SOFTFAIL,
	  "a@example.org", "PREPEND Received-SPF: softfail", NULL, "mailfrom", "DUNNO" },
	{ "receiver_policy_for_helo", { "reject_not_pass_domains=mx.example.org" },
	  SPF_RESULT_SOFTFAIL, SPF_RESULT_PASS, "a@example.org", "550 5.7.23", NULL,
	  "helo", "550" },
	{ "mail_from_pass_restriction_answered", { "mail_from_pass_restriction=mfrom_passed_spf" },
	  SPF_RESULT_NONE, SPF_RESULT_PASS, "a@example.org", "mfrom_passed_spf", NULL,
	  "mailfrom", "mfrom_passed_spf" },
	{ "helo_pass_restriction_even_when_mail_from_fails",
	  { "helo_pass_restriction=helo_passed_spf" }, SPF_RESULT_PASS, SPF_RESULT_FAIL,
	  "a@example.org", "helo_passed_spf", NULL, "helo", "helo_passed_spf" },
	{ "mail_from_restriction_before_helo_restriction",
	  { "helo_pass_restriction=h_ok", "mail_from_pass_restriction=m_ok" },
	  SPF_RESULT_PASS, SPF_RESULT_PASS, "a@example.org", "m_ok", NULL, "mailfrom", "m_ok" },
	{ "pass_restriction_not_used_without_pass",
	  { "mail_from_pass_restriction=mfrom_passed_spf" }, SPF_RESULT_NONE,
	  SPF_RESULT_SOFTFAIL, "a@example.org", "PREPEND", NULL, "mailfrom", "DUNNO" },
	{ "nothing_checked_is_dunno", { NULL }, NOT_CHECKED, NOT_CHECKED, "",
	  "DUNNO", NULL, "none", "DUNNO" },
};

/* make_id - an identity outcome as policyd_check would store it */
static void
make_id(struct policyd_identity_outcome *o, int r, bool helo)
{
	char hdr[256];

	memset(o, 0, sizeof(*o));
	if (r == NOT_CHECKED)
		return;
	o->checked = true;
	o->result = (enum spf_result)r;
	o->domain = xstrdup(helo ? "mx.example.org" : "example.org");
	o->reason = xstrdup(r == SPF_RESULT_TEMPERROR ? "dns timeout" :
	    helo ? "helo says no" : "no match");
	o->explanation = r == SPF_RESULT_FAIL && !helo ? xstrdup("Go away") : NULL;
	snprintf(hdr, sizeof(hdr), "Received-SPF: %s (mx.test: x) client-ip=192.0.2.1; "
	    "envelope-from=a@example.org; identity=%s", spf_result_str(o->result),
	    helo ? "helo" : "mailfrom");
	o->received_spf = xstrdup(hdr);
	snprintf(hdr, sizeof(hdr), "spf=%s smtp.%s=%s", spf_result_str(o->result),
	    helo ? "helo" : "mailfrom", o->domain);
	o->authres = xstrdup(hdr);
}

/* make_request - the attributes the action looks at */
static void
make_request(struct policyd_request *r, const char *sender)
{
	memset(r, 0, sizeof(*r));
	r->attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup("192.0.2.1");
	r->attr[POLICYD_ATTR_HELO_NAME] = xstrdup("mx.example.org");
	r->attr[POLICYD_ATTR_SENDER] = xstrdup(sender);
}

/* make_config - defaults, receiver mx.test, plus the case's settings */
static struct policyd_config *
make_config(const char *const *settings)
{
	const char *all[8] = { "receiver_name=mx.test" };
	struct buf err;
	struct policyd_config *c;
	size_t n = 1;

	for (size_t i = 0; settings[i] != NULL; i++)
		all[n++] = settings[i];
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, all, &err);
	ck_assert_msg(c != NULL, "config: %s", buf_cstr(&err));
	buf_clear(&err);
	return c;
}

START_TEST(action_maps_results_per_settings)
{
	const struct action_case *t = &cases[_i];
	struct policyd_config *c = make_config(t->settings);
	struct policyd_outcome o = { 0 };
	struct policyd_request req;
	struct policyd_decision d;
	unsigned headers_sent = 0;
	const char *a;

	make_id(&o.helo, t->helo, true);
	make_id(&o.mfrom, t->mfrom, false);
	make_request(&req, t->sender);
	policyd_decision_init(&d);
	policyd_action_decide(c, &o, &req, &headers_sent, &d);
	a = buf_cstr(&d.action);
	ck_assert_msg(strncmp(a, t->expect_prefix, strlen(t->expect_prefix)) == 0,
	    "%s: got \"%s\"", t->name, a);
	if (t->expect_in != NULL)
		ck_assert_msg(strstr(a, t->expect_in) != NULL, "%s: got \"%s\"", t->name, a);
	ck_assert_str_eq(d.identity, t->identity);
	ck_assert_ptr_null(strpbrk(a, "\r\n"));
	/* the second recipient of the same message */
	policyd_action_decide(c, &o, &req, &headers_sent, &d);
	a = buf_cstr(&d.action);
	ck_assert_msg(strncmp(a, t->second, strlen(t->second)) == 0,
	    "%s: second recipient got \"%s\"", t->name, a);
	policyd_decision_clear(&d);
	policyd_outcome_clear(&o);
	policyd_request_clear(&req);
	policyd_config_unref(c);
}
END_TEST

/* Every result, default settings: the disposition table of the man page. */
START_TEST(action_default_dispositions)
{
	static const struct {
		enum spf_result r;
		enum policyd_disposition d;
	} expect[] = {
		{ SPF_RESULT_PASS, POLICYD_DISP_ACCEPT },
		{ SPF_RESULT_NONE, POLICYD_DISP_ACCEPT },
		{ SPF_RESULT_NEUTRAL, POLICYD_DISP_ACCEPT },
		{ SPF_RESULT_SOFTFAIL, POLICYD_DISP_ACCEPT },
		{ SPF_RESULT_FAIL, POLICYD_DISP_REJECT },
		{ SPF_RESULT_TEMPERROR, POLICYD_DISP_DEFER },
		{ SPF_RESULT_PERMERROR, POLICYD_DISP_ACCEPT },
	};
	const char *none[] = { NULL };
	struct policyd_config *c = make_config(none);

	for (size_t i = 0; i < ARRAY_LEN(expect); i++) {
		ck_assert_int_eq(policyd_action_disposition(c, c->mail_from_reject,
		    expect[i].r, false), expect[i].d);
		ck_assert_int_eq(policyd_action_disposition(c, POLICYD_REJECT_NO_CHECK,
		    expect[i].r, false), POLICYD_DISP_ACCEPT);
	}
	policyd_config_unref(c);
}
END_TEST

START_TEST(action_explanation_cannot_inject_protocol_lines)
{
	const char *none[] = { NULL };
	struct policyd_config *c = make_config(none);
	struct policyd_outcome o = { 0 };
	struct policyd_request req;
	struct policyd_decision d;
	unsigned headers_sent = 0;

	make_id(&o.mfrom, SPF_RESULT_FAIL, false);
	free(o.mfrom.explanation);
	o.mfrom.explanation = xstrdup("bad\r\n\naction=OK\x01\xc3\xa9");
	make_request(&req, "a@example.org");
	policyd_decision_init(&d);
	policyd_action_decide(c, &o, &req, &headers_sent, &d);
	ck_assert_ptr_null(strpbrk(buf_cstr(&d.action), "\r\n\x01"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&d.action), "badaction=OK??."));
	policyd_decision_clear(&d);
	policyd_outcome_clear(&o);
	policyd_request_clear(&req);
	policyd_config_unref(c);
}
END_TEST

/* decide_with - the first recipient's action for mfrom's reason and explanation */
static char *
decide_with(const char *const *settings, enum spf_result r, const char *reason,
    const char *explanation)
{
	struct policyd_config *c = make_config(settings);
	struct policyd_outcome o = { 0 };
	struct policyd_request req;
	struct policyd_decision d;
	unsigned headers_sent = 0;
	char *a;

	make_id(&o.mfrom, r, false);
	free(o.mfrom.reason);
	o.mfrom.reason = xstrdup(reason);
	free(o.mfrom.explanation);
	o.mfrom.explanation = explanation ? xstrdup(explanation) : NULL;
	make_request(&req, "a@example.org");
	policyd_decision_init(&d);
	policyd_action_decide(c, &o, &req, &headers_sent, &d);
	ck_assert(!d.action.overflow);
	a = xstrdup(buf_cstr(&d.action));
	policyd_decision_clear(&d);
	policyd_outcome_clear(&o);
	policyd_request_clear(&req);
	policyd_config_unref(c);
	return a;
}

/* smtp_reply_len - the length of the SMTP reply Postfix makes of a refusal */
static size_t
smtp_reply_len(const char *a)
{
	if (strncmp(a, "DEFER_IF_PERMIT ", 16) == 0)
		return 4 + strlen(a + 16);	/* "450 " and the rest */
	return strlen(a);
}

/* fill - n bytes of s repeated (s's length divides n) */
static char *
fill(size_t n, const char *s)
{
	struct buf b;

	buf_init(&b, n + 1);
	while (b.len < n)
		buf_append_str(&b, s);
	return buf_steal(&b);
}

/*
 * A reason or explanation over 800 characters is cut with "...", never made
 * empty ("due to: ."), and the whole reply fits the 510 characters Postfix
 * keeps; a missing reason says the result instead.
 */
START_TEST(action_long_reason_is_cut_with_a_marker_never_empty)
{
	const char *none[] = { NULL };
	const char *defer[] = { "temperror_defer=yes", NULL };
	char *r900 = fill(900, "r"), *x5000 = fill(5000, "x"), *utf8 = fill(2000, "\xc3\xa9");
	char *a;

	a = decide_with(none, SPF_RESULT_FAIL, r900, NULL);
	ck_assert_msg(strncmp(a, "550 5.7.23 Message rejected due to: rrrr", 40) == 0, "%s", a);
	ck_assert_ptr_nonnull(strstr(a, "r..."));
	ck_assert_uint_le(smtp_reply_len(a), 510);
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "no match", x5000);
	ck_assert_msg(strncmp(a, "550 5.7.23 Message rejected due to: xxxx", 40) == 0, "%s", a);
	ck_assert_ptr_nonnull(strstr(a, "x..."));
	ck_assert_uint_le(smtp_reply_len(a), 510);
	free(a);
	a = decide_with(defer, SPF_RESULT_TEMPERROR, r900, NULL);
	ck_assert_msg(strncmp(a, "DEFER_IF_PERMIT 4.7.24 Message deferred due to: rrr", 51) == 0,
	    "%s", a);
	ck_assert_uint_le(smtp_reply_len(a), 510);
	free(a);
	/* 800 bytes of two-byte characters: cut after 398 whole ones, one '?' each */
	a = decide_with(none, SPF_RESULT_FAIL, utf8, NULL);
	ck_assert_ptr_nonnull(strstr(a, "due to: ?"));
	ck_assert_uint_eq(strspn(strstr(a, "due to: ") + 8, "?"), 398);
	ck_assert_ptr_nonnull(strstr(a, "?..."));
	ck_assert_uint_le(smtp_reply_len(a), 510);
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "", NULL);
	ck_assert_msg(strncmp(a, "550 5.7.23 Message rejected due to: SPF fail. Please see ",
	    57) == 0, "%s", a);
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "", "");
	ck_assert_ptr_nonnull(strstr(a, "due to: SPF fail. "));
	free(a);
	free(r900);
	free(x5000);
	free(utf8);
}
END_TEST

/*
 * Texts that sanitize to nothing (CR LF only) fall back to the next text or
 * to "SPF <result>"; stray UTF-8 continuation bytes are shown, not dropped.
 * Found by fuzz_policyd_reply: a reason of 0x85 bytes gave "due to: .".
 */
START_TEST(action_reason_that_sanitizes_to_nothing_still_says_something)
{
	const char *none[] = { NULL };
	char *a;

	a = decide_with(none, SPF_RESULT_FAIL, "\r\n", NULL);
	ck_assert_ptr_nonnull(strstr(a, "due to: SPF fail. "));
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "no match", "\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(a, "due to: no match. "));
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "\x85\x85\x85", NULL);
	ck_assert_ptr_nonnull(strstr(a, "due to: ???. "));
	free(a);
	a = decide_with(none, SPF_RESULT_FAIL, "\xf0\x9f\x98\x80!\xe2\x82\xac", NULL);
	ck_assert_ptr_nonnull(strstr(a, "due to: ?!?. "));
	free(a);
	a = decide_with((const char *[]){ "reason_message={reason}|{spf}",
	    "permerror_reject=yes", NULL }, SPF_RESULT_PERMERROR, "\n", NULL);
	ck_assert_str_eq(a, "550 5.7.24 SPF permerror|SPF permerror");
	free(a);
}
END_TEST

START_TEST(action_skip_dunno_or_one_comment)
{
	const char *dunno[] = { NULL };
	const char *comment[] = { "skip_action=comment", NULL };
	struct policyd_config *c = make_config(dunno), *k = make_config(comment);
	struct policyd_outcome o = { .skip_reason = "client in skip_addresses" };
	struct policyd_request req;
	struct policyd_decision d;
	unsigned sent = 0;

	make_request(&req, "");
	policyd_decision_init(&d);
	policyd_action_decide(c, &o, &req, &sent, &d);
	ck_assert_str_eq(buf_cstr(&d.action), "DUNNO");
	ck_assert_str_eq(d.identity, "none");
	sent = 0;
	policyd_action_decide(k, &o, &req, &sent, &d);
	ck_assert_str_eq(buf_cstr(&d.action), "PREPEND X-Comment: SPF skipped for client "
	    "in skip_addresses - client-ip=192.0.2.1; helo=mx.example.org; "
	    "envelope-from=<>; receiver=mx.test");
	policyd_action_decide(k, &o, &req, &sent, &d);
	ck_assert_str_eq(buf_cstr(&d.action), "DUNNO");
	policyd_decision_clear(&d);
	policyd_request_clear(&req);
	policyd_config_unref(c);
	policyd_config_unref(k);
}
END_TEST

/* capture_log - what policyd_log_verdict writes for a decision */
static char *
capture_log(const struct policyd_config *c, const struct policyd_request *req,
    const struct policyd_decision *d)
{
	char path[] = "/tmp/test_policyd_log_XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct buf err;
	size_t len;
	char *text;

	ck_assert_int_ge(fd, 0);
	log_open("policyd", LOG_DEST_STDERR);
	fflush(stderr);
	dup2(fd, 2);
	policyd_log_verdict(c, req, d);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	buf_init(&err, 1024);
	text = config_read_file(path, &len, &err);
	unlink(path);
	buf_clear(&err);
	return text;
}

START_TEST(action_log_line_is_one_grep_parseable_line)
{
	const char *none[] = { NULL };
	struct policyd_config *c = make_config(none);
	struct policyd_outcome o = { 0 };
	struct policyd_request req;
	struct policyd_decision d;
	unsigned sent = 0;
	char *line;

	make_id(&o.mfrom, SPF_RESULT_FAIL, false);
	make_request(&req, "a b\"@example.org");
	req.attr[POLICYD_ATTR_QUEUE_ID] = xstrdup("4ABC123");
	req.attr[POLICYD_ATTR_RECIPIENT] = xstrdup("r@example.net");
	policyd_decision_init(&d);
	policyd_action_decide(c, &o, &req, &sent, &d);
	line = capture_log(c, &req, &d);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, ": 4ABC123: spf verdict: client=192.0.2.1 helo=mx.example.org "
	    "sender=a?b?@example.org recipient=r@example.net identity=mailfrom result=fail "
	    "action=reject reason=\"no match\"\n") != NULL, "%s", line);
	ck_assert_int_eq(strchr(line, '\n') - line + 1, (long)strlen(line));
	free(line);
	/* no queue id yet, a prepend */
	free(req.attr[POLICYD_ATTR_QUEUE_ID]);
	req.attr[POLICYD_ATTR_QUEUE_ID] = NULL;
	policyd_outcome_clear(&o);
	make_id(&o.mfrom, SPF_RESULT_PASS, false);
	policyd_action_decide(c, &o, &req, &sent, &d);
	line = capture_log(c, &req, &d);
	ck_assert_msg(strstr(line, ": NOQUEUE: spf verdict: ") != NULL &&
	    strstr(line, " result=pass action=prepend ") != NULL, "%s", line);
	free(line);
	policyd_decision_clear(&d);
	policyd_outcome_clear(&o);
	policyd_request_clear(&req);
	policyd_config_unref(c);
}
END_TEST

static Suite *
action_suite(void)
{
	Suite *s = suite_create("policyd_action");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, action_maps_results_per_settings, 0, (int)ARRAY_LEN(cases));
	tcase_add_test(tc, action_default_dispositions);
	tcase_add_test(tc, action_explanation_cannot_inject_protocol_lines);
	tcase_add_test(tc, action_skip_dunno_or_one_comment);
	tcase_add_test(tc, action_long_reason_is_cut_with_a_marker_never_empty);
	tcase_add_test(tc, action_reason_that_sanitizes_to_nothing_still_says_something);
	tcase_add_test(tc, action_log_line_is_one_grep_parseable_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(action_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
