/*
 * spf_domain.c - domain name rules for SPF (RFC 7208 §4.3, §5.5, §7.3, §12).
 *
 * <domain> validation for check_host() (a malformed or single-label domain gives
 * "none"), the names the engine may send to DNS, the §7.3 truncation of expanded
 * domain-specs and the ABNF domain-end ("." toplabel) check.
 */
#include <string.h>

#include "spf_int.h"
#include "util.h"

/* domain_is_alnum - ASCII letter or digit */
static bool
domain_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* domain_labels_ok - labels 1..63 (a trailing dot allowed), total <= 253; SP only if allowed */
static bool
domain_labels_ok(const char *p, size_t len, bool space_ok, size_t *nlabels)
{
	size_t lab = 0;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return false;
	*nlabels = 1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || (c == ' ' && !space_ok))
			return false;
		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			(*nlabels)++;
		} else if (++lab > SPF_LABEL_MAX)
			return false;
	}
	return lab > 0;
}

/* spf_domain_is_fqdn - <domain> usable for check_host() (§4.3) */
bool
spf_domain_is_fqdn(const char *p, size_t len)
{
	size_t nlabels, i;
	bool digits_only = true;

	if (!domain_labels_ok(p, len, false, &nlabels) || nlabels < 2)
		return false;
	if (p[0] == '[')
		return false;	/* address literal, RFC 5321 §4.1.3 */
	if (p[len - 1] == '.')
		len--;
	/* a numeric top label is an address, not a domain name */
	for (i = len; i > 0 && p[i - 1] != '.'; i--)
		if (p[i - 1] < '0' || p[i - 1] > '9')
			digits_only = false;
	return !digits_only;
}

/* spf_domain_is_queryable - a target name DNS can carry (§7.1: %_ puts spaces in) */
bool
spf_domain_is_queryable(const char *p, size_t len)
{
	size_t nlabels;

	return domain_labels_ok(p, len, true, &nlabels);
}

/* spf_domain_truncate - drop left labels until the name fits 253 octets (§7.3) */
void
spf_domain_truncate(struct buf *b)
{
	size_t cut = 0;

	if (b->len > 0 && b->data[b->len - 1] == '.')
		buf_truncate(b, b->len - 1);
	while (b->len - cut > SPF_DOMAIN_MAX) {
		const char *dot = memchr(b->data + cut, '.', b->len - cut);

		if (dot == NULL)
			break;
		cut = (size_t)(dot - b->data) + 1;
	}
	if (cut > 0) {
		memmove(b->data, b->data + cut, b->len - cut);
		buf_truncate(b, b->len - cut);
	}
}

/* domain_toplabel_ok - §12 toplabel */
static bool
domain_toplabel_ok(const char *p, size_t len)
{
	bool alpha = false, hyphen = false;

	if (len == 0 || !domain_is_alnum(p[0]) || !domain_is_alnum(p[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '-')
			hyphen = true;
		else if (!domain_is_alnum(p[i]))
			return false;
		else if (!(p[i] >= '0' && p[i] <= '9'))
			alpha = true;
	}
	return alpha || hyphen;
}

/* spf_domain_end_ok - the literal tail is "." toplabel ["."] (§12 domain-end) */
bool
spf_domain_end_ok(const char *p, size_t len)
{
	size_t i;

	if (len > 0 && p[len - 1] == '.')
		len--;
	for (i = len; i > 0 && p[i - 1] != '.'; i--)
		;
	if (i == 0)
		return false;	/* no "." before the top label */
	return domain_toplabel_ok(p + i, len - i);
}

