/*
 * dns_cache.c - positive DNS answers kept for their TTL in front of another
 * resolver (RFC 1035 §3.2.1: the TTL is how long a record may be cached;
 * RFC 2181 §5.2: the records of an RRset share one TTL; §8: a TTL of 0 means
 * no caching).
 *
 * libunbound's own cache already holds the answers, but reaching it costs,
 * per lookup, a mesh state, its modules, a wire encoding of the answer and its
 * decoding here, and a turn of the event loop.  A repeated lookup is answered
 * from this table instead, before dns_query() returns (the contract in dns.h
 * allows it).  An entry expires at its arrival plus the answer's TTL (for an
 * answer from libunbound's cache, the remaining TTL it reports), counted in
 * whole seconds of the monotonic clock and rounded down, so no answer is used
 * longer than its TTL allows; TTLs are capped at DNS_CACHE_TTL_MAX.  Only
 * NOERROR answers with records that are not bogus are kept, with their DNSSEC
 * status; negative answers (NXDOMAIN, NODATA), errors and timeouts always go
 * to the resolver behind.  The entries hold at most size_limit bytes in all
 * (records, names, bookkeeping: a record may be 64 KiB, so a count alone
 * would not bound the memory), the least recently used dropped first.  An entry is pinned while its answer is being delivered: the
 * callback may query again, and the answer it gets may evict.  This is a DNS
 * cache, not a verdict cache: every evaluation still runs in full.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "util.h"

/* Longest name kept (RFC 1035 §2.3.4: 253 octets of text, a trailing dot). */
#define DC_NAME_MAX	254
/* Largest bucket table, whatever the limit. */
#define DC_BUCKETS_MAX	65536u

struct dc_entry {
	struct dc_entry *hnext;		/* hash chain */
	struct dc_entry *prev, *next;	/* LRU list, most recent first */
	uint32_t hash;
	enum dns_type type;
	long long expires;		/* monotonic second it stops being valid */
	unsigned pins;			/* deliveries in progress */
	size_t size;			/* bytes held, counted against size_limit */
	enum dns_sec sec;
	size_t count;
	struct dns_rr *rr;		/* copies; data in one block */
	char *data;
	char name[];			/* normalised: lower case, no trailing dot */
};

struct dc {
	struct dns_resolver *inner;
	struct dc_entry **buckets;
	size_t nbuckets, count, bytes, size_limit;
	struct dc_entry *lru_head, *lru_tail;
	struct dns_query *pending;	/* misses in flight */
	long long (*now)(void);
};

/* A miss: the lookup handed to the resolver behind. */
struct dns_query {
	struct dns_query *prev, *next;	/* on dc->pending while in flight */
	struct dc *dc;
	struct dns_query *inner;
	dns_callback cb;
	void *arg;
	enum dns_type type;
	bool in_start;			/* inside dc_query */
	bool answered;			/* delivered from inside dc_query */
	bool keyed;			/* key holds the name: the answer may be kept */
	char key[DC_NAME_MAX + 1];
};

/* dc_monotonic - seconds of the monotonic clock */
static long long
dc_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* dc_hash - FNV-1a over the name and the type */
static uint32_t
dc_hash(const char *name, enum dns_type type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* dc_key - name in lower case without one trailing dot; false: too long */
static bool
dc_key(const char *name, char key[DC_NAME_MAX + 1])
{
	size_t n = 0;

	for (; name[n] != '\0'; n++) {
		unsigned char c = (unsigned char)name[n];

		if (n == DC_NAME_MAX)
			return false;
		key[n] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	if (n > 0 && key[n - 1] == '.')
		n--;
	key[n] = '\0';
	return true;
}

/* dc_lru_unlink - take an entry off the LRU list */
static void
dc_lru_unlink(struct dc *dc, struct dc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		dc->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		dc->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

/* dc_lru_push - put an unlinked entry first on the LRU list */
static void
dc_lru_push(struct dc *dc, struct dc_entry *e)
{
	e->prev = NULL;
	e->next = dc->lru_head;
	if (dc->lru_head)
		dc->lru_head->prev = e;
	dc->lru_head = e;
	if (dc->lru_tail == NULL)
		dc->lru_tail = e;
}

/* dc_lru_front - mark a listed entry most recently used */
static void
dc_lru_front(struct dc *dc, struct dc_entry *e)
{
	if (dc->lru_head == e)
		return;
	dc_lru_unlink(dc, e);
	dc_lru_push(dc, e);
}

/* dc_find - the entry of key and type, or NULL */
static struct dc_entry *
dc_find(struct dc *dc, const char *key, enum dns_type type)
{
	uint32_t h = dc_hash(key, type);

	for (struct dc_entry *e = dc->buckets[h & (dc->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->type == type && strcmp(e->name, key) == 0)
			return e;
	return NULL;
}

/* dc_remove - unlink an entry from its chain and the LRU list, free it */
static void
dc_remove(struct dc *dc, struct dc_entry *e)
{
	struct dc_entry **pp = &dc->buckets[e->hash & (dc->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	dc_lru_unlink(dc, e);
	dc->count--;
	dc->bytes -= e->size;
	free(e->rr);
	free(e->data);
	free(e);
}

/* dc_make_room - drop least recently used entries until size more bytes fit */
static void
dc_make_room(struct dc *dc, size_t size)
{
	struct dc_entry *e = dc->lru_tail, *prev;

	for (; e != NULL && dc->bytes + size > dc->size_limit; e = prev) {
		prev = e->prev;
		if (e->pins == 0)
			dc_remove(dc, e);
	}
}

/* dc_cacheable - a positive, not bogus answer with a TTL */
static bool
dc_cacheable(const struct dns_answer *a)
{
	return a->rcode == DNS_RCODE_NOERROR && a->count > 0 && a->ttl > 0 &&
	    a->sec != DNS_SEC_BOGUS;
}

/* dc_size - the bytes an entry for key and a holds */
static size_t
dc_size(const char *key, const struct dns_answer *a)
{
	size_t n = sizeof(struct dc_entry) + strlen(key) + 1 +
	    a->count * sizeof(struct dns_rr);

	for (size_t i = 0; i < a->count; i++)
		n += a->rr[i].len + 1;
	return n;
}

/* dc_copy - an entry holding copies of a's records */
static struct dc_entry *
dc_copy(const char *key, enum dns_type type, const struct dns_answer *a)
{
	size_t klen = strlen(key), total = 0, off = 0;
	struct dc_entry *e = xcalloc(1, sizeof(*e) + klen + 1);

	memcpy(e->name, key, klen + 1);
	e->type = type;
	e->sec = a->sec;
	e->count = a->count;
	e->rr = xcalloc(a->count, sizeof(*e->rr));
	for (size_t i = 0; i < a->count; i++)
		total += a->rr[i].len + 1;
	e->data = xmalloc(total);
	for (size_t i = 0; i < a->count; i++) {
		e->rr[i] = a->rr[i];
		memcpy(e->data + off, a->rr[i].data, a->rr[i].len);
		e->data[off + a->rr[i].len] = '\0';	/* TXT: NUL-terminated too */
		e->rr[i].data = e->data + off;
		off += a->rr[i].len + 1;
	}
	return e;
}

/* dc_store - keep a cacheable answer for key and type */
static void
dc_store(struct dc *dc, const char *key, enum dns_type type,
    const struct dns_answer *a)
{
	struct dc_entry *e = dc_find(dc, key, type);
	uint32_t ttl = a->ttl < DNS_CACHE_TTL_MAX ? a->ttl : DNS_CACHE_TTL_MAX;
	size_t size = dc_size(key, a);

	if (e != NULL && e->pins > 0)
		return;		/* being delivered: the next miss stores it */
	if (e != NULL)
		dc_remove(dc, e);
	if (size > dc->size_limit)
		return;
	dc_make_room(dc, size);
	if (dc->bytes + size > dc->size_limit)
		return;		/* what is left is pinned */
	e = dc_copy(key, type, a);
	e->size = size;
	dc->bytes += size;
	e->expires = dc->now() + ttl;
	e->hash = dc_hash(key, type);
	e->hnext = dc->buckets[e->hash & (dc->nbuckets - 1)];
	dc->buckets[e->hash & (dc->nbuckets - 1)] = e;
	dc_lru_push(dc, e);
	dc->count++;
}

/* dc_hit - deliver a live entry; false when there is none */
static bool
dc_hit(struct dc *dc, const char *name, const char *key, enum dns_type type,
    dns_callback cb, void *arg)
{
	struct dc_entry *e = dc_find(dc, key, type);
	long long now;
	struct dns_answer a;

	if (e == NULL)
		return false;
	now = dc->now();
	if (e->expires <= now) {
		if (e->pins == 0)
			dc_remove(dc, e);
		return false;
	}
	memset(&a, 0, sizeof(a));
	a.qname = name;
	a.qtype = type;
	a.rcode = DNS_RCODE_NOERROR;
	a.sec = e->sec;
	a.count = e->count;
	a.rr = e->rr;
	a.ttl = (uint32_t)(e->expires - now);	/* what is left of it */
	dc_lru_front(dc, e);
	e->pins++;
	cb(arg, &a);
	e->pins--;
	return true;
}

/* dc_unlink - take a miss off the pending list */
static void
dc_unlink(struct dc *dc, struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		dc->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* dc_on_answer - the resolver behind answered a miss */
static void
dc_on_answer(void *arg, const struct dns_answer *a)
{
	struct dns_query *q = arg;
	struct dc *dc = q->dc;

	dc_unlink(dc, q);
	q->inner = NULL;
	if (q->keyed && dc_cacheable(a))
		dc_store(dc, q->key, q->type, a);
	q->cb(q->arg, a);
	if (q->in_start)
		q->answered = true;	/* dc_query frees it */
	else
		free(q);
}

/* dc_query - answer from the table, else ask the resolver behind */
static struct dns_query *
dc_query(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback cb, void *arg)
{
	struct dc *dc = r->impl;
	struct dns_query *q, *inner;
	char key[DC_NAME_MAX + 1];
	bool keyed = dc_key(name, key);

	if (keyed && dc_hit(dc, name, key, type, cb, arg))
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->keyed = keyed;
	if (keyed)
		memcpy(q->key, key, strlen(key) + 1);
	q->dc = dc;
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	q->next = dc->pending;
	if (dc->pending)
		dc->pending->prev = q;
	dc->pending = q;
	q->in_start = true;
	inner = dns_query(dc->inner, name, type, dc_on_answer, q);
	if (q->answered) {
		free(q);
		return NULL;
	}
	q->in_start = false;
	q->inner = inner;
	return q;
}

/* dc_cancel - stop a miss; its callback will not run */
static void
dc_cancel(struct dns_resolver *r, struct dns_query *q)
{
	struct dc *dc = r->impl;

	dc_unlink(dc, q);
	dns_cancel(dc->inner, q->inner);
	free(q);
}

/* dc_free - the resolver behind (its queries cancelled), misses, entries */
static void
dc_free(struct dns_resolver *r)
{
	struct dc *dc = r->impl;

	dns_resolver_free(dc->inner);
	while (dc->pending != NULL) {
		struct dns_query *q = dc->pending;

		dc_unlink(dc, q);
		free(q);
	}
	while (dc->lru_head != NULL)
		dc_remove(dc, dc->lru_head);
	free(dc->buckets);
	free(dc);
	free(r);
}

static const struct dns_backend_ops dc_ops = {
	.query = dc_query,
	.cancel = dc_cancel,
	.free = dc_free,
};

/* dns_cache_new - a cache of up to size_limit bytes of answers in front of inner */
struct dns_resolver *
dns_cache_new(struct dns_resolver *inner, size_t size_limit)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct dc *dc = xcalloc(1, sizeof(*dc));

	dc->inner = inner;
	dc->size_limit = size_limit;
	dc->nbuckets = 16;
	/* about one bucket per small answer (a TXT record of ~100 bytes) */
	while (dc->nbuckets < size_limit / 256 && dc->nbuckets < DC_BUCKETS_MAX)
		dc->nbuckets *= 2;
	dc->buckets = xcalloc(dc->nbuckets, sizeof(*dc->buckets));
	dc->now = dc_monotonic;
	r->ops = &dc_ops;
	r->impl = dc;
	return r;
}

/* dns_cache_bytes - bytes the entries hold now */
size_t
dns_cache_bytes(const struct dns_resolver *r)
{
	return ((const struct dc *)r->impl)->bytes;
}

/* dns_cache_set_clock - tests: seconds from a clock they control */
void
dns_cache_set_clock(struct dns_resolver *r, long long (*now)(void))
{
	((struct dc *)r->impl)->now = now;
}
