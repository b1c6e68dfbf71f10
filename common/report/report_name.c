/*
 * report_name.c - the names of an RFC 9990 aggregate report: Report-ID
 * ("Definition of Report-ID": ridfmt = dot-atom-text "@" dot-atom-text), the
 * attachment file name and the Subject ("Email": filename and dmarc-subject
 * ABNF).  Each is derived from (domain, period, submitter) only, so a re-sent
 * report keeps its file name and Report-ID, as the RFC requires.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* report_fits - snprintf's result within size */
static int
report_fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* report_id - "BEGIN.DOMAIN@SUBMITTER" */
int
report_id(char *out, size_t size, const char *domain, int64_t begin,
    const char *submitter)
{
	return report_fits(snprintf(out, size, "%" PRId64 ".%s@%s", begin, domain,
	    submitter), size);
}

/* report_filename - "SUBMITTER!DOMAIN!BEGIN!END.xml.gz" */
int
report_filename(char *out, size_t size, const char *domain,
    const struct report_meta *m)
{
	return report_fits(snprintf(out, size, "%s!%s!%" PRId64 "!%" PRId64 ".xml.gz",
	    m->submitter, domain, m->begin, m->end - 1), size);
}

/* name_fws - skip 1*FWS (blanks, folding CRLF); false when there is none */
static bool
name_fws(const char **p, const char *end)
{
	const char *s = *p;

	while (*p < end && strchr(" \t\r\n", **p) && **p)
		(*p)++;
	return *p > s;
}

/* name_word - the literal w (case-sensitive, as %s in the ABNF) */
static bool
name_word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
		return false;
	*p += n;
	return true;
}

/* report_subject_is_report - does a Subject value (p, len) start as an
 * RFC 9990 dmarc-subject ("Report" 1*FWS "Domain:" 1*FWS ...)? */
bool
report_subject_is_report(const char *p, size_t len)
{
	const char *end = p + len;

	name_fws(&p, end);
	return name_word(&p, end, "Report") && name_fws(&p, end) &&
	    name_word(&p, end, "Domain:") && name_fws(&p, end) && p < end;
}

/* report_subject - the dmarc-subject, unfolded */
int
report_subject(struct buf *out, const char *domain, const struct report_meta *m,
    const char *rid)
{
	buf_printf(out, "Report Domain: %s Submitter: %s Report-ID: <%s>", domain,
	    m->submitter, rid);
	return out->overflow ? -1 : 0;
}
