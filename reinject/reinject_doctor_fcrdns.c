/*
 * reinject_doctor_fcrdns.c - doctor checks of the sending host's names:
 * forward-confirmed reverse DNS of each outbound address (the iprev method
 * of RFC 8601 §3, common/iprev) and the HELO name's own A/AAAA records
 * (RFC 5321 §4.1.4: the EHLO argument is the host's name), which receivers
 * compare with the address and its PTR name.
 */
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "reinject_doctor.h"
#include "util.h"

struct doctor_fcrdns_st {
	bool done;
	enum iprev_result result;
	char reason[512];
	char name[256];		/* confirmed name */
	char first[256];	/* first PTR name that is a host name */
};

/* doctor_fcrdns_cb - keep the verdict */
static void
doctor_fcrdns_cb(void *arg, const struct iprev_verdict *v)
{
	struct doctor_fcrdns_st *st = arg;

	st->result = v->result;
	snprintf(st->reason, sizeof(st->reason), "%s", v->reason);
	snprintf(st->name, sizeof(st->name), "%s", v->name ? v->name : "");
	for (size_t i = 0; i < v->nnames && !st->first[0]; i++)
		if (iprev_name_ok(v->names[i], strlen(v->names[i])))
			snprintf(st->first, sizeof(st->first), "%s", v->names[i]);
	st->done = true;
}

/* doctor_fcrdns_suggest - the name a PTR should carry: the HELO name, or mail.DOMAIN */
static void
doctor_fcrdns_suggest(const struct doctor *d, char *out, size_t size)
{
	if (d->helo != NULL)
		snprintf(out, size, "%s", d->helo);
	else
		snprintf(out, size, "mail.%s", d->domain);
}

/* doctor_fcrdns_report - the finding for one address */
static void
doctor_fcrdns_report(struct doctor *d, size_t i, const struct doctor_fcrdns_st *st,
    const char *text)
{
	const struct iprev_addr *a = &d->ips[i];
	char rname[IPREV_REVERSE_NAME_SIZE], want[256], rec[600];

	iprev_reverse_name(a, rname, sizeof(rname));
	doctor_fcrdns_suggest(d, want, sizeof(want));
	switch (st->result) {
	case IPREV_RESULT_PASS:
		doctor_add(d, DOCTOR_OK, "fcrdns", text, NULL, NULL, "%s", st->reason);
		d->ptr_names[i] = xstrdup(st->name);
		break;
	case IPREV_RESULT_PERMERROR:
		snprintf(rec, sizeof(rec), "%s. IN PTR %s.", rname, want);
		doctor_add(d, DOCTOR_FAIL, "fcrdns", text, "ask whoever holds the address "
		    "(hosting or network provider) to publish a PTR record naming this "
		    "server; many receivers refuse mail without one", rec, "%s", st->reason);
		break;
	case IPREV_RESULT_FAIL:
		snprintf(rec, sizeof(rec), "%s. IN %s %s", st->first[0] ? st->first : want,
		    doctor_addr_rrtype(a), text);
		doctor_add(d, DOCTOR_FAIL, "fcrdns", text, "the PTR name must resolve back "
		    "to the address: publish its address record, or change the PTR",
		    rec, "PTR not forward-confirmed: %s", st->reason);
		break;
	default:
		doctor_add(d, DOCTOR_FAIL, "fcrdns", text, "check the reverse zone's name "
		    "servers, then run again", NULL, "DNS failure: %s", st->reason);
		break;
	}
}

/* doctor_check_fcrdns - PTR -> name -> A/AAAA back to each address */
void
doctor_check_fcrdns(struct doctor *d)
{
	for (size_t i = 0; i < d->nips; i++) {
		struct doctor_fcrdns_st st = { 0 };
		struct iprev_eval *e;
		char text[IPREV_ADDR_TEXT_SIZE];

		iprev_addr_text(&d->ips[i], text, sizeof(text));
		e = iprev_eval_start(d->r, &d->ips[i], 0, doctor_fcrdns_cb, &st);
		doctor_wait(d, &st.done);
		if (!st.done) {
			iprev_eval_cancel(e);
			st.result = IPREV_RESULT_TEMPERROR;
			snprintf(st.reason, sizeof(st.reason), "no answer from the resolver");
		}
		doctor_fcrdns_report(d, i, &st, text);
	}
}

/* doctor_helo_has - does the answer hold the address? */
static bool
doctor_helo_has(const struct dns_answer *a, const struct iprev_addr *ip)
{
	size_t n = ip->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len == n && memcmp(a->rr[i].data, ip->b, n) == 0)
			return true;
	return false;
}

/* doctor_helo_address - one address against the HELO name's records of its family */
static void
doctor_helo_address(struct doctor *d, size_t i, const struct dns_answer *a)
{
	char text[IPREV_ADDR_TEXT_SIZE], rec[600], why[600];

	iprev_addr_text(&d->ips[i], text, sizeof(text));
	if (a->rcode != DNS_RCODE_NOERROR && a->rcode != DNS_RCODE_NXDOMAIN) {
		doctor_dns_failure(a, why, sizeof(why));
		doctor_add(d, DOCTOR_FAIL, "helo", d->helo, NULL, NULL, "%s", why);
		return;
	}
	snprintf(rec, sizeof(rec), "%s. IN %s %s", d->helo, doctor_addr_rrtype(&d->ips[i]), text);
	if (!doctor_helo_has(a, &d->ips[i]))
		doctor_add(d, DOCTOR_WARN, "helo", d->helo, "give the HELO name an address "
		    "record for the address it sends from", rec, "%s %s does not include %s",
		    a->rcode == DNS_RCODE_NXDOMAIN ? "the name does not exist:" : "its",
		    doctor_addr_rrtype(&d->ips[i]), text);
	else if (d->ptr_names[i] && strcasecmp(d->ptr_names[i], d->helo) != 0)
		doctor_add(d, DOCTOR_WARN, "helo", d->helo, "use one name for the PTR "
		    "record and HELO; some receivers compare them", NULL,
		    "resolves to %s, but the PTR name of %s is %s", text, text, d->ptr_names[i]);
	else
		doctor_add(d, DOCTOR_OK, "helo", d->helo, NULL, NULL, "resolves to %s%s",
		    text, d->ptr_names[i] ? ", its PTR name" : "");
}

/* doctor_check_helo - the HELO name's A/AAAA against each address */
void
doctor_check_helo(struct doctor *d)
{
	struct dns_answer_owned a4, a6;

	if (d->helo == NULL) {
		doctor_add(d, DOCTOR_WARN, "helo", "(none)", "give --helo NAME, the name "
		    "the server sends in EHLO (Postfix smtp_helo_name)", NULL,
		    "no HELO name given: not checked");
		return;
	}
	doctor_query(d, d->helo, DNS_TYPE_A, &a4);
	doctor_query(d, d->helo, DNS_TYPE_AAAA, &a6);
	for (size_t i = 0; i < d->nips; i++)
		doctor_helo_address(d, i, d->ips[i].family == AF_INET ? &a4.ans : &a6.ans);
	dns_answer_owned_clear(&a4);
	dns_answer_owned_clear(&a6);
}
