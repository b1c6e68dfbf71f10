/*
 * dmarc_discover.c - the DNS Tree Walk (RFC 9989 "DNS Tree Walk"), DMARC policy
 * discovery ("DMARC Policy Discovery") and Organizational Domain selection ("Organizational Domain Discovery").
 *
 * The walk queries _dmarc.<name> for the starting name, then for the name cut
 * to its last 7 labels when it has 8 or more ("DNS Tree Walk" step 5), then one label
 * less each time, down to the single-label name: at most
 * DMARC_WALK_QUERY_LIMIT (8) queries.  It stops early on a single valid record
 * with psd=n (any step) or psd=y (any step but the first, "DNS Tree Walk" steps 2, 7).
 * Queries run one after the other through common/dns; a SERVFAIL or timeout
 * ends the walk with DMARC_WALK_TEMPERROR because a record there could have
 * changed the outcome.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "mailaddr.h"

struct dmarc_walker {
	struct dns_resolver *r;
	struct dns_query *q;
	dmarc_walk_cb cb;
	void *arg;
	unsigned next_labels;	/* labels of the next name to query; 0: done */
	bool in_query;		/* inside dns_query(): answers may arrive synchronously */
	bool finished;
	bool want_next;
	struct dmarc_walk w;
};

static bool walk_run(struct dmarc_walker *wk);

/* dmarc_walk_next_labels - labels of the next name queried after one of n labels */
unsigned
dmarc_walk_next_labels(unsigned labels)
{
	if (labels > DMARC_WALK_CUT_LABELS)
		return DMARC_WALK_CUT_LABELS;
	return labels ? labels - 1 : 0;
}

/* walk_classify - "DNS Tree Walk" steps 2 and 7: keep exactly one v=DMARC1 record */
static void
walk_classify(struct dmarc_walk_step *st, const struct dns_answer *a)
{
	struct dmarc_record tmp;
	size_t dmarc = 0;

	st->rcode = a->rcode;
	st->outcome = DMARC_STEP_NO_RECORD;
	if (a->rcode == DNS_RCODE_SERVFAIL || a->rcode == DNS_RCODE_TIMEOUT) {
		st->outcome = DMARC_STEP_DNS_ERROR;
		return;
	}
	for (size_t i = 0; i < a->count; i++) {
		if (dmarc_record_parse(a->rr[i].data, a->rr[i].len, &tmp) ==
		    DMARC_RECORD_NOT_DMARC)
			continue;
		if (++dmarc == 1)
			st->rec = tmp;
	}
	if (dmarc > 1)
		st->outcome = DMARC_STEP_MULTIPLE;
	else if (dmarc == 1)
		st->outcome = st->rec.status == DMARC_RECORD_VALID ?
		    DMARC_STEP_RECORD : DMARC_STEP_INVALID;
}

/* walk_stops - does this step end the walk (psd=n; psd=y after the first)? */
static bool
walk_stops(const struct dmarc_walk *w, size_t i)
{
	const struct dmarc_walk_step *st = &w->steps[i];

	if (st->outcome == DMARC_STEP_DNS_ERROR)
		return true;
	if (st->outcome != DMARC_STEP_RECORD)
		return false;
	return st->rec.psd == DMARC_PSD_N || (i > 0 && st->rec.psd == DMARC_PSD_Y);
}

/* walk_select_org - "Organizational Domain Discovery": psd=n, else below a psd=y, else fewest labels */
static void
walk_select_org(struct dmarc_walk *w)
{
	int fewest = -1;

	for (size_t i = 0; i < w->nsteps; i++) {
		const struct dmarc_walk_step *st = &w->steps[i];

		if (st->outcome != DMARC_STEP_RECORD)
			continue;
		if (st->rec.psd == DMARC_PSD_N) {
			snprintf(w->org_domain, sizeof(w->org_domain), "%s", st->domain);
			snprintf(w->org_reason, sizeof(w->org_reason),
			    "record with psd=n at %.60s", st->domain);
			return;
		}
		if (i > 0 && st->rec.psd == DMARC_PSD_Y) {
			snprintf(w->org_domain, sizeof(w->org_domain), "%s",
			    dmarc_domain_suffix(w->domain, st->labels + 1));
			snprintf(w->org_reason, sizeof(w->org_reason),
			    "one label below the PSD %.60s (psd=y)", st->domain);
			return;
		}
		fewest = (int)i;
	}
	if (fewest >= 0) {
		snprintf(w->org_domain, sizeof(w->org_domain), "%s",
		    w->steps[fewest].domain);
		snprintf(w->org_reason, sizeof(w->org_reason),
		    "record with the fewest labels");
		return;
	}
	snprintf(w->org_domain, sizeof(w->org_domain), "%s", w->domain);
	snprintf(w->org_reason, sizeof(w->org_reason),
	    "no record found: the domain itself");
}

/* walk_select_policy - "DMARC Policy Discovery": the Author Domain's, the Org Domain's, or the PSD's */
static void
walk_select_policy(struct dmarc_walk *w)
{
	w->source = DMARC_SOURCE_NONE;
	w->policy_step = -1;
	w->policy_domain[0] = '\0';
	if (w->nsteps && w->steps[0].outcome == DMARC_STEP_RECORD) {
		w->source = DMARC_SOURCE_AUTHOR;
		w->policy_step = 0;
	} else {
		for (size_t i = 1; i < w->nsteps; i++) {
			const struct dmarc_walk_step *st = &w->steps[i];

			if (st->outcome != DMARC_STEP_RECORD)
				continue;
			if (strcmp(st->domain, w->org_domain) == 0) {
				w->source = DMARC_SOURCE_ORG;
				w->policy_step = (int)i;
			} else if (st->rec.psd == DMARC_PSD_Y &&
			    w->source == DMARC_SOURCE_NONE) {
				w->source = DMARC_SOURCE_PSD;
				w->policy_step = (int)i;
			}
		}
	}
	if (w->policy_step >= 0)
		snprintf(w->policy_domain, sizeof(w->policy_domain), "%s",
		    w->steps[w->policy_step].domain);
}

/* walk_finish - select, report, free; the caller must not touch wk after */
static void
walk_finish(struct dmarc_walker *wk)
{
	walk_select_org(&wk->w);
	walk_select_policy(&wk->w);
	wk->cb(wk->arg, &wk->w);
	free(wk);
}

/* walk_answer - one _dmarc TXT answer */
static void
walk_answer(void *arg, const struct dns_answer *a)
{
	struct dmarc_walker *wk = arg;
	struct dmarc_walk *w = &wk->w;
	size_t i = w->nsteps - 1;

	wk->q = NULL;
	walk_classify(&w->steps[i], a);
	if (w->steps[i].outcome == DMARC_STEP_DNS_ERROR)
		w->status = DMARC_WALK_TEMPERROR;
	if (walk_stops(w, i) || w->nsteps == DMARC_WALK_QUERY_LIMIT)
		wk->next_labels = 0;
	else
		wk->next_labels = dmarc_walk_next_labels(w->steps[i].labels);
	if (wk->in_query) {
		if (wk->next_labels == 0)
			wk->finished = true;
		else
			wk->want_next = true;
		return;
	}
	if (wk->next_labels == 0)
		walk_finish(wk);
	else
		(void)walk_run(wk);
}

/* dmarc_walk_clear - an empty walk, as if zeroed (steps past the first left as they are) */
void
dmarc_walk_clear(struct dmarc_walk *w)
{
	memset(w, 0, offsetof(struct dmarc_walk, steps));
	memset(&w->steps[0], 0, sizeof(w->steps[0]));
	memset(w->org_domain, 0, sizeof(*w) - offsetof(struct dmarc_walk, org_domain));
}

/* dmarc_walk_copy - copy src into dst: its fields and its nsteps steps */
void
dmarc_walk_copy(struct dmarc_walk *dst, const struct dmarc_walk *src)
{
	size_t n = src->nsteps ? src->nsteps : 1;

	memcpy(dst, src, offsetof(struct dmarc_walk, steps));
	memcpy(dst->steps, src->steps, n * sizeof(src->steps[0]));
	memcpy(dst->org_domain, src->org_domain,
	    sizeof(*src) - offsetof(struct dmarc_walk, org_domain));
}

/* walk_run - issue queries until one is pending (false) or the walk ended (true) */
static bool
walk_run(struct dmarc_walker *wk)
{
	struct dmarc_walk *w = &wk->w;

	for (;;) {
		struct dmarc_walk_step *st = &w->steps[w->nsteps++];
		char qname[DMARC_DOMAIN_SIZE + 8];
		struct dns_query *q;

		memset(st, 0, sizeof(*st));
		snprintf(st->domain, sizeof(st->domain), "%s",
		    dmarc_domain_suffix(w->domain, wk->next_labels));
		st->labels = wk->next_labels;
		snprintf(qname, sizeof(qname), "_dmarc.%s", st->domain);
		wk->want_next = wk->finished = false;
		wk->in_query = true;
		q = dns_query(wk->r, qname, DNS_TYPE_TXT, walk_answer, wk);
		wk->in_query = false;
		if (wk->finished) {
			walk_finish(wk);
			return true;
		}
		if (!wk->want_next) {
			wk->q = q;
			return false;
		}
	}
}

/* dmarc_walk_start - run the DNS Tree Walk from domain */
struct dmarc_walker *
dmarc_walk_start(struct dns_resolver *r, const char *domain, dmarc_walk_cb cb,
    void *arg)
{
	/* not calloc: of the walk's steps only those used are cleared */
	struct dmarc_walker *wk = xmalloc(sizeof(*wk));

	memset(wk, 0, offsetof(struct dmarc_walker, w));
	dmarc_walk_clear(&wk->w);
	wk->r = r;
	wk->cb = cb;
	wk->arg = arg;
	wk->w.policy_step = -1;
	if (mailaddr_domain_to_ascii(domain, strlen(domain), wk->w.domain) != 0) {
		wk->w.status = DMARC_WALK_BAD_DOMAIN;
		snprintf(wk->w.domain, sizeof(wk->w.domain), "%.*s",
		    (int)(sizeof(wk->w.domain) - 1), domain);
		snprintf(wk->w.org_domain, sizeof(wk->w.org_domain), "%s", wk->w.domain);
		cb(arg, &wk->w);
		free(wk);
		return NULL;
	}
	wk->next_labels = dmarc_domain_labels(wk->w.domain);
	return walk_run(wk) ? NULL : wk;
}

/* dmarc_walk_cancel - abandon a walk; the callback will not run */
void
dmarc_walk_cancel(struct dmarc_walker *wk)
{
	if (wk == NULL)
		return;
	if (wk->q)
		dns_cancel(wk->r, wk->q);
	free(wk);
}

/* dmarc_walk_policy_record - the record applied to the Author Domain, or NULL */
const struct dmarc_record *
dmarc_walk_policy_record(const struct dmarc_walk *w)
{
	if (w->policy_step < 0)
		return NULL;
	return &w->steps[w->policy_step].rec;
}

/* dmarc_step_outcome_str - name of a step outcome */
const char *
dmarc_step_outcome_str(enum dmarc_step_outcome o)
{
	switch (o) {
	case DMARC_STEP_NO_RECORD: return "no record";
	case DMARC_STEP_RECORD: return "record";
	case DMARC_STEP_INVALID: return "invalid record (ignored)";
	case DMARC_STEP_MULTIPLE: return "several DMARC records (all discarded)";
	case DMARC_STEP_DNS_ERROR: return "DNS error";
	}
	return "?";
}

/* dmarc_source_str - where the applied record was found */
const char *
dmarc_source_str(enum dmarc_source s)
{
	switch (s) {
	case DMARC_SOURCE_NONE: return "none";
	case DMARC_SOURCE_AUTHOR: return "author domain";
	case DMARC_SOURCE_ORG: return "organizational domain";
	case DMARC_SOURCE_PSD: return "public suffix domain";
	}
	return "?";
}
