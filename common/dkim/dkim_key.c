/*
 * dkim_key.c - DKIM keys: public key records (RFC 6376 §3.6.1, RFC 8463 §4),
 * private keys with the checks done at load, and the record text published
 * for a key.  The one private key loader: files (regular, readable, not
 * accessible by group/other as OpenDKIM's RequireSafeKeys, bounded size) and
 * inline text, in PEM (PKCS#1, PKCS#8), base64 DER, or dkimpy's base64
 * Ed25519 seed; every message says what to run to fix it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_int.h"
#include "log.h"

#define DKIM_ED25519_KEY_LEN	32	/* RFC 8032 §5.1.5 public key */

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
	kr->testing = kr->t.p && tagvalue_list_has(kr->t, "y");
	kr->strict = kr->t.p && tagvalue_list_has(kr->t, "s");
	kr->hash_sha256_ok = kr->h.p == NULL || tagvalue_list_has(kr->h, "sha256");
	kr->service_email_ok = kr->s.p == NULL || tagvalue_list_has(kr->s, "*") ||
	    tagvalue_list_has(kr->s, "email");
	return 0;
}

/* A DER element: tag, then contents [p, p + len). */
struct dkim_der {
	unsigned char tag;
	const unsigned char *p;
	size_t len;
};

/* dkim_der_next - read one element of definite length at *in; 0 or -1 */
static int
dkim_der_next(const unsigned char **in, const unsigned char *end, struct dkim_der *d)
{
	const unsigned char *q = *in;
	size_t len;

	if (end - q < 2)
		return -1;
	d->tag = *q++;
	len = *q++;
	if (len & 0x80) {
		size_t n = len & 0x7f;

		if (n == 0 || n > 3 || (size_t)(end - q) < n)
			return -1;
		for (len = 0; n; n--)
			len = (len << 8) | *q++;
	}
	if ((size_t)(end - q) < len)
		return -1;
	d->p = q;
	d->len = len;
	*in = q + len;
	return 0;
}

/* dkim_der_rsa_ne - RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER } (RFC 8017 A.1.1) */
static int
dkim_der_rsa_ne(const unsigned char *p, size_t len, struct dkim_der *n, struct dkim_der *e)
{
	const unsigned char *end = p + len;
	struct dkim_der seq;

	if (dkim_der_next(&p, end, &seq) < 0 || seq.tag != 0x30 || p != end)
		return -1;
	p = seq.p;
	end = seq.p + seq.len;
	if (dkim_der_next(&p, end, n) < 0 || n->tag != 0x02 ||
	    dkim_der_next(&p, end, e) < 0 || e->tag != 0x02 || p != end)
		return -1;
	return 0;
}

/* dkim_der_spki_rsa - the RSAPublicKey inside an rsaEncryption SubjectPublicKeyInfo (RFC 5280 §4.1) */
static int
dkim_der_spki_rsa(const unsigned char *p, size_t len, const unsigned char **key, size_t *klen)
{
	static const unsigned char rsa_oid[] = {
		0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
	};
	const unsigned char *end = p + len, *a;
	struct dkim_der spki, alg, oid, bits;

	if (dkim_der_next(&p, end, &spki) < 0 || spki.tag != 0x30 || p != end)
		return -1;
	p = spki.p;
	end = spki.p + spki.len;
	if (dkim_der_next(&p, end, &alg) < 0 || alg.tag != 0x30 ||
	    dkim_der_next(&p, end, &bits) < 0 || bits.tag != 0x03 || p != end)
		return -1;
	a = alg.p;
	if (dkim_der_next(&a, alg.p + alg.len, &oid) < 0 || oid.tag != 0x06 ||
	    oid.len != sizeof(rsa_oid) || memcmp(oid.p, rsa_oid, sizeof(rsa_oid)) != 0)
		return -1;
	if (bits.len < 1 || bits.p[0] != 0)
		return -1;	/* unused-bits octet must be 0 */
	*key = bits.p + 1;
	*klen = bits.len - 1;
	return 0;
}

/* dkim_keyrec_rsa_fast - n and e straight into EVP_PKEY_fromdata (the decoder path costs ~30x more) */
static EVP_PKEY *
dkim_keyrec_rsa_fast(const unsigned char *der, size_t n)
{
	const unsigned char *key = der;
	size_t klen = n;
	struct dkim_der dn, de;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (dkim_der_spki_rsa(der, n, &key, &klen) < 0) {
		key = der;
		klen = n;
	}
	if (dkim_der_rsa_ne(key, klen, &dn, &de) < 0)
		return NULL;
	bn = BN_bin2bn(dn.p, (int)dn.len, NULL);
	be = BN_bin2bn(de.p, (int)de.len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

/* dkim_keyrec_rsa - RSA public key from DER: SubjectPublicKeyInfo, or bare PKCS#1 */
static EVP_PKEY *
dkim_keyrec_rsa(const unsigned char *der, long n)
{
	const unsigned char *q = der;
	EVP_PKEY *pk = dkim_keyrec_rsa_fast(der, (size_t)n);

	if (pk)
		return pk;
	/* unusual encodings: let OpenSSL's decoders try */
	pk = d2i_PUBKEY(NULL, &q, n);
	if (pk && (!EVP_PKEY_is_a(pk, "RSA") || q != der + n)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL) {
		q = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, n);
	}
	if (pk && q != der + n) {
		EVP_PKEY_free(pk);	/* trailing bytes after the key */
		pk = NULL;
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
	int type;
	EVP_PKEY *pk = NULL;

	if (kr->revoked) {
		*why = "key revoked (empty p=)";
		return NULL;
	}
	if (kr->k.p == NULL || span_eq_ci(kr->k, "rsa")) {
		type = EVP_PKEY_RSA;
	} else if (span_eq_ci(kr->k, "ed25519")) {
		type = EVP_PKEY_ED25519;
	} else {
		*why = "unknown key type (k=)";
		return NULL;
	}
	if ((pk = dkim_keycache_get(type, kr->p)) != NULL)
		return pk;
	n = dkim_b64_decode(kr->p, der, sizeof(der));
	if (n <= 0) {
		*why = "key record p= is not valid base64";
		return NULL;
	}
	if (type == EVP_PKEY_RSA)
		pk = dkim_keyrec_rsa(der, n);
	else if (n == DKIM_ED25519_KEY_LEN)
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n);
	if (pk == NULL) {
		*why = "key record p= is not a valid public key";
		return NULL;
	}
	dkim_keycache_put(type, kr->p, pk);
	return pk;
}

/* dkim_key_alg_of - the signing algorithm a private key implies; 0 or -1 */
int
dkim_key_alg_of(EVP_PKEY *pkey, enum dkim_alg *alg)
{
	int type = dkim_crypto_key_type(pkey);

	if (type == EVP_PKEY_RSA)
		*alg = DKIM_ALG_RSA_SHA256;
	else if (type == EVP_PKEY_ED25519)
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

/* dkim_key_no_passphrase - PEM callback: encrypted keys are refused, never prompted for */
static int
dkim_key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* dkim_key_parse_der_or_seed - base64 DER private key, or a raw 32-byte Ed25519 seed */
static EVP_PKEY *
dkim_key_parse_der_or_seed(struct span text)
{
	unsigned char *der = xmalloc(text.len + 1);
	const unsigned char *p = der;
	long n = dkim_b64_decode(text, der, text.len + 1);
	EVP_PKEY *key = NULL;

	if (n == DKIM_ED25519_KEY_LEN)	/* RFC 8032 §5.1.5 secret key, as dkimpy's dknewkey writes it */
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, der, (size_t)n);
	else if (n > 0)
		key = d2i_AutoPrivateKey(NULL, &p, n);
	OPENSSL_cleanse(der, text.len + 1);
	free(der);
	return key;
}

/* dkim_key_parse_private - PEM (PKCS#1, PKCS#8), base64 DER or dkimpy's Ed25519 seed (see dkim.h) */
EVP_PKEY *
dkim_key_parse_private(struct span text)
{
	BIO *bio;
	EVP_PKEY *key;

	if (text.len > DKIM_KEYFILE_SIZE_LIMIT ||
	    (bio = BIO_new_mem_buf(text.p, (int)text.len)) == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, dkim_key_no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL && memmem(text.p, text.len, "-----", 5) == NULL)
		key = dkim_key_parse_der_or_seed(text);
	ERR_clear_error();
	return key;
}

/* dkim_key_user_name - the name of the effective user, for chown advice */
static void
dkim_key_user_name(char *out, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(out, n, "%s", pw->pw_name);
	else
		snprintf(out, n, "%u", (unsigned)geteuid());
}

/* dkim_key_open - open and stat a key file; -1 with what to run to fix it */
static int
dkim_key_open(const char *path, struct stat *st, struct buf *err)
{
	char who[64];
	/* O_NONBLOCK: a FIFO at the path must not hang the start-up or -t */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		int e = errno;

		if (e == EACCES) {
			dkim_key_user_name(who, sizeof(who));
			buf_printf(err, "%s: cannot open key file as user %s: %s; run: "
			    "chown %s '%s' && chmod 600 '%s'", path, who, strerror(e), who,
			    path, path);
		} else
			buf_printf(err, "%s: cannot open key file: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		buf_printf(err, "%s: not a regular file (a key file must be one)", path);
		close(fd);
		return -1;
	}
	if (st->st_size > DKIM_KEYFILE_SIZE_LIMIT) {
		buf_printf(err, "%s: larger than %d bytes, not a key", path,
		    DKIM_KEYFILE_SIZE_LIMIT);
		close(fd);
		return -1;
	}
	return fd;
}

/* dkim_key_mode_ok - refuse group/other access (OpenDKIM "key data is not secure"), or only warn */
static bool
dkim_key_mode_ok(const char *path, const struct stat *st, bool allow_insecure,
    struct buf *err)
{
	unsigned mode = (unsigned)st->st_mode & 07777;

	if ((mode & (S_IRWXG | S_IRWXO)) == 0)
		return true;
	buf_printf(err, "%s: accessible by group or other (mode %04o): key data is "
	    "not secure; run: chmod 600 '%s'", path, mode, path);
	if (!allow_insecure)
		return false;
	log_warn("%s", buf_cstr(err));
	buf_reset(err);
	return true;
}

/* dkim_key_read_all - the whole (small, bounded) file */
static ssize_t
dkim_key_read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* dkim_key_load_file - read a private key file with the file checks (see dkim.h) */
EVP_PKEY *
dkim_key_load_file(const char *path, bool allow_insecure, struct buf *err)
{
	char *text;
	struct stat st;
	EVP_PKEY *key;
	ssize_t n;
	int fd = dkim_key_open(path, &st, err);

	if (fd < 0)
		return NULL;
	if (!dkim_key_mode_ok(path, &st, allow_insecure, err)) {
		close(fd);
		return NULL;
	}
	text = xmalloc(DKIM_KEYFILE_SIZE_LIMIT + 1);
	n = dkim_key_read_all(fd, text, DKIM_KEYFILE_SIZE_LIMIT);
	close(fd);
	if (n < 0) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		free(text);
		return NULL;
	}
	key = dkim_key_parse_private((struct span){ text, (size_t)n });
	OPENSSL_cleanse(text, (size_t)n);
	free(text);
	if (key == NULL)
		buf_printf(err, "%s: not a PEM private key (or it is encrypted); make "
		    "one with: reinject keygen", path);
	return key;
}

/* dkim_key_load_private - load and check a private key file (see dkim.h) */
EVP_PKEY *
dkim_key_load_private(const char *path, bool alg_known, enum dkim_alg alg,
    unsigned min_bits, struct buf *err)
{
	EVP_PKEY *pk = dkim_key_load_file(path, false, err);
	struct buf why;

	if (pk == NULL)
		return NULL;
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

/*
 * dkim_key_public_b64 - the p= value of a key appended to out: the bare
 * 32-byte key for Ed25519 (RFC 8463 §4), DER SubjectPublicKeyInfo for RSA
 * (RFC 6376 §3.6.1, as every signer publishes); 0/-1
 */
int
dkim_key_public_b64(EVP_PKEY *pkey, struct buf *out)
{
	unsigned char raw[DKIM_ED25519_KEY_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	int n, rc;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			return -1;
		return dkim_b64_encode(raw, rawlen, out);
	}
	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return -1;
	rc = dkim_b64_encode(der, (size_t)n, out);
	OPENSSL_free(der);
	return rc;
}

/* dkim_key_public_record - "v=DKIM1; k=rsa|ed25519; p=<base64>" for a key; 0/-1 */
int
dkim_key_public_record(EVP_PKEY *pkey, struct buf *out)
{
	enum dkim_alg alg;

	if (dkim_key_alg_of(pkey, &alg) < 0)
		return -1;
	buf_printf(out, "v=DKIM1; k=%s; p=", alg == DKIM_ALG_ED25519_SHA256 ?
	    "ed25519" : "rsa");
	return dkim_key_public_b64(pkey, out);
}

/* dkim_key_matches - true if the public halves of a and b are the same key */
bool
dkim_key_matches(EVP_PKEY *a, EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}
