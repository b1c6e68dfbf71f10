/*
 * arc_trust.c - what a trusted sealer vouches for (RFC 8617 §7.2: a receiver
 * may use the ARC-Authentication-Results of sealers it trusts when local
 * policy would otherwise act on a DMARC failure, RFC 9989's local policy
 * override).
 *
 * Only a chain that passed counts.  From the latest set down, the first set
 * sealed by a trusted domain (the AS d= is one of them or below one) whose
 * AAR records, for the message's From domain, dmarc=pass with that
 * header.from, or spf=pass for an smtp.mailfrom in that domain, or dkim=pass
 * with that header.d: identifier alignment is taken strictly (the same
 * domain), since the organisational domain would need DNS here.
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

/* arc_trust_domain_is - span v is domain d, or an address in d when at_ok */
static bool
arc_trust_domain_is(struct span v, const char *d, bool at_ok)
{
	const char *at = at_ok && v.len ? memrchr(v.p, '@', v.len) : NULL;

	if (at) {
		v.len -= (size_t)(at + 1 - v.p);
		v.p = at + 1;
	}
	return v.len == strlen(d) && v.len && ascii_mem_eq_ci(v.p, d, v.len);
}

/* arc_trust_result_vouches - one resinfo is a pass for from_domain */
static bool
arc_trust_result_vouches(const struct authres_result *r, const char *from)
{
	if (!span_eq_ci(r->result, "pass"))
		return false;
	if (span_eq_ci(r->method, "dmarc"))
		return arc_trust_domain_is(arc_trust_prop(r, "header", "from"), from, false);
	if (span_eq_ci(r->method, "spf"))
		return arc_trust_domain_is(arc_trust_prop(r, "smtp", "mailfrom"), from, true) ||
		    arc_trust_domain_is(arc_trust_prop(r, "smtp", "mfrom"), from, true);
	if (span_eq_ci(r->method, "dkim"))
		return arc_trust_domain_is(arc_trust_prop(r, "header", "d"), from, false);
	return false;
}

/* arc_trust_aar_vouches - an AAR payload records a pass for from_domain */
static bool
arc_trust_aar_vouches(const char *aar, const char *from)
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

/* arc_trust_vouch - the instance of the latest trusted set vouching for from_domain, or 0 */
unsigned
arc_trust_vouch(const struct arc_result *res, const char *const *trusted,
    const char *from_domain)
{
	if (res->cv != ARC_CV_PASS || from_domain == NULL || *from_domain == '\0')
		return 0;
	for (unsigned i = res->sets; i >= 1; i--) {
		const struct arc_set_result *s = &res->set[i - 1];

		if (arc_trust_sealer(s->seal_domain, trusted) &&
		    arc_trust_aar_vouches(s->aar, from_domain))
			return i;
	}
	return 0;
}
