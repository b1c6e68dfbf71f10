/*
 * report_failure.h - DMARC failure reports (RFC 9991) in the authentication
 * failure format of RFC 6591 (ARF, RFC 5965).
 *
 *   report_failure.c  when a report is due (the fo= tag, RFC 9989 "General
 *                     Record Format"; RFC 9991 "DMARC Failure Reports"),
 *                     and the message: multipart/report (RFC 6522) with a
 *                     text part, message/feedback-report (RFC 5965 §3,
 *                     RFC 6591 §3, RFC 9991 "Reporting Format Update") and
 *                     the original header section (text/rfc822-headers) or
 *                     message (message/rfc822)
 *   report_redact.c   local parts of addresses removed or hashed (RFC 6590
 *                     §3, RFC 9991 "Privacy Considerations")
 *   report_fjob.c     the queue file a worker leaves for the sender, and the
 *                     per-domain hourly counts the sender keeps
 */
#ifndef MAILAUTH_REPORT_FAILURE_H
#define MAILAUTH_REPORT_FAILURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "dmarc.h"
#include "spf.h"
#include "store.h"

/* What a failure report is about (RFC 6591 §3.1 Auth-Failure). */
enum report_fail_kind {
	REPORT_FAIL_NONE,	/* nothing the record asked for */
	REPORT_FAIL_DMARC,	/* fo=0 / fo=1: "dmarc" (RFC 9991) */
	REPORT_FAIL_DKIM,	/* fo=d: a signature failed: "signature" */
	REPORT_FAIL_SPF,	/* fo=s: SPF failed: "spf" */
};
/* report_fail_kind_str - the Auth-Failure value; "" for NONE */
const char *report_fail_kind_str(enum report_fail_kind k);

/* The facts fo= is decided on, for one policy domain of one message. */
struct report_fail_facts {
	unsigned fo;			/* DMARC_FO_* of the policy record */
	bool dkim_aligned_pass, spf_aligned_pass;
	bool dkim_failed;		/* some DKIM signature failed evaluation */
	bool spf_failed;		/* SPF evaluated to fail */
};
/* report_fail_due - the report fo= asks for (RFC 9989 fo: 0 all mechanisms
 * fail to give an aligned pass, 1 any does, d a signature failed whatever
 * its alignment, s SPF failed whatever its alignment); the first that
 * applies in that order */
enum report_fail_kind report_fail_due(const struct report_fail_facts *f);

/* SPF-DNS fields are folded before a blank where the next word would pass
 * this column (RFC 5322 §2.1.1's 78); a record holding a longer run
 * without blanks than REPORT_SPF_DNS_RUN_LIMIT is left out (no line may
 * pass RFC 5322's 998). */
#define REPORT_FOLD_COLUMN		78
#define REPORT_SPF_DNS_RUN_LIMIT	600

/* One failure report's content (report_failure_build). */
struct report_failure {
	enum report_fail_kind kind;
	const char *from;		/* the report's author addr-spec */
	const char *reporting_mta;	/* our host name */
	const char *user_agent;		/* "name/version" */
	const char *authserv_id;
	const char *policy_domain;	/* the DMARC policy record's domain */
	const char *header_from;	/* Reported-Domain */
	const char *org_domain;		/* of header_from: which d= are aligned */
	const char *source_ip;		/* "" when unknown */
	const char *mail_from;		/* redacted; "" for the null sender */
	const char *envelope_id;	/* queue id, or NULL */
	const char *delivery_result;	/* RFC 6591 value, or NULL */
	const char *dmarc_result;
	bool dkim_aligned_pass, spf_aligned_pass;
	const char *spf_result, *spf_domain;
	const struct spf_records *spf_records;	/* at spf_domain, or NULL */
	const struct dmarc_report_dkim *dkim;
	size_t ndkim;
	time_t arrival;
	const char *message_id;		/* our Message-ID, without <> */
	const char *headers;		/* the redacted header section, CRLF ends */
	size_t headers_len;
	const char *body;		/* the body after the empty line; NULL: none */
	size_t body_len;
};
/* report_failure_build - the message (without To:, which the sender adds
 * once the destinations are verified) into out; 0, or -1 past out's limit */
int report_failure_build(const struct report_failure *f, struct buf *out);

/* How local parts are redacted (report_failure_local_part). */
enum report_redact_mode {
	REPORT_REDACT_KEEP,
	REPORT_REDACT_HASH,	/* "h-" and 16 hex digits of SHA-256(key, local) */
	REPORT_REDACT_REMOVE,	/* "redacted" */
};
/* The text that replaces a removed local part. */
#define REPORT_REDACT_REMOVED	"redacted"
/*
 * report_redact - append (p, len) to out with the local part before every
 * "@" replaced as mode says: a dot-atom (RFC 5322 §3.4.1 atext and ".") or a
 * quoted-string right before the "@".  key (maybe "") is mixed into hashes.
 */
void report_redact(const char *p, size_t len, enum report_redact_mode mode,
    const char *key, struct buf *out);

/* A queue file (report_fjob.c):
 *   "MAILAUTH-FAILURE 1\n" "domain " D "\n" "ruf " URIs "\n" "size " N "\n"
 *   "\n" and N bytes of message. */
#define REPORT_FJOB_MAGIC	"MAILAUTH-FAILURE 1\n"
struct report_fjob {
	char domain[DMARC_DOMAIN_SIZE];
	char ruf[STORE_RUA_SIZE];	/* URIs separated by blanks */
	const char *msg;		/* points into the parsed text */
	size_t msg_len;
};
enum report_fjob_status {
	REPORT_FJOB_OK,
	REPORT_FJOB_SHORT,		/* a prefix of a good file: still being written */
	REPORT_FJOB_BAD,
};
/* report_fjob_format - the queue file of a message into out */
int report_fjob_format(struct buf *out, const char *domain, const char *ruf,
    const char *msg, size_t len);
/* report_fjob_parse - a queue file (p, len) */
enum report_fjob_status report_fjob_parse(const char *p, size_t len,
    struct report_fjob *out);

/* Reports sent per policy domain in the current hour. */
struct report_rate_entry {
	int64_t hour;			/* hours since the epoch */
	unsigned count;
	char domain[DMARC_DOMAIN_SIZE];
};
struct report_rate {
	size_t n, cap;
	struct report_rate_entry *e;
};
/* report_rate_load - the counts in text (p, len) ("HOUR COUNT DOMAIN" lines;
 * bad lines skipped), only those of hour */
void report_rate_load(struct report_rate *r, const char *p, size_t len, int64_t hour);
/* report_rate_save - the counts as text */
void report_rate_save(const struct report_rate *r, struct buf *out);
/* report_rate_allows - fewer than limit reports to domain in hour */
bool report_rate_allows(const struct report_rate *r, const char *domain, int64_t hour,
    unsigned limit);
/* report_rate_count - one more report to domain in hour (older hours dropped) */
void report_rate_count(struct report_rate *r, const char *domain, int64_t hour);
void report_rate_clear(struct report_rate *r);

#endif
