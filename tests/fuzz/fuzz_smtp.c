/*
 * fuzz_smtp.c - libFuzzer target for the SMTP command parser (verbs, MAIL/RCPT
 * paths and ESMTP parameters, XFORWARD, xtext), the SMTP reply parser with EHLO
 * capabilities, and the header parsers reinject runs on message headers: the
 * Authentication-Results and Received-SPF parsers (common/mail/authres.c) and the
 * RFC 5322 header/body splitter (common/mail/msg.c) with the lenient From scan
 * (common/mail/msg_scan.c), which must agree with the splitter on what it takes.
 *
 * Every line is a separate exactly-sized allocation, so a read past (pointer,
 * length) is caught.  Any input must give a verdict: never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "msg.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_command - one command line through every command parser */
static void
fuzz_command(const char *p, size_t len)
{
	struct smtp_cmd c;
	struct smtp_path path;
	struct smtp_xforward x = { 0 };
	struct buf b;

	if (smtp_cmd_parse(p, len, &c) != SMTP_CMD_OK)
		return;
	if (smtp_path_parse(c.arg, c.verb == SMTP_VERB_RCPT ? "TO" : "FROM",
	    &path) == SMTP_PATH_OK) {
		uint64_t size;

		for (size_t i = 0; i < path.nparams; i++)
			(void)smtp_param_check(&path.params[i],
			    c.verb == SMTP_VERB_RCPT, &size);
	}
	buf_init(&b, 4096);
	if (!smtp_xforward_parse(c.arg, &x))
		smtp_xforward_format(&x, ~0u, &b);
	smtp_xforward_clear(&x);
	buf_reset(&b);
	if (smtp_xtext_valid(c.arg.p, c.arg.len) &&
	    smtp_xtext_decode(c.arg.p, c.arg.len, &b) < 0 && !b.overflow)
		abort();	/* valid xtext must decode */
	buf_clear(&b);
}

/* fuzz_reply - lines as one reply */
static void
fuzz_reply(struct smtp_reply *r, const char *p, size_t len)
{
	struct smtp_ehlo e;
	struct buf b;

	if (smtp_reply_feed(r, p, len) != SMTP_REPLY_DONE)
		return;
	smtp_ehlo_parse(r, &e);
	buf_init(&b, 65536);
	smtp_reply_relay(&b, r);
	smtp_reply_oneline(r, &b);
	(void)smtp_reply_queue_id(r);
	buf_clear(&b);
}

/* What the splitter emitted, for the msg_scan invariant. */
struct fuzz_msg_seen {
	struct buf from;	/* From values, each after a NUL */
	bool eoh;		/* the end of the header section was seen */
};

static int
fuzz_msg_header(void *arg, struct span name, struct span field)
{
	struct fuzz_msg_seen *seen = arg;
	struct authres_parsed a;
	struct authres_spf s;
	const char *colon = memchr(field.p, ':', field.len);

	if (!colon)
		return 0;
	colon++;
	if (span_eq_ci(name, "From")) {
		buf_append_char(&seen->from, '\0');
		buf_append(&seen->from, colon, field.len - (size_t)(colon - field.p));
	}
	if (span_eq_ci(name, "Authentication-Results")) {
		(void)authres_parse(colon, field.len - (size_t)(colon - field.p), &a);
		(void)authres_claims_id(colon, field.len - (size_t)(colon - field.p),
		    "mx.example");
	} else if (span_eq_ci(name, "Received-SPF")) {
		(void)authres_spf_parse(colon, field.len - (size_t)(colon - field.p), &s);
	}
	return 0;
}

static int
fuzz_msg_eoh(void *arg)
{
	((struct fuzz_msg_seen *)arg)->eoh = true;
	return 0;
}

/*
 * fuzz_scan - invariant of msg_scan (the From scan reinject runs on a header
 * section the splitter refused): on a header section the splitter took whole
 * (CRLF lines, ended by the empty line), the scan finds exactly the From
 * fields the splitter emitted, in order, unless it says it is incomplete
 */
static void
fuzz_scan(const uint8_t *data, size_t size, const struct fuzz_msg_seen *seen,
    bool parsed)
{
	struct msg_scan sc;
	struct buf got;
	char *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	msg_scan_init(&sc, "From", MSG_HEADER_SIZE_LIMIT);
	msg_scan_lines(&sc, copy, size);
	buf_init(&got, seen->from.max);
	for (size_t i = 0; i < sc.count && !sc.overflow; i++) {
		struct span v = msg_scan_value(&sc, i);

		if (v.len && (v.p < sc.values.data ||
		    v.p + v.len > sc.values.data + sc.values.len))
			abort();
		buf_append_char(&got, '\0');
		buf_append(&got, v.p, v.len);
	}
	if (parsed && !sc.overflow && !seen->from.overflow &&
	    (got.len != seen->from.len ||
	    (got.len && memcmp(got.data, seen->from.data, got.len) != 0)))
		abort();
	buf_clear(&got);
	msg_scan_clear(&sc);
	free(copy);
}

/* fuzz_message - the input as a message, split at an input-chosen size */
static void
fuzz_message(const uint8_t *data, size_t size, unsigned flags)
{
	struct fuzz_msg_seen seen = { .eoh = false };
	struct msg_callbacks cb = { fuzz_msg_header, fuzz_msg_eoh, NULL };
	struct msg_parser *m = msg_parser_new(NULL, flags & 1 ? MSG_BARE_LF_OK : 0,
	    &cb, &seen);
	size_t step = 1 + (flags >> 1) % 64;
	bool parsed = true;

	buf_init(&seen.from, 1 << 20);

	for (size_t i = 0; i < size; i += step) {
		size_t n = size - i < step ? size - i : step;
		char *chunk = malloc(n ? n : 1);

		memcpy(chunk, data + i, n);
		if (msg_parser_feed(m, chunk, n) < 0) {
			free(chunk);
			parsed = false;
			break;
		}
		free(chunk);
	}
	/* the empty line must have ended the header section: at finish the
	 * splitter gives a last field without its CRLF one */
	if (!seen.eoh || msg_parser_finish(m) < 0)
		parsed = false;
	msg_parser_free(m);
	/* with MSG_BARE_LF_OK the splitter rewrites line ends: no comparison */
	fuzz_scan(data, size, &seen, parsed && !(flags & 1));
	buf_clear(&seen.from);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct authres_parsed a;
	size_t i = 1;

	if (size < 1)
		return 0;
	smtp_reply_init(&r);
	while (i < size) {
		const uint8_t *nl = memchr(data + i, '\n', size - i);
		size_t orig = nl ? (size_t)(nl - (data + i)) : size - i, n = orig;
		char *line = malloc(n ? n : 1);

		memcpy(line, data + i, n);
		if (n && line[n - 1] == '\r')
			n--;
		fuzz_command(line, n);
		fuzz_reply(&r, line, n);
		(void)authres_parse(line, n, &a);
		free(line);
		i += orig + 1;
		if (!nl)
			break;
	}
	smtp_reply_clear(&r);
	fuzz_message(data + 1, size - 1, data[0]);
	return 0;
}
