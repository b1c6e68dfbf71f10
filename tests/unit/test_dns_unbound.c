/*
 * test_dns_unbound.c - the libunbound backend against a real DNS server.
 *
 * main() starts Debian's unbound daemon as a private server on 127.0.0.1
 * (tests/integration/dnsserver.sh, a port from 20200-20299) serving the zone
 * below; the backend resolves through the forwarder setting.  Timeouts are
 * provoked with a bound UDP socket that reads queries and never answers.
 * Skipped (77) when /usr/sbin/unbound is not installed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns.h"
#include "test_unbound_util.h"

#define SERVER_PORTS "20200-20299"
#define LOOP_GUARD_MS 5000	/* no single lookup here may take longer */
#define SINK_TIMEOUT_MS 300	/* query timeout used against the sink */
#define MAX_GOT_RR 8

static const char zone_text[] =
    "zone example.\n"
    "example. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "multi.example. TXT \"v=spf1 \" \"ip4:192.0.2.1 \" \"-all\"\n"
    "mail.example. A 192.0.2.25\n"
    "mail.example. AAAA 2001:db8::25\n"
    "example. MX 10 Mail.Example.\n"
    "example. MX 20 mx2.example.\n"
    "25.2.0.192.in-addr.arpa. PTR mail.example.\n"
    "alias.example. CNAME mail.example.\n"
    "zone refused.example. refuse\n"
    /* special-use zones (RFC 6761, RFC 8375) an admin tests with */
    "zone test.\n"
    "mail.test. A 192.0.2.30\n"
    "zone invalid.\n"
    "host.invalid. A 192.0.2.31\n"
    "zone home.arpa.\n"
    "router.home.arpa. A 192.0.2.32\n";

/* signed.example: a DNSSEC-signed zone (dnsserver.sh sign) */
static const char signed_text[] =
    "mail.signed.example. A 192.0.2.26\n"
    "signed.example. TXT \"v=spf1 ip4:192.0.2.26 -all\"\n";

static char server_dir[] = "/tmp/mailauth-dns-XXXXXX";
static char server_fwd[64];	/* "127.0.0.1@port" */
static char signed_ta[128];	/* trust anchor of signed.example, or "" */

struct got {
	int calls;
	enum dns_rcode rcode;
	enum dns_sec sec;
	bool why_bogus;
	size_t count;
	struct {
		char text[256];	/* data, or an address in text form */
		unsigned pref;
	} rr[MAX_GOT_RR];
};

/* ---- helpers ---- */

/* record - callback: copy the answer into a struct got */
static void
record(void *arg, const struct dns_answer *a)
{
	struct got *g = arg;

	g->calls++;
	g->rcode = a->rcode;
	g->sec = a->sec;
	g->why_bogus = a->why_bogus != NULL;
	g->count = a->count;
	for (size_t i = 0; i < a->count && i < MAX_GOT_RR; i++) {
		const struct dns_rr *rr = &a->rr[i];

		g->rr[i].pref = rr->pref;
		if (rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA)
			inet_ntop(rr->type == DNS_TYPE_A ? AF_INET : AF_INET6,
			    rr->data, g->rr[i].text, sizeof(g->rr[i].text));
		else
			snprintf(g->rr[i].text, sizeof(g->rr[i].text), "%.*s",
			    (int)rr->len, rr->data);
	}
}

/* run_until_called - run the loop until g was called (or the guard expires) */
static void
run_until_called(struct event_base *base, struct got *g)
{
	run_loop(base, &g->calls, LOOP_GUARD_MS);
}

/* run_for - run the loop for ms milliseconds */
static void
run_for(struct event_base *base, unsigned ms)
{
	run_loop(base, NULL, ms);
}

/* elapsed_ms - milliseconds since t0 */
static long
elapsed_ms(const struct timeval *t0)
{
	struct timeval t1;

	gettimeofday(&t1, NULL);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_usec - t0->tv_usec) / 1000;
}

/* sink_answer_all - answer every waiting query with NXDOMAIN; returns how many */
static int
sink_answer_all(int fd)
{
	unsigned char pkt[512];
	struct sockaddr_storage from;
	socklen_t flen;
	ssize_t n;
	int answered = 0;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (n < 12)
			break;
		pkt[2] |= 0x80;			/* QR */
		pkt[3] = (pkt[3] & 0xf0) | 3;	/* NXDOMAIN */
		pkt[3] |= 0x80;			/* RA */
		sendto(fd, pkt, (size_t)n, 0, (struct sockaddr *)&from, flen);
		answered++;
	}
	return answered;
}

/* ---- answers from the real server, one case per lookup ---- */

static const struct answer_case {
	const char *what;
	const char *name;
	enum dns_type type;
	enum dns_rcode rcode;
	size_t count;
	const char *first;
} answer_cases[] = {
	{ "txt_single_string", "example", DNS_TYPE_TXT, DNS_RCODE_NOERROR, 1,
	  "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "txt_strings_concatenated", "multi.example", DNS_TYPE_TXT,
	  DNS_RCODE_NOERROR, 1, "v=spf1 ip4:192.0.2.1 -all" },
	{ "a_record", "mail.example", DNS_TYPE_A, DNS_RCODE_NOERROR, 1,
	  "192.0.2.25" },
	{ "a_name_case_and_trailing_dot", "MAIL.Example.", DNS_TYPE_A,
	  DNS_RCODE_NOERROR, 1, "192.0.2.25" },
	{ "aaaa_record", "mail.example", DNS_TYPE_AAAA, DNS_RCODE_NOERROR, 1,
	  "2001:db8::25" },
	{ "ptr_in_documentation_reverse_zone", "25.2.0.192.in-addr.arpa",
	  DNS_TYPE_PTR, DNS_RCODE_NOERROR, 1, "mail.example" },
	{ "cname_followed_to_a", "alias.example", DNS_TYPE_A,
	  DNS_RCODE_NOERROR, 1, "192.0.2.25" },
	{ "nxdomain", "nope.example", DNS_TYPE_TXT, DNS_RCODE_NXDOMAIN, 0,
	  NULL },
	{ "nodata_is_noerror_without_records", "mail.example", DNS_TYPE_TXT,
	  DNS_RCODE_NOERROR, 0, NULL },
	{ "refused_maps_to_servfail", "x.refused.example", DNS_TYPE_A,
	  DNS_RCODE_SERVFAIL, 0, NULL },
	{ "special_use_test_goes_to_the_forwarder", "mail.test", DNS_TYPE_A,
	  DNS_RCODE_NOERROR, 1, "192.0.2.30" },
	{ "special_use_invalid_goes_to_the_forwarder", "host.invalid",
	  DNS_TYPE_A, DNS_RCODE_NOERROR, 1, "192.0.2.31" },
	{ "special_use_home_arpa_goes_to_the_forwarder", "router.home.arpa",
	  DNS_TYPE_A, DNS_RCODE_NOERROR, 1, "192.0.2.32" },
};

START_TEST(dns_unbound_answers_from_real_server)
{
	const struct answer_case *c = &answer_cases[_i];
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 3000);
	struct got g = { 0 };

	ck_assert_ptr_nonnull(dns_query(r, c->name, c->type, record, &g));
	run_until_called(base, &g);
	ck_assert_msg(g.calls == 1, "%s: %d calls", c->what, g.calls);
	ck_assert_msg(g.rcode == c->rcode, "%s: rcode %s", c->what,
	    dns_rcode_str(g.rcode));
	ck_assert_msg(g.count == c->count, "%s: %zu records", c->what, g.count);
	if (c->first)
		ck_assert_msg(strcmp(g.rr[0].text, c->first) == 0,
		    "%s: got '%s'", c->what, g.rr[0].text);
	ck_assert_int_eq(g.sec, DNS_SEC_INSECURE);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(dns_unbound_mx_preference_and_lowercase_exchange)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 3000);
	struct got g = { 0 };
	bool seen10 = false, seen20 = false;

	dns_query(r, "example", DNS_TYPE_MX, record, &g);
	run_until_called(base, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_uint_eq(g.count, 2);
	for (size_t i = 0; i < 2; i++) {
		if (g.rr[i].pref == 10) {
			ck_assert_str_eq(g.rr[i].text, "mail.example");
			seen10 = true;
		} else {
			ck_assert_uint_eq(g.rr[i].pref, 20);
			ck_assert_str_eq(g.rr[i].text, "mx2.example");
			seen20 = true;
		}
	}
	ck_assert(seen10 && seen20);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

/* ---- timeouts, cancellation and teardown ---- */

START_TEST(dns_unbound_silent_server_gives_timeout_in_time)
{
	struct event_base *base = event_base_new();
	char fwd[64];
	int sink = sink_open(fwd, sizeof(fwd));
	struct dns_resolver *r = resolver_to(base, fwd, SINK_TIMEOUT_MS);
	struct got g = { 0 };
	struct timeval t0;
	long ms;

	gettimeofday(&t0, NULL);
	dns_query(r, "example", DNS_TYPE_TXT, record, &g);
	run_until_called(base, &g);
	ms = elapsed_ms(&t0);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.rcode, DNS_RCODE_TIMEOUT);
	ck_assert_uint_eq(g.count, 0);
	ck_assert_msg(ms >= SINK_TIMEOUT_MS - 20 && ms < SINK_TIMEOUT_MS + 1500,
	    "timeout after %ld ms", ms);
	dns_resolver_free(r);
	event_base_free(base);
	close(sink);
}
END_TEST

START_TEST(dns_unbound_late_answer_after_timeout_is_ignored)
{
	struct event_base *base = event_base_new();
	char fwd[64];
	int sink = sink_open(fwd, sizeof(fwd));
	struct dns_resolver *r = resolver_to(base, fwd, SINK_TIMEOUT_MS);
	struct got g = { 0 };

	dns_query(r, "late.example", DNS_TYPE_A, record, &g);
	run_until_called(base, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_TIMEOUT);
	/* the server wakes up: libunbound gets answers for a cancelled query */
	ck_assert_int_ge(sink_answer_all(sink), 1);
	run_for(base, 200);
	ck_assert_int_eq(g.calls, 1);
	/* the resolver still works afterwards */
	dns_query(r, "late.example", DNS_TYPE_A, record, &g);
	run_for(base, 50);
	sink_answer_all(sink);
	run_until_called(base, &g);
	ck_assert_int_eq(g.calls, 2);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NXDOMAIN);
	dns_resolver_free(r);
	event_base_free(base);
	close(sink);
}
END_TEST

START_TEST(dns_unbound_cancelled_query_never_calls_back)
{
	struct event_base *base = event_base_new();
	char fwd[64];
	int sink = sink_open(fwd, sizeof(fwd));
	struct dns_resolver *r = resolver_to(base, fwd, SINK_TIMEOUT_MS);
	struct got g = { 0 };
	struct dns_query *q;

	q = dns_query(r, "example", DNS_TYPE_TXT, record, &g);
	ck_assert_ptr_nonnull(q);
	run_for(base, 50);
	dns_cancel(r, q);
	run_for(base, SINK_TIMEOUT_MS + 200);	/* past the timeout */
	ck_assert_int_eq(g.calls, 0);
	sink_answer_all(sink);
	run_for(base, 100);
	ck_assert_int_eq(g.calls, 0);
	dns_resolver_free(r);
	event_base_free(base);
	close(sink);
}
END_TEST

START_TEST(dns_unbound_cancel_one_of_two_same_name)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 3000);
	struct got g1 = { 0 }, g2 = { 0 };
	struct dns_query *q1;

	q1 = dns_query(r, "example", DNS_TYPE_TXT, record, &g1);
	dns_query(r, "example", DNS_TYPE_TXT, record, &g2);
	dns_cancel(r, q1);
	run_until_called(base, &g2);
	run_for(base, 50);
	ck_assert_int_eq(g1.calls, 0);
	ck_assert_int_eq(g2.calls, 1);
	ck_assert_str_eq(g2.rr[0].text, "v=spf1 ip4:192.0.2.0/24 -all");
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(dns_unbound_free_with_pending_queries)
{
	struct event_base *base = event_base_new();
	char fwd[64];
	int sink = sink_open(fwd, sizeof(fwd));
	struct dns_resolver *r = resolver_to(base, fwd, SINK_TIMEOUT_MS);
	struct got g = { 0 };

	dns_query(r, "a.example", DNS_TYPE_TXT, record, &g);
	dns_query(r, "b.example", DNS_TYPE_MX, record, &g);
	run_for(base, 50);	/* queries are on the wire */
	dns_resolver_free(r);
	sink_answer_all(sink);
	run_for(base, SINK_TIMEOUT_MS + 100);
	ck_assert_int_eq(g.calls, 0);
	event_base_free(base);
	close(sink);
}
END_TEST

struct chain {
	struct dns_resolver *r;
	struct got first, second;
	bool free_in_callback;
};

/* chain_first - callback: start a second query, or free the resolver */
static void
chain_first(void *arg, const struct dns_answer *a)
{
	struct chain *c = arg;

	record(&c->first, a);
	if (c->free_in_callback) {
		dns_resolver_free(c->r);
		c->r = NULL;
	} else {
		dns_query(c->r, "mail.example", DNS_TYPE_A, record, &c->second);
	}
}

START_TEST(dns_unbound_callback_may_start_a_query)
{
	struct event_base *base = event_base_new();
	struct chain c = { 0 };

	c.r = resolver_to(base, server_fwd, 3000);
	dns_query(c.r, "example", DNS_TYPE_MX, chain_first, &c);
	run_until_called(base, &c.second);
	ck_assert_int_eq(c.first.calls, 1);
	ck_assert_int_eq(c.second.calls, 1);
	ck_assert_str_eq(c.second.rr[0].text, "192.0.2.25");
	dns_resolver_free(c.r);
	event_base_free(base);
}
END_TEST

START_TEST(dns_unbound_callback_may_free_the_resolver)
{
	struct event_base *base = event_base_new();
	struct chain c = { .free_in_callback = true };

	c.r = resolver_to(base, server_fwd, 3000);
	dns_query(c.r, "example", DNS_TYPE_TXT, chain_first, &c);
	dns_query(c.r, "mail.example", DNS_TYPE_A, record, &c.second);
	run_until_called(base, &c.first);
	run_for(base, 100);
	ck_assert_int_eq(c.first.calls, 1);
	ck_assert_ptr_null(c.r);
	/* the second answer may have come first; never after the free */
	ck_assert_int_le(c.second.calls, 1);
	event_base_free(base);
}
END_TEST

START_TEST(dns_unbound_local_data_answer_comes_from_the_loop)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r = resolver_to(base, server_fwd, 3000);
	struct got g = { 0 };

	/* libunbound answers localhost. itself, inside ub_resolve_event() */
	ck_assert_ptr_nonnull(dns_query(r, "localhost", DNS_TYPE_A, record, &g));
	ck_assert_int_eq(g.calls, 0);
	run_until_called(base, &g);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_str_eq(g.rr[0].text, "127.0.0.1");
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

START_TEST(dns_unbound_unsigned_answer_under_trust_anchor_is_bogus)
{
	struct event_base *base = event_base_new();
	char ta[] = "/tmp/mailauth-ta-XXXXXX";
	int fd = mkstemp(ta);
	const char *fwds[] = { server_fwd, NULL };
	struct dns_unbound_config cfg = {
		.forwarders = fwds, .timeout_ms = 3000, .trust_anchor_file = ta,
	};
	/* a DS for example. that no key matches: everything below is bogus */
	static const char ds[] = "example. 3600 IN DS 12345 8 2 "
	    "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE8E52FB1D6E59E8F6B7FA0F02\n";
	struct dns_resolver *r;
	const char *err = NULL;
	struct got g = { 0 };

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, ds, sizeof(ds) - 1), (ssize_t)sizeof(ds) - 1);
	close(fd);
	r = dns_unbound_new(base, &cfg, &err);
	ck_assert_msg(r != NULL, "%s", err ? err : "?");
	dns_query(r, "mail.example", DNS_TYPE_A, record, &g);
	run_until_called(base, &g);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_int_eq(g.sec, DNS_SEC_BOGUS);
	ck_assert(g.why_bogus);
	ck_assert_int_eq(g.rcode, DNS_RCODE_SERVFAIL);
	ck_assert_uint_eq(g.count, 0);
	dns_resolver_free(r);
	event_base_free(base);
	unlink(ta);
}
END_TEST

static const struct secure_case {
	const char *name;
	enum dns_type type;
	const char *first;
} secure_cases[] = {
	{ "mail.signed.example", DNS_TYPE_A, "192.0.2.26" },
	{ "signed.example", DNS_TYPE_TXT, "v=spf1 ip4:192.0.2.26 -all" },
};

START_TEST(dns_unbound_signed_answer_under_trust_anchor_is_secure)
{
	const struct secure_case *c = &secure_cases[_i];
	struct event_base *base = event_base_new();
	const char *fwds[] = { server_fwd, NULL };
	struct dns_unbound_config cfg = {
		.forwarders = fwds, .timeout_ms = 3000,
		.trust_anchor_file = signed_ta,
	};
	struct dns_resolver *r;
	const char *err = NULL;
	struct got g = { 0 }, u = { 0 };

	r = dns_unbound_new(base, &cfg, &err);
	ck_assert_msg(r != NULL, "%s", err ? err : "?");
	dns_query(r, c->name, c->type, record, &g);
	run_until_called(base, &g);
	ck_assert_int_eq(g.rcode, DNS_RCODE_NOERROR);
	ck_assert_msg(g.sec == DNS_SEC_SECURE, "%s: %s", c->name,
	    dns_sec_str(g.sec));
	ck_assert(!g.why_bogus);
	ck_assert_uint_eq(g.count, 1);
	ck_assert_str_eq(g.rr[0].text, c->first);
	/* outside the trust anchor's zone the same resolver says insecure */
	dns_query(r, "mail.example", DNS_TYPE_A, record, &u);
	run_until_called(base, &u);
	ck_assert_int_eq(u.rcode, DNS_RCODE_NOERROR);
	ck_assert_int_eq(u.sec, DNS_SEC_INSECURE);
	dns_resolver_free(r);
	event_base_free(base);
}
END_TEST

/* ---- configuration errors ---- */

static const struct config_case {
	const char *what;
	const char *forwarder;
	const char *resolv_conf;
	const char *trust_anchor;
	const char *err_has;
} config_cases[] = {
	{ "bad_forwarder", "not an address", NULL, NULL, "forwarder" },
	{ "missing_resolv_conf", NULL, "/nonexistent/resolv.conf", NULL,
	  "resolv.conf" },
	{ "missing_trust_anchor", "127.0.0.1", NULL, "/nonexistent/root.key",
	  "trust anchor" },
	{ "garbage_trust_anchor", "127.0.0.1", NULL, "GARBAGE", "trust anchor" },
};

START_TEST(dns_unbound_config_errors_are_reported)
{
	const struct config_case *c = &config_cases[_i];
	struct event_base *base = event_base_new();
	const char *fwds[] = { c->forwarder, NULL };
	struct dns_unbound_config cfg = {
		.forwarders = c->forwarder ? fwds : NULL,
		.resolv_conf = c->resolv_conf,
		.trust_anchor_file = c->trust_anchor,
	};
	char garbage[] = "/tmp/mailauth-ta-XXXXXX";
	const char *err = NULL;

	if (c->trust_anchor && strcmp(c->trust_anchor, "GARBAGE") == 0) {
		int fd = mkstemp(garbage);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "example. IN DS x\n", 17), 17);
		close(fd);
		cfg.trust_anchor_file = garbage;
	}
	ck_assert_ptr_null(dns_unbound_new(base, &cfg, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, c->err_has) != NULL, "%s: '%s'", c->what, err);
	event_base_free(base);
	if (cfg.trust_anchor_file == garbage)
		unlink(garbage);
}
END_TEST

START_TEST(dns_unbound_recursion_and_resolv_conf_modes_set_up)
{
	struct event_base *base = event_base_new();
	char rc_path[] = "/tmp/mailauth-resolv-XXXXXX";
	int fd = mkstemp(rc_path);
	static const char text[] = "# test\nnameserver 127.0.0.1\n";
	struct dns_unbound_config rec = { .recursion = true };
	struct dns_unbound_config conf = { .resolv_conf = rc_path };
	struct dns_resolver *r;
	const char *err = NULL;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	r = dns_unbound_new(base, &rec, &err);
	ck_assert_msg(r != NULL, "recursion: %s", err ? err : "?");
	dns_resolver_free(r);
	r = dns_unbound_new(base, &conf, &err);
	ck_assert_msg(r != NULL, "resolv.conf: %s", err ? err : "?");
	dns_resolver_free(r);
	event_base_free(base);
	unlink(rc_path);
}
END_TEST

/* ---- the private server ---- */

/* server_sign - sign signed.example; on success the zone file serves it */
static void
server_sign(const char *src, const char *zone)
{
	char recs[128], szone[128], cmd[640];
	FILE *f;
	int rc;

	snprintf(recs, sizeof(recs), "%s/signed.records", server_dir);
	snprintf(szone, sizeof(szone), "%s/signed.zone", server_dir);
	snprintf(signed_ta, sizeof(signed_ta), "%s/signed.ta", server_dir);
	snprintf(cmd, sizeof(cmd),
	    "sh %s/tests/integration/dnsserver.sh sign signed.example. %s %s %s",
	    src, recs, szone, signed_ta);
	if (write_file(recs, signed_text) < 0 || (rc = system(cmd)) != 0 ||
	    (f = fopen(zone, "a")) == NULL) {
		fprintf(stderr, "NOTE: no signed zone (dnssign.py needs "
		    "python3-dnspython, python3-cryptography): the DNSSEC "
		    "secure test is not run\n");
		signed_ta[0] = '\0';
		return;
	}
	fprintf(f, "authzone signed.example. %s\n", szone);
	fclose(f);
}

/* server_start - start the private unbound, set server_fwd */
static int
server_start(void)
{
	char zone[128];

	if (ub_server_zone(server_dir, zone_text, zone, sizeof(zone)) < 0)
		return -1;
	server_sign(test_src(), zone);
	return ub_server_run(server_dir, SERVER_PORTS, zone, server_fwd, sizeof(server_fwd));
}

int
main(void)
{
	Suite *s = suite_create("dns_unbound");
	TCase *tc = tcase_create("core");
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
	tcase_add_loop_test(tc, dns_unbound_answers_from_real_server, 0,
	    (int)(sizeof(answer_cases) / sizeof(answer_cases[0])));
	tcase_add_test(tc, dns_unbound_mx_preference_and_lowercase_exchange);
	tcase_add_test(tc, dns_unbound_silent_server_gives_timeout_in_time);
	tcase_add_test(tc, dns_unbound_late_answer_after_timeout_is_ignored);
	tcase_add_test(tc, dns_unbound_cancelled_query_never_calls_back);
	tcase_add_test(tc, dns_unbound_cancel_one_of_two_same_name);
	tcase_add_test(tc, dns_unbound_free_with_pending_queries);
	tcase_add_test(tc, dns_unbound_callback_may_start_a_query);
	tcase_add_test(tc, dns_unbound_callback_may_free_the_resolver);
	tcase_add_test(tc, dns_unbound_local_data_answer_comes_from_the_loop);
	tcase_add_test(tc, dns_unbound_unsigned_answer_under_trust_anchor_is_bogus);
	if (signed_ta[0] != '\0')
		tcase_add_loop_test(tc,
		    dns_unbound_signed_answer_under_trust_anchor_is_secure, 0,
		    (int)(sizeof(secure_cases) / sizeof(secure_cases[0])));
	tcase_add_loop_test(tc, dns_unbound_config_errors_are_reported, 0,
	    (int)(sizeof(config_cases) / sizeof(config_cases[0])));
	tcase_add_test(tc, dns_unbound_recursion_and_resolv_conf_modes_set_up);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ub_server_stop(server_dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
