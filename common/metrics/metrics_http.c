/*
 * metrics_http.c - the metrics listener and its HTTP/1.1 server (RFC 9110,
 * RFC 9112, with libevent's evhttp parsing the requests): GET /metrics
 * answers 200 with the exposition (Content-Type text/plain; version=0.0.4);
 * another path is 404; another method is 501 (evhttp refuses a method
 * not allowed).  A request's line and header are bounded by
 * metrics_header_size_limit (past it evhttp answers 400 and closes the
 * connection) and a body is
 * refused; an idle or slow connection is closed after metrics_idle_timeout.
 *
 * At most metrics_connection_limit connections are open at once; one more
 * is closed as soon as it is accepted, the others go on.  libevent 2.1 has
 * no evhttp_set_max_connections, so they are counted here: evhttp asks
 * this file for each new connection's bufferevent (evhttp_set_bevcb), which
 * is kept with a reference of its own until the loop runs the adoption
 * event; by then evhttp has made the connection (the bufferevent's callback
 * argument), which is closed when the limit is reached or else counted in
 * and given a close callback that counts it out.  A bufferevent evhttp
 * freed meanwhile has no callback argument left and is only released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "listenhint.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* A GET has no body: one byte of it is refused (RFC 9110 section 9.3.1). */
#define METRICS_HTTP_BODY_LIMIT		0
/* The exposition's media type (text format 0.0.4). */
#define METRICS_HTTP_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct evhttp *http;
	struct metrics *m;
	int open;			/* connections adopted and not closed */
	int limit;			/* metrics_connection_limit */
	bool warned;			/* at the limit, logged once */
	struct event *adopt;		/* runs metrics_http_adopt */
	struct bufferevent **fresh;	/* made for evhttp, not adopted yet */
	size_t nfresh, fresh_size;
};

/* metrics_listen_port - the port of an IPv4 or IPv6 address, 0 when none */
static unsigned
metrics_listen_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/* metrics_listen_bind - socket, SO_REUSEADDR, bind, listen (see metrics.h) */
int
metrics_listen_bind(const char *spec, int backlog, struct buf *err)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss), on = 1, fd, e;

	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0 ||
	    metrics_listen_port(&ss) == 0) {
		buf_printf(err, "metrics_listen %s: not addr:port\n", spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) == 0 &&
	    listen(fd, backlog) == 0 &&
	    evutil_make_socket_nonblocking(fd) == 0)
		return fd;
	e = errno;
	buf_printf(err, "metrics_listen %s: %s%s\n", spec, strerror(e), listenhint_why(e));
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

/* metrics_listen_check - "" (off) or addr:port with a numeric address */
int
metrics_listen_check(const void *field, struct buf *err)
{
	const char *spec = *(char *const *)field;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);

	if (spec[0] == '\0')
		return 0;
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) == 0 &&
	    metrics_listen_port(&ss) != 0)
		return 0;
	buf_printf(err, "\"%s\" is not addr:port (e.g. 127.0.0.1:9140)", spec);
	return -1;
}

/* metrics_http_reply - the exposition, or 404 for another path */
static void
metrics_http_reply(struct evhttp_request *req, void *arg)
{
	struct metrics_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *body;
	struct buf text;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
		return;
	}
	buf_init(&text, metrics_text_limit(h->m));
	if (metrics_collect(h->m, &text) < 0) {
		log_warn("metrics: the exposition passed %zu bytes", metrics_text_limit(h->m));
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		buf_clear(&text);
		return;
	}
	body = evbuffer_new();
	evbuffer_add(body, text.data, text.len);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    METRICS_HTTP_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	buf_clear(&text);
}

/* metrics_http_closed - evhttp closes an adopted connection: count it out once */
static void
metrics_http_closed(struct evhttp_connection *evcon, void *arg)
{
	struct metrics_http *h = arg;

	/* a reset calls back and so may the free that follows it */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	h->open--;
	h->warned = false;
}

/* metrics_http_take - adopt one fresh connection, or close it past the limit */
static void
metrics_http_take(struct metrics_http *h, struct bufferevent *bev)
{
	struct evhttp_connection *evcon;
	void *arg = NULL;

	/* NULL: evhttp gave up on it already */
	bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
	evcon = arg;
	if (evcon != NULL && h->open >= h->limit) {
		/* once per crossing: a client retrying at once must not flood the log */
		if (!h->warned)
			log_warn("metrics: more than metrics_connection_limit (%d) scrape "
			    "connections; closing the new ones", h->limit);
		h->warned = true;
		evhttp_connection_free(evcon);
	} else if (evcon != NULL) {
		evhttp_connection_set_closecb(evcon, metrics_http_closed, h);
		h->open++;
	}
	bufferevent_decref(bev);
}

/* metrics_http_adopt - the loop is back from evhttp's accept: take the fresh ones */
static void
metrics_http_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *h = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < h->nfresh; i++)
		metrics_http_take(h, h->fresh[i]);
	h->nfresh = 0;
}

/* metrics_http_bev - evhttp's new connection: its bufferevent, kept for adoption */
static struct bufferevent *
metrics_http_bev(struct event_base *base, void *arg)
{
	struct metrics_http *h = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL)
		log_panic("metrics: no bufferevent for a scrape");
	if (h->nfresh == h->fresh_size) {
		h->fresh_size = h->fresh_size ? 2 * h->fresh_size : 8;
		h->fresh = xrealloc(h->fresh, h->fresh_size * sizeof(*h->fresh));
	}
	bufferevent_incref(bev);
	h->fresh[h->nfresh++] = bev;
	event_active(h->adopt, EV_TIMEOUT, 0);
	return bev;
}

/* metrics_http_new - evhttp on the listening socket fd */
struct metrics_http *
metrics_http_new(struct event_base *base, int fd, struct metrics *m,
    const struct metrics_conf *mc)
{
	struct metrics_http *h = xcalloc(1, sizeof(*h));

	h->m = m;
	h->limit = mc->connection_limit;
	if ((h->adopt = event_new(base, -1, 0, metrics_http_adopt, h)) == NULL ||
	    (h->http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(h->http, fd) < 0) {
		log_error("metrics: cannot serve HTTP");
		if (h->http)
			evhttp_free(h->http);
		if (h->adopt)
			event_free(h->adopt);
		free(h);
		return NULL;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(h->http, mc->header_limit);
	evhttp_set_max_body_size(h->http, METRICS_HTTP_BODY_LIMIT);
	evhttp_set_timeout(h->http, (int)mc->idle_timeout);
	evhttp_set_bevcb(h->http, metrics_http_bev, h);
	evhttp_set_gencb(h->http, metrics_http_reply, h);
	return h;
}

/* metrics_http_free - evhttp_free closes the socket and the connections */
void
metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	/* the adopted ones call metrics_http_closed: h lives until after */
	evhttp_free(h->http);
	for (size_t i = 0; i < h->nfresh; i++)
		bufferevent_decref(h->fresh[i]);
	free(h->fresh);
	event_free(h->adopt);
	free(h);
}

/* metrics_conf_same - every limit equal */
bool
metrics_conf_same(const struct metrics_conf *a, const struct metrics_conf *b)
{
	return a->header_limit == b->header_limit && a->idle_timeout == b->idle_timeout &&
	    a->connection_limit == b->connection_limit && a->series_limit == b->series_limit;
}
