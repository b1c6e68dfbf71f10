/*
 * reinject_doctor_spf.c - doctor check of SPF (RFC 7208) with the real
 * engine: check_host() of the domain (MAIL FROM identity) and of the HELO
 * name (HELO identity, §2.3) for each outbound address, the term that
 * matched, and the §4.6.4 processing limits: the DNS-querying terms and
 * void lookups of an evaluation that matches no term before the end (an
 * address from the discard-only prefix, RFC 6666, or 0.0.0.1), warned
 * about within DOCTOR_SPF_MARGIN of the limit.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "reinject_doctor.h"
#include "spf.h"

/* Addresses no record lists: what an unknown sender's evaluation costs. */
#define DOCTOR_SPF_PROBE4	"0.0.0.1"
#define DOCTOR_SPF_PROBE6	"100::1"

struct doctor_spf_st {
	bool done;
	enum spf_result result;
	char mechanism[256];
	char reason[512];
	unsigned terms, voids;
};

/* doctor_spf_cb - keep the verdict */
static void
doctor_spf_cb(void *arg, const struct spf_verdict *v)
{
	struct doctor_spf_st *st = arg;

	st->result = v->result;
	snprintf(st->mechanism, sizeof(st->mechanism), "%s", v->mechanism ? v->mechanism : "");
	snprintf(st->reason, sizeof(st->reason), "%s", v->reason);
	st->terms = v->dns_terms;
	st->voids = v->void_lookups;
	st->done = true;
}

/* doctor_spf_sockaddr - an address as the engine takes it */
static void
doctor_spf_sockaddr(const struct iprev_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->b, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a->b, 16);
	}
}

/* doctor_spf_run - one evaluation, waited for */
static void
doctor_spf_run(struct doctor *d, const char *domain, bool helo, const struct iprev_addr *a,
    struct doctor_spf_st *st)
{
	struct spf_request req = { 0 };
	char sender[300];
	struct spf_eval *e;

	snprintf(sender, sizeof(sender), "postmaster@%s", domain);
	doctor_spf_sockaddr(a, &req.client);
	req.helo = helo ? domain : (d->helo ? d->helo : domain);
	req.mail_from = helo ? "" : sender;
	req.identity = helo ? SPF_IDENTITY_HELO : SPF_IDENTITY_MAILFROM;
	memset(st, 0, sizeof(*st));
	e = spf_eval_start(d->r, d->base, NULL, &req, doctor_spf_cb, st);
	doctor_wait(d, &st->done);
	if (!st->done) {
		spf_eval_cancel(e);
		st->result = SPF_RESULT_TEMPERROR;
		snprintf(st->reason, sizeof(st->reason), "no answer from the resolver");
	}
}

/* doctor_spf_record_for - a record listing every outbound address */
static void
doctor_spf_record_for(const struct doctor *d, const char *domain, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "%s. IN TXT \"v=spf1", domain);

	for (size_t i = 0; i < d->nips && o < size; i++) {
		char t[IPREV_ADDR_TEXT_SIZE];

		iprev_addr_text(&d->ips[i], t, sizeof(t));
		o += (size_t)snprintf(out + o, size - o, " %s:%s", doctor_addr_spf(&d->ips[i]), t);
	}
	if (o < size)
		snprintf(out + o, size - o, " -all\"");
}

/* doctor_spf_report - the finding for one domain and address */
static void
doctor_spf_report(struct doctor *d, const char *domain, const char *check,
    const struct iprev_addr *a, const struct doctor_spf_st *st)
{
	char subj[400], t[IPREV_ADDR_TEXT_SIZE], fix[600], rec[1200];
	const char *m = st->mechanism[0] ? st->mechanism : "no term: the default";

	iprev_addr_text(a, t, sizeof(t));
	snprintf(subj, sizeof(subj), "%s for %s", domain, t);
	snprintf(fix, sizeof(fix), "add %s:%s (or a term covering it) to the SPF record "
	    "of %s, before its all term", doctor_addr_spf(a), t, domain);
	switch (st->result) {
	case SPF_RESULT_PASS:
		doctor_add(d, DOCTOR_OK, check, subj, NULL, NULL, "pass (matched %s; %u "
		    "DNS-querying terms, %u void lookups)", m, st->terms, st->voids);
		return;
	case SPF_RESULT_NONE:
		/* RFC 7208 §2.3: a HELO record is recommended, MAIL FROM's is what counts */
		doctor_spf_record_for(d, domain, rec, sizeof(rec));
		doctor_add(d, strcmp(check, "spf-helo") == 0 ? DOCTOR_WARN : DOCTOR_FAIL,
		    check, subj, "publish an SPF record", rec, "none: %s", st->reason);
		return;
	case SPF_RESULT_TEMPERROR:
		doctor_add(d, DOCTOR_FAIL, check, subj, "check the domain's name servers, "
		    "then run again", NULL, "temperror: DNS failure: %s", st->reason);
		return;
	case SPF_RESULT_PERMERROR:
		doctor_add(d, DOCTOR_FAIL, check, subj, "correct the record: receivers "
		    "treat a permerror like no SPF, or worse", NULL, "permerror: %s",
		    st->reason);
		return;
	default:
		doctor_add(d, DOCTOR_FAIL, check, subj, fix, NULL, "%s (matched %s): "
		    "the address is not authorised", spf_result_str(st->result), m);
		return;
	}
}

/* doctor_spf_limits - the cost of an evaluation that matches nothing */
static void
doctor_spf_limits(struct doctor *d, const char *domain, bool helo)
{
	struct iprev_addr probe;
	const char *p = d->ips[0].family == AF_INET ? DOCTOR_SPF_PROBE4 : DOCTOR_SPF_PROBE6;
	struct doctor_spf_st st;
	enum doctor_level level = DOCTOR_OK;

	iprev_addr_parse(p, strlen(p), &probe);
	doctor_spf_run(d, domain, helo, &probe, &st);
	if (st.result == SPF_RESULT_NONE || st.result == SPF_RESULT_TEMPERROR)
		return;	/* reported per address already */
	if (st.result == SPF_RESULT_PERMERROR && strstr(st.reason, "4.6.4") != NULL) {
		doctor_add(d, DOCTOR_FAIL, "spf-limits", domain, "flatten includes "
		    "(list addresses with ip4:/ip6:) or drop terms until an evaluation "
		    "needs at most 10 DNS lookups", NULL, "over the RFC 7208 4.6.4 limit: %s",
		    st.reason);
		return;
	}
	if (st.terms + DOCTOR_SPF_MARGIN >= SPF_DNS_MECH_LIMIT ||
	    st.voids + DOCTOR_SPF_MARGIN > SPF_VOID_LIMIT)
		level = DOCTOR_WARN;
	doctor_add(d, level, "spf-limits", domain, level == DOCTOR_OK ? NULL :
	    "remove terms that query DNS, and names that do not exist, before one more "
	    "include or a change at a provider breaks the limit", NULL,
	    "%u of %u DNS-querying terms, %u of %u void lookups for an address the "
	    "record does not list (RFC 7208 4.6.4)", st.terms, SPF_DNS_MECH_LIMIT,
	    st.voids, SPF_VOID_LIMIT);
}

/* doctor_check_spf - the domain and the HELO name, for each address */
void
doctor_check_spf(struct doctor *d)
{
	struct doctor_spf_st st;

	for (size_t i = 0; i < d->nips; i++) {
		doctor_spf_run(d, d->mail_from_domain, false, &d->ips[i], &st);
		doctor_spf_report(d, d->mail_from_domain, "spf", &d->ips[i], &st);
	}
	doctor_spf_limits(d, d->mail_from_domain, false);
	if (d->helo == NULL)
		return;
	for (size_t i = 0; i < d->nips; i++) {
		doctor_spf_run(d, d->helo, true, &d->ips[i], &st);
		doctor_spf_report(d, d->helo, "spf-helo", &d->ips[i], &st);
	}
	doctor_spf_limits(d, d->helo, true);
}
