/*
 * dkim_table_key.c - private key files for signing: read, check, describe.
 *
 * Files and inline keys are read by the DKIM core's one loader
 * (dkim_key_load_file, dkim_key_parse_private in dkim_key.c: file checks,
 * RequireSafeKeys, PEM / DER / dkimpy seed); here the table's checks follow:
 * the algorithm declared for the key, and for RSA between 1024 (RFC 8301
 * §3.2) and 4096 bits.  Every message says what to run to fix it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_table.h"
#include "log.h"

/* dkim_table_key_check - algorithm and size checks shared by both loaders */
int
dkim_table_key_check(EVP_PKEY *key, bool declared, enum dkim_alg *alg,
    char *err, size_t errsz)
{
	enum dkim_alg actual;
	int bits;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		actual = DKIM_ALG_RSA_SHA256;
		break;
	case EVP_PKEY_ED25519:
		actual = DKIM_ALG_ED25519_SHA256;
		break;
	default:
		snprintf(err, errsz, "unsupported key type %s (DKIM signs with RSA "
		    "or Ed25519 keys)", OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
		return -1;
	}
	if (declared && actual != *alg) {
		snprintf(err, errsz, "key is %s but algorithm %s is declared for it",
		    actual == DKIM_ALG_RSA_SHA256 ? "RSA" : "Ed25519",
		    dkim_alg_str(*alg));
		return -1;
	}
	*alg = actual;
	if (actual != DKIM_ALG_RSA_SHA256)
		return 0;
	bits = EVP_PKEY_get_bits(key);
	if (bits < DKIM_TABLE_RSA_MIN_BITS) {
		snprintf(err, errsz, "RSA key of %d bits is too short (RFC 8301 "
		    "requires at least %d; 2048 is usual)", bits,
		    DKIM_TABLE_RSA_MIN_BITS);
		return -1;
	}
	if (bits > DKIM_TABLE_RSA_MAX_BITS) {
		snprintf(err, errsz, "RSA key of %d bits is longer than the %d "
		    "verifiers must support (RFC 8301 §3.2)", bits,
		    DKIM_TABLE_RSA_MAX_BITS);
		return -1;
	}
	return 0;
}

/* dkim_table_key_load_file - read and check a private key file (dkim_key_load_file, then the table's checks) */
EVP_PKEY *
dkim_table_key_load_file(const char *path, bool declared,
    enum dkim_alg *alg, const struct dkim_table_key_opts *opts,
    char *err, size_t errsz)
{
	char why[DKIM_TABLE_ERR_MAX];
	struct buf b;
	EVP_PKEY *key;

	buf_init(&b, DKIM_TABLE_ERR_MAX);
	key = dkim_key_load_file(path, opts != NULL && opts->allow_insecure, &b);
	if (key == NULL) {
		snprintf(err, errsz, "key file %s", buf_cstr(&b));
		buf_clear(&b);
		return NULL;
	}
	buf_clear(&b);
	if (dkim_table_key_check(key, declared, alg, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "key file %s: %s", path, why);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* dkim_table_key_load_inline - an inline base64 DER (or PEM) key from a KeyTable */
EVP_PKEY *
dkim_table_key_load_inline(struct span text, bool declared,
    enum dkim_alg *alg, char *err, size_t errsz)
{
	EVP_PKEY *key = dkim_key_parse_private(text);

	if (key == NULL) {
		snprintf(err, errsz, "inline key is neither base64 DER nor PEM (a key "
		    "file path must start with \"/\", \"./\" or \"../\")");
		return NULL;
	}
	if (dkim_table_key_check(key, declared, alg, err, errsz) < 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

