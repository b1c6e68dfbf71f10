/*
 * dkim_bench.c - DKIM signatures made and verified per second on one core
 * (common/dkim: RFC 6376 canonicalisation and hashing, RFC 8301 rsa-sha256,
 * RFC 8463 ed25519-sha256), for a message of a given size.
 *
 *   dkim_bench -a rsa|ed25519 [-b bits] -s bytes [-d seconds] [-n iterations]
 *              -m sign|verify
 *
 * Prints one line: "<mode> <alg> <bytes> <ops/s> <iterations> <seconds>
 * <ops per CPU second> <CPU seconds>": the rate by the wall clock, as
 * `openssl speed -elapsed` counts, and by the process's CPU time (user +
 * system), as plain `openssl speed` counts (it divides by user time).
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

#include "buf.h"
#include "dkim.h"
#include "dns.h"
#include "log.h"

#define BENCH_CHUNK	65536	/* bytes per feed call, as a socket read gives */
#define BENCH_CHECK_EVERY	16	/* iterations between clock reads */

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
};

/* bench_usage - synopsis on stderr */
static int
bench_usage(void)
{
	fprintf(stderr, "usage: dkim_bench -a rsa|ed25519 [-b bits] -s bytes "
	    "[-d seconds] [-n iterations] -m sign|verify\n");
	return 2;
}

/* bench_parse - the command line */
static int
bench_parse(int argc, char **argv, struct bench_opts *o)
{
	int c;

	*o = (struct bench_opts){ .alg = "rsa", .mode = "sign", .bits = 2048,
	    .size = 4096, .seconds = 3 };
	while ((c = getopt(argc, argv, "a:b:s:d:n:m:")) != -1) {
		switch (c) {
		case 'a': o->alg = optarg; break;
		case 'b': o->bits = (unsigned)atoi(optarg); break;
		case 's': o->size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'd': o->seconds = atof(optarg); break;
		case 'n': o->iterations = strtoul(optarg, NULL, 10); break;
		case 'm': o->mode = optarg; break;
		default: return -1;
		}
	}
	if ((strcmp(o->alg, "rsa") && strcmp(o->alg, "ed25519")) ||
	    (strcmp(o->mode, "sign") && strcmp(o->mode, "verify")) ||
	    o->seconds <= 0 || o->size == 0)
		return -1;
	return 0;
}

/* bench_run - iterations of the chosen work for the given time (not inlined:
 * callgrind's --toggle-collect=bench_run names it) */
static __attribute__((noinline)) unsigned long
bench_run(const struct bench_opts *o, const struct dkim_sign_config *c,
    struct dns_resolver *r, const char *m, size_t len, const char *signed_m,
    size_t signed_len, double *elapsed, double *cpu)
{
	unsigned long n = 0;
	double t0 = now(), c0 = clock_secs(CLOCK_PROCESS_CPUTIME_ID), t;

	do {
		for (int i = 0; i < BENCH_CHECK_EVERY; i++, n++) {
			if (strcmp(o->mode, "sign") == 0)
				free(bench_sign_once(c, m, len));
			else if (!bench_verify_once(r, signed_m, signed_len))
				log_fatal("verification did not pass");
		}
		t = now() - t0;
	} while (o->iterations ? n < o->iterations : t < o->seconds);
	*elapsed = t;
	*cpu = clock_secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return n;
}

/* main - make the key and message, check them once, measure */
int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct dkim_sign_config c;
	struct dns_resolver *r;
	struct buf rec;
	char *m, *field, *signed_m;
	size_t len, flen;
	unsigned long n;
	double secs, cpu;
	EVP_PKEY *key;

	log_open("dkim_bench", LOG_DEST_STDERR);
	if (bench_parse(argc, argv, &o) < 0)
		return bench_usage();
	key = strcmp(o.alg, "rsa") == 0 ?
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o.bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL)
		log_fatal("key generation failed");
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
	n = bench_run(&o, &c, r, m, len, signed_m, flen + len, &secs, &cpu);
	/* operations per wall-clock second and per CPU second (user + system) */
	printf("%s %s %zu %.1f %lu %.2f %.1f %.2f\n", o.mode, o.alg, len,
	    (double)n / secs, n, secs, (double)n / cpu, cpu);
	dns_resolver_free(r);
	buf_clear(&rec);
	free(field), free(signed_m), free(m);
	EVP_PKEY_free(key);
	return 0;
}
