/*
 * tagvalue.c - RFC 6376 §3.2 tag=value list parser (see tagvalue.h).
 */
#include <string.h>

#include "tagvalue.h"

struct tv_scan {
	const char *p;
	size_t len;
	size_t pos;
	struct tagvalue_list *list;
};

/* tv_is_wsp - WSP: SP or HTAB */
static bool
tv_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* tv_is_alpha - ALPHA */
static bool
tv_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* tv_is_alnumpunc - ALNUMPUNC: ALPHA / DIGIT / "_" */
static bool
tv_is_alnumpunc(char c)
{
	return tv_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* tv_is_valchar - VALCHAR, plus 8-bit bytes (RFC 8616) */
static bool
tv_is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

/* VALCHAR and 8-bit bytes (tv_is_valchar) as a table, for tv_valchar_run */
static const unsigned char tv_valchar_tab[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1,	/* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x80 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0xa0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0xc0 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0xe0 */
};

/* tv_valchar_run - end of the run of VALCHARs at pos (the bulk of a value, b= above all) */
static size_t
tv_valchar_run(const char *p, size_t pos, size_t len)
{
	while (pos < len && tv_valchar_tab[(unsigned char)p[pos]])
		pos++;
	return pos;
}

/* tv_fail - record an error at the current position */
static int
tv_fail(struct tv_scan *s, enum tagvalue_error e, const char *reason)
{
	s->list->error = e;
	s->list->reason = reason;
	s->list->error_offset = s->pos;
	return -1;
}

/* tv_break_len - length of a line break (CRLF or LF) at pos, 0 if none */
static size_t
tv_break_len(const struct tv_scan *s, size_t pos)
{
	if (pos < s->len && s->p[pos] == '\n')
		return 1;
	if (pos + 1 < s->len && s->p[pos] == '\r' && s->p[pos + 1] == '\n')
		return 2;
	return 0;
}

/*
 * tv_skip_fws - skip FWS; a line break must be followed by WSP, except at the
 * very end of the input (a caller may pass a field value with its CRLF).
 */
static int
tv_skip_fws(struct tv_scan *s)
{
	while (s->pos < s->len) {
		size_t n;

		if (tv_is_wsp(s->p[s->pos])) {
			s->pos++;
			continue;
		}
		n = tv_break_len(s, s->pos);
		if (n == 0)
			break;
		if (s->pos + n == s->len) {
			s->pos += n;
			break;
		}
		if (!tv_is_wsp(s->p[s->pos + n]))
			return tv_fail(s, TAGVALUE_ERR_SYNTAX,
			    "line break not followed by whitespace");
		s->pos += n;
	}
	return 0;
}

/* tv_name - scan a tag-name */
static int
tv_name(struct tv_scan *s, struct span *name)
{
	size_t start = s->pos;

	if (s->pos >= s->len || s->p[s->pos] == ';')
		return tv_fail(s, TAGVALUE_ERR_SYNTAX, "empty tag-spec");
	if (!tv_is_alpha(s->p[s->pos]))
		return tv_fail(s, TAGVALUE_ERR_SYNTAX,
		    "tag name does not start with a letter");
	while (s->pos < s->len && tv_is_alnumpunc(s->p[s->pos]))
		s->pos++;
	*name = (struct span){ s->p + start, s->pos - start };
	return 0;
}

/* tv_value - scan a tag-value up to ";" or the end; value excludes trailing FWS */
static int
tv_value(struct tv_scan *s, struct span *value)
{
	size_t start = s->pos, end = s->pos;

	while (s->pos < s->len && s->p[s->pos] != ';') {
		unsigned char c = (unsigned char)s->p[s->pos];

		if (tv_is_valchar(c)) {
			s->pos = tv_valchar_run(s->p, s->pos, s->len);
			end = s->pos;
		} else if (tv_is_wsp((char)c) || c == '\r' || c == '\n') {
			if (tv_skip_fws(s) < 0)
				return -1;
			if (s->pos < s->len && s->p[s->pos] != ';' &&
			    !tv_is_valchar((unsigned char)s->p[s->pos]))
				return tv_fail(s, TAGVALUE_ERR_SYNTAX,
				    "invalid character in tag value");
		} else {
			return tv_fail(s, TAGVALUE_ERR_SYNTAX,
			    "invalid character in tag value");
		}
	}
	*value = (struct span){ s->p + start, end - start };
	return 0;
}

/* tv_add - append a tag, refusing duplicates and overflow */
static int
tv_add(struct tv_scan *s, const struct tagvalue_tag *t, size_t name_pos)
{
	struct tagvalue_list *l = s->list;

	for (size_t i = 0; i < l->count; i++) {
		if (l->tags[i].name.len == t->name.len &&
		    memcmp(l->tags[i].name.p, t->name.p, t->name.len) == 0) {
			s->pos = name_pos;
			return tv_fail(s, TAGVALUE_ERR_DUPLICATE, "duplicate tag");
		}
	}
	if (l->count == TAGVALUE_TAG_LIMIT) {
		s->pos = name_pos;
		return tv_fail(s, TAGVALUE_ERR_TOO_MANY, "too many tags");
	}
	l->tags[l->count++] = *t;
	return 0;
}

/* tv_spec - parse one tag-spec starting after leading FWS */
static int
tv_spec(struct tv_scan *s)
{
	struct tagvalue_tag t;
	size_t name_pos = s->pos, raw_start;

	if (tv_name(s, &t.name) < 0 || tv_skip_fws(s) < 0)
		return -1;
	if (s->pos >= s->len || s->p[s->pos] != '=')
		return tv_fail(s, TAGVALUE_ERR_SYNTAX, "missing '=' after tag name");
	s->pos++;
	raw_start = s->pos;
	if (tv_skip_fws(s) < 0)
		return -1;
	if (tv_value(s, &t.value) < 0)
		return -1;
	if (t.value.len == 0)
		t.value.p = s->p + s->pos;
	t.raw = (struct span){ s->p + raw_start, s->pos - raw_start };
	return tv_add(s, &t, name_pos);
}

/* tagvalue_parse - parse a tag-list; 0, or -1 with list->error/reason set */
int
tagvalue_parse(const char *p, size_t len, struct tagvalue_list *list)
{
	struct tv_scan s = { p, len, 0, list };

	list->count = 0;
	list->error = TAGVALUE_OK;
	list->reason = NULL;
	list->error_offset = 0;
	if (tv_skip_fws(&s) < 0)
		return -1;
	while (s.pos < s.len) {
		if (tv_spec(&s) < 0)
			return -1;
		if (s.pos == s.len)
			break;
		s.pos++;	/* the ";" */
		if (tv_skip_fws(&s) < 0)
			return -1;
	}
	return 0;
}

/* tagvalue_find - the tag named name (case-sensitive), or NULL */
const struct tagvalue_tag *
tagvalue_find(const struct tagvalue_list *list, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < list->count; i++)
		if (list->tags[i].name.len == n &&
		    memcmp(list->tags[i].name.p, name, n) == 0)
			return &list->tags[i];
	return NULL;
}

/* tagvalue_copy_nows - copy v without SP/HTAB/CR/LF; bytes written or -1 */
long
tagvalue_copy_nows(struct span v, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (n == outlen)
			return -1;
		out[n++] = c;
	}
	return (long)n;
}

/* tagvalue_error_str - name of an error */
const char *
tagvalue_error_str(enum tagvalue_error e)
{
	switch (e) {
	case TAGVALUE_OK:		return "ok";
	case TAGVALUE_ERR_SYNTAX:	return "syntax error";
	case TAGVALUE_ERR_DUPLICATE:	return "duplicate tag";
	case TAGVALUE_ERR_TOO_MANY:	return "too many tags";
	}
	return "unknown";
}

/* tagvalue_list_next - next colon-separated item (see tagvalue.h) */
bool
tagvalue_list_next(struct span v, size_t *pos, struct span *item)
{
	const char *c;
	size_t end;

	if (*pos > v.len)
		return false;
	c = v.len > *pos ? memchr(v.p + *pos, ':', v.len - *pos) : NULL;
	end = c ? (size_t)(c - v.p) : v.len;
	*item = span_trim((struct span){ v.p + *pos, end - *pos });
	*pos = end + 1;
	return true;
}

/* tagvalue_list_has - an item is word (case-insensitive) */
bool
tagvalue_list_has(struct span v, const char *word)
{
	struct span item;
	size_t pos = 0;

	while (tagvalue_list_next(v, &pos, &item))
		if (span_eq_ci(item, word))
			return true;
	return false;
}
