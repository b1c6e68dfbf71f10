/*
 * mailaddr.c - RFC 5322 §3.4 address-list parser (with §4.4 obsolete forms).
 *
 * A small lexer turns the field body into atoms, quoted strings, domain
 * literals and specials, skipping CFWS (RFC 5322 §3.2.2: whitespace, folding,
 * nested comments).  A recursive-descent parser over one token of lookahead
 * recognises address / mailbox / group / angle-addr / addr-spec.  Nothing in the
 * display name can leak into the address: quoted strings and comments are
 * tokens of their own, so "a@b" <x@y> and "a<b"@y both yield domain y.
 */
#include <string.h>

#include "mailaddr.h"

enum tok_type {
	T_END,
	T_ATOM,
	T_QUOTED,	/* p/len: contents between the quotes, escapes kept */
	T_DLIT,		/* p/len: contents between [ and ] */
	T_SPECIAL,	/* c */
	T_ERROR,
};

struct tok {
	enum tok_type type;
	const char *p;
	size_t len;
	char c;
	size_t off;
};

struct lexer {
	const char *p;
	size_t len, pos;
	struct tok peek;
	bool have_peek;
	const char *err;
	size_t err_off;
};

/* lex_fail - record the first error */
static struct tok
lex_fail(struct lexer *lx, const char *why, size_t off)
{
	if (lx->err == NULL) {
		lx->err = why;
		lx->err_off = off;
	}
	return (struct tok){ T_ERROR, NULL, 0, 0, off };
}

/* is_atext - RFC 5322 §3.2.3 atext, plus UTF-8 (RFC 6532 §3.2) */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* lex_comment - skip a comment starting at pos ("("), nested; -1 if unterminated */
static int
lex_comment(struct lexer *lx)
{
	unsigned depth = 0;

	while (lx->pos < lx->len) {
		char c = lx->p[lx->pos++];

		if (c == '\\') {
			lx->pos++;
		} else if (c == '(') {
			if (++depth > MAILADDR_COMMENT_DEPTH)
				return -1;
		} else if (c == ')') {
			if (--depth == 0)
				return 0;
		}
	}
	return -1;
}

/* lex_skip_cfws - skip whitespace, folding and comments */
static int
lex_skip_cfws(struct lexer *lx)
{
	while (lx->pos < lx->len) {
		char c = lx->p[lx->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->pos++;
		} else if (c == '(') {
			size_t start = lx->pos;

			if (lex_comment(lx) != 0) {
				lex_fail(lx, "unterminated or too deeply nested comment", start);
				return -1;
			}
		} else {
			break;
		}
	}
	return 0;
}

/* lex_delimited - a quoted string or domain literal up to the closing byte */
static struct tok
lex_delimited(struct lexer *lx, enum tok_type type, char close, const char *why)
{
	size_t start = lx->pos++;

	while (lx->pos < lx->len) {
		char c = lx->p[lx->pos];

		if (c == '\\' && lx->pos + 1 < lx->len) {
			lx->pos += 2;
			continue;
		}
		if (type == T_DLIT && (c == '[' || c == '\\'))
			break;
		if (c == close) {
			lx->pos++;
			return (struct tok){ type, lx->p + start + 1,
			    lx->pos - start - 2, 0, start };
		}
		lx->pos++;
	}
	return lex_fail(lx, why, start);
}

/* lex_read - the next token */
static struct tok
lex_read(struct lexer *lx)
{
	unsigned char c;
	size_t start;

	if (lx->err || lex_skip_cfws(lx) != 0)
		return (struct tok){ T_ERROR, NULL, 0, 0, lx->pos };
	if (lx->pos >= lx->len)
		return (struct tok){ T_END, NULL, 0, 0, lx->pos };
	c = (unsigned char)lx->p[lx->pos];
	if (c == '"')
		return lex_delimited(lx, T_QUOTED, '"', "unterminated quoted string");
	if (c == '[')
		return lex_delimited(lx, T_DLIT, ']', "unterminated domain literal");
	if (strchr("<>@,;:.", c) != NULL)
		return (struct tok){ T_SPECIAL, lx->p + lx->pos, 1, (char)c, lx->pos++ };
	if (!is_atext(c))
		return lex_fail(lx, "character not allowed here", lx->pos);
	start = lx->pos;
	while (lx->pos < lx->len && is_atext((unsigned char)lx->p[lx->pos]))
		lx->pos++;
	return (struct tok){ T_ATOM, lx->p + start, lx->pos - start, 0, start };
}

/* lex_peek - look at the next token without consuming it */
static const struct tok *
lex_peek(struct lexer *lx)
{
	if (!lx->have_peek) {
		lx->peek = lex_read(lx);
		lx->have_peek = true;
	}
	return &lx->peek;
}

/* lex_take - consume the next token */
static struct tok
lex_take(struct lexer *lx)
{
	struct tok t = *lex_peek(lx);

	lx->have_peek = false;
	return t;
}

/* is_special - is t the special character c? */
static bool
is_special(const struct tok *t, char c)
{
	return t->type == T_SPECIAL && t->c == c;
}

/* Text accumulated while reading a phrase or local-part. */
struct words {
	char text[MAILADDR_LOCAL_SIZE];
	size_t len;
	unsigned nwords;
};

/* words_add - append token text (quoted strings unescaped), truncating */
static void
words_add(struct words *w, const struct tok *t)
{
	for (size_t i = 0; i < t->len; i++) {
		if (t->type == T_QUOTED && t->p[i] == '\\' && i + 1 < t->len)
			i++;
		if (w->len + 1 < sizeof(w->text))
			w->text[w->len++] = t->p[i];
	}
	w->text[w->len] = '\0';
}

/* parse_words - a phrase or local-part: words and dots */
static void
parse_words(struct lexer *lx, struct words *w)
{
	memset(w, 0, sizeof(*w));
	for (;;) {
		const struct tok *t = lex_peek(lx);

		if (t->type == T_ATOM || t->type == T_QUOTED) {
			w->nwords++;
			words_add(w, t);
		} else if (is_special(t, '.')) {
			words_add(w, t);
		} else {
			return;
		}
		lex_take(lx);
	}
}

/* parse_domain - dot-atom / obs-domain (trailing dot allowed) or domain-literal */
static int
parse_domain(struct lexer *lx, struct mailaddr *a)
{
	char raw[MAILADDR_DOMAIN_SIZE + 1];
	size_t n = 0;
	struct tok t = lex_take(lx);

	if (t.type == T_DLIT) {
		if (t.len + 3 > sizeof(a->domain))
			return lex_fail(lx, "domain literal too long", t.off), -1;
		a->domain[0] = '[';
		memcpy(a->domain + 1, t.p, t.len);
		memcpy(a->domain + 1 + t.len, "]", 2);
		a->literal = true;
		return 0;
	}
	for (;;) {
		if (t.type != T_ATOM)
			return lex_fail(lx, "bad or missing domain after @", t.off), -1;
		if (n + t.len + 1 >= sizeof(raw))
			return lex_fail(lx, "domain too long", t.off), -1;
		memcpy(raw + n, t.p, t.len);
		n += t.len;
		if (!is_special(lex_peek(lx), '.'))
			break;
		lex_take(lx);
		raw[n++] = '.';
		if (lex_peek(lx)->type != T_ATOM)
			break;	/* trailing dot: "example.com." */
		t = lex_take(lx);
	}
	if (mailaddr_domain_to_ascii(raw, n, a->domain) != 0)
		return lex_fail(lx, "domain is not a valid host name", t.off), -1;
	return 0;
}

/* list_push - a new address slot, or NULL past MAILADDR_LIMIT */
static struct mailaddr *
list_push(struct lexer *lx, struct mailaddr_list *out, size_t off, bool in_group)
{
	struct mailaddr *a;

	if (out->count >= MAILADDR_LIMIT) {
		lex_fail(lx, "too many addresses", off);
		return NULL;
	}
	a = &out->addr[out->count++];
	memset(a, 0, sizeof(*a));
	a->in_group = in_group;
	return a;
}

/* parse_addr_spec - local-part "@" domain, local-part already read into w */
static int
parse_addr_spec(struct lexer *lx, struct mailaddr_list *out, const struct words *w,
    bool in_group)
{
	struct tok at = lex_take(lx);
	struct mailaddr *a;

	if (w->nwords == 0)
		return lex_fail(lx, "empty local part", at.off), -1;
	if ((a = list_push(lx, out, at.off, in_group)) == NULL)
		return -1;
	memcpy(a->local, w->text, w->len + 1);
	if (parse_domain(lx, a) != 0) {
		out->count--;	/* count holds complete addresses only */
		return -1;
	}
	return 0;
}

/* parse_angle - "<" [obs-route] addr-spec ">" */
static int
parse_angle(struct lexer *lx, struct mailaddr_list *out, bool in_group)
{
	struct tok open = lex_take(lx);
	struct words w;

	if (is_special(lex_peek(lx), '@')) {	/* obs-route: @a,@b: */
		while (!is_special(lex_peek(lx), ':')) {
			struct tok t = lex_take(lx);

			if (t.type == T_END || t.type == T_ERROR || is_special(&t, '>'))
				return lex_fail(lx, "bad source route", t.off), -1;
		}
		lex_take(lx);
	}
	parse_words(lx, &w);
	if (!is_special(lex_peek(lx), '@'))
		return lex_fail(lx, w.nwords ? "no @ in angle address" :
		    "empty angle address", open.off), -1;
	if (parse_addr_spec(lx, out, &w, in_group) != 0)
		return -1;
	if (!is_special(lex_peek(lx), '>'))
		return lex_fail(lx, "missing > after address", lex_peek(lx)->off), -1;
	lex_take(lx);
	return 0;
}

/* parse_mailbox - name-addr or addr-spec (after an optional phrase) */
static int
parse_mailbox(struct lexer *lx, struct mailaddr_list *out, bool in_group,
    struct words *phrase)
{
	const struct tok *t = lex_peek(lx);

	if (is_special(t, '<'))
		return parse_angle(lx, out, in_group);
	if (is_special(t, '@'))
		return parse_addr_spec(lx, out, phrase, in_group);
	if (t->type == T_ERROR)
		return -1;
	return lex_fail(lx, phrase->nwords ? "no @ in address" :
	    "expected an address", t->off), -1;
}

/* parse_group - display-name ":" [mailbox-list] ";" (display name already read) */
static int
parse_group(struct lexer *lx, struct mailaddr_list *out)
{
	lex_take(lx);	/* ":" */
	out->groups++;
	for (;;) {
		const struct tok *t = lex_peek(lx);
		struct words phrase;

		if (is_special(t, ';')) {
			lex_take(lx);
			return 0;
		}
		if (is_special(t, ',')) {
			lex_take(lx);
			continue;
		}
		if (t->type == T_END)
			return lex_fail(lx, "group not closed with ;", t->off), -1;
		parse_words(lx, &phrase);
		if (parse_mailbox(lx, out, true, &phrase) != 0)
			return -1;
	}
}

/* parse_address - mailbox or group */
static int
parse_address(struct lexer *lx, struct mailaddr_list *out)
{
	struct words phrase;

	parse_words(lx, &phrase);
	if (is_special(lex_peek(lx), ':')) {
		if (phrase.nwords == 0)
			return lex_fail(lx, "group without a name", lex_peek(lx)->off), -1;
		return parse_group(lx, out);
	}
	return parse_mailbox(lx, out, false, &phrase);
}

/* mailaddr_parse_list - parse an address-list field body */
int
mailaddr_parse_list(const char *p, size_t len, struct mailaddr_list *out)
{
	struct lexer lx = { .p = p, .len = len };

	out->count = 0;
	out->reason = NULL;
	out->error_offset = 0;
	out->groups = 0;
	for (;;) {
		const struct tok *t = lex_peek(&lx);

		if (t->type == T_END)
			return 0;
		if (t->type == T_ERROR)
			break;
		if (is_special(t, ',')) {	/* obs-addr-list: empty elements */
			lex_take(&lx);
			continue;
		}
		if (parse_address(&lx, out) != 0)
			break;
		t = lex_peek(&lx);
		if (t->type == T_END)
			return 0;
		if (!is_special(t, ',')) {
			lex_fail(&lx, "expected , between addresses", t->off);
			break;
		}
	}
	out->reason = lx.err ? lx.err : "syntax error";
	out->error_offset = lx.err_off;
	return -1;
}
