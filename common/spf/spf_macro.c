/*
 * spf_macro.c - SPF macro scanner and expander (RFC 7208 §7).
 *
 * One scanner (spf_macro_next) serves the record parser's syntax check and the
 * expander, so both agree on what a macro-string is.  Input is (pointer, length);
 * nothing here depends on NUL termination.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"
#include "util.h"

/* §7.1 delimiter = "." / "-" / "+" / "," / "/" / "_" / "=" */
#define SPF_MACRO_DELIMS	".-+,/_="

enum macro_tok_kind {
	MACRO_TOK_LITERAL,	/* p[start..end) copied as is */
	MACRO_TOK_TEXT,		/* %% %_ %- : fixed text */
	MACRO_TOK_EXPAND,	/* %{...} */
};

struct macro_tok {
	enum macro_tok_kind kind;
	size_t start, end;	/* literal bytes */
	const char *text;	/* fixed text */
	char letter;		/* lower case */
	bool upper;		/* §7.3: URL-escape the value */
	unsigned digits;	/* 0: keep all parts */
	bool reverse;
	char delims[sizeof(SPF_MACRO_DELIMS)];
};

/* macro_is_letter - §7.1 macro-letter */
static bool
macro_is_letter(char c)
{
	return c != '\0' && strchr("slodiphcrtv", c) != NULL;
}

/* macro_literal_ok - §7.1 macro-literal, plus SP in explain-string (§6.2) */
static bool
macro_literal_ok(unsigned char c, bool exp)
{
	if (c == ' ')
		return exp;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/* macro_parse_braced - "%{" letter transformers *delimiter "}" starting at p[i] = '{' */
static int
macro_parse_braced(const char *p, size_t len, size_t *i, bool exp,
    struct macro_tok *t, const char **err)
{
	size_t k = *i + 1, nd = 0;
	char c;

	if (k >= len) {
		*err = "truncated macro: missing letter after %{";
		return -1;
	}
	c = p[k];
	t->upper = c >= 'A' && c <= 'Z';
	t->letter = t->upper ? (char)(c + 32) : c;
	if (!macro_is_letter(t->letter)) {
		*err = "invalid macro letter";
		return -1;
	}
	k++;
	for (; k < len && p[k] >= '0' && p[k] <= '9'; k++) {
		t->digits = t->digits * 10 + (unsigned)(p[k] - '0');
		if (t->digits > SPF_MACRO_DIGITS_MAX)
			t->digits = SPF_MACRO_DIGITS_MAX;
		nd++;
	}
	if (!exp && t->letter != '\0' && strchr("crt", t->letter) != NULL) {
		*err = "macros c, r and t are allowed only in exp= text";
		return -1;
	}
	if (nd > 0 && t->digits == 0) {
		*err = "macro transformer digit must be at least 1";
		return -1;
	}
	if (k < len && (p[k] == 'r' || p[k] == 'R')) {
		t->reverse = true;
		k++;
	}
	for (size_t n = 0; k < len && p[k] != '}'; k++) {
		if (p[k] == '\0' || strchr(SPF_MACRO_DELIMS, p[k]) == NULL) {
			*err = "invalid macro transformer or delimiter";
			return -1;
		}
		if (n < sizeof(t->delims) - 1)
			t->delims[n++] = p[k];
	}
	if (k >= len) {
		*err = "truncated macro: missing }";
		return -1;
	}
	*i = k + 1;
	return 0;
}

/* spf_macro_next - scan one token at p[*i]; 0 and *i advanced, or -1 */
static int
spf_macro_next(const char *p, size_t len, size_t *i, bool exp,
    struct macro_tok *t, const char **err)
{
	size_t k = *i;

	memset(t, 0, sizeof(*t));
	if (p[k] != '%') {
		t->kind = MACRO_TOK_LITERAL;
		t->start = k;
		while (k < len && p[k] != '%') {
			if (!macro_literal_ok((unsigned char)p[k], exp)) {
				*err = "invalid character in macro-string";
				return -1;
			}
			k++;
		}
		t->end = k;
		*i = k;
		return 0;
	}
	if (k + 1 >= len) {
		*err = "truncated macro: lone %";
		return -1;
	}
	t->kind = MACRO_TOK_TEXT;
	switch (p[k + 1]) {
	case '%':
		t->text = "%";
		break;
	case '_':
		t->text = " ";
		break;
	case '-':
		t->text = "%20";
		break;
	case '{':
		t->kind = MACRO_TOK_EXPAND;
		*i = k + 1;
		return macro_parse_braced(p, len, i, exp, t, err);
	default:
		*err = "invalid character after %";
		return -1;
	}
	*i = k + 2;
	return 0;
}

/* spf_macro_check - syntax of a macro-string (§7.1) */
int
spf_macro_check(const char *p, size_t len, bool exp, bool *ends_macro,
    const char **err)
{
	struct macro_tok t;
	size_t i = 0;

	if (ends_macro != NULL)
		*ends_macro = false;
	while (i < len) {
		if (spf_macro_next(p, len, &i, exp, &t, err) < 0)
			return -1;
		if (ends_macro != NULL)
			*ends_macro = t.kind != MACRO_TOK_LITERAL;
	}
	return 0;
}

/* spf_macro_uses_p - the string contains a %{p} macro */
bool
spf_macro_uses_p(const char *p, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (p[i] == '%' && p[i + 1] == '%') {
			i++;
			continue;
		}
		if (p[i] == '%' && p[i + 1] == '{' && (p[i + 2] | 0x20) == 'p')
			return true;
	}
	return false;
}

/* macro_value - the raw value of a letter (§7.3) into v */
static int
macro_value(const struct spf_macro_ctx *ctx, char letter, struct buf *v,
    const char **err)
{
	struct spf_addr a;
	const char *s = NULL;

	switch (letter) {
	case 's': s = ctx->sender; break;
	case 'l': s = ctx->local_part; break;
	case 'o': s = ctx->sender_domain; break;
	case 'd': s = ctx->domain; break;
	case 'h': s = ctx->helo; break;
	case 'p': s = ctx->validated_ptr ? ctx->validated_ptr : "unknown"; break;
	case 'r': s = ctx->receiver ? ctx->receiver : "unknown"; break;
	case 't': return buf_printf(v, "%lld", ctx->now);
	case 'i': case 'c': case 'v':
		if (ctx->client == NULL || spf_addr_from_sockaddr(ctx->client, &a) < 0) {
			*err = "no client address for macro";
			return -1;
		}
		if (letter == 'v')
			return buf_append_str(v, a.family == AF_INET ? "in-addr" : "ip6");
		return letter == 'i' ? spf_addr_dotted(&a, v) : spf_addr_text(&a, v);
	}
	return buf_append_str(v, s ? s : "");
}

/* macro_split - cut value into parts at any of delims; returns the count */
static size_t
macro_split(const char *val, size_t len, const char *delims, struct span *parts,
    size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && strchr(delims, val[i]) == NULL)
			continue;
		if (n == max) {	/* fold the rest into the last part */
			parts[n - 1].len = len - (size_t)(parts[n - 1].p - val);
			break;
		}
		parts[n].p = val + start;
		parts[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* macro_url_escape - §7.3: uppercase letters URL-encode non-unreserved bytes */
static int
macro_url_escape(struct buf *out, const char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			buf_append_char(out, (char)c);
		else {
			buf_append_char(out, '%');
			buf_append_char(out, hex[c >> 4]);
			buf_append_char(out, hex[c & 15]);
		}
	}
	return out->overflow ? -1 : 0;
}

/* macro_transform - split, reverse, keep the right-hand parts, join with "." (§7.3) */
static int
macro_transform(const struct macro_tok *t, const struct buf *val, struct buf *out)
{
	enum { MAX_PARTS = 256 };
	struct span parts[MAX_PARTS];
	const char *delims = t->delims[0] ? t->delims : ".";
	struct buf joined;
	size_t n, first = 0;
	int rc;

	n = macro_split(val->data ? val->data : "", val->len, delims, parts, MAX_PARTS);
	if (t->reverse)
		for (size_t i = 0; i < n / 2; i++) {
			struct span tmp = parts[i];

			parts[i] = parts[n - 1 - i];
			parts[n - 1 - i] = tmp;
		}
	if (t->digits > 0 && t->digits < n)
		first = n - t->digits;
	buf_init(&joined, SPF_EXPAND_MAX);
	for (size_t i = first; i < n; i++) {
		if (i > first)
			buf_append_char(&joined, '.');
		buf_append(&joined, parts[i].p, parts[i].len);
	}
	if (joined.overflow)
		rc = -1;
	else if (t->upper)
		rc = macro_url_escape(out, joined.data ? joined.data : "", joined.len);
	else
		rc = buf_append(out, joined.data ? joined.data : "", joined.len);
	buf_clear(&joined);
	return rc;
}

/* macro_expand_one - expand one %{...} token */
static int
macro_expand_one(const struct macro_tok *t, const struct spf_macro_ctx *ctx,
    struct buf *out, const char **err)
{
	struct buf val;
	int rc;

	buf_init(&val, SPF_EXPAND_MAX);
	rc = macro_value(ctx, t->letter, &val, err);
	if (rc == 0 && (rc = macro_transform(t, &val, out)) < 0)
		*err = "macro expansion too long";
	buf_clear(&val);
	return rc;
}

/* spf_macro_expand - expand macro-string (p, len) into out */
int
spf_macro_expand(const char *p, size_t len, const struct spf_macro_ctx *ctx,
    struct buf *out, const char **err)
{
	struct macro_tok t;
	size_t i = 0;

	while (i < len) {
		if (spf_macro_next(p, len, &i, ctx->exp, &t, err) < 0)
			return -1;
		if (t.kind == MACRO_TOK_LITERAL)
			buf_append(out, p + t.start, t.end - t.start);
		else if (t.kind == MACRO_TOK_TEXT)
			buf_append_str(out, t.text);
		else if (macro_expand_one(&t, ctx, out, err) < 0)
			return -1;
		if (out->overflow) {
			*err = "macro expansion too long";
			return -1;
		}
	}
	return 0;
}
