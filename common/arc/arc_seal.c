/*
 * arc_seal.c - the ARC-Seal field (RFC 8617 §4.1.3): its tags, each with a
 * small handler in a table as dkim_sig.c does, and the header signing input
 * of a seal (§5.1.1): every ARC set up to the seal's own, in increasing
 * instance order, AAR then AMS then AS, relaxed canonicalisation, the seal's
 * b= blanked as in RFC 6376 §3.7.
 */
#include <stdlib.h>
#include <string.h>

#include "arc_int.h"

/* RFC 6376 §3.5 recommends at most 12 digits for a timestamp. */
#define ARC_SEAL_TIME_DIGITS	12

typedef int (*arc_seal_tag_fn)(struct arc_seal *seal, const struct tagvalue_tag *t);

/* arc_seal_fail - record why the seal is unusable */
static int
arc_seal_fail(struct arc_seal *seal, const char *why)
{
	if (seal->error == NULL)
		seal->error = why;
	return -1;
}

/* arc_cv_parse - "none", "pass", "fail" (case-sensitive); 0/-1 */
int
arc_cv_parse(struct span v, enum arc_cv *cv)
{
	static const enum arc_cv all[] = { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		const char *w = arc_cv_str(all[i]);

		if (v.len == strlen(w) && memcmp(v.p, w, v.len) == 0) {
			*cv = all[i];
			return 0;
		}
	}
	return -1;
}

/* arc_seal_tag_a - a=: rsa-sha256 only */
static int
arc_seal_tag_a(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	if (dkim_alg_parse(t->value, &seal->alg) < 0 || seal->alg != DKIM_ALG_RSA_SHA256)
		return arc_seal_fail(seal, "unsupported seal algorithm (a=)");
	return 0;
}

/* arc_seal_tag_b - b= signature and its raw position for blanking */
static int
arc_seal_tag_b(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	long n = dkim_b64_decode(t->value, seal->b, sizeof(seal->b));

	if (n <= 0)
		return arc_seal_fail(seal, "b= is not valid base64 or is empty");
	seal->blen = (size_t)n;
	seal->b_raw_off = (size_t)(t->raw.p - seal->field);
	seal->b_raw_len = t->raw.len;
	return 0;
}

/* arc_seal_tag_cv - cv= chain validation status */
static int
arc_seal_tag_cv(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	if (arc_cv_parse(t->value, &seal->cv) < 0)
		return arc_seal_fail(seal, "invalid chain validation status (cv=)");
	return 0;
}

/* arc_seal_tag_d - d= sealing domain, lower-cased */
static int
arc_seal_tag_d(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	if (!dkim_sig_domain_ok(t->value))
		return arc_seal_fail(seal, "invalid sealing domain (d=)");
	seal->d = xmemdup0(t->value.p, t->value.len);
	for (char *q = seal->d; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	return 0;
}

/* arc_seal_tag_h - h= has no place in a seal (§4.1.3) */
static int
arc_seal_tag_h(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	(void)t;
	return arc_seal_fail(seal, "h= in an ARC-Seal");
}

/* arc_seal_tag_i - i= instance */
static int
arc_seal_tag_i(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	if (dkim_sig_instance(t->value, &seal->instance) < 0)
		return arc_seal_fail(seal, "invalid ARC instance (i=)");
	return 0;
}

/* arc_seal_tag_s - s= selector */
static int
arc_seal_tag_s(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	if (!dkim_sig_domain_ok(t->value))
		return arc_seal_fail(seal, "invalid selector (s=)");
	seal->s = xmemdup0(t->value.p, t->value.len);
	return 0;
}

/* arc_seal_tag_t - t= timestamp: 1*12DIGIT */
static int
arc_seal_tag_t(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	time_t n = 0;

	if (t->value.len == 0 || t->value.len > ARC_SEAL_TIME_DIGITS)
		return arc_seal_fail(seal, "t= is not a timestamp");
	for (size_t i = 0; i < t->value.len; i++) {
		if (t->value.p[i] < '0' || t->value.p[i] > '9')
			return arc_seal_fail(seal, "t= is not a timestamp");
		n = n * 10 + (t->value.p[i] - '0');
	}
	seal->t = n;
	return 0;
}

static const struct {
	const char *name;
	arc_seal_tag_fn fn;
	const char *missing;	/* reason when absent; NULL: optional */
} arc_seal_tags[] = {
	{ "a", arc_seal_tag_a, "missing required tag a=" },
	{ "b", arc_seal_tag_b, "missing required tag b=" },
	{ "cv", arc_seal_tag_cv, "missing required tag cv=" },
	{ "d", arc_seal_tag_d, "missing required tag d=" },
	{ "h", arc_seal_tag_h, NULL },
	{ "i", arc_seal_tag_i, "missing required tag i=" },
	{ "s", arc_seal_tag_s, "missing required tag s=" },
	{ "t", arc_seal_tag_t, NULL },
};

/* arc_seal_tag - run the handler of one tag (unknown tags are ignored, RFC 6376 §3.2) */
static int
arc_seal_tag(struct arc_seal *seal, const struct tagvalue_tag *t)
{
	for (size_t k = 0; k < ARRAY_LEN(arc_seal_tags); k++)
		if (t->name.len == strlen(arc_seal_tags[k].name) &&
		    memcmp(t->name.p, arc_seal_tags[k].name, t->name.len) == 0)
			return arc_seal_tags[k].fn(seal, t);
	return 0;
}

/* arc_seal_parse - parse an ARC-Seal; 0, or -1 with seal->error */
int
arc_seal_parse(struct arc_seal *seal, const char *field, size_t len)
{
	const char *colon;
	size_t off;

	memset(seal, 0, sizeof(*seal));
	seal->t = -1;
	seal->field = xmemdup0(field, len);
	seal->field_len = len;
	if (len > DKIM_SIG_FIELD_MAX)
		return arc_seal_fail(seal, "ARC-Seal field too large");
	if ((colon = memchr(seal->field, ':', len)) == NULL)
		return arc_seal_fail(seal, "not a header field");
	off = (size_t)(colon - seal->field) + 1;
	if (tagvalue_parse(seal->field + off, len - off, &seal->tags) < 0)
		return arc_seal_fail(seal, seal->tags.reason);
	for (size_t i = 0; i < seal->tags.count; i++)
		if (arc_seal_tag(seal, &seal->tags.tags[i]) < 0)
			return -1;
	for (size_t k = 0; k < ARRAY_LEN(arc_seal_tags); k++)
		if (arc_seal_tags[k].missing &&
		    tagvalue_find(&seal->tags, arc_seal_tags[k].name) == NULL)
			return arc_seal_fail(seal, arc_seal_tags[k].missing);
	return 0;
}

/* arc_seal_clear - free what arc_seal_parse allocated */
void
arc_seal_clear(struct arc_seal *seal)
{
	free(seal->field);
	free(seal->d);
	free(seal->s);
	memset(seal, 0, sizeof(*seal));
}

/* arc_seal_input - §5.1.1 signing input of the seal of set n (see arc_int.h) */
int
arc_seal_input(const struct arc_set_fields *sets, size_t n, size_t b_off,
    size_t b_len, struct buf *out)
{
	struct span last;
	struct buf blank;
	int rc = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		for (int k = 0; k < ARC_FIELD_COUNT && rc == 0; k++)
			if (i + 1 < n || k != ARC_FIELD_AS)
				rc = dkim_canon_header(DKIM_CANON_RELAXED, sets[i].f[k], out);
	last = sets[n - 1].f[ARC_FIELD_AS];
	if (rc < 0 || b_off + b_len > last.len)
		return -1;
	buf_init(&blank, last.len + 2);
	buf_append(&blank, last.p, b_off);
	buf_append(&blank, last.p + b_off + b_len, last.len - b_off - b_len);
	rc = dkim_canon_header(DKIM_CANON_RELAXED, (struct span){ blank.data, blank.len }, out);
	buf_clear(&blank);
	/* the seal enters without its final CRLF, as a DKIM-Signature does */
	if (rc == 0 && out->len >= 2)
		buf_truncate(out, out->len - 2);
	return rc < 0 || out->overflow ? -1 : 0;
}
