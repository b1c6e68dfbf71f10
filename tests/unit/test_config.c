/*
 * test_config.c - the generic "name = value" configuration module.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

struct demo {
	bool flag;
	int perm;
	int count;
	unsigned timeout;
	size_t limit;
	char *name;
	struct config_list nets;
	int mode;
};

enum { DEMO_FAST, DEMO_SLOW };

static const struct config_enum demo_modes[] = {
	{ "fast", DEMO_FAST }, { "slow", DEMO_SLOW }, { NULL, 0 },
};

/* demo_check_nets - every item must start with a digit or ':' */
static int
demo_check_nets(const void *field, struct buf *err)
{
	const struct config_list *l = field;

	for (size_t i = 0; i < l->count; i++) {
		if (strchr("0123456789:", l->items[i][0]) == NULL) {
			buf_printf(err, "nets: bad item \"%s\"", l->items[i]);
			return -1;
		}
	}
	return 0;
}

static const struct config_key demo_keys[] = {
	CONFIG_KEY_BOOL("flag", struct demo, flag, "no", "a switch"),
	CONFIG_KEY_INT("count", struct demo, count, "3", 1, 10, "a count"),
	CONFIG_KEY_OCTAL("perm", struct demo, perm, "0640", 0, 0777, "a mode"),
	CONFIG_KEY_TIME("timeout", struct demo, timeout, "2m", 1, 86400, "a time"),
	CONFIG_KEY_SIZE("limit", struct demo, limit, "4k", 16, 1048576, "a size"),
	CONFIG_KEY_STRING("name", struct demo, name, "demo", "a name"),
	CONFIG_KEY_LIST_CHECK("nets", struct demo, nets, "127.0.0.0/8, ::1", demo_check_nets,
	    "a list"),
	CONFIG_KEY_ENUM("mode", struct demo, mode, "fast", demo_modes, "a mode"),
};

static const struct config_schema demo_schema = {
	"demo.conf", demo_keys, ARRAY_LEN(demo_keys), NULL,
};

/* count_lines - newlines in s */
static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* load - fresh defaults plus text; returns rc, error text in *errout */
static int
load(struct demo *d, const char *text, char **errout)
{
	struct buf err;
	int rc;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_init(&demo_schema, d);
	rc = config_load_mem(&demo_schema, d, "demo.conf", text, strlen(text), &err);
	*errout = buf_steal(&err);
	return rc;
}

START_TEST(config_defaults_are_parsed_from_the_table)
{
	struct demo d;
	char *err;

	ck_assert_int_eq(load(&d, "", &err), 0);
	ck_assert(!d.flag);
	ck_assert_int_eq(d.count, 3);
	ck_assert_uint_eq(d.timeout, 120);
	ck_assert_uint_eq(d.limit, 4096);
	ck_assert_str_eq(d.name, "demo");
	ck_assert_uint_eq(d.nets.count, 2);
	ck_assert_str_eq(d.nets.items[0], "127.0.0.0/8");
	ck_assert_str_eq(d.nets.items[1], "::1");
	ck_assert_ptr_null(d.nets.items[2]);	/* NULL-terminated */
	ck_assert_int_eq(d.mode, DEMO_FAST);
	config_free(&demo_schema, &d);
	free(err);
}
END_TEST

START_TEST(config_reads_values_comments_and_continuations)
{
	static const char text[] =
	    "# comment\n"
	    "flag = yes\n"
	    "\n"
	    "count=7\n"
	    "   # indented comment does not end the next logical line\n"
	    "timeout = 1h\n"
	    "limit = 1m\r\n"
	    "name = a # not a comment\n"
	    "nets = 10.0.0.0/8,\n"
	    "    192.0.2.0/24\n"
	    "\t2001:db8::/32\n"
	    "mode = SLOW\n";
	struct demo d;
	char *err;

	ck_assert_int_eq(load(&d, text, &err), 0);
	ck_assert_str_eq(err, "");
	ck_assert(d.flag);
	ck_assert_int_eq(d.count, 7);
	ck_assert_uint_eq(d.timeout, 3600);
	ck_assert_uint_eq(d.limit, 1024 * 1024);
	ck_assert_str_eq(d.name, "a # not a comment");
	ck_assert_uint_eq(d.nets.count, 3);
	ck_assert_str_eq(d.nets.items[2], "2001:db8::/32");
	ck_assert_ptr_null(d.nets.items[3]);
	ck_assert_int_eq(d.mode, DEMO_SLOW);
	config_free(&demo_schema, &d);
	free(err);
}
END_TEST

/* Each bad line must be reported with its own line number and the key. */
static const struct {
	const char *name;
	const char *text;
	const char *expect;
} bad_cases[] = {
	{ "unknown_key", "flag = yes\nbogus = 1\n", "demo.conf:2: unknown demo.conf parameter \"bogus\"" },
	{ "bad_bool", "\nflag = maybe\n", "demo.conf:2: flag: bad boolean \"maybe\"" },
	{ "int_over_max", "count = 11\n", "demo.conf:1: count: value 11 out of range 1..10" },
	{ "int_under_min", "count = 0\n", "demo.conf:1: count: value 0 out of range 1..10" },
	{ "int_garbage", "count = 3x\n", "demo.conf:1: count: bad int value \"3x\"" },
	{ "int_empty", "count =\n", "demo.conf:1: count: bad int value \"\"" },
	{ "time_bad_suffix", "timeout = 5w\n", "demo.conf:1: timeout: bad time value \"5w\"" },
	{ "time_over_max", "timeout = 2d\n", "demo.conf:1: timeout: value 172800 out of range 1..86400" },
	{ "size_under_min", "limit = 8\n", "demo.conf:1: limit: value 8 out of range 16..1048576" },
	{ "size_overflow", "limit = 99999999999999999999k\n", "demo.conf:1: limit: bad size value" },
	{ "bad_enum", "mode = medium\n", "demo.conf:1: mode: bad value \"medium\" (expected one of: fast slow)" },
	{ "missing_equals", "#x\nflag yes\n", "demo.conf:2: missing \"=\"" },
	{ "missing_name", "= yes\n", "demo.conf:1: missing parameter name" },
	{ "continuation_keeps_first_line", "count = 1\n  2\n", "demo.conf:1: count: bad int value \"1 2\"" },
	{ "item_check_names_the_line", "flag = no\nnets = 10.0.0.0/8,\n  bad\n", "demo.conf:2: nets: bad item \"bad\"" },
	{ "nul_byte", "flag = yes\nname = a\0b\n", "demo.conf:2: NUL byte" },
};

START_TEST(config_reports_bad_input_with_file_and_line)
{
	struct demo d;
	struct buf err;
	const char *text = bad_cases[_i].text;
	size_t len = strlen(text);
	int rc;

	/* the NUL case: count up to the real end of the literal */
	if (strcmp(bad_cases[_i].name, "nul_byte") == 0)
		len = sizeof("flag = yes\nname = a\0b\n") - 1;
	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_init(&demo_schema, &d);
	rc = config_load_mem(&demo_schema, &d, "demo.conf", text, len, &err);
	ck_assert_msg(rc == -1, "%s: accepted", bad_cases[_i].name);
	ck_assert_msg(strstr(buf_cstr(&err), bad_cases[_i].expect) != NULL,
	    "%s: got \"%s\"", bad_cases[_i].name, buf_cstr(&err));
	config_free(&demo_schema, &d);
	buf_clear(&err);
}
END_TEST

START_TEST(config_reports_every_error_not_only_the_first)
{
	struct demo d;
	char *err;

	ck_assert_int_eq(load(&d, "a = 1\nflag = yes\nb = 2\ncount = 99\n", &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "demo.conf:1: unknown"));
	ck_assert_ptr_nonnull(strstr(err, "demo.conf:3: unknown"));
	ck_assert_ptr_nonnull(strstr(err, "demo.conf:4: count"));
	ck_assert(d.flag);	/* good lines still applied: callers load into a copy */
	config_free(&demo_schema, &d);
	free(err);
}
END_TEST

START_TEST(config_print_output_reads_back_identically)
{
	struct demo d, e;
	char *err, *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(load(&d, "flag = on\ntimeout = 90\nlimit = 1m\nmode = slow\n"
	    "nets = 1 2,3\nname = x y\n", &err), 0);
	free(err);
	f = open_memstream(&text, &len);
	config_print(&demo_schema, &d, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "timeout = 90s\n"));
	ck_assert_ptr_nonnull(strstr(text, "perm = 0640\n"));
	ck_assert_ptr_nonnull(strstr(text, "limit = 1048576\n"));
	ck_assert_ptr_nonnull(strstr(text, "nets = 1, 2, 3\n"));
	ck_assert_int_eq(load(&e, text, &err), 0);
	ck_assert_int_eq(e.flag, d.flag);
	ck_assert_int_eq(e.perm, 0640);
	ck_assert_uint_eq(e.timeout, d.timeout);
	ck_assert_uint_eq(e.limit, d.limit);
	ck_assert_int_eq(e.mode, d.mode);
	ck_assert_str_eq(e.name, d.name);
	ck_assert_uint_eq(e.nets.count, 3);
	config_free(&demo_schema, &d);
	config_free(&demo_schema, &e);
	free(err);
	free(text);
}
END_TEST

START_TEST(config_print_keys_lists_type_default_and_doc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_print_keys(&demo_schema, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "timeout (time, default \"2m\"): a time\n"));
	ck_assert_ptr_nonnull(strstr(text, "perm (int, default \"0640\"): a mode\n"));
	ck_assert_ptr_nonnull(strstr(text, "mode (enum, default \"fast\"): a mode\n"));
	ck_assert_uint_eq((size_t)count_lines(text), ARRAY_LEN(demo_keys));
	free(text);
}
END_TEST

START_TEST(config_load_file_names_the_path)
{
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	struct demo d;
	struct buf err;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "count = 2\ncount = 20\n", 21), 21);
	close(fd);
	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_init(&demo_schema, &d);
	ck_assert_int_eq(config_load_file(&demo_schema, &d, path, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), path));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), ":2: count"));
	unlink(path);
	buf_reset(&err);
	ck_assert_int_eq(config_load_file(&demo_schema, &d, path, &err), -1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "cannot open"));
	config_free(&demo_schema, &d);
	buf_clear(&err);
}
END_TEST

START_TEST(config_set_and_list_lookup)
{
	struct demo d;
	struct buf err;

	buf_init(&err, 256);
	config_init(&demo_schema, &d);
	ck_assert_int_eq(config_set(&demo_schema, &d, "count", 5, "9", 1, &err), 0);
	ck_assert_int_eq(d.count, 9);
	ck_assert_int_eq(config_set(&demo_schema, &d, "Count", 5, "9", 1, &err), -1);
	ck_assert(config_list_has_ci(&d.nets, "::1", 3));
	ck_assert(!config_list_has_ci(&d.nets, "::", 2));
	ck_assert_ptr_null(config_key_find(&demo_schema, "coun", 4));
	config_free(&demo_schema, &d);
	buf_clear(&err);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, config_defaults_are_parsed_from_the_table);
	tcase_add_test(tc, config_reads_values_comments_and_continuations);
	tcase_add_loop_test(tc, config_reports_bad_input_with_file_and_line, 0,
	    (int)ARRAY_LEN(bad_cases));
	tcase_add_test(tc, config_reports_every_error_not_only_the_first);
	tcase_add_test(tc, config_print_output_reads_back_identically);
	tcase_add_test(tc, config_print_keys_lists_type_default_and_doc);
	tcase_add_test(tc, config_load_file_names_the_path);
	tcase_add_test(tc, config_set_and_list_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
