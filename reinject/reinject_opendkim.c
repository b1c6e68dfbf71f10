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
#include <strings.h>

#include "dkim.h"
#include "dkim_table.h"
#include "reinject_foreign.h"

/* OpenDKIM's On-* keys: reinject's setting and OpenDKIM's own default */
static const struct odk_on {
	const char *key, *native, *odk_default, *native_default;
	bool by_on_default;		/* On-Default sets it (opendkim.conf(5)) */
} odk_on[] = {
	{ "On-BadSignature", "dkim_bad_signature_action", "accept", "accept", true },
	{ "On-DNSError", "dkim_dns_error_action", "tempfail", "accept", true },
	{ "On-InternalError", "dkim_internal_error_action", "tempfail", "accept", true },
	{ "On-KeyNotFound", "dkim_key_not_found_action", "accept", "accept", true },
	{ "On-NoSignature", "dkim_no_signature_action", "accept", "accept", true },
	/* OpenDKIM's own security tests differ from reinject's: accept stays */
	{ "On-Security", "dkim_security_action", "accept", "accept", true },
	{ "On-SignatureError", "sign_error_action", "reject", "tempfail", false },
};

/* OpenDKIM's OmitHeaders default: RFC 6376 §5.4 "SHOULD NOT" be signed */
static const char *const odk_omit_default[] = { "Return-Path", "Received",
	"Comments", "Keywords", "Bcc", "Resent-Bcc", "DKIM-Signature", NULL };

/* what the file says that decides between the forms (odk_finish) */
struct odk_state {
	bool keytable, simple, verify_only, omit_given;
	unsigned on_given;		/* bit i: odk_on[i] was set */
	const char *on_default;		/* On-Default's action, or NULL */
};

#define ODK(s)	((struct odk_state *)(s)->arg)

/* odk_map_simple - Selector, KeyFile: the single-key form */
static int
odk_map_simple(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (memchr(v.p, ',', v.len) || memchr(v.p, ':', v.len))
		return reinject_foreign_err(s, k, "one value only here; several "
		    "selectors or keys need a KeyTable and a SigningTable", v);
	ODK(s)->simple = true;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_set - read a data set of names; -1 after the error */
static int
odk_set(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v, struct reinject_opendkim_set *set)
{
	struct buf e;
	int rc = 0;

	buf_init(&e, CONFIG_ERROR_LIMIT);
	if (reinject_opendkim_set_read(set, v, &e) < 0)
		rc = reinject_foreign_err(s, k, buf_cstr(&e), v);
	buf_clear(&e);
	return rc;
}

/* odk_set_native - the set as a native list setting */
static int
odk_set_native(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    const struct reinject_opendkim_set *set)
{
	struct buf b;
	int rc;

	buf_init(&b, CONFIG_LINE_LIMIT);
	reinject_opendkim_set_join(set, &b);
	rc = reinject_foreign_set(s, k, k->native, b.data ? b.data : "", b.len);
	buf_clear(&b);
	return rc;
}

/*
 * odk_map_domain - Domain: one domain or a data set of them (csl:, file:, a
 * comma list), each signed with the one Selector and KeyFile, d= the domain
 */
static int
odk_map_domain(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	struct reinject_opendkim_set set;
	int rc;

	if (v.len > 7 && strncasecmp(v.p, "refile:", 7) == 0)
		return reinject_foreign_err(s, k, "domain patterns need a KeyTable "
		    "and a refile: SigningTable", v);
	if (odk_set(s, k, v, &set) < 0)
		return -1;
	ODK(s)->simple = true;
	rc = set.n ? odk_set_native(s, k, &set) :
	    reinject_foreign_err(s, k, "no domain in the data set", v);
	reinject_opendkim_set_clear(&set);
	return rc;
}

/*
 * odk_map_headers - SignHeaders, OversignHeaders, OmitHeaders: data sets
 * with "*" (the default list), "+name" and "-name"; From is always signed
 * and never omitted (RFC 6376 §5.4), as OpenDKIM implies it
 */
static int
odk_map_headers(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	static const char *const none[] = { NULL };
	bool sign = strcmp(k->native, "sign_headers") == 0;
	bool omit = strcmp(k->native, "omit_headers") == 0;
	struct reinject_opendkim_set set;
	int rc = 0;

	if (odk_set(s, k, v, &set) < 0)
		return -1;
	reinject_opendkim_set_delta(&set, sign ? dkim_default_sign_headers :
	    omit ? odk_omit_default : none);
	if (sign && !reinject_opendkim_set_has(&set, "From", 4)) {
		reinject_opendkim_set_delta(&set, none);
		set.names = xrealloc(set.names, (set.n + 1) * sizeof(*set.names));
		set.names[set.n++] = xstrdup("From");
		reinject_foreign_note(s, k, "From is signed too (RFC 6376 section "
		    "5.4), as OpenDKIM adds it");
	}
	ODK(s)->omit_given |= omit;
	if (set.n || omit)
		rc = odk_set_native(s, k, &set);
	else
		reinject_foreign_note(s, k, "empty: reinject's built-in list of "
		    "fields oversigned when present applies");
	reinject_opendkim_set_clear(&set);
	return rc;
}

/* odk_map_keytable - KeyTable, SigningTable: data sets read unchanged */
static int
odk_map_keytable(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	ODK(s)->keytable = true;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_hosts - a host list checked as reinject will load it; 0 or -1 */
static int
odk_hosts(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v)
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
	return 0;
}

/* odk_map_hostcheck - ExternalIgnoreList: checked; it only silences a log */
static int
odk_map_hostcheck(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (odk_hosts(s, k, v) < 0)
		return -1;
	reinject_foreign_note(s, k, k->note);
	return 0;
}

/* odk_map_peers - PeerList: clients whose mail passes with no check */
static int
odk_map_peers(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (odk_hosts(s, k, v) < 0)
		return -1;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_on_word - an On-* value, full or abbreviated (a, d, q, r, t), or NULL */
static const char *
odk_on_word(struct span v)
{
	static const char *const words[] = { "accept", "discard", "quarantine",
	    "reject", "tempfail" };

	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (span_eq_ci(v, words[i]) || (v.len == 1 &&
		    (v.p[0] | 0x20) == words[i][0]))
			return words[i];
	return NULL;
}

/* odk_map_on - On-BadSignature, ...: the action (mode-aware, reinject_onaction.c) */
static int
odk_map_on(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v)
{
	const char *w = odk_on_word(v);

	if (w == NULL)
		return reinject_foreign_err(s, k, "not accept, discard, quarantine, "
		    "reject or tempfail", v);
	if (k->native == NULL) {		/* On-Default */
		ODK(s)->on_default = w;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(odk_on); i++)
		if (strcmp(odk_on[i].native, k->native) == 0)
			ODK(s)->on_given |= 1u << i;
	if (strcmp(w, "reject") == 0)
		reinject_foreign_note(s, k, "reject: 550 on a proxy listener and in "
		    "milter mode, held after the queue (no bounce to a forged sender)");
	return reinject_foreign_set(s, k, k->native, w, strlen(w));
}

/* odk_number - a decimal number up to max; -1 after the error */
static long
odk_number(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v, long max)
{
	long n = 0;

	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || n > max)
			return reinject_foreign_err(s, k, "not a number", v);
		n = n * 10 + (v.p[i] - '0');
	}
	return n;
}

/* odk_map_dnstimeout - DNSTimeout: the resolver's timeout, dkim_timeout */
static int
odk_map_dnstimeout(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	long n = odk_number(s, k, v, 1L << 30);

	if (n < 0)
		return -1;
	if (n == 0) {
		reinject_foreign_note(s, k, "0 (wait for ever) is not kept: "
		    "dkim_timeout bounds the lookups of a message");
		return 0;
	}
	reinject_foreign_note(s, k, k->note);
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_map_maxheaders - MaximumHeaders: header_size_limit (bytes) */
static int
odk_map_maxheaders(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	long n = odk_number(s, k, v, 1L << 40);

	if (n < 0)
		return -1;
	reinject_foreign_note(s, k, k->note);
	if (n == 0)
		return 0;
	if ((size_t)n > s->c->header_memory_limit &&
	    reinject_foreign_set(s, k, "header_memory_limit", v.p, v.len) < 0)
		return -1;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odk_map_maxsigs - MaximumSignaturesToVerify: dkim_signature_limit */
static int
odk_map_maxsigs(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	long n = odk_number(s, k, v, 1L << 30);
	char num[16];

	if (n < 0)
		return -1;
	if (n == 0 || n > REINJECT_DKIM_RESULT_LIMIT) {
		reinject_foreign_note(s, k, k->note);
		n = REINJECT_DKIM_RESULT_LIMIT;
	}
	snprintf(num, sizeof(num), "%ld", n);
	return reinject_foreign_set(s, k, k->native, num, strlen(num));
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

/* odk_map_bool_note - a boolean, then its note (true or false alike) */
static int
odk_map_bool_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return reinject_foreign_err(s, k, "not a boolean", v);
	reinject_foreign_note(s, k, k->note);
	return 0;
}

#define NOTE(n, t)	REINJECT_FOREIGN_NOTE(n, t)
#define REFUSE(n, t)	REINJECT_FOREIGN_REFUSE(n, t)

static const struct reinject_foreign_key odk_keys[] = {
	{ "Mode", odk_map_mode, NULL, NULL },
	{ "Domain", odk_map_domain, "sign_domain", NULL },
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
	{ "SignHeaders", odk_map_headers, "sign_headers", NULL },
	{ "OversignHeaders", odk_map_headers, "oversign_headers", NULL },
	{ "OmitHeaders", odk_map_headers, "omit_headers", NULL },
	{ "PeerList", odk_map_peers, "peer_hosts", NULL },
	{ "DNSTimeout", odk_map_dnstimeout, "dkim_timeout", "the resolver's "
	    "timeout and the budget of all DNS lookups of one message" },
	{ "MaximumHeaders", odk_map_maxheaders, "header_size_limit", "a larger "
	    "header section is not refused: it is passed unparsed and still gets "
	    "a verdict (dkim=permerror, DMARC by its From)" },
	{ "MaximumSignaturesToVerify", odk_map_maxsigs, "dkim_signature_limit",
	    "reinject verifies at most 10 signatures; later ones are neutral "
	    "(not evaluated)" },
	{ "AlwaysAddARHeader", odk_map_bool_note, NULL, "reinject adds "
	    "Authentication-Results to every verified message, dkim=none when "
	    "unsigned (it also carries spf=, dmarc= and iprev=)" },
	{ "On-Default", odk_map_on, NULL, NULL },
	{ "On-BadSignature", odk_map_on, "dkim_bad_signature_action", NULL },
	{ "On-DNSError", odk_map_on, "dkim_dns_error_action", NULL },
	{ "On-InternalError", odk_map_on, "dkim_internal_error_action", NULL },
	{ "On-KeyNotFound", odk_map_on, "dkim_key_not_found_action", NULL },
	{ "On-NoSignature", odk_map_on, "dkim_no_signature_action", NULL },
	{ "On-Security", odk_map_on, "dkim_security_action", NULL },
	{ "On-SignatureError", odk_map_on, "sign_error_action", NULL },
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
};

/*
 * odk_defaults - OpenDKIM's defaults for what the file leaves out: the On-*
 * actions (On-Default first, opendkim.conf(5)) and the OmitHeaders list;
 * reinject.conf, read afterwards, still overrides them
 */
static void
odk_defaults(struct reinject_foreign *s)
{
	const struct odk_state *st = ODK(s);

	for (size_t i = 0; i < ARRAY_LEN(odk_on); i++) {
		const char *v = st->on_default && odk_on[i].by_on_default ?
		    st->on_default : odk_on[i].odk_default;

		if (!(st->on_given & (1u << i)) &&
		    strcmp(v, odk_on[i].native_default) != 0)
			reinject_foreign_force(s, odk_on[i].native, v);
	}
	if (!st->omit_given)
		reinject_foreign_force(s, "omit_headers", "Return-Path, Received, "
		    "Comments, Keywords, Bcc, Resent-Bcc, DKIM-Signature");
}

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

	if (out)
		fprintf(out, "# OpenDKIM's defaults for the keys the file leaves out\n");
	odk_defaults(&s);
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
