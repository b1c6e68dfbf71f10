/*
 * reinject_report.c - reinject's side of DMARC aggregate reports (RFC 9990):
 * each worker process runs one batch writer (common/report store_batch.c);
 * the DMARC stage hands it one row per evaluated From domain that has a
 * DMARC policy.  Nothing here waits for the store: a row is copied into the
 * writer's queue and the message goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_build.h"
#include "dmarc.h"
#include "log.h"
#include "mailaddr.h"
#include "reinject.h"
#include "reinject_report.h"
#include "report.h"
#include "store.h"
#include "store_batch.h"

const struct config_enum reinject_report_store_types[] = {
	{ "sqlite", STORE_SQLITE },
	{ "pgsql", STORE_PGSQL },
	{ NULL, 0 },
};

/* the worker's writer; NULL when reporting is off */
static struct store_batch *reinject_report_batch;

/* reinject_report_rcpt_domain - the domain of a recipient, for envelope_to
 * (addr or "<addr>") */
void
reinject_report_rcpt_domain(const char *p, size_t len, char *out, size_t size)
{
	const char *at;
	char d[MAILADDR_DOMAIN_SIZE];

	out[0] = '\0';
	if (len && p[len - 1] == '>')	/* "<addr>" as a milter gets it */
		len--;
	at = len ? memrchr(p, '@', len) : NULL;
	if (at && mailaddr_domain_to_ascii(at + 1, len - (size_t)(at + 1 - p), d) == 0)
		snprintf(out, size, "%s", d);
}

/* reinject_report_check - the report settings -t can check (see the header) */
int
reinject_report_check(const struct reinject_conf *c, struct buf *err)
{
	struct store_conf sc;
	int rc = 0;

	if (c->report.enable) {
		reinject_report_store_conf(c, &sc);
		if (store_check(&sc, err) < 0)
			rc = -1;
		if (store_path_check("report_spool_file", c->report.spool_file, err) < 0)
			rc = -1;
	}
	if (c->report.failure_enable && reinject_failure_check(c, err) < 0)
		rc = -1;
	return rc;
}

/* reinject_report_store_conf - the store settings from c */
void
reinject_report_store_conf(const struct reinject_conf *c, struct store_conf *sc)
{
	sc->type = (enum store_type)c->report.store_type;
	sc->path = c->report.store;
	sc->period = c->report.period;
	sc->busy_timeout_ms = c->report.store_lock_timeout * 1000;
}

/* reinject_report_meta - report_metadata from c */
void
reinject_report_meta(const struct reinject_conf *c, long long begin,
    struct report_meta *m, char *ebuf, size_t esize)
{
	const struct reinject_report_conf *r = &c->report;

	snprintf(ebuf, esize, "dmarc-noreply@%s", c->myhostname);
	m->org_name = r->org_name[0] ? r->org_name : c->myhostname;
	m->email = r->email[0] ? r->email : ebuf;
	m->extra_contact_info = r->extra_contact_info;
	m->error = r->error;
	m->generator = "mailauth reinject " MAILAUTH_VERSION;
	m->submitter = r->submitter[0] ? r->submitter : c->myhostname;
	m->begin = begin;
	m->end = begin + r->period;
	m->no_namespace = !r->xml_namespace;
}

/* reinject_report_worker_start - start the batch writer when report_enable */
void
reinject_report_worker_start(const struct reinject_conf *c)
{
	struct store_conf sc;
	struct store_batch_conf bc = {
		(size_t)c->report.batch_limit, (unsigned)c->report.batch_interval_ms,
		(size_t)c->report.queue_limit, c->report.spool_file,
		c->report.spool_size_limit, c->report.spool_retry_interval,
	};

	reinject_failure_worker_start(c);
	if (!c->report.enable)
		return;
	reinject_report_store_conf(c, &sc);
	if (bc.queue_limit < bc.batch_limit)
		bc.queue_limit = bc.batch_limit;
	if (!(reinject_report_batch = store_batch_new(&sc, &bc)))
		log_error("report store: cannot start the writer; no report records");
}

/* reinject_report_worker_stop - commit what is queued and stop */
void
reinject_report_worker_stop(void)
{
	struct store_batch_stats s;

	if (!reinject_report_batch)
		return;
	store_batch_flush(reinject_report_batch);
	store_batch_stats(reinject_report_batch, &s);
	store_batch_free(reinject_report_batch);
	reinject_report_batch = NULL;
	log_info("report store: %lld records committed, %lld spooled, %lld replayed, "
	    "%lld lost", (long long)s.committed, (long long)s.spooled,
	    (long long)s.replayed, (long long)s.lost);
}

/* reinject_report_is_report - is m a DMARC report: reports about reports
 * would bounce between two receivers for ever */
static bool
reinject_report_is_report(const struct reinject_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++)
		if (!m->hdrs[i].removed && reinject_msg_field_is(m, i, "Subject")) {
			struct span v = reinject_msg_field_value(m, i);

			return report_subject_is_report(v.p, v.len);
		}
	return false;
}

/* reinject_report_record - queue one row per From domain with a policy */
void
reinject_report_record(const struct reinject_msg *m, const struct dmarc_verdict *v,
    const struct dmarc_input *in)
{
	struct dmarc_report_record *rec;
	struct store_row *row;

	if (!reinject_report_batch || !v->evaluated || reinject_report_is_report(m))
		return;
	rec = xmalloc(sizeof(*rec));
	row = xmalloc(sizeof(*row));
	for (size_t i = 0; i < v->ndomains; i++) {
		if (!v->domains[i].walk.policy_domain[0] ||
		    v->domains[i].result == DMARC_RESULT_NONE)
			continue;
		dmarc_report_fill(rec, v, i, in, m->rcpt_domain);
		store_row_from_dmarc(row, rec, (int64_t)time(NULL));
		store_batch_add(reinject_report_batch, row);
	}
	free(row);
	free(rec);
}
