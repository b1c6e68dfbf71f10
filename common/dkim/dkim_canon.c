/*
 * dkim_canon.c - DKIM canonicalisation (RFC 6376 §3.4): header fields
 * (simple §3.4.1, relaxed §3.4.2) and the streaming body canonicaliser
 * (simple §3.4.3, relaxed §3.4.4).
 *
 * Lines are delimited by CRLF only; a lone CR or LF is ordinary line content
 * (the RFC defines no other line ending).  The body canonicaliser keeps no
 * body: trailing empty lines are a counter, whitespace a flag, so a chunk may
 * end anywhere (inside a CRLF, a whitespace run or a run of empty lines).
 */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dkim_int.h"

/* dkim_canon_is_wsp - WSP: SP or HTAB */
static bool
dkim_canon_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* dkim_canon_lower - ASCII lower case */
static char
dkim_canon_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* dkim_canon_header_simple - §3.4.1: the field unchanged, CRLF-terminated */
static int
dkim_canon_header_simple(struct span f, struct buf *out)
{
	buf_append(out, f.p, f.len);
	if (f.len < 2 || f.p[f.len - 2] != '\r' || f.p[f.len - 1] != '\n')
		buf_append(out, "\r\n", 2);
	return out->overflow ? -1 : 0;
}

/*
 * dkim_canon_hdr_class - bytes relaxed header canonicalisation acts on: 1 for
 * WSP, 2 for LF, 3 for CR (dropped with the LF after it, content when lone);
 * 0 for the rest, copied as they are.
 */
static const unsigned char dkim_canon_hdr_class[256] = {
	['\t'] = 1, [' '] = 1, ['\n'] = 2, ['\r'] = 3,
};

/*
 * A run: from a content byte, the bytes relaxed canonicalisation copies as
 * they are.  It stops at HTAB, CR and LF, and at a SP followed by WSP, CR or
 * LF or ending the field; a single SP between two content bytes stays as it
 * is, so a run is usually a whole line of the field, not a word.
 */

/* dkim_canon_hdr_stop - does the run stop at p[k] */
static bool
dkim_canon_hdr_stop(const unsigned char *p, size_t k, size_t len)
{
	if (p[k] != ' ')
		return dkim_canon_hdr_class[p[k]] != 0;
	return k + 1 == len || dkim_canon_hdr_class[p[k + 1]] != 0;
}

#ifdef __SSE2__
/* dkim_canon_hdr_mask - the run stops among the 16 bytes at q (q[16] readable): bit k for byte k */
static unsigned
dkim_canon_hdr_mask(const unsigned char *q)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
	__m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	__m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	__m128i ctl_x = _mm_or_si128(_mm_cmpeq_epi8(x, tab),
	    _mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf)));
	__m128i ws_y = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, sp),
	    _mm_cmpeq_epi8(y, tab)), _mm_or_si128(_mm_cmpeq_epi8(y, cr),
	    _mm_cmpeq_epi8(y, lf)));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl_x,
	    _mm_and_si128(_mm_cmpeq_epi8(x, sp), ws_y)));
}
#endif

/* dkim_canon_hdr_run_end - the first stop at or after k; len if none */
static size_t
dkim_canon_hdr_run_end(const unsigned char *p, size_t k, size_t len)
{
#ifdef __SSE2__
	unsigned m;

	for (; k + 17 <= len; k += 16)
		if ((m = dkim_canon_hdr_mask(p + k)) != 0)
			return k + (size_t)__builtin_ctz(m);
	/* the tail: the last 16 bytes but one, shifted to start at k */
	if (len >= 17 && k + 1 < len) {
		size_t q = len - 17;

		if ((m = dkim_canon_hdr_mask(p + q) >> (k - q)) != 0)
			return k + (size_t)__builtin_ctz(m);
		k = len - 1;
	}
#endif
	while (k < len && !dkim_canon_hdr_stop(p, k, len))
		k++;
	return k;
}

/* dkim_canon_header_relaxed - §3.4.2: lower-case name, unfold, compress WSP */
static int
dkim_canon_header_relaxed(struct span f, struct buf *out)
{
	const char *colon = memchr(f.p, ':', f.len);
	const unsigned char *p = (const unsigned char *)f.p;
	size_t nlen, i;
	bool space = false, started = false;
	char *o;

	if (colon == NULL)
		return -1;
	/* the result is never longer than the field and a CRLF: write in place */
	if (buf_reserve(out, f.len + 2) < 0)
		return -1;
	o = out->data + out->len;
	nlen = (size_t)(colon - f.p);
	while (nlen && dkim_canon_is_wsp(f.p[nlen - 1]))
		nlen--;
	for (i = 0; i < nlen; i++)
		*o++ = dkim_canon_lower(f.p[i]);
	*o++ = ':';
	for (i = (size_t)(colon - f.p) + 1; i < f.len;) {
		size_t end;
		unsigned cls = dkim_canon_hdr_class[p[i]];

		/* CRLF and LF go (unfolding), WSP runs become one SP between words */
		if (cls == 3 && i + 1 < f.len && p[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (cls == 1 || cls == 2) {
			space = space || cls == 1;
			i++;
			continue;
		}
		if (space && started)
			*o++ = ' ';
		space = false;
		started = true;
		end = dkim_canon_hdr_run_end(p, i + 1, f.len);
		memcpy(o, f.p + i, end - i);
		o += end - i;
		i = end;
	}
	*o++ = '\r';
	*o++ = '\n';
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

/* dkim_canon_header - canonical form of one raw field appended to out */
int
dkim_canon_header(enum dkim_canon c, struct span field, struct buf *out)
{
	if (c == DKIM_CANON_SIMPLE)
		return dkim_canon_header_simple(field, out);
	return dkim_canon_header_relaxed(field, out);
}

/* dkim_canon_word - "simple" or "relaxed" */
static int
dkim_canon_word(struct span w, enum dkim_canon *c)
{
	if (w.len == 6 && memcmp(w.p, "simple", 6) == 0)
		*c = DKIM_CANON_SIMPLE;
	else if (w.len == 7 && memcmp(w.p, "relaxed", 7) == 0)
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* dkim_canon_parse - c= value: "h" or "h/b"; body defaults to simple (§3.5) */
int
dkim_canon_parse(struct span v, enum dkim_canon *hc, enum dkim_canon *bc)
{
	const char *slash = memchr(v.p, '/', v.len);

	*bc = DKIM_CANON_SIMPLE;
	if (slash == NULL)
		return dkim_canon_word(v, hc);
	if (dkim_canon_word((struct span){ v.p, (size_t)(slash - v.p) }, hc) < 0)
		return -1;
	return dkim_canon_word((struct span){ slash + 1,
	    v.len - (size_t)(slash - v.p) - 1 }, bc);
}

/* dkim_canon_str - name of a canonicalisation */
const char *
dkim_canon_str(enum dkim_canon c)
{
	return c == DKIM_CANON_SIMPLE ? "simple" : "relaxed";
}

/* dkim_canon_body_init - start a body */
void
dkim_canon_body_init(struct dkim_canon_body *cb, enum dkim_canon c,
    dkim_canon_out out, void *arg)
{
	memset(cb, 0, offsetof(struct dkim_canon_body, stage));
	cb->canon = c;
	cb->out = out;
	cb->arg = arg;
	cb->staged = 0;
}

/* dkim_cb_flush - hand staged output on */
static void
dkim_cb_flush(struct dkim_canon_body *cb)
{
	if (cb->staged)
		cb->out(cb->arg, cb->stage, cb->staged);
	cb->staged = 0;
}

/* A run at least this long goes to out directly instead of being copied into the stage. */
#define DKIM_CB_DIRECT	512

/* dkim_cb_stage - queue output bytes; a long run goes out directly */
static void
dkim_cb_stage(struct dkim_canon_body *cb, const char *p, size_t n)
{
	if (n >= DKIM_CB_DIRECT || n > sizeof(cb->stage) - cb->staged) {
		dkim_cb_flush(cb);
		if (n >= DKIM_CB_DIRECT) {
			cb->out(cb->arg, p, n);
			return;
		}
	}
	memcpy(cb->stage + cb->staged, p, n);
	cb->staged += n;
}

/* dkim_cb_content - line content follows: release withheld line ends and space */
static void
dkim_cb_content(struct dkim_canon_body *cb)
{
	for (; cb->crlf_pending; cb->crlf_pending--)
		dkim_cb_stage(cb, "\r\n", 2);
	if (cb->wsp)
		dkim_cb_stage(cb, " ", 1);
	cb->wsp = false;
	cb->content = true;
}

/* dkim_cb_byte - one content byte (not part of a CRLF) */
static void
dkim_cb_byte(struct dkim_canon_body *cb, char c)
{
	if (cb->canon == DKIM_CANON_RELAXED && dkim_canon_is_wsp(c)) {
		cb->wsp = true;
		return;
	}
	dkim_cb_content(cb);
	dkim_cb_stage(cb, &c, 1);
}

/* dkim_cb_special - a byte that is not plain content: CR, LF after CR, WSP (relaxed) */
static void
dkim_cb_special(struct dkim_canon_body *cb, char c)
{
	if (cb->cr) {
		cb->cr = false;
		if (c == '\n') {
			cb->wsp = false;	/* trailing WSP of the line dropped */
			cb->crlf_pending++;
			return;
		}
		dkim_cb_byte(cb, '\r');	/* a lone CR is content */
	}
	if (c == '\r') {
		cb->cr = true;
		return;
	}
	dkim_cb_byte(cb, c);
}

/*
 * The clean stretch: from a content byte, the bytes that canonicalisation
 * leaves exactly as they are, so they go to the hash straight from the
 * input instead of a pass per line through the state machine above; most
 * bodies are one stretch per chunk.  Simple canonicalisation changes nothing
 * but trailing empty lines; relaxed also changes WSP runs and trailing WSP,
 * so there a stretch stops before a HTAB and before a SP followed by SP or
 * CR.  Its trailing CR and LF bytes (and SP, relaxed) are left to the state
 * machine, since they may turn out to be trailing: so a stretch ends with
 * content, the empty lines inside it are followed by content (not trailing),
 * and the state after it is "after content".  A stretch never starts at SP
 * (relaxed), HTAB (relaxed), CR or LF, so trimming never goes back past its
 * start and every byte is scanned once.
 */

#ifdef __SSE2__
/* dkim_cb_stop_mask - the relaxed stops among the 16 bytes at q (q[16] readable): bit k for byte k */
static unsigned
dkim_cb_stop_mask(const char *q)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
	__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
	__m128i sp = _mm_set1_epi8(' ');
	__m128i y_sp_cr = _mm_or_si128(_mm_cmpeq_epi8(y, sp),
	    _mm_cmpeq_epi8(y, _mm_set1_epi8('\r')));
	__m128i stop = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')),
	    _mm_and_si128(_mm_cmpeq_epi8(x, sp), y_sp_cr));

	return (unsigned)_mm_movemask_epi8(stop);
}
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DKIM_CB_AVX2 1

/* dkim_cb_stop32 - dkim_cb_stop_mask for 32 bytes with AVX2 (q[32] readable) */
static __attribute__((target("avx2"))) unsigned
dkim_cb_stop32(const char *q)
{
	__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)q);
	__m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(q + 1));
	__m256i sp = _mm256_set1_epi8(' ');
	__m256i y_sp_cr = _mm256_or_si256(_mm256_cmpeq_epi8(y, sp),
	    _mm256_cmpeq_epi8(y, _mm256_set1_epi8('\r')));
	__m256i stop = _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\t')),
	    _mm256_and_si256(_mm256_cmpeq_epi8(x, sp), y_sp_cr));

	return (unsigned)_mm256_movemask_epi8(stop);
}

/* dkim_cb_skip_avx2 - k advanced 32 bytes at a time while no stop is in them */
static __attribute__((target("avx2"))) size_t
dkim_cb_skip_avx2(const char *p, size_t k, size_t len)
{
	while (k + 33 <= len && dkim_cb_stop32(p + k) == 0)
		k += 32;
	return k;
}

/* dkim_cb_has_avx2 - the CPU runs AVX2 (asked once) */
static bool
dkim_cb_has_avx2(void)
{
	static int has = -1;

	if (has < 0)
		has = __builtin_cpu_supports("avx2") ? 1 : 0;
	return has == 1;
}
#endif

/* dkim_cb_stop_at - relaxed: the first HTAB, or SP before SP or CR, at or after k; len if none */
static size_t
dkim_cb_stop_at(const char *p, size_t k, size_t len)
{
#ifdef DKIM_CB_AVX2
	/* the scan costs about a tenth of SHA-256's time per byte with SSE2,
	 * half that with AVX2 */
	if (dkim_cb_has_avx2())
		k = dkim_cb_skip_avx2(p, k, len);
#endif
#ifdef __SSE2__
	for (; k + 17 <= len; k += 16) {
		unsigned m = dkim_cb_stop_mask(p + k);

		if (m)
			return k + (size_t)__builtin_ctz(m);
	}
#endif
	for (; k < len; k++)
		if (p[k] == '\t' || (p[k] == ' ' && k + 1 < len &&
		    (p[k + 1] == ' ' || p[k + 1] == '\r')))
			break;
	return k;
}

/* dkim_cb_clean_end - end of the clean stretch at i (p[i] content, not CR/LF/WSP), trailing CR/LF/SP left out */
static size_t
dkim_cb_clean_end(const char *p, size_t i, size_t len, bool relaxed)
{
	size_t end = relaxed ? dkim_cb_stop_at(p, i, len) : len;

	while (end > i && (p[end - 1] == '\r' || p[end - 1] == '\n' ||
	    (relaxed && p[end - 1] == ' ')))
		end--;
	return end;
}

/* dkim_canon_body_update - more body bytes, any split */
void
dkim_canon_body_update(struct dkim_canon_body *cb, const char *p, size_t len)
{
	bool relaxed = cb->canon == DKIM_CANON_RELAXED;
	size_t i = 0, end;

	while (i < len) {
		char c = p[i];

		/* CR, LF (content when lone) and WSP go through the state machine */
		if (cb->cr || c == '\r' || c == '\n' || (relaxed && dkim_canon_is_wsp(c))) {
			dkim_cb_special(cb, c);
			i++;
			continue;
		}
		end = dkim_cb_clean_end(p, i, len, relaxed);
		dkim_cb_content(cb);
		dkim_cb_stage(cb, p + i, end - i);
		i = end;
	}
	dkim_cb_flush(cb);
}

/* dkim_canon_body_final - end of body: emit the canonical tail */
void
dkim_canon_body_final(struct dkim_canon_body *cb)
{
	if (cb->cr) {
		cb->cr = false;
		dkim_cb_byte(cb, '\r');
	}
	if (cb->canon == DKIM_CANON_SIMPLE) {
		/* §3.4.3: trailing empty lines go; an empty body becomes CRLF */
		dkim_cb_stage(cb, "\r\n", 2);
	} else if (cb->content) {
		/* §3.4.4: a non-empty body ends with one CRLF (added if missing) */
		dkim_cb_stage(cb, "\r\n", 2);
	}
	cb->crlf_pending = 0;
	dkim_cb_flush(cb);
}
