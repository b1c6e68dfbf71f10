/*
 * spf_record.c - SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §12).
 *
 * Parses the terms after "v=spf1" into directives and modifiers.  Every syntax
 * error anywhere in the record is detected here (§4.6: "any syntax errors anywhere
 * in the record MUST be detected"), so the evaluator only sees valid records.
 * Mechanisms are dispatched from a table: name, argument kind, CIDR kind.
 */
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"
#include "util.h"

enum term_arg {
	TERM_ARG_NONE,		/* all */
	TERM_ARG_OPTIONAL,	/* a mx ptr: [":" domain-spec] */
	TERM_ARG_REQUIRED,	/* include exists: ":" domain-spec */
	TERM_ARG_IP4,		/* ip4: ":" ip4-network [ip4-cidr-length] */
	TERM_ARG_IP6,		/* ip6: ":" ip6-network [ip6-cidr-length] */
};

static const struct {
	const char *name;
	enum spf_mech mech;
	enum term_arg arg;
	bool dual_cidr;		/* a, mx: dual-cidr-length (§5.6) */
} record_mechs[] = {
	{ "all", SPF_MECH_ALL, TERM_ARG_NONE, false },
	{ "include", SPF_MECH_INCLUDE, TERM_ARG_REQUIRED, false },
	{ "a", SPF_MECH_A, TERM_ARG_OPTIONAL, true },
	{ "mx", SPF_MECH_MX, TERM_ARG_OPTIONAL, true },
	{ "ptr", SPF_MECH_PTR, TERM_ARG_OPTIONAL, false },
	{ "ip4", SPF_MECH_IP4, TERM_ARG_IP4, false },
	{ "ip6", SPF_MECH_IP6, TERM_ARG_IP6, false },
	{ "exists", SPF_MECH_EXISTS, TERM_ARG_REQUIRED, false },
};

/* record_is_alpha - ASCII letter */
static bool
record_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* record_is_digit - ASCII digit */
static bool
record_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* spf_record_is_spf1 - "v=spf1" (case-insensitive) then SP or end (§4.5) */
bool
spf_record_is_spf1(const char *p, size_t len)
{
	if (len < 6 || !ascii_mem_eq_ci(p, "v=spf1", 6))
		return false;
	return len == 6 || p[6] == ' ';
}

/* record_cidr_value - §12 cidr digits: "0" or no leading zero, at most max */
static bool
record_cidr_value(const char *p, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3 || (len > 1 && p[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!record_is_digit(p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* record_trailing_digits - start of the run of digits ending at len */
static size_t
record_trailing_digits(const char *p, size_t len)
{
	while (len > 0 && record_is_digit(p[len - 1]))
		len--;
	return len;
}

/* record_dual_cidr - strip dual-cidr-length from the end of the argument (§5.6) */
static int
record_dual_cidr(const char *p, size_t *len, struct spf_term *t, const char **err)
{
	size_t i = record_trailing_digits(p, *len);

	/* "//n" is the IPv6 length */
	if (i < *len && i >= 2 && p[i - 1] == '/' && p[i - 2] == '/') {
		if (!record_cidr_value(p + i, *len - i, 128, &t->cidr6)) {
			*err = "invalid ip6 CIDR length";
			return -1;
		}
		*len = i - 2;
		i = record_trailing_digits(p, *len);
	}
	/* then "/n" is the IPv4 length */
	if (i < *len && i >= 1 && p[i - 1] == '/') {
		if (!record_cidr_value(p + i, *len - i, 32, &t->cidr4)) {
			*err = "invalid ip4 CIDR length";
			return -1;
		}
		*len = i - 1;
	}
	return 0;
}

/* record_domain_spec - validate a domain-spec (§12) and store it */
static int
record_domain_spec(const char *p, size_t len, char **out, const char **err)
{
	bool ends_macro;

	if (len == 0) {
		*err = "empty domain-spec";
		return -1;
	}
	if (spf_macro_check(p, len, false, &ends_macro, err) < 0)
		return -1;
	if (!ends_macro && !spf_domain_end_ok(p, len)) {
		*err = "domain-spec does not end in a valid top label";
		return -1;
	}
	*out = xmemdup0(p, len);
	return 0;
}

/* record_ip_arg - ip4/ip6 network with an optional single CIDR length */
static int
record_ip_arg(const char *p, size_t len, bool v6, struct spf_term *t, const char **err)
{
	unsigned *cidr = v6 ? &t->cidr6 : &t->cidr4;
	const char *slash = memchr(p, '/', len);
	size_t netlen = slash ? (size_t)(slash - p) : len;
	bool ok;

	if (slash != NULL && !record_cidr_value(slash + 1, len - netlen - 1,
	    v6 ? 128 : 32, cidr)) {
		*err = v6 ? "invalid ip6 CIDR length" : "invalid ip4 CIDR length";
		return -1;
	}
	ok = v6 ? spf_addr_parse_ip6(p, netlen, t->net) : spf_addr_parse_ip4(p, netlen, t->net);
	if (!ok) {
		*err = v6 ? "invalid ip6 network" : "invalid ip4 network";
		return -1;
	}
	return 0;
}

/* record_mech_arg - the part after the mechanism name */
static int
record_mech_arg(const char *p, size_t len, size_t mi, struct spf_term *t,
    const char **err)
{
	if (record_mechs[mi].dual_cidr && record_dual_cidr(p, &len, t, err) < 0)
		return -1;
	if (len == 0) {
		if (record_mechs[mi].arg == TERM_ARG_NONE ||
		    record_mechs[mi].arg == TERM_ARG_OPTIONAL)
			return 0;
		*err = "mechanism requires an argument";
		return -1;
	}
	if (p[0] != ':' || record_mechs[mi].arg == TERM_ARG_NONE) {
		*err = "unexpected text after mechanism name";
		return -1;
	}
	switch (record_mechs[mi].arg) {
	case TERM_ARG_IP4:
		return record_ip_arg(p + 1, len - 1, false, t, err);
	case TERM_ARG_IP6:
		return record_ip_arg(p + 1, len - 1, true, t, err);
	default:
		return record_domain_spec(p + 1, len - 1, &t->spec, err);
	}
}

/* record_add_directive - parse "[qualifier] mechanism" (§4.6.1, §4.6.2) */
static int
record_add_directive(struct spf_record *rec, const char *p, size_t len,
    const char **err)
{
	struct spf_term t = { .qual = SPF_RESULT_PASS, .cidr4 = 32, .cidr6 = 128 };
	size_t i = 0, n;

	switch (p[0]) {
	case '+': t.qual = SPF_RESULT_PASS; i = 1; break;
	case '-': t.qual = SPF_RESULT_FAIL; i = 1; break;
	case '~': t.qual = SPF_RESULT_SOFTFAIL; i = 1; break;
	case '?': t.qual = SPF_RESULT_NEUTRAL; i = 1; break;
	}
	for (n = i; n < len && (record_is_alpha(p[n]) || record_is_digit(p[n])); n++)
		;
	for (size_t mi = 0; mi < ARRAY_LEN(record_mechs); mi++) {
		if (strlen(record_mechs[mi].name) != n - i ||
		    !ascii_mem_eq_ci(p + i, record_mechs[mi].name, n - i))
			continue;
		t.mech = record_mechs[mi].mech;
		if (record_mech_arg(p + n, len - n, mi, &t, err) < 0) {
			free(t.spec);
			return -1;
		}
		t.text = xmemdup0(p, len);
		if (rec->nterms == rec->cap) {
			rec->cap = rec->cap ? rec->cap * 2 : 8;
			rec->terms = xrealloc(rec->terms, rec->cap * sizeof(t));
		}
		rec->terms[rec->nterms++] = t;
		return 0;
	}
	*err = i == len ? "qualifier without mechanism" : "unknown mechanism";
	return -1;
}

/* record_add_modifier - redirect=, exp= or an unknown modifier (§6, §4.6.1) */
static int
record_add_modifier(struct spf_record *rec, const char *name, size_t nlen,
    const char *val, size_t vlen, const char **err)
{
	char **slot = NULL;

	if (nlen == 8 && ascii_mem_eq_ci(name, "redirect", 8))
		slot = &rec->redirect;
	else if (nlen == 3 && ascii_mem_eq_ci(name, "exp", 3))
		slot = &rec->exp;
	if (slot == NULL)	/* §6: unknown modifiers are ignored, but syntax-checked */
		return spf_macro_check(val, vlen, false, NULL, err);
	if (*slot != NULL) {
		*err = slot == &rec->redirect ? "redirect= appears more than once" :
		    "exp= appears more than once";
		return -1;
	}
	return record_domain_spec(val, vlen, slot, err);
}

/* record_add_term - one space-delimited term */
static int
record_add_term(struct spf_record *rec, const char *p, size_t len, const char **err)
{
	size_t n = 0;

	/* §12 name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) then "=" */
	if (record_is_alpha(p[0])) {
		for (n = 1; n < len && (record_is_alpha(p[n]) || record_is_digit(p[n]) ||
		    p[n] == '-' || p[n] == '_' || p[n] == '.'); n++)
			;
		if (n < len && p[n] == '=')
			return record_add_modifier(rec, p, n, p + n + 1, len - n - 1, err);
	}
	return record_add_directive(rec, p, len, err);
}

/* spf_record_parse_where - parse; on error *bad is the offending term (or byte) */
struct spf_record *
spf_record_parse_where(const char *p, size_t len, const char **err, struct span *bad)
{
	struct spf_record *rec = xcalloc(1, sizeof(*rec));
	size_t i = 0;

	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)p[k];

		/* §3.1 7-bit ASCII; §4.6.1 terms are separated by SP only */
		if (c != ' ' && (c < 0x21 || c > 0x7e)) {
			*err = c >= 0x80 ? "non-ASCII character in record" :
			    "control character in record";
			bad->p = p + k;
			bad->len = 1;
			spf_record_free(rec);
			return NULL;
		}
	}
	while (i < len) {
		size_t start;

		if (p[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < len && p[i] != ' ')
			i++;
		if (record_add_term(rec, p + start, i - start, err) < 0) {
			bad->p = p + start;
			bad->len = i - start;
			spf_record_free(rec);
			return NULL;
		}
	}
	return rec;
}

/* spf_record_parse - parse the terms after "v=spf1" */
struct spf_record *
spf_record_parse(const char *p, size_t len, const char **err)
{
	struct span bad;

	return spf_record_parse_where(p, len, err, &bad);
}

/* spf_record_free - release a parsed record */
void
spf_record_free(struct spf_record *rec)
{
	if (rec == NULL)
		return;
	for (size_t i = 0; i < rec->nterms; i++) {
		free(rec->terms[i].text);
		free(rec->terms[i].spec);
	}
	free(rec->terms);
	free(rec->redirect);
	free(rec->exp);
	free(rec);
}
