/*
 * reinject_testkey.c - "reinject testkey": is the published DKIM key the one we
 * sign with?  Fetches selector._domainkey.domain TXT (RFC 6376 §3.6.2) through
 * common/dns, parses it (RFC 6376 §3.6.1; k=ed25519 per RFC 8463 §4), compares
 * the public key with the private key file, and reports the DNSSEC status of
 * the answer.  Every problem is named, with an exit code per kind
 * (reinject_tools.h, reinject-testkey(8)).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "dkim.h"
#include "dkim_table.h"
#include "dns.h"
#include "reinject_tools.h"
#include "util.h"

#define TESTKEY_TIMEOUT_MS	5000
/* Debian's dns-root-data: the root trust anchor, used when present. */
#define TESTKEY_ROOT_ANCHOR	"/usr/share/dns/root.key"

struct testkey_opts {
	const char *domain, *selector, *keyfile;
	const char *dns;		/* "addr@port" forwarder, or NULL */
	const char *anchor;		/* trust anchor file, or NULL */
	unsigned timeout_ms;
};

struct testkey_state {
	bool done;
	int rc;
	EVP_PKEY *priv;
	enum dkim_alg alg;
	const char *keyfile;
	FILE *out;
	struct event_base *base;
};

#define TESTKEY_USAGE \
	"usage: reinject testkey -d domain -s selector -k keyfile " \
	"[--dns addr@port] [--trust-anchor file|none] [--timeout ms]\n" \
	"exit status: 0 key matches, 3 no record, 4 bad record, 5 mismatch,\n" \
	"  64 usage, 66 key file unusable, 69 resolver unavailable, 75 DNS error\n"

/* testkey_usage - synopsis on stderr */
static int
testkey_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "reinject testkey: %s\n", why);
	fputs(TESTKEY_USAGE, stderr);
	return REINJECT_TOOL_USAGE;
}

/* testkey_sec - what the DNSSEC status means for the administrator */
static const char *
testkey_sec(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_SECURE:
		return "secure (DNSSEC validated)";
	case DNS_SEC_BOGUS:
		return "bogus (DNSSEC validation failed)";
	default:
		return "insecure (zone not signed, or not validated)";
	}
}

/* testkey_dns_error - rcode and DNSSEC failures; REINJECT_TOOL_OK when fine */
static int
testkey_dns_error(const struct dns_answer *a, FILE *out)
{
	if (a->sec == DNS_SEC_BOGUS) {
		fprintf(out, "DNS: %s: DNSSEC validation failed: %s\n", a->qname,
		    a->why_bogus ? a->why_bogus : "(no reason given)");
		return REINJECT_TOOL_DNS_ERROR;
	}
	switch (a->rcode) {
	case DNS_RCODE_NOERROR:
		break;
	case DNS_RCODE_NXDOMAIN:
		fprintf(out, "no record: %s does not exist (NXDOMAIN); publish the "
		    "TXT record made by reinject keygen\n", a->qname);
		return REINJECT_TOOL_NO_RECORD;
	default:
		fprintf(out, "DNS error: %s: %s; retry later or check the name "
		    "servers\n", a->qname, dns_rcode_str(a->rcode));
		return REINJECT_TOOL_DNS_ERROR;
	}
	if (a->count == 0) {
		fprintf(out, "no record: %s has no TXT record; publish the TXT record "
		    "made by reinject keygen\n", a->qname);
		return REINJECT_TOOL_NO_RECORD;
	}
	if (a->count > 1) {
		fprintf(out, "bad record: %s has %zu TXT records; verifiers may use "
		    "any one of them (RFC 6376 §3.6.2.2): keep only the key\n",
		    a->qname, a->count);
		return REINJECT_TOOL_BAD_RECORD;
	}
	return REINJECT_TOOL_OK;
}

/* testkey_record - syntax, revocation and tag checks; REINJECT_TOOL_OK when fine */
static int
testkey_record(const struct dkim_keyrec *kr, enum dkim_alg alg, FILE *out)
{
	bool rec_ed = kr->k.p != NULL && span_eq_ci(kr->k, "ed25519");
	bool rec_rsa = kr->k.p == NULL || span_eq_ci(kr->k, "rsa");

	if (kr->revoked) {
		fprintf(out, "bad record: the key is revoked (empty p=)\n");
		return REINJECT_TOOL_BAD_RECORD;
	}
	if (!rec_ed && !rec_rsa) {
		fprintf(out, "bad record: unknown key type k=%.*s\n", (int)kr->k.len,
		    kr->k.p);
		return REINJECT_TOOL_BAD_RECORD;
	}
	if (rec_ed != (alg == DKIM_ALG_ED25519_SHA256)) {
		fprintf(out, "bad record: k=%s but the private key is %s\n",
		    rec_ed ? "ed25519" : "rsa", alg == DKIM_ALG_ED25519_SHA256 ?
		    "ed25519" : "rsa");
		return REINJECT_TOOL_BAD_RECORD;
	}
	if (!kr->hash_sha256_ok) {
		fprintf(out, "bad record: h=%.*s does not allow sha256\n",
		    (int)kr->h.len, kr->h.p);
		return REINJECT_TOOL_BAD_RECORD;
	}
	if (!kr->service_email_ok) {
		fprintf(out, "bad record: s=%.*s does not allow email\n",
		    (int)kr->s.len, kr->s.p);
		return REINJECT_TOOL_BAD_RECORD;
	}
	return REINJECT_TOOL_OK;
}

/* testkey_compare - parse the record and compare keys */
static int
testkey_compare(EVP_PKEY *priv, enum dkim_alg alg, const char *keyfile,
    const struct dns_rr *rr, FILE *out)
{
	struct dkim_keyrec kr;
	const char *why = NULL;
	EVP_PKEY *pub;
	int rc;

	if (dkim_keyrec_parse(rr->data, rr->len, &kr, &why) < 0) {
		fprintf(out, "bad record: syntax error: %s\n", why);
		return REINJECT_TOOL_BAD_RECORD;
	}
	if ((rc = testkey_record(&kr, alg, out)) != REINJECT_TOOL_OK)
		return rc;
	if ((pub = dkim_keyrec_pkey(&kr, &why)) == NULL) {
		fprintf(out, "bad record: %s\n", why);
		return REINJECT_TOOL_BAD_RECORD;
	}
	if (!dkim_key_matches(pub, priv)) {
		fprintf(out, "key mismatch: the published key is not the public "
		    "half of %s; publish the record made with this key\n", keyfile);
		rc = REINJECT_TOOL_MISMATCH;
	} else {
		fprintf(out, "key OK: the published %s key", alg ==
		    DKIM_ALG_ED25519_SHA256 ? "ed25519" : "rsa");
		if (alg == DKIM_ALG_RSA_SHA256)
			fprintf(out, " (%d bits)", EVP_PKEY_get_bits(pub));
		fprintf(out, " matches %s\n", keyfile);
		if (kr.testing)
			fprintf(out, "note: t=y: the domain says it is testing "
			    "DKIM; verifiers may ignore failures\n");
	}
	EVP_PKEY_free(pub);
	return rc;
}

/* reinject_testkey_answer - check a key record answer against a private key */
int
reinject_testkey_answer(const struct dns_answer *a, EVP_PKEY *priv,
    enum dkim_alg alg, const char *keyfile, FILE *out)
{
	int rc = testkey_dns_error(a, out);

	return rc == REINJECT_TOOL_OK ? testkey_compare(priv, alg, keyfile, &a->rr[0], out) : rc;
}

/* testkey_answer - the DNS callback */
static void
testkey_answer(void *arg, const struct dns_answer *a)
{
	struct testkey_state *st = arg;

	fprintf(st->out, "%s: %s, DNSSEC %s\n", a->qname, dns_rcode_str(a->rcode),
	    testkey_sec(a->sec));
	st->rc = reinject_testkey_answer(a, st->priv, st->alg, st->keyfile, st->out);
	st->done = true;
	if (st->base != NULL)
		event_base_loopbreak(st->base);
}

/* testkey_load - the private key; insecure modes are reported, not fatal here */
static EVP_PKEY *
testkey_load(const char *keyfile, enum dkim_alg *alg, FILE *out)
{
	struct dkim_table_key_opts lax = { .allow_insecure = true };
	char err[DKIM_TABLE_ERR_MAX];
	EVP_PKEY *k;

	k = dkim_table_key_load_file(keyfile, false, alg, NULL, err, sizeof(err));
	if (k != NULL)
		return k;
	k = dkim_table_key_load_file(keyfile, false, alg, &lax, err, sizeof(err));
	if (k != NULL)
		fprintf(out, "warning: reinject would refuse this key file: it is "
		    "readable by group or other; run: chmod 600 %s\n", keyfile);
	else
		fprintf(out, "private key: %s\n", err);
	return k;
}

/* reinject_testkey_run - the check itself on a given resolver */
int
reinject_testkey_run(struct event_base *base, struct dns_resolver *r,
    const char *domain, const char *selector, const char *keyfile, FILE *out)
{
	struct testkey_state st = { .rc = REINJECT_TOOL_DNS_ERROR, .out = out,
	    .keyfile = keyfile, .base = base };
	char name[2 * DKIM_TABLE_DOMAIN_MAX + 16];

	if ((st.priv = testkey_load(keyfile, &st.alg, out)) == NULL)
		return REINJECT_TOOL_NOINPUT;
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	dns_query(r, name, DNS_TYPE_TXT, testkey_answer, &st);
	if (!st.done && base != NULL)
		event_base_dispatch(base);
	if (!st.done) {
		fprintf(out, "DNS error: %s: no answer\n", name);
		st.rc = REINJECT_TOOL_DNS_ERROR;
	}
	EVP_PKEY_free(st.priv);
	return st.rc;
}

/* testkey_parse - the command line */
static int
testkey_parse(int argc, char **argv, struct testkey_opts *o)
{
	static const struct option longopts[] = {
		{ "dns", required_argument, NULL, 'n' },
		{ "trust-anchor", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct testkey_opts){ .timeout_ms = TESTKEY_TIMEOUT_MS };
	if (access(TESTKEY_ROOT_ANCHOR, R_OK) == 0)
		o->anchor = TESTKEY_ROOT_ANCHOR;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:s:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'n': o->dns = optarg; break;
		case 'a': o->anchor = strcmp(optarg, "none") ? optarg : NULL; break;
		case 'T':
			errno = 0;
			o->timeout_ms = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || o->timeout_ms == 0)
				return testkey_usage("--timeout takes milliseconds");
			break;
		default: return testkey_usage(NULL);
		}
	}
	if (optind != argc)
		return testkey_usage("unexpected arguments");
	if (o->domain == NULL || o->selector == NULL || o->keyfile == NULL)
		return testkey_usage("-d, -s and -k are required");
	return 0;
}

/* reinject_testkey_main - the "testkey" subcommand */
int
reinject_testkey_main(int argc, char **argv)
{
	struct testkey_opts o;
	struct dns_unbound_config cfg = { 0 };
	const char *fwd[2] = { NULL, NULL };
	struct event_base *base;
	struct dns_resolver *r;
	const char *err = NULL;
	int rc;

	if ((rc = cli_std(argc, argv, "reinject testkey", TESTKEY_USAGE)) >= 0)
		return rc;
	if (testkey_parse(argc, argv, &o) != 0)
		return REINJECT_TOOL_USAGE;
	if ((base = event_base_new()) == NULL)
		return REINJECT_TOOL_UNAVAILABLE;
	fwd[0] = o.dns;
	cfg.forwarders = o.dns ? fwd : NULL;
	cfg.trust_anchor_file = o.anchor;
	cfg.timeout_ms = o.timeout_ms;
	if ((r = dns_unbound_new(base, &cfg, &err)) == NULL) {
		fprintf(stderr, "reinject testkey: resolver: %s\n", err ? err : "?");
		event_base_free(base);
		return REINJECT_TOOL_UNAVAILABLE;
	}
	rc = reinject_testkey_run(base, r, o.domain, o.selector, o.keyfile, stdout);
	dns_resolver_free(r);
	event_base_free(base);
	return rc;
}
