/*
 * store_pgsql.c - the report store for a fleet: PostgreSQL through libpq
 * (Debian libpq).  Every MX host writes its records into one database;
 * reports are built once for the fleet: a report is sent by whoever claims
 * its row first (store_claim: one INSERT .. ON CONFLICT DO UPDATE .. WHERE,
 * which PostgreSQL runs under the row's lock, so exactly one claimer wins).
 *
 * The schema is that of store.h, created or upgraded at open inside a
 * transaction holding an advisory lock, so hosts starting together do not
 * race; a newer schema than ours is refused.  Values are passed as text
 * parameters, never spliced into SQL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"
#include "util.h"

/* pg_advisory_xact_lock key of the schema upgrade ("mailauth" in ASCII) */
#define PG_SCHEMA_LOCK	"7089075616758031719"

struct store_pgsql {
	struct store base;
	PGconn *db;
};

#define PG(st)	((struct store_pgsql *)(st))

static const char *const pg_upgrade[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE record ("
	" id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL,"
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
	" policy_domain TEXT NOT NULL, period_begin BIGINT NOT NULL,"
	" period_end BIGINT NOT NULL, report_id TEXT NOT NULL,"
	" state TEXT NOT NULL, claimed_by TEXT NOT NULL, claimed_time BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_attempt BIGINT NOT NULL DEFAULT 0,"
	" sent_time BIGINT, PRIMARY KEY (policy_domain, period_begin));",
	/* 1 -> 2 */
	"CREATE TABLE failure_rate ("
	" policy_domain TEXT NOT NULL, hour BIGINT NOT NULL,"
	" count INTEGER NOT NULL, PRIMARY KEY (policy_domain, hour));",
};

/* pg_fail - record the server's message; -1 */
static int
pg_fail(struct store_pgsql *s, const char *what)
{
	buf_reset(&s->base.err);
	buf_printf(&s->base.err, "postgresql: %s: %s", what, PQerrorMessage(s->db));
	/* one line in the logs */
	for (size_t i = 0; i < s->base.err.len; i++)
		if (s->base.err.data[i] == '\n')
			s->base.err.data[i] = ' ';
	return -1;
}

/* pg_run - one statement with text parameters; the result (caller clears)
 * or NULL with the error recorded */
static PGresult *
pg_run(struct store_pgsql *s, const char *sql, int n, const char *const *v)
{
	PGresult *r = PQexecParams(s->db, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_fail(s, "query");
	PQclear(r);
	return NULL;
}

/* pg_exec - statements without parameters (several allowed); 0 or -1 */
static int
pg_exec(struct store_pgsql *s, const char *sql)
{
	PGresult *r = PQexec(s->db, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	return pg_fail(s, "query");
}

/* pg_change - rows a command changed, or -1 */
static int64_t
pg_change(struct store_pgsql *s, const char *sql, int n, const char *const *v)
{
	PGresult *r = pg_run(s, sql, n, v);
	int64_t c;

	if (!r)
		return -1;
	c = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return c;
}

/* pg_num - an integer as parameter text */
static const char *
pg_num(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%" PRId64, v);
	return buf;
}

/* pg_schema - create or upgrade under the advisory lock */
static int
pg_schema(struct store_pgsql *s)
{
	PGresult *r;
	int v = 0;
	char sql[96];

	if (pg_exec(s, "BEGIN") < 0 ||
	    pg_exec(s, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")") < 0 ||
	    pg_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") < 0 ||
	    !(r = pg_run(s, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL)))
		goto fail;
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v > STORE_SCHEMA_VERSION) {
		buf_reset(&s->base.err);
		buf_printf(&s->base.err, "postgresql: schema version %d is newer than this "
		    "program's %d", v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	for (; v < STORE_SCHEMA_VERSION; v++)
		if (pg_exec(s, pg_upgrade[v]) < 0)
			goto fail;
	snprintf(sql, sizeof(sql), "DELETE FROM schema_version; INSERT INTO schema_version"
	    " VALUES (%d)", STORE_SCHEMA_VERSION);
	if (pg_exec(s, sql) < 0 || pg_exec(s, "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(s->db, "ROLLBACK"));
	return -1;
}

/* pg_put - rows in one transaction */
static int
pg_put(struct store *st, const struct store_row *rows, size_t n)
{
	struct store_pgsql *s = PG(st);
	char t[32];

	if (pg_exec(s, "BEGIN") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct store_row *r = &rows[i];
		const char *v[] = { pg_num(t, sizeof(t), r->time), r->policy_domain,
		    r->header_from, r->envelope_from, r->envelope_to, r->source_ip,
		    r->disposition, r->dkim_align, r->spf_align, r->reason,
		    r->reason_comment, r->p, r->sp, r->np, r->adkim, r->aspf, r->testing,
		    r->psd, r->fo, r->rua, r->dkim, r->spf_domain, r->spf_scope,
		    r->spf_result };

		if (pg_change(s, "INSERT INTO record (time, policy_domain, header_from,"
		    " envelope_from, envelope_to, source_ip, disposition, dkim_align,"
		    " spf_align, reason, reason_comment, p, sp, np, adkim, aspf, testing,"
		    " psd, fo, rua, dkim, spf_domain, spf_scope, spf_result) VALUES ($1,"
		    " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
		    " $17, $18, $19, $20, $21, $22, $23, $24)", 24, v) < 0) {
			PQclear(PQexec(s->db, "ROLLBACK"));
			return -1;
		}
	}
	if (pg_exec(s, "COMMIT") < 0) {
		PQclear(PQexec(s->db, "ROLLBACK"));
		return -1;
	}
	return 0;
}

/* pg_periods - (domain, period) pairs with their report state */
static int
pg_periods(struct store *st, int64_t before, store_period_cb cb, void *arg)
{
	struct store_pgsql *s = PG(st);
	char a[32], b[32];
	const char *v[] = { pg_num(a, sizeof(a), st->conf.period),
	    pg_num(b, sizeof(b), before) };
	PGresult *r = pg_run(s, "SELECT r.policy_domain, r.b, r.n, coalesce(p.state, ''),"
	    " coalesce(p.report_id, ''), coalesce(p.attempts, 0) FROM (SELECT"
	    " policy_domain, time - ((time % $1::bigint) + $1::bigint) % $1::bigint AS b,"
	    " count(*) AS n FROM record GROUP BY 1, 2) r LEFT JOIN report p ON"
	    " p.policy_domain = r.policy_domain AND p.period_begin = r.b WHERE"
	    " r.b + $1::bigint <= $2::bigint ORDER BY r.b, r.policy_domain", 2, v);

	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_period p;

		memset(&p, 0, sizeof(p));
		snprintf(p.policy_domain, sizeof(p.policy_domain), "%s", PQgetvalue(r, i, 0));
		p.begin = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		p.end = p.begin + st->conf.period;
		p.messages = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		snprintf(p.state, sizeof(p.state), "%s", PQgetvalue(r, i, 3));
		snprintf(p.report_id, sizeof(p.report_id), "%s", PQgetvalue(r, i, 4));
		p.attempts = atoi(PQgetvalue(r, i, 5));
		if (cb(arg, &p) != 0)
			break;
	}
	PQclear(r);
	return 0;
}

/* pg_groups - the grouped rows of one report */
static int
pg_groups(struct store *st, const char *domain, int64_t begin, int64_t end,
    store_group_cb cb, void *arg)
{
	char a[32], b[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), begin), pg_num(b, sizeof(b), end) };
	PGresult *r = pg_run(PG(st), "SELECT count(*) AS n, source_ip, disposition,"
	    " dkim_align, spf_align, reason, reason_comment, header_from, envelope_from,"
	    " envelope_to, dkim, spf_domain, spf_scope, spf_result FROM record WHERE"
	    " policy_domain = $1 AND time >= $2::bigint AND time < $3::bigint GROUP BY"
	    " 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 ORDER BY n DESC, 2, 8", 3, v);

	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_group g = { strtoll(PQgetvalue(r, i, 0), NULL, 10),
		    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		    PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6),
		    PQgetvalue(r, i, 7), PQgetvalue(r, i, 8), PQgetvalue(r, i, 9),
		    PQgetvalue(r, i, 10), PQgetvalue(r, i, 11), PQgetvalue(r, i, 12),
		    PQgetvalue(r, i, 13) };

		if (cb(arg, &g) != 0)
			break;
	}
	PQclear(r);
	return 0;
}

/* pg_copy - column i of row 0 into a field */
#define PG_COPY(r, i, f)	snprintf((f), sizeof(f), "%s", PQgetvalue((r), 0, (i)))

/* pg_policy - the last policy seen for domain in the period */
static int
pg_policy(struct store *st, const char *domain, int64_t begin, int64_t end,
    struct store_row *out)
{
	char a[32], b[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), begin), pg_num(b, sizeof(b), end) };
	PGresult *r = pg_run(PG(st), "SELECT p, sp, np, adkim, aspf, testing, psd, fo, rua"
	    " FROM record WHERE policy_domain = $1 AND time >= $2::bigint AND"
	    " time < $3::bigint ORDER BY time DESC, id DESC LIMIT 1", 3, v);
	int found;

	if (!r)
		return -1;
	memset(out, 0, sizeof(*out));
	if ((found = PQntuples(r) > 0)) {
		snprintf(out->policy_domain, sizeof(out->policy_domain), "%s", domain);
		PG_COPY(r, 0, out->p);
		PG_COPY(r, 1, out->sp);
		PG_COPY(r, 2, out->np);
		PG_COPY(r, 3, out->adkim);
		PG_COPY(r, 4, out->aspf);
		PG_COPY(r, 5, out->testing);
		PG_COPY(r, 6, out->psd);
		PG_COPY(r, 7, out->fo);
		PG_COPY(r, 8, out->rua);
	}
	PQclear(r);
	return found;
}

/* pg_claim - the row claimed by us, or not (see store_claim) */
static int
pg_claim(struct store *st, const char *domain, int64_t begin, int64_t end,
    const char *report_id, const char *owner, int64_t now, int64_t stale)
{
	char a[32], b[32], c[32], d[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), begin), pg_num(b, sizeof(b), end),
	    report_id, owner, pg_num(c, sizeof(c), now), pg_num(d, sizeof(d), stale) };
	int64_t n = pg_change(PG(st), "INSERT INTO report (policy_domain, period_begin,"
	    " period_end, report_id, state, claimed_by, claimed_time) VALUES ($1,"
	    " $2::bigint, $3::bigint, $4, 'claimed', $5, $6::bigint) ON CONFLICT"
	    " (policy_domain, period_begin) DO UPDATE SET state = 'claimed', claimed_by ="
	    " excluded.claimed_by, claimed_time = excluded.claimed_time WHERE"
	    " (report.state = 'open' AND report.next_attempt <= $6::bigint) OR"
	    " (report.state = 'claimed' AND report.claimed_time < $6::bigint - $7::bigint)",
	    7, v);

	return n < 0 ? -1 : n > 0;
}

/* pg_finish - claimed -> state */
static int
pg_finish(struct store *st, const char *domain, int64_t begin, const char *state,
    int64_t now)
{
	char a[32], b[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), begin), state,
	    pg_num(b, sizeof(b), now) };

	return pg_change(PG(st), "UPDATE report SET state = $3, sent_time = $4::bigint"
	    " WHERE policy_domain = $1 AND period_begin = $2::bigint", 4, v) < 0 ? -1 : 0;
}

/* pg_release - claimed -> open, one more attempt */
static int
pg_release(struct store *st, const char *domain, int64_t begin, int64_t retry_at)
{
	char a[32], b[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), begin),
	    pg_num(b, sizeof(b), retry_at) };

	return pg_change(PG(st), "UPDATE report SET state = 'open', attempts = attempts + 1,"
	    " next_attempt = $3::bigint WHERE policy_domain = $1 AND period_begin ="
	    " $2::bigint AND state = 'claimed'", 3, v) < 0 ? -1 : 0;
}

/* pg_purge - old records of sent (or given up) reports, then those reports */
static int64_t
pg_purge(struct store *st, int64_t before)
{
	struct store_pgsql *s = PG(st);
	char a[32];
	const char *v[] = { pg_num(a, sizeof(a), before) };
	int64_t n;

	if (pg_exec(s, "BEGIN") < 0)
		return -1;
	n = pg_change(s, "DELETE FROM record r USING report p WHERE r.time < $1::bigint"
	    " AND p.state IN ('sent', 'failed') AND p.policy_domain = r.policy_domain AND"
	    " r.time >= p.period_begin AND r.time < p.period_end", 1, v);
	if (n < 0 || pg_change(s, "DELETE FROM report p WHERE p.state IN ('sent',"
	    " 'failed') AND p.period_end <= $1::bigint AND NOT EXISTS (SELECT 1 FROM"
	    " record r WHERE r.policy_domain = p.policy_domain AND r.time >="
	    " p.period_begin AND r.time < p.period_end)", 1, v) < 0 ||
	    pg_change(s, "DELETE FROM failure_rate WHERE hour < $1::bigint / 3600", 1,
	    v) < 0 || pg_exec(s, "COMMIT") < 0) {
		PQclear(PQexec(s->db, "ROLLBACK"));
		return -1;
	}
	return n;
}

/* pg_rate_take - count one failure report unless at limit: one upsert,
 * run under the row's lock, so concurrent hosts never pass the limit */
static int
pg_rate_take(struct store *st, const char *domain, int64_t hour, int64_t limit)
{
	char a[32], b[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), hour),
	    pg_num(b, sizeof(b), limit) };
	int64_t n = pg_change(PG(st), "INSERT INTO failure_rate (policy_domain, hour,"
	    " count) VALUES ($1, $2::bigint, 1) ON CONFLICT (policy_domain, hour) DO"
	    " UPDATE SET count = failure_rate.count + 1 WHERE failure_rate.count <"
	    " $3::bigint", 3, v);

	return n < 0 ? -1 : n > 0;
}

/* pg_rate_return - one count back */
static int
pg_rate_return(struct store *st, const char *domain, int64_t hour)
{
	char a[32];
	const char *v[] = { domain, pg_num(a, sizeof(a), hour) };

	return pg_change(PG(st), "UPDATE failure_rate SET count = count - 1 WHERE"
	    " policy_domain = $1 AND hour = $2::bigint AND count > 0", 2, v) < 0 ?
	    -1 : 0;
}

/* pg_close - disconnect and free */
static void
pg_close(struct store *st)
{
	struct store_pgsql *s = PG(st);

	PQfinish(s->db);
	buf_clear(&s->base.err);
	free(s);
}

static const struct store_ops pg_ops = {
	pg_put, pg_periods, pg_groups, pg_policy, pg_claim, pg_finish, pg_release,
	pg_purge, pg_rate_take, pg_rate_return, pg_close,
};

/* store_pgsql_check - does the conninfo parse (libpq's own reading) */
int
store_pgsql_check(const struct store_conf *c, struct buf *err)
{
	char *msg = NULL;
	PQconninfoOption *o = PQconninfoParse(c->path, &msg);

	if (o) {
		PQconninfoFree(o);
		return 0;
	}
	buf_printf(err, "report_store (PostgreSQL conninfo): %s%s",
	    msg ? msg : "cannot be parsed\n", msg && msg[0] &&
	    msg[strlen(msg) - 1] == '\n' ? "" : "\n");
	PQfreemem(msg);
	return -1;
}

/* store_pgsql_open - connect (conninfo in c->path), current schema */
struct store *
store_pgsql_open(const struct store_conf *c, struct buf *err)
{
	struct store_pgsql *s = xcalloc(1, sizeof(*s));
	char timeout[64];

	s->base.ops = &pg_ops;
	s->base.conf = *c;
	buf_init(&s->base.err, 1024);
	s->db = PQconnectdb(c->path);
	snprintf(timeout, sizeof(timeout), "SET lock_timeout = %u",
	    c->busy_timeout_ms ? c->busy_timeout_ms : 1);
	if (PQstatus(s->db) != CONNECTION_OK)
		pg_fail(s, "connect");
	else if (pg_exec(s, timeout) == 0 && pg_schema(s) == 0)
		return &s->base;
	buf_printf(err, "report store %s", buf_cstr(&s->base.err));
	pg_close(&s->base);
	return NULL;
}
