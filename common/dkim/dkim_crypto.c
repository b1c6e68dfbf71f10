/*
 * dkim_crypto.c - signature primitives over the DKIM signing input through
 * OpenSSL 3 EVP.
 *
 * rsa-sha256 / rsa-sha1 (RFC 6376 §3.3.1-2): RSASSA-PKCS1-v1_5 with the hash:
 * the signing input hashed, the digest signed or verified with
 * EVP_PKEY_sign/EVP_PKEY_verify on the key's kept context.
 * ed25519-sha256 (RFC 8463 §3): PureEdDSA (RFC 8032) whose message is the
 * 32-byte SHA-256 of the signing input, not the input itself.
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "dkim_int.h"

/* dkim_crypto_key_type - EVP_PKEY_RSA, EVP_PKEY_ED25519, or 0 for another type */
int
dkim_crypto_key_type(EVP_PKEY *key)
{
	/* the id is a field read; EVP_PKEY_get_base_id searches the ASN.1
	 * methods under the engine lock, EVP_PKEY_is_a looks names up (about
	 * 1 us): the base id only for an alias such as EVP_PKEY_RSA2 */
	int id = EVP_PKEY_get_id(key);

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_ED25519)
		return id;
	id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_RSA || id == EVP_PKEY_ED25519)
		return id;
	if (EVP_PKEY_is_a(key, "RSA"))
		return EVP_PKEY_RSA;
	if (EVP_PKEY_is_a(key, "ED25519"))
		return EVP_PKEY_ED25519;
	return 0;
}

/* dkim_crypto_md - digest for EVP_Digest{Sign,Verify}Init_ex: none for Ed25519 */
static const char *
dkim_crypto_md(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:	return "SHA256";
	case DKIM_ALG_RSA_SHA1:		return "SHA1";
	case DKIM_ALG_ED25519_SHA256:	return NULL;
	}
	return NULL;
}

/* dkim_crypto_key_ok - the key type fits the algorithm */
static bool
dkim_crypto_key_ok(EVP_PKEY *key, enum dkim_alg alg)
{
	return dkim_crypto_key_type(key) ==
	    (dkim_alg_is_rsa(alg) ? EVP_PKEY_RSA : EVP_PKEY_ED25519);
}

/*
 * Per-key contexts.  Setting up a signature operation (method fetch,
 * EVP_PKEY_CTX, digest fetch, padding) costs 2-5 us, as much as the rest of
 * a message's header work, so it is done once per key and kept in the key's
 * ex_data (one slot for signing, one for verifying):
 *   - RSA: an EVP_PKEY_CTX after EVP_PKEY_{sign,verify}_init with PKCS#1
 *     v1.5 padding and the signature digest set; each message hashes its
 *     signing input with the kept EVP_MD_CTX and signs or verifies the
 *     digest with EVP_PKEY_{sign,verify}, which leave the context reusable
 *     (the RSA key's blinding and Montgomery values stay with it too);
 *   - Ed25519 (PureEdDSA, one-shot only in OpenSSL 3.0): an EVP_MD_CTX after
 *     EVP_Digest{Sign,Verify}Init_ex, copied for each message (0.1 us).
 * The contexts hold a duplicate of the key, not the key itself, so the key's
 * reference count does not include them and EVP_PKEY_free of the last
 * reference frees them (dkim_crypto_cache_free).  Keys from the verifier's
 * key cache keep theirs as long as they stay cached.  Not for concurrent use
 * of one key from several threads (the daemons' workers are one thread).
 */
struct dkim_crypto_cache {
	enum dkim_alg alg;	/* what the contexts were made for */
	EVP_PKEY_CTX *pctx;	/* RSA */
	EVP_MD_CTX *mctx;	/* Ed25519: the template */
	EVP_MD_CTX *hctx;	/* the signing input's digest, reused */
	EVP_MD_CTX *op;		/* Ed25519: the copy each signature runs on, reused */
};

enum { DKIM_CRYPTO_SIGN, DKIM_CRYPTO_VERIFY };

static int dkim_crypto_cache_index[2] = { -1, -1 };
static pthread_once_t dkim_crypto_cache_once = PTHREAD_ONCE_INIT;

/* dkim_crypto_cache_clear - free the contexts of a cache entry */
static void
dkim_crypto_cache_clear(struct dkim_crypto_cache *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_CTX_free(c->pctx);
	EVP_MD_CTX_free(c->mctx);
	EVP_MD_CTX_free(c->hctx);
	EVP_MD_CTX_free(c->op);
	free(c);
}

/* dkim_crypto_cache_free - ex_data destructor: the key is being freed */
static void
dkim_crypto_cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	dkim_crypto_cache_clear(ptr);
}

/* dkim_crypto_cache_init - the two ex_data slots, once per process */
static void
dkim_crypto_cache_init(void)
{
	for (int i = 0; i < 2; i++)
		dkim_crypto_cache_index[i] = EVP_PKEY_get_ex_new_index(0, NULL, NULL,
		    NULL, dkim_crypto_cache_free);
}

/* dkim_crypto_rsa_ctx - an RSA context of key for op, PKCS#1 v1.5 with alg's digest; NULL on error */
static EVP_PKEY_CTX *
dkim_crypto_rsa_ctx(EVP_PKEY *key, int op, enum dkim_alg alg)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

	if (pctx == NULL ||
	    (op == DKIM_CRYPTO_SIGN ? EVP_PKEY_sign_init(pctx) : EVP_PKEY_verify_init(pctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, dkim_alg_md(alg)) != 1) {
		EVP_PKEY_CTX_free(pctx);
		return NULL;
	}
	return pctx;
}

/* dkim_crypto_cache_fill - the contexts for op over dup, a duplicate of the key; 0/-1 */
static int
dkim_crypto_cache_fill(struct dkim_crypto_cache *c, EVP_PKEY *dup, int op)
{
	if ((c->mctx = EVP_MD_CTX_new()) == NULL || (c->hctx = EVP_MD_CTX_new()) == NULL ||
	    (c->op = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (dkim_alg_is_rsa(c->alg))
		return (c->pctx = dkim_crypto_rsa_ctx(dup, op, c->alg)) ? 0 : -1;
	if (op == DKIM_CRYPTO_SIGN)
		return EVP_DigestSignInit_ex(c->mctx, NULL, NULL, NULL, NULL, dup,
		    NULL) == 1 ? 0 : -1;
	return EVP_DigestVerifyInit_ex(c->mctx, NULL, NULL, NULL, NULL, dup,
	    NULL) == 1 ? 0 : -1;
}

/* dkim_crypto_cache_make - contexts for op with alg over dup, a duplicate of the key; NULL on error */
static struct dkim_crypto_cache *
dkim_crypto_cache_make(EVP_PKEY *dup, int op, enum dkim_alg alg)
{
	struct dkim_crypto_cache *c = xcalloc(1, sizeof(*c));

	c->alg = alg;
	if (dkim_crypto_cache_fill(c, dup, op) < 0) {
		dkim_crypto_cache_clear(c);
		return NULL;
	}
	return c;
}

/* dkim_crypto_cache - the key's contexts for op with alg, made on first use; NULL if none */
static struct dkim_crypto_cache *
dkim_crypto_cache(EVP_PKEY *key, int op, enum dkim_alg alg)
{
	struct dkim_crypto_cache *c;
	EVP_PKEY *dup;
	int idx;

	if (pthread_once(&dkim_crypto_cache_once, dkim_crypto_cache_init) != 0 ||
	    (idx = dkim_crypto_cache_index[op]) < 0)
		return NULL;
	if ((c = EVP_PKEY_get_ex_data(key, idx)) != NULL)
		return c->alg == alg ? c : NULL;
	if (!dkim_crypto_key_ok(key, alg))
		return NULL;
	if ((dup = EVP_PKEY_dup(key)) == NULL)
		return NULL;
	c = dkim_crypto_cache_make(dup, op, alg);
	EVP_PKEY_free(dup);	/* the contexts keep their own references */
	if (c == NULL || EVP_PKEY_set_ex_data(key, idx, c) != 1) {
		dkim_crypto_cache_clear(c);
		ERR_clear_error();
		return NULL;
	}
	return c;
}

/* dkim_crypto_digest - the hash of alg over the signing input with ctx; bytes, or 0 */
static unsigned
dkim_crypto_digest(EVP_MD_CTX *ctx, enum dkim_alg alg, const struct buf *input,
    unsigned char *out)
{
	unsigned n = 0;

	if (EVP_DigestInit_ex(ctx, dkim_alg_md(alg), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, input->data, input->len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1)
		return 0;
	return n;
}

/* dkim_crypto_ed_message - the SHA-256 of the signing input that Ed25519 signs (RFC 8463 §3) */
static unsigned
dkim_crypto_ed_message(const struct buf *input, unsigned char *hash)
{
	unsigned n = 0;

	if (EVP_Digest(input->data, input->len, hash, &n,
	    dkim_alg_md(DKIM_ALG_ED25519_SHA256), NULL) != 1)
		return 0;
	return n;
}

/* dkim_crypto_verify_cached - verify with the key's contexts; 1 good, 0 bad */
static int
dkim_crypto_verify_cached(struct dkim_crypto_cache *c, const struct buf *input,
    const unsigned char *sig, size_t siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned n = dkim_crypto_digest(c->hctx, c->alg, input, hash);

	if (n == 0)
		return 0;
	if (c->pctx != NULL)
		return EVP_PKEY_verify(c->pctx, sig, siglen, hash, n) == 1;
	/* Ed25519 signs the SHA-256 of the input (RFC 8463 §3); a one-shot
	 * context is finalised by its use, so each signature runs on a copy */
	return EVP_MD_CTX_copy_ex(c->op, c->mctx) == 1 &&
	    EVP_DigestVerify(c->op, sig, siglen, hash, n) == 1;
}

/* dkim_crypto_verify_fresh - verify with contexts made for this call; 1 good, 0 bad */
static int
dkim_crypto_verify_fresh(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    const unsigned char *sig, size_t siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	const unsigned char *msg = (const unsigned char *)input->data;
	size_t len = input->len;
	EVP_MD_CTX *ctx;
	int rc;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		if ((len = dkim_crypto_ed_message(input, hash)) == 0)
			return 0;
		msg = hash;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	rc = EVP_DigestVerifyInit_ex(ctx, NULL, dkim_crypto_md(alg), NULL, NULL, key, NULL);
	if (rc == 1)
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1;
}

/* dkim_crypto_verify - check sig over the signing input; 1 good, 0 bad, -1 error */
int
dkim_crypto_verify(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    const unsigned char *sig, size_t siglen)
{
	struct dkim_crypto_cache *c = dkim_crypto_cache(key, DKIM_CRYPTO_VERIFY, alg);
	int ok;

	if (c == NULL && !dkim_crypto_key_ok(key, alg))
		return -1;
	ok = c ? dkim_crypto_verify_cached(c, input, sig, siglen) :
	    dkim_crypto_verify_fresh(key, alg, input, sig, siglen);
	if (!ok)
		ERR_clear_error();	/* a bad signature is a result, not an error */
	return ok;
}

/* dkim_crypto_sign_cached - sign with the key's contexts; 0/-1, *siglen in/out */
static int
dkim_crypto_sign_cached(struct dkim_crypto_cache *c, const struct buf *input,
    unsigned char *sig, size_t *siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned n = dkim_crypto_digest(c->hctx, c->alg, input, hash);

	if (n == 0)
		return -1;
	if (c->pctx != NULL)
		return EVP_PKEY_sign(c->pctx, sig, siglen, hash, n) == 1 ? 0 : -1;
	/* as in dkim_crypto_verify_cached: a copy of the template per signature */
	return EVP_MD_CTX_copy_ex(c->op, c->mctx) == 1 &&
	    EVP_DigestSign(c->op, sig, siglen, hash, n) == 1 ? 0 : -1;
}

/* dkim_crypto_sign_fresh - sign with contexts made for this call; 0/-1, *siglen in/out */
static int
dkim_crypto_sign_fresh(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    unsigned char *sig, size_t *siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	const unsigned char *msg = (const unsigned char *)input->data;
	size_t len = input->len;
	EVP_MD_CTX *ctx;
	int rc;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		if ((len = dkim_crypto_ed_message(input, hash)) == 0)
			return -1;
		msg = hash;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	rc = EVP_DigestSignInit_ex(ctx, NULL, dkim_crypto_md(alg), NULL, NULL, key, NULL);
	if (rc == 1)
		rc = EVP_DigestSign(ctx, sig, siglen, msg, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1 ? 0 : -1;
}

/* dkim_crypto_sign - sign the signing input; 0/-1, *siglen in/out */
int
dkim_crypto_sign(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    unsigned char *sig, size_t *siglen)
{
	size_t need = (size_t)EVP_PKEY_get_size(key);
	struct dkim_crypto_cache *c;

	if (alg == DKIM_ALG_RSA_SHA1 || !dkim_crypto_key_ok(key, alg))
		return -1;
	/* EVP_PKEY_get_size is the largest signature the key makes */
	if ((int)need <= 0 || need > *siglen)
		return -1;
	if ((c = dkim_crypto_cache(key, DKIM_CRYPTO_SIGN, alg)) != NULL)
		return dkim_crypto_sign_cached(c, input, sig, siglen);
	return dkim_crypto_sign_fresh(key, alg, input, sig, siglen);
}

/* dkim_crypto_key_bits - RSA modulus size, 256 for Ed25519 */
unsigned
dkim_crypto_key_bits(EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	return bits > 0 ? (unsigned)bits : 0;
}
