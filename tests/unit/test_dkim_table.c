/*
 * test_dkim_table.c - OpenDKIM KeyTable / SigningTable / host list reading, key
 * file checks and the sender-to-signers lookup.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "dkim_table.h"

static char dir[64];
static char errbuf[DKIM_TABLE_ERR_MAX];

/* path_of - a file name inside the test directory (rotating static buffers) */
static const char *
path_of(const char *name)
{
	static char bufs[8][256];
	static unsigned i;
	char *b = bufs[i++ % 8];

	snprintf(b, 256, "%s/%s", dir, name);
	return b;
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

static void
write_key(const char *name, const char *type, size_t bits, mode_t mode)
{
	EVP_PKEY *k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(f);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(p, mode);
	EVP_PKEY_free(k);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_dkim_table.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_key("rsa.key", "RSA", 2048, 0600);
	write_key("rsa2.key", "RSA", 1024, 0600);
	write_key("ed.key", "ED25519", 0, 0600);
	mkdir(path_of("example.org"), 0700);
	write_key("example.org/default.private", "ED25519", 0, 0600);
	write_key("loose.key", "RSA", 1024, 0640);
	write_key("short.key", "RSA", 512, 0600);
	write_file("garbage.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n", 0600);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* load - tables from text; the key text may use @D@ for the test directory */
static struct dkim_table *
load(const char *kt, const char *st, bool refile, bool multiple)
{
	char ktx[4096], spec_k[300], spec_s[300];
	struct dkim_table_config cfg = { .multiple_signatures = multiple };
	size_t n = 0;

	for (const char *p = kt; *p && n < sizeof(ktx) - 64; p++) {
		if (strncmp(p, "@D@", 3) == 0) {
			n += (size_t)snprintf(ktx + n, sizeof(ktx) - n, "%s", dir);
			p += 2;
		} else
			ktx[n++] = *p;
	}
	ktx[n] = '\0';
	snprintf(spec_k, sizeof(spec_k), "file:%s", write_file("KeyTable", ktx, 0644));
	snprintf(spec_s, sizeof(spec_s), "%s%s", refile ? "refile:" : "",
	    write_file("SigningTable", st, 0644));
	cfg.key_table = spec_k;
	cfg.signing_table = spec_s;
	return dkim_table_load(&cfg, errbuf, sizeof(errbuf));
}

static struct dkim_signers
lookup(struct dkim_table *t, const char *addr)
{
	struct dkim_signers s;

	ck_assert_int_eq(dkim_table_lookup(t, span_from_cstr(addr), &s, errbuf,
	    sizeof(errbuf)), 0);
	return s;
}

#define KEYS3 \
    "rsa example.com:sel1:@D@/rsa.key\n" \
    "ed  example.com:sel2:@D@/ed.key   # comment\n" \
    "\n# whole-line comment\n" \
    "other other.example:s:@D@/rsa2.key:rsa-sha256\n"
static const char *keys3 = KEYS3;

START_TEST(keytable_loads_rsa_and_ed25519_keys_with_algorithm_from_key)
{
	struct dkim_table *t = load(keys3, "example.com rsa\n", false, false);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	ck_assert_uint_eq(dkim_table_key_count(t), 3);
	s = lookup(t, "User@Example.COM");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].domain, "example.com");
	ck_assert_str_eq(s.v[0].selector, "sel1");
	ck_assert_str_eq(s.v[0].keyname, "rsa");
	ck_assert_int_eq(s.v[0].alg, DKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(EVP_PKEY_get_bits(s.v[0].key), 2048);
	ck_assert_str_eq(s.v[0].identity, "");
	s = lookup(t, "user@sub.example.com");
	ck_assert_uint_eq(s.n, 0);
	s = lookup(t, "not-an-address");
	ck_assert_uint_eq(s.n, 0);
	dkim_table_free(t);
}
END_TEST

/* plain table: OpenDKIM's order, most specific first */
static const char *order_table =
    "*                  other\n"
    "user@*             ed\n"
    ".com               other\n"
    "user@.com          ed\n"
    ".example.com       rsa\n"
    "user@.example.com  ed\n"
    "sub.example.com    rsa\n"
    "boss@sub.example.com ed\n";

static const struct {
	const char *addr;
	const char *key;
} order_cases[] = {
	{ "boss@sub.example.com", "ed" },	/* user@host */
	{ "x@sub.example.com", "rsa" },		/* host */
	{ "user@deep.sub.example.com", "ed" },	/* user@.parent, nearest first */
	{ "x@deep.sub.example.com", "rsa" },	/* .parent */
	{ "user@a.org", "ed" },			/* user@* */
	{ "x@a.org", "other" },			/* * */
	{ "x@a.com", "other" },			/* .com */
};

START_TEST(signingtable_plain_follows_opendkim_lookup_order)
{
	struct dkim_table *t = load(keys3, order_table, false, false);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, order_cases[_i].addr);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, order_cases[_i].key);
	dkim_table_free(t);
}
END_TEST

START_TEST(signingtable_plain_multiple_signatures_applies_every_match)
{
	struct dkim_table *t = load(keys3, order_table, false, true);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "boss@sub.example.com");
	/* boss@sub (ed), sub.example.com (rsa), .example.com (rsa, same key),
	 * .com (other); ed and rsa once each */
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.v[0].keyname, "ed");
	ck_assert_str_eq(s.v[1].keyname, "rsa");
	ck_assert_str_eq(s.v[2].keyname, "other");
	dkim_table_free(t);
}
END_TEST

START_TEST(signingtable_refile_wildcards_first_match_in_file_order)
{
	struct dkim_table *t = load(keys3,
	    "*@sub.example.com  other\n"
	    "*.example.com      ed\n"
	    "*@example.com      rsa\n"
	    "*                  other\n", true, false);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "a@example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, "rsa");
	s = lookup(t, "a@x.example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, "ed");
	s = lookup(t, "A@SUB.example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, "other");
	s = lookup(t, "a@elsewhere.net");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, "other");
	dkim_table_free(t);
}
END_TEST

START_TEST(signingtable_dual_signing_two_keys_for_one_pattern)
{
	struct dkim_table *t = load(keys3,
	    "*@example.com rsa\n"
	    "*             other\n"
	    "*@example.com ed\n", true, false);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "a@example.com");
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.v[0].alg, DKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(s.v[1].alg, DKIM_ALG_ED25519_SHA256);
	ck_assert_str_eq(s.v[1].domain, "example.com");
	ck_assert_str_eq(s.v[1].selector, "sel2");
	dkim_table_free(t);
}
END_TEST

START_TEST(percent_domain_keyname_path_and_signer_are_substituted)
{
	struct dkim_table *t = load(
	    "any %:default:@D@/%/default.private\n"
	    "example.com example.com:sel1:@D@/rsa.key\n",
	    "*@example.org any @%\n"
	    "*@example.com % user@%\n"
	    "*@example.net any\n", true, false);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "u@Example.ORG");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].domain, "example.org");
	ck_assert_str_eq(s.v[0].identity, "@example.org");
	ck_assert_int_eq(s.v[0].alg, DKIM_ALG_ED25519_SHA256);
	ck_assert_ptr_nonnull(s.v[0].key);
	s = lookup(t, "u@example.org");	/* cached key */
	ck_assert_uint_eq(s.n, 1);
	s = lookup(t, "u@example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].keyname, "example.com");
	ck_assert_str_eq(s.v[0].identity, "user@example.com");
	/* "%" path whose key file for this domain does not exist */
	ck_assert_int_eq(dkim_table_lookup(t, span_from_cstr("u@example.net"), &s,
	    errbuf, sizeof(errbuf)), -1);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_ptr_nonnull(strstr(errbuf, "example.net/default.private"));
	dkim_table_free(t);
}
END_TEST

#define LABEL60 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG_DOMAIN LABEL60 "." LABEL60 "." LABEL60 ".example.com"

START_TEST(signer_outside_signing_domain_is_dropped)
{
	struct dkim_table *t = load(keys3,
	    "a@example.com rsa:a@elsewhere.org\n"
	    "b@example.com rsa b@mail.example.com\n"
	    "c@" LONG_DOMAIN " rsa %@%\n", false, true);
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	/* an i= too long once "%" is substituted is dropped, not cut */
	s = lookup(t, "c@" LONG_DOMAIN);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].identity, "");
	s = lookup(t, "a@example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].identity, "");
	s = lookup(t, "b@example.com");
	ck_assert_str_eq(s.v[0].identity, "b@mail.example.com");
	dkim_table_free(t);
}
END_TEST

START_TEST(simple_form_signs_domain_and_optionally_subdomains)
{
	struct dkim_table_config cfg = { .domain = "example.com",
	    .selector = "mail", .key_file = path_of("ed.key") };
	struct dkim_table *t = dkim_table_load(&cfg, errbuf, sizeof(errbuf));
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "x@example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].selector, "mail");
	ck_assert_int_eq(s.v[0].alg, DKIM_ALG_ED25519_SHA256);
	ck_assert_uint_eq(lookup(t, "x@sub.example.com").n, 0);
	dkim_table_free(t);
	cfg.subdomains = true;
	t = dkim_table_load(&cfg, errbuf, sizeof(errbuf));
	ck_assert_msg(t != NULL, "%s", errbuf);
	s = lookup(t, "x@sub.example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].domain, "example.com");
	dkim_table_free(t);
	cfg.algorithm = "rsa-sha256";
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "key is Ed25519 but algorithm "
	    "rsa-sha256 is declared"));
}
END_TEST

/* key rollover: the entry signs as the next selector with the next key */
START_TEST(key_switch_changes_selector_and_key_of_the_entry)
{
	struct dkim_table_config cfg = { .domain = "example.com",
	    .selector = "rsa1", .key_file = path_of("rsa.key") };
	struct dkim_table *t = dkim_table_load(&cfg, errbuf, sizeof(errbuf));
	enum dkim_alg alg = DKIM_ALG_RSA_SHA256;
	EVP_PKEY *next, *ed;
	struct dkim_signers s;

	ck_assert_msg(t != NULL, "%s", errbuf);
	next = dkim_table_key_load_file(path_of("rsa2.key"), true, &alg, NULL,
	    errbuf, sizeof(errbuf));
	ck_assert_msg(next != NULL, "%s", errbuf);
	alg = DKIM_ALG_ED25519_SHA256;
	ed = dkim_table_key_load_file(path_of("ed.key"), true, &alg, NULL, errbuf,
	    sizeof(errbuf));
	ck_assert_ptr_nonnull(ed);
	/* another algorithm, or no such entry: refused, nothing changes */
	ck_assert_int_eq(dkim_table_key_switch(t, 0, "ed1", ed,
	    DKIM_ALG_ED25519_SHA256), -1);
	ck_assert_int_eq(dkim_table_key_switch(t, 1, "rsa2", next,
	    DKIM_ALG_RSA_SHA256), -1);
	s = lookup(t, "x@example.com");
	ck_assert_str_eq(s.v[0].selector, "rsa1");
	ck_assert_int_eq(dkim_table_key_switch(t, 0, "rsa2", next,
	    DKIM_ALG_RSA_SHA256), 0);
	/* the table holds its own reference */
	EVP_PKEY_free(next);
	s = lookup(t, "x@example.com");
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].selector, "rsa2");
	ck_assert_int_eq(EVP_PKEY_get_bits(s.v[0].key), 1024);
	EVP_PKEY_free(ed);
	dkim_table_free(t);
}
END_TEST

START_TEST(config_forms_must_not_be_mixed_or_half_given)
{
	struct dkim_table_config cfg = { .key_table = "/x", .domain = "a.example" };

	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "use one"));
	cfg.domain = NULL;
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "without a SigningTable"));
	cfg = (struct dkim_table_config){ .domain = "a.example" };
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "needs a selector"));
	cfg = (struct dkim_table_config){ 0 };
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
}
END_TEST

/* every load error names the file and line and says what is wrong */
static const struct {
	const char *name;
	const char *kt, *st;
	bool refile;
	const char *where;	/* "KeyTable:N" / "SigningTable:N" */
	const char *why;
} load_errors[] = {
	{ "malformed_keytable_line", "k example.com/sel/@D@/rsa.key\n",
	  "* k\n", false, "KeyTable:1", "domain:selector:keyfile" },
	{ "keytable_name_only", "\n\nk\n", "* k\n", false, "KeyTable:3",
	  "expected \"name domain:selector:keyfile\"" },
	{ "bad_domain", "k exa mple:sel:@D@/rsa.key\n", "* k\n", false,
	  "KeyTable:1", "expected" },
	{ "bad_selector", "k example.com:s*l:@D@/rsa.key\n", "* k\n", false,
	  "KeyTable:1", "is not a selector" },
	{ "missing_key_file", "k example.com:s:@D@/nope.key\n", "* k\n", false,
	  "KeyTable:1", "No such file or directory" },
	{ "group_readable_key", "k example.com:s:@D@/loose.key\n", "* k\n", false,
	  "KeyTable:1", "key data is not secure; run: chmod 600 " },
	{ "not_a_key", "k example.com:s:@D@/garbage.key\n", "* k\n", false,
	  "KeyTable:1", "not a PEM private key" },
	{ "rsa_too_short", "k example.com:s:@D@/short.key\n", "* k\n", false,
	  "KeyTable:1", "RSA key of 512 bits is too short" },
	{ "declared_algorithm_mismatch", "k example.com:s:@D@/rsa.key:ed25519-sha256\n",
	  "* k\n", false, "KeyTable:1", "key is RSA but algorithm ed25519-sha256" },
	{ "unknown_algorithm", "k example.com:s:@D@/rsa.key:rsa-sha1\n", "* k\n",
	  false, "KeyTable:1", "unknown algorithm \"rsa-sha1\"" },
	{ "duplicate_key_name", "k example.com:s:@D@/rsa.key\nk example.com:t:@D@/ed.key\n",
	  "* k\n", false, "KeyTable:2", "already defined at line 1" },
	{ "selector_with_two_keys", "a example.com:s:@D@/rsa.key\nb example.com:s:@D@/ed.key\n",
	  "* a\n", false, "KeyTable:2", "one selector publishes one key" },
	{ "unknown_key_name", KEYS3, "example.com rsa\nexample.net nokey\n", false,
	  "SigningTable:2", "key name \"nokey\" is not in the KeyTable" },
	{ "signingtable_pattern_only", KEYS3, "example.com\n", false,
	  "SigningTable:1", "expected \"pattern keyname" },
	{ "repeated_entry", KEYS3, "*@example.com rsa\n*@example.com rsa\n", true,
	  "SigningTable:2", "repeats line 1" },
	{ "same_domain_same_algorithm_twice",
	  "a example.com:s:@D@/rsa.key\nb example.com:t:@D@/rsa2.key\n",
	  "example.com a\nexample.com b\n", false, "SigningTable:2",
	  "dual signing needs one rsa-sha256 and one ed25519-sha256 key" },
	{ "signer_not_an_address", KEYS3, "example.com rsa nobody\n", false,
	  "SigningTable:1", "is not an address" },
};

START_TEST(load_errors_name_file_line_and_reason)
{
	struct dkim_table *t;
	const char *p;

	t = load(load_errors[_i].kt, load_errors[_i].st, load_errors[_i].refile,
	    false);
	ck_assert_msg(t == NULL, "%s: loaded", load_errors[_i].name);
	p = strstr(errbuf, load_errors[_i].where);
	ck_assert_msg(p != NULL && p > errbuf && p[-1] == '/' &&
	    p[strlen(load_errors[_i].where)] == ':',
	    "%s: no \"%s:\" in \"%s\"", load_errors[_i].name,
	    load_errors[_i].where, errbuf);
	ck_assert_msg(strstr(errbuf, load_errors[_i].why) != NULL,
	    "%s: no \"%s\" in \"%s\"", load_errors[_i].name, load_errors[_i].why,
	    errbuf);
	if (strcmp(load_errors[_i].name, "group_readable_key") == 0)
		ck_assert_ptr_nonnull(strstr(errbuf, path_of("loose.key")));
}
END_TEST

START_TEST(insecure_key_is_refused_unless_allowed)
{
	struct dkim_table_key_opts lax = { .allow_insecure = true };
	enum dkim_alg alg;
	EVP_PKEY *k;

	write_key("loose-ed.key", "ED25519", 0, 0604);
	k = dkim_table_key_load_file(path_of("loose-ed.key"), false, &alg, NULL,
	    errbuf, sizeof(errbuf));
	ck_assert_ptr_null(k);
	ck_assert_ptr_nonnull(strstr(errbuf, "(mode 0604)"));
	k = dkim_table_key_load_file(path_of("loose-ed.key"), false, &alg, &lax,
	    errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(alg, DKIM_ALG_ED25519_SHA256);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(unreadable_key_says_chown)
{
	enum dkim_alg alg;
	bool root = geteuid() == 0;
	EVP_PKEY *k;

	write_key("locked.key", "ED25519", 0, 0600);
	if (root) {
		/* root reads any file: look at it as "nobody" (the test is forked) */
		chmod(dir, 0711);
		ck_assert_int_eq(seteuid(65534), 0);
	} else
		chmod(path_of("locked.key"), 0);
	k = dkim_table_key_load_file(path_of("locked.key"), false, &alg, NULL,
	    errbuf, sizeof(errbuf));
	if (root)
		ck_assert_int_eq(seteuid(0), 0);
	ck_assert_ptr_null(k);
	ck_assert_msg(strstr(errbuf, "Permission denied; run: chown ") != NULL,
	    "%s", errbuf);
}
END_TEST

START_TEST(dkimpy_ed25519_seed_and_inline_der_keys_load)
{
	/* RFC 8032 §7.1 TEST 1 secret key, base64, as dkimpy writes it */
	static const char seed[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n";
	unsigned char der[4096], *p = der;
	char b64[6000];
	struct buf pubb;
	enum dkim_alg alg;
	EVP_PKEY *k, *rsa;
	int n;

	write_file("seed.key", seed, 0600);
	k = dkim_table_key_load_file(path_of("seed.key"), false, &alg, NULL, errbuf,
	    sizeof(errbuf));
	ck_assert_msg(k != NULL, "%s", errbuf);
	ck_assert_int_eq(alg, DKIM_ALG_ED25519_SHA256);
	buf_init(&pubb, 256);
	ck_assert_int_eq(dkim_key_public_b64(k, &pubb), 0);
	ck_assert_str_eq(buf_cstr(&pubb), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	buf_clear(&pubb);
	EVP_PKEY_free(k);

	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	n = i2d_PrivateKey(rsa, &p);
	EVP_EncodeBlock((unsigned char *)b64, der, n);
	k = dkim_table_key_load_inline(span_from_cstr(b64), true,
	    &(enum dkim_alg){ DKIM_ALG_RSA_SHA256 }, errbuf, sizeof(errbuf));
	ck_assert_msg(k != NULL, "%s", errbuf);
	ck_assert_int_eq(EVP_PKEY_eq(k, rsa), 1);
	EVP_PKEY_free(k);
	EVP_PKEY_free(rsa);
	ck_assert_ptr_null(dkim_table_key_load_inline(SPAN_LIT("etc/key"), false,
	    &alg, errbuf, sizeof(errbuf)));
}
END_TEST

START_TEST(dataset_specs_unsupported_and_long_lines)
{
	struct dkim_table_config cfg = { .key_table = "db:/etc/keys.db",
	    .signing_table = "refile:/x" };
	char longline[DKIM_TABLE_LINE_MAX + 100];
	char spec[300];

	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "\"db:\" is not supported"));
	cfg.key_table = "csl:a,b";
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "csl:a,b: the KeyTable must be a file "
	    "(file:/path or refile:/path)"));
	cfg.key_table = "refile:/nonexistent/KeyTable";
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/KeyTable: cannot open"));
	memset(longline, 'a', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	snprintf(spec, sizeof(spec), "%s", write_file("long", longline, 0644));
	cfg.key_table = spec;
	ck_assert_ptr_null(dkim_table_load(&cfg, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "/long:1: line longer than"));
}
END_TEST

START_TEST(every_error_of_a_table_in_one_run)
{
	struct dkim_table *t = load("broken1  example.org\n"
	    "# fine comment\n"
	    "bad*name example.org:s:/k\n"
	    "broken3  example.org:bad selector:/k\n", "*@example.org broken1\n",
	    true, false);

	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(errbuf, "KeyTable:1: key \"broken1\": value must be "
	    "domain:selector:keyfile[:algorithm]") != NULL, "%s", errbuf);
	ck_assert_msg(strstr(errbuf, "KeyTable:3: key name \"bad*name\": a KeyTable "
	    "name is a name, not a pattern") != NULL, "%s", errbuf);
	ck_assert_msg(strstr(errbuf, "KeyTable:4: expected \"name "
	    "domain:selector:keyfile\"") != NULL, "%s", errbuf);
}
END_TEST

/* ---- host lists ---- */

static const char *hosts =
    "# internal\n"
    "127.0.0.1\n"
    "::1\n"
    "192.0.2.0/24\n"
    "!192.0.2.128/25\n"
    "192.0.2.200\n"
    "[2001:db8::]/32\n"
    "!2001:db8:bad::/48\n"
    "mail.example.com\n"
    ".corp.example\n"
    "!guest.corp.example\n";

static const struct {
	const char *host, *addr;
	bool in;
} host_cases[] = {
	{ NULL, "127.0.0.1", true },
	{ NULL, "127.0.0.2", false },
	{ NULL, "::1", true },
	{ NULL, "192.0.2.1", true },
	{ NULL, "192.0.2.129", false },		/* longer negation wins */
	{ NULL, "192.0.2.200", true },		/* exact address beats the negation */
	{ NULL, "[192.0.2.5]", true },
	{ NULL, "::ffff:192.0.2.5", true },	/* IPv4-mapped */
	{ NULL, "IPv6:2001:db8::25", true },	/* XFORWARD form */
	{ NULL, "2001:DB8:BAD::1", false },
	{ NULL, "2001:db9::1", false },
	{ "mail.example.com", "203.0.113.1", true },
	{ "MAIL.Example.com.", NULL, true },
	{ "x.mail.example.com", "203.0.113.1", false },
	{ "a.b.corp.example", "203.0.113.1", true },
	{ "guest.corp.example", "192.0.2.1", false },	/* names before addresses */
	{ "unknown", "192.0.2.1", true },
	{ NULL, "not-an-address", false },
};

START_TEST(hostlist_matches_like_opendkim_peerlist)
{
	struct dkim_hostlist *l;

	l = dkim_table_host_load(write_file("InternalHosts", hosts, 0644), errbuf,
	    sizeof(errbuf));
	ck_assert_msg(l != NULL, "%s", errbuf);
	ck_assert_uint_eq(dkim_table_host_count(l), 10);
	ck_assert_msg(dkim_table_host_match_text(l, host_cases[_i].host,
	    host_cases[_i].addr) == host_cases[_i].in, "%s %s",
	    host_cases[_i].host ? host_cases[_i].host : "-",
	    host_cases[_i].addr ? host_cases[_i].addr : "-");
	dkim_table_host_free(l);
}
END_TEST

START_TEST(hostlist_inline_list_and_binary_addresses)
{
	struct dkim_hostlist *l = dkim_table_host_load("127.0.0.1, ::1,10.0.0.0/8",
	    errbuf, sizeof(errbuf));
	unsigned char a4[4], a6[16];

	ck_assert_msg(l != NULL, "%s", errbuf);
	inet_pton(AF_INET, "10.9.8.7", a4);
	ck_assert(dkim_table_host_match(l, NULL, AF_INET, a4));
	inet_pton(AF_INET, "11.9.8.7", a4);
	ck_assert(!dkim_table_host_match(l, NULL, AF_INET, a4));
	inet_pton(AF_INET6, "::1", a6);
	ck_assert(dkim_table_host_match(l, NULL, AF_INET6, a6));
	dkim_table_host_free(l);
	l = dkim_table_host_load("csl:0.0.0.0/0,!198.51.100.7", errbuf, sizeof(errbuf));
	ck_assert_msg(l != NULL, "%s", errbuf);
	ck_assert(dkim_table_host_match_text(l, NULL, "198.51.100.8"));
	ck_assert(!dkim_table_host_match_text(l, NULL, "198.51.100.7"));
	dkim_table_host_free(l);
}
END_TEST

static const struct {
	const char *text, *why;
} host_errors[] = {
	{ "\n10.0.0.0/33\n", "2: \"10.0.0.0/33\": not an address" },
	{ "10.0.0.0/8\n!10.0.0.0/8\n", "2: \"!10.0.0.0/8\" contradicts line 1" },
	{ "host.example\n!HOST.example\n", "2: \"!HOST.example\" contradicts line 1" },
	{ "bad_host!\n", "1: \"bad_host!\": not an address" },
	{ "[192.0.2.1\n", "1: \"[192.0.2.1\": not an address" },
	{ "!\n", "1: \"!\" without a host" },
	{ "10.0.0.1 10.0.0.2\n", "1: unexpected \"10.0.0.2\"" },
};

START_TEST(hostlist_errors_name_file_and_line)
{
	char want[256];
	struct dkim_hostlist *l = dkim_table_host_load(
	    write_file("hosts", host_errors[_i].text, 0644), errbuf, sizeof(errbuf));

	ck_assert_ptr_null(l);
	snprintf(want, sizeof(want), "%s:%s", path_of("hosts"), host_errors[_i].why);
	ck_assert_msg(strstr(errbuf, want) != NULL, "want \"%s\" in \"%s\"", want,
	    errbuf);
}
END_TEST

/* the guides' TrustedHosts, read as refile: as OpenDKIM reads it */
START_TEST(hostlist_refile_masked_cidr_and_star_patterns)
{
	char spec[512];
	struct dkim_hostlist *l;

	snprintf(spec, sizeof(spec), "refile:%s", write_file("TrustedHosts",
	    "127.0.0.1\n::1\n#host.example.com\n192.168.0.1/24\n"
	    "mail.mydomain.example\n*.corp.example\n!*.guest.corp.example\n",
	    0644));
	l = dkim_table_host_load(spec, errbuf, sizeof(errbuf));
	ck_assert_msg(l != NULL, "%s", errbuf);
	ck_assert(dkim_table_host_match_text(l, NULL, "192.168.0.77"));
	ck_assert(!dkim_table_host_match_text(l, NULL, "192.168.1.1"));
	ck_assert(dkim_table_host_match_text(l, "mail.mydomain.example",
	    "203.0.113.9"));
	ck_assert(dkim_table_host_match_text(l, "a.corp.example", "203.0.113.9"));
	ck_assert(!dkim_table_host_match_text(l, "x.guest.corp.example",
	    "203.0.113.9"));
	ck_assert(!dkim_table_host_match_text(l, "unknown", "203.0.113.9"));
	dkim_table_host_free(l);
	ck_assert_ptr_null(dkim_table_host_load("/nonexistent/hosts", errbuf,
	    sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/hosts: cannot open"));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dkim_table");
	TCase *tc = tcase_create("tables");

	/* keys are made once: RSA generation dominates the run time */
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, keytable_loads_rsa_and_ed25519_keys_with_algorithm_from_key);
	tcase_add_loop_test(tc, signingtable_plain_follows_opendkim_lookup_order, 0,
	    ARRAY_LEN(order_cases));
	tcase_add_test(tc, signingtable_plain_multiple_signatures_applies_every_match);
	tcase_add_test(tc, signingtable_refile_wildcards_first_match_in_file_order);
	tcase_add_test(tc, signingtable_dual_signing_two_keys_for_one_pattern);
	tcase_add_test(tc, percent_domain_keyname_path_and_signer_are_substituted);
	tcase_add_test(tc, signer_outside_signing_domain_is_dropped);
	tcase_add_test(tc, simple_form_signs_domain_and_optionally_subdomains);
	tcase_add_test(tc, key_switch_changes_selector_and_key_of_the_entry);
	tcase_add_test(tc, config_forms_must_not_be_mixed_or_half_given);
	tcase_add_loop_test(tc, load_errors_name_file_line_and_reason, 0,
	    ARRAY_LEN(load_errors));
	tcase_add_test(tc, insecure_key_is_refused_unless_allowed);
	tcase_add_test(tc, unreadable_key_says_chown);
	tcase_add_test(tc, dkimpy_ed25519_seed_and_inline_der_keys_load);
	tcase_add_test(tc, dataset_specs_unsupported_and_long_lines);
	tcase_add_test(tc, every_error_of_a_table_in_one_run);
	tcase_add_loop_test(tc, hostlist_matches_like_opendkim_peerlist, 0,
	    ARRAY_LEN(host_cases));
	tcase_add_test(tc, hostlist_inline_list_and_binary_addresses);
	tcase_add_loop_test(tc, hostlist_errors_name_file_and_line, 0,
	    ARRAY_LEN(host_errors));
	tcase_add_test(tc, hostlist_refile_masked_cidr_and_star_patterns);
	suite_add_tcase(s, tc);
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
