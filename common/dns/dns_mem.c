/*
 * dns_mem.c - in-memory resolver backend: static zone data for tests and tools.
 *
 * Records are kept in a flat list (test zones are small).  Answers are built the
 * same way the libunbound backend builds them, so protocol code sees no
 * difference.  With an event base the callback is run from the loop; without,
 * before dns_query() returns (which the contract in dns.h allows).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "dns.h"
#include "util.h"

struct mem_rec {
	char *name;
	enum dns_type type;	/* 0 for an rcode override on every type */
	uint16_t pref;
	char *data;
	size_t len;
	bool is_rcode;
	enum dns_rcode rcode;
};

struct mem_sec {
	char *name;
	enum dns_sec sec;
};

struct dns_query {
	struct dns_query *next, *prev;
	struct dns_resolver *r;
	struct event *ev;
	char *name;
	enum dns_type type;
	dns_callback cb;
	void *arg;
};

struct mem_zone {
	struct event_base *base;
	struct mem_rec *recs;
	size_t nrecs, caprecs;
	struct mem_sec *secs;
	size_t nsecs;
	struct dns_query *pending;
	unsigned delay_ms;	/* asynchronous answers come this late */
	uint32_t ttl;		/* of every answer with records (0: none) */
};

static char *
mem_norm(const char *name)
{
	size_t n = strlen(name);
	char *s;

	if (n && name[n - 1] == '.')
		n--;
	s = xmemdup0(name, n);
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	return s;
}

static struct mem_rec *
mem_push(struct mem_zone *z)
{
	if (z->nrecs == z->caprecs) {
		z->caprecs = z->caprecs ? z->caprecs * 2 : 16;
		z->recs = xrealloc(z->recs, z->caprecs * sizeof(*z->recs));
	}
	memset(&z->recs[z->nrecs], 0, sizeof(z->recs[0]));
	return &z->recs[z->nrecs++];
}

/* dns_mem_add - add a record; MX data is the exchange name */
void
dns_mem_add(struct dns_resolver *r, const char *name, enum dns_type type,
    uint16_t pref, const void *data, size_t len)
{
	struct mem_rec *rec = mem_push(r->impl);

	rec->name = mem_norm(name);
	rec->type = type;
	rec->pref = pref;
	if (type == DNS_TYPE_MX || type == DNS_TYPE_PTR) {
		char *tmp = xmemdup0(data, len);

		rec->data = mem_norm(tmp);
		rec->len = strlen(rec->data);
		free(tmp);
	} else {
		rec->data = xmemdup0(data, len);
		rec->len = len;
	}
}

/* dns_mem_add_txt - add a TXT record made of one string */
void
dns_mem_add_txt(struct dns_resolver *r, const char *name, const char *txt)
{
	dns_mem_add(r, name, DNS_TYPE_TXT, 0, txt, strlen(txt));
}

/* dns_mem_add_addr - add an A or AAAA record from its text form */
int
dns_mem_add_addr(struct dns_resolver *r, const char *name, const char *addr)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, addr, buf) == 1)
		dns_mem_add(r, name, DNS_TYPE_A, 0, buf, 4);
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		dns_mem_add(r, name, DNS_TYPE_AAAA, 0, buf, 16);
	else
		return -1;
	return 0;
}

/* dns_mem_set_rcode - force an rcode for name/type (type 0: every type) */
void
dns_mem_set_rcode(struct dns_resolver *r, const char *name, enum dns_type type,
    enum dns_rcode rc)
{
	struct mem_rec *rec = mem_push(r->impl);

	rec->name = mem_norm(name);
	rec->type = type;
	rec->is_rcode = true;
	rec->rcode = rc;
}

/* dns_mem_set_delay - answers of an asynchronous zone come ms late (a slow server) */
void
dns_mem_set_delay(struct dns_resolver *r, unsigned ms)
{
	((struct mem_zone *)r->impl)->delay_ms = ms;
}

/* dns_mem_set_ttl - the TTL every answer with records carries (default 0) */
void
dns_mem_set_ttl(struct dns_resolver *r, uint32_t seconds)
{
	((struct mem_zone *)r->impl)->ttl = seconds;
}

/* dns_mem_set_sec - DNSSEC status reported for every answer of a name */
void
dns_mem_set_sec(struct dns_resolver *r, const char *name, enum dns_sec sec)
{
	struct mem_zone *z = r->impl;

	z->secs = xrealloc(z->secs, (z->nsecs + 1) * sizeof(*z->secs));
	z->secs[z->nsecs].name = mem_norm(name);
	z->secs[z->nsecs].sec = sec;
	z->nsecs++;
}

static void
mem_answer(struct mem_zone *z, const char *qname, enum dns_type type,
    dns_callback cb, void *arg)
{
	struct dns_answer_owned o;
	char *name = mem_norm(qname);
	bool exists = false;

	dns_answer_owned_init(&o, qname, type);
	for (size_t i = 0; i < z->nsecs; i++)
		if (strcmp(z->secs[i].name, name) == 0)
			o.ans.sec = z->secs[i].sec;
	for (size_t i = 0; i < z->nrecs; i++) {
		struct mem_rec *rec = &z->recs[i];

		if (strcmp(rec->name, name) != 0)
			continue;
		if (rec->is_rcode) {
			if (rec->type == 0 || rec->type == type) {
				dns_answer_owned_clear(&o);
				o.ans.rcode = rec->rcode;
				goto done;
			}
			continue;
		}
		exists = true;
		if (rec->type == type)
			dns_answer_owned_add(&o, type, rec->pref, rec->data, rec->len);
	}
	if (!exists)
		o.ans.rcode = DNS_RCODE_NXDOMAIN;
	if (o.ans.count > 0)
		o.ans.ttl = z->ttl;
done:
	/* as libunbound answers for bogus data */
	if (o.ans.sec == DNS_SEC_BOGUS)
		dns_answer_owned_set_bogus(&o, "validation failed (in-memory zone)");
	cb(arg, &o.ans);
	dns_answer_owned_clear(&o);
	free(name);
}

static void
mem_unlink(struct mem_zone *z, struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		z->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	event_free(q->ev);
	free(q->name);
	free(q);
}

static void
mem_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct mem_zone *z = q->r->impl;
	dns_callback cb = q->cb;
	void *cbarg = q->arg;
	char *name = xstrdup(q->name);
	enum dns_type type = q->type;

	(void)fd;
	(void)what;
	/* unlink before the callback: it may start new queries or free state */
	mem_unlink(z, q);
	mem_answer(z, name, type, cb, cbarg);
	free(name);
}

static struct dns_query *
mem_query(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback cb, void *arg)
{
	struct mem_zone *z = r->impl;
	struct dns_query *q;
	struct timeval tv = { z->delay_ms / 1000, (z->delay_ms % 1000) * 1000 };

	if (z->base == NULL) {
		mem_answer(z, name, type, cb, arg);
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->r = r;
	q->name = xstrdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->ev = evtimer_new(z->base, mem_deliver, q);
	q->next = z->pending;
	if (z->pending)
		z->pending->prev = q;
	z->pending = q;
	evtimer_add(q->ev, &tv);
	return q;
}

static void
mem_cancel(struct dns_resolver *r, struct dns_query *q)
{
	mem_unlink(r->impl, q);
}

static void
mem_free(struct dns_resolver *r)
{
	struct mem_zone *z = r->impl;

	while (z->pending)
		mem_unlink(z, z->pending);
	for (size_t i = 0; i < z->nrecs; i++) {
		free(z->recs[i].name);
		free(z->recs[i].data);
	}
	for (size_t i = 0; i < z->nsecs; i++)
		free(z->secs[i].name);
	free(z->secs);
	free(z->recs);
	free(z);
	free(r);
}

static const struct dns_backend_ops mem_ops = {
	.query = mem_query,
	.cancel = mem_cancel,
	.free = mem_free,
};

/* dns_mem_new - empty in-memory zone; base NULL for synchronous answers */
struct dns_resolver *
dns_mem_new(struct event_base *base)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct mem_zone *z = xcalloc(1, sizeof(*z));

	z->base = base;
	r->ops = &mem_ops;
	r->impl = z;
	return r;
}
