/*
 * spf_result.c - SPF result names (RFC 7208 §2.6, §8) and default limits (§4.6.4).
 */
#include <string.h>

#include "spf.h"
#include "util.h"

/* Our own bounds on one evaluation; see spf.h struct spf_limits. */
#define SPF_TOTAL_LOOKUP_DEFAULT	40
#define SPF_EVAL_TIMEOUT_DEFAULT_MS	20000

static const char *const spf_result_names[] = {
	[SPF_RESULT_NONE] = "none",
	[SPF_RESULT_NEUTRAL] = "neutral",
	[SPF_RESULT_PASS] = "pass",
	[SPF_RESULT_FAIL] = "fail",
	[SPF_RESULT_SOFTFAIL] = "softfail",
	[SPF_RESULT_TEMPERROR] = "temperror",
	[SPF_RESULT_PERMERROR] = "permerror",
};

/* spf_limits_default - the RFC limits and our defaults */
void
spf_limits_default(struct spf_limits *l)
{
	l->dns_mech_limit = SPF_DNS_MECH_LIMIT;
	l->void_limit = SPF_VOID_LIMIT;
	l->mxptr_name_limit = SPF_MXPTR_NAME_LIMIT;
	l->total_lookup_limit = SPF_TOTAL_LOOKUP_DEFAULT;
	l->eval_timeout_ms = SPF_EVAL_TIMEOUT_DEFAULT_MS;
}

/* spf_result_str - "pass", "fail", ... */
const char *
spf_result_str(enum spf_result r)
{
	if ((size_t)r < ARRAY_LEN(spf_result_names))
		return spf_result_names[r];
	return "unknown";
}

/* spf_result_from_str - inverse of spf_result_str; -1 when unknown */
int
spf_result_from_str(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(spf_result_names); i++)
		if (strlen(spf_result_names[i]) == len &&
		    ascii_mem_eq_ci(s, spf_result_names[i], len))
			return (int)i;
	return -1;
}
