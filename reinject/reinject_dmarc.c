/*
 * reinject_dmarc.c - pipeline stage: DMARC (RFC 9989) for verified mail, between
 * the DKIM verify stage and the Authentication-Results stage.
 *
 * At the end of the message: any X-Mailauth-DMARC field from outside is removed;
 * the SPF result is taken from a header field only under the rule of
 * dmarc_spfhdr_find_trusted() (added by our MTA in this hop, about this
 * envelope; A-R fields with our authserv-id or one of trusted_authserv_ids),
 * otherwise (or with dmarc_spf_self) SPF is evaluated here with common/spf from
 * XFORWARD ADDR and HELO and the envelope sender; then common/dmarc evaluates
 * every From domain.  The disposition maps to the configured action:
 *   accept    the A-R clause only
 *   tag       Subject prefix and a spam-flag field (the seeds' procmail rule)
 *   hold      X-Mailauth-DMARC: hold, which etc/postfix/header_checks.dmarc
 *             turns into HOLD on the reinjection smtpd (release: postsuper -H)
 *   redirect  X-Mailauth-DMARC: redirect, turned into REDIRECT there
 *   discard   250 upstream, nothing relayed, logged
 *   reject    550 5.7.1 (in after-queue mode Postfix then bounces to a sender
 *             that may be forged: not a default; in before-queue proxy mode the
 *             client gets the 550 and nothing is queued)
 *   reject_or_hold  reject on a proxy listener and in milter mode, hold after
 *             the queue (OpenDMARC's RejectFailures, mode-aware)
 * Before that, dmarc_ignore_from_domains skips the evaluation, and
 * dmarc_required_headers refuses (or holds) a header section that breaks
 * RFC 5322 §3.6 (reinject_dmarc_hdrs.c), as OpenDMARC's RequiredHeaders.
 * One log line per message: "queueid: dmarc from-domain result (details)".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "dmarc.h"
#include "log.h"
#include "reinject.h"
#include "reinject_dmarc.h"
#include "spf.h"

/* Our bound on header fields handed to the SPF-header rule and From fields kept. */
#define REINJECT_DMARC_FROM_FIELD_LIMIT	8

const struct config_enum reinject_dmarc_action_names[] = {
	{ "accept", REINJECT_DMARC_ACCEPT }, { "tag", REINJECT_DMARC_TAG },
	{ "hold", REINJECT_DMARC_HOLD }, { "redirect", REINJECT_DMARC_REDIRECT },
	{ "discard", REINJECT_DMARC_DISCARD }, { "reject", REINJECT_DMARC_REJECT },
	{ "reject_or_hold", REINJECT_DMARC_REJECT_OR_HOLD }, { NULL, 0 },
};
const struct config_enum reinject_dmarc_temperror_names[] = {
	{ "accept", REINJECT_DMARC_ACCEPT }, { "tempfail", REINJECT_DMARC_TEMPFAIL },
	{ NULL, 0 },
};
const struct config_enum reinject_dmarc_disposition_names[] = {
	{ "none", DMARC_DIS_NONE }, { "quarantine", DMARC_DIS_QUARANTINE },
	{ "reject", DMARC_DIS_REJECT }, { NULL, 0 },
};

struct dmarc_state {
	struct reinject_msg *m;
	struct spf_eval *spf;
	struct dmarc_eval *eval;
	struct sockaddr_storage client;
	char client_ip[INET6_ADDRSTRLEN];
	struct span from[REINJECT_DMARC_FROM_FIELD_LIMIT];
	size_t nfrom;
	struct dmarc_dkim_input dkim[REINJECT_DKIM_RESULT_LIMIT];
	char *trusted_nets[33], *trusted_doms[33];
	struct dmarc_settings set;
	struct dmarc_input in;
	char spf_domain[DMARC_DOMAIN_SIZE];
	bool spf_known;		/* in.spf holds a result: evaluated here or trusted */
	bool in_call;		/* inside a *_start(): its callback may run first */
	bool spf_done;
	bool done;
	bool evaluated;
	struct dmarc_verdict v;
};

/* reinject_dmarc_action_for - the action for a result and disposition */
enum reinject_dmarc_action
reinject_dmarc_action_for(const struct reinject_dmarc_conf *c, int result,
    int disposition)
{
	if (result == DMARC_RESULT_TEMPERROR)
		return (enum reinject_dmarc_action)c->temperror_action;
	if (disposition == DMARC_DIS_REJECT)
		return (enum reinject_dmarc_action)c->reject_action;
	if (disposition == DMARC_DIS_QUARANTINE)
		return (enum reinject_dmarc_action)c->quarantine_action;
	return REINJECT_DMARC_ACCEPT;
}

/* dmarc_begin - verified mail only (not the sign listener, not internal hosts) */
static void
dmarc_begin(struct reinject_msg *m, void **st)
{
	struct dmarc_state *s;

	if (m->sign || !m->ctx->dns || !m->conf->dmarc.enable)
		return;
	/* not calloc: the verdict is large and only its used part is written */
	s = xmalloc(sizeof(*s));
	memset(s, 0, offsetof(struct dmarc_state, v));
	dmarc_verdict_init(&s->v);
	s->m = m;
	*st = s;
}

/* dmarc_strip_ours - remove X-Mailauth-DMARC fields that came from outside */
static void
dmarc_strip_ours(struct reinject_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++)
		if (reinject_msg_field_is(m, i, REINJECT_DMARC_FIELD))
			m->hdrs[i].removed = true;
}

/* dmarc_client - XFORWARD ADDR as a sockaddr */
static void
dmarc_client(struct dmarc_state *s)
{
	const char *a = s->m->xf ? smtp_xforward_addr(s->m->xf) : NULL;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&s->client;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s->client;

	if (a == NULL)
		return;
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return;
	snprintf(s->client_ip, sizeof(s->client_ip), "%s", a);
}

/* dmarc_xf - an XFORWARD attribute or NULL */
static const char *
dmarc_xf(const struct reinject_msg *m, enum smtp_xfwd_attr a)
{
	return m->xf ? m->xf->value[a] : NULL;
}

/* dmarc_settings - library settings from ours */
static void
dmarc_settings(struct dmarc_state *s, const struct reinject_dmarc_conf *c)
{
	size_t nn = 0, nd = 0;
	unsigned char tmp[16];

	dmarc_settings_default(&s->set);
	s->set.from_error_disposition = (enum dmarc_disposition)c->from_error_disposition;
	s->set.legacy_pct = c->legacy_pct;
	for (size_t i = 0; i < c->trusted_forwarders.count && nn < 32 && nd < 32; i++) {
		char *it = c->trusted_forwarders.items[i];
		char addr[INET6_ADDRSTRLEN + 1];
		size_t l = strcspn(it, "/");

		snprintf(addr, sizeof(addr), "%.*s", (int)(l < sizeof(addr) ? l : 0), it);
		if (inet_pton(AF_INET, addr, tmp) == 1 || inet_pton(AF_INET6, addr, tmp) == 1)
			s->trusted_nets[nn++] = it;
		else
			s->trusted_doms[nd++] = it;
	}
	s->set.trusted_networks = (const char *const *)s->trusted_nets;
	s->set.trusted_domains = (const char *const *)s->trusted_doms;
}

/* dmarc_auth - common/dkim result to the DMARC view */
static enum dmarc_auth
dmarc_auth(enum dkim_result r)
{
	switch (r) {
	case DKIM_RESULT_PASS: return DMARC_AUTH_PASS;
	case DKIM_RESULT_FAIL: return DMARC_AUTH_FAIL;
	case DKIM_RESULT_NEUTRAL: return DMARC_AUTH_NEUTRAL;
	case DKIM_RESULT_TEMPERROR: return DMARC_AUTH_TEMPERROR;
	case DKIM_RESULT_PERMERROR: return DMARC_AUTH_PERMERROR;
	case DKIM_RESULT_POLICY: return DMARC_AUTH_POLICY;
	default: return DMARC_AUTH_NONE;
	}
}

/* dmarc_add_from - one From field body; past our bound the From is an error */
static void
dmarc_add_from(struct dmarc_state *s, struct span v)
{
	if (s->nfrom < REINJECT_DMARC_FROM_FIELD_LIMIT)
		s->from[s->nfrom++] = v;
	else
		s->in.from_error = "more From fields than evaluated";
}

/*
 * dmarc_from - every From field: the parsed ones and, when the header section
 * was refused, those the scan of its unparsed part found (after a bad line, an
 * over-long field or the field count limit); a scan that could not be
 * completed is a From error, never a message without From
 */
static void
dmarc_from(struct dmarc_state *s)
{
	struct reinject_msg *m = s->m;

	for (size_t i = 0; i < m->nhdrs; i++)
		if (!m->hdrs[i].removed && reinject_msg_field_is(m, i, "From"))
			dmarc_add_from(s, reinject_msg_field_value(m, i));
	if (!m->raw)
		return;
	for (size_t i = 0; i < m->from_scan.count; i++)
		dmarc_add_from(s, msg_scan_value(&m->from_scan, i));
	if (m->from_scan.overflow)
		s->in.from_error = "From not found for sure in an unparsed header section";
}

/* dmarc_input - From fields, envelope and DKIM results */
static void
dmarc_input(struct dmarc_state *s)
{
	struct reinject_msg *m = s->m;

	dmarc_from(s);
	for (size_t i = 0; i < m->ndkim; i++) {
		s->dkim[i].result = dmarc_auth(m->dkim[i].result);
		s->dkim[i].domain = m->dkim[i].domain;
		s->dkim[i].selector = m->dkim[i].selector;
	}
	s->in.from_fields = s->from;
	s->in.nfrom_fields = s->nfrom;
	s->in.mail_from = m->sender ? m->sender : "";
	s->in.helo = dmarc_xf(m, SMTP_XFWD_HELO);
	s->in.client = s->client;
	s->in.client_name = dmarc_xf(m, SMTP_XFWD_NAME);
	s->in.dkim = s->dkim;
	s->in.ndkim = m->ndkim;
	s->in.spf_domain = s->spf_domain;
}

/* dmarc_tag - Subject prefix and spam flag */
static void
dmarc_tag(struct reinject_msg *m, const struct reinject_dmarc_conf *c)
{
	struct buf b;
	size_t i;

	buf_init(&b, 64 * 1024);
	for (i = 0; i < m->nhdrs; i++)
		if (!m->hdrs[i].removed && reinject_msg_field_is(m, i, "Subject"))
			break;
	if (i < m->nhdrs) {
		struct span v = reinject_msg_field_value(m, i);

		while (v.len && (v.p[0] == ' ' || v.p[0] == '\t'))
			v.p++, v.len--;
		buf_printf(&b, "Subject: %s %.*s", c->tag_subject_prefix, (int)v.len, v.p);
	} else {
		buf_printf(&b, "Subject: %s\r\n", c->tag_subject_prefix);
	}
	/* the old Subject goes only when the tagged one replaces it */
	if (!b.overflow) {
		reinject_msg_prepend(m, b.data, b.len);
		if (i < m->nhdrs)
			m->hdrs[i].removed = true;
	}
	if (c->tag_header[0]) {
		buf_reset(&b);
		buf_printf(&b, "%s\r\n", c->tag_header);
		reinject_msg_prepend(m, b.data, b.len);
	}
	buf_clear(&b);
}

/* dmarc_mark - X-Mailauth-DMARC: <action> (...) for header_checks */
static void
dmarc_mark(struct reinject_msg *m, const char *what, const struct dmarc_verdict *v)
{
	char f[512];
	int n = snprintf(f, sizeof(f), "%s: %s (dmarc=%s p=%s header.from=%s)\r\n",
	    REINJECT_DMARC_FIELD, what, dmarc_result_str(v->result),
	    v->policy ? dmarc_policy_str(v->policy) : "-",
	    v->header_from[0] ? v->header_from : "-");

	if (n > 0 && (size_t)n < sizeof(f))
		reinject_msg_prepend(m, f, (size_t)n);
}

/* dmarc_apply_action - carry out the action for the verdict */
static const char *
dmarc_apply_action(struct dmarc_state *s, const struct reinject_dmarc_conf *c)
{
	struct reinject_msg *m = s->m;
	const struct dmarc_verdict *v = &s->v;
	char text[256];

	switch (reinject_dmarc_action_for(c, v->result, v->disposition)) {
	case REINJECT_DMARC_ACCEPT:
		return "accept";
	case REINJECT_DMARC_TAG:
		dmarc_tag(m, c);
		return "tag";
	case REINJECT_DMARC_HOLD:
		dmarc_mark(m, "hold", v);
		return "hold";
	case REINJECT_DMARC_REDIRECT:
		dmarc_mark(m, "redirect", v);
		return "redirect";
	case REINJECT_DMARC_DISCARD:
		m->action = REINJECT_ACTION_DISCARD;
		return "discard";
	case REINJECT_DMARC_REJECT_OR_HOLD:
		if (!reinject_onaction_before_queue(m)) {
			dmarc_mark(m, "hold", v);
			return "hold";
		}
		/* FALLTHROUGH */
	case REINJECT_DMARC_REJECT:
		snprintf(text, sizeof(text), "%.120s %.120s", c->reject_text,
		    v->header_from[0] ? v->header_from : "this message");
		reinject_msg_reject(m, 550, "5.7.1", text);
		return "reject";
	case REINJECT_DMARC_TEMPFAIL:
		m->code = 451;
		snprintf(m->enh, sizeof(m->enh), "4.7.1");
		m->tempfail = "DMARC evaluation failed temporarily";
		return "tempfail";
	}
	return "accept";
}

/* dmarc_apply - act on the verdict; keep it and the action for the message's log line */
static const char *
dmarc_apply(struct dmarc_state *s, const struct reinject_dmarc_conf *c)
{
	const struct dmarc_verdict *v = &s->v;
	struct reinject_msg *m = s->m;

	m->dmarc_act = dmarc_apply_action(s, c);
	reinject_metrics_dmarc(v->result, v->disposition);
	snprintf(m->dmarc_log, sizeof(m->dmarc_log), "%s p=%s disposition=%s "
	    "header.from=%s dmarc_action=%s", dmarc_result_str(v->result),
	    v->policy ? dmarc_policy_str(v->policy) : "-",
	    dmarc_disposition_str(v->disposition),
	    v->header_from[0] ? v->header_from : "-", m->dmarc_act);
	return m->dmarc_act;
}

/* dmarc_done - the verdict: act, log, next stage */
static void
dmarc_done(void *arg, const struct dmarc_verdict *v)
{
	struct dmarc_state *s = arg;
	struct buf line;
	const char *act;
	const char *qid = dmarc_xf(s->m, SMTP_XFWD_IDENT);

	s->eval = NULL;
	dmarc_verdict_copy(&s->v, v);
	reinject_arc_dmarc_override(s->m, &s->v);	/* arc_trusted_sealers */
	s->evaluated = true;
	reinject_report_record(s->m, &s->v, &s->in);	/* with the override */
	act = dmarc_apply(s, &s->m->conf->dmarc);
	reinject_failure_record(s->m, v, &s->in);
	buf_init(&line, 2048);
	dmarc_log_line(&line, &s->v);
	log_info("%s: dmarc %s action=%s%s", qid ? qid : "NOQUEUE", buf_cstr(&line), act,
	    s->m->raw ? " (header section not parsed)" : "");
	buf_clear(&line);
	s->done = true;
	if (!s->in_call)
		reinject_pipeline_next(s->m);
}

/* dmarc_evaluate - SPF known: run DMARC; the last thing its caller does */
static void
dmarc_evaluate(struct dmarc_state *s)
{
	struct dmarc_eval *e;

	s->in_call = true;
	e = dmarc_eval_start(s->m->ctx->dns, &s->set, &s->in, dmarc_done, s);
	s->in_call = false;
	if (s->done)
		reinject_pipeline_next(s->m);	/* answered at once: s may go now */
	else
		s->eval = e;
}

/* dmarc_spf_done - our own SPF evaluation ended */
static void
dmarc_spf_done(void *arg, const struct spf_verdict *v)
{
	struct dmarc_state *s = arg;

	s->spf = NULL;
	s->spf_known = true;
	s->in.spf = v->result;
	s->in.spf_identity = v->identity;
	snprintf(s->spf_domain, sizeof(s->spf_domain), "%s", v->domain ? v->domain : "");
	s->m->spf_records = *v->records;	/* for failure reports (SPF-DNS) */
	s->spf_done = true;
	if (!s->in_call)
		dmarc_evaluate(s);
}

/* dmarc_spf_known - SPF from elsewhere (the front-end, a trusted field): DMARC now */
static void
dmarc_spf_known(struct dmarc_state *s, enum spf_result result,
    enum spf_identity identity, const char *domain)
{
	s->spf_known = true;
	s->in.spf = result;
	s->in.spf_identity = identity;
	snprintf(s->spf_domain, sizeof(s->spf_domain), "%s", domain);
	dmarc_evaluate(s);
}

/* dmarc_spf - the front-end's result, a trusted header result, or our own */
static void
dmarc_spf(struct dmarc_state *s, const struct reinject_dmarc_conf *c)
{
	struct reinject_msg *m = s->m;
	struct dmarc_header *h = xcalloc(m->nhdrs + 1, sizeof(*h));
	struct dmarc_spfhdr sh;
	struct spf_limits lim;
	bool null_sender = s->in.mail_from[0] == '\0';

	if (m->spf_given.known) {
		/* the milter evaluated it from MAIL FROM: never twice */
		dmarc_spf_known(s, m->spf_given.result, m->spf_given.identity,
		    m->spf_given.domain);
		return;
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span f = reinject_msg_field(m, i);

		h[i].name = (struct span){ f.p, m->hdrs[i].name_len };
		h[i].value = reinject_msg_field_value(m, i);
	}
	dmarc_spfhdr_find_trusted(h, m->nhdrs, m->conf->authserv_id,
	    c->trusted_authserv_ids.items, c->trusted_authserv_ids.count,
	    s->in.mail_from, s->in.helo, s->client_ip[0] ? s->client_ip : NULL, &sh);
	free(h);
	/* a milter is not shown its MTA's Received field: nothing marks this
	 * hop's fields, so a header result could be the sender's own */
	if (sh.found && !c->spf_self && m->mode != REINJECT_MODE_MILTER) {
		dmarc_spf_known(s, sh.result, sh.identity, sh.domain);
		return;
	}
	if (s->client.ss_family == 0) {
		s->in.spf = SPF_RESULT_NONE;	/* no client address: SPF cannot run */
		dmarc_evaluate(s);
		return;
	}
	struct spf_request req = { .client = s->client, .helo = s->in.helo,
	    .mail_from = s->in.mail_from,
	    .identity = null_sender ? SPF_IDENTITY_HELO : SPF_IDENTITY_MAILFROM,
	    .receiver = m->conf->myhostname };
	struct spf_eval *e;

	spf_limits_default(&lim);
	s->in_call = true;
	e = spf_eval_start(m->ctx->dns, m->ctx->base, &lim, &req, dmarc_spf_done, s);
	s->in_call = false;
	if (s->spf_done)
		dmarc_evaluate(s);
	else
		s->spf = e;
}

/* dmarc_required_fail - RequiredHeaders: refused before the queue, else held */
static void
dmarc_required_fail(struct reinject_msg *m, const char *why)
{
	static const char field[] = REINJECT_DMARC_FIELD ": hold (RFC 5322 "
	    "section 3.6)\r\n";
	char text[160];

	m->dmarc_act = "hold";
	if (!reinject_onaction_before_queue(m)) {
		reinject_msg_prepend(m, field, sizeof(field) - 1);
		return;
	}
	m->dmarc_act = "reject";
	snprintf(text, sizeof(text), "RFC 5322 section 3.6: %s", why);
	reinject_msg_reject(m, 550, "5.6.0", text);
}

/* dmarc_skip - the checks before evaluation; true when the stage is done */
static bool
dmarc_skip(struct reinject_msg *m, const struct reinject_dmarc_conf *c)
{
	const char *why;

	if (c->required_headers && (why = reinject_dmarc_required(m)) != NULL) {
		dmarc_required_fail(m, why);
		return true;
	}
	return c->ignore_from.count && reinject_dmarc_ignored(m, &c->ignore_from);
}

/* dmarc_finish - end of message */
static void
dmarc_finish(void *st, struct reinject_msg *m)
{
	struct dmarc_state *s = st;
	const struct reinject_dmarc_conf *c = &m->conf->dmarc;

	dmarc_strip_ours(m);
	if (dmarc_skip(m, c)) {
		reinject_pipeline_next(m);
		return;
	}
	dmarc_client(s);
	dmarc_settings(s, c);
	dmarc_input(s);
	dmarc_spf(s, c);
}

/* dmarc_timeout - no verdict in time: temperror, the message goes on */
static void
dmarc_timeout(void *st, struct reinject_msg *m)
{
	struct dmarc_state *s = st;

	spf_eval_cancel(s->spf);
	dmarc_eval_cancel(s->eval);
	s->spf = NULL;
	s->eval = NULL;
	dmarc_verdict_init(&s->v);
	s->v.evaluated = true;
	s->v.result = DMARC_RESULT_TEMPERROR;
	snprintf(s->v.reason, sizeof(s->v.reason), "no verdict within dkim_timeout");
	s->evaluated = true;
	/* a temperror like any other: dmarc_temperror_action applies */
	log_warn("%s: dmarc - temperror (timeout) action=%s",
	    dmarc_xf(m, SMTP_XFWD_IDENT) ? dmarc_xf(m, SMTP_XFWD_IDENT) : "NOQUEUE",
	    dmarc_apply(s, &m->conf->dmarc));
}

/* dmarc_free - cancel pending work */
static void
dmarc_free(void *st)
{
	struct dmarc_state *s = st;

	if (s->spf)
		spf_eval_cancel(s->spf);
	if (s->eval)
		dmarc_eval_cancel(s->eval);
	free(s);
}

/* dmarc_state_of - this stage's state for m, or NULL */
static const struct dmarc_state *
dmarc_state_of(const struct reinject_msg *m)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (reinject_stages[i] == &reinject_stage_dmarc)
			return m->stage_state[i];
	return NULL;
}

/*
 * reinject_dmarc_authres_spf - the spf= clause of the SPF result DMARC used
 * (evaluated here, or read from a trusted Received-SPF or A-R field) and the
 * result in m->spf; false when DMARC had none
 */
bool
reinject_dmarc_authres_spf(struct reinject_msg *m, struct authres_builder *b)
{
	const struct dmarc_state *s = dmarc_state_of(m);
	const char *props[3] = { "smtp.mailfrom", NULL, NULL };

	if (s == NULL || !s->evaluated || !s->v.evaluated || !s->spf_known)
		return false;
	props[1] = s->in.mail_from;
	if (s->in.spf_identity == SPF_IDENTITY_HELO) {
		props[0] = "smtp.helo";
		props[1] = s->in.helo ? s->in.helo : "";
	}
	authres_add(b, "spf", spf_result_str(s->in.spf), NULL, props[1][0] ? props : NULL);
	buf_reset(&m->spf);
	buf_append_str(&m->spf, spf_result_str(s->in.spf));
	return true;
}

/* reinject_dmarc_authres - the dmarc= clause, when DMARC evaluated the message */
void
reinject_dmarc_authres(const struct reinject_msg *m, struct authres_builder *b)
{
	const struct dmarc_state *s = dmarc_state_of(m);

	if (s != NULL && s->evaluated && s->v.evaluated)
		dmarc_authres_add(b, &s->v);
}

const struct reinject_stage reinject_stage_dmarc = {
	"dmarc", dmarc_begin, NULL, NULL, NULL, dmarc_finish, dmarc_timeout, dmarc_free,
};
