/*
 * fuzz_report_rua.c - libFuzzer target for the rua= destination parser
 * (report_rua_parse), which reads URIs published in DNS, and the dmarc-subject
 * test of a message's Subject (report_subject_is_report).  Invariants, checked
 * with abort(): a recognised Subject holds "Report"; at most DMARC_URI_LIMIT destinations; every address has
 * exactly one @ with text on both sides, only characters safe in an SMTP
 * command and a header field, and its domain pointer is the text after the @.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_addr_ok - the address invariant */
static int
fuzz_addr_ok(const struct report_uri *u)
{
	const char *at = strchr(u->addr, '@');

	if (!at || at == u->addr || !at[1] || strchr(at + 1, '@') || u->domain != at + 1)
		return 0;
	for (const char *p = u->addr; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("<>\"\\,;()[]", *p))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_rua r;

	/* a dmarc-subject starts with "Report" after blanks */
	if (report_subject_is_report((const char *)data, size) &&
	    !memmem(data, size, "Report", 6))
		abort();
	report_rua_parse((const char *)data, size, &r);
	if (r.n > DMARC_URI_LIMIT)
		abort();
	for (size_t i = 0; i < r.n; i++)
		if (!fuzz_addr_ok(&r.uri[i]))
			abort();
	return 0;
}
