/*
 * policyd_log.c - one log line per verdict, for grep and log parsers.
 *
 * Format (syslog, mail facility; stderr in the foreground):
 *   <queue_id>: spf verdict: client=<addr> helo=<name> sender=<addr>
 *     recipient=<addr> identity=<helo|mailfrom|iprev|none> result=<result>
 *     action=<reject|defer|prepend|dunno|restriction> reason="<text>"
 * queue_id is "NOQUEUE" when Postfix did not send one (at RCPT before the
 * queue file exists, as Postfix itself logs).  Values from the request are
 * reduced to printable ASCII without blanks or quotes breaking the fields.
 */
#include <string.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* Bound on one logged field. */
#define POLICYD_LOG_FIELD_LIMIT	256

/* policyd_log_field - append a value with spaces and quotes replaced */
static void
policyd_log_field(struct buf *b, const char *name, const char *v, bool quoted)
{
	char text[POLICYD_LOG_FIELD_LIMIT];
	size_t n = 0;

	for (; v[n] != '\0' && n < POLICYD_LOG_FIELD_LIMIT; n++) {
		unsigned char c = (unsigned char)v[n];

		if (c < 0x21 || c >= 0x7f || c == '"')
			c = (quoted && c == ' ') ? ' ' : '?';
		text[n] = (char)c;
	}
	buf_append_char(b, ' ');
	buf_append_str(b, name);
	buf_append_str(b, quoted ? "=\"" : "=");
	if (n > 0)
		buf_append(b, text, n);
	if (quoted)
		buf_append_char(b, '"');
}

/* policyd_log_action_word - the kind of action taken */
static const char *
policyd_log_action_word(const struct policyd_decision *d)
{
	if (d->disp == POLICYD_DISP_REJECT)
		return "reject";
	if (d->disp == POLICYD_DISP_DEFER)
		return "defer";
	if (strncmp(buf_cstr(&d->action), "PREPEND ", 8) == 0)
		return "prepend";
	/* anything else accepted is DUNNO or a pass restriction class */
	return strcmp(buf_cstr(&d->action), "DUNNO") == 0 ? "dunno" : "restriction";
}

/* policyd_log_verdict - one grep-parseable line per verdict */
void
policyd_log_verdict(const struct policyd_config *c,
    const struct policyd_request *req, const struct policyd_decision *d)
{
	const char *qid = policyd_request_get(req, POLICYD_ATTR_QUEUE_ID);
	const char *sender = policyd_request_get(req, POLICYD_ATTR_SENDER);
	struct buf b;

	if (c->log_level < 1)
		return;
	buf_init(&b, 2048);
	policyd_log_field(&b, "client", policyd_request_get(req,
	    POLICYD_ATTR_CLIENT_ADDRESS), false);
	policyd_log_field(&b, "helo", policyd_request_get(req, POLICYD_ATTR_HELO_NAME),
	    false);
	policyd_log_field(&b, "sender", sender[0] ? sender : "<>", false);
	policyd_log_field(&b, "recipient", policyd_request_get(req,
	    POLICYD_ATTR_RECIPIENT), false);
	policyd_log_field(&b, "identity", d->identity, false);
	policyd_log_field(&b, "result", d->result_word ? d->result_word :
	    spf_result_str(d->result), false);
	policyd_log_field(&b, "action", policyd_log_action_word(d), false);
	policyd_log_field(&b, "reason", d->reason ? d->reason : "", true);
	log_info("%s: spf verdict:%s", qid[0] ? qid : "NOQUEUE", buf_cstr(&b));
	if (c->log_level >= 2)
		log_debug("%s: reply action=%s", qid[0] ? qid : "NOQUEUE",
		    buf_cstr(&d->action));
	buf_clear(&b);
}

/* policyd_log_bad_request - a malformed request from a peer */
void
policyd_log_bad_request(const char *peer, const char *error, bool closing)
{
	log_warn("bad request from %s: %s; %s", peer, error,
	    closing ? "closing the connection" : "answered with a temporary failure");
}
