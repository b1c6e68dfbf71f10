/*
 * spf_macro.c - SPF macro scanner and expander (RFC 7208 §7).
 *
 * One scanner (spf_macro_next) serves the record parser's syntax check and the
 * expander, so both agree on what a macro-string is.  Input is (pointer, length);
 * nothing here depends on NUL termination.  A domain-spec is truncated as
 * §7.3 says while it is expanded, so no length of sender, local part or HELO
 * name turns into an error (and so into a result other than the policy's).
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

/*
 * Where expanded text goes.  An explain-string (§6.2) is bounded by its
 * buffer: longer is an error.  A domain-spec is used as a domain name, and of
 * a name over 253 octets §7.3 keeps only the right-hand labels that fit; so
 * left labels are dropped as the text grows, and a value of any length (a
 * local part of 10 KB) expands to the same name the whole text would give.
 */
struct macro_out {
	struct buf *b;
	bool domain;		/* drop left labels on the way (§7.3) */
	bool skipping;		/* inside a dropped label: drop up to its '.' */
};

/* Bytes appended at once to a domain-spec before left labels are dropped. */
#define MACRO_EMIT_CHUNK	1024

/*
 * macro_keep_tail - drop left labels while the name is longer than any name
 * §7.3 can keep (253 octets, plus a trailing dot spf_domain_truncate strips)
 */
static void
macro_keep_tail(struct macro_out *o)
{
	struct buf *b = o->b;

	while (b->len > SPF_DOMAIN_MAX + 1) {
		const char *dot = memchr(b->data, '.', b->len);
		size_t cut;

		if (dot == NULL) {
			/* one label longer than a name: it goes, and its rest with it */
			buf_truncate(b, 0);
			o->skipping = true;
			return;
		}
		cut = (size_t)(dot - b->data) + 1;
		memmove(b->data, b->data + cut, b->len - cut);
		buf_truncate(b, b->len - cut);
	}
}

/* macro_emit - append expanded text */
static void
macro_emit(struct macro_out *o, const char *p, size_t len)
{
	while (len > 0) {
		size_t n = len;

		if (o->skipping) {
			const char *dot = memchr(p, '.', len);

			if (dot == NULL)
				return;
			o->skipping = false;
			len -= (size_t)(dot + 1 - p);
			p = dot + 1;
			continue;
		}
		if (o->domain && n > MACRO_EMIT_CHUNK)
			n = MACRO_EMIT_CHUNK;
		buf_append(o->b, p, n);
		p += n;
		len -= n;
		if (o->domain)
			macro_keep_tail(o);
	}
}

/*
 * macro_value - the raw value of a letter (§7.3): a span of the context's
 * text, or the text computed into tmp
 */
static int
macro_value(const struct spf_macro_ctx *ctx, char letter, struct buf *tmp,
    struct span *v, const char **err)
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
	case 't': buf_printf(tmp, "%lld", ctx->now); break;
	case 'i': case 'c': case 'v':
		if (ctx->client == NULL || spf_addr_from_sockaddr(ctx->client, &a) < 0) {
			*err = "no client address for macro";
			return -1;
		}
		if (letter == 'v')
			buf_append_str(tmp, a.family == AF_INET ? "in-addr" : "ip6");
		else if (letter == 'i')
			spf_addr_dotted(&a, tmp);
		else
			spf_addr_text(&a, tmp);
		break;
	}
	if (tmp->overflow) {
		*err = "macro value too long";
		return -1;
	}
	*v = s != NULL ? span_from_cstr(s) : (struct span){ buf_cstr(tmp), tmp->len };
	return 0;
}

/* macro_url_escape - §7.3: uppercase letters URL-encode non-unreserved bytes */
static void
macro_url_escape(struct macro_out *o, const char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char chunk[192];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			chunk[n++] = (char)c;
		else {
			chunk[n++] = '%';
			chunk[n++] = hex[c >> 4];
			chunk[n++] = hex[c & 15];
		}
		if (n + 3 > sizeof(chunk)) {
			macro_emit(o, chunk, n);
			n = 0;
		}
	}
	macro_emit(o, chunk, n);
}

/* macro_emit_part - one part of a transformed value, escaped for upper case */
static void
macro_emit_part(struct macro_out *o, const struct macro_tok *t, struct span part)
{
	if (t->upper)
		macro_url_escape(o, part.p, part.len);
	else
		macro_emit(o, part.p, part.len);
}

/* macro_is_delim - c is one of the token's delimiters (§7.1) */
static bool
macro_is_delim(const char *delims, char c)
{
	return c != '\0' && strchr(delims, c) != NULL;
}

/* macro_count_parts - parts of v split at any of delims */
static size_t
macro_count_parts(struct span v, const char *delims)
{
	size_t n = 1;

	for (size_t i = 0; i < v.len; i++)
		if (macro_is_delim(delims, v.p[i]))
			n++;
	return n;
}

/* macro_emit_forward - parts first..last of v in order, joined with "." */
static void
macro_emit_forward(struct macro_out *o, const struct macro_tok *t, struct span v,
    const char *delims, size_t first)
{
	size_t part = 0, start = 0;

	for (size_t i = 0; i <= v.len; i++) {
		if (i < v.len && !macro_is_delim(delims, v.p[i]))
			continue;
		if (part > first)
			macro_emit(o, ".", 1);
		if (part >= first)
			macro_emit_part(o, t, (struct span){ v.p + start, i - start });
		part++;
		start = i + 1;
	}
}

/* macro_emit_reversed - parts last..0 of v (reversed), joined with "." */
static void
macro_emit_reversed(struct macro_out *o, const struct macro_tok *t, struct span v,
    const char *delims, size_t last)
{
	size_t end = v.len, part = 0;

	for (size_t i = 0; i < v.len; i++)
		if (macro_is_delim(delims, v.p[i]) && part++ == last) {
			end = i;
			break;
		}
	for (bool first = true;; first = false) {
		size_t start = end;

		while (start > 0 && !macro_is_delim(delims, v.p[start - 1]))
			start--;
		if (!first)
			macro_emit(o, ".", 1);
		macro_emit_part(o, t, (struct span){ v.p + start, end - start });
		if (start == 0)
			return;
		end = start - 1;
	}
}

/*
 * macro_transform - split at the delimiters, reverse, keep the right-hand
 * parts, join with "." (§7.3); walks the value in place, so a value of any
 * number of parts is transformed as the RFC says
 */
static void
macro_transform(const struct macro_tok *t, struct span val, struct macro_out *o)
{
	const char *delims = t->delims[0] ? t->delims : ".";
	size_t n = macro_count_parts(val, delims), keep = n;

	if (t->digits > 0 && t->digits < n)
		keep = t->digits;
	if (t->reverse)
		macro_emit_reversed(o, t, val, delims, keep - 1);
	else
		macro_emit_forward(o, t, val, delims, n - keep);
}

/* macro_expand_one - expand one %{...} token */
static int
macro_expand_one(const struct macro_tok *t, const struct spf_macro_ctx *ctx,
    struct macro_out *o, const char **err)
{
	struct buf tmp;
	struct span val;
	int rc;

	/* computed values (%{i} of IPv6: 63 bytes) are short */
	buf_init(&tmp, 128);
	rc = macro_value(ctx, t->letter, &tmp, &val, err);
	if (rc == 0)
		macro_transform(t, val, o);
	buf_clear(&tmp);
	return rc;
}

/*
 * spf_macro_expand - expand macro-string (p, len) into out: an explain-string
 * (ctx->exp) must fit out; a domain-spec keeps the labels §7.3 keeps
 */
int
spf_macro_expand(const char *p, size_t len, const struct spf_macro_ctx *ctx,
    struct buf *out, const char **err)
{
	struct macro_out o = { out, !ctx->exp, false };
	struct macro_tok t;
	size_t i = 0;

	while (i < len) {
		if (spf_macro_next(p, len, &i, ctx->exp, &t, err) < 0)
			return -1;
		if (t.kind == MACRO_TOK_LITERAL)
			macro_emit(&o, p + t.start, t.end - t.start);
		else if (t.kind == MACRO_TOK_TEXT)
			macro_emit(&o, t.text, strlen(t.text));
		else if (macro_expand_one(&t, ctx, &o, err) < 0)
			return -1;
		if (out->overflow) {
			*err = ctx->exp ? "explanation too long" : "macro expansion too long";
			return -1;
		}
	}
	return 0;
}
