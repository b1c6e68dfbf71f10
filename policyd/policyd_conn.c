/*
 * policyd_conn.c - one Postfix connection (SMTPD_POLICY_README).
 *
 * Postfix keeps the connection and sends requests one after another.  Bytes
 * are read by our own read event, one read(2) per readable socket (libevent's
 * bufferevent reader asks FIONREAD first: one more system call per request),
 * into the bufferevent's input buffer, and go through the protocol parser; at most one request is in flight per
 * connection, so replies leave in request order even when a client pipelines.
 * Reading stays enabled while a request is evaluated (no event changes per
 * request): bytes that arrive meanwhile wait in the input buffer, bounded by
 * its high watermark, and are parsed after the reply.  Replies are queued in
 * the output buffer and written with one write(2) when a parse pass ends; the
 * write event is armed only when the kernel does not take everything (a
 * client not reading its replies).  The connection is closed only on error: lost
 * framing (over-long line or request), EOF, an idle timeout between requests
 * (idle_timeout), a request still incomplete request_timeout after its first
 * byte (idle_timeout restarts with every byte, so a client trickling bytes
 * would otherwise hold its slot until connection_timeout), the end of its
 * lifetime (connection_timeout, after the reply in flight) or a shutdown
 * (after the reply in flight).  A framed but malformed request gets a
 * temporary-failure reply and the connection stays.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "util.h"

/* Replies queued for a client that does not read them: stop parsing past this. */
#define POLICYD_CONN_OUTPUT_LIMIT	65536
/* Bytes read ahead while a request is evaluated: stop reading past this. */
#define POLICYD_CONN_INPUT_LIMIT	65536
/* One read(2): what a socket buffer of requests holds. */
#define POLICYD_CONN_READ_SIZE	8192
/* The reply to a malformed request: temporary, no verdict (Postfix: 4.3.5). */
#define POLICYD_CONN_BAD_REPLY \
	"DEFER_IF_PERMIT 4.3.5 Policy service error: malformed policy request"

struct policyd_conn {
	struct policyd_conn *prev, *next;
	struct policyd_server *s;
	struct bufferevent *bev;	/* its output; its input filled by rev */
	struct event *rev;		/* readable, or idle_timeout without bytes */
	struct timeval idle;		/* idle_timeout, from the config at accept */
	bool reading;			/* rev is added */
	char *peer;
	struct policyd_proto proto;
	struct policyd_cache_wait *wait;
	struct event *ttl_timer;
	struct event *request_timer;	/* request_timeout of a partial request */
	unsigned request_timeout;	/* seconds, from the config at accept */
	double started;			/* metrics_now() when the request was complete */
	bool busy;			/* a request is being evaluated */
	bool writing;			/* output left over: the write event is armed */
	bool closing;			/* close once the reply in flight is sent */
	bool eof;			/* the client has sent everything */
	bool in_process;		/* inside policyd_conn_process */
	bool freed_in_process;
};

static void policyd_conn_process(struct policyd_conn *c);

/* policyd_conn_read_on - watch the socket (again), idle_timeout restarted */
static void
policyd_conn_read_on(struct policyd_conn *c)
{
	if (event_add(c->rev, &c->idle) == 0)
		c->reading = true;
}

/* policyd_conn_read_off - stop reading (EOF, closing, input buffer full) */
static void
policyd_conn_read_off(struct policyd_conn *c)
{
	event_del(c->rev);
	c->reading = false;
}

/* policyd_conn_free - close and forget the connection */
void
policyd_conn_free(struct policyd_conn *c)
{
	struct policyd_server *s = c->s;

	if (c->in_process) {
		/* the parse loop owns c; it frees on its way out */
		c->freed_in_process = true;
		return;
	}
	if (c->wait != NULL)
		policyd_cache_cancel(s->cache, c->wait);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_free(c->ttl_timer);
	event_free(c->request_timer);
	event_free(c->rev);
	bufferevent_free(c->bev);
	policyd_proto_clear(&c->proto);
	free(c->peer);
	free(c);
	s->nconns--;
	metrics_proc_sessions(-1);
	policyd_server_conn_gone(s);
}

/* policyd_conn_flushed - left-over output written: disarm, then carry on */
static void
policyd_conn_flushed(struct bufferevent *bev, void *arg)
{
	struct policyd_conn *c = arg;

	(void)bev;
	c->writing = false;
	bufferevent_disable(c->bev, EV_WRITE);
	policyd_conn_process(c);
}

/*
 * policyd_conn_flush - write the queued replies now, in one writev(2); arm the
 * write event for what the kernel does not take.  -1: the peer is gone.
 */
static int
policyd_conn_flush(struct policyd_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	int n;

	if (c->writing || evbuffer_get_length(out) == 0)
		return 0;
	/* the bufferevent keeps its output's start frozen for its own writer */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->bev));
	evbuffer_freeze(out, 1);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug("%s: write: %s, closing", c->peer, strerror(errno));
		return -1;
	}
	if (evbuffer_get_length(out) > 0) {
		c->writing = true;
		bufferevent_enable(c->bev, EV_WRITE);
	}
	return 0;
}

/* policyd_conn_reply - "action=...", empty line */
static void
policyd_conn_reply(struct policyd_conn *c, const char *action)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "action=%s\n\n", action);
}

/* policyd_conn_verdict - the outcome of the request in flight is known */
static void
policyd_conn_verdict(void *arg, const struct policyd_outcome *o,
    unsigned *headers_sent)
{
	struct policyd_conn *c = arg;
	struct policyd_decision d;

	c->wait = NULL;
	policyd_decision_init(&d);
	policyd_action_decide(c->s->config, o, &c->proto.req, headers_sent, &d);
	policyd_log_verdict(c->s->config, &c->proto.req, &d);
	policyd_metrics_verdict(o, &d, c->started);
	policyd_conn_reply(c, buf_cstr(&d.action));
	policyd_decision_clear(&d);
	policyd_proto_next(&c->proto);
	c->busy = false;
	if (!c->in_process)
		policyd_conn_process(c);
}

/* policyd_conn_request - a complete, valid request */
static void
policyd_conn_request(struct policyd_conn *c)
{
	const char *state = policyd_request_get(&c->proto.req,
	    POLICYD_ATTR_PROTOCOL_STATE);

	/* SPF is decided at RCPT (pypolicyd-spf's stage); other states: no opinion */
	if (strcmp(state, "RCPT") != 0) {
		log_debug("%s: protocol_state=%s: DUNNO", c->peer, state);
		policyd_conn_reply(c, "DUNNO");
		policyd_proto_next(&c->proto);
		return;
	}
	c->busy = true;
	c->started = metrics_now();
	/* a cached verdict is answered before this returns; else c->busy waits */
	c->wait = policyd_cache_get(c->s->cache, c->s->config, &c->proto.req,
	    policyd_conn_verdict, c);
}

/* policyd_conn_parsed - act on what the parser found; false: stop parsing */
static bool
policyd_conn_parsed(struct policyd_conn *c, enum policyd_proto_status st)
{
	switch (st) {
	case POLICYD_PROTO_MORE:
		return true;
	case POLICYD_PROTO_REQUEST:
		policyd_conn_request(c);
		return true;
	case POLICYD_PROTO_BAD_REQUEST:
		policyd_log_bad_request(c->peer, c->proto.error, false);
		policyd_metrics_malformed();
		policyd_conn_reply(c, POLICYD_CONN_BAD_REPLY);
		policyd_proto_next(&c->proto);
		return true;
	case POLICYD_PROTO_FATAL:
		policyd_log_bad_request(c->peer, c->proto.error, true);
		c->freed_in_process = true;
		return false;
	}
	return false;
}

/*
 * policyd_conn_deadline - arm request_timeout when a request has begun, disarm
 * it once the request is complete (its evaluation does not count)
 */
static void
policyd_conn_deadline(struct policyd_conn *c)
{
	struct timeval tv = { (time_t)c->request_timeout, 0 };

	if (c->busy || policyd_proto_idle(&c->proto))
		evtimer_del(c->request_timer);
	else if (!evtimer_pending(c->request_timer, NULL))
		evtimer_add(c->request_timer, &tv);
}

/*
 * policyd_conn_process - parse buffered input, one request at a time.  A
 * closing connection reads nothing more but still answers the requests it has
 * already received, then goes once its replies are out.
 */
static void
policyd_conn_process(struct policyd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->in_process = true;
	while (!c->busy && !c->freed_in_process && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		enum policyd_proto_status st;
		size_t used;

		if (evbuffer_get_length(out) >= POLICYD_CONN_OUTPUT_LIMIT) {
			if (policyd_conn_flush(c) < 0)
				c->freed_in_process = true;
			if (c->writing)
				break;	/* the flush callback brings us back */
			continue;
		}
		evbuffer_peek(in, -1, NULL, &v, 1);
		used = policyd_proto_feed(&c->proto, v.iov_base, v.iov_len, &st);
		evbuffer_drain(in, used);
		if (!policyd_conn_parsed(c, st))
			break;
	}
	c->in_process = false;
	if (!c->reading && !c->eof && !c->closing && !c->freed_in_process &&
	    evbuffer_get_length(in) < POLICYD_CONN_INPUT_LIMIT)
		policyd_conn_read_on(c);
	policyd_conn_deadline(c);
	if (!c->freed_in_process && policyd_conn_flush(c) < 0)
		c->freed_in_process = true;
	if (c->freed_in_process) {
		c->freed_in_process = false;
		c->busy = false;
		policyd_conn_free(c);
		return;
	}
	if (c->busy || evbuffer_get_length(in) > 0)
		return;		/* a verdict or a flush brings us back */
	if ((c->eof || c->closing) && !policyd_proto_idle(&c->proto))
		log_warn("%s: connection closed in the middle of a request", c->peer);
	if (c->eof)
		c->closing = true;
	if (c->closing && evbuffer_get_length(out) == 0)
		policyd_conn_free(c);
}

static void policyd_conn_event(struct bufferevent *bev, short what, void *arg);

/*
 * policyd_conn_readable - one read(2) into the input buffer, then parse;
 * EOF, an error or idle_timeout go where the bufferevent would send them
 */
static void
policyd_conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		policyd_conn_event(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, c);
		return;
	}
	if (evbuffer_reserve_space(in, POLICYD_CONN_READ_SIZE, &v, 1) < 1)
		log_panic("policyd: evbuffer_reserve_space failed");
	n = read(fd, v.iov_base, v.iov_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		policyd_conn_event(c->bev, BEV_EVENT_READING |
		    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
		return;
	}
	v.iov_len = (size_t)n;
	evbuffer_commit_space(in, &v, 1);
	/* a client that sends without reading replies: wait for the parser */
	if (evbuffer_get_length(in) >= POLICYD_CONN_INPUT_LIMIT)
		policyd_conn_read_off(c);
	policyd_conn_process(c);
}

/* policyd_conn_event - EOF, error or idle timeout */
static void
policyd_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct policyd_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->eof) {
		/*
		 * The client has sent everything (it may only have half-closed):
		 * answer what was received, flush, then close.
		 */
		c->eof = true;
		policyd_conn_read_off(c);
		if (!c->busy)
			policyd_conn_process(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->busy) {
		/* not idle: a request is being evaluated */
		policyd_conn_read_on(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("%s: idle for idle_timeout, closing", c->peer);
	else
		log_debug("%s: connection error, closing", c->peer);
	policyd_conn_free(c);
}

/* policyd_conn_expire - connection_timeout reached */
static void
policyd_conn_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	log_debug("%s: connection_timeout reached", ((struct policyd_conn *)arg)->peer);
	policyd_conn_drain(arg);
}

/* policyd_conn_request_expired - request_timeout reached with a partial request */
static void
policyd_conn_request_expired(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_conn *c = arg;

	(void)fd, (void)what;
	log_warn("%s: request not complete after request_timeout (%us), closing",
	    c->peer, c->request_timeout);
	policyd_conn_free(c);
}

/* policyd_conn_drain - close now if idle, else after the request in flight */
void
policyd_conn_drain(struct policyd_conn *c)
{
	c->closing = true;
	policyd_conn_read_off(c);
	if (!c->busy)
		policyd_conn_process(c);
}

/* policyd_conn_next - the next connection of the server's list */
struct policyd_conn *
policyd_conn_next(const struct policyd_conn *c)
{
	return c->next;
}

/* policyd_conn_new - serve a connected socket */
struct policyd_conn *
policyd_conn_new(struct policyd_server *s, int fd, const char *peer)
{
	const struct policyd_config *cfg = s->config;
	struct policyd_proto_limits lim = { cfg->line_size_limit,
	    cfg->request_size_limit, (unsigned)cfg->attribute_count_limit };
	struct timeval ttl = { (time_t)cfg->connection_timeout, 0 };
	struct policyd_conn *c = xcalloc(1, sizeof(*c));

	c->s = s;
	c->peer = xstrdup(peer);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		log_panic("bufferevent_socket_new failed");
	policyd_proto_init(&c->proto, &lim);
	bufferevent_setcb(c->bev, NULL, policyd_conn_flushed, policyd_conn_event, c);
	/* the bufferevent only writes, and EV_WRITE only while output is left over */
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	/* the bufferevent keeps its input's end frozen for its own reader */
	evbuffer_unfreeze(bufferevent_get_input(c->bev), 0);
	c->idle.tv_sec = (time_t)cfg->idle_timeout;
	c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, policyd_conn_readable, c);
	if (c->rev == NULL)
		log_panic("event_new failed");
	policyd_conn_read_on(c);
	c->ttl_timer = evtimer_new(s->base, policyd_conn_expire, c);
	c->request_timer = evtimer_new(s->base, policyd_conn_request_expired, c);
	c->request_timeout = cfg->request_timeout;
	evtimer_add(c->ttl_timer, &ttl);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	metrics_proc_sessions(1);
	return c;
}
