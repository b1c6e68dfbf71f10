/*
 * reinject_opendkim_sets.c - OpenDKIM data sets of names (opendkim.conf(5),
 * DATA SETS) for Domain, SignHeaders, OversignHeaders and OmitHeaders:
 *   csl:a,b          a comma-separated list
 *   file:/path, /p   a flat file, the first word of each line ("#" comments)
 *   a,b              no type and no leading "/": a comma-separated list
 * refile:, db:, dsn:, ldap:, lua:, ... are refused with the reason.  Then the
 * header-list forms: an entry "*" starts from the default list, "+name"
 * adds, "-name" removes, a plain name adds (OmitHeaders in opendkim.conf(5)).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reinject_foreign.h"

/* Names in one set: far above any header list or Domain set in use. */
#define ODKSET_NAMES_MAX	256

/*
 * odkset_add - append (p, len) trimmed, if not empty and not there yet; a
 * set read from a file stops at ODKSET_NAMES_MAX (then overflow, an error)
 */
static void
odkset_add(struct reinject_opendkim_set *set, const char *p, size_t len)
{
	struct span t = span_trim((struct span){ p, len });

	if (t.len == 0 || reinject_opendkim_set_has(set, t.p, t.len))
		return;
	if (set->n == ODKSET_NAMES_MAX && !set->unbounded) {
		set->overflow = true;
		return;
	}
	set->names = xrealloc(set->names, (set->n + 1) * sizeof(*set->names));
	set->names[set->n++] = xmemdup0(t.p, t.len);
}

/* odkset_csl - a comma-separated list */
static void
odkset_csl(struct reinject_opendkim_set *set, const char *p, size_t len)
{
	while (len) {
		const char *c = memchr(p, ',', len);
		size_t n = c ? (size_t)(c - p) : len;

		odkset_add(set, p, n);
		p += n + (c != NULL);
		len -= n + (c != NULL);
	}
}

/* odkset_file - a flat file: the first word of each line */
static int
odkset_file(struct reinject_opendkim_set *set, const char *path, struct buf *e)
{
	size_t len, i = 0;
	char *text = config_read_file(path, &len, e);

	if (text == NULL)
		return -1;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *hash = memchr(text + i, '#', end - i);
		struct span l = span_trim((struct span){ text + i,
		    (size_t)((hash ? hash : text + end) - (text + i)) });
		size_t w = 0;

		while (w < l.len && l.p[w] != ' ' && l.p[w] != '\t')
			w++;
		if (memchr(l.p, '\0', w)) {
			buf_printf(e, "%s: a NUL byte in a name", path);
			free(text);
			return -1;
		}
		odkset_add(set, l.p, w);
		i = end + 1;
	}
	free(text);
	return 0;
}

/* reinject_opendkim_set_read - the data set v; 0, or -1 with e */
int
reinject_opendkim_set_read(struct reinject_opendkim_set *set, struct span v,
    struct buf *e)
{
	const char *colon = memchr(v.p, ':', v.len);
	int rc = 0;

	memset(set, 0, sizeof(*set));
	for (size_t i = 0; i < v.len; i++) {
		/* a name is printable; a NUL would cut it short unseen */
		if ((unsigned char)v.p[i] < 0x20 && v.p[i] != '\t') {
			buf_printf(e, "a control character in the value");
			return -1;
		}
	}
	if (v.len > 4 && strncasecmp(v.p, "csl:", 4) == 0)
		odkset_csl(set, v.p + 4, v.len - 4);
	else if ((v.len > 5 && strncasecmp(v.p, "file:", 5) == 0) ||
	    (v.len && v.p[0] == '/')) {
		size_t skip = v.p[0] == '/' ? 0 : 5;
		char *path = xmemdup0(v.p + skip, v.len - skip);

		rc = odkset_file(set, path, e);
		free(path);
		if (rc < 0 && e->len && e->data[e->len - 1] == '\n')
			buf_truncate(e, e->len - 1);
	} else if (colon) {
		buf_printf(e, "data set type \"%.*s\" is not supported here; "
		    "use csl:, file: or a comma-separated list",
		    (int)(colon - v.p + 1), v.p);
		rc = -1;
	} else
		odkset_csl(set, v.p, v.len);
	if (rc == 0 && set->overflow) {
		buf_printf(e, "more than %d names", ODKSET_NAMES_MAX);
		rc = -1;
	}
	return rc;
}

/* reinject_opendkim_set_has - is (p, len) in the set (case-insensitive) */
bool
reinject_opendkim_set_has(const struct reinject_opendkim_set *set,
    const char *p, size_t len)
{
	for (size_t i = 0; i < set->n; i++)
		if (strlen(set->names[i]) == len &&
		    strncasecmp(set->names[i], p, len) == 0)
			return true;
	return false;
}

/* odkset_remove - drop name from the set */
static void
odkset_remove(struct reinject_opendkim_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++) {
		if (strcasecmp(set->names[i], name) != 0)
			continue;
		free(set->names[i]);
		memmove(&set->names[i], &set->names[i + 1],
		    (set->n - i - 1) * sizeof(*set->names));
		set->n--;
		return;
	}
}

/*
 * reinject_opendkim_set_delta - the header-list forms: with "*" among the
 * entries the result starts from base (NULL-terminated); "+x" and "x" add,
 * "-x" removes; the result replaces set
 */
void
reinject_opendkim_set_delta(struct reinject_opendkim_set *set,
    const char *const *base)
{
	struct reinject_opendkim_set out = { .unbounded = true };
	bool star = reinject_opendkim_set_has(set, "*", 1);

	for (size_t i = 0; star && base[i]; i++)
		odkset_add(&out, base[i], strlen(base[i]));
	for (size_t i = 0; i < set->n; i++) {
		const char *e = set->names[i];
		bool pm = e[0] == '+' || e[0] == '-';
		struct span t = span_trim(span_from_cstr(e + pm));
		char *name;

		/* "*" marks the delta form; "+*" or "-*" names no field */
		if (t.len == 0 || (t.len == 1 && t.p[0] == '*'))
			continue;
		name = xmemdup0(t.p, t.len);
		if (e[0] == '-')
			odkset_remove(&out, name);
		else
			odkset_add(&out, name, t.len);
		free(name);
	}
	reinject_opendkim_set_clear(set);
	*set = out;
	set->unbounded = false;
}

/* reinject_opendkim_set_join - the names as "a, b, c" into b */
void
reinject_opendkim_set_join(const struct reinject_opendkim_set *set, struct buf *b)
{
	for (size_t i = 0; i < set->n; i++)
		buf_printf(b, "%s%s", i ? ", " : "", set->names[i]);
}

/* reinject_opendkim_set_clear - release */
void
reinject_opendkim_set_clear(struct reinject_opendkim_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->names[i]);
	free(set->names);
	memset(set, 0, sizeof(*set));
}
