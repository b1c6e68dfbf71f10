/*
 * fuzz_dmarc.c - libFuzzer target for the DMARC parsers that read network
 * data: the policy record (dmarc_record_parse), the RFC 5322 address list of
 * From (mailaddr_parse_list), the trusted-SPF-header rule (dmarc_spfhdr_find
 * over fields split from the input), and a whole evaluation of the input as a
 * From field over a fixed in-memory zone.  Invariants are checked with abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "mailaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_record - parse; a policy implies a p= value */
static void
fuzz_record(const char *p, size_t n)
{
	struct dmarc_record rec;

	if (dmarc_record_parse(p, n, &rec) == DMARC_RECORD_VALID && rec.has_policy &&
	    rec.p == DMARC_POLICY_UNSET)
		abort();
	if (rec.status != DMARC_RECORD_VALID && rec.has_policy)
		abort();
}

/* fuzz_addr - parse; every domain returned is a usable lower-case name */
static void
fuzz_addr(const char *p, size_t n)
{
	struct mailaddr_list l;
	char norm[DMARC_DOMAIN_SIZE];

	mailaddr_parse_list(p, n, &l);
	if (l.count > MAILADDR_LIMIT)
		abort();
	for (size_t i = 0; i < l.count; i++) {
		const char *d = l.addr[i].domain;

		if (l.addr[i].literal || !d[0])
			continue;
		if (mailaddr_domain_to_ascii(d, strlen(d), norm) != 0 || strcmp(norm, d) != 0)
			abort();
	}
}

/* fuzz_spfhdr - fields "name:value" separated by LF */
static void
fuzz_spfhdr(const char *p, size_t n)
{
	struct dmarc_header h[16];
	struct dmarc_spfhdr out;
	size_t nh = 0, i = 0;

	while (i < n && nh < 16) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n;
		const char *colon = memchr(p + i, ':', end - i);

		if (colon) {
			h[nh].name = (struct span){ p + i, (size_t)(colon - p - i) };
			h[nh].value = (struct span){ colon + 1, end - (size_t)(colon - p) - 1 };
			nh++;
		}
		i = end + 1;
	}
	dmarc_spfhdr_find(h, nh, "mx.ours.example", "b@quar.example",
	    "mx.sender.example", "192.0.2.1", &out);
	if (out.found && out.why == NULL)
		abort();
}

struct fuzz_eval_seen {
	int calls;
	bool from_error;	/* the input said the From is not known for sure */
};

/*
 * fuzz_eval_done - a pass never carries a disposition; an input marked as a
 * From error (reinject: header section not parsed, From scan incomplete) is
 * a permerror with the From-error disposition, whatever its From fields say
 */
static void
fuzz_eval_done(void *arg, const struct dmarc_verdict *v)
{
	struct fuzz_eval_seen *seen = arg;

	seen->calls++;
	if (v->result == DMARC_RESULT_PASS && v->disposition != DMARC_DIS_NONE)
		abort();
	if (seen->from_error && (v->result != DMARC_RESULT_PERMERROR || !v->from_error ||
	    v->disposition != DMARC_DIS_REJECT))
		abort();
}

/* fuzz_eval - the input as one From field, evaluated over a fixed zone; odd
 * lengths also mark the From as not known for sure */
static void
fuzz_eval(const char *p, size_t n)
{
	static struct dns_resolver *r;
	struct span from = { p, n };
	struct dmarc_dkim_input dk = { DMARC_AUTH_PASS, "example.com", "s" };
	struct dmarc_input in = { .from_fields = &from, .nfrom_fields = 1,
	    .mail_from = "b@mail.example.com", .spf = SPF_RESULT_PASS,
	    .spf_domain = "mail.example.com", .dkim = &dk, .ndkim = 1 };
	struct fuzz_eval_seen seen = { 0, (n & 1) != 0 };

	if (seen.from_error)
		in.from_error = "From not found for sure";
	if (r == NULL) {
		r = dns_mem_new(NULL);
		dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; np=reject");
		dns_mem_add_txt(r, "_dmarc.example", "v=DMARC1; p=reject; psd=y");
		dns_mem_add_txt(r, "_dmarc.sub.example.com", "v=DMARC1; p=none; psd=n");
		dns_mem_set_rcode(r, "_dmarc.slow.example.com", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
		dns_mem_add_addr(r, "mail.example.com", "192.0.2.1");
	}
	dmarc_eval_start(r, NULL, &in, fuzz_eval_done, &seen);
	if (seen.calls != 1)
		abort();
}

/* LLVMFuzzerTestOneInput - first byte picks the parser */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: fuzz_record(p, n); break;
	case 1: fuzz_addr(p, n); break;
	case 2: fuzz_spfhdr(p, n); break;
	default: fuzz_eval(p, n); break;
	}
	return 0;
}
