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
		size_t run;

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
		for (run = 1; i + run < f.len && !dkim_canon_hdr_class[p[i + run]]; run++)
			;
		memcpy(o, f.p + i, run);
		o += run;
		i += run;
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

/* dkim_cb_stage - queue output bytes; a run as large as the stage goes out directly */
static void
dkim_cb_stage(struct dkim_canon_body *cb, const char *p, size_t n)
{
	if (n > sizeof(cb->stage) - cb->staged) {
		dkim_cb_flush(cb);
		if (n >= sizeof(cb->stage)) {
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

/* Where the next byte of a kind is in the chunk, found once and reused until passed. */
struct dkim_cb_scan {
	const char *p;
	size_t len;
	size_t cr, tab, dbl;	/* next CR, HTAB, "  "; len when none */
};

/*
 * dkim_cb_find_dbl - offset of the first double SP at or after i, or len.
 * Sixteen bytes at a time with SSE2, then (and without it) eight at a time
 * (glibc's memmem is bytewise for short needles): a byte of m is 0x80
 * exactly where x has a SP, and m & (m >> 8) marks two adjacent ones
 * whatever the byte order; the pair across words is checked separately.
 */
static size_t
dkim_cb_find_dbl(const char *p, size_t i, size_t len)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	const uint64_t spaces = 0x2020202020202020ULL;

#ifdef __SSE2__
	/* sixteen bytes at a time where SSE2 is there (every x86-64): bit k of
	 * m is set where byte i + k is a SP, bit 16 for the byte after */
	const __m128i sp = _mm_set1_epi8(' ');

	for (; i + 17 <= len; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, sp)) |
		    (unsigned)(p[i + 16] == ' ') << 16;

		if (m & (m >> 1))
			break;
	}
#endif
	for (; i + 9 <= len; i += 8) {
		uint64_t x, t, m;

		memcpy(&x, p + i, 8);
		t = x ^ spaces;
		m = ~(((t & low7) + low7) | t | low7);
		if ((m & (m >> 8)) != 0 || (p[i + 7] == ' ' && p[i + 8] == ' '))
			break;
	}
	for (; i + 1 < len; i++)
		if (p[i] == ' ' && p[i + 1] == ' ')
			return i;
	return len;
}

/* dkim_cb_next - offset of the next CR, HTAB or double SP at or after i */
static size_t
dkim_cb_next(const struct dkim_cb_scan *sc, size_t i, int kind)
{
	const char *q;

	if (kind == 2)
		return dkim_cb_find_dbl(sc->p, i, sc->len);
	q = memchr(sc->p + i, kind ? '\t' : '\r', sc->len - i);
	return q ? (size_t)(q - sc->p) : sc->len;
}

/* dkim_cb_refresh - bring a cached offset up to i: searched again only once passed */
static size_t
dkim_cb_refresh(const struct dkim_cb_scan *sc, size_t cached, size_t i, int kind)
{
	return cached < i ? dkim_cb_next(sc, i, kind) : cached;
}

/*
 * dkim_cb_relaxed_run - end of the run at i (p[i] is content, not WSP or CR) that
 * relaxed canonicalisation leaves unchanged: content and single SPs each
 * followed by content within this chunk.  It ends at the next CR, HTAB or
 * double SP, or at the end of the chunk, and a SP just before that stays out
 * (it may be trailing or part of a WSP run).  Each search runs once per chunk
 * until passed, so long lines cost linear time.
 */
static size_t
dkim_cb_relaxed_run(struct dkim_cb_scan *sc, size_t i)
{
	size_t end;

	sc->cr = dkim_cb_refresh(sc, sc->cr, i, 0);
	sc->tab = dkim_cb_refresh(sc, sc->tab, i, 1);
	sc->dbl = dkim_cb_refresh(sc, sc->dbl, i, 2);
	end = sc->cr < sc->tab ? sc->cr : sc->tab;
	if (sc->dbl < end)
		end = sc->dbl;
	if (sc->p[end - 1] == ' ')
		end--;
	return end;
}

/* dkim_canon_body_update - more body bytes, any split */
void
dkim_canon_body_update(struct dkim_canon_body *cb, const char *p, size_t len)
{
	bool relaxed = cb->canon == DKIM_CANON_RELAXED;
	struct dkim_cb_scan sc = { p, len, 0, 0, 0 };
	size_t i = 0, end;

	sc.cr = dkim_cb_next(&sc, 0, 0);
	sc.tab = relaxed ? dkim_cb_next(&sc, 0, 1) : len;
	sc.dbl = relaxed ? dkim_cb_next(&sc, 0, 2) : len;
	while (i < len) {
		char c = p[i];

		if (cb->cr || c == '\r' || (relaxed && dkim_canon_is_wsp(c))) {
			dkim_cb_special(cb, c);
			i++;
			continue;
		}
		if (relaxed) {
			/* content and single SPs between content are already canonical */
			end = dkim_cb_relaxed_run(&sc, i);
		} else {
			/* simple: everything up to the next CR is content */
			sc.cr = dkim_cb_refresh(&sc, sc.cr, i, 0);
			end = sc.cr;
		}
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
