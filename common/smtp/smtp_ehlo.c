/*
 * smtp_ehlo.c - EHLO reply capability parsing, RFC 5321 §4.1.1.1.
 *
 * The first line is the greeting; each further line is an ehlo-keyword with
 * optional parameters (RFC 5321 §4.1.1.1 ehlo-line).  Keywords we relay or
 * depend on are recognised from a table.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static const struct {
	const char *name;
	unsigned bit;
} smtp_ehlo_table[] = {
	{ "PIPELINING", SMTP_EXT_PIPELINING },
	{ "SIZE", SMTP_EXT_SIZE },
	{ "8BITMIME", SMTP_EXT_8BITMIME },
	{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
	{ "DSN", SMTP_EXT_DSN },
	{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES },
	{ "XFORWARD", SMTP_EXT_XFORWARD },
	{ "CHUNKING", SMTP_EXT_CHUNKING },
	{ "STARTTLS", SMTP_EXT_STARTTLS },
};

/* smtp_ehlo_params - SIZE value and XFORWARD attribute names */
static void
smtp_ehlo_params(unsigned bit, struct span rest, struct smtp_ehlo *out)
{
	size_t i = 0;

	while (i < rest.len) {
		size_t s;
		struct span w;

		while (i < rest.len && rest.p[i] == ' ')
			i++;
		s = i;
		while (i < rest.len && rest.p[i] != ' ')
			i++;
		w = (struct span){ rest.p + s, i - s };
		if (!w.len)
			break;
		if (bit == SMTP_EXT_SIZE) {
			struct smtp_param prm = { SPAN_LIT("SIZE"), w, true };
			uint64_t n = 0;

			if (!smtp_param_check(&prm, false, &n))
				out->size = n;
			return;
		}
		for (int a = 0; a < SMTP_XFWD_COUNT; a++)
			if (span_eq_ci(w, smtp_xforward_attr_name(a)))
				out->xforward |= 1u << a;
	}
}

/* smtp_ehlo_line - one capability line */
static void
smtp_ehlo_line(struct span l, struct smtp_ehlo *out)
{
	size_t k = 0;

	while (k < l.len && l.p[k] != ' ' && l.p[k] != '=')
		k++;
	for (size_t i = 0; i < ARRAY_LEN(smtp_ehlo_table); i++) {
		if (!span_eq_ci((struct span){ l.p, k }, smtp_ehlo_table[i].name))
			continue;
		out->ext |= smtp_ehlo_table[i].bit;
		if (k < l.len)
			smtp_ehlo_params(smtp_ehlo_table[i].bit,
			    (struct span){ l.p + k + 1, l.len - k - 1 }, out);
	}
}

/* smtp_ehlo_parse - capabilities from a complete 250 EHLO reply */
void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out)
{
	const char *t = buf_cstr(&r->text), *end = t + r->text.len;
	bool first = true;

	memset(out, 0, sizeof(*out));
	while (t < end) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		size_t n = nl ? (size_t)(nl - t) : (size_t)(end - t);

		if (!first)
			smtp_ehlo_line((struct span){ t, n }, out);
		first = false;
		t += n + (nl ? 1 : 0);
	}
}
