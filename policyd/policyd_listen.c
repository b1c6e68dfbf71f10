/*
 * policyd_listen.c - the sockets Postfix connects to: "unix:/path" and
 * "inet:host:port" (host an IPv4 address, [IPv6] address or name), several at
 * once.  Bound before privileges are dropped.  A unix socket is bound in a
 * private directory made beside its path, gets its mode (before bind) and its
 * owner (the unprivileged user, so that a restart can replace it) there, and
 * is renamed into place: nothing done as root follows a symbolic link that
 * someone able to write the socket's directory may plant.
 *
 * Each readiness event accepts one connection.  With worker_processes sharing
 * a listener every worker is woken; one holding more connections than the
 * least loaded worker leaves the connection to the others (retrying after
 * POLICYD_LISTEN_DEFER_MS, taking it anyway after POLICYD_LISTEN_DEFER_LIMIT_MS
 * in case they are stuck), so a burst of connections, as from a Postfix
 * restart or the benchmark, spreads over the workers instead of going to
 * whichever woke first.  Connections are long-lived: this runs rarely.
 *
 * At exit a unix socket is removed when its directory lets the unprivileged
 * user do so (a Postfix queue directory's private/ does not); otherwise it
 * stays, as Postfix's own sockets do, and the next start replaces it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/event.h>

#include "listenhint.h"
#include "log.h"
#include "policyd.h"
#include "util.h"

/* Pending connections the kernel queues per listener (listen(2) backlog). */
#define POLICYD_LISTEN_BACKLOG	128
/* Worker balance: retry interval and longest deferral of a new connection (ms). */
#define POLICYD_LISTEN_DEFER_MS		2
#define POLICYD_LISTEN_DEFER_LIMIT_MS	100

struct policyd_listener {
	struct policyd_listener *next;
	struct policyd_server *s;
	struct event *ev;		/* readable: a connection to accept */
	struct event *retry;		/* accepting again after a deferral */
	long long deferred_since;	/* ms, 0: not deferring */
	long long deferred_last;	/* ms of the latest deferral */
	int fd;
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

/* policyd_listen_now_ms - monotonic milliseconds */
static long long
policyd_listen_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* policyd_listen_retry - watch the listener again after a deferral */
static void
policyd_listen_retry(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_listener *me = arg;

	(void)fd, (void)what;
	event_add(me->ev, NULL);
}

/*
 * policyd_listen_fair - may this worker take a connection now?  Not while it
 * holds more than the least loaded other worker (for a bounded time).
 */
static bool
policyd_listen_fair(struct policyd_listener *me)
{
	const struct policyd_server *s = me->s;
	struct timeval tv = { 0, POLICYD_LISTEN_DEFER_MS * 1000 };
	unsigned least = UINT_MAX;
	long long now;

	if (s->worker_conns == NULL)
		return true;
	for (int i = 0; i < s->nworkers; i++) {
		unsigned n = __atomic_load_n(&s->worker_conns[i], __ATOMIC_RELAXED);

		if (i != s->worker_slot && n < least)
			least = n;	/* UINT_MAX: no worker in that slot */
	}
	now = policyd_listen_now_ms();
	if (now - me->deferred_last > 10 * POLICYD_LISTEN_DEFER_MS)
		me->deferred_since = 0;	/* that one was taken by another worker */
	if (s->nconns <= least || (me->deferred_since != 0 &&
	    now - me->deferred_since >= POLICYD_LISTEN_DEFER_LIMIT_MS)) {
		me->deferred_since = 0;
		return true;
	}
	if (me->deferred_since == 0)
		me->deferred_since = now;
	me->deferred_last = now;
	event_del(me->ev);
	evtimer_add(me->retry, &tv);
	return false;
}

/* policyd_listen_accept - a new client; refused beyond connection_limit */
static void
policyd_listen_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct policyd_listener *me = arg;
	struct policyd_server *s = me->s;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char peer[INET6_ADDRSTRLEN + 16];
	int fd;

	(void)what;
	if (!policyd_listen_fair(me))
		return;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* another worker took it, or the client gave up: nothing to do */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept: %s", me->name, strerror(errno));
		return;
	}
	policyd_listen_peer((struct sockaddr *)&ss, me->name, peer, sizeof(peer));
	if (s->draining || s->nconns >= (unsigned)s->config->connection_limit) {
		log_warn("%s: refusing connection: %s", peer, s->draining ?
		    "shutting down" : "connection_limit reached");
		evutil_closesocket(fd);
		return;
	}
	policyd_conn_new(s, fd, peer);
	policyd_server_conn_count(s);
}

/* policyd_listen_split - path's directory into dir and its last name; -1 if unusable */
static int
policyd_listen_split(const char *path, char *dir, size_t size, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (slash == NULL) {
		snprintf(dir, size, ".");
		*name = path;
		return path[0] ? 0 : -1;
	}
	dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= size || slash[1] == '\0')
		return -1;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*name = slash + 1;
	return 0;
}

/*
 * policyd_listen_bind_in - bind fd to "s" inside the directory tmpfd with
 * exactly the mode fchmod gave the socket (Linux creates the node with the
 * socket's mode less the umask); a relative name, so that the private
 * directory's longer path never meets sun_path's limit
 */
static int
policyd_listen_bind_in(int fd, int tmpfd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "s" };
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1, e;
	mode_t old;

	if (cwd < 0 || fchdir(tmpfd) < 0) {
		e = errno;
		if (cwd >= 0)
			close(cwd);
		errno = e;
		return -1;
	}
	old = umask(0);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old);
	if (fchdir(cwd) < 0)
		log_panic("cannot return to the working directory: %s", strerror(errno));
	close(cwd);
	errno = e;
	return rc;
}

/*
 * policyd_listen_place - the socket fd, bound in a private directory made
 * beside name in dirfd, gets its owner there and is renamed over name.
 * No call follows a symbolic link: the private directory is root's 0700,
 * and rename() replaces a link planted at name instead of following it.
 */
static int
policyd_listen_place(int fd, int dirfd, const char *name, uid_t uid, gid_t gid)
{
	char tmp[64];
	int tmpfd, rc = -1;

	snprintf(tmp, sizeof(tmp), ".policyd-bind.%ld", (long)getpid());
	if (mkdirat(dirfd, tmp, 0700) < 0)
		return -1;
	tmpfd = openat(dirfd, tmp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tmpfd >= 0 && policyd_listen_bind_in(fd, tmpfd) == 0 &&
	    (uid == (uid_t)-1 || fchownat(tmpfd, "s", uid, gid, AT_SYMLINK_NOFOLLOW) == 0) &&
	    renameat(tmpfd, "s", dirfd, name) == 0)
		rc = 0;
	if (rc < 0) {
		int e = errno;

		if (tmpfd >= 0)
			unlinkat(tmpfd, "s", 0);
		errno = e;
	}
	if (tmpfd >= 0)
		close(tmpfd);
	unlinkat(dirfd, tmp, AT_REMOVEDIR);
	return rc;
}

/*
 * policyd_listen_unix - a unix socket at path with mode, owned by uid:gid
 * ((uid_t)-1: left to the caller's own ids), replacing a stale socket; any
 * other file at path is an error, not replaced
 */
static int
policyd_listen_unix(const char *path, int mode, uid_t uid, gid_t gid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *name;
	struct stat st;
	int dirfd = -1, fd = -1;

	if (strlen(path) >= sizeof(dir) ||
	    policyd_listen_split(path, dir, sizeof(dir), &name) < 0) {
		log_error("unix:%s: path too long or without a file name", path);
		return -1;
	}
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISSOCK(st.st_mode)) {
		log_error("unix:%s: exists and is not a socket; not replaced", path);
		close(dirfd);
		return -1;
	}
	if (dirfd < 0 || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    fchmod(fd, (mode_t)mode) < 0 ||
	    policyd_listen_place(fd, dirfd, name, uid, gid) < 0 ||
	    listen(fd, POLICYD_LISTEN_BACKLOG) < 0) {
		log_error("unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (dirfd >= 0)
		close(dirfd);
	if (fd >= 0)
		evutil_make_socket_nonblocking(fd);
	return fd;
}

/* policyd_listen_unix_probe - the socket's directory exists; path is a socket or absent */
static int
policyd_listen_unix_probe(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *name;
	struct stat st;
	int dirfd, rc = 0;

	if (strlen(path) >= sizeof(dir) ||
	    policyd_listen_split(path, dir, sizeof(dir), &name) < 0) {
		log_error("unix:%s: path too long or without a file name", path);
		return -1;
	}
	if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_error("unix:%s: directory %s: %s", path, dir, strerror(errno));
		return -1;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(st.st_mode)) {
		log_error("unix:%s: exists and is not a socket; not replaced", path);
		rc = -1;
	}
	close(dirfd);
	return rc;
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
		int e = errno;

		log_error("inet:%s: %s%s", spec, strerror(e), listenhint_why(e));
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
		int fd = is_unix ? policyd_listen_unix(spec + 5, c->unix_socket_mode,
		    s->sock_uid, s->sock_gid) : policyd_listen_inet(spec + 5);
		struct policyd_listener *pl;

		if (fd < 0)
			return -1;
		pl = xcalloc(1, sizeof(*pl));
		pl->s = s;
		pl->fd = fd;
		pl->name = xstrdup(spec);
		pl->path = is_unix ? xstrdup(spec + 5) : NULL;
		pl->ev = event_new(s->base, fd, EV_READ | EV_PERSIST,
		    policyd_listen_accept, pl);
		pl->retry = evtimer_new(s->base, policyd_listen_retry, pl);
		if (pl->ev == NULL || pl->retry == NULL || event_add(pl->ev, NULL) < 0)
			log_panic("cannot watch listener %s", spec);
		pl->next = s->listeners;
		s->listeners = pl;
		log_info("listening on %s", spec);
	}
	return 0;
}

/*
 * policyd_listen_probe - -t: bind each inet listener and release it; for a
 * unix socket (not bound: that would replace a running daemon's), its
 * directory must exist and the path be a socket or absent.  Every problem
 * is logged; -1 when any.
 */
int
policyd_listen_probe(const struct policyd_config *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->listen.count; i++) {
		const char *spec = c->listen.items[i];
		int fd;

		if (strncmp(spec, "unix:", 5) != 0) {
			if ((fd = policyd_listen_inet(spec + 5)) < 0)
				rc = -1;
			else
				close(fd);
		} else if (policyd_listen_unix_probe(spec + 5) < 0)
			rc = -1;
	}
	return rc;
}

/* policyd_listen_unlink - remove a unix socket; a directory we may not write keeps it */
static void
policyd_listen_unlink(const char *path)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return;
	/* EACCES/EPERM after the privilege drop: the next start replaces it */
	log_debug("unix:%s: left in place: %s", path, strerror(errno));
}

/* policyd_listen_close - stop accepting; unlink unix sockets (not in a worker) */
void
policyd_listen_close(struct policyd_server *s)
{
	struct policyd_listener *pl, *next;

	for (pl = s->listeners; pl != NULL; pl = next) {
		next = pl->next;
		event_free(pl->ev);
		event_free(pl->retry);
		close(pl->fd);
		if (pl->path != NULL && !s->is_worker)
			policyd_listen_unlink(pl->path);
		free(pl->path);
		free(pl->name);
		free(pl);
	}
	s->listeners = NULL;
}
