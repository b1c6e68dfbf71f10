/*
 * arc_trust.c - what a trusted sealer vouches for (RFC 8617 §7.2: a receiver
 * may use the ARC-Authentication-Results of sealers it trusts when local
 * policy would otherwise act on a DMARC failure, RFC 9989's local policy
 * override).
 *
 * Only a chain that passed counts.  From the latest set down, the first set
 * sealed by a trusted domain (the AS d= is one of them or below one) whose
 * AAR records, for the message's From domain, what would have made DMARC
 * pass there (RFC 9989 "Identifier Alignment"): dmarc=pass with that
 * header.from, or spf=pass with an smtp.mailfrom domain aligned with it, or
 * dkim=pass with a header.d aligned with it.  Alignment follows the From
 * domain's record (aspf=, adkim=): strict is the same name; relaxed is the
 * same Organizational Domain, taken as the identifier being the From
 * domain's Organizational Domain (from the caller's DNS Tree Walk) or below
 * it.  An Organizational Domain is always the name itself or a parent, so
 * an identifier elsewhere never aligns; one below it would differ only
 * where a record with psd=n sits between them, which would take the
 * identifier's own Tree Walk.
 */
#include <string.h>
#include <strings.h>

#include "arc_int.h"
#include "authres.h"

/* arc_trust_prop - the value of ptype.name among r's properties, or an empty span */
static struct span
arc_trust_prop(const struct authres_result *r, const char *ptype, const char *name)
{
	for (size_t i = 0; i < r->nprops; i++)
		if (span_eq_ci(r->props[i].ptype, ptype) && span_eq_ci(r->props[i].name, name))
			return r->props[i].value;
	return (struct span){ NULL, 0 };
}

/* arc_trust_domain_of - the domain of v: after its last "@" when at_ok */
static struct span
arc_trust_domain_of(struct span v, bool at_ok)
{
	const char *at = at_ok && v.len ? memrchr(v.p, '@', v.len) : NULL;

	if (at) {
		v.len -= (size_t)(at + 1 - v.p);
		v.p = at + 1;
	}
	return v;
}

/* arc_trust_domain_is - span v is domain d */
static bool
arc_trust_domain_is(struct span v, const char *d)
{
	return v.len && v.len == strlen(d) && ascii_mem_eq_ci(v.p, d, v.len);
}

/* arc_trust_aligned - identifier domain v aligned with the From domain, strictly or relaxed */
static bool
arc_trust_aligned(struct span v, const struct arc_trust_from *from, bool relaxed)
{
	if (arc_trust_domain_is(v, from->domain))
		return true;
	return relaxed && v.len && from->org_domain && *from->org_domain &&
	    domain_is_under(v.p, v.len, from->org_domain);
}

/* arc_trust_spf - an spf=pass result's mailfrom aligned with the From domain */
static bool
arc_trust_spf(const struct authres_result *r, const struct arc_trust_from *from)
{
	struct span mf = arc_trust_prop(r, "smtp", "mailfrom");

	if (mf.len == 0)
		mf = arc_trust_prop(r, "smtp", "mfrom");
	return arc_trust_aligned(arc_trust_domain_of(mf, true), from, from->spf_relaxed);
}

/* arc_trust_result_vouches - one resinfo is a pass for the From domain */
static bool
arc_trust_result_vouches(const struct authres_result *r, const struct arc_trust_from *from)
{
	if (!span_eq_ci(r->result, "pass"))
		return false;
	if (span_eq_ci(r->method, "dmarc"))
		return arc_trust_domain_is(arc_trust_prop(r, "header", "from"), from->domain);
	if (span_eq_ci(r->method, "spf"))
		return arc_trust_spf(r, from);
	if (span_eq_ci(r->method, "dkim"))
		return arc_trust_aligned(arc_trust_prop(r, "header", "d"), from, from->dkim_relaxed);
	return false;
}

/* arc_trust_aar_vouches - an AAR payload records a pass for the From domain */
static bool
arc_trust_aar_vouches(const char *aar, const struct arc_trust_from *from)
{
	struct authres_parsed ar;

	if (authres_parse(aar, strlen(aar), &ar) < 0)
		return false;
	for (size_t i = 0; i < ar.nresults; i++)
		if (arc_trust_result_vouches(&ar.results[i], from))
			return true;
	return false;
}

/* arc_trust_sealer - the seal's domain is one of trusted or below one */
static bool
arc_trust_sealer(const char *d, const char *const *trusted)
{
	for (; trusted && *trusted; trusted++)
		if (domain_is_under(d, strlen(d), *trusted))
			return true;
	return false;
}

/* arc_trust_vouch - the instance of the latest trusted set vouching for the From domain, or 0 */
unsigned
arc_trust_vouch(const struct arc_result *res, const char *const *trusted,
    const struct arc_trust_from *from)
{
	if (res == NULL || res->cv != ARC_CV_PASS || from->domain == NULL || *from->domain == '\0')
		return 0;
	for (unsigned i = res->sets; i >= 1; i--) {
		const struct arc_set_result *s = &res->set[i - 1];

		if (arc_trust_sealer(s->seal_domain, trusted) &&
		    arc_trust_aar_vouches(s->aar, from))
			return i;
	}
	return 0;
}
