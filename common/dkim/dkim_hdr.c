/*
 * dkim_hdr.c - the header fields of a message as DKIM needs them, and the
 * header part of the signing input (RFC 6376 §3.7, §5.4.2 selection).
 *
 * Fields named in h= are taken bottom-up: the n-th occurrence of a name in
 * h= selects the n-th instance of that field counting from the bottom; a
 * name with no instance left contributes nothing (§5.4.2, oversigning).
 */
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

/* dkim_hdr_name_len - length of the field name (before ":" and WSP) or 0 */
size_t
dkim_hdr_name_len(const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len);
	size_t n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - field);
	while (n && (field[n - 1] == ' ' || field[n - 1] == '\t'))
		n--;
	return n;
}

/* dkim_hdrs_add - store a copy of a raw field */
void
dkim_hdrs_add(struct dkim_hdrs *hs, const char *field, size_t len, size_t name_len)
{
	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 32;
		hs->v = xrealloc(hs->v, hs->cap * sizeof(*hs->v));
	}
	if (len > hs->text_cap - hs->text_len) {
		size_t cap = hs->text_cap ? hs->text_cap : 4096;

		while (cap - hs->text_len < len)
			cap *= 2;
		hs->text = xrealloc(hs->text, cap);
		hs->text_cap = cap;
	}
	memcpy(hs->text + hs->text_len, field, len);
	hs->v[hs->n].off = hs->text_len;
	hs->v[hs->n].len = len;
	hs->v[hs->n].name_len = name_len;
	hs->text_len += len;
	hs->n++;
}

/* dkim_hdrs_clear - free the store */
void
dkim_hdrs_clear(struct dkim_hdrs *hs)
{
	free(hs->text);
	free(hs->v);
	memset(hs, 0, sizeof(*hs));
}

/* dkim_hdr_field - the raw field i */
static struct span
dkim_hdr_field(const struct dkim_hdrs *hs, size_t i)
{
	return (struct span){ hs->text + hs->v[i].off, hs->v[i].len };
}

/* dkim_hdr_is - does field i carry name (case-insensitive) */
static bool
dkim_hdr_is(const struct dkim_hdrs *hs, size_t i, struct span name)
{
	const char *f = hs->text + hs->v[i].off;

	/* the first byte (case bit aside) settles most mismatches without a call */
	return hs->v[i].name_len == name.len && name.len &&
	    (f[0] | 0x20) == (name.p[0] | 0x20) && ascii_mem_eq_ci(f, name.p, name.len);
}

/* dkim_hdrs_count - fields named name (case-insensitive) */
size_t
dkim_hdrs_count(const struct dkim_hdrs *hs, struct span name)
{
	size_t n = 0;

	for (size_t i = 0; i < hs->n; i++)
		if (dkim_hdr_is(hs, i, name))
			n++;
	return n;
}

/* dkim_hdr_signing_input - §3.7 header hash input (see dkim_int.h) */
int
dkim_hdr_signing_input(const struct dkim_hdrs *hs, const struct span *names,
    size_t nnames, enum dkim_canon c, struct span sigfield, size_t b_off,
    size_t b_len, struct buf *out)
{
	bool used_stack[64], *used = hs->n <= 64 ? used_stack :
	    xmalloc(hs->n * sizeof(*used));
	/* a canonical field is never longer than the raw one and a CRLF: one
	 * allocation for the whole input (within out's limit) */
	size_t room = hs->text_len + 2 * nnames + sigfield.len + 2;
	struct buf blank;
	int rc;

	if (room > out->max - out->len)
		room = out->max - out->len;
	buf_reserve(out, room);
	memset(used, 0, (hs->n ? hs->n : 1) * sizeof(*used));
	for (size_t k = 0; k < nnames; k++) {
		for (size_t i = hs->n; i-- > 0;) {
			if (used[i] || !dkim_hdr_is(hs, i, names[k]))
				continue;
			used[i] = true;
			dkim_canon_header(c, dkim_hdr_field(hs, i), out);
			break;
		}
	}
	if (used != used_stack)
		free(used);
	/* the signature field with its b= value (and FWS) removed; a signer's
	 * own field has none yet and goes as it is */
	if (b_len == 0) {
		rc = dkim_canon_header(c, sigfield, out);
	} else {
		buf_init(&blank, sigfield.len + 2);
		buf_reserve(&blank, sigfield.len);
		buf_append(&blank, sigfield.p, b_off);
		buf_append(&blank, sigfield.p + b_off + b_len, sigfield.len - b_off - b_len);
		rc = dkim_canon_header(c, (struct span){ blank.data, blank.len }, out);
		buf_clear(&blank);
	}
	/* the signature field enters without its final CRLF */
	if (rc == 0 && out->len >= 2)
		buf_truncate(out, out->len - 2);
	return rc < 0 || out->overflow ? -1 : 0;
}
