/*
 * reinject_data.c - decoding of the SMTP DATA stream.
 *
 * RFC 5321 §4.1.1.4: the message ends with CRLF "." CRLF; §4.5.2: a line
 * starting with "." has one removed (dot-unstuffing).  Only a real CRLF ends
 * a line here.  A bare LF or bare CR (SMTP smuggling, CVE-2023-51764) never
 * ends the message and is never passed on as a line end: it is turned into
 * CRLF (bare_newline_action = normalize), or the message is refused (refuse).
 * The end needs CRLF on both sides of the ".": a "." CRLF line that follows a
 * bare CR or LF ("\n.\r\n", "\r.\r\n") is content under either setting.
 * A NUL byte is not allowed in a message (RFC 5321 §4.1.1.4 data is
 * "US-ASCII except CR LF", RFC 5322 §2.1, RFC 6152 §3): it is left out
 * (nul_byte_action = strip), or the message is refused (refuse).
 * Lines longer than RFC 5322 §2.1.1's 998 octets are broken before signing
 * (a header line at a blank, so unfolding restores it; else with CRLF SP),
 * or refused (long_line_action).  Lines go to line_cb with CRLF appended.
 */
#include <string.h>

#include "reinject.h"

/* reinject_data_init - decoder for one message */
void
reinject_data_init(struct reinject_data *d, const struct reinject_conf *c,
    void (*line_cb)(void *, const char *, size_t), void *arg)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->line, SMTP_TEXT_LINE_LIMIT + 2);
	d->size_limit = c->message_size_limit;
	d->bare_action = c->bare_newline_action;
	d->long_action = c->long_line_action;
	d->nul_action = c->nul_byte_action;
	d->line_cb = line_cb;
	d->arg = arg;
}

/* reinject_data_clear - release */
void
reinject_data_clear(struct reinject_data *d)
{
	buf_clear(&d->line);
}

/*
 * reinject_data_emit - pass the line held (its first skip bytes left out: a
 * stuffing dot) on with CRLF, in place: the line buffer has room for the CRLF
 */
static void
reinject_data_emit(struct reinject_data *d, size_t skip)
{
	size_t len = d->line.len - skip;

	d->size += len + 2;
	if (d->size > d->size_limit)
		d->too_big = true;
	/* refused at the end: stop feeding the pipeline */
	if (!d->too_big && !(d->long_line && d->long_action == REINJECT_LONG_LINE_REFUSE) &&
	    !(d->bare_nl && d->bare_action == REINJECT_BARE_NL_REFUSE) &&
	    !(d->nul && d->nul_action == REINJECT_NUL_REFUSE)) {
		buf_append(&d->line, "\r\n", 2);
		d->line_cb(d->arg, d->line.data + skip, len + 2);
	}
	buf_reset(&d->line);
}

/* reinject_data_eol - a line ended; crlf false for a bare CR or LF */
static void
reinject_data_eol(struct reinject_data *d, bool crlf)
{
	struct buf *l = &d->line;
	const char *p = buf_cstr(l);
	size_t skip = 0;

	if (!crlf)
		d->bare_nl = true;
	if (crlf && !d->unstuffed && !d->after_bare && !d->line_nul && l->len == 1 &&
	    p[0] == '.') {
		d->done = true;
		buf_reset(l);
		return;
	}
	if (crlf && !d->unstuffed && !d->nul_lead && l->len > 1 && p[0] == '.')
		skip = 1;
	d->unstuffed = false;
	d->after_bare = !crlf;
	d->line_nul = d->nul_lead = false;
	if (l->len - skip == 0)
		d->in_body = true;
	reinject_data_emit(d, skip);
}

/* reinject_data_fold - the line reached 998 octets without a line end */
static void
reinject_data_fold(struct reinject_data *d)
{
	struct buf *l = &d->line;
	char tmp[SMTP_TEXT_LINE_LIMIT + 2];
	size_t cut = l->len, keep;

	d->long_line = true;
	d->unstuffed = true;
	if (!d->in_body) {
		/* RFC 5322 §2.2.3: fold before a blank, so unfolding restores it */
		while (cut > 1 && l->data[cut - 1] != ' ' && l->data[cut - 1] != '\t')
			cut--;
		cut = cut > 1 ? cut - 1 : l->len;
	}
	keep = l->len - cut;
	memcpy(tmp, l->data + cut, keep);
	l->len = cut;
	reinject_data_emit(d, 0);
	if (!d->in_body && (keep == 0 || (tmp[0] != ' ' && tmp[0] != '\t')))
		buf_append_char(l, ' ');
	buf_append(l, tmp, keep);
}

/* reinject_data_byte - one content byte of the current line */
static void
reinject_data_byte(struct reinject_data *d, char c)
{
	if (d->line.len >= SMTP_TEXT_LINE_LIMIT) {
		/* a leading "." is still stuffed here; keep it until the EOL decides */
		if (!d->unstuffed && !d->nul_lead && d->line.data[0] == '.') {
			memmove(d->line.data, d->line.data + 1, d->line.len - 1);
			d->line.len--;
		}
		d->unstuffed = true;
		if (d->line.len >= SMTP_TEXT_LINE_LIMIT)
			reinject_data_fold(d);
	}
	buf_append_char(&d->line, c);
}

/*
 * reinject_data_nul - a NUL byte: left out, or refused at the end.  The line
 * it was in is not the end of data, and a "." after it is no stuffing dot:
 * leaving it out must not turn CRLF NUL "." CRLF into the end.
 */
static void
reinject_data_nul(struct reinject_data *d)
{
	d->nul = d->line_nul = true;
	if (d->line.len == 0 && !d->unstuffed)
		d->nul_lead = true;
}

/* reinject_data_run - length of the run of bytes before the next CR, LF or NUL */
static size_t
reinject_data_run(const char *p, size_t len)
{
	const char *stop = memchr(p, '\n', len), *q;

	if (stop)
		len = (size_t)(stop - p);
	if ((q = memchr(p, '\r', len)))
		len = (size_t)(q - p);
	if ((q = memchr(p, '\0', len)))
		len = (size_t)(q - p);
	return len;
}

/* reinject_data_feed - consume bytes; returns bytes used */
size_t
reinject_data_feed(struct reinject_data *d, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && !d->done) {
		char c = p[i];
		size_t run, room;

		if (d->cr) {
			d->cr = false;
			if (c == '\n') {
				reinject_data_eol(d, true);
				i++;
				continue;
			}
			reinject_data_eol(d, false);	/* bare CR */
		}
		if (c == '\0') {
			reinject_data_nul(d);
			i++;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (c == '\r')
				d->cr = true;
			else
				reinject_data_eol(d, false);	/* bare LF */
			i++;
			continue;
		}
		/* ordinary bytes: copy the run up to the line limit at once */
		run = reinject_data_run(p + i, len - i);
		room = d->line.len < SMTP_TEXT_LINE_LIMIT ?
		    SMTP_TEXT_LINE_LIMIT - d->line.len : 0;
		if (room == 0) {
			reinject_data_byte(d, c);	/* folds or refuses */
			i++;
			continue;
		}
		if (run > room)
			run = room;
		buf_append(&d->line, p + i, run);
		i += run;
	}
	return i;
}
