/*
 * reinject_startlog.c - the start-up lines: each listener with its mode, each
 * signing key (domain, selector, algorithm, file) and the DNS setup, one log
 * line each, so an administrator sees what the daemon serves (reinject(8),
 * LOGGING).
 */
#include "dkim_table.h"
#include "log.h"
#include "reinject.h"

/* reinject_startlog_keys - one line per KeyTable entry or the sign_* key */
static void
reinject_startlog_keys(const struct reinject_conf *c)
{
	struct dkim_table *t;
	struct dkim_hostlist *h;
	struct dkim_table_key_info k;
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (reinject_worker_tables(c, &t, &h, &err) < 0 || t == NULL)
		log_info("signing: no keys%s", t == NULL && err.len == 0 ? " configured" : "");
	for (size_t i = 0; t != NULL && dkim_table_key_get(t, i, &k) == 0; i++)
		log_info("signing key %s: d=%s s=%s a=%s file=%s", k.name ? k.name : "-",
		    k.domain, k.selector, dkim_alg_str(k.alg), k.path ? k.path : "(inline)");
	if (h != NULL)
		log_info("internal_hosts %s: %zu entries", c->internal_hosts,
		    dkim_table_host_count(h));
	if (t)
		dkim_table_free(t);
	if (h)
		dkim_table_host_free(h);
	buf_clear(&err);
}

/* reinject_startlog_dns - where lookups go */
static void
reinject_startlog_dns(const struct reinject_conf *c)
{
	struct buf b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < c->dns_forwarders.count; i++)
		buf_printf(&b, "%s%s", i ? " " : "", c->dns_forwarders.items[i]);
	if (b.len)
		log_info("dns: forwarders %s, timeout %us", buf_cstr(&b), c->dkim_timeout);
	else if (c->dns_resolv_conf[0])
		log_info("dns: servers of %s, timeout %us", c->dns_resolv_conf, c->dkim_timeout);
	else
		log_info("dns: recursive from the root, timeout %us", c->dkim_timeout);
	buf_clear(&b);
}

/* reinject_startlog - the listeners, the signing keys and the DNS setup */
void
reinject_startlog(const struct reinject_conf *c)
{
	for (size_t i = 0; i < c->nlisteners; i++)
		log_info("listener %s mode=%s", c->listeners[i].addr,
		    c->listeners[i].mode == REINJECT_MODE_SIGN ? "sign" :
		    c->listeners[i].mode == REINJECT_MODE_PROXY ? "proxy" :
		    c->listeners[i].mode == REINJECT_MODE_MILTER ? "milter" : "verify");
	reinject_startlog_keys(c);
	reinject_startlog_dns(c);
}
