/*
 * dkim_verify.c - streaming DKIM verification (RFC 6376 §6, RFC 8301,
 * RFC 8463).
 *
 * Header fields are stored; each DKIM-Signature is parsed as it arrives.  At
 * the end of the header section the body hashers (one per distinct c=/a=/l=)
 * are set up and the key lookups (one per distinct s=/d=) start, so DNS runs
 * while the body streams in.  When the body has ended and every lookup has
 * answered, each signature is judged by a sequence of small checks and the
 * results are reported once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "log.h"

struct dkim_vsig {
	struct dkim_sig sig;
	bool parsed;			/* signature syntax OK */
	bool judged;			/* result decided early (limits, parse error) */
	struct dkim_bodyhash *bh;
	struct dkim_lookup *lk;
	struct dkim_sig_result res;
};

struct dkim_verify {
	struct dns_resolver *r;
	struct dkim_limits lim;
	struct dkim_feed feed;		/* fields, body hashers, input error */
	struct dkim_vsig *sigs;
	size_t nsigs, capsigs;
	struct dkim_lookup **lookups;
	size_t nlookups;
	bool reported;
	size_t pending;			/* lookups not yet answered */
	time_t now;
	bool now_set;
	dkim_verify_cb cb;
	void *cb_arg;
	struct dkim_sig_result *results;
};

/* One judging step: 0 to go on, -1 when it decided the result. */
typedef int (*dkim_verify_step)(struct dkim_verify *v, struct dkim_vsig *vs,
    EVP_PKEY **key);

static const struct dkim_feed_hooks dkim_verify_hooks;

/* dkim_limits_default - the named defaults */
void
dkim_limits_default(struct dkim_limits *l)
{
	l->sig_limit = DKIM_SIG_LIMIT;
	l->dns_query_limit = DKIM_DNS_QUERY_LIMIT;
	l->rsa_min_bits = DKIM_RSA_MIN_BITS;
	l->clock_skew = DKIM_CLOCK_SKEW;
	msg_limits_default(&l->msg);
	l->msg_flags = 0;
}

/* dkim_result_str - RFC 8601 result word */
const char *
dkim_result_str(enum dkim_result r)
{
	static const char *const names[] = {
		[DKIM_RESULT_NONE] = "none", [DKIM_RESULT_PASS] = "pass",
		[DKIM_RESULT_FAIL] = "fail", [DKIM_RESULT_NEUTRAL] = "neutral",
		[DKIM_RESULT_TEMPERROR] = "temperror",
		[DKIM_RESULT_PERMERROR] = "permerror", [DKIM_RESULT_POLICY] = "policy",
	};

	return (size_t)r < ARRAY_LEN(names) ? names[r] : "unknown";
}

/* dkim_fail_str - name of a failure kind */
const char *
dkim_fail_str(enum dkim_fail f)
{
	static const char *const names[] = {
		[DKIM_FAIL_NONE] = "none", [DKIM_FAIL_BODY_HASH] = "body hash mismatch",
		[DKIM_FAIL_SIGNATURE] = "signature mismatch",
		[DKIM_FAIL_WEAK_ALG] = "weak algorithm",
		[DKIM_FAIL_KEY_TOO_SHORT] = "key too short",
	};

	return (size_t)f < ARRAY_LEN(names) ? names[f] : "unknown";
}

/* dkim_verify_new - a verifier using resolver r (borrowed) */
struct dkim_verify *
dkim_verify_new(struct dns_resolver *r, const struct dkim_limits *limits)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	v->r = r;
	struct dkim_limits def;

	dkim_limits_default(&def);
	v->lim = limits ? *limits : def;
	/* a zero means "the default"; RSA keys are never accepted below RFC 8301's floor */
	if (v->lim.sig_limit == 0)
		v->lim.sig_limit = def.sig_limit;
	if (v->lim.dns_query_limit == 0)
		v->lim.dns_query_limit = def.dns_query_limit;
	if (v->lim.rsa_min_bits < DKIM_RSA_MIN_BITS)
		v->lim.rsa_min_bits = DKIM_RSA_MIN_BITS;
	msg_limits_fill(&v->lim.msg);
	dkim_feed_init(&v->feed, &v->lim.msg, v->lim.msg_flags, &dkim_verify_hooks, v);
	return v;
}

/* dkim_verify_set_time - "now" for x=/t= checks */
void
dkim_verify_set_time(struct dkim_verify *v, time_t now)
{
	v->now = now;
	v->now_set = true;
}

/* dkim_verify_judge - set a result early */
static void
dkim_verify_judge(struct dkim_vsig *vs, enum dkim_result r, const char *why)
{
	vs->res.result = r;
	vs->res.reason = why;
	vs->judged = true;
}

/* dkim_verify_add_sig - a DKIM-Signature field arrived */
static void
dkim_verify_add_sig(struct dkim_verify *v, const char *field, size_t len)
{
	struct dkim_vsig *vs;

	if (v->nsigs == v->capsigs) {
		v->capsigs = v->capsigs ? v->capsigs * 2 : 4;
		v->sigs = xrealloc(v->sigs, v->capsigs * sizeof(*v->sigs));
	}
	vs = &v->sigs[v->nsigs];
	memset(vs, 0, sizeof(*vs));
	vs->res.index = (unsigned)v->nsigs++;
	/* parsed even past the cap, so the report still names d= and s= */
	if (dkim_sig_parse(&vs->sig, field, len) < 0)
		dkim_verify_judge(vs, DKIM_RESULT_PERMERROR, vs->sig.error);
	else
		vs->parsed = true;
	if (vs->res.index >= v->lim.sig_limit)
		dkim_verify_judge(vs, DKIM_RESULT_NEUTRAL,
		    "not evaluated: per-message signature limit reached");
}

/* dkim_verify_on_header - feeder hook: a stored field; DKIM-Signature parsed */
static void
dkim_verify_on_header(void *arg, const char *field, size_t len, size_t nlen)
{
	if (nlen == 14 && ascii_mem_eq_ci(field, "DKIM-Signature", 14))
		dkim_verify_add_sig(arg, field, len);
}

/* dkim_verify_report - every answer is in and the body is done: judge and report */
static void dkim_verify_report(struct dkim_verify *v);

/* dkim_verify_dns_done - a key lookup answered */
static void
dkim_verify_dns_done(void *arg)
{
	struct dkim_verify *v = arg;

	v->pending--;
	if (v->feed.finished && v->pending == 0)
		dkim_verify_report(v);
}

/* dkim_verify_lookup - the lookup for this signature's key, shared by s=/d= */
static struct dkim_lookup *
dkim_verify_lookup(struct dkim_verify *v, struct dkim_vsig *vs)
{
	struct dkim_lookup *lk = dkim_lookup_new(vs->sig.s, vs->sig.d);

	if (lk == NULL) {
		dkim_verify_judge(vs, DKIM_RESULT_PERMERROR, "key name too long");
		return NULL;
	}
	for (size_t i = 0; i < v->nlookups; i++)
		if (strcasecmp(v->lookups[i]->name, lk->name) == 0) {
			dkim_lookup_free(lk);
			return v->lookups[i];
		}
	if (v->nlookups >= v->lim.dns_query_limit) {
		dkim_lookup_free(lk);
		dkim_verify_judge(vs, DKIM_RESULT_NEUTRAL,
		    "not evaluated: per-message key lookup limit reached");
		return NULL;
	}
	v->lookups = xrealloc(v->lookups, (v->nlookups + 1) * sizeof(*v->lookups));
	v->lookups[v->nlookups++] = lk;
	return lk;
}

/* dkim_verify_on_eoh - feeder hook: end of header section; starts the key lookups */
static int
dkim_verify_on_eoh(void *arg)
{
	struct dkim_verify *v = arg;
	size_t first_new;

	first_new = v->nlookups;
	for (size_t i = 0; i < v->nsigs; i++) {
		struct dkim_vsig *vs = &v->sigs[i];

		if (!vs->parsed || vs->judged)
			continue;
		vs->lk = dkim_verify_lookup(v, vs);
		/* rsa-sha1 fails at the strength step, before its body hash is
		 * read: no SHA-1 pass over the body for it */
		if (vs->lk == NULL || vs->sig.alg == DKIM_ALG_RSA_SHA1)
			continue;
		vs->bh = dkim_bodyhash_get(&v->feed.bhs, vs->sig.bcanon,
		    dkim_alg_md(vs->sig.alg), vs->sig.has_l, vs->sig.l);
	}
	/* count them all first: a synchronous answer must not see pending == 0 early */
	v->pending += v->nlookups - first_new;
	for (size_t i = first_new; i < v->nlookups; i++)
		dkim_lookup_start(v->lookups[i], v->r, dkim_verify_dns_done, v);
	return 0;
}

static const struct dkim_feed_hooks dkim_verify_hooks = {
	dkim_verify_on_header, dkim_verify_on_eoh, NULL,
};

/* dkim_verify_header - one complete raw field; 0/-1 */
int
dkim_verify_header(struct dkim_verify *v, const char *field, size_t len)
{
	return dkim_feed_header(&v->feed, field, len);
}

/* dkim_verify_eoh - end of header section; starts the key lookups; 0/-1 */
int
dkim_verify_eoh(struct dkim_verify *v)
{
	return dkim_feed_eoh(&v->feed);
}

/* dkim_verify_body - body bytes, any split; 0/-1 */
int
dkim_verify_body(struct dkim_verify *v, const char *p, size_t len)
{
	return dkim_feed_body(&v->feed, p, len);
}

/* dkim_verify_chunk - raw message bytes, any split; 0/-1 */
int
dkim_verify_chunk(struct dkim_verify *v, const char *p, size_t len)
{
	return dkim_feed_chunk(&v->feed, p, len);
}

/* ---- judging one signature: a table of small steps ---- */

/* dkim_verify_step_dns - the lookup answered usefully */
static int
dkim_verify_step_dns(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	const char *why;
	enum dkim_result r = dkim_lookup_status(vs->lk, &why);

	(void)v;
	(void)key;
	vs->res.key_sec = vs->lk->sec;
	if (r == DKIM_RESULT_PASS)
		return 0;
	dkim_verify_judge(vs, r, why);
	return -1;
}

/* dkim_verify_strict - key t=s: the i= domain must be d= itself (§3.6.1) */
static const char *
dkim_verify_strict(const void *arg, const struct dkim_keyrec *kr)
{
	const struct dkim_vsig *vs = arg;
	const char *at = strrchr(vs->sig.i, '@');

	if (kr->strict && (at == NULL || strcasecmp(at + 1, vs->sig.d) != 0))
		return "key t=s forbids an i= subdomain of d=";
	return NULL;
}

/* dkim_verify_step_key - a usable key record and public key */
static int
dkim_verify_step_key(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	struct dkim_keyrec kr;
	const char *why;

	(void)v;
	*key = dkim_lookup_key(vs->lk, vs->sig.alg, dkim_verify_strict, vs, &kr, &why);
	if (*key) {
		vs->res.key_testing = kr.testing;
		vs->res.key_bits = dkim_crypto_key_bits(*key);
		return 0;
	}
	dkim_verify_judge(vs, DKIM_RESULT_PERMERROR, why);
	return -1;
}

/* dkim_verify_fail_as - FAIL with its kind */
static int
dkim_verify_fail_as(struct dkim_vsig *vs, enum dkim_fail f, const char *why)
{
	dkim_verify_judge(vs, DKIM_RESULT_FAIL, why);
	vs->res.fail = f;
	return -1;
}

/* dkim_verify_step_strength - RFC 8301: no rsa-sha1, no short RSA keys */
static int
dkim_verify_step_strength(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	if (vs->sig.alg == DKIM_ALG_RSA_SHA1)
		return dkim_verify_fail_as(vs, DKIM_FAIL_WEAK_ALG,
		    "rsa-sha1 is not acceptable (RFC 8301)");
	if (dkim_crypto_key_type(*key) == EVP_PKEY_RSA && vs->res.key_bits < v->lim.rsa_min_bits)
		return dkim_verify_fail_as(vs, DKIM_FAIL_KEY_TOO_SHORT,
		    "RSA key shorter than the minimum (RFC 8301)");
	return 0;
}

/* dkim_verify_step_time - x= expiry and t= in the future, with clock skew */
static int
dkim_verify_step_time(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	(void)key;
	if (vs->sig.x != -1 && v->now > vs->sig.x + (time_t)v->lim.clock_skew) {
		dkim_verify_judge(vs, DKIM_RESULT_POLICY, "signature expired (x=)");
		return -1;
	}
	if (vs->sig.t != -1 && vs->sig.t > v->now + (time_t)v->lim.clock_skew) {
		dkim_verify_judge(vs, DKIM_RESULT_POLICY, "signature timestamp in the future (t=)");
		return -1;
	}
	return 0;
}

/* dkim_verify_step_bodyhash - bh= against the computed hash (§6.1.3) */
static int
dkim_verify_step_bodyhash(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	const struct dkim_bodyhash *bh = vs->bh;

	(void)v;
	(void)key;
	vs->res.body_length = bh->total;
	if (bh->has_limit && bh->limit > bh->total)
		return dkim_verify_fail_as(vs, DKIM_FAIL_BODY_HASH,
		    "l= is longer than the body");
	if (bh->digest_len != vs->sig.bhlen ||
	    memcmp(bh->digest, vs->sig.bh, bh->digest_len) != 0)
		return dkim_verify_fail_as(vs, DKIM_FAIL_BODY_HASH, "body hash mismatch");
	return 0;
}

/* dkim_verify_step_signature - b= over the header hash input (§6.1.3) */
static int
dkim_verify_step_signature(struct dkim_verify *v, struct dkim_vsig *vs, EVP_PKEY **key)
{
	struct buf in;
	int ok;

	buf_init(&in, DKIM_SIGNING_INPUT_MAX);
	if (dkim_hdr_signing_input(&v->feed.hdrs, vs->sig.h, vs->sig.nh, vs->sig.hcanon,
	    (struct span){ vs->sig.field, vs->sig.field_len }, vs->sig.b_raw_off,
	    vs->sig.b_raw_len, &in) < 0) {
		buf_clear(&in);
		dkim_verify_judge(vs, DKIM_RESULT_PERMERROR, "signed header fields too large");
		return -1;
	}
	ok = dkim_crypto_verify(*key, vs->sig.alg, &in, vs->sig.b, vs->sig.blen);
	buf_clear(&in);
	if (ok != 1)
		return dkim_verify_fail_as(vs, DKIM_FAIL_SIGNATURE, "signature did not verify");
	dkim_verify_judge(vs, DKIM_RESULT_PASS, "signature verified");
	return -1;
}

static const dkim_verify_step dkim_verify_steps[] = {
	dkim_verify_step_dns,
	dkim_verify_step_key,
	dkim_verify_step_strength,
	dkim_verify_step_time,
	dkim_verify_step_bodyhash,
	dkim_verify_step_signature,
};

/* dkim_verify_fill - copy what the signature says into its result */
static void
dkim_verify_fill(struct dkim_vsig *vs)
{
	struct dkim_sig_result *r = &vs->res;

	r->domain = vs->sig.d ? vs->sig.d : "";
	r->selector = vs->sig.s ? vs->sig.s : "";
	r->identity = vs->sig.i ? vs->sig.i : "";
	r->algorithm = vs->sig.a ? vs->sig.a : "";
	memcpy(r->b_prefix, vs->sig.b_prefix, sizeof(r->b_prefix));
	r->has_length = vs->sig.has_l;
	r->length = vs->sig.l;
	r->timestamp = vs->sig.t;
	r->expiration = vs->sig.x;
	if (r->reason == NULL)
		r->reason = "";
}

/* dkim_verify_evaluate - run the steps until one decides */
static void
dkim_verify_evaluate(struct dkim_verify *v, struct dkim_vsig *vs)
{
	EVP_PKEY *key = NULL;

	for (size_t i = 0; !vs->judged && i < ARRAY_LEN(dkim_verify_steps); i++)
		if (dkim_verify_steps[i](v, vs, &key) < 0)
			break;
	if (!vs->judged)
		log_panic("dkim: signature %u left unjudged", vs->res.index);
	EVP_PKEY_free(key);
}

/* dkim_verify_report - every answer is in and the body is done: judge and report */
static void
dkim_verify_report(struct dkim_verify *v)
{
	if (v->reported)
		return;
	v->reported = true;
	if (!v->now_set)
		v->now = time(NULL);
	v->results = xcalloc(v->nsigs ? v->nsigs : 1, sizeof(*v->results));
	for (size_t i = 0; i < v->nsigs; i++) {
		struct dkim_vsig *vs = &v->sigs[i];

		if (!vs->judged)
			dkim_verify_evaluate(v, vs);
		dkim_verify_fill(vs);
		v->results[i] = vs->res;
	}
	/* last statement: the callback may free the verifier */
	v->cb(v->cb_arg, v->results, v->nsigs);
}

/* dkim_verify_finish - end of message: judge when every lookup answered */
int
dkim_verify_finish(struct dkim_verify *v, dkim_verify_cb cb, void *arg)
{
	if (dkim_feed_finish(&v->feed) < 0)
		return -1;
	v->cb = cb;
	v->cb_arg = arg;
	if (v->pending == 0)
		dkim_verify_report(v);
	return 0;
}

/* dkim_verify_error - static reason of an input error, NULL if none */
const char *
dkim_verify_error(const struct dkim_verify *v)
{
	return v->feed.error;
}

/* dkim_verify_free - destroy, cancelling pending lookups */
void
dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nlookups; i++)
		dkim_lookup_free(v->lookups[i]);
	free(v->lookups);
	for (size_t i = 0; i < v->nsigs; i++)
		dkim_sig_clear(&v->sigs[i].sig);
	free(v->sigs);
	dkim_feed_clear(&v->feed);
	free(v->results);
	free(v);
}
