/*
 * dns_unbound.c - the production resolver backend: libunbound on the caller's
 * libevent loop (ub_ctx_create_event + ub_resolve_event).
 *
 * libunbound may call back before ub_resolve_event() returns (local data,
 * cache) and calls back from inside its own event handlers.  Protocol code
 * must never run inside libunbound (it would start queries or free the
 * resolver from there), so the libunbound callback only decodes the packet
 * (dns_wire.c) into the query and arms a zero timer; the caller's callback
 * runs from that timer.  The same timer first serves as the query timeout:
 * when it fires before libunbound answered, the libunbound query is
 * cancelled and the caller gets DNS_RCODE_TIMEOUT.
 *
 * A query libunbound refused to cancel is kept as an orphan until libunbound
 * calls back (or the resolver is freed), so a late answer never touches
 * freed memory.  The resolver may be freed with queries pending, also from
 * inside a callback; it must be freed before its event base.
 *
 * Upstream: the configured forwarders ("addr@port", a forward zone for "."),
 * else full recursion from the root hints, else the resolv.conf nameservers.
 *
 * DNSSEC status: RFC 4033 §5 (secure / insecure / bogus), as computed by
 * libunbound's validator when a trust anchor is configured.  A bogus answer
 * is delivered as SERVFAIL without records (what a validating resolver sends
 * its stub, RFC 4035 §5.5), with sec = DNS_SEC_BOGUS and the reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>
#include <unbound-event.h>

#include "dns.h"
#include "dns_wire.h"
#include "log.h"
#include "util.h"

/* per-query timeout when the configuration leaves it 0 */
#define DNS_UNBOUND_TIMEOUT_DEFAULT_MS 5000
#define DNS_CLASS_IN 1			/* RFC 1035 §3.2.4 */
#define UB_SEC_BOGUS 1			/* ub_event_callback_type sec values */
#define UB_SEC_SECURE 2

enum ubq_state {
	UBQ_WAITING,	/* libunbound is resolving, the timer is the timeout */
	UBQ_READY,	/* answer stored, the timer delivers it */
	UBQ_ORPHAN,	/* given up, libunbound may still call back */
};

struct dns_query {
	struct dns_query *next, *prev;	/* on ub->pending or ub->orphans */
	struct ub_backend *ub;
	struct event *timer;
	int async_id;
	enum ubq_state state;
	char *name;
	enum dns_type type;
	dns_callback cb;
	void *arg;
	struct dns_answer_owned ans;
	char *why_bogus;
	double started;			/* dns_clock() at the query, for dns_observe */
};

struct ub_backend {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct timeval timeout;
	struct dns_query *pending;
	struct dns_query *orphans;
	bool closing;		/* ub_ctx_delete() is running: ignore callbacks */
};

static char ub_errbuf[256];	/* start-up error text for dns_unbound_new() */

/* ubq_link - push q on a list */
static void
ubq_link(struct dns_query **head, struct dns_query *q)
{
	q->prev = NULL;
	q->next = *head;
	if (*head)
		(*head)->prev = q;
	*head = q;
}

/* ubq_unlink - remove q from a list */
static void
ubq_unlink(struct dns_query **head, struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		*head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* ubq_free - release a query that is on no list */
static void
ubq_free(struct dns_query *q)
{
	event_free(q->timer);
	dns_answer_owned_clear(&q->ans);
	free(q->why_bogus);
	free(q->name);
	free(q);
}

/* ubq_release - drop a query libunbound may still be working on */
static void
ubq_release(struct dns_query *q)
{
	struct ub_backend *ub = q->ub;

	ubq_unlink(&ub->pending, q);
	evtimer_del(q->timer);
	if (q->state == UBQ_READY || ub_cancel(ub->ctx, q->async_id) == 0) {
		ubq_free(q);
		return;
	}
	/* libunbound still holds q as its callback argument */
	q->state = UBQ_ORPHAN;
	ubq_link(&ub->orphans, q);
}

/* ubq_set_sec - map libunbound's validation status */
static void
ubq_set_sec(struct dns_query *q, int sec, const char *why_bogus)
{
	if (sec == UB_SEC_SECURE) {
		q->ans.ans.sec = DNS_SEC_SECURE;
	} else if (sec == UB_SEC_BOGUS) {
		q->why_bogus = xstrdup(why_bogus ? why_bogus : "validation failed");
		dns_answer_owned_set_bogus(&q->ans, q->why_bogus);
	}
}

/* ubq_fill - decode libunbound's result into the stored answer */
static void
ubq_fill(struct dns_query *q, int rcode, const void *packet, int len, int sec,
    const char *why_bogus)
{
	if (rcode != 0 || packet == NULL || len <= 0) {
		/* libunbound: do not inspect the packet when rcode != 0 */
		q->ans.ans.rcode = rcode == DNS_WIRE_RCODE_NXDOMAIN ?
		    DNS_RCODE_NXDOMAIN : DNS_RCODE_SERVFAIL;
	} else if (dns_wire_parse(packet, (size_t)len, q->type, &q->ans) < 0) {
		log_warn("dns: malformed answer for %s/%s", q->name,
		    dns_type_str(q->type));
		dns_answer_owned_clear(&q->ans);
		q->ans.ans.rcode = DNS_RCODE_SERVFAIL;
	}
	ubq_set_sec(q, sec, why_bogus);
}

/* ubq_on_answer - libunbound callback: store the answer, deliver from the loop */
static void
ubq_on_answer(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int was_ratelimited)
{
	static const struct timeval now = { 0, 0 };
	struct dns_query *q = arg;

	(void)was_ratelimited;
	if (q->ub->closing)
		return;
	if (q->state == UBQ_ORPHAN) {
		ubq_unlink(&q->ub->orphans, q);
		ubq_free(q);
		return;
	}
	if (q->state != UBQ_WAITING)
		return;
	ubq_fill(q, rcode, packet, len, sec, why_bogus);
	q->state = UBQ_READY;
	evtimer_del(q->timer);
	evtimer_add(q->timer, &now);
}

/* ubq_deliver_timeout - give up on libunbound and report TIMEOUT */
static void
ubq_deliver_timeout(struct dns_query *q)
{
	struct dns_answer_owned t;
	dns_callback cb = q->cb;
	void *arg = q->arg;
	char *name = xstrdup(q->name);

	dns_observe(q->started, DNS_RCODE_TIMEOUT);
	dns_answer_owned_init(&t, name, q->type);
	t.ans.rcode = DNS_RCODE_TIMEOUT;
	/* release first: the callback may free the resolver */
	ubq_release(q);
	cb(arg, &t.ans);
	free(name);
}

/* ubq_on_timer - the timeout expired, or a stored answer is due */
static void
ubq_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	if (q->state == UBQ_WAITING) {
		ubq_deliver_timeout(q);
		return;
	}
	/* unlinked before the callback: it may cancel others or free r */
	ubq_unlink(&q->ub->pending, q);
	dns_observe(q->started, q->ans.ans.rcode);
	q->cb(q->arg, &q->ans.ans);
	ubq_free(q);
}

/* ubq_query - start a libunbound lookup */
static struct dns_query *
ubq_query(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback cb, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct ub_backend *ub = r->impl;
	struct dns_query *q = xcalloc(1, sizeof(*q));
	int rc;

	q->ub = ub;
	q->name = xstrdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->started = dns_clock();
	q->state = UBQ_WAITING;
	dns_answer_owned_init(&q->ans, q->name, type);
	q->timer = evtimer_new(ub->base, ubq_on_timer, q);
	if (q->timer == NULL)
		log_panic("dns: evtimer_new failed");
	ubq_link(&ub->pending, q);
	evtimer_add(q->timer, &ub->timeout);
	/* may call ubq_on_answer before it returns (local data, cache) */
	rc = ub_resolve_event(ub->ctx, name, (int)type, DNS_CLASS_IN, q,
	    ubq_on_answer, &q->async_id);
	if (rc != 0 && q->state == UBQ_WAITING) {
		log_warn("dns: %s/%s: %s", name, dns_type_str(type),
		    ub_strerror(rc));
		q->ans.ans.rcode = DNS_RCODE_SERVFAIL;
		q->state = UBQ_READY;
		evtimer_del(q->timer);
		evtimer_add(q->timer, &now);
	}
	return q;
}

/* ubq_cancel - stop a pending lookup; its callback will not run */
static void
ubq_cancel(struct dns_resolver *r, struct dns_query *q)
{
	(void)r;
	ubq_release(q);
}

/* ubq_free_list - free every query on a list (the context is gone) */
static void
ubq_free_list(struct dns_query **head)
{
	while (*head) {
		struct dns_query *q = *head;

		ubq_unlink(head, q);
		ubq_free(q);
	}
}

/* ubq_resolver_free - delete the context, then the queries it pointed to */
static void
ubq_resolver_free(struct dns_resolver *r)
{
	struct ub_backend *ub = r->impl;

	/* ub_ctx_delete() may call back (SERVFAIL) for queries in flight */
	ub->closing = true;
	ub_ctx_delete(ub->ctx);
	ubq_free_list(&ub->pending);
	ubq_free_list(&ub->orphans);
	free(ub);
	free(r);
}

static const struct dns_backend_ops ubq_ops = {
	.query = ubq_query,
	.cancel = ubq_cancel,
	.free = ubq_resolver_free,
};

/* ub_fail - format a start-up error; returns -1 */
static int
ub_fail(const char *what, const char *arg, int rc)
{
	snprintf(ub_errbuf, sizeof(ub_errbuf), "%s%s%s: %s", what,
	    arg ? " " : "", arg ? arg : "", ub_strerror(rc));
	return -1;
}

/* ub_set - set a libunbound option */
static int
ub_set(struct ub_ctx *ctx, const char *opt, const char *val)
{
	int rc = ub_ctx_set_option(ctx, opt, val);

	return rc == 0 ? 0 : ub_fail("option", opt, rc);
}

/*
 * Special-use zones libunbound answers itself by default (RFC 6761 test. and
 * invalid., RFC 8375 home.arpa.) but which an administrator's own resolver
 * may serve for testing: a stub asks its upstream for them.  Their DNSSEC
 * status is insecure (the root proves they do not exist).  localhost. and
 * onion. (RFC 7686) stay answered locally.
 */
static const char *const ub_stub_zones[] = { "test.", "invalid.", "home.arpa." };

/* ub_insecure_special_use - no DNSSEC chain to expect for the zones above */
static int
ub_insecure_special_use(struct ub_ctx *ctx)
{
	for (size_t i = 0; i < ARRAY_LEN(ub_stub_zones); i++)
		if (ub_set(ctx, "domain-insecure:", ub_stub_zones[i]) < 0)
			return -1;
	return 0;
}

/*
 * ub_forward_special_use - a stub drops libunbound's own answers for the
 * zones above so that they go upstream (after ub_warmup: the zones exist
 * once the context is finalised)
 */
static int
ub_forward_special_use(struct ub_ctx *ctx, const struct dns_unbound_config *cfg)
{
	int rc;

	if (cfg->recursion && (cfg->forwarders == NULL || cfg->forwarders[0] == NULL))
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(ub_stub_zones); i++)
		if ((rc = ub_ctx_zone_remove(ctx, ub_stub_zones[i])) != 0)
			return ub_fail("special-use zone", ub_stub_zones[i], rc);
	return 0;
}

/*
 * ub_setup_upstream - forwarders, resolv.conf or full recursion.  A
 * forwarding stub leaves the private-address reverse zones (RFC 6303) to its
 * upstream, which knows the local network; a full resolver answers them
 * itself, as RFC 6303 §3 asks.  A stub has only a few upstreams: one that
 * stopped answering for a while is probed again at once rather than written
 * off for infra-host-ttl (15 minutes of SERVFAIL after a short outage).
 */
static int
ub_setup_upstream(struct ub_ctx *ctx, const struct dns_unbound_config *cfg)
{
	int rc;

	if (cfg->forwarders != NULL && cfg->forwarders[0] != NULL) {
		for (const char *const *f = cfg->forwarders; *f; f++)
			if ((rc = ub_ctx_set_fwd(ctx, *f)) != 0)
				return ub_fail("forwarder", *f, rc);
	} else if (cfg->recursion) {
		return 0;
	} else if ((rc = ub_ctx_resolvconf(ctx, cfg->resolv_conf)) != 0) {
		return ub_fail("resolv.conf", cfg->resolv_conf ?
		    cfg->resolv_conf : "/etc/resolv.conf", rc);
	}
	if (ub_set(ctx, "unblock-lan-zones:", "yes") < 0 ||
	    ub_set(ctx, "insecure-lan-zones:", "yes") < 0 ||
	    ub_set(ctx, "infra-keep-probing:", "yes") < 0)
		return -1;
	return ub_insecure_special_use(ctx);
}

/* ub_setup - apply the configuration to a fresh context */
static int
ub_setup(struct ub_ctx *ctx, const struct dns_unbound_config *cfg)
{
	int rc;

	if (ub_setup_upstream(ctx, cfg) < 0)
		return -1;
	if (cfg->trust_anchor_file != NULL) {
		/* libunbound reads it only at the first query: check it now */
		if (access(cfg->trust_anchor_file, R_OK) != 0) {
			snprintf(ub_errbuf, sizeof(ub_errbuf),
			    "trust anchor file %s: %s", cfg->trust_anchor_file,
			    strerror(errno));
			return -1;
		}
		if ((rc = ub_ctx_add_ta_file(ctx, cfg->trust_anchor_file)) != 0)
			return ub_fail("trust anchor file",
			    cfg->trust_anchor_file, rc);
	}
	if (cfg->use_hosts && (rc = ub_ctx_hosts(ctx, NULL)) != 0)
		return ub_fail("hosts file", "/etc/hosts", rc);
	return 0;
}

/* ub_warmup_done - callback of the start-up lookup */
static void
ub_warmup_done(void *arg, int rcode, void *packet, int len, int sec,
    char *why_bogus, int was_ratelimited)
{
	(void)rcode;
	(void)packet;
	(void)len;
	(void)sec;
	(void)why_bogus;
	(void)was_ratelimited;
	*(bool *)arg = true;
}

/*
 * ub_warmup - make libunbound read its files now (trust anchors, hosts):
 * it does so at the first lookup, which may come after the daemon dropped
 * privileges, and a broken file should stop the start-up, not every lookup.
 * "localhost." is answered from local data, inside the call.
 */
static int
ub_warmup(struct ub_ctx *ctx)
{
	bool done = false;
	int id = 0;
	int rc = ub_resolve_event(ctx, "localhost.", DNS_TYPE_A, DNS_CLASS_IN,
	    &done, ub_warmup_done, &id);

	if (rc != 0)
		return ub_fail("libunbound set-up (trust anchor or hosts file?)",
		    NULL, rc);
	/* done lives on this stack: make sure nothing calls back later */
	if (!done && id != 0)
		ub_cancel(ctx, id);
	return 0;
}

/* dns_unbound_new - libunbound context on base; NULL and *err on failure */
struct dns_resolver *
dns_unbound_new(struct event_base *base, const struct dns_unbound_config *cfg,
    const char **err)
{
	struct dns_resolver *r;
	struct ub_backend *ub;
	struct ub_ctx *ctx = ub_ctx_create_event(base);
	unsigned ms = cfg->timeout_ms ? cfg->timeout_ms :
	    DNS_UNBOUND_TIMEOUT_DEFAULT_MS;

	if (ctx == NULL) {
		*err = "cannot create a libunbound context";
		return NULL;
	}
	if (ub_setup(ctx, cfg) < 0 || ub_warmup(ctx) < 0 ||
	    ub_forward_special_use(ctx, cfg) < 0) {
		ub_ctx_delete(ctx);
		*err = ub_errbuf;
		return NULL;
	}
	ub = xcalloc(1, sizeof(*ub));
	ub->base = base;
	ub->ctx = ctx;
	ub->timeout.tv_sec = ms / 1000;
	ub->timeout.tv_usec = (ms % 1000) * 1000;
	r = xcalloc(1, sizeof(*r));
	r->ops = &ubq_ops;
	r->impl = ub;
	return r;
}
