/*
 * authres.c - Authentication-Results builder and parser, RFC 8601.
 *
 * Builder: RFC 8601 §2.2 (authres-header-field), §2.7 (resinfo), values
 * quoted when they are not RFC 2045 tokens (§2.2 pvalue).  Parser: CFWS
 * (RFC 5322 §3.2.2) skipped everywhere, quoted-strings unquoted into spans
 * that still point at the input (escapes left in place), so the consumer
 * compares the id with authres_claims_id().  Received-SPF: RFC 7208 §9.1.
 */
#include <string.h>

#include "authres.h"
#include "spf.h"

/* ---- builder ---- */

/* authres_begin - start a field for authserv_id */
void
authres_begin(struct authres_builder *b, const char *authserv_id)
{
	buf_init(&b->out, 16384);
	b->nclauses = 0;
	buf_printf(&b->out, "Authentication-Results: %s", authserv_id);
	b->col = b->out.len;
}

/* authres_token_char - RFC 2045 token character, '/' and '=' excluded */
static bool
authres_token_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && !strchr("()<>,;:\\\"/[]?=", c);
}

/* authres_put - append a word, folding first when the line would be too long */
static void
authres_put(struct authres_builder *b, const char *sep, const char *w,
    size_t wlen)
{
	size_t slen = strlen(sep);

	if (b->col + slen + wlen >= AUTHRES_FOLD_WIDTH && b->col > 8) {
		buf_append_str(&b->out, "\r\n\t");
		b->col = 8;
		sep = "";
		slen = 0;
	}
	buf_append_str(&b->out, sep);
	buf_append(&b->out, w, wlen);
	b->col += slen + wlen;
}

/* authres_value - append "name=value", quoting value when needed */
static void
authres_value(struct authres_builder *b, const char *name, const char *v)
{
	struct buf w;
	bool quote = v[0] == '\0';

	for (const char *s = v; *s; s++)
		if (!authres_token_char((unsigned char)*s) && *s != '@')
			quote = true;
	buf_init(&w, 4096);
	buf_printf(&w, "%s=", name);
	if (quote)
		buf_append_char(&w, '"');
	for (const char *s = v; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_char(&w, '\\');
		if ((unsigned char)*s >= ' ')
			buf_append_char(&w, *s);
	}
	if (quote)
		buf_append_char(&w, '"');
	authres_put(b, " ", buf_cstr(&w), w.len);
	buf_clear(&w);
}

/* authres_add - add "method=result (comment) ptype.prop=value ..." */
void
authres_add(struct authres_builder *b, const char *method, const char *result,
    const char *comment, const char *const *props)
{
	buf_append_char(&b->out, ';');
	buf_append_str(&b->out, "\r\n\t");
	b->col = 8;
	authres_put(b, "", method, strlen(method));
	authres_put(b, "=", result, strlen(result));
	if (comment && comment[0]) {
		struct buf c;

		buf_init(&c, 1024);
		buf_append_char(&c, '(');
		for (const char *s = comment; *s; s++)
			if (*s != '(' && *s != ')' && *s != '\\' &&
			    (unsigned char)*s >= ' ')
				buf_append_char(&c, *s);
		buf_append_char(&c, ')');
		authres_put(b, " ", buf_cstr(&c), c.len);
		buf_clear(&c);
	}
	for (size_t i = 0; props && props[i] && props[i + 1]; i += 2)
		authres_value(b, props[i], props[i + 1]);
	b->nclauses++;
}

/* authres_finish - "none" when nothing was added; field with CRLF */
int
authres_finish(struct authres_builder *b)
{
	if (!b->nclauses)
		buf_append_str(&b->out, "; none");
	buf_append_str(&b->out, "\r\n");
	return b->out.overflow ? -1 : 0;
}

/* authres_clear - release storage */
void
authres_clear(struct authres_builder *b)
{
	buf_clear(&b->out);
}

/* ---- parser ---- */

struct authres_lex {
	const char *p;
	size_t len, i;
};

/* authres_skip_cfws - blanks, line breaks and nested comments */
static void
authres_skip_cfws(struct authres_lex *x)
{
	int depth = 0;

	while (x->i < x->len) {
		char c = x->p[x->i];

		if (depth && c == '\\' && x->i + 1 < x->len) {
			x->i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth)
			depth--;
		else if (!depth && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return;
		x->i++;
	}
}

/* authres_word - quoted-string or run of chars not in stop (CFWS always stops) */
static struct span
authres_word(struct authres_lex *x, const char *stop)
{
	size_t s = x->i;

	if (x->i < x->len && x->p[x->i] == '"') {
		s = ++x->i;
		while (x->i < x->len && x->p[x->i] != '"') {
			if (x->p[x->i] == '\\')
				x->i++;
			x->i++;
		}
		if (x->i > x->len)
			x->i = x->len;
		struct span w = { x->p + s, x->i - s };
		if (x->i < x->len)
			x->i++;
		return w;
	}
	while (x->i < x->len) {
		char c = x->p[x->i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' ||
		    strchr(stop, c))
			break;
		x->i++;
	}
	return (struct span){ x->p + s, x->i - s };
}

/* authres_eat - consume c after CFWS */
static bool
authres_eat(struct authres_lex *x, char c)
{
	authres_skip_cfws(x);
	if (x->i < x->len && x->p[x->i] == c) {
		x->i++;
		authres_skip_cfws(x);
		return true;
	}
	return false;
}

/* authres_props - "ptype.prop=value" pairs up to ';' */
static void
authres_props(struct authres_lex *x, struct authres_result *r)
{
	for (;;) {
		struct span key, val;
		const char *dot;

		authres_skip_cfws(x);
		if (x->i >= x->len || x->p[x->i] == ';')
			return;
		key = authres_word(x, "=;");
		if (!key.len || !authres_eat(x, '=')) {
			if (!key.len)
				x->i++;
			continue;
		}
		val = authres_word(x, ";");
		dot = memchr(key.p, '.', key.len);
		if (r->nprops == AUTHRES_PROP_LIMIT || !dot)
			continue;
		r->props[r->nprops++] = (struct authres_prop){
			{ key.p, (size_t)(dot - key.p) },
			{ dot + 1, key.len - (size_t)(dot + 1 - key.p) }, val };
	}
}

/* authres_resinfo - one "method[/v]=result [reason] props" clause */
static void
authres_resinfo(struct authres_lex *x, struct authres_parsed *out)
{
	struct authres_result r = { 0 };

	r.method = authres_word(x, "=/;");
	if (authres_eat(x, '/'))
		(void)authres_word(x, "=;");
	if (!r.method.len || !authres_eat(x, '=')) {
		if (span_eq_ci(r.method, "none"))
			out->none = true;
		while (x->i < x->len && x->p[x->i] != ';')
			x->i++;
		return;
	}
	r.result = authres_word(x, ";");
	authres_props(x, &r);
	if (out->nresults < AUTHRES_RESULT_LIMIT)
		out->results[out->nresults++] = r;
}

/* authres_parse - parse a field body (after "Authentication-Results:") */
int
authres_parse(const char *p, size_t len, struct authres_parsed *out)
{
	struct authres_lex x = { p, len, 0 };

	memset(out, 0, sizeof(*out));
	authres_skip_cfws(&x);
	out->authserv_id = authres_word(&x, ";");
	if (!out->authserv_id.len)
		return -1;
	authres_skip_cfws(&x);
	while (x.i < x.len && x.p[x.i] >= '0' && x.p[x.i] <= '9')
		x.i++;	/* authres-version, RFC 8601 §2.2 */
	while (authres_eat(&x, ';'))
		if (x.i < x.len)
			authres_resinfo(&x, out);
	return 0;
}

/* authres_claims_id - does the field body claim authserv_id */
bool
authres_claims_id(const char *p, size_t len, const char *authserv_id)
{
	struct authres_lex x = { p, len, 0 };
	struct span id;

	authres_skip_cfws(&x);
	id = authres_word(&x, ";");
	return id.len && span_eq_ci(id, authserv_id);
}

/* ---- Received-SPF, RFC 7208 §9.1 ---- */

/* authres_spf_parse - Received-SPF field body */
int
authres_spf_parse(const char *p, size_t len, struct authres_spf *out)
{
	struct authres_lex x = { p, len, 0 };

	memset(out, 0, sizeof(*out));
	authres_skip_cfws(&x);
	out->result = authres_word(&x, ";");
	if (spf_result_from_str(out->result.p, out->result.len) < 0)
		return -1;
	for (;;) {
		struct span key, val;

		authres_skip_cfws(&x);
		if (x.i >= x.len)
			break;
		key = authres_word(&x, "=;");
		if (!key.len || !authres_eat(&x, '=')) {
			x.i += key.len ? 0 : 1;
			continue;
		}
		val = authres_word(&x, ";");
		if (span_eq_ci(key, "envelope-from"))
			out->mailfrom = val;
		else if (span_eq_ci(key, "helo"))
			out->helo = val;
		else if (span_eq_ci(key, "identity"))
			out->identity = val;
		else if (span_eq_ci(key, "client-ip"))
			out->client_ip = val;
		authres_eat(&x, ';');
	}
	return 0;
}
