/*
 * test_dkim_util.h - helpers shared by the test_dkim_*.c executables: shared
 * test data (env MAILAUTH_SHARED), the RFC key records in a dns_mem zone, and
 * a synchronous verify that copies the per-signature results out.
 */
#ifndef TEST_DKIM_UTIL_H
#define TEST_DKIM_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dns.h"

#define TD_MAX_SIGS 16

struct td_result {
	int calls;
	size_t count;
	struct {
		enum dkim_result result;
		enum dkim_fail fail;
		char reason[128];
		char domain[128];
		char selector[64];
		char identity[128];
		char algorithm[32];
		char b_prefix[DKIM_B_PREFIX_LEN + 1];
		bool has_length;
		uint64_t length;
		enum dns_sec key_sec;
		bool key_testing;
		unsigned key_bits;
	} r[TD_MAX_SIGS];
};

/* td_path - path of a file under the shared test data */
static inline void
td_path(const char *rel, char *out, size_t outlen)
{
	const char *base = getenv("MAILAUTH_SHARED");
	int n = snprintf(out, outlen, "%s/testdata/dkim/%s", base ? base : "../shared", rel);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* td_read - whole file (shared data) into a NUL-terminated heap buffer */
static inline char *
td_read(const char *rel, size_t *len)
{
	char path[4096];
	FILE *fp;
	char *p;
	long n;

	td_path(rel, path, sizeof(path));
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert(fread(p, 1, (size_t)n, fp) == (size_t)n);
	p[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return p;
}

/* td_add_key - serve a one-line record file at name */
static inline void
td_add_key(struct dns_resolver *r, const char *name, const char *rel)
{
	size_t len;
	char *txt = td_read(rel, &len);

	while (len && (txt[len - 1] == '\n' || txt[len - 1] == '\r'))
		txt[--len] = '\0';
	dns_mem_add_txt(r, name, txt);
	free(txt);
}

/* td_rfc_zone - every published RFC key used by the tests */
static inline struct dns_resolver *
td_rfc_zone(struct event_base *base)
{
	struct dns_resolver *r = dns_mem_new(base);

	td_add_key(r, "brisbane._domainkey.example.com",
	    "rfc6376/brisbane._domainkey.example.com.txt");
	td_add_key(r, "brisbane._domainkey.football.example.com",
	    "rfc8463/brisbane._domainkey.football.example.com.txt");
	td_add_key(r, "test._domainkey.football.example.com",
	    "rfc8463/test._domainkey.football.example.com.txt");
	return r;
}

static inline void
td_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "(null)");
}

/* td_record - dkim_verify_cb copying the results */
static inline void
td_record(void *arg, const struct dkim_sig_result *res, size_t count)
{
	struct td_result *t = arg;

	t->calls++;
	t->count = count;
	for (size_t i = 0; i < count && i < TD_MAX_SIGS; i++) {
		t->r[i].result = res[i].result;
		t->r[i].fail = res[i].fail;
		td_copy(t->r[i].reason, sizeof(t->r[i].reason), res[i].reason);
		td_copy(t->r[i].domain, sizeof(t->r[i].domain), res[i].domain);
		td_copy(t->r[i].selector, sizeof(t->r[i].selector), res[i].selector);
		td_copy(t->r[i].identity, sizeof(t->r[i].identity), res[i].identity);
		td_copy(t->r[i].algorithm, sizeof(t->r[i].algorithm), res[i].algorithm);
		memcpy(t->r[i].b_prefix, res[i].b_prefix, sizeof(t->r[i].b_prefix));
		t->r[i].has_length = res[i].has_length;
		t->r[i].length = res[i].length;
		t->r[i].key_sec = res[i].key_sec;
		t->r[i].key_testing = res[i].key_testing;
		t->r[i].key_bits = res[i].key_bits;
	}
}

/*
 * td_verify - verify msg with a synchronous resolver, feeding raw chunks of
 * at most step bytes (0: whole), at time now (0: the clock).  Returns the
 * dkim_verify_finish() value.
 */
static inline int
td_verify(struct dns_resolver *r, const char *msg, size_t len, size_t step,
    time_t now, struct td_result *out)
{
	struct dkim_verify *v = dkim_verify_new(r, NULL);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (now)
		dkim_verify_set_time(v, now);
	if (step == 0)
		step = len ? len : 1;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = dkim_verify_chunk(v, msg + off, len - off < step ? len - off : step);
	if (rc == 0)
		rc = dkim_verify_finish(v, td_record, out);
	dkim_verify_free(v);
	return rc;
}

/* td_strrepl - copy of s with the first "from" replaced by "to" */
static inline char *
td_strrepl(const char *s, size_t len, const char *from, const char *to, size_t *outlen)
{
	const char *hit = memmem(s, len, from, strlen(from));
	size_t fl = strlen(from), tl = strlen(to), pre;
	char *o;

	ck_assert_msg(hit != NULL, "test data lacks %s", from);
	pre = (size_t)(hit - s);
	o = malloc(len - fl + tl + 1);
	memcpy(o, s, pre);
	memcpy(o + pre, to, tl);
	memcpy(o + pre + tl, hit + fl, len - pre - fl);
	*outlen = len - fl + tl;
	o[*outlen] = '\0';
	return o;
}

#endif
