/*
 * test_policyd_config.c - policyd.conf settings: errors with file:line, the
 * shipped sample, command-line overrides, pypolicyd-spf's policyd-spf.conf read
 * with its documented meanings (the file Debian ships), and man-page coverage
 * of every key.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policyd.h"
#include "util.h"

/* src_path - a file of the source tree (MAILAUTH_SRC, set by meson) */
static char *
src_path(const char *rel)
{
	const char *src = getenv("MAILAUTH_SRC");
	char *p;
	size_t n;

	ck_assert_msg(src != NULL, "MAILAUTH_SRC not set");
	n = strlen(src) + strlen(rel) + 2;
	p = xmalloc(n);
	snprintf(p, n, "%s/%s", src, rel);
	return p;
}

/* write_tmp - text into a new temporary file; returns its path */
static char *
write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/test_policyd_config_XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* value_of - a setting of c in file syntax */
static char *
value_of(const struct policyd_config *c, const char *name)
{
	const struct config_key *k = config_key_find(&policyd_config_schema, name,
	    strlen(name));
	struct buf b;

	ck_assert_msg(k != NULL, "no key %s", name);
	buf_init(&b, 4096);
	config_format_value(k, c, &b);
	return buf_steal(&b);
}

/* load_text - load text as a file; NULL and the messages in *err on error */
static struct policyd_config *
load_text(const char *text, enum policyd_config_format fmt, char **path, char **err)
{
	struct buf e;
	struct policyd_config *c;

	*path = write_tmp(text);
	buf_init(&e, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(*path, fmt, NULL, &e);
	*err = buf_steal(&e);
	return c;
}

/* check_debian_file - the values policyd-spf.conf(5) gives Debian's file */
static void
check_debian_file(const char *path)
{
	struct buf err;
	struct policyd_config *c;
	size_t len;
	char *text;
	static const struct {
		const char *key, *value;
	} expect[] = {
		{ "helo_reject", "fail" },		/* HELO_reject = Fail */
		{ "mail_from_reject", "fail" },		/* Mail_From_reject = Fail */
		{ "permerror_reject", "no" },		/* PermError_reject = False */
		{ "temperror_defer", "no" },		/* TempError_Defer = False */
		{ "test_only", "no" },			/* TestOnly = 1: normal operation */
		{ "log_level", "1" },			/* debugLevel = 1 */
		{ "skip_addresses", "127.0.0.0/8, ::ffff:127.0.0.0/104, ::1" },
		{ "skip_action", "comment" },		/* pypolicyd-spf's X-Comment */
		{ "header_type", "spf" },
		{ "listen", "inet:127.0.0.1:10040" },
	};

	buf_init(&err, CONFIG_ERROR_LIMIT);
	text = config_read_file(path, &len, &err);
	ck_assert_msg(text != NULL, "%s", buf_cstr(&err));
	ck_assert(policyd_pyspf_detect(text, len));
	free(text);
	c = policyd_config_load(path, POLICYD_FORMAT_AUTO, NULL, &err);
	ck_assert_msg(c != NULL, "%s: %s", path, buf_cstr(&err));
	for (size_t i = 0; i < ARRAY_LEN(expect); i++) {
		char *v = value_of(c, expect[i].key);

		ck_assert_msg(strcmp(v, expect[i].value) == 0, "%s: %s = %s, want %s", path,
		    expect[i].key, v, expect[i].value);
		free(v);
	}
	policyd_config_unref(c);
	buf_clear(&err);
}

START_TEST(pyspf_debian_file_read_with_its_meanings)
{
	char *p = src_path("tests/data/pypolicyd-spf/policyd-spf.conf");

	check_debian_file(p);
	free(p);
	/* the installed file too, when the package is there */
	if (access("/etc/postfix-policyd-spf-python/policyd-spf.conf", R_OK) == 0)
		check_debian_file("/etc/postfix-policyd-spf-python/policyd-spf.conf");
}
END_TEST

START_TEST(pyspf_debian_commented_sample_read)
{
	char *p = src_path("tests/data/pypolicyd-spf/policyd-spf.conf.commented");
	struct buf err;
	struct policyd_config *c;
	char *v;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(p, POLICYD_FORMAT_AUTO, NULL, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	v = value_of(c, "hide_receiver");	/* Hide_Receiver = Yes */
	ck_assert_str_eq(v, "yes");
	free(v);
	ck_assert_str_eq(c->authserv_id, "HEADER");	/* Authserv_Id = HEADER */
	policyd_config_unref(c);
	buf_clear(&err);
	free(p);
}
END_TEST

/* Each documented pypolicyd-spf key and value, and the native setting it gives. */
static const struct {
	const char *line;
	const char *key, *value;
} pyspf_map[] = {
	{ "HELO_reject = SPF_Not_Pass", "helo_reject", "not_pass" },
	{ "HELO_reject = Softfail", "helo_reject", "softfail" },
	{ "HELO_reject = Null", "helo_reject", "null" },
	{ "HELO_reject = False", "helo_reject", "never" },
	{ "HELO_reject = No_Check", "helo_reject", "no_check" },
	{ "Mail_From_reject = SPF_Not_Pass", "mail_from_reject", "not_pass" },
	{ "Mail_From_reject = Softfail", "mail_from_reject", "softfail" },
	{ "Mail_From_reject = False", "mail_from_reject", "never" },
	{ "Mail_From_reject = No_Check", "mail_from_reject", "no_check" },
	{ "PermError_reject = True", "permerror_reject", "yes" },
	{ "TempError_Defer = True", "temperror_defer", "yes" },
	{ "TestOnly = 0", "test_only", "yes" },
	{ "defaultSeedOnly = 0", "test_only", "yes" },
	{ "debugLevel = -1", "log_level", "0" },
	{ "debugLevel = 4", "log_level", "4" },
	{ "skip_addresses = 10.0.0.0/8,::1", "skip_addresses", "10.0.0.0/8, ::1" },
	{ "Whitelist = 192.168.0.0/31,192.168.1.0/30", "skip_addresses",
	  "127.0.0.0/8, ::ffff:127.0.0.0/104, ::1, 192.168.0.0/31, 192.168.1.0/30" },
	{ "HELO_Whitelist = relay.example.com,sender.example.org", "whitelist_helo_names",
	  "relay.example.com, sender.example.org" },
	{ "Domain_Whitelist = pobox.com,trustedforwarder.org", "whitelist_spf_domains",
	  "pobox.com, trustedforwarder.org" },
	{ "Domain_Whitelist_PTR = yahoo.com,yahoogroups.com", "whitelist_ptr_domains",
	  "yahoo.com, yahoogroups.com" },
	{ "Reject_Not_Pass_Domains = aol.com,hotmail.com", "reject_not_pass_domains",
	  "aol.com, hotmail.com" },
	{ "HELO_pass_restriction = helo_passed_spf", "helo_pass_restriction",
	  "helo_passed_spf" },
	{ "Mail_From_pass_restriction = mfrom_passed_spf", "mail_from_pass_restriction",
	  "mfrom_passed_spf" },
	{ "SPF_Enhanced_Status_Codes = No", "enhanced_status_codes", "no" },
	{ "SPF_Enhanced_Status_Codes = Yes", "enhanced_status_codes", "yes" },
	{ "Header_Type = AR", "header_type", "ar" },
	{ "Header_Type = None", "header_type", "none" },
	{ "Hide_Receiver = Yes", "hide_receiver", "yes" },
	{ "Hide_Receiver = No", "hide_receiver", "no" },
	{ "Authserv_Id = HOSTNAME", "authserv_id", "" },
	{ "Authserv_Id = mx.example.com", "authserv_id", "mx.example.com" },
	{ "Lookup_Time = 30", "spf_lookup_timeout", "30s" },
	{ "Void_Limit = 3", "spf_void_limit", "3" },
	{ "Reason_Message = Message {rejectdefer} due to: {spf}.", "reason_message",
	  "Message {rejectdefer} due to: {spf}." },
	{ "Whitelist_Lookup_Time = 10", "helo_reject", "fail" },
	{ "QueueID = True", "helo_reject", "fail" },
	{ "Socket = local:/run/x.sock", "listen", "inet:127.0.0.1:10040" },
	{ "UserID = pyspf-milter", "user", "mailauth" },
	{ "Mock = False", "helo_reject", "fail" },
	{ "No_Mail = False", "helo_reject", "fail" },
	{ "TestOnly = 1 # trailing comment", "test_only", "no" },
	{ "listen = unix:/tmp/x.sock", "listen", "unix:/tmp/x.sock" },
};

START_TEST(pyspf_keys_map_to_native_settings)
{
	char text[256], *path, *err, *v;
	struct policyd_config *c;

	/* a CamelCase key first, so the file is recognised as pypolicyd-spf's */
	snprintf(text, sizeof(text), "debugLevel = 1\n%s\n", pyspf_map[_i].line);
	c = load_text(text, POLICYD_FORMAT_AUTO, &path, &err);
	ck_assert_msg(c != NULL, "%s: %s", pyspf_map[_i].line, err);
	v = value_of(c, pyspf_map[_i].key);
	ck_assert_msg(strcmp(v, pyspf_map[_i].value) == 0, "%s: %s = \"%s\"",
	    pyspf_map[_i].line, pyspf_map[_i].key, v);
	free(v);
	policyd_config_unref(c);
	unlink(path);
	free(path);
	free(err);
}
END_TEST

/* Bad pypolicyd-spf lines: an error naming file and line. */
static const struct {
	const char *line;
	const char *why;
} pyspf_bad[] = {
	{ "HELO_pass_restriction = helo passed", "restriction class name" },
	{ "No_Mail = True", "No_Mail = True: not supported" },
	{ "Mock = True", "not supported" },
	{ "Prospective = 192.168.0.4", "not supported" },
	{ "HELO_reject = Sometimes", "HELO_reject: bad value \"Sometimes\"" },
	{ "PermError_reject = Maybe", "PermError_reject: bad value" },
	{ "TestOnly = 2", "TestOnly: bad value" },
	{ "Header_Type = SPF,AR", "Header_Type: bad value" },
	{ "Lookup_Time = soon", "spf_lookup_timeout: bad time value" },
	{ "Bogus_Key = 1", "unknown policyd.conf parameter \"Bogus_Key\"" },
	{ "HELO_reject Fail", "missing \"=\"" },
};

START_TEST(pyspf_bad_lines_name_file_and_line)
{
	char text[256], *path, *err, where[300];
	struct policyd_config *c;

	snprintf(text, sizeof(text), "# comment\nHELO_reject = Fail\n%s\n", pyspf_bad[_i].line);
	c = load_text(text, POLICYD_FORMAT_AUTO, &path, &err);
	ck_assert_msg(c == NULL, "%s: accepted", pyspf_bad[_i].line);
	snprintf(where, sizeof(where), "%s:3: ", path);
	ck_assert_msg(strstr(err, where) != NULL, "%s: no %s in \"%s\"", pyspf_bad[_i].line,
	    where, err);
	ck_assert_msg(strstr(err, pyspf_bad[_i].why) != NULL, "%s: \"%s\"",
	    pyspf_bad[_i].line, err);
	unlink(path);
	free(path);
	free(err);
}
END_TEST

/* Bad native lines and cross-key checks. */
static const struct {
	const char *text;
	const char *why;
} native_bad[] = {
	{ "user = x\nhelo_reject = sometimes\n", ":2: helo_reject: bad value \"sometimes\"" },
	{ "listn = inet:127.0.0.1:1\n", ":1: unknown policyd.conf parameter \"listn\"" },
	{ "\n\nline_size_limit = 10\n", ":3: line_size_limit: value 10 out of range" },
	{ "idle_timeout = 5x\n", ":1: idle_timeout: bad time value \"5x\"" },
	{ "temperror_defer = perhaps\n", ":1: temperror_defer: bad boolean" },
	{ "cache_ttl = 2d\n", ":1: cache_ttl: value 172800 out of range" },
	{ "\nmetrics_connection_limit = 0\n", ":2: metrics_connection_limit: value 0 out of range" },
	{ "metrics_idle_timeout = 2h\n", ":1: metrics_idle_timeout: value 7200 out of range" },
	{ "metrics_header_size_limit = 100\n", ":1: metrics_header_size_limit: value 100 out of range" },
	{ "listen = tcp:127.0.0.1:10040\n", ":1: listen: bad socket \"tcp:127.0.0.1:10040\"" },
	{ "\nlisten = inet:127.0.0.1:99999\n", ":2: listen: bad socket" },
	{ "listen = unix:relative/path\n", ":1: listen: bad socket" },
	{ "listen =\n", ":1: listen: no socket to serve" },
	{ "skip_addresses = 127.0.0.0/8,\n  300.1.1.1\n", ":1: skip_addresses: bad network \"300.1.1.1\"" },
	{ "mail_from_pass_restriction = a b\n", ":1: bad restriction class name \"a b\"" },
	{ "mail_from_reject = null\n", "mail_from_reject: \"null\" applies to helo_reject only" },
	/* a longer name was cut to 288 bytes and another domain checked */
	{ "whitelist_spf_domains = ok.example, "
	  "a123456789012345678901234567890123456789012345678901234567890123.example\n",
	  ":1: whitelist_spf_domains: bad domain name \"a1234" },
	{ "whitelist_spf_domains = a..example\n", ":1: whitelist_spf_domains: bad domain name" },
	{ "HELO_reject = Fail\n", NULL },	/* native format forced: an unknown key */
};

START_TEST(native_bad_values_name_file_and_line)
{
	char *path, *err;
	struct policyd_config *c;

	c = load_text(native_bad[_i].text, POLICYD_FORMAT_NATIVE, &path, &err);
	ck_assert_msg(c == NULL, "\"%s\" accepted", native_bad[_i].text);
	if (native_bad[_i].why != NULL) {
		ck_assert_msg(strstr(err, native_bad[_i].why) != NULL, "got \"%s\"", err);
		if (native_bad[_i].why[0] == ':')
			ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "got \"%s\"", err);
	} else {
		ck_assert_ptr_nonnull(strstr(err, "unknown policyd.conf parameter \"HELO_reject\""));
	}
	unlink(path);
	free(path);
	free(err);
}
END_TEST

START_TEST(sample_config_is_valid_and_equals_the_defaults)
{
	char *p = src_path("etc/policyd.conf");
	struct buf err;
	struct policyd_config *c, *d;
	size_t len;
	char *text;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	text = config_read_file(p, &len, &err);
	ck_assert_ptr_nonnull(text);
	ck_assert(!policyd_pyspf_detect(text, len));
	free(text);
	c = policyd_config_load(p, POLICYD_FORMAT_AUTO, NULL, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	d = policyd_config_new();
	for (size_t i = 0; i < policyd_config_schema.nkeys; i++) {
		const char *name = policyd_config_schema.keys[i].name;
		char *a = value_of(c, name), *b = value_of(d, name);

		ck_assert_msg(strcmp(a, b) == 0, "%s: sample %s, default %s", name, a, b);
		free(a);
		free(b);
	}
	policyd_config_unref(c);
	policyd_config_unref(d);
	buf_clear(&err);
	free(p);
}
END_TEST

/* policyd -n on a policyd-spf.conf writes an equivalent native file. */
START_TEST(pyspf_file_converts_to_native_through_print)
{
	char *p = src_path("tests/data/pypolicyd-spf/policyd-spf.conf.commented");
	struct buf err;
	struct policyd_config *c, *d;
	char *text = NULL, *native;
	size_t len = 0;
	FILE *f;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(p, POLICYD_FORMAT_AUTO, NULL, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	f = open_memstream(&text, &len);
	config_print(&policyd_config_schema, c, f);
	fclose(f);
	native = write_tmp(text);
	d = policyd_config_load(native, POLICYD_FORMAT_AUTO, NULL, &err);
	ck_assert_msg(d != NULL, "%s", buf_cstr(&err));
	for (size_t i = 0; i < policyd_config_schema.nkeys; i++) {
		const char *name = policyd_config_schema.keys[i].name;
		char *a = value_of(c, name), *b = value_of(d, name);

		ck_assert_msg(strcmp(a, b) == 0, "%s: %s after conversion, was %s", name, b, a);
		free(a);
		free(b);
	}
	unlink(native);
	free(native);
	free(text);
	policyd_config_unref(c);
	policyd_config_unref(d);
	buf_clear(&err);
	free(p);
}
END_TEST

START_TEST(overrides_apply_after_the_file)
{
	const char *ok[] = { "log_level=3", " header_type = ar ", NULL };
	const char *bad[] = { "nope=1", "log_level", NULL };
	char *path = write_tmp("log_level = 2\n");
	struct buf err;
	struct policyd_config *c;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(path, POLICYD_FORMAT_AUTO, ok, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	ck_assert_int_eq(c->log_level, 3);
	ck_assert_int_eq(c->header_type, POLICYD_HEADER_AR);
	policyd_config_unref(c);
	ck_assert_ptr_null(policyd_config_load(path, POLICYD_FORMAT_AUTO, bad, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "-o nope=1: unknown"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "-o log_level: expected name=value"));
	buf_reset(&err);
	ck_assert_ptr_null(policyd_config_load("/nonexistent/policyd.conf",
	    POLICYD_FORMAT_AUTO, NULL, &err));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), "/nonexistent/policyd.conf: cannot open"));
	unlink(path);
	free(path);
	buf_clear(&err);
}
END_TEST

/* man_block - the text of the ".TP\n.B name\n" entry up to the next entry */
static char *
man_block(const char *man, const char *name)
{
	char pat[128];
	const char *start, *end;

	snprintf(pat, sizeof(pat), "\n.TP\n.B %s\n", name);
	start = strstr(man, pat);
	if (start == NULL)
		return NULL;
	start += strlen(pat);
	end = strstr(start, "\n.TP\n");
	if (end == NULL || (strstr(start, "\n.SH") && strstr(start, "\n.SH") < end))
		end = strstr(start, "\n.SH");
	return xmemdup0(start, end ? (size_t)(end - start) : strlen(start));
}

START_TEST(man_page_documents_every_key_with_its_default)
{
	char *p = src_path("man/policyd.conf.5");
	struct buf err;
	size_t len;
	char *man;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	man = config_read_file(p, &len, &err);
	ck_assert_msg(man != NULL, "%s", buf_cstr(&err));
	for (size_t i = 0; i < policyd_config_schema.nkeys; i++) {
		const struct config_key *k = &policyd_config_schema.keys[i];
		char *block = man_block(man, k->name);

		ck_assert_msg(block != NULL, "policyd.conf.5 does not document %s", k->name);
		if (k->def[0] != '\0')
			ck_assert_msg(strstr(block, k->def) != NULL,
			    "policyd.conf.5: %s lacks its default \"%s\"", k->name, k->def);
		else
			ck_assert_msg(strstr(block, "default empty") != NULL,
			    "policyd.conf.5: %s lacks \"default empty\"", k->name);
		free(block);
	}
	/* and every pypolicyd-spf key policyd reads */
	for (size_t i = 0; policyd_pyspf_key_name(i) != NULL; i++)
		ck_assert_msg(strstr(man, policyd_pyspf_key_name(i)) != NULL,
		    "policyd.conf.5 does not mention %s", policyd_pyspf_key_name(i));
	free(man);
	free(p);
	buf_clear(&err);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("policyd_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pyspf_debian_file_read_with_its_meanings);
	tcase_add_test(tc, pyspf_debian_commented_sample_read);
	tcase_add_loop_test(tc, pyspf_keys_map_to_native_settings, 0, (int)ARRAY_LEN(pyspf_map));
	tcase_add_loop_test(tc, pyspf_bad_lines_name_file_and_line, 0, (int)ARRAY_LEN(pyspf_bad));
	tcase_add_loop_test(tc, native_bad_values_name_file_and_line, 0, (int)ARRAY_LEN(native_bad));
	tcase_add_test(tc, sample_config_is_valid_and_equals_the_defaults);
	tcase_add_test(tc, pyspf_file_converts_to_native_through_print);
	tcase_add_test(tc, overrides_apply_after_the_file);
	tcase_add_test(tc, man_page_documents_every_key_with_its_default);
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
