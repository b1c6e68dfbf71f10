/*
 * policyd_dns.c - the resolver from the dns_* settings: libunbound on the
 * daemon's event loop (common/dns/dns_unbound.c), forwarding to dns_forwarders or
 * to the servers of dns_resolv_conf, behind an answer cache of
 * dns_cache_size_limit bytes (common/dns/dns_cache.c: positive answers for
 * their TTL, which spares libunbound's per-lookup work on its own cache hits).
 */

#include "log.h"
#include "policyd.h"

/* policyd_dns_new - resolver from the dns_* settings (forwarder overrides them) */
struct dns_resolver *
policyd_dns_new(struct event_base *base, const struct policyd_config *c,
    const char *forwarder)
{
	const char *one[] = { forwarder, NULL };
	struct dns_unbound_config uc = { 0 };
	struct dns_resolver *r;
	const char *err = NULL;

	/* config lists are NULL-terminated, as dns_unbound wants */
	uc.forwarders = forwarder ? one : (const char *const *)c->dns_forwarders.items;
	uc.resolv_conf = c->dns_resolv_conf[0] ? c->dns_resolv_conf : NULL;
	uc.timeout_ms = c->dns_timeout * 1000;
	r = dns_unbound_new(base, &uc, &err);
	if (r == NULL) {
		log_error("resolver: %s", err ? err : "cannot start libunbound");
		return NULL;
	}
	return c->dns_cache_size_limit > 0 ? dns_cache_new(r, c->dns_cache_size_limit) : r;
}
