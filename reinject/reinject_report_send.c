/*
 * reinject_report_send.c - sending RFC 9990 aggregate reports: one pass over
 * the periods that have ended, and the master's timer that starts a pass.
 *
 * For each (policy domain, period) not yet sent: claim it in the store (one
 * claimer wins across a fleet), build the XML, take the rua= mailto
 * destinations of the last policy seen, drop those on report_ignore_mailto,
 * those whose size limit the message exceeds ("Report Delivery": a limit is
 * honoured by not sending) and external ones not confirmed by DNS (RFC 9990
 * "Verifying External Destinations"), and hand one message to report_relay.
 * Sent: marked sent.  Temporary failure: released, due again after
 * report_retry_delay doubled per attempt (at most report_retry_delay_limit),
 * given up after report_attempt_limit.  Refused for good: given up.  Each
 * outcome is logged.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "reinject.h"
#include "reinject_report.h"
#include "report.h"
#include "store.h"

/* Room for the header and the text part when a message's size is estimated. */
#define REPORT_SEND_HEADER_ALLOWANCE	4096

/* A report destination after the checks. */
struct send_dest {
	const char *to[DMARC_URI_LIMIT * 2];
	size_t nto;
	bool temp;			/* a DNS check failed for now */
	struct report_rua rua, over[DMARC_URI_LIMIT];
};

struct send_pass {
	const struct reinject_conf *c;
	struct store *st;
	struct event_base *base;
	struct dns_resolver *dns;
	int64_t now;
	bool dry_run;
	FILE *out;
	char owner[300];
	int sent, failed, retried;
};

/* reinject_report_ignored - is addr on report_ignore_mailto (address, or
 * @domain) */
bool
reinject_report_ignored(const struct reinject_conf *c, const struct report_uri *u)
{
	const struct config_list *l = &c->report.ignore_mailto;

	for (size_t i = 0; i < l->count; i++) {
		const char *e = l->items[i];

		if (strcasecmp(e, u->addr) == 0 ||
		    (e[0] == '@' && strcasecmp(e + 1, u->domain) == 0))
			return true;
	}
	return false;
}

/* send_verify - run the DNS check of one destination to its end */
static void
send_verify(struct send_pass *p, const char *domain, const char *dest,
    struct report_verify *v)
{
	report_verify_start(v, p->dns, domain, dest);
	while (!v->done && event_base_loop(p->base, EVLOOP_ONCE) == 0)
		;
	if (!v->done) {
		report_verify_cancel(v);
		v->done = true;
		v->result = REPORT_VERIFY_TEMP;
	}
}

/* send_add - one verified URI as a recipient, if its size limit allows */
static void
send_add(struct send_pass *p, struct send_dest *d, const struct report_uri *u,
    size_t size, const char *domain)
{
	if (reinject_report_ignored(p->c, u)) {
		log_info("report %s: %s is on report_ignore_mailto", domain, u->addr);
		return;
	}
	if (u->size_limit && size > u->size_limit) {
		log_warn("report %s: %zu bytes, over the limit %llu of %s: not sent there",
		    domain, size, (unsigned long long)u->size_limit, u->addr);
		return;
	}
	if (d->nto < ARRAY_LEN(d->to))
		d->to[d->nto++] = u->addr;
}

/* send_dests - the recipients of domain's report of size bytes */
static void
send_dests(struct send_pass *p, const char *domain, const char *rua, size_t size,
    struct send_dest *d)
{
	struct report_verify v;

	memset(d, 0, sizeof(*d));
	report_rua_parse(rua, strlen(rua), &d->rua);
	for (size_t i = 0; i < d->rua.n; i++) {
		const struct report_uri *u = &d->rua.uri[i];

		send_verify(p, domain, u->domain, &v);
		if (v.result == REPORT_VERIFY_TEMP) {
			d->temp = true;
			continue;
		}
		if (v.result == REPORT_VERIFY_NO) {
			log_warn("report %s: %s is not confirmed by %s._report._dmarc.%s: "
			    "not sent there", domain, u->addr, domain, u->domain);
			continue;
		}
		if (!v.has_override) {
			send_add(p, d, u, size, domain);
			continue;
		}
		d->over[i] = v.override;
		for (size_t k = 0; k < d->over[i].n; k++)
			send_add(p, d, &d->over[i].uri[k], size, domain);
	}
}

/* send_retry - a temporary failure: back off, or give up after the limit */
static void
send_retry(struct send_pass *p, const struct store_period *per, const char *why)
{
	const struct reinject_report_conf *r = &p->c->report;
	int64_t delay = r->retry_delay;

	for (int i = 0; i < per->attempts && delay < r->retry_delay_limit; i++)
		delay *= 2;
	if (delay > r->retry_delay_limit)
		delay = r->retry_delay_limit;
	if (per->attempts + 1 >= r->attempt_limit) {
		log_error("report %s %lld: given up after %d attempts: %s",
		    per->policy_domain, (long long)per->begin, per->attempts + 1, why);
		store_mark_failed(p->st, per->policy_domain, per->begin, p->now);
		p->failed++;
		return;
	}
	log_warn("report %s %lld: %s; next attempt in %llds", per->policy_domain,
	    (long long)per->begin, why, (long long)delay);
	store_release(p->st, per->policy_domain, per->begin, p->now + delay);
	p->retried++;
}

/* send_message - build the mail for d and hand it over (or print it) */
static void
send_message(struct send_pass *p, const struct store_period *per,
    const struct report_meta *m, const struct buf *xml, struct send_dest *d,
    struct buf *msg)
{
	struct report_mail rm = { m, per->policy_domain, d->to, d->nto, xml->data,
	    xml->len, (time_t)p->now };
	struct report_smtp relay = { p->c->report.relay, p->c->myhostname,
	    p->c->report.send_timeout };
	struct buf why;

	buf_reset(msg);
	if (report_mail_build(&rm, msg) < 0) {
		send_retry(p, per, "the message could not be built");
		return;
	}
	if (p->dry_run) {
		fwrite(msg->data, 1, msg->len, p->out);
		return;
	}
	buf_init(&why, 1024);
	switch (report_smtp_send(&relay, m->email, d->to, d->nto, msg->data, msg->len,
	    &why)) {
	case REPORT_SMTP_SENT:
		log_info("report %s %lld: sent to %zu recipients, %zu bytes",
		    per->policy_domain, (long long)per->begin, d->nto, msg->len);
		store_mark_sent(p->st, per->policy_domain, per->begin, p->now);
		p->sent++;
		break;
	case REPORT_SMTP_TEMPFAIL:
		send_retry(p, per, buf_cstr(&why));
		break;
	case REPORT_SMTP_PERMFAIL:
		log_error("report %s %lld: refused: %s", per->policy_domain,
		    (long long)per->begin, buf_cstr(&why));
		store_mark_failed(p->st, per->policy_domain, per->begin, p->now);
		p->failed++;
		break;
	}
	buf_clear(&why);
}

/* send_deliver - destinations for the built report, then the message */
static void
send_deliver(struct send_pass *p, const struct store_period *per,
    const struct report_meta *m, const struct buf *xml)
{
	struct store_row pol;
	struct send_dest *d = xmalloc(sizeof(*d));
	struct buf msg;

	buf_init(&msg, p->c->report.xml_size_limit * 2);
	/* the size a URI limit applies to: the message, that is the compressed
	 * report in base64 (4/3) with the headers and the text part */
	if (report_gzip(xml->data, xml->len, &msg) < 0) {
		send_retry(p, per, "the report could not be compressed");
		goto out;
	}
	send_dests(p, per->policy_domain, store_policy(p->st, per->policy_domain,
	    per->begin, per->begin + p->c->report.period, &pol) > 0 ? pol.rua : "",
	    msg.len / 3 * 4 + REPORT_SEND_HEADER_ALLOWANCE, d);
	if (d->nto)
		send_message(p, per, m, xml, d, &msg);
	else if (d->temp)
		send_retry(p, per, "a destination could not be verified (DNS)");
	else if (!p->dry_run) {
		log_info("report %s %lld: no usable destination; nothing sent",
		    per->policy_domain, (long long)per->begin);
		store_mark_sent(p->st, per->policy_domain, per->begin, p->now);
	}
out:
	buf_clear(&msg);
	free(d);
}

/* send_period - one (domain, period): claim, build, deliver */
static int
send_period(void *arg, const struct store_period *per)
{
	struct send_pass *p = arg;
	struct report_meta m;
	struct buf xml;
	char ebuf[300], rid[STORE_ID_SIZE];

	if (strcmp(per->state, "sent") == 0 || strcmp(per->state, "failed") == 0)
		return 0;
	reinject_report_meta(p->c, per->begin, &m, ebuf, sizeof(ebuf));
	report_id(rid, sizeof(rid), per->policy_domain, per->begin, m.submitter);
	if (!p->dry_run && store_claim(p->st, per->policy_domain, per->begin, m.end, rid,
	    p->owner, p->now, p->c->report.claim_timeout) != 1)
		return 0;
	buf_init(&xml, p->c->report.xml_size_limit);
	if (report_xml_build(p->st, &m, per->policy_domain, &xml) == 0)
		send_deliver(p, per, &m, &xml);
	else if (!p->dry_run) {
		log_error("report %s %lld: %s", per->policy_domain, (long long)per->begin,
		    buf_cstr(&xml));
		store_mark_failed(p->st, per->policy_domain, per->begin, p->now);
	}
	buf_clear(&xml);
	return 0;
}

/* reinject_report_send_due - one pass over the ended periods */
int
reinject_report_send_due(const struct reinject_conf *c, long long now, bool dry_run,
    FILE *out)
{
	struct send_pass p = { .c = c, .now = now, .dry_run = dry_run, .out = out };
	struct store_conf sc;
	struct buf err;
	int rc = -1;

	snprintf(p.owner, sizeof(p.owner), "%s:%ld", c->myhostname, (long)getpid());
	reinject_report_store_conf(c, &sc);
	buf_init(&err, 1024);
	if (!(p.st = store_open(&sc, &err))) {
		log_error("%s", buf_cstr(&err));
		buf_clear(&err);
		return -1;
	}
	p.base = event_base_new();
	if ((p.dns = reinject_worker_dns(p.base, c)) != NULL &&
	    store_periods(p.st, now, send_period, &p) == 0)
		rc = 0;
	if (!dry_run && rc == 0 && store_purge(p.st, now - c->report.retention) < 0)
		log_error("report store purge: %s", store_error(p.st));
	if (p.sent || p.failed || p.retried)
		log_info("reports: %d sent, %d given up, %d to retry", p.sent, p.failed,
		    p.retried);
	if (p.dns)
		dns_resolver_free(p.dns);
	event_base_free(p.base);
	store_close(p.st);
	buf_clear(&err);
	return rc;
}

/* send_fork - run pass(c, now) in a child process; the master goes on */
static void
send_fork(const struct reinject_conf *c, time_t now,
    int (*pass)(const struct reinject_conf *, long long))
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;

		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* not the listeners: once the master closes them, new
		 * connections must be refused, not wait for us */
		for (size_t i = 0; i < c->nlisteners; i++)
			if (c->listeners[i].fd >= 0)
				close(c->listeners[i].fd);
		_exit(pass(c, now) < 0 ? 1 : 0);
	}
	if (pid < 0)
		log_error("report: fork: %s", strerror(errno));
}

/* send_aggregate - the aggregate pass as send_fork runs it */
static int
send_aggregate(const struct reinject_conf *c, long long now)
{
	return reinject_report_send_due(c, now, false, NULL);
}

/* send_timer - start pass when *next is reached; seconds until the next */
static time_t
send_timer(const struct reinject_conf *c, time_t now, time_t *next, unsigned interval,
    int (*pass)(const struct reinject_conf *, long long))
{
	if (*next == 0)
		*next = now;
	if (now >= *next) {
		*next = now + (time_t)interval;
		send_fork(c, now, pass);
	}
	return *next - now > 0 ? *next - now : 1;
}

/* reinject_report_master_tick - start the aggregate and the failure report
 * passes when due; seconds until the next one (0: both off) */
unsigned
reinject_report_master_tick(const struct reinject_conf *c)
{
	static time_t next_agg, next_fail;
	time_t now = time(NULL), a = 0, f = 0;

	if (c->report.enable)
		a = send_timer(c, now, &next_agg, c->report.send_interval, send_aggregate);
	if (c->report.failure_enable)
		f = send_timer(c, now, &next_fail, c->report.failure_interval,
		    reinject_failure_send_due);
	if (!a || (f && f < a))
		a = f;
	return (unsigned)a;
}
