/*
 * test_reinject_dmarc.c - reinject's DMARC stage inside the real pipeline
 * (verify -> dmarc -> authres -> sign) over the in-memory resolver: the action
 * taken for each disposition, the fields it adds or removes, which SPF result
 * it trusts, and what it leaves to the A-R stage.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "dmarc.h"
#include "reinject.h"
#include "reinject_dmarc.h"
#include "test_reinject_util.h"

struct run {
	const char *name;
	const char *sender;		/* envelope */
	const char *helo, *addr;	/* XFORWARD */
	const char *message;		/* header lines separated by \n, then body */
	const char *setting;		/* "key = value" for reinject.conf, or NULL */
	bool sign;
	/* expectations */
	enum reinject_action action;
	int code;
	bool tempfail;
	const char *prepend_has[3];	/* substrings of the fields added on top */
	const char *prepend_lacks;
	const char *removed;		/* name of a field that must be marked removed */
	const char *kept;		/* name of a field that must not be removed */
};

#define TRUSTED_AR "Authentication-Results: filter.ours.example; spf=pass smtp.mailfrom=b@quar.example\n"
#define OUR_RECEIVED "Received: from mx.sender.example by mx.ours.example\n"

static const struct run runs[] = {
	{ "quarantine_spoof_is_tagged", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <boss@quar.example>\nSubject: hello\n\nbody\n", NULL, false,
	  REINJECT_ACTION_RELAY, 0, false,
	  { "Subject: [SPAM] hello", "X-Spam-Flag: YES",
	    "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example" },
	  "X-Mailauth-DMARC", "Subject", NULL },
	{ "reject_spoof_is_marked_for_hold", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <ceo@reject.example>\nSubject: pay\n\nbody\n", NULL, false,
	  REINJECT_ACTION_RELAY, 0, false,
	  { "X-Mailauth-DMARC: hold (dmarc=fail p=reject header.from=reject.example)",
	    "dmarc=fail (p=reject dis=reject)", NULL }, "[SPAM]", NULL, NULL },
	{ "reject_action_reject_refuses", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <ceo@reject.example>\n\nbody\n", "dmarc_reject_action = reject",
	  false, REINJECT_ACTION_REJECT, 550, false, { NULL }, NULL, NULL, NULL },
	{ "quarantine_action_discard", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <boss@quar.example>\n\nbody\n", "dmarc_quarantine_action = discard",
	  false, REINJECT_ACTION_DISCARD, 0, false, { NULL }, NULL, NULL, NULL },
	{ "quarantine_action_redirect_marks", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <boss@quar.example>\n\nbody\n", "dmarc_quarantine_action = redirect",
	  false, REINJECT_ACTION_RELAY, 0, false, { "X-Mailauth-DMARC: redirect", NULL },
	  NULL, NULL, NULL },
	{ "accept_adds_only_the_clause", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <ceo@reject.example>\n\nbody\n", "dmarc_reject_action = accept",
	  false, REINJECT_ACTION_RELAY, 0, false, { "dmarc=fail (p=reject dis=reject)", NULL },
	  "X-Mailauth-DMARC", NULL, NULL },
	{ "incoming_mark_is_removed", "b@quar.example", "mx.unrelated.example", "203.0.113.5",
	  "X-Mailauth-DMARC: hold (forged)\nFrom: <boss@quar.example>\n\nbody\n",
	  "dmarc_quarantine_action = accept", false, REINJECT_ACTION_RELAY, 0, false,
	  { "dmarc=fail", NULL }, "X-Mailauth-DMARC", "X-Mailauth-DMARC", NULL },
	{ "own_mta_received_spf_is_trusted", "b@quar.example", "mx.sender.example", "198.51.100.7",
	  "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=198.51.100.7; envelope-from=b@quar.example\n"
	  "Received: from mx.sender.example by mx.ours.example\n"
	  "From: <boss@quar.example>\n\nbody\n", NULL, false, REINJECT_ACTION_RELAY, 0, false,
	  { "dmarc=pass", NULL }, "[SPAM]", NULL, NULL },
	/* our hop's header, but about another client: DMARC evaluates SPF itself
	 * and the A-R field states that result, not the header's */
	{ "received_spf_for_another_client_is_not_reported", "b@quar.example",
	  "mx.sender.example", "198.51.100.7",
	  "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.99; envelope-from=b@quar.example\n"
	  "Received: from mx.sender.example by mx.ours.example\n"
	  "From: <boss@quar.example>\n\nbody\n", NULL, false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=fail smtp.mailfrom=b@quar.example", "dmarc=fail", NULL }, "spf=pass", NULL, NULL },
	{ "sender_written_received_spf_is_not", "b@quar.example", "mx.sender.example", "198.51.100.7",
	  "Received: from mx.sender.example by mx.ours.example\n"
	  "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=198.51.100.7; envelope-from=b@quar.example\n"
	  "From: <boss@quar.example>\n\nbody\n", NULL, false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=fail smtp.mailfrom=b@quar.example", "dmarc=fail", NULL }, "dmarc=pass", NULL, NULL },
	{ "trusted_authserv_id_above_received_is_used", "b@quar.example", "mx.sender.example",
	  "198.51.100.7", TRUSTED_AR OUR_RECEIVED "From: <boss@quar.example>\n\nbody\n",
	  "trusted_authserv_ids = filter.ours.example", false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=pass smtp.mailfrom=b@quar.example", "dmarc=pass", NULL }, "[SPAM]", NULL,
	  "Authentication-Results" },
	{ "authserv_id_not_listed_is_ignored", "b@quar.example", "mx.sender.example",
	  "198.51.100.7", TRUSTED_AR OUR_RECEIVED "From: <boss@quar.example>\n\nbody\n",
	  "trusted_authserv_ids = mx.other.example", false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=fail smtp.mailfrom=b@quar.example", "dmarc=fail", NULL }, "dmarc=pass", NULL,
	  "Authentication-Results" },
	{ "trusted_authserv_id_below_received_is_ignored", "b@quar.example", "mx.sender.example",
	  "198.51.100.7", OUR_RECEIVED TRUSTED_AR "From: <boss@quar.example>\n\nbody\n",
	  "trusted_authserv_ids = filter.ours.example", false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=fail smtp.mailfrom=b@quar.example", "dmarc=fail", NULL }, "dmarc=pass", NULL,
	  "Authentication-Results" },
	{ "own_spf_pass_aligns_relaxed", "b@mail.quar.example", "mx.sender.example", "198.51.100.7",
	  "From: <boss@quar.example>\n\nbody\n", NULL, false, REINJECT_ACTION_RELAY, 0, false,
	  { "spf=pass smtp.mailfrom=b@mail.quar.example", "dmarc=pass", NULL }, "[SPAM]", NULL, NULL },
	{ "temperror_tempfail", "x@unrelated.example", "mx.unrelated.example", "203.0.113.5",
	  "From: <a@slow.example>\n\nbody\n", "dmarc_temperror_action = tempfail", false,
	  REINJECT_ACTION_RELAY, 451, true, { NULL }, NULL, NULL, NULL },
	{ "no_from_is_permerror_with_reject_disposition", "x@unrelated.example",
	  "mx.unrelated.example", "203.0.113.5", "Subject: no from\n\nbody\n", NULL, false,
	  REINJECT_ACTION_RELAY, 0, false, { "dmarc=permerror", "X-Mailauth-DMARC: hold", NULL },
	  NULL, NULL, NULL },
	/* a From field past the ones evaluated is never silently dropped */
	{ "ninth_from_field_is_a_from_error", "b@mail.quar.example", "mx.sender.example",
	  "198.51.100.7", "From: <a@quar.example>\nFrom: <b@quar.example>\n"
	  "From: <c@quar.example>\nFrom: <d@quar.example>\nFrom: <e@quar.example>\n"
	  "From: <f@quar.example>\nFrom: <g@quar.example>\nFrom: <h@quar.example>\n"
	  "From: <ceo@reject.example>\n\nbody\n", NULL, false, REINJECT_ACTION_RELAY, 0, false,
	  { "dmarc=permerror", "X-Mailauth-DMARC: hold", NULL }, "dmarc=pass", NULL, NULL },
	{ "mail_to_sign_is_not_evaluated", "x@unrelated.example", "mx.unrelated.example",
	  "203.0.113.5", "From: <ceo@reject.example>\n\nbody\n", NULL, true,
	  REINJECT_ACTION_RELAY, 0, false, { NULL }, "dmarc=", NULL, NULL },
};

/* world_init - conf (defaults + one setting), resolver with the test zone */
static void
world_init(struct world *w, const char *setting)
{
	world_setup(w, NULL, setting, false);
	dns_mem_add_txt(w->dns, "_dmarc.quar.example", "v=DMARC1; p=quarantine");
	dns_mem_add_txt(w->dns, "quar.example", "v=spf1 -all");
	dns_mem_add_txt(w->dns, "mail.quar.example", "v=spf1 ip4:198.51.100.7 -all");
	dns_mem_add_txt(w->dns, "_dmarc.reject.example", "v=DMARC1; p=reject");
	dns_mem_set_rcode(w->dns, "_dmarc.slow.example", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
}

/* run_message - text from sender, client addr with HELO helo; finished */
static struct reinject_msg *
run_message(struct world *w, const char *helo, const char *addr, const char *sender,
    bool sign, const char *text)
{
	return world_run(w, helo, addr, sender, sign, text);
}

START_TEST(reinject_dmarc_stage_table)
{
	const struct run *r = &runs[_i];
	struct world w;
	struct reinject_msg *m;
	const char *pre;

	world_init(&w, r->setting);
	m = run_message(&w, r->helo, r->addr, r->sender, r->sign, r->message);
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(m->action == r->action, "%s: action %d", r->name, m->action);
	ck_assert_msg(m->code == r->code, "%s: code %d", r->name, m->code);
	ck_assert_msg((m->tempfail != NULL) == r->tempfail, "%s: tempfail", r->name);
	if (r->code == 550)
		ck_assert_msg(strstr(m->text, "reject.example") && strcmp(m->enh, "5.7.1") == 0,
		    "%s: reply %s %s", r->name, m->enh, m->text);
	for (size_t i = 0; i < 3 && r->prepend_has[i]; i++)
		ck_assert_msg(strstr(pre, r->prepend_has[i]) != NULL,
		    "%s: added fields lack \"%s\":\n%s", r->name, r->prepend_has[i], pre);
	if (r->prepend_lacks)
		ck_assert_msg(strstr(pre, r->prepend_lacks) == NULL,
		    "%s: added fields have \"%s\":\n%s", r->name, r->prepend_lacks, pre);
	if (r->removed) {
		bool removed = false;

		for (size_t i = 0; i < m->nhdrs; i++)
			if (reinject_msg_field_is(m, i, r->removed))
				removed |= m->hdrs[i].removed;
		ck_assert_msg(removed, "%s: %s not removed", r->name, r->removed);
	}
	for (size_t i = 0; r->kept && i < m->nhdrs; i++)
		if (reinject_msg_field_is(m, i, r->kept))
			ck_assert_msg(!m->hdrs[i].removed, "%s: %s removed", r->name, r->kept);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/*
 * DNS slower than dkim_timeout: the stage's timeout gives temperror, and
 * dmarc_temperror_action = tempfail makes it a 451 (it was relayed).
 */
START_TEST(reinject_dmarc_timeout_applies_temperror_action)
{
	struct world w;
	struct reinject_msg *m;

	world_init(&w, "dmarc_temperror_action = tempfail\ndkim_timeout = 1s");
	dns_resolver_free(w.dns);
	w.ctx.dns = w.dns = dns_mem_new(w.base);
	dns_mem_set_delay(w.dns, 5000);
	m = run_message(&w, "mx.unrelated.example", "203.0.113.5", "x@unrelated.example",
	    false, "From: <a@reject.example>\n\nbody\n");
	ck_assert_int_eq(m->code, 451);
	ck_assert_ptr_nonnull(m->tempfail);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* A Subject too long to carry the tag as well stays as it is (it was dropped). */
START_TEST(reinject_dmarc_tag_keeps_a_subject_it_cannot_tag)
{
	struct world w;
	struct reinject_msg *m;
	struct buf text;
	bool kept = false;

	world_init(&w, "dmarc_quarantine_action = tag");
	buf_init(&text, 1 << 20);
	/* a 65531-byte field: within the parser's 64 KiB, not with the tag */
	buf_append_str(&text, "From: <boss@quar.example>\nSubject: s");
	for (int i = 0; i < 73; i++) {
		buf_append_str(&text, "\n ");
		for (int k = 0; k < (i < 72 ? 90 : 50); k++)
			buf_append_str(&text, "0123456789");
	}
	buf_append_str(&text, "\n\nbody\n");
	m = run_message(&w, "mx.unrelated.example", "203.0.113.5", "x@unrelated.example",
	    false, buf_cstr(&text));
	ck_assert(!m->raw);
	for (size_t i = 0; i < m->nhdrs; i++)
		if (reinject_msg_field_is(m, i, "Subject"))
			kept = !m->hdrs[i].removed;
	ck_assert_msg(kept || strstr(buf_cstr(&m->prepend), "Subject:") != NULL,
	    "the Subject was removed without a tagged one in its place");
	buf_clear(&text);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* msg_output - what goes downstream for the message, without the final "." */
static char *
msg_output(struct reinject_msg *m)
{
	struct evbuffer *eb = evbuffer_new();
	struct reinject_out o;
	size_t n;
	char *text;
	int r;

	reinject_out_init(&o, m);
	while ((r = reinject_out_fill(&o, eb, 4096)) == 0)
		;
	ck_assert_int_eq(r, 1);
	n = evbuffer_get_length(eb);
	ck_assert_uint_ge(n, 3);
	text = xmalloc(n + 1);
	evbuffer_remove(eb, text, n);
	text[n - 3] = '\0';	/* ".\r\n" */
	evbuffer_free(eb);
	return text;
}

/*
 * A header section the parser refuses goes downstream as it came: the fields
 * before the bad one parsed, the bad one, the rest and the separator as
 * they were (the bad line was lost and the fields after it moved into the
 * body before).
 */
START_TEST(reinject_msg_bad_header_lines_pass_unchanged)
{
	static const char *const msgs[] = {
		"From: a@quar.example\r\nSubject: s\r\nBad line no colon\r\n"
		"X-Other: y\r\n\r\nbody\r\n",
		/* the bad field last: refused at the empty line */
		"From: a@quar.example\r\nBad line no colon\r\n\r\nbody\r\n",
		/* a bad folded field */
		"From: a@quar.example\r\nBad line\r\n folded\r\nX-Other: y\r\n\r\nbody\r\n",
		/* no empty line at all, the last field bad */
		"From: a@quar.example\r\nBad line no colon\r\n",
		/* a continuation before any field */
		" leading fold\r\nFrom: a@quar.example\r\n\r\nbody\r\n",
	};
	struct world w;

	world_init(&w, NULL);
	for (size_t i = 0; i < ARRAY_LEN(msgs); i++) {
		struct reinject_msg *m = reinject_msg_new(&w.ctx);
		const char *p = msgs[i];
		char *out;

		reinject_pipeline_begin(m);
		while (*p) {
			const char *nl = strstr(p, "\r\n");
			size_t n = (size_t)(nl - p) + 2;

			reinject_msg_line(m, p, n);
			p += n;
		}
		ck_assert_int_eq(reinject_msg_end(m), 0);
		ck_assert(m->raw);
		out = msg_output(m);
		ck_assert_msg(strcmp(out, msgs[i]) == 0, "message %zu came out as:\n%s", i, out);
		free(out);
		reinject_msg_free(m);
	}
	world_free(&w);
}
END_TEST

/*
 * Header sections the splitter refuses (issue 10, defect 2): more than
 * MSG_HEADER_COUNT_LIMIT fields, a field over MSG_HEADER_SIZE_LIMIT, a line
 * without a colon, and (defect 9) a header section over header_size_limit.
 * Each still gets
 * a DMARC verdict: the From fields a plain scan of the raw header section
 * finds (before or after the refused line) are evaluated, and a From that
 * cannot be found is a From error.  DKIM is permerror, never "none".
 */
struct unparsed {
	const char *name;
	const char *before;	/* header lines before the filler, \n separated */
	int nfill;		/* "X-Fill-N: v" fields */
	const char *big;	/* name of one field of about 72000 bytes, or NULL */
	const char *after;	/* header lines after the filler */
	const char *sender, *addr, *setting;
	const char *has[3];
	const char *lacks;
};

#define SPOOF_FROM "From: CEO <ceo@reject.example>\n"
#define SPOOF_ENV "x@unrelated.example", "203.0.113.5"
#define HELD "X-Mailauth-DMARC: hold (dmarc=fail p=reject header.from=reject.example)"

static const struct unparsed unparsed[] = {
	{ "1001_fields_then_from", "Subject: s\n", 1001, NULL, SPOOF_FROM, SPOOF_ENV, NULL,
	  { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" }, "dkim=none" },
	{ "from_then_1001_fields", SPOOF_FROM, 1001, NULL, "Subject: s\n", SPOOF_ENV, NULL,
	  { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" }, "dkim=none" },
	{ "big_field_then_from", "Subject: s\n", 0, "X-Big", SPOOF_FROM, SPOOF_ENV, NULL,
	  { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" }, "dkim=none" },
	{ "big_from_is_from_error", "Subject: s\n", 0, "From", "", SPOOF_ENV, NULL,
	  { "X-Mailauth-DMARC: hold (dmarc=permerror", "dmarc=permerror", NULL }, "dkim=none" },
	{ "colonless_line_then_from", "Subject: s\nno colon here\n", 0, NULL, SPOOF_FROM,
	  SPOOF_ENV, NULL, { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" },
	  "dkim=none" },
	{ "from_then_colonless_line", SPOOF_FROM "no colon here\n", 0, NULL, "Subject: s\n",
	  SPOOF_ENV, NULL, { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" },
	  "dkim=none" },
	{ "colonless_line_no_from_is_from_error", "Subject: s\nno colon here\n", 0, NULL,
	  "X-Other: y\n", SPOOF_ENV, NULL,
	  { "X-Mailauth-DMARC: hold (dmarc=permerror", "dmarc=permerror", NULL }, "dkim=none" },
	/* a passing From before the bad line does not hide a failing one after it */
	{ "second_from_after_colonless_line", "From: <boss@quar.example>\nbad line\n", 0, NULL,
	  SPOOF_FROM, "b@mail.quar.example", "198.51.100.7", NULL,
	  { "X-Mailauth-DMARC: hold", "dmarc=fail (p=reject dis=reject)", NULL }, "dmarc=pass" },
	/* the scan is not a blanket refusal: an aligned SPF pass still passes */
	{ "aligned_spf_passes_after_colonless_line", "Subject: s\nbad line\n", 0, NULL,
	  "From: <boss@quar.example>\n", "b@mail.quar.example", "198.51.100.7", NULL,
	  { "dmarc=pass", "dkim=permerror", NULL }, "X-Mailauth-DMARC" },
	/* header_size_limit: a verdict, not a 552 that bounces after the queue */
	{ "over_header_size_limit_then_from", "Subject: s\n", 200, NULL, SPOOF_FROM, SPOOF_ENV,
	  "header_size_limit = 4096",
	  { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" }, "dkim=none" },
	{ "from_then_over_header_size_limit", SPOOF_FROM, 200, NULL, "", SPOOF_ENV,
	  "header_size_limit = 4096",
	  { HELD, "dmarc=fail (p=reject dis=reject)", "dkim=permerror" }, "dkim=none" },
};

/* unparsed_text - the message of case u */
static void
unparsed_text(const struct unparsed *u, struct buf *t)
{
	buf_append_str(t, u->before);
	for (int i = 0; i < u->nfill; i++)
		buf_printf(t, "X-Fill-%d: filler to pass the field count limit\n", i);
	if (u->big) {
		buf_printf(t, "%s: <ceo@reject.example>", u->big);
		for (int i = 0; i < 800; i++)
			buf_append_str(t, "\n (0123456789012345678901234567890123456789"
			    "0123456789012345678901234567890123456789012345)");
		buf_append_str(t, "\n");
	}
	buf_append_str(t, u->after);
	buf_append_str(t, "\nbody\n");
}

START_TEST(reinject_dmarc_unparsed_header_gets_a_verdict)
{
	const struct unparsed *u = &unparsed[_i];
	struct world w;
	struct reinject_msg *m;
	struct buf text;
	const char *pre;

	world_init(&w, u->setting);
	buf_init(&text, 1 << 22);
	unparsed_text(u, &text);
	ck_assert(!text.overflow);
	m = run_message(&w, "mx.unrelated.example", u->addr, u->sender, false,
	    buf_cstr(&text));
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(m->raw, "%s: the header section was parsed (action %d code %d)", u->name,
	    m->action, m->code);
	ck_assert_msg(m->action == REINJECT_ACTION_RELAY && m->code == 0 && !m->tempfail,
	    "%s: action %d code %d", u->name, m->action, m->code);
	for (size_t i = 0; i < 3 && u->has[i]; i++)
		ck_assert_msg(strstr(pre, u->has[i]) != NULL,
		    "%s: added fields lack \"%s\":\n%s", u->name, u->has[i], pre);
	ck_assert_msg(strstr(pre, u->lacks) == NULL,
	    "%s: added fields have \"%s\":\n%s", u->name, u->lacks, pre);
	buf_clear(&text);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/*
 * Fields the stages remove when they can parse (a forged Authentication-Results,
 * an incoming X-Mailauth-DMARC) are removed from an unparsed header section
 * too, folded or not, before or after the refused line; the body is untouched.
 */
START_TEST(reinject_dmarc_unparsed_header_loses_forged_fields)
{
	struct world w;
	struct reinject_msg *m;
	char *out;

	world_init(&w, NULL);
	m = run_message(&w, "mx.unrelated.example", "203.0.113.5", "x@unrelated.example",
	    false, "Subject: s\nno colon here\n"
	    "Authentication-Results: " OUR_ID "; dkim=pass;\n dmarc=pass header.from=reject.example\n"
	    "x-mailauth-dmarc : accept\n"
	    "From: <ceo@reject.example>\n"
	    "Authentication-Results:\n " OUR_ID "; spf=pass\n"
	    "X-Kept: 1\n"
	    "\nbody\nAuthentication-Results: body text stays\n");
	out = msg_output(m);
	ck_assert_msg(strstr(out, "dmarc=pass") == NULL && strstr(out, "spf=pass") == NULL &&
	    strstr(out, ": accept") == NULL, "forged fields survived:\n%s", out);
	ck_assert_msg(strstr(out, "X-Mailauth-DMARC: hold (dmarc=fail p=reject") != NULL &&
	    strstr(out, "X-Kept: 1\r\n\r\nbody\r\nAuthentication-Results: body text stays\r\n")
	    != NULL && strstr(out, "no colon here\r\nFrom: <ceo@reject.example>\r\n") != NULL,
	    "verdict or other lines lost:\n%s", out);
	free(out);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* An unparsed message still goes downstream whole: the added fields, then it as it came. */
START_TEST(reinject_dmarc_unparsed_header_relayed_whole)
{
	static const char in[] = "Subject: s\r\nno colon here\r\nFrom: <ceo@reject.example>\r\n"
	    "\r\nbody\r\n";
	struct world w;
	struct reinject_msg *m;
	char *out;
	const char *tail;

	world_init(&w, NULL);
	m = run_message(&w, "mx.unrelated.example", "203.0.113.5", "x@unrelated.example",
	    false, "Subject: s\nno colon here\nFrom: <ceo@reject.example>\n\nbody\n");
	out = msg_output(m);
	tail = out + strlen(out) - (sizeof(in) - 1);
	ck_assert_msg(strlen(out) > sizeof(in) && strcmp(tail, in) == 0, "came out as:\n%s", out);
	ck_assert_msg(strncmp(out, buf_cstr(&m->prepend), m->prepend.len) == 0,
	    "added fields not on top:\n%s", out);
	free(out);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/*
 * l= (RFC 6376 §8.2): a pass whose body goes on after the signed length is
 * reported as policy with the unsigned byte count, and DMARC does not count
 * it; a pass whose l= covers the whole body stays a pass.
 */
START_TEST(reinject_verify_l_with_appended_content_is_policy)
{
	struct dkim_sig_result r = { .result = DKIM_RESULT_PASS, .reason = "ok",
	    .domain = "reject.example", .selector = "s", .has_length = true,
	    .length = 100, .body_length = 150 };
	struct reinject_dkim_res d;

	reinject_verify_result(&d, &r);
	ck_assert_int_eq(d.result, DKIM_RESULT_POLICY);
	ck_assert_str_eq(d.reason, "body has 50 bytes after l=100");
	ck_assert_str_eq(d.domain, "reject.example");
	r.body_length = 100;
	reinject_verify_result(&d, &r);
	ck_assert_int_eq(d.result, DKIM_RESULT_PASS);
	r.has_length = false;
	r.body_length = 150;
	reinject_verify_result(&d, &r);
	ck_assert_int_eq(d.result, DKIM_RESULT_PASS);
	r.has_length = true;
	r.result = DKIM_RESULT_FAIL;
	reinject_verify_result(&d, &r);
	ck_assert_int_eq(d.result, DKIM_RESULT_FAIL);
}
END_TEST

/* hdr_feed - n header fields of about 100 bytes into m, the header section left open */
static void
hdr_feed(struct reinject_msg *m, int n)
{
	char line[128];

	for (int i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "X-Field-%03d: %084d\r\n", i, i);

		reinject_msg_line(m, line, (size_t)len);
	}
}

/*
 * header_memory_limit bounds the header bytes all messages of a worker hold:
 * the message that would pass it gets 452 4.3.1 (Postfix retries: not a
 * bypass, not a bounce), and what a message held is given back at its end.
 */
START_TEST(reinject_msg_header_memory_limit_defers)
{
	struct world w;
	struct reinject_msg *m[4];

	/* each field counts twice: ours and DKIM's copy */
	world_init(&w, "header_size_limit = 4096\nheader_memory_limit = 16384");
	for (int i = 0; i < 3; i++) {
		m[i] = reinject_msg_new(&w.ctx);
		hdr_feed(m[i], 35);	/* about 3500 bytes each */
	}
	ck_assert_ptr_null(m[0]->tempfail);
	ck_assert_ptr_null(m[1]->tempfail);
	ck_assert_ptr_nonnull(m[2]->tempfail);
	ck_assert_int_eq(m[2]->code, 452);
	ck_assert_str_eq(m[2]->enh, "4.3.1");
	ck_assert(!m[2]->raw);
	ck_assert_uint_le(w.ctx.header_bytes, 16384);
	ck_assert_int_eq(reinject_msg_end(m[2]), 0);
	ck_assert_ptr_nonnull(m[2]->tempfail);
	reinject_msg_free(m[0]);
	m[3] = reinject_msg_new(&w.ctx);
	hdr_feed(m[3], 35);
	ck_assert_ptr_null(m[3]->tempfail);
	reinject_msg_free(m[1]);
	reinject_msg_free(m[2]);
	reinject_msg_free(m[3]);
	ck_assert_uint_eq(w.ctx.header_bytes, 0);
	world_free(&w);
}
END_TEST

START_TEST(reinject_dmarc_action_mapping)
{
	struct reinject_dmarc_conf c = { .quarantine_action = REINJECT_DMARC_TAG,
	    .reject_action = REINJECT_DMARC_HOLD, .temperror_action = REINJECT_DMARC_ACCEPT };

	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_FAIL, DMARC_DIS_REJECT),
	    REINJECT_DMARC_HOLD);
	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_FAIL, DMARC_DIS_QUARANTINE),
	    REINJECT_DMARC_TAG);
	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_FAIL, DMARC_DIS_NONE),
	    REINJECT_DMARC_ACCEPT);
	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_PASS, DMARC_DIS_NONE),
	    REINJECT_DMARC_ACCEPT);
	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT),
	    REINJECT_DMARC_HOLD);
	c.temperror_action = REINJECT_DMARC_TEMPFAIL;
	ck_assert_int_eq(reinject_dmarc_action_for(&c, DMARC_RESULT_TEMPERROR, DMARC_DIS_NONE),
	    REINJECT_DMARC_TEMPFAIL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reinject_dmarc");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, reinject_dmarc_stage_table, 0, (int)ARRAY_LEN(runs));
	tcase_add_test(tc, reinject_dmarc_action_mapping);
	tcase_add_test(tc, reinject_msg_bad_header_lines_pass_unchanged);
	tcase_add_test(tc, reinject_dmarc_timeout_applies_temperror_action);
	tcase_add_test(tc, reinject_dmarc_tag_keeps_a_subject_it_cannot_tag);
	tcase_add_loop_test(tc, reinject_dmarc_unparsed_header_gets_a_verdict, 0,
	    (int)ARRAY_LEN(unparsed));
	tcase_add_test(tc, reinject_dmarc_unparsed_header_relayed_whole);
	tcase_add_test(tc, reinject_dmarc_unparsed_header_loses_forged_fields);
	tcase_add_test(tc, reinject_verify_l_with_appended_content_is_policy);
	tcase_add_test(tc, reinject_msg_header_memory_limit_defers);
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
	return failed ? 1 : 0;
}
