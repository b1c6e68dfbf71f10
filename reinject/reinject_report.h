/*
 * reinject_report.h - DMARC aggregate reports (RFC 9990) in reinject: the
 * settings, the per-message hook of the DMARC stage, and "reinject report".
 *
 * Settings live in struct reinject_conf as member "report"; the keys are
 * declared once here (REINJECT_REPORT_CONF_KEYS), listed in reinject_conf.c's
 * schema with one line and documented in reinject.conf(5).
 *
 *   reinject_report.c      worker side: the batch writer and the hook
 *   reinject_report_cmd.c  "reinject report list|show|generate"
 */
#ifndef MAILAUTH_REINJECT_REPORT_H
#define MAILAUTH_REINJECT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

struct dmarc_verdict;
struct dmarc_input;
struct reinject_conf;
struct store_conf;
struct report_meta;

struct reinject_report_conf {
	bool enable;
	int store_type;			/* enum store_type */
	char *store;			/* SQLite path */
	unsigned store_lock_timeout;	/* seconds */
	int batch_limit;
	int batch_interval_ms;
	int queue_limit;
	char *spool_file;
	size_t spool_size_limit;
	unsigned spool_retry_interval;
	unsigned period;		/* seconds */
	unsigned retention;		/* seconds after the period's report was sent */
	char *org_name;			/* "" -> myhostname */
	char *email;			/* "" -> dmarc-noreply@myhostname */
	char *extra_contact_info;
	char *error;
	char *submitter;		/* "" -> myhostname */
	size_t xml_size_limit;
	bool xml_namespace;
	/* sending (reinject_report_send.c) */
	char *relay;
	unsigned send_timeout;
	unsigned send_interval;
	unsigned retry_delay;		/* first retry; doubles per attempt */
	unsigned retry_delay_limit;
	int attempt_limit;
	unsigned claim_timeout;
	struct config_list ignore_mailto;	/* suppression list */
	/* failure reports, RFC 9991 (reinject_failure*.c) */
	bool failure_enable;
	char *failure_directory;
	int failure_rate_limit;		/* per policy domain and hour */
	int failure_queue_limit;
	unsigned failure_interval;
	unsigned failure_lifetime;
	int failure_local_part;		/* enum report_redact_mode */
	char *failure_hash_key;
	bool failure_body;
	size_t failure_body_size_limit;
};

extern const struct config_enum reinject_report_redact_modes[];

extern const struct config_enum reinject_report_store_types[];

#define REINJECT_REPORT_CONF_KEYS(st, m) \
	CONFIG_KEY_BOOL("report_enable", st, m.enable, "no", \
	    "record DMARC results for RFC 9990 aggregate reports"), \
	CONFIG_KEY_ENUM("report_store_type", st, m.store_type, "sqlite", \
	    reinject_report_store_types, "report store backend: sqlite or pgsql"), \
	CONFIG_KEY_STRING("report_store", st, m.store, "/var/lib/mailauth/reports.db", \
	    "report store: the SQLite database file, or a PostgreSQL conninfo"), \
	CONFIG_KEY_TIME("report_store_lock_timeout", st, m.store_lock_timeout, "5s", 0, 60, \
	    "wait for a store lock held by another process"), \
	CONFIG_KEY_INT("report_batch_limit", st, m.batch_limit, "500", 1, 100000, \
	    "report records per store commit"), \
	CONFIG_KEY_INT("report_batch_interval_ms", st, m.batch_interval_ms, "1000", 10, \
	    60000, "longest wait before queued report records are committed, ms"), \
	CONFIG_KEY_INT("report_queue_limit", st, m.queue_limit, "10000", 1, 1000000, \
	    "report records waiting for the writer; more are lost (counted)"), \
	CONFIG_KEY_STRING("report_spool_file", st, m.spool_file, \
	    "/var/lib/mailauth/reports.spool", \
	    "where report records go while the store fails"), \
	CONFIG_KEY_SIZE("report_spool_size_limit", st, m.spool_size_limit, "64m", 65536, \
	    1LL << 40, "largest report spool file, bytes; more records are lost (counted)"), \
	CONFIG_KEY_TIME("report_spool_retry_interval", st, m.spool_retry_interval, "60s", 1, \
	    3600, "while the store fails, how often spooled records are retried"), \
	CONFIG_KEY_TIME("report_period", st, m.period, "1d", 60, 86400, \
	    "aggregate report period, aligned to UTC midnight"), \
	CONFIG_KEY_TIME("report_retention", st, m.retention, "7d", 0, 366 * 86400, \
	    "keep records this long after their report was sent"), \
	CONFIG_KEY_STRING("report_org_name", st, m.org_name, "", \
	    "report_metadata org_name; empty: myhostname"), \
	CONFIG_KEY_STRING("report_email", st, m.email, "", \
	    "report_metadata email; empty: dmarc-noreply@myhostname"), \
	CONFIG_KEY_STRING("report_extra_contact_info", st, m.extra_contact_info, "", \
	    "report_metadata extra_contact_info"), \
	CONFIG_KEY_STRING("report_error", st, m.error, "", \
	    "report_metadata error, in every report"), \
	CONFIG_KEY_STRING("report_submitter", st, m.submitter, "", \
	    "Submitter domain of Report-ID, file name and Subject; empty: myhostname"), \
	CONFIG_KEY_SIZE("report_xml_size_limit", st, m.xml_size_limit, "64m", 65536, \
	    1LL << 32, "largest report XML built, bytes"), \
	CONFIG_KEY_BOOL("report_xml_namespace", st, m.xml_namespace, "yes", \
	    "RFC 9990 XML namespace on <feedback>; no: for RFC 7489 parsers"), \
	CONFIG_KEY_STRING("report_relay", st, m.relay, "127.0.0.1:25", \
	    "numeric address:port of the SMTP relay that takes report mail"), \
	CONFIG_KEY_TIME("report_send_timeout", st, m.send_timeout, "60s", 1, 600, \
	    "wait for the relay: connect, each reply, each write"), \
	CONFIG_KEY_TIME("report_send_interval", st, m.send_interval, "5m", 10, 86400, \
	    "how often the master looks for reports due"), \
	CONFIG_KEY_TIME("report_retry_delay", st, m.retry_delay, "5m", 1, 86400, \
	    "wait after a failed attempt; doubled after each"), \
	CONFIG_KEY_TIME("report_retry_delay_limit", st, m.retry_delay_limit, "6h", 1, 7 * 86400, \
	    "longest wait between attempts"), \
	CONFIG_KEY_INT("report_attempt_limit", st, m.attempt_limit, "10", 1, 1000, \
	    "attempts before a report is given up"), \
	CONFIG_KEY_TIME("report_claim_timeout", st, m.claim_timeout, "1h", 60, 86400, \
	    "a report claimed longer ago (its sender died) may be taken over"), \
	CONFIG_KEY_LIST("report_ignore_mailto", st, m.ignore_mailto, "", \
	    "report addresses (or @domain) never sent to"), \
	CONFIG_KEY_BOOL("report_failure_enable", st, m.failure_enable, "no", \
	    "send RFC 9991 failure reports where ruf= and fo= ask for them"), \
	CONFIG_KEY_STRING("report_failure_directory", st, m.failure_directory, \
	    "/var/lib/mailauth/failure", "failure reports waiting to be sent"), \
	CONFIG_KEY_INT("report_failure_rate_limit", st, m.failure_rate_limit, "10", 1, \
	    100000, "failure reports per policy domain and hour; more are dropped (logged)"), \
	CONFIG_KEY_INT("report_failure_queue_limit", st, m.failure_queue_limit, "1000", 1, \
	    100000, "failure reports waiting to be sent; more are dropped (logged)"), \
	CONFIG_KEY_TIME("report_failure_interval", st, m.failure_interval, "60s", 10, 3600, \
	    "how often the master sends the failure reports waiting"), \
	CONFIG_KEY_TIME("report_failure_lifetime", st, m.failure_lifetime, "1d", 60, \
	    7 * 86400, "a failure report not sent by then (relay or DNS failing) is dropped"), \
	CONFIG_KEY_ENUM("report_failure_local_part", st, m.failure_local_part, "hash", \
	    reinject_report_redact_modes, \
	    "local parts of addresses in failure reports: hash, remove or keep"), \
	CONFIG_KEY_STRING("report_failure_hash_key", st, m.failure_hash_key, "", \
	    "secret mixed into hashed local parts (empty: plain hash)"), \
	CONFIG_KEY_BOOL("report_failure_body", st, m.failure_body, "no", \
	    "failure reports include the message body (no: the header section only)"), \
	CONFIG_KEY_SIZE("report_failure_body_size_limit", st, m.failure_body_size_limit, \
	    "256k", 1024, 64LL << 20, \
	    "largest message whose body a failure report includes; larger: header only")

/* reinject_report_worker_start - start the batch writer when report_enable */
void reinject_report_worker_start(const struct reinject_conf *c);
/* reinject_report_worker_stop - commit what is queued and stop */
void reinject_report_worker_stop(void);
/* reinject_report_record - queue the rows of one evaluated message, unless it
 * is itself a DMARC report (its Subject is a dmarc-subject) */
struct reinject_msg;
void reinject_report_record(const struct reinject_msg *m, const struct dmarc_verdict *v,
    const struct dmarc_input *in);

/* reinject_report_rcpt_domain - the normalised domain of recipient address
 * (p, len), bare or in <>, into out; "" when it has none or a bad one */
void reinject_report_rcpt_domain(const char *p, size_t len, char *out, size_t size);

/* reinject_report_check - for -t, as the run user: with report_enable the
 * store (SQLite file or its directory writable, or the PostgreSQL conninfo
 * parses) and report_spool_file; with report_failure_enable the queue
 * directory.  0, or -1 with a line per problem in err. */
int reinject_report_check(const struct reinject_conf *c, struct buf *err);
/* reinject_failure_check - report_failure_directory usable (reinject_failure.c) */
int reinject_failure_check(const struct reinject_conf *c, struct buf *err);

/* reinject_report_store_conf - the store settings from c */
void reinject_report_store_conf(const struct reinject_conf *c, struct store_conf *sc);
/* reinject_report_meta - report_metadata from c for the period at begin;
 * email points into ebuf when report_email is empty */
void reinject_report_meta(const struct reinject_conf *c, long long begin,
    struct report_meta *m, char *ebuf, size_t esize);

/* reinject_report_send_due - one pass (reinject_report_send.c): every ended
 * period not yet sent is claimed, built, sent to its verified destinations
 * and marked; then old records are purged.  dry_run: print each message to
 * out instead, claim nothing.  0, or -1 when the store cannot be used. */
int reinject_report_send_due(const struct reinject_conf *c, long long now, bool dry_run,
    FILE *out);
/* reinject_report_ignored - is destination u on report_ignore_mailto */
struct report_uri;
bool reinject_report_ignored(const struct reinject_conf *c, const struct report_uri *u);
/* reinject_report_master_tick - from the master's loop: every
 * report_send_interval (aggregate) and report_failure_interval (failure
 * reports), fork a process that runs one pass; seconds until the next pass
 * is due (0 when both are off) */
unsigned reinject_report_master_tick(const struct reinject_conf *c);

/* Failure reports (RFC 9991): the worker side (reinject_failure.c) writes a
 * queue file in report_failure_directory for each report due; the sender
 * (reinject_failure_send.c), started by the master's tick, sends them. */
/* reinject_failure_worker_start - open the queue directory when enabled */
void reinject_failure_worker_start(const struct reinject_conf *c);
/* reinject_failure_record - queue the failure reports the message's
 * policy records ask for (after the DMARC action was decided) */
void reinject_failure_record(const struct reinject_msg *m, const struct dmarc_verdict *v,
    const struct dmarc_input *in);
/* reinject_failure_send_due - one pass over the queue; 0, or -1 when the
 * queue cannot be read */
int reinject_failure_send_due(const struct reinject_conf *c, long long now);

/* reinject_report_main - "reinject report [-c file] list|show|generate ..." */
int reinject_report_main(int argc, char **argv);

#endif
