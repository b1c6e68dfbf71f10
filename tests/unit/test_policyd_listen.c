/*
 * test_policyd_listen.c - policyd's unix listener as root: the socket gets
 * its mode and owner without any call that follows a symbolic link, so
 * someone who can write the socket's directory cannot get a file chowned or
 * chmodded (issue 10, defect 4).  bind() is wrapped (-Wl,--wrap=bind) to act
 * as that attacker at the worst moment: right after the socket is bound, a
 * symbolic link to a root-owned 0600 file replaces whatever is at the
 * socket's path.  Without root the cases are skipped with a message.
 */
#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "policyd.h"

static char dir[64], sock_path[128], target[128], conf_path[128];
static bool race;		/* the bind wrapper plants the link */

int __real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_bind(int fd, const struct sockaddr *sa, socklen_t len);

/* __wrap_bind - bind, then (race) replace the socket's path with a link to target */
int
__wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc = __real_bind(fd, sa, len);

	if (rc == 0 && race && sa->sa_family == AF_UNIX) {
		unlink(sock_path);
		ck_assert_int_eq(symlink(target, sock_path), 0);
	}
	return rc;
}

/* skip_unless_root - true (with a message) when the case cannot run */
static bool
skip_unless_root(void)
{
	if (geteuid() == 0)
		return false;
	fprintf(stderr, "SKIP: policyd socket ownership needs root\n");
	return true;
}

/* setup - a directory with the root-owned 0600 target and the config */
static void
setup(void)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_policyd_listen_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/policyd", dir);
	snprintf(target, sizeof(target), "%s/secret", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/policyd.conf", dir);
	f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fputs("root only\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(target, 0600), 0);
	f = fopen(conf_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "listen = unix:%s\nunix_socket_mode = 0660\nuser = nobody\n",
	    sock_path);
	fclose(f);
	race = false;
}

/* teardown - remove the directory */
static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* open_listeners - policyd_listen_open as main does it; its result */
static int
open_listeners(struct policyd_server *s, struct event_base *base)
{
	struct buf err;
	struct policyd_config *c;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(conf_path, POLICYD_FORMAT_NATIVE, NULL, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
	policyd_server_init(s, base, NULL, c);
	ck_assert_int_eq(policyd_privs_owner(s, c), 0);
	return policyd_listen_open(s, c);
}

/* assert_target_untouched - still root's, mode 0600 */
static void
assert_target_untouched(void)
{
	struct stat st;

	ck_assert_int_eq(lstat(target, &st), 0);
	ck_assert_msg(st.st_uid == 0 && st.st_gid == 0,
	    "target chowned to %u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	ck_assert_msg((st.st_mode & 07777) == 0600, "target mode now %o",
	    (unsigned)(st.st_mode & 07777));
}

START_TEST(listen_unix_link_planted_after_bind_is_not_followed)
{
	struct event_base *base = event_base_new();
	struct passwd *pw = getpwnam("nobody");
	struct policyd_server s;
	struct stat st;

	if (skip_unless_root())
		return;
	ck_assert_ptr_nonnull(pw);
	race = true;
	ck_assert_int_eq(open_listeners(&s, base), 0);
	race = false;
	assert_target_untouched();
	/* the planted link was replaced by the socket, with its owner and mode */
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	ck_assert_uint_eq(st.st_gid, pw->pw_gid);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	policyd_server_clear(&s);
	event_base_free(base);
}
END_TEST

START_TEST(listen_unix_refuses_a_link_at_the_path)
{
	struct event_base *base = event_base_new();
	struct policyd_server s;
	struct stat st;

	if (skip_unless_root())
		return;
	ck_assert_int_eq(symlink(target, sock_path), 0);
	ck_assert_int_eq(open_listeners(&s, base), -1);
	assert_target_untouched();
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	policyd_server_clear(&s);
	event_base_free(base);
}
END_TEST

START_TEST(listen_unix_replaces_a_stale_socket_with_the_exact_mode)
{
	struct event_base *base = event_base_new();
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct policyd_server s;
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	mode_t old = umask(077);

	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(open_listeners(&s, base), 0);
	umask(old);
	ck_assert_int_eq(lstat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	/* unix_socket_mode exactly, whatever the umask */
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	policyd_server_clear(&s);
	event_base_free(base);
}
END_TEST

/* count_entries - names in dir */
static int
count_entries(void)
{
	char cmd[192];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

START_TEST(listen_unix_leaves_no_private_directory_behind)
{
	struct event_base *base = event_base_new();
	struct policyd_server s;

	ck_assert_int_eq(open_listeners(&s, base), 0);
	/* secret, policyd.conf and the socket */
	ck_assert_int_eq(count_entries(), 3);
	policyd_server_clear(&s);
	event_base_free(base);
}
END_TEST

/* listen_suite - the cases */
static Suite *
listen_suite(void)
{
	Suite *su = suite_create("policyd_listen");
	TCase *tc = tcase_create("unix");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, listen_unix_link_planted_after_bind_is_not_followed);
	tcase_add_test(tc, listen_unix_refuses_a_link_at_the_path);
	tcase_add_test(tc, listen_unix_replaces_a_stale_socket_with_the_exact_mode);
	tcase_add_test(tc, listen_unix_leaves_no_private_directory_behind);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	SRunner *sr = srunner_create(listen_suite());
	int failed;

	log_open("test-policyd-listen", LOG_DEST_STDERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
