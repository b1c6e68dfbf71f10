/*
 * reinject_msg.c - one message as it is received: header fields kept in memory
 * (bounded by header_size_limit) for the stages and for output, the rest
 * (the empty line and the body) spooled; every byte streamed once through the
 * pipeline stages.  Header/body splitting is common/msg (RFC 5322 §2.2).
 *
 * A header section common/msg refuses (a line without a colon, a field over
 * MSG_HEADER_SIZE_LIMIT, more than MSG_HEADER_COUNT_LIMIT fields), or one
 * over header_size_limit, is not a reason to bounce mail Postfix already
 * accepted: from that line on the message is passed through unparsed ("raw")
 * and the stages see no more fields.  It is never a way around the verdict:
 * the From fields of the unparsed part are still found by a plain line scan
 * (common/mail msg_scan) for the DMARC stage, which treats a From it cannot
 * be sure of as a From error; DKIM is permerror; forged result fields of the
 * unparsed part are removed.
 *
 * Memory: the header fields of all messages of a worker are bounded by
 * header_memory_limit (a message that would pass it gets 452 4.3.1, Postfix
 * retries: never a way around a verdict), and a message that held large
 * buffers gives the freed memory back to the system when it ends.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "reinject.h"

/* Copies of each header field held while a message passes: ours (hdrbuf) and
 * the one common/dkim keeps to verify or sign; header_memory_limit counts both. */
#define REINJECT_MSG_HDR_COPIES	2
/* After a message with buffers at least this large, freed memory is returned
 * to the system, at most every REINJECT_MSG_TRIM_INTERVAL seconds while
 * other messages hold header memory. */
#define REINJECT_MSG_TRIM_SIZE	(256 * 1024)
#define REINJECT_MSG_TRIM_INTERVAL	1

/* reinject_msg_over_memory - would len more header bytes pass header_memory_limit: 452 */
static bool
reinject_msg_over_memory(struct reinject_msg *m, size_t len)
{
	if (m->ctx->header_bytes + REINJECT_MSG_HDR_COPIES * len <=
	    m->conf->header_memory_limit)
		return false;
	m->code = 452;
	snprintf(m->enh, sizeof(m->enh), "4.3.1");
	m->tempfail = "Insufficient system resources: header_memory_limit reached";
	return true;
}

/* reinject_msg_on_header - common/mail/msg.callback: keep the field, tell stages */
static int
reinject_msg_on_header(void *arg, struct span name, struct span field)
{
	struct reinject_msg *m = arg;
	struct reinject_hdr *h;

	if (reinject_msg_over_memory(m, field.len))
		return -1;
	if (buf_append(&m->hdrbuf, field.p, field.len) < 0) {
		/* a verdict, not a bounce: its lines stay in hdrpend, and from
		 * them on the message is raw like any header it cannot take */
		m->raw_why = "header section over header_size_limit";
		return -1;
	}
	m->ctx->header_bytes += REINJECT_MSG_HDR_COPIES * field.len;
	buf_reset(&m->hdrpend);		/* those lines are this field */
	if (m->nhdrs == m->hdrcap) {
		m->hdrcap = m->hdrcap ? m->hdrcap * 2 : 32;
		m->hdrs = xrealloc(m->hdrs, m->hdrcap * sizeof(*m->hdrs));
	}
	h = &m->hdrs[m->nhdrs++];
	h->off = m->hdrbuf.len - field.len;
	h->len = field.len;
	h->name_len = name.len;
	h->removed = false;
	reinject_pipeline_header(m, name, field);
	return 0;
}

/* reinject_msg_on_eoh - common/mail/msg.callback: end of the header section */
static int
reinject_msg_on_eoh(void *arg)
{
	struct reinject_msg *m = arg;

	m->eoh = true;
	reinject_pipeline_eoh(m);
	return 0;
}

/* reinject_msg_on_body - common/mail/msg.callback: body bytes */
static int
reinject_msg_on_body(void *arg, const char *p, size_t len)
{
	struct reinject_msg *m = arg;

	reinject_pipeline_body(m, p, len);
	reinject_spool_write(&m->spool, p, len);
	return 0;
}

static const struct msg_callbacks reinject_msg_cb = {
	reinject_msg_on_header, reinject_msg_on_eoh, reinject_msg_on_body,
};

/* reinject_msg_new - an empty message for a session's transaction */
struct reinject_msg *
reinject_msg_new(struct reinject_ctx *ctx)
{
	struct reinject_msg *m = xcalloc(1, sizeof(*m));
	struct msg_limits lim;

	m->ctx = ctx;
	m->conf = ctx->conf;
	m->started = metrics_now();
	buf_init(&m->hdrbuf, ctx->conf->header_size_limit);
	/* a field the parser refuses is at most its limit and one more line */
	buf_init(&m->hdrpend, MSG_HEADER_SIZE_LIMIT + SMTP_TEXT_LINE_LIMIT + 2);
	buf_init(&m->prepend, 256 * 1024);
	buf_init(&m->signed_by, 4096);
	buf_init(&m->spf, 1024);
	msg_scan_init(&m->from_scan, "From", MSG_HEADER_SIZE_LIMIT);
	reinject_spool_init(&m->spool, ctx->conf->spool_directory,
	    ctx->conf->spool_memory_limit);
	msg_limits_default(&lim);
	m->parser = msg_parser_new(&lim, 0, &reinject_msg_cb, m);
	return m;
}

/*
 * reinject_msg_trim - after large messages, give freed memory back to the
 * system (glibc keeps it otherwise): once no message holds header memory any
 * more (the end of a burst), else at most every REINJECT_MSG_TRIM_INTERVAL
 * seconds, as a trim walks the whole heap and the loop waits for it
 */
static void
reinject_msg_trim(struct reinject_ctx *ctx, bool large)
{
	time_t now = time(NULL);

	ctx->trim_pending |= large;
	if (!ctx->trim_pending || (ctx->header_bytes != 0 &&
	    now - ctx->trimmed < REINJECT_MSG_TRIM_INTERVAL))
		return;
	ctx->trim_pending = false;
	ctx->trimmed = now;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* reinject_msg_free - release everything, cancelling stage work */
void
reinject_msg_free(struct reinject_msg *m)
{
	struct reinject_ctx *ctx;
	bool large;

	if (!m)
		return;
	ctx = m->ctx;
	m->ctx->header_bytes -= REINJECT_MSG_HDR_COPIES * m->hdrbuf.len;
	large = m->hdrbuf.cap + m->hdrpend.cap + m->spool.mem.cap +
	    m->hdrcap * sizeof(*m->hdrs) >= REINJECT_MSG_TRIM_SIZE;
	reinject_pipeline_free(m);
	if (m->parser)
		msg_parser_free(m->parser);
	buf_clear(&m->hdrbuf);
	buf_clear(&m->hdrpend);
	buf_clear(&m->prepend);
	buf_clear(&m->signed_by);
	buf_clear(&m->spf);
	msg_scan_clear(&m->from_scan);
	reinject_spool_clear(&m->spool);
	free(m->hdrs);
	free(m);
	reinject_msg_trim(ctx, large);
}

/*
 * reinject_msg_raw_drop - a line of the unparsed header section that belongs
 * to a field the stages remove when they can parse it: X-Mailauth-DMARC
 * (only ours may reach header_checks) and Authentication-Results (one
 * claiming our authserv-id cannot be told apart unparsed; RFC 8601 §5
 * allows removing the others too)
 */
static bool
reinject_msg_raw_drop(struct reinject_msg *m, const char *p, size_t len)
{
	static const char *const names[] = { REINJECT_DMARC_FIELD, "Authentication-Results" };

	if (len && (p[0] == ' ' || p[0] == '\t'))
		return m->raw_dropping;
	m->raw_dropping = false;
	for (size_t i = 0; i < ARRAY_LEN(names) && !m->raw_dropping; i++) {
		m->raw_dropping = msg_scan_line_is(p, len, names[i]);
		if (m->raw_dropping)
			log_warn("header syntax: %s field removed from the unparsed "
			    "header section", names[i]);
	}
	return m->raw_dropping;
}

/* reinject_msg_raw_line - a line after the refused one: From scan, then spool */
static void
reinject_msg_raw_line(struct reinject_msg *m, const char *p, size_t len)
{
	if (!m->from_scan.done) {
		msg_scan_line(&m->from_scan, p, len);
		if (!m->from_scan.done && reinject_msg_raw_drop(m, p, len))
			return;
	}
	reinject_spool_write(&m->spool, p, len);
}

/*
 * reinject_msg_go_raw - the parser refused the header section: the fields it
 * emitted stay parsed, the lines of the one it held (hdrpend), this line and
 * the rest go to the spool as they came (but for the fields
 * reinject_msg_raw_drop removes); the From scan starts at hdrpend
 */
static void
reinject_msg_go_raw(struct reinject_msg *m, const char *p, size_t len)
{
	const char *q = m->hdrpend.data ? m->hdrpend.data : "";
	size_t left = m->hdrpend.len;

	if (!m->raw_why)
		m->raw_why = msg_parser_error(m->parser);
	log_warn("header syntax: %s; passing the message on unparsed", m->raw_why);
	m->raw = true;
	if (!m->eoh) {
		m->eoh = true;
		reinject_pipeline_eoh(m);
	}
	while (left) {	/* whole lines, as reinject_msg_line appended them */
		const char *lf = memchr(q, '\n', left);
		size_t n = lf ? (size_t)(lf - q) + 1 : left;

		reinject_msg_raw_line(m, q, n);
		q += n;
		left -= n;
	}
	buf_clear(&m->hdrpend);
	reinject_msg_raw_line(m, p, len);
}

/* reinject_msg_line - one decoded message line including its CRLF */
void
reinject_msg_line(struct reinject_msg *m, const char *p, size_t len)
{
	bool in_header;

	m->size += len;
	if (m->action == REINJECT_ACTION_REJECT || m->tempfail)
		return;	/* refused or deferred: the rest is read, not kept */
	if (m->raw) {
		reinject_msg_raw_line(m, p, len);
		return;
	}
	in_header = !m->eoh;
	if (msg_parser_feed(m->parser, p, len) < 0) {
		if (m->action != REINJECT_ACTION_REJECT && !m->tempfail)
			reinject_msg_go_raw(m, p, len);
		return;
	}
	if (!in_header)
		return;
	if (m->eoh)
		/* the empty line: spooled, so output is fields + spool */
		reinject_spool_write(&m->spool, p, len);
	else
		buf_append(&m->hdrpend, p, len);
}

/* reinject_msg_end - all lines seen: flush parser and spool */
int
reinject_msg_end(struct reinject_msg *m)
{
	if (!m->raw && m->action != REINJECT_ACTION_REJECT && !m->tempfail) {
		bool had_eoh = m->eoh;

		if (msg_parser_finish(m->parser) < 0) {
			if (m->action != REINJECT_ACTION_REJECT && !m->tempfail)
				reinject_msg_go_raw(m, "", 0);
		} else if (!had_eoh) {
			reinject_spool_write(&m->spool, "\r\n", 2);
		}
	}
	return reinject_spool_flush(&m->spool);
}

/* reinject_msg_prepend - add a complete field above the others */
void
reinject_msg_prepend(struct reinject_msg *m, const char *field, size_t len)
{
	struct buf n;

	buf_init(&n, m->prepend.max);
	buf_append(&n, field, len);
	buf_append(&n, buf_cstr(&m->prepend), m->prepend.len);
	buf_clear(&m->prepend);
	m->prepend = n;
}

/* reinject_msg_field - header i as a span */
struct span
reinject_msg_field(const struct reinject_msg *m, size_t i)
{
	return (struct span){ m->hdrbuf.data + m->hdrs[i].off, m->hdrs[i].len };
}

/* reinject_msg_field_is - is header i called name */
bool
reinject_msg_field_is(const struct reinject_msg *m, size_t i, const char *name)
{
	struct span f = reinject_msg_field(m, i);

	return span_eq_ci((struct span){ f.p, m->hdrs[i].name_len }, name);
}

/* reinject_msg_field_value - header i's body after the colon */
struct span
reinject_msg_field_value(const struct reinject_msg *m, size_t i)
{
	struct span f = reinject_msg_field(m, i);
	const char *colon = memchr(f.p, ':', f.len);

	if (!colon)
		return (struct span){ f.p + f.len, 0 };
	colon++;
	return (struct span){ colon, f.len - (size_t)(colon - f.p) };
}

/* reinject_msg_reject - a stage's verdict to refuse the message */
void
reinject_msg_reject(struct reinject_msg *m, int code, const char *enh,
    const char *text)
{
	m->action = REINJECT_ACTION_REJECT;
	m->code = code;
	snprintf(m->enh, sizeof(m->enh), "%s", enh);
	snprintf(m->text, sizeof(m->text), "%s", text);
}
