/*
 * test_spf_unbound.c - the SPF engine over the real libunbound backend.
 *
 * main() starts Debian's unbound daemon as a private server on 127.0.0.1
 * (tests/integration/dnsserver.sh, a port from 20100-20199) serving the zone
 * below; evaluations run on a libevent loop with answers from the network, so
 * every callback comes later from the loop.  A UDP socket that never answers
 * provides DNS timeouts (temperror) and a wall-time limit shorter than the
 * query timeout (temperror from our own clock); a cancelled evaluation with a
 * query in flight never calls back.  Skipped (77) without /usr/sbin/unbound.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns.h"
#include "test_unbound_util.h"
#include "spf.h"
#include "util.h"

#define SERVER_PORTS	"20100-20199"
#define LOOP_GUARD_MS	5000	/* no evaluation here may take longer */

static const char zone_text[] =
    "zone example.\n"
    "corp.example. TXT \"v=spf1 ip4:192.0.2.0/24 mx include:inc.example. \" "
    "\"ptr:hosts.example. exists:%{l}.allow.example. -all exp=why.example.\"\n"
    "corp.example. MX 10 mail.example.\n"
    "mail.example. A 198.51.100.25\n"
    "mail.example. AAAA 2001:db8::25\n"
    "inc.example. TXT \"v=spf1 ip6:2001:db8:1::/48 ?all\"\n"
    "why.example. TXT \"%{c} may not send for %{d}\"\n"
    "bob.allow.example. A 127.0.0.2\n"
    "7.113.0.203.in-addr.arpa. PTR a.hosts.example.\n"
    "a.hosts.example. A 203.0.113.7\n"
    "dup.example. TXT \"v=spf1 -all\"\n"
    "dup.example. TXT \"v=spf1 +all\"\n"
    "redir.example. TXT \"v=spf1 redirect=corp.example.\"\n";

static char server_dir[] = "/tmp/mailauth-spf-dns-XXXXXX";
static char server_fwd[64];

struct outcome {
	int calls;
	enum spf_result result;
	char reason[512], mechanism[128], explanation[256];
};

/* on_verdict - copy the verdict out of the callback */
static void
on_verdict(void *arg, const struct spf_verdict *v)
{
	struct outcome *o = arg;

	o->calls++;
	o->result = v->result;
	snprintf(o->reason, sizeof(o->reason), "%s", v->reason);
	snprintf(o->mechanism, sizeof(o->mechanism), "%s", v->mechanism ? v->mechanism : "(null)");
	snprintf(o->explanation, sizeof(o->explanation), "%s",
	    v->explanation ? v->explanation : "(null)");
}

/* request - a MAIL FROM request from ip */
static struct spf_request
request(const char *ip, const char *mail_from)
{
	struct spf_request req = { 0 };

	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&req.client)->sin_addr) == 1)
		req.client.ss_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip,
		    &((struct sockaddr_in6 *)&req.client)->sin6_addr), 1);
		req.client.ss_family = AF_INET6;
	}
	req.helo = "client.example.org";
	req.mail_from = mail_from;
	req.receiver = "mx.example.net";
	return req;
}

static const struct {
	const char *name, *ip, *mail_from;
	enum spf_result result;
	const char *mechanism, *explanation;
} cases[] = {
	{ "ip4_in_joined_txt_strings", "192.0.2.9", "alice@corp.example", SPF_RESULT_PASS,
	  "ip4:192.0.2.0/24", "(null)" },
	{ "mx_v4", "198.51.100.25", "alice@corp.example", SPF_RESULT_PASS, "mx", "(null)" },
	{ "mx_v6", "2001:db8::25", "alice@corp.example", SPF_RESULT_PASS, "mx", "(null)" },
	{ "include_v6", "2001:db8:1::5", "alice@corp.example", SPF_RESULT_PASS,
	  "include:inc.example.", "(null)" },
	{ "validated_ptr", "203.0.113.7", "alice@corp.example", SPF_RESULT_PASS,
	  "ptr:hosts.example.",
	  "(null)" },
	{ "exists_with_local_part_macro", "203.0.113.99", "bob@corp.example", SPF_RESULT_PASS,
	  "exists:%{l}.allow.example.", "(null)" },
	{ "fail_with_explanation", "203.0.113.99", "alice@corp.example", SPF_RESULT_FAIL, "-all",
	  "203.0.113.99 may not send for corp.example" },
	{ "redirect_uses_target_record", "203.0.113.99", "alice@redir.example",
	  SPF_RESULT_FAIL, "-all", "203.0.113.99 may not send for corp.example" },
	{ "nxdomain_none", "192.0.2.9", "alice@nothing.example", SPF_RESULT_NONE, "(null)",
	  "(null)" },
	{ "two_records_permerror", "192.0.2.9", "alice@dup.example", SPF_RESULT_PERMERROR,
	  "(null)", "(null)" },
};

START_TEST(spf_unbound_evaluates_through_real_server)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 2000);
	struct spf_request req = request(cases[_i].ip, cases[_i].mail_from);
	struct outcome o = { 0 };

	spf_eval_start(r, base, NULL, &req, on_verdict, &o);
	run_loop(base, &o.calls, LOOP_GUARD_MS);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_msg(o.result == cases[_i].result, "%s: got %s (%s)", cases[_i].name,
	    spf_result_str(o.result), o.reason);
	ck_assert_str_eq(o.mechanism, cases[_i].mechanism);
	ck_assert_str_eq(o.explanation, cases[_i].explanation);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(spf_unbound_dns_timeout_is_temperror)
{
	char fwd[64];
	int fd = sink_open(fwd, sizeof(fwd));
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, fwd, 300);
	struct spf_request req = request("192.0.2.9", "alice@corp.example");
	struct outcome o = { 0 };

	ck_assert_ptr_nonnull(spf_eval_start(r, base, NULL, &req, on_verdict, &o));
	run_loop(base, &o.calls, LOOP_GUARD_MS);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.result, SPF_RESULT_TEMPERROR);
	ck_assert_msg(strstr(o.reason, "TIMEOUT") != NULL, "%s", o.reason);
	dns_resolver_free(r);
	event_base_free(base);
	close(fd);
}
END_TEST

START_TEST(spf_unbound_wall_time_limit_is_temperror)
{
	char fwd[64];
	int fd = sink_open(fwd, sizeof(fwd));
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, fwd, 3000);
	struct spf_request req = request("192.0.2.9", "alice@corp.example");
	struct spf_limits lim;
	struct outcome o = { 0 };

	spf_limits_default(&lim);
	lim.eval_timeout_ms = 200;
	ck_assert_ptr_nonnull(spf_eval_start(r, base, &lim, &req, on_verdict, &o));
	run_loop(base, &o.calls, 2000);	/* well before the 3 s query timeout */
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.result, SPF_RESULT_TEMPERROR);
	ck_assert_msg(strstr(o.reason, "wall-time") != NULL, "%s", o.reason);
	dns_resolver_free(r);
	event_base_free(base);
	close(fd);
}
END_TEST

START_TEST(spf_unbound_cancel_in_flight_never_calls_back)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 2000);
	struct spf_request req = request("192.0.2.9", "alice@corp.example");
	struct outcome o = { 0 };
	struct spf_eval *e = spf_eval_start(r, base, NULL, &req, on_verdict, &o);

	ck_assert_ptr_nonnull(e);
	spf_eval_cancel(e);
	run_loop(base, NULL, 300);	/* the answer arrives and is dropped */
	ck_assert_int_eq(o.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

/* server_start - start the private unbound, set server_fwd */
static int
server_start(void)
{
	char zone[128];

	if (ub_server_zone(server_dir, zone_text, zone, sizeof(zone)) < 0)
		return -1;
	return ub_server_run(server_dir, SERVER_PORTS, zone, server_fwd, sizeof(server_fwd));
}

/* main - start the server, run the tests, stop it */
int
main(void)
{
	Suite *s = suite_create("spf_unbound");
	TCase *tc = tcase_create("unbound");
	SRunner *sr;
	int failed;

	if (access("/usr/sbin/unbound", X_OK) != 0) {
		fprintf(stderr, "SKIP: /usr/sbin/unbound not installed\n");
		return 77;
	}
	if (server_start() < 0) {
		fprintf(stderr, "cannot start the private DNS server\n");
		ub_server_stop(server_dir);
		return EXIT_FAILURE;
	}
	tcase_add_loop_test(tc, spf_unbound_evaluates_through_real_server, 0,
	    (int)ARRAY_LEN(cases));
	tcase_add_test(tc, spf_unbound_dns_timeout_is_temperror);
	tcase_add_test(tc, spf_unbound_wall_time_limit_is_temperror);
	tcase_add_test(tc, spf_unbound_cancel_in_flight_never_calls_back);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ub_server_stop(server_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
