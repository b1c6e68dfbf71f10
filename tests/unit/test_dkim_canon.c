/*
 * test_dkim_canon.c - DKIM canonicalisation (RFC 6376 §3.4): the §3.4.6
 * example, body edge cases at every chunk split, header relaxation, empty
 * body hashes, l= and body hash sharing, base64 with FWS.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "test_dkim_util.h"

static void
collect(void *arg, const char *p, size_t len)
{
	buf_append(arg, p, len);
}

/* canon_body - canonicalise body fed as [0,cut) and [cut,len) */
static void
canon_body(enum dkim_canon c, const char *body, size_t len, size_t cut, struct buf *out)
{
	struct dkim_canon_body cb;

	buf_init(out, 1 << 22);
	dkim_canon_body_init(&cb, c, collect, out);
	dkim_canon_body_update(&cb, body, cut);
	dkim_canon_body_update(&cb, body + cut, len - cut);
	dkim_canon_body_final(&cb);
}

struct body_case {
	const char *name;
	const char *in;
	const char *simple;
	const char *relaxed;
};

static const struct body_case body_cases[] = {
	{ "empty_body", "", "\r\n", "" },
	{ "only_empty_lines", "\r\n\r\n\r\n", "\r\n", "" },
	{ "no_final_crlf", "abc", "abc\r\n", "abc\r\n" },
	{ "trailing_empty_lines_removed", "a\r\n\r\n\r\n", "a\r\n", "a\r\n" },
	{ "inner_empty_lines_kept", "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n" },
	{ "whitespace_only_lines_at_end", "a \r\n \t\r\n", "a \r\n \t\r\n", "a\r\n" },
	{ "whitespace_only_body", "  \t ", "  \t \r\n", "" },
	{ "whitespace_runs_squeezed", " a  \t b \r\n", " a  \t b \r\n", " a b\r\n" },
	{ "lone_lf_is_content", "a\nb\r\n", "a\nb\r\n", "a\nb\r\n" },
	{ "lone_cr_is_content", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n" },
	{ "cr_cr_lf", "a\r\r\n", "a\r\r\n", "a\r\r\n" },
	{ "cr_at_end", "a\r", "a\r\r\n", "a\r\r\n" },
	{ "lf_at_end", "a\n", "a\n\r\n", "a\n\r\n" },
	{ "space_before_lone_lf_kept_as_space", "a \nb", "a \nb\r\n", "a \nb\r\n" },
	{ "whitespace_then_empty_lines", "x\r\n  \r\n\r\n", "x\r\n  \r\n", "x\r\n" },
	{ "eight_bit_untouched", "caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n", "caf\xc3\xa9\r\n" },
};

START_TEST(dkim_canon_body_cases_every_split)
{
	const struct body_case *c = &body_cases[_i];
	size_t len = strlen(c->in);

	for (int k = 0; k < 2; k++) {
		enum dkim_canon canon = k ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
		const char *want = k ? c->relaxed : c->simple;

		for (size_t cut = 0; cut <= len; cut++) {
			struct buf out;

			canon_body(canon, c->in, len, cut, &out);
			ck_assert_msg(out.len == strlen(want) && memcmp(buf_cstr(&out), want, out.len) == 0,
			    "%s %s cut %zu", c->name, dkim_canon_str(canon), cut);
			buf_clear(&out);
		}
	}
}
END_TEST

START_TEST(dkim_canon_body_byte_at_a_time_long_lines)
{
	size_t n = 20000;
	char *in = malloc(n + 64), *want = malloc(n + 64);
	struct dkim_canon_body cb;
	struct buf out;
	size_t w = 0;

	/* a 20000-byte line of "ab   " repeated, then trailing blank lines */
	for (size_t i = 0; i < n; i++)
		in[i] = "ab   "[i % 5];
	memcpy(in + n, "\r\n\r\n \r\n", 7);
	for (size_t i = 0; i < n; i++)
		if (i % 5 < 2)
			want[w++] = in[i];
		else if (i % 5 == 2 && i + 3 < n)
			want[w++] = ' ';
	memcpy(want + w, "\r\n", 2);
	w += 2;
	buf_init(&out, 1 << 20);
	dkim_canon_body_init(&cb, DKIM_CANON_RELAXED, collect, &out);
	for (size_t i = 0; i < n + 7; i++)
		dkim_canon_body_update(&cb, in + i, 1);
	dkim_canon_body_final(&cb);
	ck_assert_uint_eq(out.len, w);
	ck_assert(memcmp(buf_cstr(&out), want, w) == 0);
	buf_clear(&out);
	free(in);
	free(want);
}
END_TEST

/* split_eml - headers and body of a file from the shared data */
static char *
split_eml(const char *rel, size_t *len, size_t *body_off)
{
	char *msg = td_read(rel, len);
	char *sep = strstr(msg, "\r\n\r\n");

	ck_assert_ptr_nonnull(sep);
	*body_off = (size_t)(sep - msg) + 4;
	return msg;
}

START_TEST(dkim_canon_rfc6376_346_example_bodies)
{
	size_t len, off, rlen, slen;
	char *msg = split_eml("rfc6376/canon-example/input.eml", &len, &off);
	char *relaxed = td_read("rfc6376/canon-example/expected.relaxed.body", &rlen);
	char *simple = td_read("rfc6376/canon-example/expected.simple.body", &slen);

	for (size_t cut = 0; cut <= len - off; cut++) {
		struct buf out;

		canon_body(DKIM_CANON_RELAXED, msg + off, len - off, cut, &out);
		ck_assert_uint_eq(out.len, rlen);
		ck_assert(memcmp(buf_cstr(&out), relaxed, rlen) == 0);
		buf_clear(&out);
		canon_body(DKIM_CANON_SIMPLE, msg + off, len - off, cut, &out);
		ck_assert_uint_eq(out.len, slen);
		ck_assert(memcmp(buf_cstr(&out), simple, slen) == 0);
		buf_clear(&out);
	}
	free(msg);
	free(relaxed);
	free(simple);
}
END_TEST

/* src_read - a file under tests/data/dkim (env MAILAUTH_SRC) */
static char *
src_read(const char *name, const char *ext, size_t *len)
{
	const char *src = getenv("MAILAUTH_SRC");
	char path[4096];
	FILE *fp;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/dkim/%s%s", src ? src : ".", name, ext);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	ck_assert(fread(p, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return p;
}

static const char *const golden_bodies[] = {
	"body-whitespace", "body-trailing-lines", "body-8bit", "body-empty",
};

START_TEST(dkim_canon_body_golden_files_every_split)
{
	static const char *const ext[] = { ".simple.ref", ".relaxed.ref" };
	size_t len;
	char *in = src_read(golden_bodies[_i], ".in", &len);

	for (int k = 0; k < 2; k++) {
		size_t rlen;
		char *ref = src_read(golden_bodies[_i], ext[k], &rlen);

		for (size_t cut = 0; cut <= len; cut++) {
			struct buf out;

			canon_body(k ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, in, len, cut, &out);
			ck_assert_msg(out.len == rlen && memcmp(buf_cstr(&out), ref, rlen) == 0,
			    "%s%s cut %zu: got [%s]", golden_bodies[_i], ext[k], cut, buf_cstr(&out));
			buf_clear(&out);
		}
		free(ref);
	}
	free(in);
}
END_TEST

struct hdr_ctx {
	enum dkim_canon c;
	struct buf *out;
};

static int
hdr_collect(void *arg, struct span name, struct span field)
{
	struct hdr_ctx *h = arg;

	(void)name;
	return dkim_canon_header(h->c, field, h->out);
}

START_TEST(dkim_canon_rfc6376_346_example_headers)
{
	static const char *const want_file[] = {
		"rfc6376/canon-example/expected.simple.header",
		"rfc6376/canon-example/expected.relaxed.header",
	};
	size_t len, off;
	char *msg = split_eml("rfc6376/canon-example/input.eml", &len, &off);

	for (int k = 0; k < 2; k++) {
		struct buf out;
		struct hdr_ctx h = { k ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, &out };
		struct msg_callbacks cb = { hdr_collect, NULL, NULL };
		struct msg_parser *m = msg_parser_new(NULL, 0, &cb, &h);
		size_t wlen;
		char *want = td_read(want_file[k], &wlen);

		buf_init(&out, 4096);
		ck_assert_int_eq(msg_parser_feed(m, msg, len), 0);
		ck_assert_int_eq(msg_parser_finish(m), 0);
		ck_assert_msg(out.len == wlen && memcmp(buf_cstr(&out), want, wlen) == 0,
		    "%s: got [%s]", want_file[k], buf_cstr(&out));
		msg_parser_free(m);
		buf_clear(&out);
		free(want);
	}
	free(msg);
}
END_TEST

struct hdr_case {
	const char *name;
	const char *in;
	const char *relaxed;
};

/* a 522-byte word: longer than any gathering buffer a canonicaliser might use */
#define LONG_WORD_64 "0123456789012345678901234567890123456789012345678901234567890123"
#define LONG_WORD LONG_WORD_64 LONG_WORD_64 LONG_WORD_64 LONG_WORD_64 \
	LONG_WORD_64 LONG_WORD_64 LONG_WORD_64 LONG_WORD_64 "0123456789"

static const struct hdr_case hdr_cases[] = {
	{ "name_lowered_colon_tightened", "SUBJect \t:  hello\r\n", "subject:hello\r\n" },
	{ "unfolded_and_squeezed", "Subject: a  b\r\n\t c \r\n", "subject:a b c\r\n" },
	{ "empty_value", "X-Empty:\r\n", "x-empty:\r\n" },
	{ "whitespace_only_value", "X-Ws:  \t \r\n", "x-ws:\r\n" },
	{ "fold_right_after_colon", "To:\r\n a@b\r\n", "to:a@b\r\n" },
	{ "value_case_kept", "From: Joe <J@X>\r\n", "from:Joe <J@X>\r\n" },
	{ "missing_crlf_added", "A: b", "a:b\r\n" },
	{ "lone_cr_is_content", "A: b\rc\r\n", "a:b\rc\r\n" },
	{ "lone_cr_after_space", "A: b \rc\r\n", "a:b \rc\r\n" },
	{ "lone_lf_unfolds", "A: b\n c\r\n", "a:b c\r\n" },
	{ "lone_lf_joins", "A: b\nc\r\n", "a:bc\r\n" },
	{ "trailing_wsp_before_crlf", "A: b \t\r\n", "a:b\r\n" },
	{ "long_value_no_wsp", "X-Long: " LONG_WORD "\r\n", "x-long:" LONG_WORD "\r\n" },
};

START_TEST(dkim_canon_header_relaxed_cases)
{
	const struct hdr_case *c = &hdr_cases[_i];
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(dkim_canon_header(DKIM_CANON_RELAXED, span_from_cstr(c->in), &out), 0);
	ck_assert_msg(strcmp(buf_cstr(&out), c->relaxed) == 0, "%s: [%s]", c->name, buf_cstr(&out));
	buf_reset(&out);
	ck_assert_int_eq(dkim_canon_header(DKIM_CANON_SIMPLE, span_from_cstr(c->in), &out), 0);
	ck_assert(strncmp(buf_cstr(&out), c->in, strlen(c->in)) == 0);
	buf_clear(&out);
}
END_TEST

START_TEST(dkim_canon_parse_c_tag)
{
	enum dkim_canon h, b;

	ck_assert_int_eq(dkim_canon_parse(SPAN_LIT("relaxed"), &h, &b), 0);
	ck_assert(h == DKIM_CANON_RELAXED && b == DKIM_CANON_SIMPLE);
	ck_assert_int_eq(dkim_canon_parse(SPAN_LIT("simple/relaxed"), &h, &b), 0);
	ck_assert(h == DKIM_CANON_SIMPLE && b == DKIM_CANON_RELAXED);
	ck_assert_int_eq(dkim_canon_parse(SPAN_LIT("relaxed/"), &h, &b), -1);
	ck_assert_int_eq(dkim_canon_parse(SPAN_LIT("Relaxed"), &h, &b), -1);
	ck_assert_int_eq(dkim_canon_parse(SPAN_LIT("nowsp"), &h, &b), -1);
}
END_TEST

/* bh_b64 - base64 of a finished hasher */
static void
bh_b64(const struct dkim_bodyhash *bh, char *out, size_t outlen)
{
	struct buf b;

	buf_init(&b, 256);
	dkim_b64_encode(bh->digest, bh->digest_len, &b);
	snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_clear(&b);
}

START_TEST(dkim_bodyhash_empty_body_values_rfc6376)
{
	struct dkim_bodyhash_set set = { 0 };
	struct dkim_bodyhash *s = dkim_bodyhash_get(&set, DKIM_CANON_SIMPLE, EVP_sha256(), false, 0);
	struct dkim_bodyhash *r = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha256(), false, 0);
	char b64[128];

	dkim_bodyhash_final(&set);
	bh_b64(s, b64, sizeof(b64));
	ck_assert_str_eq(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	bh_b64(r, b64, sizeof(b64));
	ck_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	dkim_bodyhash_clear(&set);
}
END_TEST

START_TEST(dkim_bodyhash_shared_per_parameters_and_l_limit)
{
	struct dkim_bodyhash_set set = { 0 };
	struct dkim_bodyhash *a = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha256(), false, 0);
	struct dkim_bodyhash *b = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha256(), false, 0);
	struct dkim_bodyhash *l3 = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha256(), true, 3);
	struct dkim_bodyhash *l3b = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha256(), true, 3);
	struct dkim_bodyhash *s1 = dkim_bodyhash_get(&set, DKIM_CANON_RELAXED, EVP_sha1(), false, 0);
	struct dkim_bodyhash_set ref = { 0 };
	struct dkim_bodyhash *r3;

	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_eq(l3, l3b);
	ck_assert_ptr_ne(a, l3);
	ck_assert_ptr_ne(a, s1);
	ck_assert_uint_eq(set.n, 3);
	dkim_bodyhash_update(&set, "abcdef\r\n", 8);
	dkim_bodyhash_final(&set);
	ck_assert_uint_eq(l3->hashed, 3);
	ck_assert_uint_eq(l3->total, 8);
	ck_assert_uint_eq(a->hashed, 8);
	/* l=3 hashes what a plain hasher of "abc" without final CRLF would hash first */
	r3 = dkim_bodyhash_get(&ref, DKIM_CANON_RELAXED, EVP_sha256(), true, 3);
	dkim_bodyhash_update(&ref, "abcxyz", 6);
	dkim_bodyhash_final(&ref);
	ck_assert(memcmp(r3->digest, l3->digest, l3->digest_len) == 0);
	ck_assert(memcmp(a->digest, l3->digest, l3->digest_len) != 0);
	dkim_bodyhash_clear(&ref);
	dkim_bodyhash_clear(&set);
}
END_TEST

struct b64_case {
	const char *name;
	const char *in;
	long len;
	const char *out;
};

static const struct b64_case b64_cases[] = {
	{ "plain", "aGVsbG8=", 5, "hello" },
	{ "folded_whitespace", "aGVs\r\n bG8\t=", 5, "hello" },
	{ "two_pad", "aGk=", 2, "hi" },
	{ "no_pad_tolerated", "aGk", 2, "hi" },
	{ "empty", "", 0, "" },
	{ "bad_char", "aGV*bG8=", -1, NULL },
	{ "data_after_pad", "aG=k", -1, NULL },
	{ "too_much_pad", "aGk===", -1, NULL },
	{ "lone_sextet", "aGVsb", -1, NULL },
};

START_TEST(dkim_b64_decode_cases)
{
	const struct b64_case *c = &b64_cases[_i];
	unsigned char out[64];
	long n = dkim_b64_decode(span_from_cstr(c->in), out, sizeof(out));

	ck_assert_msg(n == c->len, "%s: %ld", c->name, n);
	if (n > 0)
		ck_assert(memcmp(out, c->out, (size_t)n) == 0);
}
END_TEST

START_TEST(dkim_b64_roundtrip_all_lengths)
{
	unsigned char in[64], back[64];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		struct buf b;

		buf_init(&b, 256);
		ck_assert_int_eq(dkim_b64_encode(in, n, &b), 0);
		ck_assert_int_eq(dkim_b64_decode((struct span){ b.data, b.len }, back,
		    sizeof(back)), (long)n);
		ck_assert(n == 0 || memcmp(in, back, n) == 0);
		buf_clear(&b);
	}
	ck_assert_int_eq(dkim_b64_decode(SPAN_LIT("aGVsbG8="), in, 4), -1);
}
END_TEST

/*
 * ref_relaxed_body - RFC 6376 §3.4.4 relaxed body canonicalisation, written
 * byte by byte as the text reads: within each CRLF line, WSP at the end goes
 * and WSP runs become one SP; then trailing empty lines go and a non-empty
 * body ends with CRLF.  A lone CR or LF is content (not a line end).
 */
static void
ref_relaxed_body(const char *in, size_t len, struct buf *out)
{
	struct buf line;
	size_t i = 0, empty = 0;

	buf_init(out, 1 << 22);
	buf_init(&line, 1 << 22);
	while (i < len) {
		size_t end = i;
		bool wsp = false;

		while (end < len && !(in[end] == '\r' && end + 1 < len && in[end + 1] == '\n'))
			end++;
		buf_reset(&line);
		for (size_t k = i; k < end; k++) {
			if (in[k] == ' ' || in[k] == '\t') {
				wsp = true;
				continue;
			}
			if (wsp)
				buf_append_char(&line, ' ');
			wsp = false;
			buf_append_char(&line, in[k]);
		}
		i = end < len ? end + 2 : end;
		if (line.len == 0) {
			empty++;
			continue;
		}
		for (; empty; empty--)
			buf_append(out, "\r\n", 2);
		buf_append(out, line.data, line.len);
		buf_append(out, "\r\n", 2);
	}
	buf_clear(&line);
}

/*
 * Relaxed bodies against the reference: lines of text with SP runs, HTABs
 * and line ends placed at every offset around the 8- and 16-byte blocks the
 * canonicaliser scans with, fed whole and split at every third byte.
 */
START_TEST(dkim_canon_relaxed_body_matches_reference)
{
	static const char *const pieces[] = {
		"  ", " ", "\t", "x", "  \t ", "\r\n", "   ", "ab", "\r", "\n", " \r\n",
	};
	char in[600];
	unsigned seed = 12345u + (unsigned)_i;

	for (int round = 0; round < 40; round++) {
		size_t len = 0;
		struct buf want, got;

		while (len < sizeof(in) - 8) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 16) % ARRAY_LEN(pieces)];
			size_t n = strlen(p), filler = (seed >> 8) % 23;

			for (size_t k = 0; k < filler && len < sizeof(in) - 8; k++)
				in[len++] = (char)('a' + k % 26);
			memcpy(in + len, p, n);
			len += n;
		}
		ref_relaxed_body(in, len, &want);
		for (size_t cut = 0; cut <= len; cut += 3) {
			canon_body(DKIM_CANON_RELAXED, in, len, cut, &got);
			ck_assert_msg(got.len == want.len && memcmp(got.data ? got.data : "",
			    want.data ? want.data : "", want.len) == 0,
			    "seed %d round %d cut %zu", _i, round, cut);
			buf_clear(&got);
		}
		buf_clear(&want);
	}
}
END_TEST

/*
 * ref_simple_body - RFC 6376 §3.4.3 simple body canonicalisation as the
 * text reads: trailing empty CRLF lines go, a missing final CRLF is added,
 * an empty body becomes one CRLF.  A lone CR or LF is content.
 */
static void
ref_simple_body(const char *in, size_t len, struct buf *out)
{
	size_t end = len;

	buf_init(out, 1 << 22);
	/* strip whole empty lines at the end, then the CRLF of the last line */
	while (end >= 4 && memcmp(in + end - 4, "\r\n\r\n", 4) == 0)
		end -= 2;
	if (end == 2 && memcmp(in, "\r\n", 2) == 0)
		end = 0;
	buf_append(out, in, end);
	if (end < 2 || memcmp(in + end - 2, "\r\n", 2) != 0)
		buf_append(out, "\r\n", 2);
}

/*
 * Simple bodies against the reference, built like the relaxed ones above
 * (the clean-stretch scanner runs in both modes, 16 bytes at a time).
 */
START_TEST(dkim_canon_simple_body_matches_reference)
{
	static const char *const pieces[] = {
		"\r\n", "\r\n\r\n", " ", "\t", "\r", "\n", " \r\n", "\r\r\n", "\n\r",
	};
	char in[600];
	unsigned seed = 777u + (unsigned)_i;

	for (int round = 0; round < 20; round++) {
		size_t len = 0;
		struct buf want, got;

		while (len < sizeof(in) - 8) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 16) % ARRAY_LEN(pieces)];
			size_t n = strlen(p), filler = (seed >> 8) % 31;

			for (size_t k = 0; k < filler && len < sizeof(in) - 8; k++)
				in[len++] = (char)('a' + k % 26);
			memcpy(in + len, p, n);
			len += n;
		}
		/* every other round ends in empty lines, which go */
		if (round % 2)
			len -= 4, memcpy(in + len, "\r\n\r\n", 4);
		ref_simple_body(in, len, &want);
		for (size_t cut = 0; cut <= len; cut += 5) {
			canon_body(DKIM_CANON_SIMPLE, in, len, cut, &got);
			ck_assert_msg(got.len == want.len && memcmp(got.data, want.data,
			    want.len) == 0, "seed %d round %d cut %zu", _i, round, cut);
			buf_clear(&got);
		}
		buf_clear(&want);
	}
}
END_TEST

/*
 * ref_relaxed_header - RFC 6376 §3.4.2 relaxed header canonicalisation as
 * the text reads: the name lower-cased without the WSP before the colon;
 * in the value each CRLF and each lone LF dropped (unfolding; a lone CR is
 * content), then WSP runs made one SP and the WSP at both ends dropped.
 */
static void
ref_relaxed_header(const char *in, size_t len, struct buf *out)
{
	const char *colon = memchr(in, ':', len);
	size_t n = (size_t)(colon - in), i;
	bool wsp = false, started = false;

	buf_init(out, 1 << 16);
	while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	for (i = 0; i < n; i++)
		buf_append_char(out, (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]));
	buf_append_char(out, ':');
	for (i = n; in[i] != ':'; i++)
		;
	for (i++; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') {
			i++;
			continue;
		}
		if (in[i] == '\n')
			continue;
		if (in[i] == ' ' || in[i] == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && started)
			buf_append_char(out, ' ');
		wsp = false;
		started = true;
		buf_append_char(out, in[i]);
	}
	buf_append(out, "\r\n", 2);
}

/*
 * Relaxed header fields against the reference: values of 0 to 200 bytes
 * with single and double SP, HTAB, folds, lone CR and LF at every offset
 * around the 16-byte blocks the canonicaliser scans, so runs end inside a
 * block, at its last byte, in the overlapping tail block and in the last
 * byte of the field.
 */
START_TEST(dkim_canon_relaxed_header_matches_reference)
{
	static const char *const pieces[] = {
		" ", " ", " ", "  ", "\t", "\r\n ", "\r\n\t", "\r", "\n", " \r\n",
		" \r", "\r\r\n", " \n", "x", "ab",
	};
	static const char *const names[] = { "Subject", "X-Test \t", "TO" };
	char in[256];
	unsigned seed = 4242u + (unsigned)_i;

	for (int round = 0; round < 400; round++) {
		size_t len, max = 8 + (size_t)round % 200;
		struct buf want, got;

		seed = seed * 1103515245u + 12345u;
		len = (size_t)snprintf(in, sizeof(in), "%s:", names[(seed >> 16) % 3]);
		while (len < max) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 16) % ARRAY_LEN(pieces)];
			size_t k = strlen(p), filler = (seed >> 8) % 19;

			for (size_t j = 0; j < filler && len < max; j++)
				in[len++] = (char)('a' + j % 26);
			if (len + k <= max) {
				memcpy(in + len, p, k);
				len += k;
			}
		}
		/* most fields end in CRLF; some in WSP or a piece */
		if (round % 4)
			memcpy(in + len, "\r\n", 2), len += 2;
		ref_relaxed_header(in, len, &want);
		buf_init(&got, 1 << 16);
		ck_assert_int_eq(dkim_canon_header(DKIM_CANON_RELAXED,
		    (struct span){ in, len }, &got), 0);
		ck_assert_msg(got.len == want.len && memcmp(got.data, want.data,
		    want.len) == 0, "seed %d round %d: [%s] want [%s]", _i, round,
		    buf_cstr(&got), buf_cstr(&want));
		buf_clear(&got);
		buf_clear(&want);
	}
}
END_TEST

static Suite *
dkim_canon_suite(void)
{
	Suite *s = suite_create("dkim_canon");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dkim_canon_body_cases_every_split, 0, (int)ARRAY_LEN(body_cases));
	tcase_add_test(tc, dkim_canon_body_byte_at_a_time_long_lines);
	tcase_add_test(tc, dkim_canon_rfc6376_346_example_bodies);
	tcase_add_loop_test(tc, dkim_canon_relaxed_body_matches_reference, 0, 8);
	tcase_add_loop_test(tc, dkim_canon_simple_body_matches_reference, 0, 8);
	tcase_add_loop_test(tc, dkim_canon_body_golden_files_every_split, 0,
	    (int)ARRAY_LEN(golden_bodies));
	tcase_add_test(tc, dkim_canon_rfc6376_346_example_headers);
	tcase_add_loop_test(tc, dkim_canon_header_relaxed_cases, 0, (int)ARRAY_LEN(hdr_cases));
	tcase_add_loop_test(tc, dkim_canon_relaxed_header_matches_reference, 0, 8);
	tcase_add_test(tc, dkim_canon_parse_c_tag);
	tcase_add_test(tc, dkim_bodyhash_empty_body_values_rfc6376);
	tcase_add_test(tc, dkim_bodyhash_shared_per_parameters_and_l_limit);
	tcase_add_loop_test(tc, dkim_b64_decode_cases, 0, (int)ARRAY_LEN(b64_cases));
	tcase_add_test(tc, dkim_b64_roundtrip_all_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dkim_canon_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
