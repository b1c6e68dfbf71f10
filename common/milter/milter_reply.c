/*
 * milter_reply.c - the filter's replies (libmilter mfdef.h SMFIR_*), each one
 * length-prefixed packet appended to an output buffer.
 *
 * Header values go out as the MTA stores header lines: a fold is LF and
 * the continuation's white space (sendmail's and Postfix's queue files keep
 * LF-terminated lines; both turn them into CR LF on the wire).
 */
#include <stdio.h>
#include <string.h>

#include "milter.h"

/* milter_reply_u32 - append a network-order word */
static void
milter_reply_u32(struct buf *out, uint32_t v)
{
	char w[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	buf_append(out, w, sizeof(w));
}

/* milter_reply_begin - length placeholder and command byte; returns the start */
static size_t
milter_reply_begin(struct buf *out, enum milter_reply_code code)
{
	size_t start = out->len;

	milter_reply_u32(out, 0);
	buf_append_char(out, (char)code);
	return start;
}

/* milter_reply_end - fill in the length of the packet begun at start */
static void
milter_reply_end(struct buf *out, size_t start)
{
	uint32_t n;

	if (out->overflow)
		return;
	n = (uint32_t)(out->len - start - MILTER_LEN_BYTES);
	out->data[start] = (char)(n >> 24);
	out->data[start + 1] = (char)(n >> 16);
	out->data[start + 2] = (char)(n >> 8);
	out->data[start + 3] = (char)n;
}

/* milter_reply_simple - a reply without data */
void
milter_reply_simple(struct buf *out, enum milter_reply_code code)
{
	milter_reply_end(out, milter_reply_begin(out, code));
}

/* milter_reply_text - append text with CR, LF and NUL as spaces, then NUL */
static void
milter_reply_text(struct buf *out, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf_append_char(out, p[i] == '\r' || p[i] == '\n' ||
		    p[i] == '\0' ? ' ' : p[i]);
	buf_append_char(out, '\0');
}

/* milter_reply_code - REPLYCODE "550 5.7.1 text" */
void
milter_reply_code(struct buf *out, int code, const char *enh, const char *text)
{
	size_t start = milter_reply_begin(out, MILTER_REPLY_REPLYCODE);
	char head[32];
	int n = snprintf(head, sizeof(head), "%03d %s%s", code,
	    enh && enh[0] ? enh : "", enh && enh[0] ? " " : "");

	if (n < 0 || (size_t)n >= sizeof(head))
		n = snprintf(head, sizeof(head), "%03d ", code);
	buf_append(out, head, (size_t)n);
	milter_reply_text(out, text, strlen(text));
	milter_reply_end(out, start);
}

/* milter_reply_value - a header value with CR LF and bare CR folded to LF */
static void
milter_reply_value(struct buf *out, struct span v)
{
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '\r') {
			if (i + 1 < v.len && v.p[i + 1] == '\n')
				continue;
			buf_append_char(out, '\n');
		} else {
			buf_append_char(out, v.p[i] == '\0' ? ' ' : v.p[i]);
		}
	}
	buf_append_char(out, '\0');
}

/* milter_reply_header - ADDHEADER, INSHEADER or CHGHEADER */
void
milter_reply_header(struct buf *out, enum milter_reply_code code,
    uint32_t index, struct span name, struct span value)
{
	size_t start = milter_reply_begin(out, code);

	if (code != MILTER_REPLY_ADDHEADER)
		milter_reply_u32(out, index);
	milter_reply_text(out, name.p, name.len);
	milter_reply_value(out, value);
	milter_reply_end(out, start);
}

/* milter_reply_quarantine - QUARANTINE with its reason */
void
milter_reply_quarantine(struct buf *out, const char *reason)
{
	size_t start = milter_reply_begin(out, MILTER_REPLY_QUARANTINE);

	milter_reply_text(out, reason, strlen(reason));
	milter_reply_end(out, start);
}

/* milter_reply_rcpt - ADDRCPT or DELRCPT of one address */
void
milter_reply_rcpt(struct buf *out, enum milter_reply_code code, struct span addr)
{
	size_t start = milter_reply_begin(out, code);

	milter_reply_text(out, addr.p, addr.len);
	milter_reply_end(out, start);
}
