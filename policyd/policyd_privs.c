/*
 * policyd_privs.c - give up root after the sockets are bound.
 *
 * Unix sockets are bound for the user (policyd_privs_owner, before binding).
 * policyd needs no privilege after binding: it reads nothing but DNS answers
 * and its configuration (read again on SIGHUP, so it must be readable by the
 * user).  Started as root it must become the configured user and verifies that
 * root cannot be regained; with no user configured it refuses to run.  Started
 * as another user it keeps that identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "policyd.h"
#include "privs.h"

/* policyd_privs_drop - become c->user (required when running as root) */
int
policyd_privs_drop(const struct policyd_config *c)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		log_debug("not started as root: keeping uid %u", (unsigned)geteuid());
		return 0;
	}
	if ((pw = privs_user(c->user)) == NULL)
		return -1;
	return privs_become(pw);
}

/* policyd_privs_owner - as root, unix sockets are bound for c->user: -1 if unusable */
int
policyd_privs_owner(struct policyd_server *s, const struct policyd_config *c)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = privs_user(c->user)) == NULL)
		return -1;
	s->sock_uid = pw->pw_uid;
	s->sock_gid = pw->pw_gid;
	return 0;
}

/* policyd_privs_readable - the configuration file opens with our own ids */
static int
policyd_privs_readable(const char *path)
{
	struct passwd *me = getpwuid(geteuid());
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		log_error("%s: not readable as user %s (read again on reload): %s", path,
		    me ? me->pw_name : "?", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * policyd_privs_check - -t: the run user exists and can read the
 * configuration (the master reads it again on SIGHUP after the drop); as
 * root the read is tried in a child that became the user.  -1 when not.
 */
int
policyd_privs_check(const struct policyd_config *c, const char *path)
{
	struct passwd *pw;
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return policyd_privs_readable(path);
	if ((pw = privs_user(c->user)) == NULL)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(privs_become(pw) < 0 || policyd_privs_readable(path) < 0 ? 1 : 0);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
