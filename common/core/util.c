/*
 * util.c - allocation wrappers and span helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void
oom(size_t n)
{
	fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
	abort();
}

/* xmalloc - malloc or abort */
void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

/* xcalloc - calloc or abort */
void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

/* xrealloc - realloc or abort */
void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

/* xstrdup - strdup or abort */
char *
xstrdup(const char *s)
{
	return xmemdup0(s, strlen(s));
}

/* xstrndup - strndup or abort */
char *
xstrndup(const char *s, size_t n)
{
	return xmemdup0(s, strnlen(s, n));
}

/* xmemdup0 - copy n bytes and NUL-terminate */
char *
xmemdup0(const void *p, size_t n)
{
	char *q = xmalloc(n + 1);

	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

/* span_from_cstr - span over a NUL-terminated string */
struct span
span_from_cstr(const char *s)
{
	return (struct span){ s, s ? strlen(s) : 0 };
}

/* ascii_mem_eq_ci - case-insensitive equality of two byte ranges */
bool
ascii_mem_eq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned x = (unsigned char)a[i], y = (unsigned char)b[i];

		/* bytes that differ are equal only as the two cases of a letter:
		 * they differ in 0x20 alone and the lower one is a-z */
		if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) - 'a' > 'z' - 'a'))
			return false;
	}
	return true;
}

/* span_eq_ci - ASCII case-insensitive comparison of a span and a C string */
bool
span_eq_ci(struct span a, const char *s)
{
	size_t n = strlen(s);

	return a.len == n && ascii_mem_eq_ci(a.p, s, n);
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* span_trim - strip leading and trailing SP/HTAB/CR/LF */
struct span
span_trim(struct span s)
{
	while (s.len && is_ws(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_ws(s.p[s.len - 1]))
		s.len--;
	return s;
}

/* domain_is_under - name (p, len) equals domain or is below it (see util.h) */
bool
domain_is_under(const char *p, size_t len, const char *domain)
{
	size_t d = strlen(domain);

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (d > 0 && domain[d - 1] == '.')
		d--;
	if (d == 0 || len < d || !ascii_mem_eq_ci(p + len - d, domain, d))
		return false;
	return len == d || p[len - d - 1] == '.';
}
