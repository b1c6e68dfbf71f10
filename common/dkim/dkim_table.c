/*
 * dkim_table.c - the signing configuration: KeyTable and SigningTable (OpenDKIM
 * formats, opendkim.conf(5)) or the simple single-domain form, validated at load,
 * and the lookup from a sender address to its signers (RFC 6376 §3.5 d=, s=, i=).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_table.h"
#include "dkim_table_int.h"
#include "log.h"

/* lower_str - ASCII lower case in place */
static void
lower_str(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * dkim_table_label_ok - s is a domain or selector of at most max bytes:
 * letters, digits, '-', '_' and inner single dots (RFC 6376 §3.1, §3.5)
 */
bool
dkim_table_label_ok(struct span s, size_t max)
{
	if (s.len == 0 || s.len > max || s.p[0] == '.' || s.p[s.len - 1] == '.')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
		if (c == '.' && i + 1 < s.len && s.p[i + 1] == '.')
			return false;
	}
	return true;
}

/* dkim_table_find_key - a KeyTable entry by name */
struct tkey *
dkim_table_find_key(const struct dkim_table *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (strlen(t->keys[i].name) == len &&
		    memcmp(t->keys[i].name, name, len) == 0)
			return &t->keys[i];
	return NULL;
}

/* key_conflict - a key name or a domain:selector defined twice */
static int
key_conflict(const struct dkim_table *t, const struct tkey *k,
    const struct dkim_table_line *l, char *err, size_t errsz)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		const struct tkey *o = &t->keys[i];

		if (strcmp(o->name, k->name) == 0) {
			dkim_table_file_err(err, errsz, l, "key name \"%s\" is already "
			    "defined at line %u", k->name, o->lineno);
			return -1;
		}
		if (strcasecmp(o->domain, k->domain) == 0 &&
		    strcasecmp(o->selector, k->selector) == 0 &&
		    strcmp(o->source, k->source) != 0) {
			dkim_table_file_err(err, errsz, l, "%s._domainkey.%s already has "
			    "a different key (\"%s\", line %u): one selector publishes "
			    "one key", k->selector, k->domain, o->name, o->lineno);
			return -1;
		}
	}
	return 0;
}

/* key_split - "domain:selector:key[:alg]" into its fields */
static int
key_split(struct span v, struct span f[3], struct span *alg)
{
	const char *c1 = memchr(v.p, ':', v.len), *c2, *last;

	if (c1 == NULL)
		return -1;
	c2 = memchr(c1 + 1, ':', (size_t)(v.p + v.len - c1 - 1));
	if (c2 == NULL)
		return -1;
	f[0] = (struct span){ v.p, (size_t)(c1 - v.p) };
	f[1] = (struct span){ c1 + 1, (size_t)(c2 - c1 - 1) };
	f[2] = (struct span){ c2 + 1, (size_t)(v.p + v.len - c2 - 1) };
	*alg = (struct span){ NULL, 0 };
	last = memrchr(f[2].p, ':', f[2].len);
	if (last != NULL) {
		*alg = (struct span){ last + 1, (size_t)(f[2].p + f[2].len - last - 1) };
		f[2].len = (size_t)(last - f[2].p);
	}
	return 0;
}

/* is_path - a key file path, as OpenDKIM tells it from an inline key */
static bool
is_path(struct span s)
{
	return (s.len > 0 && s.p[0] == '/') || (s.len > 1 && memcmp(s.p, "./", 2) == 0)
	    || (s.len > 2 && memcmp(s.p, "../", 3) == 0);
}

/* key_load - load and check the key now, unless its path depends on the domain */
static int
key_load(struct dkim_table *t, struct tkey *k, struct span keytext,
    const struct dkim_table_line *l, char *err, size_t errsz)
{
	char why[DKIM_TABLE_ERR_MAX];

	if (k->path != NULL && strchr(k->path, '%') != NULL)
		return 0;
	if (k->path != NULL)
		k->key = dkim_table_key_load_file(k->path, k->declared, &k->alg,
		    &t->key_opts, why, sizeof(why));
	else
		k->key = dkim_table_key_load_inline(keytext, k->declared, &k->alg,
		    why, sizeof(why));
	if (k->key == NULL) {
		dkim_table_file_err(err, errsz, l, "key \"%s\": %s", k->name, why);
		return -1;
	}
	return 0;
}

/* tkey_clear - release one KeyTable entry */
static void
tkey_clear(struct tkey *k)
{
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	free(k->source);
	EVP_PKEY_free(k->key);
	for (size_t i = 0; i < k->ncache; i++) {
		free(k->cache[i].path);
		EVP_PKEY_free(k->cache[i].key);
	}
	free(k->cache);
}

/* key_fields - check the fields of one KeyTable value into k */
static int
key_fields(struct tkey *k, struct span v, struct span f[3],
    const struct dkim_table_line *l, char *err, size_t errsz)
{
	struct span alg;

	if (key_split(v, f, &alg) < 0) {
		dkim_table_file_err(err, errsz, l, "key \"%.*s\": value must be "
		    "domain:selector:keyfile[:algorithm]", (int)l->key.len, l->key.p);
		return -1;
	}
	if (!(f[0].len == 1 && f[0].p[0] == '%') && !dkim_table_label_ok(f[0], DKIM_TABLE_DOMAIN_MAX)) {
		dkim_table_file_err(err, errsz, l, "\"%.*s\" is not a domain name",
		    (int)f[0].len, f[0].p);
		return -1;
	}
	if (!dkim_table_label_ok(f[1], DKIM_TABLE_DOMAIN_MAX)) {
		dkim_table_file_err(err, errsz, l, "\"%.*s\" is not a selector",
		    (int)f[1].len, f[1].p);
		return -1;
	}
	if (f[2].len == 0) {
		dkim_table_file_err(err, errsz, l, "no key file");
		return -1;
	}
	/* the signing algorithms only: rsa-sha1 is refused (RFC 8301) */
	if (alg.p != NULL && (dkim_alg_parse(alg, &k->alg) < 0 ||
	    k->alg == DKIM_ALG_RSA_SHA1)) {
		dkim_table_file_err(err, errsz, l, "unknown algorithm \"%.*s\" (use "
		    "rsa-sha256 or ed25519-sha256)", (int)alg.len, alg.p);
		return -1;
	}
	k->declared = alg.p != NULL;
	return 0;
}

/* keytable_line - one "name domain:selector:key[:alg]" line */
static int
keytable_line(void *arg, const struct dkim_table_line *l, char *err, size_t errsz)
{
	struct dkim_table *t = arg;
	struct tkey k = { .lineno = l->lineno };
	struct span f[3];

	if (l->value.len == 0 || memchr(l->value.p, ' ', l->value.len) ||
	    memchr(l->value.p, '\t', l->value.len)) {
		dkim_table_file_err(err, errsz, l, "expected \"name "
		    "domain:selector:keyfile\"");
		return -1;
	}
	if (memchr(l->key.p, '*', l->key.len)) {
		dkim_table_file_err(err, errsz, l, "key name \"%.*s\": a KeyTable "
		    "name is a name, not a pattern", (int)l->key.len, l->key.p);
		return -1;
	}
	if (key_fields(&k, l->value, f, l, err, errsz) < 0)
		return -1;
	k.name = xmemdup0(l->key.p, l->key.len);
	k.domain = xmemdup0(f[0].p, f[0].len);
	lower_str(k.domain);
	k.selector = xmemdup0(f[1].p, f[1].len);
	k.source = xmemdup0(f[2].p, f[2].len);
	if (is_path(f[2]))
		k.path = xstrdup(k.source);
	if (key_conflict(t, &k, l, err, errsz) < 0 ||
	    key_load(t, &k, f[2], l, err, errsz) < 0) {
		tkey_clear(&k);
		return -1;
	}
	t->keys = xrealloc(t->keys, (t->nkeys + 1) * sizeof(*t->keys));
	t->keys[t->nkeys++] = k;
	return 0;
}

/* sentry_conflict - same pattern twice with the same key, or two keys that clash */
static int
sentry_conflict(const struct dkim_table *t, const struct sentry *e,
    const struct dkim_table_line *l, char *err, size_t errsz)
{
	const struct tkey *o, *k = dkim_table_find_key(t, e->keyname,
	    strlen(e->keyname));

	for (size_t i = 0; i < t->nents; i++) {
		const struct sentry *p = &t->ents[i];

		if (strcasecmp(p->pattern, e->pattern) != 0)
			continue;
		if (strcmp(p->keyname, e->keyname) == 0) {
			dkim_table_file_err(err, errsz, l, "\"%s %s\" repeats line %u",
			    e->pattern, e->keyname, p->lineno);
			return -1;
		}
		o = dkim_table_find_key(t, p->keyname, strlen(p->keyname));
		if (k != NULL && o != NULL && k->key != NULL && o->key != NULL &&
		    strcasecmp(k->domain, o->domain) == 0 && k->alg == o->alg) {
			dkim_table_file_err(err, errsz, l, "\"%s\" already signs with "
			    "key \"%s\" (line %u), also %s for %s: dual signing needs "
			    "one rsa-sha256 and one ed25519-sha256 key", e->pattern,
			    p->keyname, p->lineno, dkim_alg_str(k->alg),
			    k->domain);
			return -1;
		}
	}
	return 0;
}

/* sentry_value - "keyname [signer]" or "keyname:signer" */
static void
sentry_value(struct span v, struct span *name, struct span *signer)
{
	size_t i = 0;

	while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t' && v.p[i] != ':')
		i++;
	*name = (struct span){ v.p, i };
	*signer = span_trim((struct span){ v.p + i + (i < v.len), v.len - i -
	    (i < v.len) });
}

/* signtable_line - one "pattern keyname [signer]" line */
static int
signtable_line(void *arg, const struct dkim_table_line *l, char *err,
    size_t errsz)
{
	struct dkim_table *t = arg;
	struct span name, signer;
	struct sentry e = { .lineno = l->lineno };

	sentry_value(l->value, &name, &signer);
	if (name.len == 0) {
		dkim_table_file_err(err, errsz, l, "expected \"pattern keyname "
		    "[signer]\"");
		return -1;
	}
	if (!(name.len == 1 && name.p[0] == '%') &&
	    dkim_table_find_key(t, name.p, name.len) == NULL) {
		dkim_table_file_err(err, errsz, l, "key name \"%.*s\" is not in the "
		    "KeyTable %s", (int)name.len, name.p, t->key_file);
		return -1;
	}
	if (signer.len > 0 && (memchr(signer.p, ' ', signer.len) ||
	    memchr(signer.p, '@', signer.len) == NULL)) {
		dkim_table_file_err(err, errsz, l, "signer \"%.*s\" is not an address "
		    "(i= is \"[user]@domain\")", (int)signer.len, signer.p);
		return -1;
	}
	e.pattern = xmemdup0(l->key.p, l->key.len);
	e.keyname = xmemdup0(name.p, name.len);
	e.signer = signer.len ? xmemdup0(signer.p, signer.len) : NULL;
	if (sentry_conflict(t, &e, l, err, errsz) < 0) {
		free(e.pattern), free(e.keyname), free(e.signer);
		return -1;
	}
	t->ents = xrealloc(t->ents, (t->nents + 1) * sizeof(*t->ents));
	t->ents[t->nents++] = e;
	return 0;
}

/* load_set - read one data set through fn */
static int
load_set(struct dkim_table *t, const char *spec, bool sign,
    dkim_table_line_fn fn, char *err, size_t errsz)
{
	enum dkim_table_spec kind;
	const char *rest;

	if (dkim_table_file_spec(spec, &kind, &rest, err, errsz) < 0)
		return -1;
	/* a refile: KeyTable (some guides write one) is read as a file: its
	 * names are looked up by the SigningTable, never matched as patterns */
	if (kind == DKIM_TABLE_SPEC_LIST) {
		snprintf(err, errsz, "%s: the %s must be a file (file:/path or "
		    "refile:/path)", spec, sign ? "SigningTable" : "KeyTable");
		return -1;
	}
	if (sign) {
		t->refile = kind == DKIM_TABLE_SPEC_REFILE;
		t->sign_file = xstrdup(rest);
	} else
		t->key_file = xstrdup(rest);
	return dkim_table_file_read(rest, fn, t, err, errsz);
}

/*
 * load_simple_one - one domain of the simple form: a KeyTable entry named
 * name for domain, and the SigningTable lines of the domain (and subdomains)
 */
static int
load_simple_one(struct dkim_table *t, const struct dkim_table_config *cfg,
    struct span domain, const char *name, char *err, size_t errsz)
{
	char kv[3 * DKIM_TABLE_LINE_MAX];
	struct dkim_table_line l = { .file = "(configuration)", .lineno = 0 };
	int n;

	n = snprintf(kv, sizeof(kv), "%.*s:%s:%s%s%s", (int)domain.len, domain.p,
	    cfg->selector, cfg->key_file, cfg->algorithm ? ":" : "",
	    cfg->algorithm ? cfg->algorithm : "");
	if (n < 0 || (size_t)n >= sizeof(kv)) {
		snprintf(err, errsz, "signing configuration too long");
		return -1;
	}
	l.key = span_from_cstr(name);
	l.value = span_from_cstr(kv);
	if (keytable_line(t, &l, err, errsz) < 0)
		return -1;
	n = snprintf(kv, sizeof(kv), ".%.*s", (int)domain.len, domain.p);
	l.key = (struct span){ kv + 1, (size_t)n - 1 };
	l.value = span_from_cstr(name);
	if (signtable_line(t, &l, err, errsz) < 0)
		return -1;
	l.key = (struct span){ kv, (size_t)n };
	return cfg->subdomains ? signtable_line(t, &l, err, errsz) : 0;
}

/*
 * load_simple - the simple form: one key and selector for the domain, or
 * for each domain of a comma-separated list (OpenDKIM's Domain data set);
 * d= is the listed domain, also for its subdomains
 */
static int
load_simple(struct dkim_table *t, const struct dkim_table_config *cfg, char *err,
    size_t errsz)
{
	const char *p = cfg->domain;
	unsigned n = 0;

	if (cfg->selector == NULL || cfg->key_file == NULL) {
		snprintf(err, errsz, "signing domain %s needs a selector and a key "
		    "file", cfg->domain);
		return -1;
	}
	t->key_file = xstrdup("(configuration)");
	t->sign_file = xstrdup("(configuration)");
	if (!is_path(span_from_cstr(cfg->key_file))) {
		snprintf(err, errsz, "key file %s: give an absolute path",
		    cfg->key_file);
		return -1;
	}
	while (*p) {
		size_t len = strcspn(p, ", \t");
		char name[32];

		if (len) {
			snprintf(name, sizeof(name), n ? "default%u" : "default", n);
			if (load_simple_one(t, cfg, (struct span){ p, len }, name,
			    err, errsz) < 0)
				return -1;
			n++;
		}
		p += len + (p[len] != '\0');
	}
	return 0;
}

/* dkim_table_free - release the tables and every key */
void
dkim_table_free(struct dkim_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nkeys; i++)
		tkey_clear(&t->keys[i]);
	for (size_t i = 0; i < t->nents; i++) {
		free(t->ents[i].pattern);
		free(t->ents[i].keyname);
		free(t->ents[i].signer);
	}
	free(t->keys);
	free(t->ents);
	free(t->key_file);
	free(t->sign_file);
	free(t);
}

/* dkim_table_key_count - KeyTable entries loaded */
size_t
dkim_table_key_count(const struct dkim_table *t)
{
	return t->nkeys;
}

/* dkim_table_key_get - entry i of the KeyTable; -1 past the end */
int
dkim_table_key_get(const struct dkim_table *t, size_t i, struct dkim_table_key_info *out)
{
	if (i >= t->nkeys)
		return -1;
	out->name = t->keys[i].name;
	out->domain = t->keys[i].domain;
	out->selector = t->keys[i].selector;
	out->path = t->keys[i].path;
	out->alg = t->keys[i].alg;
	out->key = t->keys[i].key;
	return 0;
}

/* dkim_table_key_switch - entry i signs from now on as selector with key */
int
dkim_table_key_switch(struct dkim_table *t, size_t i, const char *selector,
    EVP_PKEY *key, enum dkim_alg alg)
{
	struct tkey *k;

	if (i >= t->nkeys || t->keys[i].key == NULL || t->keys[i].alg != alg)
		return -1;
	k = &t->keys[i];
	/* signers hold their own reference and copy of the selector */
	EVP_PKEY_up_ref(key);
	EVP_PKEY_free(k->key);
	k->key = key;
	free(k->selector);
	k->selector = xstrdup(selector);
	return 0;
}

/* config_check - which form, and nothing half-given */
static int
config_check(const struct dkim_table_config *cfg, char *err, size_t errsz)
{
	if (cfg->key_table != NULL && cfg->domain != NULL) {
		snprintf(err, errsz, "both a KeyTable and a single signing domain are "
		    "configured; use one");
		return -1;
	}
	if (cfg->key_table != NULL && cfg->signing_table == NULL) {
		snprintf(err, errsz, "KeyTable %s without a SigningTable: nothing "
		    "would be signed", cfg->key_table);
		return -1;
	}
	if (cfg->key_table == NULL && cfg->signing_table != NULL) {
		snprintf(err, errsz, "SigningTable %s without a KeyTable",
		    cfg->signing_table);
		return -1;
	}
	if (cfg->key_table == NULL && cfg->domain == NULL) {
		snprintf(err, errsz, "no signing configuration (KeyTable and "
		    "SigningTable, or domain, selector and key file)");
		return -1;
	}
	return 0;
}

/* dkim_table_load - read and validate the tables */
struct dkim_table *
dkim_table_load(const struct dkim_table_config *cfg, char *err, size_t errsz)
{
	struct dkim_table *t;
	int rc;

	if (config_check(cfg, err, errsz) < 0)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->multiple = cfg->multiple_signatures;
	t->key_opts = cfg->key_opts;
	if (cfg->key_table != NULL)
		rc = load_set(t, cfg->key_table, false, keytable_line, err, errsz) < 0 ||
		    load_set(t, cfg->signing_table, true, signtable_line, err,
		    errsz) < 0 ? -1 : 0;
	else
		rc = load_simple(t, cfg, err, errsz);
	if (rc < 0) {
		dkim_table_free(t);
		return NULL;
	}
	return t;
}
