/*
 * policyd_query.c - "policyd query": one SPF evaluation for an administrator,
 * like spfquery.  Prints each DNS lookup made (spf_request.trace), the result,
 * the reason and the explanation; the exit code tells
 * the result (policyd(8), EXIT STATUS).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "cli.h"
#include "log.h"
#include "policyd.h"
#include "util.h"

/* Exit codes of query mode, one per result (RFC 7208 §2.6), and errors. */
static const int policyd_query_exit[] = {
	[SPF_RESULT_PASS] = 0, [SPF_RESULT_FAIL] = 1, [SPF_RESULT_SOFTFAIL] = 2,
	[SPF_RESULT_NEUTRAL] = 3, [SPF_RESULT_NONE] = 4, [SPF_RESULT_PERMERROR] = 5,
	[SPF_RESULT_TEMPERROR] = 6,
};
#define POLICYD_QUERY_EX_USAGE	EX_USAGE
#define POLICYD_QUERY_EX_CONFIG	EX_CONFIG
#define POLICYD_QUERY_USAGE \
	"usage: policyd query --ip addr [--sender addr] [--helo name] " \
	"[--identity helo|mailfrom] [--dns addr@port] [-c config]\n" \
	"exit status: 0 pass, 1 fail, 2 softfail, 3 neutral, 4 none, 5 permerror,\n" \
	"  6 temperror, 64 usage, 69 resolver unavailable, 78 configuration error\n"

struct policyd_query {
	const char *ip, *sender, *helo, *dns, *config;
	bool helo_identity;
	bool recursive;		/* no forwarder: test., invalid., home.arpa. stay local */
	struct event_base *base;
	int status;
};

/* policyd_query_under - is name (with or without its final dot) in zone ("x.") */
static bool
policyd_query_under(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (n > 0 && name[n - 1] == '.')
		n--;
	z--;	/* zone without its final dot */
	return (n == z || (n > z && name[n - z - 1] == '.')) &&
	    strncasecmp(name + n - z, zone, z) == 0;
}

/*
 * policyd_query_local - a name libunbound answers itself, never sending the
 * query: localhost. and onion. (RFC 6761, RFC 7686) always; test., invalid.
 * and home.arpa. unless there is a forwarder (dns_unbound.c sends those to it)
 */
static bool
policyd_query_local(const struct policyd_query *q, const char *name)
{
	static const char *const always[] = { "localhost.", "onion." };
	static const char *const unforwarded[] = { "test.", "invalid.", "home.arpa." };

	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (policyd_query_under(name, always[i]))
			return true;
	for (size_t i = 0; q->recursive && i < sizeof(unforwarded) / sizeof(unforwarded[0]); i++)
		if (policyd_query_under(name, unforwarded[i]))
			return true;
	return false;
}

/* policyd_query_trace - one line per DNS query the engine made; "local:" for
 * the answers the resolver made up itself, which no server saw */
static void
policyd_query_trace(void *arg, const char *name, enum dns_type type,
    enum dns_rcode rcode, size_t count)
{
	const struct policyd_query *q = arg;
	bool local = policyd_query_local(q, name);

	printf("%s: %s %s: %s, %zu record%s%s\n", local ? "local" : "lookup",
	    dns_type_str(type), name, dns_rcode_str(rcode), count, count == 1 ? "" : "s",
	    local ? " (answered by the resolver itself, not sent)" : "");
}

/* policyd_query_done - print the verdict */
static void
policyd_query_done(void *arg, const struct spf_verdict *v)
{
	struct policyd_query *q = arg;

	printf("identity: %s\n", v->identity == SPF_IDENTITY_HELO ? "helo" : "mailfrom");
	printf("domain: %s\n", v->domain ? v->domain : "");
	printf("result: %s\n", spf_result_str(v->result));
	printf("reason: %s\n", v->reason ? v->reason : "");
	if (v->mechanism)
		printf("mechanism: %s\n", v->mechanism);
	if (v->explanation)
		printf("explanation: %s\n", v->explanation);
	printf("lookups: %u (void: %u)\n", v->lookups, v->void_lookups);
	q->status = (size_t)v->result < ARRAY_LEN(policyd_query_exit) ?
	    policyd_query_exit[v->result] : POLICYD_QUERY_EX_CONFIG;
	if (q->base)
		event_base_loopbreak(q->base);
}

/* policyd_query_args - long options into q; false on a usage error */
static bool
policyd_query_args(int argc, char **argv, struct policyd_query *q)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "sender", required_argument, NULL, 's' },
		{ "helo", required_argument, NULL, 'h' },
		{ "dns", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "identity", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': q->ip = optarg; break;
		case 's': q->sender = optarg; break;
		case 'h': q->helo = optarg; break;
		case 'd': q->dns = optarg; break;
		case 'c': q->config = optarg; break;
		case 'I':
			if (strcmp(optarg, "helo") != 0 && strcmp(optarg, "mailfrom") != 0)
				return false;
			q->helo_identity = strcmp(optarg, "helo") == 0;
			break;
		default: return false;
		}
	}
	if (optind != argc || q->ip == NULL || (q->sender == NULL && q->helo == NULL))
		return false;
	/* no sender: the HELO identity, as pypolicyd-spf checks it */
	if (q->sender == NULL)
		q->helo_identity = true;
	return true;
}

/* policyd_query_request - the SPF request from the arguments */
static bool
policyd_query_request(const struct policyd_query *q, const struct policyd_config *c,
    struct spf_request *req)
{
	int family;
	unsigned char addr[16];

	memset(req, 0, sizeof(*req));
	if (!policyd_cidr_addr_parse(q->ip, &family, addr))
		return false;
	req->client.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)&req->client)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&req->client)->sin6_addr, addr, 16);
	req->helo = q->helo ? q->helo : "";
	req->mail_from = q->sender ? q->sender : "";
	req->identity = q->helo_identity ? SPF_IDENTITY_HELO : SPF_IDENTITY_MAILFROM;
	req->receiver = policyd_config_receiver(c);
	req->trace = policyd_query_trace;
	req->trace_arg = (void *)q;
	return true;
}

/* policyd_query_main - "policyd query ..." */
int
policyd_query_main(int argc, char **argv)
{
	struct policyd_query q = { .status = POLICYD_QUERY_EX_CONFIG };
	struct policyd_config *c;
	struct spf_request req;
	struct spf_limits lim;
	struct dns_resolver *dns;
	struct buf err;

	int rc;

	log_open("policyd query", LOG_DEST_STDERR);
	if ((rc = cli_std(argc, argv, "policyd query", POLICYD_QUERY_USAGE)) >= 0)
		return rc;
	if (!policyd_query_args(argc, argv, &q))
		return cli_usage(POLICYD_QUERY_USAGE);
	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(q.config, POLICYD_FORMAT_AUTO, NULL, &err);
	if (c == NULL) {
		fprintf(stderr, "%s", buf_cstr(&err));
		buf_clear(&err);
		return POLICYD_QUERY_EX_CONFIG;
	}
	buf_clear(&err);
	if (!policyd_query_request(&q, c, &req)) {
		fprintf(stderr, "policyd query: bad address %s\n", q.ip);
		policyd_config_unref(c);
		return POLICYD_QUERY_EX_USAGE;
	}
	q.recursive = q.dns == NULL && c->dns_forwarders.count == 0 &&
	    (c->dns_resolv_conf == NULL || !c->dns_resolv_conf[0]);
	spf_limits_default(&lim);
	lim.void_limit = (unsigned)c->spf_void_limit;
	lim.total_lookup_limit = (unsigned)c->spf_lookup_limit;
	lim.eval_timeout_ms = c->spf_lookup_timeout * 1000;
	q.base = event_base_new();
	dns = policyd_dns_new(q.base, c, q.dns);
	if (dns == NULL)
		q.status = EX_UNAVAILABLE;
	if (dns != NULL) {
		if (spf_eval_start(dns, q.base, &lim, &req, policyd_query_done, &q) != NULL)
			event_base_dispatch(q.base);
		dns_resolver_free(dns);
	}
	event_base_free(q.base);
	policyd_config_unref(c);
	return q.status;
}
