/*
 * smtp.h - SMTP protocol pieces shared by servers and clients.
 *
 * Command lines (RFC 5321 §4.1.1): verb recognition from a table and argument
 * splitting; MAIL/RCPT paths with their ESMTP parameters (RFC 5321 §4.1.2 and
 * §4.1.3, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN);
 * XFORWARD attributes (Postfix XFORWARD_README); reply lines (RFC 5321 §4.2)
 * with enhanced status codes (RFC 3463, RFC 2034); EHLO capabilities; xtext
 * (RFC 3461 §4).
 *
 * Every parser takes (pointer, length) of network data and never relies on a
 * NUL terminator; spans returned point into the caller's input.
 */
#ifndef MAILAUTH_SMTP_H
#define MAILAUTH_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

/* RFC 5321 §4.5.3.1.4: command line incl. CRLF; extensions may raise it. */
#define SMTP_COMMAND_LINE_MIN	512
/* RFC 5322 §2.1.1: a line of a message is at most 998 octets without CRLF. */
#define SMTP_TEXT_LINE_LIMIT	998
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets, "<" and ">" included. */
#define SMTP_PATH_LIMIT		256
/* Bound on ESMTP parameters accepted on one MAIL or RCPT command. */
#define SMTP_PARAM_LIMIT	16
/* Bound on the text of a multi-line reply kept by the reply parser. */
#define SMTP_REPLY_TEXT_LIMIT	8192

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_XFORWARD,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_ETRN,
	SMTP_VERB_COUNT
};

enum smtp_cmd_status {
	SMTP_CMD_OK,
	SMTP_CMD_EMPTY,		/* empty line */
	SMTP_CMD_NUL,		/* NUL byte in the line */
	SMTP_CMD_BAD_CHAR,	/* bare CR or non-ASCII in the verb */
};

struct smtp_cmd {
	enum smtp_verb verb;
	struct span verb_text;	/* as sent */
	struct span arg;	/* after the verb and its blanks, trailing blanks trimmed */
};

/* smtp_cmd_parse - split a command line (without CRLF) into verb and argument */
enum smtp_cmd_status smtp_cmd_parse(const char *p, size_t len,
    struct smtp_cmd *out);

/* ---- MAIL FROM / RCPT TO (smtp_path.c) ---- */

struct smtp_param {
	struct span key;
	struct span value;	/* empty and has_value false for "SMTPUTF8" */
	bool has_value;
};

enum smtp_path_status {
	SMTP_PATH_OK,
	SMTP_PATH_SYNTAX,	/* 501 5.5.4 */
	SMTP_PATH_TOO_LONG,	/* 501 5.1.3 (RFC 5321 §4.5.3.1.3) */
	SMTP_PATH_TOO_MANY_PARAMS, /* 555 5.5.4 */
};

struct smtp_path {
	struct span addr;	/* between < and >, source route removed */
	struct span raw;	/* including < and > as sent */
	size_t nparams;
	struct smtp_param params[SMTP_PARAM_LIMIT];
};

/*
 * smtp_path_parse - parse "FROM:<addr> params" (prefix "FROM") or "TO:<addr> ..."
 * from a MAIL/RCPT argument.  A blank after the colon and a path without angle
 * brackets are tolerated, as Postfix does by default.
 */
enum smtp_path_status smtp_path_parse(struct span arg, const char *prefix,
    struct smtp_path *out);
/* smtp_path_status_str - reason text */
const char *smtp_path_status_str(enum smtp_path_status st);

/* ---- ESMTP parameter validation (smtp_param.c) ---- */

enum smtp_param_kind {
	SMTP_PARAM_UNKNOWN,
	SMTP_PARAM_SIZE,	/* RFC 1870 */
	SMTP_PARAM_BODY,	/* RFC 6152 */
	SMTP_PARAM_SMTPUTF8,	/* RFC 6531 */
	SMTP_PARAM_RET,		/* RFC 3461 §4.3 */
	SMTP_PARAM_ENVID,	/* RFC 3461 §4.4 */
	SMTP_PARAM_NOTIFY,	/* RFC 3461 §4.1 */
	SMTP_PARAM_ORCPT,	/* RFC 3461 §4.2 */
};

/* smtp_param_kind - classify a parameter key */
enum smtp_param_kind smtp_param_kind(struct span key);
/*
 * smtp_param_check - validate one parameter for MAIL (is_rcpt false) or RCPT.
 * Returns NULL when valid, else a reason; *size is set for SIZE.
 */
const char *smtp_param_check(const struct smtp_param *prm, bool is_rcpt,
    uint64_t *size);

/* ---- xtext, RFC 3461 §4 (smtp_xtext.c) ---- */

/* smtp_xtext_decode - decode xtext into out (NULL: only check it); -1 on malformed input */
int smtp_xtext_decode(const char *p, size_t len, struct buf *out);
/* smtp_xtext_encode - encode bytes as xtext into out */
int smtp_xtext_encode(const char *p, size_t len, struct buf *out);
/* smtp_xtext_valid - is (p, len) well-formed xtext */
bool smtp_xtext_valid(const char *p, size_t len);

/* ---- XFORWARD, Postfix XFORWARD_README (smtp_xforward.c) ---- */

enum smtp_xfwd_attr {
	SMTP_XFWD_NAME,
	SMTP_XFWD_ADDR,
	SMTP_XFWD_PORT,
	SMTP_XFWD_PROTO,
	SMTP_XFWD_HELO,
	SMTP_XFWD_IDENT,
	SMTP_XFWD_SOURCE,
	SMTP_XFWD_COUNT
};

/* Postfix limits each decoded attribute value; so do we. */
#define SMTP_XFWD_VALUE_LIMIT	255

struct smtp_xforward {
	/* decoded values; NULL when not sent; "[UNAVAILABLE]" kept as NULL + flag */
	char *value[SMTP_XFWD_COUNT];
	bool unavailable[SMTP_XFWD_COUNT];
};

/* smtp_xforward_clear - forget every attribute */
void smtp_xforward_clear(struct smtp_xforward *x);
/*
 * smtp_xforward_parse - apply "NAME=v ADDR=v ..." to x.  Returns NULL or the
 * reason of a 501 reply; x is unchanged on error.
 */
const char *smtp_xforward_parse(struct span arg, struct smtp_xforward *x);
/* smtp_xforward_attr_name - "NAME", "ADDR", ... */
const char *smtp_xforward_attr_name(enum smtp_xfwd_attr a);
/* smtp_xforward_addr - ADDR without an "IPV6:" prefix, or NULL */
const char *smtp_xforward_addr(const struct smtp_xforward *x);
/*
 * smtp_xforward_format - "XFORWARD NAME=.. ADDR=.." for the attributes in mask
 * (bit per attr) that have a value or are unavailable; returns the count added.
 */
int smtp_xforward_format(const struct smtp_xforward *x, unsigned mask,
    struct buf *out);

/* ---- replies (smtp_reply.c) ---- */

struct smtp_reply {
	int code;		/* 0 until the first line */
	char enh[16];		/* "2.0.0", or "" when the reply has none */
	struct buf text;	/* lines without code, joined by "\n" */
	bool complete;
	unsigned lines;
};

enum smtp_reply_status {
	SMTP_REPLY_MORE,	/* a continuation line: feed the next one */
	SMTP_REPLY_DONE,	/* last line seen */
	SMTP_REPLY_BAD,		/* malformed or inconsistent */
};

/* smtp_reply_init - empty reply */
void smtp_reply_init(struct smtp_reply *r);
/* smtp_reply_clear - release storage */
void smtp_reply_clear(struct smtp_reply *r);
/* smtp_reply_reset - reuse for the next reply */
void smtp_reply_reset(struct smtp_reply *r);
/* smtp_reply_feed - one reply line without CRLF */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *p,
    size_t len);
/* smtp_reply_class - 2, 3, 4 or 5 */
int smtp_reply_class(const struct smtp_reply *r);
/* smtp_enh_valid - "class.subject.detail" per RFC 3463 §2 */
bool smtp_enh_valid(const char *p, size_t len, size_t *used);

/*
 * smtp_reply_format - "code enh text\r\n"; text may hold "\n" for multi-line.
 */
void smtp_reply_format(struct buf *out, int code, const char *enh,
    const char *text);
/*
 * smtp_reply_relay - re-emit a parsed reply with its code, keeping its enhanced
 * status code; one with none gets def_enh (RFC 3463 §3 default by class).
 */
void smtp_reply_relay(struct buf *out, const struct smtp_reply *r);
/* smtp_reply_queue_id - "queued as ID" in the text, or an empty span */
struct span smtp_reply_queue_id(const struct smtp_reply *r);
/* smtp_reply_oneline - reply as a single line, for logs */
void smtp_reply_oneline(const struct smtp_reply *r, struct buf *out);

/* ---- EHLO capabilities (smtp_ehlo.c) ---- */

enum smtp_ext {
	SMTP_EXT_PIPELINING = 1u << 0,
	SMTP_EXT_SIZE = 1u << 1,
	SMTP_EXT_8BITMIME = 1u << 2,
	SMTP_EXT_SMTPUTF8 = 1u << 3,
	SMTP_EXT_DSN = 1u << 4,
	SMTP_EXT_ENHANCEDSTATUSCODES = 1u << 5,
	SMTP_EXT_XFORWARD = 1u << 6,
	SMTP_EXT_CHUNKING = 1u << 7,
	SMTP_EXT_STARTTLS = 1u << 8,
};

struct smtp_ehlo {
	unsigned ext;		/* enum smtp_ext bits */
	uint64_t size;		/* SIZE value, 0 = none/unlimited */
	unsigned xforward;	/* bit per enum smtp_xfwd_attr announced */
};

/* smtp_ehlo_parse - capabilities from a complete 250 EHLO reply */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out);

#endif
