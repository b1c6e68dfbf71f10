/*
 * spf_ptr.c - validated domain names of the client (RFC 7208 §5.5, §7.3 %{p}).
 *
 * PTR lookup of the client address, then an A/AAAA lookup of each name (at most
 * 10, the rest ignored: §4.6.4); a name is validated when one of its addresses is
 * the client.  Computed once per evaluation and shared by "ptr" and %{p}.  A DNS
 * error on the PTR lookup means no validated names; an error on a name's address
 * lookup skips that name (§5.5).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf_int.h"
#include "util.h"

static void ptr_next(struct spf_eval *e);

/* ptr_done - validation complete: continue where we were */
static void
ptr_done(struct spf_eval *e)
{
	spf_eval_names_clear(e);
	e->ptr_state = SPF_PTR_DONE;
	e->step = e->after_ptr;
}

/* ptr_addr_answer - is the client one of this name's addresses? */
static void
ptr_addr_answer(struct spf_eval *e, const struct dns_answer *a)
{
	const char *name = e->names[e->iname - 1];

	if (spf_eval_answer_has_client(e, a, 32, 128)) {
		e->valid = xrealloc(e->valid, (e->nvalid + 1) * sizeof(*e->valid));
		e->valid[e->nvalid++] = xstrdup(name);
	}
	e->step = ptr_next;
}

/* ptr_next - look up the next PTR name's addresses */
static void
ptr_next(struct spf_eval *e)
{
	const char *name;

	if (e->iname >= e->nnames) {
		ptr_done(e);
		return;
	}
	name = e->names[e->iname++];
	if (!spf_domain_is_queryable(name, strlen(name))) {
		e->step = ptr_next;
		return;
	}
	spf_eval_query(e, name, spf_eval_addr_type(e), ptr_addr_answer);
}

/* ptr_answer - the PTR names of the client */
static void
ptr_answer(struct spf_eval *e, const struct dns_answer *a)
{
	/* §4.6.4: a PTR answer with no names counts as the ptr term's void lookup */
	e->ptr_void = a->rcode == DNS_RCODE_NXDOMAIN ||
	    (a->rcode == DNS_RCODE_NOERROR && a->count == 0);
	if (a->rcode != DNS_RCODE_NOERROR) {
		ptr_done(e);
		return;
	}
	spf_eval_names_set(e, a, e->lim.mxptr_name_limit);
	e->step = ptr_next;
}

/* ptr_query - the PTR lookup */
static void
ptr_query(struct spf_eval *e)
{
	struct buf name;

	buf_init(&name, 128);
	spf_addr_reverse_name(&e->client, &name);
	spf_eval_query(e, buf_cstr(&name), DNS_TYPE_PTR, ptr_answer);
	buf_clear(&name);
}

/* spf_ptr_start - compute validated names, then continue with resume */
void
spf_ptr_start(struct spf_eval *e, spf_step_fn resume)
{
	e->after_ptr = resume;
	e->step = ptr_query;
}

/* spf_ptr_need - true when spec needs %{p} not yet computed: validation starts */
bool
spf_ptr_need(struct spf_eval *e, const char *spec, spf_step_fn resume)
{
	if (spec == NULL || e->ptr_state == SPF_PTR_DONE ||
	    !spf_macro_uses_p(spec, strlen(spec)))
		return false;
	spf_ptr_start(e, resume);
	return true;
}

/* spf_ptr_pick - %{p} for domain: exact, then subdomain, then any (§7.3) */
const char *
spf_ptr_pick(const struct spf_eval *e, const char *domain)
{
	for (size_t i = 0; i < e->nvalid; i++)
		if (strcasecmp(e->valid[i], domain) == 0)
			return e->valid[i];
	for (size_t i = 0; i < e->nvalid; i++)
		if (domain_is_under(e->valid[i], strlen(e->valid[i]), domain))
			return e->valid[i];
	return e->nvalid > 0 ? e->valid[0] : NULL;
}
