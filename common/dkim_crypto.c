/*
 * dkim_crypto.c - signature primitives over the DKIM signing input through
 * OpenSSL 3 EVP.
 *
 * rsa-sha256 / rsa-sha1 (RFC 6376 §3.3.1-2): RSASSA-PKCS1-v1_5 with the hash,
 * EVP_DigestSign/EVP_DigestVerify over the signing input.
 * ed25519-sha256 (RFC 8463 §3): PureEdDSA (RFC 8032) whose message is the
 * 32-byte SHA-256 of the signing input, not the input itself.
 */
#include <openssl/core_names.h>
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

/* dkim_crypto_sign - sign the signing input; 0/-1, *siglen in/out */
int
dkim_crypto_sign(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    unsigned char *sig, size_t *siglen)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	const unsigned char *msg;
	size_t len, need = 0;
	EVP_MD_CTX *ctx;
	int rc;

	if (!dkim_crypto_key_ok(key, alg) || alg == DKIM_ALG_RSA_SHA1)
		return -1;
	if (dkim_crypto_message(alg, input, hash, &msg, &len) < 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	rc = EVP_DigestSignInit_ex(ctx, NULL, dkim_crypto_md(alg), NULL, NULL, key, NULL);
	if (rc == 1)
		rc = EVP_DigestSign(ctx, NULL, &need, msg, len);
	if (rc == 1 && need > *siglen)
		rc = 0;
	if (rc == 1)
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
