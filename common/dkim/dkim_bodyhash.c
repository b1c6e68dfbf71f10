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

/* dkim_bodyhash_new - one hasher */
static struct dkim_bodyhash *
dkim_bodyhash_new(enum dkim_canon c, const EVP_MD *md, bool has_limit, uint64_t limit)
{
	/* not calloc: the canonicaliser's 4 KiB stage needs no clearing */
	struct dkim_bodyhash *bh = xmalloc(sizeof(*bh));

	bh->hashed = bh->total = 0;
	bh->digest_len = 0;
	bh->done = false;
	bh->canon = c;
	bh->md = md;
	bh->has_limit = has_limit;
	bh->limit = limit;
	bh->ctx = EVP_MD_CTX_new();
	if (bh->ctx == NULL || EVP_DigestInit_ex(bh->ctx, md, NULL) != 1)
		log_panic("dkim: cannot initialise a digest");
	dkim_canon_body_init(&bh->cb, c, dkim_bodyhash_take, bh);
	return bh;
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
	for (size_t i = 0; i < set->n; i++) {
		EVP_MD_CTX_free(set->v[i]->ctx);
		free(set->v[i]);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
