/*
 * reinject_sign.c - pipeline stage: DKIM-sign mail from internal clients or a
 * sign listener, per the SigningTable (common/dkim_table), keyed on the From
 * address (RFC 6376 §5.1; the envelope sender when From has none).  Signers are
 * created at the end of the header section (From is known), fed the stored
 * fields and then the body as it streams; the fields are prepended at the end,
 * above every other, so they cover the header as downstream will see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_table.h"
#include "log.h"
#include "mailaddr.h"
#include "reinject.h"

struct reinject_sign {
	size_t n;
	struct dkim_sign *s[DKIM_TABLE_SIGNERS_MAX];
	char label[DKIM_TABLE_SIGNERS_MAX][320];
	int metric[DKIM_TABLE_SIGNERS_MAX];	/* the key's series (reinject_metrics.c) */
};

/* reinject_sign_begin - only for mail to sign, with tables configured */
static void
reinject_sign_begin(struct reinject_msg *m, void **st)
{
	if (m->sign && m->ctx->sign_table)
		*st = xcalloc(1, sizeof(struct reinject_sign));
}

/*
 * reinject_sign_from - the address the SigningTable is asked for: the first
 * address of the From field (RFC 5322 parsing: display names, comments,
 * quoting), "" when it does not parse (not signed, as OpenDKIM), the
 * envelope sender when there is no From field
 */
static struct span
reinject_sign_from(struct reinject_msg *m, char *out, size_t size)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span v;
		struct mailaddr_list l;

		if (!reinject_msg_field_is(m, i, "From"))
			continue;
		v = reinject_msg_field_value(m, i);
		if (mailaddr_parse_list(v.p, v.len, &l) != 0 || l.count == 0)
			return (struct span){ "", 0 };
		snprintf(out, size, "%s@%s", l.addr[0].local, l.addr[0].domain);
		return span_from_cstr(out);
	}
	return span_from_cstr(m->sender ? m->sender : "");
}

/* reinject_sign_omitted - is name in omit_headers (From never is: §5.4) */
static bool
reinject_sign_omitted(const struct reinject_conf *rc, const char *name)
{
	return strcasecmp(name, "From") != 0 &&
	    config_list_has_ci(&rc->omit_headers, name, strlen(name));
}

/*
 * reinject_sign_omit - list without the omit_headers names (OpenDKIM's
 * OmitHeaders), NULL-terminated, in a new array the caller frees
 */
static const char **
reinject_sign_omit(const struct reinject_conf *rc, const char *const *list)
{
	size_t n = 0, k = 0;
	const char **out;

	while (list[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (!reinject_sign_omitted(rc, list[i]))
			out[k++] = list[i];
	return out;
}

/*
 * reinject_sign_options - reinject.conf's signing options: c=, h=, the
 * oversigned fields (always, when listed: OpenDKIM's OversignHeaders), x=;
 * with omit_headers, the two lists are filtered copies (*owned, freed by the
 * caller once the signer has its own)
 */
static void
reinject_sign_options(struct dkim_sign_config *c, const struct reinject_conf *rc,
    const char **owned[2])
{
	int canon = rc->sign_canonicalization;

	c->header_canon = canon >= REINJECT_CANON_RELAXED_SIMPLE ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	c->body_canon = canon == REINJECT_CANON_SIMPLE_RELAXED ||
	    canon == REINJECT_CANON_RELAXED_RELAXED ? DKIM_CANON_RELAXED :
	    DKIM_CANON_SIMPLE;
	/* config lists are NULL-terminated, as the signer wants */
	if (rc->sign_headers.count)
		c->headers = (const char *const *)rc->sign_headers.items;
	if (rc->oversign_headers.count) {
		c->oversign = (const char *const *)rc->oversign_headers.items;
		c->oversign_mode = DKIM_OVERSIGN_ALWAYS;
	}
	c->expire_after = rc->signature_ttl;
	if (rc->omit_headers.count == 0)
		return;
	c->headers = owned[0] = reinject_sign_omit(rc, c->headers ? c->headers :
	    dkim_default_sign_headers);
	c->oversign = owned[1] = reinject_sign_omit(rc, c->oversign ? c->oversign :
	    dkim_default_oversign_headers);
}

/* reinject_sign_add - one signer, fed the stored fields */
static void
reinject_sign_add(struct reinject_sign *rs, struct reinject_msg *m,
    const struct dkim_signer *sg)
{
	struct dkim_sign_config c;
	const char *err = NULL;
	const char **owned[2] = { NULL, NULL };
	struct dkim_sign *s;

	dkim_sign_config_default(&c);
	c.key = sg->key;
	c.alg = sg->alg;
	c.domain = sg->domain;
	c.selector = sg->selector;
	c.identity = sg->identity[0] ? sg->identity : NULL;
	reinject_sign_options(&c, m->ctx->conf, owned);
	s = dkim_sign_new(&c, &err);
	free(owned[0]);
	free(owned[1]);
	if (!s) {
		log_warn("sign d=%s s=%s: %s", sg->domain, sg->selector, err);
		return;
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span f = reinject_msg_field(m, i);

		dkim_sign_header(s, f.p, f.len);
	}
	dkim_sign_eoh(s);
	snprintf(rs->label[rs->n], sizeof(rs->label[0]), "d=%s s=%s a=%s",
	    sg->domain, sg->selector, dkim_alg_str(sg->alg));
	rs->metric[rs->n] = reinject_metrics_key(sg->domain, sg->selector);
	rs->s[rs->n++] = s;
}

/* reinject_sign_eoh - look the signers up */
static void
reinject_sign_eoh(void *st, struct reinject_msg *m)
{
	struct reinject_sign *rs = st;
	struct dkim_signers sgs;
	char err[DKIM_TABLE_ERR_MAX];
	char from[MAILADDR_LOCAL_SIZE + 1 + MAILADDR_DOMAIN_SIZE];

	if (dkim_table_lookup(m->ctx->sign_table, reinject_sign_from(m, from, sizeof(from)),
	    &sgs, err, sizeof(err)) < 0) {
		/* a configured key that cannot be used: defer, never send unsigned */
		log_warn("signing table: %s", err);
		reinject_onaction_run(m, REINJECT_ONCOND_SIGNING_ERROR);
		return;
	}
	for (size_t i = 0; i < sgs.n; i++)
		reinject_sign_add(rs, m, &sgs.v[i]);
}

/* reinject_sign_body - body bytes into every signer */
static void
reinject_sign_body(void *st, struct reinject_msg *m, const char *p, size_t len)
{
	struct reinject_sign *rs = st;

	(void)m;
	for (size_t i = 0; i < rs->n; i++)
		dkim_sign_body(rs->s[i], p, len);
}

/* reinject_sign_finish - make and prepend the signatures */
static void
reinject_sign_finish(void *st, struct reinject_msg *m)
{
	struct reinject_sign *rs = st;

	for (size_t i = 0; i < rs->n && !m->raw; i++) {
		const char *err = NULL;
		char *f = dkim_sign_finish(rs->s[i], &err);

		if (!f) {
			log_warn("sign %s: %s", rs->label[i], err ? err : "failed");
			reinject_onaction_run(m, REINJECT_ONCOND_SIGNING_ERROR);
			continue;
		}
		reinject_msg_prepend(m, f, strlen(f));
		buf_printf(&m->signed_by, "%s%s", m->signed_by.len ? ", " : "",
		    rs->label[i]);
		reinject_metrics_signed(rs->metric[i]);
		free(f);
	}
	reinject_pipeline_next(m);
}

/* reinject_sign_free - destroy the signers */
static void
reinject_sign_free(void *st)
{
	struct reinject_sign *rs = st;

	for (size_t i = 0; i < rs->n; i++)
		dkim_sign_free(rs->s[i]);
	free(rs);
}

const struct reinject_stage reinject_stage_sign = {
	"sign", reinject_sign_begin, NULL, reinject_sign_eoh, reinject_sign_body,
	reinject_sign_finish, NULL, reinject_sign_free,
};
