/*
 * spf_int.h - internals shared by the spf_*.c files (not part of the API).
 *
 * The parsed record (RFC 7208 §4.6, §5, §6), client address helpers (§5.6, §7.3),
 * domain rules (§4.3, §7.3) and the macro scanner (§7.1) used by both the record
 * parser (syntax only) and the expander.
 */
#ifndef MAILAUTH_SPF_INT_H
#define MAILAUTH_SPF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "spf.h"
#include "util.h"

/* RFC 7208 §4.3, RFC 1035 §2.3.4: a label is 1..63 octets, a name at most 253. */
#define SPF_LABEL_MAX		63
#define SPF_DOMAIN_MAX		253
/* Longest expanded domain-spec we build before the §7.3 truncation. */
#define SPF_EXPAND_MAX		4096
/* Longest expanded explanation (RFC 7208 §6.2); longer text is dropped. */
#define SPF_EXP_TEXT_MAX	4096
/* Largest transformer digit we keep; more parts than this never exist. */
#define SPF_MACRO_DIGITS_MAX	128

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

/* One directive (RFC 7208 §4.6.1, §5). */
struct spf_term {
	enum spf_mech mech;
	enum spf_result qual;	/* §4.6.2: result when it matches */
	char *text;		/* the term as written, for reports */
	char *spec;		/* domain-spec, NULL when absent (use <domain>) */
	unsigned cidr4;		/* §5.6: prefix for IPv4 (a, mx, ip4) */
	unsigned cidr6;		/* prefix for IPv6 (a, mx, ip6) */
	unsigned char net[16];	/* ip4 (4 bytes) / ip6 network */
};

struct spf_record {
	struct spf_term *terms;
	size_t nterms, cap;
	char *redirect;		/* §6.1 domain-spec, NULL when absent */
	char *exp;		/* §6.2 domain-spec, NULL when absent */
};

/* ---- spf_record.c ---- */

/* spf_record_parse_where - spf_record_parse; on error *bad spans the offending term */
struct spf_record *spf_record_parse_where(const char *p, size_t len, const char **err,
    struct span *bad);
/* spf_record_is_spf1 - the text starts a version 1 record (§4.5) */
bool spf_record_is_spf1(const char *p, size_t len);

/* ---- spf_addr.c ---- */

struct spf_addr {
	int family;		/* AF_INET or AF_INET6; v4-mapped becomes AF_INET */
	unsigned char b[16];
};

/* spf_addr_from_sockaddr - client address, IPv4-mapped IPv6 unwrapped (§5) ; -1 if neither */
int spf_addr_from_sockaddr(const struct sockaddr_storage *ss, struct spf_addr *a);
/* spf_addr_match - the client is in net/prefix of the same family (§5.6) */
bool spf_addr_match(const struct spf_addr *a, int family, const unsigned char *net,
    unsigned prefix);
/* spf_addr_parse_ip4 - strict dotted quad (RFC 7208 §12 ip4-network) */
bool spf_addr_parse_ip4(const char *p, size_t len, unsigned char out[4]);
/* spf_addr_parse_ip6 - RFC 4291 text form */
bool spf_addr_parse_ip6(const char *p, size_t len, unsigned char out[16]);
/* spf_addr_text - printable form for %{c} and client-ip= */
int spf_addr_text(const struct spf_addr *a, struct buf *out);
/* spf_addr_dotted - %{i} form: dotted quad or dotted nibbles (§7.3) */
int spf_addr_dotted(const struct spf_addr *a, struct buf *out);
/* spf_addr_reverse_name - in-addr.arpa / ip6.arpa name for the PTR query (§5.5) */
int spf_addr_reverse_name(const struct spf_addr *a, struct buf *out);

/* ---- spf_domain.c ---- */

/* spf_domain_is_fqdn - <domain> usable for check_host() (§4.3) */
bool spf_domain_is_fqdn(const char *p, size_t len);
/* spf_domain_is_queryable - a target name DNS can carry (labels 1..63, <= 253) */
bool spf_domain_is_queryable(const char *p, size_t len);
/* spf_domain_truncate - drop left labels until the name fits 253 octets (§7.3) */
void spf_domain_truncate(struct buf *b);
/* spf_domain_end_ok - domain-spec ends in "." toplabel ["."] (§12 domain-end) */
bool spf_domain_end_ok(const char *p, size_t len);

/* ---- spf_macro.c ---- */

/* spf_macro_check - syntax of a macro-string (§7.1); *ends_macro when last token expands */
int spf_macro_check(const char *p, size_t len, bool exp, bool *ends_macro,
    const char **err);
/* spf_macro_uses_p - the string contains a %{p} macro */
bool spf_macro_uses_p(const char *p, size_t len);

/* ---- the evaluator (spf_eval.c, spf_mech.c, spf_ptr.c, spf_exp.c) ---- */

struct event;
typedef void (*spf_step_fn)(struct spf_eval *e);
typedef void (*spf_answer_fn)(struct spf_eval *e, const struct dns_answer *a);

/* One check_host() invocation: the top level, an include: or a redirect= target. */
struct spf_frame {
	struct spf_record *rec;	/* NULL until the record is fetched */
	char *domain;		/* <domain> of this invocation */
	size_t next;		/* next term to evaluate */
	bool include;		/* reached through include: (§5.2) */
	bool redirect;		/* reached through redirect= (§6.1) */
};

enum spf_ptr_state {
	SPF_PTR_UNKNOWN,	/* validated names not computed yet */
	SPF_PTR_DONE,
};

struct spf_eval {
	struct dns_resolver *r;
	struct event *timer;
	struct spf_limits lim;
	spf_callback cb;
	void *cbarg;
	void (*trace)(void *arg, const char *name, enum dns_type type,
	    enum dns_rcode rcode, size_t count);
	void *trace_arg;
	enum spf_identity identity;
	struct spf_addr client;
	struct sockaddr_storage client_ss;
	char *helo, *sender, *local, *sender_domain, *receiver, *default_exp;
	char *domain;		/* the identity's domain */
	long long now;

	struct spf_frame *frames;
	size_t depth, cap;
	unsigned dns_terms, voids, lookups;

	struct dns_query *q;	/* outstanding query, NULL when none */
	bool waiting;		/* a query is outstanding */
	bool running;		/* inside spf_eval_run */
	bool finished;		/* result set; deliver */
	bool delivering;	/* inside the caller's callback */
	spf_step_fn step;	/* what the run loop does next */
	spf_answer_fn on_answer;	/* handler of the outstanding query */

	char *target;		/* expanded domain of the current term */
	char **names;		/* MX or PTR names being resolved */
	size_t nnames, iname;

	enum spf_ptr_state ptr_state;	/* §5.5 validated names, for ptr and %{p} */
	char **valid;
	size_t nvalid;
	bool ptr_void;		/* the PTR lookup was a void lookup */
	spf_step_fn after_ptr;

	struct spf_records records;	/* v=spf1 records of the identity's domain */
	enum spf_result result;
	char *mechanism;	/* matching term, NULL for the default result */
	struct buf reason;
	char *explanation;
	char *exp_text;		/* the exp= TXT record, unexpanded */
	bool matched;		/* result came from a matching directive */
	bool in_exp;		/* fetching the explanation: outside the lookup budget */
};

/* spf_eval_query - start a lookup; on_answer runs with the answer */
void spf_eval_query(struct spf_eval *e, const char *name, enum dns_type type,
    spf_answer_fn on_answer);
/* spf_eval_error - end the evaluation with result and a reason */
void spf_eval_error(struct spf_eval *e, enum spf_result result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* spf_eval_answer_has_client - an A/AAAA record of a holds the client (cidr4/cidr6 prefixes) */
bool spf_eval_answer_has_client(const struct spf_eval *e, const struct dns_answer *a,
    unsigned cidr4, unsigned cidr6);
/* spf_eval_dns_error - temperror for a failed lookup; true when a is an error */
bool spf_eval_dns_error(struct spf_eval *e, const struct dns_answer *a);
/* spf_eval_void - count a void lookup (§4.6.4); false after permerror */
bool spf_eval_void(struct spf_eval *e, const struct dns_answer *a);
/* spf_eval_frame - the innermost check_host() frame */
struct spf_frame *spf_eval_frame(struct spf_eval *e);
/* spf_eval_term - the term being evaluated in the innermost frame */
const struct spf_term *spf_eval_term(struct spf_eval *e);
/* spf_eval_matched - the current term matched */
void spf_eval_matched(struct spf_eval *e);
/* spf_eval_continue - the current term did not match: go to the next one */
void spf_eval_continue(struct spf_eval *e);
/* spf_eval_push - start check_host() for domain (include: or top level) */
void spf_eval_push(struct spf_eval *e, const char *domain, bool include);
/* spf_eval_macro_ctx - macro context for domain */
void spf_eval_macro_ctx(struct spf_eval *e, struct spf_macro_ctx *ctx,
    const char *domain, bool exp);
/* spf_eval_expand - expand a domain-spec for domain, truncated (§7.3); -1 with *err */
int spf_eval_expand(struct spf_eval *e, const char *spec, const char *domain,
    struct buf *out, const char **err);
/* spf_eval_target - expand spec (NULL: the frame domain) into e->target; -1 after permerror */
int spf_eval_target(struct spf_eval *e, const char *spec);
/* spf_eval_addr_type - A or AAAA, the client's family (§5.3) */
enum dns_type spf_eval_addr_type(const struct spf_eval *e);
/* spf_eval_names_clear - drop the MX/PTR name list */
void spf_eval_names_clear(struct spf_eval *e);
/* spf_eval_names_set - keep the names of an MX or PTR answer (at most max) */
void spf_eval_names_set(struct spf_eval *e, const struct dns_answer *a, size_t max);

/* spf_mech_start - run the current term's mechanism (table in spf_mech.c) */
void spf_mech_start(struct spf_eval *e);
/* spf_mech_uses_dns - the mechanism counts against the 10-term limit (§4.6.4) */
bool spf_mech_uses_dns(enum spf_mech m);

/* spf_ptr_need - true when spec needs %{p} not yet computed: validation starts */
bool spf_ptr_need(struct spf_eval *e, const char *spec, spf_step_fn resume);
/* spf_ptr_start - compute validated names, then continue with resume */
void spf_ptr_start(struct spf_eval *e, spf_step_fn resume);
/* spf_ptr_pick - %{p} for domain: exact, then subdomain, then any; NULL if none */
const char *spf_ptr_pick(const struct spf_eval *e, const char *domain);

/* spf_exp_start - fetch and expand the explanation for a fail (§6.2), then finish */
void spf_exp_start(struct spf_eval *e);

#endif
