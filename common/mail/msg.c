/*
 * msg.c - streaming RFC 5322 header/body splitter (see msg.h).
 *
 * RFC 5322 §2.2 and §2.2.3 (fields and folding), §3.6.8 (field names),
 * §4.5 (obsolete WSP before the colon).  The header section is a small state
 * machine driven by a table of per-state byte handlers; the body is passed
 * through in the caller's chunks.
 */
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "msg.h"

enum msg_state {
	MSG_S_LINE_START,	/* at the start of a header line */
	MSG_S_LINE,		/* inside a header line */
	MSG_S_CR,		/* header line, after a CR */
	MSG_S_EMPTY_CR,		/* CR at the start of a line: the empty line? */
	MSG_S_BODY,
	MSG_S_DONE,		/* finished */
	MSG_S_ERROR,
};

struct msg_parser {
	enum msg_state state;
	struct msg_limits limits;
	unsigned flags;
	struct msg_callbacks cb;
	void *arg;
	struct buf field;	/* the pending field, raw */
	unsigned count;		/* fields emitted */
	const char *error;
	bool body_last_cr;	/* body: last byte passed on was CR (LF normalisation) */
};

typedef int (*msg_byte_fn)(struct msg_parser *m, char c);

/* The pending field's first allocation: most fields fit, one allocation per message. */
#define MSG_FIELD_INITIAL	256

static const struct msg_callbacks msg_no_callbacks;

/* msg_limits_default - fill in the default limits */
void
msg_limits_default(struct msg_limits *l)
{
	l->header_size_limit = MSG_HEADER_SIZE_LIMIT;
	l->header_count_limit = MSG_HEADER_COUNT_LIMIT;
}

/* msg_limits_fill - the default for each limit left 0 */
void
msg_limits_fill(struct msg_limits *l)
{
	struct msg_limits def;

	msg_limits_default(&def);
	if (l->header_size_limit == 0)
		l->header_size_limit = def.header_size_limit;
	if (l->header_count_limit == 0)
		l->header_count_limit = def.header_count_limit;
}

/* msg_parser_new - a splitter; limits NULL, or a limit 0, means the default */
struct msg_parser *
msg_parser_new(const struct msg_limits *limits, unsigned flags,
    const struct msg_callbacks *cb, void *arg)
{
	struct msg_parser *m = xcalloc(1, sizeof(*m));

	if (limits)
		m->limits = *limits;
	msg_limits_fill(&m->limits);
	m->flags = flags;
	m->cb = cb ? *cb : msg_no_callbacks;
	m->arg = arg;
	m->state = MSG_S_LINE_START;
	buf_init(&m->field, m->limits.header_size_limit + 2);
	buf_reserve(&m->field, m->field.max < MSG_FIELD_INITIAL ? m->field.max :
	    MSG_FIELD_INITIAL);
	return m;
}

/* msg_fail - enter the error state with a static reason */
static int
msg_fail(struct msg_parser *m, const char *reason)
{
	if (m->error == NULL)
		m->error = reason;
	m->state = MSG_S_ERROR;
	return -1;
}

/* msg_field_append - add bytes to the pending field, enforcing the size limit */
static int
msg_field_append(struct msg_parser *m, const char *p, size_t n)
{
	if (n > m->limits.header_size_limit - m->field.len ||
	    m->field.len > m->limits.header_size_limit)
		return msg_fail(m, "header field too large");
	buf_append(&m->field, p, n);
	return 0;
}

/* msg_name_ok - field-name = 1*ftext (RFC 5322 §3.6.8) */
static bool
msg_name_ok(struct span name)
{
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.p[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* msg_emit_field - hand the pending field to the callback */
static int
msg_emit_field(struct msg_parser *m)
{
	const char *p = m->field.data, *colon;
	struct span name;

	if (m->field.len == 0)
		return 0;
	colon = memchr(p, ':', m->field.len);
	if (colon == NULL)
		return msg_fail(m, "header line without colon");
	name = (struct span){ p, (size_t)(colon - p) };
	while (name.len && (name.p[name.len - 1] == ' ' || name.p[name.len - 1] == '\t'))
		name.len--;
	if (!msg_name_ok(name))
		return msg_fail(m, "invalid header field name");
	if (m->count >= m->limits.header_count_limit)
		return msg_fail(m, "too many header fields");
	m->count++;
	if (m->cb.header && m->cb.header(m->arg, name,
	    (struct span){ p, m->field.len }) < 0)
		return msg_fail(m, "callback");
	buf_reset(&m->field);
	return 0;
}

/* msg_end_headers - the empty line: flush the last field, run eoh */
static int
msg_end_headers(struct msg_parser *m)
{
	if (msg_emit_field(m) < 0)
		return -1;
	m->state = MSG_S_BODY;
	if (m->cb.eoh && m->cb.eoh(m->arg) < 0)
		return msg_fail(m, "callback");
	return 0;
}

/* msg_on_line_start - first byte of a header line */
static int
msg_on_line_start(struct msg_parser *m, char c)
{
	if (c == '\r') {
		m->state = MSG_S_EMPTY_CR;
		return 0;
	}
	if (c == '\n') {
		if (!(m->flags & MSG_BARE_LF_OK))
			return msg_fail(m, "bare LF in header section");
		return msg_end_headers(m);
	}
	if (c == ' ' || c == '\t') {
		if (m->field.len == 0)
			return msg_fail(m, "continuation line before any header field");
	} else if (msg_emit_field(m) < 0) {
		return -1;
	}
	m->state = MSG_S_LINE;
	return msg_field_append(m, &c, 1);
}

/* msg_on_line - a byte inside a header line */
static int
msg_on_line(struct msg_parser *m, char c)
{
	if (c == '\r') {
		m->state = MSG_S_CR;
		return 0;
	}
	if (c == '\n') {
		if (!(m->flags & MSG_BARE_LF_OK))
			return msg_fail(m, "bare LF in header section");
		m->state = MSG_S_LINE_START;
		return msg_field_append(m, "\r\n", 2);
	}
	return msg_field_append(m, &c, 1);
}

/* msg_on_cr - the byte after a CR inside a header line */
static int
msg_on_cr(struct msg_parser *m, char c)
{
	if (c == '\n') {
		m->state = MSG_S_LINE_START;
		return msg_field_append(m, "\r\n", 2);
	}
	/* a lone CR is data of the field */
	m->state = MSG_S_LINE;
	if (msg_field_append(m, "\r", 1) < 0)
		return -1;
	return msg_on_line(m, c);
}

/* msg_on_empty_cr - the byte after a CR that started a line */
static int
msg_on_empty_cr(struct msg_parser *m, char c)
{
	if (c != '\n')
		return msg_fail(m, "bare CR in header section");
	return msg_end_headers(m);
}

static const msg_byte_fn msg_header_table[] = {
	[MSG_S_LINE_START] = msg_on_line_start,
	[MSG_S_LINE] = msg_on_line,
	[MSG_S_CR] = msg_on_cr,
	[MSG_S_EMPTY_CR] = msg_on_empty_cr,
};

/* msg_line_end - the first CR or LF in p, or len */
static size_t
msg_line_end(const char *p, size_t len)
{
	size_t n = 0;

#ifdef __SSE2__
	for (; n + 16 <= len; n += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + n));
		unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'))));

		if (mask)
			return n + (size_t)__builtin_ctz(mask);
	}
#endif
	while (n < len && p[n] != '\r' && p[n] != '\n')
		n++;
	return n;
}

/* msg_line_run - inside a line: append bytes up to the next CR/LF at once */
static size_t
msg_line_run(struct msg_parser *m, const char *p, size_t len)
{
	size_t n = msg_line_end(p, len);

	if (n && msg_field_append(m, p, n) < 0)
		return (size_t)-1;
	return n;
}

/* msg_body_emit - pass body bytes on */
static int
msg_body_emit(struct msg_parser *m, const char *p, size_t len)
{
	if (len == 0 || m->cb.body == NULL)
		return 0;
	if (m->cb.body(m->arg, p, len) < 0)
		return msg_fail(m, "callback");
	return 0;
}

/* msg_body_feed - body bytes, with optional bare-LF normalisation */
static int
msg_body_feed(struct msg_parser *m, const char *p, size_t len)
{
	size_t start = 0;

	if (!(m->flags & MSG_BARE_LF_OK) || len == 0)
		return msg_body_emit(m, p, len);
	for (size_t i = 0; i < len; i++) {
		bool prev_cr = i ? p[i - 1] == '\r' : m->body_last_cr;

		if (p[i] != '\n' || prev_cr)
			continue;
		if (msg_body_emit(m, p + start, i - start) < 0 ||
		    msg_body_emit(m, "\r", 1) < 0)
			return -1;
		start = i;
	}
	m->body_last_cr = p[len - 1] == '\r';
	return msg_body_emit(m, p + start, len - start);
}

/* msg_parser_feed - consume len bytes; 0, or -1 on error */
int
msg_parser_feed(struct msg_parser *m, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (m->state == MSG_S_BODY)
			return msg_body_feed(m, p + i, len - i);
		if (m->state == MSG_S_ERROR || m->state == MSG_S_DONE)
			return -1;
		if (m->state == MSG_S_LINE) {
			size_t n = msg_line_run(m, p + i, len - i);

			if (n == (size_t)-1)
				return -1;
			i += n;
			if (i == len)
				break;
		}
		if (msg_header_table[m->state](m, p[i]) < 0)
			return -1;
		i++;
	}
	return m->state == MSG_S_ERROR || m->state == MSG_S_DONE ? -1 : 0;
}

/* msg_parser_finish - end of input: flush pending state; 0 or -1 */
int
msg_parser_finish(struct msg_parser *m)
{
	switch (m->state) {
	case MSG_S_ERROR:
	case MSG_S_DONE:
		return -1;
	case MSG_S_LINE:
	case MSG_S_CR:
		if (msg_field_append(m, "\r\n", 2) < 0)
			return -1;
		/* FALLTHROUGH */
	case MSG_S_LINE_START:
	case MSG_S_EMPTY_CR:
		if (msg_end_headers(m) < 0)
			return -1;
		break;
	case MSG_S_BODY:
		break;
	}
	m->state = MSG_S_DONE;
	return 0;
}

/* msg_parser_error - static reason of the first error, NULL if none */
const char *
msg_parser_error(const struct msg_parser *m)
{
	return m->error;
}

/* msg_parser_in_body - true once the end of the header section was seen */
bool
msg_parser_in_body(const struct msg_parser *m)
{
	return m->state == MSG_S_BODY || m->state == MSG_S_DONE;
}

/* msg_parser_header_count - header fields emitted so far */
unsigned
msg_parser_header_count(const struct msg_parser *m)
{
	return m->count;
}

/* msg_parser_free - destroy */
void
msg_parser_free(struct msg_parser *m)
{
	if (m == NULL)
		return;
	buf_clear(&m->field);
	free(m);
}
