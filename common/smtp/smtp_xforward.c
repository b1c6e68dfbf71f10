/*
 * smtp_xforward.c - XFORWARD attributes (Postfix XFORWARD_README).
 *
 * "XFORWARD attr=value ..." with attr one of NAME ADDR PORT PROTO HELO IDENT
 * SOURCE; values are xtext (RFC 3461 §4); any value may be [UNAVAILABLE]; an
 * IPv6 ADDR carries an "IPV6:" prefix.  Attributes accumulate over several
 * commands until the end of the mail transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static const char *const smtp_xforward_names[SMTP_XFWD_COUNT] = {
	"NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE",
};

#define SMTP_XFWD_UNAVAILABLE "[UNAVAILABLE]"

/* smtp_xforward_attr_name - "NAME", "ADDR", ... */
const char *
smtp_xforward_attr_name(enum smtp_xfwd_attr a)
{
	return a < SMTP_XFWD_COUNT ? smtp_xforward_names[a] : "?";
}

/* smtp_xforward_clear - forget every attribute */
void
smtp_xforward_clear(struct smtp_xforward *x)
{
	for (int i = 0; i < SMTP_XFWD_COUNT; i++) {
		free(x->value[i]);
		x->value[i] = NULL;
		x->unavailable[i] = false;
	}
}

/* smtp_xforward_lookup - attribute index for a name, -1 if unknown */
static int
smtp_xforward_lookup(struct span name)
{
	for (int i = 0; i < SMTP_XFWD_COUNT; i++)
		if (span_eq_ci(name, smtp_xforward_names[i]))
			return i;
	return -1;
}

/* smtp_xforward_next - next blank-separated word of arg from *pos */
static bool
smtp_xforward_next(struct span arg, size_t *pos, struct span *w)
{
	size_t i = *pos, s;

	while (i < arg.len && (arg.p[i] == ' ' || arg.p[i] == '\t'))
		i++;
	if (i == arg.len)
		return false;
	s = i;
	while (i < arg.len && arg.p[i] != ' ' && arg.p[i] != '\t')
		i++;
	*w = (struct span){ arg.p + s, i - s };
	*pos = i;
	return true;
}

/* smtp_xforward_parse - apply "NAME=v ADDR=v ..." to x */
const char *
smtp_xforward_parse(struct span arg, struct smtp_xforward *x)
{
	struct smtp_xforward tmp = { 0 };
	struct span w;
	size_t pos = 0;
	int n = 0;

	while (smtp_xforward_next(arg, &pos, &w)) {
		const char *eq = memchr(w.p, '=', w.len);
		struct span name, val;
		struct buf b;
		int a;

		if (!eq)
			goto bad;
		name = (struct span){ w.p, (size_t)(eq - w.p) };
		val = (struct span){ eq + 1, w.len - name.len - 1 };
		if ((a = smtp_xforward_lookup(name)) < 0) {
			smtp_xforward_clear(&tmp);
			return "unknown XFORWARD attribute";
		}
		if (tmp.value[a] || tmp.unavailable[a])
			goto bad;
		n++;
		if (span_eq_ci(val, SMTP_XFWD_UNAVAILABLE)) {
			tmp.unavailable[a] = true;
			continue;
		}
		buf_init(&b, SMTP_XFWD_VALUE_LIMIT);
		if (smtp_xtext_decode(val.p, val.len, &b) < 0 ||
		    memchr(buf_cstr(&b), '\0', b.len)) {
			buf_clear(&b);
			goto bad;
		}
		tmp.value[a] = buf_steal(&b);
	}
	if (n == 0)
		goto bad;
	for (int i = 0; i < SMTP_XFWD_COUNT; i++) {
		if (!tmp.value[i] && !tmp.unavailable[i])
			continue;
		free(x->value[i]);
		x->value[i] = tmp.value[i];
		x->unavailable[i] = tmp.unavailable[i];
	}
	return NULL;
bad:
	smtp_xforward_clear(&tmp);
	return "bad XFORWARD syntax";
}

/* smtp_xforward_addr - ADDR without an "IPV6:" prefix, or NULL */
const char *
smtp_xforward_addr(const struct smtp_xforward *x)
{
	const char *a = x->value[SMTP_XFWD_ADDR];

	if (a && strncasecmp(a, "IPV6:", 5) == 0)
		return a + 5;
	return a;
}

/* smtp_xforward_format - "XFORWARD NAME=.. ADDR=.." for attributes in mask */
int
smtp_xforward_format(const struct smtp_xforward *x, unsigned mask,
    struct buf *out)
{
	int n = 0;

	for (int i = 0; i < SMTP_XFWD_COUNT; i++) {
		if (!(mask & (1u << i)) || (!x->value[i] && !x->unavailable[i]))
			continue;
		buf_append_str(out, n ? " " : "XFORWARD ");
		buf_append_str(out, smtp_xforward_names[i]);
		buf_append_char(out, '=');
		if (x->unavailable[i])
			buf_append_str(out, SMTP_XFWD_UNAVAILABLE);
		else
			smtp_xtext_encode(x->value[i], strlen(x->value[i]), out);
		n++;
	}
	return n;
}
