/*
 * test_arc_suite.c - the ValiMail ARC test suite (tests/data/arc, MIT licence)
 * through the ARC verifier, keys served by the in-memory resolver from each
 * document's txt-records.  Every validation scenario must give its expected
 * chain validation status, synchronously and with answers from an event loop.
 *
 * The suite follows the drafts before RFC 8617; where its expectation differs
 * from the RFC, the case is listed below with the RFC section that decides
 * it, and the test asserts the RFC's answer instead.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <yaml.h>

#include "arc.h"
#include "buf.h"
#include "dns.h"
#include "util.h"

/* Cases where RFC 8617 decides differently from the suite. */
static const struct {
	const char *test;
	enum arc_cv cv;		/* what RFC 8617 gives */
	const char *why;
} arc_rfc_decides[] = {
	/* The suite leaves cv empty: the latest seal says cv=fail. */
	{ "cv_fail_i1_as_cv_fail", ARC_CV_FAIL,
	  "RFC 8617 §5.2 step 2: the latest AS with cv=fail makes the chain fail" },
	{ "cv_fail_i2_as2_fail", ARC_CV_FAIL,
	  "RFC 8617 §5.2 step 2: the latest AS with cv=fail makes the chain fail" },
	{ "cv_fail_i2_as1_fail", ARC_CV_FAIL,
	  "RFC 8617 §5.2 step 3: AS(1) must say cv=none; cv=fail there fails the chain" },
	/* The suite passes an AMS with an empty h=. */
	{ "ams_fields_h_empty", ARC_CV_FAIL,
	  "RFC 8617 §4.1.2 makes the AMS a DKIM-Signature: RFC 6376 §3.5 h= needs a name "
	  "and §6.1.1 a signed From, else the signature is ignored (PERMFAIL)" },
	/* The suite passes an AMS whose h= has an empty name ("to::date"). */
	{ "ams_fields_h_mis_hdr", ARC_CV_FAIL,
	  "RFC 8617 §4.1.2 / RFC 6376 §3.5: h= is hdr-name *(\":\" hdr-name), a name is 1*ftext; "
	  "a signature that does not parse is PERMFAIL (§6.1.1)" },
	/* The suite's AMS without c= was made with relaxed header canonicalisation. */
	{ "ams_fields_c_na", ARC_CV_FAIL,
	  "RFC 8617 §4.1.2 keeps DKIM's tags: RFC 6376 §3.5 c= absent means simple/simple, "
	  "under which the relaxed-made signature does not verify" },
};

/* node - node i of a document */
static yaml_node_t *
node(yaml_document_t *d, int i)
{
	return yaml_document_get_node(d, i);
}

/* scalar_is - the node is the scalar s */
static bool
scalar_is(yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	    memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* scalar_dup - copy of a scalar (empty for other nodes) */
static char *
scalar_dup(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return xstrdup("");
	return xmemdup0(n->data.scalar.value, n->data.scalar.length);
}

/* map_get - value node of key in a mapping */
static yaml_node_t *
map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++)
		if (scalar_is(node(d, p->key), key))
			return node(d, p->value);
	return NULL;
}

/* to_crlf - the YAML text with every LF made CRLF */
static void
to_crlf(yaml_node_t *n, struct buf *out)
{
	for (size_t i = 0; n && n->type == YAML_SCALAR_NODE && i < n->data.scalar.length; i++) {
		if (n->data.scalar.value[i] == '\n')
			buf_append_char(out, '\r');
		buf_append_char(out, (char)n->data.scalar.value[i]);
	}
}

/* expected_cv - the suite's cv: None, Pass, Fail, or empty */
static int
expected_cv(yaml_node_t *n, enum arc_cv *cv)
{
	char *s = scalar_dup(n);
	char *e = s + strlen(s);
	int rc = 0;

	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = '\0';
	if (strcmp(s, "None") == 0)
		*cv = ARC_CV_NONE;
	else if (strcmp(s, "Pass") == 0)
		*cv = ARC_CV_PASS;
	else if (strcmp(s, "Fail") == 0)
		*cv = ARC_CV_FAIL;
	else
		rc = -1;
	free(s);
	return rc;
}

/* rfc_decides - the allow-list entry of a test, or -1 */
static long
rfc_decides(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(arc_rfc_decides); i++)
		if (strcmp(arc_rfc_decides[i].test, name) == 0)
			return (long)i;
	return -1;
}

struct outcome {
	int calls;
	enum arc_cv cv;
	char reason[256];
	unsigned oldest_pass, sets;
	bool limit, temporary;
};

/* on_result - the verifier's callback */
static void
on_result(void *arg, const struct arc_result *res)
{
	struct outcome *o = arg;

	o->calls++;
	o->cv = res->cv;
	o->oldest_pass = res->oldest_pass;
	o->sets = res->sets;
	o->limit = res->limit;
	o->temporary = res->temporary;
	snprintf(o->reason, sizeof(o->reason), "%s", res->reason);
}

/* feed_keys - the document's txt-records into the resolver */
static void
feed_keys(yaml_document_t *d, yaml_node_t *recs, struct dns_resolver *r)
{
	for (yaml_node_pair_t *p = recs ? recs->data.mapping.pairs.start : NULL;
	    p && p < recs->data.mapping.pairs.top; p++) {
		char *name = scalar_dup(node(d, p->key)), *txt = scalar_dup(node(d, p->value));

		dns_mem_add_txt(r, name, txt);
		free(name);
		free(txt);
	}
}

/* verify_msg - one scenario's message through a verifier with limits lim (NULL: defaults) */
static void
verify_msg(yaml_document_t *d, yaml_node_t *recs, yaml_node_t *t, bool async,
    const struct arc_limits *lim, const char *timeout_name, struct outcome *o)
{
	struct event_base *base = async ? event_base_new() : NULL;
	struct dns_resolver *r = dns_mem_new(base);
	struct arc_verify *v = arc_verify_new(r, lim);
	struct buf msg;

	memset(o, 0, sizeof(*o));
	feed_keys(d, recs, r);
	if (timeout_name)
		dns_mem_set_rcode(r, timeout_name, 0, DNS_RCODE_TIMEOUT);
	buf_init(&msg, 1 << 20);
	to_crlf(map_get(d, t, "message"), &msg);
	ck_assert_int_eq(arc_verify_chunk(v, msg.data ? msg.data : "", msg.len), 0);
	ck_assert_int_eq(arc_verify_finish(v, on_result, o), 0);
	if (base)
		event_base_dispatch(base);
	ck_assert_int_eq(o->calls, 1);
	arc_verify_free(v);
	dns_resolver_free(r);
	if (base)
		event_base_free(base);
	buf_clear(&msg);
}

/* run_one - verify one message; true when the verdict is the expected one */
static bool
run_one(yaml_document_t *d, yaml_node_t *recs, yaml_node_t *t, const char *tname, bool async)
{
	struct outcome o;
	enum arc_cv want;
	long allow = rfc_decides(tname);
	bool ok;

	verify_msg(d, recs, t, async, NULL, NULL, &o);
	if (allow >= 0)
		want = arc_rfc_decides[allow].cv;
	else
		ck_assert_msg(expected_cv(map_get(d, t, "cv"), &want) == 0,
		    "%s: no expected cv and not allow-listed", tname);
	ok = o.cv == want;
	/* never pass for a chain that hit a limit or a DNS error */
	ck_assert(!(o.cv == ARC_CV_PASS && (o.limit || o.temporary)));
	if (!ok)
		printf("  FAIL %s: got %s (%s), want %s\n", tname, arc_cv_str(o.cv), o.reason,
		    arc_cv_str(want));
	else if (allow >= 0)
		printf("  %s: %s as %s\n", tname, arc_cv_str(o.cv), arc_rfc_decides[allow].why);
	return ok;
}

/* A scenario run by name with chosen limits (NULL: every scenario, checked). */
struct named_run {
	const char *name;
	const struct arc_limits *lim;
	const char *timeout_name;
	struct outcome o;
	bool found;
};

/* run_file - every validation scenario of the file (or the one nr names); the count of failures */
static unsigned
run_file(bool async, unsigned *run, struct named_run *nr)
{
	const char *src = getenv("MAILAUTH_SRC");
	char path[4096];
	yaml_parser_t parser;
	unsigned failed = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/arc/arc-draft-validation-tests.yml",
	    src ? src : ".");
	ck_assert_msg((f = fopen(path, "rb")) != NULL, "cannot open %s", path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		yaml_document_t d;
		yaml_node_t *root, *tests;

		ck_assert_msg(yaml_parser_load(&parser, &d), "YAML error in %s", path);
		if ((root = yaml_document_get_root_node(&d)) == NULL) {
			yaml_document_delete(&d);
			break;
		}
		tests = map_get(&d, root, "tests");
		for (yaml_node_pair_t *p = tests->data.mapping.pairs.start;
		    p < tests->data.mapping.pairs.top; p++) {
			char *tname = scalar_dup(node(&d, p->key));
			yaml_node_t *recs = map_get(&d, root, "txt-records");

			if (nr && !nr->found && strcmp(nr->name, tname) == 0) {
				verify_msg(&d, recs, node(&d, p->value), async, nr->lim,
				    nr->timeout_name, &nr->o);
				nr->found = true;
			} else if (nr == NULL) {
				(*run)++;
				if (!run_one(&d, recs, node(&d, p->value), tname, async))
					failed++;
			}
			free(tname);
		}
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return failed;
}

/* check_all - every scenario gives its cv */
static void
check_all(bool async)
{
	unsigned run = 0, failed = run_file(async, &run, NULL);

	printf("arc validation suite (%s): %u/%u\n", async ? "async" : "sync", run - failed, run);
	/* 175 scenarios (four names appear twice in one document; both copies run) */
	ck_assert_uint_eq(run, 175);
	ck_assert_uint_eq(failed, 0);
}

START_TEST(arc_suite_every_validation_scenario_gives_its_cv_sync)
{
	check_all(false);
}
END_TEST

START_TEST(arc_suite_every_validation_scenario_gives_its_cv_async)
{
	check_all(true);
}
END_TEST

/* run_named - one scenario with limits lim (NULL: defaults) and a name that times out */
static struct outcome
run_named(const char *name, const struct arc_limits *lim, const char *timeout_name)
{
	struct named_run nr = { name, lim, timeout_name, { 0 }, false };
	unsigned run = 0;

	run_file(true, &run, &nr);
	ck_assert_msg(nr.found, "no scenario %s", name);
	return nr.o;
}

START_TEST(arc_oldest_pass_zero_when_every_ams_validates)
{
	struct outcome o = run_named("cv_pass_i3_1", NULL, NULL);

	ck_assert_int_eq(o.cv, ARC_CV_PASS);
	ck_assert_uint_eq(o.sets, 3);
	ck_assert_uint_eq(o.oldest_pass, 0);
}
END_TEST

START_TEST(arc_oldest_pass_names_the_lowest_validating_ams)
{
	/* From changed after set 1: AMS(1) fails, AMS(2) validates (RFC 8617 §5.2 step 5) */
	struct outcome o = run_named("cv_pass_i2_1_ams1_invalid", NULL, NULL);

	ck_assert_int_eq(o.cv, ARC_CV_PASS);
	ck_assert_uint_eq(o.oldest_pass, 2);
}
END_TEST

/* limits_default - the default limits, for a test to change one */
static struct arc_limits
limits_default(void)
{
	struct arc_limits l;

	arc_limits_default(&l);
	return l;
}

START_TEST(arc_set_limit_fails_a_longer_chain)
{
	struct arc_limits l = limits_default();
	struct outcome o;

	l.set_limit = 4;
	o = run_named("cv_pass_i5_1", &l, NULL);
	ck_assert_int_eq(o.cv, ARC_CV_FAIL);
	ck_assert(o.limit);
	l.set_limit = 5;
	ck_assert_int_eq(run_named("cv_pass_i5_1", &l, NULL).cv, ARC_CV_PASS);
}
END_TEST

START_TEST(arc_signature_limit_fails_the_chain)
{
	struct arc_limits l = limits_default();
	struct outcome o;

	/* two sets: AMS(2), AMS(1), AS(2), AS(1) */
	l.sig_limit = 3;
	o = run_named("cv_pass_i2_1", &l, NULL);
	ck_assert_int_eq(o.cv, ARC_CV_FAIL);
	ck_assert(o.limit);
	ck_assert_str_eq(o.reason, "ARC signature verification limit reached");
	l.sig_limit = 4;
	ck_assert_int_eq(run_named("cv_pass_i2_1", &l, NULL).cv, ARC_CV_PASS);
}
END_TEST

START_TEST(arc_dns_limit_fails_the_chain)
{
	struct arc_limits l = limits_default();
	struct outcome o;

	/* AMS and AS under different selectors and domains: two lookups */
	l.dns_query_limit = 1;
	o = run_named("ams_as_diff_s_d", &l, NULL);
	ck_assert_int_eq(o.cv, ARC_CV_FAIL);
	ck_assert(o.limit);
	ck_assert_str_eq(o.reason, "ARC key lookup limit reached");
	l.dns_query_limit = 2;
	ck_assert_int_eq(run_named("ams_as_diff_s_d", &l, NULL).cv, ARC_CV_PASS);
}
END_TEST

START_TEST(arc_hash_limit_fails_the_chain)
{
	struct arc_limits l = limits_default();
	struct outcome o;

	l.hash_size_limit = 64;
	o = run_named("cv_pass_i1_1", &l, NULL);
	ck_assert_int_eq(o.cv, ARC_CV_FAIL);
	ck_assert(o.limit);
	ck_assert_str_eq(o.reason, "ARC hashing size limit reached");
}
END_TEST

START_TEST(arc_key_timeout_fails_as_temporary)
{
	struct outcome o = run_named("cv_pass_i1_1", NULL, "dummy._domainkey.example.org");

	ck_assert_int_eq(o.cv, ARC_CV_FAIL);
	ck_assert(o.temporary);
	ck_assert_str_eq(o.reason, "key lookup timed out");
}
END_TEST

START_TEST(arc_no_arc_fields_is_none)
{
	struct outcome o = run_named("cv_base1", NULL, NULL);

	ck_assert_int_eq(o.cv, ARC_CV_NONE);
	ck_assert_uint_eq(o.sets, 0);
}
END_TEST

/* main - the suite, synchronous and asynchronous */
int
main(void)
{
	Suite *s = suite_create("arc_suite");
	TCase *tc = tcase_create("valimail");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, arc_suite_every_validation_scenario_gives_its_cv_sync);
	tcase_add_test(tc, arc_suite_every_validation_scenario_gives_its_cv_async);
	tcase_add_test(tc, arc_oldest_pass_zero_when_every_ams_validates);
	tcase_add_test(tc, arc_oldest_pass_names_the_lowest_validating_ams);
	tcase_add_test(tc, arc_set_limit_fails_a_longer_chain);
	tcase_add_test(tc, arc_signature_limit_fails_the_chain);
	tcase_add_test(tc, arc_dns_limit_fails_the_chain);
	tcase_add_test(tc, arc_hash_limit_fails_the_chain);
	tcase_add_test(tc, arc_key_timeout_fails_as_temporary);
	tcase_add_test(tc, arc_no_arc_fields_is_none);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
