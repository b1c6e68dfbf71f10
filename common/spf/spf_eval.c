/*
 * spf_eval.c - asynchronous check_host() driver (RFC 7208 §4, §4.6.4, §5.2, §6).
 *
 * The evaluation is a state machine: e->step names the next small handler, and a
 * lookup parks it until e->on_answer gets the answer.  One run loop advances the
 * steps; a DNS callback that fires before dns_query() returns (local data) only
 * records the answer's consequences and lets the loop continue, so a synchronous
 * resolver never recurses.  include: pushes a frame, redirect= replaces one.
 * A wall-time timer on the event base and a total lookup limit bound the work a
 * hostile record can cause.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "spf_int.h"
#include "util.h"

/* Longest reason string kept for a verdict. */
#define SPF_REASON_MAX	512
/* Longest piece of a bad record quoted in a reason. */
#define SPF_TERM_SHOWN_MAX	64

static void eval_fetch(struct spf_eval *e);
static void eval_next_term(struct spf_eval *e);
static bool eval_run(struct spf_eval *e);
static void eval_free(struct spf_eval *e);

/* spf_eval_frame - the innermost check_host() frame */
struct spf_frame *
spf_eval_frame(struct spf_eval *e)
{
	return &e->frames[e->depth - 1];
}

/* spf_eval_term - the term being evaluated in the innermost frame */
const struct spf_term *
spf_eval_term(struct spf_eval *e)
{
	struct spf_frame *f = spf_eval_frame(e);

	return &f->rec->terms[f->next - 1];
}

/* spf_eval_addr_type - A or AAAA, the client's family (§5.3) */
enum dns_type
spf_eval_addr_type(const struct spf_eval *e)
{
	return e->client.family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
}

/*
 * eval_reason_vset - the reason from fmt; text longer than SPF_REASON_MAX is
 * cut between characters and ends in "...", so a long name never leaves a
 * verdict without its reason
 */
static void
eval_reason_vset(struct spf_eval *e, const char *fmt, va_list ap)
{
	char text[SPF_REASON_MAX + 1];
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	size_t len = n < 0 ? 0 : strlen(text);

	if (n > SPF_REASON_MAX) {
		len = SPF_REASON_MAX - 3;
		/* not inside a UTF-8 sequence (names may be IDNs) */
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		memcpy(text + len, "...", 3);
		len += 3;
	}
	buf_reset(&e->reason);
	buf_append(&e->reason, text, len);
}

/* eval_reason_set - eval_reason_vset with arguments */
static void __attribute__((format(printf, 2, 3)))
eval_reason_set(struct spf_eval *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	eval_reason_vset(e, fmt, ap);
	va_end(ap);
}

/* spf_eval_error - end the evaluation with result and a reason */
void
spf_eval_error(struct spf_eval *e, enum spf_result result, const char *fmt, ...)
{
	va_list ap;

	if (e->in_exp) {
		/* §6.2: a problem fetching the explanation only means there is
		 * none; the fail stands (a lookup error, the wall-time limit) */
		e->finished = true;
		return;
	}
	e->result = result;
	e->matched = false;
	va_start(ap, fmt);
	eval_reason_vset(e, fmt, ap);
	va_end(ap);
	e->finished = true;
}

/* spf_eval_answer_has_client - an A/AAAA record of a holds the client within
 * the prefix of its family (§5.3, and §5.5 with 32/128) */
bool
spf_eval_answer_has_client(const struct spf_eval *e, const struct dns_answer *a,
    unsigned cidr4, unsigned cidr6)
{
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rr[i];
		int fam = rr->type == DNS_TYPE_A ? AF_INET : AF_INET6;

		if (rr->len == (fam == AF_INET ? 4u : 16u) &&
		    spf_addr_match(&e->client, fam, (const unsigned char *)rr->data,
		    fam == AF_INET ? cidr4 : cidr6))
			return true;
	}
	return false;
}

/* spf_eval_dns_error - temperror for a failed lookup (§5); true when a is an error */
bool
spf_eval_dns_error(struct spf_eval *e, const struct dns_answer *a)
{
	if (a->rcode == DNS_RCODE_NOERROR || a->rcode == DNS_RCODE_NXDOMAIN)
		return false;
	spf_eval_error(e, SPF_RESULT_TEMPERROR, "DNS %s looking up %s %s",
	    dns_rcode_str(a->rcode), dns_type_str(a->qtype), a->qname);
	return true;
}

/* spf_eval_void - count a void lookup (§4.6.4); false after permerror */
bool
spf_eval_void(struct spf_eval *e, const struct dns_answer *a)
{
	if (a != NULL && a->rcode == DNS_RCODE_NOERROR && a->count > 0)
		return true;
	if (++e->voids > e->lim.void_limit) {
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "more than %u void DNS lookups (RFC 7208 4.6.4)", e->lim.void_limit);
		return false;
	}
	return true;
}

/* eval_dns_cb - a lookup finished: hand the answer to the parked handler */
static void
eval_dns_cb(void *arg, const struct dns_answer *a)
{
	struct spf_eval *e = arg;

	e->q = NULL;
	e->waiting = false;
	if (e->trace != NULL)
		e->trace(e->trace_arg, a->qname, a->qtype, a->rcode, a->count);
	e->on_answer(e, a);
	if (!e->running)
		eval_run(e);
}

/* spf_eval_query - start a lookup; on_answer runs with the answer */
void
spf_eval_query(struct spf_eval *e, const char *name, enum dns_type type,
    spf_answer_fn on_answer)
{
	struct dns_query *q;

	if (e->lookups >= e->lim.total_lookup_limit && !e->in_exp) {
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "more than %u DNS lookups in one evaluation", e->lim.total_lookup_limit);
		return;
	}
	e->lookups++;
	e->on_answer = on_answer;
	e->waiting = true;
	q = dns_query(e->r, name, type, eval_dns_cb, e);
	if (e->waiting)
		e->q = q;
}

/* spf_eval_macro_ctx - macro context for domain */
void
spf_eval_macro_ctx(struct spf_eval *e, struct spf_macro_ctx *ctx, const char *domain,
    bool exp)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->sender = e->sender;
	ctx->local_part = e->local;
	ctx->sender_domain = e->sender_domain;
	ctx->domain = domain;
	ctx->client = &e->client_ss;
	ctx->helo = e->helo;
	ctx->validated_ptr = spf_ptr_pick(e, domain);
	ctx->receiver = e->receiver;
	ctx->now = e->now;
	ctx->exp = exp;
}

/* spf_eval_expand - expand a domain-spec for domain and truncate it (§7.3) */
int
spf_eval_expand(struct spf_eval *e, const char *spec, const char *domain,
    struct buf *out, const char **err)
{
	struct spf_macro_ctx ctx;
	const char *why = NULL;

	spf_eval_macro_ctx(e, &ctx, domain, false);
	if (spf_macro_expand(spec, strlen(spec), &ctx, out, &why) < 0) {
		if (err != NULL)
			*err = why;
		return -1;
	}
	spf_domain_truncate(out);
	return 0;
}

/* spf_eval_target - expand spec (NULL: the frame domain) into e->target (§4.8, §7) */
int
spf_eval_target(struct spf_eval *e, const char *spec)
{
	struct spf_frame *f = spf_eval_frame(e);
	struct buf out;
	const char *err = NULL;

	free(e->target);
	e->target = NULL;
	if (spec == NULL) {
		e->target = xstrdup(f->domain);
		return 0;
	}
	buf_init(&out, SPF_EXPAND_MAX);
	if (spf_eval_expand(e, spec, f->domain, &out, &err) < 0) {
		buf_clear(&out);
		spf_eval_error(e, SPF_RESULT_PERMERROR, "macro error in \"%s\": %s", spec, err);
		return -1;
	}
	e->target = buf_steal(&out);
	buf_clear(&out);
	return 0;
}

/* spf_eval_names_clear - drop the MX/PTR name list */
void
spf_eval_names_clear(struct spf_eval *e)
{
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	e->names = NULL;
	e->nnames = e->iname = 0;
}

/* spf_eval_names_set - keep the names of an MX or PTR answer (at most max) */
void
spf_eval_names_set(struct spf_eval *e, const struct dns_answer *a, size_t max)
{
	size_t n = a->count < max ? a->count : max;

	spf_eval_names_clear(e);
	e->names = xcalloc(n ? n : 1, sizeof(*e->names));
	for (size_t i = 0; i < n; i++)
		e->names[e->nnames++] = xmemdup0(a->rr[i].data, a->rr[i].len);
}

/* spf_eval_push - start check_host() for domain (include: or top level) */
void
spf_eval_push(struct spf_eval *e, const char *domain, bool include)
{
	struct spf_frame *f;

	if (e->depth == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		e->frames = xrealloc(e->frames, e->cap * sizeof(*e->frames));
	}
	f = &e->frames[e->depth++];
	memset(f, 0, sizeof(*f));
	f->domain = xstrdup(domain);
	f->include = include;
	e->step = eval_fetch;
}

/* eval_pop - leave an include: frame */
static void
eval_pop(struct spf_eval *e)
{
	struct spf_frame *f = spf_eval_frame(e);

	spf_record_free(f->rec);
	free(f->domain);
	e->depth--;
}

/* eval_frame_result - a check_host() frame produced a result (§5.2 for include:) */
static void
eval_frame_result(struct spf_eval *e, enum spf_result r, const char *mech)
{
	if (e->depth == 1) {
		e->result = r;
		e->matched = mech != NULL;
		free(e->mechanism);
		e->mechanism = mech ? xstrdup(mech) : NULL;
		if (r == SPF_RESULT_FAIL)
			e->step = spf_exp_start;
		else
			e->finished = true;
		return;
	}
	eval_pop(e);
	/* §5.2: an included pass matches; fail, softfail and neutral do not */
	if (r == SPF_RESULT_PASS)
		spf_eval_matched(e);
	else
		spf_eval_continue(e);
}

/* spf_eval_matched - the current term matched */
void
spf_eval_matched(struct spf_eval *e)
{
	const struct spf_term *t = spf_eval_term(e);

	eval_frame_result(e, t->qual, t->text);
}

/* spf_eval_continue - the current term did not match: go to the next one */
void
spf_eval_continue(struct spf_eval *e)
{
	e->step = eval_next_term;
}

/* eval_no_record - no SPF record at the frame's domain (§4.5, §5.2, §6.1) */
static void
eval_no_record(struct spf_eval *e, const char *why)
{
	struct spf_frame *f = spf_eval_frame(e);

	if (f->include)
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "included domain %s has no SPF record (%s)", f->domain, why);
	else if (f->redirect)
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "redirect domain %s has no SPF record (%s)", f->domain, why);
	else
		spf_eval_error(e, SPF_RESULT_NONE, "domain %s has no SPF record (%s)",
		    f->domain, why);
}

/* eval_syntax_error - permerror naming the offending term, made printable */
static void
eval_syntax_error(struct spf_eval *e, const char *err, struct span bad)
{
	char term[SPF_TERM_SHOWN_MAX + 1];
	size_t n = bad.len < SPF_TERM_SHOWN_MAX ? bad.len : SPF_TERM_SHOWN_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)bad.p[i];

		term[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	term[n] = '\0';
	spf_eval_error(e, SPF_RESULT_PERMERROR, "SPF record of %s: %s at \"%s%s\"",
	    spf_eval_frame(e)->domain, err, term, bad.len > n ? "..." : "");
}

/* eval_record_answer - select the one v=spf1 TXT record and parse it (§4.4, §4.5) */
static void
eval_record_answer(struct spf_eval *e, const struct dns_answer *a)
{
	struct spf_frame *f = spf_eval_frame(e);
	const struct dns_rr *found = NULL;
	const char *err = NULL;
	struct span bad;
	size_t n = 0;

	if (spf_eval_dns_error(e, a))
		return;
	for (size_t i = 0; i < a->count; i++)
		if (spf_record_is_spf1(a->rr[i].data, a->rr[i].len)) {
			found = &a->rr[i];
			n++;
			/* the identity's own records, for reports (SPF-DNS) */
			if (e->depth == 1 && !f->redirect)
				spf_records_add(&e->records, a->rr[i].data, a->rr[i].len);
		}
	if (a->rcode == DNS_RCODE_NXDOMAIN || n == 0) {
		eval_no_record(e, a->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "no v=spf1 TXT");
		return;
	}
	if (n > 1) {
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "%zu SPF records for %s (RFC 7208 4.5)", n, f->domain);
		return;
	}
	f->rec = spf_record_parse_where(found->data + 6, found->len - 6, &err, &bad);
	if (f->rec == NULL) {
		eval_syntax_error(e, err, bad);
		return;
	}
	e->step = eval_next_term;
}

/* eval_fetch - look up the TXT records of the frame's domain (§4.4) */
static void
eval_fetch(struct spf_eval *e)
{
	struct spf_frame *f = spf_eval_frame(e);

	if (!spf_domain_is_queryable(f->domain, strlen(f->domain))) {
		eval_no_record(e, "invalid domain name");
		return;
	}
	spf_eval_query(e, f->domain, DNS_TYPE_TXT, eval_record_answer);
}

/* eval_redirect - follow redirect= once the domain-spec can be expanded (§6.1) */
static void
eval_redirect(struct spf_eval *e)
{
	struct spf_frame *f = spf_eval_frame(e);

	if (spf_ptr_need(e, f->rec->redirect, eval_redirect))
		return;
	if (spf_eval_target(e, f->rec->redirect) < 0)
		return;
	spf_record_free(f->rec);
	f->rec = NULL;
	free(f->domain);
	f->domain = xstrdup(e->target);
	f->next = 0;
	f->redirect = true;
	e->step = eval_fetch;
}

/* eval_count_dns_term - §4.6.4: at most 10 terms that cause DNS queries */
static bool
eval_count_dns_term(struct spf_eval *e)
{
	if (++e->dns_terms > e->lim.dns_mech_limit) {
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "more than %u DNS-querying terms (RFC 7208 4.6.4)", e->lim.dns_mech_limit);
		return false;
	}
	return true;
}

/* eval_next_term - evaluate the next directive, or finish the record (§4.6.2, §6) */
static void
eval_next_term(struct spf_eval *e)
{
	struct spf_frame *f = spf_eval_frame(e);

	if (f->next < f->rec->nterms) {
		const struct spf_term *t = &f->rec->terms[f->next++];

		if (spf_mech_uses_dns(t->mech) && !eval_count_dns_term(e))
			return;
		spf_mech_start(e);
		return;
	}
	if (f->rec->redirect != NULL) {
		if (eval_count_dns_term(e))
			e->step = eval_redirect;
		return;
	}
	eval_frame_result(e, SPF_RESULT_NEUTRAL, NULL);	/* §4.7 default */
}

/* eval_timeout - our wall clock ran out: temperror, the query is abandoned */
static void
eval_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct spf_eval *e = arg;

	(void)fd;
	(void)what;
	if (e->q != NULL)
		dns_cancel(e->r, e->q);
	e->q = NULL;
	e->waiting = false;
	spf_eval_error(e, SPF_RESULT_TEMPERROR,
	    "evaluation exceeded the wall-time limit of %u ms", e->lim.eval_timeout_ms);
	eval_run(e);
}

/* eval_default_reason - the reason text of a result without one */
static void
eval_default_reason(struct spf_eval *e, const char *ip)
{
	switch (e->result) {
	case SPF_RESULT_PASS:
		eval_reason_set(e, "domain of %s designates %s as permitted sender",
		    e->sender, ip);
		break;
	case SPF_RESULT_FAIL:
		eval_reason_set(e, "domain of %s does not designate %s as permitted sender",
		    e->sender, ip);
		break;
	case SPF_RESULT_SOFTFAIL:
		eval_reason_set(e, "domain of transitioning %s does not designate %s "
		    "as permitted sender", e->sender, ip);
		break;
	default:
		eval_reason_set(e, "%s is neither permitted nor denied by domain of %s",
		    ip, e->sender);
		break;
	}
}

/* eval_deliver - hand the verdict to the caller */
static void
eval_deliver(struct spf_eval *e)
{
	struct spf_verdict v;
	struct buf ip;

	buf_init(&ip, 64);
	spf_addr_text(&e->client, &ip);
	if (e->reason.len == 0)
		eval_default_reason(e, buf_cstr(&ip));
	buf_clear(&ip);
	/* names in the reason come from peers and DNS: keep logs and headers clean */
	for (size_t i = 0; i < e->reason.len; i++)
		if ((unsigned char)e->reason.data[i] < 0x20 ||
		    (unsigned char)e->reason.data[i] >= 0x7f)
			e->reason.data[i] = '?';
	memset(&v, 0, sizeof(v));
	v.result = e->result;
	v.identity = e->identity;
	v.domain = e->domain;
	v.sender = e->sender;
	v.mechanism = e->matched ? e->mechanism : NULL;
	v.reason = buf_cstr(&e->reason);
	v.explanation = e->result == SPF_RESULT_FAIL ? e->explanation : NULL;
	v.lookups = e->lookups;
	v.void_lookups = e->voids;
	v.dns_terms = e->dns_terms;
	v.records = &e->records;
	e->cb(e->cbarg, &v);
}

/* eval_run - advance the state machine; true when the evaluation ended and was freed */
static bool
eval_run(struct spf_eval *e)
{
	if (e->running)
		return false;
	e->running = true;
	while (!e->waiting && !e->finished)
		e->step(e);
	e->running = false;
	if (!e->finished)
		return false;
	/* no timer may outlive the callback: the caller may free its base there */
	if (e->timer != NULL) {
		event_free(e->timer);
		e->timer = NULL;
	}
	e->delivering = true;
	eval_deliver(e);
	eval_free(e);
	return true;
}

/* eval_identity - the identity's sender, local part and domain (§2.3, §2.4, §4.3) */
static void
eval_identity(struct spf_eval *e, const struct spf_request *req)
{
	const char *mf = req->mail_from ? req->mail_from : "";
	const char *at = strrchr(mf, '@');
	size_t n;

	if (req->identity == SPF_IDENTITY_HELO || mf[0] == '\0') {
		e->local = xstrdup("postmaster");
		e->domain = xstrdup(e->helo);
	} else if (at == NULL) {
		e->local = xstrdup("postmaster");
		e->domain = xstrdup(mf);
	} else {
		e->local = at == mf ? xstrdup("postmaster") : xstrndup(mf, (size_t)(at - mf));
		e->domain = xstrdup(at + 1);
	}
	/* "example.com." is the same domain; macros expand it without the dot */
	n = strlen(e->domain);
	if (n > 1 && e->domain[n - 1] == '.' && e->domain[n - 2] != '.')
		e->domain[n - 1] = '\0';
	e->sender_domain = xstrdup(e->domain);
	n = strlen(e->local) + strlen(e->domain) + 2;
	e->sender = xmalloc(n);
	snprintf(e->sender, n, "%s@%s", e->local, e->domain);
}

/* eval_new - copy the request into a fresh evaluation */
static struct spf_eval *
eval_new(struct dns_resolver *r, const struct spf_limits *limits,
    const struct spf_request *req, spf_callback cb, void *arg)
{
	struct spf_eval *e = xcalloc(1, sizeof(*e));

	e->r = r;
	if (limits != NULL)
		e->lim = *limits;
	else
		spf_limits_default(&e->lim);
	e->cb = cb;
	e->cbarg = arg;
	e->trace = req->trace;
	e->trace_arg = req->trace_arg;
	e->identity = req->identity;
	e->client_ss = req->client;
	e->helo = xstrdup(req->helo ? req->helo : "");
	e->receiver = xstrdup(req->receiver ? req->receiver : "unknown");
	e->default_exp = req->default_explanation ? xstrdup(req->default_explanation) : NULL;
	e->now = (long long)time(NULL);
	buf_init(&e->reason, SPF_REASON_MAX);
	eval_identity(e, req);
	return e;
}

/* spf_eval_start - begin an evaluation */
struct spf_eval *
spf_eval_start(struct dns_resolver *r, struct event_base *base,
    const struct spf_limits *limits, const struct spf_request *req,
    spf_callback cb, void *arg)
{
	struct spf_eval *e = eval_new(r, limits, req, cb, arg);

	if (spf_addr_from_sockaddr(&req->client, &e->client) < 0)
		spf_eval_error(e, SPF_RESULT_PERMERROR, "client address is not IPv4 or IPv6");
	else if (!spf_domain_is_fqdn(e->domain, strlen(e->domain)))
		/* §4.3: a malformed or single-label domain gives none */
		spf_eval_error(e, SPF_RESULT_NONE, "\"%s\" is not a valid domain name",
		    e->domain);
	else
		spf_eval_push(e, e->domain, false);
	/* answers from a cache arrive inside eval_run: the evaluation may end
	 * there without ever waiting, and needs no timer then */
	if (eval_run(e))
		return NULL;
	if (base != NULL && e->lim.eval_timeout_ms > 0) {
		struct timeval tv = { e->lim.eval_timeout_ms / 1000,
			(e->lim.eval_timeout_ms % 1000) * 1000 };

		e->timer = evtimer_new(base, eval_timeout, e);
		evtimer_add(e->timer, &tv);
	}
	return e;
}

/* spf_eval_cancel - abandon an evaluation; the callback will not run */
void
spf_eval_cancel(struct spf_eval *e)
{
	/* from inside the callback the evaluation is about to be freed anyway */
	if (e == NULL || e->delivering)
		return;
	eval_free(e);
}

/* eval_free - cancel what is outstanding and release everything */
static void
eval_free(struct spf_eval *e)
{
	if (e->q != NULL)
		dns_cancel(e->r, e->q);
	if (e->timer != NULL)
		event_free(e->timer);
	while (e->depth > 0)
		eval_pop(e);
	free(e->frames);
	spf_eval_names_clear(e);
	for (size_t i = 0; i < e->nvalid; i++)
		free(e->valid[i]);
	free(e->valid);
	free(e->target);
	free(e->helo);
	free(e->sender);
	free(e->local);
	free(e->sender_domain);
	free(e->receiver);
	free(e->default_exp);
	free(e->domain);
	free(e->mechanism);
	free(e->explanation);
	free(e->exp_text);
	buf_clear(&e->reason);
	free(e);
}
