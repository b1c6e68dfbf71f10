/*
 * store_sqlite.c - the embedded report store: SQLite (Debian libsqlite3) in WAL
 * mode, so report queries read while workers write, and several worker
 * processes share one file (writers wait up to busy_timeout_ms for the lock).
 *
 * Durability: synchronous=NORMAL in WAL mode: a committed batch survives a
 * crash of the process (SIGKILL); a power loss may lose the last commits.
 * The schema (store.h) is created at open, or upgraded step by step from the
 * version in schema_version; a newer version than ours is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *insert;
};

#define SQ(st)	((struct store_sqlite *)(st))

/* Each step takes the schema from version i to i + 1. */
static const char *const sq_upgrade[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE record ("
	" id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	" policy_domain TEXT NOT NULL, header_from TEXT NOT NULL,"
	" envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
	" source_ip TEXT NOT NULL, disposition TEXT NOT NULL,"
	" dkim_align TEXT NOT NULL, spf_align TEXT NOT NULL,"
	" reason TEXT NOT NULL, reason_comment TEXT NOT NULL,"
	" p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL,"
	" adkim TEXT NOT NULL, aspf TEXT NOT NULL, testing TEXT NOT NULL,"
	" psd TEXT NOT NULL, fo TEXT NOT NULL, rua TEXT NOT NULL,"
	" dkim TEXT NOT NULL, spf_domain TEXT NOT NULL,"
	" spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL);"
	"CREATE INDEX record_domain_time ON record (policy_domain, time);"
	"CREATE TABLE report ("
	" policy_domain TEXT NOT NULL, period_begin INTEGER NOT NULL,"
	" period_end INTEGER NOT NULL, report_id TEXT NOT NULL,"
	" state TEXT NOT NULL, claimed_by TEXT NOT NULL, claimed_time INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0,"
	" sent_time INTEGER, PRIMARY KEY (policy_domain, period_begin));",
	/* 1 -> 2 */
	"CREATE TABLE failure_rate ("
	" policy_domain TEXT NOT NULL, hour INTEGER NOT NULL,"
	" count INTEGER NOT NULL, PRIMARY KEY (policy_domain, hour));",
};

#define SQ_COLUMNS \
	"time, policy_domain, header_from, envelope_from, envelope_to, source_ip," \
	" disposition, dkim_align, spf_align, reason, reason_comment, p, sp, np," \
	" adkim, aspf, testing, psd, fo, rua, dkim, spf_domain, spf_scope, spf_result"

/* sq_fail - record the database's message */
static int
sq_fail(struct store_sqlite *s, const char *what)
{
	buf_reset(&s->base.err);
	buf_printf(&s->base.err, "%s: %s: %s", s->base.conf.path, what,
	    sqlite3_errmsg(s->db));
	return -1;
}

/* sq_exec - run SQL without results */
static int
sq_exec(struct store_sqlite *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	buf_reset(&s->base.err);
	buf_printf(&s->base.err, "%s: %s", s->base.conf.path, msg ? msg : "error");
	sqlite3_free(msg);
	return -1;
}

/* sq_version - the schema version in the file; 0 when new */
static int
sq_version(struct store_sqlite *s)
{
	sqlite3_stmt *q;
	int v = 0;

	if (sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &q,
	    NULL) != SQLITE_OK)
		return sq_fail(s, "schema_version");
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* sq_upgrade_schema - create or upgrade to STORE_SCHEMA_VERSION in one transaction */
static int
sq_upgrade_schema(struct store_sqlite *s)
{
	char sql[128];
	int v;

	if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if ((v = sq_version(s)) < 0)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		buf_reset(&s->base.err);
		buf_printf(&s->base.err, "%s: schema version %d is newer than this "
		    "program's %d", s->base.conf.path, v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < STORE_SCHEMA_VERSION; v++)
		if (sq_exec(s, sq_upgrade[v]) < 0)
			goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM schema_version;"
	    "INSERT INTO schema_version VALUES (%d)", STORE_SCHEMA_VERSION);
	if (sq_exec(s, sql) < 0 || sq_exec(s, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* sq_text - bind a string */
static void
sq_text(sqlite3_stmt *q, int i, const char *v)
{
	sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* sq_bind_row - the insert's parameters */
static void
sq_bind_row(sqlite3_stmt *q, const struct store_row *r)
{
	const char *v[] = { r->policy_domain, r->header_from, r->envelope_from,
	    r->envelope_to, r->source_ip, r->disposition, r->dkim_align, r->spf_align,
	    r->reason, r->reason_comment, r->p, r->sp, r->np, r->adkim, r->aspf,
	    r->testing, r->psd, r->fo, r->rua, r->dkim, r->spf_domain, r->spf_scope,
	    r->spf_result };

	sqlite3_bind_int64(q, 1, r->time);
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		sq_text(q, (int)i + 2, v[i]);
}

/* sq_put - insert rows in one transaction */
static int
sq_put(struct store *st, const struct store_row *rows, size_t n)
{
	struct store_sqlite *s = SQ(st);

	if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s->insert);
		sq_bind_row(s->insert, &rows[i]);
		if (sqlite3_step(s->insert) != SQLITE_DONE) {
			sq_fail(s, "insert");
			sqlite3_reset(s->insert);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	sqlite3_reset(s->insert);
	if (sq_exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* sq_col - a text column, "" for NULL */
static const char *
sq_col(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

/* sq_prepare - a statement or -1 with the error recorded */
static int
sq_prepare(struct store_sqlite *s, const char *sql, sqlite3_stmt **q)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

/* sq_finish - finalize after the last step: 0, or -1 when it ended in error */
static int
sq_finish(struct store_sqlite *s, sqlite3_stmt *q, int rc)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		sq_fail(s, "query");
	sqlite3_finalize(q);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* sq_periods - (domain, period) pairs with records and their report state */
static int
sq_periods(struct store *st, int64_t before, store_period_cb cb, void *arg)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q;
	int rc;

	if (sq_prepare(s, "SELECT r.policy_domain, r.b, r.n, coalesce(p.state, ''),"
	    " coalesce(p.report_id, ''), coalesce(p.attempts, 0) FROM (SELECT policy_domain,"
	    " time - ((time % ?1) + ?1) % ?1 AS b, count(*) AS n FROM record"
	    " GROUP BY policy_domain, b) r LEFT JOIN report p"
	    " ON p.policy_domain = r.policy_domain AND p.period_begin = r.b"
	    " WHERE r.b + ?1 <= ?2 ORDER BY r.b, r.policy_domain", &q) < 0)
		return -1;
	sqlite3_bind_int64(q, 1, st->conf.period);
	sqlite3_bind_int64(q, 2, before);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_period p;

		memset(&p, 0, sizeof(p));
		snprintf(p.policy_domain, sizeof(p.policy_domain), "%s", sq_col(q, 0));
		p.begin = sqlite3_column_int64(q, 1);
		p.end = p.begin + st->conf.period;
		p.messages = sqlite3_column_int64(q, 2);
		snprintf(p.state, sizeof(p.state), "%s", sq_col(q, 3));
		snprintf(p.report_id, sizeof(p.report_id), "%s", sq_col(q, 4));
		p.attempts = sqlite3_column_int(q, 5);
		if (cb(arg, &p) != 0)
			break;
	}
	return sq_finish(s, q, rc);
}

/* sq_groups - the grouped rows of one report */
static int
sq_groups(struct store *st, const char *domain, int64_t begin, int64_t end,
    store_group_cb cb, void *arg)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q;
	int rc;

	if (sq_prepare(s, "SELECT count(*) AS n, source_ip, disposition, dkim_align,"
	    " spf_align, reason, reason_comment, header_from, envelope_from,"
	    " envelope_to, dkim, spf_domain, spf_scope, spf_result FROM record"
	    " WHERE policy_domain = ?1 AND time >= ?2 AND time < ?3"
	    " GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14"
	    " ORDER BY n DESC, 2, 8", &q) < 0)
		return -1;
	sq_text(q, 1, domain);
	sqlite3_bind_int64(q, 2, begin);
	sqlite3_bind_int64(q, 3, end);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_group g = { sqlite3_column_int64(q, 0), sq_col(q, 1),
		    sq_col(q, 2), sq_col(q, 3), sq_col(q, 4), sq_col(q, 5), sq_col(q, 6),
		    sq_col(q, 7), sq_col(q, 8), sq_col(q, 9), sq_col(q, 10),
		    sq_col(q, 11), sq_col(q, 12), sq_col(q, 13) };

		if (cb(arg, &g) != 0)
			break;
	}
	return sq_finish(s, q, rc);
}

/* sq_policy - the last policy seen for domain in the period */
static int
sq_policy(struct store *st, const char *domain, int64_t begin, int64_t end,
    struct store_row *out)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q;
	int rc, found = 0;

	if (sq_prepare(s, "SELECT p, sp, np, adkim, aspf, testing, psd, fo, rua"
	    " FROM record WHERE policy_domain = ?1 AND time >= ?2 AND time < ?3"
	    " ORDER BY time DESC, id DESC LIMIT 1", &q) < 0)
		return -1;
	sq_text(q, 1, domain);
	sqlite3_bind_int64(q, 2, begin);
	sqlite3_bind_int64(q, 3, end);
	memset(out, 0, sizeof(*out));
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		found = 1;
		snprintf(out->policy_domain, sizeof(out->policy_domain), "%s", domain);
		snprintf(out->p, sizeof(out->p), "%s", sq_col(q, 0));
		snprintf(out->sp, sizeof(out->sp), "%s", sq_col(q, 1));
		snprintf(out->np, sizeof(out->np), "%s", sq_col(q, 2));
		snprintf(out->adkim, sizeof(out->adkim), "%s", sq_col(q, 3));
		snprintf(out->aspf, sizeof(out->aspf), "%s", sq_col(q, 4));
		snprintf(out->testing, sizeof(out->testing), "%s", sq_col(q, 5));
		snprintf(out->psd, sizeof(out->psd), "%s", sq_col(q, 6));
		snprintf(out->fo, sizeof(out->fo), "%s", sq_col(q, 7));
		snprintf(out->rua, sizeof(out->rua), "%s", sq_col(q, 8));
	}
	return sq_finish(s, q, rc) < 0 ? -1 : found;
}

/* sq_change - run one update with parameters ?1 text, ?2 and ?3 integers,
 * ?4 and ?5 text (those the statement does not use are ignored); rows
 * changed or -1 */
static int
sq_change(struct store_sqlite *s, const char *sql, const char *domain, int64_t a,
    int64_t b, const char *t1, const char *t2)
{
	sqlite3_stmt *q;
	int rc;

	if (sq_prepare(s, sql, &q) < 0)
		return -1;
	sq_text(q, 1, domain);
	sqlite3_bind_int64(q, 2, a);
	sqlite3_bind_int64(q, 3, b);
	if (t1)
		sq_text(q, 4, t1);
	if (t2)
		sq_text(q, 5, t2);
	rc = sqlite3_step(q);
	if (sq_finish(s, q, rc) < 0)
		return -1;
	return sqlite3_changes(s->db);
}

/* sq_claim - insert the report row as claimed, or take it over when it is
 * open and due, or claimed longer than stale seconds ago (its claimer died) */
static int
sq_claim(struct store *st, const char *domain, int64_t begin, int64_t end,
    const char *report_id, const char *owner, int64_t now, int64_t stale)
{
	struct store_sqlite *s = SQ(st);
	sqlite3_stmt *q;
	int rc;

	if (sq_prepare(s, "INSERT INTO report (policy_domain, period_begin, period_end,"
	    " report_id, state, claimed_by, claimed_time) VALUES (?1, ?2, ?3, ?4,"
	    " 'claimed', ?5, ?6) ON CONFLICT (policy_domain, period_begin) DO UPDATE"
	    " SET state = 'claimed', claimed_by = excluded.claimed_by,"
	    " claimed_time = excluded.claimed_time WHERE (report.state = 'open' AND"
	    " report.next_attempt <= ?6) OR (report.state = 'claimed' AND"
	    " report.claimed_time < ?6 - ?7)", &q) < 0)
		return -1;
	sq_text(q, 1, domain);
	sqlite3_bind_int64(q, 2, begin);
	sqlite3_bind_int64(q, 3, end);
	sq_text(q, 4, report_id);
	sq_text(q, 5, owner);
	sqlite3_bind_int64(q, 6, now);
	sqlite3_bind_int64(q, 7, stale);
	rc = sqlite3_step(q);
	if (sq_finish(s, q, rc) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

/* sq_finish_report - claimed -> state ("sent" or "failed") */
static int
sq_finish_report(struct store *st, const char *domain, int64_t begin,
    const char *state, int64_t now)
{
	int n = sq_change(SQ(st), "UPDATE report SET state = ?4, sent_time = ?3"
	    " WHERE policy_domain = ?1 AND period_begin = ?2", domain, begin, now,
	    state, NULL);

	return n < 0 ? -1 : 0;
}

/* sq_release - claimed -> open, one more attempt, not before retry_at */
static int
sq_release(struct store *st, const char *domain, int64_t begin, int64_t retry_at)
{
	int n = sq_change(SQ(st), "UPDATE report SET state = 'open', attempts ="
	    " attempts + 1, next_attempt = ?3 WHERE policy_domain = ?1 AND"
	    " period_begin = ?2 AND state = 'claimed'", domain, begin, retry_at,
	    NULL, NULL);

	return n < 0 ? -1 : 0;
}

/* sq_purge - records before `before` of sent reports, then those reports */
static int64_t
sq_purge(struct store *st, int64_t before)
{
	struct store_sqlite *s = SQ(st);
	int n;

	if (sq_exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	n = sq_change(s, "DELETE FROM record WHERE time < ?2"
	    " AND EXISTS (SELECT 1 FROM report p WHERE p.state IN ('sent', 'failed') AND"
	    " p.policy_domain = record.policy_domain AND record.time >= p.period_begin"
	    " AND record.time < p.period_end)", "", before, 0, NULL, NULL);
	if (n < 0 || sq_change(s, "DELETE FROM report WHERE state IN ('sent', 'failed') AND"
	    " period_end <= ?2 AND NOT EXISTS (SELECT 1 FROM"
	    " record r WHERE r.policy_domain = report.policy_domain AND"
	    " r.time >= report.period_begin AND r.time < report.period_end)",
	    "", before, 0, NULL, NULL) < 0 || sq_change(s, "DELETE FROM failure_rate"
	    " WHERE hour < ?2", "", before / 3600, 0, NULL, NULL) < 0 ||
	    sq_exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return n;
}

/* sq_rate_take - count one failure report unless at limit (one upsert,
 * under SQLite's write lock) */
static int
sq_rate_take(struct store *st, const char *domain, int64_t hour, int64_t limit)
{
	int n = sq_change(SQ(st), "INSERT INTO failure_rate (policy_domain, hour,"
	    " count) VALUES (?1, ?2, 1) ON CONFLICT (policy_domain, hour) DO UPDATE"
	    " SET count = failure_rate.count + 1 WHERE failure_rate.count < ?3",
	    domain, hour, limit, NULL, NULL);

	return n < 0 ? -1 : n > 0;
}

/* sq_rate_return - one count back */
static int
sq_rate_return(struct store *st, const char *domain, int64_t hour)
{
	int n = sq_change(SQ(st), "UPDATE failure_rate SET count = count - 1"
	    " WHERE policy_domain = ?1 AND hour = ?2 AND count > 0", domain, hour, 0,
	    NULL, NULL);

	return n < 0 ? -1 : 0;
}

/* sq_close - finalize and close */
static void
sq_close(struct store *st)
{
	struct store_sqlite *s = SQ(st);

	sqlite3_finalize(s->insert);
	sqlite3_close(s->db);
	buf_clear(&s->base.err);
	free(s);
}

static const struct store_ops sq_ops = {
	sq_put, sq_periods, sq_groups, sq_policy, sq_claim, sq_finish_report,
	sq_release, sq_purge, sq_rate_take, sq_rate_return, sq_close,
};

/* sq_setup - pragmas, schema, the prepared insert */
static int
sq_setup(struct store_sqlite *s)
{
	sqlite3_busy_timeout(s->db, (int)s->base.conf.busy_timeout_ms);
	if (sq_exec(s, "PRAGMA journal_mode=WAL") < 0 ||
	    sq_exec(s, "PRAGMA synchronous=NORMAL") < 0 ||
	    /* grouping a day's records sorts in memory, not in a temp file */
	    sq_exec(s, "PRAGMA temp_store=MEMORY") < 0 ||
	    sq_upgrade_schema(s) < 0)
		return -1;
	return sq_prepare(s, "INSERT INTO record (" SQ_COLUMNS ") VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	    " ?19, ?20, ?21, ?22, ?23, ?24)", &s->insert);
}

/* store_sqlite_open - open or create the file, WAL mode, current schema */
struct store *
store_sqlite_open(const struct store_conf *c, struct buf *err)
{
	struct store_sqlite *s = xcalloc(1, sizeof(*s));

	s->base.ops = &sq_ops;
	s->base.conf = *c;
	buf_init(&s->base.err, 1024);
	if (sqlite3_open_v2(c->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
		sq_fail(s, "open");
	else if (sq_setup(s) == 0)
		return &s->base;
	buf_printf(err, "report store %s", buf_cstr(&s->base.err));
	sq_close(&s->base);
	return NULL;
}
