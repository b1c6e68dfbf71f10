/*
 * syscall_jail.c - run a program under the system call filter a systemd unit
 * would give it, for the tests (no systemd runs there).
 *
 *   syscall-jail FILE PROGRAM [ARG...]
 *
 * FILE holds system call names, one per line, as `systemd-analyze
 * syscall-filter` expands a unit's SystemCallFilter= allow list.  Every call
 * not named fails with EPERM, as with SystemCallErrorNumber=EPERM; names
 * unknown on this architecture are skipped, as systemd does.  no_new_privs
 * is set (systemd sets it with a filter for an unprivileged service; for
 * root it is what NoNewPrivileges=yes in the units asks).  Exit 126 when the
 * filter cannot be applied or the program cannot be run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

/* Longest system call name read from FILE. */
#define JAIL_NAME_MAX	64

/* jail_add - allow one named call; unknown names are skipped; 0/-1 */
static int
jail_add(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0 ? 0 : -1;
}

/* jail_load - the filter of the names in path; 0/-1 */
static int
jail_load(const char *path)
{
	char line[JAIL_NAME_MAX];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	FILE *f = fopen(path, "r");
	int rc = ctx && f ? 0 : -1;

	while (rc == 0 && f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] != '\0' && line[0] != '#' && line[0] != '@')
			rc = jail_add(ctx, line);
	}
	if (f)
		fclose(f);
	if (rc == 0)
		rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
		    seccomp_load(ctx) == 0 ? 0 : -1;
	if (ctx)
		seccomp_release(ctx);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: syscall-jail FILE PROGRAM [ARG...]\n");
		return 126;
	}
	if (jail_load(argv[1]) < 0) {
		fprintf(stderr, "syscall-jail: cannot apply the filter of %s\n", argv[1]);
		return 126;
	}
	execv(argv[2], argv + 2);
	fprintf(stderr, "syscall-jail: %s: %s\n", argv[2], strerror(errno));
	return 126;
}
