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
