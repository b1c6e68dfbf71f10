/*
 * smtp_reply.c - SMTP reply parsing and building.
 *
 * RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                Reply-code [ SP textstring ] CRLF
 * every line of a multi-line reply carries the same code.  Enhanced status
 * codes (RFC 3463 §2, RFC 2034 §4) open the text of each line.
 */
#include <stdio.h>
#include <string.h>

#include "smtp.h"

/* smtp_reply_init - empty reply */
void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_TEXT_LIMIT);
}

/* smtp_reply_clear - release storage */
void
smtp_reply_clear(struct smtp_reply *r)
{
	buf_clear(&r->text);
}

/* smtp_reply_reset - reuse for the next reply */
void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->complete = false;
	r->lines = 0;
	buf_reset(&r->text);
}

/* smtp_enh_digits - 1 to max digits at p; count or 0 */
static size_t
smtp_enh_digits(const char *p, size_t len, size_t max)
{
	size_t n = 0;

	while (n < len && n < max + 1 && p[n] >= '0' && p[n] <= '9')
		n++;
	return n >= 1 && n <= max ? n : 0;
}

/* smtp_enh_valid - "class.subject.detail" per RFC 3463 §2 */
bool
smtp_enh_valid(const char *p, size_t len, size_t *used)
{
	size_t i = 0, n;

	if (len < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return false;
	i = 2;
	if (!(n = smtp_enh_digits(p + i, len - i, 3)))
		return false;
	i += n;
	if (i >= len || p[i] != '.')
		return false;
	i++;
	if (!(n = smtp_enh_digits(p + i, len - i, 3)))
		return false;
	i += n;
	if (i < len && p[i] != ' ')
		return false;
	if (used)
		*used = i;
	return true;
}

/* smtp_reply_code - three digits 2xx..5xx */
static int
smtp_reply_code(const char *p, size_t len)
{
	if (len < 3 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return -1;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* smtp_reply_take_text - strip the enhanced code and keep the text */
static void
smtp_reply_take_text(struct smtp_reply *r, const char *t, size_t tlen)
{
	size_t used;

	if (smtp_enh_valid(t, tlen, &used) && t[0] - '0' == r->code / 100) {
		if (r->lines == 1 && used < sizeof(r->enh)) {
			memcpy(r->enh, t, used);
			r->enh[used] = '\0';
		}
		t += used;
		tlen -= used;
		while (tlen && *t == ' ') {
			t++;
			tlen--;
		}
	}
	if (r->lines > 1)
		buf_append_char(&r->text, '\n');
	buf_append(&r->text, t, tlen);
}

/* smtp_reply_feed - one reply line without CRLF */
enum smtp_reply_status
smtp_reply_feed(struct smtp_reply *r, const char *p, size_t len)
{
	int code = smtp_reply_code(p, len);
	bool last;

	if (r->complete)
		smtp_reply_reset(r);
	if (code < 0 || (len > 3 && p[3] != ' ' && p[3] != '-') ||
	    memchr(p, '\0', len))
		return SMTP_REPLY_BAD;
	if (r->lines && code != r->code)
		return SMTP_REPLY_BAD;
	r->code = code;
	r->lines++;
	last = len == 3 || p[3] == ' ';
	smtp_reply_take_text(r, len > 4 ? p + 4 : p + len,
	    len > 4 ? len - 4 : 0);
	if (!last)
		return SMTP_REPLY_MORE;
	r->complete = true;
	return SMTP_REPLY_DONE;
}

/* smtp_reply_class - 2, 3, 4 or 5 */
int
smtp_reply_class(const struct smtp_reply *r)
{
	return r->code / 100;
}

/* smtp_reply_format - "code enh text\r\n"; text may hold "\n" for multi-line */
void
smtp_reply_format(struct buf *out, int code, const char *enh, const char *text)
{
	const char *line = text;

	for (;;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		buf_printf(out, "%03d%c", code, nl ? '-' : ' ');
		if (enh && enh[0])
			buf_printf(out, "%s ", enh);
		buf_append(out, line, n);
		buf_append(out, "\r\n", 2);
		if (!nl)
			break;
		line = nl + 1;
	}
}

/* smtp_reply_relay - re-emit a parsed reply, keeping its enhanced code */
void
smtp_reply_relay(struct buf *out, const struct smtp_reply *r)
{
	char def[16];
	const char *enh = r->enh;

	/* RFC 3463 §3.1: X.0.0 is the "other undefined status" of a class; the
	 * classes are 2, 4 and 5 only (a 3xx reply carries no enhanced code) */
	if (!enh[0] && (r->code / 100 == 2 || r->code / 100 == 4 || r->code / 100 == 5)) {
		snprintf(def, sizeof(def), "%d.0.0", r->code / 100);
		enh = def;
	}
	smtp_reply_format(out, r->code, enh, buf_cstr(&r->text));
}

/* smtp_reply_queue_id - "queued as ID" in the text, or an empty span */
struct span
smtp_reply_queue_id(const struct smtp_reply *r)
{
	static const char marker[] = "queued as ";
	const char *t = buf_cstr(&r->text), *end = t + r->text.len, *s;
	struct span id = { NULL, 0 };

	s = memmem(t, r->text.len, marker, sizeof(marker) - 1);
	if (!s)
		return id;
	s += sizeof(marker) - 1;
	id.p = s;
	while (s < end && *s != ' ' && *s != '\n' && *s != ',' && *s != ';' &&
	    *s != ')')
		s++;
	id.len = (size_t)(s - id.p);
	return id;
}

/* smtp_reply_oneline - reply as a single line, for logs */
void
smtp_reply_oneline(const struct smtp_reply *r, struct buf *out)
{
	const char *t = buf_cstr(&r->text);

	buf_printf(out, "%03d", r->code);
	if (r->enh[0])
		buf_printf(out, " %s", r->enh);
	buf_append_char(out, ' ');
	for (size_t i = 0; i < r->text.len; i++)
		buf_append_char(out, t[i] == '\n' ? ' ' : t[i]);
}
