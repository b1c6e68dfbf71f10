/*
 * dkim_table_lookup.c - from a sender address to its signers: SigningTable match
 * (OpenDKIM order or refile patterns), KeyTable resolution with "%" replaced by the
 * sender's domain, i= kept only when it lies within d= (RFC 6376 §3.5 "i=").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_table.h"
#include "dkim_table_int.h"
#include "log.h"

struct lookup {
	struct dkim_table *t;
	struct span user, domain;	/* lower case copies in ubuf / dbuf */
	char ubuf[DKIM_TABLE_LOCAL_MAX + 1];
	char dbuf[DKIM_TABLE_DOMAIN_MAX + 1];
	const struct sentry *hit[DKIM_TABLE_SIGNERS_MAX];
	size_t nhit;
	const char *first;		/* the first matching pattern */
};

/* subst - copy tmpl with every "%" replaced by the domain; -1 and "" when too long */
static int
subst(char *out, size_t outsz, const char *tmpl, struct span domain)
{
	size_t n = 0;

	for (const char *p = tmpl; *p; p++) {
		size_t add = *p == '%' ? domain.len : 1;

		if (n + add >= outsz) {
			out[0] = '\0';
			return -1;
		}
		if (*p == '%')
			memcpy(out + n, domain.p, domain.len);
		else
			out[n] = *p;
		n += add;
	}
	out[n] = '\0';
	return 0;
}

/* add_hit - remember a matched entry (bounded, no repeats) */
static void
add_hit(struct lookup *lk, const struct sentry *e)
{
	for (size_t i = 0; i < lk->nhit; i++)
		if (strcmp(lk->hit[i]->keyname, e->keyname) == 0)
			return;
	if (lk->nhit == DKIM_TABLE_SIGNERS_MAX) {
		log_warn("SigningTable %s:%u: more than %d signatures for one "
		    "message; ignored", lk->t->sign_file, e->lineno,
		    DKIM_TABLE_SIGNERS_MAX);
		return;
	}
	lk->hit[lk->nhit++] = e;
}

/* try_plain - one candidate key of a plain table; true stops the search */
static bool
try_plain(void *arg, struct span key)
{
	struct lookup *lk = arg;
	bool found = false;

	for (size_t i = 0; i < lk->t->nents; i++) {
		const struct sentry *e = &lk->t->ents[i];

		if (strlen(e->pattern) == key.len &&
		    ascii_mem_eq_ci(e->pattern, key.p, key.len)) {
			add_hit(lk, e);
			found = true;
		}
	}
	return found && !lk->t->multiple;
}

/* match_refile - patterns in file order; without multiple, the first one's lines */
static void
match_refile(struct lookup *lk)
{
	char addr[DKIM_TABLE_LOCAL_MAX + DKIM_TABLE_DOMAIN_MAX + 2];
	int n = snprintf(addr, sizeof(addr), "%.*s@%.*s", (int)lk->user.len,
	    lk->user.p, (int)lk->domain.len, lk->domain.p);
	struct span a = { addr, (size_t)n };

	for (size_t i = 0; i < lk->t->nents; i++) {
		const struct sentry *e = &lk->t->ents[i];

		if (lk->first != NULL && !lk->t->multiple) {
			if (strcasecmp(e->pattern, lk->first) == 0)
				add_hit(lk, e);
			continue;
		}
		if (dkim_table_sign_glob(span_from_cstr(e->pattern), a)) {
			if (lk->first == NULL)
				lk->first = e->pattern;
			add_hit(lk, e);
		}
	}
}

/* key_for_domain - the key of a "%" path for this domain, loaded once */
static int
key_for_domain(struct lookup *lk, struct tkey *k, EVP_PKEY **key,
    enum dkim_alg *alg, char *err, size_t errsz)
{
	char path[DKIM_TABLE_LINE_MAX];
	struct tkey_cache c;

	if (subst(path, sizeof(path), k->path, lk->domain) < 0) {
		snprintf(err, errsz, "key \"%s\": path too long", k->name);
		return -1;
	}
	for (size_t i = 0; i < k->ncache; i++)
		if (strcmp(k->cache[i].path, path) == 0) {
			*key = k->cache[i].key;
			*alg = k->cache[i].alg;
			return 0;
		}
	c.alg = k->alg;
	c.key = dkim_table_key_load_file(path, k->declared, &c.alg,
	    &lk->t->key_opts, err, errsz);
	if (c.key == NULL)
		return -1;
	c.path = xstrdup(path);
	k->cache = xrealloc(k->cache, (k->ncache + 1) * sizeof(*k->cache));
	k->cache[k->ncache++] = c;
	*key = c.key;
	*alg = c.alg;
	return 0;
}

/* make_signer - resolve one matched entry into a signer */
static int
make_signer(struct lookup *lk, const struct sentry *e, struct dkim_signer *s,
    char *err, size_t errsz)
{
	bool pct = strcmp(e->keyname, "%") == 0;
	const char *name = pct ? lk->dbuf : e->keyname;
	struct tkey *k = dkim_table_find_key(lk->t, name, strlen(name));

	if (k == NULL) {
		snprintf(err, errsz, "%s:%u: key name \"%s\" (for %%) is not in the "
		    "KeyTable %s", lk->t->sign_file, e->lineno, name, lk->t->key_file);
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->keyname = k->name;
	s->selector = k->selector;
	if (subst(s->domain, sizeof(s->domain), k->domain, lk->domain) < 0) {
		snprintf(err, errsz, "%s: key \"%s\": d= is too long after %% "
		    "substitution", lk->t->key_file, k->name);
		return -1;
	}
	/* as OpenDKIM: i= dropped if outside d= (or too long to hold) */
	if (e->signer != NULL &&
	    subst(s->identity, sizeof(s->identity), e->signer, lk->domain) == 0 &&
	    !dkim_identity_in_domain(s->identity, s->domain))
		s->identity[0] = '\0';
	s->key = k->key;
	s->alg = k->alg;
	if (k->key == NULL)
		return key_for_domain(lk, k, &s->key, &s->alg, err, errsz);
	return 0;
}

/* split_addr - lower-case user and domain copies; false if not user@domain */
static bool
split_addr(struct lookup *lk, struct span addr)
{
	const char *at = memrchr(addr.p, '@', addr.len);
	size_t ul, dl;

	if (at == NULL)
		return false;
	ul = (size_t)(at - addr.p);
	dl = addr.len - ul - 1;
	if (dl == 0 || ul > DKIM_TABLE_LOCAL_MAX || dl > DKIM_TABLE_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < ul; i++)
		lk->ubuf[i] = (char)(addr.p[i] >= 'A' && addr.p[i] <= 'Z' ?
		    addr.p[i] - 'A' + 'a' : addr.p[i]);
	for (size_t i = 0; i < dl; i++)
		lk->dbuf[i] = (char)(at[1 + i] >= 'A' && at[1 + i] <= 'Z' ?
		    at[1 + i] - 'A' + 'a' : at[1 + i]);
	lk->ubuf[ul] = lk->dbuf[dl] = '\0';
	if (dl > 0 && lk->dbuf[dl - 1] == '.')
		lk->dbuf[--dl] = '\0';
	lk->user = (struct span){ lk->ubuf, ul };
	lk->domain = (struct span){ lk->dbuf, dl };
	return dl > 0;
}

/* dkim_table_lookup - signers for a sender address */
int
dkim_table_lookup(struct dkim_table *t, struct span addr,
    struct dkim_signers *out, char *err, size_t errsz)
{
	struct lookup lk = { .t = t };

	out->n = 0;
	if (!split_addr(&lk, addr))
		return 0;
	if (t->refile)
		match_refile(&lk);
	else
		dkim_table_sign_candidates(lk.user, lk.domain, try_plain, &lk);
	for (size_t i = 0; i < lk.nhit; i++) {
		if (make_signer(&lk, lk.hit[i], &out->v[out->n], err, errsz) < 0) {
			out->n = 0;
			return -1;
		}
		out->n++;
	}
	return 0;
}
