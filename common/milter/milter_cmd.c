/*
 * milter_cmd.c - parse one milter packet into a command.
 *
 * One small parser per command, chosen from a table by the command byte
 * (libmilter mfdef.h SMFIC_*; data layouts as sendmail's and Postfix's
 * clients send them):
 *   OPTNEG   version, actions, protocol: three 32-bit words (more ignored)
 *   MACRO    the command letter, then name NUL value NUL pairs
 *   CONNECT  hostname NUL, family ('4' '6' 'L' 'U'), then unless 'U' a
 *            16-bit port and address NUL
 *   HELO     name NUL
 *   MAIL     "<addr>" NUL, then each ESMTP parameter NUL (RCPT the same)
 *   HEADER   name NUL value NUL
 *   BODY     raw bytes; EOB may carry a last chunk the same way
 *   UNKNOWN  the command line NUL
 *   ABORT DATA EOH QUIT QUIT_NC: no data (any sent is ignored, as
 *            libmilter does)
 * A packet that does not match its layout is an error and out is not to be
 * used: a command is never half-applied.
 */
#include <string.h>

#include "milter.h"

struct milter_cursor {
	const char *p;
	size_t len;
	size_t pos;
};

/* milter_cursor_u32 - a network-order word */
static int
milter_cursor_u32(struct milter_cursor *c, uint32_t *v)
{
	const unsigned char *u;

	if (c->len - c->pos < 4)
		return -1;
	u = (const unsigned char *)c->p + c->pos;
	*v = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | (uint32_t)u[3];
	c->pos += 4;
	return 0;
}

/* milter_cursor_str - a NUL-terminated string, the NUL not included */
static int
milter_cursor_str(struct milter_cursor *c, struct span *s)
{
	const char *nul = memchr(c->p + c->pos, '\0', c->len - c->pos);

	if (!nul)
		return -1;
	s->p = c->p + c->pos;
	s->len = (size_t)(nul - s->p);
	c->pos += s->len + 1;
	return 0;
}

/* milter_cursor_end - all data used */
static bool
milter_cursor_end(const struct milter_cursor *c)
{
	return c->pos == c->len;
}

/* milter_cmd_optneg - version, actions, protocol */
static enum milter_cmd_status
milter_cmd_optneg(struct milter_cursor *c, struct milter_cmd *out)
{
	struct milter_optneg *o = &out->u.optneg;

	if (milter_cursor_u32(c, &o->version) < 0 ||
	    milter_cursor_u32(c, &o->actions) < 0 ||
	    milter_cursor_u32(c, &o->protocol) < 0)
		return MILTER_CMD_SHORT;
	return MILTER_CMD_OK;	/* later versions may append: ignored */
}

/* milter_cmd_macro - stage letter and name/value pairs */
static enum milter_cmd_status
milter_cmd_macro(struct milter_cursor *c, struct milter_cmd *out)
{
	if (c->len == 0)
		return MILTER_CMD_SHORT;
	out->u.macro.stage = (unsigned char)c->p[c->pos++];
	out->u.macro.n = 0;
	while (!milter_cursor_end(c)) {
		struct milter_macro *m = &out->u.macro.v[out->u.macro.n];

		if (out->u.macro.n == MILTER_MACRO_LIMIT)
			return MILTER_CMD_TOO_MANY;
		if (milter_cursor_str(c, &m->name) < 0)
			return MILTER_CMD_UNTERMINATED;
		if (m->name.len == 0)
			return MILTER_CMD_BAD_VALUE;
		if (milter_cursor_str(c, &m->value) < 0)
			return MILTER_CMD_UNTERMINATED;
		out->u.macro.n++;
	}
	return MILTER_CMD_OK;
}

/* milter_cmd_connect - hostname, family, port, address */
static enum milter_cmd_status
milter_cmd_connect(struct milter_cursor *c, struct milter_cmd *out)
{
	const unsigned char *u;

	if (milter_cursor_str(c, &out->u.connect.hostname) < 0)
		return MILTER_CMD_UNTERMINATED;
	if (milter_cursor_end(c))
		return MILTER_CMD_SHORT;
	out->u.connect.family = (unsigned char)c->p[c->pos++];
	out->u.connect.port = 0;
	out->u.connect.address = (struct span){ c->p + c->pos, 0 };
	if (out->u.connect.family == 'U')
		return milter_cursor_end(c) ? MILTER_CMD_OK : MILTER_CMD_TRAILING;
	if (!strchr("46L", out->u.connect.family) || out->u.connect.family == 0)
		return MILTER_CMD_BAD_FAMILY;
	if (c->len - c->pos < 2)
		return MILTER_CMD_SHORT;
	u = (const unsigned char *)c->p + c->pos;
	out->u.connect.port = (uint16_t)(u[0] << 8 | u[1]);
	c->pos += 2;
	if (milter_cursor_str(c, &out->u.connect.address) < 0)
		return MILTER_CMD_UNTERMINATED;
	return milter_cursor_end(c) ? MILTER_CMD_OK : MILTER_CMD_TRAILING;
}

/* milter_cmd_one_string - HELO and UNKNOWN: one string, nothing after it */
static enum milter_cmd_status
milter_cmd_one_string(struct milter_cursor *c, struct span *s)
{
	if (milter_cursor_str(c, s) < 0)
		return MILTER_CMD_UNTERMINATED;
	return milter_cursor_end(c) ? MILTER_CMD_OK : MILTER_CMD_TRAILING;
}

/* milter_cmd_helo - the HELO/EHLO argument */
static enum milter_cmd_status
milter_cmd_helo(struct milter_cursor *c, struct milter_cmd *out)
{
	return milter_cmd_one_string(c, &out->u.helo);
}

/* milter_cmd_unknown - an SMTP command the MTA did not know */
static enum milter_cmd_status
milter_cmd_unknown(struct milter_cursor *c, struct milter_cmd *out)
{
	return milter_cmd_one_string(c, &out->u.unknown);
}

/* milter_cmd_args - MAIL/RCPT: address and parameters, at least one */
static enum milter_cmd_status
milter_cmd_args(struct milter_cursor *c, struct milter_cmd *out)
{
	out->u.args.n = 0;
	do {
		if (out->u.args.n == MILTER_ARG_LIMIT)
			return MILTER_CMD_TOO_MANY;
		if (milter_cursor_str(c, &out->u.args.v[out->u.args.n]) < 0)
			return MILTER_CMD_UNTERMINATED;
		out->u.args.n++;
	} while (!milter_cursor_end(c));
	return MILTER_CMD_OK;
}

/* milter_cmd_header - field name and value */
static enum milter_cmd_status
milter_cmd_header(struct milter_cursor *c, struct milter_cmd *out)
{
	if (milter_cursor_str(c, &out->u.header.name) < 0 ||
	    milter_cursor_str(c, &out->u.header.value) < 0)
		return MILTER_CMD_UNTERMINATED;
	if (out->u.header.name.len == 0)
		return MILTER_CMD_BAD_VALUE;
	return milter_cursor_end(c) ? MILTER_CMD_OK : MILTER_CMD_TRAILING;
}

/* milter_cmd_body - BODY / EOB: the raw bytes */
static enum milter_cmd_status
milter_cmd_body(struct milter_cursor *c, struct milter_cmd *out)
{
	out->u.body = (struct span){ c->p, c->len };
	return MILTER_CMD_OK;
}

/* milter_cmd_none - commands without data */
static enum milter_cmd_status
milter_cmd_none(struct milter_cursor *c, struct milter_cmd *out)
{
	(void)c;
	(void)out;
	return MILTER_CMD_OK;
}

static const struct {
	enum milter_cmd_code code;
	enum milter_cmd_status (*parse)(struct milter_cursor *, struct milter_cmd *);
} milter_cmd_table[] = {
	{ MILTER_CMD_ABORT, milter_cmd_none },
	{ MILTER_CMD_BODY, milter_cmd_body },
	{ MILTER_CMD_CONNECT, milter_cmd_connect },
	{ MILTER_CMD_MACRO, milter_cmd_macro },
	{ MILTER_CMD_EOB, milter_cmd_body },
	{ MILTER_CMD_HELO, milter_cmd_helo },
	{ MILTER_CMD_QUIT_NC, milter_cmd_none },
	{ MILTER_CMD_HEADER, milter_cmd_header },
	{ MILTER_CMD_MAIL, milter_cmd_args },
	{ MILTER_CMD_EOH, milter_cmd_none },
	{ MILTER_CMD_OPTNEG, milter_cmd_optneg },
	{ MILTER_CMD_QUIT, milter_cmd_none },
	{ MILTER_CMD_RCPT, milter_cmd_args },
	{ MILTER_CMD_DATA, milter_cmd_none },
	{ MILTER_CMD_UNKNOWN, milter_cmd_unknown },
};

/* milter_cmd_parse - a packet into a command */
enum milter_cmd_status
milter_cmd_parse(const struct milter_packet *pk, struct milter_cmd *out)
{
	struct milter_cursor c = { pk->data.p, pk->data.len, 0 };

	for (size_t i = 0; i < ARRAY_LEN(milter_cmd_table); i++) {
		if (milter_cmd_table[i].code != pk->cmd)
			continue;
		out->code = milter_cmd_table[i].code;
		return milter_cmd_table[i].parse(&c, out);
	}
	return MILTER_CMD_BAD_COMMAND;
}

/* milter_cmd_status_str - reason text */
const char *
milter_cmd_status_str(enum milter_cmd_status st)
{
	static const char *const s[] = {
		[MILTER_CMD_OK] = "ok",
		[MILTER_CMD_BAD_COMMAND] = "unknown command",
		[MILTER_CMD_SHORT] = "packet too short for its command",
		[MILTER_CMD_UNTERMINATED] = "string without NUL",
		[MILTER_CMD_TRAILING] = "bytes after the last field",
		[MILTER_CMD_TOO_MANY] = "too many arguments or macros",
		[MILTER_CMD_BAD_FAMILY] = "unknown address family",
		[MILTER_CMD_BAD_VALUE] = "empty name",
	};

	return (size_t)st < ARRAY_LEN(s) && s[st] ? s[st] : "?";
}

/* milter_macro_name_eq - a macro name equals want, with or without braces */
bool
milter_macro_name_eq(struct span name, const char *want)
{
	size_t wl = strlen(want);

	if (name.len == wl && memcmp(name.p, want, wl) == 0)
		return true;
	/* "{x}" as sent matches "x" asked for, as libmilter's smfi_getsymval */
	return name.len == wl + 2 && name.p[0] == '{' &&
	    name.p[name.len - 1] == '}' && memcmp(name.p + 1, want, wl) == 0;
}
