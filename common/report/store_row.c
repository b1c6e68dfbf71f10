/*
 * store_row.c - a per-message DMARC record (common/dmarc dmarc_report_fill) as
 * the flat row the store keeps, its values already in RFC 9990 terms:
 * ActionDispositionType (with "pass" for a pass under an enforcing policy),
 * DMARCResultType, PolicyOverrideType (policy_test_mode for t=y), the
 * PolicyPublishedType tags, DKIMAuthResultType and SPFAuthResultType.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"

/* row_copy - bounded copy of a string field */
static void
row_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* row_applied - the policy of rec that applied (RFC 9989 "DMARC Policy Discovery") */
static enum dmarc_policy
row_applied(const struct dmarc_report_record *rec)
{
	if (rec->policy_source == DMARC_SOURCE_AUTHOR || rec->sp == DMARC_POLICY_UNSET)
		return rec->p;
	return rec->sp;
}

/* row_disposition - RFC 9990 ActionDispositionType */
static const char *
row_disposition(const struct dmarc_report_record *rec)
{
	enum dmarc_policy pol = row_applied(rec);

	if (rec->result == DMARC_RESULT_PASS &&
	    (pol == DMARC_POLICY_QUARANTINE || pol == DMARC_POLICY_REJECT))
		return "pass";
	return dmarc_disposition_str(rec->disposition);
}

/* row_reason - RFC 9990 PolicyOverrideType and comment */
static void
row_reason(struct store_row *row, const struct dmarc_report_record *rec)
{
	switch (rec->override) {
	case DMARC_OVERRIDE_NONE:
		/* t=y moved the disposition one step down ("Policy Override Reason") */
		if (rec->testing && rec->result == DMARC_RESULT_FAIL &&
		    row_applied(rec) >= DMARC_POLICY_QUARANTINE)
			row_copy(row->reason, sizeof(row->reason), "policy_test_mode");
		return;
	case DMARC_OVERRIDE_TRUSTED_FORWARDER:
	case DMARC_OVERRIDE_MAILING_LIST:
	case DMARC_OVERRIDE_LOCAL_POLICY:
	case DMARC_OVERRIDE_OTHER:
		row_copy(row->reason, sizeof(row->reason), dmarc_override_str(rec->override));
		return;
	case DMARC_OVERRIDE_FORWARDED:
	case DMARC_OVERRIDE_SAMPLED_OUT:
		/* RFC 7489 types that RFC 9990 dropped: "other" with the old name */
		row_copy(row->reason, sizeof(row->reason), "other");
		row_copy(row->reason_comment, sizeof(row->reason_comment),
		    dmarc_override_str(rec->override));
		return;
	}
}

/* row_fo - fo= bits as "0:1:d:s" */
static void
row_fo(char *out, size_t size, unsigned fo)
{
	static const struct { unsigned bit; const char *name; } t[] = {
		{ DMARC_FO_0, "0" }, { DMARC_FO_1, "1" }, { DMARC_FO_D, "d" },
		{ DMARC_FO_S, "s" },
	};
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if ((fo & t[i].bit) && n + 3 < size)
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ":" : "",
			    t[i].name);
	if (n == 0)
		row_copy(out, size, "0");
}

/* row_join - append one item with a separator, whole or not at all */
static void
row_join(char *out, size_t size, const char *sep, const char *item)
{
	size_t n = strlen(out);
	int w = snprintf(out + n, size - n, "%s%s", n ? sep : "", item);

	if (w < 0 || (size_t)w >= size - n)
		out[n] = '\0';
}

/* row_policy - the policy_published columns */
static void
row_policy(struct store_row *row, const struct dmarc_report_record *rec)
{
	static const char *const psd[] = { "u", "y", "n" };

	row_copy(row->p, sizeof(row->p), dmarc_policy_str(rec->p));
	row_copy(row->sp, sizeof(row->sp), dmarc_policy_str(rec->sp));
	row_copy(row->np, sizeof(row->np), dmarc_policy_str(rec->np));
	row_copy(row->adkim, sizeof(row->adkim), rec->adkim == DMARC_ALIGN_STRICT ? "s" : "r");
	row_copy(row->aspf, sizeof(row->aspf), rec->aspf == DMARC_ALIGN_STRICT ? "s" : "r");
	row_copy(row->testing, sizeof(row->testing), rec->testing ? "y" : "n");
	row_copy(row->psd, sizeof(row->psd), psd[rec->psd <= DMARC_PSD_N ? rec->psd : 0]);
	row_fo(row->fo, sizeof(row->fo), rec->fo);
	for (size_t i = 0; i < rec->nrua && i < DMARC_URI_LIMIT; i++)
		row_join(row->rua, sizeof(row->rua), " ", rec->rua[i]);
}

/* row_dkim - the signatures, RFC 9990 "DKIM Signatures in Aggregate Reports"
 * order: passing ones first, then the rest, each as "result domain selector" */
static void
row_dkim(struct store_row *row, const struct dmarc_report_record *rec)
{
	char item[DMARC_DOMAIN_SIZE + 96];

	for (int pass = 1; pass >= 0; pass--)
		for (size_t i = 0; i < rec->ndkim && i < DMARC_DKIM_LIMIT; i++) {
			const struct dmarc_report_dkim *d = &rec->dkim[i];

			if ((d->result == DMARC_AUTH_PASS) != (pass == 1) || !d->domain[0])
				continue;
			snprintf(item, sizeof(item), "%s %s %s", dmarc_auth_str(d->result),
			    d->domain, d->selector[0] ? d->selector : "-");
			row_join(row->dkim, sizeof(row->dkim), ";", item);
		}
}

/* store_row_from_dmarc - the row for rec at time t */
void
store_row_from_dmarc(struct store_row *row, const struct dmarc_report_record *rec,
    int64_t t)
{
	memset(row, 0, sizeof(*row));
	row->time = t;
	row_copy(row->policy_domain, sizeof(row->policy_domain), rec->policy_domain);
	row_copy(row->header_from, sizeof(row->header_from), rec->header_from);
	row_copy(row->envelope_from, sizeof(row->envelope_from), rec->envelope_from);
	row_copy(row->envelope_to, sizeof(row->envelope_to), rec->envelope_to);
	row_copy(row->source_ip, sizeof(row->source_ip), rec->source_ip);
	row_copy(row->disposition, sizeof(row->disposition), row_disposition(rec));
	row_copy(row->dkim_align, sizeof(row->dkim_align),
	    rec->dkim_aligned_pass ? "pass" : "fail");
	row_copy(row->spf_align, sizeof(row->spf_align),
	    rec->spf_aligned_pass ? "pass" : "fail");
	row_reason(row, rec);
	row_policy(row, rec);
	row_dkim(row, rec);
	row_copy(row->spf_domain, sizeof(row->spf_domain), rec->spf_domain);
	row_copy(row->spf_scope, sizeof(row->spf_scope),
	    rec->spf_scope == SPF_IDENTITY_HELO ? "helo" : "mfrom");
	row_copy(row->spf_result, sizeof(row->spf_result), spf_result_str(rec->spf_result));
}

/* row_terminated - is the field a NUL-terminated string */
static bool
row_terminated(const char *f, size_t size)
{
	return memchr(f, '\0', size) != NULL;
}

#define ROW_OK(r, f)	row_terminated((r)->f, sizeof((r)->f))

/* store_row_valid - every field NUL-terminated and the required ones set */
bool
store_row_valid(const struct store_row *r)
{
	if (!(ROW_OK(r, policy_domain) && ROW_OK(r, header_from) &&
	    ROW_OK(r, envelope_from) && ROW_OK(r, envelope_to) && ROW_OK(r, source_ip) &&
	    ROW_OK(r, disposition) && ROW_OK(r, dkim_align) && ROW_OK(r, spf_align) &&
	    ROW_OK(r, reason) && ROW_OK(r, reason_comment) && ROW_OK(r, p) &&
	    ROW_OK(r, sp) && ROW_OK(r, np) && ROW_OK(r, adkim) && ROW_OK(r, aspf) &&
	    ROW_OK(r, testing) && ROW_OK(r, psd) && ROW_OK(r, fo) && ROW_OK(r, rua) &&
	    ROW_OK(r, dkim) && ROW_OK(r, spf_domain) && ROW_OK(r, spf_scope) &&
	    ROW_OK(r, spf_result)))
		return false;
	return r->policy_domain[0] && r->header_from[0] && r->disposition[0] && r->time >= 0;
}
