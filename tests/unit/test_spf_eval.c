/*
 * test_spf_eval.c - the asynchronous SPF evaluator (RFC 7208 §4, §4.6.4, §5, §6):
 * synchronous and loop-delivered answers, cancellation with a query in flight,
 * the wall-time and total-lookup limits, the RFC processing limits, identities,
 * IPv4-mapped clients, include/redirect/exp semantics and the verdict fields.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns.h"
#include "spf.h"
#include "util.h"

struct zone_rr {
	const char *name, *type, *data;	/* type "TXT", "A" (v4 or v6), "MX", "PTR", "TIMEOUT" */
};

struct outcome {
	int calls;
	enum spf_result result;
	char reason[1024], mechanism[256], explanation[512], domain[256], sender[256];
	unsigned lookups, voids;
	int traced;
};

/* on_verdict - copy the verdict out of the callback */
static void
on_verdict(void *arg, const struct spf_verdict *v)
{
	struct outcome *o = arg;

	o->calls++;
	o->result = v->result;
	snprintf(o->reason, sizeof(o->reason), "%s", v->reason ? v->reason : "");
	snprintf(o->mechanism, sizeof(o->mechanism), "%s", v->mechanism ? v->mechanism : "(null)");
	snprintf(o->explanation, sizeof(o->explanation), "%s",
	    v->explanation ? v->explanation : "(null)");
	snprintf(o->domain, sizeof(o->domain), "%s", v->domain ? v->domain : "");
	snprintf(o->sender, sizeof(o->sender), "%s", v->sender ? v->sender : "");
	o->lookups = v->lookups;
	o->voids = v->void_lookups;
}

/* on_trace - count the DNS queries the engine reports */
static void
on_trace(void *arg, const char *name, enum dns_type type, enum dns_rcode rc, size_t n)
{
	(void)name;
	(void)type;
	(void)rc;
	(void)n;
	((struct outcome *)arg)->traced++;
}

/* zone_fill - load a test zone into dns_mem */
static void
zone_fill(struct dns_resolver *r, const struct zone_rr *z)
{
	for (; z && z->name; z++) {
		if (strcmp(z->type, "TXT") == 0)
			dns_mem_add_txt(r, z->name, z->data);
		else if (strcmp(z->type, "A") == 0)
			ck_assert_int_eq(dns_mem_add_addr(r, z->name, z->data), 0);
		else if (strcmp(z->type, "MX") == 0)
			dns_mem_add(r, z->name, DNS_TYPE_MX, 10, z->data, strlen(z->data));
		else if (strcmp(z->type, "PTR") == 0)
			dns_mem_add(r, z->name, DNS_TYPE_PTR, 0, z->data, strlen(z->data));
		else if (strcmp(z->type, "TIMEOUT") == 0)
			dns_mem_set_rcode(r, z->name, 0, DNS_RCODE_TIMEOUT);
	}
}

/* set_client - client address from text */
static void
set_client(struct sockaddr_storage *ss, const char *ip)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip,
		    &((struct sockaddr_in6 *)ss)->sin6_addr), 1);
		ss->ss_family = AF_INET6;
	}
}

/* check - evaluate with the zone; async: answers from a libevent loop */
static struct outcome
check(const struct zone_rr *z, bool async, const char *ip, const char *helo,
    const char *mail_from, enum spf_identity id, const struct spf_limits *lim)
{
	struct event_base *base = async ? event_base_new() : NULL;
	struct dns_resolver *r = dns_mem_new(base);
	struct spf_request req = { 0 };
	struct outcome o = { 0 };
	struct spf_eval *e;

	zone_fill(r, z);
	set_client(&req.client, ip);
	req.helo = helo;
	req.mail_from = mail_from;
	req.identity = id;
	req.receiver = "mx.example.net";
	req.trace = on_trace;
	req.trace_arg = &o;
	e = spf_eval_start(r, base, lim, &req, on_verdict, &o);
	if (e != NULL) {
		ck_assert(async);	/* a synchronous resolver finishes inside start */
		ck_assert_int_eq(o.calls, 0);	/* answers come from the loop */
		event_base_dispatch(base);
	}
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.traced, (int)o.lookups);
	dns_resolver_free(r);
	if (base)
		event_base_free(base);
	return o;
}

static const struct zone_rr zone_basic[] = {
	{ "example.com", "TXT", "v=spf1 ip4:192.0.2.0/24 mx include:_spf.example.net "
	  "-all exp=why.example.com" },
	{ "example.com", "TXT", "google-site-verification=xyz" },
	{ "example.com", "MX", "mx.example.com" },
	{ "mx.example.com", "A", "198.51.100.7" },
	{ "mx.example.com", "A", "2001:db8::7" },
	{ "_spf.example.net", "TXT", "v=spf1 ip6:2001:db8:1::/48 ~all" },
	{ "why.example.com", "TXT", "%{i} is not one of %{d}'s servers" },
	{ "helo.example.org", "TXT", "v=spf1 a -all" },
	{ "helo.example.org", "A", "203.0.113.5" },
	{ NULL, NULL, NULL },
};

static const struct {
	const char *name;
	const char *ip, *helo, *mail_from;
	enum spf_identity id;
	enum spf_result result;
	const char *mechanism, *explanation, *sender;
} basic_cases[] = {
	{ "ip4_pass", "192.0.2.10", "h.example.org", "u@example.com", SPF_IDENTITY_MAILFROM,
	  SPF_RESULT_PASS, "ip4:192.0.2.0/24", "(null)", "u@example.com" },
	{ "v4_mapped_client_is_ipv4", "::ffff:192.0.2.10", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "ip4:192.0.2.0/24", "(null)", "u@example.com" },
	{ "mx_pass_v4", "198.51.100.7", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "mx", "(null)", "u@example.com" },
	{ "mx_pass_v6", "2001:db8::7", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "mx", "(null)", "u@example.com" },
	{ "include_pass", "2001:db8:1::9", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "include:_spf.example.net", "(null)",
	  "u@example.com" },
	{ "fail_with_explanation", "203.0.113.99", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_FAIL, "-all",
	  "203.0.113.99 is not one of example.com's servers", "u@example.com" },
	{ "included_softfail_does_not_match", "2001:db8:2::1", "h.example.org", "u@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_FAIL, "-all",
	  "2.0.0.1.0.d.b.8.0.0.0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 is not one of "
	  "example.com's servers", "u@example.com" },
	{ "null_sender_uses_helo", "203.0.113.5", "helo.example.org", "",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "a", "(null)", "postmaster@helo.example.org" },
	{ "helo_identity", "203.0.113.6", "helo.example.org", "u@example.com",
	  SPF_IDENTITY_HELO, SPF_RESULT_FAIL, "-all", "(null)", "postmaster@helo.example.org" },
	{ "empty_local_part_is_postmaster", "192.0.2.1", "h.example.org", "@example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "ip4:192.0.2.0/24", "(null)",
	  "postmaster@example.com" },
	{ "trailing_dot_domain", "192.0.2.1", "h.example.org", "u@example.com.",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_PASS, "ip4:192.0.2.0/24", "(null)", "u@example.com" },
	{ "double_trailing_dot_none", "192.0.2.1", "h.example.org", "u@example.com..",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_NONE, "(null)", "(null)", "u@example.com.." },
	{ "no_record_none", "192.0.2.1", "h.example.org", "u@nothing.example.com",
	  SPF_IDENTITY_MAILFROM, SPF_RESULT_NONE, "(null)", "(null)", "u@nothing.example.com" },
	{ "single_label_helo_none", "192.0.2.1", "localhost", "", SPF_IDENTITY_MAILFROM,
	  SPF_RESULT_NONE, "(null)", "(null)", "postmaster@localhost" },
	{ "address_literal_helo_none", "192.0.2.1", "[192.0.2.1]", "", SPF_IDENTITY_HELO,
	  SPF_RESULT_NONE, "(null)", "(null)", "postmaster@[192.0.2.1]" },
};

START_TEST(spf_eval_basic_cases)
{
	for (int async = 0; async <= 1; async++) {
		struct outcome o = check(zone_basic, async, basic_cases[_i].ip,
		    basic_cases[_i].helo, basic_cases[_i].mail_from, basic_cases[_i].id, NULL);

		ck_assert_msg(o.result == basic_cases[_i].result, "%s: got %s (%s)",
		    basic_cases[_i].name, spf_result_str(o.result), o.reason);
		ck_assert_str_eq(o.mechanism, basic_cases[_i].mechanism);
		ck_assert_str_eq(o.explanation, basic_cases[_i].explanation);
		ck_assert_str_eq(o.sender, basic_cases[_i].sender);
		ck_assert(o.reason[0] != '\0');
	}
}
END_TEST

static const struct zone_rr zone_limits[] = {
	{ "ten.example.com", "TXT", "v=spf1 a:a1.example.com a:a1.example.com a:a1.example.com "
	  "a:a1.example.com a:a1.example.com a:a1.example.com a:a1.example.com "
	  "a:a1.example.com a:a1.example.com a:a1.example.com -all" },
	{ "eleven.example.com", "TXT", "v=spf1 a:a1.example.com a:a1.example.com "
	  "a:a1.example.com a:a1.example.com a:a1.example.com a:a1.example.com "
	  "a:a1.example.com a:a1.example.com a:a1.example.com a:a1.example.com "
	  "a:a1.example.com -all" },
	{ "a1.example.com", "A", "198.51.100.1" },
	{ "void.example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com "
	  "a:n3.example.com -all" },
	{ "twovoid.example.com", "TXT", "v=spf1 a:n1.example.com a:n2.example.com -all" },
	{ "loop.example.com", "TXT", "v=spf1 include:loop.example.com -all" },
	{ "manymx.example.com", "TXT", "v=spf1 mx -all" },
	{ "manymx.example.com", "MX", "m1.example.com" }, { "manymx.example.com", "MX", "m2.example.com" },
	{ "manymx.example.com", "MX", "m3.example.com" }, { "manymx.example.com", "MX", "m4.example.com" },
	{ "manymx.example.com", "MX", "m5.example.com" }, { "manymx.example.com", "MX", "m6.example.com" },
	{ "manymx.example.com", "MX", "m7.example.com" }, { "manymx.example.com", "MX", "m8.example.com" },
	{ "manymx.example.com", "MX", "m9.example.com" }, { "manymx.example.com", "MX", "m10.example.com" },
	{ "manymx.example.com", "MX", "m11.example.com" },
	{ "inclnone.example.com", "TXT", "v=spf1 include:nothing.example.com +all" },
	{ "incltemp.example.com", "TXT", "v=spf1 include:slow.example.com +all" },
	{ "slow.example.com", "TIMEOUT", NULL },
	{ "redir.example.com", "TXT", "v=spf1 redirect=target.example.com exp=ignored.example.com" },
	{ "target.example.com", "TXT", "v=spf1 -all exp=exp.target.example.com" },
	{ "exp.target.example.com", "TXT", "target says no" },
	{ "ignored.example.com", "TXT", "redirecting record's exp" },
	{ "two.example.com", "TXT", "v=spf1 -all" },
	{ "two.example.com", "TXT", "v=spf1 +all" },
	{ "redirnone.example.com", "TXT", "v=spf1 redirect=nothing.example.com" },
	{ "bad.example.com", "TXT", "v=spf1 ip4:192.0.2.1 moo -all" },
	{ "ptrvoid.example.com", "TXT", "v=spf1 ptr a:n1.example.com ptr:example.net -all" },
	{ "badcr.example.com", "TXT", "v=spf1 a:x.example.com\rptr -all" },
	{ NULL, NULL, NULL },
};

static const struct {
	const char *name, *mail_from;
	enum spf_result result;
	const char *reason_has;
} limit_cases[] = {
	{ "ten_dns_terms_allowed", "u@ten.example.com", SPF_RESULT_FAIL, "does not designate" },
	{ "eleven_dns_terms_permerror", "u@eleven.example.com", SPF_RESULT_PERMERROR,
	  "DNS-querying terms" },
	{ "two_void_lookups_allowed", "u@twovoid.example.com", SPF_RESULT_FAIL, "does not" },
	{ "third_void_lookup_permerror", "u@void.example.com", SPF_RESULT_PERMERROR, "void" },
	{ "include_loop_permerror", "u@loop.example.com", SPF_RESULT_PERMERROR,
	  "DNS-querying terms" },
	{ "more_than_ten_mx_permerror", "u@manymx.example.com", SPF_RESULT_PERMERROR,
	  "11 MX records" },
	{ "include_of_none_permerror", "u@inclnone.example.com", SPF_RESULT_PERMERROR,
	  "no SPF record" },
	{ "include_of_timeout_temperror", "u@incltemp.example.com", SPF_RESULT_TEMPERROR,
	  "TIMEOUT" },
	{ "redirect_to_none_permerror", "u@redirnone.example.com", SPF_RESULT_PERMERROR,
	  "redirect" },
	{ "two_records_permerror", "u@two.example.com", SPF_RESULT_PERMERROR, "2 SPF records" },
	{ "void_ptr_terms_count_as_void_lookups", "u@ptrvoid.example.com",
	  SPF_RESULT_PERMERROR, "void" },
	{ "syntax_error_after_a_match_permerror_names_term", "u@bad.example.com",
	  SPF_RESULT_PERMERROR, "SPF record of bad.example.com: unknown mechanism at \"moo\"" },
	{ "control_char_permerror_shown_safely", "u@badcr.example.com",
	  SPF_RESULT_PERMERROR, "control character in record at \"?\"" },
};

START_TEST(spf_eval_limit_cases)
{
	for (int async = 0; async <= 1; async++) {
		struct outcome o = check(zone_limits, async, "192.0.2.1", "h.example.org",
		    limit_cases[_i].mail_from, SPF_IDENTITY_MAILFROM, NULL);

		ck_assert_msg(o.result == limit_cases[_i].result, "%s: got %s (%s)",
		    limit_cases[_i].name, spf_result_str(o.result), o.reason);
		ck_assert_msg(strstr(o.reason, limit_cases[_i].reason_has) != NULL,
		    "%s: reason \"%s\"", limit_cases[_i].name, o.reason);
	}
}
END_TEST

START_TEST(spf_eval_redirect_uses_target_exp)
{
	struct outcome o = check(zone_limits, false, "192.0.2.1", "h.example.org",
	    "u@redir.example.com", SPF_IDENTITY_MAILFROM, NULL);

	ck_assert_int_eq(o.result, SPF_RESULT_FAIL);
	ck_assert_str_eq(o.explanation, "target says no");
	ck_assert_str_eq(o.domain, "redir.example.com");
}
END_TEST

START_TEST(spf_eval_total_lookup_limit)
{
	struct spf_limits lim;
	struct outcome o;

	spf_limits_default(&lim);
	lim.total_lookup_limit = 4;
	o = check(zone_limits, true, "192.0.2.1", "h.example.org", "u@ten.example.com",
	    SPF_IDENTITY_MAILFROM, &lim);
	ck_assert_int_eq(o.result, SPF_RESULT_PERMERROR);
	ck_assert_ptr_nonnull(strstr(o.reason, "more than 4 DNS lookups"));
	ck_assert_uint_le(o.traced, 4);
}
END_TEST

START_TEST(spf_eval_cancel_with_query_in_flight)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct spf_request req = { 0 };
	struct outcome o = { 0 };
	struct spf_eval *e;

	zone_fill(r, zone_basic);
	set_client(&req.client, "192.0.2.10");
	req.mail_from = "u@example.com";
	req.helo = "h.example.org";
	e = spf_eval_start(r, base, NULL, &req, on_verdict, &o);
	ck_assert_ptr_nonnull(e);
	spf_eval_cancel(e);	/* the TXT query is pending in the loop */
	event_base_dispatch(base);
	ck_assert_int_eq(o.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

struct self_cancel {
	struct spf_eval *e;
	int calls;
};

/* on_verdict_cancel - cancel the evaluation from inside its own callback */
static void
on_verdict_cancel(void *arg, const struct spf_verdict *v)
{
	struct self_cancel *sc = arg;

	(void)v;
	sc->calls++;
	spf_eval_cancel(sc->e);
}

START_TEST(spf_eval_cancel_inside_callback_is_ignored)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct spf_request req = { 0 };
	struct self_cancel sc = { 0 };

	zone_fill(r, zone_basic);
	set_client(&req.client, "192.0.2.10");
	req.mail_from = "u@example.com";
	sc.e = spf_eval_start(r, base, NULL, &req, on_verdict_cancel, &sc);
	ck_assert_ptr_nonnull(sc.e);
	event_base_dispatch(base);
	ck_assert_int_eq(sc.calls, 1);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

/* A resolver that never answers: for the wall-time limit. */
struct hang {
	int started, cancelled;
	struct dns_query *pending;
};

/* hang_query - start a query that never answers */
static struct dns_query *
hang_query(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback cb, void *arg)
{
	struct hang *h = r->impl;

	(void)name;
	(void)type;
	(void)cb;
	(void)arg;
	h->started++;
	h->pending = xmalloc(1);
	return h->pending;
}

/* hang_cancel - cancel the pending query */
static void
hang_cancel(struct dns_resolver *r, struct dns_query *q)
{
	struct hang *h = r->impl;

	ck_assert_ptr_eq(q, h->pending);
	free(q);
	h->pending = NULL;
	h->cancelled++;
}

/* hang_free - nothing to release */
static void
hang_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_backend_ops hang_ops = { hang_query, hang_cancel, hang_free };

START_TEST(spf_eval_wall_time_limit_temperror)
{
	struct event_base *base = event_base_new();
	struct hang h = { 0 };
	struct dns_resolver r = { &hang_ops, &h, 0 };
	struct spf_limits lim;
	struct spf_request req = { 0 };
	struct outcome o = { 0 };

	spf_limits_default(&lim);
	lim.eval_timeout_ms = 50;
	set_client(&req.client, "192.0.2.10");
	req.mail_from = "u@example.com";
	ck_assert_ptr_nonnull(spf_eval_start(&r, base, &lim, &req, on_verdict, &o));
	event_base_dispatch(base);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.result, SPF_RESULT_TEMPERROR);
	ck_assert_ptr_nonnull(strstr(o.reason, "wall-time limit of 50 ms"));
	ck_assert_int_eq(h.started, 1);
	ck_assert_int_eq(h.cancelled, 1);
	event_base_free(base);
}
END_TEST

/*
 * RFC 7208 §6.2: trouble with the explanation only means there is none. The
 * wall-time limit running out while exp= is fetched left a temperror in
 * place of the fail.
 */
START_TEST(spf_eval_wall_time_during_exp_keeps_fail)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = dns_mem_new(base);
	struct spf_limits lim;
	struct spf_request req = { 0 };
	struct outcome o = { 0 };

	dns_mem_add_txt(r, "slowexp.example", "v=spf1 -all exp=why.slowexp.example");
	dns_mem_add_txt(r, "why.slowexp.example", "not from %{i}");
	dns_mem_set_delay(r, 200);	/* record at 200 ms, explanation at 400 ms */
	spf_limits_default(&lim);
	lim.eval_timeout_ms = 300;
	set_client(&req.client, "192.0.2.10");
	req.mail_from = "u@slowexp.example";
	ck_assert_ptr_nonnull(spf_eval_start(r, base, &lim, &req, on_verdict, &o));
	event_base_dispatch(base);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.result, SPF_RESULT_FAIL);
	ck_assert_ptr_null(strstr(o.reason, "wall-time"));
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(spf_eval_cancel_cancels_query_and_timer)
{
	struct event_base *base = event_base_new();
	struct hang h = { 0 };
	struct dns_resolver r = { &hang_ops, &h, 0 };
	struct spf_request req = { 0 };
	struct outcome o = { 0 };
	struct spf_eval *e;

	set_client(&req.client, "2001:db8::1");
	req.mail_from = "u@example.com";
	e = spf_eval_start(&r, base, NULL, &req, on_verdict, &o);
	ck_assert_ptr_nonnull(e);
	spf_eval_cancel(e);
	ck_assert_int_eq(h.cancelled, 1);
	/* no timer left behind: the loop has nothing to run */
	ck_assert_int_eq(event_base_dispatch(base), 1);
	ck_assert_int_eq(o.calls, 0);
	event_base_free(base);
}
END_TEST

static const struct zone_rr zone_ptr[] = {
	{ "ptr.example.com", "TXT", "v=spf1 ptr -all exp=e.example.com" },
	{ "e.example.com", "TXT", "%{p} is not allowed" },
	{ "pmacro.example.com", "TXT", "v=spf1 exists:%{p}.ok.example.com -all" },
	{ "mail.ptr.example.com.ok.example.com", "A", "127.0.0.2" },
	{ "10.2.0.192.in-addr.arpa", "PTR", "mail.ptr.example.com" },
	{ "10.2.0.192.in-addr.arpa", "PTR", "forged.ptr.example.com" },
	{ "11.2.0.192.in-addr.arpa", "PTR", "forged.ptr.example.com" },
	{ "mail.ptr.example.com", "A", "192.0.2.10" },
	{ "forged.ptr.example.com", "A", "198.51.100.1" },
	{ NULL, NULL, NULL },
};

START_TEST(spf_eval_ptr_and_p_macro_validate_names)
{
	for (int async = 0; async <= 1; async++) {
		struct outcome o = check(zone_ptr, async, "192.0.2.10", "h.example.org",
		    "u@ptr.example.com", SPF_IDENTITY_MAILFROM, NULL);

		ck_assert_int_eq(o.result, SPF_RESULT_PASS);
		ck_assert_str_eq(o.mechanism, "ptr");
		o = check(zone_ptr, async, "192.0.2.11", "h.example.org", "u@ptr.example.com",
		    SPF_IDENTITY_MAILFROM, NULL);
		ck_assert_int_eq(o.result, SPF_RESULT_FAIL);
		ck_assert_str_eq(o.explanation, "unknown is not allowed");
		o = check(zone_ptr, async, "192.0.2.10", "h.example.org", "u@pmacro.example.com",
		    SPF_IDENTITY_MAILFROM, NULL);
		ck_assert_int_eq(o.result, SPF_RESULT_PASS);
	}
}
END_TEST

START_TEST(spf_eval_reason_is_printable)
{
	struct outcome o = check(zone_basic, false, "192.0.2.1", "h.example.org",
	    "u@bad\r\nX-Injected: \x80", SPF_IDENTITY_MAILFROM, NULL);

	ck_assert_int_eq(o.result, SPF_RESULT_NONE);
	for (const char *p = o.reason; *p; p++)
		ck_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	ck_assert_ptr_nonnull(strstr(o.reason, "bad??X-Injected: ?"));
}
END_TEST

static const struct zone_rr zone_long[] = {
	{ "longlp.example", "TXT", "v=spf1 exists:%{l}._spf.longlp.example -all" },
	{ "ok._spf.longlp.example", "A", "127.0.0.2" },
	{ "exp.longlp.example", "TXT", "v=spf1 -all exp=why.longlp.example" },
	{ "why.longlp.example", "TXT", "%{l} may not send" },
	{ NULL, NULL, NULL },
};

/* long_sender - local part of n bytes of c, then tail, at domain */
static char *
long_sender(size_t n, char c, const char *tail, const char *domain)
{
	struct buf b;

	buf_init(&b, n + 1024);
	for (size_t i = 0; i < n; i++)
		buf_append_char(&b, c);
	buf_printf(&b, "%s@%s", tail, domain);
	return buf_steal(&b);
}

/*
 * A local part longer than the macro buffer (4096) expands like any other:
 * §7.3 drops the left labels of a name over 253 octets, so exists: queries
 * ok._spf.longlp.example.  It used to be a permerror with reason "(null)".
 */
START_TEST(spf_eval_long_local_part_is_truncated_not_an_error)
{
	char *sender = long_sender(5000, 'x', ".ok", "longlp.example");
	struct outcome o = check(zone_long, false, "192.0.2.1", "h.example.org", sender,
	    SPF_IDENTITY_MAILFROM, NULL);

	ck_assert_msg(o.result == SPF_RESULT_PASS, "result %s: %s",
	    spf_result_str(o.result), o.reason);
	ck_assert_ptr_null(strstr(o.reason, "(null)"));
	free(sender);
	/* no label of the local part survives: the name without it has no A */
	sender = long_sender(9000, 'y', "", "longlp.example");
	o = check(zone_long, false, "192.0.2.1", "h.example.org", sender,
	    SPF_IDENTITY_MAILFROM, NULL);
	ck_assert_msg(o.result == SPF_RESULT_FAIL, "result %s: %s",
	    spf_result_str(o.result), o.reason);
	ck_assert_ptr_null(strstr(o.reason, "(null)"));
	free(sender);
}
END_TEST

/*
 * A reason longer than the 512 bytes kept (a default reason naming a long
 * sender) is cut with "...", never left empty.
 */
START_TEST(spf_eval_long_reason_is_cut_never_empty)
{
	char *sender = long_sender(9000, 'y', "", "longlp.example");
	struct outcome o = check(zone_long, false, "192.0.2.1", "h.example.org", sender,
	    SPF_IDENTITY_MAILFROM, NULL);
	size_t n = strlen(o.reason);

	ck_assert_int_eq(o.result, SPF_RESULT_FAIL);
	ck_assert_msg(n > 3 && strcmp(o.reason + n - 3, "...") == 0, "reason \"%s\"", o.reason);
	ck_assert(strncmp(o.reason, "domain of yyyy", 14) == 0);
	free(sender);
}
END_TEST

/* An explanation too long to keep is no explanation; the fail stands (§6.2). */
START_TEST(spf_eval_long_explanation_is_dropped_fail_stands)
{
	char *sender = long_sender(5000, 'z', "", "exp.longlp.example");
	struct outcome o = check(zone_long, false, "192.0.2.1", "h.example.org", sender,
	    SPF_IDENTITY_MAILFROM, NULL);

	ck_assert_int_eq(o.result, SPF_RESULT_FAIL);
	ck_assert_str_eq(o.explanation, "(null)");
	ck_assert_ptr_null(strstr(o.reason, "(null)"));
	free(sender);
}
END_TEST

START_TEST(spf_eval_non_ip_client_permerror)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct spf_request req = { 0 };
	struct outcome o = { 0 };

	req.client.ss_family = AF_UNIX;
	req.mail_from = "u@example.com";
	ck_assert_ptr_null(spf_eval_start(r, NULL, NULL, &req, on_verdict, &o));
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.result, SPF_RESULT_PERMERROR);
	dns_resolver_free(r);
}
END_TEST

/* main - run the evaluator tests */
int
main(void)
{
	Suite *s = suite_create("spf_eval");
	TCase *tc = tcase_create("eval");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, spf_eval_basic_cases, 0, (int)ARRAY_LEN(basic_cases));
	tcase_add_loop_test(tc, spf_eval_limit_cases, 0, (int)ARRAY_LEN(limit_cases));
	tcase_add_test(tc, spf_eval_redirect_uses_target_exp);
	tcase_add_test(tc, spf_eval_total_lookup_limit);
	tcase_add_test(tc, spf_eval_cancel_with_query_in_flight);
	tcase_add_test(tc, spf_eval_wall_time_limit_temperror);
	tcase_add_test(tc, spf_eval_wall_time_during_exp_keeps_fail);
	tcase_add_test(tc, spf_eval_cancel_inside_callback_is_ignored);
	tcase_add_test(tc, spf_eval_cancel_cancels_query_and_timer);
	tcase_add_test(tc, spf_eval_ptr_and_p_macro_validate_names);
	tcase_add_test(tc, spf_eval_non_ip_client_permerror);
	tcase_add_test(tc, spf_eval_reason_is_printable);
	tcase_add_test(tc, spf_eval_long_local_part_is_truncated_not_an_error);
	tcase_add_test(tc, spf_eval_long_explanation_is_dropped_fail_stands);
	tcase_add_test(tc, spf_eval_long_reason_is_cut_never_empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
