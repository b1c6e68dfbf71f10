/*
 * dmarc_xcheck.c - test driver: evaluate DMARC cases read from stdin with
 * common/dmarc through the libunbound backend (so it sees exactly the DNS data
 * another implementation sees), print "id result disposition" per case.
 *
 * Usage: dmarc-xcheck addr@port < cases
 * Case line: id from-domain mailfrom-domain spf-result dkim-domain dkim-result
 * ("-" for an absent value; spf/dkim results as in RFC 8601).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dmarc.h"

#define XCHECK_LINE_SIZE	1024
#define XCHECK_TIMEOUT_MS	3000

struct xout {
	int calls;
	struct dmarc_verdict v;
};

/* xcheck_done - keep the verdict */
static void
xcheck_done(void *arg, const struct dmarc_verdict *v)
{
	struct xout *o = arg;

	o->calls++;
	o->v = *v;
}

/* xcheck_spf - RFC 8601 spf result word */
static enum spf_result
xcheck_spf(const char *s)
{
	static const char *names[] = { "none", "neutral", "pass", "fail", "softfail",
	    "temperror", "permerror" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum spf_result)i;
	return SPF_RESULT_NONE;
}

/* xcheck_dkim - RFC 8601 dkim result word */
static enum dmarc_auth
xcheck_dkim(const char *s)
{
	for (int a = DMARC_AUTH_NONE; a <= DMARC_AUTH_PERMERROR; a++)
		if (strcmp(s, dmarc_auth_str((enum dmarc_auth)a)) == 0)
			return (enum dmarc_auth)a;
	return DMARC_AUTH_NONE;
}

/* xcheck_case - evaluate one line */
static int
xcheck_case(struct event_base *base, struct dns_resolver *r, char *line)
{
	char id[64], from[256], mf[256], spf[32], dd[256], dr[32], field[300], mfaddr[300];
	struct dmarc_dkim_input dk;
	struct dmarc_input in = { 0 };
	struct span fs;
	struct xout o = { 0 };

	if (sscanf(line, "%63s %255s %255s %31s %255s %31s", id, from, mf, spf, dd, dr) != 6)
		return line[0] == '\n' || line[0] == '#' ? 0 : -1;
	snprintf(field, sizeof(field), "u@%s", from);
	fs = span_from_cstr(field);
	in.from_fields = &fs;
	in.nfrom_fields = 1;
	snprintf(mfaddr, sizeof(mfaddr), "b@%s", mf);
	in.mail_from = strcmp(mf, "-") ? mfaddr : "";
	in.spf = xcheck_spf(spf);
	in.spf_identity = SPF_IDENTITY_MAILFROM;
	in.spf_domain = strcmp(mf, "-") ? mf : NULL;
	if (strcmp(dd, "-") != 0) {
		dk = (struct dmarc_dkim_input){ xcheck_dkim(dr), dd, "sel" };
		in.dkim = &dk;
		in.ndkim = 1;
	}
	if (dmarc_eval_start(r, NULL, &in, xcheck_done, &o) != NULL)
		event_base_dispatch(base);
	if (o.calls != 1)
		return -1;
	printf("%s %s %s\n", id, dmarc_result_str(o.v.result),
	    dmarc_disposition_str(o.v.disposition));
	return 0;
}

/* main - evaluate every case */
int
main(int argc, char **argv)
{
	const char *fw[2] = { NULL, NULL };
	struct dns_unbound_config cfg = { .timeout_ms = XCHECK_TIMEOUT_MS };
	const char *err = NULL;
	struct event_base *base;
	struct dns_resolver *r;
	char line[XCHECK_LINE_SIZE];
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dmarc-xcheck addr@port < cases\n");
		return 64;
	}
	fw[0] = argv[1];
	cfg.forwarders = fw;
	base = event_base_new();
	r = dns_unbound_new(base, &cfg, &err);
	if (r == NULL) {
		fprintf(stderr, "dmarc-xcheck: %s\n", err ? err : "resolver");
		return 69;
	}
	while (fgets(line, sizeof(line), stdin))
		if (xcheck_case(base, r, line) != 0) {
			fprintf(stderr, "dmarc-xcheck: bad case: %s", line);
			rc = 1;
		}
	dns_resolver_free(r);
	event_base_free(base);
	return rc;
}
