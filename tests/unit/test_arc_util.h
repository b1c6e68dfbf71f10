/*
 * test_arc_util.h - helpers shared by the reinject tests that need an ARC
 * chain (RFC 8617): a message sealed as instance 1 (cv=none) by
 * example.org/dummy with the RFC 8463 Appendix A RSA key from the shared
 * test data (env MAILAUTH_SHARED), whose key record is TA_SEAL_KEY_TXT.
 */
#ifndef TEST_ARC_UTIL_H
#define TEST_ARC_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "buf.h"
#include "dkim.h"

/* The key record of dummy._domainkey.example.org. */
#define TA_SEAL_KEY_TXT "v=DKIM1; k=rsa; p=" \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQ" \
	"iY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzo" \
	"xZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

/* ta_lf - text without its CRs appended to out */
static inline void
ta_lf(struct buf *out, const char *text)
{
	for (; *text; text++)
		if (*text != '\r')
			buf_append_char(out, *text);
}

/* ta_sealed - msg (CRLF) sealed with the AMS over hdrs and the AAR payload given; set and message, LF line ends; caller frees */
static inline char *
ta_sealed(const char *msg, const char *const *hdrs, const char *payload)
{
	const char *shared = getenv("MAILAUTH_SHARED"), *why;
	struct arc_sign_config c;
	struct arc_sign *s;
	struct buf err, out;
	char path[512], *set;

	snprintf(path, sizeof(path), "%s/testdata/dkim/rfc8463/rsa.key.pem",
	    shared ? shared : "../shared");
	buf_init(&err, 1024);
	arc_sign_config_default(&c);
	/* the shared file's mode is not ours to choose: read as a test key */
	c.key = dkim_key_load_file(path, true, &err);
	ck_assert_msg(c.key != NULL, "%s", buf_cstr(&err));
	c.domain = "example.org";
	c.selector = "dummy";
	c.headers = hdrs;
	ck_assert_ptr_nonnull(s = arc_sign_new(&c, &why));
	ck_assert_int_eq(arc_sign_chunk(s, msg, strlen(msg)), 0);
	set = arc_sign_finish(s, ARC_CV_NONE, payload, &why);
	ck_assert_msg(set != NULL, "%s", why);
	buf_init(&out, 1 << 16);
	ta_lf(&out, set);
	ta_lf(&out, msg);
	free(set);
	arc_sign_free(s);
	EVP_PKEY_free(c.key);
	buf_clear(&err);
	return buf_steal(&out);
}

#endif
