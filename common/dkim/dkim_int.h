/*
 * dkim_int.h - internals shared by the dkim_*.c files (not a public API;
 * unit tests include it to test the pieces).
 */
#ifndef MAILAUTH_DKIM_INT_H
#define MAILAUTH_DKIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkim.h"
#include "tagvalue.h"
#include "util.h"

/* Largest decoded b= we accept: an RSA-8192 signature (RFC 6376 §3.3.3 caps keys at 4096 for verifiers' obligation). */
#define DKIM_SIG_B_MAX		1024
#define DKIM_BH_MAX		EVP_MAX_MD_SIZE
/* h= entries per signature (our bound; each is a name, so 8 KiB fields allow far fewer). */
#define DKIM_H_NAMES_LIMIT	512
/* RFC 6376 §3.5 l=: at most 76 decimal digits; we take what fits in 64 bits. */
/* Our bound on the header part of one signing input (all fields named in h=). */
#define DKIM_SIGNING_INPUT_MAX	(1024 * 1024)
#define DKIM_DOMAIN_MAX		253	/* RFC 1035 §2.3.4 */

/* ---- dkim_alg.c ---- */

/* dkim_alg_md - the hash function of an algorithm */
const EVP_MD *dkim_alg_md(enum dkim_alg a);
/* dkim_alg_is_rsa - rsa-sha256 or rsa-sha1 */
bool dkim_alg_is_rsa(enum dkim_alg a);

/* ---- dkim_b64.c ---- */

/* dkim_b64_decode - base64 with FWS ignored (RFC 6376 §2.4); bytes or -1 */
long dkim_b64_decode(struct span in, unsigned char *out, size_t outlen);
/* dkim_b64_encode - append base64 of in to out; 0/-1 */
int dkim_b64_encode(const unsigned char *in, size_t len, struct buf *out);
/* DKIM_B64_LEN - characters of the base64 of n bytes */
#define DKIM_B64_LEN(n)		(((n) + 2) / 3 * 4)
/* dkim_b64_encode_to - base64 of in written at o (DKIM_B64_LEN(len) bytes, no NUL); its length */
size_t dkim_b64_encode_to(const unsigned char *in, size_t len, char *o);

/* ---- dkim_canon.c ---- */

/* dkim_canon_header - canonical form of one raw field (with final CRLF) appended to out */
int dkim_canon_header(enum dkim_canon c, struct span field, struct buf *out);
/* dkim_canon_parse - "simple", "relaxed", "x/y" (c= tag); 0/-1 */
int dkim_canon_parse(struct span v, enum dkim_canon *hc, enum dkim_canon *bc);
const char *dkim_canon_str(enum dkim_canon c);

typedef void (*dkim_canon_out)(void *arg, const char *p, size_t len);

/* Streaming body canonicaliser (RFC 6376 §3.4.3 simple, §3.4.4 relaxed). */
struct dkim_canon_body {
	enum dkim_canon canon;
	dkim_canon_out out;
	void *arg;
	uint64_t crlf_pending;	/* empty lines withheld: dropped if trailing */
	bool cr;		/* a CR seen, LF not yet */
	bool wsp;		/* relaxed: whitespace withheld inside a line */
	bool content;		/* some content was emitted: the body is not empty */
	char stage[4096];	/* output staging, flushed to out */
	size_t staged;
};

/* dkim_canon_body_init - start a body */
void dkim_canon_body_init(struct dkim_canon_body *cb, enum dkim_canon c,
    dkim_canon_out out, void *arg);
/* dkim_canon_body_update - more body bytes, any split */
void dkim_canon_body_update(struct dkim_canon_body *cb, const char *p, size_t len);
/* dkim_canon_body_final - end of body: emit the canonical tail */
void dkim_canon_body_final(struct dkim_canon_body *cb);

/* ---- dkim_bodyhash.c ---- */

struct dkim_bodyhash {
	enum dkim_canon canon;
	const EVP_MD *md;
	bool has_limit;
	uint64_t limit;		/* l= */
	uint64_t hashed;	/* canonical bytes hashed */
	uint64_t total;		/* canonical bytes produced */
	EVP_MD_CTX *ctx;
	struct dkim_canon_body cb;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len;
	bool done;
};

/* A set with one hasher per distinct (canonicalisation, hash, l=). */
struct dkim_bodyhash_set {
	struct dkim_bodyhash **v;
	size_t n;
};

/* dkim_bodyhash_get - the set's hasher for these parameters, created if new */
struct dkim_bodyhash *dkim_bodyhash_get(struct dkim_bodyhash_set *set,
    enum dkim_canon c, const EVP_MD *md, bool has_limit, uint64_t limit);
/* dkim_bodyhash_update - body bytes to every hasher of the set */
void dkim_bodyhash_update(struct dkim_bodyhash_set *set, const char *p, size_t len);
/* dkim_bodyhash_final - finish every hasher of the set */
void dkim_bodyhash_final(struct dkim_bodyhash_set *set);
/* dkim_bodyhash_clear - free the set */
void dkim_bodyhash_clear(struct dkim_bodyhash_set *set);

/* ---- dkim_sig.c ---- */

/* What a signature field is: DKIM-Signature, or ARC-Message-Signature (RFC 8617 §4.1.2). */
enum dkim_sig_kind {
	DKIM_SIG_KIND_DKIM,
	DKIM_SIG_KIND_AMS,
};

/* RFC 8617 §4.2.1: ARC instances run from 1 to 50. */
#define DKIM_ARC_INSTANCE_MAX	50

struct dkim_sig {
	enum dkim_sig_kind kind;
	unsigned instance;		/* AMS: i=, the ARC instance */
	unsigned index;
	char *field;			/* owned raw field, with CRLF */
	size_t field_len;
	struct tagvalue_list tags;	/* spans into field */
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char *a, *d, *s, *i;		/* a= as written; d= lower-cased; s=; i= or "@d" */
	struct span *h;			/* h= names, spans into field */
	size_t nh;
	unsigned char b[DKIM_SIG_B_MAX];
	size_t blen;
	unsigned char bh[DKIM_BH_MAX];
	size_t bhlen;
	char b_prefix[DKIM_B_PREFIX_LEN + 1];
	bool has_l;
	uint64_t l;
	time_t t, x;			/* -1 when absent */
	size_t b_raw_off, b_raw_len;	/* b= raw value inside field, to blank */
	const char *error;		/* parse error (permerror reason), NULL if OK */
};

/* dkim_sig_parse - parse a raw DKIM-Signature field; 0, or -1 with sig->error */
int dkim_sig_parse(struct dkim_sig *sig, const char *field, size_t len);
/* dkim_sig_parse_kind - parse a DKIM-Signature or an ARC-Message-Signature (no v=, i= the instance) */
int dkim_sig_parse_kind(struct dkim_sig *sig, const char *field, size_t len,
    enum dkim_sig_kind kind);
/* dkim_sig_instance - an ARC instance value, 1..DKIM_ARC_INSTANCE_MAX (RFC 8617 §4.2.1); 0/-1 */
int dkim_sig_instance(struct span v, unsigned *out);
/* dkim_sig_domain_ok - a plausible domain or selector: labels of LDH, "_", 8-bit */
bool dkim_sig_domain_ok(struct span v);
/* dkim_sig_clear - free what dkim_sig_parse allocated */
void dkim_sig_clear(struct dkim_sig *sig);

/* ---- dkim_hdr.c ---- */

struct dkim_hdr {
	size_t off;	/* of the raw field (with CRLF) in the store's text */
	size_t len;
	size_t name_len;
};

/* The fields are copied one after the other into one text buffer (one
 * allocation per message, not one per field). */
struct dkim_hdrs {
	struct dkim_hdr *v;
	size_t n, cap;
	char *text;
	size_t text_len, text_cap;
};

/* dkim_hdrs_add - store a copy of a raw field */
void dkim_hdrs_add(struct dkim_hdrs *hs, const char *field, size_t len, size_t name_len);
/* dkim_hdrs_clear - free the store */
void dkim_hdrs_clear(struct dkim_hdrs *hs);
/* dkim_hdrs_count - fields named name (case-insensitive) */
size_t dkim_hdrs_count(const struct dkim_hdrs *hs, struct span name);
/* dkim_hdr_name_len - length of the field name (before ":" and WSP) or 0 */
size_t dkim_hdr_name_len(const char *field, size_t len);
/*
 * dkim_hdr_signing_input - RFC 6376 §3.7: the h= fields chosen bottom-up,
 * canonicalised, then sigfield with its b= value blanked, canonicalised,
 * without its final CRLF.  0/-1 (out overflow).
 */
int dkim_hdr_signing_input(const struct dkim_hdrs *hs, const struct span *names,
    size_t nnames, enum dkim_canon c, struct span sigfield, size_t b_off,
    size_t b_len, struct buf *out);

/* ---- dkim_feed.c ---- */

/* What the owner of a feeder adds; each hook may be NULL. */
struct dkim_feed_hooks {
	/* a field was stored (name_len from dkim_hdr_name_len): the owner's own parsing */
	void (*header)(void *arg, const char *field, size_t len, size_t name_len);
	/* the end of the header section, once: 0/-1 */
	int (*eoh)(void *arg);
	/* len body bytes are about to be hashed: false leaves them out (but for keep) */
	bool (*body)(void *arg, size_t len);
};

/*
 * The message feeder of a DKIM or ARC signer or verifier: header fields
 * stored, the body through a set of hashers, the first input error kept.
 * Embedded in its owner (the parser points to it).
 */
struct dkim_feed {
	struct msg_limits msg;		/* header bounds */
	unsigned msg_flags;		/* for the _chunk interface */
	bool late_headers;		/* fields may also come after the body (until finish) */
	const struct dkim_feed_hooks *hooks;
	void *arg;			/* the owner, for the hooks */
	struct msg_parser *mp;		/* only for the _chunk interface */
	struct dkim_hdrs hdrs;
	struct dkim_bodyhash_set bhs;
	struct dkim_bodyhash *keep;	/* a hasher of bhs fed even when the body hook says no */
	uint64_t body_hashed;		/* body bytes put through hashers, once per hasher */
	bool eoh_done, finished;
	const char *error;		/* static reason of the first input error */
};

/* dkim_feed_init - an empty feeder for owner arg; lim NULL: the defaults */
void dkim_feed_init(struct dkim_feed *f, const struct msg_limits *lim, unsigned msg_flags,
    const struct dkim_feed_hooks *hooks, void *arg);
/* dkim_feed_fail - record the first input error; -1 */
int dkim_feed_fail(struct dkim_feed *f, const char *why);
/* dkim_feed_header - one complete raw field; 0/-1 */
int dkim_feed_header(struct dkim_feed *f, const char *field, size_t len);
/* dkim_feed_eoh - end of the header section, once; 0/-1 */
int dkim_feed_eoh(struct dkim_feed *f);
/* dkim_feed_body - body bytes, any split; 0/-1 */
int dkim_feed_body(struct dkim_feed *f, const char *p, size_t len);
/* dkim_feed_chunk - raw message bytes, any split; 0/-1 */
int dkim_feed_chunk(struct dkim_feed *f, const char *p, size_t len);
/* dkim_feed_finish - end of message, final digests; 0, or -1 (error, or finished before) */
int dkim_feed_finish(struct dkim_feed *f);
/* dkim_feed_clear - free what the feeder holds */
void dkim_feed_clear(struct dkim_feed *f);

/* ---- dkim_keycache.c ---- */

/* dkim_keycache_get - a new reference to the cached key of (type, p), or NULL */
EVP_PKEY *dkim_keycache_get(int type, struct span p);
/* dkim_keycache_put - remember key for (type, p); the cache takes its own reference */
void dkim_keycache_put(int type, struct span p, EVP_PKEY *key);

/* ---- dkim_lookup.c ---- */

/* One key record lookup, s._domainkey.d TXT (RFC 6376 §3.6.2). */
struct dkim_lookup {
	char *name;			/* selector._domainkey.domain */
	struct dns_resolver *r;
	struct dns_query *q;		/* pending handle, or NULL */
	bool done;
	enum dns_rcode rcode;
	enum dns_sec sec;
	char **txt;			/* copies of the TXT records */
	size_t *txtlen;
	size_t ntxt;
	void (*done_fn)(void *);
	void *done_arg;
};

/* A caller's own check of a key record: NULL, or why it does not suit. */
typedef const char *(*dkim_keyrec_check)(const void *arg, const struct dkim_keyrec *kr);

/* dkim_lookup_new - a lookup for s._domainkey.d, not started; NULL if the name is too long */
struct dkim_lookup *dkim_lookup_new(const char *s, const char *d);
/* dkim_lookup_start - ask r (NULL: answered at once as SERVFAIL); done(arg) once, maybe before this returns */
void dkim_lookup_start(struct dkim_lookup *lk, struct dns_resolver *r,
    void (*done)(void *), void *arg);
/* dkim_lookup_free - cancel if pending, free */
void dkim_lookup_free(struct dkim_lookup *lk);
/* dkim_lookup_status - TEMPERROR/PERMERROR (with *why) for an unusable answer, or PASS */
enum dkim_result dkim_lookup_status(const struct dkim_lookup *lk, const char **why);
/* dkim_keyrec_usable - the record suits alg (§6.1.2): NULL, or why not */
const char *dkim_keyrec_usable(const struct dkim_keyrec *kr, enum dkim_alg alg);
/* dkim_lookup_key - the public key of the first suitable record; NULL and *why */
EVP_PKEY *dkim_lookup_key(const struct dkim_lookup *lk, enum dkim_alg alg,
    dkim_keyrec_check extra, const void *arg, struct dkim_keyrec *kr,
    const char **why);

/* ---- dkim_crypto.c ---- */

/* dkim_crypto_verify - check sig over the signing input; 1 good, 0 bad, -1 error */
int dkim_crypto_verify(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    const unsigned char *sig, size_t siglen);
/* dkim_crypto_sign - sign the signing input; 0/-1, *siglen in/out */
int dkim_crypto_sign(EVP_PKEY *key, enum dkim_alg alg, const struct buf *input,
    unsigned char *sig, size_t *siglen);
/* dkim_crypto_key_type - EVP_PKEY_RSA, EVP_PKEY_ED25519, or 0 for another type */
int dkim_crypto_key_type(EVP_PKEY *key);
/* dkim_crypto_key_bits - RSA modulus size, 256 for Ed25519 */
unsigned dkim_crypto_key_bits(EVP_PKEY *key);

#endif
