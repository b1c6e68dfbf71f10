/*
 * test_spf_macro.c - SPF macro expander (RFC 7208 §7): the §7.4 examples, every
 * letter, transformers and delimiters, URL escaping, exp-only letters, and
 * malformed macro-strings (permerror with a reason, no read past the input).
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"
#include "util.h"

static struct sockaddr_storage client4, client6, client_mapped;

/* setup_addrs - the client addresses used by the tables */
static void
setup_addrs(void)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&client4;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&client6;
	struct sockaddr_in6 *sm = (struct sockaddr_in6 *)&client_mapped;

	s4->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.3", &s4->sin_addr);
	s6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::cb01", &s6->sin6_addr);
	sm->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.3", &sm->sin6_addr);
}

/* ctx_rfc - the §7.4 example context */
static struct spf_macro_ctx
ctx_rfc(const struct sockaddr_storage *client, bool exp)
{
	struct spf_macro_ctx c = {
		.sender = "strong-bad@email.example.com",
		.local_part = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.client = client,
		.helo = "mx.example.org",
		.validated_ptr = NULL,
		.receiver = "mx.example.net",
		.now = 1234567890,
		.exp = exp,
	};
	return c;
}

/* expand_exact - expand (s, len) from an exact-size heap block */
static int
expand_exact(const char *s, size_t len, const struct spf_macro_ctx *ctx, struct buf *out,
    const char **err)
{
	char *copy = xmalloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	*err = NULL;
	rc = spf_macro_expand(copy, len, ctx, out, err);
	free(copy);
	return rc;
}

static const struct {
	const char *name;
	int client;	/* 4, 6 or 46 (v4-mapped) */
	bool exp;
	const char *in, *out;
} expansions[] = {
	{ "s", 4, false, "%{s}", "strong-bad@email.example.com" },
	{ "o", 4, false, "%{o}", "email.example.com" },
	{ "d", 4, false, "%{d}", "email.example.com" },
	{ "d4", 4, false, "%{d4}", "email.example.com" },
	{ "d3", 4, false, "%{d3}", "email.example.com" },
	{ "d2", 4, false, "%{d2}", "example.com" },
	{ "d1", 4, false, "%{d1}", "com" },
	{ "dr", 4, false, "%{dr}", "com.example.email" },
	{ "d2r", 4, false, "%{d2r}", "example.email" },
	{ "l", 4, false, "%{l}", "strong-bad" },
	{ "l_dash", 4, false, "%{l-}", "strong.bad" },
	{ "lr", 4, false, "%{lr}", "strong-bad" },
	{ "lr_dash", 4, false, "%{lr-}", "bad.strong" },
	{ "l1r_dash", 4, false, "%{l1r-}", "strong" },
	{ "rfc_example_1", 4, false, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
	{ "rfc_example_2", 4, false, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
	{ "rfc_example_3", 4, false, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "rfc_example_4", 4, false, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "rfc_example_5", 4, false, "%{d2}.trusted-domains.example.net",
	  "example.com.trusted-domains.example.net" },
	{ "spf_macro_expands_ir_for_ipv6", 6, false, "%{ir}.%{v}._spf.%{d2}",
	  "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com" },
	{ "i_ipv4", 4, false, "%{i}", "192.0.2.3" },
	{ "i_v4mapped_is_ipv4", 46, false, "%{i}.%{v}", "192.0.2.3.in-addr" },
	{ "h", 4, false, "%{h}", "mx.example.org" },
	{ "p_unknown", 4, false, "%{p}", "unknown" },
	{ "uppercase_url_escapes", 4, false, "%{S}", "strong-bad%40email.example.com" },
	{ "uppercase_letter_same_value", 4, false, "%{D2}", "example.com" },
	{ "escapes", 4, false, "a%%b%_c%-d", "a%b c%20d" },
	{ "multiple_delimiters", 4, false, "%{l-.}", "strong.bad" },
	{ "all_delimiters", 4, false, "%{s.-+,/_=}", "strong.bad@email.example.com" },
	{ "huge_digit_keeps_all", 4, false, "%{d99999999999999999999}", "email.example.com" },
	{ "c_in_exp", 4, true, "%{c}", "192.0.2.3" },
	{ "c_ipv6_in_exp", 6, true, "%{c}", "2001:db8::cb01" },
	{ "r_in_exp", 4, true, "%{r}", "mx.example.net" },
	{ "t_in_exp", 4, true, "%{t}", "1234567890" },
	{ "exp_text_spaces", 4, true, "See http://%{d}/why?s=%{S}", "See http://email.example.com/why?s=strong-bad%40email.example.com" },
	{ "empty", 4, false, "", "" },
};

START_TEST(spf_macro_expands_table)
{
	const struct sockaddr_storage *c = expansions[_i].client == 6 ? &client6 :
	    expansions[_i].client == 46 ? &client_mapped : &client4;
	struct spf_macro_ctx ctx = ctx_rfc(c, expansions[_i].exp);
	struct buf out;
	const char *err;

	buf_init(&out, 4096);
	ck_assert_msg(expand_exact(expansions[_i].in, strlen(expansions[_i].in), &ctx, &out,
	    &err) == 0, "%s: %s", expansions[_i].name, err);
	ck_assert_msg(strcmp(buf_cstr(&out), expansions[_i].out) == 0, "%s: got \"%s\"",
	    expansions[_i].name, buf_cstr(&out));
	buf_clear(&out);
}
END_TEST

START_TEST(spf_macro_validated_ptr_is_used)
{
	struct spf_macro_ctx ctx = ctx_rfc(&client4, false);
	struct buf out;
	const char *err;

	ctx.validated_ptr = "mx.example.org";
	buf_init(&out, 256);
	ck_assert_int_eq(expand_exact("%{p2}.trusted", 13, &ctx, &out, &err), 0);
	ck_assert_str_eq(buf_cstr(&out), "example.org.trusted");
	buf_clear(&out);
}
END_TEST

static const struct {
	const char *name;
	bool exp;
	const char *in;
	size_t len;	/* 0: strlen */
} malformed[] = {
	{ "lone_percent", false, "%", 0 },
	{ "percent_at_end", false, "abc%", 0 },
	{ "truncated_open_brace", false, "%{", 0 },
	{ "truncated_after_letter", false, "%{d", 0 },
	{ "truncated_after_digits", false, "%{d12", 0 },
	{ "truncated_after_reverse", false, "%{dr", 0 },
	{ "truncated_after_delimiter", false, "%{dr.", 0 },
	{ "bad_letter", false, "%{x}", 0 },
	{ "empty_braces", false, "%{}", 0 },
	{ "zero_digit", false, "%{d0}", 0 },
	{ "digit_after_reverse", false, "%{dr2}", 0 },
	{ "bad_delimiter", false, "%{d:}", 0 },
	{ "space_delimiter", false, "%{d }", 0 },
	{ "percent_paren", false, "%(ir)", 0 },
	{ "percent_letter", false, "%d", 0 },
	{ "c_outside_exp", false, "%{c}", 0 },
	{ "r_outside_exp", false, "%{r}", 0 },
	{ "t_outside_exp", false, "%{t}", 0 },
	{ "space_outside_exp", false, "a b", 0 },
	{ "non_ascii", false, "caf\xc3\xa9", 0 },
	{ "non_ascii_in_exp", true, "caf\xc3\xa9", 0 },
	{ "control_char", true, "a\rb", 0 },
	{ "embedded_nul", false, "%{d}\0.x", 6 },
	{ "nul_in_braces", false, "%{d\0}", 5 },
	{ "nul_letter", false, "%{\0}", 4 },
};

START_TEST(spf_macro_rejects_malformed_with_reason)
{
	struct spf_macro_ctx ctx = ctx_rfc(&client4, malformed[_i].exp);
	size_t len = malformed[_i].len ? malformed[_i].len : strlen(malformed[_i].in);
	struct buf out;
	const char *err;

	buf_init(&out, 4096);
	ck_assert_msg(expand_exact(malformed[_i].in, len, &ctx, &out, &err) == -1,
	    "%s expanded", malformed[_i].name);
	ck_assert_msg(err != NULL && err[0] != '\0', "%s: no reason", malformed[_i].name);
	ck_assert_int_eq(spf_macro_check(malformed[_i].in, len, malformed[_i].exp, NULL, &err), -1);
	buf_clear(&out);
}
END_TEST

START_TEST(spf_macro_output_is_bounded)
{
	struct spf_macro_ctx ctx = ctx_rfc(&client4, true);
	struct buf out;
	const char *err;
	char in[4000];

	/* 1000 x "%{s}" expands to 28000 bytes: an explain-string that long is an error */
	for (size_t i = 0; i < sizeof(in); i += 4)
		memcpy(in + i, "%{s}", 4);
	buf_init(&out, 4096);
	ck_assert_int_eq(expand_exact(in, sizeof(in), &ctx, &out, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, "explanation too long");
	ck_assert_uint_le(out.len, 4096);
	buf_clear(&out);
}
END_TEST

/* naive_expand - the whole expansion of "%{<letter>}<tail>" for a long value */
static void
naive_expand(struct buf *b, const char *value, const char *tail)
{
	buf_append_str(b, value);
	buf_append_str(b, tail);
	spf_domain_truncate(b);
}

/*
 * A domain-spec of any length keeps the labels §7.3 keeps.  Values longer
 * than the 4096-byte buffer used to fail with no reason at all (err NULL).
 */
START_TEST(spf_macro_long_values_truncate_per_7_3)
{
	static const struct {
		size_t n;	/* bytes of the repeated piece */
		const char *piece, *spec, *tail;
	} cases[] = {
		{ 5000, "x", "%{l}._spf.example.com", "._spf.example.com" },
		{ 5000, "ab.", "%{l}.example.com", ".example.com" },
		{ 20000, "label-of-some-length.", "%{l}.x.example", ".x.example" },
		{ 4095, "q", "%{l}.example.com", ".example.com" },
		{ 4097, "q.", "%{l}.example.com", ".example.com" },
		{ 70000, "a.", "%{l}.example.com", ".example.com" },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct spf_macro_ctx ctx = ctx_rfc(&client4, false);
		struct buf lp, out, want;
		const char *err = NULL;

		buf_init(&lp, cases[i].n + 64);
		while (lp.len + strlen(cases[i].piece) <= cases[i].n)
			buf_append_str(&lp, cases[i].piece);
		buf_append_str(&lp, "end");
		ctx.local_part = buf_cstr(&lp);
		buf_init(&out, 4096);
		buf_init(&want, 1 << 20);
		naive_expand(&want, ctx.local_part, cases[i].tail);
		ck_assert_msg(expand_exact(cases[i].spec, strlen(cases[i].spec), &ctx, &out,
		    &err) == 0, "case %zu: %s", i, err ? err : "(no reason)");
		spf_domain_truncate(&out);
		ck_assert_msg(strcmp(buf_cstr(&out), buf_cstr(&want)) == 0,
		    "case %zu: \"%s\" want \"%s\"", i, buf_cstr(&out), buf_cstr(&want));
		ck_assert_uint_le(out.len, 253);
		buf_clear(&lp);
		buf_clear(&out);
		buf_clear(&want);
	}
}
END_TEST

/* Transformers and URL escaping see the whole long value, then §7.3 truncates. */
START_TEST(spf_macro_long_values_keep_transformers)
{
	struct spf_macro_ctx ctx = ctx_rfc(&client4, false);
	struct buf lp, out;
	const char *err = NULL;

	buf_init(&lp, 8192);
	for (int i = 0; i < 1000; i++)
		buf_printf(&lp, "p%d+", i);
	buf_append_str(&lp, "last");
	ctx.local_part = buf_cstr(&lp);
	buf_init(&out, 4096);
	/* the right-most two "+"-parts, joined with "." */
	ck_assert_int_eq(expand_exact("%{l2+}.example.com", 18, &ctx, &out, &err), 0);
	ck_assert_str_eq(buf_cstr(&out), "p999.last.example.com");
	buf_reset(&out);
	/* reversed: the first parts come last */
	ck_assert_int_eq(expand_exact("%{l2r+}.example.com", 19, &ctx, &out, &err), 0);
	ck_assert_str_eq(buf_cstr(&out), "p1.p0.example.com");
	buf_reset(&out);
	/* %{L}: '+' becomes %2B; one label of 9000 bytes is dropped whole */
	ck_assert_int_eq(expand_exact("%{L}.example.com", 16, &ctx, &out, &err), 0);
	spf_domain_truncate(&out);
	ck_assert_str_eq(buf_cstr(&out), "example.com");
	buf_clear(&out);
	buf_clear(&lp);
}
END_TEST

START_TEST(spf_macro_every_prefix_is_safe)
{
	const char *in = "%{ir}.%{v}.%{l1r-}.lp._spf.%{D2}%%%_%-";
	size_t len = strlen(in);
	struct spf_macro_ctx ctx = ctx_rfc(&client6, false);

	for (size_t n = 0; n <= len; n++) {
		struct buf out;
		const char *err;

		buf_init(&out, 4096);
		if (expand_exact(in, n, &ctx, &out, &err) < 0)
			ck_assert_ptr_nonnull(err);
		buf_clear(&out);
	}
}
END_TEST

START_TEST(spf_macro_uses_p_detects_letter)
{
	ck_assert(spf_macro_uses_p("%{p}", 4));
	ck_assert(spf_macro_uses_p("x.%{P2}.y", 9));
	ck_assert(!spf_macro_uses_p("%%{p}", 5));
	ck_assert(!spf_macro_uses_p("%{d}p", 5));
	ck_assert(!spf_macro_uses_p("%{", 2));
}
END_TEST

START_TEST(spf_domain_truncates_from_the_left)
{
	struct buf b;
	char label[64];

	memset(label, 'a', 63);
	label[63] = '\0';
	buf_init(&b, 4096);
	for (int i = 0; i < 5; i++)
		buf_printf(&b, "%s%d.", label, i);
	buf_append_str(&b, "example.com.");
	ck_assert_uint_gt(b.len, 253);
	spf_domain_truncate(&b);
	ck_assert_uint_le(b.len, 253);
	/* whole labels dropped from the left; the right-hand end is kept */
	ck_assert(b.len >= 11 && strcmp(b.data + b.len - 11, "example.com") == 0);
	ck_assert(b.data[0] == 'a');
	buf_clear(&b);
}
END_TEST

START_TEST(spf_domain_fqdn_rules)
{
	ck_assert(spf_domain_is_fqdn("example.com", 11));
	ck_assert(spf_domain_is_fqdn("example.com.", 12));
	ck_assert(!spf_domain_is_fqdn("localhost", 9));
	ck_assert(!spf_domain_is_fqdn("a..example.com", 14));
	ck_assert(!spf_domain_is_fqdn(".example.com", 12));
	ck_assert(!spf_domain_is_fqdn("[1.2.3.4]", 9));
	ck_assert(!spf_domain_is_fqdn("1.2.3.4", 7));
	ck_assert(!spf_domain_is_fqdn("", 0));
	ck_assert(!spf_domain_is_fqdn("exa mple.com", 12));
	ck_assert(spf_domain_is_fqdn(
	    "a12345678901234567890123456789012345678901234567890123456789012.com", 67));
	ck_assert(!spf_domain_is_fqdn(
	    "a123456789012345678901234567890123456789012345678901234567890123.com", 68));
	ck_assert(domain_is_under("mail.Example.com", 16, "example.COM"));
	ck_assert(domain_is_under("example.com", 11, "example.com."));
	ck_assert(!domain_is_under("badexample.com", 14, "example.com"));
}
END_TEST

/* main - run the macro tests */
int
main(void)
{
	Suite *s = suite_create("spf_macro");
	TCase *tc = tcase_create("macro");
	SRunner *sr;
	int failed;

	setup_addrs();
	tcase_add_loop_test(tc, spf_macro_expands_table, 0, (int)ARRAY_LEN(expansions));
	tcase_add_test(tc, spf_macro_validated_ptr_is_used);
	tcase_add_loop_test(tc, spf_macro_rejects_malformed_with_reason, 0,
	    (int)ARRAY_LEN(malformed));
	tcase_add_test(tc, spf_macro_output_is_bounded);
	tcase_add_test(tc, spf_macro_long_values_truncate_per_7_3);
	tcase_add_test(tc, spf_macro_long_values_keep_transformers);
	tcase_add_test(tc, spf_macro_every_prefix_is_safe);
	tcase_add_test(tc, spf_macro_uses_p_detects_letter);
	tcase_add_test(tc, spf_domain_truncates_from_the_left);
	tcase_add_test(tc, spf_domain_fqdn_rules);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
