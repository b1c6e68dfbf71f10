/*
 * report_mail.c - an RFC 9990 aggregate report as mail ("Email"): the XML
 * compressed with gzip (RFC 1952, through zlib), attached as
 * application/gzip (RFC 6713) in base64 (RFC 2045 §6.8) under the RFC's file
 * name, in a multipart/mixed message (RFC 2046 §5.1.3) with a short text
 * part, the dmarc-subject (folded, RFC 5322 §2.2.3) and the Report-ID as
 * Message-ID.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "report.h"

/* RFC 2045 §6.8: encoded lines of at most 76 characters (57 input bytes) */
#define REPORT_B64_LINE_IN	57
/* gzip: zlib's windowBits 15 plus 16 selects the gzip wrapper */
#define REPORT_GZIP_WBITS	(15 + 16)

/* report_gzip - compress (p, len) into out as one gzip member; 0 or -1 */
int
report_gzip(const char *p, size_t len, struct buf *out)
{
	z_stream z;
	unsigned char chunk[16384];
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, REPORT_GZIP_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		if (rc == Z_STREAM_ERROR || buf_append(out, chunk,
		    sizeof(chunk) - z.avail_out) < 0) {
			deflateEnd(&z);
			return -1;
		}
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

/* mail_base64 - (p, len) in lines of 76 characters */
static void
mail_base64(struct buf *out, const unsigned char *p, size_t len)
{
	unsigned char line[80];

	for (size_t off = 0; off < len; off += REPORT_B64_LINE_IN) {
		size_t n = len - off < REPORT_B64_LINE_IN ? len - off : REPORT_B64_LINE_IN;
		int w = EVP_EncodeBlock(line, p + off, (int)n);

		buf_append(out, line, (size_t)w);
		buf_append_str(out, "\r\n");
	}
}

/* mail_date - RFC 5322 §3.3 date-time in UTC */
static void
mail_date(struct buf *out, time_t t)
{
	char d[64];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(out, "Date: %s\r\n", d);
}

/* mail_header - From, To, Date, the folded Subject, Message-ID, MIME */
static void
mail_header(struct buf *out, const struct report_mail *rm, const char *rid,
    const char *boundary)
{
	buf_printf(out, "From: <%s>\r\nTo: ", rm->meta->email);
	for (size_t i = 0; i < rm->nto; i++)
		buf_printf(out, "%s<%s>", i ? ",\r\n " : "", rm->to[i]);
	buf_append_str(out, "\r\n");
	mail_date(out, rm->date);
	/* dmarc-subject, folded before Submitter: and Report-ID: */
	buf_printf(out, "Subject: Report Domain: %s\r\n Submitter: %s\r\n"
	    " Report-ID: <%s>\r\n", rm->domain, rm->meta->submitter, rid);
	buf_printf(out, "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n", rid, boundary);
}

/* report_mail_build - the whole message into out (CRLF line ends); 0 or -1 */
int
report_mail_build(const struct report_mail *rm, struct buf *out)
{
	char rid[STORE_ID_SIZE], name[1024], boundary[96];
	struct buf gz;
	int rc = -1;

	if (report_id(rid, sizeof(rid), rm->domain, rm->meta->begin,
	    rm->meta->submitter) < 0 ||
	    report_filename(name, sizeof(name), rm->domain, rm->meta) < 0)
		return -1;
	/* the Report-ID never contains "=_", which base64 and text never hold */
	snprintf(boundary, sizeof(boundary), "=_dmarc_%lld", (long long)rm->meta->begin);
	buf_init(&gz, out->max);
	if (report_gzip(rm->xml, rm->xml_len, &gz) < 0)
		goto out;
	mail_header(out, rm, rid, boundary);
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "DMARC aggregate report (RFC 9990) from %s about %s,\r\n"
	    "period %lld to %lld (seconds since 1970, UTC).\r\n\r\n", boundary,
	    rm->meta->submitter, rm->domain, (long long)rm->meta->begin,
	    (long long)rm->meta->end - 1);
	buf_printf(out, "--%s\r\nContent-Type: application/gzip;\r\n name=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n"
	    " filename=\"%s\"\r\n\r\n", boundary, name, name);
	mail_base64(out, (const unsigned char *)gz.data, gz.len);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
	rc = out->overflow ? -1 : 0;
out:
	buf_clear(&gz);
	return rc;
}
