/*
 * smtp_param.c - validation of the ESMTP parameters reinject passes through.
 *
 * SIZE (RFC 1870 §6), BODY (RFC 6152 §2, RFC 3030 BINARYMIME is not
 * announced), SMTPUTF8 (RFC 6531 §3.4), RET and ENVID (RFC 3461 §4.3, §4.4),
 * NOTIFY and ORCPT (RFC 3461 §4.1, §4.2).
 */
#include <string.h>

#include "smtp.h"

/* RFC 3461 §4.4: ENVID is at most 100 characters; §4.2: ORCPT at most 500. */
#define SMTP_ENVID_LIMIT	100
#define SMTP_ORCPT_LIMIT	500
/* RFC 1870: SIZE is a decimal of at most 20 digits. */
#define SMTP_SIZE_DIGITS	20

static const struct {
	const char *name;
	enum smtp_param_kind kind;
} smtp_param_table[] = {
	{ "SIZE", SMTP_PARAM_SIZE },
	{ "BODY", SMTP_PARAM_BODY },
	{ "SMTPUTF8", SMTP_PARAM_SMTPUTF8 },
	{ "RET", SMTP_PARAM_RET },
	{ "ENVID", SMTP_PARAM_ENVID },
	{ "NOTIFY", SMTP_PARAM_NOTIFY },
	{ "ORCPT", SMTP_PARAM_ORCPT },
};

/* smtp_param_kind - classify a parameter key */
enum smtp_param_kind
smtp_param_kind(struct span key)
{
	for (size_t i = 0; i < ARRAY_LEN(smtp_param_table); i++)
		if (span_eq_ci(key, smtp_param_table[i].name))
			return smtp_param_table[i].kind;
	return SMTP_PARAM_UNKNOWN;
}

/* smtp_param_size - RFC 1870 size-value */
static const char *
smtp_param_size(struct span v, uint64_t *size)
{
	uint64_t n = 0;

	if (v.len == 0 || v.len > SMTP_SIZE_DIGITS)
		return "bad SIZE value";
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return "bad SIZE value";
		if (n > (UINT64_MAX - 9) / 10)
			return "bad SIZE value";
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (size)
		*size = n;
	return NULL;
}

/* smtp_param_notify - NEVER, or a list of SUCCESS FAILURE DELAY */
static const char *
smtp_param_notify(struct span v)
{
	size_t i = 0;
	bool never = false, other = false;

	if (v.len == 0)
		return "bad NOTIFY value";
	while (i <= v.len) {
		const char *comma = memchr(v.p + i, ',', v.len - i);
		size_t end = comma ? (size_t)(comma - v.p) : v.len;
		struct span w = { v.p + i, end - i };

		if (span_eq_ci(w, "NEVER"))
			never = true;
		else if (span_eq_ci(w, "SUCCESS") || span_eq_ci(w, "FAILURE") ||
		    span_eq_ci(w, "DELAY"))
			other = true;
		else
			return "bad NOTIFY value";
		i = end + 1;
	}
	return never && other ? "bad NOTIFY value" : NULL;
}

/* smtp_param_orcpt - addr-type ";" xtext */
static const char *
smtp_param_orcpt(struct span v)
{
	const char *semi = memchr(v.p, ';', v.len);

	if (v.len > SMTP_ORCPT_LIMIT || !semi || semi == v.p)
		return "bad ORCPT value";
	if (!smtp_xtext_valid(semi + 1, v.len - (size_t)(semi + 1 - v.p)))
		return "bad ORCPT value";
	return NULL;
}

/* smtp_param_value - per-kind value check */
static const char *
smtp_param_value(enum smtp_param_kind k, const struct smtp_param *prm,
    uint64_t *size)
{
	struct span v = prm->value;

	switch (k) {
	case SMTP_PARAM_SIZE:
		return smtp_param_size(v, size);
	case SMTP_PARAM_BODY:
		return span_eq_ci(v, "7BIT") || span_eq_ci(v, "8BITMIME") ?
		    NULL : "bad BODY value";
	case SMTP_PARAM_RET:
		return span_eq_ci(v, "FULL") || span_eq_ci(v, "HDRS") ?
		    NULL : "bad RET value";
	case SMTP_PARAM_ENVID:
		return v.len && v.len <= SMTP_ENVID_LIMIT &&
		    smtp_xtext_valid(v.p, v.len) ? NULL : "bad ENVID value";
	case SMTP_PARAM_NOTIFY:
		return smtp_param_notify(v);
	case SMTP_PARAM_ORCPT:
		return smtp_param_orcpt(v);
	default:
		return NULL;
	}
}

/* smtp_param_check - validate one parameter for MAIL or RCPT */
const char *
smtp_param_check(const struct smtp_param *prm, bool is_rcpt, uint64_t *size)
{
	enum smtp_param_kind k = smtp_param_kind(prm->key);
	bool rcpt_kind = k == SMTP_PARAM_NOTIFY || k == SMTP_PARAM_ORCPT;

	if (k == SMTP_PARAM_UNKNOWN || rcpt_kind != is_rcpt)
		return "unsupported parameter";
	if (k == SMTP_PARAM_SMTPUTF8)
		return prm->has_value ? "SMTPUTF8 takes no value" : NULL;
	if (!prm->has_value)
		return "parameter needs a value";
	return smtp_param_value(k, prm, size);
}
