/*
 * test_dmarc_eval.c - DMARC for one message: alignment matrix, p / sp / np, t=y,
 * temperror paths, local overrides, every From anomaly, several From domains
 * (CVE-2019-16378), and the Authentication-Results clause.
 */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include <event2/event.h>

#include "authres.h"
#include "dmarc.h"

static struct dns_resolver *
zone(struct event_base *base)
{
	struct dns_resolver *r = dns_mem_new(base);

	dns_mem_add_txt(r, "_dmarc.example.com", "v=DMARC1; p=reject");
	dns_mem_add_addr(r, "example.com", "192.0.2.10");
	dns_mem_add_addr(r, "mail.example.com", "192.0.2.11");
	dns_mem_add_txt(r, "_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s");
	dns_mem_add_txt(r, "_dmarc.sp.example", "v=DMARC1; p=reject; sp=none");
	dns_mem_add_addr(r, "a.sp.example", "192.0.2.12");
	dns_mem_add_txt(r, "_dmarc.np.example", "v=DMARC1; p=quarantine; np=reject");
	dns_mem_add_addr(r, "real.np.example", "192.0.2.13");
	dns_mem_add_txt(r, "_dmarc.test-r.example", "v=DMARC1; p=reject; t=y");
	dns_mem_add_txt(r, "_dmarc.test-q.example", "v=DMARC1; p=quarantine; t=y");
	dns_mem_add_txt(r, "_dmarc.quar.example", "v=DMARC1; p=quarantine");
	dns_mem_add_txt(r, "_dmarc.none.example", "v=DMARC1; p=none");
	dns_mem_add_txt(r, "_dmarc.pct.example", "v=DMARC1; p=reject; pct=0");
	dns_mem_add_txt(r, "_dmarc.sub.example.com", "v=DMARC1; p=none; psd=n");
	dns_mem_set_rcode(r, "_dmarc.slow.example", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
	dns_mem_add_txt(r, "_dmarc.psdtld", "v=DMARC1; p=reject; psd=y");
	dns_mem_add_txt(r, "_dmarc.pass.example", "v=DMARC1; p=reject");
	dns_mem_add_txt(r, "_dmarc.a.flaky.example", "v=DMARC1; p=reject");
	dns_mem_set_rcode(r, "_dmarc.flaky.example", DNS_TYPE_TXT, DNS_RCODE_TIMEOUT);
	dns_mem_add_txt(r, "_dmarc.idflaky.example", "v=DMARC1; p=reject");
	dns_mem_set_rcode(r, "_dmarc.x.idflaky.example", DNS_TYPE_TXT, DNS_RCODE_SERVFAIL);
	return r;
}

struct out {
	int calls;
	struct dmarc_verdict v;
};

static void
done(void *arg, const struct dmarc_verdict *v)
{
	struct out *o = arg;

	o->calls++;
	o->v = *v;
}

struct msg {
	const char *from;		/* one From field body */
	const char *from2;		/* optional second From field */
	const char *mail_from;
	enum spf_result spf;
	enum spf_identity spf_id;
	const char *spf_domain;
	enum dmarc_auth dkim;
	const char *dkim_d;
	const char *client;		/* IPv4 text or NULL */
};

/* run - evaluate one message synchronously */
static void
run(const struct msg *m, const struct dmarc_settings *set, struct out *o)
{
	struct dns_resolver *r = zone(NULL);
	struct span from[2];
	struct dmarc_dkim_input dk = { m->dkim, m->dkim_d, "sel" };
	struct dmarc_input in = { 0 };

	if (m->from)
		from[in.nfrom_fields++] = span_from_cstr(m->from);
	if (m->from2)
		from[in.nfrom_fields++] = span_from_cstr(m->from2);
	in.from_fields = from;
	in.mail_from = m->mail_from ? m->mail_from : "";
	in.helo = "mx.sender.example";
	in.spf = m->spf;
	in.spf_identity = m->spf_id;
	in.spf_domain = m->spf_domain;
	if (m->dkim_d) {
		in.dkim = &dk;
		in.ndkim = 1;
	}
	if (m->client) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&in.client;

		sin->sin_family = AF_INET;
		inet_pton(AF_INET, m->client, &sin->sin_addr);
	}
	memset(o, 0, sizeof(*o));
	ck_assert_ptr_null(dmarc_eval_start(r, set, &in, done, o));
	ck_assert_int_eq(o->calls, 1);
	dns_resolver_free(r);
}

#define SPF_PASS(d) SPF_RESULT_PASS, SPF_IDENTITY_MAILFROM, d
#define NO_SPF SPF_RESULT_NONE, SPF_IDENTITY_MAILFROM, NULL
#define DKIM_PASS(d) DMARC_AUTH_PASS, d
#define NO_DKIM DMARC_AUTH_NONE, NULL

struct align_case {
	const char *name;
	struct msg m;
	enum dmarc_result want;
};

/* relaxed/strict x SPF/DKIM x same, subdomain, organizational domain, unrelated */
static const struct align_case align_cases[] = {
	{ "relaxed_spf_same", { "u@example.com", NULL, "b@example.com", SPF_PASS("example.com"), NO_DKIM, NULL }, DMARC_RESULT_PASS },
	{ "relaxed_spf_subdomain", { "u@example.com", NULL, "b@mail.example.com", SPF_PASS("mail.example.com"), NO_DKIM, NULL }, DMARC_RESULT_PASS },
	{ "relaxed_spf_org_domain", { "u@mail.example.com", NULL, "b@example.com", SPF_PASS("example.com"), NO_DKIM, NULL }, DMARC_RESULT_PASS },
	{ "relaxed_spf_unrelated", { "u@example.com", NULL, "b@other.example", SPF_PASS("other.example"), NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	{ "relaxed_dkim_same", { "u@example.com", NULL, "b@x.example", NO_SPF, DKIM_PASS("example.com"), NULL }, DMARC_RESULT_PASS },
	{ "relaxed_dkim_subdomain", { "u@example.com", NULL, "b@x.example", NO_SPF, DKIM_PASS("mail.example.com"), NULL }, DMARC_RESULT_PASS },
	{ "relaxed_dkim_org_domain", { "u@mail.example.com", NULL, "b@x.example", NO_SPF, DKIM_PASS("example.com"), NULL }, DMARC_RESULT_PASS },
	{ "relaxed_dkim_unrelated", { "u@example.com", NULL, "b@x.example", NO_SPF, DKIM_PASS("example.net"), NULL }, DMARC_RESULT_FAIL },
	{ "strict_spf_same", { "u@strict.example", NULL, "b@strict.example", SPF_PASS("strict.example"), NO_DKIM, NULL }, DMARC_RESULT_PASS },
	{ "strict_spf_subdomain", { "u@strict.example", NULL, "b@m.strict.example", SPF_PASS("m.strict.example"), NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	{ "strict_spf_org_domain", { "u@m.strict.example", NULL, "b@strict.example", SPF_PASS("strict.example"), NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	{ "strict_spf_unrelated", { "u@strict.example", NULL, "b@other.example", SPF_PASS("other.example"), NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	{ "strict_dkim_same", { "u@strict.example", NULL, "b@x.example", NO_SPF, DKIM_PASS("strict.example"), NULL }, DMARC_RESULT_PASS },
	{ "strict_dkim_subdomain", { "u@strict.example", NULL, "b@x.example", NO_SPF, DKIM_PASS("m.strict.example"), NULL }, DMARC_RESULT_FAIL },
	{ "strict_dkim_org_domain", { "u@m.strict.example", NULL, "b@x.example", NO_SPF, DKIM_PASS("strict.example"), NULL }, DMARC_RESULT_FAIL },
	{ "strict_dkim_unrelated", { "u@strict.example", NULL, "b@x.example", NO_SPF, DKIM_PASS("example.net"), NULL }, DMARC_RESULT_FAIL },
	/* identifiers that do not pass never align */
	{ "dkim_fail_same_domain", { "u@example.com", NULL, "b@x.example", NO_SPF, DMARC_AUTH_FAIL, "example.com", NULL }, DMARC_RESULT_FAIL },
	{ "spf_softfail_same_domain", { "u@example.com", NULL, "b@example.com", SPF_RESULT_SOFTFAIL, SPF_IDENTITY_MAILFROM, "example.com", NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	/* SPF counts only for MAIL FROM; HELO only for the null sender */
	{ "helo_pass_does_not_align", { "u@example.com", NULL, "b@other.example", SPF_RESULT_PASS, SPF_IDENTITY_HELO, "example.com", NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	{ "helo_pass_aligns_for_null_sender", { "u@example.com", NULL, "", SPF_RESULT_PASS, SPF_IDENTITY_HELO, "mail.example.com", NO_DKIM, NULL }, DMARC_RESULT_PASS },
	/* relaxed alignment is by Organizational Domain from the tree walk: psd=n splits */
	{ "relaxed_dkim_below_psd_n_record", { "u@example.com", NULL, "b@x.example", NO_SPF, DKIM_PASS("a.sub.example.com"), NULL }, DMARC_RESULT_FAIL },
	/* temperror on a path that could align: temperror; on an unrelated one: fail */
	{ "dkim_temperror_aligned", { "u@example.com", NULL, "b@x.example", NO_SPF, DMARC_AUTH_TEMPERROR, "example.com", NULL }, DMARC_RESULT_TEMPERROR },
	{ "dkim_temperror_unrelated", { "u@example.com", NULL, "b@x.example", NO_SPF, DMARC_AUTH_TEMPERROR, "example.net", NULL }, DMARC_RESULT_FAIL },
	{ "spf_temperror_aligned", { "u@example.com", NULL, "b@mail.example.com", SPF_RESULT_TEMPERROR, SPF_IDENTITY_MAILFROM, "mail.example.com", NO_DKIM, NULL }, DMARC_RESULT_TEMPERROR },
	{ "temperror_but_other_path_passes", { "u@example.com", NULL, "b@example.com", SPF_PASS("example.com"), DMARC_AUTH_TEMPERROR, "example.com", NULL }, DMARC_RESULT_PASS },
	/* the From walk stopped by a DNS failure after the Author Domain's record */
	{ "walk_timeout_exact_pass", { "u@a.flaky.example", NULL, "b@a.flaky.example", SPF_PASS("a.flaky.example"), NO_DKIM, NULL }, DMARC_RESULT_PASS },
	{ "walk_timeout_parent_pass_undecided", { "u@a.flaky.example", NULL, "b@flaky.example", SPF_PASS("flaky.example"), NO_DKIM, NULL }, DMARC_RESULT_TEMPERROR },
	{ "walk_timeout_unrelated_pass_fails", { "u@a.flaky.example", NULL, "b@other.example", SPF_PASS("other.example"), NO_DKIM, NULL }, DMARC_RESULT_FAIL },
	/* the identifier's own walk failed: its Organizational Domain is unknown */
	{ "identifier_walk_servfail", { "u@idflaky.example", NULL, "b@x.example", NO_SPF, DKIM_PASS("x.idflaky.example"), NULL }, DMARC_RESULT_TEMPERROR },
	{ "no_record_is_none", { "u@norecord.example", NULL, "b@norecord.example", NO_SPF, NO_DKIM, NULL }, DMARC_RESULT_NONE },
	{ "policy_dns_timeout_is_temperror", { "u@slow.example", NULL, "", NO_SPF, NO_DKIM, NULL }, DMARC_RESULT_TEMPERROR },
};

START_TEST(dmarc_eval_alignment_matrix)
{
	const struct align_case *c = &align_cases[_i];
	struct out o;

	run(&c->m, NULL, &o);
	ck_assert_msg(o.v.result == c->want, "%s: got %s want %s (%s)", c->name,
	    dmarc_result_str(o.v.result), dmarc_result_str(c->want), o.v.reason);
	if (c->want == DMARC_RESULT_PASS || c->want == DMARC_RESULT_NONE)
		ck_assert_int_eq(o.v.disposition, DMARC_DIS_NONE);
}
END_TEST

struct policy_case {
	const char *name;
	const char *from;
	enum dmarc_result result;
	enum dmarc_policy policy;
	enum dmarc_disposition dis;
};

static const struct policy_case policy_cases[] = {
	{ "p_reject_at_author", "u@example.com", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
	{ "p_quarantine_at_author", "u@quar.example", DMARC_RESULT_FAIL, DMARC_POLICY_QUARANTINE, DMARC_DIS_QUARANTINE },
	{ "p_none_at_author", "u@none.example", DMARC_RESULT_FAIL, DMARC_POLICY_NONE, DMARC_DIS_NONE },
	{ "p_applies_at_author_despite_sp", "u@sp.example", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
	{ "sp_for_existing_subdomain", "u@a.sp.example", DMARC_RESULT_FAIL, DMARC_POLICY_NONE, DMARC_DIS_NONE },
	{ "p_for_subdomain_without_sp", "u@mail.example.com", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
	{ "np_for_nonexistent_subdomain", "u@ghost.np.example", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
	{ "p_for_existing_subdomain_despite_np", "u@real.np.example", DMARC_RESULT_FAIL, DMARC_POLICY_QUARANTINE, DMARC_DIS_QUARANTINE },
	{ "t_y_reject_steps_to_quarantine", "u@test-r.example", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_QUARANTINE },
	{ "t_y_quarantine_steps_to_none", "u@test-q.example", DMARC_RESULT_FAIL, DMARC_POLICY_QUARANTINE, DMARC_DIS_NONE },
	{ "pct_ignored_without_legacy", "u@pct.example", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
	{ "psd_policy_for_org_below", "u@shop.psdtld", DMARC_RESULT_FAIL, DMARC_POLICY_REJECT, DMARC_DIS_REJECT },
};

START_TEST(dmarc_eval_policy_table)
{
	const struct policy_case *c = &policy_cases[_i];
	struct msg m = { c->from, NULL, "b@unrelated.example", NO_SPF, NO_DKIM, NULL };
	struct out o;

	run(&m, NULL, &o);
	ck_assert_msg(o.v.result == c->result, "%s: result %s (%s)", c->name,
	    dmarc_result_str(o.v.result), o.v.reason);
	ck_assert_msg(o.v.policy == c->policy, "%s: policy %s", c->name,
	    dmarc_policy_str(o.v.policy));
	ck_assert_msg(o.v.disposition == c->dis, "%s: dis %s", c->name,
	    dmarc_disposition_str(o.v.disposition));
}
END_TEST

static unsigned
sample_99(void *arg)
{
	(void)arg;
	return 99;
}

START_TEST(dmarc_eval_legacy_pct_sampling)
{
	struct msg m = { "u@pct.example", NULL, "b@x.example", NO_SPF, NO_DKIM, NULL };
	struct dmarc_settings set;
	struct out o;

	dmarc_settings_default(&set);
	set.legacy_pct = true;
	set.pct_sample = sample_99;
	run(&m, &set, &o);
	ck_assert_int_eq(o.v.result, DMARC_RESULT_FAIL);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_QUARANTINE);
	ck_assert_int_eq(o.v.domains[0].override, DMARC_OVERRIDE_SAMPLED_OUT);
}
END_TEST

struct from_case {
	const char *name;
	const char *from, *from2;
	bool none;			/* no From field at all */
	enum dmarc_result result;
	enum dmarc_disposition dis;
	const char *header_from;
};

static const struct from_case from_cases[] = {
	{ "no_from_field", NULL, NULL, true, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
	{ "junk_from", "not an address", NULL, false, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
	{ "empty_from", "", NULL, false, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
	{ "empty_group_from", "undisclosed-recipients:;", NULL, false, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
	{ "domain_literal_only", "u@[192.0.2.1]", NULL, false, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
	{ "quoted_display_spoof", "\"u@pass.example\" <u@example.com>", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "quoted_local_spoof", "\"u@pass.example\"@example.com", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "comment_spoof", "u@example.com (u@pass.example)", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "trailing_dot", "u@example.com.", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "upper_case_domain", "u@EXAMPLE.COM", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	/* several addresses / fields: strictest wins, one pass never carries it */
	{ "two_addresses_one_passes", "u@pass.example, v@example.com", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "two_fields_one_passes", "u@pass.example", "v@example.com", false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "two_fields_reversed", "v@example.com", "u@pass.example", false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "pass_and_no_record", "u@pass.example, w@norecord.example", NULL, false, DMARC_RESULT_NONE, DMARC_DIS_NONE, "norecord.example" },
	{ "quarantine_and_reject", "u@quar.example, v@example.com", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_REJECT, "example.com" },
	{ "same_domain_twice", "a@pass.example, b@PASS.example", NULL, false, DMARC_RESULT_PASS, DMARC_DIS_NONE, "pass.example" },
	{ "group_members_evaluated", "G: u@pass.example, v@quar.example;", NULL, false, DMARC_RESULT_FAIL, DMARC_DIS_QUARANTINE, "quar.example" },
	{ "too_many_domains", "a@d1.example,a@d2.example,a@d3.example,a@d4.example,a@d5.example,"
	  "a@d6.example,a@d7.example,a@d8.example,a@d9.example", NULL, false, DMARC_RESULT_PERMERROR, DMARC_DIS_REJECT, "" },
};

START_TEST(dmarc_eval_from_anomalies)
{
	const struct from_case *c = &from_cases[_i];
	struct msg m = { c->from, c->from2, "b@pass.example", SPF_PASS("pass.example"),
	    NO_DKIM, NULL };
	struct dns_resolver *r;
	struct out o;

	if (c->none)
		m.from = NULL;
	run(&m, NULL, &o);
	(void)r;
	ck_assert_msg(o.v.result == c->result, "%s: result %s (%s)", c->name,
	    dmarc_result_str(o.v.result), o.v.reason);
	ck_assert_msg(o.v.disposition == c->dis, "%s: dis %s", c->name,
	    dmarc_disposition_str(o.v.disposition));
	ck_assert_msg(strcmp(o.v.header_from, c->header_from) == 0, "%s: header_from %s",
	    c->name, o.v.header_from);
	ck_assert(o.v.from_error == (c->result == DMARC_RESULT_PERMERROR));
}
END_TEST

START_TEST(dmarc_eval_from_error_disposition_configurable)
{
	struct msg m = { "junk", NULL, "b@x.example", NO_SPF, NO_DKIM, NULL };
	struct dmarc_settings set;
	struct out o;

	dmarc_settings_default(&set);
	set.from_error_disposition = DMARC_DIS_QUARANTINE;
	run(&m, &set, &o);
	ck_assert_int_eq(o.v.result, DMARC_RESULT_PERMERROR);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_QUARANTINE);
	ck_assert_ptr_nonnull(strstr(o.v.reason, "unparsable From"));
}
END_TEST

START_TEST(dmarc_eval_internal_hosts_not_evaluated)
{
	static const char *const internal[] = { "10.0.0.0/8", "2001:db8::/32", NULL };
	struct msg m = { "u@example.com", NULL, "b@x.example", NO_SPF, NO_DKIM, "10.1.2.3" };
	struct dmarc_settings set;
	struct out o;

	dmarc_settings_default(&set);
	set.internal_networks = internal;
	run(&m, &set, &o);
	ck_assert(!o.v.evaluated);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_NONE);
	m.client = "192.0.2.99";
	run(&m, &set, &o);
	ck_assert(o.v.evaluated);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_REJECT);
}
END_TEST

START_TEST(dmarc_eval_trusted_forwarder_override)
{
	static const char *const nets[] = { "198.51.100.0/24", NULL };
	static const char *const doms[] = { "lists.example.org", NULL };
	struct msg m = { "u@example.com", NULL, "b@x.example", NO_SPF, NO_DKIM, "198.51.100.7" };
	struct dmarc_settings set;
	struct out o;

	dmarc_settings_default(&set);
	set.trusted_networks = nets;
	run(&m, &set, &o);
	ck_assert_int_eq(o.v.result, DMARC_RESULT_FAIL);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_NONE);
	ck_assert_int_eq(o.v.domains[0].override, DMARC_OVERRIDE_TRUSTED_FORWARDER);

	set.trusted_networks = NULL;
	set.trusted_domains = doms;
	m.dkim = DMARC_AUTH_PASS;
	m.dkim_d = "lists.example.org";
	run(&m, &set, &o);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_NONE);
	m.dkim = DMARC_AUTH_FAIL;
	run(&m, &set, &o);
	ck_assert_int_eq(o.v.disposition, DMARC_DIS_REJECT);
}
END_TEST

START_TEST(dmarc_eval_async_matches_sync)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = zone(base);
	struct span from = SPAN_LIT("u@a.sp.example");
	struct dmarc_dkim_input dk = { DMARC_AUTH_PASS, "example.com", "s" };
	struct dmarc_input in = { .from_fields = &from, .nfrom_fields = 1,
	    .mail_from = "b@x.example", .dkim = &dk, .ndkim = 1 };
	struct out o = { 0 };
	struct dmarc_eval *e = dmarc_eval_start(r, NULL, &in, done, &o);

	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(o.calls, 0);
	event_base_dispatch(base);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.v.result, DMARC_RESULT_FAIL);
	ck_assert_int_eq(o.v.policy, DMARC_POLICY_NONE);

	memset(&o, 0, sizeof(o));
	e = dmarc_eval_start(r, NULL, &in, done, &o);
	dmarc_eval_cancel(e);
	event_base_dispatch(base);
	ck_assert_int_eq(o.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

/* clause - the dmarc= clause dmarc_authres_add writes, unfolded, into b */
static void
clause(struct buf *b, const struct dmarc_verdict *v)
{
	struct authres_builder ab;
	const char *p;

	authres_begin(&ab, "mx.test");
	dmarc_authres_add(&ab, v);
	ck_assert_int_eq(authres_finish(&ab), 0);
	p = strchr(buf_cstr(&ab.out), ';') + 1;
	buf_reset(b);
	for (; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n') {	/* a fold or the end */
			p++;
			if (p[1] == '\t' || p[1] == ' ')
				p++, buf_append_char(b, ' ');
			continue;
		}
		buf_append_char(b, *p);
	}
	while (b->len && b->data[0] == ' ')
		memmove(b->data, b->data + 1, b->len--);
	authres_clear(&ab);
}

START_TEST(dmarc_eval_authres_clause_and_log_line)
{
	struct msg m = { "u@mail.example.com", NULL, "b@x.example", NO_SPF, NO_DKIM, NULL };
	struct out o;
	struct buf b;

	run(&m, NULL, &o);
	buf_init(&b, 1024);
	clause(&b, &o.v);
	ck_assert_str_eq(buf_cstr(&b), "dmarc=fail (p=reject dis=reject) "
	    "header.from=mail.example.com polrec.p=reject polrec.domain=example.com "
	    "policy.dmarc=reject");
	buf_reset(&b);
	ck_assert_int_eq(dmarc_log_line(&b, &o.v), 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&b), "mail.example.com fail (p=reject dis=reject"));

	m.from = "u@test-r.example";
	run(&m, NULL, &o);
	clause(&b, &o.v);
	ck_assert_str_eq(buf_cstr(&b), "dmarc=fail (p=reject dis=quarantine) "
	    "header.from=test-r.example polrec.p=reject policy.dmarc=reject");

	m.from = "u@norecord.example";
	run(&m, NULL, &o);
	clause(&b, &o.v);
	ck_assert_str_eq(buf_cstr(&b), "dmarc=none header.from=norecord.example");

	/* a policy record found above, the walk then failing: no policy
	 * applied, so no comment and no policy.dmarc (it was "policy.dmarc=") */
	m.from = "u@x.a.flaky.example";
	run(&m, NULL, &o);
	clause(&b, &o.v);
	ck_assert_str_eq(buf_cstr(&b), "dmarc=temperror header.from=x.a.flaky.example "
	    "polrec.p=reject polrec.domain=a.flaky.example");

	m.from = NULL;
	run(&m, NULL, &o);
	clause(&b, &o.v);
	ck_assert_str_eq(buf_cstr(&b), "dmarc=permerror (no usable RFC5322.From)");
	buf_clear(&b);
}
END_TEST

START_TEST(dmarc_eval_report_record)
{
	struct msg m = { "u@mail.example.com", NULL, "b@mail.example.com",
	    SPF_PASS("mail.example.com"), DMARC_AUTH_FAIL, "example.com", "192.0.2.55" };
	struct dns_resolver *r = zone(NULL);
	struct span from = span_from_cstr(m.from);
	struct dmarc_dkim_input dk = { DMARC_AUTH_FAIL, "example.com", "s1" };
	struct dmarc_input in = { .from_fields = &from, .nfrom_fields = 1,
	    .mail_from = m.mail_from, .spf = SPF_RESULT_PASS,
	    .spf_domain = "mail.example.com", .dkim = &dk, .ndkim = 1 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&in.client;
	struct dmarc_report_record rec;
	struct out o = { 0 };

	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.55", &sin->sin_addr);
	dmarc_eval_start(r, NULL, &in, done, &o);
	ck_assert_int_eq(o.v.result, DMARC_RESULT_PASS);
	dmarc_report_fill(&rec, &o.v, 0, &in, "example.net");
	ck_assert_str_eq(rec.source_ip, "192.0.2.55");
	ck_assert_str_eq(rec.header_from, "mail.example.com");
	ck_assert_str_eq(rec.envelope_from, "mail.example.com");
	ck_assert_str_eq(rec.policy_domain, "example.com");
	ck_assert_int_eq(rec.policy_source, DMARC_SOURCE_ORG);
	ck_assert_int_eq(rec.p, DMARC_POLICY_REJECT);
	ck_assert_uint_eq(rec.fo, DMARC_FO_0);
	ck_assert_uint_eq(rec.nrua, 0);
	ck_assert(rec.spf_aligned_pass);
	ck_assert(!rec.dkim_aligned_pass);
	ck_assert_uint_eq(rec.ndkim, 1);
	ck_assert_str_eq(rec.dkim[0].selector, "s1");
	ck_assert_int_eq(rec.dkim[0].result, DMARC_AUTH_FAIL);
	ck_assert_int_eq(rec.spf_result, SPF_RESULT_PASS);
	dns_resolver_free(r);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("dmarc_eval");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, dmarc_eval_alignment_matrix, 0, (int)ARRAY_LEN(align_cases));
	tcase_add_loop_test(tc, dmarc_eval_policy_table, 0, (int)ARRAY_LEN(policy_cases));
	tcase_add_test(tc, dmarc_eval_legacy_pct_sampling);
	tcase_add_loop_test(tc, dmarc_eval_from_anomalies, 0, (int)ARRAY_LEN(from_cases));
	tcase_add_test(tc, dmarc_eval_from_error_disposition_configurable);
	tcase_add_test(tc, dmarc_eval_internal_hosts_not_evaluated);
	tcase_add_test(tc, dmarc_eval_trusted_forwarder_override);
	tcase_add_test(tc, dmarc_eval_async_matches_sync);
	tcase_add_test(tc, dmarc_eval_authres_clause_and_log_line);
	tcase_add_test(tc, dmarc_eval_report_record);
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
	return failed ? 1 : 0;
}
