/*
 * spf_exp.c - the explanation of a fail result (RFC 7208 §6.2).
 *
 * exp= of the record that produced the fail (after redirect=, the target's) is
 * expanded, its TXT fetched and the one record expanded as explain-string with
 * %{c} %{r} %{t} allowed.  Any problem (DNS error, no or several records, syntax,
 * non-ASCII) just means no explanation; the result stays fail.  Without one the
 * caller's default explanation, if any, is expanded instead.
 */
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"
#include "util.h"

static void exp_default(struct spf_eval *e);

/* exp_expand_text - expand an explain-string into e->explanation; -1 if bad */
static int
exp_expand_text(struct spf_eval *e, const char *p, size_t len)
{
	struct spf_macro_ctx ctx;
	struct buf out;
	const char *err = NULL;

	spf_eval_macro_ctx(e, &ctx, e->frames[0].domain, true);
	buf_init(&out, SPF_EXP_TEXT_MAX);
	if (spf_macro_expand(p, len, &ctx, &out, &err) < 0) {
		buf_clear(&out);
		return -1;
	}
	free(e->explanation);
	e->explanation = buf_steal(&out);
	buf_clear(&out);
	return 0;
}

/* exp_text_ready - the explanation TXT text, once %{p} is known */
static void
exp_text_ready(struct spf_eval *e)
{
	const char *text = e->exp_text;

	if (spf_ptr_need(e, text, exp_text_ready))
		return;
	if (exp_expand_text(e, text, strlen(text)) < 0)
		e->step = exp_default;
	else
		e->finished = true;
}

/* exp_answer - exactly one TXT record is the explanation (§6.2) */
static void
exp_answer(struct spf_eval *e, const struct dns_answer *a)
{
	if (a->rcode != DNS_RCODE_NOERROR || a->count != 1 ||
	    memchr(a->rr[0].data, '\0', a->rr[0].len) != NULL) {
		e->step = exp_default;
		return;
	}
	free(e->exp_text);	/* keep the text past the callback */
	e->exp_text = xmemdup0(a->rr[0].data, a->rr[0].len);
	e->step = exp_text_ready;
}

/* exp_default - no usable exp=: the caller's default explanation, if any */
static void
exp_default(struct spf_eval *e)
{
	if (e->default_exp != NULL && e->explanation == NULL) {
		if (spf_ptr_need(e, e->default_exp, exp_default))
			return;
		exp_expand_text(e, e->default_exp, strlen(e->default_exp));
	}
	e->finished = true;
}

/* exp_lookup - expand exp= and fetch its TXT */
static void
exp_lookup(struct spf_eval *e)
{
	const char *spec = e->frames[0].rec->exp;
	struct buf name;

	if (spf_ptr_need(e, spec, exp_lookup))
		return;
	buf_init(&name, SPF_EXPAND_MAX);
	if (spf_eval_expand(e, spec, e->frames[0].domain, &name, NULL) < 0 ||
	    !spf_domain_is_queryable(name.data, name.len)) {
		/* an exp= that cannot be expanded does not change the fail */
		e->step = exp_default;
	} else {
		spf_eval_query(e, buf_cstr(&name), DNS_TYPE_TXT, exp_answer);
	}
	buf_clear(&name);
}

/* spf_exp_start - fetch and expand the explanation for a fail, then finish */
void
spf_exp_start(struct spf_eval *e)
{
	/* from here on: outside the lookup budget (its %{p} PTR lookups too),
	 * and no error changes the fail (spf_eval_error) */
	e->in_exp = true;
	if (e->frames[0].rec == NULL || e->frames[0].rec->exp == NULL) {
		exp_default(e);
		return;
	}
	exp_lookup(e);
}
