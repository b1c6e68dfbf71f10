/*
 * dmarc_record.c - DMARC policy record parser (RFC 9989 "General Record Format",
 * "Formal Definition", and "DMARC Policy Discovery" for a missing or bad p=).
 *
 * The record uses the RFC 6376 §3.2 tag=value syntax (common/tagvalue).  Rules:
 *  - v=DMARC1 must be the first tag, value case-sensitive; otherwise the text is
 *    not a DMARC record and is ignored ("General Record Format", v).
 *  - Tags p sp np adkim aspf psd t rua ruf fo in any order; tag names compared
 *    without regard to case, so "P=" and "p=" are duplicates.
 *  - Unknown tags are ignored ("General Record Format") and noted; pct, rf, ri (removed, "Tags Removed") are
 *    parsed for the legacy pct setting and noted.
 *  - A duplicate tag, a tag=value syntax error, or a bad value of adkim, aspf,
 *    psd, t or fo makes the record invalid: treated as no record.
 *  - A bad p/sp/np value, or a missing p=: with at least one valid rua= URI the
 *    record counts as p=none ("DMARC Policy Discovery"); a bad value without it is invalid; a
 *    missing p= without it is a valid record that carries no policy.
 *  - rua/ruf URIs that are not syntactically URIs are dropped and noted: "General Record Format"
 *    says unsupported URIs MUST be ignored, so they do not spoil the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "tagvalue.h"

struct tag_handler {
	const char *name;
	/* parse - 0, or -1 with rec->reason set for a bad value */
	int (*parse)(struct dmarc_record *rec, struct span v);
	const char *doc;
};

/* record_note - remember a remark for logs and dmarc-check */
static void
record_note(struct dmarc_record *rec, const char *fmt, struct span s)
{
	int n;

	if (rec->nnotes >= DMARC_NOTE_LIMIT)
		return;
	n = (int)(s.len > 40 ? 40 : s.len);
	snprintf(rec->notes[rec->nnotes++], sizeof(rec->notes[0]), fmt, n, s.p);
}

/* record_bad - set the reason for a bad value of tag name */
static int
record_bad(struct dmarc_record *rec, const char *name, struct span v)
{
	int n = (int)(v.len > 40 ? 40 : v.len);

	snprintf(rec->reason, sizeof(rec->reason), "bad value \"%.*s\" for %s=",
	    n, v.p, name);
	return -1;
}

/* record_policy_value - none/quarantine/reject, case-insensitive (RFC 5234 literals) */
static enum dmarc_policy
record_policy_value(struct span v)
{
	if (span_eq_ci(v, "none"))
		return DMARC_POLICY_NONE;
	if (span_eq_ci(v, "quarantine"))
		return DMARC_POLICY_QUARANTINE;
	if (span_eq_ci(v, "reject"))
		return DMARC_POLICY_REJECT;
	return DMARC_POLICY_UNSET;
}

/* record_policy - parse p, sp or np into *dst, deferring a bad value */
static int
record_policy(struct dmarc_record *rec, struct span v, enum dmarc_policy *dst,
    const char *name)
{
	enum dmarc_policy p = record_policy_value(v);

	/* decided once rua= is known: the text waits in rec->reason */
	if (p == DMARC_POLICY_UNSET) {
		if (!rec->policy_value_bad)
			record_bad(rec, name, v);
		rec->policy_value_bad = true;
		return 0;
	}
	*dst = p;
	return 0;
}

/* tag_p, tag_sp, tag_np - the three policy tags */
static int tag_p(struct dmarc_record *r, struct span v) { return record_policy(r, v, &r->p, "p"); }
static int tag_sp(struct dmarc_record *r, struct span v) { return record_policy(r, v, &r->sp, "sp"); }
static int tag_np(struct dmarc_record *r, struct span v) { return record_policy(r, v, &r->np, "np"); }

/* record_rors - r or s */
static int
record_rors(struct dmarc_record *rec, struct span v, enum dmarc_align_mode *dst,
    const char *name)
{
	if (span_eq_ci(v, "r"))
		*dst = DMARC_ALIGN_RELAXED;
	else if (span_eq_ci(v, "s"))
		*dst = DMARC_ALIGN_STRICT;
	else
		return record_bad(rec, name, v);
	return 0;
}

/* tag_adkim, tag_aspf - the alignment modes */
static int tag_adkim(struct dmarc_record *r, struct span v) { return record_rors(r, v, &r->adkim, "adkim"); }
static int tag_aspf(struct dmarc_record *r, struct span v) { return record_rors(r, v, &r->aspf, "aspf"); }

/* tag_psd - y, n or u */
static int
tag_psd(struct dmarc_record *rec, struct span v)
{
	if (span_eq_ci(v, "y"))
		rec->psd = DMARC_PSD_Y;
	else if (span_eq_ci(v, "n"))
		rec->psd = DMARC_PSD_N;
	else if (span_eq_ci(v, "u"))
		rec->psd = DMARC_PSD_U;
	else
		return record_bad(rec, "psd", v);
	return 0;
}

/* tag_t - y or n */
static int
tag_t(struct dmarc_record *rec, struct span v)
{
	if (span_eq_ci(v, "y"))
		rec->testing = true;
	else if (span_eq_ci(v, "n"))
		rec->testing = false;
	else
		return record_bad(rec, "t", v);
	return 0;
}

/* tag_fo - colon-separated list of 0, 1, d, s ("General Record Format"; RFC 7489 allowed any list) */
static int
tag_fo(struct dmarc_record *rec, struct span v)
{
	unsigned fo = 0;
	size_t i = 0;

	while (i < v.len) {
		size_t j = i;

		while (j < v.len && v.p[j] != ':')
			j++;
		struct span item = span_trim((struct span){ v.p + i, j - i });
		if (span_eq_ci(item, "0"))
			fo |= DMARC_FO_0;
		else if (span_eq_ci(item, "1"))
			fo |= DMARC_FO_1;
		else if (span_eq_ci(item, "d"))
			fo |= DMARC_FO_D;
		else if (span_eq_ci(item, "s"))
			fo |= DMARC_FO_S;
		else
			return record_bad(rec, "fo", v);
		i = j + 1;
		if (j + 1 == v.len)	/* trailing colon */
			return record_bad(rec, "fo", v);
	}
	if (fo == 0)
		return record_bad(rec, "fo", v);
	rec->fo = fo;
	return 0;
}

/* uri_ok - RFC 3986 scheme ":" followed by URI characters, no blanks */
static bool
uri_ok(struct span u)
{
	size_t i = 0;

	if (u.len < 3 || !((u.p[0] | 0x20) >= 'a' && (u.p[0] | 0x20) <= 'z'))
		return false;
	while (i < u.len && u.p[i] != ':') {
		char c = u.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return false;
		i++;
	}
	if (i >= u.len - 1)
		return false;
	for (i++; i < u.len; i++) {
		unsigned char c = (unsigned char)u.p[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>\"{}|\\^`", c))
			return false;
	}
	return u.len < DMARC_URI_SIZE_LIMIT;
}

/* record_urilist - comma-separated URIs; bad ones are dropped and noted */
static int
record_urilist(struct dmarc_record *rec, struct span v,
    char (*dst)[DMARC_URI_SIZE_LIMIT], size_t *n, const char *name)
{
	size_t i = 0;

	while (i <= v.len) {
		size_t j = i;

		while (j < v.len && v.p[j] != ',')
			j++;
		struct span u = span_trim((struct span){ v.p + i, j - i });
		if (!uri_ok(u))
			record_note(rec, strcmp(name, "rua") == 0 ?
			    "rua= entry \"%.*s\" is not a URI: ignored" :
			    "ruf= entry \"%.*s\" is not a URI: ignored", u);
		else if (*n < DMARC_URI_LIMIT) {
			memcpy(dst[*n], u.p, u.len);
			dst[*n][u.len] = '\0';
			(*n)++;
		}
		i = j + 1;
	}
	return 0;
}

/* tag_rua, tag_ruf - report URI lists */
static int tag_rua(struct dmarc_record *r, struct span v) { return record_urilist(r, v, r->rua, &r->nrua, "rua"); }
static int tag_ruf(struct dmarc_record *r, struct span v) { return record_urilist(r, v, r->ruf, &r->nruf, "ruf"); }

/* tag_pct - removed by RFC 9989; 0..100 kept for the legacy setting */
static int
tag_pct(struct dmarc_record *rec, struct span v)
{
	int n = 0;

	record_note(rec, "pct=%.*s: removed by RFC 9989, ignored unless legacy pct is on", v);
	if (v.len == 0 || v.len > 3)
		return 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return 0;
		n = n * 10 + (v.p[i] - '0');
	}
	if (n <= 100)
		rec->pct = n;
	return 0;
}

/* tag_rf - removed by RFC 9989 */
static int
tag_rf(struct dmarc_record *rec, struct span v)
{
	rec->has_rf = true;
	record_note(rec, "rf=%.*s: removed by RFC 9989, ignored", v);
	return 0;
}

/* tag_ri - removed by RFC 9989 */
static int
tag_ri(struct dmarc_record *rec, struct span v)
{
	rec->has_ri = true;
	record_note(rec, "ri=%.*s: removed by RFC 9989, ignored", v);
	return 0;
}

static const struct tag_handler tag_table[] = {
	{ "p", tag_p, "Domain Owner Assessment Policy for the domain (none|quarantine|reject)" },
	{ "sp", tag_sp, "policy for existing subdomains (used when found at the Organizational Domain or PSD)" },
	{ "np", tag_np, "policy for non-existent subdomains (A, AAAA and MX all NXDOMAIN/NODATA)" },
	{ "adkim", tag_adkim, "DKIM alignment: r relaxed (same Organizational Domain), s strict (same name)" },
	{ "aspf", tag_aspf, "SPF alignment: r relaxed (same Organizational Domain), s strict (same name)" },
	{ "psd", tag_psd, "Public Suffix Domain flag: y PSD, n Organizational Domain, u unspecified" },
	{ "t", tag_t, "testing: y asks receivers not to apply the policy fully (one level down)" },
	{ "rua", tag_rua, "aggregate report URIs (RFC 9990)" },
	{ "ruf", tag_ruf, "failure report URIs (RFC 9991)" },
	{ "fo", tag_fo, "failure reporting options 0, 1, d, s" },
	{ "pct", tag_pct, "removed by RFC 9989 (was: sampling percentage)" },
	{ "rf", tag_rf, "removed by RFC 9989 (was: failure report format)" },
	{ "ri", tag_ri, "removed by RFC 9989 (was: aggregate report interval)" },
};

/* dmarc_record_tag_doc - meaning of a known tag name, or NULL */
const char *
dmarc_record_tag_doc(const char *name, size_t len)
{
	struct span s = { name, len };

	if (span_eq_ci(s, "v"))
		return "version: must be DMARC1 and come first";
	for (size_t i = 0; i < ARRAY_LEN(tag_table); i++)
		if (span_eq_ci(s, tag_table[i].name))
			return tag_table[i].doc;
	return NULL;
}

/* record_defaults - an empty record with the "General Record Format" defaults */
static void
record_defaults(struct dmarc_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->adkim = DMARC_ALIGN_RELAXED;
	rec->aspf = DMARC_ALIGN_RELAXED;
	rec->psd = DMARC_PSD_U;
	rec->fo = DMARC_FO_0;
	rec->pct = -1;
}

/* record_version_first - does the text start with v=DMARC1 as its own tag? */
static bool
record_version_first(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= len || p[i] != 'v')
		return false;
	for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (i >= len || p[i] != '=')
		return false;
	for (i++; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (len - i < 6 || memcmp(p + i, "DMARC1", 6) != 0)
		return false;
	for (i += 6; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i == len || p[i] == ';';
}

/* record_invalid - mark rec invalid */
static enum dmarc_record_status
record_invalid(struct dmarc_record *rec)
{
	rec->status = DMARC_RECORD_INVALID;
	rec->has_policy = false;
	return rec->status;
}

/* record_dispatch - run the handler of one tag; -1 on a bad value */
static int
record_dispatch(struct dmarc_record *rec, const struct tagvalue_tag *t,
    unsigned *seen)
{
	for (size_t i = 0; i < ARRAY_LEN(tag_table); i++) {
		if (!span_eq_ci(t->name, tag_table[i].name))
			continue;
		if (*seen & (1u << i)) {
			snprintf(rec->reason, sizeof(rec->reason),
			    "duplicate tag %s=", tag_table[i].name);
			return -1;
		}
		*seen |= 1u << i;
		return tag_table[i].parse(rec, t->value);
	}
	if (span_eq_ci(t->name, "v")) {
		snprintf(rec->reason, sizeof(rec->reason), "duplicate tag v=");
		return -1;
	}
	record_note(rec, "unknown tag %.*s= ignored", t->name);
	return 0;
}

/* record_settle_policy - apply the "DMARC Policy Discovery" rules for a missing or bad p= */
static enum dmarc_record_status
record_settle_policy(struct dmarc_record *rec)
{
	bool has_p = rec->p != DMARC_POLICY_UNSET;
	char what[sizeof(rec->reason)];

	memcpy(what, rec->reason, sizeof(what));
	if (rec->policy_value_bad || !has_p) {
		if (rec->nrua > 0) {
			snprintf(rec->reason, sizeof(rec->reason),
			    "%.80s: p=none because rua= holds a valid URI (RFC 9989 DMARC Policy Discovery)",
			    rec->policy_value_bad ? what : "no p=");
			rec->p = DMARC_POLICY_NONE;
			rec->sp = rec->np = DMARC_POLICY_UNSET;
			rec->p_implied = true;
			rec->has_policy = true;
			return rec->status;
		}
		if (rec->policy_value_bad) {
			snprintf(rec->reason, sizeof(rec->reason),
			    "%.100s and no valid rua=", what);
			return record_invalid(rec);
		}
		snprintf(rec->reason, sizeof(rec->reason),
		    "no p= and no valid rua=: no DMARC policy (RFC 9989 DMARC Policy Discovery)");
		rec->has_policy = false;
		return rec->status;
	}
	rec->has_policy = true;
	return rec->status;
}

/* dmarc_record_parse - parse one TXT string */
enum dmarc_record_status
dmarc_record_parse(const char *p, size_t len, struct dmarc_record *rec)
{
	struct tagvalue_list *tl;
	unsigned seen = 0;
	enum dmarc_record_status st;

	record_defaults(rec);
	snprintf(rec->text, sizeof(rec->text), "%.*s",
	    (int)(len < sizeof(rec->text) ? len : sizeof(rec->text) - 1), p);
	if (!record_version_first(p, len)) {
		rec->status = DMARC_RECORD_NOT_DMARC;
		snprintf(rec->reason, sizeof(rec->reason),
		    "does not start with v=DMARC1");
		return rec->status;
	}
	rec->status = DMARC_RECORD_VALID;
	tl = xmalloc(sizeof(*tl));
	if (tagvalue_parse(p, len, tl) != 0) {
		snprintf(rec->reason, sizeof(rec->reason),
		    "tag=value syntax: %s at offset %zu", tl->reason, tl->error_offset);
		free(tl);
		return record_invalid(rec);
	}
	for (size_t i = 1; i < tl->count; i++) {
		if (record_dispatch(rec, &tl->tags[i], &seen) != 0) {
			free(tl);
			return record_invalid(rec);
		}
	}
	free(tl);
	st = record_settle_policy(rec);
	return st;
}

/* dmarc_record_format - the effective record as text */
int
dmarc_record_format(const struct dmarc_record *rec, struct buf *out)
{
	buf_printf(out, "v=DMARC1; p=%s", rec->has_policy ?
	    dmarc_policy_str(rec->p) : "(none given)");
	if (rec->sp != DMARC_POLICY_UNSET)
		buf_printf(out, "; sp=%s", dmarc_policy_str(rec->sp));
	if (rec->np != DMARC_POLICY_UNSET)
		buf_printf(out, "; np=%s", dmarc_policy_str(rec->np));
	buf_printf(out, "; adkim=%c; aspf=%c; psd=%c; t=%c",
	    rec->adkim == DMARC_ALIGN_STRICT ? 's' : 'r',
	    rec->aspf == DMARC_ALIGN_STRICT ? 's' : 'r',
	    rec->psd == DMARC_PSD_Y ? 'y' : rec->psd == DMARC_PSD_N ? 'n' : 'u',
	    rec->testing ? 'y' : 'n');
	for (size_t i = 0; i < rec->nrua; i++)
		buf_printf(out, "%s%s", i ? "," : "; rua=", rec->rua[i]);
	for (size_t i = 0; i < rec->nruf; i++)
		buf_printf(out, "%s%s", i ? "," : "; ruf=", rec->ruf[i]);
	return out->overflow ? -1 : 0;
}
