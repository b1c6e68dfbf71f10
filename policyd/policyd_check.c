/*
 * policyd_check.c - the checks of one client/HELO/sender: skips, then SPF.
 *
 * A pipeline of small steps, each either done at once or waiting for one DNS
 * query or one SPF evaluation (common/spf, RFC 7208):
 *   1. static skips: client in skip_addresses, SASL-authenticated client;
 *   2. whitelist_helo_names: the HELO name is listed and its A/AAAA records
 *      hold the client address (a forged HELO alone skips nothing);
 *   3. whitelist_ptr_domains: the client's validated reverse name is within a
 *      listed domain (policyd_ptrwl.c);
 *   4. whitelist_spf_domains: the client passes the SPF policy of a listed
 *      forwarder domain;
 *   5. HELO identity (RFC 7208 §2.3), unless helo_reject = no_check;
 *   6. MAIL FROM identity (RFC 7208 §2.4), unless mail_from_reject = no_check
 *      or the HELO result already rejects or defers (pypolicyd-spf's order).
 * A null sender is checked through HELO; when HELO is not checked, the MAIL
 * FROM check uses postmaster@<helo> as RFC 7208 §2.4 says.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* policyd_outcome_clear - free the texts of an outcome */
void
policyd_outcome_clear(struct policyd_outcome *o)
{
	struct policyd_identity_outcome *ids[] = { &o->helo, &o->mfrom };

	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		free(ids[i]->domain);
		free(ids[i]->reason);
		free(ids[i]->explanation);
		free(ids[i]->received_spf);
		free(ids[i]->authres);
		memset(ids[i], 0, sizeof(*ids[i]));
	}
	o->skip_reason = NULL;
}

enum policyd_step_status { STEP_NEXT, STEP_WAIT };

struct policyd_check {
	const struct policyd_env *env;
	struct policyd_config *c;
	char *client, *helo, *sender;
	char *sasl;
	int family;
	unsigned char addr[16];
	struct sockaddr_storage ss;
	struct policyd_outcome out;
	size_t step, wl_index;
	struct spf_eval *eval;
	struct dns_query *dq;
	struct policyd_ptrwl *ptrwl;
	bool helo_wl_done, ptr_wl_done;
	bool waiting;			/* a callback is due */
	bool in_start;			/* inside the call that may call back at once */
	policyd_check_cb cb;
	void *arg;
};

static bool policyd_check_advance(struct policyd_check *k);

/*
 * policyd_check_resume - a step's callback arrived.  The step runs again and
 * sees from the state that its work is done (steps are re-entrant), unless the
 * callback came from inside the step's own call, which then simply returns.
 */
static void
policyd_check_resume(struct policyd_check *k)
{
	k->waiting = false;
	if (!k->in_start)
		policyd_check_advance(k);
}

/* policyd_check_static - step 1: skips from the request alone (the client
 * address already parsed at the start, the SASL login) */
static enum policyd_step_status
policyd_check_static(struct policyd_check *k)
{
	if (policyd_cidr_list_match(&k->c->skip_addresses, k->family, k->addr))
		k->out.skip_reason = "client in skip_addresses";
	else if (k->c->skip_sasl_authenticated && k->sasl[0] != '\0')
		k->out.skip_reason = "SASL-authenticated client";
	return STEP_NEXT;
}

/* policyd_check_helo_addr_cb - A/AAAA answer for a whitelisted HELO name */
static void
policyd_check_helo_addr_cb(void *arg, const struct dns_answer *ans)
{
	struct policyd_check *k = arg;
	size_t alen = k->family == AF_INET ? 4 : 16;

	k->dq = NULL;
	for (size_t i = 0; ans->rcode == DNS_RCODE_NOERROR && i < ans->count; i++) {
		if (ans->rr[i].len == alen && memcmp(ans->rr[i].data, k->addr, alen) == 0)
			k->out.skip_reason = "whitelisted HELO name";
	}
	policyd_check_resume(k);
}

/* policyd_check_helo_whitelist - step 2 */
static enum policyd_step_status
policyd_check_helo_whitelist(struct policyd_check *k)
{
	if (k->helo_wl_done || k->out.skip_reason != NULL || k->helo[0] == '\0' ||
	    !config_list_has_ci(&k->c->whitelist_helo_names, k->helo, strlen(k->helo)))
		return STEP_NEXT;
	k->helo_wl_done = true;
	k->waiting = true;
	k->in_start = true;
	k->dq = dns_query(k->env->dns, k->helo, k->family == AF_INET ?
	    DNS_TYPE_A : DNS_TYPE_AAAA, policyd_check_helo_addr_cb, k);
	k->in_start = false;
	return k->waiting ? STEP_WAIT : STEP_NEXT;
}

/* policyd_check_ptrwl_cb - the reverse-name whitelist answered */
static void
policyd_check_ptrwl_cb(void *arg, const char *name)
{
	struct policyd_check *k = arg;

	k->ptrwl = NULL;
	if (name != NULL)
		k->out.skip_reason = "whitelisted PTR domain";
	policyd_check_resume(k);
}

/* policyd_check_ptr_whitelist - step 3 */
static enum policyd_step_status
policyd_check_ptr_whitelist(struct policyd_check *k)
{
	struct policyd_ptrwl *w;

	if (k->ptr_wl_done || k->out.skip_reason != NULL ||
	    k->c->whitelist_ptr_domains.count == 0)
		return STEP_NEXT;
	k->ptr_wl_done = true;
	k->waiting = true;
	k->in_start = true;
	w = policyd_ptrwl_start(k->env->dns, &k->c->whitelist_ptr_domains, k->family,
	    k->addr, policyd_check_ptrwl_cb, k);
	k->in_start = false;
	if (!k->waiting)
		return STEP_NEXT;
	k->ptrwl = w;
	return STEP_WAIT;
}

/* policyd_check_spf_start - one SPF evaluation; done() receives the verdict */
static enum policyd_step_status
policyd_check_spf_start(struct policyd_check *k, const char *mail_from,
    enum spf_identity id, spf_callback done)
{
	struct spf_limits lim;
	struct spf_request req = { .client = k->ss, .helo = k->helo,
	    .mail_from = mail_from, .identity = id,
	    .receiver = policyd_config_receiver(k->c) };

	spf_limits_default(&lim);
	lim.void_limit = (unsigned)k->c->spf_void_limit;
	lim.total_lookup_limit = (unsigned)k->c->spf_lookup_limit;
	lim.eval_timeout_ms = k->c->spf_lookup_timeout * 1000;
	k->waiting = true;
	k->in_start = true;
	k->eval = spf_eval_start(k->env->dns, k->env->base, &lim, &req, done, k);
	k->in_start = false;
	return k->waiting ? STEP_WAIT : STEP_NEXT;
}

/* policyd_check_wl_cb - verdict of a whitelisted forwarder domain's policy */
static void
policyd_check_wl_cb(void *arg, const struct spf_verdict *v)
{
	struct policyd_check *k = arg;

	k->eval = NULL;
	if (v->result == SPF_RESULT_PASS)
		k->out.skip_reason = "whitelisted relay domain";
	k->wl_index++;
	policyd_check_resume(k);
}

/* policyd_check_spf_whitelist - step 4, one listed domain per round */
static enum policyd_step_status
policyd_check_spf_whitelist(struct policyd_check *k)
{
	const struct config_list *l = &k->c->whitelist_spf_domains;
	char sender[sizeof("postmaster@") + 253];	/* items are checked domains */

	while (k->out.skip_reason == NULL && k->wl_index < l->count) {
		snprintf(sender, sizeof(sender), "postmaster@%s", l->items[k->wl_index]);
		if (policyd_check_spf_start(k, sender, SPF_IDENTITY_MAILFROM,
		    policyd_check_wl_cb) == STEP_WAIT)
			return STEP_WAIT;
	}
	return STEP_NEXT;
}

/* policyd_check_store - copy a verdict and its header texts */
static void
policyd_check_store(struct policyd_check *k, struct policyd_identity_outcome *o,
    const struct spf_verdict *v, const char *mail_from)
{
	struct buf b;
	struct spf_request req = { .client = k->ss, .helo = k->helo,
	    .mail_from = mail_from, .identity = v->identity,
	    .receiver = policyd_config_receiver(k->c) };

	o->checked = true;
	o->result = v->result;
	o->domain = xstrdup(v->domain ? v->domain : "");
	o->reason = xstrdup(v->reason ? v->reason : "");
	o->explanation = v->explanation ? xstrdup(v->explanation) : NULL;
	o->lookups = v->lookups;
	buf_init(&b, SPF_HEADER_SIZE_MAX);
	/* one line: a PREPEND action cannot carry a folded header */
	spf_received_header_fold(&b, v, &req, k->c->hide_receiver, NULL);
	o->received_spf = buf_steal(&b);
	spf_authres_clause(&b, v);
	o->authres = buf_steal(&b);
	buf_clear(&b);
}

/* policyd_check_helo_cb - HELO verdict */
static void
policyd_check_helo_cb(void *arg, const struct spf_verdict *v)
{
	struct policyd_check *k = arg;

	k->eval = NULL;
	policyd_check_store(k, &k->out.helo, v, k->sender);
	policyd_check_resume(k);
}

/* policyd_check_helo - step 5 */
static enum policyd_step_status
policyd_check_helo(struct policyd_check *k)
{
	if (k->out.helo.checked || k->out.skip_reason != NULL || k->helo[0] == '\0' ||
	    k->c->helo_reject == POLICYD_REJECT_NO_CHECK)
		return STEP_NEXT;
	return policyd_check_spf_start(k, k->sender, SPF_IDENTITY_HELO,
	    policyd_check_helo_cb);
}

/* policyd_check_mfrom_cb - MAIL FROM verdict */
static void
policyd_check_mfrom_cb(void *arg, const struct spf_verdict *v)
{
	struct policyd_check *k = arg;

	k->eval = NULL;
	policyd_check_store(k, &k->out.mfrom, v, k->sender);
	policyd_check_resume(k);
}

/* policyd_check_mfrom - step 6 */
static enum policyd_step_status
policyd_check_mfrom(struct policyd_check *k)
{
	bool null_sender = k->sender[0] == '\0';

	if (k->out.mfrom.checked || k->out.skip_reason != NULL ||
	    k->c->mail_from_reject == POLICYD_REJECT_NO_CHECK)
		return STEP_NEXT;
	if (null_sender && (k->out.helo.checked || k->helo[0] == '\0'))
		return STEP_NEXT;
	if (k->out.helo.checked && policyd_action_disposition(k->c,
	    policyd_action_policy(k->c, true, k->out.helo.domain), k->out.helo.result,
	    null_sender) != POLICYD_DISP_ACCEPT)
		return STEP_NEXT;
	return policyd_check_spf_start(k, k->sender, SPF_IDENTITY_MAILFROM,
	    policyd_check_mfrom_cb);
}

static enum policyd_step_status (*const policyd_check_steps[])(struct policyd_check *) = {
	policyd_check_static,
	policyd_check_helo_whitelist,
	policyd_check_ptr_whitelist,
	policyd_check_spf_whitelist,
	policyd_check_helo,
	policyd_check_mfrom,
};

/* policyd_check_free - release a finished or cancelled check */
static void
policyd_check_free(struct policyd_check *k)
{
	policyd_outcome_clear(&k->out);
	policyd_config_unref(k->c);
	free(k->client);
	free(k->helo);
	free(k->sender);
	free(k->sasl);
	free(k);
}

/* policyd_check_advance - run steps until one waits (false) or all are done */
static bool
policyd_check_advance(struct policyd_check *k)
{
	while (k->step < ARRAY_LEN(policyd_check_steps)) {
		if (policyd_check_steps[k->step](k) == STEP_WAIT)
			return false;
		k->step++;
	}
	k->cb(k->arg, &k->out);
	policyd_check_free(k);
	return true;
}

/* policyd_check_sockaddr - client address for the SPF engine */
static void
policyd_check_sockaddr(struct policyd_check *k)
{
	memset(&k->ss, 0, sizeof(k->ss));
	if (k->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&k->ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, k->addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&k->ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, k->addr, 16);
	}
}

/* policyd_check_start - run the skips and SPF checks of req */
struct policyd_check *
policyd_check_start(const struct policyd_env *env, struct policyd_config *c,
    const struct policyd_request *req, policyd_check_cb cb, void *arg)
{
	struct policyd_check *k = xcalloc(1, sizeof(*k));

	k->env = env;
	k->c = policyd_config_ref(c);
	k->client = xstrdup(policyd_request_get(req, POLICYD_ATTR_CLIENT_ADDRESS));
	k->helo = xstrdup(policyd_request_get(req, POLICYD_ATTR_HELO_NAME));
	k->sender = xstrdup(policyd_request_get(req, POLICYD_ATTR_SENDER));
	k->sasl = xstrdup(policyd_request_get(req, POLICYD_ATTR_SASL_USERNAME));
	k->cb = cb;
	k->arg = arg;
	if (!policyd_cidr_addr_parse(k->client, &k->family, k->addr)) {
		/* no usable client address (e.g. "unknown"): nothing to evaluate */
		k->out.skip_reason = "no client address";
		k->step = ARRAY_LEN(policyd_check_steps);
	} else {
		policyd_check_sockaddr(k);
	}
	return policyd_check_advance(k) ? NULL : k;
}

/* policyd_check_cancel - abandon a check; its callback will not run */
void
policyd_check_cancel(struct policyd_check *k)
{
	if (k->eval != NULL)
		spf_eval_cancel(k->eval);
	if (k->dq != NULL)
		dns_cancel(k->env->dns, k->dq);
	if (k->ptrwl != NULL)
		policyd_ptrwl_cancel(k->ptrwl);
	policyd_check_free(k);
}
