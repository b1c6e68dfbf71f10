/*
 * dkim_b64.c - base64 (RFC 4648 §4) as DKIM uses it: b=, bh= and p= values
 * may contain FWS anywhere (RFC 6376 §2.4, §3.5), which is ignored.
 */
#include <string.h>

#include "dkim_int.h"

static const char dkim_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * What each byte is to the decoder: a sextet's value plus one (1-64), FWS
 * (skipped), the pad "=", or 0 for a byte outside the alphabet.  One
 * lookup per byte: b= of an RSA-2048 signature is 344 of them per message.
 */
enum { DKIM_B64_WS = 65, DKIM_B64_PAD = 66 };

static const unsigned char dkim_b64_class[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
	[' '] = DKIM_B64_WS, ['\t'] = DKIM_B64_WS, ['\r'] = DKIM_B64_WS, ['\n'] = DKIM_B64_WS,
	['='] = DKIM_B64_PAD,
};

/* dkim_b64_tail - the bytes of a final group of 2 or 3 sextets; decoded length, or -1 */
static long
dkim_b64_tail(uint32_t acc, size_t sextets, size_t pad, unsigned char *out,
    size_t n, size_t outlen)
{
	switch (sextets % 4) {
	case 0:
		return pad == 0 ? (long)n : -1;
	case 2:
		if (pad > 2 || n + 1 > outlen)
			return -1;
		out[n++] = (unsigned char)(acc >> 4);
		return (long)n;
	case 3:
		if (pad > 1 || n + 2 > outlen)
			return -1;
		out[n++] = (unsigned char)(acc >> 10);
		out[n++] = (unsigned char)(acc >> 2);
		return (long)n;
	default:
		return -1;
	}
}

/* dkim_b64_decode - base64 with FWS ignored; decoded length, or -1 */
long
dkim_b64_decode(struct span in, unsigned char *out, size_t outlen)
{
	uint32_t acc = 0;
	size_t n = 0, sextets = 0, pad = 0;

	for (size_t i = 0; i < in.len; i++) {
		unsigned v = dkim_b64_class[(unsigned char)in.p[i]];

		if (v == DKIM_B64_WS)
			continue;
		if (v == DKIM_B64_PAD) {
			pad++;
			continue;
		}
		if (v == 0 || pad)
			return -1;	/* bad character, or data after padding */
		acc = (acc << 6) | (v - 1);
		if (++sextets % 4 == 0) {
			if (n + 3 > outlen)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	return dkim_b64_tail(acc, sextets, pad, out, n, outlen);
}

/* dkim_b64_encode_to - base64 of in written at o ((len + 2) / 3 * 4 bytes, no NUL); its length */
size_t
dkim_b64_encode_to(const unsigned char *in, size_t len, char *o)
{
	const char *a = dkim_b64_alphabet;
	char *start = o;
	size_t i = 0;

	for (; i + 3 <= len; i += 3, o += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		o[0] = a[v >> 18];
		o[1] = a[(v >> 12) & 63];
		o[2] = a[(v >> 6) & 63];
		o[3] = a[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		o[0] = a[v >> 18];
		o[1] = a[(v >> 12) & 63];
		o[2] = i + 1 < len ? a[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	return (size_t)(o - start);
}

/* dkim_b64_encode - append base64 of in to out; 0/-1 */
int
dkim_b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	/* room for all of it at once, then written in place */
	if (buf_reserve(out, DKIM_B64_LEN(len)) < 0)
		return -1;
	out->len += dkim_b64_encode_to(in, len, out->data + out->len);
	out->data[out->len] = '\0';
	return 0;
}
