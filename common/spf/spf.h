/*
 * spf.h - asynchronous RFC 7208 SPF evaluation, resolver-agnostic.
 *
 * The engine drives lookups through common/dns and reports one verdict through a
 * callback.  It never blocks and never calls libunbound directly.
 */
#ifndef MAILAUTH_SPF_H
#define MAILAUTH_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "buf.h"
#include "dns.h"

struct event_base;

enum spf_result {
	SPF_RESULT_NONE,
	SPF_RESULT_NEUTRAL,
	SPF_RESULT_PASS,
	SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL,
	SPF_RESULT_TEMPERROR,
	SPF_RESULT_PERMERROR,
};

enum spf_identity {
	SPF_IDENTITY_MAILFROM,
	SPF_IDENTITY_HELO,
};

/* RFC 7208 §4.6.4 processing limits, and our own bounds on one evaluation. */
#define SPF_DNS_MECH_LIMIT	10	/* RFC 7208 §4.6.4: DNS-querying terms */
#define SPF_VOID_LIMIT		2	/* RFC 7208 §4.6.4: void lookups */
#define SPF_MXPTR_NAME_LIMIT	10	/* RFC 7208 §4.6.4: names per MX / PTR */

struct spf_limits {
	unsigned dns_mech_limit;	/* default SPF_DNS_MECH_LIMIT */
	unsigned void_limit;		/* default SPF_VOID_LIMIT */
	unsigned mxptr_name_limit;	/* default SPF_MXPTR_NAME_LIMIT */
	unsigned total_lookup_limit;	/* all DNS queries of one evaluation; default 40;
					 * exceeding it is permerror (the exp= lookup is
					 * not counted against it) */
	unsigned eval_timeout_ms;	/* wall time of one evaluation; default 20000;
					 * exceeding it is temperror; 0: no limit */
};

/* spf_limits_default - the RFC limits and our defaults */
void spf_limits_default(struct spf_limits *l);

struct spf_request {
	struct sockaddr_storage client;	/* AF_INET or AF_INET6 (v4-mapped handled) */
	const char *helo;		/* HELO/EHLO argument; may be NULL/"" */
	const char *mail_from;		/* MAIL FROM address without <>; "" for null sender */
	enum spf_identity identity;	/* which identity to check */
	const char *receiver;		/* %{r}: our host name; NULL -> "unknown" */
	/* optional: called for every DNS answer received (query mode, tests) */
	void (*trace)(void *arg, const char *name, enum dns_type type,
	    enum dns_rcode rcode, size_t count);
	void *trace_arg;
	/* optional: explain-string (RFC 7208 §6.2 macros allowed) used for a fail
	 * when the record has no usable exp=; NULL: no explanation */
	const char *default_explanation;
};

/*
 * The v=spf1 TXT records an evaluation retrieved at the checked identity's
 * domain (not those of include: or redirect= targets), for the RFC 6591
 * §3.1 SPF-DNS field of failure reports.  Our bound: at most
 * SPF_RECORDS_LIMIT records of SPF_RECORDS_SIZE bytes in all; a record that
 * does not fit whole is left out (only the report loses it; the result is
 * evaluated on the records as received).
 */
#define SPF_RECORDS_LIMIT	4
#define SPF_RECORDS_SIZE	4096
struct spf_records {
	size_t n;
	size_t off[SPF_RECORDS_LIMIT], len[SPF_RECORDS_LIMIT];	/* in text */
	size_t used;
	char text[SPF_RECORDS_SIZE];	/* the records as received, back to back */
};
/* spf_records_add - keep record (p, len) if it fits; false if not */
bool spf_records_add(struct spf_records *r, const char *p, size_t len);

struct spf_verdict {
	enum spf_result result;
	enum spf_identity identity;
	const char *domain;		/* domain checked (from MAIL FROM, or HELO) */
	const char *sender;		/* as checked: mail_from or postmaster@helo */
	const char *mechanism;		/* matching term as written in the record
					 * ("-all", "include:_spf.example.net"), or NULL
					 * (default result, none, errors) */
	const char *reason;		/* human-readable: why this result; never NULL */
	const char *explanation;	/* fail only: exp= text or NULL */
	unsigned lookups;		/* DNS queries made */
	unsigned void_lookups;
	unsigned dns_terms;		/* DNS-querying terms evaluated (RFC 7208 §4.6.4) */
	const struct spf_records *records;	/* v=spf1 records at domain; never NULL */
};

typedef void (*spf_callback)(void *arg, const struct spf_verdict *v);

struct spf_eval;

/*
 * spf_eval_start - begin an evaluation.  The callback runs exactly once (it may run
 * before spf_eval_start returns, in which case NULL is returned) unless
 * spf_eval_cancel() is called first.  base may be NULL (no wall-time limit).
 * The verdict is valid only during the callback.  limits NULL: the defaults.
 * The request is copied; its strings need not outlive the call.  The resolver and
 * the base must outlive the evaluation (until the callback or spf_eval_cancel).
 */
struct spf_eval *spf_eval_start(struct dns_resolver *r, struct event_base *base,
    const struct spf_limits *limits, const struct spf_request *req,
    spf_callback cb, void *arg);
/*
 * spf_eval_cancel - abandon an evaluation: its outstanding DNS query and timer are
 * cancelled and the callback will not run.  NULL is ignored; so is a call from
 * inside the evaluation's own callback (it is freed when the callback returns).
 */
void spf_eval_cancel(struct spf_eval *e);

const char *spf_result_str(enum spf_result r);	/* "pass", "fail", ... */
/* spf_result_from_str - inverse of spf_result_str; -1 when unknown */
int spf_result_from_str(const char *s, size_t len);

/*
 * Largest Received-SPF or Authentication-Results clause the functions below
 * write: the comment and each value are cut to 400 bytes (ending in "...")
 * so that a header with every key fits a buffer of this size.
 */
#define SPF_HEADER_SIZE_MAX	4096
/*
 * spf_received_header - append "Received-SPF: ..." (RFC 7208 §9.1), without the
 * trailing CRLF, folded where long.  Includes identity=, client-ip=, helo=,
 * envelope-from= (always, "" for a null sender), receiver= (omitted when
 * hide_receiver).
 */
int spf_received_header(struct buf *b, const struct spf_verdict *v,
    const struct spf_request *req, bool hide_receiver);
/*
 * spf_received_header_fold - the same with a chosen fold: "\r\n\t" (what
 * spf_received_header uses, for a message on the wire), "\n\t", or NULL for one
 * unfolded line (a policy-delegation PREPEND action is a single line).
 */
int spf_received_header_fold(struct buf *b, const struct spf_verdict *v,
    const struct spf_request *req, bool hide_receiver, const char *fold);
/*
 * spf_authres_clause - append "spf=pass smtp.mailfrom=..." (or smtp.helo=) for an
 * Authentication-Results header (RFC 8601 §2.7.2), with a reason comment.
 */
int spf_authres_clause(struct buf *b, const struct spf_verdict *v);

/* ---- exposed for tests and fuzzing ---- */

struct spf_macro_ctx {
	const char *sender;		/* %{s} */
	const char *local_part;		/* %{l} */
	const char *sender_domain;	/* %{o} */
	const char *domain;		/* %{d}: current domain */
	const struct sockaddr_storage *client;	/* %{i} %{c} %{v} */
	const char *helo;		/* %{h} */
	const char *validated_ptr;	/* %{p}: resolved by the engine; NULL -> "unknown" */
	const char *receiver;		/* %{r} */
	long long now;			/* %{t} */
	bool exp;			/* exp= text: %{c} %{r} %{t} allowed */
};

/*
 * spf_macro_expand - expand macro-string (p, len) into out.  Returns 0, or -1 with
 * *err set to a static reason (the caller returns permerror).  An explain-string
 * (ctx->exp) longer than out's maximum is an error; a domain-spec keeps only
 * the right-hand labels that fit a name (RFC 7208 §7.3), whatever its length.
 */
int spf_macro_expand(const char *p, size_t len, const struct spf_macro_ctx *ctx,
    struct buf *out, const char **err);

struct spf_record;
/*
 * spf_record_parse - parse a record text (after "v=spf1").  NULL with *err set to
 * a reason on any syntax error (permerror).  Allocated; free with spf_record_free.
 */
struct spf_record *spf_record_parse(const char *p, size_t len, const char **err);
void spf_record_free(struct spf_record *rec);

#endif
