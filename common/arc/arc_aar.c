/*
 * arc_aar.c - ARC field names and the ARC-Authentication-Results field
 * (RFC 8617 §4.1.1): "i=" instance ";" then an Authentication-Results payload
 * (RFC 8601 §2.2).  The instance must come first; the payload is kept,
 * unfolded, for reporting and for the trusted-sealer check.
 */
#include <stdlib.h>
#include <string.h>

#include "arc_int.h"

static const char *const arc_field_names[ARC_FIELD_COUNT] = {
	[ARC_FIELD_AAR] = "ARC-Authentication-Results",
	[ARC_FIELD_AMS] = "ARC-Message-Signature",
	[ARC_FIELD_AS] = "ARC-Seal",
};

/* arc_field_kind - which ARC field a raw field is, by its name */
enum arc_field
arc_field_kind(const char *field, size_t len)
{
	size_t n = dkim_hdr_name_len(field, len);

	for (int k = 0; k < ARC_FIELD_COUNT; k++)
		if (n == strlen(arc_field_names[k]) &&
		    ascii_mem_eq_ci(field, arc_field_names[k], n))
			return (enum arc_field)k;
	return ARC_FIELD_OTHER;
}

/* arc_aar_fail - record why the field is unusable */
static int
arc_aar_fail(struct arc_aar *aar, const char *why)
{
	if (aar->error == NULL)
		aar->error = why;
	return -1;
}

/* arc_aar_skip_fws - past SP, HTAB and CRLF folding */
static size_t
arc_aar_skip_fws(const char *p, size_t i, size_t len)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* arc_aar_payload - the rest of the field, folding replaced by SP, ends trimmed */
static char *
arc_aar_payload(const char *p, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		out[n++] = p[i] == '\t' ? ' ' : p[i];
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return out;
}

/* arc_aar_parse - parse an AAR; 0, or -1 with aar->error */
int
arc_aar_parse(struct arc_aar *aar, const char *field, size_t len)
{
	const char *colon;
	size_t i, start;

	memset(aar, 0, sizeof(*aar));
	aar->field = xmemdup0(field, len);
	aar->field_len = len;
	if (len > ARC_AAR_MAX)
		return arc_aar_fail(aar, "ARC-Authentication-Results field too large");
	if ((colon = memchr(field, ':', len)) == NULL)
		return arc_aar_fail(aar, "not a header field");
	i = arc_aar_skip_fws(field, (size_t)(colon - field) + 1, len);
	if (i + 1 >= len || field[i] != 'i')
		return arc_aar_fail(aar, "AAR does not start with i=");
	i = arc_aar_skip_fws(field, i + 1, len);
	if (i >= len || field[i] != '=')
		return arc_aar_fail(aar, "AAR does not start with i=");
	start = i = arc_aar_skip_fws(field, i + 1, len);
	while (i < len && field[i] >= '0' && field[i] <= '9')
		i++;
	if (dkim_sig_instance((struct span){ field + start, i - start }, &aar->instance) < 0)
		return arc_aar_fail(aar, "invalid ARC instance in AAR (i=)");
	i = arc_aar_skip_fws(field, i, len);
	if (i >= len || field[i] != ';')
		return arc_aar_fail(aar, "AAR instance not followed by \";\"");
	i = arc_aar_skip_fws(field, i + 1, len);
	aar->payload = arc_aar_payload(field + i, len - i);
	return 0;
}

/* arc_aar_clear - free what arc_aar_parse allocated */
void
arc_aar_clear(struct arc_aar *aar)
{
	free(aar->field);
	free(aar->payload);
	memset(aar, 0, sizeof(*aar));
}
