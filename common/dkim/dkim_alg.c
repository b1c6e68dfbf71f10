/*
 * dkim_alg.c - DKIM signing algorithm names (RFC 6376 §3.3, RFC 8463 §3,
 * RFC 8301 §3.1) and their hash functions.
 */
#include "dkim_int.h"

static const struct {
	enum dkim_alg alg;
	const char *name;
} dkim_alg_names[] = {
	{ DKIM_ALG_RSA_SHA256, "rsa-sha256" },
	{ DKIM_ALG_ED25519_SHA256, "ed25519-sha256" },
	{ DKIM_ALG_RSA_SHA1, "rsa-sha1" },
};

/* dkim_alg_str - "rsa-sha256", ... */
const char *
dkim_alg_str(enum dkim_alg a)
{
	for (size_t i = 0; i < ARRAY_LEN(dkim_alg_names); i++)
		if (dkim_alg_names[i].alg == a)
			return dkim_alg_names[i].name;
	return "unknown";
}

/* dkim_alg_parse - "rsa-sha256" -> alg (case-insensitive); 0 or -1 */
int
dkim_alg_parse(struct span s, enum dkim_alg *alg)
{
	for (size_t i = 0; i < ARRAY_LEN(dkim_alg_names); i++) {
		if (span_eq_ci(s, dkim_alg_names[i].name)) {
			*alg = dkim_alg_names[i].alg;
			return 0;
		}
	}
	return -1;
}

/*
 * dkim_alg_md - the hash function of an algorithm, fetched from the default
 * provider once (EVP_sha256() would look it up again on every use).  The
 * daemons are single-threaded; a race on first use would only leak a fetch.
 */
const EVP_MD *
dkim_alg_md(enum dkim_alg a)
{
	static EVP_MD *sha1, *sha256;
	EVP_MD **md = a == DKIM_ALG_RSA_SHA1 ? &sha1 : &sha256;

	if (*md == NULL)
		*md = EVP_MD_fetch(NULL, a == DKIM_ALG_RSA_SHA1 ? "SHA1" : "SHA256", NULL);
	if (*md == NULL)
		return a == DKIM_ALG_RSA_SHA1 ? EVP_sha1() : EVP_sha256();
	return *md;
}

/* dkim_alg_is_rsa - rsa-sha256 or rsa-sha1 */
bool
dkim_alg_is_rsa(enum dkim_alg a)
{
	return a == DKIM_ALG_RSA_SHA256 || a == DKIM_ALG_RSA_SHA1;
}
