/*
 * dmarc.h - DMARC evaluation to RFC 9989 (which obsoletes RFC 7489 and RFC 9091).
 *
 * Pieces, one file each:
 *   dmarc_record.c    policy record parser ("General Record Format",
 *                     "Formal Definition")
 *   dmarc_discover.c  asynchronous DNS Tree Walk ("DNS Tree Walk"), policy discovery
 *                     ("DMARC Policy Discovery") and Organizational Domain selection ("Organizational Domain Discovery")
 *   dmarc_align.c     identifier alignment, relaxed and strict ("DKIM-Authenticated Identifiers", "SPF-Authenticated Identifiers")
 *   dmarc_policy.c    assessment policy (p / sp / np), t=y, dispositions,
 *                     local overrides, legacy RFC 7489 pct sampling
 *   dmarc_eval.c      one message: every RFC5322.From domain, strictest wins
 *   dmarc_spfhdr.c    which Received-SPF / Authentication-Results spf result
 *                     may be trusted (added by our MTA in this hop)
 *   dmarc_report.c    per-message record for RFC 9990 aggregate reports, the
 *                     Authentication-Results clause and the log line
 *
 * RFC 9989 sections are cited by name (as in draft-ietf-dmarc-dmarcbis, which it
 * was published from): "DNS Tree Walk", "DMARC Policy Discovery",
 * "Organizational Domain Discovery", "General Record Format", "Formal
 * Definition", "Extract Author Domain", "Determine Handling Policy", "Tags
 * Removed", "Non-existent Domains" (Terminology).
 *
 * Only common/dns is used for DNS; nothing here blocks.  No Public Suffix List:
 * the Organizational Domain comes from the DNS Tree Walk.
 */
#ifndef MAILAUTH_DMARC_H
#define MAILAUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"
#include "dns.h"
#include "mailaddr.h"
#include "spf.h"
#include "util.h"

/* ---- limits, each with the text that sets it ---- */

/* RFC 9989 "DNS Tree Walk": a DNS Tree Walk makes at most 8 queries: the starting name,
 * then (for names of 8 or more labels) the name cut to its last 7 labels, then one
 * label less each time. */
#define DMARC_WALK_QUERY_LIMIT	8
#define DMARC_WALK_CUT_LABELS	7
/* RFC 1035 §2.3.4: 255 octets in wire form, 253 in text without the final
 * dot; the size of the names mailaddr_domain_to_ascii writes */
#define DMARC_DOMAIN_SIZE	MAILADDR_DOMAIN_SIZE
/* Our bound on URIs kept per rua= / ruf= (RFC 9989 "DMARC URIs" says send to each) */
#define DMARC_URI_LIMIT		4
/* Our bound on one URI's length */
#define DMARC_URI_SIZE_LIMIT	256
/* Our bound on notes (unknown / removed tags, dropped URIs) kept per record */
#define DMARC_NOTE_LIMIT	8
/* Our bound on RFC5322.From domains evaluated for one message (the rest: permerror) */
#define DMARC_FROM_DOMAIN_LIMIT	8
/* Our bound on DKIM results considered for one message */
#define DMARC_DKIM_LIMIT	16
/* Our bound on extra Tree Walks for identifier Organizational Domains per message */
#define DMARC_ORG_WALK_LIMIT	8

/* ---- enums with their names ---- */

enum dmarc_result {
	DMARC_RESULT_NONE,	/* no policy record: DMARC does not apply */
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

enum dmarc_policy {
	DMARC_POLICY_UNSET,	/* tag absent */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/* What the receiver does with the message (RFC 9990 "disposition"). */
enum dmarc_disposition {
	DMARC_DIS_NONE,
	DMARC_DIS_QUARANTINE,
	DMARC_DIS_REJECT,
};

enum dmarc_align_mode {
	DMARC_ALIGN_RELAXED,
	DMARC_ALIGN_STRICT,
};

enum dmarc_psd {
	DMARC_PSD_U,		/* default: not a PSD, use the tree walk */
	DMARC_PSD_Y,
	DMARC_PSD_N,
};

/* fo= options (RFC 9989 "General Record Format"), as bits */
#define DMARC_FO_0	0x1
#define DMARC_FO_1	0x2
#define DMARC_FO_D	0x4
#define DMARC_FO_S	0x8

const char *dmarc_result_str(enum dmarc_result r);
const char *dmarc_policy_str(enum dmarc_policy p);	/* "none"; "" when unset */
const char *dmarc_disposition_str(enum dmarc_disposition d);

/* ---- the policy record (dmarc_record.c) ---- */

enum dmarc_record_status {
	DMARC_RECORD_VALID,
	DMARC_RECORD_NOT_DMARC,	/* does not start with v=DMARC1: not ours, ignore */
	DMARC_RECORD_INVALID,	/* v=DMARC1 but unusable: treated as no record */
};

/* Our bound on the record text kept for display (dmarc-check); longer is cut. */
#define DMARC_RECORD_TEXT_SIZE	1024

struct dmarc_record {
	enum dmarc_record_status status;
	char text[DMARC_RECORD_TEXT_SIZE];	/* as published, maybe cut, NUL-terminated */
	char reason[160];	/* why invalid, or why p=none was implied */

	enum dmarc_policy p, sp, np;
	bool has_policy;	/* a usable p= (or p=none implied by a valid rua=) */
	bool p_implied;		/* p=none because p= was missing or bad and rua= valid */
	bool policy_value_bad;	/* p=, sp= or np= had a bad value */
	enum dmarc_align_mode adkim, aspf;
	enum dmarc_psd psd;
	bool testing;		/* t=y */
	unsigned fo;		/* DMARC_FO_*; default DMARC_FO_0 */
	size_t nrua, nruf;
	char rua[DMARC_URI_LIMIT][DMARC_URI_SIZE_LIMIT];
	char ruf[DMARC_URI_LIMIT][DMARC_URI_SIZE_LIMIT];

	/* tags removed by RFC 9989 "Tags Removed", parsed for the legacy setting only */
	int pct;		/* 0..100; -1 when absent or bad */
	bool has_rf, has_ri;

	/* unknown tags, removed tags, dropped URIs: for logs and dmarc-check */
	size_t nnotes;
	char notes[DMARC_NOTE_LIMIT][96];
};

/*
 * dmarc_record_parse - parse one TXT string (p, len).  Always fills rec; returns
 * rec->status.  NOT_DMARC: the text does not start with v=DMARC1 (RFC 9989 "General Record Format" v:
 * "the entire retrieved record MUST be ignored").  INVALID: duplicate tags, bad
 * tag=value syntax, or a bad value of adkim, aspf, psd, t, fo, or of p/sp/np
 * without a valid rua= (then p=none is implied instead, "DMARC Policy Discovery").
 */
enum dmarc_record_status dmarc_record_parse(const char *p, size_t len,
    struct dmarc_record *rec);
/* dmarc_record_tag_doc - meaning of a known tag name for dmarc-check, or NULL */
const char *dmarc_record_tag_doc(const char *name, size_t len);
/* dmarc_record_format - the effective record as text (all tags, defaults filled) */
int dmarc_record_format(const struct dmarc_record *rec, struct buf *out);

/* ---- DNS Tree Walk and policy discovery (dmarc_discover.c) ---- */

enum dmarc_step_outcome {
	DMARC_STEP_NO_RECORD,	/* NXDOMAIN, NODATA, or only non-DMARC TXT */
	DMARC_STEP_RECORD,	/* exactly one valid DMARC record */
	DMARC_STEP_INVALID,	/* one v=DMARC1 record, invalid: as no record */
	DMARC_STEP_MULTIPLE,	/* several v=DMARC1 records: all discarded ("DNS Tree Walk" step 2) */
	DMARC_STEP_DNS_ERROR,	/* SERVFAIL / TIMEOUT: the walk cannot conclude */
};

struct dmarc_walk_step {
	char domain[DMARC_DOMAIN_SIZE];	/* the name under _dmarc. */
	unsigned labels;
	enum dns_rcode rcode;
	enum dmarc_step_outcome outcome;
	struct dmarc_record rec;	/* valid when outcome is RECORD or INVALID */
};

enum dmarc_walk_status {
	DMARC_WALK_DONE,	/* every needed query answered */
	DMARC_WALK_TEMPERROR,	/* a query failed transiently before the walk could stop */
	DMARC_WALK_BAD_DOMAIN,	/* not a usable domain name */
};

/* Where the policy record applied to the Author Domain was found. */
enum dmarc_source {
	DMARC_SOURCE_NONE,
	DMARC_SOURCE_AUTHOR,	/* at the Author Domain itself: p= applies */
	DMARC_SOURCE_ORG,	/* at its Organizational Domain: sp= / np= apply */
	DMARC_SOURCE_PSD,	/* at a Public Suffix Domain (psd=y): sp= / np= apply */
};

struct dmarc_walk {
	enum dmarc_walk_status status;
	char domain[DMARC_DOMAIN_SIZE];		/* where the walk started, lower case */
	size_t nsteps;
	struct dmarc_walk_step steps[DMARC_WALK_QUERY_LIMIT];
	char org_domain[DMARC_DOMAIN_SIZE];	/* "Organizational Domain Discovery" selection */
	char org_reason[96];			/* which "Organizational Domain Discovery" rule chose it */
	enum dmarc_source source;		/* policy discovery, "DMARC Policy Discovery" */
	int policy_step;			/* index into steps[], -1 when none */
	char policy_domain[DMARC_DOMAIN_SIZE];	/* where the policy record sits */
};

/*
 * A walk holds DMARC_WALK_QUERY_LIMIT steps of about 4 KiB each, of which a
 * message uses one or two: these clear and copy the used part only.
 * dmarc_walk_clear - an empty walk, as if zeroed (steps past the first left as they are)
 * dmarc_walk_copy - copy src into dst: its fields and its nsteps steps
 */
void dmarc_walk_clear(struct dmarc_walk *w);
void dmarc_walk_copy(struct dmarc_walk *dst, const struct dmarc_walk *src);

typedef void (*dmarc_walk_cb)(void *arg, const struct dmarc_walk *w);
struct dmarc_walker;

/*
 * dmarc_walk_start - run the DNS Tree Walk from domain.  The callback runs once
 * (maybe before this returns, then NULL is returned) unless cancelled.  The walk
 * is valid only during the callback.  trace, when set, sees every query result.
 */
struct dmarc_walker *dmarc_walk_start(struct dns_resolver *r, const char *domain,
    dmarc_walk_cb cb, void *arg);
/* dmarc_walk_cancel - abandon a walk; the callback will not run */
void dmarc_walk_cancel(struct dmarc_walker *wk);
/* dmarc_walk_next_labels - labels of the next name queried after one of n labels */
unsigned dmarc_walk_next_labels(unsigned labels);

/* ---- domain names (dmarc_domain.c) ---- */

/* dmarc_domain_labels - count labels of a normalised domain name */
unsigned dmarc_domain_labels(const char *d);
/* dmarc_domain_suffix - pointer to the suffix of d made of its last n labels */
const char *dmarc_domain_suffix(const char *d, unsigned n);
/* dmarc_domain_eq - RFC 4343 case-insensitive name equality, trailing dot ignored */
bool dmarc_domain_eq(const char *a, const char *b);
/* dmarc_walk_policy_record - the record applied to the Author Domain, or NULL */
const struct dmarc_record *dmarc_walk_policy_record(const struct dmarc_walk *w);
/* dmarc_step_outcome_str - name of a step outcome */
const char *dmarc_step_outcome_str(enum dmarc_step_outcome o);
const char *dmarc_source_str(enum dmarc_source s);

/* ---- alignment (dmarc_align.c) ---- */

/*
 * dmarc_align - are identifier domain id and the RFC5322.From domain aligned?
 * Strict: identical names.  Relaxed: identical Organizational Domains (the
 * caller provides both, from Tree Walks).  org_id may be NULL when unknown.
 */
bool dmarc_align(enum dmarc_align_mode mode, const char *from, const char *org_from,
    const char *id, const char *org_id);
/*
 * dmarc_align_possible - could id align with from if its Organizational Domain
 * were known?  True for strict equality, or (relaxed) when either name lies
 * under the other's Organizational Domain.  Used to decide whether a temperror
 * on a path matters (temperror on an identifier that cannot align is ignored).
 */
bool dmarc_align_possible(enum dmarc_align_mode mode, const char *from,
    const char *org_from, const char *id);

/* ---- policy and local overrides (dmarc_policy.c) ---- */

/* RFC 9990 §3 PolicyOverrideType values */
enum dmarc_override {
	DMARC_OVERRIDE_NONE,
	DMARC_OVERRIDE_FORWARDED,
	DMARC_OVERRIDE_SAMPLED_OUT,
	DMARC_OVERRIDE_TRUSTED_FORWARDER,
	DMARC_OVERRIDE_MAILING_LIST,
	DMARC_OVERRIDE_LOCAL_POLICY,
	DMARC_OVERRIDE_OTHER,
};
const char *dmarc_override_str(enum dmarc_override o);

struct dmarc_settings {
	/* trusted forwarders / mailing-list hosts: their failures are not enforced */
	const char *const *trusted_networks;	/* "addr" or "addr/len"; NULL-terminated */
	const char *const *trusted_domains;	/* client host name or passing DKIM d= (suffix) */
	/* internal hosts: not evaluated at all (IgnoreAuthenticatedClients / sign listener) */
	const char *const *internal_networks;
	/* disposition for a message whose From cannot be used (no From, junk) */
	enum dmarc_disposition from_error_disposition;	/* default DMARC_DIS_REJECT */
	/* apply RFC 7489 §6.6.4 pct= sampling (legacy; RFC 9989 removed pct) */
	bool legacy_pct;
	/* answer DNS temperror in policy discovery as dmarc=temperror (else none) */
	bool temperror_on_dns_failure;	/* default true */
	/* sample source for legacy_pct: returns 0..99; NULL -> random() */
	unsigned (*pct_sample)(void *arg);
	void *pct_sample_arg;
};
/* dmarc_settings_default - the defaults documented in reinject.conf(5) */
void dmarc_settings_default(struct dmarc_settings *s);

/* dmarc_net_match - is the address in one of the networks?  -1 on a bad entry */
int dmarc_net_match(const char *const *nets, const struct sockaddr_storage *ss);
/*
 * dmarc_policy_select - the Domain Owner Assessment Policy for the Author Domain
 * (RFC 9989 "DMARC Policy Discovery"): p= when the record is the Author Domain's, else np= (if the
 * Author Domain does not exist) or sp=, falling back to sp= then p=.
 */
enum dmarc_policy dmarc_policy_select(const struct dmarc_record *rec,
    enum dmarc_source src, bool author_nonexistent);
/* dmarc_policy_disposition - policy -> disposition, t=y one level down */
enum dmarc_disposition dmarc_policy_disposition(enum dmarc_policy pol, bool testing);

/* ---- one message (dmarc_eval.c) ---- */

/* A DKIM verification result as DMARC needs it (RFC 9989 "Determine Handling Policy" step 3). */
enum dmarc_auth {
	DMARC_AUTH_NONE,
	DMARC_AUTH_PASS,
	DMARC_AUTH_FAIL,
	DMARC_AUTH_NEUTRAL,
	DMARC_AUTH_POLICY,
	DMARC_AUTH_TEMPERROR,
	DMARC_AUTH_PERMERROR,
};
const char *dmarc_auth_str(enum dmarc_auth a);

struct dmarc_dkim_input {
	enum dmarc_auth result;
	const char *domain;	/* d= */
	const char *selector;	/* s= */
};

struct dmarc_input {
	/* RFC5322.From field bodies, in message order (unfolded or not) */
	const struct span *from_fields;
	size_t nfrom_fields;
	/* when set, the From fields are not known for sure (the header section
	 * could not be read whole): a From error with this reason */
	const char *from_error;
	/* envelope */
	const char *mail_from;		/* address without <>; "" for the null sender */
	const char *helo;
	struct sockaddr_storage client;	/* ss_family 0 when unknown */
	const char *client_name;	/* verified client host name, or NULL */
	/* SPF: from a trusted header (dmarc_spfhdr_find) or our own evaluation */
	enum spf_result spf;
	enum spf_identity spf_identity;
	const char *spf_domain;		/* domain SPF checked */
	/* DKIM */
	const struct dmarc_dkim_input *dkim;
	size_t ndkim;
};

/* The outcome for one RFC5322.From domain. */
struct dmarc_domain_result {
	char from_domain[DMARC_DOMAIN_SIZE];
	enum dmarc_result result;
	enum dmarc_policy policy;		/* assessment policy that applies (p/sp/np) */
	enum dmarc_disposition disposition;
	enum dmarc_override override;
	bool author_nonexistent;
	bool spf_aligned, dkim_aligned;
	const char *aligned_dkim_domain;	/* points into the input */
	const char *aligned_dkim_selector;
	char reason[200];
	struct dmarc_walk walk;			/* discovery of the From domain */
};

struct dmarc_verdict {
	enum dmarc_result result;		/* strictest over all From domains */
	enum dmarc_disposition disposition;
	enum dmarc_policy policy;
	bool evaluated;				/* false: internal host, not evaluated */
	bool from_error;			/* no usable From: permerror */
	char header_from[DMARC_DOMAIN_SIZE];	/* the deciding From domain, or "" */
	char reason[240];
	size_t ndomains;
	struct dmarc_domain_result domains[DMARC_FROM_DOMAIN_LIMIT];
	int decisive;				/* index of the deciding domain, or -1 */
};

/*
 * A verdict has room for DMARC_FROM_DOMAIN_LIMIT domains, each with its walk
 * (about 290 KiB in all): clearing or copying it whole for every message
 * cost more than the rest of DMARC.  Only domains[0..ndomains) are ever read.
 * dmarc_verdict_init - an empty verdict (no domains, decisive -1)
 * dmarc_verdict_copy - copy src into dst: its fields and its ndomains domains
 */
void dmarc_verdict_init(struct dmarc_verdict *v);
void dmarc_verdict_copy(struct dmarc_verdict *dst, const struct dmarc_verdict *src);

typedef void (*dmarc_eval_cb)(void *arg, const struct dmarc_verdict *v);
struct dmarc_eval;

/*
 * dmarc_eval_start - evaluate one message.  The callback runs once (maybe before
 * this returns, then NULL is returned) unless dmarc_eval_cancel() is called.  The
 * input strings must stay valid until the callback; the verdict is valid only
 * during the callback.  It is a flat struct that may be copied by value (its
 * aligned_dkim_* pointers point into the input).  set may be NULL (defaults).
 */
struct dmarc_eval *dmarc_eval_start(struct dns_resolver *r,
    const struct dmarc_settings *set, const struct dmarc_input *in,
    dmarc_eval_cb cb, void *arg);
void dmarc_eval_cancel(struct dmarc_eval *e);

/* ---- trusted SPF header (dmarc_spfhdr.c) ---- */

struct dmarc_header {
	struct span name;
	struct span value;
};

struct dmarc_spfhdr {
	bool found;		/* false: evaluate SPF yourself */
	enum spf_result result;
	enum spf_identity identity;
	char domain[DMARC_DOMAIN_SIZE];
	const char *source;	/* "Received-SPF" or "Authentication-Results" */
	const char *why;	/* why trusted, or why not */
};

/*
 * dmarc_spfhdr_find - the SPF result our own MTA recorded in this hop, if any.
 * The rule (documented in reinject(8)): only header fields above the first
 * Received field count (Postfix writes its own Received field on top of the
 * sender's header, and policy PREPEND fields above that, so nothing the sender
 * wrote can sit there).  Among them, the topmost Received-SPF field, or an
 * Authentication-Results field whose authserv-id is ours, is used when it states
 * identity mailfrom with an envelope-from (or smtp.mailfrom) whose domain equals
 * the envelope sender's domain, or, for the null sender only, identity helo with
 * the HELO name we saw; and when it names a client-ip, it must be the client's.
 * Anything else: found = false.
 */
void dmarc_spfhdr_find(const struct dmarc_header *h, size_t n,
    const char *authserv_id, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out);
/*
 * dmarc_spfhdr_find_trusted - dmarc_spfhdr_find, where an Authentication-Results
 * field above the first Received field may also carry one of the ntrusted
 * authserv-ids in trusted (OpenDMARC's TrustedAuthservIDs); same position and
 * identity rules; the topmost such field whose spf clause matches is used.
 */
void dmarc_spfhdr_find_trusted(const struct dmarc_header *h, size_t n,
    const char *authserv_id, char *const *trusted, size_t ntrusted,
    const char *mail_from, const char *helo, const char *client_ip,
    struct dmarc_spfhdr *out);

/* ---- reporting and headers (dmarc_report.c) ---- */

/* One message's DMARC inputs and outcome: a row for RFC 9990 aggregate reports. */
struct dmarc_report_dkim {
	char domain[DMARC_DOMAIN_SIZE];
	char selector[64];
	enum dmarc_auth result;
};
struct dmarc_report_record {
	char source_ip[64];
	char header_from[DMARC_DOMAIN_SIZE];
	char envelope_from[DMARC_DOMAIN_SIZE];	/* RFC5321.MailFrom domain, "" when null */
	char envelope_to[DMARC_DOMAIN_SIZE];
	/* policy_published */
	char policy_domain[DMARC_DOMAIN_SIZE];
	enum dmarc_source policy_source;
	enum dmarc_policy p, sp, np;
	enum dmarc_align_mode adkim, aspf;
	bool testing;
	enum dmarc_psd psd;
	unsigned fo;				/* DMARC_FO_* */
	size_t nrua;				/* rua= URIs, where reports go */
	char rua[DMARC_URI_LIMIT][DMARC_URI_SIZE_LIMIT];
	/* policy_evaluated */
	enum dmarc_result result;
	enum dmarc_disposition disposition;
	bool dkim_aligned_pass, spf_aligned_pass;
	enum dmarc_override override;
	char override_comment[96];
	/* auth_results */
	size_t ndkim;
	struct dmarc_report_dkim dkim[DMARC_DKIM_LIMIT];
	char spf_domain[DMARC_DOMAIN_SIZE];
	enum spf_identity spf_scope;
	enum spf_result spf_result;
};

/* dmarc_report_fill - one record per evaluated From domain (index i of v) */
void dmarc_report_fill(struct dmarc_report_record *rec, const struct dmarc_verdict *v,
    size_t i, const struct dmarc_input *in, const char *envelope_to);
/*
 * dmarc_authres_add - add the dmarc= clause to an Authentication-Results
 * field: "dmarc=fail (p=reject dis=quarantine) header.from=x polrec.p=reject
 * polrec.domain=y policy.dmarc=reject" (RFC 8601 §2.7, RFC 9989
 * "Authentication-Results Method Registry Update" registry names polrec.p /
 * polrec.domain; policy.dmarc as widely emitted).  The comment and
 * policy.dmarc only when a policy was applied; nothing when not evaluated.
 */
struct authres_builder;
void dmarc_authres_add(struct authres_builder *b, const struct dmarc_verdict *v);
/* dmarc_log_line - "from-domain fail (p=reject dis=quarantine ...)" for the log */
int dmarc_log_line(struct buf *b, const struct dmarc_verdict *v);

#endif
