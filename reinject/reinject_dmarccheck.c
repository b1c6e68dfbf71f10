/*
 * reinject_dmarccheck.c - "reinject dmarc-check DOMAIN [--dns addr@port]", in
 * the spirit of opendmarc-check: runs the RFC 9989 "DNS Tree Walk" DNS Tree Walk for a
 * domain and prints every query made, the record applied and where it was
 * found (the domain itself, its Organizational Domain, or a PSD), the
 * Organizational Domain and why, each tag as published with its meaning,
 * removed and unknown tags, and errors.
 *
 * Exit status: 0 a policy record applies, 1 none, 2 DNS trouble (temperror),
 * 64 usage, 69 resolver could not start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli.h"
#include "dmarc.h"
#include "reinject_dmarc.h"
#include "tagvalue.h"

#define DMARCCHECK_EXIT_FOUND		0
#define DMARCCHECK_EXIT_NONE		1
#define DMARCCHECK_EXIT_TEMPERROR	2
#define DMARCCHECK_EXIT_USAGE		64	/* sysexits.h EX_USAGE */
#define DMARCCHECK_EXIT_UNAVAILABLE	69	/* sysexits.h EX_UNAVAILABLE */
/* Per-query timeout of the check tool. */
#define DMARCCHECK_TIMEOUT_MS		5000


struct check_out {
	int status;
	FILE *out;
	bool need_exist;		/* np= could apply: test existence */
	char domain[DMARC_DOMAIN_SIZE];
	unsigned answers, missing;
};

/* check_tags - each tag as published, with its meaning */
static void
check_tags(FILE *out, const struct dmarc_record *rec)
{
	struct tagvalue_list *tl = malloc(sizeof(*tl));

	if (tl == NULL || tagvalue_parse(rec->text, strlen(rec->text), tl) != 0) {
		free(tl);
		return;
	}
	fprintf(out, "tags:\n");
	for (size_t i = 0; i < tl->count; i++) {
		const struct tagvalue_tag *t = &tl->tags[i];
		const char *doc = dmarc_record_tag_doc(t->name.p, t->name.len);

		fprintf(out, "  %.*s=%.*s\t%s\n", (int)t->name.len, t->name.p,
		    (int)t->value.len, t->value.p, doc ? doc : "unknown tag: ignored");
	}
	free(tl);
}

/* check_record - one record: text, effective values, notes, problems */
static void
check_record(FILE *out, const struct dmarc_record *rec)
{
	struct buf b;

	fprintf(out, "record: \"%s\"\n", rec->text);
	if (rec->status != DMARC_RECORD_VALID) {
		fprintf(out, "error: invalid record, treated as no record: %s\n", rec->reason);
		return;
	}
	check_tags(out, rec);
	buf_init(&b, 8192);
	dmarc_record_format(rec, &b);
	fprintf(out, "effective: %s\n", buf_cstr(&b));
	buf_clear(&b);
	if (rec->reason[0])
		fprintf(out, "note: %s\n", rec->reason);
	for (size_t i = 0; i < rec->nnotes; i++)
		fprintf(out, "note: %s\n", rec->notes[i]);
}

/* check_walked - print the walk */
static void
check_walked(void *arg, const struct dmarc_walk *w)
{
	struct check_out *co = arg;
	FILE *out = co->out;
	const struct dmarc_record *pr = dmarc_walk_policy_record(w);

	fprintf(out, "domain: %s\n", w->domain);
	if (w->status == DMARC_WALK_BAD_DOMAIN) {
		fprintf(out, "error: not a usable domain name\n");
		co->status = DMARCCHECK_EXIT_USAGE;
		return;
	}
	fprintf(out, "tree walk (RFC 9989 DNS Tree Walk, at most %d queries):\n",
	    DMARC_WALK_QUERY_LIMIT);
	for (size_t i = 0; i < w->nsteps; i++) {
		const struct dmarc_walk_step *st = &w->steps[i];

		fprintf(out, "  %zu. _dmarc.%s TXT: %s, %s\n", i + 1, st->domain,
		    dns_rcode_str(st->rcode), dmarc_step_outcome_str(st->outcome));
		if (st->outcome == DMARC_STEP_INVALID)
			fprintf(out, "     error: %s\n", st->rec.reason);
		if (st->outcome == DMARC_STEP_RECORD && st->rec.psd != DMARC_PSD_U)
			fprintf(out, "     psd=%c\n", st->rec.psd == DMARC_PSD_Y ? 'y' : 'n');
	}
	if (w->status == DMARC_WALK_TEMPERROR) {
		fprintf(out, "error: DNS failure: the walk could not conclude (dmarc=temperror)\n");
		co->status = DMARCCHECK_EXIT_TEMPERROR;
		return;
	}
	fprintf(out, "organizational domain: %s (%s)\n", w->org_domain, w->org_reason);
	if (pr == NULL) {
		fprintf(out, "policy: none: no DMARC record applies to %s\n", w->domain);
		co->status = DMARCCHECK_EXIT_NONE;
		return;
	}
	fprintf(out, "policy record: at %s (%s)%s\n", w->policy_domain,
	    dmarc_source_str(w->source), w->source == DMARC_SOURCE_AUTHOR ? ": p= applies" :
	    ": sp= applies (np= if the domain does not exist)");
	check_record(out, pr);
	co->status = pr->has_policy ? DMARCCHECK_EXIT_FOUND : DMARCCHECK_EXIT_NONE;
	co->need_exist = w->source != DMARC_SOURCE_AUTHOR && pr->np != DMARC_POLICY_UNSET;
	snprintf(co->domain, sizeof(co->domain), "%s", w->domain);
}

/* check_exist_answer - one of the A/AAAA/MX answers */
static void
check_exist_answer(void *arg, const struct dns_answer *a)
{
	struct check_out *co = arg;

	co->answers++;
	if (a->rcode == DNS_RCODE_NXDOMAIN ||
	    (a->rcode == DNS_RCODE_NOERROR && a->count == 0))
		co->missing++;
}

/* check_exist - RFC 9989 "Non-existent Domains": np= or sp= */
static void
check_exist(struct check_out *co, struct dns_resolver *r, struct event_base *base)
{
	static const enum dns_type types[3] = { DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_MX };

	for (size_t k = 0; k < 3; k++)
		dns_query(r, co->domain, types[k], check_exist_answer, co);
	event_base_dispatch(base);
	if (co->answers != 3)
		fprintf(co->out, "existence: unknown (DNS failure): sp= applies\n");
	else if (co->missing == 3)
		fprintf(co->out, "existence: %s has no A, AAAA or MX records: np= applies\n",
		    co->domain);
	else
		fprintf(co->out, "existence: %s exists: sp= applies, not np=\n", co->domain);
}

#define DMARCCHECK_USAGE \
	"usage: dmarc-check DOMAIN [--dns addr[@port]]\n" \
	"exit status: 0 policy found, 1 no policy, 2 temperror, 64 usage,\n" \
	"  69 resolver unavailable\n"

/* check_usage - print usage */
static int
check_usage(FILE *err)
{
	fputs(DMARCCHECK_USAGE, err);
	return DMARCCHECK_EXIT_USAGE;
}

/* reinject_dmarccheck_main - the tool */
int
reinject_dmarccheck_main(int argc, char **argv)
{
	const char *domain = NULL, *dns = NULL, *err = NULL;
	const char *fw[2] = { NULL, NULL };
	struct dns_unbound_config cfg = { .timeout_ms = DMARCCHECK_TIMEOUT_MS };
	struct check_out co = { .status = DMARCCHECK_EXIT_TEMPERROR, .out = stdout };
	struct event_base *base;
	struct dns_resolver *r;
	int rc;

	if ((rc = cli_std(argc, argv, "dmarc-check", DMARCCHECK_USAGE)) >= 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dns") == 0 && i + 1 < argc)
			dns = argv[++i];
		else if (argv[i][0] == '-' || domain)
			return check_usage(stderr);
		else
			domain = argv[i];
	}
	if (domain == NULL)
		return check_usage(stderr);
	if (dns) {
		fw[0] = dns;
		cfg.forwarders = fw;
	}
	base = event_base_new();
	r = base ? dns_unbound_new(base, &cfg, &err) : NULL;
	if (r == NULL) {
		fprintf(stderr, "dmarc-check: resolver: %s\n", err ? err : "no event base");
		if (base)
			event_base_free(base);
		return DMARCCHECK_EXIT_UNAVAILABLE;
	}
	if (dmarc_walk_start(r, domain, check_walked, &co) != NULL)
		event_base_dispatch(base);
	if (co.need_exist)
		check_exist(&co, r, base);
	dns_resolver_free(r);
	event_base_free(base);
	return co.status;
}
