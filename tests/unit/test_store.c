/*
 * test_store.c - the DMARC report store: rows from DMARC records in RFC 9990
 * terms, the SQLite schema and its version, grouping, the last policy, claims
 * (one report per domain and period), retention, the spool and the batch
 * writer (store down: spooled and replayed; spool full: counted loss), and
 * the failure report counts per domain and hour that hosts share.
 *
 * The tests that do not look at SQLite itself run a second time on
 * PostgreSQL when MAILAUTH_TEST_PGSQL holds the conninfo of a database the
 * tests may empty (tests/unit/store_pgsql.sh starts a private server for
 * it); its tables are dropped before each test.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>
#if STORE_TEST_PGSQL
#include <libpq-fe.h>
#endif

#include "store.h"
#include "store_batch.h"

#define NOW		100000
#define SET(f, v)	snprintf((f), sizeof(f), "%s", (v))

static char dir[] = "/tmp/test_store.XXXXXX";
static char dbpath[1024];
/* the backend of the test case running, and PostgreSQL's conninfo */
static enum store_type backend = STORE_SQLITE;
static const char *pg_conninfo;

#if STORE_TEST_PGSQL
/* pg_query - one statement on the test database; its first value or -1 */
static long long
pg_query(const char *sql)
{
	PGconn *c = PQconnectdb(pg_conninfo);
	PGresult *r;
	long long v = -1;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK ||
	    PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}
#else
/* pg_query - not reached: the PostgreSQL case exists only with libpq */
static long long
pg_query(const char *sql)
{
	ck_abort_msg("no libpq: %s", sql);
	return -1;
}
#endif

/* setup - a fresh directory per test; on PostgreSQL, no tables */
static void
setup(void)
{
	SET(dir, "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/reports.db", dir);
}

/* setup_pgsql - the same on the PostgreSQL test database */
static void
setup_pgsql(void)
{
	setup();
	backend = STORE_PGSQL;
	snprintf(dbpath, sizeof(dbpath), "%s", pg_conninfo);
	pg_query("DROP TABLE IF EXISTS record, report, failure_rate, schema_version");
}

/* down_path - a store that cannot be opened, on the backend under test */
static void
down_path(char *out, size_t size)
{
	if (backend == STORE_PGSQL)
		snprintf(out, size, "host=%s/nosocket port=1 dbname=none "
		    "connect_timeout=2", dir);
	else
		snprintf(out, size, "%s/missing/reports.db", dir);
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct store *
open_db(const char *path)
{
	struct store_conf c = { backend, path, 86400, 1000 };
	struct buf err;
	struct store *st;

	buf_init(&err, 1024);
	st = store_open(&c, &err);
	ck_assert_msg(st != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
	return st;
}

/* row - a stored row with the fields that vary in these tests */
static void
row(struct store_row *r, int64_t t, const char *dom, const char *ip, const char *dis)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->policy_domain, sizeof(r->policy_domain), "%s", dom);
	snprintf(r->header_from, sizeof(r->header_from), "%s", dom);
	snprintf(r->envelope_from, sizeof(r->envelope_from), "%s", dom);
	snprintf(r->source_ip, sizeof(r->source_ip), "%s", ip);
	snprintf(r->disposition, sizeof(r->disposition), "%s", dis);
	SET(r->dkim_align, "fail");
	SET(r->spf_align, "pass");
	SET(r->p, "reject");
	SET(r->adkim, "r");
	SET(r->aspf, "r");
	SET(r->testing, "n");
	SET(r->psd, "u");
	SET(r->fo, "0");
	snprintf(r->rua, sizeof(r->rua), "mailto:dmarc@%s", dom);
	SET(r->dkim, "fail example.com s1");
	snprintf(r->spf_domain, sizeof(r->spf_domain), "%s", dom);
	SET(r->spf_scope, "mfrom");
	SET(r->spf_result, "pass");
}

static int
count_groups(void *arg, const struct store_group *g)
{
	int64_t *sum = arg;

	sum[0]++;
	sum[1] += g->count;
	if (sum[2] == 0)
		sum[2] = g->count;	/* the first (largest) group */
	return 0;
}

static int
count_periods(void *arg, const struct store_period *p __attribute__((unused)))
{
	int *n = arg;

	(*n)++;
	return 0;
}

/* sql_int - one integer from the database, read by SQLite (or PostgreSQL)
 * itself */
static long long
sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	long long v = -1;

	if (backend == STORE_PGSQL)
		return pg_query(sql);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

START_TEST(store_row_uses_rfc9990_names)
{
	struct dmarc_report_record rec;
	struct store_row r;

	memset(&rec, 0, sizeof(rec));
	SET(rec.policy_domain, "example.com");
	SET(rec.header_from, "mail.example.com");
	SET(rec.source_ip, "192.0.2.1");
	rec.policy_source = DMARC_SOURCE_ORG;
	rec.p = DMARC_POLICY_REJECT;
	rec.sp = DMARC_POLICY_QUARANTINE;
	rec.fo = DMARC_FO_1 | DMARC_FO_D;
	rec.nrua = 2;
	SET(rec.rua[0], "mailto:a@example.com");
	SET(rec.rua[1], "mailto:b@example.net!10m");
	rec.result = DMARC_RESULT_PASS;
	rec.dkim_aligned_pass = true;
	rec.ndkim = 2;
	SET(rec.dkim[0].domain, "other.example");
	SET(rec.dkim[0].selector, "s0");
	rec.dkim[0].result = DMARC_AUTH_FAIL;
	SET(rec.dkim[1].domain, "example.com");
	SET(rec.dkim[1].selector, "s1");
	rec.dkim[1].result = DMARC_AUTH_PASS;
	store_row_from_dmarc(&r, &rec, 1000);
	ck_assert(store_row_valid(&r));
	ck_assert_str_eq(r.disposition, "pass");	/* pass under sp=quarantine */
	ck_assert_str_eq(r.dkim_align, "pass");
	ck_assert_str_eq(r.spf_align, "fail");
	ck_assert_str_eq(r.p, "reject");
	ck_assert_str_eq(r.sp, "quarantine");
	ck_assert_str_eq(r.np, "");
	ck_assert_str_eq(r.fo, "1:d");
	ck_assert_str_eq(r.psd, "u");
	ck_assert_str_eq(r.rua, "mailto:a@example.com mailto:b@example.net!10m");
	/* passing signatures first (RFC 9990 "DKIM Signatures in Aggregate Reports") */
	ck_assert_str_eq(r.dkim, "pass example.com s1;fail other.example s0");
	ck_assert_str_eq(r.spf_scope, "mfrom");
	ck_assert_str_eq(r.reason, "");
}
END_TEST

START_TEST(store_row_test_mode_is_a_reason)
{
	struct dmarc_report_record rec;
	struct store_row r;

	memset(&rec, 0, sizeof(rec));
	SET(rec.policy_domain, "example.com");
	SET(rec.header_from, "example.com");
	rec.policy_source = DMARC_SOURCE_AUTHOR;
	rec.p = DMARC_POLICY_REJECT;
	rec.testing = true;
	rec.result = DMARC_RESULT_FAIL;
	rec.disposition = DMARC_DIS_QUARANTINE;
	store_row_from_dmarc(&r, &rec, 1);
	ck_assert_str_eq(r.disposition, "quarantine");
	ck_assert_str_eq(r.reason, "policy_test_mode");
	ck_assert_str_eq(r.testing, "y");
	rec.testing = false;
	rec.override = DMARC_OVERRIDE_SAMPLED_OUT;
	store_row_from_dmarc(&r, &rec, 1);
	ck_assert_str_eq(r.reason, "other");
	ck_assert_str_eq(r.reason_comment, "sampled_out");
}
END_TEST

START_TEST(store_sqlite_schema_version_and_wal)
{
	struct store *st = open_db(dbpath);
	struct store_conf c = { STORE_SQLITE, dbpath, 86400, 1000 };
	struct buf err;

	store_close(st);
	ck_assert_int_eq(sql_int(dbpath, "SELECT version FROM schema_version"),
	    STORE_SCHEMA_VERSION);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM schema_version"), 1);
	ck_assert_int_eq(sql_int(dbpath, "SELECT journal_mode = 'wal' FROM"
	    " pragma_journal_mode"), 1);
	/* reopening keeps the version; a newer schema is refused */
	store_close(open_db(dbpath));
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM schema_version"), 1);
	sql_int(dbpath, "UPDATE schema_version SET version = 99 RETURNING version");
	buf_init(&err, 1024);
	ck_assert_ptr_null(store_open(&c, &err));
	ck_assert_msg(strstr(buf_cstr(&err), "newer") != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
}
END_TEST

START_TEST(store_groups_count_identical_rows)
{
	struct store *st = open_db(dbpath);
	struct store_row r[5];
	struct store_row pol;
	int64_t sum[3] = { 0 };

	row(&r[0], 86400 + 10, "example.com", "192.0.2.1", "none");
	row(&r[1], 86400 + 20, "example.com", "192.0.2.1", "none");
	row(&r[2], 86400 + 30, "example.com", "192.0.2.1", "none");
	row(&r[3], 86400 + 40, "example.com", "192.0.2.2", "quarantine");
	row(&r[4], 86400 * 2 + 1, "example.com", "192.0.2.1", "none");	/* next day */
	SET(r[3].p, "quarantine");
	ck_assert_int_eq(store_put(st, r, 5), 0);
	ck_assert_int_eq(store_groups(st, "example.com", 86400, 86400 * 2, count_groups,
	    sum), 0);
	ck_assert_int_eq(sum[0], 2);	/* two groups */
	ck_assert_int_eq(sum[1], 4);	/* four messages in the day */
	ck_assert_int_eq(sum[2], 3);	/* the largest first */
	/* the final configuration observed (RFC 9990 "Changes in Policy") */
	ck_assert_int_eq(store_policy(st, "example.com", 86400, 86400 * 2, &pol), 1);
	ck_assert_str_eq(pol.p, "quarantine");
	ck_assert_int_eq(store_policy(st, "none.example", 86400, 86400 * 2, &pol), 0);
	ck_assert_int_eq(store_period_of(st, 86400 * 2 + 5), 86400 * 2);
	store_close(st);
}
END_TEST

START_TEST(store_claim_is_once_per_domain_and_period)
{
	struct store *st = open_db(dbpath);
	struct store *other = open_db(dbpath);
	struct store_row r;
	int n = 0;

	row(&r, 100, "example.com", "192.0.2.1", "none");
	ck_assert_int_eq(store_put(st, &r, 1), 0);
	ck_assert_int_eq(store_periods(st, INT64_MAX, count_periods, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	/* a period not yet over is not listed before its end */
	ck_assert_int_eq(store_periods(st, 86399, count_periods, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_claim(st, "example.com", 0, 86400, "id1", "a", NOW, 3600), 1);
	ck_assert_int_eq(store_claim(other, "example.com", 0, 86400, "id1", "b", NOW, 3600), 0);
	/* a failed attempt: due again only at its retry time */
	ck_assert_int_eq(store_release(st, "example.com", 0, NOW + 600), 0);
	ck_assert_int_eq(store_claim(other, "example.com", 0, 86400, "id1", "b", NOW, 3600), 0);
	ck_assert_int_eq(store_claim(other, "example.com", 0, 86400, "id1", "b", NOW + 600,
	    3600), 1);
	/* a claimer that died: its claim is taken over after the stale time */
	ck_assert_int_eq(store_claim(st, "example.com", 0, 86400, "id1", "a", NOW + 700,
	    3600), 0);
	ck_assert_int_eq(store_claim(st, "example.com", 0, 86400, "id1", "a", NOW + 4201,
	    3600), 1);
	ck_assert_int_eq(store_mark_sent(st, "example.com", 0, NOW + 4300), 0);
	ck_assert_int_eq(store_claim(other, "example.com", 0, 86400, "id1", "b",
	    NOW + 99999, 3600), 0);
	ck_assert_int_eq(store_release(st, "example.com", 0, 0), 0);	/* sent stays sent */
	ck_assert_int_eq(store_claim(st, "example.com", 0, 86400, "id1", "a", NOW + 99999,
	    3600), 0);
	ck_assert_int_eq(sql_int(dbpath, "SELECT attempts FROM report"), 1);
	store_close(other);
	store_close(st);
}
END_TEST

START_TEST(store_purge_only_sent_and_old)
{
	struct store *st = open_db(dbpath);
	struct store_row r[3];

	row(&r[0], 100, "sent.example", "192.0.2.1", "none");
	row(&r[1], 100, "unsent.example", "192.0.2.1", "none");
	row(&r[2], 86400 + 5, "sent.example", "192.0.2.1", "none");
	ck_assert_int_eq(store_put(st, r, 3), 0);
	ck_assert_int_eq(store_claim(st, "sent.example", 0, 86400, "x", "a", NOW, 3600), 1);
	ck_assert_int_eq(store_mark_sent(st, "sent.example", 0, 86500), 0);
	/* before the cut-off: nothing */
	ck_assert_int_eq(store_purge(st, 50), 0);
	ck_assert_int_eq(store_purge(st, 86400 * 3), 1);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM record"), 2);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM record WHERE"
	    " policy_domain = 'unsent.example'"), 1);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM report"), 0);
	store_close(st);
}
END_TEST

START_TEST(store_pgsql_schema_version)
{
	struct store_conf c = { STORE_PGSQL, dbpath, 86400, 1000 };
	struct store *st = open_db(dbpath);
	struct buf err;

	store_close(st);
	ck_assert_int_eq(sql_int(dbpath, "SELECT version FROM schema_version"),
	    STORE_SCHEMA_VERSION);
	/* opened again: still one version row */
	store_close(open_db(dbpath));
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM schema_version"), 1);
	/* a newer schema than ours is refused */
	sql_int(dbpath, "UPDATE schema_version SET version = 99");
	buf_init(&err, 1024);
	ck_assert_ptr_null(store_open(&c, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "99"));
	buf_clear(&err);
}
END_TEST

/* rate_takes - in a child process with its own handle: n takes of one
 * domain-hour at limit; exits with how many were counted */
static void
rate_takes(int n, int64_t limit)
{
	struct store *st = open_db(dbpath);
	int got = 0;

	for (int i = 0; i < n; i++) {
		int rc = store_rate_take(st, "fleet.example", 500, limit);

		if (rc < 0) {
			fprintf(stderr, "store_rate_take: %s\n", store_error(st));
			_exit(100);
		}
		got += rc;
	}
	store_close(st);
	_exit(got);
}

START_TEST(store_failure_rate_is_one_count_for_the_fleet)
{
	struct store *a, *b;
	pid_t pid[2];
	int total = 0;

	/* a version 1 store gets the table at open (upgrade 1 -> 2) */
	store_close(open_db(dbpath));
	sql_int(dbpath, "DROP TABLE failure_rate");
	sql_int(dbpath, "UPDATE schema_version SET version = 1");
	a = open_db(dbpath);
	b = open_db(dbpath);
	ck_assert_int_eq(sql_int(dbpath, "SELECT version FROM schema_version"), 2);

	/* two hosts sharing the store, limit 3: three takes in all */
	ck_assert_int_eq(store_rate_take(a, "Shared.Example", 10, 3), 1);
	ck_assert_int_eq(store_rate_take(b, "shared.example", 10, 3), 1);
	ck_assert_int_eq(store_rate_take(a, "shared.example", 10, 3), 1);
	ck_assert_int_eq(store_rate_take(b, "shared.example", 10, 3), 0);
	ck_assert_int_eq(store_rate_take(a, "SHARED.example", 10, 3), 0);
	/* another domain and the next hour count apart */
	ck_assert_int_eq(store_rate_take(b, "other.example", 10, 3), 1);
	ck_assert_int_eq(store_rate_take(b, "shared.example", 11, 3), 1);
	/* a report not sent gives its count back */
	ck_assert_int_eq(store_rate_return(a, "shared.example", 10), 0);
	ck_assert_int_eq(store_rate_take(b, "shared.example", 10, 3), 1);
	ck_assert_int_eq(store_rate_take(a, "shared.example", 10, 3), 0);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count FROM failure_rate WHERE"
	    " policy_domain = 'shared.example' AND hour = 10"), 3);
	/* hours before the purge cut-off go */
	ck_assert_int_ge(store_purge(a, 11 * 3600), 0);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM failure_rate"), 1);
	store_close(a);
	store_close(b);
	/* two processes racing, 40 takes each, limit 7: exactly 7 counted */
	for (int i = 0; i < 2; i++)
		if ((pid[i] = fork()) == 0)
			rate_takes(40, 7);
	for (int i = 0; i < 2; i++) {
		int status;

		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_lt(WEXITSTATUS(status), 100);
		total += WEXITSTATUS(status);
	}
	ck_assert_int_eq(total, 7);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count FROM failure_rate WHERE"
	    " policy_domain = 'fleet.example'"), 7);
}
END_TEST

static struct store_batch *
batch(const char *db, size_t spool_limit)
{
	static char spool[300];
	struct store_conf sc = { backend, db, 86400, 100 };
	struct store_batch_conf bc = { 10, 50, 100, spool, spool_limit, 0 };
	struct store_batch *b;

	snprintf(spool, sizeof(spool), "%s/reports.spool", dir);
	b = store_batch_new(&sc, &bc);
	ck_assert_ptr_nonnull(b);
	return b;
}

START_TEST(store_batch_commits_every_row)
{
	struct store_batch *b = batch(dbpath, 1 << 20);
	struct store_batch_stats s;
	struct store_row r;

	for (int i = 0; i < 25; i++) {
		row(&r, 1000 + i, "example.com", "192.0.2.1", "none");
		ck_assert(store_batch_add(b, &r));
	}
	store_batch_flush(b);
	store_batch_stats(b, &s);
	ck_assert_int_eq(s.committed, 25);
	ck_assert_int_eq(s.lost, 0);
	store_batch_free(b);
	ck_assert_int_eq(sql_int(dbpath, "SELECT count(*) FROM record"), 25);
}
END_TEST

START_TEST(store_batch_spools_while_store_is_down_and_replays)
{
	char down[300];
	struct store_batch *b;
	struct store_batch_stats s;
	struct store_row r;

	/* the database's directory does not exist yet: the store is down */
	snprintf(down, sizeof(down), "%s/db/reports.db", dir);
	b = batch(down, 1 << 20);
	for (int i = 0; i < 12; i++) {
		row(&r, 1000 + i, "example.com", "192.0.2.1", "none");
		ck_assert(store_batch_add(b, &r));
	}
	store_batch_flush(b);
	store_batch_stats(b, &s);
	ck_assert_int_eq(s.committed, 0);
	ck_assert_int_eq(s.spooled, 12);
	ck_assert_int_eq(s.lost, 0);
	/* the store comes back: the next batch commits and the spool is replayed */
	snprintf(down, sizeof(down), "%s/db", dir);
	ck_assert_int_eq(mkdir(down, 0700), 0);
	row(&r, 2000, "example.com", "192.0.2.9", "none");
	ck_assert(store_batch_add(b, &r));
	store_batch_flush(b);
	store_batch_stats(b, &s);
	ck_assert_int_eq(s.committed, 1);
	ck_assert_int_eq(s.replayed, 12);
	store_batch_free(b);
	snprintf(down, sizeof(down), "%s/db/reports.db", dir);
	ck_assert_int_eq(sql_int(down, "SELECT count(*) FROM record"), 13);
	ck_assert_int_eq(sql_int(down, "SELECT count(DISTINCT time) FROM record"), 13);
}
END_TEST

START_TEST(store_batch_counts_loss_when_spool_is_full)
{
	char down[300];
	struct store_batch *b;
	struct store_batch_stats s;
	struct store_row r;

	down_path(down, sizeof(down));
	/* room for the header and three rows */
	b = batch(down, 16 + 3 * sizeof(struct store_row));
	for (int i = 0; i < 8; i++) {
		row(&r, 1000 + i, "example.com", "192.0.2.1", "none");
		ck_assert(store_batch_add(b, &r));
	}
	store_batch_flush(b);
	store_batch_stats(b, &s);
	ck_assert_int_eq(s.spooled, 3);
	ck_assert_int_eq(s.lost, 5);
	store_batch_free(b);
}
END_TEST

/* kill_child_bursts - in a forked process: BURSTS bursts of BURST rows, each
 * committed before the next, the last queued only; then a byte on fd */
#define KILL_BURSTS	5
#define KILL_BURST	7

static void
kill_child_bursts(int fd)
{
	struct store_batch *b = batch(dbpath, 1 << 20);
	struct store_batch_stats st;
	struct store_row r;

	for (int k = 0; k < KILL_BURSTS; k++) {
		for (int i = 0; i < KILL_BURST; i++) {
			row(&r, 1000 + k * KILL_BURST + i, "example.com", "192.0.2.1", "none");
			store_batch_add(b, &r);
		}
		for (int w = 0; k + 1 < KILL_BURSTS && w < 1000; w++) {
			store_batch_stats(b, &st);
			if (st.committed == (k + 1) * KILL_BURST)
				break;
			usleep(10 * 1000);
		}
	}
	if (write(fd, "x", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

/* a process killed with SIGKILL loses at most the rows not yet committed:
 * the last burst (reinject.conf(5), "Loss bound"); every earlier row stays */
START_TEST(store_batch_sigkill_loses_only_the_uncommitted_rows)
{
	int fds[2], status;
	char c;
	pid_t pid;
	long long n;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		close(fds[0]);
		kill_child_bursts(fds[1]);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	n = backend == STORE_SQLITE ? sql_int(dbpath, "SELECT count(*) FROM record") :
	    pg_query("SELECT count(*) FROM record");
	ck_assert_msg(n >= (KILL_BURSTS - 1) * KILL_BURST && n <= KILL_BURSTS * KILL_BURST,
	    "%lld rows after SIGKILL", n);
}
END_TEST

START_TEST(store_spool_refuses_a_symlink)
{
	char spool[300], target[300];
	struct store_spool sp = { spool, 1 << 20, 0, 0, 0 };
	struct store_row r;

	snprintf(spool, sizeof(spool), "%s/reports.spool", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(symlink(target, spool), 0);
	row(&r, 1, "example.com", "192.0.2.1", "none");
	ck_assert_uint_eq(store_spool_append(&sp, &r, 1), 0);
	ck_assert_int_eq(sp.lost, 1);
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, store_row_uses_rfc9990_names);
	tcase_add_test(tc, store_row_test_mode_is_a_reason);
	tcase_add_test(tc, store_sqlite_schema_version_and_wal);
	tcase_add_test(tc, store_groups_count_identical_rows);
	tcase_add_test(tc, store_claim_is_once_per_domain_and_period);
	tcase_add_test(tc, store_purge_only_sent_and_old);
	tcase_add_test(tc, store_failure_rate_is_one_count_for_the_fleet);
	tcase_add_test(tc, store_batch_commits_every_row);
	tcase_add_test(tc, store_batch_spools_while_store_is_down_and_replays);
	tcase_add_test(tc, store_batch_counts_loss_when_spool_is_full);
	tcase_add_test(tc, store_batch_sigkill_loses_only_the_uncommitted_rows);
	tcase_add_test(tc, store_spool_refuses_a_symlink);
	suite_add_tcase(s, tc);
	if (!pg_conninfo)
		return s;
	/* the backend-independent tests once more, on PostgreSQL */
	tc = tcase_create("pgsql");
	tcase_add_checked_fixture(tc, setup_pgsql, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, store_pgsql_schema_version);
	tcase_add_test(tc, store_groups_count_identical_rows);
	tcase_add_test(tc, store_claim_is_once_per_domain_and_period);
	tcase_add_test(tc, store_purge_only_sent_and_old);
	tcase_add_test(tc, store_failure_rate_is_one_count_for_the_fleet);
	tcase_add_test(tc, store_batch_commits_every_row);
	tcase_add_test(tc, store_batch_counts_loss_when_spool_is_full);
	tcase_add_test(tc, store_batch_sigkill_loses_only_the_uncommitted_rows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;

	pg_conninfo = getenv("MAILAUTH_TEST_PGSQL");
	if (pg_conninfo && !pg_conninfo[0])
		pg_conninfo = NULL;
	if (pg_conninfo && !STORE_TEST_PGSQL) {
		fprintf(stderr, "MAILAUTH_TEST_PGSQL set, but built without libpq\n");
		return 77;
	}
	sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
