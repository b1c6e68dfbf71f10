/*
 * arc_verify.c - ARC chain validation (RFC 8617 §5.2).
 *
 * The ARC fields are parsed as they arrive and filed by instance.  At the end
 * of the header section steps 1-3 (sets present, at most set_limit, each
 * instance 1..N with exactly one AAR, AMS and AS, cv= none at 1 and pass
 * above, the latest not fail) decide a chain that cannot pass; otherwise the
 * key lookups start and the body hashers of the AMS are set up, so DNS runs
 * while the body streams in.  At the end, steps 4-7 run in order: the latest
 * AMS, the older AMS for oldest-pass, then every AS from N down to 1.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc_int.h"
#include "log.h"

/* What the verifier keeps for one set besides its fields. */
struct arc_vset {
	struct dkim_bodyhash *bh;
	struct dkim_lookup *ams_lk, *seal_lk;
};

struct arc_verify {
	struct dns_resolver *r;
	struct arc_limits lim;
	struct dkim_feed feed;		/* fields, AMS body hashers, input error */
	struct arc_chain chain;		/* the ARC fields by instance */
	struct arc_vset vs[ARC_SET_LIMIT + 1];	/* by instance */
	unsigned n;			/* N, once the structure is known to be sound */
	struct dkim_lookup **lookups;
	size_t nlookups;
	uint64_t hashed;		/* bytes put through hashes (body per hasher, header inputs) */
	size_t ams_hashers;		/* body hashers the AMS need (the seal's kept one aside) */
	unsigned sigs;			/* signature verifications done */
	bool reported, decided;
	size_t pending;			/* lookups not yet answered */
	arc_verify_cb cb;
	void *cb_arg;
	struct arc_result res;
	struct arc_set_result *set_res;
};

static const struct dkim_feed_hooks arc_verify_hooks;

/* arc_limits_default - the named defaults */
void
arc_limits_default(struct arc_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->set_limit = ARC_SET_LIMIT;
	l->sig_limit = ARC_SIG_LIMIT;
	l->dns_query_limit = ARC_DNS_QUERY_LIMIT;
	l->hash_size_limit = ARC_HASH_SIZE_LIMIT;
	l->rsa_min_bits = DKIM_RSA_MIN_BITS;
	msg_limits_default(&l->msg);
}

/* arc_cv_str - "none", "pass", "fail" */
const char *
arc_cv_str(enum arc_cv cv)
{
	static const char *const names[] = {
		[ARC_CV_NONE] = "none", [ARC_CV_PASS] = "pass", [ARC_CV_FAIL] = "fail",
	};

	return (size_t)cv < ARRAY_LEN(names) ? names[cv] : "unknown";
}

/* arc_verify_new - a verifier using resolver r (borrowed) */
struct arc_verify *
arc_verify_new(struct dns_resolver *r, const struct arc_limits *limits)
{
	struct arc_verify *v = xcalloc(1, sizeof(*v));
	struct arc_limits def;

	arc_limits_default(&def);
	v->r = r;
	v->lim = limits ? *limits : def;
	/* zero means the default; never more sets than the RFC allows, nor weaker keys */
	if (v->lim.set_limit == 0 || v->lim.set_limit > ARC_SET_LIMIT)
		v->lim.set_limit = ARC_SET_LIMIT;
	if (v->lim.sig_limit == 0)
		v->lim.sig_limit = def.sig_limit;
	if (v->lim.dns_query_limit == 0)
		v->lim.dns_query_limit = def.dns_query_limit;
	if (v->lim.hash_size_limit == 0)
		v->lim.hash_size_limit = def.hash_size_limit;
	if (v->lim.rsa_min_bits < DKIM_RSA_MIN_BITS)
		v->lim.rsa_min_bits = DKIM_RSA_MIN_BITS;
	msg_limits_fill(&v->lim.msg);
	arc_chain_init(&v->chain, v->lim.set_limit);
	dkim_feed_init(&v->feed, &v->lim.msg, v->lim.msg_flags, &arc_verify_hooks, v);
	v->res.reason = "";
	return v;
}

/* arc_verify_decide - settle the result early (structure, limits) */
static void
arc_verify_decide(struct arc_verify *v, enum arc_cv cv, const char *why, bool limit)
{
	if (v->decided)
		return;
	v->decided = true;
	v->res.cv = cv;
	v->res.reason = why;
	v->res.limit = limit;
}

/* arc_verify_on_header - feeder hook: a stored field; ARC fields filed by instance */
static void
arc_verify_on_header(void *arg, const char *field, size_t len, size_t nlen)
{
	struct arc_verify *v = arg;
	enum arc_field kind;

	(void)nlen;
	if ((kind = arc_field_kind(field, len)) != ARC_FIELD_OTHER)
		arc_chain_add(&v->chain, kind, field, len);
}

/* arc_verify_dns_done - a key lookup answered */
static void arc_verify_dns_done(void *arg);

/* arc_verify_lookup - the lookup for s._domainkey.d, shared; NULL past the limit or on a bad name */
static struct dkim_lookup *
arc_verify_lookup(struct arc_verify *v, const char *s, const char *d)
{
	struct dkim_lookup *lk = dkim_lookup_new(s, d);

	if (lk == NULL) {
		arc_verify_decide(v, ARC_CV_FAIL, "key name too long", false);
		return NULL;
	}
	for (size_t i = 0; i < v->nlookups; i++)
		if (strcasecmp(v->lookups[i]->name, lk->name) == 0) {
			dkim_lookup_free(lk);
			return v->lookups[i];
		}
	if (v->nlookups >= v->lim.dns_query_limit) {
		dkim_lookup_free(lk);
		arc_verify_decide(v, ARC_CV_FAIL, "ARC key lookup limit reached", true);
		return NULL;
	}
	v->lookups = xrealloc(v->lookups, (v->nlookups + 1) * sizeof(*v->lookups));
	v->lookups[v->nlookups++] = lk;
	return lk;
}

/* arc_verify_ams_use - some AMS uses hasher bh */
static bool
arc_verify_ams_use(const struct arc_verify *v, const struct dkim_bodyhash *bh)
{
	for (unsigned i = 1; i <= v->n; i++)
		if (v->vs[i].bh == bh)
			return true;
	return false;
}

/* arc_verify_prepare - lookups and body hashers for every set */
static void
arc_verify_prepare(struct arc_verify *v)
{
	for (unsigned i = v->n; i >= 1 && !v->decided; i--) {
		const struct arc_chain_set *s = v->chain.sets[i];
		struct arc_vset *x = &v->vs[i];

		x->ams_lk = arc_verify_lookup(v, s->ams.s, s->ams.d);
		x->seal_lk = arc_verify_lookup(v, s->seal.s, s->seal.d);
		if (s->ams.alg == DKIM_ALG_RSA_SHA256)
			x->bh = dkim_bodyhash_get(&v->feed.bhs, s->ams.bcanon,
			    dkim_alg_md(s->ams.alg), s->ams.has_l, s->ams.l);
	}
	v->ams_hashers = v->feed.bhs.n;
	if (v->feed.keep && !arc_verify_ams_use(v, v->feed.keep))
		v->ams_hashers--;
	if (v->decided)
		return;
	/* count them all first: a synchronous answer must not see pending == 0 early */
	v->pending = v->nlookups;
	for (size_t i = 0; i < v->nlookups; i++)
		dkim_lookup_start(v->lookups[i], v->r, arc_verify_dns_done, v);
}

/* arc_verify_on_eoh - feeder hook: end of the header section: structure check, key lookups */
static int
arc_verify_on_eoh(void *arg)
{
	struct arc_verify *v = arg;
	const char *why;

	v->res.sets = v->chain.n;
	if (v->chain.nfields == 0)
		arc_verify_decide(v, ARC_CV_NONE, "no ARC sets", false);
	else if ((why = arc_chain_status(&v->chain)) != NULL)
		arc_verify_decide(v, ARC_CV_FAIL, why, v->chain.broken == why && v->chain.broken_limit);
	if (v->decided)
		return 0;
	v->n = v->chain.n;
	arc_verify_prepare(v);
	return 0;
}

/* arc_verify_hash_charge - count bytes hashed; past the limit the chain fails */
static bool
arc_verify_hash_charge(struct arc_verify *v, uint64_t n)
{
	v->hashed += n;
	if (v->hashed <= v->lim.hash_size_limit)
		return true;
	arc_verify_decide(v, ARC_CV_FAIL, "ARC hashing size limit reached", true);
	return false;
}

/* arc_verify_on_body - feeder hook: hash len body bytes unless decided or past the limit */
static bool
arc_verify_on_body(void *arg, size_t len)
{
	struct arc_verify *v = arg;

	/* the limit is the chain's: a hasher kept only for the seal is not charged */
	return !v->decided && arc_verify_hash_charge(v, (uint64_t)len * v->ams_hashers);
}

static const struct dkim_feed_hooks arc_verify_hooks = {
	arc_verify_on_header, arc_verify_on_eoh, arc_verify_on_body,
};

/* arc_verify_header - one complete raw field; 0/-1 */
int
arc_verify_header(struct arc_verify *v, const char *field, size_t len)
{
	return dkim_feed_header(&v->feed, field, len);
}

/* arc_verify_eoh - end of the header section: structure check, key lookups; 0/-1 */
int
arc_verify_eoh(struct arc_verify *v)
{
	return dkim_feed_eoh(&v->feed);
}

/* arc_verify_body - body bytes, any split; 0/-1 */
int
arc_verify_body(struct arc_verify *v, const char *p, size_t len)
{
	return dkim_feed_body(&v->feed, p, len);
}

/* arc_verify_chunk - raw message bytes, any split; 0/-1 */
int
arc_verify_chunk(struct arc_verify *v, const char *p, size_t len)
{
	return dkim_feed_chunk(&v->feed, p, len);
}

/* ---- validating signatures (steps 4-6) ---- */

/* arc_verify_key - the RSA key of a lookup, or NULL with *why (temporary DNS trouble noted) */
static EVP_PKEY *
arc_verify_key(struct arc_verify *v, const struct dkim_lookup *lk, const char **why)
{
	struct dkim_keyrec kr;
	EVP_PKEY *key;

	if (dkim_lookup_status(lk, why) == DKIM_RESULT_TEMPERROR) {
		v->res.temporary = true;
		return NULL;
	}
	if (lk->ntxt == 0 || lk->rcode != DNS_RCODE_NOERROR)
		return NULL;
	key = dkim_lookup_key(lk, DKIM_ALG_RSA_SHA256, NULL, NULL, &kr, why);
	if (key && dkim_crypto_key_bits(key) < v->lim.rsa_min_bits) {
		EVP_PKEY_free(key);
		*why = "RSA key shorter than the minimum (RFC 8301)";
		return NULL;
	}
	return key;
}

/* arc_verify_sig - one signature over in with the key of lk; NULL when it verifies */
static const char *
arc_verify_sig(struct arc_verify *v, const struct dkim_lookup *lk, const struct buf *in,
    const unsigned char *b, size_t blen)
{
	const char *why = NULL;
	EVP_PKEY *key;
	int ok;

	if (v->sigs >= v->lim.sig_limit) {
		v->res.limit = true;
		return "ARC signature verification limit reached";
	}
	if (!arc_verify_hash_charge(v, in->len)) {
		v->res.limit = true;
		return v->res.reason;
	}
	if ((key = arc_verify_key(v, lk, &why)) == NULL)
		return why;
	v->sigs++;
	ok = dkim_crypto_verify(key, DKIM_ALG_RSA_SHA256, in, b, blen);
	EVP_PKEY_free(key);
	return ok == 1 ? NULL : "signature did not verify";
}

/* arc_verify_ams - the AMS of set i validates (RFC 8617 §5.2 step 4, RFC 6376 §6.1.3); NULL or why not */
static const char *
arc_verify_ams(struct arc_verify *v, unsigned i)
{
	const struct dkim_sig *ams = &v->chain.sets[i]->ams;
	const struct dkim_bodyhash *bh = v->vs[i].bh;
	const char *why;
	struct buf in;

	if (ams->alg != DKIM_ALG_RSA_SHA256 || bh == NULL)
		return "AMS algorithm is not rsa-sha256";
	if (bh->has_limit && bh->limit > bh->total)
		return "AMS l= is longer than the body";
	if (bh->digest_len != ams->bhlen || memcmp(bh->digest, ams->bh, bh->digest_len) != 0)
		return "AMS body hash mismatch";
	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	if (dkim_hdr_signing_input(&v->feed.hdrs, ams->h, ams->nh, ams->hcanon,
	    (struct span){ ams->field, ams->field_len }, ams->b_raw_off,
	    ams->b_raw_len, &in) < 0)
		why = "AMS signed header fields too large";
	else
		why = arc_verify_sig(v, v->vs[i].ams_lk, &in, ams->b, ams->blen);
	buf_clear(&in);
	return why;
}

/* arc_verify_seal - the AS of set i validates over sets 1..i (§5.1.1, §5.2 step 6); NULL or why not */
static const char *
arc_verify_seal(struct arc_verify *v, unsigned i)
{
	struct arc_set_fields f[ARC_SET_LIMIT];
	const struct arc_seal *seal = &v->chain.sets[i]->seal;
	const char *why;
	struct buf in;

	arc_chain_fields(&v->chain, i, f);
	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	if (arc_seal_input(f, i, seal->b_raw_off, seal->b_raw_len, &in) < 0)
		why = "ARC fields too large";
	else
		why = arc_verify_sig(v, v->vs[i].seal_lk, &in, seal->b, seal->blen);
	buf_clear(&in);
	return why;
}

/* arc_verify_judge_fail - the chain fails at set i */
static void
arc_verify_judge_fail(struct arc_verify *v, unsigned i, const char *why)
{
	v->res.failed_instance = i;
	arc_verify_decide(v, ARC_CV_FAIL, why, v->res.limit);
}

/* arc_verify_judge - §5.2 steps 4-7 */
static void
arc_verify_judge(struct arc_verify *v)
{
	const char *why;
	unsigned n = v->n;

	if ((why = arc_verify_ams(v, n)) != NULL)
		return arc_verify_judge_fail(v, n, why);
	v->set_res[n - 1].ams_checked = v->set_res[n - 1].ams_valid = true;
	/* step 5: oldest-pass, the lowest instance from which every AMS validates */
	for (unsigned i = n - 1; i >= 1; i--) {
		why = arc_verify_ams(v, i);
		v->set_res[i - 1].ams_checked = true;
		if (v->res.limit)
			return arc_verify_judge_fail(v, i, why);
		if (why != NULL) {
			v->res.oldest_pass = i + 1;
			break;
		}
		v->set_res[i - 1].ams_valid = true;
	}
	for (unsigned i = n; i >= 1; i--)
		if ((why = arc_verify_seal(v, i)) != NULL)
			return arc_verify_judge_fail(v, i, why);
	arc_verify_decide(v, ARC_CV_PASS, "ARC chain validated", false);
}

/* arc_verify_fill - the per-set results */
static void
arc_verify_fill(struct arc_verify *v)
{
	for (unsigned i = 1; i <= v->chain.n; i++) {
		struct arc_set_result *r = &v->set_res[i - 1];
		const struct arc_chain_set *s = v->chain.sets[i];

		if (s == NULL)
			continue;

		r->instance = i;
		r->seal_cv = s->seal.cv;
		r->seal_domain = s->seal.d ? s->seal.d : "";
		r->seal_selector = s->seal.s ? s->seal.s : "";
		r->ams_domain = s->ams.d ? s->ams.d : "";
		r->aar = s->aar.payload ? s->aar.payload : "";
	}
}

/* arc_verify_report - every answer is in and the body is done: judge and report */
static void
arc_verify_report(struct arc_verify *v)
{
	if (v->reported)
		return;
	v->reported = true;
	v->set_res = xcalloc(v->chain.n ? v->chain.n : 1, sizeof(*v->set_res));
	if (!v->decided)
		arc_verify_judge(v);
	if (!v->decided)
		log_panic("arc: chain left unjudged");
	if (v->res.cv != ARC_CV_FAIL)
		v->res.temporary = v->res.limit = false;
	arc_verify_fill(v);
	v->res.set = v->set_res;
	/* last statement: the callback may free the verifier */
	v->cb(v->cb_arg, &v->res);
}

/* arc_verify_dns_done - a key lookup answered */
static void
arc_verify_dns_done(void *arg)
{
	struct arc_verify *v = arg;

	v->pending--;
	if (v->feed.finished && v->pending == 0)
		arc_verify_report(v);
}

/* arc_verify_finish - end of message: judge when every lookup answered */
int
arc_verify_finish(struct arc_verify *v, arc_verify_cb cb, void *arg)
{
	if (dkim_feed_finish(&v->feed) < 0)
		return -1;
	v->cb = cb;
	v->cb_arg = arg;
	if (v->pending == 0)
		arc_verify_report(v);
	return 0;
}

/* arc_verify_error - static reason of an input error, NULL if none */
const char *
arc_verify_error(const struct arc_verify *v)
{
	return v->feed.error;
}

/* arc_verify_keep_seal_hash - also hash the body as a seal needs it; 0/-1 (after the header) */
int
arc_verify_keep_seal_hash(struct arc_verify *v)
{
	if (v->feed.eoh_done || v->feed.error)
		return -1;
	v->feed.keep = dkim_bodyhash_get(&v->feed.bhs, DKIM_CANON_RELAXED,
	    dkim_alg_md(DKIM_ALG_RSA_SHA256), false, 0);
	return 0;
}

/* arc_verify_seal_hash - the kept seal body hash into out; its length, or -1 */
int
arc_verify_seal_hash(const struct arc_verify *v, unsigned char *out, size_t size)
{
	const struct dkim_bodyhash *bh = v->feed.keep;

	if (bh == NULL || !bh->done || bh->digest_len > size)
		return -1;
	memcpy(out, bh->digest, bh->digest_len);
	return (int)bh->digest_len;
}

/* arc_verify_body_hashed - body bytes put through hashers, once per hasher */
uint64_t
arc_verify_body_hashed(const struct arc_verify *v)
{
	return v->feed.body_hashed;
}

/* arc_verify_free - destroy, cancelling pending lookups */
void
arc_verify_free(struct arc_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nlookups; i++)
		dkim_lookup_free(v->lookups[i]);
	free(v->lookups);
	arc_chain_clear(&v->chain);
	dkim_feed_clear(&v->feed);
	free(v->set_res);
	free(v);
}
