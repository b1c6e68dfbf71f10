/*
 * dkim_table_key.c - private key files for signing: read, check, describe.
 *
 * A key is refused unless it is a regular file this process can read, not
 * accessible by group or other (OpenDKIM's RequireSafeKeys: "key data is not
 * secure"), PEM (PKCS#1 or PKCS#8; dkimpy's base64 Ed25519 seed is accepted too),
 * of the algorithm declared for it, and for RSA between 1024 (RFC 8301 §3.2) and
 * 4096 bits.  Every message says what to run to fix it.
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

static const char *const alg_names[] = {
	[DKIM_ALG_RSA_SHA256] = "rsa-sha256",
	[DKIM_ALG_ED25519_SHA256] = "ed25519-sha256",
};

/* dkim_table_alg_name - "rsa-sha256" / "ed25519-sha256" (the a= value) */
const char *
dkim_table_alg_name(enum dkim_alg alg)
{
	return (size_t)alg < ARRAY_LEN(alg_names) && alg_names[alg] != NULL ?
	    alg_names[alg] : "unsupported";
}

/* dkim_table_alg_parse - a= name to enum; -1 when unknown */
int
dkim_table_alg_parse(struct span s, enum dkim_alg *out)
{
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++)
		if (alg_names[i] != NULL && s.len == strlen(alg_names[i]) && span_eq_ci(s, alg_names[i])) {
			*out = (enum dkim_alg)i;
			return 0;
		}
	return -1;
}

/* no_passphrase - PEM callback: encrypted keys are refused, never prompted for */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* b64_decode - base64 with whitespace to bytes; NULL on bad text */
static unsigned char *
b64_decode(struct span text, size_t *outlen)
{
	char *clean = xmalloc(text.len + 1);
	size_t n = 0, pad = 0;
	unsigned char *out;
	int got;

	for (size_t i = 0; i < text.len; i++)
		if (text.p[i] != ' ' && text.p[i] != '\t' && text.p[i] != '\r' &&
		    text.p[i] != '\n')
			clean[n++] = text.p[i];
	if (n == 0 || n % 4 != 0) {
		free(clean);
		return NULL;
	}
	while (pad < 2 && clean[n - 1 - pad] == '=')
		pad++;
	out = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	free(clean);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)got - pad;
	return out;
}

/* parse_der_or_seed - base64 DER private key, or a raw 32-byte Ed25519 seed */
static EVP_PKEY *
parse_der_or_seed(struct span text)
{
	size_t n;
	unsigned char *der = b64_decode(text, &n);
	const unsigned char *p = der;
	EVP_PKEY *key = NULL;

	if (der == NULL)
		return NULL;
	if (n == 32)	/* RFC 8032 §5.1.5 secret key, as dkimpy's dknewkey writes it */
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, der, n);
	else
		key = d2i_AutoPrivateKey(NULL, &p, (long)n);
	OPENSSL_cleanse(der, n);
	free(der);
	return key;
}

/* parse_key - PEM first, then the base64 forms */
static EVP_PKEY *
parse_key(struct span text)
{
	BIO *bio = BIO_new_mem_buf(text.p, (int)text.len);
	EVP_PKEY *key;

	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (key == NULL && memmem(text.p, text.len, "-----", 5) == NULL)
		key = parse_der_or_seed(text);
	return key;
}

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
		    dkim_table_alg_name(*alg));
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

/* user_name - the name of the effective user, for chown advice */
static void
user_name(char *out, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(out, n, "%s", pw->pw_name);
	else
		snprintf(out, n, "%u", (unsigned)geteuid());
}

/* open_key - open and stat with an actionable message on failure */
static int
open_key(const char *path, struct stat *st, char *err, size_t errsz)
{
	char who[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		user_name(who, sizeof(who));
		if (e == EACCES)
			snprintf(err, errsz, "key file %s: cannot read as user %s: %s; "
			    "run: chown %s %s && chmod 600 %s", path, who, strerror(e),
			    who, path, path);
		else
			snprintf(err, errsz, "key file %s: %s", path, strerror(e));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errsz, "key file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st->st_size > DKIM_TABLE_KEYFILE_SIZE_LIMIT) {
		snprintf(err, errsz, "key file %s: larger than %d bytes, not a key",
		    path, DKIM_TABLE_KEYFILE_SIZE_LIMIT);
		close(fd);
		return -1;
	}
	return fd;
}

/* check_mode - refuse group/other access (RequireSafeKeys) */
static int
check_mode(const char *path, const struct stat *st,
    const struct dkim_table_key_opts *opts, char *err, size_t errsz)
{
	unsigned mode = (unsigned)st->st_mode & 07777;

	if ((mode & (S_IRWXG | S_IRWXO)) == 0)
		return 0;
	snprintf(err, errsz, "key file %s is accessible by group or other (mode "
	    "%04o): key data is not secure; run: chmod 600 %s", path, mode, path);
	if (opts != NULL && opts->allow_insecure) {
		log_warn("%s", err);
		return 0;
	}
	return -1;
}

/* read_all - the whole (small, bounded) file */
static ssize_t
read_all(int fd, char *buf, size_t cap)
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

/* dkim_table_key_load_file - read and check a private key file */
EVP_PKEY *
dkim_table_key_load_file(const char *path, bool declared,
    enum dkim_alg *alg, const struct dkim_table_key_opts *opts,
    char *err, size_t errsz)
{
	char buf[DKIM_TABLE_KEYFILE_SIZE_LIMIT + 1];
	char why[DKIM_TABLE_ERR_MAX];
	struct stat st;
	EVP_PKEY *key = NULL;
	ssize_t n;
	int fd = open_key(path, &st, err, errsz);

	if (fd < 0)
		return NULL;
	if (check_mode(path, &st, opts, err, errsz) < 0) {
		close(fd);
		return NULL;
	}
	n = read_all(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errsz, "key file %s: %s", path, strerror(errno));
		return NULL;
	}
	key = parse_key((struct span){ buf, (size_t)n });
	OPENSSL_cleanse(buf, sizeof(buf));
	if (key == NULL) {
		snprintf(err, errsz, "key file %s: not a PEM private key (or it is "
		    "encrypted); make one with: reinject keygen", path);
		return NULL;
	}
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
	EVP_PKEY *key = parse_key(text);

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

/* dkim_table_key_public_b64 - p= value (base64 SubjectPublicKeyInfo or raw ed25519) */
char *
dkim_table_key_public_b64(EVP_PKEY *key, enum dkim_alg alg)
{
	unsigned char raw[32], *der = NULL;
	const unsigned char *bin = raw;
	size_t n = sizeof(raw);
	char *out;
	int len;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §4: the bare 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(key, raw, &n) != 1)
			return NULL;
	} else {
		/* RFC 6376 §3.6.1: DER SubjectPublicKeyInfo, as every signer publishes */
		len = i2d_PUBKEY(key, &der);
		if (len <= 0)
			return NULL;
		bin = der;
		n = (size_t)len;
	}
	out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, bin, (int)n);
	OPENSSL_free(der);
	return out;
}
