/*
 * test_reinject_tools.c - "reinject keygen" output parsed back and checked
 * against the key, and "reinject testkey" verdicts through the in-memory
 * resolver (every exit code of reinject-testkey(8)).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dkim.h"
#include "dkim_table.h"
#include "dns.h"
#include "reinject_tools.h"

static char dir[64];
static char errbuf[DKIM_TABLE_ERR_MAX];

static const char *
path_of(const char *name)
{
	static char bufs[4][256];
	static unsigned i;
	char *b = bufs[i++ % 4];

	snprintf(b, 256, "%s/%s", dir, name);
	return b;
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_reinject_tools.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* keygen - run the subcommand with a NULL-terminated argument list */
static int
keygen(const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"keygen";
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 30; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return reinject_keygen_main(argc, argv);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t cap = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(f);
	n = getdelim(&s, &cap, '\0', f);
	fclose(f);
	ck_assert_int_ge(n, 0);
	return s;
}

/*
 * zone_value - the TXT strings of the zone line for name, concatenated;
 * checks every string is at most 255 characters; *nstrings counts them.
 */
static char *
zone_value(const char *txt, const char *name, int *nstrings)
{
	const char *line = strstr(txt, name), *p;
	char *out = calloc(1, strlen(txt) + 1);
	size_t n = 0;

	ck_assert_ptr_nonnull(line);
	ck_assert(line == txt || line[-1] == '\n');
	p = strstr(line, "\tIN\tTXT\t(");
	ck_assert_ptr_nonnull(p);
	*nstrings = 0;
	while ((p = strchr(p, '"')) != NULL && p < strchr(line, '\n')) {
		const char *q = strchr(p + 1, '"');

		ck_assert_ptr_nonnull(q);
		ck_assert_int_le(q - p - 1, REINJECT_TXT_STRING_MAX);
		memcpy(out + n, p + 1, (size_t)(q - p - 1));
		n += (size_t)(q - p - 1);
		(*nstrings)++;
		p = q + 1;
	}
	return out;
}

/* check_generated - key mode, record syntax, and that the record is the key's */
static void
check_generated(const char *sel, enum dkim_alg want, int min_strings)
{
	char name[128], file[64];
	struct stat st;
	struct dkim_keyrec kr;
	const char *why = NULL;
	enum dkim_alg alg;
	EVP_PKEY *priv, *pub;
	char *txt, *raw, *val;
	int nstr;

	snprintf(file, sizeof(file), "%s.private", sel);
	ck_assert_int_eq(stat(path_of(file), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	priv = dkim_table_key_load_file(path_of(file), false, &alg, NULL, errbuf,
	    sizeof(errbuf));
	ck_assert_msg(priv != NULL, "%s", errbuf);
	ck_assert_int_eq(alg, want);
	snprintf(file, sizeof(file), "%s.txt", sel);
	txt = slurp(path_of(file));
	snprintf(file, sizeof(file), "%s.value", sel);
	raw = slurp(path_of(file));
	ck_assert(raw[strlen(raw) - 1] == '\n');
	raw[strlen(raw) - 1] = '\0';
	snprintf(name, sizeof(name), "%s._domainkey.example.com.", sel);
	val = zone_value(txt, name, &nstr);
	ck_assert_int_ge(nstr, min_strings);
	ck_assert_str_eq(val, raw);			/* split and joined back */
	ck_assert_ptr_nonnull(strstr(txt, raw));	/* one-line form in the comment */
	ck_assert_int_eq(dkim_keyrec_parse(val, strlen(val), &kr, &why), 0);
	pub = dkim_keyrec_pkey(&kr, &why);
	ck_assert_msg(pub != NULL, "%s", why);
	ck_assert(dkim_key_matches(pub, priv));
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	free(txt), free(raw), free(val);
}

START_TEST(keygen_rsa_default_writes_private_key_and_split_record)
{
	ck_assert_int_eq(keygen("-d", "example.com", "-s", "sel", "-D", dir, NULL), 0);
	check_generated("sel", DKIM_ALG_RSA_SHA256, 2);	/* 2048-bit p= > 255 */
}
END_TEST

START_TEST(keygen_rsa_4096_splits_into_several_strings)
{
	ck_assert_int_eq(keygen("-t", "rsa", "-b", "4096", "-d", "example.com", "-s",
	    "big", "-D", dir, NULL), 0);
	check_generated("big", DKIM_ALG_RSA_SHA256, 3);
}
END_TEST

START_TEST(keygen_ed25519_record_is_one_string_with_k_ed25519)
{
	char *raw;

	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "ed",
	    "-D", dir, NULL), 0);
	check_generated("ed", DKIM_ALG_ED25519_SHA256, 1);
	raw = slurp(path_of("ed.value"));
	ck_assert_int_eq(strncmp(raw, "v=DKIM1; k=ed25519; p=", 22), 0);
	ck_assert_uint_eq(strlen(raw), 22 + 44 + 1);	/* 32 bytes in base64 + LF */
	free(raw);
}
END_TEST

START_TEST(keygen_never_overwrites_without_force)
{
	char *first, *second;

	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "s",
	    "-D", dir, NULL), REINJECT_TOOL_OK);
	first = slurp(path_of("s.private"));
	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "s",
	    "-D", dir, NULL), REINJECT_TOOL_ERROR);
	second = slurp(path_of("s.private"));
	ck_assert_str_eq(first, second);
	free(second);
	ck_assert_int_eq(keygen("-f", "-t", "ed25519", "-d", "example.com", "-s",
	    "s", "-D", dir, NULL), REINJECT_TOOL_OK);
	second = slurp(path_of("s.private"));
	ck_assert_str_ne(first, second);
	free(first), free(second);
}
END_TEST

/* keygen -f, usually run as root, replaces a regular file only: a link
 * planted at a key's path is not followed (its target keeps its content) */
START_TEST(keygen_force_never_writes_through_a_link)
{
	char target[256], *before, *after;
	FILE *f;

	snprintf(target, sizeof(target), "%s", path_of("victim"));
	f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fputs("keep me\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(target, path_of("s.private")), 0);
	before = slurp(target);
	ck_assert_int_eq(keygen("-f", "-t", "ed25519", "-d", "example.com", "-s",
	    "s", "-D", dir, NULL), REINJECT_TOOL_ERROR);
	after = slurp(target);
	ck_assert_str_eq(before, after);
	free(before), free(after);
}
END_TEST

START_TEST(keygen_testing_flag_adds_t_y)
{
	char *raw;

	ck_assert_int_eq(keygen("-y", "-t", "ed25519", "-d", "example.com", "-s",
	    "t", "-D", dir, NULL), 0);
	raw = slurp(path_of("t.value"));
	ck_assert_int_eq(strncmp(raw, "v=DKIM1; k=ed25519; t=y; p=", 27), 0);
	free(raw);
}
END_TEST

static const char *const usage_cases[][10] = {
	{ "-t", "dsa", "-d", "example.com", "-s", "s", NULL },
	{ "-b", "512", "-d", "example.com", "-s", "s", NULL },
	{ "-b", "8192", "-d", "example.com", "-s", "s", NULL },
	{ "-t", "ed25519", "-b", "2048", "-d", "example.com", "-s", "s", NULL },
	{ "-s", "s", NULL },
	{ "-d", "example.com", NULL },
	{ "-d", "exa mple.com", "-s", "s", NULL },
	{ "-d", "example.com", "-s", "s/../x", NULL },
	{ "-d", "example.com", "-s", "s", "extra", NULL },
};

START_TEST(keygen_bad_command_lines_exit_2)
{
	const char *const *a = usage_cases[_i];

	ck_assert_int_eq(keygen(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
	    a[8], a[9]),
	    REINJECT_TOOL_USAGE);
}
END_TEST

/* ---- testkey through dns_mem ---- */

#define QNAME "sel._domainkey.example.com"

static struct dns_resolver *zone;
static char *pubval, *otherval;

/* tk_setup - an ed25519 and an rsa key with their records */
static void
tk_setup(void)
{
	setup();
	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "sel",
	    "-D", dir, NULL), 0);
	ck_assert_int_eq(keygen("-t", "rsa", "-b", "1024", "-d", "example.com", "-s",
	    "rsa", "-D", dir, NULL), 0);
	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s",
	    "other", "-D", dir, NULL), 0);
	pubval = slurp(path_of("sel.value"));
	pubval[strlen(pubval) - 1] = '\0';
	otherval = slurp(path_of("other.value"));
	otherval[strlen(otherval) - 1] = '\0';
	zone = dns_mem_new(NULL);
}

static void
tk_teardown(void)
{
	dns_resolver_free(zone);
	free(pubval), free(otherval);
	teardown();
}

/* testkey - run against the zone; *report gets the output */
static int
testkey(const char *key, char **report)
{
	size_t n;
	FILE *out = open_memstream(report, &n);
	int rc = reinject_testkey_run(NULL, zone, "example.com", "sel",
	    path_of(key), out);

	fclose(out);
	return rc;
}

static void
expect(const char *key, int rc, const char *text)
{
	char *report;

	ck_assert_int_eq(testkey(key, &report), rc);
	ck_assert_msg(strstr(report, text) != NULL, "no \"%s\" in:\n%s", text,
	    report);
	free(report);
}

START_TEST(testkey_matching_key_passes_and_reports_dnssec)
{
	dns_mem_add_txt(zone, QNAME, pubval);
	expect("sel.private", REINJECT_TOOL_OK, "key OK: the published ed25519 key");
	expect("sel.private", REINJECT_TOOL_OK, "DNSSEC insecure");
	dns_mem_set_sec(zone, QNAME, DNS_SEC_SECURE);
	expect("sel.private", REINJECT_TOOL_OK, "DNSSEC secure (DNSSEC validated)");
}
END_TEST

START_TEST(testkey_rsa_key_record_from_split_strings_matches)
{
	char *rsaval = slurp(path_of("rsa.value"));

	rsaval[strlen(rsaval) - 1] = '\0';
	dns_mem_add_txt(zone, QNAME, rsaval);
	expect("rsa.private", REINJECT_TOOL_OK, "rsa key (1024 bits) matches");
	free(rsaval);
}
END_TEST

START_TEST(testkey_other_key_is_a_mismatch)
{
	dns_mem_add_txt(zone, QNAME, otherval);
	expect("sel.private", REINJECT_TOOL_MISMATCH, "key mismatch");
}
END_TEST

static const struct {
	const char *record;
	const char *why;
} bad_records[] = {
	{ "v=DKIM1; k=ed25519; p=", "revoked (empty p=)" },
	{ "v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	  "k=rsa but the private key is ed25519" },
	{ "v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	  "k=rsa but the private key is ed25519" },
	{ "v=DKIM1; k=dsa; p=AAAA", "unknown key type k=dsa" },
	{ "v=DKIM2; k=ed25519; p=AAAA", "syntax error: key record version" },
	{ "v=DKIM1; k=ed25519; k=rsa; p=AAAA", "syntax error" },
	{ "v=DKIM1; k=ed25519", "syntax error: key record has no p=" },
	{ "v=DKIM1; k=ed25519; h=sha1; p=AAAA", "h=sha1 does not allow sha256" },
	{ "v=DKIM1; k=ed25519; s=other; p=AAAA", "s=other does not allow email" },
	{ "v=DKIM1; k=ed25519; p=AAAA", "not a valid public key" },
};

START_TEST(testkey_bad_records_are_named)
{
	dns_mem_add_txt(zone, QNAME, bad_records[_i].record);
	expect("sel.private", REINJECT_TOOL_BAD_RECORD, bad_records[_i].why);
}
END_TEST

START_TEST(testkey_two_records_are_ambiguous)
{
	dns_mem_add_txt(zone, QNAME, pubval);
	dns_mem_add_txt(zone, QNAME, otherval);
	expect("sel.private", REINJECT_TOOL_BAD_RECORD, "has 2 TXT records");
}
END_TEST

START_TEST(testkey_missing_record_and_dns_failures)
{
	expect("sel.private", REINJECT_TOOL_NO_RECORD, "does not exist (NXDOMAIN)");
	dns_mem_add_addr(zone, QNAME, "192.0.2.1");
	expect("sel.private", REINJECT_TOOL_NO_RECORD, "has no TXT record");
	dns_mem_set_rcode(zone, QNAME, DNS_TYPE_TXT, DNS_RCODE_SERVFAIL);
	expect("sel.private", REINJECT_TOOL_DNS_ERROR, "DNS error");
	dns_mem_set_rcode(zone, QNAME, DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
	expect("sel.private", REINJECT_TOOL_DNS_ERROR, "DNS error");
}
END_TEST

START_TEST(testkey_bogus_answer_is_a_dns_error)
{
	dns_mem_add_txt(zone, QNAME, pubval);
	dns_mem_set_sec(zone, QNAME, DNS_SEC_BOGUS);
	expect("sel.private", REINJECT_TOOL_DNS_ERROR, "DNSSEC validation failed");
}
END_TEST

START_TEST(testkey_private_key_problems)
{
	dns_mem_add_txt(zone, QNAME, pubval);
	expect("nonexistent.private", REINJECT_TOOL_NOINPUT, "No such file");
	chmod(path_of("sel.private"), 0644);
	expect("sel.private", REINJECT_TOOL_OK, "would refuse this key file");
}
END_TEST

/* --next: the next selector's number, the current key's type, the plan */
START_TEST(keygen_next_writes_key_record_and_plan_beside_the_current)
{
	char want[512], *plan;

	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "ed09",
	    "-D", dir, NULL), REINJECT_TOOL_OK);
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "ed09", "-k",
	    path_of("ed09.private"), NULL), REINJECT_TOOL_OK);
	check_generated("ed10", DKIM_ALG_ED25519_SHA256, 1);
	plan = slurp(path_of("ed09.private.next"));
	snprintf(want, sizeof(want), "next_selector = ed10\nnext_key_file = %s/ed10.private\n",
	    dir);
	ck_assert_ptr_nonnull(strstr(plan, want));
	free(plan);
	/* a plan already there: refused, nothing made */
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "ed09", "-n",
	    "other", "-D", dir, NULL), REINJECT_TOOL_ERROR);
	ck_assert_int_ne(access(path_of("other.private"), F_OK), 0);
}
END_TEST

START_TEST(keygen_next_rsa_keeps_the_size_and_carries_nines)
{
	EVP_PKEY *k;
	enum dkim_alg alg = DKIM_ALG_RSA_SHA256;

	ck_assert_int_eq(keygen("-b", "1024", "-d", "example.com", "-s", "s9", "-D",
	    dir, NULL), REINJECT_TOOL_OK);
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "s9", "-D", dir,
	    NULL), REINJECT_TOOL_OK);
	k = dkim_table_key_load_file(path_of("s10.private"), false, &alg, NULL,
	    errbuf, sizeof(errbuf));
	ck_assert_msg(k != NULL, "%s", errbuf);
	ck_assert_int_eq(EVP_PKEY_get_bits(k), 1024);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(keygen_next_refusals)
{
	ck_assert_int_eq(keygen("-t", "ed25519", "-d", "example.com", "-s", "mail",
	    "-D", dir, NULL), REINJECT_TOOL_OK);
	/* no number to count on: the next name must be given */
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "mail", "-D",
	    dir, NULL), REINJECT_TOOL_USAGE);
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "mail", "-n",
	    "mail", "-D", dir, NULL), REINJECT_TOOL_USAGE);
	/* another type than the current key's */
	ck_assert_int_eq(keygen("--next", "-t", "rsa", "-d", "example.com", "-s",
	    "mail", "-n", "mail2", "-D", dir, NULL), REINJECT_TOOL_USAGE);
	/* no current key */
	ck_assert_int_eq(keygen("--next", "-d", "example.com", "-s", "none1", "-D",
	    dir, NULL), REINJECT_TOOL_NOINPUT);
	/* -n and -k without --next */
	ck_assert_int_eq(keygen("-d", "example.com", "-s", "x", "-n", "y", "-D", dir,
	    NULL), REINJECT_TOOL_USAGE);
	ck_assert_int_ne(access(path_of("mail2.private"), F_OK), 0);
	ck_assert_int_ne(access(path_of("mail.private.next"), F_OK), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("reinject_tools");
	TCase *kg = tcase_create("keygen"), *tk = tcase_create("testkey");

	tcase_set_timeout(kg, 120);	/* 4096-bit RSA generation */
	tcase_add_checked_fixture(kg, setup, teardown);
	tcase_add_test(kg, keygen_rsa_default_writes_private_key_and_split_record);
	tcase_add_test(kg, keygen_rsa_4096_splits_into_several_strings);
	tcase_add_test(kg, keygen_ed25519_record_is_one_string_with_k_ed25519);
	tcase_add_test(kg, keygen_never_overwrites_without_force);
	tcase_add_test(kg, keygen_force_never_writes_through_a_link);
	tcase_add_test(kg, keygen_testing_flag_adds_t_y);
	tcase_add_test(kg, keygen_next_writes_key_record_and_plan_beside_the_current);
	tcase_add_test(kg, keygen_next_rsa_keeps_the_size_and_carries_nines);
	tcase_add_test(kg, keygen_next_refusals);
	tcase_add_loop_test(kg, keygen_bad_command_lines_exit_2, 0,
	    sizeof(usage_cases) / sizeof(usage_cases[0]));
	suite_add_tcase(s, kg);
	tcase_add_checked_fixture(tk, tk_setup, tk_teardown);
	tcase_add_test(tk, testkey_matching_key_passes_and_reports_dnssec);
	tcase_add_test(tk, testkey_rsa_key_record_from_split_strings_matches);
	tcase_add_test(tk, testkey_other_key_is_a_mismatch);
	tcase_add_loop_test(tk, testkey_bad_records_are_named, 0,
	    sizeof(bad_records) / sizeof(bad_records[0]));
	tcase_add_test(tk, testkey_two_records_are_ambiguous);
	tcase_add_test(tk, testkey_missing_record_and_dns_failures);
	tcase_add_test(tk, testkey_bogus_answer_is_a_dns_error);
	tcase_add_test(tk, testkey_private_key_problems);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
