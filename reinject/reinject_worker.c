/*
 * reinject_worker.c - one pre-forked worker: its own event loop, resolver and
 * signing tables, accepting on the listeners its master bound.  Every worker
 * accepts on the same sockets, so the kernel spreads sessions over the cores.
 * SIGTERM (from the master, at shutdown or reload) drains: stop accepting,
 * let running sessions finish within drain_timeout, exit.  Once set up, a
 * worker confines itself (common/core/sandbox.h); one that cannot exits
 * PREFORK_EXIT_CONFIG and the master stops.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "dkim_table.h"
#include "dns.h"
#include "log.h"
#include "prefork.h"
#include "reinject.h"
#include "reinject_rollover.h"
#include "sandbox.h"

/* Heap kept by a worker between messages, and the size from which an
 * allocation gets its own mapping (glibc's defaults: 128 KiB both). */
#define REINJECT_WORKER_HEAP_KEEP	(32 * 1024 * 1024)
#define REINJECT_WORKER_MMAP_MIN	(4 * 1024 * 1024)

struct reinject_worker {
	struct reinject_ctx ctx;
	struct evconnlistener *lev[REINJECT_LISTEN_LIMIT];
	enum reinject_mode mode[REINJECT_LISTEN_LIMIT];
	size_t nlev;
	struct event *sigterm;
	struct event *drain_check;
	struct reinject_rollover *rollover;	/* NULL: no key waits to roll over */
};

/* reinject_worker_accept - a new upstream session */
static void
reinject_worker_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct reinject_worker *w = arg;
	char host[128] = "?", peer[160];
	size_t i;

	(void)salen;
	for (i = 0; i < w->nlev && w->lev[i] != l; i++)
		;
	if (sa->sa_family == AF_UNIX)
		snprintf(host, sizeof(host), "unix");
	else
		evutil_inet_ntop(sa->sa_family, sa->sa_family == AF_INET6 ?
		    (void *)&((struct sockaddr_in6 *)sa)->sin6_addr :
		    (void *)&((struct sockaddr_in *)sa)->sin_addr, host,
		    sizeof(host));
	snprintf(peer, sizeof(peer), "%s", host);
	evutil_make_socket_nonblocking(fd);
	if (i < w->nlev && w->mode[i] == REINJECT_MODE_MILTER) {
		reinject_milter_accept(&w->ctx, fd, peer);
		return;
	}
	reinject_server_accept(&w->ctx, fd, i < w->nlev ? w->mode[i] :
	    REINJECT_MODE_VERIFY, peer);
}

/* reinject_worker_drained - exit the loop once sessions are gone */
static void
reinject_worker_drained(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_worker *w = arg;
	struct timeval tv = { 0, 100000 };

	(void)fd;
	(void)ev;
	if (w->ctx.sessions == 0)
		event_base_loopbreak(w->ctx.base);
	else
		evtimer_add(w->drain_check, &tv);
}

/* reinject_worker_term - SIGTERM: stop accepting and drain */
static void
reinject_worker_term(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_worker *w = arg;
	struct timeval tv = { (time_t)w->ctx.conf->drain_timeout, 0 };
	struct timeval now = { 0, 0 };

	(void)fd;
	(void)ev;
	if (w->ctx.draining)
		return;
	w->ctx.draining = true;
	for (size_t i = 0; i < w->nlev; i++) {
		evconnlistener_free(w->lev[i]);
		w->lev[i] = NULL;
	}
	w->nlev = 0;
	event_base_loopexit(w->ctx.base, &tv);
	w->drain_check = evtimer_new(w->ctx.base, reinject_worker_drained, w);
	evtimer_add(w->drain_check, &now);
}

/* reinject_worker_dns - the resolver for key lookups */
struct dns_resolver *
reinject_worker_dns(struct event_base *base, const struct reinject_conf *c)
{
	struct dns_unbound_config uc = { 0 };
	const char *err = NULL;
	struct dns_resolver *r;

	uc.resolv_conf = c->dns_resolv_conf[0] ? c->dns_resolv_conf : NULL;
	/* config lists are NULL-terminated, as dns_unbound wants */
	uc.forwarders = (const char *const *)c->dns_forwarders.items;
	uc.timeout_ms = c->dkim_timeout * 1000;
	if (!(r = dns_unbound_new(base, &uc, &err)))
		log_error("DNS resolver: %s; DKIM verification disabled", err);
	return r;
}

/* reinject_worker_tables - signing tables and InternalHosts; -1 on error */
int
reinject_worker_tables(const struct reinject_conf *c, struct dkim_table **t,
    struct dkim_hostlist **h, struct buf *err)
{
	struct dkim_table_config tc = { 0 };
	char e[DKIM_TABLE_ERR_MAX];
	int rc = 0;

	*t = NULL;
	*h = NULL;
	/* on to the tables after a host list error: -t reports both */
	if (c->internal_hosts[0] &&
	    !(*h = dkim_table_host_load(c->internal_hosts, e, sizeof(e)))) {
		buf_printf(err, "internal_hosts: %s\n", e);
		rc = -1;
	}
	if (!c->key_table[0] && !c->sign_key_file[0])
		return rc;
	tc.key_table = c->key_table[0] ? c->key_table : NULL;
	tc.signing_table = c->signing_table[0] ? c->signing_table : NULL;
	tc.multiple_signatures = c->multiple_signatures;
	/* unset string settings are "", the table wants NULL for "not given" */
	tc.domain = c->sign_domain[0] ? c->sign_domain : NULL;
	tc.selector = c->sign_selector[0] ? c->sign_selector : NULL;
	tc.key_file = c->sign_key_file[0] ? c->sign_key_file : NULL;
	tc.subdomains = c->sign_subdomains;
	if (!(*t = dkim_table_load(&tc, e, sizeof(e)))) {
		buf_printf(err, "%s\n", e);
		rc = -1;
	}
	return rc;
}

/* reinject_worker_peers - peer_hosts (OpenDKIM's PeerList); -1 and err */
int
reinject_worker_peers(const struct reinject_conf *c, struct dkim_hostlist **p,
    struct buf *err)
{
	char e[DKIM_TABLE_ERR_MAX];

	*p = NULL;
	if (!c->peer_hosts[0])
		return 0;
	if (!(*p = dkim_table_host_load(c->peer_hosts, e, sizeof(e)))) {
		buf_printf(err, "peer_hosts: %s\n", e);
		return -1;
	}
	return 0;
}

/*
 * reinject_worker_check - what a worker loads at start (tables, keys,
 * InternalHosts, the resolver) loads: -1 and err otherwise.  At start-up and
 * before a reload, so bad settings are refused instead of making workers
 * exit and be restarted forever.
 */
int
reinject_worker_check(const struct reinject_conf *c, struct buf *err)
{
	struct event_base *base;
	struct dns_resolver *r;
	struct dkim_table *t;
	struct dkim_hostlist *h;
	bool failed = false;
	int rc = reinject_worker_tables(c, &t, &h, err);

	/* the rollover plans beside the key files, and their next keys */
	reinject_rollover_free(reinject_rollover_load(t, c, &failed, err));
	if (failed)
		rc = -1;
	if (t)
		dkim_table_free(t);
	if (h)
		dkim_table_host_free(h);
	if (reinject_worker_peers(c, &h, err) < 0)
		rc = -1;
	else if (h)
		dkim_table_host_free(h);
	base = event_base_new();
	if ((r = reinject_worker_dns(base, c)) != NULL)
		dns_resolver_free(r);
	else {
		buf_printf(err, "the DNS settings (dns_forwarders, dns_resolv_conf) "
		    "are unusable\n");
		rc = -1;
	}
	event_base_free(base);
	return rc;
}

/* reinject_worker_listen - evconnlistener on each inherited socket */
static void
reinject_worker_listen(struct reinject_worker *w, const struct reinject_conf *c)
{
	for (size_t i = 0; i < c->nlisteners; i++) {
		w->lev[w->nlev] = evconnlistener_new(w->ctx.base,
		    reinject_worker_accept, w, LEV_OPT_CLOSE_ON_FREE, -1,
		    c->listeners[i].fd);
		if (!w->lev[w->nlev])
			log_fatal("listen %s: %s", c->listeners[i].addr,
			    strerror(errno));
		w->mode[w->nlev++] = c->listeners[i].mode;
	}
}

/* reinject_worker_run - a worker's event loop */
int
reinject_worker_run(const struct reinject_conf *c)
{
	struct reinject_worker w;
	struct buf err;
	bool failed;

	memset(&w, 0, sizeof(w));
	/* Every message allocates and frees the same few hundred KiB (parser,
	 * verifier, spool): keep them instead of giving the top of the heap back
	 * to the kernel after each message and faulting it in again. */
	mallopt(M_TRIM_THRESHOLD, REINJECT_WORKER_HEAP_KEEP);
	mallopt(M_MMAP_THRESHOLD, REINJECT_WORKER_MMAP_MIN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	w.ctx.conf = c;
	w.ctx.base = event_base_new();
	buf_init(&err, 8192);
	if (reinject_worker_tables(c, &w.ctx.sign_table, &w.ctx.internal, &err) < 0 ||
	    reinject_worker_peers(c, &w.ctx.peers, &err) < 0)
		log_fatal("%s", buf_cstr(&err));
	w.rollover = reinject_rollover_load(w.ctx.sign_table, c, &failed, &err);
	if (failed)
		log_fatal("%s", buf_cstr(&err));
	buf_clear(&err);
	w.ctx.dns = reinject_worker_dns(w.ctx.base, c);
	reinject_rollover_start(w.rollover, w.ctx.base, w.ctx.dns);
	reinject_worker_listen(&w, c);
	reinject_report_worker_start(c);
	w.sigterm = evsignal_new(w.ctx.base, SIGTERM, reinject_worker_term, &w);
	evsignal_add(w.sigterm, NULL);
	/* keys, tables and resolver are loaded: from here on only sockets and
	 * spool files (a reload starts new workers from the master), and a key
	 * rollover's state file renamed into place */
	if (sandbox_enter(SANDBOX_WRITE_FILES | SANDBOX_UNLINK |
	    (w.rollover != NULL ? SANDBOX_RENAME : 0)) < 0)
		return PREFORK_EXIT_CONFIG;
	event_base_dispatch(w.ctx.base);
	reinject_rollover_free(w.rollover);
	reinject_report_worker_stop();
	if (w.ctx.sessions)
		log_warn("drain_timeout: %u sessions still open; their mail stays queued",
		    w.ctx.sessions);
	return 0;
}
