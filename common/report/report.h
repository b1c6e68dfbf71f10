/*
 * report.h - RFC 9990 DMARC aggregate reports from the report store (store.h).
 *
 *   report_xml.c   the XML document (RFC 9990 "Description of the content XML
 *                  file", schema of its appendix, namespace
 *                  urn:ietf:params:xml:ns:dmarc-2.0)
 *   report_name.c  Report-ID ("Definition of Report-ID"), the attachment file
 *                  name and the Subject ("Email")
 *   report_mail.c  gzip (RFC 1952, zlib) and the MIME message (RFC 2045)
 */
#ifndef MAILAUTH_REPORT_H
#define MAILAUTH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "dmarc.h"
#include "dns.h"
#include "store.h"

/* RFC 9990 "DKIM Signatures in Aggregate Reports": at most 100 per row */
#define REPORT_DKIM_PER_ROW_LIMIT	100
/* Our bound on one report's XML (the groups of one domain and period) */
#define REPORT_XML_SIZE_LIMIT		(256u * 1024 * 1024)

/* report_metadata (configuration) and the period reported */
struct report_meta {
	const char *org_name;
	const char *email;
	const char *extra_contact_info;	/* "" for none */
	const char *error;		/* "" for none */
	const char *generator;		/* "" for none */
	const char *submitter;		/* our domain: Report-ID, file name, Subject */
	int64_t begin, end;		/* the period [begin, end) */
	bool no_namespace;		/* leave out RFC 9990's XML namespace (for
					 * RFC 7489 parsers that do not expect it) */
};

/* report_xml_build - the report of domain for m's period into out (reset
 * first); 0, or -1 with a message in out when the store fails, there are no
 * records, or the size limit is passed */
int report_xml_build(struct store *st, const struct report_meta *m,
    const char *domain, struct buf *out);
/* report_xml_escape - append s with XML's five special characters escaped */
void report_xml_escape(struct buf *out, const char *s);

/* report_id - "BEGIN.DOMAIN@SUBMITTER": the same for every retry of a report */
int report_id(char *out, size_t size, const char *domain, int64_t begin,
    const char *submitter);
/* report_filename - "SUBMITTER!DOMAIN!BEGIN!END.xml.gz" (END: last second) */
int report_filename(char *out, size_t size, const char *domain,
    const struct report_meta *m);
/* report_subject_is_report - does Subject value (p, len) start as a
 * dmarc-subject: such messages are reports and are not reported on */
bool report_subject_is_report(const char *p, size_t len);
/* report_subject - "Report Domain: D Submitter: S Report-ID: <ID>" */
int report_subject(struct buf *out, const char *domain, const struct report_meta *m,
    const char *rid);

/* A report destination from rua= (report_rua.c). */
struct report_uri {
	char addr[DMARC_URI_SIZE_LIMIT];	/* decoded addr-spec */
	const char *domain;			/* points into addr, after the @ */
	uint64_t size_limit;			/* bytes; 0: none given */
};
struct report_rua {
	size_t n;
	struct report_uri uri[DMARC_URI_LIMIT];
	size_t ignored;				/* not usable mailto: URIs */
};

/* report_rua_parse - URIs separated by blanks or commas in (p, len) */
void report_rua_parse(const char *p, size_t len, struct report_rua *out);

/* External destination verification (report_verify.c). */
enum report_verify_result {
	REPORT_VERIFY_OK,	/* same Organizational Domain, or confirmed */
	REPORT_VERIFY_NO,	/* not confirmed: no report to this destination */
	REPORT_VERIFY_TEMP,	/* DNS failed: try again later */
};
struct report_verify {
	/* the outcome, valid once done */
	bool done;
	enum report_verify_result result;
	bool has_override;		/* the confirming record had rua= */
	struct report_rua override;	/* its URIs (same host) replace the original */
	/* internal */
	struct dns_resolver *dns;
	char policy[DMARC_DOMAIN_SIZE], dest[DMARC_DOMAIN_SIZE];
	char org[2][DMARC_DOMAIN_SIZE];
	struct dmarc_walker *walk[2];
	struct dns_query *q;
	int pending;
	bool temp, bad;
	bool ruf;			/* a ruf= destination (RFC 9991) */
};
/* report_verify_start - verify destination host dest for policy domain policy;
 * v->done is set once decided, maybe before this returns */
void report_verify_start(struct report_verify *v, struct dns_resolver *dns,
    const char *policy, const char *dest);
/* report_verify_start_tag - the same; ruf: a failure report destination,
 * the confirming record's ruf= overrides (RFC 9991 "Verifying External
 * Destinations") */
void report_verify_start_tag(struct report_verify *v, struct dns_resolver *dns,
    const char *policy, const char *dest, bool ruf);
/* report_verify_cancel - stop its pending lookups */
void report_verify_cancel(struct report_verify *v);

/* The relay that takes report mail (report_smtp.c). */
struct report_smtp {
	const char *relay;		/* numeric "addr:port" */
	const char *helo;
	unsigned timeout;		/* seconds for each read and write */
};
enum report_smtp_result {
	REPORT_SMTP_SENT,
	REPORT_SMTP_TEMPFAIL,		/* try again later */
	REPORT_SMTP_PERMFAIL,		/* refused for good */
};
/* report_smtp_send - one message to the relay; why says what failed */
enum report_smtp_result report_smtp_send(const struct report_smtp *c, const char *from,
    const char *const *to, size_t nto, const char *msg, size_t len, struct buf *why);

/* One report as mail (report_mail.c). */
struct report_mail {
	const struct report_meta *meta;
	const char *domain;		/* the policy domain */
	const char *const *to;		/* addr-spec of each recipient */
	size_t nto;
	const char *xml;
	size_t xml_len;
	time_t date;
};

/* report_gzip - (p, len) as one gzip member (RFC 1952) appended to out */
int report_gzip(const char *p, size_t len, struct buf *out);
/* report_mail_build - the MIME message with the gzip attachment; 0 or -1 */
int report_mail_build(const struct report_mail *rm, struct buf *out);

#endif
