/*
 * dkim_bodyhash.c - streaming body hashes (RFC 6376 §3.7 bh=, §3.5 l=).
 *
 * One hasher per distinct (body canonicalisation, hash algorithm, l=), so
 * several signatures of a message share one pass over the body; each hasher
 * counts the canonical body length for reporting l= against it.
 */
#include <stdlib.h>

#include "dkim_int.h"
#include "log.h"

/* dkim_bodyhash_take - canonicaliser output: hash up to l= bytes, count all */
static void
dkim_bodyhash_take(void *arg, const char *p, size_t len)
{
	struct dkim_bodyhash *bh = arg;
	size_t n = len;

	bh->total += len;
	if (bh->has_limit) {
		uint64_t room = bh->limit - bh->hashed;

		if (n > room)
			n = (size_t)room;
	}
	if (n && EVP_DigestUpdate(bh->ctx, p, n) != 1)
		log_panic("dkim: EVP_DigestUpdate failed");
	bh->hashed += n;
}

/*
 * One finished hasher is kept per thread for the next message: its 4 KiB
 * stage and its digest context, re-initialised with EVP_DigestInit_ex,
 * instead of three allocations, the context's set-up and three frees per
 * message (a signer or a verifier of one signature uses one hasher).
 */
static _Thread_local struct dkim_bodyhash *dkim_bodyhash_spare;

/* dkim_bodyhash_new - one hasher (the spare, if there is one) */
static struct dkim_bodyhash *
dkim_bodyhash_new(enum dkim_canon c, const EVP_MD *md, bool has_limit, uint64_t limit)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_spare;

	if (bh != NULL) {
		dkim_bodyhash_spare = NULL;
	} else {
		/* not calloc: the canonicaliser's 4 KiB stage needs no clearing */
		bh = xmalloc(sizeof(*bh));
		if ((bh->ctx = EVP_MD_CTX_new()) == NULL)
			log_panic("dkim: cannot allocate a digest context");
	}
	bh->hashed = bh->total = 0;
	bh->digest_len = 0;
	bh->done = false;
	bh->canon = c;
	bh->md = md;
	bh->has_limit = has_limit;
	bh->limit = limit;
	if (EVP_DigestInit_ex(bh->ctx, md, NULL) != 1)
		log_panic("dkim: cannot initialise a digest");
	dkim_canon_body_init(&bh->cb, c, dkim_bodyhash_take, bh);
	return bh;
}

/* dkim_bodyhash_free - keep bh as the spare, or free it */
static void
dkim_bodyhash_free(struct dkim_bodyhash *bh)
{
	if (dkim_bodyhash_spare == NULL) {
		dkim_bodyhash_spare = bh;
		return;
	}
	EVP_MD_CTX_free(bh->ctx);
	free(bh);
}

/* dkim_bodyhash_get - the set's hasher for these parameters, created if new */
struct dkim_bodyhash *
dkim_bodyhash_get(struct dkim_bodyhash_set *set, enum dkim_canon c,
    const EVP_MD *md, bool has_limit, uint64_t limit)
{
	for (size_t i = 0; i < set->n; i++) {
		struct dkim_bodyhash *bh = set->v[i];

		if (bh->canon == c && bh->md == md && bh->has_limit == has_limit &&
		    (!has_limit || bh->limit == limit))
			return bh;
	}
	set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
	set->v[set->n] = dkim_bodyhash_new(c, md, has_limit, limit);
	return set->v[set->n++];
}

/* dkim_bodyhash_update - body bytes to every hasher of the set */
void
dkim_bodyhash_update(struct dkim_bodyhash_set *set, const char *p, size_t len)
{
	for (size_t i = 0; i < set->n; i++)
		dkim_canon_body_update(&set->v[i]->cb, p, len);
}

/* dkim_bodyhash_final - finish every hasher of the set */
void
dkim_bodyhash_final(struct dkim_bodyhash_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct dkim_bodyhash *bh = set->v[i];

		if (bh->done)
			continue;
		dkim_canon_body_final(&bh->cb);
		if (EVP_DigestFinal_ex(bh->ctx, bh->digest, &bh->digest_len) != 1)
			log_panic("dkim: EVP_DigestFinal_ex failed");
		bh->done = true;
	}
}

/* dkim_bodyhash_clear - free the set */
void
dkim_bodyhash_clear(struct dkim_bodyhash_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		dkim_bodyhash_free(set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
