/*
 * reinject_rollover_state.c - the key rollover state file
 * (reinject_rollover.h): a switch to the next key (RFC 6376 §3.6.1) kept
 * across restarts in spool_directory.  "name = value" lines, "#" comments:
 * domain, old_selector and next_selector (selectors, RFC 6376 §3.1),
 * next_key_sha256 (64 lowercase hex digits) and switched_at (seconds since
 * the epoch).  All five are required, each once.  The file is written by
 * reinject_rollover_state_format; anything else in it is refused, and the
 * reader treats a refused file as absent.
 */
#include <stdio.h>
#include <string.h>

#include "dkim_table.h"
#include "reinject_rollover.h"
#include "util.h"

/* Latest switched_at accepted: 9999-12-31 23:59:59 UTC. */
#define STATE_TIME_MAX	253402300799LL

struct state_line {
	const char *name;	/* the file, for messages */
	unsigned lineno;
	unsigned seen;		/* bit per field */
	struct reinject_rollover_state *st;
	struct buf *err;
};

/* state_copy - a checked name into dst (room for the longest name) */
static int
state_copy(char *dst, struct span v)
{
	if (!dkim_table_label_ok(v, REINJECT_ROLLOVER_SELECTOR_MAX))
		return -1;
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

/* state_set_domain - domain = */
static int
state_set_domain(struct reinject_rollover_state *st, struct span v)
{
	return state_copy(st->domain, v);
}

/* state_set_old - old_selector = */
static int
state_set_old(struct reinject_rollover_state *st, struct span v)
{
	return state_copy(st->old_selector, v);
}

/* state_set_next - next_selector = */
static int
state_set_next(struct reinject_rollover_state *st, struct span v)
{
	return state_copy(st->next_selector, v);
}

/* state_set_hash - next_key_sha256 = 64 lowercase hex digits */
static int
state_set_hash(struct reinject_rollover_state *st, struct span v)
{
	if (v.len != REINJECT_ROLLOVER_HASH_HEX)
		return -1;
	for (size_t i = 0; i < v.len; i++)
		if (!((v.p[i] >= '0' && v.p[i] <= '9') ||
		    (v.p[i] >= 'a' && v.p[i] <= 'f')))
			return -1;
	memcpy(st->key_sha256, v.p, v.len);
	st->key_sha256[v.len] = '\0';
	return 0;
}

/* state_set_time - switched_at = decimal seconds, 1 .. STATE_TIME_MAX */
static int
state_set_time(struct reinject_rollover_state *st, struct span v)
{
	long long t = 0;

	if (v.len == 0 || v.len > 12 || v.p[0] == '0')
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		t = t * 10 + (v.p[i] - '0');
	}
	if (t > STATE_TIME_MAX)
		return -1;
	st->switched_at = t;
	return 0;
}

static const struct state_field {
	const char *key;
	int (*set)(struct reinject_rollover_state *, struct span);
	const char *why;	/* when the value is refused */
} state_fields[] = {
	{ "domain", state_set_domain, "not a domain name" },
	{ "old_selector", state_set_old, "not a selector" },
	{ "next_selector", state_set_next, "not a selector" },
	{ "next_key_sha256", state_set_hash, "not 64 lowercase hex digits" },
	{ "switched_at", state_set_time, "not a time in seconds since 1970" },
};
#define STATE_NFIELDS	(sizeof(state_fields) / sizeof(state_fields[0]))

/* state_err - "name:line: why"; always -1 */
static int
state_err(const struct state_line *l, const char *key, const char *why)
{
	buf_printf(l->err, "%s:%u: %s%s%s\n", l->name, l->lineno, key ? key : "",
	    key ? ": " : "", why);
	return -1;
}

/* state_set - one "name = value" setting */
static int
state_set(struct state_line *l, struct span k, struct span v)
{
	for (size_t i = 0; i < STATE_NFIELDS; i++) {
		if (!span_eq_ci(k, state_fields[i].key))
			continue;
		if (l->seen & (1u << i))
			return state_err(l, state_fields[i].key, "set twice");
		if (memchr(v.p, '\0', v.len) != NULL || state_fields[i].set(l->st, v) < 0)
			return state_err(l, state_fields[i].key, state_fields[i].why);
		l->seen |= 1u << i;
		return 0;
	}
	return state_err(l, NULL, "unknown setting (domain, old_selector, "
	    "next_selector, next_key_sha256 or switched_at)");
}

/* state_line - one line: blank, comment or setting */
static int
state_line(struct state_line *l, const char *p, size_t len)
{
	struct span s = span_trim((struct span){ p, len });
	const char *eq;

	if (s.len == 0 || s.p[0] == '#')
		return 0;
	if ((eq = memchr(s.p, '=', s.len)) == NULL)
		return state_err(l, NULL, "expected \"name = value\"");
	return state_set(l, span_trim((struct span){ s.p, (size_t)(eq - s.p) }),
	    span_trim((struct span){ eq + 1, s.len - (size_t)(eq - s.p) - 1 }));
}

/* reinject_rollover_state_parse - a state file's text into st */
int
reinject_rollover_state_parse(const char *p, size_t len, const char *name,
    struct reinject_rollover_state *st, struct buf *err)
{
	struct state_line l = { name, 0, 0, st, err };
	int rc = 0;

	memset(st, 0, sizeof(*st));
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;

		l.lineno++;
		if (state_line(&l, p, n) < 0)
			rc = -1;
		p += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	if (rc == 0 && l.seen != (1u << STATE_NFIELDS) - 1) {
		buf_printf(err, "%s: domain, old_selector, next_selector, "
		    "next_key_sha256 and switched_at are all required\n", name);
		rc = -1;
	}
	return rc;
}

/* reinject_rollover_state_format - the file's text; its length, or -1 */
int
reinject_rollover_state_format(const struct reinject_rollover_state *st,
    char *out, size_t size)
{
	int n = snprintf(out, size, "# DKIM key rollover: the switch to the next "
	    "key, kept across restarts\n# (reinject-keygen(8)); written by "
	    "reinject, removed once the rollover is done\ndomain = %s\n"
	    "old_selector = %s\nnext_selector = %s\nnext_key_sha256 = %s\n"
	    "switched_at = %lld\n", st->domain, st->old_selector, st->next_selector,
	    st->key_sha256, st->switched_at);

	return n < 0 || (size_t)n >= size ? -1 : n;
}
