/*
 * dkim_sig.c - DKIM-Signature field parsing and validation (RFC 6376 §3.5,
 * §6.1.1).  Each tag has a small handler in a table; required tags, unknown
 * tags (ignored, §3.2) and the cross-tag rules (i= within d=, x= after t=,
 * From signed) are checked after the handlers.  Any error is a permerror
 * whose reason is sig->error.
 *
 * The same parser reads ARC-Message-Signature fields (RFC 8617 §4.1.2):
 * DKIM-Signature syntax without v=, i= being the ARC instance (1..50,
 * §4.2.1), and no ARC-Seal among the signed fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

typedef int (*dkim_sig_tag_fn)(struct dkim_sig *sig, const struct tagvalue_tag *t);

/* dkim_sig_fail - record a permerror reason */
static int
dkim_sig_fail(struct dkim_sig *sig, const char *why)
{
	if (sig->error == NULL)
		sig->error = why;
	return -1;
}

/* dkim_sig_num - 1*DIGIT as uint64, saturating; -1 on non-digits or empty */
static int
dkim_sig_num(struct span v, size_t max_digits, uint64_t *out)
{
	uint64_t n = 0;

	if (v.len == 0 || v.len > max_digits)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		unsigned d;

		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		d = (unsigned)(v.p[i] - '0');
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	*out = n;
	return 0;
}

/* dkim_sig_domain_ok - a plausible domain or selector: labels of LDH, "_", 8-bit */
bool
dkim_sig_domain_ok(struct span v)
{
	if (v.len == 0 || v.len > DKIM_DOMAIN_MAX || v.p[0] == '.' || v.p[v.len - 1] == '.')
		return false;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c >= 0x80))
			return false;
		if (c == '.' && v.p[i + 1] == '.')
			return false;
	}
	return true;
}

/* dkim_sig_lower_dup - lower-cased copy of a span */
static char *
dkim_sig_lower_dup(struct span v)
{
	char *s = xmemdup0(v.p, v.len);

	for (char *q = s; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	return s;
}

/* dkim_sig_tag_v - v= must be 1 (§3.5) */
static int
dkim_sig_tag_v(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	/* an AMS has no v= (RFC 8617 §4.1.2): an unknown tag there, ignored */
	if (sig->kind == DKIM_SIG_KIND_AMS)
		return 0;
	if (t->value.len != 1 || t->value.p[0] != '1')
		return dkim_sig_fail(sig, "unsupported DKIM-Signature version (v=)");
	return 0;
}

/* dkim_sig_tag_a - a= signing algorithm */
static int
dkim_sig_tag_a(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	sig->a = xmemdup0(t->value.p, t->value.len);
	if (dkim_alg_parse(t->value, &sig->alg) < 0)
		return dkim_sig_fail(sig, "unsupported signature algorithm (a=)");
	return 0;
}

/* dkim_sig_tag_b - b= signature, and its raw position for blanking (§3.7) */
static int
dkim_sig_tag_b(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	long n = dkim_b64_decode(t->value, sig->b, sizeof(sig->b));
	long k;

	if (n <= 0)
		return dkim_sig_fail(sig, "b= is not valid base64 or is empty");
	sig->blen = (size_t)n;
	sig->b_raw_off = (size_t)(t->raw.p - sig->field);
	sig->b_raw_len = t->raw.len;
	k = tagvalue_copy_nows((struct span){ t->value.p,
	    t->value.len < 64 ? t->value.len : 64 }, sig->b_prefix, DKIM_B_PREFIX_LEN);
	if (k < 0)
		k = DKIM_B_PREFIX_LEN;
	sig->b_prefix[k] = '\0';
	return 0;
}

/* dkim_sig_tag_bh - bh= body hash */
static int
dkim_sig_tag_bh(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	long n = dkim_b64_decode(t->value, sig->bh, sizeof(sig->bh));

	if (n <= 0)
		return dkim_sig_fail(sig, "bh= is not valid base64 or is empty");
	sig->bhlen = (size_t)n;
	return 0;
}

/* dkim_sig_tag_c - c= canonicalisation */
static int
dkim_sig_tag_c(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	if (dkim_canon_parse(t->value, &sig->hcanon, &sig->bcanon) < 0)
		return dkim_sig_fail(sig, "unknown canonicalization (c=)");
	return 0;
}

/* dkim_sig_tag_d - d= signing domain, lower-cased */
static int
dkim_sig_tag_d(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	if (!dkim_sig_domain_ok(t->value))
		return dkim_sig_fail(sig, "invalid signing domain (d=)");
	sig->d = dkim_sig_lower_dup(t->value);
	return 0;
}

/* dkim_sig_tag_h - colon-separated field names (§3.5 h=) */
static int
dkim_sig_tag_h(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	struct span name;
	size_t pos = 0, n = 1;

	for (size_t i = 0; i < t->value.len; i++)
		n += t->value.p[i] == ':';
	sig->h = xcalloc(n < DKIM_H_NAMES_LIMIT ? n : DKIM_H_NAMES_LIMIT, sizeof(*sig->h));
	while (tagvalue_list_next(t->value, &pos, &name)) {
		if (name.len == 0)
			return dkim_sig_fail(sig, "empty header name in h=");
		for (size_t i = 0; i < name.len; i++)
			if ((unsigned char)name.p[i] <= 32 || (unsigned char)name.p[i] >= 127)
				return dkim_sig_fail(sig, "invalid header name in h=");
		if (sig->nh == DKIM_H_NAMES_LIMIT)
			return dkim_sig_fail(sig, "too many header names in h=");
		if (sig->kind == DKIM_SIG_KIND_AMS && span_eq_ci(name, "arc-seal"))
			return dkim_sig_fail(sig, "ARC-Seal is signed by the AMS (h=)");
		sig->h[sig->nh++] = name;
	}
	return 0;
}

/* dkim_sig_instance - an ARC instance: 1*2DIGIT, 1 to DKIM_ARC_INSTANCE_MAX (RFC 8617 §4.2.1) */
int
dkim_sig_instance(struct span v, unsigned *out)
{
	uint64_t n;

	if (dkim_sig_num(v, 2, &n) < 0 || n < 1 || n > DKIM_ARC_INSTANCE_MAX)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* dkim_sig_tag_i - i= agent or user identifier; the instance of an AMS */
static int
dkim_sig_tag_i(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	if (sig->kind == DKIM_SIG_KIND_AMS) {
		if (dkim_sig_instance(t->value, &sig->instance) < 0)
			return dkim_sig_fail(sig, "invalid ARC instance (i=)");
		return 0;
	}
	sig->i = xmemdup0(t->value.p, t->value.len);
	return 0;
}

/* dkim_sig_tag_l - l= body length count */
static int
dkim_sig_tag_l(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	/* §3.5: l= is 1*76DIGIT */
	if (dkim_sig_num(t->value, 76, &sig->l) < 0)
		return dkim_sig_fail(sig, "l= is not a number");
	sig->has_l = true;
	return 0;
}

/* dkim_sig_tag_q - must offer dns/txt (§3.5 q=) */
static int
dkim_sig_tag_q(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	if (tagvalue_list_has(t->value, "dns/txt") || tagvalue_list_has(t->value, "dns"))
		return 0;
	return dkim_sig_fail(sig, "unsupported key query method (q=)");
}

/* dkim_sig_tag_s - s= selector */
static int
dkim_sig_tag_s(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	if (!dkim_sig_domain_ok(t->value))
		return dkim_sig_fail(sig, "invalid selector (s=)");
	sig->s = xmemdup0(t->value.p, t->value.len);
	return 0;
}

/* dkim_sig_time - t= / x=: at most 12 digits as §3.5 recommends */
static int
dkim_sig_time(struct dkim_sig *sig, const struct tagvalue_tag *t, time_t *out)
{
	uint64_t n;

	if (dkim_sig_num(t->value, 12, &n) < 0)
		return dkim_sig_fail(sig, "t= or x= is not a timestamp");
	*out = (time_t)n;
	return 0;
}

/* dkim_sig_tag_t - t= signature timestamp */
static int
dkim_sig_tag_t(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	return dkim_sig_time(sig, t, &sig->t);
}

/* dkim_sig_tag_x - x= signature expiration */
static int
dkim_sig_tag_x(struct dkim_sig *sig, const struct tagvalue_tag *t)
{
	return dkim_sig_time(sig, t, &sig->x);
}

static const struct {
	const char *name;
	size_t len;		/* strlen(name), not counted per tag and message */
	dkim_sig_tag_fn fn;
	const char *missing;	/* reason when absent; NULL: optional */
} dkim_sig_tags[] = {
	{ "v", 1, dkim_sig_tag_v, "missing required tag v=" },
	{ "a", 1, dkim_sig_tag_a, "missing required tag a=" },
	{ "b", 1, dkim_sig_tag_b, "missing required tag b=" },
	{ "bh", 2, dkim_sig_tag_bh, "missing required tag bh=" },
	{ "c", 1, dkim_sig_tag_c, NULL },
	{ "d", 1, dkim_sig_tag_d, "missing required tag d=" },
	{ "h", 1, dkim_sig_tag_h, "missing required tag h=" },
	{ "i", 1, dkim_sig_tag_i, NULL },
	{ "l", 1, dkim_sig_tag_l, NULL },
	{ "q", 1, dkim_sig_tag_q, NULL },
	{ "s", 1, dkim_sig_tag_s, "missing required tag s=" },
	{ "t", 1, dkim_sig_tag_t, NULL },
	{ "x", 1, dkim_sig_tag_x, NULL },
};

/* dkim_identity_in_domain - the domain of i= (after its last "@") is d or below it (§3.5) */
bool
dkim_identity_in_domain(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');

	return at != NULL && domain_is_under(at + 1, strlen(at + 1), d);
}

/* dkim_sig_identity - i= within d= (§3.5), or the default "@d" */
static int
dkim_sig_identity(struct dkim_sig *sig)
{
	if (sig->i == NULL) {
		size_t n = strlen(sig->d) + 2;

		sig->i = xmalloc(n);
		snprintf(sig->i, n, "@%s", sig->d);
		return 0;
	}
	if (strrchr(sig->i, '@') == NULL)
		return dkim_sig_fail(sig, "i= has no @domain");
	if (dkim_identity_in_domain(sig->i, sig->d))
		return 0;
	return dkim_sig_fail(sig, "i= domain is not d= or a subdomain of it");
}

/* dkim_sig_check - cross-tag rules of §6.1.1; seen has bit k for dkim_sig_tags[k] present */
static int
dkim_sig_check(struct dkim_sig *sig, unsigned seen)
{
	bool from = false;

	bool ams = sig->kind == DKIM_SIG_KIND_AMS;

	for (size_t i = 0; i < ARRAY_LEN(dkim_sig_tags); i++)
		if (dkim_sig_tags[i].missing && !(ams && dkim_sig_tags[i].name[0] == 'v') &&
		    !(seen & (1u << i)))
			return dkim_sig_fail(sig, dkim_sig_tags[i].missing);
	if (ams && sig->instance == 0)
		return dkim_sig_fail(sig, "missing required tag i=");
	for (size_t i = 0; i < sig->nh; i++)
		if (span_eq_ci(sig->h[i], "from"))
			from = true;
	if (!from)
		return dkim_sig_fail(sig, "From field not signed (h=)");
	if (sig->t != -1 && sig->x != -1 && sig->x < sig->t)
		return dkim_sig_fail(sig, "x= is before t=");
	return ams ? 0 : dkim_sig_identity(sig);
}

/* dkim_sig_parse - parse a raw DKIM-Signature field; 0, or -1 with sig->error */
int
dkim_sig_parse(struct dkim_sig *sig, const char *field, size_t len)
{
	return dkim_sig_parse_kind(sig, field, len, DKIM_SIG_KIND_DKIM);
}

/* dkim_sig_parse_kind - parse a DKIM-Signature or ARC-Message-Signature field */
int
dkim_sig_parse_kind(struct dkim_sig *sig, const char *field, size_t len,
    enum dkim_sig_kind kind)
{
	const char *colon;
	size_t off, vlen;
	unsigned seen = 0;

	memset(sig, 0, sizeof(*sig));
	sig->kind = kind;
	sig->t = sig->x = -1;
	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	sig->field = xmemdup0(field, len);
	sig->field_len = len;
	if (len > DKIM_SIG_FIELD_MAX)
		return dkim_sig_fail(sig, "DKIM-Signature field too large");
	colon = memchr(sig->field, ':', len);
	if (colon == NULL)
		return dkim_sig_fail(sig, "not a header field");
	off = (size_t)(colon - sig->field) + 1;
	vlen = len - off;
	if (tagvalue_parse(sig->field + off, vlen, &sig->tags) < 0)
		return dkim_sig_fail(sig, sig->tags.reason);
	for (size_t i = 0; i < sig->tags.count; i++) {
		const struct tagvalue_tag *t = &sig->tags.tags[i];

		for (size_t k = 0; k < ARRAY_LEN(dkim_sig_tags); k++) {
			if (t->name.len != dkim_sig_tags[k].len ||
			    memcmp(t->name.p, dkim_sig_tags[k].name, t->name.len) != 0)
				continue;
			/* the tag parser refuses duplicates: each bit is set once */
			seen |= 1u << k;
			if (dkim_sig_tags[k].fn(sig, t) < 0)
				return -1;
			break;
		}
	}
	return dkim_sig_check(sig, seen);
}

/* dkim_sig_clear - free what dkim_sig_parse allocated */
void
dkim_sig_clear(struct dkim_sig *sig)
{
	free(sig->field);
	free(sig->a);
	free(sig->d);
	free(sig->s);
	free(sig->i);
	free(sig->h);
	memset(sig, 0, sizeof(*sig));
}
