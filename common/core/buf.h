/*
 * buf.h - owned growable byte buffer with a hard maximum set at creation.
 *
 * Always NUL-terminated in a spare byte, so the contents can be handed to
 * functions that want a C string.  An append past the maximum sets a sticky
 * error flag and leaves the contents unchanged, so a header builder can append
 * freely and check once at the end (as unbound's sldns_buffer does).
 */
#ifndef MAILAUTH_BUF_H
#define MAILAUTH_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;	/* allocated, excluding the spare NUL byte */
	size_t max;	/* hard limit on len */
	bool overflow;	/* sticky: an append was refused */
};

/* buf_init - embed-initialise with a maximum length */
void buf_init(struct buf *b, size_t max);
/* buf_clear - release storage */
void buf_clear(struct buf *b);
/* buf_reset - empty the buffer, keep storage, clear the error flag */
void buf_reset(struct buf *b);
/* buf_reserve - room for n more bytes (and the NUL); -1 (and sticky flag) past max */
int buf_reserve(struct buf *b, size_t n);
/* buf_append - append n bytes; -1 (and sticky flag) past max */
int buf_append(struct buf *b, const void *p, size_t n);
/* buf_append_str - append a C string */
int buf_append_str(struct buf *b, const char *s);
/* buf_append_char - append one byte */
int buf_append_char(struct buf *b, char c);
/* buf_printf - append formatted text */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* buf_cstr - contents as a NUL-terminated string */
const char *buf_cstr(const struct buf *b);
/* buf_truncate - shorten to len bytes */
void buf_truncate(struct buf *b, size_t len);
/* buf_steal - hand the storage to the caller (NUL-terminated), reset the buffer */
char *buf_steal(struct buf *b);

#endif
