/*
 * tagvalue.h - RFC 6376 §3.2 tag=value list parser.
 *
 * Shared by DKIM-Signature fields (RFC 6376 §3.5), DKIM key records (§3.6.1),
 * DMARC records (same syntax) and later ARC.  The parser takes (pointer,
 * length), never strlen()s its input, allocates nothing, and returns spans
 * into the caller's buffer.
 *
 * Grammar (RFC 6376 §3.2):
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC            ; ALNUMPUNC = ALPHA / DIGIT / "_"
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR                   ; %x21-3A / %x3C-7E
 *
 * Contract:
 *  - FWS is WSP, or CRLF (or a bare LF) followed by WSP.  A line break that
 *    is not followed by WSP is a syntax error (it would end a header field).
 *  - Tag names are case-sensitive (§3.2) and must be unique: a duplicate is
 *    an error (§3.2 "tags with duplicate names MUST NOT occur").
 *  - value is the tag-value without the surrounding FWS; FWS inside the value
 *    (folded b=, p=, h=) is kept: use tagvalue_copy_nows() to drop it.
 *  - raw is everything between "=" and the next ";" (or the end): DKIM uses it
 *    to blank the b= value including its surrounding whitespace (§3.7).
 *  - Bytes >= 0x80 are accepted in values (RFC 8616 allows UTF-8); control
 *    characters other than FWS are not.
 *  - An empty list (only FWS) parses to zero tags; an empty tag-spec between
 *    two semicolons is a syntax error; one trailing ";" is allowed.
 *  - At most TAGVALUE_TAG_LIMIT tags; more is an error.
 *  - On error tagvalue_parse() returns -1 and sets reason (a static string)
 *    and error_offset (byte offset into the input).
 */
#ifndef MAILAUTH_TAGVALUE_H
#define MAILAUTH_TAGVALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Our bound on tags in one list; DKIM defines 14 signature tags, DMARC 11. */
#define TAGVALUE_TAG_LIMIT	64

enum tagvalue_error {
	TAGVALUE_OK,
	TAGVALUE_ERR_SYNTAX,
	TAGVALUE_ERR_DUPLICATE,
	TAGVALUE_ERR_TOO_MANY,
};

struct tagvalue_tag {
	struct span name;	/* tag-name, case-sensitive */
	struct span value;	/* tag-value without surrounding FWS */
	struct span raw;	/* bytes between "=" and ";" (or end), FWS included */
};

struct tagvalue_list {
	size_t count;
	struct tagvalue_tag tags[TAGVALUE_TAG_LIMIT];
	enum tagvalue_error error;
	const char *reason;	/* static text; NULL when error == TAGVALUE_OK */
	size_t error_offset;	/* offset of the offending byte in the input */
};

/* tagvalue_parse - parse a tag-list; 0, or -1 with list->error/reason set */
int tagvalue_parse(const char *p, size_t len, struct tagvalue_list *list);
/* tagvalue_find - the tag named name (case-sensitive), or NULL */
const struct tagvalue_tag *tagvalue_find(const struct tagvalue_list *list,
    const char *name);
/* tagvalue_copy_nows - copy v without SP/HTAB/CR/LF into out; bytes written, or -1 if out is too small */
long tagvalue_copy_nows(struct span v, char *out, size_t outlen);
/* tagvalue_error_str - name of an error */
const char *tagvalue_error_str(enum tagvalue_error e);
/*
 * tagvalue_list_next - the next item of a colon-separated value (h=, q=,
 * k=, s=, h= of key records), blanks around it trimmed; *pos starts at 0;
 * false after the last (an empty value has one empty item)
 */
bool tagvalue_list_next(struct span v, size_t *pos, struct span *item);
/* tagvalue_list_has - an item of the colon-separated value v is word (case-insensitive) */
bool tagvalue_list_has(struct span v, const char *word);

#endif
