/*
 * report_redact.c - redaction of local parts in a failure report (RFC 9991
 * "Privacy Considerations": reports expose sender and recipient addresses;
 * RFC 6590 §3: the local part replaced by a string, here a keyed hash that
 * stays the same for the same local part, or a fixed word).  An address is
 * found by its "@": the local part is the dot-atom (RFC 5322 §3.2.3 atext
 * and ".") or the quoted-string (§3.2.4) right before it.  Everything else
 * is copied as it is, so the header section keeps its shape.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "report_failure.h"

/* Hex digits of the hash kept (64 bits: equal local parts stay equal). */
#define REDACT_HASH_HEX		16

/* redact_atext - RFC 5322 §3.2.3 atext, or "." of a dot-atom */
static bool
redact_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* redact_quoted - the opening quote of the quoted-string whose closing quote
 * is p[close], not before done; close itself when there is none */
static size_t
redact_quoted(const char *p, size_t done, size_t close)
{
	for (size_t k = close; k > done; k--)
		if (p[k - 1] == '"' && !(k >= 2 && k - 2 >= done && p[k - 2] == '\\'))
			return k - 1;
	return close;
}

/* redact_start - where the local part ending at at (exclusive) starts, from
 * done (the first byte not yet copied): back over dot-atom text and quoted
 * strings (a quote without its pair counts as text); at when there is none */
static size_t
redact_start(const char *p, size_t done, size_t at)
{
	size_t i = at;

	while (i > done) {
		if (p[i - 1] == '"') {
			size_t open = redact_quoted(p, done, i - 1);

			i = open < i - 1 ? open : i - 1;
		} else if (redact_atext((unsigned char)p[i - 1]))
			i--;
		else
			break;
	}
	return i;
}

/* redact_hash - "h-" and the first hex digits of SHA-256(key NUL local) */
static void
redact_hash(const char *local, size_t len, const char *key, struct buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, key, strlen(key) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, local, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < REDACT_HASH_HEX / 2) {
		/* no hash: never the local part itself */
		buf_append_str(out, REPORT_REDACT_REMOVED);
	} else {
		buf_append_str(out, "h-");
		for (unsigned i = 0; i < REDACT_HASH_HEX / 2; i++)
			buf_printf(out, "%02x", md[i]);
	}
	EVP_MD_CTX_free(ctx);
}

/* report_redact - copy (p, len) with every local part replaced */
void
report_redact(const char *p, size_t len, enum report_redact_mode mode,
    const char *key, struct buf *out)
{
	size_t done = 0;

	if (mode == REPORT_REDACT_KEEP) {
		buf_append(out, p, len);
		return;
	}
	for (size_t at = 0; at < len; at++) {
		size_t start;

		if (p[at] != '@')
			continue;
		start = redact_start(p, done, at);
		buf_append(out, p + done, start - done);
		if (start < at) {
			if (mode == REPORT_REDACT_HASH)
				redact_hash(p + start, at - start, key, out);
			else
				buf_append_str(out, REPORT_REDACT_REMOVED);
		}
		buf_append_char(out, '@');
		done = at + 1;
	}
	buf_append(out, p + done, len - done);
}
