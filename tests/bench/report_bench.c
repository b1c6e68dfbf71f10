/*
 * report_bench.c - how long the report store takes with a day of records:
 * writing N rows through the batch writer (as reinject's workers do), then
 * building the RFC 9990 aggregate report of the busiest domain from them
 * (grouping in SQLite and the XML).  Prints the figures; not a test.
 *
 *   report_bench [-n ROWS] [-d DOMAINS] [-i IPS] [-r] DIR
 *
 * -r: reuse DIR's database from an earlier run (reports only).  Times are
 * wall clock and CPU: on a shared machine the first includes waiting.
 *
 * Then every report of the day (one per domain), as the sending pass does.
 * Rows: DOMAINS policy domains (the first gets half of all rows), source
 * addresses from IPS, four kinds of outcome; all inside one UTC day.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "report.h"
#include "store.h"
#include "store_batch.h"

#define BENCH_DAY	86400
#define SET(f, v)	snprintf((f), sizeof(f), "%s", (v))

/* bench_cpu - CPU seconds of this process (user + system) */
static double
bench_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* bench_now - monotonic seconds */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_row - row i of the synthetic day */
static void
bench_row(struct store_row *r, long i, int domains, int ips)
{
	static const char *const dis[] = { "pass", "none", "quarantine", "reject" };
	int d = i % 2 ? (int)(i / 2 % (unsigned)domains) : 0;
	int kind = (int)(i % 4);
	char ip[64];

	memset(r, 0, sizeof(*r));
	r->time = BENCH_DAY * 20000 + i % BENCH_DAY;
	snprintf(r->policy_domain, sizeof(r->policy_domain), "d%d.bench.example", d);
	SET(r->header_from, r->policy_domain);
	SET(r->envelope_from, r->policy_domain);
	snprintf(ip, sizeof(ip), "198.51.%d.%d", (int)(i % ips / 250), (int)(i % ips % 250));
	SET(r->source_ip, ip);
	SET(r->disposition, dis[kind]);
	SET(r->dkim_align, kind == 0 ? "pass" : "fail");
	SET(r->spf_align, kind < 2 ? "pass" : "fail");
	SET(r->p, "reject");
	SET(r->adkim, "r");
	SET(r->aspf, "r");
	SET(r->testing, "n");
	SET(r->psd, "u");
	SET(r->fo, "0");
	snprintf(r->rua, sizeof(r->rua), "mailto:dmarc@%s", r->policy_domain);
	snprintf(r->dkim, sizeof(r->dkim), "%s %s s1", kind == 0 ? "pass" : "fail",
	    r->policy_domain);
	SET(r->spf_domain, r->policy_domain);
	SET(r->spf_scope, "mfrom");
	SET(r->spf_result, kind < 2 ? "pass" : "fail");
}

struct bench_all {
	struct store *st;
	struct report_meta *m;
	struct buf *xml;
	int reports;
	size_t bytes;
};

/* bench_one - build the report of one (domain, period) */
static int
bench_one(void *arg, const struct store_period *p)
{
	struct bench_all *a = arg;

	a->m->begin = p->begin;
	a->m->end = p->end;
	if (report_xml_build(a->st, a->m, p->policy_domain, a->xml) < 0) {
		fprintf(stderr, "%s\n", buf_cstr(a->xml));
		return 1;
	}
	a->reports++;
	a->bytes += a->xml->len;
	return 0;
}

int
main(int argc, char **argv)
{
	long rows = 1000000;
	int domains = 1000, ips = 5000, ch;
	bool reuse = false;
	double c1;
	char db[512], spool[512];
	struct store_conf sc = { STORE_SQLITE, db, BENCH_DAY, 5000 };
	struct store_batch_conf bc = { 500, 1000, 20000, spool, 64u << 20, 60 };
	struct store_batch *b;
	struct store_batch_stats stats;
	struct store_row r;
	struct report_meta m = { "bench", "bench@example.com", "", "", "", "bench.example",
	    BENCH_DAY * 20000, BENCH_DAY * 20001, false };
	struct store *st;
	struct buf xml, err;
	double t0, t1, t2;

	while ((ch = getopt(argc, argv, "n:d:i:r")) != -1) {
		if (ch == 'r')
			reuse = true;
		else if (ch == 'n')
			rows = atol(optarg);
		else if (ch == 'd')
			domains = atoi(optarg);
		else if (ch == 'i')
			ips = atoi(optarg);
		else
			return 2;
	}
	if (optind + 1 != argc || rows <= 0 || domains <= 0 || ips <= 0) {
		fprintf(stderr, "usage: report_bench [-n rows] [-d domains] [-i ips] DIR\n");
		return 2;
	}
	snprintf(db, sizeof(db), "%s/bench.db", argv[optind]);
	snprintf(spool, sizeof(spool), "%s/bench.spool", argv[optind]);
	t0 = bench_now();
	if (reuse)
		goto reports;
	b = store_batch_new(&sc, &bc);
	for (long i = 0; i < rows; i++) {
		bench_row(&r, i, domains, ips);
		while (!store_batch_add(b, &r))
			store_batch_flush(b);	/* the bench waits; reinject would count a loss */
	}
	store_batch_flush(b);
	store_batch_stats(b, &stats);
	store_batch_free(b);
	t1 = bench_now();
	printf("write: %ld rows in %.2f s (%.0f rows/s), committed %lld, spooled %lld\n",
	    rows, t1 - t0, (double)rows / (t1 - t0), (long long)stats.committed,
	    (long long)stats.spooled);
reports:
	buf_init(&err, 1024);
	if (!(st = store_open(&sc, &err))) {
		fprintf(stderr, "%s\n", buf_cstr(&err));
		return 1;
	}
	buf_init(&xml, REPORT_XML_SIZE_LIMIT);
	t1 = bench_now();
	c1 = bench_cpu();
	if (report_xml_build(st, &m, "d0.bench.example", &xml) < 0) {
		fprintf(stderr, "%s\n", buf_cstr(&xml));
		return 1;
	}
	t2 = bench_now();
	printf("report of d0.bench.example (%ld of %ld rows): %zu bytes of XML in %.2f s "
	    "(%.2f s CPU)\n", rows / 2 + (rows % 2), rows, xml.len, t2 - t1,
	    bench_cpu() - c1);
	{
		struct bench_all a = { st, &m, &xml, 0, 0 };

		t1 = bench_now();
		c1 = bench_cpu();
		store_periods(st, INT64_MAX, bench_one, &a);
		t2 = bench_now();
		printf("every report of the day: %d reports, %zu bytes of XML in %.2f s "
		    "(%.2f s CPU)\n", a.reports, a.bytes, t2 - t1, bench_cpu() - c1);
	}
	buf_clear(&xml);
	buf_clear(&err);
	store_close(st);
	return 0;
}
