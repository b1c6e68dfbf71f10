/*
 * reinject_rollover_file.c - the key rollover plan written by "reinject
 * keygen --next" beside the current key ("<keyfile>.next"): "name = value"
 * lines, "#" comments, next_selector (a selector, RFC 6376 §3.1) and
 * next_key_file (an absolute path).  Both are required, each once.
 */
#include <string.h>

#include "dkim_table.h"
#include "reinject_rollover.h"
#include "util.h"

struct rollover_line {
	const char *name;	/* the file, for messages */
	unsigned lineno;
	struct reinject_rollover_plan *plan;
	struct buf *err;
};

/* rollover_path_ok - absolute, no NUL, fits */
static bool
rollover_path_ok(struct span s)
{
	return s.len > 1 && s.len <= REINJECT_ROLLOVER_PATH_MAX && s.p[0] == '/' &&
	    memchr(s.p, '\0', s.len) == NULL;
}

/* rollover_err - "name:line: why"; always -1 */
static int
rollover_err(const struct rollover_line *l, const char *why)
{
	buf_printf(l->err, "%s:%u: %s\n", l->name, l->lineno, why);
	return -1;
}

/* rollover_set - one "name = value" setting */
static int
rollover_set(const struct rollover_line *l, struct span k, struct span v)
{
	char *dst;

	if (span_eq_ci(k, "next_selector")) {
		if (!dkim_table_label_ok(v, REINJECT_ROLLOVER_SELECTOR_MAX))
			return rollover_err(l, "next_selector: not a selector "
			    "(letters, digits, '-', '_' and dots)");
		dst = l->plan->selector;
	} else if (span_eq_ci(k, "next_key_file")) {
		if (!rollover_path_ok(v))
			return rollover_err(l, "next_key_file: not an absolute path");
		dst = l->plan->key_file;
	} else
		return rollover_err(l, "unknown setting (next_selector or "
		    "next_key_file)");
	if (dst[0] != '\0')
		return rollover_err(l, "set twice");
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

/* rollover_line - one line: blank, comment or setting */
static int
rollover_line(const struct rollover_line *l, const char *p, size_t len)
{
	struct span s = span_trim((struct span){ p, len });
	const char *eq;

	if (s.len == 0 || s.p[0] == '#')
		return 0;
	if ((eq = memchr(s.p, '=', s.len)) == NULL)
		return rollover_err(l, "expected \"name = value\"");
	return rollover_set(l, span_trim((struct span){ s.p, (size_t)(eq - s.p) }),
	    span_trim((struct span){ eq + 1, s.len - (size_t)(eq - s.p) - 1 }));
}

/* reinject_rollover_parse - a plan file's text into plan */
int
reinject_rollover_parse(const char *p, size_t len, const char *name,
    struct reinject_rollover_plan *plan, struct buf *err)
{
	struct rollover_line l = { name, 0, plan, err };
	int rc = 0;

	memset(plan, 0, sizeof(*plan));
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl ? (size_t)(nl - p) : len;

		l.lineno++;
		if (rollover_line(&l, p, n) < 0)
			rc = -1;
		p += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	if (rc == 0 && (!plan->selector[0] || !plan->key_file[0])) {
		buf_printf(err, "%s: next_selector and next_key_file are both "
		    "required\n", name);
		rc = -1;
	}
	return rc;
}
