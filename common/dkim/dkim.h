/*
 * dkim.h - DKIM signing and verification (RFC 6376, RFC 8301, RFC 8463).
 *
 * Streaming: a message is fed either as raw chunks (dkim_*_chunk, split by
 * common/msg) or as already-split header fields and body chunks
 * (dkim_*_header / dkim_*_eoh / dkim_*_body), never both for one object.
 * The body is canonicalised and hashed as it arrives; it is never buffered.
 * Header fields are kept (bounded by the msg limits) because h= may name any.
 *
 * Canonicalisation notes: lines end at CRLF only (a lone CR or LF is line
 * content); relaxed body canonicalisation drops whitespace at the end of an
 * unterminated last line too (as Mail::DKIM does; dkimpy 1.1 keeps one
 * SP there, so such bodies hash differently in dkimpy).
 *
 * Algorithms: rsa-sha256 and ed25519-sha256 (RFC 8463: Ed25519 over the
 * SHA-256 of the signing input) through OpenSSL 3 EVP.  rsa-sha1 verifies to
 * FAIL (RFC 8301 §3.1) and is never produced.  RSA keys below
 * DKIM_RSA_MIN_BITS are refused for signing and verifying (RFC 8301 §3.2).
 *
 * Files: dkim_sig.c (DKIM-Signature parse), dkim_key.c (key records, private
 * key loading and checks), dkim_canon.c (header/body canonicalisation),
 * dkim_bodyhash.c (streaming body hashes), dkim_hdr.c (header selection, h=
 * lists), dkim_verify.c, dkim_sign.c, dkim_b64.c (base64).
 */
#ifndef MAILAUTH_DKIM_H
#define MAILAUTH_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dns.h"
#include "msg.h"

/* ---- named limits ---- */

#define DKIM_RSA_MIN_BITS	1024	/* RFC 8301 §3.2: verifiers and signers */
#define DKIM_SIG_LIMIT		10	/* signatures evaluated per message (RFC 6376 §6.1 allows a cap) */
#define DKIM_DNS_QUERY_LIMIT	10	/* key lookups per message */
#define DKIM_CLOCK_SKEW		300	/* seconds: t= in the future tolerated, x= grace */
#define DKIM_B_PREFIX_LEN	8	/* first bytes of b= reported (RFC 6008 header.b min is 8) */
#define DKIM_KEY_RECORD_MAX	4096	/* bytes of one key TXT record (concatenated strings) */
#define DKIM_KEY_CACHE_SIZE	64	/* public keys of recent key records kept decoded (dkim_keycache.c) */
#define DKIM_SIG_FIELD_MAX	8192	/* bytes of one DKIM-Signature field */

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,	/* verification only, always FAIL (RFC 8301) */
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

/* ---- verification ---- */

/* RFC 8601 §2.7.1 result words. */
enum dkim_result {
	DKIM_RESULT_NONE,	/* no signature (never in a per-signature report) */
	DKIM_RESULT_PASS,
	DKIM_RESULT_FAIL,
	DKIM_RESULT_NEUTRAL,	/* not evaluated (signature cap reached) */
	DKIM_RESULT_TEMPERROR,	/* key lookup failed temporarily (timeout, SERVFAIL) */
	DKIM_RESULT_PERMERROR,	/* malformed signature or key, no key, revoked key ... */
	DKIM_RESULT_POLICY,	/* valid-looking but refused: expired x=, t= in the future */
};

/* Why a FAIL failed (RFC 6376 §6.1.3: body hash vs signature). */
enum dkim_fail {
	DKIM_FAIL_NONE,
	DKIM_FAIL_BODY_HASH,	/* computed body hash != bh= */
	DKIM_FAIL_SIGNATURE,	/* b= does not verify over the header hash */
	DKIM_FAIL_WEAK_ALG,	/* rsa-sha1 (RFC 8301 §3.1) */
	DKIM_FAIL_KEY_TOO_SHORT,	/* RSA key < rsa_min_bits (RFC 8301 §3.2) */
};

/* Zero in a count or size field means its default. */
struct dkim_limits {
	unsigned sig_limit;		/* default DKIM_SIG_LIMIT */
	unsigned dns_query_limit;	/* default DKIM_DNS_QUERY_LIMIT */
	unsigned rsa_min_bits;		/* default DKIM_RSA_MIN_BITS; never below it */
	unsigned clock_skew;		/* default DKIM_CLOCK_SKEW (0 is honoured: no tolerance) */
	struct msg_limits msg;		/* header bounds, for the _chunk interface and storage */
	unsigned msg_flags;		/* MSG_BARE_LF_OK for the _chunk interface; default 0 */
};

/*
 * One signature's outcome.  All strings are NUL-terminated, owned by the
 * verifier and valid until dkim_verify_free(); absent ones are "".
 */
struct dkim_sig_result {
	enum dkim_result result;
	enum dkim_fail fail;		/* set when result == FAIL */
	const char *reason;		/* human-readable why (static text), never NULL */
	unsigned index;			/* 0-based position among DKIM-Signature fields, top first */
	const char *domain;		/* d= */
	const char *selector;		/* s= */
	const char *identity;		/* i= as written, or "@" d= when absent */
	const char *algorithm;		/* a= as written */
	char b_prefix[DKIM_B_PREFIX_LEN + 1];	/* first bytes of b=, FWS removed */
	bool has_length;		/* l= present: content after it is unsigned */
	uint64_t length;		/* l= value */
	uint64_t body_length;		/* canonical body bytes seen (for l= < body reporting) */
	time_t timestamp;		/* t=, or -1 */
	time_t expiration;		/* x=, or -1 */
	enum dns_sec key_sec;		/* DNSSEC status of the key lookup */
	bool key_testing;		/* key t=y: domain is testing DKIM */
	unsigned key_bits;		/* RSA modulus bits, 256 for ed25519, 0 if no key */
};

typedef void (*dkim_verify_cb)(void *arg, const struct dkim_sig_result *res,
    size_t count);

struct dkim_verify;

/* dkim_limits_default - the named defaults */
void dkim_limits_default(struct dkim_limits *l);

/* dkim_verify_new - a verifier using resolver r (borrowed; NULL: every key lookup is a temperror); limits NULL = defaults */
struct dkim_verify *dkim_verify_new(struct dns_resolver *r,
    const struct dkim_limits *limits);
/* dkim_verify_set_time - "now" for x=/t= checks (tests); default time() at finish */
void dkim_verify_set_time(struct dkim_verify *v, time_t now);
/* dkim_verify_chunk - raw message bytes, any split; 0 or -1 (message unusable) */
int dkim_verify_chunk(struct dkim_verify *v, const char *p, size_t len);
/* dkim_verify_header - one complete raw field (folding and final CRLF included); 0/-1 */
int dkim_verify_header(struct dkim_verify *v, const char *field, size_t len);
/* dkim_verify_eoh - end of header section; starts the key lookups; 0/-1 */
int dkim_verify_eoh(struct dkim_verify *v);
/* dkim_verify_body - body bytes, any split; 0/-1 */
int dkim_verify_body(struct dkim_verify *v, const char *p, size_t len);
/*
 * dkim_verify_finish - end of message.  cb runs exactly once with one result
 * per DKIM-Signature field in message order (count 0: unsigned message), when
 * every key lookup has answered: possibly before this returns (synchronous
 * resolver), otherwise from the event loop.  Returns -1 (cb not called) only
 * if the message itself was unusable (msg error, see dkim_verify_error).
 * Freeing the verifier before cb ran cancels the lookups; cb never runs.
 * cb may free the verifier (nothing touches it after cb returns).
 */
int dkim_verify_finish(struct dkim_verify *v, dkim_verify_cb cb, void *arg);
/* dkim_verify_error - static reason of an input error, NULL if none */
const char *dkim_verify_error(const struct dkim_verify *v);
/* dkim_verify_free - destroy, cancelling pending lookups */
void dkim_verify_free(struct dkim_verify *v);

const char *dkim_result_str(enum dkim_result r);	/* "pass", "fail", ... (RFC 8601) */
const char *dkim_fail_str(enum dkim_fail f);

/* ---- signing ---- */

enum dkim_oversign {
	DKIM_OVERSIGN_NONE,
	DKIM_OVERSIGN_ALWAYS,		/* one extra h= entry per oversign name, present or not */
	DKIM_OVERSIGN_IF_PRESENT,	/* one extra entry only for names present */
};

/* Default signed headers: OpenDKIM's list plus Message-ID and the MIME headers. */
extern const char *const dkim_default_sign_headers[];
/* Default oversigned headers (RFC 6376 §8.15 names). */
extern const char *const dkim_default_oversign_headers[];

struct dkim_sign_config {
	EVP_PKEY *key;			/* borrowed; the signer takes its own reference */
	enum dkim_alg alg;		/* RSA_SHA256 or ED25519_SHA256 */
	const char *domain;		/* d= */
	const char *selector;		/* s= */
	const char *identity;		/* i=; NULL: omitted */
	enum dkim_canon header_canon;	/* default relaxed */
	enum dkim_canon body_canon;	/* default relaxed */
	const char *const *headers;	/* NULL-terminated names; NULL: the default list */
	const char *const *oversign;	/* NULL-terminated; NULL: the default list */
	enum dkim_oversign oversign_mode;	/* default IF_PRESENT */
	time_t timestamp;		/* t=; 0: time() at finish; -1: no t= */
	unsigned expire_after;		/* x= = t= + this; 0: no x= */
	struct msg_limits msg;		/* for the _chunk interface and header storage */
	unsigned msg_flags;
};

struct dkim_sign;

/* dkim_sign_config_default - relaxed/relaxed, rsa-sha256, default lists, IF_PRESENT */
void dkim_sign_config_default(struct dkim_sign_config *c);
/* dkim_sign_new - a signer; NULL and *err (static text) on a bad config */
struct dkim_sign *dkim_sign_new(const struct dkim_sign_config *c, const char **err);
/* dkim_sign_chunk / _header / _eoh / _body - same as the dkim_verify_* feeders */
int dkim_sign_chunk(struct dkim_sign *s, const char *p, size_t len);
int dkim_sign_header(struct dkim_sign *s, const char *field, size_t len);
int dkim_sign_eoh(struct dkim_sign *s);
int dkim_sign_body(struct dkim_sign *s, const char *p, size_t len);
/*
 * dkim_sign_finish - the complete field "DKIM-Signature: ...\r\n", folded at
 * 78 columns with CRLF + SP, tags in the order v a c d i q s t x h bh b,
 * h= names joined by " : ".  Caller frees.  NULL and *err on failure.
 */
char *dkim_sign_finish(struct dkim_sign *s, const char **err);
/* dkim_sign_free - destroy */
void dkim_sign_free(struct dkim_sign *s);

/* ---- keys (dkim_key.c) ---- */

/* Parsed key record (RFC 6376 §3.6.1); spans point into the record text. */
struct dkim_keyrec {
	struct span v, h, k, n, p, s, t;	/* raw values; absent: len 0, p NULL */
	bool revoked;			/* p= empty */
	bool testing;			/* t=y */
	bool strict;			/* t=s: i= domain must equal d= */
	bool hash_sha256_ok;		/* h= absent or lists sha256 */
	bool service_email_ok;		/* s= absent, "*" or lists "email" */
};

/* dkim_identity_in_domain - the domain of i= (after its last "@") is d or below it (RFC 6376 §3.5) */
bool dkim_identity_in_domain(const char *i, const char *d);

/* dkim_keyrec_parse - parse a key record; 0, or -1 with *why (static) */
int dkim_keyrec_parse(const char *p, size_t len, struct dkim_keyrec *kr,
    const char **why);
/*
 * dkim_keyrec_pkey - the public key of a record (k= rsa or ed25519); NULL +
 * *why.  The caller frees its reference; keys of recent records come from a
 * cache (DKIM_KEY_CACHE_SIZE) and are shared: do not modify them.
 */
EVP_PKEY *dkim_keyrec_pkey(const struct dkim_keyrec *kr, const char **why);
/* dkim_keycache_clear - drop the cached public keys (at exit, for leak checkers) */
void dkim_keycache_clear(void);

/*
 * dkim_key_check_private - is pkey usable to sign with alg: type matches, RSA
 * of at least min_bits.  0, or -1 with a message in err.
 */
int dkim_key_check_private(EVP_PKEY *pkey, enum dkim_alg alg, unsigned min_bits,
    struct buf *err);
/* Largest private key file read (an RSA-16384 PEM is about 13 KB). */
#define DKIM_KEYFILE_SIZE_LIMIT	65536
/*
 * dkim_key_parse_private - a private key from text: PEM (PKCS#1 or PKCS#8;
 * encrypted keys refused), base64 DER, or dkimpy's base64 32-byte Ed25519
 * seed (RFC 8032 §5.1.5).  NULL if none of these.
 */
EVP_PKEY *dkim_key_parse_private(struct span text);
/*
 * dkim_key_load_file - read a private key file: a regular file of at most
 * DKIM_KEYFILE_SIZE_LIMIT bytes, readable (else the message says the chown
 * and chmod to run), not accessible by group/other (else "key data is not
 * secure" and the exact "chmod 600 '<path>'"; only logged as a warning when
 * allow_insecure), in a form dkim_key_parse_private takes.  The algorithm is
 * not checked.  NULL with a message naming the file in err.
 */
EVP_PKEY *dkim_key_load_file(const char *path, bool allow_insecure, struct buf *err);
/*
 * dkim_key_load_private - dkim_key_load_file, then the key checked: matching
 * alg (if alg_known), RSA >= min_bits.  NULL with a message naming the file
 * in err.
 */
EVP_PKEY *dkim_key_load_private(const char *path, bool alg_known, enum dkim_alg alg,
    unsigned min_bits, struct buf *err);
/* dkim_key_alg_of - the signing algorithm a private key implies; 0 or -1 */
int dkim_key_alg_of(EVP_PKEY *pkey, enum dkim_alg *alg);
/* dkim_key_public_b64 - the p= value of a key (raw Ed25519, RSA SubjectPublicKeyInfo) appended to out; 0/-1 */
int dkim_key_public_b64(EVP_PKEY *pkey, struct buf *out);
/* dkim_key_public_record - "v=DKIM1; k=rsa|ed25519; p=<base64>" for a key; 0/-1 */
int dkim_key_public_record(EVP_PKEY *pkey, struct buf *out);
/* dkim_key_matches - true if the public halves of a and b are the same key */
bool dkim_key_matches(EVP_PKEY *a, EVP_PKEY *b);

const char *dkim_alg_str(enum dkim_alg a);	/* "rsa-sha256", ... */
/* dkim_alg_parse - "rsa-sha256" -> alg (case-insensitive); 0 or -1 */
int dkim_alg_parse(struct span s, enum dkim_alg *alg);

#endif
