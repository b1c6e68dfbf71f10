/*
 * iprev_eval.c - asynchronous iprev evaluation (RFC 8601 §3, §2.7.3).
 *
 * A state machine of small steps: the PTR lookup of the address, then one
 * A or AAAA lookup per PTR name, at most the name limit, stopping at the
 * first name that resolves back to the address.  One run loop advances the
 * steps; an answer delivered before dns_query() returns only records its
 * consequences, so a synchronous resolver never recurses.
 *
 * Results (RFC 8601 §3): pass when a name is confirmed; permerror when no
 * PTR is published (NXDOMAIN or an empty answer: §2.7.3 names this case
 * permerror); temperror when the PTR lookup failed, or no name was confirmed
 * and a forward lookup failed; fail otherwise.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "iprev.h"
#include "util.h"

/* Longest reason kept for a verdict. */
#define IPREV_REASON_MAX	512
/* PTR names quoted in a fail reason. */
#define IPREV_REASON_NAMES	3

struct iprev_eval;
typedef void (*iprev_step_fn)(struct iprev_eval *e);
typedef void (*iprev_answer_fn)(struct iprev_eval *e, const struct dns_answer *a);

struct iprev_eval {
	struct dns_resolver *r;
	struct iprev_addr addr;
	char text[IPREV_ADDR_TEXT_SIZE];
	unsigned limit;
	iprev_callback cb;
	void *cbarg;
	struct dns_query *q;
	iprev_step_fn step;
	iprev_answer_fn on_answer;
	bool waiting, running, finished, delivering;
	char **names;
	size_t nnames, total, next;
	const char *confirmed;
	bool temp;		/* a forward lookup failed */
	enum iprev_result result;
	struct buf reason;
	unsigned lookups;
	enum dns_sec sec;
};

static void iprev_next_name(struct iprev_eval *e);
static bool iprev_run(struct iprev_eval *e);

/* iprev_finish - set the verdict and stop the machine */
static void __attribute__((format(printf, 3, 4)))
iprev_finish(struct iprev_eval *e, enum iprev_result result, const char *fmt, ...)
{
	va_list ap;

	e->result = result;
	buf_reset(&e->reason);
	va_start(ap, fmt);
	buf_vprintf(&e->reason, fmt, ap);
	va_end(ap);
	e->finished = true;
}

/* iprev_dns_cb - an answer arrived: hand it to the parked handler */
static void
iprev_dns_cb(void *arg, const struct dns_answer *a)
{
	struct iprev_eval *e = arg;

	e->q = NULL;
	e->waiting = false;
	e->on_answer(e, a);
	if (!e->running)
		iprev_run(e);
}

/* iprev_query - start a lookup; on_answer runs with its answer */
static void
iprev_query(struct iprev_eval *e, const char *name, enum dns_type type,
    iprev_answer_fn on_answer)
{
	struct dns_query *q;

	e->lookups++;
	e->on_answer = on_answer;
	e->waiting = true;
	q = dns_query(e->r, name, type, iprev_dns_cb, e);
	if (e->waiting)
		e->q = q;
}

/* iprev_is_temp - an rcode that says nothing about the data */
static bool
iprev_is_temp(enum dns_rcode rc)
{
	return rc == DNS_RCODE_SERVFAIL || rc == DNS_RCODE_TIMEOUT;
}

/* iprev_has_addr - does the A/AAAA answer hold the address? */
static bool
iprev_has_addr(const struct iprev_eval *e, const struct dns_answer *a)
{
	size_t n = e->addr.family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len == n && memcmp(a->rr[i].data, e->addr.b, n) == 0)
			return true;
	return false;
}

/* iprev_addr_answer - one name's addresses */
static void
iprev_addr_answer(struct iprev_eval *e, const struct dns_answer *a)
{
	const char *name = e->names[e->next - 1];

	if (a->rcode == DNS_RCODE_NOERROR && iprev_has_addr(e, a)) {
		e->confirmed = name;
		iprev_finish(e, IPREV_RESULT_PASS, "%s -> %s -> %s", e->text, name, e->text);
		return;
	}
	if (iprev_is_temp(a->rcode))
		e->temp = true;
	e->step = iprev_next_name;
}

/* iprev_names_shown - "a.example, b.example" for a reason */
static void
iprev_names_shown(const struct iprev_eval *e, struct buf *b)
{
	for (size_t i = 0; i < e->nnames && i < IPREV_REASON_NAMES; i++)
		buf_printf(b, "%s%s", i > 0 ? ", " : "",
		    iprev_name_ok(e->names[i], strlen(e->names[i])) ?
		    e->names[i] : "(not a host name)");
	if (e->nnames > IPREV_REASON_NAMES)
		buf_append_str(b, ", ...");
}

/* iprev_no_match - every name checked, none confirmed */
static void
iprev_no_match(struct iprev_eval *e)
{
	struct buf shown;
	const char *type = e->addr.family == AF_INET ? "A" : "AAAA";

	buf_init(&shown, IPREV_REASON_MAX);
	iprev_names_shown(e, &shown);
	if (e->temp)
		iprev_finish(e, IPREV_RESULT_TEMPERROR,
		    "%s lookup of a PTR name of %s failed (%s)", type, e->text,
		    buf_cstr(&shown));
	else if (e->total > e->nnames)
		iprev_finish(e, IPREV_RESULT_FAIL,
		    "no %s record of the first %zu of %zu PTR names of %s is %s (%s)",
		    type, e->nnames, e->total, e->text, e->text, buf_cstr(&shown));
	else
		iprev_finish(e, IPREV_RESULT_FAIL,
		    "no %s record of the PTR names of %s is %s (%s)",
		    type, e->text, e->text, buf_cstr(&shown));
	buf_clear(&shown);
}

/* iprev_next_name - look up the next PTR name, or conclude */
static void
iprev_next_name(struct iprev_eval *e)
{
	const char *name;

	if (e->next >= e->nnames) {
		iprev_no_match(e);
		return;
	}
	name = e->names[e->next++];
	if (!iprev_name_ok(name, strlen(name))) {
		e->step = iprev_next_name;
		return;
	}
	iprev_query(e, name, e->addr.family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA,
	    iprev_addr_answer);
}

/* iprev_ptr_answer - the PTR names of the address */
static void
iprev_ptr_answer(struct iprev_eval *e, const struct dns_answer *a)
{
	e->sec = a->sec;
	if (iprev_is_temp(a->rcode)) {
		iprev_finish(e, IPREV_RESULT_TEMPERROR, "PTR lookup of %s: %s",
		    e->text, dns_rcode_str(a->rcode));
		return;
	}
	if (a->rcode == DNS_RCODE_NXDOMAIN || a->count == 0) {
		iprev_finish(e, IPREV_RESULT_PERMERROR, "no PTR record for %s", e->text);
		return;
	}
	e->total = a->count;
	e->nnames = a->count < e->limit ? a->count : e->limit;
	e->names = xcalloc(e->nnames, sizeof(*e->names));
	for (size_t i = 0; i < e->nnames; i++)
		e->names[i] = xmemdup0(a->rr[i].data, a->rr[i].len);
	e->step = iprev_next_name;
}

/* iprev_ptr_query - the first step */
static void
iprev_ptr_query(struct iprev_eval *e)
{
	char rname[IPREV_REVERSE_NAME_SIZE];

	if (iprev_reverse_name(&e->addr, rname, sizeof(rname)) < 0) {
		iprev_finish(e, IPREV_RESULT_PERMERROR, "not an IPv4 or IPv6 address");
		return;
	}
	iprev_query(e, rname, DNS_TYPE_PTR, iprev_ptr_answer);
}

/* iprev_free - cancel what is outstanding and release everything */
static void
iprev_free(struct iprev_eval *e)
{
	if (e->q != NULL)
		dns_cancel(e->r, e->q);
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	buf_clear(&e->reason);
	free(e);
}

/* iprev_deliver - hand the verdict to the caller */
static void
iprev_deliver(struct iprev_eval *e)
{
	struct iprev_verdict v;

	memset(&v, 0, sizeof(v));
	v.result = e->result;
	v.addr = e->text;
	v.name = e->confirmed;
	v.reason = buf_cstr(&e->reason);
	v.names = (const char *const *)e->names;
	v.nnames = e->nnames;
	v.names_total = e->total;
	v.lookups = e->lookups;
	v.sec = e->sec;
	e->delivering = true;
	e->cb(e->cbarg, &v);
}

/* iprev_run - advance the machine; true when it ended and was freed */
static bool
iprev_run(struct iprev_eval *e)
{
	if (e->running)
		return false;
	e->running = true;
	while (!e->waiting && !e->finished)
		e->step(e);
	e->running = false;
	if (!e->finished)
		return false;
	iprev_deliver(e);
	iprev_free(e);
	return true;
}

/* iprev_eval_start - begin an evaluation */
struct iprev_eval *
iprev_eval_start(struct dns_resolver *r, const struct iprev_addr *addr,
    unsigned name_limit, iprev_callback cb, void *arg)
{
	struct iprev_eval *e = xcalloc(1, sizeof(*e));

	e->r = r;
	e->addr = *addr;
	e->limit = name_limit > 0 ? name_limit : IPREV_NAME_LIMIT;
	e->cb = cb;
	e->cbarg = arg;
	e->sec = DNS_SEC_INSECURE;
	buf_init(&e->reason, IPREV_REASON_MAX);
	iprev_addr_text(addr, e->text, sizeof(e->text));
	e->step = iprev_ptr_query;
	return iprev_run(e) ? NULL : e;
}

/* iprev_eval_cancel - abandon an evaluation */
void
iprev_eval_cancel(struct iprev_eval *e)
{
	if (e == NULL || e->delivering)
		return;
	iprev_free(e);
}
