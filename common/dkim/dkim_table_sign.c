/*
 * dkim_table_sign.c - SigningTable key matching as OpenDKIM does it
 * (opendkim.conf(5) SigningTable): wildcard patterns for "refile:" tables, and the
 * fixed order of keys tried in a plain table.
 */
#include <stdio.h>
#include <string.h>

#include "dkim_table.h"
#include "dkim_table_int.h"

/* lower - ASCII lower case of one byte */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* dkim_table_sign_glob - OpenDKIM refile wildcard match ("*" any run), ASCII ci */
bool
dkim_table_sign_glob(struct span pat, struct span s)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	/* iterative matcher with one backtrack point: linear in practice */
	while (si < s.len) {
		if (pi < pat.len && pat.p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pat.len && lower(pat.p[pi]) == lower(s.p[si])) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else
			return false;
	}
	while (pi < pat.len && pat.p[pi] == '*')
		pi++;
	return pi == pat.len;
}

/* try_key - format one candidate and offer it */
static bool
try_key(bool (*fn)(void *, struct span), void *arg, const char *fmt,
    struct span a, struct span b)
{
	char key[DKIM_TABLE_LOCAL_MAX + DKIM_TABLE_DOMAIN_MAX + 4];
	int n = snprintf(key, sizeof(key), fmt, (int)a.len, a.p, (int)b.len, b.p);

	if (n < 0 || (size_t)n >= sizeof(key))
		return false;
	return fn(arg, (struct span){ key, (size_t)n });
}

/*
 * dkim_table_sign_candidates - the plain SigningTable keys for user@domain in
 * OpenDKIM's order: user@host, host, user@.parent for each parent, .parent for
 * each parent, user@*, *.
 */
bool
dkim_table_sign_candidates(struct span user, struct span domain,
    bool (*fn)(void *arg, struct span key), void *arg)
{
	static const struct span none = { "", 0 };
	const char *end = domain.p + domain.len, *p;

	if (try_key(fn, arg, "%.*s@%.*s", user, domain) ||
	    try_key(fn, arg, "%.*s%.*s", none, domain))
		return true;
	for (p = memchr(domain.p, '.', domain.len); p != NULL;
	    p = memchr(p + 1, '.', (size_t)(end - p - 1)))
		if (try_key(fn, arg, "%.*s@%.*s", user,
		    (struct span){ p, (size_t)(end - p) }))
			return true;
	for (p = memchr(domain.p, '.', domain.len); p != NULL;
	    p = memchr(p + 1, '.', (size_t)(end - p - 1)))
		if (try_key(fn, arg, "%.*s%.*s", none,
		    (struct span){ p, (size_t)(end - p) }))
			return true;
	return try_key(fn, arg, "%.*s@*%.*s", user, none) ||
	    try_key(fn, arg, "*%.*s%.*s", none, none);
}
