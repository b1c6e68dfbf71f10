/*
 * dmarc_report.c - what DMARC leaves behind for one message: the per-message
 * record for RFC 9990 aggregate reports (§3 "record": row, identifiers,
 * auth_results, policy_published), the Authentication-Results clause (RFC 8601
 * §2.7, names from the RFC 9989 "Authentication-Results Method Registry Update" registry: header.from, polrec.p,
 * polrec.domain; plus policy.dmarc, which receivers widely emit) and the log line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "authres.h"
#include "dmarc.h"

/* report_ip - client address as text */
static void
report_ip(const struct sockaddr_storage *ss, char *out, size_t len)
{
	out[0] = '\0';
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out,
		    (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
		    (socklen_t)len);
}

/* dmarc_report_fill - the aggregate-report row for From domain i of v */
void
dmarc_report_fill(struct dmarc_report_record *rec, const struct dmarc_verdict *v,
    size_t i, const struct dmarc_input *in, const char *envelope_to)
{
	const struct dmarc_domain_result *d = &v->domains[i];
	const struct dmarc_record *pr = dmarc_walk_policy_record(&d->walk);
	const char *at = in->mail_from ? strrchr(in->mail_from, '@') : NULL;

	memset(rec, 0, sizeof(*rec));
	report_ip(&in->client, rec->source_ip, sizeof(rec->source_ip));
	snprintf(rec->header_from, sizeof(rec->header_from), "%s", d->from_domain);
	snprintf(rec->envelope_from, sizeof(rec->envelope_from), "%s", at ? at + 1 : "");
	snprintf(rec->envelope_to, sizeof(rec->envelope_to), "%s",
	    envelope_to ? envelope_to : "");
	snprintf(rec->policy_domain, sizeof(rec->policy_domain), "%s",
	    d->walk.policy_domain);
	rec->policy_source = d->walk.source;
	if (pr) {
		rec->p = pr->p;
		rec->sp = pr->sp;
		rec->np = pr->np;
		rec->adkim = pr->adkim;
		rec->aspf = pr->aspf;
		rec->testing = pr->testing;
		rec->psd = pr->psd;
		rec->fo = pr->fo;
		rec->nrua = pr->nrua;
		memcpy(rec->rua, pr->rua, sizeof(rec->rua));
	}
	rec->result = d->result;
	rec->disposition = d->disposition;
	rec->dkim_aligned_pass = d->dkim_aligned;
	rec->spf_aligned_pass = d->spf_aligned;
	rec->override = d->override;
	snprintf(rec->override_comment, sizeof(rec->override_comment), "%s",
	    dmarc_override_str(d->override));
	for (size_t k = 0; k < in->ndkim && rec->ndkim < DMARC_DKIM_LIMIT; k++) {
		struct dmarc_report_dkim *r = &rec->dkim[rec->ndkim++];

		snprintf(r->domain, sizeof(r->domain), "%s",
		    in->dkim[k].domain ? in->dkim[k].domain : "");
		snprintf(r->selector, sizeof(r->selector), "%s",
		    in->dkim[k].selector ? in->dkim[k].selector : "");
		r->result = in->dkim[k].result;
	}
	snprintf(rec->spf_domain, sizeof(rec->spf_domain), "%s",
	    in->spf_domain ? in->spf_domain : "");
	rec->spf_scope = in->spf_identity;
	rec->spf_result = in->spf;
}

/* dmarc_authres_add - the dmarc= clause of Authentication-Results (see dmarc.h) */
void
dmarc_authres_add(struct authres_builder *b, const struct dmarc_verdict *v)
{
	const struct dmarc_domain_result *d;
	const struct dmarc_record *pr;
	char comment[96];
	const char *props[9];
	size_t n = 0;
	bool applied;

	if (!v->evaluated)
		return;
	if (v->from_error || v->decisive < 0) {
		authres_add(b, "dmarc", dmarc_result_str(v->result),
		    v->from_error ? "no usable RFC5322.From" : v->reason, NULL);
		return;
	}
	d = &v->domains[v->decisive];
	pr = dmarc_walk_policy_record(&d->walk);
	/* a policy record found, but no policy applied (temperror on the way) */
	applied = pr && pr->has_policy && d->policy != DMARC_POLICY_UNSET;
	snprintf(comment, sizeof(comment), "p=%s dis=%s%s%s", dmarc_policy_str(d->policy),
	    dmarc_disposition_str(v->disposition), d->override ? " override=" : "",
	    dmarc_override_str(d->override));
	props[n++] = "header.from";
	props[n++] = v->header_from;
	if (pr && pr->has_policy) {
		props[n++] = "polrec.p";
		props[n++] = dmarc_policy_str(pr->p);
		if (strcmp(d->walk.policy_domain, d->from_domain) != 0) {
			props[n++] = "polrec.domain";
			props[n++] = d->walk.policy_domain;
		}
	}
	if (applied) {
		props[n++] = "policy.dmarc";
		props[n++] = dmarc_policy_str(d->policy);
	}
	props[n] = NULL;
	authres_add(b, "dmarc", dmarc_result_str(v->result), applied ? comment : NULL, props);
}

/* dmarc_log_line - one line per message in OpenDMARC's spirit */
int
dmarc_log_line(struct buf *b, const struct dmarc_verdict *v)
{
	const struct dmarc_domain_result *d;

	if (!v->evaluated) {
		buf_printf(b, "- none (%s)", v->reason);
		return b->overflow ? -1 : 0;
	}
	if (v->decisive < 0) {
		buf_printf(b, "- %s (dis=%s) %s", dmarc_result_str(v->result),
		    dmarc_disposition_str(v->disposition), v->reason);
		return b->overflow ? -1 : 0;
	}
	d = &v->domains[v->decisive];
	buf_printf(b, "%s %s (p=%s dis=%s policy_domain=%s source=%s spf=%s dkim=%s%s%s",
	    v->header_from, dmarc_result_str(v->result),
	    d->policy == DMARC_POLICY_UNSET ? "-" : dmarc_policy_str(d->policy),
	    dmarc_disposition_str(v->disposition),
	    d->walk.policy_domain[0] ? d->walk.policy_domain : "-",
	    dmarc_source_str(d->walk.source),
	    d->spf_aligned ? "aligned" : "unaligned",
	    d->dkim_aligned ? "aligned:" : "unaligned",
	    d->dkim_aligned && d->aligned_dkim_domain ? d->aligned_dkim_domain : "",
	    d->override ? " override=" : "");
	if (d->override)
		buf_append_str(b, dmarc_override_str(d->override));
	buf_printf(b, ") %s", v->reason);
	return b->overflow ? -1 : 0;
}
