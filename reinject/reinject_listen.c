/*
 * reinject_listen.c - bind the listeners before privileges are dropped; the
 * sockets are inherited by every worker.
 *
 * Addresses: "addr:port" and "inet:addr:port" (TCP), "unix:/path" (a UNIX
 * socket, the form milter clients use: Postfix smtpd_milters, sendmail
 * INPUT_MAIL_FILTER S=unix:/path).  A UNIX socket left by an earlier run is
 * replaced; anything else at the path (a file, a symlink) is refused.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/util.h>

#include "listenhint.h"
#include "reinject.h"

/* Listen backlog: Postfix opens up to its scan transport's process limit. */
#define REINJECT_LISTEN_BACKLOG	256

/* Mode of a UNIX socket: who may connect is decided by its directory. */
#define REINJECT_LISTEN_UNIX_UMASK	0111

/* reinject_listen_unix_stale - remove an old socket at path, never another file */
static int
reinject_listen_unix_stale(const char *path, struct buf *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		buf_printf(err, "listen unix:%s: exists and is not a socket\n", path);
		return -1;
	}
	return unlink(path);
}

/* reinject_listen_unix - a UNIX stream socket at path */
static int
reinject_listen_unix(struct reinject_listener *l, const char *path,
    struct buf *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path) || path[0] != '/') {
		buf_printf(err, "listen unix:%s: not an absolute path that fits\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (reinject_listen_unix_stale(path, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(REINJECT_LISTEN_UNIX_UMASK);
	/* bind creates the node and never follows a symlink planted there */
	rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(fd, REINJECT_LISTEN_BACKLOG) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0) {
		buf_printf(err, "listen unix:%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

/* reinject_listen_one - socket, bind, listen */
static int
reinject_listen_one(struct reinject_listener *l, struct buf *err)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss), on = 1, fd;
	const char *addr = l->addr;

	if (strncmp(addr, "unix:", 5) == 0)
		return reinject_listen_unix(l, addr + 5, err);
	if (strncmp(addr, "inet:", 5) == 0)
		addr += 5;
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) < 0) {
		buf_printf(err, "listen: cannot parse \"%s\"\n", l->addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0 ||
	    listen(fd, REINJECT_LISTEN_BACKLOG) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0) {
		int e = errno;

		buf_printf(err, "listen %s: %s\n", l->addr, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	l->fd = fd;
	return 0;
}

/*
 * reinject_listen_probe - -t: bind each listener and release it at once; one
 * line per listener that cannot be bound, with the reason.  -1 when any.
 */
int
reinject_listen_probe(struct reinject_conf *c, struct buf *err)
{
	int rc = 0;

	for (size_t i = 0; i < c->nlisteners; i++) {
		struct buf one;

		buf_init(&one, CONFIG_ERROR_LIMIT);
		if (reinject_listen_one(&c->listeners[i], &one) < 0) {
			int e = errno;
			size_t n = one.len;

			buf_printf(err, "%.*s%s\n", (int)(n > 0 ? n - 1 : 0), buf_cstr(&one),
			    listenhint_why(e));
			rc = -1;
		} else {
			close(c->listeners[i].fd);
			c->listeners[i].fd = -1;
		}
		buf_clear(&one);
	}
	return rc;
}

/* reinject_listen_open - bind every listener */
int
reinject_listen_open(struct reinject_conf *c, struct buf *err)
{
	for (size_t i = 0; i < c->nlisteners; i++)
		if (reinject_listen_one(&c->listeners[i], err) < 0)
			return -1;
	return 0;
}
