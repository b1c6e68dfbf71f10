/*
 * reinject_doctor.c - "reinject doctor": the command line, the resolver, the
 * order of the checks and the small DNS functions they share (a lookup waited
 * for on the loop, failures named for the administrator).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "reinject.h"
#include "reinject_doctor.h"
#include "util.h"

/* Per-query timeout of the doctor's resolver, milliseconds (--timeout). */
#define DOCTOR_TIMEOUT_MS	5000
/* Debian's dns-root-data: the root trust anchor, used when present. */
#define DOCTOR_ROOT_ANCHOR	"/usr/share/dns/root.key"

struct doctor_opts {
	const char *domain, *helo, *conf, *dns, *anchor, *mail_from_domain;
	const char *ips[DOCTOR_IP_LIMIT];
	size_t nips;
	bool json;
	unsigned timeout_ms;
};

/* doctor_init - an empty run on resolver r */
void
doctor_init(struct doctor *d, struct event_base *base, struct dns_resolver *r)
{
	memset(d, 0, sizeof(*d));
	d->base = base;
	d->r = r;
}

/* doctor_clear - release the findings and names */
void
doctor_clear(struct doctor *d)
{
	for (size_t i = 0; i < d->nf; i++) {
		free(d->f[i].check);
		free(d->f[i].subject);
		free(d->f[i].text);
		free(d->f[i].fix);
		free(d->f[i].record);
	}
	free(d->f);
	for (size_t i = 0; i < DOCTOR_IP_LIMIT; i++)
		free(d->ptr_names[i]);
	for (size_t i = 0; i < d->ndkim_domains; i++)
		free(d->dkim_domains[i]);
	d->f = NULL;
	d->nf = 0;
}

/* doctor_wait - run the loop until *done */
void
doctor_wait(struct doctor *d, const bool *done)
{
	while (!*done && d->base != NULL)
		if (event_base_loop(d->base, EVLOOP_ONCE) != 0)
			break;
}

struct doctor_q {
	struct dns_answer_owned *out;
	bool done;
};

/* doctor_query_cb - copy the answer */
static void
doctor_query_cb(void *arg, const struct dns_answer *a)
{
	struct doctor_q *q = arg;

	q->out->ans.rcode = a->rcode;
	q->out->ans.sec = a->sec;
	for (size_t i = 0; i < a->count; i++)
		dns_answer_owned_add(q->out, a->rr[i].type, a->rr[i].pref,
		    a->rr[i].data, a->rr[i].len);
	q->done = true;
}

/* doctor_query - a lookup, waited for; no answer at all is a TIMEOUT */
void
doctor_query(struct doctor *d, const char *name, enum dns_type type,
    struct dns_answer_owned *out)
{
	struct doctor_q q = { out, false };
	struct dns_query *h;

	dns_answer_owned_init(out, name, type);
	h = dns_query(d->r, name, type, doctor_query_cb, &q);
	doctor_wait(d, &q.done);
	if (!q.done) {
		if (h != NULL)
			dns_cancel(d->r, h);
		out->ans.rcode = DNS_RCODE_TIMEOUT;
	}
}

/* doctor_dns_failure - the failure named */
void
doctor_dns_failure(const struct dns_answer *a, char *out, size_t size)
{
	const char *why;

	switch (a->rcode) {
	case DNS_RCODE_NXDOMAIN:
		why = "the name does not exist (NXDOMAIN)";
		break;
	case DNS_RCODE_TIMEOUT:
		why = "no answer from the resolver in time (TIMEOUT)";
		break;
	case DNS_RCODE_SERVFAIL:
		why = a->sec == DNS_SEC_BOGUS ? "DNSSEC validation failed (bogus)" :
		    "the name servers failed to answer (SERVFAIL or REFUSED)";
		break;
	default:
		why = "no record of this type";
		break;
	}
	snprintf(out, size, "DNS lookup of %s %s failed: %s", dns_type_str(a->qtype),
	    a->qname, why);
}

/* doctor_addr_spf - the SPF mechanism for an address's family */
const char *
doctor_addr_spf(const struct iprev_addr *a)
{
	return a->family == AF_INET ? "ip4" : "ip6";
}

/* doctor_addr_rrtype - the address record type for an address's family */
const char *
doctor_addr_rrtype(const struct iprev_addr *a)
{
	return a->family == AF_INET ? "A" : "AAAA";
}

/* doctor_run - every check */
enum doctor_level
doctor_run(struct doctor *d)
{
	doctor_check_fcrdns(d);
	doctor_check_helo(d);
	doctor_check_spf(d);
	doctor_check_dkim(d);
	doctor_check_dmarc(d);
	doctor_check_mx(d);
	return doctor_worst(d);
}

#define DOCTOR_USAGE \
	"usage: reinject doctor --domain D --ip A [--ip A2 ...] " \
	"[--helo NAME] [--mail-from-domain D2] [-c reinject.conf] [--dns addr@port] " \
	"[--trust-anchor file|none] [--timeout ms] [--json]\n" \
	"exit status: 0 ok, 1 warnings, 2 failures, 64 usage, 69 resolver\n" \
	"  unavailable, 78 configuration error\n"

/* doctor_usage - synopsis on stderr */
static int
doctor_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "reinject doctor: %s\n", why);
	fputs(DOCTOR_USAGE, stderr);
	return DOCTOR_EXIT_USAGE;
}

/* doctor_parse_opt - one option into o; 0, or an exit status */
static int
doctor_parse_opt(int c, struct doctor_opts *o)
{
	char *end;

	switch (c) {
	case 'd': o->domain = optarg; return 0;
	case 'i':
		if (o->nips == DOCTOR_IP_LIMIT)
			return doctor_usage("too many --ip");
		o->ips[o->nips++] = optarg;
		return 0;
	case 'H': o->helo = optarg; return 0;
	case 'm': o->mail_from_domain = optarg; return 0;
	case 'c': o->conf = optarg; return 0;
	case 'n': o->dns = optarg; return 0;
	case 'a': o->anchor = strcmp(optarg, "none") ? optarg : NULL; return 0;
	case 'j': o->json = true; return 0;
	case 'T':
		errno = 0;
		o->timeout_ms = (unsigned)strtoul(optarg, &end, 10);
		if (errno || *end || o->timeout_ms == 0)
			return doctor_usage("--timeout takes milliseconds");
		return 0;
	default:
		return doctor_usage(NULL);
	}
}

/* doctor_parse - the command line */
static int
doctor_parse(int argc, char **argv, struct doctor_opts *o)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'H' },
		{ "mail-from-domain", required_argument, NULL, 'm' },
		{ "dns", required_argument, NULL, 'n' },
		{ "trust-anchor", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	*o = (struct doctor_opts){ .timeout_ms = DOCTOR_TIMEOUT_MS };
	if (access(DOCTOR_ROOT_ANCHOR, R_OK) == 0)
		o->anchor = DOCTOR_ROOT_ANCHOR;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		if ((rc = doctor_parse_opt(c, o)) != 0)
			return rc;
	if (optind != argc)
		return doctor_usage("unexpected arguments");
	if (o->domain == NULL || o->nips == 0)
		return doctor_usage("--domain and at least one --ip are required");
	return 0;
}

/* doctor_setup - addresses and names into d; 0, or an exit status */
static int
doctor_setup(struct doctor *d, const struct doctor_opts *o)
{
	d->domain = o->domain;
	d->helo = o->helo;
	d->mail_from_domain = o->mail_from_domain ? o->mail_from_domain : o->domain;
	for (size_t i = 0; i < o->nips; i++)
		if (iprev_addr_parse(o->ips[i], strlen(o->ips[i]), &d->ips[d->nips++]) < 0) {
			fprintf(stderr, "reinject doctor: --ip %s: not an IPv4 or IPv6 "
			    "address\n", o->ips[i]);
			return DOCTOR_EXIT_USAGE;
		}
	return 0;
}

/* doctor_load_conf - the signing configuration, when -c was given */
static int
doctor_load_conf(const char *path, struct reinject_conf *c)
{
	struct buf err;
	int rc;

	buf_init(&err, 4096);
	rc = reinject_conf_load(c, path, &err);
	if (rc < 0)
		fprintf(stderr, "reinject doctor: %s", buf_cstr(&err));
	buf_clear(&err);
	return rc;
}

/*
 * doctor_resolver - libunbound on base: --dns, else the configuration's
 * dns_forwarders or dns_resolv_conf (what reinject itself would ask), else
 * /etc/resolv.conf; NULL on error
 */
static struct dns_resolver *
doctor_resolver(struct event_base *base, const struct doctor_opts *o,
    const struct reinject_conf *c)
{
	struct dns_unbound_config cfg = { 0 };
	const char *fwd[2] = { o->dns, NULL };
	const char *err = NULL;
	struct dns_resolver *r;

	cfg.forwarders = o->dns ? fwd : NULL;
	if (o->dns == NULL && c != NULL && c->dns_forwarders.count > 0)
		cfg.forwarders = (const char *const *)c->dns_forwarders.items;
	if (o->dns == NULL && c != NULL && c->dns_resolv_conf[0])
		cfg.resolv_conf = c->dns_resolv_conf;
	cfg.trust_anchor_file = o->anchor;
	cfg.timeout_ms = o->timeout_ms;
	if ((r = dns_unbound_new(base, &cfg, &err)) == NULL)
		fprintf(stderr, "reinject doctor: resolver: %s\n", err ? err : "?");
	return r;
}

/* doctor_go - with the options parsed: set up, check, report */
static int
doctor_go(const struct doctor_opts *o, struct reinject_conf *conf, bool have_conf)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *r;
	struct doctor d;
	int rc;

	if (base == NULL || (r = doctor_resolver(base, o, have_conf ? conf : NULL)) == NULL) {
		if (base)
			event_base_free(base);
		return DOCTOR_EXIT_UNAVAILABLE;
	}
	doctor_init(&d, base, r);
	d.conf = have_conf ? conf : NULL;
	if ((rc = doctor_setup(&d, o)) == 0) {
		rc = (int)doctor_run(&d);
		if (o->json)
			doctor_report_json(&d, stdout);
		else
			doctor_report_text(&d, stdout);
	}
	doctor_clear(&d);
	dns_resolver_free(r);
	event_base_free(base);
	return rc;
}

/* reinject_doctor_main - the "doctor" subcommand */
int
reinject_doctor_main(int argc, char **argv)
{
	struct doctor_opts o;
	struct reinject_conf conf;
	int rc;

	if ((rc = cli_std(argc, argv, "reinject doctor", DOCTOR_USAGE)) >= 0)
		return rc;
	if ((rc = doctor_parse(argc, argv, &o)) != 0)
		return rc;
	memset(&conf, 0, sizeof(conf));
	if (o.conf != NULL && doctor_load_conf(o.conf, &conf) < 0) {
		reinject_conf_free(&conf);
		return DOCTOR_EXIT_CONFIG;
	}
	rc = doctor_go(&o, &conf, o.conf != NULL);
	if (o.conf != NULL)
		reinject_conf_free(&conf);
	return rc;
}
