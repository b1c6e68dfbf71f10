/*
 * fuzz_reinject_data.c - libFuzzer target for reinject's DATA decoder
 * (reinject/reinject_data.c) against a reference splitter written plainly
 * from RFC 5321 §4.1.1.4 (the end of data is the first CRLF "." CRLF, the
 * DATA command's CRLF counting as the first CRLF) and §4.5.2 (unstuffing).
 *
 * Input: a settings byte (bare_newline_action, long_line_action,
 * nul_byte_action refuse bits), a chunk size byte, then the bytes after 354.
 * Invariants, so that the transactions downstream are those of the upstream
 * bytes:
 *  - the decoder ends exactly where the reference does, and nowhere when
 *    the reference finds no end; the bytes after the end are left unread;
 *  - every line passed on ends in CRLF, has no other CR, LF or NUL, and at
 *    most 998 octets (RFC 5322 §2.1.1);
 *  - a message without bare CR/LF, NUL or long line comes out as the
 *    reference's unstuffed lines, byte for byte;
 *  - what reinject sends downstream (the lines dot-stuffed by
 *    reinject_out_stuff, then "." CRLF) is one message for the reference,
 *    made of the same lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "reinject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINE_MAX	998	/* RFC 5322 §2.1.1 */

/* fuzz_line - the decoder's line callback: check the line, collect it */
static void
fuzz_line(void *arg, const char *p, size_t len)
{
	struct buf *out = arg;

	if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n')
		abort();
	if (len - 2 > FUZZ_LINE_MAX)
		abort();
	for (size_t i = 0; i + 2 < len; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			abort();
	buf_append(out, p, len);
}

/* ref_end - offset just past the first CRLF "." CRLF, or 0 for none */
static size_t
ref_end(const char *p, size_t n)
{
	if (n >= 3 && memcmp(p, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

/*
 * ref_unstuff - the message (p, n) (the bytes before the final "." CRLF)
 * unstuffed into out; false when it holds a bare CR or LF, a NUL or a line
 * over 998 octets, where the decoder changes it by design
 */
static bool
ref_unstuff(const char *p, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		const char *lf = memchr(p + i, '\n', n - i);
		size_t len = (size_t)(lf - (p + i));	/* n ends in CRLF */
		size_t skip = p[i] == '.' ? 1 : 0;

		if (len == 0 || p[i + len - 1] != '\r')
			return false;
		len--;
		if (memchr(p + i, '\r', len) || memchr(p + i, '\0', len) ||
		    len - skip > FUZZ_LINE_MAX)
			return false;
		buf_append(out, p + i + skip, len - skip);
		buf_append(out, "\r\n", 2);
		i += len + 2;
	}
	return true;
}

/* fuzz_downstream - stuffed as reinject sends it, the lines are one message */
static void
fuzz_downstream(const struct buf *lines)
{
	struct evbuffer *ev = evbuffer_new();
	struct buf back;
	bool bol = true;
	size_t n, end;
	char *p;

	reinject_out_stuff(ev, lines->data, lines->len, &bol);
	evbuffer_add(ev, ".\r\n", 3);
	n = evbuffer_get_length(ev);
	p = (char *)evbuffer_pullup(ev, -1);
	end = ref_end(p, n);
	if (end != n)
		abort();	/* downstream would see another transaction */
	buf_init(&back, n + 1);
	if (!ref_unstuff(p, n - 3, &back) || back.len != lines->len ||
	    (back.len && memcmp(back.data, lines->data, back.len) != 0))
		abort();
	buf_clear(&back);
	evbuffer_free(ev);
}

/* fuzz_feed - the input in chunks of the given size (0: at once) */
static size_t
fuzz_feed(struct reinject_data *d, const char *p, size_t n, size_t chunk)
{
	size_t used = 0;

	while (used < n && !d->done) {
		size_t len = chunk && chunk < n - used ? chunk : n - used;
		size_t u = reinject_data_feed(d, p + used, len);

		if (u > len || (u < len && !d->done))
			abort();	/* only the end of data leaves bytes */
		used += u;
	}
	return used;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reinject_conf c = { 0 };
	struct reinject_data d;
	struct buf out, ref;
	const char *p = (const char *)data + 2;
	size_t n, end, used;

	if (size < 2)
		return 0;
	n = size - 2;
	c.message_size_limit = 1 << 20;
	c.bare_newline_action = data[0] & 1 ? REINJECT_BARE_NL_REFUSE : REINJECT_BARE_NL_NORMALIZE;
	c.long_line_action = data[0] & 2 ? REINJECT_LONG_LINE_REFUSE : REINJECT_LONG_LINE_FOLD;
	c.nul_byte_action = data[0] & 4 ? REINJECT_NUL_REFUSE : REINJECT_NUL_STRIP;
	buf_init(&out, 2 * size + 16);
	buf_init(&ref, size + 16);
	reinject_data_init(&d, &c, fuzz_line, &out);
	used = fuzz_feed(&d, p, n, data[1] % 64);
	end = ref_end(p, n);
	if (d.done != (end != 0) || (end && used != end) || (!end && used != n))
		abort();	/* the end of data is not where RFC 5321 puts it */
	if (end && ref_unstuff(p, end - 3, &ref)) {
		/* nothing to change: the message passes unchanged */
		if (d.bare_nl || d.nul || d.long_line || ref.len != out.len ||
		    (out.len && memcmp(ref.data, out.data, out.len) != 0))
			abort();
	}
	fuzz_downstream(&out);
	reinject_data_clear(&d);
	buf_clear(&out);
	buf_clear(&ref);
	return 0;
}
