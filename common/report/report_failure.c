/*
 * report_failure.c - one DMARC failure report (RFC 9991): whether fo= asks
 * for it (RFC 9989 "General Record Format", fo), and the message in the
 * authentication failure format (RFC 6591 §3, updated by RFC 9991
 * "Reporting Format Update"): a multipart/report; report-type=
 * feedback-report (RFC 6522 §3, RFC 5965 §2) of three parts:
 *   1. text/plain, a line for people;
 *   2. message/feedback-report: Feedback-Type: auth-failure, User-Agent,
 *      Version (RFC 5965 §3.1), Auth-Failure and Authentication-Results
 *      (RFC 6591 §3.1, each once), Identity-Alignment (RFC 9991, required),
 *      Delivery-Result, Original-Mail-From, Original-Envelope-Id,
 *      Arrival-Date, Reporting-MTA, Source-IP, Reported-Domain, and for a
 *      failed signature of an aligned (or, fo=d, any) domain DKIM-Domain,
 *      DKIM-Identity and DKIM-Selector (RFC 6591 §3.1, RFC 9991), and
 *      when SPF gave no aligned pass, SPF-DNS, one per v=spf1 record the
 *      evaluation retrieved at the SPF domain (RFC 6591 §3.1, §3.2);
 *   3. the original header section as text/rfc822-headers (RFC 6522 §4), or
 *      the whole message as message/rfc822 when the body is given.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report_failure.h"

/* report_fail_kind_str - the RFC 6591 §3.1 / RFC 9991 Auth-Failure value */
const char *
report_fail_kind_str(enum report_fail_kind k)
{
	switch (k) {
	case REPORT_FAIL_DMARC:
		return "dmarc";
	case REPORT_FAIL_DKIM:
		return "signature";
	case REPORT_FAIL_SPF:
		return "spf";
	case REPORT_FAIL_NONE:
		break;
	}
	return "";
}

/* report_fail_due - which report fo= asks for, if any */
enum report_fail_kind
report_fail_due(const struct report_fail_facts *f)
{
	bool dkim_bad = !f->dkim_aligned_pass, spf_bad = !f->spf_aligned_pass;

	if ((f->fo & DMARC_FO_0) && dkim_bad && spf_bad)
		return REPORT_FAIL_DMARC;
	if ((f->fo & DMARC_FO_1) && (dkim_bad || spf_bad))
		return REPORT_FAIL_DMARC;
	if ((f->fo & DMARC_FO_D) && f->dkim_failed)
		return REPORT_FAIL_DKIM;
	if ((f->fo & DMARC_FO_S) && f->spf_failed)
		return REPORT_FAIL_SPF;
	return REPORT_FAIL_NONE;
}

/* fail_date - RFC 5322 §3.3 date-time in UTC */
static void
fail_date(struct buf *out, time_t t)
{
	char d[64];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_append_str(out, d);
}

/* fail_dkim_failed - a result DMARC counts as a failed evaluation */
static bool
fail_dkim_failed(enum dmarc_auth a)
{
	return a == DMARC_AUTH_FAIL || a == DMARC_AUTH_PERMERROR ||
	    a == DMARC_AUTH_POLICY;
}

/* fail_under - is d the organizational domain org or under it */
static bool
fail_under(const char *d, const char *org)
{
	size_t dl = strlen(d), ol = strlen(org);

	if (!ol || dl < ol || strcasecmp(d + dl - ol, org) != 0)
		return false;
	return dl == ol || d[dl - ol - 1] == '.';
}

/* fail_authres - the Authentication-Results field, a clause a line */
static void
fail_authres(struct buf *out, const struct report_failure *f)
{
	buf_printf(out, "Authentication-Results: %s;\r\n dmarc=%s header.from=%s",
	    f->authserv_id, f->dmarc_result, f->header_from);
	if (f->spf_domain[0])
		buf_printf(out, ";\r\n spf=%s smtp.mailfrom=%s", f->spf_result,
		    f->spf_domain);
	for (size_t i = 0; i < f->ndkim; i++)
		if (f->dkim[i].domain[0])
			buf_printf(out, ";\r\n dkim=%s header.d=%s%s%s",
			    dmarc_auth_str(f->dkim[i].result), f->dkim[i].domain,
			    f->dkim[i].selector[0] ? " header.s=" : "", f->dkim[i].selector);
	if (!f->ndkim)
		buf_append_str(out, ";\r\n dkim=none");
	buf_append_str(out, "\r\n");
}

/* fail_dkim_fields - DKIM-Domain/-Identity/-Selector of failed signatures
 * (aligned ones; any one for fo=d) */
static void
fail_dkim_fields(struct buf *out, const struct report_failure *f)
{
	for (size_t i = 0; i < f->ndkim; i++) {
		const struct dmarc_report_dkim *d = &f->dkim[i];

		if (!d->domain[0] || !fail_dkim_failed(d->result))
			continue;
		if (f->kind != REPORT_FAIL_DKIM && !fail_under(d->domain, f->org_domain))
			continue;
		buf_printf(out, "DKIM-Domain: %s\r\nDKIM-Identity: @%s\r\n", d->domain,
		    d->domain);
		if (d->selector[0])
			buf_printf(out, "DKIM-Selector: %s\r\n", d->selector);
		return;		/* RFC 6591 §3.1: each at most once */
	}
}

/* fail_spf_width - the width of one record byte as written (a quoted-pair
 * counts two) */
static size_t
fail_spf_width(char c)
{
	return c == '"' || c == '\\' ? 2 : 1;
}

/* fail_spf_run - the width of (p, len) up to its first blank */
static size_t
fail_spf_run(const char *p, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len && p[i] != ' ' && p[i] != '\t'; i++)
		w += fail_spf_width(p[i]);
	return w;
}

/* fail_spf_widest - the widest run of (p, len) between blanks */
static size_t
fail_spf_widest(const char *p, size_t len)
{
	size_t max = 0;

	for (size_t i = 0; i < len; i++) {
		size_t w = fail_spf_run(p + i, len - i);

		if (w > max)
			max = w;
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
	}
	return max;
}

/* fail_spf_char - byte k of record (p, len) inside the quoted-string: '"'
 * and '\\' as quoted-pairs, controls and 8-bit bytes as '?', a tab as a
 * blank; folded before a blank when the next run would pass the fold
 * column (RFC 5322 §3.2.2 FWS inside a quoted-string) */
static void
fail_spf_char(struct buf *out, const char *p, size_t len, size_t k, size_t *col)
{
	unsigned char c = (unsigned char)p[k];

	if (c == '\t')
		c = ' ';
	if (c == ' ' && *col > 1 &&
	    *col + 1 + fail_spf_run(p + k + 1, len - k - 1) > REPORT_FOLD_COLUMN) {
		buf_append_str(out, "\r\n");
		*col = 0;
	}
	if (c == '"' || c == '\\')
		buf_append(out, "\\", 1);
	buf_append(out, c < 0x20 || c >= 0x7f ? "?" : (const char *)&c, 1);
	*col += fail_spf_width((char)c);
}

/* fail_spf_dns - SPF-DNS: txt : domain : "record", a field per record
 * (RFC 6591 §3.1); a record with a blank-free run too long for a line of
 * RFC 5322 §2.1.1 is left out */
static void
fail_spf_dns(struct buf *out, const struct report_failure *f)
{
	const struct spf_records *r = f->spf_records;

	if (!r || !f->spf_domain[0] || f->spf_aligned_pass ||
	    (f->kind != REPORT_FAIL_DMARC && f->kind != REPORT_FAIL_SPF))
		return;
	for (size_t i = 0; i < r->n; i++) {
		const char *p = r->text + r->off[i];
		size_t col, start = out->len;

		if (fail_spf_widest(p, r->len[i]) > REPORT_SPF_DNS_RUN_LIMIT)
			continue;
		buf_printf(out, "SPF-DNS: txt : %s : \"", f->spf_domain);
		col = out->len - start;
		for (size_t k = 0; k < r->len[i]; k++)
			fail_spf_char(out, p, r->len[i], k, &col);
		buf_append_str(out, "\"\r\n");
	}
}

/* fail_feedback - the message/feedback-report part's fields */
static void
fail_feedback(struct buf *out, const struct report_failure *f)
{
	buf_printf(out, "Feedback-Type: auth-failure\r\nUser-Agent: %s\r\nVersion: 1\r\n"
	    "Auth-Failure: %s\r\n", f->user_agent, report_fail_kind_str(f->kind));
	fail_authres(out, f);
	if (f->dkim_aligned_pass && f->spf_aligned_pass)
		buf_append_str(out, "Identity-Alignment: none\r\n");
	else
		buf_printf(out, "Identity-Alignment: %s%s%s\r\n",
		    f->dkim_aligned_pass ? "" : "dkim",
		    !f->dkim_aligned_pass && !f->spf_aligned_pass ? ", " : "",
		    f->spf_aligned_pass ? "" : "spf");
	if (f->delivery_result)
		buf_printf(out, "Delivery-Result: %s\r\n", f->delivery_result);
	fail_dkim_fields(out, f);
	fail_spf_dns(out, f);
	if (f->envelope_id && f->envelope_id[0])
		buf_printf(out, "Original-Envelope-Id: %s\r\n", f->envelope_id);
	buf_printf(out, "Original-Mail-From: <%s>\r\nArrival-Date: ", f->mail_from);
	fail_date(out, f->arrival);
	buf_printf(out, "\r\nReporting-MTA: dns; %s\r\n", f->reporting_mta);
	if (f->source_ip[0])
		buf_printf(out, "Source-IP: %s\r\n", f->source_ip);
	buf_printf(out, "Reported-Domain: %s\r\n", f->header_from);
}

/* fail_8bit - does (p, len) hold bytes over 127 */
static bool
fail_8bit(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] > 127)
			return true;
	return false;
}

/* fail_header - the report's own header section (no To:) */
static void
fail_header(struct buf *out, const struct report_failure *f, const char *boundary)
{
	buf_printf(out, "From: <%s>\r\nDate: ", f->from);
	fail_date(out, f->arrival);
	buf_printf(out, "\r\nSubject: DMARC failure report for %s\r\n"
	    "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	    " boundary=\"%s\"\r\nAuto-Submitted: auto-generated\r\n\r\n"
	    "This is a MIME-formatted message.\r\n\r\n", f->header_from,
	    f->message_id, boundary);
}

/* fail_original - the third part: header section, or the whole message */
static void
fail_original(struct buf *out, const struct report_failure *f, const char *boundary)
{
	bool eight = fail_8bit(f->headers, f->headers_len) ||
	    (f->body && fail_8bit(f->body, f->body_len));

	buf_printf(out, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: %s\r\n"
	    "\r\n", boundary, f->body ? "message/rfc822" : "text/rfc822-headers",
	    eight ? "8bit" : "7bit");
	buf_append(out, f->headers, f->headers_len);
	if (f->body) {
		buf_append_str(out, "\r\n");
		buf_append(out, f->body, f->body_len);
		if (f->body_len && f->body[f->body_len - 1] != '\n')
			buf_append_str(out, "\r\n");
	}
}

/* report_failure_build - the whole report into out (CRLF line ends) */
int
report_failure_build(const struct report_failure *f, struct buf *out)
{
	char boundary[96];

	/* a boundary no original text can hold: "=_" begins no header line and
	 * base64 or quoted-printable body lines never hold it with this id */
	snprintf(boundary, sizeof(boundary), "=_mailauth_afrf_%s", f->message_id);
	for (char *p = boundary; *p; p++)
		if (*p == '@')
			*p = '.';
	fail_header(out, f, boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n"
	    "This is a DMARC failure report (RFC 9991) for a message with\r\n"
	    "From domain %s, received from IP %s on ", boundary, f->header_from,
	    f->source_ip[0] ? f->source_ip : "(unknown)");
	fail_date(out, f->arrival);
	buf_printf(out, ".\r\n\r\n--%s\r\nContent-Type: message/feedback-report\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", boundary,
	    fail_8bit(f->mail_from, strlen(f->mail_from)) ? "8bit" : "7bit");
	fail_feedback(out, f);
	buf_append_str(out, "\r\n");
	fail_original(out, f, boundary);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
	return out->overflow ? -1 : 0;
}
