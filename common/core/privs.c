/*
 * privs.c - giving up root (see privs.h).
 */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

/* privs_user - the run user's entry; NULL (logged) when unusable */
struct passwd *
privs_user(const char *user)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0') {
		log_error("refusing to run as root: set user in the configuration");
		return NULL;
	}
	if ((pw = getpwnam(user)) == NULL || pw->pw_uid == 0) {
		log_error("user %s: %s", user, pw == NULL ? "no such user" :
		    "has uid 0; refusing to run as root");
		return NULL;
	}
	return pw;
}

/* privs_become - become pw; 0, or -1 (logged) */
int
privs_become(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("cannot become user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("could regain root after becoming %s", pw->pw_name);
		return -1;
	}
	log_info("running as user %s", pw->pw_name);
	return 0;
}
