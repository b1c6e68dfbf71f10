/*
 * test_dkim_sign.c - DKIM signing: the RFC 8463 signatures reproduced byte
 * for byte, sign-then-verify round trips over awkward messages in every
 * canonicalisation, oversigning modes, x=, chunking, and the key file checks.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "dkim_int.h"
#include "test_dkim_util.h"

#define RFC8463_T	1528637909

/* load_pem - a private key from shared data, without the permission check */
static EVP_PKEY *
load_pem(const char *rel)
{
	char path[4096];
	FILE *fp;
	EVP_PKEY *k;

	td_path(rel, path, sizeof(path));
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	ck_assert_ptr_nonnull(k);
	return k;
}

/* rfc8463_unsigned - the RFC 8463 message without its two signatures */
static char *
rfc8463_unsigned(size_t *len)
{
	size_t n;
	char *msg = td_read("rfc8463/signed.eml", &n);
	char *from = strstr(msg, "\r\nFrom: ") + 2;
	char *out;

	*len = n - (size_t)(from - msg);
	out = xmemdup0(from, *len);
	free(msg);
	return out;
}

/* published_sig - the n-th DKIM-Signature field of the RFC 8463 message, parsed */
static void
published_sig(unsigned n, struct dkim_sig *sig)
{
	size_t len;
	char *msg = td_read("rfc8463/signed.eml", &len);
	char *p = msg, *end;

	for (unsigned i = 0; i <= n; i++)
		p = strstr(i ? p + 1 : p, "DKIM-Signature:");
	end = strstr(p + 1, "\r\n");
	while (end[2] == ' ' || end[2] == '\t')
		end = strstr(end + 2, "\r\n");
	ck_assert_int_eq(dkim_sig_parse(sig, p, (size_t)(end + 2 - p)), 0);
	free(msg);
}

static const char *const rfc8463_headers[] = {
	"from", "to", "subject", "date", "message-id", NULL,
};
static const char *const rfc8463_oversign[] = { "from", "subject", "date", NULL };

/* rfc8463_config - the parameters the RFC 8463 signer used */
static void
rfc8463_config(struct dkim_sign_config *c, EVP_PKEY *key, enum dkim_alg alg,
    const char *selector)
{
	dkim_sign_config_default(c);
	c->key = key;
	c->alg = alg;
	c->domain = "football.example.com";
	c->selector = selector;
	c->identity = "@football.example.com";
	c->headers = rfc8463_headers;
	c->oversign = rfc8463_oversign;
	c->oversign_mode = DKIM_OVERSIGN_ALWAYS;
	c->timestamp = RFC8463_T;
}

/* sign_msg - sign msg in chunks of step bytes (0: whole); the field, or NULL */
static char *
sign_msg(const struct dkim_sign_config *c, const char *msg, size_t len, size_t step)
{
	const char *err = NULL;
	struct dkim_sign *s = dkim_sign_new(c, &err);
	char *field;

	ck_assert_msg(s != NULL, "dkim_sign_new: %s", err);
	if (step == 0)
		step = len ? len : 1;
	for (size_t off = 0; off < len; off += step)
		ck_assert_int_eq(dkim_sign_chunk(s, msg + off, len - off < step ? len - off : step), 0);
	field = dkim_sign_finish(s, &err);
	ck_assert_msg(field != NULL, "dkim_sign_finish: %s", err);
	dkim_sign_free(s);
	return field;
}

struct repro_case {
	const char *name;
	const char *key;
	enum dkim_alg alg;
	const char *selector;
	unsigned published;	/* index of the published signature */
};

static const struct repro_case repro_cases[] = {
	{ "ed25519_brisbane", "rfc8463/ed25519.key.pem", DKIM_ALG_ED25519_SHA256, "brisbane", 0 },
	{ "rsa_test", "rfc8463/rsa.key.pem", DKIM_ALG_RSA_SHA256, "test", 1 },
};

START_TEST(dkim_sign_reproduces_rfc8463_b_exactly)
{
	const struct repro_case *rc = &repro_cases[_i];
	EVP_PKEY *key = load_pem(rc->key);
	struct dkim_sign_config c;
	struct dkim_sig ours, theirs;
	size_t len;
	char *msg = rfc8463_unsigned(&len);
	char *field;

	rfc8463_config(&c, key, rc->alg, rc->selector);
	field = sign_msg(&c, msg, len, 0);
	ck_assert_int_eq(dkim_sig_parse(&ours, field, strlen(field)), 0);
	published_sig(rc->published, &theirs);
	ck_assert_uint_eq(ours.bhlen, theirs.bhlen);
	ck_assert(memcmp(ours.bh, theirs.bh, ours.bhlen) == 0);
	ck_assert_uint_eq(ours.blen, theirs.blen);
	ck_assert_msg(memcmp(ours.b, theirs.b, ours.blen) == 0, "%s: b= differs:\n%s",
	    rc->name, field);
	ck_assert_str_eq(ours.b_prefix, theirs.b_prefix);
	dkim_sig_clear(&ours);
	dkim_sig_clear(&theirs);
	free(field);
	free(msg);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(dkim_sign_field_is_folded_and_lists_tags_in_order)
{
	EVP_PKEY *key = load_pem("rfc8463/ed25519.key.pem");
	struct dkim_sign_config c;
	size_t len;
	char *msg = rfc8463_unsigned(&len);
	char *field;
	const char *p, *line;

	rfc8463_config(&c, key, DKIM_ALG_ED25519_SHA256, "brisbane");
	field = sign_msg(&c, msg, len, 0);
	ck_assert(strncmp(field, "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;", 57) == 0);
	ck_assert(strstr(field, "h=from : to :") != NULL || strstr(field, "h=from :\r\n to") != NULL);
	ck_assert(strstr(field, "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;") != NULL);
	len = strlen(field);
	ck_assert(len > 2 && field[len - 2] == '\r' && field[len - 1] == '\n');
	for (line = field; (p = strstr(line, "\r\n")) != NULL; line = p + 2) {
		ck_assert_msg(p - line <= 78, "line longer than 78: %.*s", (int)(p - line), line);
		if (p[2])
			ck_assert(p[2] == ' ');
	}
	free(field);
	free(msg);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(dkim_sign_same_field_for_every_split)
{
	EVP_PKEY *key = load_pem("rfc8463/ed25519.key.pem");
	struct dkim_sign_config c;
	size_t len;
	char *msg = rfc8463_unsigned(&len);
	char *whole;

	rfc8463_config(&c, key, DKIM_ALG_ED25519_SHA256, "brisbane");
	whole = sign_msg(&c, msg, len, 0);
	for (size_t step = 1; step <= len; step++) {
		char *f = sign_msg(&c, msg, len, step);

		ck_assert_msg(strcmp(f, whole) == 0, "step %zu", step);
		free(f);
	}
	free(whole);
	free(msg);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- round trips ---- */

static const char *const rt_msgs[] = {
	/* plain */
	"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhello\r\n",
	/* empty body */
	"From: a@example.org\r\nSubject: empty\r\n\r\n",
	/* no empty line at all */
	"From: a@example.org\r\nSubject: no body\r\n",
	/* body without final CRLF */
	"From: a@example.org\r\n\r\nno final newline",
	/* trailing blank lines and whitespace-only lines */
	"From: a@example.org\r\n\r\nx\r\n\r\n  \r\n\t\r\n\r\n",
	/* folded and repeated headers */
	"Received: from a\r\n\tby b\r\nReceived: from c\r\n by d\r\nFrom: a@example.org\r\n"
	"Subject: folded\r\n  subject\r\nTo: x@example.net,\r\n\ty@example.net\r\n\r\nbody\r\n",
	/* 8-bit content, lone CR and LF in the body, long whitespace runs */
	"From: \xc3\xa9t\xc3\xa9 <a@example.org>\r\nSubject: =?utf-8?q?x?=\r\n\r\n"
	"caf\xc3\xa9 \t  au   lait\r\nlone\rcr and lone\nlf\r\n\r\n",
	/* MIME */
	"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 8bit\r\n\r\nhello\r\n",
};

struct rt_key {
	const char *file;
	enum dkim_alg alg;
};

static const struct rt_key rt_keys[] = {
	{ "rfc8463/ed25519.key.pem", DKIM_ALG_ED25519_SHA256 },
	{ "rfc8463/rsa.key.pem", DKIM_ALG_RSA_SHA256 },
};

/* roundtrip - sign msg, prepend the field, verify with the published record */
static void
roundtrip(const struct rt_key *k, enum dkim_canon hc, enum dkim_canon bc,
    const char *msg, size_t len, size_t step, struct td_result *t)
{
	EVP_PKEY *key = load_pem(k->file);
	struct dkim_sign_config c;
	struct dns_resolver *r = dns_mem_new(NULL);
	struct buf rec, whole;
	char *field;

	dkim_sign_config_default(&c);
	c.key = key;
	c.alg = k->alg;
	c.domain = "example.org";
	c.selector = "sel";
	c.header_canon = hc;
	c.body_canon = bc;
	field = sign_msg(&c, msg, len, step);
	buf_init(&rec, 4096);
	ck_assert_int_eq(dkim_key_public_record(key, &rec), 0);
	dns_mem_add_txt(r, "sel._domainkey.example.org", buf_cstr(&rec));
	buf_init(&whole, 1 << 26);
	buf_append_str(&whole, field);
	buf_append(&whole, msg, len);
	ck_assert_int_eq(td_verify(r, whole.data, whole.len, step, 0, t), 0);
	buf_clear(&whole);
	buf_clear(&rec);
	free(field);
	dns_resolver_free(r);
	EVP_PKEY_free(key);
}

START_TEST(dkim_sign_roundtrip_all_canonicalisations)
{
	const struct rt_key *k = &rt_keys[_i % 2];
	enum dkim_canon hc = (_i / 2) % 2 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	enum dkim_canon bc = (_i / 4) % 2 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;

	for (size_t m = 0; m < ARRAY_LEN(rt_msgs); m++) {
		struct td_result t;

		roundtrip(k, hc, bc, rt_msgs[m], strlen(rt_msgs[m]), 0, &t);
		ck_assert_uint_eq(t.count, 1);
		ck_assert_msg(t.r[0].result == DKIM_RESULT_PASS, "%s %s/%s msg %zu: %s",
		    dkim_alg_str(k->alg), dkim_canon_str(hc), dkim_canon_str(bc), m,
		    t.r[0].reason);
	}
}
END_TEST

START_TEST(dkim_sign_roundtrip_large_body_in_odd_chunks)
{
	size_t body = 3 * 1024 * 1024 + 7, hl;
	const char *hdr = "From: a@example.org\r\nSubject: big\r\n\r\n";
	char *msg;
	struct td_result t;

	hl = strlen(hdr);
	msg = malloc(hl + body);
	memcpy(msg, hdr, hl);
	for (size_t i = 0; i < body; i++)
		msg[hl + i] = (i % 71 == 70) ? '\n' : (i % 71 == 69) ? '\r' : (char)('a' + i % 26);
	roundtrip(&rt_keys[0], DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, msg, hl + body, 65521, &t);
	ck_assert_msg(t.r[0].result == DKIM_RESULT_PASS, "%s", t.r[0].reason);
	free(msg);
}
END_TEST

/* ---- oversigning ---- */

/* h_of - the h= value of a field, FWS squeezed to single spaces */
static void
h_of(const char *field, char *out, size_t outlen)
{
	struct dkim_sig sig;
	size_t n = 0;

	ck_assert_int_eq(dkim_sig_parse(&sig, field, strlen(field)), 0);
	out[0] = '\0';
	for (size_t i = 0; i < sig.nh; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%.*s", i ? ":" : "",
		    (int)sig.h[i].len, sig.h[i].p);
	dkim_sig_clear(&sig);
}

struct over_case {
	const char *name;
	enum dkim_oversign mode;
	const char *msg;
	const char *want_h;
};

static const char *const over_headers[] = { "from", "subject", "date", "cc", NULL };
static const char *const over_names[] = { "from", "date", "cc", NULL };

static const struct over_case over_cases[] = {
	{ "none_signs_present_only", DKIM_OVERSIGN_NONE,
	  "From: a@example.org\r\nSubject: s\r\n\r\nx\r\n", "from:subject" },
	{ "always_adds_absent_names", DKIM_OVERSIGN_ALWAYS,
	  "From: a@example.org\r\nSubject: s\r\n\r\nx\r\n", "from:subject:from:date:cc" },
	{ "if_present_skips_absent_names", DKIM_OVERSIGN_IF_PRESENT,
	  "From: a@example.org\r\nSubject: s\r\n\r\nx\r\n", "from:subject:from" },
	{ "if_present_counts_repeats", DKIM_OVERSIGN_IF_PRESENT,
	  "From: a@example.org\r\nDate: d1\r\nDate: d2\r\n\r\nx\r\n", "from:date:date:from:date" },
	{ "if_present_oversigns_absent_from", DKIM_OVERSIGN_IF_PRESENT,
	  "Subject: s\r\nDate: d1\r\n\r\nx\r\n", "subject:date:from:date" },
};

START_TEST(dkim_sign_oversign_modes_build_h)
{
	const struct over_case *oc = &over_cases[_i];
	EVP_PKEY *key = load_pem("rfc8463/ed25519.key.pem");
	struct dkim_sign_config c;
	char h[256], *field;

	dkim_sign_config_default(&c);
	c.key = key;
	c.alg = DKIM_ALG_ED25519_SHA256;
	c.domain = "example.org";
	c.selector = "sel";
	c.headers = over_headers;
	c.oversign = over_names;
	c.oversign_mode = oc->mode;
	field = sign_msg(&c, oc->msg, strlen(oc->msg), 0);
	h_of(field, h, sizeof(h));
	ck_assert_msg(strcmp(h, oc->want_h) == 0, "%s: h=%s", oc->name, h);
	free(field);
	EVP_PKEY_free(key);
}
END_TEST

/* sign_then_add - sign, add a Date field at the top, verify */
static enum dkim_result
sign_then_add(enum dkim_oversign mode)
{
	const char *msg = "From: a@example.org\r\nSubject: s\r\n\r\nx\r\n";
	EVP_PKEY *key = load_pem("rfc8463/ed25519.key.pem");
	struct dns_resolver *r = dns_mem_new(NULL);
	struct dkim_sign_config c;
	struct buf rec, whole;
	struct td_result t;
	char *field;

	dkim_sign_config_default(&c);
	c.key = key;
	c.alg = DKIM_ALG_ED25519_SHA256;
	c.domain = "example.org";
	c.selector = "sel";
	c.oversign_mode = mode;
	field = sign_msg(&c, msg, strlen(msg), 0);
	buf_init(&rec, 4096);
	dkim_key_public_record(key, &rec);
	dns_mem_add_txt(r, "sel._domainkey.example.org", buf_cstr(&rec));
	buf_init(&whole, 65536);
	buf_append_str(&whole, "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n");
	buf_append_str(&whole, field);
	buf_append_str(&whole, msg);
	ck_assert_int_eq(td_verify(r, whole.data, whole.len, 0, 0, &t), 0);
	buf_clear(&rec);
	buf_clear(&whole);
	free(field);
	dns_resolver_free(r);
	EVP_PKEY_free(key);
	return t.r[0].result;
}

START_TEST(dkim_sign_if_present_survives_added_date_always_does_not)
{
	ck_assert_int_eq(sign_then_add(DKIM_OVERSIGN_IF_PRESENT), DKIM_RESULT_PASS);
	ck_assert_int_eq(sign_then_add(DKIM_OVERSIGN_ALWAYS), DKIM_RESULT_FAIL);
}
END_TEST

START_TEST(dkim_sign_expiry_makes_policy_result)
{
	const char *msg = "From: a@example.org\r\n\r\nx\r\n";
	EVP_PKEY *key = load_pem("rfc8463/ed25519.key.pem");
	struct dns_resolver *r = dns_mem_new(NULL);
	struct dkim_sign_config c;
	struct buf rec, whole;
	struct td_result t;
	char *field;

	dkim_sign_config_default(&c);
	c.key = key;
	c.alg = DKIM_ALG_ED25519_SHA256;
	c.domain = "example.org";
	c.selector = "sel";
	c.timestamp = 1700000000;
	c.expire_after = 3600;
	field = sign_msg(&c, msg, strlen(msg), 0);
	ck_assert(strstr(field, "t=1700000000;") && strstr(field, "x=1700003600;"));
	buf_init(&rec, 4096);
	dkim_key_public_record(key, &rec);
	dns_mem_add_txt(r, "sel._domainkey.example.org", buf_cstr(&rec));
	buf_init(&whole, 65536);
	buf_append_str(&whole, field);
	buf_append_str(&whole, msg);
	ck_assert_int_eq(td_verify(r, whole.data, whole.len, 0, 1700003600 + DKIM_CLOCK_SKEW, &t), 0);
	ck_assert_int_eq(t.r[0].result, DKIM_RESULT_PASS);
	ck_assert_int_eq(td_verify(r, whole.data, whole.len, 0, 1700003601 + DKIM_CLOCK_SKEW, &t), 0);
	ck_assert_int_eq(t.r[0].result, DKIM_RESULT_POLICY);
	ck_assert_str_eq(t.r[0].reason, "signature expired (x=)");
	buf_clear(&rec);
	buf_clear(&whole);
	free(field);
	dns_resolver_free(r);
	EVP_PKEY_free(key);
}
END_TEST

/* ---- configuration and keys ---- */

START_TEST(dkim_sign_rejects_bad_configuration)
{
	EVP_PKEY *ed = load_pem("rfc8463/ed25519.key.pem");
	static const char *const no_from[] = { "subject", NULL };
	struct dkim_sign_config c;
	const char *err = NULL;

	dkim_sign_config_default(&c);
	c.key = ed;
	c.domain = "example.org";
	c.selector = "sel";
	c.alg = DKIM_ALG_RSA_SHA256;	/* Ed25519 key */
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	ck_assert_ptr_nonnull(err);
	c.alg = DKIM_ALG_ED25519_SHA256;
	c.headers = no_from;
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	ck_assert(strstr(err, "From") != NULL);
	c.headers = NULL;
	c.domain = "bad domain";
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	c.domain = "example.org";
	c.identity = "user@other.example";
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	c.identity = "us;er@example.org";
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	c.identity = "us er@example.org";
	ck_assert_ptr_null(dkim_sign_new(&c, &err));
	c.identity = "user@mail.example.org";
	struct dkim_sign *s = dkim_sign_new(&c, &err);
	ck_assert_ptr_nonnull(s);
	dkim_sign_free(s);
	EVP_PKEY_free(ed);
}
END_TEST

/* A message limit set alone holds; the one left 0 takes its default (both were reset). */
START_TEST(dkim_sign_keeps_a_limit_set_alone)
{
	EVP_PKEY *ed = load_pem("rfc8463/ed25519.key.pem");
	static const char field[] = "Subject: a subject line longer than forty bytes\r\n";
	struct dkim_sign_config c;
	const char *err = NULL;
	struct dkim_sign *s;

	dkim_sign_config_default(&c);
	c.key = ed;
	c.alg = DKIM_ALG_ED25519_SHA256;
	c.domain = "example.org";
	c.selector = "sel";
	c.msg.header_size_limit = 40;
	c.msg.header_count_limit = 0;
	s = dkim_sign_new(&c, &err);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(dkim_sign_header(s, field, sizeof(field) - 1), -1);
	dkim_sign_free(s);
	EVP_PKEY_free(ed);
}
END_TEST

START_TEST(dkim_key_public_record_matches_published)
{
	static const struct {
		const char *key, *record;
	} kc[] = {
		{ "rfc8463/ed25519.key.pem", "rfc8463/brisbane._domainkey.football.example.com.txt" },
		{ "rfc8463/rsa.key.pem", "rfc8463/test._domainkey.football.example.com.txt" },
	};

	for (size_t i = 0; i < ARRAY_LEN(kc); i++) {
		EVP_PKEY *k = load_pem(kc[i].key), *pub;
		struct buf rec;
		struct dkim_keyrec kr;
		const char *why;
		size_t len;
		char *pubrec = td_read(kc[i].record, &len);

		while (len && (pubrec[len - 1] == '\n' || pubrec[len - 1] == '\r'))
			pubrec[--len] = '\0';
		buf_init(&rec, 4096);
		ck_assert_int_eq(dkim_key_public_record(k, &rec), 0);
		ck_assert_str_eq(buf_cstr(&rec), pubrec);
		ck_assert_int_eq(dkim_keyrec_parse(pubrec, len, &kr, &why), 0);
		pub = dkim_keyrec_pkey(&kr, &why);
		ck_assert_ptr_nonnull(pub);
		ck_assert(dkim_key_matches(k, pub));
		EVP_PKEY_free(pub);
		buf_clear(&rec);
		free(pubrec);
		EVP_PKEY_free(k);
	}
}
END_TEST

/* write_key - key as PEM into a temp file with mode; the path (static) */
static const char *
write_key(EVP_PKEY *k, mode_t mode, const char *name)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/dkimkey-%d-%s.pem",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid(), name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	chmod(path, mode);
	return path;
}

START_TEST(dkim_key_load_private_checks)
{
	EVP_PKEY *ed = load_pem("rfc8463/ed25519.key.pem");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	EVP_PKEY *k;
	struct buf err;
	const char *p;
	char hint[300];

	buf_init(&err, 1024);
	p = write_key(ed, 0600, "ok");
	k = dkim_key_load_private(p, true, DKIM_ALG_ED25519_SHA256, 0, &err);
	ck_assert_msg(k != NULL, "%s", buf_cstr(&err));
	ck_assert(dkim_key_matches(k, ed));
	EVP_PKEY_free(k);
	k = dkim_key_load_private(p, false, DKIM_ALG_RSA_SHA256, 0, &err);
	ck_assert_ptr_nonnull(k);	/* algorithm taken from the key */
	EVP_PKEY_free(k);
	buf_reset(&err);
	ck_assert_ptr_null(dkim_key_load_private(p, true, DKIM_ALG_RSA_SHA256, 0, &err));
	ck_assert(strstr(buf_cstr(&err), "key is Ed25519") != NULL);
	unlink(p);

	buf_reset(&err);
	p = write_key(ed, 0640, "group");
	ck_assert_ptr_null(dkim_key_load_private(p, false, DKIM_ALG_RSA_SHA256, 0, &err));
	snprintf(hint, sizeof(hint), "run: chmod 600 '%s'", p);
	ck_assert_msg(strstr(buf_cstr(&err), hint) != NULL, "%s", buf_cstr(&err));
	ck_assert(strstr(buf_cstr(&err), "not secure") != NULL);
	unlink(p);

	buf_reset(&err);
	ck_assert_ptr_nonnull(small);
	p = write_key(small, 0600, "small");
	ck_assert_ptr_null(dkim_key_load_private(p, true, DKIM_ALG_RSA_SHA256, 0, &err));
	ck_assert_msg(strstr(buf_cstr(&err), "512 bits, at least 1024") != NULL, "%s",
	    buf_cstr(&err));
	unlink(p);

	buf_reset(&err);
	ck_assert_ptr_null(dkim_key_load_private("/nonexistent/key.pem", false,
	    DKIM_ALG_RSA_SHA256, 0, &err));
	ck_assert(strstr(buf_cstr(&err), "cannot open") != NULL);

	buf_reset(&err);
	p = write_key(ed, 0600, "garbage");
	ck_assert_int_eq(truncate(p, 20), 0);
	ck_assert_ptr_null(dkim_key_load_private(p, false, DKIM_ALG_RSA_SHA256, 0, &err));
	ck_assert(strstr(buf_cstr(&err), "not a PEM private key") != NULL);
	unlink(p);

	buf_clear(&err);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ed);
}
END_TEST

static Suite *
dkim_sign_suite(void)
{
	Suite *s = suite_create("dkim_sign");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, dkim_sign_reproduces_rfc8463_b_exactly, 0,
	    (int)ARRAY_LEN(repro_cases));
	tcase_add_test(tc, dkim_sign_field_is_folded_and_lists_tags_in_order);
	tcase_add_test(tc, dkim_sign_same_field_for_every_split);
	tcase_add_loop_test(tc, dkim_sign_roundtrip_all_canonicalisations, 0, 8);
	tcase_add_test(tc, dkim_sign_roundtrip_large_body_in_odd_chunks);
	tcase_add_loop_test(tc, dkim_sign_oversign_modes_build_h, 0, (int)ARRAY_LEN(over_cases));
	tcase_add_test(tc, dkim_sign_if_present_survives_added_date_always_does_not);
	tcase_add_test(tc, dkim_sign_expiry_makes_policy_result);
	tcase_add_test(tc, dkim_sign_rejects_bad_configuration);
	tcase_add_test(tc, dkim_sign_keeps_a_limit_set_alone);
	tcase_add_test(tc, dkim_key_public_record_matches_published);
	tcase_add_test(tc, dkim_key_load_private_checks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_sign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
