/*
 * test_reinject_iprev.c - reinject's iprev stage (RFC 8601 §3) inside the
 * real pipeline over the in-memory resolver: the A-R clause for each
 * result, the actions (tag, defer, reject; temperror never rejects), the
 * per-worker cache, and mail that is not checked.
 */
#include "test_reinject_util.h"

/* world_zone - the test zone: a confirmed, an unconfirmed, a failing client */
static void
world_zone(struct dns_resolver *r)
{
	static const char v6rev[] =
	    "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";

	dns_mem_add(r, "25.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, "mx.sender.example", 17);
	dns_mem_add_addr(r, "mx.sender.example", "192.0.2.25");
	dns_mem_add_addr(r, "mx.sender.example", "2001:db8::25");
	dns_mem_add(r, v6rev, DNS_TYPE_PTR, 0, "mx.sender.example", 17);
	dns_mem_add(r, "26.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, "liar.example", 12);
	dns_mem_add_addr(r, "liar.example", "198.51.100.1");
	dns_mem_set_rcode(r, "27.2.0.192.in-addr.arpa", DNS_TYPE_PTR, DNS_RCODE_SERVFAIL);
}

/* world_init - conf (defaults, no DMARC, settings), resolver with the test zone */
static void
world_init(struct world *w, const char *setting)
{
	world_setup(w, "dmarc_enable = no\n", setting, false);
	world_zone(w->dns);
}

/* run_message - text from client addr through the pipeline; finished */
static struct reinject_msg *
run_message(struct world *w, const char *addr, bool sign, const char *text)
{
	return world_run(w, NULL, addr, "a@sender.example", sign, text);
}

struct run {
	const char *name;
	const char *addr;
	const char *setting;
	enum reinject_action action;
	int code;
	const char *enh;
	bool tempfail;
	const char *prepend_has[2];
	const char *prepend_lacks;
};

#define MSG "From: <a@sender.example>\nX-Mailauth-Iprev: pass (forged)\n\nbody\n"

static const struct run runs[] = {
	{ "confirmed_client_passes", "192.0.2.25", NULL, REINJECT_ACTION_RELAY, 0, "", false,
	  { "iprev=pass (mx.sender.example) policy.iprev=192.0.2.25", NULL }, "X-Mailauth-Iprev" },
	{ "ipv6_client_passes", "IPV6:2001:db8::25", NULL, REINJECT_ACTION_RELAY, 0, "", false,
	  { "iprev=pass (mx.sender.example) policy.iprev=\"2001:db8::25\"", NULL }, NULL },
	{ "no_ptr_is_permerror_and_relayed", "192.0.2.99", NULL, REINJECT_ACTION_RELAY, 0, "",
	  false, { "iprev=permerror (no PTR record for 192.0.2.99)",
	  "policy.iprev=192.0.2.99" }, NULL },
	{ "unconfirmed_is_fail", "192.0.2.26", NULL, REINJECT_ACTION_RELAY, 0, "", false,
	  { "iprev=fail", "policy.iprev=192.0.2.26" }, NULL },
	{ "reject_action_rejects_fail", "192.0.2.26", "iprev_action = reject",
	  REINJECT_ACTION_REJECT, 550, "5.7.25", false, { NULL }, NULL },
	{ "reject_action_rejects_permerror", "192.0.2.99", "iprev_action = reject",
	  REINJECT_ACTION_REJECT, 550, "5.7.25", false, { NULL }, NULL },
	{ "reject_action_defers_temperror", "192.0.2.27", "iprev_action = reject",
	  REINJECT_ACTION_RELAY, 451, "4.7.25", true, { NULL }, NULL },
	{ "reject_action_passes_confirmed", "192.0.2.25", "iprev_action = reject",
	  REINJECT_ACTION_RELAY, 0, "", false, { "iprev=pass", NULL }, NULL },
	{ "defer_action_defers_fail", "192.0.2.26", "iprev_action = defer",
	  REINJECT_ACTION_RELAY, 450, "4.7.25", true, { NULL }, NULL },
	{ "tag_action_adds_field", "192.0.2.99", "iprev_action = tag",
	  REINJECT_ACTION_RELAY, 0, "", false,
	  { "X-Mailauth-Iprev: permerror policy.iprev=192.0.2.99", "iprev=permerror" }, NULL },
	{ "disabled_adds_nothing", "192.0.2.25", "iprev_enable = no",
	  REINJECT_ACTION_RELAY, 0, "", false, { NULL }, "iprev=" },
	{ "no_address_adds_nothing", "[UNAVAILABLE]", "iprev_action = reject",
	  REINJECT_ACTION_RELAY, 0, "", false, { NULL }, "iprev=" },
};

START_TEST(reinject_iprev_stage_table)
{
	const struct run *r = &runs[_i];
	struct world w;
	struct reinject_msg *m;
	const char *pre;
	bool removed = false;

	world_init(&w, r->setting);
	m = run_message(&w, r->addr, false, MSG);
	pre = buf_cstr(&m->prepend);
	ck_assert_msg(m->action == r->action, "%s: action %d", r->name, m->action);
	ck_assert_msg(m->code == r->code, "%s: code %d", r->name, m->code);
	ck_assert_msg(m->code == 0 || strcmp(m->enh, r->enh) == 0, "%s: %s", r->name, m->enh);
	ck_assert_msg((m->tempfail != NULL) == r->tempfail, "%s: tempfail", r->name);
	for (size_t i = 0; i < 2 && r->prepend_has[i]; i++)
		ck_assert_msg(strstr(pre, r->prepend_has[i]) != NULL,
		    "%s: added fields lack \"%s\":\n%s", r->name, r->prepend_has[i], pre);
	if (r->prepend_lacks)
		ck_assert_msg(strstr(pre, r->prepend_lacks) == NULL,
		    "%s: added fields have \"%s\":\n%s", r->name, r->prepend_lacks, pre);
	for (size_t i = 0; i < m->nhdrs; i++)
		if (reinject_msg_field_is(m, i, REINJECT_IPREV_FIELD))
			removed = m->hdrs[i].removed;
	ck_assert_msg(removed || strstr(pre, "iprev=") == NULL,
	    "%s: incoming X-Mailauth-Iprev kept", r->name);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* The second message from a client within iprev_cache_ttl makes no lookup. */
START_TEST(reinject_iprev_result_is_cached)
{
	struct world w;
	struct reinject_msg *m;
	unsigned q;

	world_init(&w, "iprev_cache_ttl = 60s");
	reinject_msg_free(run_message(&w, "192.0.2.25", false, MSG));
	q = w.dns->queries;
	ck_assert_uint_eq(q, 2);
	m = run_message(&w, "192.0.2.25", false, MSG);
	ck_assert_uint_eq(w.dns->queries, q);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "iprev=pass (mx.sender.example)"));
	reinject_msg_free(m);
	/* a temperror is not kept */
	reinject_msg_free(run_message(&w, "192.0.2.27", false, MSG));
	q = w.dns->queries;
	reinject_msg_free(run_message(&w, "192.0.2.27", false, MSG));
	ck_assert_uint_eq(w.dns->queries, q + 1);
	world_free(&w);

	world_init(&w, "iprev_cache_ttl = 0");
	reinject_msg_free(run_message(&w, "192.0.2.25", false, MSG));
	reinject_msg_free(run_message(&w, "192.0.2.25", false, MSG));
	ck_assert_uint_eq(w.dns->queries, 4);
	world_free(&w);
}
END_TEST

/* Mail to be signed (sign listener, InternalHosts) is not checked. */
START_TEST(reinject_iprev_skips_mail_to_sign)
{
	struct world w;
	struct reinject_msg *m;

	world_init(&w, "iprev_action = reject");
	m = run_message(&w, "192.0.2.26", true, MSG);
	ck_assert_int_eq(m->action, REINJECT_ACTION_RELAY);
	ck_assert_uint_eq(w.dns->queries, 0);
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* DNS slower than dkim_timeout: temperror, deferred under iprev_action = reject. */
START_TEST(reinject_iprev_timeout_is_temperror)
{
	struct world w;
	struct reinject_msg *m;

	world_init(&w, "iprev_action = reject\ndkim_timeout = 1s\niprev_cache_ttl = 0");
	dns_resolver_free(w.dns);
	w.ctx.dns = w.dns = dns_mem_new(w.base);
	world_zone(w.dns);
	dns_mem_set_delay(w.dns, 5000);
	m = run_message(&w, "192.0.2.25", false, MSG);
	ck_assert_int_eq(m->code, 451);
	ck_assert_ptr_nonnull(m->tempfail);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&m->prepend), "iprev=temperror"));
	reinject_msg_free(m);
	world_free(&w);
}
END_TEST

/* reinject_iprev_suite - the cases above */
static Suite *
reinject_iprev_suite(void)
{
	Suite *s = suite_create("reinject_iprev");
	TCase *tc = tcase_create("stage");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, reinject_iprev_stage_table, 0,
	    (int)(sizeof(runs) / sizeof(runs[0])));
	tcase_add_test(tc, reinject_iprev_result_is_cached);
	tcase_add_test(tc, reinject_iprev_skips_mail_to_sign);
	tcase_add_test(tc, reinject_iprev_timeout_is_temperror);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reinject_iprev_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
