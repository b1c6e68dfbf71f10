/*
 * spf_mech.c - the SPF mechanisms (RFC 7208 §5.1 - §5.7), one handler each.
 *
 * A table maps each mechanism to its start handler; handlers that query DNS park
 * the evaluation with an answer handler.  DNS errors give temperror (§5), a name
 * error or an empty answer is a void lookup (§4.6.4), more than 10 MX names is a
 * permerror (§4.6.4).
 */
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"
#include "util.h"

static void mech_mx_next(struct spf_eval *e);

/* mech_all - §5.1: always matches */
static void
mech_all(struct spf_eval *e)
{
	spf_eval_matched(e);
}

/* mech_ip - §5.6: ip4 / ip6 match the client of that family */
static void
mech_ip(struct spf_eval *e)
{
	const struct spf_term *t = spf_eval_term(e);
	bool v4 = t->mech == SPF_MECH_IP4;

	if (spf_addr_match(&e->client, v4 ? AF_INET : AF_INET6, t->net,
	    v4 ? t->cidr4 : t->cidr6))
		spf_eval_matched(e);
	else
		spf_eval_continue(e);
}

/* mech_target - expand the term's target; false when parked or ended */
static bool
mech_target(struct spf_eval *e, spf_step_fn resume)
{
	const struct spf_term *t = spf_eval_term(e);

	if (spf_ptr_need(e, t->spec, resume))
		return false;
	return spf_eval_target(e, t->spec) == 0;
}

/* mech_target_queryable - a name DNS cannot carry is a void lookup, no match */
static bool
mech_target_queryable(struct spf_eval *e)
{
	if (spf_domain_is_queryable(e->target, strlen(e->target)))
		return true;
	if (spf_eval_void(e, NULL))
		spf_eval_continue(e);
	return false;
}

/* mech_addrs_match - any A/AAAA record of the answer holds the client (§5.3) */
static bool
mech_addrs_match(struct spf_eval *e, const struct dns_answer *a)
{
	const struct spf_term *t = spf_eval_term(e);

	return spf_eval_answer_has_client(e, a, t->cidr4, t->cidr6);
}

/* mech_a_answer - addresses of the a target */
static void
mech_a_answer(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_dns_error(e, a) || !spf_eval_void(e, a))
		return;
	if (mech_addrs_match(e, a))
		spf_eval_matched(e);
	else
		spf_eval_continue(e);
}

/* mech_a - §5.3 */
static void
mech_a(struct spf_eval *e)
{
	if (!mech_target(e, mech_a) || !mech_target_queryable(e))
		return;
	spf_eval_query(e, e->target, spf_eval_addr_type(e), mech_a_answer);
}

/* mech_mx_addr_answer - addresses of one MX exchange */
static void
mech_mx_addr_answer(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_dns_error(e, a))
		return;
	if (mech_addrs_match(e, a)) {
		spf_eval_names_clear(e);
		spf_eval_matched(e);
	} else
		e->step = mech_mx_next;
}

/* mech_mx_next - resolve the next MX exchange, or give up */
static void
mech_mx_next(struct spf_eval *e)
{
	const char *name;

	if (e->iname >= e->nnames) {
		spf_eval_names_clear(e);
		spf_eval_continue(e);
		return;
	}
	name = e->names[e->iname++];
	if (!spf_domain_is_queryable(name, strlen(name)))
		return;		/* "MX 0 ." (RFC 7505) and the like: nothing to look up */
	spf_eval_query(e, name, spf_eval_addr_type(e), mech_mx_addr_answer);
}

/* mech_mx_answer - the MX set of the target (§4.6.4: more than 10 is permerror) */
static void
mech_mx_answer(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_dns_error(e, a) || !spf_eval_void(e, a))
		return;
	if (a->count > e->lim.mxptr_name_limit) {
		spf_eval_error(e, SPF_RESULT_PERMERROR,
		    "%s has %zu MX records, more than %u (RFC 7208 4.6.4)",
		    e->target, a->count, e->lim.mxptr_name_limit);
		return;
	}
	spf_eval_names_set(e, a, a->count);
	e->step = mech_mx_next;
}

/* mech_mx - §5.4 */
static void
mech_mx(struct spf_eval *e)
{
	if (!mech_target(e, mech_mx) || !mech_target_queryable(e))
		return;
	spf_eval_query(e, e->target, DNS_TYPE_MX, mech_mx_answer);
}

/* mech_ptr_check - §5.5: a validated name equal to or below the target */
static void
mech_ptr_check(struct spf_eval *e)
{
	if (!mech_target(e, mech_ptr_check))
		return;
	if (e->ptr_void && !spf_eval_void(e, NULL))
		return;
	for (size_t i = 0; i < e->nvalid; i++)
		if (domain_is_under(e->valid[i], strlen(e->valid[i]), e->target)) {
			spf_eval_matched(e);
			return;
		}
	spf_eval_continue(e);
}

/* mech_ptr - §5.5 (validated names are computed once per evaluation) */
static void
mech_ptr(struct spf_eval *e)
{
	if (e->ptr_state != SPF_PTR_DONE)
		spf_ptr_start(e, mech_ptr_check);
	else
		mech_ptr_check(e);
}

/* mech_exists_answer - §5.7: any A record matches */
static void
mech_exists_answer(struct spf_eval *e, const struct dns_answer *a)
{
	if (spf_eval_dns_error(e, a) || !spf_eval_void(e, a))
		return;
	if (a->count > 0)
		spf_eval_matched(e);
	else
		spf_eval_continue(e);
}

/* mech_exists - §5.7: always an A query, whatever the client family */
static void
mech_exists(struct spf_eval *e)
{
	if (!mech_target(e, mech_exists) || !mech_target_queryable(e))
		return;
	spf_eval_query(e, e->target, DNS_TYPE_A, mech_exists_answer);
}

/* mech_include - §5.2: check_host() on the target in a new frame */
static void
mech_include(struct spf_eval *e)
{
	if (!mech_target(e, mech_include))
		return;
	spf_eval_push(e, e->target, true);
}

static const struct {
	enum spf_mech mech;
	bool dns;		/* §4.6.4: counts against the 10-term limit */
	spf_step_fn start;
} mech_table[] = {
	{ SPF_MECH_ALL, false, mech_all },
	{ SPF_MECH_INCLUDE, true, mech_include },
	{ SPF_MECH_A, true, mech_a },
	{ SPF_MECH_MX, true, mech_mx },
	{ SPF_MECH_PTR, true, mech_ptr },
	{ SPF_MECH_IP4, false, mech_ip },
	{ SPF_MECH_IP6, false, mech_ip },
	{ SPF_MECH_EXISTS, true, mech_exists },
};

/* spf_mech_uses_dns - the mechanism counts against the 10-term limit (§4.6.4) */
bool
spf_mech_uses_dns(enum spf_mech m)
{
	for (size_t i = 0; i < ARRAY_LEN(mech_table); i++)
		if (mech_table[i].mech == m)
			return mech_table[i].dns;
	return false;
}

/* spf_mech_start - run the current term's mechanism */
void
spf_mech_start(struct spf_eval *e)
{
	enum spf_mech m = spf_eval_term(e)->mech;

	for (size_t i = 0; i < ARRAY_LEN(mech_table); i++)
		if (mech_table[i].mech == m) {
			mech_table[i].start(e);
			return;
		}
}
