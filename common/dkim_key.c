/*
 * dkim_key.c - DKIM keys: public key records (RFC 6376 §3.6.1, RFC 8463 §4),
 * private key files (PEM) with the checks done at load, and the record text
 * published for a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_int.h"

#define DKIM_ED25519_KEY_LEN	32	/* RFC 8032 §5.1.5 public key */

/* dkim_key_list_has - colon-separated list v contains word (case-insensitive) */
static bool
dkim_key_list_has(struct span v, const char *word)
{
	const char *p = v.p, *end = v.p + v.len;

	while (p <= end) {
		const char *c = memchr(p, ':', (size_t)(end - p));

		if (c == NULL)
			c = end;
		if (span_eq_ci(span_trim((struct span){ p, (size_t)(c - p) }), word))
			return true;
		p = c + 1;
	}
	return false;
}

/* dkim_key_tag - value of tag name, or an empty span with p == NULL */
static struct span
dkim_key_tag(const struct tagvalue_list *l, const char *name)
{
	const struct tagvalue_tag *t = tagvalue_find(l, name);

	return t ? t->value : (struct span){ NULL, 0 };
}

/* dkim_keyrec_parse - parse a key record; 0, or -1 with *why (static) */
int
dkim_keyrec_parse(const char *p, size_t len, struct dkim_keyrec *kr, const char **why)
{
	struct tagvalue_list l;

	memset(kr, 0, sizeof(*kr));
	if (len > DKIM_KEY_RECORD_MAX) {
		*why = "key record too large";
		return -1;
	}
	if (tagvalue_parse(p, len, &l) < 0) {
		*why = "key record syntax error";
		return -1;
	}
	kr->v = dkim_key_tag(&l, "v");
	kr->h = dkim_key_tag(&l, "h");
	kr->k = dkim_key_tag(&l, "k");
	kr->n = dkim_key_tag(&l, "n");
	kr->p = dkim_key_tag(&l, "p");
	kr->s = dkim_key_tag(&l, "s");
	kr->t = dkim_key_tag(&l, "t");
	if (kr->v.p && !span_eq_ci(kr->v, "DKIM1")) {
		*why = "key record version is not DKIM1";
		return -1;
	}
	if (kr->p.p == NULL) {
		*why = "key record has no p=";
		return -1;
	}
	kr->revoked = kr->p.len == 0;
	kr->testing = kr->t.p && dkim_key_list_has(kr->t, "y");
	kr->strict = kr->t.p && dkim_key_list_has(kr->t, "s");
	kr->hash_sha256_ok = kr->h.p == NULL || dkim_key_list_has(kr->h, "sha256");
	kr->service_email_ok = kr->s.p == NULL || dkim_key_list_has(kr->s, "*") ||
	    dkim_key_list_has(kr->s, "email");
	return 0;
}

/* dkim_keyrec_rsa - RSA public key from DER: SubjectPublicKeyInfo, or bare PKCS#1 */
static EVP_PKEY *
dkim_keyrec_rsa(const unsigned char *der, long n)
{
	const unsigned char *q = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, n);

	if (pk && !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (pk == NULL) {
		q = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, n);
	}
	ERR_clear_error();
	return pk;
}

/* dkim_keyrec_pkey - the public key of a record (k= rsa or ed25519); NULL + *why */
EVP_PKEY *
dkim_keyrec_pkey(const struct dkim_keyrec *kr, const char **why)
{
	unsigned char der[DKIM_KEY_RECORD_MAX];
	long n;
	EVP_PKEY *pk = NULL;

	if (kr->revoked) {
		*why = "key revoked (empty p=)";
		return NULL;
	}
	n = dkim_b64_decode(kr->p, der, sizeof(der));
	if (n <= 0) {
		*why = "key record p= is not valid base64";
		return NULL;
	}
	if (kr->k.p == NULL || span_eq_ci(kr->k, "rsa")) {
		pk = dkim_keyrec_rsa(der, n);
	} else if (span_eq_ci(kr->k, "ed25519")) {
		if (n == DKIM_ED25519_KEY_LEN)
			pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n);
	} else {
		*why = "unknown key type (k=)";
		return NULL;
	}
	if (pk == NULL)
		*why = "key record p= is not a valid public key";
	return pk;
}

/* dkim_key_alg_of - the signing algorithm a private key implies; 0 or -1 */
int
dkim_key_alg_of(EVP_PKEY *pkey, enum dkim_alg *alg)
{
	if (EVP_PKEY_is_a(pkey, "RSA"))
		*alg = DKIM_ALG_RSA_SHA256;
	else if (EVP_PKEY_is_a(pkey, "ED25519"))
		*alg = DKIM_ALG_ED25519_SHA256;
	else
		return -1;
	return 0;
}

/* dkim_key_check_private - is pkey usable to sign with alg (see dkim.h) */
int
dkim_key_check_private(EVP_PKEY *pkey, enum dkim_alg alg, unsigned min_bits,
    struct buf *err)
{
	enum dkim_alg have;

	if (min_bits < DKIM_RSA_MIN_BITS)
		min_bits = DKIM_RSA_MIN_BITS;
	if (dkim_key_alg_of(pkey, &have) < 0) {
		buf_printf(err, "key type %s is neither RSA nor Ed25519",
		    EVP_PKEY_get0_type_name(pkey));
		return -1;
	}
	if (alg == DKIM_ALG_RSA_SHA1) {
		buf_printf(err, "rsa-sha1 must not be used for signing (RFC 8301)");
		return -1;
	}
	if (have != alg) {
		buf_printf(err, "key is %s but the algorithm is %s",
		    have == DKIM_ALG_RSA_SHA256 ? "RSA" : "Ed25519", dkim_alg_str(alg));
		return -1;
	}
	if (have == DKIM_ALG_RSA_SHA256 && dkim_crypto_key_bits(pkey) < min_bits) {
		buf_printf(err, "RSA key has %u bits, at least %u are required (RFC 8301)",
		    dkim_crypto_key_bits(pkey), min_bits);
		return -1;
	}
	return 0;
}

/* dkim_key_open - open the file and refuse group/other access (OpenDKIM "key data is not secure") */
static FILE *
dkim_key_open(const char *path, struct buf *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	FILE *fp;

	if (fd < 0) {
		buf_printf(err, "%s: cannot open key file: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		buf_printf(err, "%s: key data is not secure: mode %04o allows access by "
		    "group or other; run: chmod 600 '%s'", path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}

/* dkim_key_load_private - load and check a PEM private key file (see dkim.h) */
EVP_PKEY *
dkim_key_load_private(const char *path, bool alg_known, enum dkim_alg alg,
    unsigned min_bits, struct buf *err)
{
	FILE *fp = dkim_key_open(path, err);
	EVP_PKEY *pk;
	struct buf why;

	if (fp == NULL)
		return NULL;
	pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	ERR_clear_error();
	if (pk == NULL) {
		buf_printf(err, "%s: not a PEM private key (or it is encrypted)", path);
		return NULL;
	}
	if (!alg_known && dkim_key_alg_of(pk, &alg) < 0)
		alg = DKIM_ALG_RSA_SHA256;	/* let the check below name the type */
	buf_init(&why, 512);
	if (dkim_key_check_private(pk, alg, min_bits, &why) < 0) {
		buf_printf(err, "%s: %s", path, buf_cstr(&why));
		buf_clear(&why);
		EVP_PKEY_free(pk);
		return NULL;
	}
	buf_clear(&why);
	return pk;
}

/* dkim_key_public_record - "v=DKIM1; k=rsa|ed25519; p=<base64>" for a key; 0/-1 */
int
dkim_key_public_record(EVP_PKEY *pkey, struct buf *out)
{
	unsigned char raw[DKIM_ED25519_KEY_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	enum dkim_alg alg;
	int n, rc;

	if (dkim_key_alg_of(pkey, &alg) < 0)
		return -1;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			return -1;
		buf_append_str(out, "v=DKIM1; k=ed25519; p=");
		return dkim_b64_encode(raw, rawlen, out);
	}
	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return -1;
	buf_append_str(out, "v=DKIM1; k=rsa; p=");
	rc = dkim_b64_encode(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc;
}

/* dkim_key_matches - true if the public halves of a and b are the same key */
bool
dkim_key_matches(EVP_PKEY *a, EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}
