/*
 * report_verify.c - RFC 9990 "Verifying External Destinations": a rua=
 * destination whose Organizational Domain differs from the policy domain's
 * (both from the RFC 9989 DNS Tree Walk, common/dmarc) is used only when
 * "<policy domain>._report._dmarc.<destination host>" holds a TXT record that
 * starts with v=DMARC1 (steps 1-8).  A rua= in that record replaces the
 * destination (step 9), only with URIs on the same destination host;
 * another host there means no report to either.  Names too long for DNS
 * (step 4) are not verified.  DNS failures are temporary (step 5: retry).
 * A ruf= destination of a failure report is verified the same way, with the
 * confirming record's ruf= in place of rua= (RFC 9991 "Verifying External
 * Destinations").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* RFC 1035 §2.3.4: 255 octets in wire form, 253 in text without the final dot */
#define REPORT_DNS_NAME_LIMIT	253

/* verify_done - the outcome, once */
static void
verify_done(struct report_verify *v, enum report_verify_result r)
{
	v->result = r;
	v->done = true;
}

/* verify_override - step 9: the confirming record's rua= (ruf= for failure
 * reports, RFC 9991 "Verifying External Destinations"), same host only */
static enum report_verify_result
verify_override(struct report_verify *v, const struct dmarc_record *rec)
{
	char list[STORE_RUA_SIZE] = "";
	size_t n = 0, nuri = v->ruf ? rec->nruf : rec->nrua;

	for (size_t i = 0; i < nuri && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? " " : "",
		    v->ruf ? rec->ruf[i] : rec->rua[i]);
	report_rua_parse(list, strlen(list), &v->override);
	v->has_override = true;
	for (size_t i = 0; i < v->override.n; i++)
		if (!dmarc_domain_eq(v->override.uri[i].domain, v->dest))
			return REPORT_VERIFY_NO;
	return REPORT_VERIFY_OK;
}

/* verify_txt - steps 5-9 on the TXT answer */
static void
verify_txt(void *arg, const struct dns_answer *a)
{
	struct report_verify *v = arg;
	struct dmarc_record *rec;

	v->q = NULL;
	if (a->rcode == DNS_RCODE_SERVFAIL || a->rcode == DNS_RCODE_TIMEOUT) {
		verify_done(v, REPORT_VERIFY_TEMP);
		return;
	}
	rec = xmalloc(sizeof(*rec));
	for (size_t i = 0; i < a->count && !v->done; i++) {
		if (dmarc_record_parse(a->rr[i].data, a->rr[i].len, rec) ==
		    DMARC_RECORD_NOT_DMARC)
			continue;
		verify_done(v, (v->ruf ? rec->nruf : rec->nrua) ? verify_override(v, rec) :
		    REPORT_VERIFY_OK);
	}
	free(rec);
	if (!v->done)
		verify_done(v, REPORT_VERIFY_NO);
}

/* verify_query - steps 1-4: the name, then its TXT lookup */
static void
verify_query(struct report_verify *v)
{
	char name[512];
	int n = snprintf(name, sizeof(name), "%s._report._dmarc.%s", v->policy, v->dest);
	struct dns_query *q;

	if (n < 0 || (size_t)n > REPORT_DNS_NAME_LIMIT) {
		verify_done(v, REPORT_VERIFY_NO);
		return;
	}
	q = dns_query(v->dns, name, DNS_TYPE_TXT, verify_txt, v);
	/* answered from local data: the callback already ran */
	v->q = v->done ? NULL : q;
}

/* verify_walked - one Tree Walk ended; with both: same org or external */
static void
verify_walked(struct report_verify *v, int i, const struct dmarc_walk *w)
{
	v->walk[i] = NULL;
	if (w->status == DMARC_WALK_TEMPERROR)
		v->temp = true;
	if (w->status == DMARC_WALK_BAD_DOMAIN)
		v->bad = true;
	snprintf(v->org[i], sizeof(v->org[i]), "%s", w->org_domain);
	if (--v->pending > 0)
		return;
	if (v->bad)
		verify_done(v, REPORT_VERIFY_NO);
	else if (v->temp)
		verify_done(v, REPORT_VERIFY_TEMP);
	else if (dmarc_domain_eq(v->org[0], v->org[1]))
		verify_done(v, REPORT_VERIFY_OK);
	else
		verify_query(v);
}

/* verify_walked0, verify_walked1 - the two walks' callbacks */
static void verify_walked0(void *arg, const struct dmarc_walk *w) { verify_walked(arg, 0, w); }
static void verify_walked1(void *arg, const struct dmarc_walk *w) { verify_walked(arg, 1, w); }

/* report_verify_start - verify rua= destination dest for policy; v->done
 * once decided (maybe before this returns) */
void
report_verify_start(struct report_verify *v, struct dns_resolver *dns,
    const char *policy, const char *dest)
{
	report_verify_start_tag(v, dns, policy, dest, false);
}

/* report_verify_start_tag - the same for a ruf= destination when ruf */
void
report_verify_start_tag(struct report_verify *v, struct dns_resolver *dns,
    const char *policy, const char *dest, bool ruf)
{
	memset(v, 0, sizeof(*v));
	v->dns = dns;
	v->ruf = ruf;
	snprintf(v->policy, sizeof(v->policy), "%s", policy);
	snprintf(v->dest, sizeof(v->dest), "%s", dest);
	/* both walks are pending before either starts: one answered from local
	 * data calls back before dmarc_walk_start returns (and it returns NULL) */
	v->pending = 2;
	v->walk[0] = dmarc_walk_start(dns, v->policy, verify_walked0, v);
	v->walk[1] = dmarc_walk_start(dns, v->dest, verify_walked1, v);
}

/* report_verify_cancel - stop pending lookups */
void
report_verify_cancel(struct report_verify *v)
{
	for (int i = 0; i < 2; i++)
		if (v->walk[i])
			dmarc_walk_cancel(v->walk[i]);
	if (v->q)
		dns_cancel(v->dns, v->q);
	v->walk[0] = v->walk[1] = NULL;
	v->q = NULL;
}
