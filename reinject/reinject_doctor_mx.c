/*
 * reinject_doctor_mx.c - doctor check of the domain's MX (RFC 5321 §5.1):
 * replies, bounces and DMARC reports to addresses in the domain need it; a
 * null MX (RFC 7505) says the domain receives no mail at all.
 */
#include <string.h>

#include "reinject_doctor.h"

/* doctor_mx_list - "10 mx1.example, 20 mx2.example" */
static void
doctor_mx_list(const struct dns_answer *a, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->count && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%u %s", i ? ", " : "",
		    a->rr[i].pref, a->rr[i].len ? a->rr[i].data : ".");
}

/* doctor_check_mx - the domain's mail exchangers */
void
doctor_check_mx(struct doctor *d)
{
	struct dns_answer_owned a;
	char text[1024], rec[600];

	snprintf(rec, sizeof(rec), "%s. IN MX 10 mail.%s.", d->domain, d->domain);
	doctor_query(d, d->domain, DNS_TYPE_MX, &a);
	if (a.ans.rcode == DNS_RCODE_NXDOMAIN) {
		doctor_add(d, DOCTOR_FAIL, "mx", d->domain, "publish the domain", rec,
		    "the domain does not exist (NXDOMAIN)");
	} else if (a.ans.rcode != DNS_RCODE_NOERROR) {
		doctor_dns_failure(&a.ans, text, sizeof(text));
		doctor_add(d, DOCTOR_FAIL, "mx", d->domain, "check the domain's name "
		    "servers, then run again", NULL, "%s", text);
	} else if (a.ans.count == 0) {
		doctor_add(d, DOCTOR_WARN, "mx", d->domain, "publish an MX record", rec,
		    "no MX record: mail to the domain goes to its address record, if any");
	} else if (a.ans.count == 1 && (a.ans.rr[0].len == 0 ||
	    strcmp(a.ans.rr[0].data, ".") == 0)) {
		doctor_add(d, DOCTOR_WARN, "mx", d->domain, "publish a real MX if the "
		    "domain sends mail: replies, bounces and reports need one", rec,
		    "null MX (RFC 7505): the domain receives no mail");
	} else {
		doctor_mx_list(&a.ans, text, sizeof(text));
		doctor_add(d, DOCTOR_OK, "mx", d->domain, NULL, NULL, "%s", text);
	}
	dns_answer_owned_clear(&a);
}
