/*
 * policyd_listen.c - the sockets Postfix connects to: "unix:/path" and
 * "inet:host:port" (host an IPv4 address, [IPv6] address or name), several at
 * once.  Bound before privileges are dropped; unix sockets are then given to
 * the unprivileged user so that a restart can replace them.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/listener.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* Pending connections the kernel queues per listener (listen(2) backlog). */
#define POLICYD_LISTEN_BACKLOG	128

struct policyd_listener {
	struct policyd_listener *next;
	struct evconnlistener *l;
	char *name;
	char *path;			/* unix sockets: unlinked at close */
};

/* policyd_listen_peer - text for logs: address:port or the socket name */
static void
policyd_listen_peer(const struct sockaddr *sa, const char *name, char *out,
    size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(out, size, "%s", name);
	}
}

/* policyd_listen_accept - a new client; refused beyond connection_limit */
static void
policyd_listen_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct policyd_server *s = arg;
	struct policyd_listener *me;
	char peer[INET6_ADDRSTRLEN + 16];

	(void)salen;
	for (me = s->listeners; me != NULL && me->l != l; me = me->next)
		;
	policyd_listen_peer(sa, me ? me->name : "unix", peer, sizeof(peer));
	if (s->draining || s->nconns >= (unsigned)s->config->connection_limit) {
		log_warn("%s: refusing connection: %s", peer, s->draining ?
		    "shutting down" : "connection_limit reached");
		evutil_closesocket(fd);
		return;
	}
	policyd_conn_new(s, fd, peer);
}

/* policyd_listen_unix - bind a unix socket, replacing a stale one */
static int
policyd_listen_unix(const char *path, int mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("unix:%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, (mode_t)mode) < 0 || listen(fd, POLICYD_LISTEN_BACKLOG) < 0) {
		log_error("unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	evutil_make_socket_nonblocking(fd);
	return fd;
}

/* policyd_listen_inet - bind "host:port" */
static int
policyd_listen_inet(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char host[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int fd = -1, on = 1, rc;
	size_t hlen = (size_t)(colon - spec);

	if (spec[0] == '[' && hlen >= 2 && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		log_error("inet:%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, POLICYD_LISTEN_BACKLOG) < 0) {
		log_error("inet:%s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		evutil_make_socket_nonblocking(fd);
	return fd;
}

/* policyd_listen_open - bind every listen entry of c */
int
policyd_listen_open(struct policyd_server *s, const struct policyd_config *c)
{
	for (size_t i = 0; i < c->listen.count; i++) {
		const char *spec = c->listen.items[i];
		bool is_unix = strncmp(spec, "unix:", 5) == 0;
		int fd = is_unix ? policyd_listen_unix(spec + 5, c->unix_socket_mode) :
		    policyd_listen_inet(spec + 5);
		struct policyd_listener *pl;

		if (fd < 0)
			return -1;
		pl = xcalloc(1, sizeof(*pl));
		pl->name = xstrdup(spec);
		pl->path = is_unix ? xstrdup(spec + 5) : NULL;
		pl->l = evconnlistener_new(s->base, policyd_listen_accept, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
		if (pl->l == NULL)
			log_panic("evconnlistener_new failed");
		pl->next = s->listeners;
		s->listeners = pl;
		log_info("listening on %s", spec);
	}
	return 0;
}

/* policyd_listen_chown - give unix sockets to the unprivileged user */
int
policyd_listen_chown(struct policyd_server *s, unsigned uid, unsigned gid)
{
	for (struct policyd_listener *pl = s->listeners; pl; pl = pl->next) {
		if (pl->path != NULL && chown(pl->path, uid, gid) < 0) {
			log_error("unix:%s: chown: %s", pl->path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* policyd_listen_close - stop accepting; unlink unix sockets */
void
policyd_listen_close(struct policyd_server *s)
{
	struct policyd_listener *pl, *next;

	for (pl = s->listeners; pl != NULL; pl = next) {
		next = pl->next;
		evconnlistener_free(pl->l);
		if (pl->path != NULL)
			unlink(pl->path);
		free(pl->path);
		free(pl->name);
		free(pl);
	}
	s->listeners = NULL;
}
