/*
 * dns.h - the asynchronous resolver interface used by all protocol code.
 *
 * Protocol code (SPF, DKIM, DMARC) only sees this interface; backends are
 * libunbound on a libevent loop (dns_unbound.c) and an in-memory zone for tests
 * and tools (dns_mem.c).  No protocol module calls libunbound directly.
 *
 * Contract:
 *  - dns_query() starts a lookup; the callback runs exactly once, unless the query
 *    is cancelled first.  The callback may run before dns_query() returns (local
 *    data, a cached answer, an immediate error): dns_query() then returns NULL.
 *    Otherwise it returns a handle that stays valid until the callback runs or
 *    dns_cancel() is called.
 *  - The answer and everything it points to are valid only during the callback.
 *  - Names are passed without a trailing dot; a trailing dot is tolerated.
 */
#ifndef MAILAUTH_DNS_H
#define MAILAUTH_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SPF = 99,	/* RFC 4408 type 99; only the test zone loader uses it */
};

enum dns_rcode {
	DNS_RCODE_NOERROR,
	DNS_RCODE_NXDOMAIN,
	DNS_RCODE_SERVFAIL,	/* any other server failure, REFUSED, FORMERR ... */
	DNS_RCODE_TIMEOUT,	/* no answer within the query timeout */
};

enum dns_sec {
	DNS_SEC_INSECURE,	/* no DNSSEC validation, or an unsigned zone */
	DNS_SEC_SECURE,
	DNS_SEC_BOGUS,
};

/*
 * One resource record of the asked type.
 *  A:       data = 4 bytes, network order
 *  AAAA:    data = 16 bytes
 *  TXT/SPF: data = all character-strings concatenated (RFC 7208 §3.3,
 *           RFC 6376 §3.6.2.2), len bytes, NUL-terminated for convenience;
 *           may contain NUL bytes, so use len.
 *  MX:      pref = preference, data = exchange name, lower case, no trailing dot
 *  PTR:     data = target name, no trailing dot
 */
struct dns_rr {
	enum dns_type type;
	uint16_t pref;
	size_t len;
	const char *data;
};

struct dns_answer {
	const char *qname;
	enum dns_type qtype;
	enum dns_rcode rcode;
	enum dns_sec sec;
	const char *why_bogus;	/* NULL unless sec == DNS_SEC_BOGUS */
	size_t count;		/* records of qtype (CNAMEs followed) */
	const struct dns_rr *rr;
	/* seconds the answer may be reused: the smallest TTL of the answer
	 * section (RFC 1035 §3.2.1, RFC 2181 §5.2, §8); 0: not to be reused */
	uint32_t ttl;
};

typedef void (*dns_callback)(void *arg, const struct dns_answer *ans);

struct dns_query;
struct dns_resolver;

struct dns_backend_ops {
	struct dns_query *(*query)(struct dns_resolver *r, const char *name,
	    enum dns_type type, dns_callback cb, void *arg);
	void (*cancel)(struct dns_resolver *r, struct dns_query *q);
	void (*free)(struct dns_resolver *r);
};

struct dns_resolver {
	const struct dns_backend_ops *ops;
	void *impl;
	unsigned queries;	/* counter of queries started, for tests and stats */
};

/* dns_query - start a lookup (see the contract above) */
struct dns_query *dns_query(struct dns_resolver *r, const char *name,
    enum dns_type type, dns_callback cb, void *arg);
/* dns_cancel - stop a pending lookup; its callback will not run */
void dns_cancel(struct dns_resolver *r, struct dns_query *q);
/* dns_resolver_free - destroy a resolver; pending queries are cancelled */
void dns_resolver_free(struct dns_resolver *r);

/*
 * dns_set_observer - fn gets each finished lookup of the libunbound backend:
 * its time in seconds and whether it timed out (metrics).  NULL: none.
 * One per process.
 */
typedef void (*dns_observer)(void *arg, double seconds, bool timeout);
void dns_set_observer(dns_observer fn, void *arg);
/* dns_observe - a backend reports a lookup started at started (dns_clock) */
void dns_observe(double started, enum dns_rcode rc);
/* dns_clock - monotonic seconds */
double dns_clock(void);

const char *dns_type_str(enum dns_type t);
const char *dns_rcode_str(enum dns_rcode rc);
const char *dns_sec_str(enum dns_sec s);

/*
 * dns_answer_build - helper for backends: an answer owning copies of its records.
 */
struct dns_answer_owned {
	struct dns_answer ans;
	struct dns_rr *rrs;
	size_t cap;
};
void dns_answer_owned_init(struct dns_answer_owned *o, const char *qname,
    enum dns_type qtype);
void dns_answer_owned_add(struct dns_answer_owned *o, enum dns_type type,
    uint16_t pref, const void *data, size_t len);
void dns_answer_owned_clear(struct dns_answer_owned *o);
/* dns_answer_owned_set_bogus - SERVFAIL, no records, sec BOGUS with why (RFC 4035 §5.5) */
void dns_answer_owned_set_bogus(struct dns_answer_owned *o, const char *why);

/* ---- in-memory backend (dns_mem.c): tests, tools and static data ---- */

/*
 * A name that has records of some type answers NOERROR with no records for the
 * other types; a name with no records at all answers NXDOMAIN.  A name/type
 * can be forced to TIMEOUT or SERVFAIL.  Lookups are case-insensitive.
 * With an event base the answers are delivered from the loop (asynchronously,
 * like the real backend); without one they are delivered synchronously.
 */
struct event_base;
struct dns_resolver *dns_mem_new(struct event_base *base);
/* dns_mem_add - add a record; MX data is the exchange name */
void dns_mem_add(struct dns_resolver *r, const char *name, enum dns_type type,
    uint16_t pref, const void *data, size_t len);
/* dns_mem_add_txt - add a TXT record made of one string */
void dns_mem_add_txt(struct dns_resolver *r, const char *name, const char *txt);
/* dns_mem_add_addr - add an A or AAAA record from its text form; -1 on bad text */
int dns_mem_add_addr(struct dns_resolver *r, const char *name, const char *addr);
/* dns_mem_set_rcode - force an rcode for name/type (type 0: every type) */
void dns_mem_set_rcode(struct dns_resolver *r, const char *name,
    enum dns_type type, enum dns_rcode rc);
/* dns_mem_set_delay - answers of an asynchronous zone come ms late (a slow server) */
void dns_mem_set_delay(struct dns_resolver *r, unsigned ms);
/* dns_mem_set_ttl - the TTL of every answer with records (default 0: none) */
void dns_mem_set_ttl(struct dns_resolver *r, uint32_t seconds);
/* dns_mem_set_sec - DNSSEC status reported for every answer of a name */
void dns_mem_set_sec(struct dns_resolver *r, const char *name, enum dns_sec sec);

/* ---- answer cache (dns_cache.c) ---- */

/*
 * dns_cache_new - a resolver that keeps positive answers of inner (NOERROR
 * with records, DNSSEC status not bogus), up to size_limit bytes in all, for
 * their TTL (dns_answer.ttl, at most DNS_CACHE_TTL_MAX) and answers them
 * again, before dns_query() returns, until the TTL has run out.  Negative answers, errors and timeouts
 * always go to inner.  It is a DNS cache (RFC 1035 §3.2.1, RFC 2181 §5.2, §8),
 * not a cache of verdicts.  Takes inner over: dns_resolver_free frees both.
 */
#define DNS_CACHE_TTL_MAX	86400	/* as libunbound's cache-max-ttl default */
struct dns_resolver *dns_cache_new(struct dns_resolver *inner, size_t size_limit);
/* dns_cache_bytes - bytes the cached answers hold now (names, records, bookkeeping) */
size_t dns_cache_bytes(const struct dns_resolver *r);
/* dns_cache_set_clock - tests: seconds from a clock they control */
void dns_cache_set_clock(struct dns_resolver *r, long long (*now)(void));

/* ---- libunbound backend (dns_unbound.c) ---- */

struct dns_unbound_config {
	const char *resolv_conf;	/* NULL: /etc/resolv.conf, unless forwarders or recursion */
	const char *const *forwarders;	/* "addr" or "addr@port"; NULL-terminated, or NULL */
	bool recursion;			/* full recursion from the root */
	const char *trust_anchor_file;	/* enables DNSSEC validation; NULL: none */
	unsigned timeout_ms;		/* per query; TIMEOUT answer after it */
	bool use_hosts;			/* also read /etc/hosts */
};

/* dns_unbound_new - libunbound context on base; NULL and *err set on failure */
struct dns_resolver *dns_unbound_new(struct event_base *base,
    const struct dns_unbound_config *cfg, const char **err);

#endif
