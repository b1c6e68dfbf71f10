/*
 * dkim_table.h - DKIM signing configuration read from OpenDKIM's own file formats.
 *
 * Administrators copy their OpenDKIM files unchanged (opendkim.conf(5), opendkim(8)
 * "DATA SETS"):
 *  - KeyTable:     `name  domain:selector:keyfile[:algorithm]`.  A domain of "%" is
 *                  replaced by the sender's domain; a "%" in the key path too (that
 *                  key is then loaded, checked and cached at first use).  The key is a
 *                  path (starting with "/", "./" or "../") or an inline base64 DER key.
 *                  The optional fourth field ("rsa-sha256" or "ed25519-sha256") is our
 *                  extension: OpenDKIM sets one algorithm for all keys; here each key
 *                  declares its own (default: taken from the key), so dual signing is
 *                  two keys for one domain, both listed in the SigningTable.
 *  - SigningTable: `pattern keyname [signer]`; a plain table ("file:" or a path) is
 *                  looked up in OpenDKIM's order (user@host, host, user@.domain and
 *                  .domain for each parent, user@*, *); a "refile:" table holds
 *                  wildcard patterns ("*@example.com", "*.example.com") tried in file
 *                  order.  A keyname of "%" is the sender's domain; a "%" in the
 *                  signer (i=) is replaced by it.
 *  - Host lists:   InternalHosts / ExternalIgnoreList / PeerList form: host names,
 *                  ".domain", IPv4/IPv6 addresses (brackets allowed), CIDR blocks,
 *                  "!" negation; the most precise entry wins, a negation on a tie.
 *  - Simple form:  one domain, one selector, one key file (OpenDKIM's Domain,
 *                  Selector, KeyFile and SubDomains).
 *
 * Everything is validated at load: a malformed line, an unknown key name, a missing,
 * unreadable, unparsable, weak or insecure key file, or a conflicting entry is an
 * error naming file and line.  Key files readable or writable by group or other are
 * refused (OpenDKIM's RequireSafeKeys, "key data is not secure") with the exact chmod
 * to run.
 *
 * Lookup: the caller passes the address it signs for (From: or envelope sender, as
 * its configuration says) and gets the list of signers.  Without
 * multiple_signatures, only the first matching pattern applies, but every line of
 * that pattern does (one key per algorithm: dual signing).  A table is not
 * thread-safe (the per-domain key cache); each worker process has its own.
 */
#ifndef MAILAUTH_DKIM_TABLE_H
#define MAILAUTH_DKIM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dkim.h"
#include "util.h"

/* RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits. */
#define DKIM_TABLE_RSA_MIN_BITS		1024
/* RFC 8301 §3.2: verifiers need only handle keys up to 4096 bits. */
#define DKIM_TABLE_RSA_MAX_BITS		4096
/* Longest line accepted in a table file (an inline 4096-bit DER key fits). */
#define DKIM_TABLE_LINE_MAX		8192
/* RFC 5321 §4.5.3.1.2: a domain name is at most 255 octets. */
#define DKIM_TABLE_DOMAIN_MAX		255
/* RFC 5321 §4.5.3.1.1: a local part is at most 64 octets. */
#define DKIM_TABLE_LOCAL_MAX		64
/* Signatures added to one message at most (dual signing, several domains). */
#define DKIM_TABLE_SIGNERS_MAX		8
/* Room for the error messages of a table, each naming file, line and the fix. */
#define DKIM_TABLE_ERR_MAX		8192


/* ---- key files (dkim_table_key.c) ---- */

struct dkim_table_key_opts {
	bool allow_insecure;	/* RequireSafeKeys=false: group/other bits only warned */
};

/*
 * dkim_table_key_load_file - read and check a private key file: regular, readable,
 * not accessible by group/other, PEM (or dkimpy's base64 Ed25519 seed), of the
 * declared algorithm (*alg in; when !*declared it is set from the key), RSA size in
 * range.  NULL and err set (the path and what to run) on failure.
 */
EVP_PKEY *dkim_table_key_load_file(const char *path, bool declared,
    enum dkim_alg *alg, const struct dkim_table_key_opts *opts,
    char *err, size_t errsz);
/* dkim_table_key_load_inline - an inline base64 DER (or PEM) key from a KeyTable */
EVP_PKEY *dkim_table_key_load_inline(struct span text, bool declared,
    enum dkim_alg *alg, char *err, size_t errsz);
/* dkim_table_key_check - algorithm and size checks shared by both loaders */
int dkim_table_key_check(EVP_PKEY *key, bool declared, enum dkim_alg *alg,
    char *err, size_t errsz);

/* ---- host lists (dkim_table_host.c) ---- */

struct dkim_hostlist;

/*
 * dkim_table_host_load - a host list from a data set spec: "file:/path", "/path",
 * "csl:a,b" or an inline comma-separated list ("127.0.0.1,::1,10.0.0.0/8").
 */
struct dkim_hostlist *dkim_table_host_load(const char *spec, char *err,
    size_t errsz);
/* dkim_table_host_free - release a host list */
void dkim_table_host_free(struct dkim_hostlist *l);
/* dkim_table_host_count - number of entries */
size_t dkim_table_host_count(const struct dkim_hostlist *l);
/*
 * dkim_table_host_match - is the client in the list?  hostname (or NULL, or
 * "unknown") is tried first, then the address (family AF_INET / AF_INET6, raw bytes;
 * an IPv4-mapped IPv6 address is also tried as IPv4).
 */
bool dkim_table_host_match(const struct dkim_hostlist *l, const char *hostname,
    int family, const void *addr);
/*
 * dkim_table_host_match_text - the same with the address in text form, as Postfix's
 * XFORWARD ADDR gives it ("192.0.2.1", "2001:db8::1", "IPv6:2001:db8::1",
 * "[192.0.2.1]"); false when the text is not an address and no name matched.
 */
bool dkim_table_host_match_text(const struct dkim_hostlist *l,
    const char *hostname, const char *addr);

/* ---- the signing table (dkim_table.c, dkim_table_sign.c) ---- */

struct dkim_table_config {
	const char *key_table;		/* data set: "file:/p", "/p"; NULL: simple form */
	const char *signing_table;	/* "file:/p", "/p", "refile:/p" */
	bool multiple_signatures;	/* OpenDKIM MultipleSignatures */
	/* simple single-domain form, used when key_table is NULL */
	const char *domain;		/* one domain, or several separated by "," */
	const char *selector;
	const char *key_file;
	const char *algorithm;		/* NULL: from the key */
	bool subdomains;		/* OpenDKIM SubDomains: sign *.domain too */
	struct dkim_table_key_opts key_opts;
};

struct dkim_signer {
	const char *keyname;
	char domain[DKIM_TABLE_DOMAIN_MAX + 1];	/* d=, after "%" substitution */
	const char *selector;			/* s= */
	char identity[DKIM_TABLE_LOCAL_MAX + 1 + DKIM_TABLE_DOMAIN_MAX + 1]; /* i=, or "" */
	enum dkim_alg alg;		/* a= */
	EVP_PKEY *key;				/* borrowed from the table */
};

struct dkim_signers {
	size_t n;
	struct dkim_signer v[DKIM_TABLE_SIGNERS_MAX];
};

struct dkim_table;

/* dkim_table_load - read and validate the tables; NULL and err ("file:line: why") */
struct dkim_table *dkim_table_load(const struct dkim_table_config *cfg, char *err,
    size_t errsz);
/* dkim_table_free - release the tables and every key */
void dkim_table_free(struct dkim_table *t);
/* dkim_table_key_count - KeyTable entries loaded */
size_t dkim_table_key_count(const struct dkim_table *t);

/* One KeyTable entry as loaded, for tools that check every key (borrowed). */
struct dkim_table_key_info {
	const char *name;
	const char *domain;	/* "%" = the sender's domain */
	const char *selector;
	const char *path;	/* NULL for an inline key */
	enum dkim_alg alg;
	EVP_PKEY *key;		/* NULL while the path holds "%" */
};
/* dkim_table_key_get - entry i (0 .. key_count - 1); -1 past the end */
int dkim_table_key_get(const struct dkim_table *t, size_t i,
    struct dkim_table_key_info *out);
/*
 * dkim_table_key_switch - entry i (a loaded key, not a "%" path) signs from
 * now on as selector with key, of the same algorithm (key rollover); the
 * table takes a reference of its own.  0, or -1 when i does not fit.
 */
int dkim_table_key_switch(struct dkim_table *t, size_t i, const char *selector,
    EVP_PKEY *key, enum dkim_alg alg);
/* dkim_table_label_ok - a domain or selector of at most max bytes (RFC 6376 §3.1) */
bool dkim_table_label_ok(struct span s, size_t max);

/*
 * dkim_table_lookup - signers for a sender address ("user@domain", no angle
 * brackets, matched case-insensitively).  0 with out->n == 0 when nothing matches;
 * -1 and err when a match names a key that cannot be used (a "%" key whose file
 * for this domain is missing or insecure): the caller must not sign and should
 * defer or log as its policy says.
 */
int dkim_table_lookup(struct dkim_table *t, struct span addr,
    struct dkim_signers *out, char *err, size_t errsz);

#endif
