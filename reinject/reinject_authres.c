/*
 * reinject_authres.c - pipeline stage: the Authentication-Results field
 * (RFC 8601) of verified mail.
 *
 * Fields already in the message that claim our authserv-id are removed
 * (RFC 8601 §5: they were forged or are stale), others are kept.  The spf=
 * clause comes from the Received-SPF field policyd prepended (RFC 7208 §9.1):
 * the topmost one, above any Received field, i.e. added by our own smtpd in
 * this hop (Postfix prepends policy PREPEND headers above its Received);
 * never for the milter front-end, which is not shown that Received field.
 * dkim= has one clause per signature with header.d, header.s and header.b
 * (RFC 8601 §2.7.1, RFC 6008).
 */
#include <stdio.h>
#include <string.h>

#include "authres.h"
#include "reinject.h"

/* reinject_authres_begin - only for mail being verified */
static void
reinject_authres_begin(struct reinject_msg *m, void **st)
{
	*st = m->sign ? NULL : m;
}

/* reinject_authres_strip - remove fields claiming our authserv-id */
static void
reinject_authres_strip(struct reinject_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span v;

		if (!reinject_msg_field_is(m, i, "Authentication-Results"))
			continue;
		v = reinject_msg_field_value(m, i);
		if (authres_claims_id(v.p, v.len, m->conf->authserv_id))
			m->hdrs[i].removed = true;
	}
}

/* reinject_authres_spf - policyd's Received-SPF of this hop, if any (when DMARC had no SPF result) */
static void
reinject_authres_spf(struct reinject_msg *m, struct authres_builder *b)
{
	/* milter: the MTA's own Received field is not shown, so the rule below
	 * cannot tell this hop's Received-SPF from one the sender wrote */
	if (m->mode == REINJECT_MODE_MILTER)
		return;
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct authres_spf spf;
		struct span v;
		char res[16], from[512];
		const char *props[3] = { "smtp.mailfrom", from, NULL };

		if (reinject_msg_field_is(m, i, "Received"))
			return;	/* below our own smtpd's Received: not this hop */
		if (!reinject_msg_field_is(m, i, "Received-SPF"))
			continue;
		v = reinject_msg_field_value(m, i);
		if (authres_spf_parse(v.p, v.len, &spf) < 0)
			return;
		snprintf(res, sizeof(res), "%.*s", (int)spf.result.len, spf.result.p);
		for (char *c = res; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		snprintf(from, sizeof(from), "%.*s", (int)spf.mailfrom.len,
		    spf.mailfrom.p);
		if (!from[0]) {
			props[0] = "smtp.helo";
			snprintf(from, sizeof(from), "%.*s", (int)spf.helo.len,
			    spf.helo.p);
		}
		authres_add(b, "spf", res, NULL, from[0] ? props : NULL);
		buf_printf(&m->spf, "%s", res);
		return;
	}
}

/* reinject_authres_finish - build and prepend the field */
static void
reinject_authres_finish(void *st, struct reinject_msg *m)
{
	struct authres_builder b;

	(void)st;
	reinject_authres_strip(m);
	authres_begin(&b, m->conf->authserv_id);
	for (size_t i = 0; i < m->ndkim; i++) {
		const struct reinject_dkim_res *d = &m->dkim[i];
		const char *props[] = { "header.d", d->domain, "header.s", d->selector,
		    "header.b", d->b, NULL };

		if (!d->domain[0])
			props[0] = NULL;
		authres_add(&b, "dkim", dkim_result_str(d->result),
		    d->result == DKIM_RESULT_PASS ? NULL : d->reason, props);
	}
	if (m->nhdrs && m->ndkim == 0)
		authres_add(&b, "dkim", "none", NULL, NULL);
	reinject_arc_authres(m, &b);
	/* the SPF result DMARC used, else this hop's Received-SPF */
	if (!reinject_dmarc_authres_spf(m, &b))
		reinject_authres_spf(m, &b);
	reinject_dmarc_authres(m, &b);
	reinject_iprev_authres(m, &b);
	if (authres_finish(&b) == 0)
		reinject_msg_prepend(m, b.out.data, b.out.len);
	authres_clear(&b);
	reinject_pipeline_next(m);
}

const struct reinject_stage reinject_stage_authres = {
	"authres", reinject_authres_begin, NULL, NULL, NULL,
	reinject_authres_finish, NULL, NULL,
};
