/*
 * reinject_opendkim.c - read OpenDKIM's opendkim.conf(5) as it stands, so an
 * administrator can replace the milter without editing it.
 *
 * Syntax as OpenDKIM reads it: "Key value" lines, the key separated from the
 * value by blanks, "#" starts a comment anywhere, key names case-insensitive.
 * Each key is mapped onto the reinject.conf setting with the same meaning (the
 * table below).  Process settings of the milter (Socket, PidFile, UserID, ...)
 * are accepted with a note of what takes their place; a key whose meaning
 * reinject cannot honour is an error "file:line: Key: reason", never dropped.
 * As in OpenDKIM, Domain, Selector and KeyFile are ignored when a KeyTable is
 * set.  Data sets (KeyTable, SigningTable, InternalHosts) keep OpenDKIM's
 * syntax: common/dkim/dkim_table*.c reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_table.h"
#include "reinject_foreign.h"

/* what the file says that decides between the forms (odk_finish) */
struct odk_state {
	bool keytable, simple, verify_only;
};

#define ODK(s)	((struct odk_state *)(s)->arg)

/* odk_map_simple - Domain, Selector, KeyFile: the single-key form */
static int
odk_map_simple(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (memchr(v.p, ',', v.len) || memchr(v.p, ':', v.len))
		return reinject_foreign_err(s, k, "one value only here; several domains "
		    "need a KeyTable and a SigningTable", v);
	ODK(s)->simple = true;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_map_keytable - KeyTable, SigningTable: data sets read unchanged */
static int
odk_map_keytable(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	ODK(s)->keytable = true;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_map_hostcheck - ExternalIgnoreList: checked; it only silences a log */
static int
odk_map_hostcheck(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	char spec[DKIM_TABLE_LINE_MAX], e[DKIM_TABLE_ERR_MAX];
	struct dkim_hostlist *h;

	snprintf(spec, sizeof(spec), "%.*s", (int)v.len, v.p);
	if (!(h = dkim_table_host_load(spec, e, sizeof(e)))) {
		/* one error line per bad entry, each under this file:line */
		for (char *p = e, *nl; p; p = nl ? nl + 1 : NULL) {
			if ((nl = strchr(p, '\n')) != NULL)
				*nl = '\0';
			reinject_foreign_err(s, k, p, v);
		}
		return -1;
	}
	dkim_table_host_free(h);
	reinject_foreign_note(s, k, k->note);
	return 0;
}

/* odk_map_mode - Mode s, v or sv */
static int
odk_map_mode(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (span_eq_ci(v, "sv") || span_eq_ci(v, "vs"))
		return 0;
	if (span_eq_ci(v, "v")) {
		ODK(s)->verify_only = true;
		reinject_foreign_note(s, k, "verify only: no signing keys are used");
		return 0;
	}
	if (span_eq_ci(v, "s"))
		return reinject_foreign_err(s, k, "reinject always verifies mail from outside "
		    "InternalHosts; use \"sv\" (mail from InternalHosts is "
		    "signed, not verified)", v);
	return reinject_foreign_err(s, k, "not s, v or sv", v);
}

/* odk_map_canon - "header/body" or one word (the body is then simple) */
static int
odk_map_canon(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	char c[32];

	if (v.len >= sizeof(c) - 8)
		return reinject_foreign_err(s, k, "not simple or relaxed", v);
	if (memchr(v.p, '/', v.len))
		snprintf(c, sizeof(c), "%.*s", (int)v.len, v.p);
	else
		snprintf(c, sizeof(c), "%.*s/simple", (int)v.len, v.p);
	for (char *p = c; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return reinject_foreign_set(s, k, k->native, c, strlen(c));
}

/* odk_map_algorithm - SignatureAlgorithm: rsa-sha1 refused (RFC 8301) */
static int
odk_map_algorithm(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (span_eq_ci(v, "rsa-sha256") || span_eq_ci(v, "ed25519-sha256")) {
		reinject_foreign_note(s, k, k->note);
		return 0;
	}
	if (span_eq_ci(v, "rsa-sha1"))
		return reinject_foreign_err(s, k, "rsa-sha1 must not be used to sign "
		    "(RFC 8301 section 3.1)", v);
	return reinject_foreign_err(s, k, "not rsa-sha256 or ed25519-sha256", v);
}

/* odk_map_minbits - MinimumKeyBits: the RFC 8301 floor is always applied */
static int
odk_map_minbits(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	unsigned long n = 0;
	char num[16];

	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || n > 65536)
			return reinject_foreign_err(s, k, "not a number of bits", v);
		n = n * 10 + (unsigned long)(v.p[i] - '0');
	}
	if (v.len == 0)
		return reinject_foreign_err(s, k, "not a number of bits", v);
	if (n > DKIM_TABLE_RSA_MAX_BITS)
		return reinject_foreign_err(s, k, "above 4096 bits no RSA key "
		    "would verify (RFC 8301 section 3.2)", v);
	if (n <= DKIM_TABLE_RSA_MIN_BITS) {
		reinject_foreign_note(s, k, k->note);
		n = DKIM_TABLE_RSA_MIN_BITS;
	}
	snprintf(num, sizeof(num), "%lu", n);
	return reinject_foreign_set(s, k, "dkim_min_key_bits", num, strlen(num));
}

/* odk_map_safekeys - RequireSafeKeys: only the safe setting exists */
static int
odk_map_safekeys(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return reinject_foreign_err(s, k, "not a boolean", v);
	if (!b)
		return reinject_foreign_err(s, k,
		    "reinject refuses key files readable by group "
		    "or other; chmod 600 them and remove this line", v);
	return 0;
}

/* odk_map_sendreports - SendReports: no DKIM failure reports are sent */
static int
odk_map_sendreports(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return reinject_foreign_err(s, k, "not a boolean", v);
	if (b)
		reinject_foreign_note(s, k, k->note);
	return 0;
}

#define NOTE(n, t)	REINJECT_FOREIGN_NOTE(n, t)
#define REFUSE(n, t)	REINJECT_FOREIGN_REFUSE(n, t)

static const struct reinject_foreign_key odk_keys[] = {
	{ "Mode", odk_map_mode, NULL, NULL },
	{ "Domain", odk_map_simple, "sign_domain", NULL },
	{ "Selector", odk_map_simple, "sign_selector", NULL },
	{ "KeyFile", odk_map_simple, "sign_key_file", NULL },
	{ "KeyTable", odk_map_keytable, "key_table", NULL },
	{ "SigningTable", odk_map_keytable, "signing_table", NULL },
	{ "InternalHosts", reinject_foreign_map_same, "internal_hosts", NULL },
	{ "ExternalIgnoreList", odk_map_hostcheck, NULL, "only silences OpenDKIM's "
	    "\"external host tried to send as\" log line, which reinject does not "
	    "write" },
	{ "SubDomains", reinject_foreign_map_bool, "sign_subdomains", NULL },
	{ "MultipleSignatures", reinject_foreign_map_bool, "multiple_signatures", NULL },
	{ "Canonicalization", odk_map_canon, "sign_canonicalization", NULL },
	{ "SignHeaders", reinject_foreign_map_same, "sign_headers", NULL },
	{ "OversignHeaders", reinject_foreign_map_same, "oversign_headers", NULL },
	{ "SignatureTTL", reinject_foreign_map_same, "signature_ttl", NULL },
	{ "AuthservID", reinject_foreign_map_same, "authserv_id", NULL },
	{ "Nameservers", reinject_foreign_map_same, "dns_forwarders", NULL },
	{ "Syslog", reinject_foreign_map_bool, "syslog", NULL },
	{ "SignatureAlgorithm", odk_map_algorithm, NULL, "each key signs with its "
	    "own algorithm (RSA keys rsa-sha256, Ed25519 keys ed25519-sha256)" },
	{ "MinimumKeyBits", odk_map_minbits, NULL, "RSA keys under 1024 bits never "
	    "verify (RFC 8301 section 3.2): 1024 applies" },
	{ "RequireSafeKeys", odk_map_safekeys, NULL, NULL },
	{ "SendReports", odk_map_sendreports, NULL, "DKIM failure reports (RFC "
	    "6651) are not sent by reinject" },
	NOTE("TrustAnchorFile", "DNSSEC validation is the resolver's "
	    "(dns_forwarders, dns_resolv_conf)"),
	NOTE("Socket", "reinject listens as reinject.conf's listen says "
	    "(content_filter or smtpd_proxy_filter); remove the milter from "
	    "smtpd_milters"),
	NOTE("PidFile", "the systemd unit tracks reinject's master process"),
	NOTE("UserID", "reinject runs as reinject.conf's user; give that account "
	    "read access to the key files"),
	NOTE("UMask", "reinject creates its spool files mode 0600"),
	NOTE("Background", "the systemd unit runs reinject in the foreground"),
	NOTE("AutoRestart", "reinject's master replaces dead workers; systemd "
	    "restarts the master"),
	NOTE("AutoRestartCount", "reinject's master replaces dead workers"),
	NOTE("AutoRestartRate", "reinject's master replaces dead workers"),
	NOTE("SyslogSuccess", "reinject logs one line for every message"),
	NOTE("LogWhy", "reinject's log line gives each verdict with its reason"),
	NOTE("SyslogFacility", "reinject logs to the mail facility"),
	REFUSE("PeerList", "mail passed through unchecked is not supported"),
	REFUSE("OmitHeaders", "not supported: use SignHeaders to list the "
	    "fields signed"),
	REFUSE("On-BadSignature", "On-* actions are not supported"),
	REFUSE("On-DNSError", "On-* actions are not supported"),
	REFUSE("On-InternalError", "On-* actions are not supported"),
	REFUSE("On-KeyNotFound", "On-* actions are not supported"),
	REFUSE("On-NoSignature", "On-* actions are not supported"),
	REFUSE("On-Security", "On-* actions are not supported"),
	REFUSE("On-SignatureError", "On-* actions are not supported"),
};

/* odk_finish - OpenDKIM's precedence: a KeyTable beats the single-key form */
static void
odk_finish(struct reinject_foreign *s)
{
	static const char *const simple[] = { "sign_domain", "sign_selector",
	    "sign_key_file" };
	static const char *const all[] = { "key_table", "signing_table",
	    "sign_domain", "sign_selector", "sign_key_file" };
	bool v = ODK(s)->verify_only;
	const char *const *clear = v ? all : simple;
	size_t n = v ? ARRAY_LEN(all) : ARRAY_LEN(simple);

	if (!v && !(ODK(s)->keytable && ODK(s)->simple))
		return;
	buf_printf(s->notes, "%s: %s\n", s->where, v ? "Mode v: the signing keys "
	    "are not used" : "Domain, Selector and KeyFile are not used when a "
	    "KeyTable is set, as in OpenDKIM");
	if (s->out)
		fprintf(s->out, "# %s\n", v ? "Mode v: no signing" :
		    "a KeyTable is set: Domain, Selector and KeyFile unused");
	for (size_t i = 0; i < n; i++)
		reinject_foreign_force(s, clear[i], "");
}

/* reinject_opendkim_load - apply an opendkim.conf to c */
int
reinject_opendkim_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out)
{
	struct odk_state st = { 0 };
	struct reinject_foreign s = { .c = c, .format = "OpenDKIM", .where = path,
	    .notes = notes, .err = err, .out = out, .keys = odk_keys,
	    .nkeys = ARRAY_LEN(odk_keys), .arg = &st };
	int rc = reinject_foreign_run(&s);

	odk_finish(&s);
	return rc;
}

/* reinject_opendkim_detect - first setting an OpenDKIM key, without "=" */
bool
reinject_opendkim_detect(const char *p, size_t len)
{
	return reinject_foreign_detect(odk_keys, ARRAY_LEN(odk_keys), p, len);
}

/* reinject_opendkim_misfit - settings of (p, len) this reader does not know */
size_t
reinject_opendkim_misfit(const char *p, size_t len)
{
	return reinject_foreign_misfit(odk_keys, ARRAY_LEN(odk_keys), p, len);
}
