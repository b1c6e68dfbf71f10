/*
 * arc_bench.c - the cost of validating a three-set ARC chain (RFC 8617 §5.2:
 * three AMS and three AS verifications, body hashed once per canonicalisation)
 * beside one DKIM verification of the same message, on one core.
 *
 *   arc_bench [-s bytes] [-d seconds] [-b bits]
 *
 * The message is sealed three times and DKIM-signed once at start (RSA key of
 * -b bits, 2048 by default, generated here); each iteration is the whole
 * per-message work: a fresh verifier, the message fed in 64 KiB chunks, the
 * keys from the in-memory resolver (synchronous), everything freed.  Prints
 * "<what> <bytes> <ops/s> <iterations> <seconds>" per line, then the ratio.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rsa.h>

#include "arc.h"
#include "buf.h"
#include "dkim.h"
#include "dns.h"

#define BENCH_CHUNK	65536

static const char bench_head[] =
    "From: Alice Example <alice@example.com>\r\nTo: list@example.org\r\n"
    "Subject: benchmark message\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <bench.1@example.com>\r\nMIME-Version: 1.0\r\n\r\n";

/* bench_now - monotonic seconds */
static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* bench_message - headers and text lines, about size bytes */
static void
bench_message(struct buf *m, size_t size)
{
	buf_append_str(m, bench_head);
	while (m->len < size)
		buf_append_str(m, "The quick brown fox jumps over the lazy dog 0123456789\r\n");
}

/* bench_seal - one more ARC set on top of m */
static void
bench_seal(struct buf *m, EVP_PKEY *key, enum arc_cv cv)
{
	struct arc_sign_config c;
	struct arc_sign *s;
	const char *err;
	char *set;
	struct buf out;

	arc_sign_config_default(&c);
	c.key = key;
	c.domain = "example.com";
	c.selector = "bench";
	s = arc_sign_new(&c, &err);
	arc_sign_chunk(s, m->data, m->len);
	if ((set = arc_sign_finish(s, cv, "mx.example.org; dkim=pass header.d=example.com",
	    &err)) == NULL) {
		fprintf(stderr, "arc_bench: seal: %s\n", err);
		exit(1);
	}
	buf_init(&out, m->max);
	buf_append_str(&out, set);
	buf_append(&out, m->data, m->len);
	buf_clear(m);
	*m = out;
	free(set);
	arc_sign_free(s);
}

/* bench_dkim_sign - one DKIM-Signature on top of m */
static void
bench_dkim_sign(struct buf *m, EVP_PKEY *key)
{
	struct dkim_sign_config c;
	struct dkim_sign *s;
	const char *err;
	char *f;
	struct buf out;

	dkim_sign_config_default(&c);
	c.key = key;
	c.domain = "example.com";
	c.selector = "bench";
	s = dkim_sign_new(&c, &err);
	dkim_sign_chunk(s, m->data, m->len);
	f = dkim_sign_finish(s, &err);
	buf_init(&out, m->max);
	buf_append_str(&out, f);
	buf_append(&out, m->data, m->len);
	buf_clear(m);
	*m = out;
	free(f);
	dkim_sign_free(s);
}

static int bench_ok;

/* bench_arc_done - the chain must pass */
static void
bench_arc_done(void *arg, const struct arc_result *res)
{
	(void)arg;
	bench_ok = res->cv == ARC_CV_PASS && res->sets == 3;
}

/* bench_dkim_done - the signature must pass */
static void
bench_dkim_done(void *arg, const struct dkim_sig_result *res, size_t n)
{
	(void)arg;
	bench_ok = n == 1 && res[0].result == DKIM_RESULT_PASS;
}

/* bench_arc_once - one ARC validation of m */
static void
bench_arc_once(struct dns_resolver *r, const struct buf *m)
{
	struct arc_verify *v = arc_verify_new(r, NULL);

	for (size_t off = 0; off < m->len; off += BENCH_CHUNK)
		arc_verify_chunk(v, m->data + off,
		    m->len - off < BENCH_CHUNK ? m->len - off : BENCH_CHUNK);
	arc_verify_finish(v, bench_arc_done, NULL);
	arc_verify_free(v);
}

/* bench_dkim_once - one DKIM verification of m */
static void
bench_dkim_once(struct dns_resolver *r, const struct buf *m)
{
	struct dkim_verify *v = dkim_verify_new(r, NULL);

	for (size_t off = 0; off < m->len; off += BENCH_CHUNK)
		dkim_verify_chunk(v, m->data + off,
		    m->len - off < BENCH_CHUNK ? m->len - off : BENCH_CHUNK);
	dkim_verify_finish(v, bench_dkim_done, NULL);
	dkim_verify_free(v);
}

/* bench_run - ops per second of fn over m for about secs seconds */
static double
bench_run(const char *what, void (*fn)(struct dns_resolver *, const struct buf *),
    struct dns_resolver *r, const struct buf *m, double secs)
{
	double t0 = bench_now(), t;
	unsigned long n = 0;

	do {
		bench_ok = 0;
		fn(r, m);
		if (!bench_ok) {
			fprintf(stderr, "arc_bench: %s did not pass\n", what);
			exit(1);
		}
		n++;
		t = bench_now() - t0;
	} while (t < secs);
	printf("%-28s %zu %.0f %lu %.2f\n", what, m->len, n / t, n, t);
	return n / t;
}

/* main - build the messages, time both */
int
main(int argc, char **argv)
{
	size_t size = 4096;
	double secs = 3, arc, dkim;
	unsigned bits = 2048;
	struct buf msg, dmsg, rec;
	struct dns_resolver *r;
	EVP_PKEY *key;
	int opt;

	while ((opt = getopt(argc, argv, "s:d:b:")) != -1) {
		if (opt == 's')
			size = (size_t)strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			secs = strtod(optarg, NULL);
		else if (opt == 'b')
			bits = (unsigned)strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: arc_bench [-s bytes] [-d seconds] [-b bits]\n");
			return 2;
		}
	}
	key = EVP_RSA_gen(bits);
	buf_init(&rec, 8192);
	dkim_key_public_record(key, &rec);
	r = dns_mem_new(NULL);
	dns_mem_add_txt(r, "bench._domainkey.example.com", buf_cstr(&rec));
	buf_init(&msg, size * 2 + (1 << 20));
	bench_message(&msg, size);
	buf_init(&dmsg, msg.max);
	buf_append(&dmsg, msg.data, msg.len);
	bench_dkim_sign(&dmsg, key);
	bench_seal(&msg, key, ARC_CV_NONE);
	bench_seal(&msg, key, ARC_CV_PASS);
	bench_seal(&msg, key, ARC_CV_PASS);
	dkim = bench_run("dkim-verify-1-signature", bench_dkim_once, r, &dmsg, secs);
	arc = bench_run("arc-verify-3-sets", bench_arc_once, r, &msg, secs);
	printf("arc 3 sets / dkim 1 signature: %.2fx the time (RSA-%u, %zu-byte message)\n",
	    dkim / arc, bits, size);
	buf_clear(&msg);
	buf_clear(&dmsg);
	buf_clear(&rec);
	dns_resolver_free(r);
	EVP_PKEY_free(key);
	return 0;
}
