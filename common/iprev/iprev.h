/*
 * iprev.h - the "iprev" authentication method of RFC 8601 §3: is the client
 * address's reverse DNS forward-confirmed?
 *
 * PTR lookup of the address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5
 * ip6.arpa), then an A (IPv4) or AAAA (IPv6) lookup of each name, at most
 * IPREV_NAME_LIMIT names (RFC 7208 §4.6.4 takes the same bound for PTR
 * names); the address is confirmed when one name resolves back to it.
 * Asynchronous over common/dns; the verdict is an enum with a reason.
 */
#ifndef MAILAUTH_IPREV_H
#define MAILAUTH_IPREV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dns.h"

/* PTR names checked per address by default (cf. RFC 7208 §4.6.4: 10). */
#define IPREV_NAME_LIMIT	10
/* Text form of an address: INET6_ADDRSTRLEN. */
#define IPREV_ADDR_TEXT_SIZE	46
/* "x.x. ... .ip6.arpa" (72 octets) and a NUL. */
#define IPREV_REVERSE_NAME_SIZE	74

/* RFC 8601 §2.7.3 results of the iprev method. */
enum iprev_result {
	IPREV_RESULT_PASS,	/* a PTR name resolves back to the address */
	IPREV_RESULT_FAIL,	/* names found, none resolves back to it */
	IPREV_RESULT_PERMERROR,	/* no PTR published (NXDOMAIN / no data) */
	IPREV_RESULT_TEMPERROR,	/* a lookup failed (SERVFAIL, timeout) */
};

/* An IPv4 or IPv6 address; an IPv4-mapped IPv6 address is IPv4. */
struct iprev_addr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char b[16];	/* IPv4 in the first 4 */
};

/*
 * iprev_addr_parse - "192.0.2.1", "2001:db8::1", "IPv6:2001:db8::1" (the
 * XFORWARD/XCLIENT form, RFC 5321 §4.1.3) or an IPv4-mapped IPv6 address, as
 * (p, len); 0, or -1 when it is not an address.
 */
int iprev_addr_parse(const char *p, size_t len, struct iprev_addr *a);
/* iprev_addr_text - the address as text into out (IPREV_ADDR_TEXT_SIZE) */
void iprev_addr_text(const struct iprev_addr *a, char *out, size_t size);
/* iprev_reverse_name - "4.3.2.1.in-addr.arpa" / 32 nibbles ".ip6.arpa"; 0/-1 */
int iprev_reverse_name(const struct iprev_addr *a, char *out, size_t size);
/* iprev_name_ok - (p, len) is a host name a PTR may point at: LDH labels 1..63, <= 253 */
bool iprev_name_ok(const char *p, size_t len);

struct iprev_verdict {
	enum iprev_result result;
	const char *addr;		/* the address as text */
	const char *name;		/* pass: the confirming name; else NULL */
	const char *reason;		/* why, printable ASCII; never NULL */
	const char *const *names;	/* the PTR names checked (at most the limit) */
	size_t nnames;
	size_t names_total;		/* PTR names in the answer, checked or not */
	unsigned lookups;		/* DNS queries made */
	enum dns_sec sec;		/* DNSSEC status of the PTR answer */
};

typedef void (*iprev_callback)(void *arg, const struct iprev_verdict *v);

struct iprev_eval;

/*
 * iprev_eval_start - begin an evaluation of addr.  name_limit 0 means
 * IPREV_NAME_LIMIT.  The callback runs exactly once unless
 * iprev_eval_cancel() comes first; when it runs before the call returns (a
 * synchronous resolver), NULL is returned.  The verdict is valid only during
 * the callback.  The resolver must outlive the evaluation.
 */
struct iprev_eval *iprev_eval_start(struct dns_resolver *r,
    const struct iprev_addr *addr, unsigned name_limit, iprev_callback cb,
    void *arg);
/* iprev_eval_cancel - abandon an evaluation; NULL and calls from its callback are ignored */
void iprev_eval_cancel(struct iprev_eval *e);

/* iprev_result_str - "pass", "fail", "permerror", "temperror" */
const char *iprev_result_str(enum iprev_result r);
/* iprev_result_from_str - inverse of iprev_result_str; -1 when unknown */
int iprev_result_from_str(const char *s, size_t len);

#endif
