/*
 * dkim_b64.c - base64 (RFC 4648 §4) as DKIM uses it: b=, bh= and p= values
 * may contain FWS anywhere (RFC 6376 §2.4, §3.5), which is ignored.
 */
#include <string.h>

#include "dkim_int.h"

static const char dkim_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* dkim_b64_value - the 6-bit value of c, -1 if not in the alphabet */
static int
dkim_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* dkim_b64_is_ws - FWS characters skipped inside base64 */
static bool
dkim_b64_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* dkim_b64_decode - base64 with FWS ignored; decoded length, or -1 */
long
dkim_b64_decode(struct span in, unsigned char *out, size_t outlen)
{
	uint32_t acc = 0;
	size_t n = 0, sextets = 0, pad = 0;

	for (size_t i = 0; i < in.len; i++) {
		unsigned char c = (unsigned char)in.p[i];
		int v;

		if (dkim_b64_is_ws((char)c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = dkim_b64_value(c);
		if (v < 0 || pad)
			return -1;	/* bad character, or data after padding */
		acc = (acc << 6) | (uint32_t)v;
		if (++sextets % 4 == 0) {
			if (n + 3 > outlen)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
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

/* dkim_b64_encode - append base64 of in to out; 0/-1 */
int
dkim_b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	char *o;

	/* room for all of it at once, then written in place */
	if (buf_reserve(out, (len + 2) / 3 * 4) < 0)
		return -1;
	o = out->data + out->len;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		q[0] = dkim_b64_alphabet[(v >> 18) & 63];
		q[1] = dkim_b64_alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? dkim_b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? dkim_b64_alphabet[v & 63] : '=';
		memcpy(o, q, 4);
		o += 4;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}
