/*
 * policyd_config.c - the settings of policyd.conf, declared once in a table.
 *
 * Every key, its default, limits and one-line doc live in policyd_keys[];
 * man/policyd.conf.5 documents each of them (a unit test checks it).  A file
 * in pypolicyd-spf's format is recognised and mapped by policyd_pyspf.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "util.h"

#define PC struct policyd_config

static const struct config_enum policyd_reject_names[] = {
	{ "fail", POLICYD_REJECT_FAIL },
	{ "softfail", POLICYD_REJECT_SOFTFAIL },
	{ "not_pass", POLICYD_REJECT_NOT_PASS },
	{ "null", POLICYD_REJECT_NULL },
	{ "never", POLICYD_REJECT_NEVER },
	{ "no_check", POLICYD_REJECT_NO_CHECK },
	{ NULL, 0 },
};

static const struct config_enum policyd_header_names[] = {
	{ "spf", POLICYD_HEADER_SPF },
	{ "ar", POLICYD_HEADER_AR },
	{ "both", POLICYD_HEADER_BOTH },
	{ "none", POLICYD_HEADER_NONE },
	{ NULL, 0 },
};

static const struct config_enum policyd_iprev_names[] = {
	{ "none", POLICYD_IPREV_NONE },
	{ "defer", POLICYD_IPREV_DEFER },
	{ "reject", POLICYD_IPREV_REJECT },
	{ NULL, 0 },
};

static const struct config_enum policyd_skip_names[] = {
	{ "dunno", POLICYD_SKIP_DUNNO },
	{ "comment", POLICYD_SKIP_COMMENT },
	{ NULL, 0 },
};

/* policyd_listen_valid - "unix:/abs/path" or "inet:host:port" */
static bool
policyd_listen_valid(const char *s)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/';
	if (strncmp(s, "inet:", 5) != 0 || (colon = strrchr(s + 5, ':')) == NULL ||
	    colon == s + 5)
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port > 0 && port < 65536;
}

/* policyd_config_check_listen - at least one socket, each well-formed */
static int
policyd_config_check_listen(const void *field, struct buf *err)
{
	const struct config_list *l = field;

	if (l->count == 0) {
		buf_append_str(err, "listen: no socket to serve");
		return -1;
	}
	for (size_t i = 0; i < l->count; i++) {
		if (!policyd_listen_valid(l->items[i])) {
			buf_printf(err, "listen: bad socket \"%s\" (unix:/path or "
			    "inet:host:port)", l->items[i]);
			return -1;
		}
	}
	return 0;
}

/* policyd_config_check_networks - every item an address or CIDR network */
static int
policyd_config_check_networks(const void *field, struct buf *err)
{
	const struct config_list *l = field;

	for (size_t i = 0; i < l->count; i++) {
		if (!policyd_cidr_valid(l->items[i])) {
			buf_printf(err, "skip_addresses: bad network \"%s\"", l->items[i]);
			return -1;
		}
	}
	return 0;
}

/* policyd_domain_valid - a domain name: 1..253 octets, labels 1..63 (RFC 1035 §2.3.4) */
static bool
policyd_domain_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '.') {
			if (++label > 63)
				return false;
		} else if (label == 0) {
			return false;
		} else {
			label = 0;
		}
	}
	return label > 0;
}

/*
 * policyd_config_check_domains - whitelist_spf_domains: every item a domain; the
 * forwarder check evaluates postmaster@<item>, which must name the item itself
 */
static int
policyd_config_check_domains(const void *field, struct buf *err)
{
	const struct config_list *l = field;

	for (size_t i = 0; i < l->count; i++) {
		if (!policyd_domain_valid(l->items[i])) {
			buf_printf(err, "whitelist_spf_domains: bad domain name \"%s\" "
			    "(at most 253 octets, labels of 1 to 63)", l->items[i]);
			return -1;
		}
	}
	return 0;
}

/* policyd_config_check_restriction - empty, or a Postfix restriction class name */
static int
policyd_config_check_restriction(const void *field, struct buf *err)
{
	const char *s = *(char *const *)field;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("_-.", s[i]) == NULL) {
			buf_printf(err, "bad restriction class name \"%s\" (letters, "
			    "digits, \"_\", \"-\", \".\")", s);
			return -1;
		}
	}
	return 0;
}

/* policyd_config_validate - cross-key checks */
static int
policyd_config_validate(const void *dst, struct buf *err)
{
	const struct policyd_config *c = dst;

	if (c->mail_from_reject == POLICYD_REJECT_NULL) {
		buf_append_str(err, "mail_from_reject: \"null\" applies to helo_reject only");
		return -1;
	}
	return 0;
}

static const struct config_key policyd_keys[] = {
	/* service */
	CONFIG_KEY_LIST_CHECK("listen", PC, listen, "inet:127.0.0.1:10040",
	    policyd_config_check_listen, "sockets to serve: unix:/path and/or inet:host:port"),
	CONFIG_KEY_STRING("user", PC, user, "mailauth",
	    "unprivileged user to run as after binding (required when started as root)"),
	CONFIG_KEY_OCTAL("unix_socket_mode", PC, unix_socket_mode, "0666", 0, 0777,
	    "permissions of unix sockets"),
	CONFIG_KEY_INT("connection_limit", PC, connection_limit, "1000", 1, 100000,
	    "concurrent client connections; more are refused"),
	CONFIG_KEY_INT("worker_processes", PC, worker_processes, "1", 1,
	    POLICYD_WORKER_LIMIT, "processes serving the listeners; above 1 a master "
	    "supervises them and each has its own result cache"),
	CONFIG_KEY_TIME("idle_timeout", PC, idle_timeout, "10m", 1, 86400,
	    "close a connection idle this long between requests"),
	CONFIG_KEY_TIME("request_timeout", PC, request_timeout, "30s", 1, 3600,
	    "close a connection whose request is not complete this long after its "
	    "first byte"),
	CONFIG_KEY_TIME("connection_timeout", PC, connection_timeout, "1h", 1, 604800,
	    "close a connection after this total time (after its current request)"),
	CONFIG_KEY_TIME("shutdown_timeout", PC, shutdown_timeout, "30s", 1, 3600,
	    "on SIGTERM, wait this long for requests in flight"),
	CONFIG_KEY_STRING_CHECK("metrics_listen", PC, metrics_listen, "",
	    metrics_listen_check, "addr:port of the Prometheus metrics endpoint; "
	    "empty: off"),
	METRICS_CONFIG_KEYS(PC, metrics),
	CONFIG_KEY_SIZE("line_size_limit", PC, line_size_limit, "8k", 256, 1048576,
	    "longest name=value line of a request; longer closes the connection"),
	CONFIG_KEY_SIZE("request_size_limit", PC, request_size_limit, "64k", 1024,
	    16777216, "largest request; larger closes the connection"),
	CONFIG_KEY_INT("attribute_count_limit", PC, attribute_count_limit, "100", 10,
	    10000, "most attributes in one request; more gets a tempfail reply"),
	/* dns */
	CONFIG_KEY_LIST("dns_forwarders", PC, dns_forwarders, "",
	    "resolvers to forward to (addr or addr@port); empty: dns_resolv_conf"),
	CONFIG_KEY_STRING("dns_resolv_conf", PC, dns_resolv_conf, "",
	    "resolv.conf to read when no forwarders are set; empty: /etc/resolv.conf"),
	CONFIG_KEY_TIME("dns_timeout", PC, dns_timeout, "5s", 1, 300,
	    "time limit of one DNS query"),
	CONFIG_KEY_SIZE("dns_cache_size_limit", PC, dns_cache_size_limit, "4m", 0,
	    1073741824, "memory for positive DNS answers kept for their TTL; 0: none"),
	/* spf */
	CONFIG_KEY_ENUM("helo_reject", PC, helo_reject, "fail", policyd_reject_names,
	    "HELO results that reject: fail, softfail, not_pass, null, never, no_check"),
	CONFIG_KEY_ENUM("mail_from_reject", PC, mail_from_reject, "fail",
	    policyd_reject_names,
	    "MAIL FROM results that reject: fail, softfail, not_pass, never, no_check"),
	CONFIG_KEY_LIST("reject_not_pass_domains", PC, reject_not_pass_domains, "",
	    "domains (and subdomains) whose softfail and neutral results reject too"),
	CONFIG_KEY_STRING_CHECK("helo_pass_restriction", PC, helo_pass_restriction, "",
	    policyd_config_check_restriction, "restriction class answered when HELO passes; empty: none"),
	CONFIG_KEY_STRING_CHECK("mail_from_pass_restriction", PC,
	    mail_from_pass_restriction, "", policyd_config_check_restriction,
	    "restriction class answered when MAIL FROM passes; empty: none"),
	CONFIG_KEY_BOOL("permerror_reject", PC, permerror_reject, "no",
	    "reject permerror with 550 5.7.24 (no: accept with the header)"),
	CONFIG_KEY_BOOL("temperror_defer", PC, temperror_defer, "yes",
	    "defer temperror with DEFER_IF_PERMIT 4.7.24 (no: accept with the header)"),
	CONFIG_KEY_BOOL("test_only", PC, test_only, "no",
	    "never reject or defer; only add headers"),
	CONFIG_KEY_BOOL("enhanced_status_codes", PC, enhanced_status_codes, "yes",
	    "use the RFC 7372 codes 5.7.23, 5.7.24 and 4.7.24"),
	CONFIG_KEY_TIME("spf_lookup_timeout", PC, spf_lookup_timeout, "20s", 1, 3600,
	    "wall-time limit of one SPF evaluation (RFC 7208 §4.6.4: at least 20s)"),
	CONFIG_KEY_INT("spf_void_limit", PC, spf_void_limit, "2", 0, 100,
	    "void lookups allowed (RFC 7208 §4.6.4)"),
	CONFIG_KEY_INT("spf_lookup_limit", PC, spf_lookup_limit, "40", 10, 1000,
	    "all DNS queries of one SPF evaluation"),
	CONFIG_KEY_STRING("reason_message", PC, reason_message,
	    "Message {rejectdefer} due to: {spf}. Please see {url}",
	    "reject/defer text; {rejectdefer} {spf} {url} {result} {identity} {domain} {ip}"),
	/* headers */
	CONFIG_KEY_ENUM("header_type", PC, header_type, "spf", policyd_header_names,
	    "header prepended: spf (Received-SPF), ar (Authentication-Results), both, none"),
	CONFIG_KEY_STRING("authserv_id", PC, authserv_id, "",
	    "authserv-id of Authentication-Results; empty: the host name"),
	CONFIG_KEY_STRING("receiver_name", PC, receiver_name, "",
	    "receiver= of Received-SPF and SPF %{r}; empty: the host name"),
	CONFIG_KEY_BOOL("hide_receiver", PC, hide_receiver, "no",
	    "omit receiver= from Received-SPF"),
	/* iprev */
	CONFIG_KEY_BOOL("iprev_header", PC, iprev_header, "no",
	    "report the client's reverse DNS (iprev=) in Authentication-Results"),
	CONFIG_KEY_ENUM("iprev_action", PC, iprev_action, "none", policyd_iprev_names,
	    "client without forward-confirmed reverse DNS: none, defer, reject"),
	CONFIG_KEY_INT("iprev_name_limit", PC, iprev_name_limit, "10", 1, 32,
	    "PTR names of the client checked for an address back to it"),
	/* skips */
	CONFIG_KEY_LIST_CHECK("skip_addresses", PC, skip_addresses,
	    "127.0.0.0/8, ::ffff:127.0.0.0/104, ::1", policyd_config_check_networks,
	    "client networks (CIDR) not checked"),
	CONFIG_KEY_BOOL("skip_sasl_authenticated", PC, skip_sasl_authenticated, "yes",
	    "do not check clients that logged in with SASL"),
	CONFIG_KEY_LIST("whitelist_helo_names", PC, whitelist_helo_names, "",
	    "HELO names not checked when their A/AAAA records hold the client address"),
	CONFIG_KEY_LIST_CHECK("whitelist_spf_domains", PC, whitelist_spf_domains, "",
	    policyd_config_check_domains,
	    "domains whose SPF pass for the client address skips the checks"),
	CONFIG_KEY_LIST("whitelist_ptr_domains", PC, whitelist_ptr_domains, "",
	    "domains whose validated reverse name of the client skips the checks"),
	CONFIG_KEY_ENUM("skip_action", PC, skip_action, "dunno", policyd_skip_names,
	    "answer for skipped clients: dunno, or comment (PREPEND X-Comment)"),
	/* cache, logging */
	CONFIG_KEY_TIME("cache_ttl", PC, cache_ttl, "60s", 0, 86400,
	    "reuse a result for the same client, HELO and sender this long; 0: off"),
	CONFIG_KEY_INT("cache_size_limit", PC, cache_size_limit, "10000", 16,
	    10000000, "cached results and message instances"),
	CONFIG_KEY_INT("log_level", PC, log_level, "1", 0, 5,
	    "0: errors, 1: one line per verdict, 2 and more: debug"),
};

const struct config_schema policyd_config_schema = {
	"policyd.conf", policyd_keys, ARRAY_LEN(policyd_keys), policyd_config_validate,
};

/* policyd_config_new - defaults, refs = 1 */
struct policyd_config *
policyd_config_new(void)
{
	struct policyd_config *c = xcalloc(1, sizeof(*c));

	config_init(&policyd_config_schema, c);
	c->refs = 1;
	return c;
}

/* policyd_config_ref - take a reference */
struct policyd_config *
policyd_config_ref(struct policyd_config *c)
{
	c->refs++;
	return c;
}

/* policyd_config_unref - drop a reference; the last frees */
void
policyd_config_unref(struct policyd_config *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	config_free(&policyd_config_schema, c);
	free(c);
}

/* policyd_config_hostname - this host's name, for empty authserv_id/receiver */
static const char *
policyd_config_hostname(void)
{
	static char name[256];

	if (name[0] == '\0' && gethostname(name, sizeof(name) - 1) < 0)
		snprintf(name, sizeof(name), "localhost");
	return name;
}

/* policyd_config_authserv_id - authserv_id, or the host name when empty */
const char *
policyd_config_authserv_id(const struct policyd_config *c)
{
	return c->authserv_id[0] ? c->authserv_id : policyd_config_hostname();
}

/* policyd_config_receiver - receiver_name, or the host name when empty */
const char *
policyd_config_receiver(const struct policyd_config *c)
{
	return c->receiver_name[0] ? c->receiver_name : policyd_config_hostname();
}

/* policyd_config_read - apply one file in the chosen or detected format */
static int
policyd_config_read(struct policyd_config *c, const char *path,
    enum policyd_config_format fmt, struct buf *err)
{
	size_t len;
	char *text = config_read_file(path, &len, err);
	int rc;

	if (text == NULL)
		return -1;
	if (fmt == POLICYD_FORMAT_AUTO)
		fmt = policyd_pyspf_detect(text, len) ? POLICYD_FORMAT_PYSPF :
		    POLICYD_FORMAT_NATIVE;
	if (fmt == POLICYD_FORMAT_PYSPF)
		rc = policyd_pyspf_load(c, path, text, len, err);
	else
		rc = config_load_mem(&policyd_config_schema, c, path, text, len, err);
	free(text);
	return rc;
}

/* policyd_config_override - one "name=value" from the command line */
static int
policyd_config_override(struct policyd_config *c, const char *o, struct buf *err)
{
	const char *eq = strchr(o, '=');
	struct span n, v;

	if (eq == NULL) {
		buf_printf(err, "-o %s: expected name=value\n", o);
		return -1;
	}
	struct buf msg;
	int rc;

	n = span_trim((struct span){ o, (size_t)(eq - o) });
	v = span_trim(span_from_cstr(eq + 1));
	buf_init(&msg, CONFIG_ERROR_LIMIT);
	rc = config_set(&policyd_config_schema, c, n.p, n.len, v.p, v.len, &msg);
	if (rc < 0)
		buf_printf(err, "-o %s: %s\n", o, buf_cstr(&msg));
	buf_clear(&msg);
	return rc;
}

/* policyd_config_load - a new config from path, format and overrides */
struct policyd_config *
policyd_config_load(const char *path, enum policyd_config_format fmt,
    const char *const *overrides, struct buf *err)
{
	struct policyd_config *c = policyd_config_new();
	int rc = 0;

	if (path != NULL && policyd_config_read(c, path, fmt, err) < 0)
		rc = -1;
	for (size_t i = 0; overrides != NULL && overrides[i] != NULL; i++) {
		if (policyd_config_override(c, overrides[i], err) < 0)
			rc = -1;
	}
	/* again after the overrides (a native file was checked once already) */
	if (rc == 0 && policyd_config_validate(c, err) < 0) {
		buf_append_char(err, '\n');
		rc = -1;
	}
	if (rc < 0) {
		policyd_config_unref(c);
		return NULL;
	}
	return c;
}
