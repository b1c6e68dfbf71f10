/*
 * smtp_xtext.c - xtext encoding, RFC 3461 §4.
 *
 * xtext = *( xchar / hexchar ); xchar is "!" through "~" except "+" and "=";
 * hexchar is "+" and two upper-case hex digits.  Postfix also accepts
 * lower-case hex digits on input; so do we.
 */
#include "smtp.h"

/* smtp_xtext_hex - value of a hex digit, -1 if none */
static int
smtp_xtext_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* smtp_xtext_xchar - printable ASCII other than '+' and '=' */
static bool
smtp_xtext_xchar(unsigned char c)
{
	return c >= '!' && c <= '~' && c != '+' && c != '=';
}

/* smtp_xtext_decode - decode xtext into out (NULL: only check it); -1 on malformed input */
int
smtp_xtext_decode(const char *p, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = smtp_xtext_hex(p[i + 1]);
			lo = smtp_xtext_hex(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			if (out)
				buf_append_char(out, (char)(hi * 16 + lo));
			i += 2;
		} else if (smtp_xtext_xchar(c)) {
			if (out)
				buf_append_char(out, (char)c);
		} else {
			return -1;
		}
	}
	return out && out->overflow ? -1 : 0;
}

/* smtp_xtext_valid - is (p, len) well-formed xtext */
bool
smtp_xtext_valid(const char *p, size_t len)
{
	return smtp_xtext_decode(p, len, NULL) == 0;
}

/* smtp_xtext_encode - encode bytes as xtext into out */
int
smtp_xtext_encode(const char *p, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (smtp_xtext_xchar(c)) {
			buf_append_char(out, (char)c);
		} else {
			char e[3] = { '+', hex[c >> 4], hex[c & 15] };

			buf_append(out, e, 3);
		}
	}
	return out->overflow ? -1 : 0;
}
