/*
 * policyd_privs.c - give up root after the sockets are bound.
 *
 * policyd needs no privilege after binding: it reads nothing but DNS answers
 * and its configuration (read again on SIGHUP, so it must be readable by the
 * user).  Started as root it must become the configured user and verifies that
 * root cannot be regained; with no user configured it refuses to run.  Started
 * as another user it keeps that identity.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policyd.h"

/* policyd_privs_drop - become c->user (required when running as root) */
int
policyd_privs_drop(struct policyd_server *s, const struct policyd_config *c)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		log_debug("not started as root: keeping uid %u", (unsigned)geteuid());
		return 0;
	}
	if (c->user[0] == '\0') {
		log_error("refusing to run as root: set user in the configuration");
		return -1;
	}
	pw = getpwnam(c->user);
	if (pw == NULL || pw->pw_uid == 0) {
		log_error("user %s: %s", c->user, pw == NULL ? "no such user" :
		    "has uid 0; refusing to run as root");
		return -1;
	}
	if (policyd_listen_chown(s, pw->pw_uid, pw->pw_gid) < 0)
		return -1;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("cannot become user %s: %s", c->user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("could regain root after becoming %s", c->user);
		return -1;
	}
	log_info("running as user %s", c->user);
	return 0;
}
