/*
 * smtp_path.c - MAIL FROM / RCPT TO argument parsing.
 *
 * RFC 5321 §4.1.2 (Reverse-path, Forward-path, Mail-parameters) and §4.1.3;
 * source routes (RFC 5321 §4.1.2, "@a,@b:") are accepted and dropped as
 * Appendix C allows.  Quoted local parts may contain blanks and ">".
 */
#include <string.h>

#include "smtp.h"

/* smtp_path_status_str - reason text */
const char *
smtp_path_status_str(enum smtp_path_status st)
{
	switch (st) {
	case SMTP_PATH_OK:
		return "ok";
	case SMTP_PATH_SYNTAX:
		return "syntax error in address or parameters";
	case SMTP_PATH_TOO_LONG:
		return "path too long";
	case SMTP_PATH_TOO_MANY_PARAMS:
		return "too many parameters";
	}
	return "?";
}

/* smtp_path_bracket_end - index of the closing '>' of a path starting at i */
static size_t
smtp_path_bracket_end(const char *p, size_t len, size_t i)
{
	bool quoted = false;

	for (; i < len; i++) {
		if (quoted && p[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (p[i] == '"')
			quoted = !quoted;
		else if (!quoted && p[i] == '>')
			return i;
	}
	return len;
}

/* smtp_path_strip_route - drop an "@a,@b:" source route */
static struct span
smtp_path_strip_route(struct span a)
{
	const char *colon;

	if (a.len == 0 || a.p[0] != '@')
		return a;
	colon = memchr(a.p, ':', a.len);
	if (!colon)
		return a;
	return (struct span){ colon + 1, a.len - (size_t)(colon + 1 - a.p) };
}

/* smtp_path_params - split "k=v k k=v" */
static enum smtp_path_status
smtp_path_params(const char *p, size_t len, struct smtp_path *out)
{
	size_t i = 0;

	while (i < len) {
		size_t s, eq = 0;
		struct smtp_param *prm;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (out->nparams == SMTP_PARAM_LIMIT)
			return SMTP_PATH_TOO_MANY_PARAMS;
		s = i;
		while (i < len && p[i] != ' ' && p[i] != '\t') {
			if (p[i] == '=' && !eq)
				eq = i;
			i++;
		}
		prm = &out->params[out->nparams++];
		if (eq) {
			prm->key = (struct span){ p + s, eq - s };
			prm->value = (struct span){ p + eq + 1, i - eq - 1 };
			prm->has_value = true;
		} else {
			prm->key = (struct span){ p + s, i - s };
			prm->value = (struct span){ p + i, 0 };
			prm->has_value = false;
		}
		if (prm->key.len == 0)
			return SMTP_PATH_SYNTAX;
	}
	return SMTP_PATH_OK;
}

/* smtp_path_parse - parse "FROM:<addr> params" or "TO:<addr> params" */
enum smtp_path_status
smtp_path_parse(struct span arg, const char *prefix, struct smtp_path *out)
{
	size_t plen = strlen(prefix), i, end;
	const char *p = arg.p;

	memset(out, 0, sizeof(*out));
	if (arg.len < plen + 1 || !ascii_mem_eq_ci(p, prefix, plen) ||
	    p[plen] != ':')
		return SMTP_PATH_SYNTAX;
	i = plen + 1;
	while (i < arg.len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == arg.len)
		return SMTP_PATH_SYNTAX;
	if (p[i] == '<') {
		end = smtp_path_bracket_end(p, arg.len, i + 1);
		if (end == arg.len)
			return SMTP_PATH_SYNTAX;
		out->addr = (struct span){ p + i + 1, end - i - 1 };
		out->raw = (struct span){ p + i, end - i + 1 };
		end++;
		if (end < arg.len && p[end] != ' ' && p[end] != '\t')
			return SMTP_PATH_SYNTAX;
	} else {
		end = i;
		while (end < arg.len && p[end] != ' ' && p[end] != '\t')
			end++;
		out->addr = (struct span){ p + i, end - i };
		out->raw = out->addr;
	}
	/* the limit counts the punctuation: the brackets (and any route) */
	if (out->raw.len > SMTP_PATH_LIMIT)
		return SMTP_PATH_TOO_LONG;
	if (memchr(out->addr.p, '\0', out->addr.len))
		return SMTP_PATH_SYNTAX;
	out->addr = smtp_path_strip_route(out->addr);
	return smtp_path_params(p + end, arg.len - end, out);
}

