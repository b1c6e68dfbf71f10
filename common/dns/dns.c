/*
 * dns.c - resolver interface dispatch and answer helpers.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns.h"
#include "util.h"

/* dns_query - start a lookup (see the contract in dns.h) */
struct dns_query *
dns_query(struct dns_resolver *r, const char *name, enum dns_type type,
    dns_callback cb, void *arg)
{
	r->queries++;
	return r->ops->query(r, name, type, cb, arg);
}

/* dns_cancel - stop a pending lookup; its callback will not run */
void
dns_cancel(struct dns_resolver *r, struct dns_query *q)
{
	if (q != NULL)
		r->ops->cancel(r, q);
}

/* dns_resolver_free - destroy a resolver */
void
dns_resolver_free(struct dns_resolver *r)
{
	if (r != NULL)
		r->ops->free(r);
}

static dns_observer dns_observer_fn;
static void *dns_observer_arg;

/* dns_set_observer - who gets each finished lookup's time */
void
dns_set_observer(dns_observer fn, void *arg)
{
	dns_observer_fn = fn;
	dns_observer_arg = arg;
}

/* dns_clock - monotonic seconds */
double
dns_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* dns_observe - a finished lookup for the observer, if any */
void
dns_observe(double started, enum dns_rcode rc)
{
	if (dns_observer_fn != NULL)
		dns_observer_fn(dns_observer_arg, dns_clock() - started,
		    rc == DNS_RCODE_TIMEOUT);
}

static const struct {
	enum dns_type type;
	const char *name;
} dns_type_names[] = {
	{ DNS_TYPE_A, "A" },
	{ DNS_TYPE_PTR, "PTR" },
	{ DNS_TYPE_MX, "MX" },
	{ DNS_TYPE_TXT, "TXT" },
	{ DNS_TYPE_AAAA, "AAAA" },
	{ DNS_TYPE_SPF, "SPF" },
};

/* dns_type_str - type mnemonic */
const char *
dns_type_str(enum dns_type t)
{
	for (size_t i = 0; i < ARRAY_LEN(dns_type_names); i++)
		if (dns_type_names[i].type == t)
			return dns_type_names[i].name;
	return "TYPE?";
}

/* dns_rcode_str - rcode name */
const char *
dns_rcode_str(enum dns_rcode rc)
{
	switch (rc) {
	case DNS_RCODE_NOERROR:
		return "NOERROR";
	case DNS_RCODE_NXDOMAIN:
		return "NXDOMAIN";
	case DNS_RCODE_SERVFAIL:
		return "SERVFAIL";
	case DNS_RCODE_TIMEOUT:
		return "TIMEOUT";
	}
	return "?";
}

/* dns_sec_str - DNSSEC status name */
const char *
dns_sec_str(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_BOGUS:
		return "bogus";
	case DNS_SEC_INSECURE:
		break;
	}
	return "insecure";
}

/* dns_answer_owned_init - empty answer for qname/qtype */
void
dns_answer_owned_init(struct dns_answer_owned *o, const char *qname,
    enum dns_type qtype)
{
	memset(o, 0, sizeof(*o));
	o->ans.qname = qname;
	o->ans.qtype = qtype;
	o->ans.rcode = DNS_RCODE_NOERROR;
	o->ans.sec = DNS_SEC_INSECURE;
}

/* dns_answer_owned_add - append a copy of a record */
void
dns_answer_owned_add(struct dns_answer_owned *o, enum dns_type type,
    uint16_t pref, const void *data, size_t len)
{
	struct dns_rr *rr;

	if (o->ans.count == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 4;
		o->rrs = xrealloc(o->rrs, o->cap * sizeof(*o->rrs));
	}
	rr = &o->rrs[o->ans.count++];
	rr->type = type;
	rr->pref = pref;
	rr->len = len;
	rr->data = xmemdup0(data, len);
	o->ans.rr = o->rrs;
}

/*
 * dns_answer_owned_set_bogus - what a validating resolver answers for data
 * that fails validation (RFC 4035 §5.5): SERVFAIL, no records, why kept
 */
void
dns_answer_owned_set_bogus(struct dns_answer_owned *o, const char *why)
{
	dns_answer_owned_clear(o);
	o->ans.rcode = DNS_RCODE_SERVFAIL;
	o->ans.sec = DNS_SEC_BOGUS;
	o->ans.why_bogus = why;
}

/* dns_answer_owned_clear - free the copies */
void
dns_answer_owned_clear(struct dns_answer_owned *o)
{
	for (size_t i = 0; i < o->ans.count; i++)
		free((void *)o->rrs[i].data);
	free(o->rrs);
	o->rrs = NULL;
	o->ans.rr = NULL;
	o->ans.count = 0;
	o->cap = 0;
}
