/*
 * dkim_keycache.c - the public keys of recently seen key records, so a
 * record that comes back (the same senders' keys, message after message) is
 * not decoded again, and an RSA key keeps the Montgomery context OpenSSL
 * builds on its first use instead of building it for every signature.
 *
 * Keyed by the key type and the p= text exactly as published; at most
 * DKIM_KEY_CACHE_SIZE keys, the least recently used one replaced.  A key
 * handed out carries its own reference.  Per process and not locked: the
 * daemons verify in single-threaded workers.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

struct dkim_keycache_entry {
	char *p;		/* p= text, NULL when the slot is free */
	size_t len;
	int type;
	EVP_PKEY *key;
	unsigned long used;	/* last use, for replacement */
};

static struct dkim_keycache_entry dkim_keycache[DKIM_KEY_CACHE_SIZE];
static unsigned long dkim_keycache_clock;

/* dkim_keycache_get - a new reference to the cached key of (type, p), or NULL */
EVP_PKEY *
dkim_keycache_get(int type, struct span p)
{
	for (size_t i = 0; i < DKIM_KEY_CACHE_SIZE; i++) {
		struct dkim_keycache_entry *e = &dkim_keycache[i];

		if (e->p == NULL || e->type != type || e->len != p.len ||
		    memcmp(e->p, p.p, p.len) != 0)
			continue;
		if (EVP_PKEY_up_ref(e->key) != 1)
			return NULL;
		e->used = ++dkim_keycache_clock;
		return e->key;
	}
	return NULL;
}

/* dkim_keycache_put - remember key for (type, p); the cache takes its own reference */
void
dkim_keycache_put(int type, struct span p, EVP_PKEY *key)
{
	struct dkim_keycache_entry *e = &dkim_keycache[0];

	if (p.len > DKIM_KEY_RECORD_MAX || EVP_PKEY_up_ref(key) != 1)
		return;
	for (size_t i = 0; i < DKIM_KEY_CACHE_SIZE && e->p != NULL; i++)
		if (dkim_keycache[i].p == NULL || dkim_keycache[i].used < e->used)
			e = &dkim_keycache[i];
	free(e->p);
	EVP_PKEY_free(e->key);
	e->p = xmemdup0(p.p, p.len);
	e->len = p.len;
	e->type = type;
	e->key = key;
	e->used = ++dkim_keycache_clock;
}

/* dkim_keycache_clear - drop every cached key */
void
dkim_keycache_clear(void)
{
	for (size_t i = 0; i < DKIM_KEY_CACHE_SIZE; i++) {
		free(dkim_keycache[i].p);
		EVP_PKEY_free(dkim_keycache[i].key);
		memset(&dkim_keycache[i], 0, sizeof(dkim_keycache[i]));
	}
}
