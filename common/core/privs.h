/*
 * privs.h - giving up root after the listening sockets are bound: the run
 * user is looked up and checked first (so a caller can hand it files or
 * sockets), then become, with a check that root cannot be regained.
 */
#ifndef MAILAUTH_PRIVS_H
#define MAILAUTH_PRIVS_H

#include <pwd.h>

/*
 * privs_user - the passwd entry of user (getpwnam's static storage); NULL,
 * logged, when the name is empty, unknown, or has uid 0
 */
struct passwd *privs_user(const char *user);
/* privs_become - the user's groups, gid and uid; root must be gone: 0, or -1 logged */
int privs_become(const struct passwd *pw);

#endif
