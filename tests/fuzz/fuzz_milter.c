/*
 * fuzz_milter.c - libFuzzer target for the milter packet reader and command
 * parser (common/milter).
 *
 * The input is a byte stream as an MTA would send it.  Packets are framed
 * under a small limit; each one is copied into an exactly-sized allocation
 * before parsing, so any read past its end is caught.  Invariants: a packet
 * is either a whole command or an error, never a part: a parsed command of
 * the string layouts, written out again, gives back exactly the packet's
 * bytes (nothing skipped, nothing invented); every span lies inside the
 * packet; strings hold no NUL; a framing error stops the stream as the
 * session would close it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small, so the too-big path is reached often. */
#define FUZZ_MILTER_LIMIT	4096

/* fuzz_inside - span within the packet data */
static void
fuzz_inside(struct span s, const struct milter_packet *pk, bool string)
{
	if (s.len && (s.p < pk->data.p || s.p + s.len > pk->data.p + pk->data.len))
		abort();
	if (string && memchr(s.p, '\0', s.len))
		abort();
}

/* fuzz_check - the spans of a parsed command */
static void
fuzz_check(const struct milter_cmd *c, const struct milter_packet *pk)
{
	switch (c->code) {
	case MILTER_CMD_MACRO:
		for (size_t i = 0; i < c->u.macro.n; i++) {
			fuzz_inside(c->u.macro.v[i].name, pk, true);
			fuzz_inside(c->u.macro.v[i].value, pk, true);
			(void)milter_macro_name_eq(c->u.macro.v[i].name, "auth_authen");
		}
		break;
	case MILTER_CMD_CONNECT:
		fuzz_inside(c->u.connect.hostname, pk, true);
		fuzz_inside(c->u.connect.address, pk, true);
		break;
	case MILTER_CMD_MAIL:
	case MILTER_CMD_RCPT:
		if (c->u.args.n == 0 || c->u.args.n > MILTER_ARG_LIMIT)
			abort();
		for (size_t i = 0; i < c->u.args.n; i++)
			fuzz_inside(c->u.args.v[i], pk, true);
		break;
	case MILTER_CMD_HEADER:
		if (c->u.header.name.len == 0)
			abort();
		fuzz_inside(c->u.header.name, pk, true);
		fuzz_inside(c->u.header.value, pk, true);
		break;
	case MILTER_CMD_BODY:
	case MILTER_CMD_EOB:
		fuzz_inside(c->u.body, pk, false);
		break;
	default:
		break;
	}
}

/* fuzz_reply - a parsed header echoed through the reply builder */
static void
fuzz_reply(const struct milter_cmd *c)
{
	struct buf b;
	struct milter_packet pk;
	struct milter_cmd back;
	size_t used;

	if (c->code != MILTER_CMD_HEADER)
		return;
	buf_init(&b, 3 * FUZZ_MILTER_LIMIT);
	milter_reply_header(&b, MILTER_REPLY_ADDHEADER, 0, c->u.header.name,
	    c->u.header.value);
	/* an ADDHEADER has the HEADER layout: it must parse back as one */
	if (milter_frame(b.data, b.len, b.len, &pk, &used) != MILTER_FRAME_OK ||
	    used != b.len)
		abort();
	pk.cmd = MILTER_CMD_HEADER;
	if (milter_cmd_parse(&pk, &back) != MILTER_CMD_OK)
		abort();
	buf_clear(&b);
}

/* fuzz_put - append a span and, for strings, its NUL */
static void
fuzz_put(struct buf *b, struct span s, bool nul)
{
	buf_append(b, s.p, s.len);
	if (nul)
		buf_append_char(b, '\0');
}

/* fuzz_whole - the command written out again equals the packet data */
static void
fuzz_whole(const struct milter_cmd *c, const struct milter_packet *pk)
{
	struct buf b;

	buf_init(&b, 2 * FUZZ_MILTER_LIMIT);
	switch (c->code) {
	case MILTER_CMD_MACRO:
		buf_append_char(&b, (char)c->u.macro.stage);
		for (size_t i = 0; i < c->u.macro.n; i++) {
			fuzz_put(&b, c->u.macro.v[i].name, true);
			fuzz_put(&b, c->u.macro.v[i].value, true);
		}
		break;
	case MILTER_CMD_CONNECT:
		fuzz_put(&b, c->u.connect.hostname, true);
		buf_append_char(&b, (char)c->u.connect.family);
		if (c->u.connect.family != 'U') {
			buf_append_char(&b, (char)(c->u.connect.port >> 8));
			buf_append_char(&b, (char)c->u.connect.port);
			fuzz_put(&b, c->u.connect.address, true);
		}
		break;
	case MILTER_CMD_MAIL:
	case MILTER_CMD_RCPT:
		for (size_t i = 0; i < c->u.args.n; i++)
			fuzz_put(&b, c->u.args.v[i], true);
		break;
	case MILTER_CMD_HEADER:
		fuzz_put(&b, c->u.header.name, true);
		fuzz_put(&b, c->u.header.value, true);
		break;
	case MILTER_CMD_HELO:
		fuzz_put(&b, c->u.helo, true);
		break;
	case MILTER_CMD_UNKNOWN:
		fuzz_put(&b, c->u.unknown, true);
		break;
	case MILTER_CMD_BODY:
	case MILTER_CMD_EOB:
		fuzz_put(&b, c->u.body, false);
		break;
	default:
		buf_clear(&b);
		return;	/* numbers or no data: trailing bytes are ignored */
	}
	if (b.len != pk->data.len || memcmp(b.data ? b.data : "", pk->data.p,
	    b.len) != 0)
		abort();
	buf_clear(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	while (size > 0) {
		struct milter_packet pk;
		struct milter_cmd c;
		size_t used;
		char *copy;

		if (milter_frame(p, size, FUZZ_MILTER_LIMIT, &pk, &used) !=
		    MILTER_FRAME_OK)
			return 0;	/* the session closes the connection */
		copy = malloc(pk.data.len ? pk.data.len : 1);
		memcpy(copy, pk.data.p, pk.data.len);
		pk.data.p = copy;
		if (milter_cmd_parse(&pk, &c) == MILTER_CMD_OK) {
			if (c.code != pk.cmd)
				abort();
			fuzz_check(&c, &pk);
			fuzz_whole(&c, &pk);
			fuzz_reply(&c);
		}
		free(copy);
		p += used;
		size -= used;
	}
	return 0;
}
