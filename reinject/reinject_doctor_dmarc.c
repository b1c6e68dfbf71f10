/*
 * reinject_doctor_dmarc.c - doctor check of DMARC (RFC 9989): the DNS Tree
 * Walk from the domain (common/dmarc), where the record was found, its
 * policy and alignment modes, whether the envelope domain (SPF) and the DKIM
 * d= of the signing configuration align with the domain, and for each rua=
 * and ruf= destination in another Organizational Domain its
 * "<domain>._report._dmarc.<destination>" authorisation (RFC 9990 §4, RFC 9991).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "reinject_doctor.h"
#include "util.h"

struct doctor_walk_st {
	bool done;
	struct dmarc_walk *w;	/* copied from the callback */
};

/* doctor_walk_cb - keep the walk */
static void
doctor_walk_cb(void *arg, const struct dmarc_walk *w)
{
	struct doctor_walk_st *st = arg;

	dmarc_walk_copy(st->w, w);
	st->done = true;
}

/* doctor_dmarc_walk_run - a Tree Walk from domain into w; false when it got no answer */
static bool
doctor_dmarc_walk_run(struct doctor *d, const char *domain, struct dmarc_walk *w)
{
	struct doctor_walk_st st = { false, w };
	struct dmarc_walker *wk;

	dmarc_walk_clear(w);
	wk = dmarc_walk_start(d->r, domain, doctor_walk_cb, &st);
	doctor_wait(d, &st.done);
	if (!st.done)
		dmarc_walk_cancel(wk);
	return st.done;
}

/* doctor_dmarc_org_of - the Organizational Domain of name into out ("" on failure) */
static void
doctor_dmarc_org_of(struct doctor *d, const char *name, char *out, size_t size)
{
	struct dmarc_walk *w = xmalloc(sizeof(*w));

	out[0] = '\0';
	if (doctor_dmarc_walk_run(d, name, w) && w->status == DMARC_WALK_DONE)
		snprintf(out, size, "%s", w->org_domain);
	free(w);
}

/* doctor_dmarc_mode - "relaxed" / "strict" */
static const char *
doctor_dmarc_mode(enum dmarc_align_mode m)
{
	return m == DMARC_ALIGN_STRICT ? "strict" : "relaxed";
}

/* doctor_dmarc_align_one - does identifier domain id align with the domain? */
static bool
doctor_dmarc_align_one(struct doctor *d, const struct dmarc_walk *w,
    enum dmarc_align_mode m,
    const char *id)
{
	char org[DMARC_DOMAIN_SIZE];

	doctor_dmarc_org_of(d, id, org, sizeof(org));
	return dmarc_align(m, d->domain, w->org_domain, id, org[0] ? org : NULL);
}

/* doctor_dmarc_alignment - SPF and DKIM identifiers of this setup */
static void
doctor_dmarc_alignment(struct doctor *d, const struct dmarc_walk *w,
    const struct dmarc_record *r)
{
	bool any = false;

	if (doctor_dmarc_align_one(d, w, r->aspf, d->mail_from_domain))
		doctor_add(d, DOCTOR_OK, "dmarc-spf", d->mail_from_domain, NULL, NULL,
		    "envelope domain aligns with %s (aspf=%s)", d->domain, doctor_dmarc_mode(r->aspf));
	else
		doctor_add(d, DOCTOR_WARN, "dmarc-spf", d->mail_from_domain, "send with an "
		    "envelope sender in the domain", NULL, "envelope domain does not align "
		    "with %s (aspf=%s): SPF cannot make DMARC pass", d->domain,
		    doctor_dmarc_mode(r->aspf));
	for (size_t i = 0; i < d->ndkim_domains; i++) {
		bool ok = doctor_dmarc_align_one(d, w, r->adkim, d->dkim_domains[i]);

		any |= ok;
		doctor_add(d, ok ? DOCTOR_OK : DOCTOR_WARN, "dmarc-dkim", d->dkim_domains[i],
		    NULL, NULL, "d=%s %s with %s (adkim=%s)", d->dkim_domains[i],
		    ok ? "aligns" : "does not align", d->domain, doctor_dmarc_mode(r->adkim));
	}
	if (d->conf != NULL && !any)
		doctor_add(d, DOCTOR_FAIL, "dmarc-dkim", d->domain, "sign with a key whose "
		    "d= is the domain (or, relaxed, in its Organizational Domain)", NULL,
		    "no configured DKIM key aligns: DMARC rests on SPF alone, which "
		    "forwarding breaks");
}

/* doctor_dmarc_uri_domain - the domain of "mailto:user@dest[!size]"; false if none */
static bool
doctor_dmarc_uri_domain(const char *uri, char *out, size_t size)
{
	const char *at = strrchr(uri, '@'), *end;

	if (strncasecmp(uri, "mailto:", 7) != 0 || at == NULL)
		return false;
	end = strchr(at, '!');
	snprintf(out, size, "%.*s", (int)(end ? (size_t)(end - at - 1) : strlen(at + 1)), at + 1);
	return out[0] != '\0';
}

/* doctor_dmarc_has_dmarc1 - a TXT answer with a record starting "v=DMARC1" */
static bool
doctor_dmarc_has_dmarc1(const struct dns_answer *a)
{
	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len >= 8 && strncasecmp(a->rr[i].data, "v=DMARC1", 8) == 0)
			return true;
	return false;
}

/* doctor_dmarc_dest - one report destination */
static void
doctor_dmarc_dest(struct doctor *d, const struct dmarc_walk *w, const char *tag,
    const char *uri)
{
	char dest[DMARC_DOMAIN_SIZE], org[DMARC_DOMAIN_SIZE], name[600], rec[700], why[800];
	struct dns_answer_owned a;

	if (!doctor_dmarc_uri_domain(uri, dest, sizeof(dest))) {
		doctor_add(d, DOCTOR_WARN, tag, uri, "use a mailto: URI", NULL,
		    "not a mailto: address: no reports will come");
		return;
	}
	doctor_dmarc_org_of(d, dest, org, sizeof(org));
	if (org[0] && dmarc_domain_eq(org, w->org_domain)) {
		doctor_add(d, DOCTOR_OK, tag, uri, NULL, NULL, "in the domain's own "
		    "Organizational Domain: no authorisation needed");
		return;
	}
	snprintf(name, sizeof(name), "%s._report._dmarc.%s", w->policy_domain, dest);
	snprintf(rec, sizeof(rec), "%s. IN TXT \"v=DMARC1\"", name);
	doctor_query(d, name, DNS_TYPE_TXT, &a);
	if (a.ans.rcode != DNS_RCODE_NOERROR && a.ans.rcode != DNS_RCODE_NXDOMAIN) {
		doctor_dns_failure(&a.ans, why, sizeof(why));
		doctor_add(d, DOCTOR_FAIL, tag, uri, NULL, NULL, "%s", why);
	} else if (doctor_dmarc_has_dmarc1(&a.ans))
		doctor_add(d, DOCTOR_OK, tag, uri, NULL, NULL, "%s authorises reports for %s",
		    dest, w->policy_domain);
	else
		doctor_add(d, DOCTOR_FAIL, tag, uri, "the owner of the destination domain "
		    "must publish the authorisation record, or use an address in your domain",
		    rec, "%s is in another Organizational Domain and does not authorise "
		    "reports for %s: receivers send none", dest, w->policy_domain);
	dns_answer_owned_clear(&a);
}

/* doctor_dmarc_found - the policy record's findings */
static void
doctor_dmarc_found(struct doctor *d, const struct dmarc_walk *w,
    const struct dmarc_record *r)
{
	enum doctor_level level = r->p == DMARC_POLICY_NONE ? DOCTOR_WARN : DOCTOR_OK;

	doctor_add(d, level, "dmarc", d->domain, level == DOCTOR_OK ? NULL :
	    "once the reports show your mail passing, move to p=quarantine, then "
	    "p=reject", NULL, "record at _dmarc.%s (%s): p=%s%s%s adkim=%s aspf=%s%s",
	    w->policy_domain, dmarc_source_str(w->source), dmarc_policy_str(r->p),
	    r->sp != DMARC_POLICY_UNSET ? " sp=" : "",
	    r->sp != DMARC_POLICY_UNSET ? dmarc_policy_str(r->sp) : "",
	    doctor_dmarc_mode(r->adkim), doctor_dmarc_mode(r->aspf), r->nrua ? "" : "; no rua=: "
	    "you will get no aggregate reports");
	doctor_dmarc_alignment(d, w, r);
	for (size_t i = 0; i < r->nrua; i++)
		doctor_dmarc_dest(d, w, "dmarc-rua", r->rua[i]);
	for (size_t i = 0; i < r->nruf; i++)
		doctor_dmarc_dest(d, w, "dmarc-ruf", r->ruf[i]);
}

/* doctor_dmarc_missing - no usable record: say why and what to publish */
static void
doctor_dmarc_missing(struct doctor *d, const struct dmarc_walk *w)
{
	char rec[700];

	snprintf(rec, sizeof(rec), "_dmarc.%s. IN TXT \"v=DMARC1; p=none; "
	    "rua=mailto:dmarc-reports@%s\"", d->domain, d->domain);
	for (size_t i = 0; i < w->nsteps; i++)
		if (w->steps[i].outcome == DMARC_STEP_INVALID ||
		    w->steps[i].outcome == DMARC_STEP_MULTIPLE) {
			doctor_add(d, DOCTOR_FAIL, "dmarc", d->domain, "replace it with one "
			    "valid record", rec, "the record at _dmarc.%s is unusable (%s%s%s): "
			    "treated as no record", w->steps[i].domain,
			    dmarc_step_outcome_str(w->steps[i].outcome),
			    w->steps[i].rec.reason[0] ? ": " : "", w->steps[i].rec.reason);
			return;
		}
	doctor_add(d, DOCTOR_FAIL, "dmarc", d->domain, "publish a DMARC record, p=none "
	    "first to collect reports", rec, "no DMARC record: receivers apply no "
	    "policy and send no reports");
}

/* doctor_check_dmarc - the Tree Walk and what follows from it */
void
doctor_check_dmarc(struct doctor *d)
{
	struct dmarc_walk *w = xmalloc(sizeof(*w));
	const struct dmarc_record *r;

	if (!doctor_dmarc_walk_run(d, d->domain, w) || w->status == DMARC_WALK_TEMPERROR)
		doctor_add(d, DOCTOR_FAIL, "dmarc", d->domain, "check the domain's name "
		    "servers, then run again", NULL, "DNS failure during the DMARC tree "
		    "walk: a _dmarc query got SERVFAIL or no answer");
	else if (w->status == DMARC_WALK_BAD_DOMAIN)
		doctor_add(d, DOCTOR_FAIL, "dmarc", d->domain, NULL, NULL,
		    "not a usable domain name");
	else if ((r = dmarc_walk_policy_record(w)) != NULL)
		doctor_dmarc_found(d, w, r);
	else
		doctor_dmarc_missing(d, w);
	free(w);
}
