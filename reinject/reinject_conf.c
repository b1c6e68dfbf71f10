/*
 * reinject_conf.c - reinject.conf(5): the settings table and its checks.
 *
 * Every limit is a named key with its default, minimum and maximum, declared
 * once here; man/reinject.conf.5 documents each (a unit test compares them).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "milter.h"
#include "log.h"
#include "metrics.h"
#include "reinject.h"


static const struct config_enum reinject_conf_bare_nl[] = {
	{ "normalize", REINJECT_BARE_NL_NORMALIZE },
	{ "refuse", REINJECT_BARE_NL_REFUSE },
	{ NULL, 0 },
};

static const struct config_enum reinject_conf_long_line[] = {
	{ "fold", REINJECT_LONG_LINE_FOLD },
	{ "refuse", REINJECT_LONG_LINE_REFUSE },
	{ NULL, 0 },
};

static const struct config_enum reinject_conf_nul[] = {
	{ "strip", REINJECT_NUL_STRIP },
	{ "refuse", REINJECT_NUL_REFUSE },
	{ NULL, 0 },
};

static const struct config_enum reinject_conf_milter_spf[] = {
	{ "no", REINJECT_MILTER_SPF_NO },
	{ "rcpt", REINJECT_MILTER_SPF_RCPT },
	{ "data", REINJECT_MILTER_SPF_DATA },
	{ NULL, 0 },
};

static const struct config_enum reinject_conf_canon[] = {
	{ "simple/simple", REINJECT_CANON_SIMPLE_SIMPLE },
	{ "simple/relaxed", REINJECT_CANON_SIMPLE_RELAXED },
	{ "relaxed/simple", REINJECT_CANON_RELAXED_SIMPLE },
	{ "relaxed/relaxed", REINJECT_CANON_RELAXED_RELAXED },
	{ NULL, 0 },
};

/* reinject_conf_sign_headers - a signed list must hold From (RFC 6376 §5.4) */
static int
reinject_conf_sign_headers(const void *field, struct buf *err)
{
	const struct config_list *l = field;

	if (l->count == 0 || config_list_has_ci(l, "From", 4))
		return 0;
	buf_printf(err, "the signed header fields must include From "
	    "(RFC 6376 section 5.4)");
	return -1;
}

static const struct config_key reinject_conf_keys[] = {
	CONFIG_KEY_LIST("listen", struct reinject_conf, listen, "127.0.0.1:10025 verify",
	    "address:port (or unix:/path, inet:addr:port) followed by its mode (verify, sign, proxy or milter), comma separated"),
	CONFIG_KEY_STRING("downstream", struct reinject_conf, downstream, "127.0.0.1:10026",
	    "address:port of Postfix's re-injection smtpd"),
	CONFIG_KEY_STRING("myhostname", struct reinject_conf, myhostname, "",
	    "name in the greeting and EHLO; empty: the system host name"),
	CONFIG_KEY_STRING("authserv_id", struct reinject_conf, authserv_id, "",
	    "authserv-id of Authentication-Results; empty: myhostname"),
	CONFIG_KEY_INT("worker_processes", struct reinject_conf, worker_processes, "2", 1, 64,
	    "pre-forked processes sharing the listeners"),
	CONFIG_KEY_STRING_CHECK("metrics_listen", struct reinject_conf, metrics_listen, "",
	    metrics_listen_check, "addr:port of the Prometheus metrics endpoint; empty: off"),
	METRICS_CONFIG_KEYS(struct reinject_conf, metrics),
	CONFIG_KEY_STRING("user", struct reinject_conf, user, "mailauth",
	    "account to run as after binding (when started as root)"),
	CONFIG_KEY_STRING("spool_directory", struct reinject_conf, spool_directory,
	    "/var/spool/reinject", "where messages over spool_memory_limit are held"),
	CONFIG_KEY_SIZE("spool_memory_limit", struct reinject_conf, spool_memory_limit, "256k", 0,
	    1LL << 30, "message bytes held in memory before spooling to a file"),
	CONFIG_KEY_SIZE("message_size_limit", struct reinject_conf, message_size_limit, "100m", 1024,
	    1LL << 40, "largest message accepted (SIZE announced), bytes"),
	CONFIG_KEY_SIZE("header_size_limit", struct reinject_conf, header_size_limit, "1m", 4096,
	    1LL << 30, "largest header section held in memory, bytes"),
	CONFIG_KEY_SIZE("header_memory_limit", struct reinject_conf, header_memory_limit, "64m",
	    4096, 1LL << 36, "header bytes held by all sessions of a worker; more get 452 4.3.1"),
	CONFIG_KEY_INT("line_length_limit", struct reinject_conf, line_length_limit, "2048",
	    SMTP_COMMAND_LINE_MIN, 65536, "longest SMTP command line, bytes"),
	CONFIG_KEY_INT("recipient_limit", struct reinject_conf, recipient_limit, "1000", 1, 100000,
	    "recipients per transaction; more get 452 4.5.3"),
	CONFIG_KEY_INT("session_limit", struct reinject_conf, session_limit, "200", 1, 100000,
	    "concurrent sessions per worker process; more get 421 4.3.2"),
	CONFIG_KEY_INT("error_limit", struct reinject_conf, error_limit, "20", 1, 1000,
	    "errors in a session before it is closed with 421"),
	CONFIG_KEY_TIME("command_timeout", struct reinject_conf, command_timeout, "300s", 1, 3600,
	    "wait for the next upstream command"),
	CONFIG_KEY_TIME("data_timeout", struct reinject_conf, data_timeout, "300s", 1, 3600,
	    "wait for more upstream DATA bytes"),
	CONFIG_KEY_TIME("downstream_connect_timeout", struct reinject_conf, downstream_connect_timeout,
	    "30s", 1, 300, "connect and greeting of the downstream smtpd"),
	CONFIG_KEY_TIME("downstream_command_timeout", struct reinject_conf, downstream_command_timeout,
	    "120s", 1, 500, "downstream reply to one command"),
	CONFIG_KEY_TIME("downstream_data_timeout", struct reinject_conf, downstream_data_timeout,
	    "300s", 1, 500, "downstream reply to the end of DATA"),
	CONFIG_KEY_TIME("dkim_timeout", struct reinject_conf, dkim_timeout, "60s", 1, 300,
	    "budget for the DNS key lookups of one message"),
	CONFIG_KEY_TIME("drain_timeout", struct reinject_conf, drain_timeout, "120s", 0, 3600,
	    "after SIGTERM or SIGHUP, how long old sessions may finish"),
	CONFIG_KEY_ENUM("bare_newline_action", struct reinject_conf, bare_newline_action, "normalize",
	    reinject_conf_bare_nl, "bare CR or LF in DATA: normalize or refuse"),
	CONFIG_KEY_ENUM("long_line_action", struct reinject_conf, long_line_action, "fold",
	    reinject_conf_long_line, "lines over 998 octets: fold or refuse"),
	CONFIG_KEY_ENUM("nul_byte_action", struct reinject_conf, nul_byte_action, "strip",
	    reinject_conf_nul, "NUL bytes in DATA: strip or refuse"),
	CONFIG_KEY_STRING("key_table", struct reinject_conf, key_table, "",
	    "OpenDKIM KeyTable data set; empty: the sign_* simple form"),
	CONFIG_KEY_STRING("signing_table", struct reinject_conf, signing_table, "",
	    "OpenDKIM SigningTable (file: or refile:)"),
	CONFIG_KEY_STRING("internal_hosts", struct reinject_conf, internal_hosts, "127.0.0.1, ::1",
	    "clients (XFORWARD ADDR/NAME) whose mail is signed; empty: none"),
	CONFIG_KEY_STRING("sign_domain", struct reinject_conf, sign_domain, "",
	    "simple form: the domain to sign for"),
	CONFIG_KEY_STRING("sign_selector", struct reinject_conf, sign_selector, "",
	    "simple form: the selector"),
	CONFIG_KEY_STRING("sign_key_file", struct reinject_conf, sign_key_file, "",
	    "simple form: the private key file"),
	CONFIG_KEY_BOOL("multiple_signatures", struct reinject_conf, multiple_signatures, "no",
	    "add a signature for every matching SigningTable entry"),
	CONFIG_KEY_BOOL("sign_subdomains", struct reinject_conf, sign_subdomains, "no",
	    "simple form: sign for subdomains of sign_domain too"),
	CONFIG_KEY_ENUM("sign_canonicalization", struct reinject_conf, sign_canonicalization,
	    "relaxed/relaxed", reinject_conf_canon, "c= of the signatures made: header/body"),
	CONFIG_KEY_LIST_CHECK("sign_headers", struct reinject_conf, sign_headers, "",
	    reinject_conf_sign_headers, "header fields signed (h=); empty: the built-in list"),
	CONFIG_KEY_LIST("oversign_headers", struct reinject_conf, oversign_headers, "",
	    "fields signed once more than present; empty: the built-in list"),
	CONFIG_KEY_TIME("signature_ttl", struct reinject_conf, signature_ttl, "0", 0,
	    10 * 365 * 86400, "x= lifetime of the signatures made; 0: no x="),
	CONFIG_KEY_INT("dkim_min_key_bits", struct reinject_conf, dkim_min_key_bits, "1024",
	    1024, 4096, "RSA keys shorter than this fail verification (RFC 8301)"),
	CONFIG_KEY_INT("dkim_signature_limit", struct reinject_conf, dkim_signature_limit,
	    "10", 1, REINJECT_DKIM_RESULT_LIMIT,
	    "signatures verified per message, from the top; the rest are neutral"),
	CONFIG_KEY_LIST("omit_headers", struct reinject_conf, omit_headers, "",
	    "header fields never signed (From is always signed)"),
	CONFIG_KEY_STRING("peer_hosts", struct reinject_conf, peer_hosts, "",
	    "clients (XFORWARD or milter ADDR/NAME) whose mail passes with no check at all"),
	CONFIG_KEY_ENUM("dkim_bad_signature_action", struct reinject_conf,
	    dkim_bad_signature_action, "accept", reinject_onaction_names,
	    "no signature passed, the first failed: accept, reject, tempfail, discard, quarantine"),
	CONFIG_KEY_ENUM("dkim_dns_error_action", struct reinject_conf,
	    dkim_dns_error_action, "accept", reinject_onaction_names,
	    "no signature passed, the first one's key lookup failed temporarily"),
	CONFIG_KEY_ENUM("dkim_internal_error_action", struct reinject_conf,
	    dkim_internal_error_action, "accept", reinject_onaction_names,
	    "the verifier could not take the message (not a DKIM result)"),
	CONFIG_KEY_ENUM("dkim_key_not_found_action", struct reinject_conf,
	    dkim_key_not_found_action, "accept", reinject_onaction_names,
	    "no signature passed, the first one's key record does not exist"),
	CONFIG_KEY_ENUM("dkim_no_signature_action", struct reinject_conf,
	    dkim_no_signature_action, "accept", reinject_onaction_names,
	    "verified mail without a DKIM-Signature"),
	CONFIG_KEY_ENUM("dkim_security_action", struct reinject_conf,
	    dkim_security_action, "accept", reinject_onaction_names,
	    "no signature passed, the first one refused as unsafe (l=, x=, RFC 8301)"),
	CONFIG_KEY_ENUM("sign_error_action", struct reinject_conf, sign_error_action,
	    "tempfail", reinject_onaction_names,
	    "mail to sign that cannot be signed (key unusable)"),
	CONFIG_KEY_TIME("dkim_rollover_check_interval", struct reinject_conf,
	    dkim_rollover_check_interval, "10m", 1, 86400,
	    "how often a key waiting to be rolled over has its record looked up"),
	CONFIG_KEY_TIME("dkim_rollover_keep_time", struct reinject_conf,
	    dkim_rollover_keep_time, "7d", 0, 365 * 86400,
	    "how long the old record stays published after a rollover"),
	CONFIG_KEY_STRING("opendkim_config", struct reinject_conf, opendkim_config, "",
	    "opendkim.conf read first, as OpenDKIM reads it"),
	CONFIG_KEY_STRING("opendmarc_config", struct reinject_conf, opendmarc_config, "",
	    "opendmarc.conf read first, as OpenDMARC reads it"),
	CONFIG_KEY_STRING("dns_resolv_conf", struct reinject_conf, dns_resolv_conf, "",
	    "resolv.conf for DKIM key lookups; empty: /etc/resolv.conf"),
	CONFIG_KEY_LIST("dns_forwarders", struct reinject_conf, dns_forwarders, "",
	    "addr or addr@port to forward DNS queries to, instead of resolv.conf"),
	CONFIG_KEY_BOOL("syslog", struct reinject_conf, syslog, "yes",
	    "log to syslog (mail facility); no: standard error"),
	REINJECT_ARC_CONF_KEYS(struct reinject_conf, arc),
	CONFIG_KEY_SIZE("milter_packet_size_limit", struct reinject_conf, milter_packet_size_limit,
	    "1m", MILTER_PACKET_SIZE_MIN, MILTER_PACKET_SIZE_MAX,
	    "largest milter packet accepted; a longer one closes the connection"),
	CONFIG_KEY_SIZE("milter_macro_size_limit", struct reinject_conf, milter_macro_size_limit,
	    "4k", 64, 65536, "longest milter macro value; a longer one closes the connection"),
	CONFIG_KEY_INT("milter_connection_limit", struct reinject_conf, milter_connection_limit,
	    "100", 1, 100000, "concurrent milter connections per worker process; more are closed"),
	CONFIG_KEY_TIME("milter_message_timeout", struct reinject_conf, milter_message_timeout,
	    "240s", 1, 3600, "milter: from the first header to the final reply of a message"),
	CONFIG_KEY_ENUM("milter_spf_reject", struct reinject_conf, milter_spf_reject, "no",
	    reinject_conf_milter_spf, "milter: refuse an SPF fail at rcpt or at the end of data, or no"),
	CONFIG_KEY_BOOL("milter_spf_temperror_tempfail", struct reinject_conf,
	    milter_spf_temperror_tempfail, "no",
	    "milter: with milter_spf_reject, answer an SPF temperror with 451 4.7.24"),
	CONFIG_KEY_STRING("milter_redirect_recipient", struct reinject_conf,
	    milter_redirect_recipient, "",
	    "milter: the redirect action replaces the recipients with this address; empty: hold"),
	CONFIG_KEY_SIZE("milter_recipient_size_limit", struct reinject_conf,
	    milter_recipient_size_limit, "64k", 1024, 16 * 1024 * 1024,
	    "milter: recipient bytes kept per message for redirect; beyond, redirect holds"),
	CONFIG_KEY_LIST("milter_sign_daemons", struct reinject_conf, milter_sign_daemons, "",
	    "milter: {daemon_name} values whose mail is signed (as OpenDKIM's MTA)"),
	REINJECT_DMARC_CONF_KEYS(struct reinject_conf, dmarc),
	REINJECT_IPREV_CONF_KEYS(struct reinject_conf, iprev),
	REINJECT_REPORT_CONF_KEYS(struct reinject_conf, report),
};


/* reinject_conf_mode - "verify" / "sign" / "milter" / "proxy" */
static int
reinject_conf_mode(const char *s, enum reinject_mode *m)
{
	if (strcasecmp(s, "verify") == 0)
		*m = REINJECT_MODE_VERIFY;
	else if (strcasecmp(s, "sign") == 0)
		*m = REINJECT_MODE_SIGN;
	else if (strcasecmp(s, "milter") == 0)
		*m = REINJECT_MODE_MILTER;
	else if (strcasecmp(s, "proxy") == 0)
		*m = REINJECT_MODE_PROXY;
	else
		return -1;
	return 0;
}

/* reinject_conf_listeners - pair addresses with their optional mode word */
static int
reinject_conf_listeners(const struct config_list *l,
    struct reinject_listener *out, size_t *n, struct buf *err)
{
	*n = 0;
	for (size_t i = 0; i < l->count; i++) {
		enum reinject_mode m;

		if (reinject_conf_mode(l->items[i], &m) == 0) {
			if (*n == 0) {
				buf_printf(err, "listen: mode \"%s\" before any address",
				    l->items[i]);
				return -1;
			}
			out[*n - 1].mode = m;
			continue;
		}
		if (!strrchr(l->items[i], ':')) {
			buf_printf(err, "listen: \"%s\" is not address:port", l->items[i]);
			return -1;
		}
		if (*n == REINJECT_LISTEN_LIMIT) {
			buf_printf(err, "listen: more than %d listeners",
			    REINJECT_LISTEN_LIMIT);
			return -1;
		}
		out[*n].addr = l->items[i];
		out[*n].mode = REINJECT_MODE_VERIFY;
		out[*n].fd = -1;
		(*n)++;
	}
	if (*n == 0) {
		buf_printf(err, "listen: no address");
		return -1;
	}
	return 0;
}

/* reinject_conf_validate - cross-key checks */
static int
reinject_conf_validate(const void *dst, struct buf *err)
{
	const struct reinject_conf *c = dst;
	struct reinject_listener tmp[REINJECT_LISTEN_LIMIT];
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	size_t n;

	if (reinject_conf_listeners(&c->listen, tmp, &n, err) < 0)
		return -1;
	/* else one message's header section alone would be deferred for ever */
	if (c->header_memory_limit < c->header_size_limit) {
		buf_printf(err, "header_memory_limit must be at least header_size_limit");
		return -1;
	}
	/* The final reply must come before Postfix gives up and redelivers. */
	if (c->dkim_timeout + c->downstream_data_timeout +
	    c->downstream_command_timeout >= REINJECT_POSTFIX_DATA_DONE_TIMEOUT) {
		buf_printf(err, "dkim_timeout + downstream_data_timeout + "
		    "downstream_command_timeout must stay below Postfix's "
		    "smtp_data_done_timeout (%d s)", REINJECT_POSTFIX_DATA_DONE_TIMEOUT);
		return -1;
	}
	/* parsed as the client will connect: numeric, no name lookup */
	if (evutil_parse_sockaddr_port(c->downstream, (struct sockaddr *)&ss, &sslen) < 0) {
		buf_printf(err, "downstream: \"%s\" is not a numeric address:port "
		    "(127.0.0.1:10026, [::1]:10026)", c->downstream);
		return -1;
	}
	return 0;
}

const struct config_schema reinject_conf_schema = {
	"reinject.conf", reinject_conf_keys, ARRAY_LEN(reinject_conf_keys),
	reinject_conf_validate,
};

/* reinject_conf_notes - one log line per note of a foreign file */
static void
reinject_conf_notes(const char *notes)
{
	while (*notes) {
		const char *nl = strchr(notes, '\n');
		int n = nl ? (int)(nl - notes) : (int)strlen(notes);

		log_info("%.*s", n, notes);
		notes += n + (nl != NULL);
	}
}

/* reinject_conf_foreign_files - opendkim_config then opendmarc_config */
static int
reinject_conf_foreign_files(struct reinject_conf *c, char *odk, char *odm,
    struct buf *err)
{
	struct buf notes;
	int rc = 0;

	buf_init(&notes, CONFIG_ERROR_LIMIT);
	if (odk && reinject_opendkim_load(c, odk, &notes, err, NULL) < 0)
		rc = -1;
	if (odm && reinject_opendmarc_load(c, odm, &notes, err, NULL) < 0)
		rc = -1;
	reinject_conf_notes(buf_cstr(&notes));
	buf_clear(&notes);
	free(odk);
	free(odm);
	return rc;
}

/*
 * reinject_conf_foreign - path as reinject.conf, with its opendkim_config and
 * opendmarc_config read first (reinject.conf overrides them); or path itself
 * an opendkim.conf or opendmarc.conf
 */
static int
reinject_conf_foreign(struct reinject_conf *c, const char *path, struct buf *err)
{
	struct buf first;
	char *odk, *odm;
	int rc;

	if (reinject_foreign_is(path)) {
		buf_init(&first, CONFIG_ERROR_LIMIT);
		rc = reinject_foreign_load(c, path, &first, err, NULL);
		reinject_conf_notes(buf_cstr(&first));
		buf_clear(&first);
		return rc;
	}
	/* errors of this first pass are reported by the second */
	buf_init(&first, CONFIG_ERROR_LIMIT);
	rc = config_load_file(&reinject_conf_schema, c, path, &first);
	if (!c->opendkim_config[0] && !c->opendmarc_config[0]) {
		buf_append(err, first.data, first.len);
		buf_clear(&first);
		return rc;
	}
	buf_clear(&first);
	odk = c->opendkim_config[0] ? xstrdup(c->opendkim_config) : NULL;
	odm = c->opendmarc_config[0] ? xstrdup(c->opendmarc_config) : NULL;
	config_free(&reinject_conf_schema, c);
	memset(c, 0, sizeof(*c));
	config_init(&reinject_conf_schema, c);
	rc = reinject_conf_foreign_files(c, odk, odm, err);
	/* reloaded even after errors, so -t lists those of every file */
	if (config_load_file(&reinject_conf_schema, c, path, err) < 0)
		rc = -1;
	return rc;
}

/* reinject_conf_load - defaults, then path (if any) */
int
reinject_conf_load(struct reinject_conf *c, const char *path, struct buf *err)
{
	char host[256];

	memset(c, 0, sizeof(*c));
	config_init(&reinject_conf_schema, c);
	if (path && reinject_conf_foreign(c, path, err) < 0)
		return -1;
	if (reinject_conf_listeners(&c->listen, c->listeners, &c->nlisteners,
	    err) < 0)
		return -1;
	if (!c->myhostname[0]) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		free(c->myhostname);
		c->myhostname = xstrdup(host);
	}
	if (!c->authserv_id[0]) {
		free(c->authserv_id);
		c->authserv_id = xstrdup(c->myhostname);
	}
	return 0;
}

/* reinject_conf_free - release */
void
reinject_conf_free(struct reinject_conf *c)
{
	config_free(&reinject_conf_schema, c);
	memset(c, 0, sizeof(*c));
}
