/*
 * reinject_iprev.c - pipeline stage: iprev of the client (RFC 8601 §3).
 *
 * The client is XFORWARD ADDR (Postfix's smtpd passes it, RFC 5321 §4.1.3
 * tags included).  The result, from a small per-worker cache or a fresh
 * common/iprev evaluation, becomes "iprev=RESULT policy.iprev=ADDR" in the
 * Authentication-Results field (RFC 8601 §2.7.3) and, when iprev_action
 * says so, a tag, a deferral or a rejection (RFC 7372 §3.3: 5.7.25).  A
 * temporary failure never rejects.  Mail to be signed is not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authres.h"
#include "iprev.h"
#include "log.h"
#include "reinject.h"
#include "util.h"

/* Bytes of a reason kept in the cache and the A-R comment. */
#define REINJECT_IPREV_REASON_SIZE	200
/* A PTR name: 253 octets and a NUL. */
#define REINJECT_IPREV_NAME_SIZE	254

const struct config_enum reinject_iprev_action_names[] = {
	{ "none", REINJECT_IPREV_NONE }, { "tag", REINJECT_IPREV_TAG },
	{ "defer", REINJECT_IPREV_DEFER }, { "reject", REINJECT_IPREV_REJECT },
	{ NULL, 0 },
};

struct reinject_iprev_result_copy {
	enum iprev_result result;
	char name[REINJECT_IPREV_NAME_SIZE];
	char reason[REINJECT_IPREV_REASON_SIZE];
};

struct reinject_iprev_cache_slot {
	struct iprev_addr addr;
	time_t expires;			/* 0: empty */
	struct reinject_iprev_result_copy r;
};

/* The worker's cache: direct-mapped on a hash of the address. */
static struct reinject_iprev_cache_slot *reinject_iprev_cache;
static size_t reinject_iprev_cache_size;

struct reinject_iprev_state {
	struct reinject_msg *m;
	struct iprev_addr addr;
	char addr_text[IPREV_ADDR_TEXT_SIZE];
	struct iprev_eval *eval;
	bool in_call;		/* inside iprev_eval_start: its callback may run first */
	bool done;
	struct reinject_iprev_result_copy r;
};

/* reinject_iprev_now - seconds on a clock that does not jump */
static time_t
reinject_iprev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* reinject_iprev_cache_slot_of - the slot for an address (FNV-1a over its bytes) */
static struct reinject_iprev_cache_slot *
reinject_iprev_cache_slot_of(const struct reinject_conf *c, const struct iprev_addr *a)
{
	uint32_t h = 2166136261u;

	if (c->iprev.cache_ttl == 0)
		return NULL;
	if (reinject_iprev_cache == NULL ||
	    reinject_iprev_cache_size != (size_t)c->iprev.cache_size_limit) {
		free(reinject_iprev_cache);
		reinject_iprev_cache_size = (size_t)c->iprev.cache_size_limit;
		reinject_iprev_cache = xcalloc(reinject_iprev_cache_size, sizeof(*reinject_iprev_cache));
	}
	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 16777619u;
	return &reinject_iprev_cache[(h ^ (uint32_t)a->family) % reinject_iprev_cache_size];
}

/* reinject_iprev_cache_get - a fresh cached result for the address, or false */
static bool
reinject_iprev_cache_get(const struct reinject_conf *c, const struct iprev_addr *a,
    struct reinject_iprev_result_copy *out)
{
	struct reinject_iprev_cache_slot *s = reinject_iprev_cache_slot_of(c, a);

	if (s == NULL || s->expires == 0 || s->expires <= reinject_iprev_now() ||
	    memcmp(&s->addr, a, sizeof(*a)) != 0)
		return false;
	*out = s->r;
	return true;
}

/* reinject_iprev_cache_put - keep a result (not a temporary failure) */
static void
reinject_iprev_cache_put(const struct reinject_conf *c, const struct iprev_addr *a,
    const struct reinject_iprev_result_copy *r)
{
	struct reinject_iprev_cache_slot *s;

	if (r->result == IPREV_RESULT_TEMPERROR ||
	    (s = reinject_iprev_cache_slot_of(c, a)) == NULL)
		return;
	s->addr = *a;
	s->r = *r;
	s->expires = reinject_iprev_now() + (time_t)c->iprev.cache_ttl;
}

/* reinject_iprev_begin - verified mail with a client address only */
static void
reinject_iprev_begin(struct reinject_msg *m, void **st)
{
	const char *a = m->xf ? m->xf->value[SMTP_XFWD_ADDR] : NULL;
	struct reinject_iprev_state *s;
	struct iprev_addr addr;

	if (m->sign || !m->ctx->dns || !m->conf->iprev.enable || a == NULL ||
	    iprev_addr_parse(a, strlen(a), &addr) < 0)
		return;
	s = xcalloc(1, sizeof(*s));
	s->m = m;
	s->addr = addr;
	iprev_addr_text(&addr, s->addr_text, sizeof(s->addr_text));
	*st = s;
}

/* reinject_iprev_strip_ours - remove X-Mailauth-Iprev fields that came from outside */
static void
reinject_iprev_strip_ours(struct reinject_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++)
		if (reinject_msg_field_is(m, i, REINJECT_IPREV_FIELD))
			m->hdrs[i].removed = true;
}

/* reinject_iprev_tag - the field of the tag action */
static void
reinject_iprev_tag(struct reinject_iprev_state *s)
{
	struct buf f;

	buf_init(&f, 512);
	buf_printf(&f, "%s: %s policy.iprev=%s (%s)\r\n", REINJECT_IPREV_FIELD,
	    iprev_result_str(s->r.result), s->addr_text, s->r.reason);
	reinject_msg_prepend(s->m, f.data, f.len);
	buf_clear(&f);
}

/* reinject_iprev_apply - the configured action for a client that did not pass */
static void
reinject_iprev_apply(struct reinject_iprev_state *s)
{
	struct reinject_msg *m = s->m;
	int action = m->conf->iprev.action;
	char text[256];

	if (s->r.result == IPREV_RESULT_PASS || action == REINJECT_IPREV_NONE)
		return;
	if (action == REINJECT_IPREV_TAG) {
		reinject_iprev_tag(s);
		return;
	}
	if (action == REINJECT_IPREV_DEFER || s->r.result == IPREV_RESULT_TEMPERROR) {
		m->code = s->r.result == IPREV_RESULT_TEMPERROR ? 451 : 450;
		snprintf(m->enh, sizeof(m->enh), "4.7.25");
		m->tempfail = s->r.result == IPREV_RESULT_TEMPERROR ?
		    "Reverse DNS of the client could not be checked" :
		    "Reverse DNS of the client is not forward-confirmed";
		return;
	}
	snprintf(text, sizeof(text), "Reverse DNS of %s is not forward-confirmed (%s)",
	    s->addr_text, iprev_result_str(s->r.result));
	reinject_msg_reject(m, 550, "5.7.25", text);
}

/* reinject_iprev_conclude - a result is known: act, log */
static void
reinject_iprev_conclude(struct reinject_iprev_state *s)
{
	const char *qid = s->m->xf ? s->m->xf->value[SMTP_XFWD_IDENT] : NULL;

	s->done = true;
	reinject_iprev_apply(s);
	log_info("%s: iprev=%s client=%s (%s)", qid ? qid : "NOQUEUE",
	    iprev_result_str(s->r.result), s->addr_text, s->r.reason);
}

/* reinject_iprev_done - common/iprev's verdict */
static void
reinject_iprev_done(void *arg, const struct iprev_verdict *v)
{
	struct reinject_iprev_state *s = arg;

	s->eval = NULL;
	s->r.result = v->result;
	snprintf(s->r.name, sizeof(s->r.name), "%s", v->name ? v->name : "");
	snprintf(s->r.reason, sizeof(s->r.reason), "%s", v->reason);
	reinject_iprev_cache_put(s->m->conf, &s->addr, &s->r);
	reinject_iprev_conclude(s);
	if (!s->in_call)
		reinject_pipeline_next(s->m);
}

/* reinject_iprev_finish - cached result, or an evaluation */
static void
reinject_iprev_finish(void *st, struct reinject_msg *m)
{
	struct reinject_iprev_state *s = st;

	reinject_iprev_strip_ours(m);
	if (reinject_iprev_cache_get(m->conf, &s->addr, &s->r)) {
		reinject_iprev_conclude(s);
		reinject_pipeline_next(m);
		return;
	}
	s->in_call = true;
	s->eval = iprev_eval_start(m->ctx->dns, &s->addr,
	    (unsigned)m->conf->iprev.name_limit, reinject_iprev_done, s);
	s->in_call = false;
	if (s->done)
		reinject_pipeline_next(m);	/* answered at once: s may go now */
}

/* reinject_iprev_timeout - no answer within dkim_timeout: temperror */
static void
reinject_iprev_timeout(void *st, struct reinject_msg *m)
{
	struct reinject_iprev_state *s = st;

	(void)m;
	iprev_eval_cancel(s->eval);
	s->eval = NULL;
	s->r.result = IPREV_RESULT_TEMPERROR;
	snprintf(s->r.reason, sizeof(s->r.reason), "no DNS answer in time");
	reinject_iprev_conclude(s);
}

/* reinject_iprev_free - cancel a pending evaluation */
static void
reinject_iprev_free(void *st)
{
	struct reinject_iprev_state *s = st;

	iprev_eval_cancel(s->eval);
	free(s);
}

/* reinject_iprev_state_of - this stage's state for m, or NULL */
static const struct reinject_iprev_state *
reinject_iprev_state_of(const struct reinject_msg *m)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (reinject_stages[i] == &reinject_stage_iprev)
			return m->stage_state[i];
	return NULL;
}

/* reinject_iprev_authres - "iprev=pass (name) policy.iprev=ADDR" (RFC 8601 §2.7.3) */
void
reinject_iprev_authres(const struct reinject_msg *m, struct authres_builder *b)
{
	const struct reinject_iprev_state *s = reinject_iprev_state_of(m);
	const char *props[3];

	if (s == NULL || !s->done)
		return;
	props[0] = "policy.iprev";
	props[1] = s->addr_text;
	props[2] = NULL;
	authres_add(b, "iprev", iprev_result_str(s->r.result),
	    s->r.result == IPREV_RESULT_PASS ? s->r.name : s->r.reason, props);
}

const struct reinject_stage reinject_stage_iprev = {
	"iprev", reinject_iprev_begin, NULL, NULL, NULL, reinject_iprev_finish,
	reinject_iprev_timeout, reinject_iprev_free,
};
