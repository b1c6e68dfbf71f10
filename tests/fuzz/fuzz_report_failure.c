/*
 * fuzz_report_failure.c - libFuzzer target for the text failure reports
 * (RFC 9991) read back or rewrite: the queue file parser
 * (report_fjob_parse), the hourly counts file (report_rate_load) and the
 * local-part redaction of header text (report_redact).  The first byte
 * chooses the parser.  Invariants, checked with abort(): a queue file parsed
 * OK formats back to the same bytes; loaded counts are all of the hour
 * asked, one per domain, and survive a save and load; redaction keeps every
 * "@", and removing is idempotent (no local part survives a second pass).
 * A fourth mode writes DNS text (records split at NUL bytes) as the
 * report's SPF-DNS fields: every line at most 998 bytes and of printable
 * ASCII, CR only before LF, and every field one quoted-string that ends
 * its value (no quote left unescaped inside).
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

/* fuzz_quoted - an unfolded SPF-DNS field (p, len) is
 * "SPF-DNS: txt : d : " and one quoted-string to its end */
static bool
fuzz_quoted(const char *p, size_t len)
{
	const char *q = memchr(p, '"', len);
	size_t i;

	if (!q || strncmp(p, "SPF-DNS: txt : d.example : \"", 28) != 0)
		return false;
	for (i = (size_t)(q - p) + 1; i < len && p[i] != '"'; i++)
		if (p[i] == '\\')
			i++;
	return i == len - 1;
}

/* fuzz_lines - the report's lines; every SPF-DNS field a good quoted-string */
static void
fuzz_lines(const char *p, size_t len)
{
	char field[8192];
	size_t flen = 0, i = 0;
	bool in = false;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (p + i)) : len - i;

		if (!nl || n == 0 || p[i + n - 1] != '\r' || n - 1 > 998)
			abort();
		if (in && p[i] != ' ') {
			if (!fuzz_quoted(field, flen))
				abort();
			in = false;
		}
		if (!in && n > 9 && memcmp(p + i, "SPF-DNS: ", 9) == 0) {
			in = true;
			flen = 0;
		}
		for (size_t k = 0; in && k + 1 < n; k++) {
			if ((unsigned char)p[i + k] < 0x20 || (unsigned char)p[i + k] > 0x7e ||
			    flen >= sizeof(field))
				abort();
			field[flen++] = p[i + k];
		}
		i += n + 1;
	}
}

/* fuzz_spf_dns - records (NUL-separated) written as SPF-DNS fields */
static void
fuzz_spf_dns(const char *p, size_t len)
{
	struct spf_records r = { 0 };
	struct report_failure f = {
		.kind = REPORT_FAIL_SPF, .from = "r@mx.example", .reporting_mta = "mx.example",
		.user_agent = "fuzz/1", .authserv_id = "mx.example",
		.policy_domain = "d.example", .header_from = "d.example",
		.org_domain = "d.example", .source_ip = "192.0.2.1", .mail_from = "x@d.example",
		.dmarc_result = "fail", .spf_result = "fail", .spf_domain = "d.example",
		.message_id = "1@mx.example", .headers = "From: <x@d.example>\r\n",
		.headers_len = 21, .spf_records = &r,
	};
	struct buf out;
	size_t off = 0;

	while (off <= len) {
		const char *z = memchr(p + off, '\0', len - off);
		size_t n = z ? (size_t)(z - (p + off)) : len - off;

		spf_records_add(&r, p + off, n);
		off += n + 1;
	}
	buf_init(&out, 1 << 20);
	if (report_failure_build(&f, &out) < 0)
		abort();
	fuzz_lines(out.data, out.len);
	buf_clear(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_fjob(p, size - 1);
		break;
	case 1:
		fuzz_rate(p, size - 1);
		break;
	case 2:
		fuzz_redact(p, size - 1);
		break;
	default:
		fuzz_spf_dns(p, size - 1);
		break;
	}
	return 0;
}
