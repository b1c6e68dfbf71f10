/*
 * smtp_cmd.c - SMTP command line splitting and verb recognition.
 *
 * RFC 5321 §4.1.1: a command is a verb, optionally followed by SP and
 * arguments, terminated by CRLF (removed by the caller).  Verbs are matched
 * case-insensitively from a table, as OpenSMTPD does.
 */
#include <string.h>

#include "smtp.h"

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_cmd_table[] = {
	{ "HELO", SMTP_VERB_HELO },
	{ "EHLO", SMTP_VERB_EHLO },
	{ "XFORWARD", SMTP_VERB_XFORWARD },
	{ "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT },
	{ "DATA", SMTP_VERB_DATA },
	{ "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET },
	{ "NOOP", SMTP_VERB_NOOP },
	{ "QUIT", SMTP_VERB_QUIT },
	{ "VRFY", SMTP_VERB_VRFY },
	{ "EXPN", SMTP_VERB_EXPN },
	{ "HELP", SMTP_VERB_HELP },
	{ "STARTTLS", SMTP_VERB_STARTTLS },
	{ "AUTH", SMTP_VERB_AUTH },
	{ "ETRN", SMTP_VERB_ETRN },
};

/* smtp_cmd_blank - SP or HTAB */
static bool
smtp_cmd_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* smtp_cmd_lookup - table lookup of a verb */
static enum smtp_verb
smtp_cmd_lookup(struct span v)
{
	for (size_t i = 0; i < ARRAY_LEN(smtp_cmd_table); i++)
		if (span_eq_ci(v, smtp_cmd_table[i].name))
			return smtp_cmd_table[i].verb;
	return SMTP_VERB_UNKNOWN;
}

/* smtp_cmd_parse - split a command line (without CRLF) into verb and argument */
enum smtp_cmd_status
smtp_cmd_parse(const char *p, size_t len, struct smtp_cmd *out)
{
	size_t i = 0, vstart, vend;

	memset(out, 0, sizeof(*out));
	if (len && memchr(p, '\0', len))
		return SMTP_CMD_NUL;
	while (i < len && smtp_cmd_blank(p[i]))
		i++;
	if (i == len)
		return SMTP_CMD_EMPTY;
	vstart = i;
	while (i < len && !smtp_cmd_blank(p[i])) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e)
			return SMTP_CMD_BAD_CHAR;
		i++;
	}
	vend = i;
	while (i < len && smtp_cmd_blank(p[i]))
		i++;
	while (len > i && smtp_cmd_blank(p[len - 1]))
		len--;
	out->verb_text = (struct span){ p + vstart, vend - vstart };
	out->arg = (struct span){ p + i, len - i };
	out->verb = smtp_cmd_lookup(out->verb_text);
	return SMTP_CMD_OK;
}
