/*
 * reinject_arcseal.c - pipeline stage: seal relayed mail with an ARC set
 * (RFC 8617 §5.1) when arc_seal says so, after every other stage, so the
 * AMS covers the header as downstream sees it and the set goes on top.
 *
 * The key is the first rsa-sha256 key the SigningTable gives for
 * postmaster@arc_seal_domain (sign_domain when empty), the same tables and
 * key files as DKIM signing.  The chain status is the ARC stage's: a chain
 * that failed is sealed with cv=fail (§5.1.2); one that could not be
 * checked (DNS trouble) is not sealed.  The AAR carries our
 * Authentication-Results for the message: the one the A-R stage added, or
 * the one our own id wrote on the way in, with arc= first (§4.1.1).  The
 * body hash of the AMS is the one the ARC stage computed while validating
 * (arc_verify_keep_seal_hash): the body is hashed once for both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "dkim_table.h"
#include "log.h"
#include "reinject.h"

/* reinject_arcseal_signer - the sealing key from the SigningTable; NULL when none */
static struct arc_sign *
reinject_arcseal_signer(struct reinject_msg *m)
{
	const struct reinject_conf *c = m->conf;
	const char *domain = c->arc.seal_domain[0] ? c->arc.seal_domain : c->sign_domain;
	char addr[320], err[DKIM_TABLE_ERR_MAX];
	struct arc_sign_config sc;
	struct dkim_signers sgs;
	const char *why;

	/* sign_domain may list several: the first one seals */
	snprintf(addr, sizeof(addr), "postmaster@%.*s", (int)strcspn(domain, ", \t"),
	    domain);
	if (!domain[0] || dkim_table_lookup(m->ctx->sign_table, span_from_cstr(addr), &sgs,
	    err, sizeof(err)) < 0) {
		log_warn("arc seal: no usable key for \"%s\"", domain);
		return NULL;
	}
	for (size_t i = 0; i < sgs.n; i++) {
		if (sgs.v[i].alg != DKIM_ALG_RSA_SHA256)
			continue;
		arc_sign_config_default(&sc);
		sc.key = sgs.v[i].key;
		sc.domain = sgs.v[i].domain;
		sc.selector = sgs.v[i].selector;
		sc.headers = (const char *const *)c->arc.seal_headers.items;
		sc.body_hash_given = reinject_arc_verifier(m) != NULL;
		return arc_sign_new(&sc, &why);
	}
	log_warn("arc seal: no rsa-sha256 key for \"%s\" (RFC 8617 needs one)", domain);
	return NULL;
}

/* reinject_arcseal_begin - a sealer for the mail arc_seal names */
static void
reinject_arcseal_begin(struct reinject_msg *m, void **st)
{
	if (reinject_arc_seals(m) && m->conf->arc.enable && m->ctx->sign_table)
		*st = reinject_arcseal_signer(m);
}

/* reinject_arcseal_body - body bytes into the AMS body hash */
static void
reinject_arcseal_body(void *st, struct reinject_msg *m, const char *p, size_t len)
{
	(void)m;
	arc_sign_body(st, p, len);
}

/* reinject_arcseal_field_end - end of the field starting at p (after its CRLF) */
static const char *
reinject_arcseal_field_end(const char *p, const char *end)
{
	while (p + 1 < end) {
		if (p[0] == '\r' && p[1] == '\n' && (p + 2 == end || (p[2] != ' ' && p[2] != '\t')))
			return p + 2;
		p++;
	}
	return end;
}

/* reinject_arcseal_headers - the header as it leaves: added fields, then the kept ones */
static void
reinject_arcseal_headers(struct arc_sign *s, const struct reinject_msg *m)
{
	/* no field added yet: data is NULL, and NULL + 0 is undefined */
	const char *p = m->prepend.data, *end = p ? p + m->prepend.len : p;

	while (p && p < end) {
		const char *e = reinject_arcseal_field_end(p, end);

		arc_sign_header(s, p, (size_t)(e - p));
		p = e;
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span f = reinject_msg_field(m, i);

		if (!m->hdrs[i].removed)
			arc_sign_header(s, f.p, f.len);
	}
}

/* reinject_arcseal_ours - the results of our Authentication-Results in field f, if it is ours */
static bool
reinject_arcseal_ours(const struct reinject_msg *m, struct span f, struct buf *out)
{
	const char *colon = memchr(f.p, ':', f.len), *semi;
	size_t n;

	if (f.len < 23 || !ascii_mem_eq_ci(f.p, "Authentication-Results:", 23) || colon == NULL ||
	    !authres_claims_id(colon + 1, f.len - (size_t)(colon + 1 - f.p), m->conf->authserv_id))
		return false;
	semi = memchr(colon, ';', f.len - (size_t)(colon - f.p));
	n = semi ? f.len - (size_t)(semi + 1 - f.p) : 0;
	while (n && (semi[n] == '\r' || semi[n] == '\n' || semi[n] == ' ' || semi[n] == '\t'))
		n--;
	if (semi)
		buf_append(out, semi + 1, n);
	return true;
}

/* reinject_arcseal_clauses - the clauses of results after "; " each, without arc= and "none" */
static void
reinject_arcseal_clauses(const char *res, struct buf *out)
{
	const char *p = res;

	while (*p) {
		const char *e = strchr(p, ';');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		while (n && strchr(" \t\r\n", *p)) {
			p++;
			n--;
		}
		while (n && strchr(" \t\r\n", p[n - 1]))
			n--;
		if (n && !(n == 4 && strncmp(p, "none", 4) == 0) &&
		    !(n >= 4 && strncasecmp(p, "arc=", 4) == 0)) {
			buf_append_str(out, "; ");
			buf_append(out, p, n);
		}
		p = e ? e + 1 : p + strlen(p);
	}
}

/* reinject_arcseal_payload - "id; arc=cv; results" of our A-R for the AAR */
static void
reinject_arcseal_payload(const struct reinject_msg *m, struct buf *out)
{
	/* no field added yet: data is NULL, and NULL + 0 is undefined */
	const char *p = m->prepend.data, *end = p ? p + m->prepend.len : p;
	struct buf res;
	bool found = false;

	buf_init(&res, 65536);
	while (p && p < end && !found) {
		const char *e = reinject_arcseal_field_end(p, end);

		found = reinject_arcseal_ours(m, (struct span){ p, (size_t)(e - p) }, &res);
		p = e;
	}
	for (size_t i = 0; i < m->nhdrs && !found; i++)
		found = !m->hdrs[i].removed &&
		    reinject_arcseal_ours(m, reinject_msg_field(m, i), &res);
	/* the status the seal states comes first, in place of any arc= of ours */
	buf_printf(out, "%s; arc=%s", m->conf->authserv_id, arc_cv_str(m->arc.cv));
	reinject_arcseal_clauses(buf_cstr(&res), out);
	buf_clear(&res);
}

/* reinject_arcseal_body_hash - the ARC stage's body hash to the sealer, if it hashes none itself */
static void
reinject_arcseal_body_hash(struct arc_sign *s, const struct reinject_msg *m)
{
	const struct arc_verify *v = reinject_arc_verifier(m);
	unsigned char d[EVP_MAX_MD_SIZE];
	int n;

	if (v && (n = arc_verify_seal_hash(v, d, sizeof(d))) > 0)
		arc_sign_set_body_hash(s, d, (size_t)n);
}

/* reinject_arcseal_finish - seal and put the set on top */
static void
reinject_arcseal_finish(void *st, struct reinject_msg *m)
{
	struct buf payload;
	const char *err = NULL;
	char *set;

	if (m->raw || !m->arc.evaluated || m->arc.temporary) {
		log_info("arc seal: not sealed, chain status %s", !m->arc.evaluated ?
		    "unknown" : "unverifiable now");
		reinject_pipeline_next(m);
		return;
	}
	reinject_arcseal_headers(st, m);
	reinject_arcseal_body_hash(st, m);
	buf_init(&payload, 65536);
	reinject_arcseal_payload(m, &payload);
	if ((set = arc_sign_finish(st, m->arc.cv, buf_cstr(&payload), &err)) != NULL) {
		reinject_msg_prepend(m, set, strlen(set));
		m->arc.sealed = arc_sign_instance(st);
	} else
		log_info("arc seal: not sealed: %s", err);
	free(set);
	buf_clear(&payload);
	reinject_pipeline_next(m);
}

/* reinject_arcseal_free - destroy the sealer */
static void
reinject_arcseal_free(void *st)
{
	arc_sign_free(st);
}

const struct reinject_stage reinject_stage_arcseal = {
	"arcseal", reinject_arcseal_begin, NULL, NULL, reinject_arcseal_body,
	reinject_arcseal_finish, NULL, reinject_arcseal_free,
};
