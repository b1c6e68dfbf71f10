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
#include "reinject.h"

struct odk_state {
	struct reinject_conf *c;
	const char *where;
	unsigned line;
	struct buf *notes, *err;
	FILE *out;			/* reinject import: the settings made */
	bool keytable, simple, verify_only;
	int rc;
};

struct odk_key;
typedef int (*odk_map_fn)(struct odk_state *s, const struct odk_key *k,
    struct span v);

struct odk_key {
	const char *name;		/* as opendkim.conf(5) spells it */
	odk_map_fn map;
	const char *native;		/* target setting */
	const char *note;		/* the note or the reason of a refusal */
};

/* odk_err - "file:line: Key: message" into the error list */
static int
odk_err(struct odk_state *s, const struct odk_key *k, const char *msg,
    struct span v)
{
	buf_printf(s->err, "%s:%u: %s: %s (\"%.*s\")\n", s->where, s->line,
	    k->name, msg, (int)v.len, v.p);
	return -1;
}

/* odk_note - "file:line: Key: note" into the notes */
static void
odk_note(struct odk_state *s, const struct odk_key *k, const char *msg)
{
	buf_printf(s->notes, "%s:%u: %s: %s\n", s->where, s->line, k->name, msg);
	if (s->out)
		fprintf(s->out, "#   %s\n", msg);
}

/* odk_set - set a native key (and print it for reinject import) */
static int
odk_set(struct odk_state *s, const struct odk_key *k, const char *native,
    const char *p, size_t len)
{
	struct buf e;
	int rc;

	buf_init(&e, CONFIG_ERROR_LIMIT);
	rc = config_set(&reinject_conf_schema, s->c, native, strlen(native), p, len,
	    &e);
	if (rc < 0)
		odk_err(s, k, buf_cstr(&e), (struct span){ p, len });
	else if (s->out)
		fprintf(s->out, "%s = %.*s\n", native, (int)len, p);
	buf_clear(&e);
	return rc;
}

/* odk_map_same - the value has the native syntax and meaning */
static int
odk_map_same(struct odk_state *s, const struct odk_key *k, struct span v)
{
	return odk_set(s, k, k->native, v.p, v.len);
}

/* odk_map_bool - OpenDKIM booleans (yes/no, true/false, 1/0) */
static int
odk_map_bool(struct odk_state *s, const struct odk_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return odk_err(s, k, "not a boolean", v);
	return odk_set(s, k, k->native, b ? "yes" : "no", b ? 3 : 2);
}

/* odk_map_note - a process setting: accepted, its replacement noted */
static int
odk_map_note(struct odk_state *s, const struct odk_key *k, struct span v)
{
	(void)v;
	odk_note(s, k, k->note);
	return 0;
}

/* odk_map_refuse - a key whose meaning reinject cannot honour */
static int
odk_map_refuse(struct odk_state *s, const struct odk_key *k, struct span v)
{
	return odk_err(s, k, k->note, v);
}

/* odk_map_simple - Domain, Selector, KeyFile: the single-key form */
static int
odk_map_simple(struct odk_state *s, const struct odk_key *k, struct span v)
{
	if (memchr(v.p, ',', v.len) || memchr(v.p, ':', v.len))
		return odk_err(s, k, "one value only here; several domains "
		    "need a KeyTable and a SigningTable", v);
	s->simple = true;
	return odk_set(s, k, k->native, v.p, v.len);
}

/* odk_map_keytable - KeyTable, SigningTable: data sets read unchanged */
static int
odk_map_keytable(struct odk_state *s, const struct odk_key *k, struct span v)
{
	s->keytable = true;
	return odk_set(s, k, k->native, v.p, v.len);
}

/* odk_map_hostcheck - ExternalIgnoreList: checked; it only silences a log */
static int
odk_map_hostcheck(struct odk_state *s, const struct odk_key *k, struct span v)
{
	char spec[DKIM_TABLE_LINE_MAX], e[DKIM_TABLE_ERR_MAX];
	struct dkim_hostlist *h;

	snprintf(spec, sizeof(spec), "%.*s", (int)v.len, v.p);
	if (!(h = dkim_table_host_load(spec, e, sizeof(e))))
		return odk_err(s, k, e, v);
	dkim_table_host_free(h);
	odk_note(s, k, k->note);
	return 0;
}

/* odk_map_mode - Mode s, v or sv */
static int
odk_map_mode(struct odk_state *s, const struct odk_key *k, struct span v)
{
	if (span_eq_ci(v, "sv") || span_eq_ci(v, "vs"))
		return 0;
	if (span_eq_ci(v, "v")) {
		s->verify_only = true;
		odk_note(s, k, "verify only: no signing keys are used");
		return 0;
	}
	if (span_eq_ci(v, "s"))
		return odk_err(s, k, "reinject always verifies mail from outside "
		    "InternalHosts; use \"sv\" (mail from InternalHosts is "
		    "signed, not verified)", v);
	return odk_err(s, k, "not s, v or sv", v);
}

/* odk_map_canon - "header/body" or one word (the body is then simple) */
static int
odk_map_canon(struct odk_state *s, const struct odk_key *k, struct span v)
{
	char c[32];

	if (v.len >= sizeof(c) - 8)
		return odk_err(s, k, "not simple or relaxed", v);
	if (memchr(v.p, '/', v.len))
		snprintf(c, sizeof(c), "%.*s", (int)v.len, v.p);
	else
		snprintf(c, sizeof(c), "%.*s/simple", (int)v.len, v.p);
	for (char *p = c; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return odk_set(s, k, k->native, c, strlen(c));
}

/* odk_map_algorithm - SignatureAlgorithm: rsa-sha1 refused (RFC 8301) */
static int
odk_map_algorithm(struct odk_state *s, const struct odk_key *k, struct span v)
{
	if (span_eq_ci(v, "rsa-sha256") || span_eq_ci(v, "ed25519-sha256")) {
		odk_note(s, k, k->note);
		return 0;
	}
	if (span_eq_ci(v, "rsa-sha1"))
		return odk_err(s, k, "rsa-sha1 must not be used to sign "
		    "(RFC 8301 section 3.1)", v);
	return odk_err(s, k, "not rsa-sha256 or ed25519-sha256", v);
}

/* odk_map_minbits - MinimumKeyBits: the RFC 8301 floor is always applied */
static int
odk_map_minbits(struct odk_state *s, const struct odk_key *k, struct span v)
{
	unsigned long n = 0;

	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || n > 65536)
			return odk_err(s, k, "not a number of bits", v);
		n = n * 10 + (unsigned long)(v.p[i] - '0');
	}
	if (v.len == 0)
		return odk_err(s, k, "not a number of bits", v);
	if (n > DKIM_TABLE_RSA_MIN_BITS)
		return odk_err(s, k, "a verification minimum above 1024 bits is "
		    "not supported (reinject applies RFC 8301's 1024)", v);
	odk_note(s, k, k->note);
	return 0;
}

/* odk_map_safekeys - RequireSafeKeys: only the safe setting exists */
static int
odk_map_safekeys(struct odk_state *s, const struct odk_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return odk_err(s, k, "not a boolean", v);
	if (!b)
		return odk_err(s, k, "reinject refuses key files readable by group "
		    "or other; chmod 600 them and remove this line", v);
	return 0;
}

/* odk_map_sendreports - SendReports: no DKIM failure reports are sent */
static int
odk_map_sendreports(struct odk_state *s, const struct odk_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return odk_err(s, k, "not a boolean", v);
	if (b)
		odk_note(s, k, k->note);
	return 0;
}

#define NOTE(n, text)	{ n, odk_map_note, NULL, text }
#define REFUSE(n, text)	{ n, odk_map_refuse, NULL, text }

static const struct odk_key odk_keys[] = {
	{ "Mode", odk_map_mode, NULL, NULL },
	{ "Domain", odk_map_simple, "sign_domain", NULL },
	{ "Selector", odk_map_simple, "sign_selector", NULL },
	{ "KeyFile", odk_map_simple, "sign_key_file", NULL },
	{ "KeyTable", odk_map_keytable, "key_table", NULL },
	{ "SigningTable", odk_map_keytable, "signing_table", NULL },
	{ "InternalHosts", odk_map_same, "internal_hosts", NULL },
	{ "ExternalIgnoreList", odk_map_hostcheck, NULL, "only silences OpenDKIM's "
	    "\"external host tried to send as\" log line, which reinject does not "
	    "write" },
	{ "SubDomains", odk_map_bool, "sign_subdomains", NULL },
	{ "MultipleSignatures", odk_map_bool, "multiple_signatures", NULL },
	{ "Canonicalization", odk_map_canon, "sign_canonicalization", NULL },
	{ "SignHeaders", odk_map_same, "sign_headers", NULL },
	{ "OversignHeaders", odk_map_same, "oversign_headers", NULL },
	{ "SignatureTTL", odk_map_same, "signature_ttl", NULL },
	{ "AuthservID", odk_map_same, "authserv_id", NULL },
	{ "Nameservers", odk_map_same, "dns_forwarders", NULL },
	{ "Syslog", odk_map_bool, "syslog", NULL },
	{ "SignatureAlgorithm", odk_map_algorithm, NULL, "each key signs with its "
	    "own algorithm (RSA keys rsa-sha256, Ed25519 keys ed25519-sha256)" },
	{ "MinimumKeyBits", odk_map_minbits, NULL, "RSA keys under 1024 bits never "
	    "verify (RFC 8301 section 3.2)" },
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

/* odk_find - the table entry of a key name */
static const struct odk_key *
odk_find(struct span name)
{
	for (size_t i = 0; i < ARRAY_LEN(odk_keys); i++)
		if (span_eq_ci(name, odk_keys[i].name))
			return &odk_keys[i];
	return NULL;
}

/* odk_split - comment stripped, key and value; false for an empty line */
static bool
odk_split(const char *p, size_t len, struct span *name, struct span *value)
{
	const char *hash = memchr(p, '#', len);
	struct span t;
	size_t i = 0;

	if (hash)
		len = (size_t)(hash - p);
	t = span_trim((struct span){ p, len });
	if (t.len == 0)
		return false;
	while (i < t.len && t.p[i] != ' ' && t.p[i] != '\t')
		i++;
	*name = (struct span){ t.p, i };
	*value = span_trim((struct span){ t.p + i, t.len - i });
	return true;
}

/* odk_line - one "Key value" line */
static void
odk_line(struct odk_state *s, struct span name, struct span v)
{
	const struct odk_key *k = odk_find(name);

	if (s->out)
		fprintf(s->out, "# %s:%u: %.*s %.*s\n", s->where, s->line,
		    (int)name.len, name.p, (int)v.len, v.p);
	if (k == NULL) {
		buf_printf(s->err, "%s:%u: %.*s: unknown or unsupported OpenDKIM "
		    "key\n", s->where, s->line, (int)name.len, name.p);
		s->rc = -1;
		return;
	}
	if (v.len == 0 && k->map != odk_map_note) {
		buf_printf(s->err, "%s:%u: %s: no value\n", s->where, s->line,
		    k->name);
		s->rc = -1;
		return;
	}
	if (k->map(s, k, v) < 0)
		s->rc = -1;
}

/* odk_finish - OpenDKIM's precedence: a KeyTable beats the single-key form */
static void
odk_finish(struct odk_state *s)
{
	static const char *const simple[] = { "sign_domain", "sign_selector",
	    "sign_key_file" };
	static const char *const all[] = { "key_table", "signing_table",
	    "sign_domain", "sign_selector", "sign_key_file" };
	const char *const *clear = s->verify_only ? all : simple;
	size_t n = s->verify_only ? ARRAY_LEN(all) : ARRAY_LEN(simple);

	if (!s->verify_only && !(s->keytable && s->simple))
		return;
	buf_printf(s->notes, "%s: %s\n", s->where, s->verify_only ?
	    "Mode v: the signing keys are not used" : "Domain, Selector and "
	    "KeyFile are not used when a KeyTable is set, as in OpenDKIM");
	if (s->out)
		fprintf(s->out, "# %s\n", s->verify_only ? "Mode v: no signing" :
		    "a KeyTable is set: Domain, Selector and KeyFile unused");
	for (size_t i = 0; i < n; i++) {
		config_set(&reinject_conf_schema, s->c, clear[i], strlen(clear[i]),
		    "", 0, s->err);
		if (s->out)
			fprintf(s->out, "%s =\n", clear[i]);
	}
}

/* odk_run - every line of the file through the table */
static int
odk_run(struct odk_state *s, struct buf *err)
{
	size_t len, i = 0;
	char *text = config_read_file(s->where, &len, err);

	if (text == NULL)
		return -1;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct span name, value;

		s->line++;
		if (odk_split(text + i, end - i, &name, &value))
			odk_line(s, name, value);
		i = end + 1;
	}
	odk_finish(s);
	free(text);
	return s->rc;
}

/* reinject_opendkim_load - apply an opendkim.conf to c */
int
reinject_opendkim_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err)
{
	struct odk_state s = { .c = c, .where = path, .notes = notes, .err = err };

	return odk_run(&s, err);
}

/* reinject_opendkim_import - the reinject.conf equivalent, commented */
int
reinject_opendkim_import(const char *path, FILE *out, struct buf *err)
{
	struct reinject_conf c;
	struct buf notes;
	struct odk_state s = { .c = &c, .where = path, .err = err, .out = out };
	int rc;

	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	buf_init(&notes, CONFIG_ERROR_LIMIT);
	s.notes = &notes;
	fprintf(out, "# reinject.conf equivalent of %s\n", path);
	rc = odk_run(&s, err);
	buf_clear(&notes);
	config_free(&reinject_conf_schema, &c);
	return rc;
}

/* reinject_opendkim_detect - first setting a known OpenDKIM key, no "=" */
bool
reinject_opendkim_detect(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		struct span name, value;

		if (odk_split(p + i, end - i, &name, &value))
			return !memchr(p + i, '=', end - i) && odk_find(name) != NULL;
		i = end + 1;
	}
	return false;
}

/* reinject_opendkim_import_main - "reinject import FILE...": 0, 1 on errors */
int
reinject_opendkim_import_main(int argc, char **argv)
{
	struct buf err;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: reinject import opendkim.conf...\n");
		return 2;
	}
	buf_init(&err, CONFIG_ERROR_LIMIT);
	for (int i = 1; i < argc; i++)
		if (reinject_opendkim_import(argv[i], stdout, &err) < 0)
			rc = 1;
	fputs(buf_cstr(&err), stderr);
	buf_clear(&err);
	return rc;
}
