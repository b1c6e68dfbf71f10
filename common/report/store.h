/*
 * store.h - the DMARC report store: one row per evaluated RFC5322.From domain
 * of a message (the per-message record of common/dmarc), kept until the RFC 9990
 * aggregate report of its period was sent and the retention age passed.
 *
 * Pieces, one file each:
 *   store_row.c     a dmarc_report_record as a flat row of text columns
 *   store.c         the backend-independent calls (dispatch through store_ops)
 *   store_sqlite.c  the embedded backend: SQLite in WAL mode
 *   store_pgsql.c   the fleet backend: PostgreSQL (libpq), when built
 *   store_spool.c   bounded local spool file for rows the store refused
 *   store_batch.c   the batch writer: workers queue rows, one thread commits
 *                   every store_batch_limit rows or store_batch_interval ms
 *
 * Schema (both backends; version in table schema_version, upgraded at open):
 *   record(id, time, policy_domain, header_from, envelope_from, envelope_to,
 *          source_ip, disposition, dkim_align, spf_align, reason,
 *          reason_comment, p, sp, np, adkim, aspf, testing, psd, fo, rua,
 *          dkim, spf_domain, spf_scope, spf_result)
 *   report(policy_domain, period_begin, period_end, report_id, state,
 *          claimed_by, claimed_time, attempts, next_attempt, sent_time)
 *          one row per (policy domain, period)
 *   failure_rate(policy_domain, hour, count)   (version 2)
 *          RFC 9991 failure reports sent per policy domain and UTC hour
 *          (hour = seconds since the epoch / 3600), shared by the fleet
 * Enumerated values are kept as their RFC 9990 names, so a report row is the
 * GROUP BY of its columns and the XML prints them as stored.
 */
#ifndef MAILAUTH_STORE_H
#define MAILAUTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dmarc.h"

/* Schema version written by this code (table schema_version). */
#define STORE_SCHEMA_VERSION	2
/* rua= URIs joined by blanks: DMARC_URI_LIMIT URIs of DMARC_URI_SIZE_LIMIT */
#define STORE_RUA_SIZE		(DMARC_URI_LIMIT * DMARC_URI_SIZE_LIMIT)
/* "result domain selector;" per signature, DMARC_DKIM_LIMIT of them */
#define STORE_DKIM_SIZE		(DMARC_DKIM_LIMIT * (DMARC_DOMAIN_SIZE + 64 + 16))
#define STORE_ID_SIZE		128

/* One message's record for one policy domain, as stored. */
struct store_row {
	int64_t time;				/* arrival, seconds since the epoch */
	char policy_domain[DMARC_DOMAIN_SIZE];
	char header_from[DMARC_DOMAIN_SIZE];
	char envelope_from[DMARC_DOMAIN_SIZE];
	char envelope_to[DMARC_DOMAIN_SIZE];
	char source_ip[64];
	char disposition[16];			/* RFC 9990 ActionDispositionType */
	char dkim_align[8];			/* "pass" / "fail" */
	char spf_align[8];
	char reason[24];			/* PolicyOverrideType, or "" */
	char reason_comment[96];
	char p[16], sp[16], np[16];		/* "" when not published */
	char adkim[2], aspf[2], testing[2], psd[2];	/* "r"/"s", "y"/"n", "y"/"n"/"u" */
	char fo[8];				/* "0", "1:d", ... */
	char rua[STORE_RUA_SIZE];		/* URIs separated by one blank */
	char dkim[STORE_DKIM_SIZE];		/* "pass example.com sel;..." */
	char spf_domain[DMARC_DOMAIN_SIZE];
	char spf_scope[8];			/* "mfrom" / "helo" */
	char spf_result[16];
};

/* store_row_from_dmarc - the row for rec at time t */
void store_row_from_dmarc(struct store_row *row, const struct dmarc_report_record *rec,
    int64_t t);
/* store_row_valid - every field NUL-terminated and the required ones set */
bool store_row_valid(const struct store_row *row);

/* A (policy domain, period) with records, as listed. */
struct store_period {
	char policy_domain[DMARC_DOMAIN_SIZE];
	int64_t begin, end;			/* [begin, end) */
	int64_t messages;
	char state[16];		/* "open", "claimed", "sent", "failed", "" (none) */
	char report_id[STORE_ID_SIZE];
	int attempts;				/* sending attempts that failed */
};

/* One grouped report row: the columns of a record and its message count. */
struct store_group {
	int64_t count;
	const char *source_ip, *disposition, *dkim_align, *spf_align, *reason,
	    *reason_comment, *header_from, *envelope_from, *envelope_to, *dkim,
	    *spf_domain, *spf_scope, *spf_result;
};

typedef int (*store_period_cb)(void *arg, const struct store_period *p);
typedef int (*store_group_cb)(void *arg, const struct store_group *g);

enum store_type {
	STORE_SQLITE,
	STORE_PGSQL,
};

struct store_conf {
	enum store_type type;
	const char *path;		/* SQLite file, or PostgreSQL conninfo */
	int64_t period;			/* report period, seconds (86400: UTC day) */
	unsigned busy_timeout_ms;	/* wait for a lock held by another writer */
};

struct store;

struct store_ops {
	int (*put)(struct store *st, const struct store_row *rows, size_t n);
	int (*periods)(struct store *st, int64_t before, store_period_cb cb, void *arg);
	int (*groups)(struct store *st, const char *domain, int64_t begin, int64_t end,
	    store_group_cb cb, void *arg);
	int (*policy)(struct store *st, const char *domain, int64_t begin, int64_t end,
	    struct store_row *out);
	int (*claim)(struct store *st, const char *domain, int64_t begin, int64_t end,
	    const char *report_id, const char *owner, int64_t now, int64_t stale);
	int (*finish)(struct store *st, const char *domain, int64_t begin,
	    const char *state, int64_t now);
	int (*release)(struct store *st, const char *domain, int64_t begin,
	    int64_t retry_at);
	int64_t (*purge)(struct store *st, int64_t before);
	int (*rate_take)(struct store *st, const char *domain, int64_t hour,
	    int64_t limit);
	int (*rate_return)(struct store *st, const char *domain, int64_t hour);
	void (*close)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	struct store_conf conf;
	struct buf err;			/* the last error, for logs */
};

/* store_open - open (and create or upgrade) the store; NULL and err */
struct store *store_open(const struct store_conf *c, struct buf *err);
/* store_sqlite_open, store_pgsql_open - the backends (store_open's) */
struct store *store_sqlite_open(const struct store_conf *c, struct buf *err);
struct store *store_pgsql_open(const struct store_conf *c, struct buf *err);
void store_close(struct store *st);
/* store_check - what can be checked of c without opening the store (for
 * "reinject -t", as the run user): SQLite, the file (or, before it exists,
 * its directory) readable and writable; PostgreSQL, the conninfo parses.
 * 0, or -1 with a line per problem appended to err. */
int store_check(const struct store_conf *c, struct buf *err);
/* store_path_check - a file the run user must create or write: the file
 * itself when it exists, else its directory; 0, or -1 with a line in err
 * naming what (e.g. "report_store") */
int store_path_check(const char *what, const char *path, struct buf *err);
/* store_pgsql_check - the conninfo of c parses (store_check's) */
int store_pgsql_check(const struct store_conf *c, struct buf *err);
/* store_error - text of the last error */
const char *store_error(const struct store *st);
/* store_period_of - the period [begin, begin + period) holding t */
int64_t store_period_of(const struct store *st, int64_t t);

/* store_put - all of rows in one transaction; 0 or -1 (nothing written) */
int store_put(struct store *st, const struct store_row *rows, size_t n);
/* store_periods - every (domain, period) with records, ending at or before
 * before (INT64_MAX: all), oldest first; cb returning non-zero stops */
int store_periods(struct store *st, int64_t before, store_period_cb cb, void *arg);
/* store_groups - the RFC 9990 rows of a report: records of domain in
 * [begin, end) grouped by every reported column, largest count first */
int store_groups(struct store *st, const char *domain, int64_t begin, int64_t end,
    store_group_cb cb, void *arg);
/* store_policy - the last policy seen for domain in [begin, end); 1 found, 0 none */
int store_policy(struct store *st, const char *domain, int64_t begin, int64_t end,
    struct store_row *out);
/* store_claim - take the report of (domain, begin) for owner at now: 1 ours,
 * 0 taken by another, sent, failed or not yet due, -1 error.  A claim older
 * than stale seconds (its claimer died) may be taken over.  Fleet-safe: one
 * claim wins (a single conditional upsert). */
int store_claim(struct store *st, const char *domain, int64_t begin, int64_t end,
    const char *report_id, const char *owner, int64_t now, int64_t stale);
/* store_mark_sent - the claimed report went out */
int store_mark_sent(struct store *st, const char *domain, int64_t begin, int64_t now);
/* store_mark_failed - the claimed report is given up (attempts exhausted) */
int store_mark_failed(struct store *st, const char *domain, int64_t begin, int64_t now);
/* store_release - give a claimed report back: one more failed attempt, due
 * again at retry_at */
int store_release(struct store *st, const char *domain, int64_t begin,
    int64_t retry_at);
/* store_purge - delete records older than before whose report was sent;
 * rows deleted or -1 */
int64_t store_purge(struct store *st, int64_t before);

/* store_rate_take - one more failure report to domain in hour, if fewer
 * than limit were counted: 1 counted, 0 at the limit, -1 error.  Fleet-safe:
 * one conditional upsert (INSERT .. ON CONFLICT DO UPDATE .. WHERE count <
 * limit), so hosts sharing the store together count at most limit.  The
 * domain is compared without case. */
int store_rate_take(struct store *st, const char *domain, int64_t hour,
    int64_t limit);
/* store_rate_return - give back a count taken for a report not sent */
int store_rate_return(struct store *st, const char *domain, int64_t hour);

#endif
