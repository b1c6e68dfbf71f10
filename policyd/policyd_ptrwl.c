/*
 * policyd_ptrwl.c - whitelist_ptr_domains (pypolicyd-spf's Domain_Whitelist_PTR):
 * is the client's validated reverse name within one of the listed domains?
 *
 * As the SPF "ptr" mechanism validates names (RFC 7208 §5.5): look up the PTR
 * records of the client address, keep the names equal to or below a listed
 * domain (at most SPF_MXPTR_NAME_LIMIT of them, RFC 7208 §4.6.4), and accept the
 * first whose A (or AAAA) records hold the client address.  A PTR record alone
 * proves nothing: whoever controls the reverse zone can write any name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policyd.h"
#include "util.h"

struct policyd_ptrwl {
	struct dns_resolver *dns;
	const struct config_list *domains;
	int family;
	unsigned char addr[16];
	char *names[SPF_MXPTR_NAME_LIMIT];
	size_t nnames, next;
	struct dns_query *q;
	bool in_start;			/* inside policyd_ptrwl_start */
	bool finished;			/* the callback ran during start */
	policyd_ptrwl_cb cb;
	void *arg;
};

/* policyd_ptrwl_free - release the state */
static void
policyd_ptrwl_free(struct policyd_ptrwl *w)
{
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w);
}

/* policyd_ptrwl_done - report the validated name (or NULL) and free */
static void
policyd_ptrwl_done(struct policyd_ptrwl *w, const char *name)
{
	w->cb(w->arg, name);
	if (w->in_start)
		w->finished = true;	/* start frees it on its way out */
	else
		policyd_ptrwl_free(w);
}

/* policyd_ptrwl_reverse - in-addr.arpa / ip6.arpa name of the address */
static void
policyd_ptrwl_reverse(const struct policyd_ptrwl *w, char *out, size_t size)
{
	size_t n = 0;

	if (w->family == AF_INET) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", w->addr[3], w->addr[2],
		    w->addr[1], w->addr[0]);
		return;
	}
	for (int i = 15; i >= 0 && n + 4 < size; i--)
		n += (size_t)snprintf(out + n, size - n, "%x.%x.", w->addr[i] & 0xf,
		    w->addr[i] >> 4);
	snprintf(out + n, size - n, "ip6.arpa");
}

static void policyd_ptrwl_validate(struct policyd_ptrwl *w);

/* policyd_ptrwl_addr_cb - A/AAAA of one candidate name */
static void
policyd_ptrwl_addr_cb(void *arg, const struct dns_answer *ans)
{
	struct policyd_ptrwl *w = arg;
	size_t alen = w->family == AF_INET ? 4 : 16;

	w->q = NULL;
	for (size_t i = 0; ans->rcode == DNS_RCODE_NOERROR && i < ans->count; i++) {
		if (ans->rr[i].len == alen && memcmp(ans->rr[i].data, w->addr, alen) == 0) {
			policyd_ptrwl_done(w, w->names[w->next]);
			return;
		}
	}
	w->next++;
	policyd_ptrwl_validate(w);
}

/* policyd_ptrwl_validate - forward-confirm the next candidate, or give up */
static void
policyd_ptrwl_validate(struct policyd_ptrwl *w)
{
	struct dns_query *q;

	if (w->next >= w->nnames) {
		policyd_ptrwl_done(w, NULL);
		return;
	}
	/* NULL: answered already, and w may be gone; otherwise the pending query */
	q = dns_query(w->dns, w->names[w->next], w->family == AF_INET ?
	    DNS_TYPE_A : DNS_TYPE_AAAA, policyd_ptrwl_addr_cb, w);
	if (q != NULL)
		w->q = q;
}

/* policyd_ptrwl_ptr_cb - PTR answer: keep the names within a listed domain */
static void
policyd_ptrwl_ptr_cb(void *arg, const struct dns_answer *ans)
{
	struct policyd_ptrwl *w = arg;

	w->q = NULL;
	for (size_t i = 0; ans->rcode == DNS_RCODE_NOERROR && i < ans->count &&
	    w->nnames < SPF_MXPTR_NAME_LIMIT; i++) {
		const struct dns_rr *rr = &ans->rr[i];

		if (policyd_domain_in_list(w->domains, rr->data, rr->len))
			w->names[w->nnames++] = xmemdup0(rr->data, rr->len);
	}
	policyd_ptrwl_validate(w);
}

/* policyd_ptrwl_start - look up and validate the client's reverse name */
struct policyd_ptrwl *
policyd_ptrwl_start(struct dns_resolver *dns, const struct config_list *domains,
    int family, const unsigned char addr[16], policyd_ptrwl_cb cb, void *arg)
{
	struct policyd_ptrwl *w = xcalloc(1, sizeof(*w));
	struct dns_query *q;
	char rev[80];

	w->dns = dns;
	w->domains = domains;
	w->family = family;
	memcpy(w->addr, addr, 16);
	w->cb = cb;
	w->arg = arg;
	policyd_ptrwl_reverse(w, rev, sizeof(rev));
	/* answers may arrive before dns_query returns (dns.h) */
	w->in_start = true;
	q = dns_query(dns, rev, DNS_TYPE_PTR, policyd_ptrwl_ptr_cb, w);
	w->in_start = false;
	if (q != NULL)
		w->q = q;
	if (w->finished) {
		policyd_ptrwl_free(w);
		return NULL;
	}
	return w;
}

/* policyd_ptrwl_cancel - abandon the lookups; the callback will not run */
void
policyd_ptrwl_cancel(struct policyd_ptrwl *w)
{
	if (w->q != NULL)
		dns_cancel(w->dns, w->q);
	policyd_ptrwl_free(w);
}
