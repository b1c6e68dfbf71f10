/*
 * dmarc_domain.c - domain name helpers for DMARC: normalisation, label counts,
 * suffixes and comparison (RFC 4343: ASCII case-insensitive; RFC 1035 §2.3.4
 * length limits).  Names are A-labels (RFC 9989 "Extract Author Domain": U-labels are converted
 * by the From parser before they get here).
 */
#include <string.h>

#include "dmarc.h"

/* RFC 1035 §2.3.4 */
#define DMARC_LABEL_SIZE_LIMIT	63
#define DMARC_NAME_SIZE_LIMIT	253

/* domain_char_ok - letters, digits, hyphen, underscore (service labels) */
static bool
domain_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '_';
}

/* dmarc_domain_norm - lower-case copy without a trailing dot; -1 if unusable */
int
dmarc_domain_norm(const char *p, size_t len, char out[DMARC_DOMAIN_SIZE])
{
	size_t label = 0;

	if (len && p[len - 1] == '.')
		len--;
	if (len == 0 || len > DMARC_NAME_SIZE_LIMIT)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!domain_char_ok(c) || ++label > DMARC_LABEL_SIZE_LIMIT) {
			return -1;
		}
		out[i] = c;
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

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

