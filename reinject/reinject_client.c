/*
 * reinject_client.c - the downstream SMTP session to Postfix's re-injection
 * smtpd (RFC 5321 §4.1, §4.2; XFORWARD_README).
 *
 * A table of states, each with the reply it waits for, its timeout and its
 * handler.  One command is outstanding at a time: the upstream session only
 * sends the next when it has relayed the previous reply.  Every failure
 * (refused connection, timeout, lost connection, malformed reply, spool read
 * error) ends the session and hands the caller a synthesised 4xx reply, so
 * Postfix keeps the message queued.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "reinject.h"

/* Bound on one downstream reply line (RFC 5321 §4.5.3.1.5 says 512; Postfix
 * replies stay below; a little slack for other servers). */
#define REINJECT_CLIENT_LINE_LIMIT	4096
/* Refill the socket when fewer bytes than this wait to be sent. */
#define REINJECT_CLIENT_LOW_WATER	(64 * 1024)
#define REINJECT_CLIENT_CHUNK		(256 * 1024)

enum reinject_client_state {
	RC_CLOSED,
	RC_CONNECTING,
	RC_GREETING,
	RC_EHLO,
	RC_READY,
	RC_COMMAND,
	RC_DATA,
	RC_BODY,
	RC_DOT,
	RC_STATE_COUNT
};

enum reinject_client_timer { RC_T_NONE, RC_T_CONNECT, RC_T_COMMAND, RC_T_DATA };

struct reinject_client {
	struct reinject_ctx *ctx;
	struct bufferevent *bev;
	enum reinject_client_state state;
	struct smtp_reply reply;
	struct smtp_ehlo ehlo;
	reinject_client_cb cb;
	void *arg;
	struct reinject_out out;
	char label[128];
	unsigned busy;		/* inside one of our callbacks */
	bool dead;		/* freed while busy: release when it returns */
};

typedef void (*reinject_client_fn)(struct reinject_client *c);

static void reinject_client_on_greeting(struct reinject_client *c);
static void reinject_client_on_ehlo(struct reinject_client *c);
static void reinject_client_on_reply(struct reinject_client *c);
static void reinject_client_on_command(struct reinject_client *c);
static void reinject_client_on_354(struct reinject_client *c);
static void reinject_client_on_dot(struct reinject_client *c);

static const struct {
	const char *name;
	enum reinject_client_timer timer;
	reinject_client_fn on_reply;	/* NULL: a reply now is a protocol error */
} reinject_client_states[RC_STATE_COUNT] = {
	[RC_CLOSED] = { "closed", RC_T_NONE, NULL },
	[RC_CONNECTING] = { "connect", RC_T_CONNECT, NULL },
	[RC_GREETING] = { "greeting", RC_T_CONNECT, reinject_client_on_greeting },
	[RC_EHLO] = { "EHLO", RC_T_COMMAND, reinject_client_on_ehlo },
	[RC_READY] = { "idle", RC_T_NONE, NULL },
	[RC_COMMAND] = { "command", RC_T_COMMAND, reinject_client_on_command },
	[RC_DATA] = { "DATA", RC_T_COMMAND, reinject_client_on_354 },
	[RC_BODY] = { "message", RC_T_DATA, NULL },
	[RC_DOT] = { "end of data", RC_T_DATA, reinject_client_on_dot },
};

/* reinject_client_new - an unconnected session */
struct reinject_client *
reinject_client_new(struct reinject_ctx *ctx, const char *peer_label)
{
	struct reinject_client *c = xcalloc(1, sizeof(*c));

	c->ctx = ctx;
	smtp_reply_init(&c->reply);
	snprintf(c->label, sizeof(c->label), "%s", peer_label);
	return c;
}

/* reinject_client_close - drop the connection */
static void
reinject_client_close(struct reinject_client *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->state = RC_CLOSED;
}

/* reinject_client_free - close and release */
void
reinject_client_free(struct reinject_client *c)
{
	if (!c)
		return;
	if (c->bev && c->state == RC_READY) {
		/* RFC 5321 §4.1.1.10: say goodbye; the reply is not awaited, and
		 * nothing else is queued on an idle session */
		(void)send(bufferevent_getfd(c->bev), "QUIT\r\n", 6,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	reinject_client_close(c);
	c->cb = NULL;
	if (c->busy) {
		c->dead = true;
		return;
	}
	smtp_reply_clear(&c->reply);
	free(c);
}

/* reinject_client_unbusy - leave a callback; true when c was freed meanwhile */
static bool
reinject_client_unbusy(struct reinject_client *c)
{
	if (--c->busy || !c->dead)
		return false;
	smtp_reply_clear(&c->reply);
	free(c);
	return true;
}

/* reinject_client_ready - connected and greeted */
bool
reinject_client_ready(const struct reinject_client *c)
{
	return c->state == RC_READY;
}

/* reinject_client_ehlo - the downstream's capabilities */
const struct smtp_ehlo *
reinject_client_ehlo(const struct reinject_client *c)
{
	return &c->ehlo;
}

/* reinject_client_enter - switch state and arm its timeout */
static void
reinject_client_enter(struct reinject_client *c, enum reinject_client_state st)
{
	const struct reinject_conf *cf = c->ctx->conf;
	struct timeval tv = { 0, 0 };

	c->state = st;
	switch (reinject_client_states[st].timer) {
	case RC_T_CONNECT:
		tv.tv_sec = (time_t)cf->downstream_connect_timeout;
		break;
	case RC_T_COMMAND:
		tv.tv_sec = (time_t)cf->downstream_command_timeout;
		break;
	case RC_T_DATA:
		tv.tv_sec = (time_t)cf->downstream_data_timeout;
		break;
	case RC_T_NONE:
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* reinject_client_deliver - hand a reply to the caller */
static void
reinject_client_deliver(struct reinject_client *c, bool failed)
{
	reinject_client_cb cb = c->cb;

	c->cb = NULL;
	if (cb)
		cb(c->arg, &c->reply, failed);
}

/* reinject_client_fail - end the session, answer the caller with a 4xx */
static void
reinject_client_fail(struct reinject_client *c, const char *enh, const char *why)
{
	char line[512];
	const char *st = reinject_client_states[c->state].name;

	log_warn("downstream %s: %s (in %s)", c->label, why, st);
	reinject_client_close(c);
	snprintf(line, sizeof(line), "451 %s Downstream %s: %s in %s", enh,
	    c->label, why, st);
	smtp_reply_reset(&c->reply);
	smtp_reply_feed(&c->reply, line, strlen(line));
	reinject_client_deliver(c, true);
}

/* reinject_client_refused - a reply the state does not allow: 4xx upstream */
static void
reinject_client_refused(struct reinject_client *c, const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "%s answered %d%s%s", what, c->reply.code,
	    c->reply.enh[0] ? " " : "", c->reply.enh);
	reinject_client_fail(c, "4.5.0", why);
}

/* reinject_client_send - write one command line */
static void
reinject_client_send(struct reinject_client *c, const char *line,
    enum reinject_client_state next)
{
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\r\n", line);
	reinject_client_enter(c, next);
}

/* reinject_client_on_greeting - 220, then EHLO */
static void
reinject_client_on_greeting(struct reinject_client *c)
{
	char line[600];

	if (c->reply.code != 220) {
		reinject_client_fail(c, "4.4.1", "greeting refused");
		return;
	}
	snprintf(line, sizeof(line), "EHLO %s", c->ctx->conf->myhostname);
	reinject_client_send(c, line, RC_EHLO);
}

/* reinject_client_on_ehlo - capabilities; the session is ready */
static void
reinject_client_on_ehlo(struct reinject_client *c)
{
	if (c->reply.code != 250) {
		reinject_client_fail(c, "4.4.1", "EHLO refused");
		return;
	}
	smtp_ehlo_parse(&c->reply, &c->ehlo);
	reinject_client_enter(c, RC_READY);
	reinject_client_deliver(c, false);
}

/* reinject_client_on_reply - the reply to a command or to the message */
static void
reinject_client_on_reply(struct reinject_client *c)
{
	reinject_client_enter(c, RC_READY);
	reinject_client_deliver(c, false);
}

/* reinject_client_final - a final reply class: 2xx, 4xx or 5xx (RFC 5321 §4.2.1) */
static bool
reinject_client_final(const struct reinject_client *c)
{
	int cls = smtp_reply_class(&c->reply);

	return cls == 2 || cls == 4 || cls == 5;
}

/*
 * reinject_client_on_command - the reply to MAIL, RCPT, XFORWARD or RSET: a
 * 3xx is not an answer to any of them (§4.3.2) and is never relayed (upstream
 * would take a relayed 354 for its DATA): a 4xx instead
 */
static void
reinject_client_on_command(struct reinject_client *c)
{
	if (!reinject_client_final(c)) {
		reinject_client_refused(c, "a command");
		return;
	}
	reinject_client_on_reply(c);
}

/* reinject_client_pump - send more of the message */
static void
reinject_client_pump(struct reinject_client *c)
{
	int r = reinject_out_fill(&c->out, bufferevent_get_output(c->bev),
	    REINJECT_CLIENT_CHUNK);

	if (r < 0) {
		reinject_client_fail(c, "4.3.0", "spool read error");
		return;
	}
	if (r == 1)
		reinject_client_enter(c, RC_DOT);
}

/*
 * reinject_client_on_354 - go ahead: stream the message.  RFC 5321 §4.1.1.4:
 * anything but 354 means the message was not taken, whatever its class: a 2xx
 * here must never pass for delivery, and a 5xx must not bounce mail that
 * Postfix still holds, so each ends the session with a 4xx upstream.
 */
static void
reinject_client_on_354(struct reinject_client *c)
{
	if (c->reply.code != 354) {
		reinject_client_refused(c, "DATA");
		return;
	}
	reinject_client_enter(c, RC_BODY);
	reinject_client_pump(c);
}

/*
 * reinject_client_on_dot - the reply to the message.  It counts only when it
 * came after the whole message left (a reply read while part of it still
 * waits in our buffer was sent before the server saw the end), and only as
 * 2xx, 4xx or 5xx (RFC 5321 §4.2.1): anything else is a 4xx upstream.
 */
static void
reinject_client_on_dot(struct reinject_client *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		reinject_client_refused(c, "the message before its end");
		return;
	}
	if (!reinject_client_final(c)) {
		reinject_client_refused(c, "the end of data");
		return;
	}
	reinject_client_on_reply(c);
}

/* reinject_client_read - complete reply lines */
static void
reinject_client_read(struct bufferevent *bev, void *arg)
{
	struct reinject_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	c->busy++;
	while (!c->dead && c->bev && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		enum smtp_reply_status st = smtp_reply_feed(&c->reply, line, n);
		reinject_client_fn fn = reinject_client_states[c->state].on_reply;

		free(line);
		if (st == SMTP_REPLY_MORE)
			continue;
		if (st == SMTP_REPLY_BAD || !fn) {
			reinject_client_fail(c, "4.4.2", st == SMTP_REPLY_BAD ?
			    "malformed reply" : "unexpected reply");
			break;
		}
		fn(c);
	}
	if (!c->dead && c->bev &&
	    evbuffer_get_length(in) > REINJECT_CLIENT_LINE_LIMIT)
		reinject_client_fail(c, "4.4.2", "reply line too long");
	reinject_client_unbusy(c);
}

/* reinject_client_write - the socket drained: refill while sending the body */
static void
reinject_client_write(struct bufferevent *bev, void *arg)
{
	struct reinject_client *c = arg;

	(void)bev;
	c->busy++;
	if (c->state == RC_BODY)
		reinject_client_pump(c);
	reinject_client_unbusy(c);
}

/* reinject_client_event - connected, EOF, error or timeout */
static void
reinject_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct reinject_client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int on = 1;

		/* one command per reply: no Nagle delay on the small writes */
		(void)setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY,
		    &on, sizeof(on));
		reinject_client_enter(c, RC_GREETING);
		return;
	}
	if (c->state == RC_READY && !c->cb) {
		/* idle session closed by the server (its timeout): reconnect later */
		reinject_client_close(c);
		return;
	}
	c->busy++;
	if (what & BEV_EVENT_TIMEOUT)
		reinject_client_fail(c, "4.4.2", "timeout");
	else if (c->state == RC_CONNECTING)
		reinject_client_fail(c, "4.4.1", "connection refused");
	else
		reinject_client_fail(c, "4.4.2", "lost connection");
	reinject_client_unbusy(c);
}

/* reinject_client_connect - connect, greet, EHLO */
void
reinject_client_connect(struct reinject_client *c, reinject_client_cb cb,
    void *arg)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	c->cb = cb;
	c->arg = arg;
	smtp_reply_reset(&c->reply);
	if (evutil_parse_sockaddr_port(c->ctx->conf->downstream,
	    (struct sockaddr *)&ss, &sslen) < 0) {
		reinject_client_fail(c, "4.3.5", "bad downstream address");
		return;
	}
	c->bev = bufferevent_socket_new(c->ctx->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, reinject_client_read, reinject_client_write,
	    reinject_client_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, REINJECT_CLIENT_LOW_WATER, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	reinject_client_enter(c, RC_CONNECTING);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sslen) < 0)
		reinject_client_fail(c, "4.4.1", "connect failed");
}

/* reinject_client_command - send one line, wait for its reply */
void
reinject_client_command(struct reinject_client *c, const char *line,
    reinject_client_cb cb, void *arg)
{
	if (c->state != RC_READY)
		log_panic("reinject_client_command in state %s",
		    reinject_client_states[c->state].name);
	c->cb = cb;
	c->arg = arg;
	reinject_client_send(c, line, RC_COMMAND);
}

/* reinject_client_data - DATA, the message, "." */
void
reinject_client_data(struct reinject_client *c, struct reinject_msg *m,
    reinject_client_cb cb, void *arg)
{
	if (c->state != RC_READY)
		log_panic("reinject_client_data in state %s",
		    reinject_client_states[c->state].name);
	c->cb = cb;
	c->arg = arg;
	reinject_out_init(&c->out, m);
	reinject_client_send(c, "DATA", RC_DATA);
}
