/*
 * dkim_crypto.c - signature primitives over the DKIM signing input through
 * OpenSSL 3 EVP.
 *
 * rsa-sha256 / rsa-sha1 (RFC 6376 §3.3.1-2): RSASSA-PKCS1-v1_5 with the hash,
 * EVP_DigestSign/EVP_DigestVerify over the signing input.
 * ed25519-sha256 (RFC 8463 §3): PureEdDSA (RFC 8032) whose message is the
 * 32-byte SHA-256 of the signing input, not the input itself.
 */
#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "dkim_int.h"

/* dkim_crypto_message - what the EVP call signs: the input, or its SHA-256 for Ed25519 */
static int
dkim_crypto_message(enum dkim_alg alg, const struct buf *input,
    unsigned char *hash, const unsigned char **msg, size_t *len)
{
	unsigned int hl = 0;

	if (alg != DKIM_ALG_ED25519_SHA256) {
		*msg = (const unsigned char *)input->data;
		*len = input->len;
		return 0;
	}
	if (EVP_Digest(input->data, input->len, hash, &hl,
	    dkim_alg_md(DKIM_ALG_ED25519_SHA256), NULL) != 1)
		return -1;
	*msg = hash;
	*len = hl;
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
	if (dkim_alg_is_rsa(alg))
		return EVP_PKEY_is_a(key, "RSA");
	return EVP_PKEY_is_a(key, "ED25519");
}

/* dkim_crypto_verify - check sig over the signing input; 1 good, 0 bad, -1 error */
int
dkim_crypto_verify(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    const unsigned char *sig, size_t siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	const unsigned char *msg;
	size_t len;
	EVP_MD_CTX *ctx;
	int rc;

	if (!dkim_crypto_key_ok(key, alg))
		return -1;
	if (dkim_crypto_message(alg, input, hash, &msg, &len) < 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	rc = EVP_DigestVerifyInit_ex(ctx, NULL, dkim_crypto_md(alg), NULL, NULL, key, NULL);
	if (rc == 1)
		rc = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1 ? 1 : 0;
}

/*
 * The signing context of a key (EVP_DigestSignInit_ex: signature method fetch,
 * EVP_PKEY_CTX, digest fetch) costs about 2 us, as much as the rest of a
 * message's header work; it is made once per key and kept in the key's ex_data,
 * and each signature starts from a copy of it (0.1 us).  The template holds a
 * duplicate of the key, not the key itself, so the key's reference count does
 * not include it and EVP_PKEY_free of the last reference frees the template
 * (dkim_crypto_tmpl_free).  Like the rest of the signer, not for concurrent
 * first use of one key from several threads.
 */
static int dkim_crypto_tmpl_index = -1;
static pthread_once_t dkim_crypto_tmpl_once = PTHREAD_ONCE_INIT;

/* dkim_crypto_tmpl_free - ex_data destructor: the key is being freed */
static void
dkim_crypto_tmpl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	EVP_MD_CTX_free(ptr);
}

/* dkim_crypto_tmpl_init - the ex_data slot, once per process */
static void
dkim_crypto_tmpl_init(void)
{
	dkim_crypto_tmpl_index = EVP_PKEY_get_ex_new_index(0, NULL, NULL, NULL,
	    dkim_crypto_tmpl_free);
}

/* dkim_crypto_tmpl - the key's initialised signing context for alg, made on first use; NULL if none */
static EVP_MD_CTX *
dkim_crypto_tmpl(EVP_PKEY *key, enum dkim_alg alg)
{
	EVP_MD_CTX *t;
	EVP_PKEY *dup;

	if (pthread_once(&dkim_crypto_tmpl_once, dkim_crypto_tmpl_init) != 0 ||
	    dkim_crypto_tmpl_index < 0)
		return NULL;
	/* a key signs with one algorithm: RSA keys sha256 only (rsa-sha1 is refused) */
	if ((t = EVP_PKEY_get_ex_data(key, dkim_crypto_tmpl_index)) != NULL)
		return t;
	if ((dup = EVP_PKEY_dup(key)) == NULL || (t = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(t, NULL, dkim_crypto_md(alg), NULL, NULL, dup,
	    NULL) != 1 || EVP_PKEY_set_ex_data(key, dkim_crypto_tmpl_index, t) != 1) {
		EVP_MD_CTX_free(t);
		EVP_PKEY_free(dup);
		ERR_clear_error();
		return NULL;
	}
	EVP_PKEY_free(dup);	/* the context keeps its own reference */
	return t;
}

/* dkim_crypto_sign_ctx - a signing context: a copy of the key's template, else a fresh one */
static EVP_MD_CTX *
dkim_crypto_sign_ctx(EVP_PKEY *key, enum dkim_alg alg)
{
	EVP_MD_CTX *t = dkim_crypto_tmpl(key, alg), *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (t != NULL && EVP_MD_CTX_copy_ex(ctx, t) == 1)
		return ctx;
	if (EVP_DigestSignInit_ex(ctx, NULL, dkim_crypto_md(alg), NULL, NULL, key,
	    NULL) == 1)
		return ctx;
	EVP_MD_CTX_free(ctx);
	return NULL;
}

/* dkim_crypto_sign - sign the signing input; 0/-1, *siglen in/out */
int
dkim_crypto_sign(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    unsigned char *sig, size_t *siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	const unsigned char *msg;
	size_t len, need = (size_t)EVP_PKEY_get_size(key);
	EVP_MD_CTX *ctx;
	int rc;

	if (!dkim_crypto_key_ok(key, alg) || alg == DKIM_ALG_RSA_SHA1)
		return -1;
	/* EVP_PKEY_get_size is the largest signature the key makes */
	if ((int)need <= 0 || need > *siglen)
		return -1;
	if (dkim_crypto_message(alg, input, hash, &msg, &len) < 0)
		return -1;
	if ((ctx = dkim_crypto_sign_ctx(key, alg)) == NULL)
		return -1;
	rc = EVP_DigestSign(ctx, sig, siglen, msg, len);
	EVP_MD_CTX_free(ctx);
	return rc == 1 ? 0 : -1;
}

/* dkim_crypto_key_bits - RSA modulus size, 256 for Ed25519 */
unsigned
dkim_crypto_key_bits(EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	return bits > 0 ? (unsigned)bits : 0;
}
