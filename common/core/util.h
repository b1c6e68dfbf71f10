/*
 * util.h - allocation wrappers that abort on exhaustion, borrowed spans.
 *
 * Out of memory is not a condition the daemons try to survive: the wrappers log and
 * abort, so a half-built verdict can never leak out (STYLE: errors, kind 2).
 */
#ifndef MAILAUTH_UTIL_H
#define MAILAUTH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A borrowed (pointer, length) view; never NUL-terminated by contract. */
struct span {
	const char *p;
	size_t len;
};

#define SPAN_LIT(s) ((struct span){ (s), sizeof(s) - 1 })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xmemdup0(const void *p, size_t n);

/* span_from_cstr - span over a NUL-terminated string */
struct span span_from_cstr(const char *s);
/* span_eq_ci - ASCII case-insensitive comparison of a span and a C string */
bool span_eq_ci(struct span a, const char *s);
/* span_trim - strip leading and trailing SP/HTAB/CR/LF */
struct span span_trim(struct span s);

/* ascii_strncasecmp_eq - case-insensitive equality of two byte ranges */
bool ascii_mem_eq_ci(const char *a, const char *b, size_t n);

/*
 * domain_is_under - the name (p, len) is domain or below it: equal, or ending
 * in "." + domain; ASCII case folded (RFC 4343), a trailing dot on either
 * side ignored; never true for an empty domain
 */
bool domain_is_under(const char *p, size_t len, const char *domain);

#endif
