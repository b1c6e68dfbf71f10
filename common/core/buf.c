/*
 * buf.c - bounded growable buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static const char buf_empty[1] = "";

/* buf_init - embed-initialise with a maximum length */
void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->overflow = false;
}

/* buf_clear - release storage */
void
buf_clear(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

/* buf_reset - empty the buffer, keep storage, clear the error flag */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = false;
	if (b->data)
		b->data[0] = '\0';
}

/* buf_reserve - room for n more bytes (and the NUL); -1 (and sticky flag) past max */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (n > b->max || b->len > b->max - n) {
		b->overflow = true;
		return -1;
	}
	need = b->len + n;
	if (need <= b->cap && b->data)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if (cap < need)
		cap = need;
	b->data = xrealloc(b->data, cap + 1);
	b->cap = cap;
	return 0;
}

/* buf_append - append n bytes; -1 (and sticky flag) past max */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* buf_append_str - append a C string */
int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* buf_append_char - append one byte */
int
buf_append_char(struct buf *b, char c)
{
	/* the common case, room already there, without buf_reserve's checks */
	if (b->data != NULL && b->len < b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, &c, 1);
}

/* buf_vprintf - append formatted text */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

/* buf_printf - append formatted text */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

/* buf_cstr - contents as a NUL-terminated string */
const char *
buf_cstr(const struct buf *b)
{
	return b->data ? b->data : buf_empty;
}

/* buf_truncate - shorten to len bytes */
void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* buf_steal - hand the storage to the caller (NUL-terminated), reset the buffer */
char *
buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	buf_init(b, b->max);
	return p;
}
