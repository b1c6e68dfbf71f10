/*
 * dmarc_eval.c - DMARC for one message (RFC 9989 "Mail Receiver Actions").
 *
 * Steps: local exemptions (internal hosts are not evaluated); the RFC5322.From
 * domains ("Extract Author Domain") through the address parser; a DNS Tree Walk per From domain
 * (policy discovery, "DMARC Policy Discovery"); then, where relaxed alignment needs it, Tree Walks
 * for the Organizational Domains of passing identifiers ("Organizational Domain Discovery") and the
 * A/AAAA/MX existence test of the Author Domain when np= could apply ("Non-existent Domains");
 * finally alignment, policy, t=, overrides.
 *
 * Several From fields or addresses (RFC 9989 "Extract Author Domain" exempts multi-domain From
 * from DMARC; we do not, as that exemption is itself an attack): every distinct
 * domain is evaluated and the strictest outcome applies; one passing domain
 * never makes the message pass (CVE-2019-16378).
 *
 * DMARC pass needs an aligned pass ("Determine Handling Policy" step 5).  No aligned pass and a temperror on
 * a path that could have aligned: temperror, not fail ("Determine Handling Policy", "cannot conclude").
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "mailaddr.h"

struct eval_idwalk {
	struct dmarc_eval *e;
	struct dmarc_walker *wk;
	char domain[DMARC_DOMAIN_SIZE];
	char org[DMARC_DOMAIN_SIZE];
	bool done, failed;
};

struct eval_from {
	struct dmarc_eval *e;
	size_t idx;
	struct dmarc_walker *wk;
	struct dns_query *nxq[3];
	unsigned nx_missing;	/* answers saying NXDOMAIN or NODATA */
	unsigned nx_answers;
	bool nx_checked;
};

struct dmarc_eval {
	struct dns_resolver *r;
	struct dmarc_settings set;
	struct dmarc_input in;
	dmarc_eval_cb cb;
	void *arg;
	unsigned pending;
	bool launching;
	int phase;
	struct eval_from from[DMARC_FROM_DOMAIN_LIMIT];
	size_t nids;
	struct eval_idwalk ids[DMARC_ORG_WALK_LIMIT];
	struct dmarc_verdict v;
};

static bool eval_run(struct dmarc_eval *e);

/* eval_settle - one asynchronous piece finished */
static void
eval_settle(struct dmarc_eval *e)
{
	if (--e->pending == 0 && !e->launching)
		(void)eval_run(e);
}

/* eval_from_walked - the Tree Walk of a From domain ended */
static void
eval_from_walked(void *arg, const struct dmarc_walk *w)
{
	struct eval_from *f = arg;

	f->wk = NULL;
	dmarc_walk_copy(&f->e->v.domains[f->idx].walk, w);
	eval_settle(f->e);
}

/* eval_id_walked - the Tree Walk of an identifier domain ended */
static void
eval_id_walked(void *arg, const struct dmarc_walk *w)
{
	struct eval_idwalk *iw = arg;

	iw->wk = NULL;
	iw->done = true;
	iw->failed = w->status != DMARC_WALK_DONE;
	snprintf(iw->org, sizeof(iw->org), "%s", w->org_domain);
	eval_settle(iw->e);
}

/* eval_nx_answer - one of the A/AAAA/MX existence queries answered */
static void
eval_nx_answer(void *arg, const struct dns_answer *a)
{
	struct eval_from *f = arg;

	for (size_t k = 0; k < 3; k++)
		if (f->nxq[k] && a->qtype == (k == 0 ? DNS_TYPE_A : k == 1 ?
		    DNS_TYPE_AAAA : DNS_TYPE_MX))
			f->nxq[k] = NULL;
	f->nx_answers++;
	if (a->rcode == DNS_RCODE_NXDOMAIN ||
	    (a->rcode == DNS_RCODE_NOERROR && a->count == 0))
		f->nx_missing++;
	eval_settle(f->e);
}

/* eval_from_error - no usable From: permerror with the configured disposition */
static void
eval_from_error(struct dmarc_eval *e, const char *why)
{
	struct dmarc_verdict *v = &e->v;

	v->from_error = true;
	v->result = DMARC_RESULT_PERMERROR;
	v->disposition = e->set.from_error_disposition;
	snprintf(v->reason, sizeof(v->reason), "%s", why);
}

/* eval_add_domain - remember a distinct From domain; -1 past the limit */
static int
eval_add_domain(struct dmarc_eval *e, const char *d)
{
	struct dmarc_verdict *v = &e->v;

	for (size_t i = 0; i < v->ndomains; i++)
		if (strcmp(v->domains[i].from_domain, d) == 0)
			return 0;
	if (v->ndomains >= DMARC_FROM_DOMAIN_LIMIT)
		return -1;
	memset(&v->domains[v->ndomains], 0, offsetof(struct dmarc_domain_result, walk));
	dmarc_walk_clear(&v->domains[v->ndomains].walk);
	snprintf(v->domains[v->ndomains++].from_domain, DMARC_DOMAIN_SIZE, "%s", d);
	return 0;
}

/* eval_from_domains - "Extract Author Domain": every From domain, or a from_error */
static int
eval_from_domains(struct dmarc_eval *e)
{
	struct mailaddr_list *l = xmalloc(sizeof(*l));
	char why[160];
	int rc = 0;

	if (e->in.from_error) {
		eval_from_error(e, e->in.from_error);
		rc = -1;
	} else if (e->in.nfrom_fields == 0) {
		eval_from_error(e, "no From header field");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < e->in.nfrom_fields; i++) {
		struct span f = e->in.from_fields[i];

		if (mailaddr_parse_list(f.p, f.len, l) != 0) {
			snprintf(why, sizeof(why), "unparsable From: %s at offset %zu",
			    l->reason, l->error_offset);
			eval_from_error(e, why);
			rc = -1;
		}
		for (size_t k = 0; rc == 0 && k < l->count; k++) {
			if (l->addr[k].literal || l->addr[k].domain[0] == '\0')
				continue;
			if (eval_add_domain(e, l->addr[k].domain) != 0) {
				snprintf(why, sizeof(why), "more than %d From domains",
				    DMARC_FROM_DOMAIN_LIMIT);
				eval_from_error(e, why);
				rc = -1;
			}
		}
	}
	free(l);
	if (rc == 0 && e->v.ndomains == 0) {
		eval_from_error(e, "From has no address with a domain name");
		rc = -1;
	}
	return rc;
}

/* eval_launch_from_walks - phase 1: one Tree Walk per From domain */
static void
eval_launch_from_walks(struct dmarc_eval *e)
{
	for (size_t i = 0; i < e->v.ndomains; i++) {
		struct eval_from *f = &e->from[i];

		f->e = e;
		f->idx = i;
		e->pending++;
		f->wk = dmarc_walk_start(e->r, e->v.domains[i].from_domain,
		    eval_from_walked, f);
	}
}

/* eval_spf_usable - SPF counts: MAIL FROM pass, or HELO pass for the null sender */
static bool
eval_spf_usable(const struct dmarc_input *in)
{
	bool null_sender = in->mail_from == NULL || in->mail_from[0] == '\0';

	if (in->spf_domain == NULL || in->spf_domain[0] == '\0')
		return false;
	if (in->spf_identity == SPF_IDENTITY_HELO)
		return null_sender;
	return !null_sender;
}

/* eval_id_find - the identifier walk for domain d, or NULL */
static struct eval_idwalk *
eval_id_find(struct dmarc_eval *e, const char *d)
{
	for (size_t i = 0; i < e->nids; i++)
		if (dmarc_domain_eq(e->ids[i].domain, d))
			return &e->ids[i];
	return NULL;
}

/* eval_need_org - start a Tree Walk for an identifier if relaxed alignment needs it */
static void
eval_need_org(struct dmarc_eval *e, const struct dmarc_walk *w,
    const struct dmarc_record *rec, enum dmarc_align_mode mode, const char *id)
{
	struct eval_idwalk *iw;

	(void)rec;
	if (mode == DMARC_ALIGN_STRICT || dmarc_domain_eq(w->domain, id) ||
	    !dmarc_align_possible(mode, w->domain, w->org_domain, id) ||
	    eval_id_find(e, id) != NULL || e->nids >= DMARC_ORG_WALK_LIMIT)
		return;
	iw = &e->ids[e->nids++];
	iw->e = e;
	snprintf(iw->domain, sizeof(iw->domain), "%s", id);
	e->pending++;
	iw->wk = dmarc_walk_start(e->r, id, eval_id_walked, iw);
}

/* eval_need_nx - start the A/AAAA/MX existence test when np= could matter */
static void
eval_need_nx(struct dmarc_eval *e, struct eval_from *f, const struct dmarc_walk *w,
    const struct dmarc_record *rec)
{
	static const enum dns_type types[3] = { DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX };

	if (w->source == DMARC_SOURCE_AUTHOR || rec->np == DMARC_POLICY_UNSET ||
	    rec->np == dmarc_policy_select(rec, w->source, false))
		return;
	f->nx_checked = true;
	for (size_t k = 0; k < 3; k++) {
		e->pending++;
		f->nxq[k] = dns_query(e->r, w->domain, types[k], eval_nx_answer, f);
	}
}

/* eval_launch_second - phase 2: identifier Org Domains and the np= existence test */
static void
eval_launch_second(struct dmarc_eval *e)
{
	const struct dmarc_input *in = &e->in;

	for (size_t i = 0; i < e->v.ndomains; i++) {
		const struct dmarc_walk *w = &e->v.domains[i].walk;
		const struct dmarc_record *rec = dmarc_walk_policy_record(w);

		if (rec == NULL || !rec->has_policy || w->status != DMARC_WALK_DONE)
			continue;
		if (in->spf == SPF_RESULT_PASS && eval_spf_usable(in))
			eval_need_org(e, w, rec, rec->aspf, in->spf_domain);
		for (size_t k = 0; k < in->ndkim && k < DMARC_DKIM_LIMIT; k++)
			if (in->dkim[k].result == DMARC_AUTH_PASS && in->dkim[k].domain)
				eval_need_org(e, w, rec, rec->adkim, in->dkim[k].domain);
		eval_need_nx(e, &e->from[i], w, rec);
	}
}

/* eval_org_of - Organizational Domain of identifier id; NULL when unknown */
static const char *
eval_org_of(struct dmarc_eval *e, const struct dmarc_walk *w, const char *id,
    bool *failed)
{
	struct eval_idwalk *iw;

	if (dmarc_domain_eq(w->domain, id))
		return w->org_domain;
	iw = eval_id_find(e, id);
	if (iw == NULL || !iw->done)
		return NULL;
	if (iw->failed)
		*failed = true;
	return iw->failed ? NULL : iw->org;
}

/*
 * eval_possible - could id align?  With the From domain's walk cut short by a
 * DNS failure its Organizational Domain is unknown: then any name sharing at
 * least the last two labels with it could.
 */
static bool
eval_possible(const struct dmarc_walk *w, enum dmarc_align_mode mode, const char *id)
{
	if (w->status == DMARC_WALK_DONE || mode == DMARC_ALIGN_STRICT)
		return dmarc_align_possible(mode, w->domain, w->org_domain, id);
	return dmarc_domain_eq(w->domain, id) ||
	    domain_is_under(id, strlen(id), dmarc_domain_suffix(w->domain, 2));
}

/* eval_check_id - alignment of one passing (or temperror) identifier */
static bool
eval_check_id(struct dmarc_eval *e, const struct dmarc_walk *w,
    enum dmarc_align_mode mode, const char *id, bool pass, bool *temp)
{
	bool failed = false;
	const char *org_from = w->status == DMARC_WALK_DONE ? w->org_domain : NULL;
	const char *org_id;

	if (id == NULL || *id == '\0')
		return false;
	if (!pass) {
		if (eval_possible(w, mode, id))
			*temp = true;
		return false;
	}
	org_id = eval_org_of(e, w, id, &failed);
	if (dmarc_align(mode, w->domain, org_from, id, org_id))
		return true;
	/* relaxed alignment we could not decide for a DNS failure */
	if ((failed || org_from == NULL) && eval_possible(w, mode, id))
		*temp = true;
	return false;
}

/* eval_alignment - "Determine Handling Policy" step 5: SPF and DKIM identifiers against one From domain */
static void
eval_alignment(struct dmarc_eval *e, struct dmarc_domain_result *d,
    const struct dmarc_record *rec, bool *temp)
{
	const struct dmarc_input *in = &e->in;
	const struct dmarc_walk *w = &d->walk;

	if (eval_spf_usable(in) &&
	    (in->spf == SPF_RESULT_PASS || in->spf == SPF_RESULT_TEMPERROR))
		d->spf_aligned = eval_check_id(e, w, rec->aspf, in->spf_domain,
		    in->spf == SPF_RESULT_PASS, temp);
	for (size_t k = 0; k < in->ndkim && k < DMARC_DKIM_LIMIT; k++) {
		const struct dmarc_dkim_input *s = &in->dkim[k];
		bool pass = s->result == DMARC_AUTH_PASS;

		if (!pass && s->result != DMARC_AUTH_TEMPERROR)
			continue;
		if (eval_check_id(e, w, rec->adkim, s->domain, pass, temp) &&
		    !d->dkim_aligned) {
			d->dkim_aligned = true;
			d->aligned_dkim_domain = s->domain;
			d->aligned_dkim_selector = s->selector;
		}
	}
}

/* eval_trusted_forwarder - a configured forwarder / list host sent the message */
static bool
eval_trusted_forwarder(const struct dmarc_eval *e)
{
	const struct dmarc_input *in = &e->in;
	const char *const *dl = e->set.trusted_domains;

	if (dmarc_net_match(e->set.trusted_networks, &in->client) == 1)
		return true;
	for (; dl && *dl; dl++) {
		if (in->client_name && domain_is_under(in->client_name, strlen(in->client_name), *dl))
			return true;
		for (size_t k = 0; k < in->ndkim; k++)
			if (in->dkim[k].result == DMARC_AUTH_PASS && in->dkim[k].domain &&
			    domain_is_under(in->dkim[k].domain, strlen(in->dkim[k].domain), *dl))
				return true;
	}
	return false;
}

/* eval_disposition - fail: policy, t=, legacy pct, overrides */
static void
eval_disposition(struct dmarc_eval *e, struct dmarc_domain_result *d,
    const struct dmarc_record *rec)
{
	size_t n = strlen(d->reason);

	d->disposition = dmarc_policy_disposition(d->policy, rec->testing);
	if (rec->testing && d->policy > DMARC_POLICY_NONE)
		snprintf(d->reason + n, sizeof(d->reason) - n, "; t=y: one level down");
	if (e->set.legacy_pct && rec->pct >= 0 && rec->pct < 100 &&
	    d->disposition != DMARC_DIS_NONE) {
		unsigned s = e->set.pct_sample ? e->set.pct_sample(e->set.pct_sample_arg) :
		    (unsigned)(random() % 100);

		if (s >= (unsigned)rec->pct) {
			d->disposition--;
			d->override = DMARC_OVERRIDE_SAMPLED_OUT;
		}
	}
	if (d->disposition != DMARC_DIS_NONE && eval_trusted_forwarder(e)) {
		d->disposition = DMARC_DIS_NONE;
		d->override = DMARC_OVERRIDE_TRUSTED_FORWARDER;
	}
}

/* eval_domain - the outcome for one From domain */
static void
eval_domain(struct dmarc_eval *e, size_t i)
{
	struct dmarc_domain_result *d = &e->v.domains[i];
	const struct dmarc_walk *w = &d->walk;
	const struct dmarc_record *rec = dmarc_walk_policy_record(w);
	struct eval_from *f = &e->from[i];
	bool temp = false;

	if (w->status == DMARC_WALK_TEMPERROR && w->source != DMARC_SOURCE_AUTHOR) {
		d->result = e->set.temperror_on_dns_failure ?
		    DMARC_RESULT_TEMPERROR : DMARC_RESULT_NONE;
		snprintf(d->reason, sizeof(d->reason),
		    "DNS error in the tree walk at _dmarc.%.100s",
		    w->steps[w->nsteps - 1].domain);
		return;
	}
	if (rec == NULL || !rec->has_policy) {
		d->result = DMARC_RESULT_NONE;
		snprintf(d->reason, sizeof(d->reason), "%s", rec ? rec->reason :
		    "no DMARC policy record");
		return;
	}
	d->author_nonexistent = f->nx_checked && f->nx_answers == 3 &&
	    f->nx_missing == 3;
	d->policy = dmarc_policy_select(rec, w->source, d->author_nonexistent);
	eval_alignment(e, d, rec, &temp);
	if (d->spf_aligned || d->dkim_aligned) {
		d->result = DMARC_RESULT_PASS;
		snprintf(d->reason, sizeof(d->reason), "aligned %s pass",
		    d->dkim_aligned ? "DKIM" : "SPF");
		return;
	}
	d->result = temp ? DMARC_RESULT_TEMPERROR : DMARC_RESULT_FAIL;
	snprintf(d->reason, sizeof(d->reason), temp ?
	    "no aligned pass; temperror on a path that could align" :
	    "no aligned SPF or DKIM pass");
	if (d->result == DMARC_RESULT_FAIL)
		eval_disposition(e, d, rec);
}

/* eval_rank - strictness of a domain outcome (disposition first) */
static int
eval_rank(const struct dmarc_domain_result *d)
{
	static const int result_rank[] = {
		[DMARC_RESULT_PASS] = 0, [DMARC_RESULT_NONE] = 1,
		[DMARC_RESULT_PERMERROR] = 2, [DMARC_RESULT_FAIL] = 3,
		[DMARC_RESULT_TEMPERROR] = 4,
	};

	return (int)d->disposition * 10 + result_rank[d->result];
}

/* eval_combine - the strictest domain decides; never pass because one passed */
static void
eval_combine(struct dmarc_eval *e)
{
	struct dmarc_verdict *v = &e->v;
	int best = -1;

	for (size_t i = 0; i < v->ndomains; i++) {
		eval_domain(e, i);
		if (best < 0 || eval_rank(&v->domains[i]) > eval_rank(&v->domains[best]))
			best = (int)i;
	}
	v->decisive = best;
	v->result = v->domains[best].result;
	v->disposition = v->domains[best].disposition;
	v->policy = v->domains[best].policy;
	snprintf(v->header_from, sizeof(v->header_from), "%s",
	    v->domains[best].from_domain);
	snprintf(v->reason, sizeof(v->reason), "%s%s", v->domains[best].reason,
	    v->ndomains > 1 ? " (strictest of several From domains)" : "");
}

/* eval_finish - report and free */
static void
eval_finish(struct dmarc_eval *e)
{
	e->cb(e->arg, &e->v);
	free(e);
}

/* eval_run - advance through the phases; true when finished (e freed) */
static bool
eval_run(struct dmarc_eval *e)
{
	while (e->pending == 0) {
		e->launching = true;
		switch (e->phase++) {
		case 0:
			eval_launch_from_walks(e);
			break;
		case 1:
			eval_launch_second(e);
			break;
		default:
			e->launching = false;
			eval_combine(e);
			eval_finish(e);
			return true;
		}
		e->launching = false;
	}
	return false;
}

/* eval_internal - an internal host: not evaluated */
static bool
eval_internal(const struct dmarc_eval *e)
{
	return dmarc_net_match(e->set.internal_networks, &e->in.client) == 1;
}

/* dmarc_verdict_init - an empty verdict (no domains, decisive -1) */
void
dmarc_verdict_init(struct dmarc_verdict *v)
{
	memset(v, 0, offsetof(struct dmarc_verdict, domains));
	v->decisive = -1;
}

/* dmarc_verdict_copy - copy src into dst: its fields and its ndomains domains */
void
dmarc_verdict_copy(struct dmarc_verdict *dst, const struct dmarc_verdict *src)
{
	memcpy(dst, src, offsetof(struct dmarc_verdict, domains));
	for (size_t i = 0; i < src->ndomains; i++) {
		memcpy(&dst->domains[i], &src->domains[i],
		    offsetof(struct dmarc_domain_result, walk));
		dmarc_walk_copy(&dst->domains[i].walk, &src->domains[i].walk);
	}
	dst->decisive = src->decisive;
}

/* dmarc_eval_start - evaluate one message */
struct dmarc_eval *
dmarc_eval_start(struct dns_resolver *r, const struct dmarc_settings *set,
    const struct dmarc_input *in, dmarc_eval_cb cb, void *arg)
{
	/* not calloc: the verdict's domain results are cleared as they are used */
	struct dmarc_eval *e = xmalloc(sizeof(*e));

	memset(e, 0, offsetof(struct dmarc_eval, v));
	dmarc_verdict_init(&e->v);
	e->r = r;
	if (set)
		e->set = *set;
	else
		dmarc_settings_default(&e->set);
	e->in = *in;
	e->cb = cb;
	e->arg = arg;
	e->v.decisive = -1;
	e->v.evaluated = true;
	if (eval_internal(e)) {
		e->v.evaluated = false;
		snprintf(e->v.reason, sizeof(e->v.reason),
		    "internal host: not evaluated");
		eval_finish(e);
		return NULL;
	}
	if (eval_from_domains(e) != 0) {
		eval_finish(e);
		return NULL;
	}
	return eval_run(e) ? NULL : e;
}

/* dmarc_eval_cancel - abandon an evaluation; the callback will not run */
void
dmarc_eval_cancel(struct dmarc_eval *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->v.ndomains; i++) {
		dmarc_walk_cancel(e->from[i].wk);
		for (size_t k = 0; k < 3; k++)
			if (e->from[i].nxq[k])
				dns_cancel(e->r, e->from[i].nxq[k]);
	}
	for (size_t i = 0; i < e->nids; i++)
		dmarc_walk_cancel(e->ids[i].wk);
	free(e);
}
