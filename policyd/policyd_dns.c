/*
 * policyd_dns.c - the resolver from the dns_* settings: libunbound on the
 * daemon's event loop (common/dns_unbound.c), forwarding to dns_forwarders or
 * to the servers of dns_resolv_conf.
 */
#include <stdlib.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* policyd_dns_new - resolver from the dns_* settings (forwarder overrides them) */
struct dns_resolver *
policyd_dns_new(struct event_base *base, const struct policyd_config *c,
    const char *forwarder)
{
	const char **fwd = xcalloc(c->dns_forwarders.count + 2, sizeof(char *));
	struct dns_unbound_config uc = { 0 };
	struct dns_resolver *r;
	const char *err = NULL;
	size_t n = 0;

	if (forwarder != NULL)
		fwd[n++] = forwarder;
	else
		for (size_t i = 0; i < c->dns_forwarders.count; i++)
			fwd[n++] = c->dns_forwarders.items[i];
	uc.forwarders = n ? fwd : NULL;
	uc.resolv_conf = c->dns_resolv_conf[0] ? c->dns_resolv_conf : NULL;
	uc.timeout_ms = c->dns_timeout * 1000;
	r = dns_unbound_new(base, &uc, &err);
	if (r == NULL)
		log_error("resolver: %s", err ? err : "cannot start libunbound");
	free(fwd);
	return r;
}
