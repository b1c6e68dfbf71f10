/*
 * dkim_sign.c - DKIM signing (RFC 6376 §5): one signature per signer, body
 * hashed as it streams, header list with oversigning (§8.15), the
 * DKIM-Signature field folded at DKIM_SIGN_LINE_WIDTH columns.
 *
 * The field is written with exactly one SP or CRLF SP between tokens, so its
 * relaxed form does not depend on where it was folded; it is signed with b=
 * empty (§3.7) and the value appended afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "log.h"

#define DKIM_SIGN_LINE_WIDTH	78	/* RFC 5322 §2.1.1 SHOULD */
#define DKIM_SIGN_FIELD_MAX	(64 * 1024)
/* Longest "name=value;" token (d=, s=, i=): two domains' worth and the tag. */
#define DKIM_SIGN_TAG_MAX	(DKIM_DOMAIN_MAX * 2 + 32)

/* RFC 6376 §5.4.1 recommended set (OpenDKIM's default) plus Message-ID, Sender, MIME. */
const char *const dkim_default_sign_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc",
	"resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc",
	"in-reply-to", "references", "list-id", "list-help", "list-unsubscribe",
	"list-subscribe", "list-post", "list-owner", "list-archive",
	"message-id", "sender", "mime-version", "content-type",
	"content-transfer-encoding", "content-id", "content-description",
	NULL,
};

/* Fields whose addition by a later hop would change what a reader sees. */
const char *const dkim_default_oversign_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "message-id", "sender",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding",
	NULL,
};

/* The DKIM-Signature field as it is written, folded as it grows. */
struct dkim_fold {
	struct buf b;
	size_t col;
};

struct dkim_sign {
	EVP_PKEY *key;
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	struct dkim_fold field;		/* the tags that are the same for every message, written at once */
	const char **names;		/* header names to sign, no duplicates */
	bool names_owned;		/* copies (a configured list), else the static defaults */
	bool lists_shared;		/* names, name_len, over are a dkim_sign_defaults entry */
	size_t *name_len;
	bool *over;			/* names[i] is oversigned */
	size_t nnames, capnames;
	enum dkim_oversign mode;
	time_t timestamp;
	unsigned expire_after;
	struct dkim_feed feed;		/* fields, body hasher, input error */
	struct dkim_bodyhash *bh;
};

/* dkim_sign_config_default - relaxed/relaxed, rsa-sha256, default lists, IF_PRESENT */
void
dkim_sign_config_default(struct dkim_sign_config *c)
{
	memset(c, 0, sizeof(*c));
	c->alg = DKIM_ALG_RSA_SHA256;
	c->header_canon = DKIM_CANON_RELAXED;
	c->body_canon = DKIM_CANON_RELAXED;
	c->oversign_mode = DKIM_OVERSIGN_IF_PRESENT;
	msg_limits_default(&c->msg);
}

/* dkim_sign_name_ok - a field name: printable ASCII without ":" */
static bool
dkim_sign_name_ok(const char *n)
{
	if (*n == '\0')
		return false;
	for (; *n; n++)
		if ((unsigned char)*n <= 32 || (unsigned char)*n >= 127 || *n == ':')
			return false;
	return true;
}

/* dkim_sign_find - index of name in the list, or -1 */
static long
dkim_sign_find(const struct dkim_sign *s, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < s->nnames; i++)
		if (s->name_len[i] == n && strcasecmp(s->names[i], name) == 0)
			return (long)i;
	return -1;
}

/* dkim_sign_add_name - append a name (or mark it oversigned if listed) */
static int
dkim_sign_add_name(struct dkim_sign *s, const char *name, bool over)
{
	long i = dkim_sign_find(s, name);

	if (!dkim_sign_name_ok(name))
		return -1;
	if (i >= 0) {
		s->over[i] |= over;
		return 0;
	}
	if (s->nnames == DKIM_H_NAMES_LIMIT)
		return -1;
	if (s->nnames == s->capnames) {
		s->capnames = s->capnames ? s->capnames * 2 : 64;
		s->names = xrealloc(s->names, s->capnames * sizeof(*s->names));
		s->over = xrealloc(s->over, s->capnames * sizeof(*s->over));
		s->name_len = xrealloc(s->name_len, s->capnames * sizeof(*s->name_len));
	}
	s->name_len[s->nnames] = strlen(name);
	s->names[s->nnames] = s->names_owned ? xstrdup(name) : name;
	s->over[s->nnames++] = over;
	return 0;
}

/* dkim_sign_lists - the signed and oversigned names */
static const char *
dkim_sign_lists(struct dkim_sign *s, const struct dkim_sign_config *c)
{
	const char *const *h = c->headers ? c->headers : dkim_default_sign_headers;
	const char *const *o = c->oversign ? c->oversign : dkim_default_oversign_headers;

	/* the default lists are static: pointed to, not copied, for each message */
	s->names_owned = c->headers != NULL || c->oversign != NULL;

	for (; *h; h++)
		if (dkim_sign_add_name(s, *h, false) < 0)
			return "invalid or too many header names to sign";
	if (dkim_sign_find(s, "from") < 0)
		return "the signed header list must include From (RFC 6376 §5.4)";
	if (c->oversign_mode == DKIM_OVERSIGN_NONE)
		return NULL;
	for (; *o; o++)
		if (dkim_sign_add_name(s, *o, true) < 0)
			return "invalid or too many header names to oversign";
	return NULL;
}

/*
 * The default lists give the same names and flags for every message: they are
 * built once per oversigning choice (with or without) and shared by the
 * signers, instead of about 40 lookups and three allocations per message.
 */
static struct dkim_sign dkim_sign_defaults[2];
static pthread_once_t dkim_sign_defaults_once = PTHREAD_ONCE_INIT;

/* dkim_sign_defaults_init - the two shared default lists */
static void
dkim_sign_defaults_init(void)
{
	struct dkim_sign_config c;

	memset(&c, 0, sizeof(c));
	for (int over = 0; over < 2; over++) {
		c.oversign_mode = over ? DKIM_OVERSIGN_IF_PRESENT : DKIM_OVERSIGN_NONE;
		if (dkim_sign_lists(&dkim_sign_defaults[over], &c) != NULL)
			log_panic("dkim: the default header lists are invalid");
	}
}

/* dkim_sign_lists_get - the lists of c: the shared defaults, or built for this signer */
static const char *
dkim_sign_lists_get(struct dkim_sign *s, const struct dkim_sign_config *c)
{
	const struct dkim_sign *d;

	if (c->headers != NULL || c->oversign != NULL)
		return dkim_sign_lists(s, c);
	if (pthread_once(&dkim_sign_defaults_once, dkim_sign_defaults_init) != 0)
		return dkim_sign_lists(s, c);
	d = &dkim_sign_defaults[c->oversign_mode != DKIM_OVERSIGN_NONE];
	s->names = d->names;
	s->name_len = d->name_len;
	s->over = d->over;
	s->nnames = s->capnames = d->nnames;
	s->names_owned = false;
	s->lists_shared = true;
	return NULL;
}

/* dkim_sign_identity_ok - i= is a tag value (no ";", WSP, controls) and is @d or within d= */
static bool
dkim_sign_identity_ok(const char *i, const char *d)
{
	for (const char *q = i; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == ';' || *q == 0x7f)
			return false;
	return dkim_identity_in_domain(i, d);
}

/* dkim_sign_check - validate the configuration */
static const char *
dkim_sign_check(const struct dkim_sign_config *c)
{
	struct buf err;
	int rc;

	if (c->key == NULL)
		return "no private key";
	if (c->domain == NULL || !dkim_sig_domain_ok(span_from_cstr(c->domain)))
		return "invalid signing domain";
	if (c->selector == NULL || !dkim_sig_domain_ok(span_from_cstr(c->selector)))
		return "invalid selector";
	if (c->identity && !dkim_sign_identity_ok(c->identity, c->domain))
		return "identity (i=) is not within the signing domain";
	buf_init(&err, 256);
	rc = dkim_key_check_private(c->key, c->alg, DKIM_RSA_MIN_BITS, &err);
	buf_clear(&err);
	if (rc < 0)
		return "private key does not suit the algorithm (type, or RSA under 1024 bits)";
	return NULL;
}

/* ---- the DKIM-Signature field ---- */

/* dkim_fold_room - SP, or CRLF SP if a token of n bytes would pass the width; where the token goes, or NULL */
static char *
dkim_fold_room(struct dkim_fold *f, size_t n)
{
	char *o;

	/* room is usually there (cap never exceeds max): buf_reserve only to grow */
	if ((f->b.data == NULL || f->b.cap - f->b.len < n + 3) &&
	    buf_reserve(&f->b, n + 3) < 0)
		return NULL;
	o = f->b.data + f->b.len;
	if (f->col + 1 + n > DKIM_SIGN_LINE_WIDTH) {
		memcpy(o, "\r\n ", 3);
		o += 3;
		f->col = 1 + n;
	} else {
		*o++ = ' ';
		f->col += 1 + n;
	}
	f->b.len = (size_t)(o - f->b.data) + n;
	f->b.data[f->b.len] = '\0';
	return o;
}

/* dkim_fold_token - SP or CRLF SP, then the token */
static void
dkim_fold_token(struct dkim_fold *f, const char *t, size_t n)
{
	char *o = dkim_fold_room(f, n);

	if (o != NULL)
		memcpy(o, t, n);
}

/* dkim_fold_tag - "name=value;" as one token (lengths given: no strlen, no snprintf) */
static void
dkim_fold_tag(struct dkim_fold *f, const char *name, size_t nlen, const char *v,
    size_t n)
{
	char *o;

	if (nlen + n + 2 > DKIM_SIGN_TAG_MAX) {
		f->b.overflow = true;
		return;
	}
	if ((o = dkim_fold_room(f, nlen + n + 2)) == NULL)
		return;
	memcpy(o, name, nlen);
	o[nlen] = '=';
	memcpy(o + nlen + 1, v, n);
	o[nlen + 1 + n] = ';';
}

/* dkim_fold_tag_str - dkim_fold_tag of a C string value */
static void
dkim_fold_tag_str(struct dkim_fold *f, const char *name, const char *v)
{
	dkim_fold_tag(f, name, strlen(name), v, strlen(v));
}

/* dkim_fold_num - "name=decimal;" */
static void
dkim_fold_num(struct dkim_fold *f, const char *name, long long v)
{
	char num[24], *q = num + sizeof(num);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--q = '-';
	dkim_fold_tag(f, name, strlen(name), q, (size_t)(num + sizeof(num) - q));
}

/* dkim_fold_h - h= as tokens "h=a", ":", "b", ... so it folds between names */
static void
dkim_fold_h(struct dkim_fold *f, const struct span *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t pre = i ? 0 : 2, post = i + 1 == n, len = pre + names[i].len + post;
		char *o;

		if (i)
			dkim_fold_token(f, ":", 1);
		if (len > DKIM_SIGN_TAG_MAX || (o = dkim_fold_room(f, len)) == NULL) {
			f->b.overflow = true;
			return;
		}
		memcpy(o, "h=", pre);
		memcpy(o + pre, names[i].p, names[i].len);
		if (post)
			o[len - 1] = ';';
	}
}

/* dkim_fold_b - append the b= value, filling lines */
static void
dkim_fold_b(struct dkim_fold *f, const char *v, size_t n)
{
	while (n) {
		size_t room = f->col < DKIM_SIGN_LINE_WIDTH ? DKIM_SIGN_LINE_WIDTH - f->col : 0;
		size_t k = n < room ? n : room;

		if (k == 0) {
			buf_append(&f->b, "\r\n ", 3);
			f->col = 1;
			continue;
		}
		buf_append(&f->b, v, k);
		f->col += k;
		v += k;
		n -= k;
	}
}

/*
 * dkim_sign_prefix - the tags that do not change from message to message
 * (v a c d i q s), written when the signer is made: the field's own
 * buffer, one allocation, no copies of the names
 */
static void
dkim_sign_prefix(struct dkim_sign *s, const struct dkim_sign_config *c)
{
	struct dkim_fold *f = &s->field;
	const char *hc = dkim_canon_str(s->hcanon), *bc = dkim_canon_str(s->bcanon);
	size_t hl = strlen(hc), bl = strlen(bc);
	char canon[16];

	buf_init(&f->b, DKIM_SIGN_FIELD_MAX);
	buf_reserve(&f->b, 1024);	/* a usual field: one allocation */
	buf_append(&f->b, "DKIM-Signature:", 15);
	f->col = 15;
	dkim_fold_token(f, "v=1;", 4);
	dkim_fold_tag_str(f, "a", dkim_alg_str(s->alg));
	memcpy(canon, hc, hl);
	canon[hl] = '/';
	memcpy(canon + hl + 1, bc, bl);
	dkim_fold_tag(f, "c", 1, canon, hl + 1 + bl);
	dkim_fold_tag_str(f, "d", c->domain);
	if (c->identity)
		dkim_fold_tag_str(f, "i", c->identity);
	dkim_fold_token(f, "q=dns/txt;", 10);
	dkim_fold_tag_str(f, "s", c->selector);
}

/* dkim_sign_new - a signer; NULL and *err on a bad config */
struct dkim_sign *
dkim_sign_new(const struct dkim_sign_config *c, const char **err)
{
	struct dkim_sign *s;
	const char *why = dkim_sign_check(c);

	if (why) {
		*err = why;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if ((why = dkim_sign_lists_get(s, c)) != NULL) {
		*err = why;
		dkim_sign_free(s);
		return NULL;
	}
	EVP_PKEY_up_ref(c->key);
	s->key = c->key;
	s->alg = c->alg;
	s->hcanon = c->header_canon;
	s->bcanon = c->body_canon;
	s->mode = c->oversign_mode;
	s->timestamp = c->timestamp;
	s->expire_after = c->expire_after;
	dkim_sign_prefix(s, c);
	dkim_feed_init(&s->feed, &c->msg, c->msg_flags, NULL, s);
	s->bh = dkim_bodyhash_get(&s->feed.bhs, s->bcanon, dkim_alg_md(s->alg), false, 0);
	return s;
}

/* dkim_sign_header - one complete raw field; 0/-1 */
int
dkim_sign_header(struct dkim_sign *s, const char *field, size_t len)
{
	return dkim_feed_header(&s->feed, field, len);
}

/* dkim_sign_eoh - end of the header section; 0/-1 */
int
dkim_sign_eoh(struct dkim_sign *s)
{
	return dkim_feed_eoh(&s->feed);
}

/* dkim_sign_body - body bytes, any split; 0/-1 */
int
dkim_sign_body(struct dkim_sign *s, const char *p, size_t len)
{
	return dkim_feed_body(&s->feed, p, len);
}

/* dkim_sign_chunk - raw message bytes, any split; 0/-1 */
int
dkim_sign_chunk(struct dkim_sign *s, const char *p, size_t len)
{
	return dkim_feed_chunk(&s->feed, p, len);
}

/* dkim_sign_h_list - the h= entries into h (DKIM_H_NAMES_LIMIT room): each name once per instance, then oversigning */
static size_t
dkim_sign_h_list(const struct dkim_sign *s, struct span *h)
{
	uint32_t count[DKIM_H_NAMES_LIMIT];
	size_t n = 0;

	memset(count, 0, s->nnames * sizeof(*count));
	/* each field's name looked up once in the list (about 11 lookups), not
	 * each of the 40-odd names counted over all the fields */
	for (size_t k = 0; k < s->feed.hdrs.n; k++) {
		const struct dkim_hdr *f = &s->feed.hdrs.v[k];
		const char *name = s->feed.hdrs.text + f->off;

		/* the first byte (case bit aside) settles most mismatches without a call */
		for (size_t i = 0; i < s->nnames && f->name_len; i++)
			if (s->name_len[i] == f->name_len &&
			    (s->names[i][0] | 0x20) == (name[0] | 0x20) &&
			    ascii_mem_eq_ci(s->names[i], name, f->name_len)) {
				count[i]++;
				break;
			}
	}
	for (size_t i = 0; i < s->nnames; i++)
		for (size_t k = 0; k < count[i] && n < DKIM_H_NAMES_LIMIT; k++)
			h[n++] = (struct span){ s->names[i], s->name_len[i] };
	/* From is oversigned even when absent: none may be added after signing
	 * (RFC 6376 §8.15; OpenDKIM's documentation advises it) */
	for (size_t i = 0; i < s->nnames; i++)
		if (s->over[i] && n < DKIM_H_NAMES_LIMIT &&
		    (s->mode == DKIM_OVERSIGN_ALWAYS || count[i] > 0 ||
		    (s->name_len[i] == 4 && strcasecmp(s->names[i], "from") == 0)))
			h[n++] = (struct span){ s->names[i], s->name_len[i] };
	return n;
}

/* dkim_sign_field - the per-message tags after the prefix: t x h bh, then "b=" */
static void
dkim_sign_field(struct dkim_sign *s, const struct span *h, size_t nh)
{
	struct dkim_fold *f = &s->field;
	time_t t = s->timestamp == 0 ? time(NULL) : s->timestamp;
	char bh[2 + 1 + DKIM_B64_LEN(DKIM_BH_MAX) + 1];
	size_t n;

	if (s->timestamp != -1)
		dkim_fold_num(f, "t", (long long)t);
	if (s->expire_after)
		dkim_fold_num(f, "x", (long long)((s->timestamp == -1 ? time(NULL) : t) +
		    s->expire_after));
	dkim_fold_h(f, h, nh);
	memcpy(bh, "bh=", 3);
	n = 3 + dkim_b64_encode_to(s->bh->digest, s->bh->digest_len, bh + 3);
	bh[n++] = ';';
	dkim_fold_token(f, bh, n);
	dkim_fold_token(f, "b=", 2);
}

/* dkim_sign_finish - the complete folded DKIM-Signature field; caller frees */
char *
dkim_sign_finish(struct dkim_sign *s, const char **err)
{
	struct buf *field = &s->field.b, in;
	struct span h[DKIM_H_NAMES_LIMIT];
	unsigned char sig[DKIM_SIG_B_MAX];
	char b64[DKIM_B64_LEN(DKIM_SIG_B_MAX)];
	size_t siglen = sizeof(sig), nh;
	char *res = NULL;

	*err = NULL;
	if (dkim_feed_finish(&s->feed) < 0) {
		*err = s->feed.error ? s->feed.error : "already finished";
		return NULL;
	}
	nh = dkim_sign_h_list(s, h);
	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	dkim_sign_field(s, h, nh);
	if (field->overflow ||
	    dkim_hdr_signing_input(&s->feed.hdrs, h, nh, s->hcanon,
	    (struct span){ field->data, field->len }, field->len, 0, &in) < 0)
		*err = "signed header fields too large";
	else if (dkim_crypto_sign(s->key, s->alg, &in, sig, &siglen) < 0)
		*err = "signing failed";
	if (*err == NULL) {
		dkim_fold_b(&s->field, b64, dkim_b64_encode_to(sig, siglen, b64));
		buf_append(field, "\r\n", 2);
		if (field->overflow)
			*err = "DKIM-Signature field too large";
		else
			res = buf_steal(field);
	}
	buf_clear(&in);
	return res;
}

/* dkim_sign_free - destroy */
void
dkim_sign_free(struct dkim_sign *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; s->names_owned && i < s->nnames; i++)
		free((void *)s->names[i]);
	if (!s->lists_shared) {
		free(s->names);
		free(s->name_len);
		free(s->over);
	}
	buf_clear(&s->field.b);
	EVP_PKEY_free(s->key);
	dkim_feed_clear(&s->feed);
	free(s);
}
