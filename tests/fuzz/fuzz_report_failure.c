/*
 * fuzz_report_failure.c - libFuzzer target for the text failure reports
 * (RFC 9991) read back or rewrite: the queue file parser
 * (report_fjob_parse), the hourly counts file (report_rate_load) and the
 * local-part redaction of header text (report_redact).  The first byte
 * chooses the parser.  Invariants, checked with abort(): a queue file parsed
 * OK formats back to the same bytes; loaded counts are all of the hour
 * asked, one per domain, and survive a save and load; redaction keeps every
 * "@", and removing is idempotent (no local part survives a second pass).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report_failure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fjob - parse, and an OK file round-trips */
static void
fuzz_fjob(const char *p, size_t len)
{
	struct report_fjob j;
	struct buf b;

	if (report_fjob_parse(p, len, &j) != REPORT_FJOB_OK)
		return;
	if (!j.domain[0] || j.msg < p || j.msg + j.msg_len != p + len)
		abort();
	buf_init(&b, len + 16);
	if (report_fjob_format(&b, j.domain, j.ruf, j.msg, j.msg_len) < 0 || b.len != len ||
	    memcmp(b.data, p, len) != 0)
		abort();
	buf_clear(&b);
}

/* fuzz_rate - load, check, save, load again */
static void
fuzz_rate(const char *p, size_t len)
{
	struct report_rate r = { 0 }, back = { 0 };
	struct buf b;

	report_rate_load(&r, p, len, 7);
	for (size_t i = 0; i < r.n; i++) {
		if (r.e[i].hour != 7)
			abort();
		for (size_t k = i + 1; k < r.n; k++)
			if (strcasecmp(r.e[i].domain, r.e[k].domain) == 0)
				abort();
	}
	buf_init(&b, 1 << 24);
	report_rate_save(&r, &b);
	report_rate_load(&back, b.data ? b.data : "", b.len, 7);
	if (back.n != r.n)
		abort();
	buf_clear(&b);
	report_rate_clear(&r);
	report_rate_clear(&back);
}

/* fuzz_ats - "@" in (p, len) */
static size_t
fuzz_ats(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == '@';
	return n;
}

/* fuzz_redact - "@" kept; removing twice is removing once */
static void
fuzz_redact(const char *p, size_t len)
{
	struct buf once, twice, hashed;

	buf_init(&once, len * 9 + 16);
	buf_init(&twice, len * 9 + 16);
	buf_init(&hashed, len * 19 + 16);
	report_redact(p, len, REPORT_REDACT_REMOVE, "", &once);
	report_redact(once.data ? once.data : "", once.len, REPORT_REDACT_REMOVE, "", &twice);
	report_redact(p, len, REPORT_REDACT_HASH, "k", &hashed);
	if (once.overflow || twice.overflow || hashed.overflow ||
	    fuzz_ats(once.data ? once.data : "", once.len) != fuzz_ats(p, len) ||
	    fuzz_ats(hashed.data ? hashed.data : "", hashed.len) != fuzz_ats(p, len) ||
	    once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0)
		abort();
	buf_clear(&once);
	buf_clear(&twice);
	buf_clear(&hashed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_fjob(p, size - 1);
		break;
	case 1:
		fuzz_rate(p, size - 1);
		break;
	default:
		fuzz_redact(p, size - 1);
		break;
	}
	return 0;
}
