/*
 * msg.h - streaming RFC 5322 header/body splitter.
 *
 * Feed a message in arbitrary chunks (as it arrives from SMTP DATA or a spool
 * file); the splitter calls back with each complete header field, then once
 * at the end of the header section, then with body chunks.  It never holds
 * more than one header field in memory and never buffers the body.
 * Used by DKIM verify/sign, reinject and DMARC.
 *
 * RFC 5322 §2.2 (header fields, folding §2.2.3), §2.1 (CRLF lines), §3.6.8
 * (field names: printable US-ASCII except ":"; obsolete WSP before ":",
 * §4.5, is tolerated and trimmed from the name).
 *
 * Contract:
 *  - header(arg, name, field): name is the field name (WSP before ":" trimmed);
 *    field is the raw field from its first byte through its final CRLF,
 *    folding included.  Both spans are valid only during the callback.
 *    A CRLF split across two chunks and a folded line split anywhere are
 *    handled: the field is emitted when the byte after its CRLF is known not
 *    to be WSP.
 *  - eoh(arg) runs once, after the last field and its separating empty line
 *    (or at msg_parser_finish() when the message has no empty line / no body).
 *  - body(arg, p, len) receives the body bytes after the empty line, in
 *    chunks (maybe of length 1); the concatenation is the body exactly, except
 *    that with MSG_BARE_LF_OK a bare LF is normalised to CRLF.
 *  - Bare LF: with MSG_BARE_LF_OK a lone LF ends a line like CRLF and is
 *    normalised to CRLF in fields and body; without it a bare LF in the header
 *    section is an error and body bytes pass through unchanged.
 *  - A field larger than limits->header_size_limit bytes, more than
 *    limits->header_count_limit fields, a line without ":" or with an empty
 *    name, or a continuation line before any field is an error.
 *  - Any callback returning -1 stops the parser: feed/finish return -1 and
 *    msg_parser_error() gives "callback".
 *  - After an error every feed/finish returns -1 and calls nothing.
 *  - msg_parser_finish(): end of input; emits a pending field (a final field
 *    without CRLF gets one appended) and eoh if not yet sent.
 */
#ifndef MAILAUTH_MSG_H
#define MAILAUTH_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "util.h"

/* Our bounds (RFC 5322 sets none for a folded field; §2.1.1 caps lines at 998). */
#define MSG_HEADER_SIZE_LIMIT	(64 * 1024)	/* bytes in one field, folding included */
#define MSG_HEADER_COUNT_LIMIT	1000		/* fields in one header section */

/* Flags for msg_parser_new(). */
#define MSG_BARE_LF_OK	0x01	/* accept a lone LF as a line end, normalise to CRLF */

struct msg_limits {
	size_t header_size_limit;	/* default MSG_HEADER_SIZE_LIMIT */
	unsigned header_count_limit;	/* default MSG_HEADER_COUNT_LIMIT */
};

struct msg_callbacks {
	int (*header)(void *arg, struct span name, struct span field);
	int (*eoh)(void *arg);
	int (*body)(void *arg, const char *p, size_t len);
};

struct msg_parser;

/* msg_limits_default - fill in the default limits */
void msg_limits_default(struct msg_limits *l);
/* msg_limits_fill - the default for each limit left 0 */
void msg_limits_fill(struct msg_limits *l);
/* msg_parser_new - a splitter; limits NULL means the defaults; cb members may be NULL */
struct msg_parser *msg_parser_new(const struct msg_limits *limits, unsigned flags,
    const struct msg_callbacks *cb, void *arg);
/* msg_parser_feed - consume len bytes; 0, or -1 on error (see msg_parser_error) */
int msg_parser_feed(struct msg_parser *m, const char *p, size_t len);
/* msg_parser_finish - end of input: flush pending state; 0 or -1 */
int msg_parser_finish(struct msg_parser *m);
/* msg_parser_error - static reason of the first error, NULL if none */
const char *msg_parser_error(const struct msg_parser *m);
/* msg_parser_in_body - true once the end of the header section was seen */
bool msg_parser_in_body(const struct msg_parser *m);
/* msg_parser_header_count - header fields emitted so far */
unsigned msg_parser_header_count(const struct msg_parser *m);
/* msg_parser_free - destroy */
void msg_parser_free(struct msg_parser *m);

/*
 * A lenient scan for the fields of one name (msg_scan.c), for a header
 * section the splitter refused: fed the header lines whole (line ends
 * included), it finds every field whose line starts with the name, optional
 * SP/HT and ":", with its continuation lines (a line starting with SP or HT),
 * up to the empty line that ends the header section.  Nothing else about the
 * other lines matters, so a field after a line the splitter refused, or after
 * its limits, is still found.  Values (after the colon, line ends included)
 * are kept up to size_limit bytes in all and MSG_SCAN_FIELD_LIMIT fields;
 * past either, overflow is set: the scan is incomplete, and the caller must
 * not take it as the message's fields of that name.
 */
#define MSG_SCAN_FIELD_LIMIT	8	/* our bound on fields kept */

struct msg_scan {
	const char *name;
	struct buf values;
	size_t off[MSG_SCAN_FIELD_LIMIT], len[MSG_SCAN_FIELD_LIMIT];
	size_t count;		/* fields found */
	bool in_field;		/* the field the last line belongs to is one of ours */
	bool done;		/* the empty line was seen */
	bool overflow;		/* a bound was passed: incomplete */
};

/* msg_scan_init - scan for fields called name (kept, not copied), at most size_limit bytes */
void msg_scan_init(struct msg_scan *s, const char *name, size_t size_limit);
/* msg_scan_line - one header line, its line end included */
void msg_scan_line(struct msg_scan *s, const char *p, size_t len);
/* msg_scan_lines - several header lines: each ends at LF, the last maybe not */
void msg_scan_lines(struct msg_scan *s, const char *p, size_t len);
/* msg_scan_value - value i < count (after the colon, line ends included) */
struct span msg_scan_value(const struct msg_scan *s, size_t i);
/* msg_scan_line_is - does the header line open a field called name (name, WSP, ":") */
bool msg_scan_line_is(const char *p, size_t len, const char *name);
/* msg_scan_clear - release storage */
void msg_scan_clear(struct msg_scan *s);

#endif
