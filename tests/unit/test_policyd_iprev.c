/*
 * test_policyd_iprev.c - policyd's iprev (RFC 8601 §3): the check step
 * (only when iprev_header or iprev_action asks for it, never for skipped
 * clients, synchronous and asynchronous resolvers), the answer at RCPT for
 * each iprev_action (RFC 7372 §3.3 codes; a temporary failure never
 * rejects), and the iprev= clause in the headers of each header_type.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "policyd.h"
#include "util.h"

struct got {
	bool called;
	struct policyd_outcome out;
};

/* on_outcome - keep the outcome (moved out of the check) */
static void
on_outcome(void *arg, struct policyd_outcome *o)
{
	struct got *g = arg;

	g->called = true;
	g->out = *o;
	memset(o, 0, sizeof(*o));
}

/* zone - a confirmed client, an unconfirmed one, one without PTR, one failing */
static void
zone(struct dns_resolver *dns)
{
	dns_mem_add_txt(dns, "example.org", "v=spf1 ip4:192.0.2.0/24 -all");
	dns_mem_add(dns, "1.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, "mx.example.org", 14);
	dns_mem_add_addr(dns, "mx.example.org", "192.0.2.1");
	dns_mem_add(dns, "2.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, "liar.example", 12);
	dns_mem_add_addr(dns, "liar.example", "198.51.100.1");
	dns_mem_set_rcode(dns, "4.2.0.192.in-addr.arpa", DNS_TYPE_PTR, DNS_RCODE_SERVFAIL);
}

/* run - the checks of one request from client under settings */
static struct got
run(const char *const *settings, const char *client, bool async, unsigned *queries)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *dns = dns_mem_new(async ? base : NULL);
	struct policyd_env env = { base, dns };
	struct policyd_request req = { { 0 }, 0 };
	struct policyd_config *c;
	struct got g = { 0 };
	struct buf err;

	zone(dns);
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, settings, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup(client);
	req.attr[POLICYD_ATTR_HELO_NAME] = xstrdup("");
	req.attr[POLICYD_ATTR_SENDER] = xstrdup("a@example.org");
	if (policyd_check_start(&env, c, &req, on_outcome, &g) != NULL)
		event_base_dispatch(base);
	ck_assert(g.called);
	*queries = dns->queries;
	policyd_request_clear(&req);
	policyd_config_unref(c);
	dns_resolver_free(dns);
	event_base_free(base);
	return g;
}

START_TEST(policyd_iprev_checked_only_when_asked)
{
	static const char *const off[] = { NULL };
	static const char *const on[] = { "iprev_header=yes", NULL };
	bool async = _i;
	unsigned q;
	struct got g;

	g = run(off, "192.0.2.1", async, &q);
	ck_assert(!g.out.iprev.checked);
	ck_assert_uint_eq(q, 1);		/* SPF only */
	policyd_outcome_clear(&g.out);

	g = run(on, "192.0.2.1", async, &q);
	ck_assert(g.out.iprev.checked);
	ck_assert_int_eq(g.out.iprev.result, IPREV_RESULT_PASS);
	ck_assert_str_eq(g.out.iprev.name, "mx.example.org");
	ck_assert_str_eq(g.out.iprev.addr, "192.0.2.1");
	ck_assert_uint_eq(q, 3);		/* SPF, PTR, A */
	policyd_outcome_clear(&g.out);

	g = run(on, "192.0.2.3", async, &q);
	ck_assert_int_eq(g.out.iprev.result, IPREV_RESULT_PERMERROR);
	policyd_outcome_clear(&g.out);

	/* skipped clients are not looked up */
	g = run(on, "127.0.0.1", async, &q);
	ck_assert(!g.out.iprev.checked);
	ck_assert_uint_eq(q, 0);
	policyd_outcome_clear(&g.out);
}
END_TEST

struct act_case {
	const char *name;
	const char *settings[4];
	const char *client;
	enum policyd_disposition disp;
	const char *action;		/* the first answer: a prefix, then "*" and a part it holds */
	const char *second;		/* the same for the second answer, or NULL */
};

static const struct act_case act_cases[] = {
	{ "reject_fail", { "iprev_action=reject" }, "192.0.2.2", POLICYD_DISP_REJECT,
	  "550 5.7.25 Reverse DNS of 192.0.2.2 is not forward-confirmed (iprev=fail: ", NULL },
	{ "reject_no_ptr", { "iprev_action=reject" }, "192.0.2.3", POLICYD_DISP_REJECT,
	  "550 5.7.25 Reverse DNS of 192.0.2.3 is not forward-confirmed (iprev=permerror: "
	  "no PTR record for 192.0.2.3)", NULL },
	{ "reject_temperror_defers", { "iprev_action=reject" }, "192.0.2.4", POLICYD_DISP_DEFER,
	  "DEFER_IF_PERMIT 4.7.25 Reverse DNS of 192.0.2.4", NULL },
	{ "defer_fail", { "iprev_action=defer" }, "192.0.2.2", POLICYD_DISP_DEFER,
	  "DEFER_IF_PERMIT 4.7.25 ", NULL },
	{ "reject_passes_confirmed", { "iprev_action=reject" }, "192.0.2.1", POLICYD_DISP_ACCEPT,
	  "PREPEND Received-SPF: pass", "DUNNO" },
	{ "test_only_never_rejects", { "iprev_action=reject", "test_only=yes" }, "192.0.2.2",
	  POLICYD_DISP_ACCEPT, "PREPEND Received-SPF", NULL },
	{ "header_ar_gets_clause", { "iprev_header=yes", "header_type=ar", "authserv_id=mx.test" },
	  "192.0.2.1", POLICYD_DISP_ACCEPT, "PREPEND Authentication-Results: mx.test; spf=pass "
	  "*smtp.mailfrom=example.org; iprev=pass (mx.example.org) policy.iprev=192.0.2.1", "DUNNO" },
	{ "header_spf_then_iprev_field", { "iprev_header=yes", "authserv_id=mx.test" },
	  "192.0.2.3", POLICYD_DISP_ACCEPT, "PREPEND Received-SPF: pass",
	  "PREPEND Authentication-Results: mx.test; iprev=permerror (no PTR record for "
	  "192.0.2.3) policy.iprev=192.0.2.3" },
	{ "header_both_clause_in_second", { "iprev_header=yes", "header_type=both",
	  "authserv_id=mx.test" }, "192.0.2.2", POLICYD_DISP_ACCEPT, "PREPEND Received-SPF",
	  "PREPEND Authentication-Results: mx.test; spf=pass *smtp.mailfrom=example.org; iprev=fail (" },
	{ "header_none_iprev_only", { "iprev_header=yes", "header_type=none",
	  "authserv_id=mx.test" }, "192.0.2.1", POLICYD_DISP_ACCEPT,
	  "PREPEND Authentication-Results: mx.test; iprev=pass", "DUNNO" },
	{ "no_iprev_header_unchanged", { "header_type=ar", "authserv_id=mx.test" }, "192.0.2.1",
	  POLICYD_DISP_ACCEPT, "PREPEND Authentication-Results: mx.test; spf=pass", "DUNNO" },
};

/* matches - text starts with want up to a "*", and holds the rest after it */
static bool
matches(const char *text, const char *want)
{
	const char *star = strchr(want, '*');
	size_t n = star ? (size_t)(star - want) : strlen(want);

	return strncmp(text, want, n) == 0 && (star == NULL || strstr(text, star + 1) != NULL);
}

START_TEST(policyd_iprev_actions_and_headers)
{
	const struct act_case *t = &act_cases[_i];
	struct policyd_request req = { { 0 }, 0 };
	struct policyd_decision d;
	struct policyd_config *c;
	unsigned sent = 0, q;
	struct buf err;
	struct got g;

	g = run(t->settings, t->client, false, &q);
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, t->settings, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	buf_clear(&err);
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup(t->client);
	req.attr[POLICYD_ATTR_SENDER] = xstrdup("a@example.org");
	policyd_decision_init(&d);
	policyd_action_decide(c, &g.out, &req, &sent, &d);
	ck_assert_msg(d.disp == t->disp, "%s: disposition %d", t->name, d.disp);
	/* the log line's result: the iprev result when iprev decided */
	ck_assert_msg(d.disp == POLICYD_DISP_ACCEPT ? d.result_word == NULL :
	    d.result_word != NULL && strstr(buf_cstr(&d.action), d.result_word) != NULL,
	    "%s: result word %s", t->name, d.result_word ? d.result_word : "(null)");
	ck_assert_msg(matches(buf_cstr(&d.action), t->action),
	    "%s: %s", t->name, buf_cstr(&d.action));
	if (t->second != NULL) {
		policyd_action_decide(c, &g.out, &req, &sent, &d);
		ck_assert_msg(matches(buf_cstr(&d.action), t->second),
		    "%s: second %s", t->name, buf_cstr(&d.action));
	}
	policyd_decision_clear(&d);
	policyd_request_clear(&req);
	policyd_outcome_clear(&g.out);
	policyd_config_unref(c);
}
END_TEST

/* A check cancelled while its iprev lookup is pending never calls back. */
START_TEST(policyd_iprev_cancel_in_flight)
{
	static const char *const on[] = { "iprev_action=reject", NULL };
	struct event_base *base = event_base_new();
	struct dns_resolver *dns = dns_mem_new(base);
	struct policyd_env env = { base, dns };
	struct policyd_request req = { { 0 }, 0 };
	struct policyd_config *c;
	struct policyd_check *k;
	struct got g = { 0 };
	struct buf err;

	zone(dns);
	dns_mem_set_delay(dns, 50);
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, on, &err);
	buf_clear(&err);
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup("192.0.2.1");
	req.attr[POLICYD_ATTR_SENDER] = xstrdup("a@example.org");
	k = policyd_check_start(&env, c, &req, on_outcome, &g);
	ck_assert_ptr_nonnull(k);
	/* run until SPF is done and the PTR query is out */
	while (dns->queries < 2)
		event_base_loop(base, EVLOOP_ONCE);
	policyd_check_cancel(k);
	event_base_dispatch(base);
	ck_assert(!g.called);
	policyd_request_clear(&req);
	policyd_config_unref(c);
	dns_resolver_free(dns);
	event_base_free(base);
}
END_TEST

/* policyd_iprev_suite - the cases above */
static Suite *
policyd_iprev_suite(void)
{
	Suite *s = suite_create("policyd_iprev");
	TCase *tc = tcase_create("iprev");

	tcase_add_loop_test(tc, policyd_iprev_checked_only_when_asked, 0, 2);
	tcase_add_loop_test(tc, policyd_iprev_actions_and_headers, 0,
	    (int)ARRAY_LEN(act_cases));
	tcase_add_test(tc, policyd_iprev_cancel_in_flight);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policyd_iprev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
