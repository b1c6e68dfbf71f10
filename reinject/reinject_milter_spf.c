/*
 * reinject_milter_spf.c - SPF (RFC 7208) for the milter front-end, evaluated
 * in-process with common/spf from the connect address, HELO and MAIL FROM,
 * so a site without policyd gets SPF enforcement from the milter alone.
 *
 * The evaluation starts at MAIL FROM and runs while the MTA sends the rest;
 * with milter_spf_reject = rcpt the first RCPT waits for it, with data the
 * end of the message does.  A "fail" is refused, with the RFC 7372 §3.2
 * code 550 5.7.23 ("SPF validation failed") and the record's explanation
 * (RFC 7208 §6.2) when it has one; a "temperror" with 451 4.7.24 ("SPF
 * validation error", RFC 7208 §8.6) when milter_spf_temperror_tempfail says
 * so; every other result is left to the Authentication-Results field and
 * DMARC.
 */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "milter.h"
#include "reinject.h"

/* reinject_milter_spf_client - the client address as a sockaddr; false if none */
static bool
reinject_milter_spf_client(const char *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (a && inet_pton(AF_INET, a, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (a && inet_pton(AF_INET6, a, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return false;
	return true;
}

/* reinject_milter_spf_done - the verdict: keep what a refusal needs */
static void
reinject_milter_spf_done(void *arg, const struct spf_verdict *v)
{
	struct reinject_milter_spf *sp = arg;

	sp->eval = NULL;
	sp->result = v->result;
	sp->identity = v->identity;
	snprintf(sp->domain, sizeof(sp->domain), "%s", v->domain ? v->domain : "");
	sp->records = *v->records;
	sp->evaluated = true;
	if (v->result == SPF_RESULT_TEMPERROR)
		snprintf(sp->text, sizeof(sp->text),
		    "SPF validation error for %.200s: %.300s, try again later",
		    v->domain ? v->domain : "the sender", v->reason);
	else
		snprintf(sp->text, sizeof(sp->text),
		    "SPF validation failed for %.200s%s%.300s",
		    v->domain ? v->domain : "the sender",
		    v->explanation ? ": " : "", v->explanation ? v->explanation : "");
	sp->done = true;
	if (!sp->in_call && sp->cb)
		sp->cb(sp->arg);
}

/* reinject_milter_spf_start - begin for this transaction; cb when done later */
void
reinject_milter_spf_start(struct reinject_milter_spf *sp, struct reinject_ctx *ctx,
    const struct smtp_xforward *xf, const char *sender, void (*cb)(void *),
    void *arg)
{
	struct spf_request req = { .helo = xf->value[SMTP_XFWD_HELO],
	    .mail_from = sender, .receiver = ctx->conf->myhostname };

	reinject_milter_spf_clear(sp);
	sp->temperror_tempfail = ctx->conf->milter_spf_temperror_tempfail;
	sp->cb = cb;
	sp->arg = arg;
	if (!ctx->dns || !reinject_milter_spf_client(xf->value[SMTP_XFWD_ADDR],
	    &req.client)) {
		sp->done = true;	/* no resolver or no address: nothing to refuse */
		sp->result = SPF_RESULT_NONE;
		return;
	}
	req.identity = sender[0] ? SPF_IDENTITY_MAILFROM : SPF_IDENTITY_HELO;
	sp->in_call = true;
	sp->eval = spf_eval_start(ctx->dns, ctx->base, NULL, &req,
	    reinject_milter_spf_done, sp);
	sp->in_call = false;
}

/* reinject_milter_spf_clear - cancel and forget */
void
reinject_milter_spf_clear(struct reinject_milter_spf *sp)
{
	spf_eval_cancel(sp->eval);
	memset(sp, 0, sizeof(*sp));
}

/* reinject_milter_spf_pending - started and not done */
bool
reinject_milter_spf_pending(const struct reinject_milter_spf *sp)
{
	return sp->eval != NULL && !sp->done;
}

/* reinject_milter_spf_refusal - the reply code of a refusal, or 0 */
int
reinject_milter_spf_refusal(const struct reinject_milter_spf *sp,
    const char **enh)
{
	if (!sp->done)
		return 0;
	if (sp->result == SPF_RESULT_FAIL) {
		*enh = "5.7.23";
		return 550;
	}
	if (sp->result == SPF_RESULT_TEMPERROR && sp->temperror_tempfail) {
		*enh = "4.7.24";
		return 451;
	}
	return 0;
}

/* reinject_milter_spf_refuse - the refusal as a REPLYCODE into out */
bool
reinject_milter_spf_refuse(const struct reinject_milter_spf *sp, struct buf *out)
{
	const char *enh = "";
	int code = reinject_milter_spf_refusal(sp, &enh);

	if (code == 0)
		return false;
	milter_reply_code(out, code, enh, sp->text);
	return true;
}

/* reinject_milter_spf_give - the evaluated result for the DMARC stage */
void
reinject_milter_spf_give(const struct reinject_milter_spf *sp,
    struct reinject_msg *m)
{
	if (!sp->evaluated)
		return;
	m->spf_given.known = true;
	m->spf_given.result = sp->result;
	m->spf_given.identity = sp->identity;
	snprintf(m->spf_given.domain, sizeof(m->spf_given.domain), "%s",
	    sp->domain);
	m->spf_records = sp->records;
}
