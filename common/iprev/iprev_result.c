/*
 * iprev_result.c - names of the iprev results (RFC 8601 §2.7.3).
 */
#include <string.h>
#include <strings.h>

#include "iprev.h"

static const char *const iprev_result_names[] = {
	[IPREV_RESULT_PASS] = "pass",
	[IPREV_RESULT_FAIL] = "fail",
	[IPREV_RESULT_PERMERROR] = "permerror",
	[IPREV_RESULT_TEMPERROR] = "temperror",
};

#define IPREV_RESULT_COUNT \
	(sizeof(iprev_result_names) / sizeof(iprev_result_names[0]))

/* iprev_result_str - the result's name */
const char *
iprev_result_str(enum iprev_result r)
{
	return (size_t)r < IPREV_RESULT_COUNT ? iprev_result_names[r] : "temperror";
}

/* iprev_result_from_str - the result named by (s, len); -1 when none */
int
iprev_result_from_str(const char *s, size_t len)
{
	for (size_t i = 0; i < IPREV_RESULT_COUNT; i++)
		if (strlen(iprev_result_names[i]) == len &&
		    strncasecmp(iprev_result_names[i], s, len) == 0)
			return (int)i;
	return -1;
}
