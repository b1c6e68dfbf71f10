/*
 * reinject_arc.c - pipeline stage: validate the ARC chain (RFC 8617 §5.2)
 * with common/arc while the message streams past, and the arc= clause of
 * the Authentication-Results field (RFC 8617 §10.1: ptypes header.oldest-pass
 * and smtp.remote-ip; RFC 8601 §2.7 reason= says why a chain failed) and of
 * the log line.  Mail being signed is validated only when it is sealed.  The
 * trusted-sealer override (RFC 8617 §7.2) is decided with DMARC's verdict.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "dmarc.h"
#include "reinject.h"

/* reinject_arc_begin - a verifier unless the message is to be signed or ARC is off */
static void
reinject_arc_begin(struct reinject_msg *m, void **st)
{
	const struct reinject_arc_conf *c = &m->conf->arc;
	struct arc_limits lim;

	/* mail being signed is validated only to be sealed */
	if ((m->sign && !reinject_arc_seals(m)) || !m->ctx->dns || !c->enable)
		return;
	arc_limits_default(&lim);
	lim.set_limit = (unsigned)c->set_limit;
	lim.sig_limit = (unsigned)c->signature_limit;
	lim.dns_query_limit = (unsigned)c->dns_query_limit;
	lim.hash_size_limit = c->hash_size_limit;
	*st = arc_verify_new(m->ctx->dns, &lim);
	/* the seal takes its body hash from here: one pass over the body for both */
	if (reinject_arc_seals(m))
		arc_verify_keep_seal_hash(*st);
}

/* reinject_arc_verifier - the ARC stage's verifier for m, or NULL */
struct arc_verify *
reinject_arc_verifier(const struct reinject_msg *m)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (reinject_stages[i] == &reinject_stage_arc)
			return m->stage_state[i];
	return NULL;
}

/* reinject_arc_header - one field */
static void
reinject_arc_header(void *st, struct reinject_msg *m, struct span name, struct span field)
{
	(void)m;
	(void)name;
	arc_verify_header(st, field.p, field.len);
}

/* reinject_arc_eoh - structure check, key lookups */
static void
reinject_arc_eoh(void *st, struct reinject_msg *m)
{
	(void)m;
	arc_verify_eoh(st);
}

/* reinject_arc_body - body bytes into the AMS body hashes */
static void
reinject_arc_body(void *st, struct reinject_msg *m, const char *p, size_t len)
{
	(void)m;
	arc_verify_body(st, p, len);
}

const struct config_enum reinject_arc_seal_names[] = {
	{ "none", REINJECT_ARC_SEAL_NONE },
	{ "sign", REINJECT_ARC_SEAL_SIGN },
	{ "all", REINJECT_ARC_SEAL_ALL },
	{ NULL, 0 },
};

/* reinject_arc_seals - does this message get an ARC set (arc_seal, arc_seal_recipient_domains) */
bool
reinject_arc_seals(const struct reinject_msg *m)
{
	int mode = m->conf->arc.seal;

	return mode == REINJECT_ARC_SEAL_ALL || (mode == REINJECT_ARC_SEAL_SIGN && m->sign) ||
	    m->arc_seal_rcpt;
}

/* reinject_arc_seal_rcpt - recipient addr is in arc_seal_recipient_domains (or below one) */
bool
reinject_arc_seal_rcpt(const struct reinject_arc_conf *c, struct span addr)
{
	const char *at;

	if (addr.len >= 2 && addr.p[0] == '<' && addr.p[addr.len - 1] == '>') {
		addr.p++;
		addr.len -= 2;
	}
	if (addr.len == 0 || (at = memrchr(addr.p, '@', addr.len)) == NULL)
		return false;
	addr.len -= (size_t)(at + 1 - addr.p);
	addr.p = at + 1;
	for (size_t i = 0; i < c->seal_recipient_domains.count; i++)
		if (domain_is_under(addr.p, addr.len, c->seal_recipient_domains.items[i]))
			return true;
	return false;
}

/* reinject_arc_set - record a result */
static void
reinject_arc_set(struct reinject_msg *m, enum arc_cv cv, unsigned oldest, const char *why)
{
	m->arc.evaluated = true;
	m->arc.cv = cv;
	m->arc.oldest_pass = oldest;
	snprintf(m->arc.reason, sizeof(m->arc.reason), "%s", why);
}

/* reinject_arc_done - common/arc's verdict */
static void
reinject_arc_done(void *arg, const struct arc_result *res)
{
	struct reinject_msg *m = arg;

	reinject_arc_set(m, res->cv, res->oldest_pass, res->reason);
	m->arc.temporary = res->temporary;
	/* the verifier, and so res, lives until the pipeline is freed: DMARC reads it */
	m->arc.result = res;
	reinject_pipeline_next(m);
}

/* reinject_arc_vouch - the trusted sealer vouching for the deciding From domain d: its instance, or 0 */
static unsigned
reinject_arc_vouch(struct reinject_msg *m, const struct dmarc_domain_result *d)
{
	const struct config_list *t = &m->conf->arc.trusted_sealers;
	const struct dmarc_record *rec = dmarc_walk_policy_record(&d->walk);
	struct arc_trust_from from = {
		d->from_domain, d->walk.org_domain,
		rec == NULL || rec->aspf == DMARC_ALIGN_RELAXED,
		rec == NULL || rec->adkim == DMARC_ALIGN_RELAXED,
	};
	unsigned i;

	if (t->count == 0 || m->arc.result == NULL)
		return 0;
	i = arc_trust_vouch(m->arc.result, (const char *const *)t->items, &from);
	if (i == 0)
		return 0;
	m->arc.vouch_instance = i;
	snprintf(m->arc.vouch_sealer, sizeof(m->arc.vouch_sealer), "%s",
	    m->arc.result->set[i - 1].seal_domain);
	snprintf(m->arc.vouch_from, sizeof(m->arc.vouch_from), "%s", d->from_domain);
	return i;
}

/* reinject_arc_dmarc_override - a trusted sealer's vouch lifts a DMARC failure of its From domain */
void
reinject_arc_dmarc_override(struct reinject_msg *m, struct dmarc_verdict *v)
{
	struct dmarc_domain_result *d;
	size_t n;

	if (!v->evaluated || v->decisive < 0 || v->result != DMARC_RESULT_FAIL ||
	    v->disposition == DMARC_DIS_NONE)
		return;
	d = &v->domains[v->decisive];
	if (reinject_arc_vouch(m, d) == 0)
		return;
	v->disposition = d->disposition = DMARC_DIS_NONE;
	d->override = DMARC_OVERRIDE_TRUSTED_FORWARDER;
	n = strlen(v->reason);
	snprintf(v->reason + n, sizeof(v->reason) - n, "; arc=pass, trusted sealer %s (i=%u)",
	    m->arc.vouch_sealer, m->arc.vouch_instance);
}

/* reinject_arc_finish - wait for the key lookups */
static void
reinject_arc_finish(void *st, struct reinject_msg *m)
{
	if (m->raw || arc_verify_finish(st, reinject_arc_done, m) < 0)
		reinject_pipeline_next(m);
}

/* reinject_arc_timeout - lookups still pending: the chain cannot pass */
static void
reinject_arc_timeout(void *st, struct reinject_msg *m)
{
	reinject_arc_set(m, ARC_CV_FAIL, 0, "key lookup timed out");
	m->arc.temporary = true;
	m->arc.result = NULL;
	/* freed here: that cancels the lookups, and the callback never runs */
	for (size_t i = 0; i < reinject_nstages; i++)
		if (m->stage_state[i] == st) {
			arc_verify_free(st);
			m->stage_state[i] = NULL;
		}
}

/* reinject_arc_free - destroy, cancelling lookups */
static void
reinject_arc_free(void *st)
{
	arc_verify_free(st);
}

/* reinject_arc_log - ", arc=STATUS [oldest-pass=N] [(why)] [sealed i=N]", if the stage ran */
void
reinject_arc_log(const struct reinject_msg *m, struct buf *b)
{
	if (!m->arc.evaluated)
		return;
	buf_printf(b, ", arc=%s", arc_cv_str(m->arc.cv));
	if (m->arc.cv == ARC_CV_PASS)
		buf_printf(b, " oldest-pass=%u", m->arc.oldest_pass);
	if (m->arc.cv == ARC_CV_FAIL && m->arc.reason[0])
		buf_printf(b, " (%s)", m->arc.reason);
	if (m->arc.sealed)
		buf_printf(b, " sealed i=%u", m->arc.sealed);
}

/* reinject_arc_authres - the arc= clause, if the stage ran; a fail says why in reason= */
void
reinject_arc_authres(const struct reinject_msg *m, struct authres_builder *b)
{
	const char *ip = m->xf ? smtp_xforward_addr(m->xf) : NULL;
	const char *props[7] = { NULL };
	char oldest[16];
	size_t n = 0;

	if (!m->arc.evaluated)
		return;
	/* RFC 8601 §2.7 reasonspec: first, before the properties */
	if (m->arc.cv == ARC_CV_FAIL && m->arc.reason[0]) {
		props[n++] = "reason";
		props[n++] = m->arc.reason;
	}
	if (m->arc.cv == ARC_CV_PASS) {
		snprintf(oldest, sizeof(oldest), "%u", m->arc.oldest_pass);
		props[n++] = "header.oldest-pass";
		props[n++] = oldest;
	}
	if (m->arc.cv != ARC_CV_NONE && ip) {
		props[n++] = "smtp.remote-ip";
		props[n++] = ip;
	}
	authres_add(b, "arc", arc_cv_str(m->arc.cv), NULL, n ? props : NULL);
}

const struct reinject_stage reinject_stage_arc = {
	"arc", reinject_arc_begin, reinject_arc_header, reinject_arc_eoh,
	reinject_arc_body, reinject_arc_finish, reinject_arc_timeout, reinject_arc_free,
};
