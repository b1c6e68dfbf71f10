/*
 * report_fjob.c - the files between a reinject worker, which decides that a
 * DMARC failure report (RFC 9991) is due and writes it, and the sender,
 * which verifies the destinations and hands it to the relay:
 *   - the queue file: a short preamble (policy domain, ruf= URIs, message
 *     size) and the message.  The size tells a finished file from one still
 *     being written (a worker cannot rename into place under its sandbox).
 *   - the counts of reports sent per policy domain in the current hour
 *     (RFC 9991 "Transport": reports may be rate limited), "HOUR COUNT
 *     DOMAIN" a line.
 * Both are read back as untrusted text: (pointer, length), bounded fields.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_failure.h"

/* Our bound on the digits of a size or count read back. */
#define FJOB_NUMBER_DIGITS	18

/* report_fjob_format - the queue file of (msg, len) into out */
int
report_fjob_format(struct buf *out, const char *domain, const char *ruf,
    const char *msg, size_t len)
{
	buf_printf(out, "%sdomain %s\nruf %s\nsize %zu\n\n", REPORT_FJOB_MAGIC, domain,
	    ruf, len);
	buf_append(out, msg, len);
	return out->overflow ? -1 : 0;
}

/* fjob_line - the value of line "NAME value\n" at *off into out (size);
 * SHORT at the end of the text, BAD when malformed */
static enum report_fjob_status
fjob_line(const char *p, size_t len, size_t *off, const char *name, char *out,
    size_t size)
{
	size_t nl = strlen(name), start = *off + nl + 1;
	const char *eol;

	if (len - *off < nl + 1)
		return memcmp(p + *off, name, len - *off < nl ? len - *off : nl) == 0 ?
		    REPORT_FJOB_SHORT : REPORT_FJOB_BAD;
	if (memcmp(p + *off, name, nl) != 0 || p[*off + nl] != ' ')
		return REPORT_FJOB_BAD;
	if (!(eol = memchr(p + start, '\n', len - start)))
		return len - start < size ? REPORT_FJOB_SHORT : REPORT_FJOB_BAD;
	if ((size_t)(eol - (p + start)) >= size || memchr(p + start, '\0',
	    (size_t)(eol - (p + start))))
		return REPORT_FJOB_BAD;
	memcpy(out, p + start, (size_t)(eol - (p + start)));
	out[eol - (p + start)] = '\0';
	*off = (size_t)(eol - p) + 1;
	return REPORT_FJOB_OK;
}

/* fjob_number - a decimal without sign, blanks or leading zeros; -1 if not */
static int
fjob_number(const char *s, uint64_t *v)
{
	size_t n = strlen(s);

	/* one way to write each number: no leading zeros */
	if (n == 0 || n > FJOB_NUMBER_DIGITS || strspn(s, "0123456789") != n ||
	    (n > 1 && s[0] == '0'))
		return -1;
	*v = strtoull(s, NULL, 10);
	return 0;
}

/* report_fjob_parse - a queue file (p, len) */
enum report_fjob_status
report_fjob_parse(const char *p, size_t len, struct report_fjob *out)
{
	size_t ml = strlen(REPORT_FJOB_MAGIC), off = ml;
	char size[FJOB_NUMBER_DIGITS + 2];
	enum report_fjob_status st;
	uint64_t n;

	memset(out, 0, sizeof(*out));
	if (len < ml)
		return memcmp(p, REPORT_FJOB_MAGIC, len) == 0 ? REPORT_FJOB_SHORT :
		    REPORT_FJOB_BAD;
	if (memcmp(p, REPORT_FJOB_MAGIC, ml) != 0)
		return REPORT_FJOB_BAD;
	if ((st = fjob_line(p, len, &off, "domain", out->domain, sizeof(out->domain))) ||
	    (st = fjob_line(p, len, &off, "ruf", out->ruf, sizeof(out->ruf))) ||
	    (st = fjob_line(p, len, &off, "size", size, sizeof(size))))
		return st;
	if (fjob_number(size, &n) < 0 || !out->domain[0])
		return REPORT_FJOB_BAD;
	if (off == len)
		return REPORT_FJOB_SHORT;
	if (p[off++] != '\n')
		return REPORT_FJOB_BAD;
	if (len - off < n)
		return REPORT_FJOB_SHORT;
	if (len - off > n)
		return REPORT_FJOB_BAD;
	out->msg = p + off;
	out->msg_len = (size_t)n;
	return REPORT_FJOB_OK;
}

/* rate_find - the entry of domain in hour, or NULL */
static struct report_rate_entry *
rate_find(const struct report_rate *r, const char *domain, int64_t hour)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].hour == hour && strcasecmp(r->e[i].domain, domain) == 0)
			return &r->e[i];
	return NULL;
}

/* rate_add - a new entry (the array grows as needed) */
static struct report_rate_entry *
rate_add(struct report_rate *r, const char *domain, int64_t hour)
{
	struct report_rate_entry *e;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->e = xrealloc(r->e, r->cap * sizeof(*r->e));
	}
	e = &r->e[r->n++];
	e->hour = hour;
	e->count = 0;
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	return e;
}

/* rate_line - one "HOUR COUNT DOMAIN" line (p, len) of hour into r */
static void
rate_line(struct report_rate *r, const char *p, size_t len, int64_t hour)
{
	char line[DMARC_DOMAIN_SIZE + 64], dom[DMARC_DOMAIN_SIZE];
	long long h;
	unsigned c;
	int used = 0;

	if (len >= sizeof(line) || memchr(p, '\0', len))
		return;
	memcpy(line, p, len);
	line[len] = '\0';
	if (sscanf(line, "%lld %u %253[^ ]%n", &h, &c, dom, &used) != 3 ||
	    (size_t)used != len || h != hour || rate_find(r, dom, hour))
		return;
	rate_add(r, dom, hour)->count = c;
}

/* report_rate_load - the counts of hour in (p, len) */
void
report_rate_load(struct report_rate *r, const char *p, size_t len, int64_t hour)
{
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(p + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (p + off)) : len - off;

		rate_line(r, p + off, n, hour);
		off += n + 1;
	}
}

/* report_rate_save - the counts as text */
void
report_rate_save(const struct report_rate *r, struct buf *out)
{
	for (size_t i = 0; i < r->n; i++)
		buf_printf(out, "%lld %u %s\n", (long long)r->e[i].hour, r->e[i].count,
		    r->e[i].domain);
}

/* report_rate_allows - fewer than limit reports to domain in hour */
bool
report_rate_allows(const struct report_rate *r, const char *domain, int64_t hour,
    unsigned limit)
{
	const struct report_rate_entry *e = rate_find(r, domain, hour);

	return (e ? e->count : 0) < limit;
}

/* report_rate_count - one more report to domain in hour; older hours go */
void
report_rate_count(struct report_rate *r, const char *domain, int64_t hour)
{
	struct report_rate_entry *e;
	size_t k = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].hour == hour)
			r->e[k++] = r->e[i];
	r->n = k;
	if (!(e = rate_find(r, domain, hour)))
		e = rate_add(r, domain, hour);
	e->count++;
}

/* report_rate_clear - free the counts */
void
report_rate_clear(struct report_rate *r)
{
	free(r->e);
	memset(r, 0, sizeof(*r));
}
