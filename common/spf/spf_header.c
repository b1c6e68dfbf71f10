/*
 * spf_header.c - rendering SPF results: Received-SPF (RFC 7208 §9.1) and the
 * Authentication-Results "spf=" clause (RFC 8601 §2.7.2).
 *
 * Values that are not a dot-atom (RFC 5322 §3.2.3) are written as quoted-strings;
 * comments escape their specials; bytes that must never reach a header (CR, LF,
 * other controls, 8-bit) are replaced by '?' so peer data cannot inject fields.
 * Every value and the comment are bounded (SPF_HEADER_TEXT_MAX), so a header
 * always fits SPF_HEADER_SIZE_MAX with all its keys.
 */
#include <string.h>

#include "spf_int.h"
#include "util.h"

/* RFC 5322 §2.1.1: lines SHOULD stay within 78 characters. */
#define SPF_HEADER_LINE_MAX	78
/*
 * Longest value or comment text written (escapes included, quotes and
 * parentheses not); longer text is cut and ends in "...".  An RFC 5321 path
 * is at most 256 octets and a domain 255, so real identities are never cut;
 * the bound keeps every key of the header within SPF_HEADER_SIZE_MAX, so none
 * can be crowded out (envelope-from is one a verifier needs, §9.1).
 */
#define SPF_HEADER_TEXT_MAX	400

/* header_is_atext - RFC 5322 §3.2.3 atext */
static bool
header_is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* header_is_dot_atom - RFC 5322 §3.2.3 dot-atom-text */
static bool
header_is_dot_atom(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !header_is_atext(s[i]))
			return false;
	}
	return true;
}

/* header_safe_char - a byte allowed in a header, else '?' */
static char
header_safe_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x20 && u < 0x7f ? c : '?';
}

/* header_special - c is one of specials (never true for NUL) */
static bool
header_special(char c, const char *specials)
{
	for (; *specials; specials++)
		if (c == *specials)
			return true;
	return false;
}

/* header_escaped_len - length of s once its specials are escaped */
static size_t
header_escaped_len(const char *s, const char *specials)
{
	size_t n = 0;

	for (; *s; s++)
		n += header_special(*s, specials) ? 2 : 1;
	return n;
}

/*
 * header_escaped - append s with its specials escaped, at most
 * SPF_HEADER_TEXT_MAX bytes: longer text is cut between characters (never
 * inside an escape) and ends in "..."; made on the stack, appended at once
 */
static void
header_escaped(struct buf *b, const char *s, const char *specials)
{
	char out[SPF_HEADER_TEXT_MAX];
	bool cut = header_escaped_len(s, specials) > SPF_HEADER_TEXT_MAX;
	size_t room = cut ? SPF_HEADER_TEXT_MAX - 3 : SPF_HEADER_TEXT_MAX, o = 0;

	for (; *s; s++) {
		bool esc = header_special(*s, specials);

		if (o + (esc ? 2 : 1) > room)
			break;
		if (esc)
			out[o++] = '\\';
		out[o++] = header_safe_char(*s);
	}
	if (o > 0)
		buf_append(b, out, o);
	if (cut)
		buf_append_str(b, "...");
}

/* header_quoted - append s as a quoted-string (RFC 5322 §3.2.4) */
static void
header_quoted(struct buf *b, const char *s)
{
	buf_append_char(b, '"');
	header_escaped(b, s, "\"\\");
	buf_append_char(b, '"');
}

/* header_value - dot-atom as is, anything else (or too long) quoted */
static void
header_value(struct buf *b, const char *s)
{
	if (header_is_dot_atom(s) && strlen(s) <= SPF_HEADER_TEXT_MAX)
		buf_append_str(b, s);
	else
		header_quoted(b, s);
}

/* header_comment - append "(text)" with ( ) \ escaped (RFC 5322 §3.2.2) */
static void
header_comment(struct buf *b, const char *text)
{
	buf_append_char(b, '(');
	header_escaped(b, text != NULL ? text : "", "()\\");
	buf_append_char(b, ')');
}

/* header_line_len - length of the current (last) line in b */
static size_t
header_line_len(const struct buf *b)
{
	const char *nl = b->len ? memrchr(b->data, '\n', b->len) : NULL;

	return nl ? b->len - (size_t)(nl + 1 - b->data) : b->len;
}

/* header_fold_at - replace the blank at off by fold (the item after it moves) */
static int
header_fold_at(struct buf *b, size_t off, const char *fold)
{
	size_t flen = strlen(fold), tail = b->len - off - 1;

	if (buf_reserve(b, flen - 1) < 0)
		return -1;
	memmove(b->data + off + flen, b->data + off + 1, tail);
	memcpy(b->data + off, fold, flen);
	b->len += flen - 1;
	b->data[b->len] = '\0';
	return 0;
}

/*
 * header_pair - append "; key=value" (or " key=value" first), folding when
 * long; separator and pair go in whole or not at all (never a bare "; ;").
 * Written in place after a blank, which becomes the fold when the line would
 * grow too long.
 */
static void
header_pair(struct buf *b, const char *fold, bool *first, const char *key,
    const char *value)
{
	size_t line = header_line_len(b), mark = b->len, blank, item;
	bool had_overflow = b->overflow;

	b->overflow = false;
	if (!*first)
		buf_append_char(b, ';');
	blank = b->len;
	buf_append_char(b, ' ');
	item = b->len;
	buf_append_str(b, key);
	buf_append_char(b, '=');
	header_value(b, value);
	if (!b->overflow && fold != NULL &&
	    line + (blank - mark) + 1 + (b->len - item) > SPF_HEADER_LINE_MAX)
		header_fold_at(b, blank, fold);
	if (b->overflow)
		buf_truncate(b, mark);
	b->overflow = b->overflow || had_overflow;
	*first = false;
}

/* header_mechanism - mechanism= value: the matching term, or "default" (§9.1) */
static const char *
header_mechanism(const struct spf_verdict *v)
{
	if (v->mechanism != NULL)
		return v->mechanism;
	switch (v->result) {
	case SPF_RESULT_PASS:
	case SPF_RESULT_FAIL:
	case SPF_RESULT_SOFTFAIL:
	case SPF_RESULT_NEUTRAL:
		return "default";
	default:
		return NULL;
	}
}

/* spf_received_header_fold - Received-SPF with a chosen fold ("\r\n\t", or NULL: one line) */
int
spf_received_header_fold(struct buf *b, const struct spf_verdict *v,
    const struct spf_request *req, bool hide_receiver, const char *fold)
{
	struct spf_addr a;
	struct buf ip, comment;
	bool first = true;
	const char *mech = header_mechanism(v);
	const char *receiver = req->receiver ? req->receiver : "unknown";

	buf_init(&ip, 64);
	buf_init(&comment, b->max);
	if (spf_addr_from_sockaddr(&req->client, &a) == 0)
		spf_addr_text(&a, &ip);
	buf_printf(b, "Received-SPF: %s ", spf_result_str(v->result));
	/* "(receiver: reason)" as in the §9.1 examples */
	if (hide_receiver)
		buf_printf(&comment, "%s", v->reason ? v->reason : "");
	else
		buf_printf(&comment, "%s: %s", receiver, v->reason ? v->reason : "");
	header_comment(b, buf_cstr(&comment));
	buf_clear(&comment);
	header_pair(b, fold, &first, "client-ip", buf_cstr(&ip));
	header_pair(b, fold, &first, "envelope-from", req->mail_from ? req->mail_from : "");
	if (req->helo != NULL && req->helo[0] != '\0')
		header_pair(b, fold, &first, "helo", req->helo);
	if ((v->result == SPF_RESULT_PERMERROR || v->result == SPF_RESULT_TEMPERROR) &&
	    v->reason != NULL)
		header_pair(b, fold, &first, "problem", v->reason);
	if (!hide_receiver)
		header_pair(b, fold, &first, "receiver", receiver);
	header_pair(b, fold, &first, "identity",
	    v->identity == SPF_IDENTITY_HELO ? "helo" : "mailfrom");
	if (mech != NULL)
		header_pair(b, fold, &first, "mechanism", mech);
	buf_clear(&ip);
	return b->overflow ? -1 : 0;
}

/* spf_received_header - Received-SPF folded for a message on the wire */
int
spf_received_header(struct buf *b, const struct spf_verdict *v,
    const struct spf_request *req, bool hide_receiver)
{
	return spf_received_header_fold(b, v, req, hide_receiver, "\r\n\t");
}

/* authres_is_token - RFC 2045 token: no specials, no space or controls */
static bool
authres_is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", *s))
			return false;
	return true;
}

/* spf_authres_clause - "spf=pass (reason) smtp.mailfrom=domain" (RFC 8601 §2.7.2) */
int
spf_authres_clause(struct buf *b, const struct spf_verdict *v)
{
	const char *value = v->domain ? v->domain : "";

	buf_printf(b, "spf=%s", spf_result_str(v->result));
	if (v->reason != NULL && v->reason[0] != '\0') {
		buf_append_char(b, ' ');
		header_comment(b, v->reason);
	}
	buf_append_str(b, v->identity == SPF_IDENTITY_HELO ? " smtp.helo=" : " smtp.mailfrom=");
	/* a long value is quoted, and so cut like every header text */
	if (authres_is_token(value) && strlen(value) <= SPF_HEADER_TEXT_MAX)
		buf_append_str(b, value);
	else
		header_quoted(b, value);
	return b->overflow ? -1 : 0;
}
