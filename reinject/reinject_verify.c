/*
 * reinject_verify.c - pipeline stage: verify every DKIM signature (RFC 6376
 * §6) with common/dkim while the message streams past; results go to m->dkim
 * for the authres and DMARC stages.  Mail being signed is not verified.
 * A pass that leaves body bytes after its l= unsigned is reported as policy
 * (RFC 6376 §8.2, RFC 8601 §2.7.1) and does not count for DMARC.  The
 * results decide the DKIM condition action (reinject_onaction.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reinject.h"

/* reinject_verify_begin - a verifier unless the message is to be signed */
static void
reinject_verify_begin(struct reinject_msg *m, void **st)
{
	struct dkim_limits l;

	if (m->sign || !m->ctx->dns)
		return;
	dkim_limits_default(&l);
	l.rsa_min_bits = (unsigned)m->ctx->conf->dkim_min_key_bits;
	l.sig_limit = (unsigned)m->ctx->conf->dkim_signature_limit;
	*st = dkim_verify_new(m->ctx->dns, &l);
}

/* reinject_verify_header - one field */
static void
reinject_verify_header(void *st, struct reinject_msg *m, struct span name,
    struct span field)
{
	(void)m;
	(void)name;
	dkim_verify_header(st, field.p, field.len);
}

/* reinject_verify_eoh - starts the key lookups */
static void
reinject_verify_eoh(void *st, struct reinject_msg *m)
{
	(void)m;
	dkim_verify_eoh(st);
}

/* reinject_verify_body - body bytes into the body hashes */
static void
reinject_verify_body(void *st, struct reinject_msg *m, const char *p, size_t len)
{
	(void)m;
	dkim_verify_body(st, p, len);
}

/*
 * reinject_verify_result - one signature's result as reported and used for
 * DMARC.  A pass whose l= leaves body bytes unsigned (RFC 6376 §8.2: content
 * appended after the signed part, which a reader cannot tell apart) is
 * "policy" (RFC 8601 §2.7.1: signed, but not acceptable to us), with the
 * unsigned byte count as its comment, so it never makes DMARC pass.
 */
void
reinject_verify_result(struct reinject_dkim_res *d, const struct dkim_sig_result *r)
{
	d->result = r->result;
	snprintf(d->domain, sizeof(d->domain), "%s", r->domain);
	snprintf(d->selector, sizeof(d->selector), "%s", r->selector);
	snprintf(d->b, sizeof(d->b), "%s", r->b_prefix);
	snprintf(d->reason, sizeof(d->reason), "%s", r->reason);
	if (r->result != DKIM_RESULT_PASS || !r->has_length || r->body_length <= r->length)
		return;
	d->result = DKIM_RESULT_POLICY;
	snprintf(d->reason, sizeof(d->reason), "body has %" PRIu64 " bytes after l=%" PRIu64,
	    r->body_length - r->length, r->length);
}

/* reinject_verify_done - common/dkim's results */
static void
reinject_verify_done(void *arg, const struct dkim_sig_result *res, size_t count)
{
	struct reinject_msg *m = arg;

	for (size_t i = 0; i < count && m->ndkim < REINJECT_DKIM_RESULT_LIMIT; i++)
		reinject_verify_result(&m->dkim[m->ndkim++], &res[i]);
	reinject_onaction_run(m, reinject_onaction_classify(m));
	reinject_pipeline_next(m);
}

/*
 * reinject_verify_unparsed - a header section that was not parsed cannot be
 * verified (RFC 8601 §2.7.1 permerror), and must not read as "no signature"
 */
static void
reinject_verify_unparsed(struct reinject_msg *m)
{
	struct reinject_dkim_res *d = &m->dkim[0];

	memset(d, 0, sizeof(*d));
	d->result = DKIM_RESULT_PERMERROR;
	snprintf(d->reason, sizeof(d->reason), "header section not parsed");
	m->ndkim = 1;
}

/* reinject_verify_finish - wait for the key lookups */
static void
reinject_verify_finish(void *st, struct reinject_msg *m)
{
	if (m->raw) {
		/* permerror: a bad signature for the actions, as content
		 * (not trouble of ours) made it */
		reinject_verify_unparsed(m);
		reinject_onaction_run(m, reinject_onaction_classify(m));
		reinject_pipeline_next(m);
	} else if (dkim_verify_finish(st, reinject_verify_done, m) < 0) {
		reinject_onaction_run(m, REINJECT_ONCOND_INTERNAL_ERROR);
		reinject_pipeline_next(m);
	}
}

/* reinject_verify_timeout - lookups still pending: temperror, never pass/fail */
static void
reinject_verify_timeout(void *st, struct reinject_msg *m)
{
	(void)st;
	for (size_t i = 0; i < m->nhdrs && m->ndkim < REINJECT_DKIM_RESULT_LIMIT; i++) {
		if (!reinject_msg_field_is(m, i, "DKIM-Signature"))
			continue;
		m->dkim[m->ndkim].result = DKIM_RESULT_TEMPERROR;
		snprintf(m->dkim[m->ndkim].reason, sizeof(m->dkim[0].reason),
		    "key lookup timed out");
		m->ndkim++;
	}
	reinject_onaction_run(m, reinject_onaction_classify(m));
	/* the stage state is freed with the message; that cancels the lookups */
	for (size_t i = 0; i < reinject_nstages; i++) {
		if (m->stage_state[i] == st) {
			dkim_verify_free(st);
			m->stage_state[i] = NULL;
		}
	}
}

/* reinject_verify_free - destroy, cancelling lookups */
static void
reinject_verify_free(void *st)
{
	dkim_verify_free(st);
}

const struct reinject_stage reinject_stage_verify = {
	"verify", reinject_verify_begin, reinject_verify_header,
	reinject_verify_eoh, reinject_verify_body, reinject_verify_finish,
	reinject_verify_timeout, reinject_verify_free,
};
