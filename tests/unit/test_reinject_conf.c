/*
 * test_reinject_conf.c - reinject.conf: defaults, the shipped sample, listener
 * modes, errors with file:line, the smtp_data_done_timeout budget, and the man
 * page documenting every key with its default.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reinject.h"

/* src_path - a file of the source tree (MAILAUTH_SRC, set by meson) */
static char *
src_path(const char *rel)
{
	const char *src = getenv("MAILAUTH_SRC");
	size_t n;
	char *p;

	ck_assert_msg(src != NULL, "MAILAUTH_SRC not set");
	n = strlen(src) + strlen(rel) + 2;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", src, rel);
	return p;
}

/* write_tmp - a temporary file holding text */
static char *
write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/reinject-conf-XXXXXX");
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

START_TEST(defaults_listen_verify_on_10025)
{
	struct reinject_conf c;
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	ck_assert_int_eq(reinject_conf_load(&c, NULL, &err), 0);
	ck_assert_uint_eq(c.nlisteners, 1);
	ck_assert_str_eq(c.listeners[0].addr, "127.0.0.1:10025");
	ck_assert_int_eq(c.listeners[0].mode, REINJECT_MODE_VERIFY);
	ck_assert_str_eq(c.downstream, "127.0.0.1:10026");
	ck_assert_str_eq(c.authserv_id, c.myhostname);
	ck_assert(c.myhostname[0]);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(sample_config_is_valid_with_sign_listener)
{
	char *p = src_path("etc/reinject.conf");
	struct reinject_conf c;
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	ck_assert_msg(reinject_conf_load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_uint_eq(c.nlisteners, 2);
	ck_assert_int_eq(c.listeners[0].mode, REINJECT_MODE_VERIFY);
	ck_assert_str_eq(c.listeners[1].addr, "127.0.0.1:10027");
	ck_assert_int_eq(c.listeners[1].mode, REINJECT_MODE_SIGN);
	reinject_conf_free(&c);
	free(p);
	buf_clear(&err);
}
END_TEST

static const struct {
	const char *text;
	const char *error;	/* expected in the message */
} bad_cases[] = {
	{ "# ok\nlisten = sign 127.0.0.1:1\n", "mode \"sign\" before any address" },
	{ "listen = localhost\n", "is not address:port" },
	{ "\nrecipient_limit = 0\n", ":2: " },
	{ "\n\nmetrics_connection_limit = 1025\n", ":3: metrics_connection_limit: value 1025 out of range" },
	{ "metrics_idle_timeout = 0\n", ":1: metrics_idle_timeout: value 0 out of range" },
	{ "metrics_header_size_limit = 2m\n", ":1: metrics_header_size_limit: value 2097152 out of range" },
	{ "bare_newline_action = maybe\n", ":1: " },
	{ "long_line_action = cut\n", ":1: " },
	{ "message_size_limit = lots\n", ":1: " },
	{ "no_such_key = 1\n", ":1: " },
	{ "dkim_timeout = 300s\ndownstream_data_timeout = 300s\n", "smtp_data_done_timeout" },
	{ "downstream = nowhere\n", "downstream" },
	/* the client does not resolve names: every message would get 451 */
	{ "downstream = localhost:10026\n", "not a numeric address:port" },
	/* one header section alone would be deferred for ever */
	{ "header_size_limit = 2m\nheader_memory_limit = 1m\n", "header_memory_limit" },
};

START_TEST(bad_config_names_the_problem)
{
	char *p = write_tmp(bad_cases[_i].text);
	struct reinject_conf c;
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	ck_assert_int_eq(reinject_conf_load(&c, p, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), bad_cases[_i].error) != NULL,
	    "expected \"%s\" in \"%s\"", bad_cases[_i].error, buf_cstr(&err));
	if (strchr(bad_cases[_i].error, ':') == bad_cases[_i].error)
		ck_assert_msg(strstr(buf_cstr(&err), p) != NULL, "no file name: %s",
		    buf_cstr(&err));
	reinject_conf_free(&c);
	unlink(p);
	free(p);
	buf_clear(&err);
}
END_TEST

/* man_block - the ".TP\n.B name\n" entry up to the next entry or section */
static char *
man_block(const char *man, const char *name)
{
	char pat[128];
	const char *start, *end, *sh;

	snprintf(pat, sizeof(pat), "\n.TP\n.B %s\n", name);
	if (!(start = strstr(man, pat)))
		return NULL;
	start += strlen(pat);
	end = strstr(start, "\n.TP\n");
	sh = strstr(start, "\n.SH");
	if (!end || (sh && sh < end))
		end = sh;
	return xmemdup0(start, end ? (size_t)(end - start) : strlen(start));
}

START_TEST(man_page_documents_every_key_with_its_default)
{
	char *p = src_path("man/reinject.conf.5");
	struct buf err;
	size_t len;
	char *man;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	man = config_read_file(p, &len, &err);
	ck_assert_msg(man != NULL, "%s", buf_cstr(&err));
	for (size_t i = 0; i < reinject_conf_schema.nkeys; i++) {
		const struct config_key *k = &reinject_conf_schema.keys[i];
		char *block = man_block(man, k->name);

		ck_assert_msg(block != NULL, "reinject.conf.5 does not document %s", k->name);
		if (k->def[0])
			ck_assert_msg(strstr(block, k->def) != NULL,
			    "reinject.conf.5: %s lacks its default \"%s\"", k->name, k->def);
		else
			ck_assert_msg(strstr(block, "default empty") != NULL,
			    "reinject.conf.5: %s lacks \"default empty\"", k->name);
		free(block);
	}
	free(man);
	free(p);
	buf_clear(&err);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("reinject_conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_listen_verify_on_10025);
	tcase_add_test(tc, sample_config_is_valid_with_sign_listener);
	tcase_add_loop_test(tc, bad_config_names_the_problem, 0, ARRAY_LEN(bad_cases));
	tcase_add_test(tc, man_page_documents_every_key_with_its_default);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
