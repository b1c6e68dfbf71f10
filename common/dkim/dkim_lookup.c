/*
 * dkim_lookup.c - one key record lookup (selector._domainkey.domain TXT,
 * RFC 6376 §3.6.2) and the judgement of its answer into a public key
 * (§6.1.2), shared by DKIM verification and ARC (RFC 8617 §5.2, whose AMS
 * and AS keys are DKIM key records).
 *
 * The lookup keeps copies of the TXT data, so the key is judged once the
 * message has ended, after the callback; its owner is told when the answer
 * is in through the done function given at the start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

/* dkim_lookup_new - a lookup for s._domainkey.d, not started; NULL if the name is too long */
struct dkim_lookup *
dkim_lookup_new(const char *s, const char *d)
{
	char name[DKIM_DOMAIN_MAX * 2 + 16];
	int n = snprintf(name, sizeof(name), "%s._domainkey.%s", s, d);
	struct dkim_lookup *lk;

	if (n < 0 || (size_t)n >= sizeof(name) || n > DKIM_DOMAIN_MAX)
		return NULL;
	lk = xcalloc(1, sizeof(*lk));
	lk->name = xstrdup(name);
	return lk;
}

/* dkim_lookup_answer - the DNS answer: keep a copy of the TXT data, tell the owner */
static void
dkim_lookup_answer(void *arg, const struct dns_answer *ans)
{
	struct dkim_lookup *lk = arg;

	lk->done = true;
	lk->q = NULL;
	lk->rcode = ans->rcode;
	lk->sec = ans->sec;
	if (ans->rcode == DNS_RCODE_NOERROR && ans->count) {
		lk->txt = xcalloc(ans->count, sizeof(*lk->txt));
		lk->txtlen = xcalloc(ans->count, sizeof(*lk->txtlen));
		for (size_t i = 0; i < ans->count; i++) {
			if (ans->rr[i].type != DNS_TYPE_TXT)
				continue;
			lk->txt[lk->ntxt] = xmemdup0(ans->rr[i].data, ans->rr[i].len);
			lk->txtlen[lk->ntxt++] = ans->rr[i].len;
		}
	}
	lk->done_fn(lk->done_arg);
}

/*
 * dkim_lookup_start - ask r (NULL: answered at once as SERVFAIL); done(arg)
 * runs once when the answer is in, possibly before this returns
 */
void
dkim_lookup_start(struct dkim_lookup *lk, struct dns_resolver *r,
    void (*done)(void *), void *arg)
{
	struct dns_query *q;

	lk->r = r;
	lk->done_fn = done;
	lk->done_arg = arg;
	if (r == NULL) {
		/* no resolver configured: as if the lookup failed temporarily */
		lk->done = true;
		lk->rcode = DNS_RCODE_SERVFAIL;
		done(arg);
		return;
	}
	q = dns_query(r, lk->name, DNS_TYPE_TXT, dkim_lookup_answer, lk);
	if (!lk->done)
		lk->q = q;
}

/* dkim_lookup_free - cancel if pending, free */
void
dkim_lookup_free(struct dkim_lookup *lk)
{
	if (lk == NULL)
		return;
	if (lk->q && !lk->done)
		dns_cancel(lk->r, lk->q);
	for (size_t k = 0; k < lk->ntxt; k++)
		free(lk->txt[k]);
	free(lk->txt);
	free(lk->txtlen);
	free(lk->name);
	free(lk);
}

/* dkim_lookup_status - TEMPERROR/PERMERROR for an unusable answer, or PASS to go on */
enum dkim_result
dkim_lookup_status(const struct dkim_lookup *lk, const char **why)
{
	/* bogus first: a validating resolver reports it as SERVFAIL */
	if (lk->sec == DNS_SEC_BOGUS)
		*why = "key lookup DNSSEC-bogus";
	else if (lk->rcode == DNS_RCODE_TIMEOUT)
		*why = "key lookup timed out";
	else if (lk->rcode == DNS_RCODE_SERVFAIL)
		*why = "key lookup failed (SERVFAIL)";
	else if (lk->rcode == DNS_RCODE_NXDOMAIN || lk->ntxt == 0) {
		*why = "no key record";
		return DKIM_RESULT_PERMERROR;
	} else
		return DKIM_RESULT_PASS;
	return DKIM_RESULT_TEMPERROR;
}

/* dkim_keyrec_usable - the record suits alg (§6.1.2): NULL, or why not */
const char *
dkim_keyrec_usable(const struct dkim_keyrec *kr, enum dkim_alg alg)
{
	bool ed = alg == DKIM_ALG_ED25519_SHA256;
	bool k_ed = kr->k.p && span_eq_ci(kr->k, "ed25519");

	if (kr->revoked)
		return "key revoked (empty p=)";
	if (ed != k_ed)
		return "key type (k=) does not match the algorithm (a=)";
	if (alg != DKIM_ALG_RSA_SHA1 && !kr->hash_sha256_ok)
		return "key h= does not allow sha256";
	if (!kr->service_email_ok)
		return "key s= does not include email";
	return NULL;
}

/*
 * dkim_lookup_key - the first record that parses, suits alg and passes
 * extra (NULL: no extra check) gives the key; NULL with *why (the first
 * record's reason) otherwise.  *kr is that record.
 */
EVP_PKEY *
dkim_lookup_key(const struct dkim_lookup *lk, enum dkim_alg alg,
    dkim_keyrec_check extra, const void *arg, struct dkim_keyrec *kr,
    const char **why)
{
	EVP_PKEY *key = NULL;

	*why = "no key record";
	for (size_t i = 0; i < lk->ntxt && key == NULL; i++) {
		const char *w;

		if (dkim_keyrec_parse(lk->txt[i], lk->txtlen[i], kr, &w) < 0 ||
		    (w = dkim_keyrec_usable(kr, alg)) != NULL ||
		    (extra && (w = extra(arg, kr)) != NULL)) {
			if (i == 0)
				*why = w;
			continue;
		}
		key = dkim_keyrec_pkey(kr, &w);
		if (key == NULL && i == 0)
			*why = w;
	}
	return key;
}
