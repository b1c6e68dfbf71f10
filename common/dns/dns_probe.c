/*
 * dns_probe.c - -t: does each configured forwarder answer?  One query (TXT
 * for the root) per forwarder, through a resolver of its own so that the
 * one that fails is named; a warning, never an error: the daemons still
 * start and lookups give temperror until it answers.
 */
#include <event2/event.h>

#include "dns.h"
#include "dns_probe.h"

struct dns_probe {
	struct event_base *base;
	enum dns_rcode rcode;
	bool done;
};

/* dns_probe_answer - keep the response code, stop the loop */
static void
dns_probe_answer(void *arg, const struct dns_answer *ans)
{
	struct dns_probe *p = arg;

	p->rcode = ans->rcode;
	p->done = true;
	event_base_loopbreak(p->base);
}

/* dns_probe_one - ask fwd once; 0 when it answered, -1 and a line in warn */
static int
dns_probe_one(const char *fwd, unsigned timeout_ms, struct buf *warn)
{
	const char *list[2] = { fwd, NULL }, *err = NULL;
	struct dns_unbound_config cfg = { .forwarders = list, .timeout_ms = timeout_ms };
	struct dns_probe p = { .base = event_base_new() };
	struct dns_resolver *r = p.base ? dns_unbound_new(p.base, &cfg, &err) : NULL;

	if (r != NULL) {
		dns_query(r, ".", DNS_TYPE_TXT, dns_probe_answer, &p);
		if (!p.done)
			event_base_dispatch(p.base);
		dns_resolver_free(r);
	}
	if (p.base)
		event_base_free(p.base);
	if (r != NULL && p.done && p.rcode != DNS_RCODE_TIMEOUT &&
	    p.rcode != DNS_RCODE_SERVFAIL)
		return 0;
	buf_printf(warn, "warning: dns_forwarders %s: %s; lookups will give "
	    "temperror until it answers\n", fwd, r == NULL ? (err ? err : "unusable") :
	    p.rcode == DNS_RCODE_TIMEOUT ? "no answer to a test query" :
	    "the test query failed (SERVFAIL or REFUSED)");
	return -1;
}

/* dns_probe_forwarders - each forwarder of the NULL-terminated list */
int
dns_probe_forwarders(const char *const *fwd, unsigned timeout_ms, struct buf *warn)
{
	int rc = 0;

	for (size_t i = 0; fwd != NULL && fwd[i] != NULL; i++)
		if (dns_probe_one(fwd[i], timeout_ms, warn) < 0)
			rc = -1;
	return rc;
}
