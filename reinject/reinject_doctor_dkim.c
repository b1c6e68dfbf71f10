/*
 * reinject_doctor_dkim.c - doctor check of every signing key in the
 * configuration: the published record (selector._domainkey.domain TXT,
 * RFC 6376 §3.6.2) matches the private key (the checks of reinject
 * testkey), the key size (RFC 8301 §3.2: at least 2048 bits for RSA is
 * warned below), the DNSSEC status of the answer, and whether an ed25519 key
 * (RFC 8463) has an RSA partner for the verifiers that know only RSA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_table.h"
#include "reinject.h"
#include "reinject_doctor.h"
#include "reinject_tools.h"
#include "util.h"

/* Longest report testkey writes for one key. */
#define DOCTOR_DKIM_REPORT_MAX	2048

/* doctor_dkim_value - "v=DKIM1; k=...; p=..." of the key, or NULL */
static char *
doctor_dkim_value(EVP_PKEY *key, enum dkim_alg alg)
{
	struct buf v;

	buf_init(&v, DKIM_KEY_RECORD_MAX);
	buf_printf(&v, "v=DKIM1; k=%s; p=", alg == DKIM_ALG_ED25519_SHA256 ?
	    "ed25519" : "rsa");
	if (dkim_key_public_b64(key, &v) < 0) {
		buf_clear(&v);
		return NULL;
	}
	return buf_steal(&v);
}

/* doctor_dkim_zone_record - the record in zone-file syntax, strings of at most 255 */
static char *
doctor_dkim_zone_record(const char *name, EVP_PKEY *key, enum dkim_alg alg)
{
	char *value = doctor_dkim_value(key, alg);
	struct buf r;
	size_t len;

	if (value == NULL)
		return NULL;
	buf_init(&r, 2 * DKIM_KEY_RECORD_MAX);
	buf_printf(&r, "%s. IN TXT (", name);
	len = strlen(value);
	for (size_t off = 0; off < len; off += REINJECT_TXT_STRING_MAX)
		buf_printf(&r, " \"%.*s\"", (int)(len - off < REINJECT_TXT_STRING_MAX ?
		    len - off : REINJECT_TXT_STRING_MAX), value + off);
	buf_append_str(&r, " )");
	free(value);
	return buf_steal(&r);
}

/* doctor_dkim_first_line - testkey's verdict line (its first), newline removed */
static void
doctor_dkim_first_line(char *report)
{
	char *nl = strchr(report, '\n');

	if (nl != NULL)
		*nl = '\0';
}

/* doctor_dkim_sec - the DNSSEC status in words */
static const char *
doctor_dkim_sec(enum dns_sec s)
{
	return s == DNS_SEC_SECURE ? "DNSSEC secure" : s == DNS_SEC_BOGUS ?
	    "DNSSEC bogus" : "DNSSEC insecure (zone not signed, or no trust anchor)";
}

/* doctor_dkim_one - check one key */
static void
doctor_dkim_one(struct doctor *d, const struct dkim_table_key_info *k)
{
	char name[600], report[DOCTOR_DKIM_REPORT_MAX] = "";
	struct dns_answer_owned a;
	FILE *out = fmemopen(report, sizeof(report) - 1, "w");
	char *rec = NULL;
	int rc, bits = EVP_PKEY_get_bits(k->key);

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, k->domain);
	doctor_query(d, name, DNS_TYPE_TXT, &a);
	rc = reinject_testkey_answer(&a.ans, k->key, k->alg,
	    k->path ? k->path : k->name, out ? out : stderr);
	if (out)
		fclose(out);
	doctor_dkim_first_line(report);
	if (rc != REINJECT_TOOL_OK && rc != REINJECT_TOOL_DNS_ERROR)
		rec = doctor_dkim_zone_record(name, k->key, k->alg);
	if (rc == REINJECT_TOOL_OK)
		doctor_add(d, DOCTOR_OK, "dkim", name, NULL, NULL, "%s; %s", report,
		    doctor_dkim_sec(a.ans.sec));
	else
		doctor_add(d, DOCTOR_FAIL, "dkim", name, rc == REINJECT_TOOL_DNS_ERROR ?
		    "check the domain's name servers, then run again" :
		    "publish the key's record (reinject keygen writes it)", rec, "%s", report);
	if (k->alg == DKIM_ALG_RSA_SHA256 && bits < DOCTOR_RSA_BITS_MIN)
		doctor_add(d, DOCTOR_WARN, "dkim-size", name, "make a 2048-bit key "
		    "(reinject keygen -b 2048) and publish it under a new selector",
		    NULL, "RSA key of %d bits: receivers may treat it as no signature", bits);
	free(rec);
	dns_answer_owned_clear(&a);
}

/* doctor_dkim_remember - a signing domain, for DMARC alignment */
static void
doctor_dkim_remember(struct doctor *d, const char *domain)
{
	for (size_t i = 0; i < d->ndkim_domains; i++)
		if (strcasecmp(d->dkim_domains[i], domain) == 0)
			return;
	if (d->ndkim_domains < DOCTOR_DKIM_DOMAIN_LIMIT)
		d->dkim_domains[d->ndkim_domains++] = xstrdup(domain);
}

/* doctor_dkim_partners - every domain with ed25519 keys only gets a warning */
static void
doctor_dkim_partners(struct doctor *d, const struct dkim_table *t)
{
	struct dkim_table_key_info k, o;

	for (size_t i = 0; dkim_table_key_get(t, i, &k) == 0; i++) {
		bool rsa = false, first = true;

		if (k.key == NULL || k.alg != DKIM_ALG_ED25519_SHA256)
			continue;
		for (size_t j = 0; dkim_table_key_get(t, j, &o) == 0; j++) {
			if (o.key && strcasecmp(o.domain, k.domain) == 0)
				rsa |= o.alg == DKIM_ALG_RSA_SHA256;
			if (j < i && o.key && o.alg == DKIM_ALG_ED25519_SHA256 &&
			    strcasecmp(o.domain, k.domain) == 0)
				first = false;
		}
		if (!rsa && first)
			doctor_add(d, DOCTOR_WARN, "dkim-alg", k.domain, "sign with an RSA key "
			    "too (OpenDKIM-style KeyTable: a second key and SigningTable entry)",
			    NULL, "ed25519 keys only: verifiers without RFC 8463 see no valid "
			    "signature");
	}
}

/* doctor_dkim_table_check - every key of the loaded table */
static void
doctor_dkim_table_check(struct doctor *d, const struct dkim_table *t)
{
	struct dkim_table_key_info k;

	for (size_t i = 0; dkim_table_key_get(t, i, &k) == 0; i++) {
		if (k.key == NULL || strcmp(k.domain, "%") == 0) {
			doctor_add(d, DOCTOR_WARN, "dkim", k.name, "check it with reinject "
			    "testkey for each domain it signs", NULL, "per-domain key (\"%%\" "
			    "in the KeyTable): not checked");
			continue;
		}
		doctor_dkim_remember(d, k.domain);
		doctor_dkim_one(d, &k);
	}
	doctor_dkim_partners(d, t);
}

/* doctor_check_dkim - the keys of the signing configuration */
void
doctor_check_dkim(struct doctor *d)
{
	struct dkim_table *t = NULL;
	struct dkim_hostlist *h = NULL;
	struct buf err;

	if (d->conf == NULL) {
		doctor_add(d, DOCTOR_WARN, "dkim", d->domain, "give -c reinject.conf to "
		    "check the signing keys", NULL, "no signing configuration: keys not checked");
		return;
	}
	buf_init(&err, 4096);
	if (reinject_worker_tables(d->conf, &t, &h, &err) < 0)
		doctor_add(d, DOCTOR_FAIL, "dkim", "configuration", "fix the signing "
		    "settings of reinject.conf", NULL, "%s", buf_cstr(&err));
	else if (t == NULL)
		doctor_add(d, DOCTOR_FAIL, "dkim", "configuration", "configure signing "
		    "(sign_domain, sign_selector, sign_key_file or key_table)", NULL,
		    "no signing keys configured: outbound mail is not signed");
	else
		doctor_dkim_table_check(d, t);
	buf_clear(&err);
	if (t)
		dkim_table_free(t);
	if (h)
		dkim_table_host_free(h);
}
