/*
 * dkim_bench.c - DKIM signatures made and verified per second on one core
 * (common/dkim: RFC 6376 canonicalisation and hashing, RFC 8301 rsa-sha256,
 * RFC 8463 ed25519-sha256), for a message of a given size.
 *
 *   dkim_bench -a rsa|ed25519 [-b bits] -s bytes [-d seconds] [-n iterations]
 *              [-F] -m sign|verify|bodyhash
 *
 * Prints one line: "<mode> <alg> <bytes> <ops/s> <iterations> <seconds>
 * <ops per CPU second> <CPU seconds>": the rate by the wall clock, as
 * `openssl speed -elapsed` counts, and by the process's CPU time (user +
 * system), as plain `openssl speed` counts (it divides by user time).
 * With -F two fields follow: the floor's operations per CPU second and our
 * share of it, both timed in this process in alternating slices of 0.1 s,
 * so that load on a shared machine slows both alike.  The floor of sign and
 * verify is the bare signature operation, as `openssl speed` times it: a
 * 32-byte digest signed or verified (RSA: EVP_PKEY_sign/verify on one
 * context; Ed25519: EVP_DigestSign/Verify from a copied context).  Mode
 * bodyhash is the body alone, relaxed-canonicalised and hashed with SHA-256
 * through the body hasher in 64 KiB chunks, for a message of -s bytes (its
 * <bytes> field is the body's length); its floor is EVP_Digest (SHA-256)
 * over the same bytes in 16 KiB blocks, the block `openssl speed -evp
 * sha256` reports last.
 * Each iteration is the whole per-message work: a fresh signer (verifier), the
 * message fed in 64 KiB chunks, the signature made (verified, key record from
 * the in-memory resolver, answered synchronously), everything freed.  The key is
 * parsed once, as reinject does at start-up.  With -n the run is that many
 * iterations instead of a time (for instruction counts under callgrind:
 * --toggle-collect=bench_run counts the measured loop only).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rsa.h>

#include "buf.h"
#include "dkim.h"
#include "dkim_int.h"
#include "dns.h"
#include "log.h"

#define BENCH_CHUNK	65536	/* bytes per feed call, as a socket read gives */
#define BENCH_CHECK_EVERY	16	/* iterations between clock reads */
#define BENCH_SLICE	0.1	/* seconds per slice with -F */
#define BENCH_SHA_BLOCK	16384	/* the floor's SHA-256 block, as openssl speed's largest */

static const char bench_head[] =
    "Received: from client.example.net (client.example.net [192.0.2.7])\r\n"
    "\tby mx.example.com (Postfix) with ESMTPS id 4Zx1y2z3\r\n"
    "\tfor <bob@example.org>; Wed, 25 Nov 2026 10:00:00 +0000 (UTC)\r\n"
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob Example <bob@example.org>\r\n"
    "Subject: benchmark message\r\n"
    "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <bench.1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n";

/* bench_message - headers and a body of text lines, size bytes in all */
static char *
bench_message(size_t size, size_t *len)
{
	static const char line[] = "The quick brown fox jumps over the lazy dog "
	    "0123456789 abcdefghijklmnopqrstu\r\n";
	size_t hl = sizeof(bench_head) - 1, n = hl;
	char *m = xmalloc(size + sizeof(line) + hl);

	memcpy(m, bench_head, hl);
	while (n < size) {
		memcpy(m + n, line, sizeof(line) - 1);
		n += sizeof(line) - 1;
	}
	*len = n;
	return m;
}

/* clock_secs - seconds on a clock */
static double
clock_secs(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* now - monotonic seconds */
static double
now(void)
{
	return clock_secs(CLOCK_MONOTONIC);
}

/* bench_sign_once - one complete signature; the field, caller frees */
static char *
bench_sign_once(const struct dkim_sign_config *c, const char *m, size_t len)
{
	const char *err = NULL;
	struct dkim_sign *s = dkim_sign_new(c, &err);
	char *field;

	if (s == NULL)
		log_fatal("dkim_sign_new: %s", err);
	for (size_t off = 0; off < len; off += BENCH_CHUNK)
		dkim_sign_chunk(s, m + off, len - off < BENCH_CHUNK ? len - off :
		    BENCH_CHUNK);
	field = dkim_sign_finish(s, &err);
	if (field == NULL)
		log_fatal("dkim_sign_finish: %s", err ? err : "?");
	dkim_sign_free(s);
	return field;
}

/* bench_cb - the verifier callback: 1 when the one signature passed */
static void
bench_cb(void *arg, const struct dkim_sig_result *res, size_t count)
{
	*(int *)arg = count == 1 && res[0].result == DKIM_RESULT_PASS ? 1 : -1;
}

/* bench_verify_once - one complete verification; true when it passed */
static bool
bench_verify_once(struct dns_resolver *r, const char *m, size_t len)
{
	struct dkim_verify *v = dkim_verify_new(r, NULL);
	int ok = 0;

	for (size_t off = 0; off < len; off += BENCH_CHUNK)
		dkim_verify_chunk(v, m + off, len - off < BENCH_CHUNK ? len - off :
		    BENCH_CHUNK);
	if (dkim_verify_finish(v, bench_cb, &ok) < 0)
		ok = -1;
	dkim_verify_free(v);
	return ok == 1;
}

struct bench_opts {
	const char *alg, *mode;
	unsigned bits;
	size_t size;
	double seconds;
	unsigned long iterations;	/* 0: run for seconds */
	bool floor;			/* -F: also time the floor, interleaved */
};

/* Everything one iteration needs. */
struct bench_work {
	const struct bench_opts *o;
	const struct dkim_sign_config *c;
	struct dns_resolver *r;
	const char *m, *signed_m;
	size_t len, signed_len, body_off;
	EVP_PKEY *key;
	EVP_PKEY_CTX *rsa;		/* floor: RSA sign or verify context */
	EVP_MD_CTX *ed;			/* floor: Ed25519 template */
	unsigned char sig[1024], digest[32];
	size_t siglen;
};

/* bench_usage - synopsis on stderr */
static int
bench_usage(void)
{
	fprintf(stderr, "usage: dkim_bench -a rsa|ed25519 [-b bits] -s bytes "
	    "[-d seconds] [-n iterations] [-F] -m sign|verify|bodyhash\n");
	return 2;
}

/* bench_parse - the command line */
static int
bench_parse(int argc, char **argv, struct bench_opts *o)
{
	int c;

	*o = (struct bench_opts){ .alg = "rsa", .mode = "sign", .bits = 2048,
	    .size = 4096, .seconds = 3 };
	while ((c = getopt(argc, argv, "a:b:s:d:n:m:F")) != -1) {
		switch (c) {
		case 'a': o->alg = optarg; break;
		case 'b': o->bits = (unsigned)atoi(optarg); break;
		case 's': o->size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'd': o->seconds = atof(optarg); break;
		case 'n': o->iterations = strtoul(optarg, NULL, 10); break;
		case 'F': o->floor = true; break;
		case 'm': o->mode = optarg; break;
		default: return -1;
		}
	}
	if ((strcmp(o->alg, "rsa") && strcmp(o->alg, "ed25519")) ||
	    (strcmp(o->mode, "sign") && strcmp(o->mode, "verify") &&
	    strcmp(o->mode, "bodyhash")) ||
	    o->seconds <= 0 || o->size == 0)
		return -1;
	return 0;
}

/* bench_bodyhash_once - the body of the message canonicalised (relaxed) and hashed */
static void
bench_bodyhash_once(const struct bench_work *w)
{
	struct dkim_bodyhash_set set = { NULL, 0 };
	const char *b = w->m + w->body_off;
	size_t n = w->len - w->body_off;

	dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, dkim_alg_md(DKIM_ALG_RSA_SHA256),
	    false, 0);
	for (size_t off = 0; off < n; off += BENCH_CHUNK)
		dkim_bodyhash_update(&set, b + off, n - off < BENCH_CHUNK ? n - off :
		    BENCH_CHUNK);
	dkim_bodyhash_final(&set);
	dkim_bodyhash_clear(&set);
}

/* bench_sha_once - the floor of bodyhash: SHA-256 of the body's bytes in 16 KiB blocks */
static void
bench_sha_once(const struct bench_work *w)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	const char *b = w->m + w->body_off;
	size_t n = w->len - w->body_off;

	for (size_t off = 0; off < n; off += BENCH_SHA_BLOCK)
		if (EVP_Digest(b + off, n - off < BENCH_SHA_BLOCK ? n - off :
		    BENCH_SHA_BLOCK, md, NULL, dkim_alg_md(DKIM_ALG_RSA_SHA256),
		    NULL) != 1)
			log_fatal("EVP_Digest failed");
}

/* bench_floor_once - the bare signature operation on a 32-byte digest */
static void
bench_floor_once(struct bench_work *w)
{
	bool sign = strcmp(w->o->mode, "sign") == 0;
	size_t siglen = sizeof(w->sig);
	EVP_MD_CTX *ctx;
	int rc;

	if (w->rsa != NULL) {
		rc = sign ? EVP_PKEY_sign(w->rsa, w->sig, &siglen, w->digest, 32) :
		    EVP_PKEY_verify(w->rsa, w->sig, w->siglen, w->digest, 32);
	} else {
		if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(ctx, w->ed) != 1)
			log_fatal("EVP_MD_CTX_copy_ex failed");
		rc = sign ? EVP_DigestSign(ctx, w->sig, &siglen, w->digest, 32) :
		    EVP_DigestVerify(ctx, w->sig, w->siglen, w->digest, 32);
		EVP_MD_CTX_free(ctx);
	}
	if (rc != 1)
		log_fatal("the bare signature operation failed");
}

/* bench_ed_ctx - an Ed25519 signing or verifying context of key */
static EVP_MD_CTX *
bench_ed_ctx(EVP_PKEY *key, bool sign)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || (sign ? EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL,
	    key, NULL) : EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key,
	    NULL)) != 1)
		log_fatal("Ed25519 context");
	return ctx;
}

/* bench_floor_setup - the floor's context and, for verify, a signature to check */
static void
bench_floor_setup(struct bench_work *w)
{
	bool rsa = EVP_PKEY_get_base_id(w->key) == EVP_PKEY_RSA;
	bool sign = strcmp(w->o->mode, "sign") == 0;

	memset(w->digest, 0x5a, sizeof(w->digest));
	if (rsa) {
		for (int pass = 0; pass < 2; pass++) {
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, w->key, NULL);

			if (ctx == NULL || (pass ? EVP_PKEY_verify_init(ctx) :
			    EVP_PKEY_sign_init(ctx)) != 1 ||
			    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
			    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
				log_fatal("RSA context");
			EVP_PKEY_CTX_free(w->rsa);
			w->rsa = ctx;
			if (pass == 0) {
				w->siglen = sizeof(w->sig);
				if (EVP_PKEY_sign(ctx, w->sig, &w->siglen, w->digest, 32) != 1)
					log_fatal("RSA sign");
				if (sign)
					return;
			}
		}
		return;
	}
	/* Ed25519: a signature of the digest to verify, then the template */
	w->ed = bench_ed_ctx(w->key, true);
	w->siglen = sizeof(w->sig);
	if (EVP_DigestSign(w->ed, w->sig, &w->siglen, w->digest, 32) != 1)
		log_fatal("Ed25519 sign");
	EVP_MD_CTX_free(w->ed);
	w->ed = bench_ed_ctx(w->key, sign);
}

/* bench_once - one iteration of the chosen work, or of its floor */
static void
bench_once(struct bench_work *w, bool floor)
{
	const char *mode = w->o->mode;

	if (strcmp(mode, "bodyhash") == 0) {
		if (floor)
			bench_sha_once(w);
		else
			bench_bodyhash_once(w);
	} else if (floor) {
		bench_floor_once(w);
	} else if (strcmp(mode, "sign") == 0) {
		free(bench_sign_once(w->c, w->m, w->len));
	} else if (!bench_verify_once(w->r, w->signed_m, w->signed_len)) {
		log_fatal("verification did not pass");
	}
}

/* bench_slice - iterations for at least secs (wall clock); adds to *n and *cpu */
static void
bench_slice(struct bench_work *w, bool floor, double secs, unsigned long *n, double *cpu)
{
	double t0 = now(), c0 = clock_secs(CLOCK_PROCESS_CPUTIME_ID);

	do {
		for (int i = 0; i < BENCH_CHECK_EVERY; i++, (*n)++)
			bench_once(w, floor);
	} while (now() - t0 < secs);
	*cpu += clock_secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

/* bench_run - iterations of the chosen work for the given time (not inlined:
 * callgrind's --toggle-collect=bench_run names it); with -F the floor's
 * slices alternate with ours */
static __attribute__((noinline)) unsigned long
bench_run(struct bench_work *w, double *elapsed, double *cpu,
    unsigned long *floor_n, double *floor_cpu)
{
	const struct bench_opts *o = w->o;
	unsigned long n = 0;
	double t0 = now(), t, fcpu_wall = 0;

	*cpu = 0;
	do {
		bench_slice(w, false, o->floor ? BENCH_SLICE : 0, &n, cpu);
		if (o->floor) {
			double f0 = now();

			bench_slice(w, true, BENCH_SLICE, floor_n, floor_cpu);
			fcpu_wall += now() - f0;
		}
		t = now() - t0 - fcpu_wall;
	} while (o->iterations ? n < o->iterations : t < o->seconds);
	*elapsed = t;
	return n;
}

/* bench_key - a fresh key of the chosen algorithm */
static EVP_PKEY *
bench_key(const struct bench_opts *o)
{
	EVP_PKEY *key = strcmp(o->alg, "rsa") == 0 ?
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o->bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (key == NULL)
		log_fatal("key generation failed");
	return key;
}

/* main - make the key and message, check them once, measure */
int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct dkim_sign_config c;
	struct dns_resolver *r;
	struct bench_work w;
	struct buf rec;
	char *m, *field, *signed_m;
	size_t len, flen;
	unsigned long n, fn = 0;
	double secs, cpu, fcpu = 0;
	EVP_PKEY *key;

	log_open("dkim_bench", LOG_DEST_STDERR);
	if (bench_parse(argc, argv, &o) < 0)
		return bench_usage();
	key = bench_key(&o);
	dkim_sign_config_default(&c);
	c.key = key;
	c.alg = strcmp(o.alg, "rsa") == 0 ? DKIM_ALG_RSA_SHA256 :
	    DKIM_ALG_ED25519_SHA256;
	c.domain = "example.com";
	c.selector = "bench";
	m = bench_message(o.size, &len);
	field = bench_sign_once(&c, m, len);
	flen = strlen(field);
	signed_m = xmalloc(flen + len);
	memcpy(signed_m, field, flen);
	memcpy(signed_m + flen, m, len);
	buf_init(&rec, DKIM_KEY_RECORD_MAX);
	if (dkim_key_public_record(key, &rec) < 0)
		log_fatal("no key record");
	r = dns_mem_new(NULL);
	dns_mem_add_txt(r, "bench._domainkey.example.com", buf_cstr(&rec));
	if (!bench_verify_once(r, signed_m, flen + len))
		log_fatal("the benchmark message does not verify");
	w = (struct bench_work){ .o = &o, .c = &c, .r = r, .m = m, .len = len,
	    .signed_m = signed_m, .signed_len = flen + len,
	    .body_off = sizeof(bench_head) - 1, .key = key };
	if (o.floor && strcmp(o.mode, "bodyhash") != 0)
		bench_floor_setup(&w);
	n = bench_run(&w, &secs, &cpu, &fn, &fcpu);
	/* operations per wall-clock second and per CPU second (user + system) */
	printf("%s %s %zu %.1f %lu %.2f %.1f %.2f", o.mode, o.alg,
	    strcmp(o.mode, "bodyhash") == 0 ? len - w.body_off : len,
	    (double)n / secs, n, secs, (double)n / cpu, cpu);
	if (o.floor)
		printf(" %.1f %.3f", (double)fn / fcpu, ((double)n / cpu) / ((double)fn / fcpu));
	printf("\n");
	dns_resolver_free(r);
	buf_clear(&rec);
	EVP_PKEY_CTX_free(w.rsa);
	EVP_MD_CTX_free(w.ed);
	free(field), free(signed_m), free(m);
	EVP_PKEY_free(key);
	return 0;
}
