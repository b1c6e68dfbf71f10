/*
 * test_sandbox.c - the workers' seccomp filter (common/core/sandbox.h): once
 * applied, what a worker needs still works (reading a file, a spool file in
 * a directory, sockets on 127.0.0.1, a pipe, unlink) and what a compromised
 * worker would want is refused with EPERM, the process living on: execve,
 * chmod, chown, rename, link, mkdir, kill of another process, a netlink
 * socket, setuid; without SANDBOX_WRITE_FILES (policyd) also opening a file
 * for writing, without SANDBOX_UNLINK unlink, and without SANDBOX_RENAME
 * rename (with it, rename only: link and chmod stay refused).  Each case runs in its own forked child (Check's fork
 * mode), so the filter never reaches the test runner.  Built without
 * libseccomp the cases are skipped with a message.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

static char dir[64], file[128];

/* setup - a directory with one file, made before the filter */
static void
setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_sandbox_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/file", dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs("data\n", f);
	fclose(f);
}

/* teardown - remove it */
static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* confined_as - apply the filter with flags; false (with a message) when not built in */
static bool
confined_as(unsigned flags)
{
	if (!sandbox_available()) {
		fprintf(stderr, "SKIP: built without libseccomp\n");
		return false;
	}
	ck_assert_int_eq(sandbox_enter(flags), 0);
	return true;
}

/* confined - as reinject's workers: spool files written and unlinked */
static bool
confined(void)
{
	return confined_as(SANDBOX_WRITE_FILES | SANDBOX_UNLINK);
}

/* refused - the call's result was -1 with EPERM */
#define refused(call) do { \
	errno = 0; \
	ck_assert_msg((call) == -1 && errno == EPERM, "%s: not refused (errno %d)", \
	    #call, errno); \
} while (0)

START_TEST(sandbox_refuses_execve_and_the_worker_lives_on)
{
	char *const argv[] = { (char *)"/bin/false", NULL };

	if (!confined())
		return;
	/* /bin/false: were it run, the case would end with status 1 */
	refused(execve("/bin/false", argv, NULL));
	refused(execl("/bin/sh", "sh", "-c", "exit 1", (char *)NULL));
	/* still running, still able to write */
	ck_assert_int_eq(write(STDERR_FILENO, "", 0), 0);
}
END_TEST

START_TEST(sandbox_refuses_changing_files_and_other_processes)
{
	char other[160];

	snprintf(other, sizeof(other), "%s/other", dir);
	if (!confined())
		return;
	refused(chmod(file, 0666));
	refused(chown(file, 0, 0));
	refused(rename(file, other));
	refused(link(file, other));
	refused(symlink(file, other));
	refused(mkdir(other, 0700));
	refused(kill(getppid(), 0));
	refused(setuid(0));
	refused(socket(AF_NETLINK, SOCK_RAW, 0));
}
END_TEST

START_TEST(sandbox_allows_what_a_worker_does)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char buf[16];
	int fd, lfd, cfd, p[2];

	if (!confined())
		return;
	/* a file read (a reloaded configuration) */
	fd = open(file, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
	close(fd);
	/* a spool file: O_TMPFILE, or a named one unlinked */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert_int_eq(unlink(file), 0);
	/* TCP on 127.0.0.1: listen, connect, accept, exchange */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send(cfd, "hi", 2, 0), 2);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 2);
	close(fd), close(cfd), close(lfd);
	/* UDP, as DNS goes */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[0]), close(p[1]);
}
END_TEST

/* a reinject worker with a key rollover puts its state file in place by
 * rename, and may do no more than that: link and chmod stay refused */
START_TEST(sandbox_rename_flag_allows_rename_only)
{
	char tmp[160], to[160];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.state.tmp", dir);
	snprintf(to, sizeof(to), "%s/state", dir);
	if (!confined_as(SANDBOX_WRITE_FILES | SANDBOX_UNLINK | SANDBOX_RENAME))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(renameat2(AT_FDCWD, tmp, AT_FDCWD, to, RENAME_NOREPLACE), 0);
	ck_assert_msg(rename(to, tmp) == 0, "rename: %s", strerror(errno));
	refused(link(tmp, to));
	refused(chmod(tmp, 0666));
	ck_assert_int_eq(unlink(tmp), 0);
}
END_TEST

/* policyd's workers write no file: opening for writing or creating is refused */
START_TEST(sandbox_read_only_worker_reads_but_never_writes_files)
{
	char other[160], buf[8];
	int fd;

	snprintf(other, sizeof(other), "%s/new", dir);
	if (!confined_as(0))
		return;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, 4), 4);
	close(fd);
	refused(open(file, O_WRONLY | O_CLOEXEC));
	refused(open(file, O_RDWR | O_APPEND));
	refused(open(other, O_WRONLY | O_CREAT | O_EXCL, 0600));
	refused(open(dir, O_TMPFILE | O_RDWR, 0600));
	refused(unlink(file));
}
END_TEST

/* sandbox_suite - the cases */
static Suite *
sandbox_suite(void)
{
	Suite *su = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	/* in the runner: the cases are confined */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sandbox_refuses_execve_and_the_worker_lives_on);
	tcase_add_test(tc, sandbox_refuses_changing_files_and_other_processes);
	tcase_add_test(tc, sandbox_read_only_worker_reads_but_never_writes_files);
	tcase_add_test(tc, sandbox_allows_what_a_worker_does);
	tcase_add_test(tc, sandbox_rename_flag_allows_rename_only);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	int failed;

	log_open("test-sandbox", LOG_DEST_STDERR);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
