/*
 * test_policyd_check.c - skip lists and the order of the identity checks:
 * client networks (CIDR), SASL logins, whitelisted HELO names (only with a
 * matching A/AAAA record), whitelisted forwarder domains (their SPF passes),
 * HELO before MAIL FROM, null sender.  DNS through dns_mem, lookups counted.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "policyd.h"
#include "util.h"

/* text_in_list - the address text parsed as policyd does, then matched */
static bool
text_in_list(const struct config_list *l, const char *addr)
{
	unsigned char a[16];
	int family;

	return policyd_cidr_addr_parse(addr, &family, a) &&
	    policyd_cidr_list_match(l, family, a);
}

START_TEST(cidr_lists_match_by_family_and_prefix)
{
	char *items[] = { "127.0.0.0/8", "::ffff:127.0.0.0/104", "::1", "192.0.2.128/25",
	    "2001:db8::/32", "198.51.100.7" };
	struct config_list l = { ARRAY_LEN(items), items };
	static const struct {
		const char *addr;
		bool in;
	} t[] = {
		{ "127.0.0.1", true }, { "127.255.255.254", true }, { "128.0.0.1", false },
		{ "::1", true }, { "::2", false }, { "::ffff:127.0.0.1", true },
		{ "192.0.2.128", true }, { "192.0.2.127", false }, { "192.0.2.255", true },
		{ "2001:db8:ffff::1", true }, { "2001:db9::1", false },
		{ "198.51.100.7", true }, { "198.51.100.8", false },
		{ "IPv6:2001:db8::5", true }, { "unknown", false }, { "", false },
	};

	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		ck_assert_msg(text_in_list(&l, t[i].addr) == t[i].in, "%s",
		    t[i].addr);
	ck_assert(policyd_cidr_valid("10.0.0.0/8"));
	ck_assert(policyd_cidr_valid("2001:db8::/128"));
	ck_assert(!policyd_cidr_valid("10.0.0.0/33"));
	ck_assert(!policyd_cidr_valid("10.0.0.0/"));
	ck_assert(!policyd_cidr_valid("10.0.0/8"));
	ck_assert(!policyd_cidr_valid("example.org"));
}
END_TEST

struct result {
	bool called;
	const char *skip;
	bool helo_checked, mfrom_checked;
	enum spf_result helo, mfrom;
	char received[512];
};

static void
on_outcome(void *arg, struct policyd_outcome *o)
{
	struct result *r = arg;

	r->called = true;
	r->skip = o->skip_reason;
	r->helo_checked = o->helo.checked;
	r->mfrom_checked = o->mfrom.checked;
	r->helo = o->helo.result;
	r->mfrom = o->mfrom.result;
	if (o->mfrom.checked)
		snprintf(r->received, sizeof(r->received), "%s", o->mfrom.received_spf);
	else if (o->helo.checked)
		snprintf(r->received, sizeof(r->received), "%s", o->helo.received_spf);
}

struct check_case {
	const char *name;
	const char *settings[4];
	const char *client, *helo, *sender, *sasl;
	const char *skip;		/* expected skip reason, or NULL */
	int helo_result;		/* -1: not checked */
	int mfrom_result;
	unsigned queries;		/* DNS lookups made */
	const char *header_has;
};

static const struct check_case cases[] = {
	{ "localhost_skipped_by_default", { NULL }, "127.0.0.1", "localhost", "a@example.org",
	  NULL, "client in skip_addresses", -1, -1, 0, NULL },
	{ "ipv6_loopback_skipped", { NULL }, "::1", "localhost", "a@example.org", NULL,
	  "client in skip_addresses", -1, -1, 0, NULL },
	{ "configured_network_skipped", { "skip_addresses=10.0.0.0/8" }, "10.1.2.3", "x",
	  "a@fail.example", NULL, "client in skip_addresses", -1, -1, 0, NULL },
	{ "localhost_checked_when_list_empty", { "skip_addresses=" }, "127.0.0.1", "",
	  "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 1, NULL },
	{ "sasl_client_skipped", { NULL }, "192.0.2.50", "laptop", "a@fail.example", "alice",
	  "SASL-authenticated client", -1, -1, 0, NULL },
	{ "sasl_client_checked_when_disabled", { "skip_sasl_authenticated=no" }, "192.0.2.50",
	  "", "a@fail.example", "alice", NULL, -1, SPF_RESULT_FAIL, 1, NULL },
	{ "whitelisted_helo_with_matching_address", { "whitelist_helo_names=relay.example" },
	  "198.51.100.7", "relay.example", "a@fail.example", NULL, "whitelisted HELO name",
	  -1, -1, 1, NULL },
	{ "whitelisted_helo_forged_from_other_address", { "whitelist_helo_names=relay.example" },
	  "192.0.2.66", "relay.example", "a@fail.example", NULL, NULL,
	  SPF_RESULT_NONE, SPF_RESULT_FAIL, 3, NULL },
	{ "forwarder_domain_passes_skips", { "whitelist_spf_domains=nope.example, forwarder.example" },
	  "198.51.100.20", "fwd", "a@fail.example", NULL, "whitelisted relay domain",
	  -1, -1, 2, NULL },
	{ "forwarder_domain_not_matching_checks", { "whitelist_spf_domains=forwarder.example" },
	  "192.0.2.66", "", "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 2, NULL },
	{ "ptr_in_whitelisted_domain_validated", { "whitelist_ptr_domains=trusted.example" },
	  "198.51.100.7", "x", "a@fail.example", NULL, "whitelisted PTR domain",
	  -1, -1, 2, NULL },
	{ "ptr_in_whitelisted_domain_v6", { "whitelist_ptr_domains=trusted.example" },
	  "2001:db8::7", "x", "a@fail.example", NULL, "whitelisted PTR domain",
	  -1, -1, 2, NULL },
	{ "ptr_name_not_forward_confirmed", { "whitelist_ptr_domains=trusted.example" },
	  "198.51.100.8", "", "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 3, NULL },
	{ "ptr_outside_whitelisted_domains", { "whitelist_ptr_domains=other.example" },
	  "198.51.100.7", "", "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 2, NULL },
	{ "no_ptr_record", { "whitelist_ptr_domains=trusted.example" },
	  "192.0.2.77", "", "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 2, NULL },
	{ "helo_fail_stops_before_mail_from", { NULL }, "192.0.2.66", "mx.example.org",
	  "a@example.org", NULL, NULL, SPF_RESULT_FAIL, -1, 2, "identity=helo" },
	{ "helo_pass_then_mail_from", { NULL }, "192.0.2.1", "mx.example.org",
	  "a@example.org", NULL, NULL, SPF_RESULT_PASS, SPF_RESULT_PASS, 3,
	  "identity=mailfrom" },
	{ "helo_not_checked_when_no_check", { "helo_reject=no_check" }, "192.0.2.66",
	  "mx.example.org", "a@fail.example", NULL, NULL, -1, SPF_RESULT_FAIL, 1, NULL },
	{ "helo_fail_ignored_under_never_checks_mail_from", { "helo_reject=never" },
	  "192.0.2.1", "mx.example.org", "a@fail.example", NULL, NULL, SPF_RESULT_PASS,
	  SPF_RESULT_FAIL, 3, NULL },
	{ "null_sender_checked_through_helo", { NULL }, "192.0.2.1", "mx.example.org", "",
	  NULL, NULL, SPF_RESULT_PASS, -1, 2, "identity=helo" },
	{ "null_sender_without_helo_check_uses_postmaster", { "helo_reject=no_check" },
	  "192.0.2.1", "mx.example.org", "", NULL, NULL, -1, SPF_RESULT_PASS, 2,
	  "identity=mailfrom" },
	{ "mail_from_not_checked_when_no_check", { "mail_from_reject=no_check" },
	  "192.0.2.1", "", "a@fail.example", NULL, NULL, -1, -1, 0, NULL },
	{ "unknown_client_address_skipped", { NULL }, "unknown", "x", "a@fail.example",
	  NULL, "no client address", -1, -1, 0, NULL },
};

/* Each case twice: answers before dns_query returns, and from an event loop. */
START_TEST(check_skips_and_identity_order)
{
	const struct check_case *t = &cases[_i / 2];
	bool async = _i % 2;
	struct event_base *base = event_base_new();
	struct dns_resolver *dns = dns_mem_new(async ? base : NULL);
	struct policyd_env env = { base, dns };
	struct policyd_check *k;
	struct policyd_request req = { { 0 }, 0 };
	struct result r = { 0 };
	struct policyd_config *c;
	struct buf err;

	dns_mem_add_txt(dns, "example.org", "v=spf1 ip4:192.0.2.0/24 -all");
	dns_mem_add_txt(dns, "mx.example.org", "v=spf1 a -all");
	dns_mem_add_addr(dns, "mx.example.org", "192.0.2.1");
	dns_mem_add_txt(dns, "fail.example", "v=spf1 -all");
	dns_mem_add_txt(dns, "forwarder.example", "v=spf1 ip4:198.51.100.0/24 -all");
	dns_mem_add_addr(dns, "relay.example", "198.51.100.7");
	/* reverse names: .7 and 2001:db8::7 forward-confirmed, .8 claims a name it lacks */
	dns_mem_add(dns, "7.100.51.198.in-addr.arpa", DNS_TYPE_PTR, 0, "mx1.trusted.example", 19);
	dns_mem_add_addr(dns, "mx1.trusted.example", "198.51.100.7");
	dns_mem_add_addr(dns, "mx1.trusted.example", "2001:db8::7");
	dns_mem_add(dns, "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    DNS_TYPE_PTR, 0, "mx1.trusted.example", 19);
	dns_mem_add(dns, "8.100.51.198.in-addr.arpa", DNS_TYPE_PTR, 0, "mx1.trusted.example", 19);
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, t->settings, &err);
	ck_assert_msg(c != NULL, "%s", buf_cstr(&err));
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup(t->client);
	req.attr[POLICYD_ATTR_HELO_NAME] = xstrdup(t->helo);
	req.attr[POLICYD_ATTR_SENDER] = xstrdup(t->sender);
	if (t->sasl)
		req.attr[POLICYD_ATTR_SASL_USERNAME] = xstrdup(t->sasl);
	k = policyd_check_start(&env, c, &req, on_outcome, &r);
	if (async && !r.called) {
		ck_assert_ptr_nonnull(k);
		event_base_dispatch(base);
	} else {
		ck_assert_ptr_null(k);
	}
	ck_assert_msg(r.called, "%s: no outcome", t->name);
	if (t->skip)
		ck_assert_msg(r.skip && strcmp(r.skip, t->skip) == 0, "%s: skip %s",
		    t->name, r.skip ? r.skip : "(none)");
	else
		ck_assert_msg(r.skip == NULL, "%s: skipped: %s", t->name, r.skip);
	ck_assert_msg(r.helo_checked == (t->helo_result >= 0), "%s: helo", t->name);
	if (t->helo_result >= 0)
		ck_assert_int_eq(r.helo, t->helo_result);
	ck_assert_msg(r.mfrom_checked == (t->mfrom_result >= 0), "%s: mfrom", t->name);
	if (t->mfrom_result >= 0)
		ck_assert_int_eq(r.mfrom, t->mfrom_result);
	ck_assert_msg(dns->queries == t->queries, "%s: %u queries", t->name, dns->queries);
	if (t->header_has)
		ck_assert_msg(strstr(r.received, t->header_has) != NULL, "%s: %s", t->name,
		    r.received);
	ck_assert_ptr_null(strpbrk(r.received, "\r\n"));
	policyd_request_clear(&req);
	policyd_config_unref(c);
	dns_resolver_free(dns);
	event_base_free(base);
	buf_clear(&err);
}
END_TEST

/* Cancelling a check in flight, at each step that waits: no callback, no leak. */
START_TEST(check_cancel_in_flight)
{
	static const char *const settings[][2] = {
		{ "whitelist_helo_names=relay.example", NULL },
		{ "whitelist_ptr_domains=trusted.example", NULL },
		{ "whitelist_spf_domains=forwarder.example", NULL },
		{ NULL, NULL },
	};
	struct event_base *base = event_base_new();
	struct dns_resolver *dns = dns_mem_new(base);
	struct policyd_env env = { base, dns };
	struct policyd_request req = { { 0 }, 0 };
	struct result r = { 0 };
	struct policyd_config *c;
	struct policyd_check *k;
	struct buf err;

	dns_mem_add_txt(dns, "fail.example", "v=spf1 -all");
	buf_init(&err, 4096);
	c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, settings[_i], &err);
	ck_assert_ptr_nonnull(c);
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup("192.0.2.66");
	req.attr[POLICYD_ATTR_HELO_NAME] = xstrdup("relay.example");
	req.attr[POLICYD_ATTR_SENDER] = xstrdup("a@fail.example");
	k = policyd_check_start(&env, c, &req, on_outcome, &r);
	ck_assert_ptr_nonnull(k);
	policyd_check_cancel(k);
	event_base_dispatch(base);
	ck_assert(!r.called);
	policyd_request_clear(&req);
	policyd_config_unref(c);
	dns_resolver_free(dns);
	event_base_free(base);
	buf_clear(&err);
}
END_TEST

struct decide_ctx {
	struct policyd_config *c;
	struct policyd_request *req;
	char action[1024];
};

static void
on_outcome_decide(void *arg, struct policyd_outcome *o)
{
	struct decide_ctx *x = arg;
	struct policyd_decision d;
	unsigned sent = 0;

	policyd_decision_init(&d);
	policyd_action_decide(x->c, o, x->req, &sent, &d);
	snprintf(x->action, sizeof(x->action), "%s", buf_cstr(&d.action));
	policyd_decision_clear(&d);
}

/* CVE-2019-20790: a HELO pass must not read as a MAIL FROM pass downstream. */
START_TEST(check_helo_pass_header_names_identity_envelope_from_and_helo)
{
	struct dns_resolver *dns = dns_mem_new(NULL);
	struct policyd_env env = { NULL, dns };
	struct policyd_request req = { { 0 }, 0 };
	const char *settings[] = { "receiver_name=mx.test", NULL };
	struct buf err;
	struct decide_ctx x = { 0 };

	dns_mem_add_txt(dns, "mx.example.org", "v=spf1 a -all");
	dns_mem_add_addr(dns, "mx.example.org", "192.0.2.1");
	buf_init(&err, 4096);
	x.c = policyd_config_load(NULL, POLICYD_FORMAT_NATIVE, settings, &err);
	x.req = &req;
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup("192.0.2.1");
	req.attr[POLICYD_ATTR_HELO_NAME] = xstrdup("mx.example.org");
	req.attr[POLICYD_ATTR_SENDER] = xstrdup("someone@nopolicy.example");
	policyd_check_start(&env, x.c, &req, on_outcome_decide, &x);
	ck_assert_msg(strncmp(x.action, "PREPEND Received-SPF: pass", 26) == 0, "%s", x.action);
	ck_assert_msg(strstr(x.action, "identity=helo") != NULL, "%s", x.action);
	ck_assert_msg(strstr(x.action, "envelope-from=someone@nopolicy.example") != NULL ||
	    strstr(x.action, "envelope-from=\"someone@nopolicy.example\"") != NULL, "%s",
	    x.action);
	ck_assert_msg(strstr(x.action, "helo=mx.example.org") != NULL, "%s", x.action);
	ck_assert_msg(strstr(x.action, "client-ip=192.0.2.1") != NULL, "%s", x.action);
	policyd_request_clear(&req);
	policyd_config_unref(x.c);
	dns_resolver_free(dns);
	buf_clear(&err);
}
END_TEST

static Suite *
check_suite(void)
{
	Suite *s = suite_create("policyd_check");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cidr_lists_match_by_family_and_prefix);
	tcase_add_loop_test(tc, check_skips_and_identity_order, 0, 2 * (int)ARRAY_LEN(cases));
	tcase_add_loop_test(tc, check_cancel_in_flight, 0, 4);
	tcase_add_test(tc, check_helo_pass_header_names_identity_envelope_from_and_helo);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(check_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
