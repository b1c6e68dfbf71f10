/*
 * dmarc_domain.c - domain name helpers for DMARC: label counts, suffixes and
 * comparison (normalisation is mailaddr_domain_to_ascii's) (RFC 4343: ASCII case-insensitive; RFC 1035 §2.3.4
 * length limits).  Names are A-labels (RFC 9989 "Extract Author Domain": U-labels are converted
 * by the From parser before they get here).
 */
#include <string.h>

#include "dmarc.h"

/* dmarc_domain_labels - count labels of a normalised domain name */
unsigned
dmarc_domain_labels(const char *d)
{
	unsigned n = *d ? 1 : 0;

	for (; *d; d++)
		if (*d == '.')
			n++;
	return n;
}

/* dmarc_domain_suffix - pointer to the suffix of d made of its last n labels */
const char *
dmarc_domain_suffix(const char *d, unsigned n)
{
	unsigned have = dmarc_domain_labels(d);

	while (have > n) {
		const char *dot = strchr(d, '.');

		if (dot == NULL)
			break;
		d = dot + 1;
		have--;
	}
	return d;
}

/* dmarc_domain_eq - RFC 4343 case-insensitive name equality, trailing dot ignored */
bool
dmarc_domain_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && ascii_mem_eq_ci(a, b, la);
}

