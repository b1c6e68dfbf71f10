/*
 * test_dkim_sig.c - DKIM-Signature parsing (RFC 6376 §3.5, §6.1.1), key
 * records (§3.6.1), and the header signing input (§3.7, bottom-up selection,
 * §5.4.2 oversigning) checked against the published RFC signing inputs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "test_dkim_util.h"

#define SIG_HEAD "DKIM-Signature: "
#define BH "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; "
#define BV "b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB"

struct sig_case {
	const char *name;
	const char *field;
	const char *error;	/* NULL: parses */
};

static const struct sig_case sig_cases[] = {
	{ "minimal_valid", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV "\r\n", NULL },
	{ "folded_b_and_unknown_tags", SIG_HEAD "v=1; a=ed25519-sha256; d=example.com; s=sel;\r\n"
	  " h=From : To; z=From:a|To:b; foo=bar; " BH "b=AuUo\r\n FEfD xTDk\r\n", NULL },
	{ "missing_v", SIG_HEAD "a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "missing required tag v=" },
	{ "missing_a", SIG_HEAD "v=1; d=example.com; s=sel; h=from; " BH BV, "missing required tag a=" },
	{ "missing_b", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH, "missing required tag b=" },
	{ "missing_bh", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BV, "missing required tag bh=" },
	{ "missing_d", SIG_HEAD "v=1; a=rsa-sha256; s=sel; h=from; " BH BV, "missing required tag d=" },
	{ "missing_h", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; " BH BV, "missing required tag h=" },
	{ "missing_s", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; h=from; " BH BV, "missing required tag s=" },
	{ "duplicate_tag", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; d=example.net; s=sel; h=from; " BH BV, "duplicate tag" },
	{ "version_2", SIG_HEAD "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "unsupported DKIM-Signature version (v=)" },
	{ "unknown_algorithm", SIG_HEAD "v=1; a=rsa-md5; d=example.com; s=sel; h=from; " BH BV, "unsupported signature algorithm (a=)" },
	{ "unknown_canon", SIG_HEAD "v=1; a=rsa-sha256; c=nowsp; d=example.com; s=sel; h=from; " BH BV, "unknown canonicalization (c=)" },
	{ "from_not_signed", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=to:subject; " BH BV, "From field not signed (h=)" },
	{ "empty_h_name", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; " BH BV, "empty header name in h=" },
	{ "identity_other_domain", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; i=u@example.net; s=sel; h=from; " BH BV, "i= domain is not d= or a subdomain of it" },
	{ "identity_suffix_not_subdomain", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; i=u@badexample.com; s=sel; h=from; " BH BV, "i= domain is not d= or a subdomain of it" },
	{ "identity_subdomain_ok", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; i=u@mail.Example.COM; s=sel; h=from; " BH BV, NULL },
	{ "identity_without_at", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; i=example.com; s=sel; h=from; " BH BV, "i= has no @domain" },
	{ "length_not_number", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; l=12a; s=sel; h=from; " BH BV, "l= is not a number" },
	{ "query_method_unknown", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; q=http/well-known; s=sel; h=from; " BH BV, "unsupported key query method (q=)" },
	{ "timestamp_not_number", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; t=soon; s=sel; h=from; " BH BV, "t= or x= is not a timestamp" },
	{ "expiry_before_timestamp", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; t=200; x=100; s=sel; h=from; " BH BV, "x= is before t=" },
	{ "bad_base64_b", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH "b=ab*cd", "b= is not valid base64 or is empty" },
	{ "empty_b", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH "b=", "b= is not valid base64 or is empty" },
	{ "bad_domain", SIG_HEAD "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; " BH BV, "invalid signing domain (d=)" },
	{ "domain_with_empty_label", SIG_HEAD "v=1; a=rsa-sha256; d=example..com; s=sel; h=from; " BH BV, "invalid signing domain (d=)" },
	{ "selector_with_slash", SIG_HEAD "v=1; a=rsa-sha256; d=example.com; s=a/b; h=from; " BH BV, "invalid selector (s=)" },
	{ "tag_syntax", SIG_HEAD "v=1; a=rsa-sha256;; d=example.com; s=sel; h=from; " BH BV, "empty tag-spec" },
};

START_TEST(dkim_sig_parse_cases)
{
	const struct sig_case *c = &sig_cases[_i];
	struct dkim_sig sig;
	int rc = dkim_sig_parse(&sig, c->field, strlen(c->field));

	if (c->error == NULL) {
		ck_assert_msg(rc == 0, "%s: %s", c->name, sig.error);
	} else {
		ck_assert_msg(rc == -1, "%s parsed", c->name);
		ck_assert_msg(strcmp(sig.error, c->error) == 0, "%s: %s", c->name, sig.error);
	}
	dkim_sig_clear(&sig);
}
END_TEST

#define AMS_HEAD "ARC-Message-Signature: "

/* ARC-Message-Signature through the same parser (RFC 8617 §4.1.2). */
static const struct sig_case ams_cases[] = {
	{ "ams_minimal_valid", AMS_HEAD "i=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, NULL },
	{ "ams_instance_50", AMS_HEAD "i=50; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, NULL },
	{ "ams_v_ignored", AMS_HEAD "v=9; i=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, NULL },
	{ "ams_missing_i", AMS_HEAD "a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "missing required tag i=" },
	{ "ams_instance_zero", AMS_HEAD "i=0; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "invalid ARC instance (i=)" },
	{ "ams_instance_51", AMS_HEAD "i=51; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "invalid ARC instance (i=)" },
	{ "ams_instance_empty", AMS_HEAD "i=; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "invalid ARC instance (i=)" },
	{ "ams_instance_identity", AMS_HEAD "i=@example.com; a=rsa-sha256; d=example.com; s=sel; h=from; " BH BV, "invalid ARC instance (i=)" },
	{ "ams_signs_arc_seal", AMS_HEAD "i=1; a=rsa-sha256; d=example.com; s=sel; h=from:ARC-Seal; " BH BV, "ARC-Seal is signed by the AMS (h=)" },
};

START_TEST(dkim_sig_parse_ams_cases)
{
	const struct sig_case *c = &ams_cases[_i];
	struct dkim_sig sig;
	int rc = dkim_sig_parse_kind(&sig, c->field, strlen(c->field), DKIM_SIG_KIND_AMS);

	if (c->error == NULL) {
		ck_assert_msg(rc == 0, "%s: %s", c->name, sig.error);
		ck_assert_uint_ge(sig.instance, 1);
		ck_assert_ptr_null(sig.i);
	} else {
		ck_assert_msg(rc == -1, "%s parsed", c->name);
		ck_assert_msg(strcmp(sig.error, c->error) == 0, "%s: %s", c->name, sig.error);
	}
	dkim_sig_clear(&sig);
}
END_TEST

START_TEST(dkim_sig_parse_reports_fields)
{
	const char *f = SIG_HEAD "v=1; a=ed25519-sha256; c=relaxed; d=Example.COM; s=sel;\r\n"
	    " h=From : To : from; l=1234; t=100; x=200; " BH "b=AuUo\r\n FEfD xTDk\r\n";
	struct dkim_sig sig;

	ck_assert_int_eq(dkim_sig_parse(&sig, f, strlen(f)), 0);
	ck_assert_int_eq(sig.alg, DKIM_ALG_ED25519_SHA256);
	ck_assert_int_eq(sig.hcanon, DKIM_CANON_RELAXED);
	ck_assert_int_eq(sig.bcanon, DKIM_CANON_SIMPLE);
	ck_assert_str_eq(sig.d, "example.com");
	ck_assert_str_eq(sig.i, "@example.com");
	ck_assert_uint_eq(sig.nh, 3);
	ck_assert(span_eq_ci(sig.h[1], "to"));
	ck_assert(sig.has_l);
	ck_assert_uint_eq(sig.l, 1234);
	ck_assert_int_eq(sig.t, 100);
	ck_assert_int_eq(sig.x, 200);
	ck_assert_str_eq(sig.b_prefix, "AuUoFEfD");
	ck_assert_uint_eq(sig.bhlen, 32);
	/* the raw b= value runs to the end of the field, folding included */
	ck_assert_uint_eq(sig.b_raw_off + sig.b_raw_len, strlen(f));
	dkim_sig_clear(&sig);
}
END_TEST

struct keyrec_case {
	const char *name;
	const char *rec;
	int rc;
	bool revoked, testing, strict, sha256_ok, email_ok;
};

static const struct keyrec_case keyrec_cases[] = {
	{ "plain", "v=DKIM1; k=rsa; p=abcd", 0, false, false, false, true, true },
	{ "no_version", "p=abcd", 0, false, false, false, true, true },
	{ "revoked", "v=DKIM1; p=", 0, true, false, false, true, true },
	{ "testing_and_strict", "v=DKIM1; t=y:s; p=abcd", 0, false, true, true, true, true },
	{ "unknown_flag_ignored", "v=DKIM1; t=q; p=abcd", 0, false, false, false, true, true },
	{ "sha1_only", "v=DKIM1; h=sha1; p=abcd", 0, false, false, false, false, true },
	{ "sha256_listed", "v=DKIM1; h=sha1 : sha256; p=abcd", 0, false, false, false, true, true },
	{ "service_email", "v=DKIM1; s=email; p=abcd", 0, false, false, false, true, true },
	{ "service_star", "v=DKIM1; s=*; p=abcd", 0, false, false, false, true, true },
	{ "service_other", "v=DKIM1; s=other; p=abcd", 0, false, false, false, true, false },
	{ "no_p", "v=DKIM1; k=rsa", -1, false, false, false, false, false },
	{ "version_2", "v=DKIM2; p=abcd", -1, false, false, false, false, false },
	{ "syntax_error", "v=DKIM1; p", -1, false, false, false, false, false },
};

START_TEST(dkim_keyrec_parse_cases)
{
	const struct keyrec_case *c = &keyrec_cases[_i];
	struct dkim_keyrec kr;
	const char *why = NULL;
	int rc = dkim_keyrec_parse(c->rec, strlen(c->rec), &kr, &why);

	ck_assert_msg(rc == c->rc, "%s: rc %d (%s)", c->name, rc, why ? why : "");
	if (rc < 0) {
		ck_assert_ptr_nonnull(why);
		return;
	}
	ck_assert_int_eq(kr.revoked, c->revoked);
	ck_assert_int_eq(kr.testing, c->testing);
	ck_assert_int_eq(kr.strict, c->strict);
	ck_assert_int_eq(kr.hash_sha256_ok, c->sha256_ok);
	ck_assert_int_eq(kr.service_email_ok, c->email_ok);
}
END_TEST

START_TEST(dkim_keyrec_pkey_errors)
{
	struct dkim_keyrec kr;
	const char *why;
	static const struct {
		const char *rec, *why;
	} kc[] = {
		{ "v=DKIM1; p=", "key revoked (empty p=)" },
		{ "v=DKIM1; p=!!!", "key record p= is not valid base64" },
		{ "v=DKIM1; p=aGVsbG8=", "key record p= is not a valid public key" },
		{ "v=DKIM1; k=ed25519; p=aGVsbG8=", "key record p= is not a valid public key" },
		{ "v=DKIM1; k=dsa; p=aGVsbG8=", "unknown key type (k=)" },
	};

	for (size_t i = 0; i < ARRAY_LEN(kc); i++) {
		ck_assert_int_eq(dkim_keyrec_parse(kc[i].rec, strlen(kc[i].rec), &kr, &why), 0);
		why = NULL;
		ck_assert_ptr_null(dkim_keyrec_pkey(&kr, &why));
		ck_assert_msg(why && strcmp(why, kc[i].why) == 0, "%s: %s", kc[i].rec, why);
	}
}
END_TEST

#define RFC8463_RSA_SPKI "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define RFC8463_RSA_PKCS1 "MIGJAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW60AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6X8rjDdAgMBAAE="

/* keyrec_key - the public key of a record text, or NULL */
static EVP_PKEY *
keyrec_key(const char *rec)
{
	struct dkim_keyrec kr;
	const char *why;

	ck_assert_int_eq(dkim_keyrec_parse(rec, strlen(rec), &kr, &why), 0);
	return dkim_keyrec_pkey(&kr, &why);
}

START_TEST(dkim_keyrec_rsa_spki_and_pkcs1_give_the_same_key)
{
	EVP_PKEY *a = keyrec_key("v=DKIM1; p=" RFC8463_RSA_SPKI);
	EVP_PKEY *b = keyrec_key("v=DKIM1; k=rsa; p=" RFC8463_RSA_PKCS1);
	EVP_PKEY *ed = keyrec_key("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(ed);
	ck_assert(EVP_PKEY_is_a(a, "RSA"));
	ck_assert_int_eq(EVP_PKEY_get_bits(a), 1024);
	ck_assert(dkim_key_matches(a, b));
	ck_assert(!dkim_key_matches(a, ed));
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(ed);
}
END_TEST

/* ed_record - a k=ed25519 record for the raw public key made from seed byte b */
static void
ed_record(unsigned char b, char *rec, size_t size, EVP_PKEY **priv)
{
	unsigned char seed[32], pub[32];
	size_t publen = sizeof(pub);
	struct buf b64;

	memset(seed, b, sizeof(seed));
	*priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	ck_assert_ptr_nonnull(*priv);
	ck_assert_int_eq(EVP_PKEY_get_raw_public_key(*priv, pub, &publen), 1);
	buf_init(&b64, 128);
	ck_assert_int_eq(dkim_b64_encode(pub, publen, &b64), 0);
	snprintf(rec, size, "v=DKIM1; k=ed25519; p=%s", buf_cstr(&b64));
	buf_clear(&b64);
}

/*
 * Keys of records seen before come from the cache: the same key object with
 * a reference of the caller's own, told apart by key type, and still right
 * after more distinct records than the cache holds have pushed them out.
 */
START_TEST(dkim_keyrec_pkey_cache)
{
	char rec[256];
	EVP_PKEY *priv[DKIM_KEY_CACHE_SIZE + 8], *first, *again;

	first = keyrec_key("v=DKIM1; p=" RFC8463_RSA_SPKI);
	again = keyrec_key("v=DKIM1; p=" RFC8463_RSA_SPKI);
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_eq(first, again);		/* shared, one reference each */
	EVP_PKEY_free(first);
	ck_assert_int_eq(EVP_PKEY_get_bits(again), 1024);
	EVP_PKEY_free(again);
	/* the same p= under k=ed25519 is another key (here: not a valid one) */
	ck_assert_ptr_null(keyrec_key("v=DKIM1; k=ed25519; p=" RFC8463_RSA_SPKI));
	for (size_t i = 0; i < ARRAY_LEN(priv); i++) {
		EVP_PKEY *k;

		ed_record((unsigned char)(i + 1), rec, sizeof(rec), &priv[i]);
		k = keyrec_key(rec);
		ck_assert_msg(k && dkim_key_matches(k, priv[i]), "key %zu", i);
		EVP_PKEY_free(k);
	}
	/* the first ones were replaced: decoded again, still the right keys */
	for (size_t i = 0; i < ARRAY_LEN(priv); i++) {
		EVP_PKEY *k;

		ed_record((unsigned char)(i + 1), rec, sizeof(rec), &first);
		EVP_PKEY_free(first);
		k = keyrec_key(rec);
		ck_assert_msg(k && dkim_key_matches(k, priv[i]), "key %zu again", i);
		ck_assert(!dkim_key_matches(k, priv[(i + 1) % ARRAY_LEN(priv)]));
		EVP_PKEY_free(k);
		EVP_PKEY_free(priv[i]);
	}
	dkim_keycache_clear();
}
END_TEST

START_TEST(dkim_keyrec_truncated_or_padded_der_refused)
{
	char rec[512];
	unsigned char der[512];
	struct buf b64;
	long n = dkim_b64_decode(SPAN_LIT(RFC8463_RSA_SPKI), der, sizeof(der));

	ck_assert_int_gt(n, 0);
	/* every truncation of the DER must be refused, never read past the end */
	for (long cut = 0; cut < n; cut += 7) {
		buf_init(&b64, 1024);
		dkim_b64_encode(der, (size_t)cut, &b64);
		snprintf(rec, sizeof(rec), "v=DKIM1; p=%s", cut ? buf_cstr(&b64) : "AA==");
		ck_assert_msg(keyrec_key(rec) == NULL, "cut %ld accepted", cut);
		buf_clear(&b64);
	}
	/* trailing garbage after the SPKI */
	der[n] = 0;
	buf_init(&b64, 1024);
	dkim_b64_encode(der, (size_t)n + 1, &b64);
	snprintf(rec, sizeof(rec), "v=DKIM1; p=%s", buf_cstr(&b64));
	ck_assert_ptr_null(keyrec_key(rec));
	buf_clear(&b64);
}
END_TEST

/* ---- header selection ---- */

struct store_ctx {
	struct dkim_hdrs *hs;
	int sig_seen;		/* which DKIM-Signature to keep */
	int want;
	char *sig;
	size_t sig_len;
};

static int
store_field(void *arg, struct span name, struct span field)
{
	struct store_ctx *s = arg;

	dkim_hdrs_add(s->hs, field.p, field.len, name.len);
	if (span_eq_ci(name, "DKIM-Signature") && s->sig_seen++ == s->want) {
		s->sig = xmemdup0(field.p, field.len);
		s->sig_len = field.len;
	}
	return 0;
}

struct input_case {
	const char *msg;
	int sig;
	const char *expected;
};

static const struct input_case input_cases[] = {
	{ "rfc8463/signed.eml", 0, "rfc8463/expected.brisbane-ed25519.signing-input" },
	{ "rfc8463/signed.eml", 1, "rfc8463/expected.test-rsa.signing-input" },
	{ "rfc6376/A.2-signed.eml", 0, "rfc6376/expected.brisbane-rsa.signing-input" },
	{ "rfc6376/A.3-verified.eml", 0, "rfc6376/expected.brisbane-rsa.signing-input" },
};

START_TEST(dkim_hdr_signing_input_matches_published)
{
	const struct input_case *c = &input_cases[_i];
	struct dkim_hdrs hs = { 0 };
	struct store_ctx st = { &hs, 0, c->sig, NULL, 0 };
	struct msg_callbacks cb = { store_field, NULL, NULL };
	struct msg_parser *m = msg_parser_new(NULL, 0, &cb, &st);
	struct dkim_sig sig;
	struct buf in;
	size_t len, wlen;
	char *msg = td_read(c->msg, &len);
	char *want = td_read(c->expected, &wlen);

	ck_assert_int_eq(msg_parser_feed(m, msg, len), 0);
	ck_assert_int_eq(msg_parser_finish(m), 0);
	ck_assert_ptr_nonnull(st.sig);
	ck_assert_int_eq(dkim_sig_parse(&sig, st.sig, st.sig_len), 0);
	buf_init(&in, 1 << 20);
	ck_assert_int_eq(dkim_hdr_signing_input(&hs, sig.h, sig.nh, sig.hcanon,
	    (struct span){ sig.field, sig.field_len }, sig.b_raw_off, sig.b_raw_len, &in), 0);
	ck_assert_msg(in.len == wlen && memcmp(in.data, want, wlen) == 0,
	    "%s: got\n%s", c->expected, buf_cstr(&in));
	buf_clear(&in);
	dkim_sig_clear(&sig);
	free(st.sig);
	dkim_hdrs_clear(&hs);
	msg_parser_free(m);
	free(msg);
	free(want);
}
END_TEST

START_TEST(dkim_hdr_selection_bottom_up_and_oversigned)
{
	static const char *const fields[] = {
		"A: first\r\n", "B: only\r\n", "a: second\r\n", "C: x\r\n",
	};
	struct dkim_hdrs hs = { 0 };
	struct span names[] = { SPAN_LIT("a"), SPAN_LIT("A"), SPAN_LIT("a"), SPAN_LIT("b"),
	    SPAN_LIT("missing") };
	struct buf in;
	const char *sigf = "X-Sig: b=zzz; c=1\r\n";

	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		dkim_hdrs_add(&hs, fields[i], strlen(fields[i]),
		    dkim_hdr_name_len(fields[i], strlen(fields[i])));
	ck_assert_uint_eq(dkim_hdrs_count(&hs, SPAN_LIT("A")), 2);
	buf_init(&in, 4096);
	/* b= raw value "zzz" at offset 9, length 3 */
	ck_assert_int_eq(dkim_hdr_signing_input(&hs, names, ARRAY_LEN(names), DKIM_CANON_RELAXED,
	    span_from_cstr(sigf), 9, 3, &in), 0);
	ck_assert_str_eq(buf_cstr(&in), "a:second\r\na:first\r\nb:only\r\nx-sig:b=; c=1");
	buf_reset(&in);
	ck_assert_int_eq(dkim_hdr_signing_input(&hs, names, 1, DKIM_CANON_SIMPLE,
	    span_from_cstr(sigf), 9, 3, &in), 0);
	ck_assert_str_eq(buf_cstr(&in), "a: second\r\nX-Sig: b=; c=1");
	buf_clear(&in);
	dkim_hdrs_clear(&hs);
}
END_TEST

static Suite *
dkim_sig_suite(void)
{
	Suite *s = suite_create("dkim_sig");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dkim_sig_parse_cases, 0, (int)ARRAY_LEN(sig_cases));
	tcase_add_loop_test(tc, dkim_sig_parse_ams_cases, 0, (int)ARRAY_LEN(ams_cases));
	tcase_add_test(tc, dkim_sig_parse_reports_fields);
	tcase_add_loop_test(tc, dkim_keyrec_parse_cases, 0, (int)ARRAY_LEN(keyrec_cases));
	tcase_add_test(tc, dkim_keyrec_pkey_errors);
	tcase_add_test(tc, dkim_keyrec_rsa_spki_and_pkcs1_give_the_same_key);
	tcase_add_test(tc, dkim_keyrec_pkey_cache);
	tcase_add_test(tc, dkim_keyrec_truncated_or_padded_der_refused);
	tcase_add_loop_test(tc, dkim_hdr_signing_input_matches_published, 0,
	    (int)ARRAY_LEN(input_cases));
	tcase_add_test(tc, dkim_hdr_selection_bottom_up_and_oversigned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_sig_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
