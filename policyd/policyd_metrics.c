/*
 * policyd_metrics.c - policyd's families on the metrics endpoint
 * (common/metrics, metrics_listen): SPF results by identity, DEFER replies,
 * the time from a complete request to its verdict, beside the families of
 * every daemon (reloads, worker restarts, DNS lookups, connections).
 * Series with labels are all registered before the fork, so every worker
 * counts into the same ones and a scrape lists each even at zero.
 */
#include "log.h"
#include "metrics.h"
#include "policyd.h"

enum policyd_metrics_family {
	POLICYD_M_SPF = METRICS_COMMON_COUNT,
	POLICYD_M_TEMPFAILS,
	POLICYD_M_REQUEST,
	POLICYD_M_COUNT
};

static const struct metrics_family policyd_metrics_families[POLICYD_M_COUNT] = {
	METRICS_FAMILIES_COMMON,
	{ "mailauth_policyd_spf_results_total",
	    "SPF results of policy requests, by identity (helo, mailfrom).",
	    METRICS_COUNTER, NULL, 0 },
	{ "mailauth_policyd_tempfails_total",
	    "Requests answered with DEFER_IF_PERMIT (temperror, malformed request).",
	    METRICS_COUNTER, NULL, 0 },
	{ "mailauth_policyd_request_seconds",
	    "Time from a complete RCPT request to its verdict.",
	    METRICS_HISTOGRAM, metrics_latency_bounds, METRICS_LATENCY_BUCKETS },
};

/* The identities counted, in the order of the id table below. */
static const char *const policyd_metrics_identities[] = { "helo", "mailfrom" };
#define POLICYD_M_RESULTS	(SPF_RESULT_PERMERROR + 1)

static int policyd_metrics_spf_id[2][POLICYD_M_RESULTS];

/* policyd_metrics_register - every series, so that a scrape lists each at 0 */
static void
policyd_metrics_register(struct metrics *m)
{
	metrics_series(m, POLICYD_M_TEMPFAILS, "");
	metrics_series(m, POLICYD_M_REQUEST, "");
	for (int i = 0; i < 2; i++)
		for (int r = 0; r < POLICYD_M_RESULTS; r++) {
			struct buf l;

			buf_init(&l, METRICS_LABELS_SIZE);
			metrics_label_append(&l, "identity", policyd_metrics_identities[i]);
			metrics_label_append(&l, "result", spf_result_str((enum spf_result)r));
			policyd_metrics_spf_id[i][r] = metrics_series(m, POLICYD_M_SPF,
			    buf_cstr(&l));
			buf_clear(&l);
		}
}

/* policyd_metrics_open - bind metrics_listen and map the counters (as root) */
int
policyd_metrics_open(const struct policyd_config *c, struct buf *err)
{
	if (metrics_proc_open(c->metrics_listen, &c->metrics, policyd_metrics_families,
	    POLICYD_M_COUNT, err) < 0)
		return -1;
	if (metrics_proc() != NULL)
		policyd_metrics_register(metrics_proc());
	return 0;
}

/* policyd_metrics_identity - count one checked identity's result */
static void
policyd_metrics_identity(int i, const struct policyd_identity_outcome *id)
{
	if (id->checked && (int)id->result >= 0 && id->result < POLICYD_M_RESULTS)
		metrics_inc(metrics_proc(), policyd_metrics_spf_id[i][id->result], 1);
}

/* policyd_metrics_verdict - a verdict sent: results, DEFER, the time it took */
void
policyd_metrics_verdict(const struct policyd_outcome *o,
    const struct policyd_decision *d, double started)
{
	struct metrics *m = metrics_proc();

	if (m == NULL)
		return;
	policyd_metrics_identity(0, &o->helo);
	policyd_metrics_identity(1, &o->mfrom);
	if (d->disp == POLICYD_DISP_DEFER)
		metrics_inc(m, metrics_series(m, POLICYD_M_TEMPFAILS, ""), 1);
	metrics_observe(m, metrics_series(m, POLICYD_M_REQUEST, ""),
	    metrics_now() - started);
}

/* policyd_metrics_malformed - a malformed request got DEFER_IF_PERMIT */
void
policyd_metrics_malformed(void)
{
	struct metrics *m = metrics_proc();

	metrics_inc(m, metrics_series(m, POLICYD_M_TEMPFAILS, ""), 1);
}
