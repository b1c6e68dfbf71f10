/*
 * dmarc_policy.c - from a record to a disposition: the Domain Owner Assessment
 * Policy (RFC 9989 "DMARC Policy Discovery": p, sp, np), testing mode t=y ("General Record Format", t, one level
 * down, as RFC 7489 pct=0 did, "Removal of the pct tag"), the legacy RFC 7489 §6.6.4 pct sampling,
 * local overrides (RFC 9990 §3 PolicyOverrideType) and the names of the enums.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"
#include "netaddr.h"

/* dmarc_settings_default - the defaults documented in reinject.conf(5) */
void
dmarc_settings_default(struct dmarc_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->from_error_disposition = DMARC_DIS_REJECT;
	s->temperror_on_dns_failure = true;
}

/* dmarc_policy_select - the assessment policy for the Author Domain ("DMARC Policy Discovery") */
enum dmarc_policy
dmarc_policy_select(const struct dmarc_record *rec, enum dmarc_source src,
    bool author_nonexistent)
{
	if (rec == NULL || !rec->has_policy)
		return DMARC_POLICY_UNSET;
	if (src == DMARC_SOURCE_AUTHOR)
		return rec->p;
	if (author_nonexistent && rec->np != DMARC_POLICY_UNSET)
		return rec->np;
	if (rec->sp != DMARC_POLICY_UNSET)
		return rec->sp;
	return rec->p;
}

/* dmarc_policy_disposition - policy -> disposition, t=y one level down */
enum dmarc_disposition
dmarc_policy_disposition(enum dmarc_policy pol, bool testing)
{
	enum dmarc_disposition d;

	switch (pol) {
	case DMARC_POLICY_REJECT:
		d = DMARC_DIS_REJECT;
		break;
	case DMARC_POLICY_QUARANTINE:
		d = DMARC_DIS_QUARANTINE;
		break;
	default:
		return DMARC_DIS_NONE;
	}
	if (testing)
		d = d == DMARC_DIS_REJECT ? DMARC_DIS_QUARANTINE : DMARC_DIS_NONE;
	return d;
}

/* client_bytes - address bytes of ss; v4-mapped IPv6 counts as IPv4 */
static int
client_bytes(const struct sockaddr_storage *ss, unsigned char out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(out, a->s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* dmarc_net_match - is the address in one of the networks?  -1 on a bad entry */
int
dmarc_net_match(const char *const *nets, const struct sockaddr_storage *ss)
{
	unsigned char c[16] = { 0 };
	struct net_prefix n;
	int caf;

	if (nets == NULL)
		return 0;
	caf = client_bytes(ss, c);
	for (; *nets; nets++) {
		if (net_prefix_parse(*nets, strlen(*nets), &n) != 0)
			return -1;
		if (net_prefix_match(&n, caf, c))
			return 1;
	}
	return 0;
}

/* dmarc_result_str - "none", "pass", ... (RFC 8601 result names) */
const char *
dmarc_result_str(enum dmarc_result r)
{
	switch (r) {
	case DMARC_RESULT_NONE: return "none";
	case DMARC_RESULT_PASS: return "pass";
	case DMARC_RESULT_FAIL: return "fail";
	case DMARC_RESULT_TEMPERROR: return "temperror";
	case DMARC_RESULT_PERMERROR: return "permerror";
	}
	return "?";
}

/* dmarc_policy_str - "none", "quarantine", "reject"; "" when unset */
const char *
dmarc_policy_str(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_UNSET: return "";
	case DMARC_POLICY_NONE: return "none";
	case DMARC_POLICY_QUARANTINE: return "quarantine";
	case DMARC_POLICY_REJECT: return "reject";
	}
	return "?";
}

/* dmarc_disposition_str - "none", "quarantine", "reject" */
const char *
dmarc_disposition_str(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DIS_NONE: return "none";
	case DMARC_DIS_QUARANTINE: return "quarantine";
	case DMARC_DIS_REJECT: return "reject";
	}
	return "?";
}

/* dmarc_override_str - RFC 9990 PolicyOverrideType name; "" for none */
const char *
dmarc_override_str(enum dmarc_override o)
{
	switch (o) {
	case DMARC_OVERRIDE_NONE: return "";
	case DMARC_OVERRIDE_FORWARDED: return "forwarded";
	case DMARC_OVERRIDE_SAMPLED_OUT: return "sampled_out";
	case DMARC_OVERRIDE_TRUSTED_FORWARDER: return "trusted_forwarder";
	case DMARC_OVERRIDE_MAILING_LIST: return "mailing_list";
	case DMARC_OVERRIDE_LOCAL_POLICY: return "local_policy";
	case DMARC_OVERRIDE_OTHER: return "other";
	}
	return "?";
}

/* dmarc_auth_str - RFC 8601 result name of a DKIM result */
const char *
dmarc_auth_str(enum dmarc_auth a)
{
	switch (a) {
	case DMARC_AUTH_NONE: return "none";
	case DMARC_AUTH_PASS: return "pass";
	case DMARC_AUTH_FAIL: return "fail";
	case DMARC_AUTH_NEUTRAL: return "neutral";
	case DMARC_AUTH_POLICY: return "policy";
	case DMARC_AUTH_TEMPERROR: return "temperror";
	case DMARC_AUTH_PERMERROR: return "permerror";
	}
	return "?";
}
