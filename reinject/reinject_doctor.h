/*
 * reinject_doctor.h - "reinject doctor": checks a domain's outbound mail
 * setup end to end with the project's own resolver and engines, and says
 * what to change: forward-confirmed reverse DNS of each address and the HELO
 * name (RFC 8601 §3), SPF of the domain and the HELO name for each address
 * (RFC 7208, with the §4.6.4 limits), every signing key (RFC 6376 §3.6), DMARC
 * (RFC 9989) with alignment and external report destinations (RFC 9990), and
 * MX (RFC 5321 §5.1).  reinject-doctor(8).
 *
 * Each check adds findings (ok / warn / fail, what to change, the record to
 * publish in zone-file syntax); the exit status is the worst finding.
 */
#ifndef MAILAUTH_REINJECT_DOCTOR_H
#define MAILAUTH_REINJECT_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>
#include <sysexits.h>

#include "dns.h"
#include "iprev.h"

struct event_base;
struct reinject_conf;

/* Outbound addresses checked in one run (--ip). */
#define DOCTOR_IP_LIMIT		16
/* DKIM signing domains remembered for the DMARC alignment check. */
#define DOCTOR_DKIM_DOMAIN_LIMIT	32
/* RFC 7208 §4.6.4 limits are warned about when this close (issue: "within 2"). */
#define DOCTOR_SPF_MARGIN	2
/* RSA keys shorter than this are warned about (RFC 8301 §3.2 asks for 2048). */
#define DOCTOR_RSA_BITS_MIN	2048

/* Severity of a finding; the exit status is the worst one. */
enum doctor_level {
	DOCTOR_OK = 0,
	DOCTOR_WARN = 1,
	DOCTOR_FAIL = 2,
};
/* Exit status when the checks could not run (usage, configuration, resolver). */
#define DOCTOR_EXIT_USAGE	EX_USAGE
#define DOCTOR_EXIT_UNAVAILABLE	EX_UNAVAILABLE
#define DOCTOR_EXIT_CONFIG	EX_CONFIG

struct doctor_finding {
	enum doctor_level level;
	char *check;		/* "fcrdns", "helo", "spf", "spf-limits", "dkim", ... */
	char *subject;		/* what was checked: an address, a domain, a key */
	char *text;		/* what was found */
	char *fix;		/* what to change, or NULL */
	char *record;		/* the DNS record to publish, zone-file syntax, or NULL */
};

struct doctor {
	struct event_base *base;	/* NULL: a synchronous resolver (tests) */
	struct dns_resolver *r;
	const char *domain;
	const char *helo;		/* NULL when not given */
	const char *mail_from_domain;	/* envelope domain; the domain unless given */
	struct iprev_addr ips[DOCTOR_IP_LIMIT];
	size_t nips;
	char *ptr_names[DOCTOR_IP_LIMIT];	/* confirmed PTR name of each, or NULL */
	const struct reinject_conf *conf;	/* signing configuration, or NULL */
	char *dkim_domains[DOCTOR_DKIM_DOMAIN_LIMIT];
	size_t ndkim_domains;
	struct doctor_finding *f;
	size_t nf;
};

/* doctor_init / doctor_clear - an empty run on resolver r */
void doctor_init(struct doctor *d, struct event_base *base, struct dns_resolver *r);
void doctor_clear(struct doctor *d);
/* doctor_add - a finding; fix and record may be NULL */
void doctor_add(struct doctor *d, enum doctor_level level, const char *check,
    const char *subject, const char *fix, const char *record, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* doctor_worst - the worst level found (DOCTOR_OK when none) */
enum doctor_level doctor_worst(const struct doctor *d);
/* doctor_wait - run the loop until *done (an answer may have come already) */
void doctor_wait(struct doctor *d, const bool *done);
/* doctor_query - a lookup, waited for, its answer copied into out (cleared by caller) */
void doctor_query(struct doctor *d, const char *name, enum dns_type type,
    struct dns_answer_owned *out);
/* doctor_dns_failure - "DNS lookup of TYPE NAME failed: why", for an error answer */
void doctor_dns_failure(const struct dns_answer *a, char *out, size_t size);
/* doctor_addr_family - "ip4" / "ip6" (SPF) and "A" / "AAAA" of an address */
const char *doctor_addr_spf(const struct iprev_addr *a);
const char *doctor_addr_rrtype(const struct iprev_addr *a);

/* the checks, in the order the report lists them */
void doctor_check_fcrdns(struct doctor *d);
void doctor_check_helo(struct doctor *d);
void doctor_check_spf(struct doctor *d);
void doctor_check_dkim(struct doctor *d);
void doctor_check_dmarc(struct doctor *d);
void doctor_check_mx(struct doctor *d);

/* doctor_run - every check; returns the worst level */
enum doctor_level doctor_run(struct doctor *d);
/* doctor_report_text / _json - the findings, one line each / one JSON object */
void doctor_report_text(const struct doctor *d, FILE *out);
void doctor_report_json(const struct doctor *d, FILE *out);

/* reinject_doctor_main - "reinject doctor --domain D --ip A ..." */
int reinject_doctor_main(int argc, char **argv);

#endif
