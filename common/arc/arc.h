/*
 * arc.h - Authenticated Received Chain (RFC 8617): chain validation.
 *
 * Streaming like common/dkim: a message is fed as raw chunks (arc_verify_chunk)
 * or as split header fields and body chunks (arc_verify_header / _eoh /
 * _body), never both.  The ARC fields are parsed as they arrive; at the end of
 * the header section the structure of the chain is checked (RFC 8617 §5.2
 * steps 1-3), and, if it can still pass, the key lookups start and the body
 * hashers of the AMS set up (common/dkim does the canonicalisation, hashing,
 * key records and RSA).  When the body has ended and every lookup answered,
 * the AMS and AS are validated in the order of §5.2 steps 4-7 and the result
 * is reported once.
 *
 * Limits: a hostile chain costs at most set_limit sets, sig_limit signature
 * verifications, dns_query_limit key lookups and hash_size_limit bytes put
 * through the hashes (body and header signing inputs).  A chain that would
 * need more is reported as fail with a reason saying which limit, never as
 * pass or none.  Only rsa-sha256 is accepted for AMS and AS (RFC 8617 §4.1.2,
 * §4.1.3 use DKIM's algorithms; RFC 8301 keys of at least 1024 bits).
 */
#ifndef MAILAUTH_ARC_H
#define MAILAUTH_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "dns.h"
#include "msg.h"

/* ---- named limits ---- */

#define ARC_SET_LIMIT		50	/* RFC 8617 §5.2 step 1: at most 50 ARC sets */
#define ARC_SIG_LIMIT		40	/* AMS and AS verifications per message */
#define ARC_DNS_QUERY_LIMIT	20	/* distinct key lookups per message */
#define ARC_HASH_SIZE_LIMIT	(256ULL * 1024 * 1024)	/* bytes hashed per message */
#define ARC_AAR_MAX		8192	/* bytes of one ARC-Authentication-Results field */

/* Chain validation status (RFC 8617 §4.1.3 cv=, §5.2). */
enum arc_cv {
	ARC_CV_NONE,
	ARC_CV_PASS,
	ARC_CV_FAIL,
};

/* Zero in a field means its default. */
struct arc_limits {
	unsigned set_limit;		/* default and most ARC_SET_LIMIT */
	unsigned sig_limit;		/* default ARC_SIG_LIMIT */
	unsigned dns_query_limit;	/* default ARC_DNS_QUERY_LIMIT */
	uint64_t hash_size_limit;	/* default ARC_HASH_SIZE_LIMIT */
	unsigned rsa_min_bits;		/* default and least DKIM_RSA_MIN_BITS */
	struct msg_limits msg;		/* header bounds */
	unsigned msg_flags;		/* MSG_BARE_LF_OK for the _chunk interface */
};

/* One ARC set as found; strings owned by the verifier, "" when unknown. */
struct arc_set_result {
	unsigned instance;
	enum arc_cv seal_cv;		/* the cv= its AS states */
	const char *seal_domain;	/* AS d= */
	const char *seal_selector;	/* AS s= */
	const char *ams_domain;		/* AMS d= */
	const char *aar;		/* AAR payload after "i=n;": authserv-id; results */
	bool ams_checked;		/* its AMS was validated (steps 4-5) */
	bool ams_valid;
};

struct arc_result {
	enum arc_cv cv;
	const char *reason;		/* static text, never NULL */
	bool temporary;			/* a fail caused by a temporary DNS error */
	bool limit;			/* a fail because a named limit was reached */
	unsigned sets;			/* N; 0 when there is no chain */
	unsigned oldest_pass;		/* §5.2 step 5: 0 when every AMS validates */
	unsigned failed_instance;	/* the set whose AMS or AS failed, else 0 */
	const struct arc_set_result *set;	/* sets entries, instance 1 first */
};

typedef void (*arc_verify_cb)(void *arg, const struct arc_result *res);

struct arc_verify;

/* arc_limits_default - the named defaults */
void arc_limits_default(struct arc_limits *l);
/* arc_verify_new - a verifier using resolver r (borrowed; NULL: lookups fail temporarily) */
struct arc_verify *arc_verify_new(struct dns_resolver *r, const struct arc_limits *limits);
/* arc_verify_chunk - raw message bytes, any split; 0 or -1 (message unusable) */
int arc_verify_chunk(struct arc_verify *v, const char *p, size_t len);
/* arc_verify_header - one complete raw field (folding and final CRLF included); 0/-1 */
int arc_verify_header(struct arc_verify *v, const char *field, size_t len);
/* arc_verify_eoh - end of the header section: structure check, key lookups; 0/-1 */
int arc_verify_eoh(struct arc_verify *v);
/* arc_verify_body - body bytes, any split; 0/-1 */
int arc_verify_body(struct arc_verify *v, const char *p, size_t len);
/*
 * arc_verify_finish - end of message.  cb runs exactly once when every
 * lookup has answered: maybe before this returns, otherwise from the event
 * loop.  -1 (cb not called) only if the message itself was unusable.
 * Freeing the verifier before cb ran cancels the lookups.  cb may free it.
 */
int arc_verify_finish(struct arc_verify *v, arc_verify_cb cb, void *arg);
/* arc_verify_error - static reason of an input error, NULL if none */
const char *arc_verify_error(const struct arc_verify *v);
/*
 * arc_verify_keep_seal_hash - before the first body byte: also compute the
 * body hash a seal of this message needs (relaxed, SHA-256, the whole body;
 * RFC 8617 §4.1.2), whatever the chain turns out to be.  An AMS with the
 * same canonicalisation and no l= shares it, so a message that is verified
 * and then sealed has that body hash computed once.  0/-1 (too late).
 */
int arc_verify_keep_seal_hash(struct arc_verify *v);
/* arc_verify_seal_hash - after finish: that digest into out; its length, or -1 when not kept */
int arc_verify_seal_hash(const struct arc_verify *v, unsigned char *out, size_t size);
/* arc_verify_body_hashed - body bytes put through body hashers so far, once per hasher */
uint64_t arc_verify_body_hashed(const struct arc_verify *v);
/* arc_verify_free - destroy, cancelling pending lookups */
void arc_verify_free(struct arc_verify *v);

/* ---- sealing (arc_sign.c) ---- */

struct arc_sign_config {
	EVP_PKEY *key;			/* RSA of at least 1024 bits; borrowed (a reference is taken) */
	const char *domain;		/* d= */
	const char *selector;		/* s= */
	const char *const *headers;	/* AMS h= names, NULL-terminated; NULL: DKIM's default list */
	time_t timestamp;		/* t=; 0: time() at finish; -1: no t= */
	struct msg_limits msg;		/* header bounds */
	unsigned msg_flags;		/* MSG_BARE_LF_OK for the _chunk interface */
	bool body_hash_given;		/* the body is not hashed here: arc_sign_set_body_hash */
};

struct arc_sign;

/* arc_sign_config_default - default lists and limits, t= now */
void arc_sign_config_default(struct arc_sign_config *c);
/* arc_sign_new - a sealer; NULL and *err (static text) on a bad config */
struct arc_sign *arc_sign_new(const struct arc_sign_config *c, const char **err);
/* arc_sign_chunk / _header / _eoh / _body - as the arc_verify_* feeders; with
 * the split interface the fields may also come after the body */
int arc_sign_chunk(struct arc_sign *s, const char *p, size_t len);
int arc_sign_header(struct arc_sign *s, const char *field, size_t len);
int arc_sign_eoh(struct arc_sign *s);
int arc_sign_body(struct arc_sign *s, const char *p, size_t len);
/* arc_sign_set_body_hash - with body_hash_given: the relaxed SHA-256 body hash (arc_verify_seal_hash); 0/-1 */
int arc_sign_set_body_hash(struct arc_sign *s, const unsigned char *digest, size_t len);
/* arc_sign_body_hashed - body bytes this sealer put through its hasher */
uint64_t arc_sign_body_hashed(const struct arc_sign *s);
/*
 * arc_sign_finish - seal for chain validation status cv (the caller's
 * verification of this message), the AAR carrying authres ("authserv-id;
 * results", folded only with CRLF WSP).  The new set, to be put on top of
 * the message in this order: "ARC-Seal: ...\r\nARC-Message-Signature:
 * ...\r\nARC-Authentication-Results: ...\r\n"; caller frees.  NULL and
 * *err when the message must not be sealed (latest seal cv=fail, 50 sets,
 * cv=pass or none contradicting the chain found) or on failure.
 */
char *arc_sign_finish(struct arc_sign *s, enum arc_cv cv, const char *authres,
    const char **err);
/* arc_sign_instance - the instance a new set gets: one above the highest found (§5.1 step 2) */
unsigned arc_sign_instance(const struct arc_sign *s);
/* arc_sign_free - destroy */
void arc_sign_free(struct arc_sign *s);

/* The From domain a trusted sealer may vouch for, and how its identifiers align. */
struct arc_trust_from {
	const char *domain;		/* the RFC5322.From domain */
	const char *org_domain;		/* its Organizational Domain (DNS Tree Walk); NULL: strict only */
	bool spf_relaxed;		/* the record's aspf=r (the default) */
	bool dkim_relaxed;		/* the record's adkim=r (the default) */
};

/*
 * arc_trust_vouch - RFC 8617 §7.2 local policy (arc_trust.c): for a chain that
 * passed, the latest set sealed by one of trusted (domains; the AS d= equal or
 * below) whose AAR records dmarc=pass header.from=the From domain, or spf=pass
 * with an smtp.mailfrom aligned with it, or dkim=pass with a header.d aligned
 * with it (RFC 9989 alignment: relaxed is at or below org_domain).  Its
 * instance, or 0 (also for res NULL).
 */
unsigned arc_trust_vouch(const struct arc_result *res, const char *const *trusted,
    const struct arc_trust_from *from);

/* arc_cv_str - "none", "pass", "fail" (RFC 8617 §4.1.3, RFC 8601 arc= words) */
const char *arc_cv_str(enum arc_cv cv);

#endif
