/*
 * fuzz_arc.c - libFuzzer target for ARC (RFC 8617): the ARC-Authentication-
 * Results and ARC-Seal parsers, and whole messages through chain validation
 * with the ValiMail suite's key served from memory.
 *
 * Invariants checked on every verdict:
 *  - pass only when the message's ARC fields are exactly one AAR, AMS and AS
 *    for each instance 1..N (counted here from the raw header section);
 *  - none only when the message has no ARC field at all;
 *  - never pass after a limit or a temporary DNS error; oldest-pass <= N.
 *  - sealing a message without ARC fields gives a set that validates:
 *    pass with one set (the sealer and the verifier agree on every message).
 * The first input byte chooses the target, the second a split point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc_int.h"
#include "dkim.h"
#include "dns.h"
#include "msg.h"

/* What the raw header section holds, counted independently of the verifier. */
struct fz_census {
	unsigned fields;			/* ARC fields */
	unsigned bad;				/* ARC fields without a usable instance */
	unsigned count[ARC_SET_LIMIT + 1][ARC_FIELD_COUNT];
	unsigned max;
};

/* fz_instance - the instance of an ARC field, or 0 */
static unsigned
fz_instance(enum arc_field k, const char *p, size_t len)
{
	unsigned i = 0;

	if (k == ARC_FIELD_AAR) {
		struct arc_aar a;

		if (arc_aar_parse(&a, p, len) == 0)
			i = a.instance;
		arc_aar_clear(&a);
	} else if (k == ARC_FIELD_AS) {
		struct arc_seal s;

		if (arc_seal_parse(&s, p, len) == 0)
			i = s.instance;
		arc_seal_clear(&s);
	} else {
		struct dkim_sig s;

		if (dkim_sig_parse_kind(&s, p, len, DKIM_SIG_KIND_AMS) == 0)
			i = s.instance;
		dkim_sig_clear(&s);
	}
	return i;
}

/* fz_census_header - msg callback: count one field */
static int
fz_census_header(void *arg, struct span name, struct span field)
{
	struct fz_census *c = arg;
	enum arc_field k = arc_field_kind(field.p, field.len);
	unsigned i;

	(void)name;
	if (k == ARC_FIELD_OTHER)
		return 0;
	c->fields++;
	if ((i = fz_instance(k, field.p, field.len)) == 0) {
		c->bad++;
		return 0;
	}
	c->count[i][k]++;
	if (i > c->max)
		c->max = i;
	return 0;
}

/* fz_census_contiguous - one of each kind for every instance 1..max, nothing else */
static bool
fz_census_contiguous(const struct fz_census *c)
{
	if (c->bad || c->max == 0 || c->fields != ARC_FIELD_COUNT * c->max)
		return false;
	for (unsigned i = 1; i <= c->max; i++)
		for (int k = 0; k < ARC_FIELD_COUNT; k++)
			if (c->count[i][k] != 1)
				return false;
	return true;
}

struct fz_out {
	int calls;
	struct arc_result res;
};

/* fz_done - the verdict */
static void
fz_done(void *arg, const struct arc_result *res)
{
	struct fz_out *o = arg;

	o->calls++;
	o->res = *res;
}

/* fz_check - the invariants against the census */
static void
fz_check(const struct fz_out *o, const struct fz_census *c)
{
	if (o->calls != 1)
		abort();
	if (o->res.cv == ARC_CV_PASS && (!fz_census_contiguous(c) || o->res.sets != c->max ||
	    o->res.limit || o->res.temporary || o->res.oldest_pass > o->res.sets))
		abort();
	if (o->res.cv == ARC_CV_NONE && c->fields != 0)
		abort();
	if (o->res.cv != ARC_CV_NONE && c->fields == 0)
		abort();
}

/* fz_resolver - the suite's key (1024-bit RSA, RFC 8463 Appendix A) */
static struct dns_resolver *
fz_resolver(void)
{
	static struct dns_resolver *r;

	if (r == NULL) {
		r = dns_mem_new(NULL);
		dns_mem_add_txt(r, "dummy._domainkey.example.org", "v=DKIM1; k=rsa; p="
		    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQ"
		    "iY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzo"
		    "xZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
	}
	return r;
}

/* fz_verify - a whole message through the verifier, split at cut */
static void
fz_verify(const char *p, size_t len, size_t cut, unsigned flags)
{
	static const struct msg_callbacks census_cb = { fz_census_header, NULL, NULL };
	struct fz_census *c = calloc(1, sizeof(*c));
	struct arc_limits lim;
	struct arc_verify *v;
	struct msg_parser *m;
	struct fz_out o = { 0 };
	int ok;

	arc_limits_default(&lim);
	lim.msg_flags = flags;
	v = arc_verify_new(fz_resolver(), &lim);
	ok = arc_verify_chunk(v, p, cut) == 0 && arc_verify_chunk(v, p + cut, len - cut) == 0 &&
	    arc_verify_finish(v, fz_done, &o) == 0;
	if (ok) {
		m = msg_parser_new(&lim.msg, flags, &census_cb, c);
		if (msg_parser_feed(m, p, len) < 0 || msg_parser_finish(m) < 0)
			abort();	/* the verifier took what the splitter refuses */
		msg_parser_free(m);
		fz_check(&o, c);
	}
	arc_verify_free(v);
	free(c);
}

/* fz_key - the suite's private key (RFC 8463 Appendix A), parsed once */
static EVP_PKEY *
fz_key(void)
{
	static EVP_PKEY *k;
	static const char pem[] =
	    "-----BEGIN RSA PRIVATE KEY-----\n"
	    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
	    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
	    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
	    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
	    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
	    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
	    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
	    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
	    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
	    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
	    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
	    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
	    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
	    "-----END RSA PRIVATE KEY-----\n";

	if (k == NULL)
		k = dkim_key_parse_private((struct span){ pem, sizeof(pem) - 1 });
	return k;
}

/* fz_seal - seal p (no ARC fields in it) as example.org/dummy and validate the result */
static void
fz_seal(const char *p, size_t len)
{
	static const struct msg_callbacks census_cb = { fz_census_header, NULL, NULL };
	struct fz_census *c = calloc(1, sizeof(*c));
	struct msg_parser *m = msg_parser_new(NULL, 0, &census_cb, c);
	struct arc_sign_config sc;
	struct arc_sign *s;
	struct fz_out o = { 0 };
	struct arc_verify *v;
	const char *err;
	char *set = NULL;
	struct buf out;

	if (msg_parser_feed(m, p, len) < 0 || msg_parser_finish(m) < 0 || c->fields) {
		msg_parser_free(m);
		free(c);
		return;
	}
	msg_parser_free(m);
	free(c);
	arc_sign_config_default(&sc);
	sc.key = fz_key();
	sc.domain = "example.org";
	sc.selector = "dummy";
	sc.timestamp = 1700000000;
	if ((s = arc_sign_new(&sc, &err)) == NULL)
		abort();
	if (arc_sign_chunk(s, p, len) == 0)
		set = arc_sign_finish(s, ARC_CV_NONE, "mx.example.org; none", &err);
	arc_sign_free(s);
	if (set == NULL)
		return;
	buf_init(&out, len + strlen(set) + 1);
	buf_append_str(&out, set);
	buf_append(&out, p, len);
	v = arc_verify_new(fz_resolver(), NULL);
	/* our set on top of a message the splitter took: it must take it again and pass */
	if (arc_verify_chunk(v, out.data, out.len) < 0 || arc_verify_finish(v, fz_done, &o) < 0 ||
	    o.calls != 1 || o.res.cv != ARC_CV_PASS || o.res.sets != 1)
		abort();
	arc_verify_free(v);
	buf_clear(&out);
	free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 2;
	size_t len, cut;
	struct arc_aar aar;
	struct arc_seal seal;

	if (size < 2)
		return 0;
	len = size - 2;
	cut = len ? data[1] % (len + 1) : 0;
	switch (data[0] % 4) {
	case 0:
		arc_aar_parse(&aar, p, len);
		arc_aar_clear(&aar);
		break;
	case 1:
		arc_seal_parse(&seal, p, len);
		arc_seal_clear(&seal);
		break;
	case 2:
		fz_verify(p, len, cut, data[1] & 1 ? MSG_BARE_LF_OK : 0);
		break;
	case 3:
		fz_seal(p, len);
		break;
	}
	return 0;
}
