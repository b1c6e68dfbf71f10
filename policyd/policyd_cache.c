/*
 * policyd_cache.c - evaluate each client/HELO/sender once.
 *
 * Postfix sends one request per recipient; all recipients of a transaction
 * carry the same "instance" attribute (SMTPD_POLICY_README).  Two tables, one
 * hash and one LRU list:
 *  - results, keyed on client + HELO + sender (+ SASL login present): the
 *    outcome of one check, shared while in flight (later requests queue as
 *    waiters, answered in arrival order) and reused for cache_ttl seconds;
 *  - instances, keyed on the instance attribute and the same identities (an
 *    instance reused with another sender is another entry): the result the
 *    transaction used (held even when the TTL ran out, so every recipient of a message gets
 *    the same verdict without new lookups) and the count of headers already
 *    prepended (one per message, not one per recipient).
 * Entries beyond cache_size_limit are evicted oldest first; results still in
 * flight are never evicted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* How long a transaction's instance entry is kept: longer than any SMTP session. */
#define POLICYD_CACHE_INSTANCE_TTL	3600
#define POLICYD_CACHE_MIN_BUCKETS	256

struct policyd_cache_node {
	char *key;
	size_t klen;
	uint32_t hash;
	bool is_instance;
	long long expires;
	struct policyd_cache_node *hnext;	/* hash chain */
	struct policyd_cache_node *prev, *next;	/* LRU, most recent first */
};

struct policyd_cache_result {
	struct policyd_cache_node node;	/* first: node <-> result */
	unsigned refs;			/* table + instances + notifier */
	bool in_table;
	bool done;
	struct policyd_outcome out;
	struct policyd_check *check;
	struct policyd_cache_wait *waiters, **wtail;
	struct policyd_cache *cache;
};

struct policyd_cache_instance {
	struct policyd_cache_node node;	/* first */
	struct policyd_cache_result *r;
	unsigned headers_sent;
};

struct policyd_cache_wait {
	struct policyd_cache_wait *next;
	struct policyd_cache_result *r;
	struct policyd_cache_instance *inst;
	policyd_cache_cb cb;
	void *arg;
};

struct policyd_cache {
	const struct policyd_env *env;
	policyd_cache_eval eval;
	struct policyd_cache_node **buckets;
	size_t nbuckets, count;
	struct policyd_cache_node *lru_head, *lru_tail;
	long long (*now)(void);
	struct policyd_cache_stats st;
};

/* policyd_cache_monotonic - seconds of the monotonic clock */
static long long
policyd_cache_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* policyd_cache_hash - FNV-1a */
static uint32_t
policyd_cache_hash(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* policyd_cache_new - empty cache using eval on misses */
struct policyd_cache *
policyd_cache_new(const struct policyd_env *env, policyd_cache_eval eval)
{
	struct policyd_cache *c = xcalloc(1, sizeof(*c));

	c->env = env;
	c->eval = eval;
	c->nbuckets = POLICYD_CACHE_MIN_BUCKETS;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->now = policyd_cache_monotonic;
	return c;
}

/* policyd_cache_set_clock - tests: a clock they control */
void
policyd_cache_set_clock(struct policyd_cache *c, long long (*now)(void))
{
	c->now = now;
}

/* policyd_cache_lru_unlink - take a node off the LRU list */
static void
policyd_cache_lru_unlink(struct policyd_cache *c, struct policyd_cache_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		c->lru_head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		c->lru_tail = n->prev;
	n->prev = n->next = NULL;
}

/* policyd_cache_lru_front - mark a node most recently used */
static void
policyd_cache_lru_front(struct policyd_cache *c, struct policyd_cache_node *n)
{
	if (c->lru_head == n)
		return;
	if (n->prev || n->next || c->lru_tail == n)
		policyd_cache_lru_unlink(c, n);
	n->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = n;
	c->lru_head = n;
	if (c->lru_tail == NULL)
		c->lru_tail = n;
}

/* policyd_cache_find - node with kind and key, or NULL */
static struct policyd_cache_node *
policyd_cache_find(struct policyd_cache *c, bool is_instance, const char *key,
    size_t klen)
{
	uint32_t h = policyd_cache_hash(key, klen);

	for (struct policyd_cache_node *n = c->buckets[h & (c->nbuckets - 1)]; n;
	    n = n->hnext) {
		if (n->hash == h && n->is_instance == is_instance && n->klen == klen &&
		    memcmp(n->key, key, klen) == 0)
			return n;
	}
	return NULL;
}

/* policyd_cache_grow - double the buckets when the table gets dense */
static void
policyd_cache_grow(struct policyd_cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct policyd_cache_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < c->nbuckets; i++) {
		struct policyd_cache_node *n = c->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

/* policyd_cache_insert - add a node to hash and LRU */
static void
policyd_cache_insert(struct policyd_cache *c, struct policyd_cache_node *n,
    bool is_instance, const char *key, size_t klen)
{
	n->key = xmemdup0(key, klen);
	n->klen = klen;
	n->hash = policyd_cache_hash(key, klen);
	n->is_instance = is_instance;
	if (c->count + 1 > c->nbuckets)
		policyd_cache_grow(c);
	n->hnext = c->buckets[n->hash & (c->nbuckets - 1)];
	c->buckets[n->hash & (c->nbuckets - 1)] = n;
	policyd_cache_lru_front(c, n);
	c->count++;
}

/* policyd_cache_result_unref - drop a reference; the last frees */
static void
policyd_cache_result_unref(struct policyd_cache_result *r)
{
	if (--r->refs > 0)
		return;
	policyd_outcome_clear(&r->out);
	free(r->node.key);
	free(r);
}

/* policyd_cache_remove - take a node out of hash and LRU and release it */
static void
policyd_cache_remove(struct policyd_cache *c, struct policyd_cache_node *n)
{
	struct policyd_cache_node **pp = &c->buckets[n->hash & (c->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	policyd_cache_lru_unlink(c, n);
	c->count--;
	if (n->is_instance) {
		struct policyd_cache_instance *in = (struct policyd_cache_instance *)n;

		policyd_cache_result_unref(in->r);
		free(n->key);
		free(in);
	} else {
		struct policyd_cache_result *r = (struct policyd_cache_result *)n;

		r->in_table = false;
		policyd_cache_result_unref(r);
	}
}

/*
 * policyd_cache_pending - a result still being evaluated, or an instance whose
 * result is or whose result's waiters are still being called (a waiter's
 * callback can ask again and evict): waiters point at their instance, so it
 * may not be evicted before they are answered
 */
static bool
policyd_cache_pending(const struct policyd_cache_node *n)
{
	const struct policyd_cache_result *r;

	if (!n->is_instance)
		return !((const struct policyd_cache_result *)n)->done;
	r = ((const struct policyd_cache_instance *)n)->r;
	return !r->done || r->waiters != NULL;
}

/* policyd_cache_make_room - evict oldest entries down to below the limit */
static void
policyd_cache_make_room(struct policyd_cache *c, size_t limit)
{
	struct policyd_cache_node *n = c->lru_tail, *prev;

	for (; n != NULL && c->count >= limit; n = prev) {
		prev = n->prev;
		if (policyd_cache_pending(n))
			continue;
		policyd_cache_remove(c, n);
		c->st.evictions++;
	}
}

/* policyd_cache_eval_done - an evaluation finished: store it, answer the waiters */
static void
policyd_cache_eval_done(void *arg, struct policyd_outcome *o)
{
	struct policyd_cache_result *r = arg;
	struct policyd_cache_wait *w;

	r->out = *o;
	memset(o, 0, sizeof(*o));	/* moved: the check frees nothing of it */
	r->done = true;
	r->check = NULL;
	r->node.expires += r->cache->now();
	r->refs++;			/* waiters' callbacks may evict the entry */
	while ((w = r->waiters) != NULL) {
		unsigned none = 0;

		r->waiters = w->next;
		if (r->waiters == NULL)
			r->wtail = &r->waiters;
		w->cb(w->arg, &r->out, w->inst ? &w->inst->headers_sent : &none);
		free(w);
	}
	policyd_cache_result_unref(r);
}

/*
 * policyd_cache_key - [instance] client, HELO, sender (each NUL-ended), SASL
 * presence; sized to hold it all: a cut key would mix up two clients
 */
static void
policyd_cache_key(const struct policyd_request *req, bool instance, struct buf *k)
{
	static const enum policyd_attr parts[] = { POLICYD_ATTR_INSTANCE,
	    POLICYD_ATTR_CLIENT_ADDRESS, POLICYD_ATTR_HELO_NAME, POLICYD_ATTR_SENDER };
	size_t first = instance ? 0 : 1, len = 1;

	for (size_t i = first; i < ARRAY_LEN(parts); i++)
		len += strlen(policyd_request_get(req, parts[i])) + 1;
	buf_init(k, len);
	for (size_t i = first; i < ARRAY_LEN(parts); i++) {
		buf_append_str(k, policyd_request_get(req, parts[i]));
		buf_append_char(k, '\0');
	}
	buf_append_char(k, policyd_request_get(req, POLICYD_ATTR_SASL_USERNAME)[0] ?
	    '1' : '0');
	if (k->overflow)
		log_panic("policyd cache: key does not fit");
}

/* policyd_cache_result_get - a live result for req, or a new evaluation */
static struct policyd_cache_result *
policyd_cache_result_get(struct policyd_cache *c, struct policyd_config *cfg,
    const struct policyd_request *req)
{
	struct buf key;
	struct policyd_cache_node *n;
	struct policyd_cache_result *r;

	policyd_cache_key(req, false, &key);
	n = policyd_cache_find(c, false, key.data, key.len);
	if (n != NULL && (policyd_cache_pending(n) || n->expires > c->now())) {
		r = (struct policyd_cache_result *)n;
		if (r->done)
			c->st.hits++;
		else
			c->st.joined++;
		policyd_cache_lru_front(c, n);
		buf_clear(&key);
		return r;
	}
	if (n != NULL)
		policyd_cache_remove(c, n);
	policyd_cache_make_room(c, (size_t)cfg->cache_size_limit);
	c->st.misses++;
	c->st.evaluations++;
	r = xcalloc(1, sizeof(*r));
	r->refs = 1;
	r->in_table = true;
	r->cache = c;
	r->wtail = &r->waiters;
	r->node.expires = cfg->cache_ttl;	/* made absolute when done */
	policyd_cache_insert(c, &r->node, false, key.data, key.len);
	buf_clear(&key);
	r->refs++;			/* across the evaluation call */
	r->check = c->eval(c->env, cfg, req, policyd_cache_eval_done, r);
	policyd_cache_result_unref(r);
	return r;
}

/*
 * policyd_cache_instance_get - the instance entry of req, created with r.
 * Keyed on the instance and the identities: a client that reuses an
 * instance with another sender (or HELO, or address) gets its own verdict.
 */
static struct policyd_cache_instance *
policyd_cache_instance_get(struct policyd_cache *c, struct policyd_config *cfg,
    struct policyd_cache_result **r, const struct policyd_request *req)
{
	struct buf key;
	struct policyd_cache_node *n;
	struct policyd_cache_instance *in;

	policyd_cache_key(req, true, &key);
	n = policyd_cache_find(c, true, key.data, key.len);
	if (n != NULL && (n->expires > c->now() || policyd_cache_pending(n))) {
		policyd_cache_lru_front(c, n);
		in = (struct policyd_cache_instance *)n;
		*r = in->r;
		if (in->r->done)
			c->st.hits++;
		else
			c->st.joined++;
		buf_clear(&key);
		return in;
	}
	if (n != NULL)
		policyd_cache_remove(c, n);
	*r = policyd_cache_result_get(c, cfg, req);
	(*r)->refs++;			/* the instance's, taken before any eviction */
	policyd_cache_make_room(c, (size_t)cfg->cache_size_limit);
	in = xcalloc(1, sizeof(*in));
	in->r = *r;
	in->node.expires = c->now() + POLICYD_CACHE_INSTANCE_TTL;
	policyd_cache_insert(c, &in->node, true, key.data, key.len);
	buf_clear(&key);
	return in;
}

/* policyd_cache_get - outcome for req, now or through cb */
struct policyd_cache_wait *
policyd_cache_get(struct policyd_cache *c, struct policyd_config *cfg,
    const struct policyd_request *req, policyd_cache_cb cb, void *arg)
{
	const char *inst = policyd_request_get(req, POLICYD_ATTR_INSTANCE);
	struct policyd_cache_instance *in = NULL;
	struct policyd_cache_result *r;
	struct policyd_cache_wait *w;
	unsigned none = 0;

	if (inst[0] != '\0')
		in = policyd_cache_instance_get(c, cfg, &r, req);
	else
		r = policyd_cache_result_get(c, cfg, req);
	if (r->done) {
		r->refs++;
		cb(arg, &r->out, in ? &in->headers_sent : &none);
		policyd_cache_result_unref(r);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->r = r;
	w->inst = in;
	w->cb = cb;
	w->arg = arg;
	*r->wtail = w;
	r->wtail = &w->next;
	return w;
}

/* policyd_cache_cancel - forget a waiter; the evaluation goes on for others */
void
policyd_cache_cancel(struct policyd_cache *c, struct policyd_cache_wait *w)
{
	struct policyd_cache_result *r = w->r;
	struct policyd_cache_wait **pp = &r->waiters;

	(void)c;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	if (r->wtail == &w->next)
		r->wtail = pp;
	free(w);
}

/*
 * policyd_cache_flush - drop finished results (after a reload); instances keep
 * theirs, so a transaction in progress keeps its verdict and header count.
 */
void
policyd_cache_flush(struct policyd_cache *c)
{
	struct policyd_cache_node *n = c->lru_head, *next;

	for (; n != NULL; n = next) {
		next = n->next;
		if (!n->is_instance && !policyd_cache_pending(n))
			policyd_cache_remove(c, n);
	}
}

/* policyd_cache_stats - counters for tests and logs */
void
policyd_cache_stats(const struct policyd_cache *c, struct policyd_cache_stats *st)
{
	*st = c->st;
	st->entries = c->count;
}

/* policyd_cache_free - cancel evaluations in flight, free everything */
void
policyd_cache_free(struct policyd_cache *c)
{
	struct policyd_cache_node *n;

	if (c == NULL)
		return;
	while ((n = c->lru_head) != NULL) {
		if (!n->is_instance && policyd_cache_pending(n)) {
			struct policyd_cache_result *r = (struct policyd_cache_result *)n;
			struct policyd_cache_wait *w, *next;

			if (r->check != NULL)
				policyd_check_cancel(r->check);
			r->check = NULL;
			for (w = r->waiters; w; w = next) {
				next = w->next;
				free(w);
			}
			r->waiters = NULL;
			r->done = true;
		}
		policyd_cache_remove(c, n);
	}
	free(c->buckets);
	free(c);
}
