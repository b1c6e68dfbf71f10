/*
 * reinject_opendmarc.c - read OpenDMARC's opendmarc.conf(5) as it stands
 * (reinject_foreign.h for the syntax), each key mapped onto the reinject.conf
 * DMARC setting (RFC 9989 evaluation, reinject_dmarc.h) with the same meaning.
 *
 * OpenDMARC enforces nothing unless told: before the file is read, failing
 * mail is accepted (dmarc_reject_action and dmarc_quarantine_action =
 * accept), as OpenDMARC's defaults RejectFailures false and
 * HoldQuarantinedMessages false do; the file and reinject.conf then change
 * that.  RejectFailures becomes reject_or_hold: a 550 where the client is
 * still connected (a proxy listener, the milter), a hold after the queue,
 * where a 550 would bounce to a forged sender; an evaluation that could not
 * complete is temp-failed, as OpenDMARC does.
 */
#include <stdlib.h>
#include <string.h>

#include "reinject_foreign.h"

/* odm_bool - parse an OpenDMARC boolean; -1 after the error */
static int
odm_bool(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v, bool *b)
{
	if (config_parse_bool(v.p, v.len, b) < 0)
		return reinject_foreign_err(s, k, "not a boolean", v);
	return 0;
}

/* odm_map_authservid - "HOSTNAME" is the host name, reinject's default */
static int
odm_map_authservid(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	if (span_eq_ci(v, "HOSTNAME"))
		return 0;
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* odm_map_action - RejectFailures / HoldQuarantinedMessages */
static int
odm_map_action(struct reinject_foreign *s, const struct reinject_foreign_key *k,
    struct span v)
{
	bool b;

	if (odm_bool(s, k, v, &b) < 0)
		return -1;
	if (b && k->note)
		reinject_foreign_note(s, k, k->note);
	return reinject_foreign_set(s, k, k->native, b ? "hold" : "accept",
	    b ? 4 : 6);
}

/* odm_map_rejectfailures - RejectFailures: mode-aware reject, and tempfail */
static int
odm_map_rejectfailures(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (odm_bool(s, k, v, &b) < 0)
		return -1;
	if (b)
		reinject_foreign_note(s, k, k->note);
	if (reinject_foreign_set(s, k, "dmarc_temperror_action",
	    b ? "tempfail" : "accept", b ? 8 : 6) < 0)
		return -1;
	return reinject_foreign_set(s, k, k->native, b ? "reject_or_hold" : "accept",
	    b ? 14 : 6);
}

/* odm_map_checked_note - a boolean, then its note (true or false alike) */
static int
odm_map_checked_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (odm_bool(s, k, v, &b) < 0)
		return -1;
	reinject_foreign_note(s, k, k->note);
	return 0;
}

/* odm_map_only_false - a feature reinject lacks: false accepted, true refused */
static int
odm_map_only_false(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (odm_bool(s, k, v, &b) < 0)
		return -1;
	return b ? reinject_foreign_err(s, k, k->note, v) : 0;
}

/* odm_hosts_line - one IgnoreHosts entry, comment stripped, into list */
static void
odm_hosts_line(const char *p, size_t len, struct buf *list)
{
	const char *hash = memchr(p, '#', len);
	struct span t;

	if (hash)
		len = (size_t)(hash - p);
	t = span_trim((struct span){ p, len });
	if (t.len == 0)
		return;
	if (list->len)
		buf_append(list, ", ", 2);
	buf_append(list, t.p, t.len);
}

/* odm_map_ignorehosts - the file's hosts: evaluated, never enforced */
static int
odm_map_ignorehosts(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	char *path = xmemdup0(v.p, v.len), *text;
	struct buf list, e;
	size_t len, i = 0;
	int rc;

	buf_init(&e, CONFIG_ERROR_LIMIT);
	text = config_read_file(path, &len, &e);
	free(path);
	if (text == NULL) {
		if (e.len && e.data[e.len - 1] == '\n')
			buf_truncate(&e, e.len - 1);	/* one message, one line */
		rc = reinject_foreign_err(s, k, buf_cstr(&e), v);
		buf_clear(&e);
		return rc;
	}
	buf_clear(&e);
	buf_init(&list, CONFIG_LINE_LIMIT);
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;

		odm_hosts_line(text + i, end - i, &list);
		i = end + 1;
	}
	free(text);
	reinject_foreign_note(s, k, k->note);
	rc = reinject_foreign_set(s, k, k->native, list.data ? list.data : "",
	    list.len);
	buf_clear(&list);
	return rc;
}

#define NOTE(n, t)	REINJECT_FOREIGN_NOTE(n, t)
#define REFUSE(n, t)	REINJECT_FOREIGN_REFUSE(n, t)

static const struct reinject_foreign_key odm_keys[] = {
	{ "AuthservID", odm_map_authservid, "authserv_id", NULL },
	{ "TrustedAuthservIDs", reinject_foreign_map_same, "trusted_authserv_ids",
	    NULL },
	{ "RejectFailures", odm_map_rejectfailures, "dmarc_reject_action", "failing "
	    "mail under p=reject gets 550 on a proxy listener and in milter mode "
	    "and is held after the queue (never bounced); a temperror is "
	    "temp-failed" },
	{ "HoldQuarantinedMessages", odm_map_action, "dmarc_quarantine_action",
	    NULL },
	{ "SPFIgnoreResults", reinject_foreign_map_bool, "dmarc_spf_self", NULL },
	{ "SPFSelfValidate", odm_map_checked_note, NULL, "reinject evaluates SPF "
	    "itself whenever the MTA recorded no result" },
	{ "IgnoreAuthenticatedClients", odm_map_checked_note, NULL, "milter mode: "
	    "mail of SASL clients ({auth_authen}) is signed, never DMARC-evaluated; "
	    "content_filter and proxy listeners are not told of SASL (XFORWARD has "
	    "no login): send submission to a sign listener" },
	{ "RequiredHeaders", reinject_foreign_map_bool, "dmarc_required_headers",
	    NULL },
	{ "IgnoreMailFrom", reinject_foreign_map_same, "dmarc_ignore_from_domains",
	    NULL },
	{ "IgnoreHosts", odm_map_ignorehosts, "dmarc_trusted_forwarders", "mail "
	    "from these hosts is evaluated and reported, never held or rejected" },
	{ "Syslog", reinject_foreign_map_bool, "syslog", NULL },
	{ "FailureReports", odm_map_only_false, NULL, "DMARC failure reports "
	    "are not sent by this version" },
	NOTE("FailureReportsBcc", "acts only with FailureReports"),
	NOTE("FailureReportsOnNone", "acts only with FailureReports"),
	NOTE("FailureReportsSentBy", "acts only with FailureReports"),
	REFUSE("HistoryFile", "aggregate report history is not written by this "
	    "version; opendmarc-import and opendmarc-reports need OpenDMARC"),
	REFUSE("CopyFailuresTo", "not supported: after the queue the recipients "
	    "are already with Postfix when DMARC is known; use dmarc_reject_action "
	    "= redirect and a header_checks REDIRECT, or BCC in header_checks"),
	NOTE("PublicSuffixList", "RFC 9989 finds the organizational domain by "
	    "a DNS tree walk; no list is read"),
	NOTE("SoftwareHeader", "reinject adds no DMARC-Filter field"),
	NOTE("AuthservIDWithJobID", "Authentication-Results carries the "
	    "authserv-id alone"),
	NOTE("Socket", "reinject listens as reinject.conf's listen says "
	    "(content_filter or smtpd_proxy_filter); remove the milter from "
	    "smtpd_milters"),
	NOTE("PidFile", "the systemd unit tracks reinject's master process"),
	NOTE("UserID", "reinject runs as reinject.conf's user"),
	NOTE("UMask", "reinject creates its spool files mode 0600"),
	NOTE("Background", "the systemd unit runs reinject in the foreground"),
	NOTE("AutoRestart", "reinject's master replaces dead workers; systemd "
	    "restarts the master"),
	NOTE("AutoRestartCount", "reinject's master replaces dead workers"),
	NOTE("AutoRestartRate", "reinject's master replaces dead workers"),
	NOTE("SyslogFacility", "reinject logs to the mail facility"),
	NOTE("BaseDirectory", "reinject's working directory is its spool"),
};

/* odm_defaults - OpenDMARC enforces nothing unless the file says so */
static void
odm_defaults(struct reinject_foreign *s)
{
	if (s->out)
		fprintf(s->out, "# OpenDMARC's defaults (RejectFailures and "
		    "HoldQuarantinedMessages false)\n");
	reinject_foreign_force(s, "dmarc_reject_action", "accept");
	reinject_foreign_force(s, "dmarc_quarantine_action", "accept");
}

/* reinject_opendmarc_load - apply an opendmarc.conf to c */
int
reinject_opendmarc_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out)
{
	struct reinject_foreign s = { .c = c, .format = "OpenDMARC", .where = path,
	    .notes = notes, .err = err, .out = out, .keys = odm_keys,
	    .nkeys = ARRAY_LEN(odm_keys) };

	odm_defaults(&s);
	return reinject_foreign_run(&s);
}

/* reinject_opendmarc_detect - first setting an OpenDMARC key, without "=" */
bool
reinject_opendmarc_detect(const char *p, size_t len)
{
	return reinject_foreign_detect(odm_keys, ARRAY_LEN(odm_keys), p, len);
}

/* reinject_opendmarc_misfit - settings of (p, len) this reader does not know */
size_t
reinject_opendmarc_misfit(const char *p, size_t len)
{
	return reinject_foreign_misfit(odm_keys, ARRAY_LEN(odm_keys), p, len);
}
