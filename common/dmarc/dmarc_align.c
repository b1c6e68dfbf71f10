/*
 * dmarc_align.c - Identifier Alignment (RFC 9989 "DKIM-Authenticated
 * Identifiers", "SPF-Authenticated Identifiers").
 *
 * Strict: the identifier and the RFC5322.From domain are the same name.
 * Relaxed: their Organizational Domains (from the DNS Tree Walk, "Organizational Domain Discovery") are
 * the same.  Comparisons ignore ASCII case (RFC 4343).
 */
#include <string.h>

#include "dmarc.h"

/* dmarc_align - are identifier domain id and the From domain aligned? */
bool
dmarc_align(enum dmarc_align_mode mode, const char *from, const char *org_from,
    const char *id, const char *org_id)
{
	if (from == NULL || id == NULL || *from == '\0' || *id == '\0')
		return false;
	if (dmarc_domain_eq(from, id))
		return true;
	if (mode == DMARC_ALIGN_STRICT || org_from == NULL || org_id == NULL)
		return false;
	return dmarc_domain_eq(org_from, org_id);
}

/* dmarc_align_possible - could id align if its Organizational Domain were known? */
bool
dmarc_align_possible(enum dmarc_align_mode mode, const char *from,
    const char *org_from, const char *id)
{
	if (from == NULL || id == NULL || *from == '\0' || *id == '\0')
		return false;
	if (dmarc_domain_eq(from, id))
		return true;
	if (mode == DMARC_ALIGN_STRICT || org_from == NULL)
		return false;
	/* an Organizational Domain is always the name itself or one of its parents */
	return domain_is_under(id, strlen(id), org_from);
}
