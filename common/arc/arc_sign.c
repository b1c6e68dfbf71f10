/*
 * arc_sign.c - ARC sealing (RFC 8617 §5.1): a new ARC set on top of the
 * message, for a chain validation status the caller determined.
 *
 * The message streams in as for DKIM signing: header fields are kept (for
 * the AMS h= selection and the prior ARC sets), the body is hashed relaxed
 * with SHA-256.  At the end:
 *  - no seal when the latest ARC-Seal says cv=fail (§5.1 step 1) or the
 *    chain already has 50 sets (§4.2.1);
 *  - the instance is one above the highest found (§5.1 step 2);
 *  - the AAR is "i=n; " and the caller's Authentication-Results payload
 *    (§4.1.1); the AMS a DKIM signature without v= over the configured
 *    fields (§4.1.2, relaxed/relaxed, never ARC-Seal); the AS signs the
 *    sets 1..n (§5.1.1), or only the new set when cv=fail (§5.1.2).
 * Tags are written in the order a b bh c d h i s t (AMS) and a b cv d i s t
 * (AS), folded only between tags, b= on a line of its own and never folded
 * inside, as dkimpy's standardized form has them: the relaxed forms, and so
 * the seals over them, match the ValiMail suite's bit for bit.  (A fold
 * inside b= becomes a SP in the relaxed form the next seal covers.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_int.h"

#define ARC_SIGN_LINE_WIDTH	78	/* RFC 5322 §2.1.1 SHOULD */
#define ARC_SIGN_FIELD_MAX	(64 * 1024)

struct arc_sign {
	EVP_PKEY *key;
	char *domain, *selector;
	const char *const *headers;	/* borrowed from the config, or the DKIM defaults */
	time_t timestamp;
	struct dkim_feed feed;		/* fields, body hasher, input error */
	struct arc_chain chain;
	struct dkim_bodyhash *bh;	/* NULL when the body hash is given */
	bool body_hash_given;
	unsigned char bh_given[DKIM_BH_MAX];
	size_t bh_given_len;		/* 0 until arc_sign_set_body_hash */
};

/* One tag of a field being written. */
struct arc_sign_tag {
	const char *name;
	const char *value;
};

static const struct dkim_feed_hooks arc_sign_hooks;

/* arc_sign_config_default - relaxed, DKIM's default header list, t= now */
void
arc_sign_config_default(struct arc_sign_config *c)
{
	memset(c, 0, sizeof(*c));
	msg_limits_default(&c->msg);
}

/* arc_sign_check - a usable configuration: NULL, or why not */
static const char *
arc_sign_check(const struct arc_sign_config *c)
{
	bool from = c->headers == NULL;	/* the default list has From */
	struct buf err;
	int rc;

	if (c->key == NULL)
		return "no private key";
	if (c->domain == NULL || !dkim_sig_domain_ok(span_from_cstr(c->domain)))
		return "invalid sealing domain";
	if (c->selector == NULL || !dkim_sig_domain_ok(span_from_cstr(c->selector)))
		return "invalid selector";
	for (const char *const *h = c->headers; h && *h; h++) {
		if (**h == '\0' || strpbrk(*h, ": \t;") || strcasecmp(*h, "arc-seal") == 0)
			return "invalid header name to sign, or ARC-Seal (RFC 8617 §4.1.2)";
		from |= strcasecmp(*h, "from") == 0;
	}
	if (!from)
		return "the AMS header list must include From (RFC 6376 §5.4)";
	buf_init(&err, 256);
	/* RFC 8617 §4.1.3 and §4.1.2: rsa-sha256 only */
	rc = dkim_key_check_private(c->key, DKIM_ALG_RSA_SHA256, DKIM_RSA_MIN_BITS, &err);
	buf_clear(&err);
	return rc < 0 ? "ARC needs an RSA key of at least 1024 bits (rsa-sha256)" : NULL;
}

/* arc_sign_new - a sealer; NULL and *err (static text) on a bad config */
struct arc_sign *
arc_sign_new(const struct arc_sign_config *c, const char **err)
{
	struct arc_sign *s;

	if ((*err = arc_sign_check(c)) != NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	EVP_PKEY_up_ref(c->key);
	s->key = c->key;
	s->domain = xstrdup(c->domain);
	s->selector = xstrdup(c->selector);
	s->headers = c->headers ? c->headers : dkim_default_sign_headers;
	s->timestamp = c->timestamp;
	dkim_feed_init(&s->feed, &c->msg, c->msg_flags, &arc_sign_hooks, s);
	/* the header as it finally leaves may come after the body */
	s->feed.late_headers = true;
	arc_chain_init(&s->chain, ARC_SET_LIMIT);
	s->body_hash_given = c->body_hash_given;
	if (!s->body_hash_given)
		s->bh = dkim_bodyhash_get(&s->feed.bhs, DKIM_CANON_RELAXED,
		    dkim_alg_md(DKIM_ALG_RSA_SHA256), false, 0);
	return s;
}

/* arc_sign_on_header - feeder hook: a stored field; ARC fields filed by instance */
static void
arc_sign_on_header(void *arg, const char *field, size_t len, size_t nlen)
{
	struct arc_sign *s = arg;
	enum arc_field kind;

	(void)nlen;
	if ((kind = arc_field_kind(field, len)) != ARC_FIELD_OTHER)
		arc_chain_add(&s->chain, kind, field, len);
}

static const struct dkim_feed_hooks arc_sign_hooks = { arc_sign_on_header, NULL, NULL };

/* arc_sign_header - one complete raw field, also after the body; 0/-1 */
int
arc_sign_header(struct arc_sign *s, const char *field, size_t len)
{
	return dkim_feed_header(&s->feed, field, len);
}

/* arc_sign_eoh - end of the header section; 0/-1 */
int
arc_sign_eoh(struct arc_sign *s)
{
	return dkim_feed_eoh(&s->feed);
}

/* arc_sign_body - body bytes, any split; 0/-1 */
int
arc_sign_body(struct arc_sign *s, const char *p, size_t len)
{
	return dkim_feed_body(&s->feed, p, len);
}

/* arc_sign_chunk - raw message bytes, any split; 0/-1 */
int
arc_sign_chunk(struct arc_sign *s, const char *p, size_t len)
{
	return dkim_feed_chunk(&s->feed, p, len);
}

/* arc_sign_set_body_hash - the relaxed SHA-256 body hash computed elsewhere; 0/-1 */
int
arc_sign_set_body_hash(struct arc_sign *s, const unsigned char *digest, size_t len)
{
	if (!s->body_hash_given || len != (size_t)EVP_MD_get_size(EVP_sha256()))
		return -1;
	memcpy(s->bh_given, digest, len);
	s->bh_given_len = len;
	return 0;
}

/* arc_sign_body_hashed - body bytes this sealer put through its hasher */
uint64_t
arc_sign_body_hashed(const struct arc_sign *s)
{
	return s->feed.body_hashed;
}

/* arc_sign_bh - the body hash for bh=: computed here or given */
static void
arc_sign_bh(const struct arc_sign *s, struct buf *out)
{
	if (s->bh)
		dkim_b64_encode(s->bh->digest, s->bh->digest_len, out);
	else
		dkim_b64_encode(s->bh_given, s->bh_given_len, out);
}

/* ---- writing the fields ---- */

/* arc_sign_b - b= on a new line, its value in one piece (a 4096-bit signature is 684 octets) */
static void
arc_sign_b(struct buf *out, const char *v, size_t *col)
{
	buf_append_str(out, "\r\n b=");
	buf_append_str(out, v);
	*col = 3 + strlen(v);
}

/* arc_sign_write - "Name: t1=v1; t2=v2 ..." folded between tags, b= as arc_sign_b; b_off gets the b= value's offset */
static void
arc_sign_write(struct buf *out, const char *name, const struct arc_sign_tag *tags,
    size_t n, size_t *b_off)
{
	size_t col = strlen(name) + 1;

	buf_append_str(out, name);
	buf_append_char(out, ':');
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(tags[i].name) + 1 + strlen(tags[i].value) + 1;

		if (strcmp(tags[i].name, "b") == 0) {
			*b_off = out->len + 5;	/* past CRLF SP "b=" */
			arc_sign_b(out, tags[i].value, &col);
		} else {
			buf_append_str(out, col + 1 + len > ARC_SIGN_LINE_WIDTH ? "\r\n " : " ");
			col = (col + 1 + len > ARC_SIGN_LINE_WIDTH ? 1 : col + 1) + len - 1;
			buf_printf(out, "%s=%s", tags[i].name, tags[i].value);
		}
		if (i + 1 < n)
			buf_append_char(out, ';');
	}
	buf_append_str(out, "\r\n");
}

/* arc_sign_h - the h= value: each configured name once per field present */
static size_t
arc_sign_h(const struct arc_sign *s, struct buf *h, struct span **names)
{
	size_t n = 0, cap = 0;

	*names = NULL;
	for (const char *const *p = s->headers; *p; p++) {
		size_t count = dkim_hdrs_count(&s->feed.hdrs, span_from_cstr(*p));

		/* From is always in h= (RFC 6376 §5.4, §6.1.1), even when absent:
		 * a verifier ignores a signature whose h= lacks it */
		if (count == 0 && strcasecmp(*p, "from") == 0)
			count = 1;

		for (size_t k = 0; k < count && n < DKIM_H_NAMES_LIMIT; k++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				*names = xrealloc(*names, cap * sizeof(**names));
			}
			(*names)[n++] = span_from_cstr(*p);
			buf_printf(h, "%s%s", h->len ? ":" : "", *p);
		}
	}
	return n;
}

/* arc_sign_sign - sign in, the base64 signature into b64; 0/-1 */
static int
arc_sign_sign(struct arc_sign *s, const struct buf *in, struct buf *b64)
{
	unsigned char sig[DKIM_SIG_B_MAX];
	size_t siglen = sizeof(sig);

	if (in->overflow || dkim_crypto_sign(s->key, DKIM_ALG_RSA_SHA256, in, sig, &siglen) < 0)
		return -1;
	return dkim_b64_encode(sig, siglen, b64);
}

/* arc_sign_refuse - why this message must not get a new set for cv, or NULL */
static const char *
arc_sign_refuse(const struct arc_sign *s, enum arc_cv cv)
{
	const struct arc_chain *c = &s->chain;
	const struct arc_chain_set *last;

	if (c->overflow)
		return "too many ARC fields to seal";
	if (c->max >= ARC_SET_LIMIT)
		return "the chain already has 50 sets (RFC 8617 §4.2.1)";
	last = c->max ? c->sets[c->max] : NULL;
	if (last && last->count[ARC_FIELD_AS] && last->seal.cv == ARC_CV_FAIL)
		return "the latest ARC-Seal says cv=fail (RFC 8617 §5.1)";
	if (cv == ARC_CV_NONE && c->nfields)
		return "cv=none for a message with ARC fields";
	if (cv == ARC_CV_PASS && (c->nfields == 0 || arc_chain_status(c) != NULL))
		return "cv=pass for a chain that cannot pass";
	return NULL;
}

/* arc_sign_payload_ok - an A-R payload fit for a field: folding only as CRLF WSP */
static bool
arc_sign_payload_ok(const char *p)
{
	if (p == NULL || *p == '\0')
		return false;
	for (; *p; p++) {
		if (*p == '\n' || (*p == '\r' && (p[1] != '\n' || (p[2] != ' ' && p[2] != '\t'))))
			return false;
		if (*p == '\r')
			p++;
	}
	return true;
}

/* arc_sign_ams - the AMS of instance n (template signed with b= empty, RFC 6376 §3.7) */
static int
arc_sign_ams(struct arc_sign *s, unsigned n, const char *t, struct buf *out)
{
	struct buf h, bh, in, b64;
	struct span *names;
	size_t nn, b_off = 0;
	char inst[8];
	int rc = -1;

	buf_init(&h, ARC_SIGN_FIELD_MAX);
	buf_init(&bh, 128);
	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	buf_init(&b64, 2 * DKIM_SIG_B_MAX);
	nn = arc_sign_h(s, &h, &names);
	arc_sign_bh(s, &bh);
	snprintf(inst, sizeof(inst), "%u", n);
	struct arc_sign_tag tags[] = {
		{ "a", "rsa-sha256" }, { "b", "" }, { "bh", buf_cstr(&bh) },
		{ "c", "relaxed/relaxed" }, { "d", s->domain }, { "h", buf_cstr(&h) },
		{ "i", inst }, { "s", s->selector }, { "t", t },
	};
	size_t ntags = ARRAY_LEN(tags) - (*t ? 0 : 1);

	arc_sign_write(out, "ARC-Message-Signature", tags, ntags, &b_off);
	if (dkim_hdr_signing_input(&s->feed.hdrs, names, nn, DKIM_CANON_RELAXED,
	    (struct span){ out->data, out->len }, b_off, 0, &in) == 0 &&
	    arc_sign_sign(s, &in, &b64) == 0) {
		tags[1].value = buf_cstr(&b64);
		buf_reset(out);
		arc_sign_write(out, "ARC-Message-Signature", tags, ntags, &b_off);
		rc = out->overflow ? -1 : 0;
	}
	free(names);
	buf_clear(&h);
	buf_clear(&bh);
	buf_clear(&in);
	buf_clear(&b64);
	return rc;
}

/* arc_sign_seal - the AS of instance n over the prior sets (none when cv=fail) and the new AAR and AMS */
static int
arc_sign_seal(struct arc_sign *s, unsigned n, enum arc_cv cv, const char *t,
    const struct buf *aar, const struct buf *ams, struct buf *out)
{
	struct arc_set_fields f[ARC_SET_LIMIT];
	size_t first = cv == ARC_CV_FAIL ? n - 1 : 0, b_off = 0;
	struct buf in, b64;
	char inst[8];
	int rc = -1;

	snprintf(inst, sizeof(inst), "%u", n);
	struct arc_sign_tag tags[] = {
		{ "a", "rsa-sha256" }, { "b", "" }, { "cv", arc_cv_str(cv) },
		{ "d", s->domain }, { "i", inst }, { "s", s->selector }, { "t", t },
	};
	size_t ntags = ARRAY_LEN(tags) - (*t ? 0 : 1);

	arc_sign_write(out, "ARC-Seal", tags, ntags, &b_off);
	if (first == 0)
		arc_chain_fields(&s->chain, n - 1, f);
	f[n - 1].f[ARC_FIELD_AAR] = (struct span){ aar->data, aar->len };
	f[n - 1].f[ARC_FIELD_AMS] = (struct span){ ams->data, ams->len };
	f[n - 1].f[ARC_FIELD_AS] = (struct span){ out->data, out->len };
	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	buf_init(&b64, 2 * DKIM_SIG_B_MAX);
	if (arc_seal_input(f + first, n - first, b_off, 0, &in) == 0 &&
	    arc_sign_sign(s, &in, &b64) == 0) {
		tags[1].value = buf_cstr(&b64);
		buf_reset(out);
		arc_sign_write(out, "ARC-Seal", tags, ntags, &b_off);
		rc = out->overflow ? -1 : 0;
	}
	buf_clear(&in);
	buf_clear(&b64);
	return rc;
}

/* arc_sign_finish - the new set "ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results" (see arc.h) */
char *
arc_sign_finish(struct arc_sign *s, enum arc_cv cv, const char *authres, const char **err)
{
	struct buf aar, ams, as;
	char t[32] = "";
	char *res = NULL;
	unsigned n;

	if (dkim_feed_finish(&s->feed) < 0) {
		*err = s->feed.error ? s->feed.error : "already finished";
		return NULL;
	}
	if ((*err = arc_sign_refuse(s, cv)) != NULL)
		return NULL;
	if (s->body_hash_given && s->bh_given_len == 0) {
		*err = "no body hash given";
		return NULL;
	}
	if (!arc_sign_payload_ok(authres)) {
		*err = "the Authentication-Results payload is empty or badly folded";
		return NULL;
	}
	n = arc_sign_instance(s);
	if (s->timestamp != -1)
		snprintf(t, sizeof(t), "%lld",
		    (long long)(s->timestamp ? s->timestamp : time(NULL)));
	buf_init(&aar, ARC_SIGN_FIELD_MAX);
	buf_init(&ams, ARC_SIGN_FIELD_MAX);
	buf_init(&as, ARC_SIGN_FIELD_MAX);
	buf_printf(&aar, "ARC-Authentication-Results: i=%u; %s\r\n", n, authres);
	if (aar.overflow || arc_sign_ams(s, n, t, &ams) < 0 ||
	    arc_sign_seal(s, n, cv, t, &aar, &ams, &as) < 0)
		*err = "signing failed";
	else {
		buf_append(&as, ams.data, ams.len);
		buf_append(&as, aar.data, aar.len);
		res = as.overflow ? NULL : buf_steal(&as);
		*err = res ? NULL : "ARC set too large";
	}
	buf_clear(&aar);
	buf_clear(&ams);
	buf_clear(&as);
	return res;
}

/* arc_sign_instance - the instance a new set gets */
unsigned
arc_sign_instance(const struct arc_sign *s)
{
	return s->chain.max + 1;
}

/* arc_sign_free - destroy */
void
arc_sign_free(struct arc_sign *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s->domain);
	free(s->selector);
	dkim_feed_clear(&s->feed);
	arc_chain_clear(&s->chain);
	free(s);
}
