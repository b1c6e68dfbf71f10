/*
 * report_smtp.c - hand one report message to the relay (by default the local
 * Postfix) over SMTP (RFC 5321 §3.3: EHLO, MAIL, RCPT per recipient, DATA
 * with dot-stuffing §4.5.2, QUIT).  Blocking, with a timeout on every read
 * and write: it runs in the reporting process, never on the message path.
 * Replies are read through common/smtp's reply parser, lines bounded.
 * Outcome: sent (every recipient accepted, or the rest refused for good),
 * tempfail (connection trouble or any 4xx: retry later), permfail (5xx for
 * the transaction or for every recipient).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/util.h>

#include "report.h"
#include "smtp.h"

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF */
#define REPORT_SMTP_LINE_LIMIT	512

struct smtp_conn {
	int fd;
	char in[4096];
	size_t len;
	struct smtp_reply r;
	struct buf *why;
};

/* conn_open - connect to "addr:port" with timeouts on every call; -1 and why */
static int
conn_open(struct smtp_conn *c, const struct report_smtp *cf)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct timeval tv = { (time_t)cf->timeout, 0 };

	if (evutil_parse_sockaddr_port(cf->relay, (struct sockaddr *)&ss, &sslen) < 0) {
		buf_printf(c->why, "relay \"%s\" is not a numeric address:port", cf->relay);
		return -1;
	}
	if ((c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0) {
		buf_printf(c->why, "relay %s: %s", cf->relay, strerror(errno));
		return -1;
	}
	return 0;
}

/* conn_write - all of (p, n); -1 and why */
static int
conn_write(struct smtp_conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			buf_printf(c->why, "write: %s", w < 0 ? strerror(errno) : "closed");
			return -1;
		}
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* conn_line - the next CRLF-terminated line (without it) in c->in; its length,
 * or -1 and why (timeout, close, line over the limit) */
static ssize_t
conn_line(struct smtp_conn *c)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->len);
		ssize_t r;

		if (nl)
			return nl - c->in;
		if (c->len >= REPORT_SMTP_LINE_LIMIT) {
			buf_printf(c->why, "reply line over %d octets", REPORT_SMTP_LINE_LIMIT);
			return -1;
		}
		r = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			buf_printf(c->why, "read: %s", r < 0 ? strerror(errno) : "closed");
			return -1;
		}
		c->len += (size_t)r;
	}
}

/* conn_reply - read one (multi-line) reply; its class (2..5), or -1 */
static int
conn_reply(struct smtp_conn *c)
{
	enum smtp_reply_status st = SMTP_REPLY_MORE;

	smtp_reply_reset(&c->r);
	while (st == SMTP_REPLY_MORE) {
		ssize_t n = conn_line(c);
		size_t len;

		if (n < 0)
			return -1;
		len = (size_t)n > 0 && c->in[n - 1] == '\r' ? (size_t)n - 1 : (size_t)n;
		st = smtp_reply_feed(&c->r, c->in, len);
		c->len -= (size_t)n + 1;
		memmove(c->in, c->in + n + 1, c->len);
	}
	if (st == SMTP_REPLY_BAD) {
		buf_printf(c->why, "malformed reply");
		return -1;
	}
	return smtp_reply_class(&c->r);
}

/* conn_cmd - send one command line, read its reply; class or -1 */
static int
conn_cmd(struct smtp_conn *c, const char *line)
{
	if (conn_write(c, line, strlen(line)) < 0 || conn_write(c, "\r\n", 2) < 0)
		return -1;
	return conn_reply(c);
}

/* conn_refused - record a refusal; its outcome by class */
static enum report_smtp_result
conn_refused(struct smtp_conn *c, const char *what, int cls)
{
	buf_printf(c->why, "%s: %d %s", what, c->r.code, buf_cstr(&c->r.text));
	return cls == 5 ? REPORT_SMTP_PERMFAIL : REPORT_SMTP_TEMPFAIL;
}

/* conn_data - the message, dot-stuffed, then "." */
static int
conn_data(struct smtp_conn *c, const char *msg, size_t len)
{
	bool bol = true;
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (bol && msg[i] == '.') {
			if (conn_write(c, msg + start, i - start) < 0 || conn_write(c, ".", 1) < 0)
				return -1;
			start = i;
		}
		bol = msg[i] == '\n';
	}
	if (conn_write(c, msg + start, len - start) < 0)
		return -1;
	if (len && msg[len - 1] != '\n' && conn_write(c, "\r\n", 2) < 0)
		return -1;
	return conn_write(c, ".\r\n", 3);
}

/* conn_rcpts - RCPT TO for each; recipients accepted, or -1 on a 4xx / error */
static int
conn_rcpts(struct smtp_conn *c, const char *const *to, size_t nto, char *line,
    size_t size)
{
	int ok = 0, cls;

	for (size_t i = 0; i < nto; i++) {
		snprintf(line, size, "RCPT TO:<%s>", to[i]);
		if ((cls = conn_cmd(c, line)) < 0)
			return -1;
		if (cls == 2)
			ok++;
		else if (conn_refused(c, to[i], cls) == REPORT_SMTP_TEMPFAIL)
			return -1;
	}
	return ok;
}

/* conn_transaction - after the greeting: EHLO .. "." */
static enum report_smtp_result
conn_transaction(struct smtp_conn *c, const struct report_smtp *cf, const char *from,
    const char *const *to, size_t nto, const char *msg, size_t len)
{
	char line[DMARC_URI_SIZE_LIMIT + 600];
	int cls, ok;

	snprintf(line, sizeof(line), "EHLO %s", cf->helo);
	if ((cls = conn_cmd(c, line)) != 2)
		return cls < 0 ? REPORT_SMTP_TEMPFAIL : conn_refused(c, "EHLO", cls);
	snprintf(line, sizeof(line), "MAIL FROM:<%s>", from);
	if ((cls = conn_cmd(c, line)) != 2)
		return cls < 0 ? REPORT_SMTP_TEMPFAIL : conn_refused(c, "MAIL", cls);
	if ((ok = conn_rcpts(c, to, nto, line, sizeof(line))) <= 0)
		return ok < 0 ? REPORT_SMTP_TEMPFAIL : REPORT_SMTP_PERMFAIL;
	if ((cls = conn_cmd(c, "DATA")) != 3)
		return cls < 0 ? REPORT_SMTP_TEMPFAIL : conn_refused(c, "DATA", cls);
	if (conn_data(c, msg, len) < 0 || (cls = conn_reply(c)) < 0)
		return REPORT_SMTP_TEMPFAIL;
	if (cls != 2)
		return conn_refused(c, "end of data", cls);
	(void)conn_cmd(c, "QUIT");
	return REPORT_SMTP_SENT;
}

/* report_smtp_send - one message to the relay; the outcome, why set unless sent */
enum report_smtp_result
report_smtp_send(const struct report_smtp *cf, const char *from, const char *const *to,
    size_t nto, const char *msg, size_t len, struct buf *why)
{
	struct smtp_conn c = { .fd = -1, .why = why };
	enum report_smtp_result res = REPORT_SMTP_TEMPFAIL;
	int cls;

	smtp_reply_init(&c.r);
	if (conn_open(&c, cf) == 0) {
		if ((cls = conn_reply(&c)) == 2)
			res = conn_transaction(&c, cf, from, to, nto, msg, len);
		else if (cls > 0)
			res = conn_refused(&c, "greeting", cls);
	}
	if (c.fd >= 0)
		close(c.fd);
	smtp_reply_clear(&c.r);
	return res;
}
