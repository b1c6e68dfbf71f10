/*
 * msg_scan.c - a lenient line scan for the fields of one name (see msg.h),
 * for header sections the splitter of msg.c refuses.
 *
 * RFC 5322 §2.2 (a field starts with its name and ":"), §2.2.3 (a line
 * starting with WSP continues the field above it), §2.1 (an empty line ends
 * the header section), §4.5 (obsolete WSP before the colon).  None of the
 * splitter's limits on the other fields apply: whatever a mail reader may
 * take for a field of that name is found, or the scan says it is incomplete.
 */
#include <string.h>

#include "msg.h"

/* msg_scan_init - scan for fields called name, keeping at most size_limit bytes */
void
msg_scan_init(struct msg_scan *s, const char *name, size_t size_limit)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	buf_init(&s->values, size_limit);
}

/* msg_scan_clear - release storage */
void
msg_scan_clear(struct msg_scan *s)
{
	buf_clear(&s->values);
}

/* msg_scan_is_empty - the empty line ending the header section */
static bool
msg_scan_is_empty(const char *p, size_t len)
{
	return len == 0 || (len == 1 && p[0] == '\n') ||
	    (len == 2 && p[0] == '\r' && p[1] == '\n');
}

/* msg_scan_value_start - where the value starts when the line opens a field called name, else NULL */
static const char *
msg_scan_value_start(const char *name, const char *p, size_t len)
{
	size_t n = strlen(name), i;

	if (len <= n || !span_eq_ci((struct span){ p, n }, name))
		return NULL;
	for (i = n; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i < len && p[i] == ':' ? p + i + 1 : NULL;
}

/* msg_scan_line_is - does the header line open a field called name */
bool
msg_scan_line_is(const char *p, size_t len, const char *name)
{
	return msg_scan_value_start(name, p, len) != NULL;
}

/* msg_scan_keep - append to the current value; an overflow makes the scan incomplete */
static void
msg_scan_keep(struct msg_scan *s, const char *p, size_t len)
{
	if (s->overflow)
		return;
	if (buf_append(&s->values, p, len) < 0) {
		s->overflow = true;
		return;
	}
	s->len[s->count - 1] += len;
}

/* msg_scan_line - one header line, its line end included */
void
msg_scan_line(struct msg_scan *s, const char *p, size_t len)
{
	const char *v;

	if (s->done)
		return;
	if (msg_scan_is_empty(p, len)) {
		s->done = true;
		return;
	}
	if (p[0] == ' ' || p[0] == '\t') {
		if (s->in_field)
			msg_scan_keep(s, p, len);
		return;
	}
	s->in_field = (v = msg_scan_value_start(s->name, p, len)) != NULL;
	if (!s->in_field)
		return;
	if (s->count == MSG_SCAN_FIELD_LIMIT) {
		s->overflow = true;
		return;
	}
	s->off[s->count] = s->values.len;
	s->len[s->count++] = 0;
	msg_scan_keep(s, v, len - (size_t)(v - p));
}

/* msg_scan_lines - several header lines: each ends at LF, the last maybe not */
void
msg_scan_lines(struct msg_scan *s, const char *p, size_t len)
{
	while (len > 0) {
		const char *lf = memchr(p, '\n', len);
		size_t n = lf ? (size_t)(lf - p) + 1 : len;

		msg_scan_line(s, p, n);
		p += n;
		len -= n;
	}
}

/* msg_scan_value - value i (after the colon, folding and line ends included) */
struct span
msg_scan_value(const struct msg_scan *s, size_t i)
{
	return (struct span){ buf_cstr(&s->values) + s->off[i], s->len[i] };
}
