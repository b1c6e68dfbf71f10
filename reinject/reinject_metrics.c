/*
 * reinject_metrics.c - reinject's families on the metrics endpoint
 * (common/metrics, metrics_listen): DKIM results per signature, DMARC
 * results by disposition, signatures made per key, messages by the action
 * really taken, 4xx answers, downstream errors and the time per message,
 * beside the families of every daemon (reloads, worker restarts, DNS
 * lookups, sessions).  Series with fixed labels are registered before the
 * fork, and so is the signatures series of every key of the configuration
 * whose domain is fixed (again at each reload), so a scrape lists each at 0;
 * a key whose domain comes from the sender ("%") or a rollover's next
 * selector gets its series on its first signature.  With the map full
 * (metrics_series_limit), a key without a series counts under
 * domain="_other",selector="_other", registered first and listed at 0, so
 * that it always has a place.
 */
#include <string.h>

#include "dkim_table.h"
#include "dmarc.h"
#include "log.h"
#include "metrics.h"
#include "reinject.h"

enum reinject_metrics_family {
	REINJECT_M_DKIM = METRICS_COMMON_COUNT,
	REINJECT_M_DMARC,
	REINJECT_M_SIGNATURES,
	REINJECT_M_MESSAGES,
	REINJECT_M_TEMPFAILS,
	REINJECT_M_DOWNSTREAM,
	REINJECT_M_MESSAGE,
	REINJECT_M_COUNT
};

static const struct metrics_family reinject_metrics_families[REINJECT_M_COUNT] = {
	METRICS_FAMILIES_COMMON,
	{ "mailauth_reinject_dkim_results_total",
	    "DKIM results, one per signature verified.", METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_dmarc_results_total",
	    "DMARC results of the messages evaluated, by disposition.",
	    METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_signatures_total",
	    "DKIM signatures made, by signing domain and selector.",
	    METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_messages_total",
	    "Messages by the action taken (relayed, held, tagged, redirected, "
	    "deferred, rejected, discarded; accepted in milter mode).", METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_tempfails_total",
	    "Messages answered with a 4xx reply.", METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_downstream_errors_total",
	    "Messages the downstream server did not accept (refused, failed, "
	    "timed out).", METRICS_COUNTER, NULL, 0 },
	{ "mailauth_reinject_message_seconds",
	    "Time from a message's first command to its final reply.",
	    METRICS_HISTOGRAM, metrics_latency_bounds, METRICS_LATENCY_BUCKETS },
};

static const char *const reinject_metrics_actions[] = {
	"relayed", "held", "tagged", "redirected", "deferred", "rejected", "discarded",
	"accepted",	/* milter: the MTA queues it */
};

/* reinject_metrics_labels - the series of fam with one or two labels */
static int
reinject_metrics_labels(unsigned fam, const char *n1, const char *v1,
    const char *n2, const char *v2)
{
	struct buf l;
	int id;

	buf_init(&l, METRICS_LABELS_SIZE);
	metrics_label_append(&l, n1, v1);
	if (n2 != NULL)
		metrics_label_append(&l, n2, v2);
	id = l.overflow ? -1 : metrics_series(metrics_proc(), fam, buf_cstr(&l));
	buf_clear(&l);
	return id;
}

/* reinject_metrics_register - every fixed series, so a scrape lists them at 0 */
static void
reinject_metrics_register(void)
{
	metrics_series(metrics_proc(), REINJECT_M_TEMPFAILS, "");
	metrics_series(metrics_proc(), REINJECT_M_DOWNSTREAM, "");
	metrics_series(metrics_proc(), REINJECT_M_MESSAGE, "");
	for (int r = DKIM_RESULT_PASS; r <= DKIM_RESULT_POLICY; r++)
		reinject_metrics_labels(REINJECT_M_DKIM, "result",
		    dkim_result_str((enum dkim_result)r), NULL, NULL);
	for (int r = DMARC_RESULT_NONE; r <= DMARC_RESULT_PERMERROR; r++)
		for (int d = DMARC_DIS_NONE; d <= DMARC_DIS_REJECT; d++)
			reinject_metrics_labels(REINJECT_M_DMARC, "result",
			    dmarc_result_str((enum dmarc_result)r), "disposition",
			    dmarc_disposition_str((enum dmarc_disposition)d));
	for (size_t i = 0; i < sizeof(reinject_metrics_actions) /
	    sizeof(reinject_metrics_actions[0]); i++)
		reinject_metrics_labels(REINJECT_M_MESSAGES, "action",
		    reinject_metrics_actions[i], NULL, NULL);
	reinject_metrics_labels(REINJECT_M_SIGNATURES, "domain", "_other", "selector",
	    "_other");
}

/* reinject_metrics_open - bind metrics_listen and map the counters (as root) */
int
reinject_metrics_open(const struct reinject_conf *c, struct buf *err)
{
	if (metrics_proc_open(c->metrics_listen, &c->metrics, reinject_metrics_families,
	    REINJECT_M_COUNT, err) < 0)
		return -1;
	if (metrics_proc() != NULL)
		reinject_metrics_register();
	return 0;
}

/* reinject_metrics_key - the signatures series of a key, -1 when off */
int
reinject_metrics_key(const char *domain, const char *selector)
{
	int id;

	if (metrics_proc() == NULL)
		return -1;
	id = reinject_metrics_labels(REINJECT_M_SIGNATURES, "domain", domain,
	    "selector", selector);
	if (id < 0)
		id = reinject_metrics_labels(REINJECT_M_SIGNATURES, "domain", "_other",
		    "selector", "_other");
	return id;
}

/* reinject_metrics_keys - the signatures series of each key with a fixed domain */
void
reinject_metrics_keys(const struct reinject_conf *c)
{
	struct dkim_table *t;
	struct dkim_hostlist *h;
	struct dkim_table_key_info k;
	struct buf err;

	if (metrics_proc() == NULL)
		return;
	buf_init(&err, CONFIG_ERROR_LIMIT);
	/* errors were reported by reinject_worker_check, which ran before */
	(void)reinject_worker_tables(c, &t, &h, &err);
	for (size_t i = 0; t != NULL && dkim_table_key_get(t, i, &k) == 0; i++)
		if (strcmp(k.domain, "%") != 0 &&
		    reinject_metrics_labels(REINJECT_M_SIGNATURES, "domain", k.domain,
		    "selector", k.selector) < 0)
			log_warn("metrics: metrics_series_limit reached; the signatures "
			    "of d=%s s=%s count under domain=\"_other\"", k.domain, k.selector);
	if (t)
		dkim_table_free(t);
	if (h)
		dkim_table_host_free(h);
	buf_clear(&err);
}

/* reinject_metrics_signed - a signature made with the key of series id */
void
reinject_metrics_signed(int id)
{
	metrics_inc(metrics_proc(), id, 1);
}

/* reinject_metrics_dmarc - a DMARC verdict (enum dmarc_result, dmarc_disposition) */
void
reinject_metrics_dmarc(int result, int disposition)
{
	if (metrics_proc() == NULL)
		return;
	metrics_inc(metrics_proc(), reinject_metrics_labels(REINJECT_M_DMARC, "result",
	    dmarc_result_str((enum dmarc_result)result), "disposition",
	    dmarc_disposition_str((enum dmarc_disposition)disposition)), 1);
}

/* reinject_metrics_count - one more in the label-less series of fam */
static void
reinject_metrics_count(unsigned fam)
{
	metrics_inc(metrics_proc(), metrics_series(metrics_proc(), fam, ""), 1);
}

/*
 * reinject_metrics_message - a message's final reply: its DKIM results, the
 * action (as logged; "deferred" is a 4xx), a downstream refusal or
 * failure, its time
 */
void
reinject_metrics_message(const struct reinject_msg *m, const char *action,
    const struct smtp_reply *down)
{
	struct metrics *mp = metrics_proc();

	if (mp == NULL)
		return;
	for (size_t i = 0; i < m->ndkim; i++)
		metrics_inc(mp, reinject_metrics_labels(REINJECT_M_DKIM, "result",
		    dkim_result_str(m->dkim[i].result), NULL, NULL), 1);
	metrics_inc(mp, reinject_metrics_labels(REINJECT_M_MESSAGES, "action", action,
	    NULL, NULL), 1);
	if (strcmp(action, "deferred") == 0)
		reinject_metrics_count(REINJECT_M_TEMPFAILS);
	if (down != NULL && smtp_reply_class(down) != 2)
		reinject_metrics_count(REINJECT_M_DOWNSTREAM);
	metrics_observe(mp, metrics_series(mp, REINJECT_M_MESSAGE, ""),
	    metrics_now() - m->started);
}
