/*
 * policyd_proto.c - Postfix policy delegation protocol, server side
 * (Postfix SMTPD_POLICY_README, "Protocol description").
 *
 * A request is a series of "name=value" lines ended by an empty line.  The
 * parser takes bytes as they arrive, split anywhere, and stops after each
 * complete request so that requests are answered one at a time, in order.
 * Limits are enforced before bytes are accumulated (Postfix's own reader has
 * its length check disabled, so this side must bound itself):
 *  - a line longer than line_size_limit, or a request larger than
 *    request_size_limit, loses the framing: FATAL, the connection is closed;
 *  - a request that is framed but wrong (a line without "=", NUL or control
 *    bytes, more than attribute_count_limit lines, a repeated attribute, no
 *    request=smtpd_access_policy, no protocol_state) is read to its end and
 *    reported as BAD_REQUEST: the caller answers with a temporary failure and
 *    keeps the connection.  No verdict is ever made from such a request.
 * Unknown attributes are counted and ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "policyd.h"
#include "util.h"

/* name and its length, known at compile time */
#define POLICYD_PROTO_ATTR(name, attr)	{ name, sizeof(name) - 1, attr }

static const struct {
	const char *name;
	size_t len;
	enum policyd_attr attr;
} policyd_proto_attrs[] = {
	POLICYD_PROTO_ATTR("request", POLICYD_ATTR_REQUEST),
	POLICYD_PROTO_ATTR("protocol_state", POLICYD_ATTR_PROTOCOL_STATE),
	POLICYD_PROTO_ATTR("protocol_name", POLICYD_ATTR_PROTOCOL_NAME),
	POLICYD_PROTO_ATTR("helo_name", POLICYD_ATTR_HELO_NAME),
	POLICYD_PROTO_ATTR("queue_id", POLICYD_ATTR_QUEUE_ID),
	POLICYD_PROTO_ATTR("sender", POLICYD_ATTR_SENDER),
	POLICYD_PROTO_ATTR("recipient", POLICYD_ATTR_RECIPIENT),
	POLICYD_PROTO_ATTR("client_address", POLICYD_ATTR_CLIENT_ADDRESS),
	POLICYD_PROTO_ATTR("client_name", POLICYD_ATTR_CLIENT_NAME),
	POLICYD_PROTO_ATTR("instance", POLICYD_ATTR_INSTANCE),
	POLICYD_PROTO_ATTR("sasl_username", POLICYD_ATTR_SASL_USERNAME),
};

/* The only request type Postfix sends (SMTPD_POLICY_README). */
#define POLICYD_PROTO_REQUEST_TYPE "smtpd_access_policy"

/* policyd_request_get - attribute value, "" when absent */
const char *
policyd_request_get(const struct policyd_request *r, enum policyd_attr a)
{
	return r->attr[a] != NULL ? r->attr[a] : "";
}

/* policyd_request_clear - free the values */
void
policyd_request_clear(struct policyd_request *r)
{
	for (size_t i = 0; i < POLICYD_ATTR_COUNT; i++) {
		free(r->attr[i]);
		r->attr[i] = NULL;
	}
	r->nattrs = 0;
}

/* policyd_proto_init - empty parser with limits */
void
policyd_proto_init(struct policyd_proto *p, const struct policyd_proto_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = *lim;
	/* the spare byte of buf holds the NUL; the limit is checked before appending */
	buf_init(&p->line, lim->line_size_limit + 1);
}

/* policyd_proto_clear - release storage */
void
policyd_proto_clear(struct policyd_proto *p)
{
	policyd_request_clear(&p->req);
	buf_clear(&p->line);
}

/* policyd_proto_next - forget the request, keep the limits */
void
policyd_proto_next(struct policyd_proto *p)
{
	policyd_request_clear(&p->req);
	buf_reset(&p->line);
	p->req_bytes = 0;
	p->error = NULL;
}

/* policyd_proto_idle - no partial request buffered */
bool
policyd_proto_idle(const struct policyd_proto *p)
{
	return p->req_bytes == 0;
}

/* policyd_proto_fail - remember the first problem of this request (why may be NULL) */
static void
policyd_proto_fail(struct policyd_proto *p, const char *why)
{
	if (p->error == NULL)
		p->error = why;
}

/* policyd_proto_bad_byte - NUL and control bytes other than HTAB */
static bool
policyd_proto_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* policyd_proto_attr - store one name=value line; the problem, or NULL */
static const char *
policyd_proto_attr(struct policyd_proto *p, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen;

	if (++p->req.nattrs > p->lim.attribute_count_limit)
		return "too many attributes (attribute_count_limit)";
	for (size_t i = 0; i < len; i++) {
		if (policyd_proto_bad_byte((unsigned char)s[i]))
			return "NUL or control byte in a line";
	}
	if (eq == NULL)
		return "line without \"=\"";
	nlen = (size_t)(eq - s);
	if (nlen == 0)
		return "attribute without a name";
	for (size_t i = 0; i < ARRAY_LEN(policyd_proto_attrs); i++) {
		enum policyd_attr a = policyd_proto_attrs[i].attr;

		if (policyd_proto_attrs[i].len != nlen ||
		    memcmp(policyd_proto_attrs[i].name, s, nlen) != 0)
			continue;
		if (p->req.attr[a] != NULL)
			return "repeated attribute";
		p->req.attr[a] = xmemdup0(eq + 1, len - nlen - 1);
		return NULL;
	}
	return NULL;		/* unknown attributes are ignored */
}

/* policyd_proto_line - one complete line, LF removed */
static bool
policyd_proto_line(struct policyd_proto *p)
{
	size_t len = p->line.len;

	if (len > 0 && p->line.data[len - 1] == '\r')
		len--;		/* tolerated, though Postfix sends LF only */
	if (len == 0)
		return true;	/* end of request */
	if (p->error == NULL)
		policyd_proto_fail(p, policyd_proto_attr(p, p->line.data, len));
	else
		p->req.nattrs++;
	buf_reset(&p->line);
	return false;
}

/* policyd_proto_finish - check a complete request */
static enum policyd_proto_status
policyd_proto_finish(struct policyd_proto *p)
{
	const char *type = p->req.attr[POLICYD_ATTR_REQUEST];

	buf_reset(&p->line);
	if (p->error == NULL && type == NULL)
		policyd_proto_fail(p, "no request attribute");
	else if (p->error == NULL && strcmp(type, POLICYD_PROTO_REQUEST_TYPE) != 0)
		policyd_proto_fail(p, "request type is not smtpd_access_policy");
	else if (p->error == NULL && p->req.attr[POLICYD_ATTR_PROTOCOL_STATE] == NULL)
		policyd_proto_fail(p, "no protocol_state attribute");
	return p->error == NULL ? POLICYD_PROTO_REQUEST : POLICYD_PROTO_BAD_REQUEST;
}

/* policyd_proto_feed - consume bytes up to and including the end of one request */
size_t
policyd_proto_feed(struct policyd_proto *p, const char *data, size_t len,
    enum policyd_proto_status *st)
{
	size_t i = 0;

	*st = POLICYD_PROTO_MORE;
	while (i < len && !p->fatal) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = (nl ? (size_t)(nl - data) : len) - i;

		if (p->line.len + n > p->lim.line_size_limit) {
			p->error = "line longer than line_size_limit";
			p->fatal = true;
			break;
		}
		if (p->req_bytes + n + (nl ? 1 : 0) > p->lim.request_size_limit) {
			p->error = "request larger than request_size_limit";
			p->fatal = true;
			break;
		}
		buf_append(&p->line, data + i, n);
		p->req_bytes += n;
		i += n;
		if (nl == NULL)
			break;
		i++;
		p->req_bytes++;
		if (policyd_proto_line(p)) {
			*st = policyd_proto_finish(p);
			return i;
		}
	}
	if (p->fatal)
		*st = POLICYD_PROTO_FATAL;
	return i;
}
