/*
 * fuzz_dkim.c - libFuzzer target for the DKIM parsers and canonicalisers:
 * the tag=value parser, DKIM-Signature and key record parsing, the header
 * canonicaliser over split fields (relaxed checked against a byte-by-byte
 * reference), the body canonicaliser (checking that any
 * chunk split gives the same canonical bytes as the whole body), and whole
 * messages through the verifier with keys served from memory.
 * The first input byte chooses the target, the second a split point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "dns.h"
#include "msg.h"
#include "tagvalue.h"

static void
fz_collect(void *arg, const char *p, size_t len)
{
	buf_append(arg, p, len);
}

/* fz_body - whole, split and byte-at-a-time canonicalisation must agree */
static void
fz_body(enum dkim_canon c, const char *p, size_t len, size_t cut)
{
	struct dkim_canon_body a, b;
	struct buf wa, wb;

	buf_init(&wa, len * 2 + 16);
	buf_init(&wb, len * 2 + 16);
	dkim_canon_body_init(&a, c, fz_collect, &wa);
	dkim_canon_body_update(&a, p, len);
	dkim_canon_body_final(&a);
	dkim_canon_body_init(&b, c, fz_collect, &wb);
	dkim_canon_body_update(&b, p, cut);
	dkim_canon_body_update(&b, p + cut, len - cut);
	dkim_canon_body_final(&b);
	if (wa.len != wb.len || wa.overflow || (wa.len && memcmp(wa.data, wb.data, wa.len) != 0))
		abort();
	/* byte at a time takes the slow path for every whitespace byte */
	buf_reset(&wb);
	dkim_canon_body_init(&b, c, fz_collect, &wb);
	for (size_t i = 0; i < len; i++)
		dkim_canon_body_update(&b, p + i, 1);
	dkim_canon_body_final(&b);
	if (wa.len != wb.len || (wa.len && memcmp(wa.data, wb.data, wa.len) != 0))
		abort();
	buf_clear(&wa);
	buf_clear(&wb);
}

/*
 * fz_ref_relaxed - RFC 6376 §3.4.2 relaxed header canonicalisation byte by
 * byte: name lower-cased without WSP before the colon; in the value CRLF and
 * lone LF dropped, WSP runs made one SP, WSP at both ends dropped
 */
static void
fz_ref_relaxed(struct span f, struct buf *out)
{
	const char *colon = memchr(f.p, ':', f.len);
	size_t n = (size_t)(colon - f.p), i;
	bool wsp = false, started = false;

	while (n && (f.p[n - 1] == ' ' || f.p[n - 1] == '\t'))
		n--;
	for (i = 0; i < n; i++)
		buf_append_char(out, (char)(f.p[i] >= 'A' && f.p[i] <= 'Z' ?
		    f.p[i] + 32 : f.p[i]));
	buf_append_char(out, ':');
	for (i = (size_t)(colon - f.p) + 1; i < f.len; i++) {
		if (f.p[i] == '\r' && i + 1 < f.len && f.p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (f.p[i] == '\n')
			continue;
		if (f.p[i] == ' ' || f.p[i] == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && started)
			buf_append_char(out, ' ');
		wsp = false;
		started = true;
		buf_append_char(out, f.p[i]);
	}
	buf_append(out, "\r\n", 2);
}

/* fz_header - both canonicalisations of a field; relaxed must match the reference */
static int
fz_header(void *arg, struct span name, struct span field)
{
	struct buf *out = arg, ref;

	(void)name;
	buf_init(&ref, field.len + 3);
	if (dkim_canon_header(DKIM_CANON_RELAXED, field, out) == 0) {
		fz_ref_relaxed(field, &ref);
		if (ref.len != out->len || memcmp(ref.data, out->data, ref.len) != 0)
			abort();
	}
	buf_clear(&ref);
	buf_reset(out);
	dkim_canon_header(DKIM_CANON_SIMPLE, field, out);
	buf_reset(out);
	return 0;
}

/* fz_headers - split into fields at a chunk boundary, canonicalise each */
static void
fz_headers(const char *p, size_t len, size_t cut, unsigned flags)
{
	struct buf out;
	struct msg_callbacks cb = { fz_header, NULL, NULL };
	struct msg_parser *m;

	buf_init(&out, 1 << 20);
	m = msg_parser_new(NULL, flags, &cb, &out);
	if (msg_parser_feed(m, p, cut) == 0 && msg_parser_feed(m, p + cut, len - cut) == 0)
		msg_parser_finish(m);
	msg_parser_free(m);
	buf_clear(&out);
}

/* fz_sig - a DKIM-Signature field */
static void
fz_sig(const char *p, size_t len)
{
	struct buf f;
	struct dkim_sig sig;

	buf_init(&f, len + 32);
	buf_append_str(&f, "DKIM-Signature:");
	buf_append(&f, p, len);
	dkim_sig_parse(&sig, f.data, f.len);
	dkim_sig_clear(&sig);
	buf_clear(&f);
}

/* fz_key - a key record, and its public key */
static void
fz_key(const char *p, size_t len)
{
	struct dkim_keyrec kr;
	const char *why;

	if (dkim_keyrec_parse(p, len, &kr, &why) == 0) {
		EVP_PKEY *k = dkim_keyrec_pkey(&kr, &why);

		EVP_PKEY_free(k);
	}
}

static void
fz_done(void *arg, const struct dkim_sig_result *res, size_t count)
{
	(void)res;
	*(size_t *)arg = count;
}

/* fz_verify - a whole message through the verifier, key served from memory */
static void
fz_verify(const char *p, size_t len, size_t cut, unsigned flags)
{
	static struct dns_resolver *r;
	struct dkim_limits lim;
	struct dkim_verify *v;
	size_t count = 0;

	if (r == NULL) {
		r = dns_mem_new(NULL);
		dns_mem_add_txt(r, "sel._domainkey.example.com",
		    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
		dns_mem_add_txt(r, "rsa._domainkey.example.com", "v=DKIM1; p="
		    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQ"
		    "iY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzo"
		    "xZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	}
	dkim_limits_default(&lim);
	lim.msg_flags = flags;
	v = dkim_verify_new(r, &lim);
	dkim_verify_set_time(v, 1700000000);
	if (dkim_verify_chunk(v, p, cut) == 0 && dkim_verify_chunk(v, p + cut, len - cut) == 0)
		dkim_verify_finish(v, fz_done, &count);
	dkim_verify_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tagvalue_list l;
	const char *p = (const char *)data + 2;
	size_t len, cut;

	if (size < 2)
		return 0;
	len = size - 2;
	cut = len ? data[1] % (len + 1) : 0;
	switch (data[0] % 7) {
	case 0:
		tagvalue_parse(p, len, &l);
		break;
	case 1:
		fz_sig(p, len);
		break;
	case 2:
		fz_key(p, len);
		break;
	case 3:
		fz_body(DKIM_CANON_SIMPLE, p, len, cut);
		break;
	case 4:
		fz_body(DKIM_CANON_RELAXED, p, len, cut);
		break;
	case 5:
		fz_headers(p, len, cut, data[1] & 1 ? MSG_BARE_LF_OK : 0);
		break;
	case 6:
		fz_verify(p, len, cut, data[1] & 1 ? MSG_BARE_LF_OK : 0);
		break;
	}
	return 0;
}
