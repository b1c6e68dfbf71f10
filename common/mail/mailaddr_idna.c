/*
 * mailaddr_idna.c - domain names to lower-case A-labels (RFC 5890 §2.3.2.1),
 * with the Punycode encoder of RFC 3492 §6.3 for U-labels.
 *
 * RFC 9989 §5.3.1: a U-label Author Domain MUST be converted to an A-label.
 * We encode the code points as given: no IDNA2008 mapping or NFC normalisation
 * (RFC 5891 §5), which a sender using U-labels in From is expected to have
 * applied; ASCII letters are lower-cased.  Malformed UTF-8 is refused.
 */
#include <string.h>

#include "mailaddr.h"

/* RFC 3492 §5 parameters for Punycode */
#define PUNY_BASE	36
#define PUNY_TMIN	1
#define PUNY_TMAX	26
#define PUNY_SKEW	38
#define PUNY_DAMP	700
#define PUNY_INITIAL_BIAS	72
#define PUNY_INITIAL_N	0x80
/* RFC 1035 §2.3.4 */
#define LABEL_SIZE_LIMIT	63
#define NAME_SIZE_LIMIT		253

/* utf8_decode - code points of (p, len) into cp; count, or -1 on bad UTF-8 */
static long
utf8_decode(const unsigned char *p, size_t len, unsigned *cp, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len; n++) {
		unsigned c = p[i], need, min;

		if (n >= max)
			return -1;
		if (c < 0x80) {
			need = 0, min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, min = 0x10000, c &= 0x07;
		} else {
			return -1;
		}
		if (need && i + need >= len)
			return -1;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		cp[n] = c;
		i += need + 1;
	}
	return (long)n;
}

/* puny_digit - RFC 3492 §5 digit value to character */
static char
puny_digit(unsigned d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

/* puny_adapt - RFC 3492 §6.1 bias adaptation */
static unsigned
puny_adapt(unsigned delta, unsigned numpoints, bool first)
{
	unsigned k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

/* puny_encode - RFC 3492 §6.3 encoder; bytes written to out, or -1 */
static long
puny_encode(const unsigned *cp, size_t n, char *out, size_t outmax)
{
	unsigned code = PUNY_INITIAL_N, delta = 0, bias = PUNY_INITIAL_BIAS;
	size_t o = 0, h, b = 0;

	for (size_t j = 0; j < n; j++)
		if (cp[j] < 0x80) {
			if (o >= outmax)
				return -1;
			out[o++] = (char)cp[j];
			b++;
		}
	h = b;
	if (b > 0) {
		if (o >= outmax)
			return -1;
		out[o++] = '-';
	}
	while (h < n) {
		unsigned m = 0xffffffffu;

		for (size_t j = 0; j < n; j++)
			if (cp[j] >= code && cp[j] < m)
				m = cp[j];
		if ((m - code) > (0xffffffffu - delta) / (h + 1))
			return -1;
		delta += (m - code) * (unsigned)(h + 1);
		code = m;
		for (size_t j = 0; j < n; j++) {
			if (cp[j] < code && ++delta == 0)
				return -1;
			if (cp[j] != code)
				continue;
			unsigned q = delta;
			for (unsigned k = PUNY_BASE;; k += PUNY_BASE) {
				unsigned t = k <= bias ? PUNY_TMIN :
				    k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;

				if (q < t)
					break;
				if (o >= outmax)
					return -1;
				out[o++] = puny_digit(t + (q - t) % (PUNY_BASE - t));
				q = (q - t) / (PUNY_BASE - t);
			}
			if (o >= outmax)
				return -1;
			out[o++] = puny_digit(q);
			bias = puny_adapt(delta, (unsigned)(h + 1), h == b);
			delta = 0;
			h++;
		}
		delta++;
		code++;
	}
	return (long)o;
}

/* label_ascii_ok - LDH (and "_") label, no leading/trailing hyphen check (RFC 5891) */
static bool
label_ascii_ok(const char *p, size_t n)
{
	if (n == 0 || n > LABEL_SIZE_LIMIT)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* label_convert - one label to lower-case ASCII or xn--; bytes written, or -1 */
static long
label_convert(const char *p, size_t n, char *out, size_t outmax)
{
	unsigned cp[LABEL_SIZE_LIMIT + 1];
	bool ascii = true;
	long k;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			ascii = false;
	if (ascii) {
		if (n > outmax)
			return -1;
		for (size_t i = 0; i < n; i++)
			out[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i];
		return label_ascii_ok(out, n) ? (long)n : -1;
	}
	k = utf8_decode((const unsigned char *)p, n, cp, LABEL_SIZE_LIMIT + 1);
	if (k <= 0 || outmax < 4)
		return -1;
	for (long i = 0; i < k; i++)
		if (cp[i] >= 'A' && cp[i] <= 'Z')
			cp[i] += 32;
	memcpy(out, "xn--", 4);
	long e = puny_encode(cp, (size_t)k, out + 4, outmax - 4);
	if (e < 0 || !label_ascii_ok(out, (size_t)e + 4))
		return -1;
	return e + 4;
}

/* mailaddr_domain_to_ascii - normalise a domain to lower-case A-labels */
int
mailaddr_domain_to_ascii(const char *p, size_t len, char out[MAILADDR_DOMAIN_SIZE])
{
	size_t o = 0, i = 0;

	if (len && p[len - 1] == '.')
		len--;
	if (len == 0)
		return -1;
	while (i <= len) {
		size_t j = i;
		long k;

		while (j < len && p[j] != '.')
			j++;
		if (o) {
			if (o + 1 >= NAME_SIZE_LIMIT) {
				out[0] = '\0';
				return -1;
			}
			out[o++] = '.';
		}
		k = label_convert(p + i, j - i, out + o, NAME_SIZE_LIMIT - o);
		if (k < 0) {
			out[0] = '\0';
			return -1;
		}
		o += (size_t)k;
		i = j + 1;
	}
	out[o] = '\0';
	return 0;
}
