/*
 * metrics_http.c - the metrics listener and its HTTP/1.1 server (RFC 9110,
 * RFC 9112, with libevent's evhttp parsing the requests): GET /metrics
 * answers 200 with the exposition (Content-Type text/plain; version=0.0.4);
 * another path is 404; another method is 501 (evhttp refuses a method
 * not allowed).  A request's header is bounded by METRICS_HTTP_HEADER_LIMIT and
 * a body is refused past METRICS_HTTP_BODY_LIMIT; an idle or slow
 * connection is closed after METRICS_HTTP_TIMEOUT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "listenhint.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* Bytes of one request's header and body; seconds a connection may idle. */
#define METRICS_HTTP_HEADER_LIMIT	8192
#define METRICS_HTTP_BODY_LIMIT		0
#define METRICS_HTTP_TIMEOUT		10
/* Connections waiting to be accepted. */
#define METRICS_LISTEN_BACKLOG		16
/* The exposition's media type (text format 0.0.4). */
#define METRICS_HTTP_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct evhttp *http;
	struct metrics *m;
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
metrics_listen_bind(const char *spec, struct buf *err)
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
	    listen(fd, METRICS_LISTEN_BACKLOG) == 0 &&
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
	buf_init(&text, METRICS_TEXT_LIMIT);
	if (metrics_collect(h->m, &text) < 0) {
		log_warn("metrics: the exposition passed %d bytes", METRICS_TEXT_LIMIT);
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

/* metrics_http_new - evhttp on the listening socket fd */
struct metrics_http *
metrics_http_new(struct event_base *base, int fd, struct metrics *m)
{
	struct metrics_http *h = xcalloc(1, sizeof(*h));

	h->m = m;
	if ((h->http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket(h->http, fd) < 0) {
		log_error("metrics: cannot serve HTTP");
		if (h->http)
			evhttp_free(h->http);
		free(h);
		return NULL;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(h->http, METRICS_HTTP_HEADER_LIMIT);
	evhttp_set_max_body_size(h->http, METRICS_HTTP_BODY_LIMIT);
	evhttp_set_timeout(h->http, METRICS_HTTP_TIMEOUT);
	evhttp_set_gencb(h->http, metrics_http_reply, h);
	return h;
}

/* metrics_http_free - evhttp_free closes the socket and the connections */
void
metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->http);
	free(h);
}
