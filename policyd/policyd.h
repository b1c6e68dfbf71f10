/*
 * policyd.h - internal interfaces of the policyd daemon (Postfix policy
 * delegation server answering SPF verdicts, RFC 7208, with RFC 7372 codes).
 *
 * Modules: config (settings table), pyspf (pypolicyd-spf compatibility), proto
 * (request parser, SMTPD_POLICY_README), cidr and domain (lists), check (skip
 * lists and SPF evaluations of one request), ptrwl (reverse-name whitelist),
 * cache (per-instance dedup and a short TTL cache with waiters), action
 * (outcome -> Postfix action), log (one line per verdict), conn and listen
 * (sockets), server (loop, signals), master (worker processes), privs, dns,
 * query (administrator mode).
 */
#ifndef MAILAUTH_POLICYD_H
#define MAILAUTH_POLICYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"
#include "dns.h"
#include "iprev.h"
#include "metrics.h"
#include "prefork.h"
#include "spf.h"

struct event_base;

/* ---- config (policyd_config.c, policyd_pyspf.c) ---- */

/* Which results of one identity reject (pypolicyd-spf HELO_reject / Mail_From_reject). */
enum policyd_reject {
	POLICYD_REJECT_FAIL,		/* fail */
	POLICYD_REJECT_SOFTFAIL,	/* fail, softfail */
	POLICYD_REJECT_NOT_PASS,	/* fail, softfail, neutral */
	POLICYD_REJECT_NULL,		/* HELO only: fail, when the sender is null */
	POLICYD_REJECT_NEVER,		/* check and add the header, never reject */
	POLICYD_REJECT_NO_CHECK,	/* do not check this identity */
};

enum policyd_header {
	POLICYD_HEADER_SPF,		/* Received-SPF (RFC 7208 §9.1) */
	POLICYD_HEADER_AR,		/* Authentication-Results (RFC 8601) */
	POLICYD_HEADER_BOTH,		/* Received-SPF, then Authentication-Results */
	POLICYD_HEADER_NONE,
};

/* What a client without forward-confirmed reverse DNS gets (iprev, RFC 8601 §3). */
enum policyd_iprev_action {
	POLICYD_IPREV_NONE,		/* nothing (the header, when iprev_header) */
	POLICYD_IPREV_DEFER,		/* DEFER_IF_PERMIT 4.7.25 */
	POLICYD_IPREV_REJECT,		/* 550 5.7.25 (RFC 7372 §3.3); temperror defers */
};

enum policyd_skip_action {
	POLICYD_SKIP_DUNNO,		/* skipped clients get DUNNO */
	POLICYD_SKIP_COMMENT,		/* PREPEND X-Comment: SPF skipped ... */
};

/* Most worker processes (each holds its own result cache and resolver). */
#define POLICYD_WORKER_LIMIT	PREFORK_WORKER_LIMIT

struct policyd_config {
	unsigned refs;			/* not a setting: references held */
	/* service */
	struct config_list listen;
	char *user;
	int unix_socket_mode;
	int connection_limit;
	int worker_processes;
	unsigned idle_timeout;
	unsigned request_timeout;
	unsigned connection_timeout;
	unsigned shutdown_timeout;
	char *metrics_listen;		/* "" or addr:port (common/metrics) */
	struct metrics_conf metrics;	/* the endpoint's limits */
	size_t line_size_limit;
	size_t request_size_limit;
	int attribute_count_limit;
	/* dns */
	struct config_list dns_forwarders;
	char *dns_resolv_conf;
	unsigned dns_timeout;
	size_t dns_cache_size_limit;
	/* spf */
	int helo_reject;
	int mail_from_reject;
	struct config_list reject_not_pass_domains;
	char *helo_pass_restriction;
	char *mail_from_pass_restriction;
	bool permerror_reject;
	bool temperror_defer;
	bool test_only;
	bool enhanced_status_codes;
	unsigned spf_lookup_timeout;
	int spf_void_limit;
	int spf_lookup_limit;
	char *reason_message;
	/* headers */
	int header_type;
	char *authserv_id;
	char *receiver_name;
	bool hide_receiver;
	/* iprev (RFC 8601 §3) */
	bool iprev_header;
	int iprev_action;
	int iprev_name_limit;
	/* skips */
	struct config_list skip_addresses;
	bool skip_sasl_authenticated;
	struct config_list whitelist_helo_names;
	struct config_list whitelist_spf_domains;
	struct config_list whitelist_ptr_domains;
	int skip_action;
	/* cache, logging */
	unsigned cache_ttl;
	int cache_size_limit;
	int log_level;
};

extern const struct config_schema policyd_config_schema;

enum policyd_config_format {
	POLICYD_FORMAT_AUTO,		/* pyspf when a key has an upper-case letter */
	POLICYD_FORMAT_NATIVE,
	POLICYD_FORMAT_PYSPF,
};

/* policyd_config_new - defaults, refs = 1 */
struct policyd_config *policyd_config_new(void);
/* policyd_config_ref / _unref - reference counting; the last unref frees */
struct policyd_config *policyd_config_ref(struct policyd_config *c);
void policyd_config_unref(struct policyd_config *c);
/*
 * policyd_config_load - a new config from path (NULL: defaults only) in format
 * fmt, then "name=value" overrides (NULL-terminated, may be NULL).  NULL with
 * "file:line: ..." messages in err on any error.
 */
struct policyd_config *policyd_config_load(const char *path,
    enum policyd_config_format fmt, const char *const *overrides, struct buf *err);
/* policyd_config_authserv_id - authserv_id, or the host name when empty */
const char *policyd_config_authserv_id(const struct policyd_config *c);
/* policyd_config_receiver - receiver_name, or the host name when empty */
const char *policyd_config_receiver(const struct policyd_config *c);

/* policyd_pyspf_detect - does text look like a pypolicyd-spf policyd-spf.conf? */
bool policyd_pyspf_detect(const char *text, size_t len);
/* policyd_pyspf_key_name - the i-th pypolicyd-spf key known, NULL past the end */
const char *policyd_pyspf_key_name(size_t i);
/* policyd_pyspf_load - map the pypolicyd-spf keys of text onto c */
int policyd_pyspf_load(struct policyd_config *c, const char *where,
    const char *text, size_t len, struct buf *err);

/* ---- addresses (policyd_cidr.c) ---- */

/* policyd_cidr_addr_parse - IPv4 or IPv6 text into family and 16 bytes */
bool policyd_cidr_addr_parse(const char *s, int *family, unsigned char addr[16]);
/* policyd_cidr_valid - "addr" or "addr/prefix", IPv4 or IPv6 */
bool policyd_cidr_valid(const char *s);
/* policyd_cidr_list_match - is the address (family, bytes) in one of the networks of l? */
bool policyd_cidr_list_match(const struct config_list *l, int family,
    const unsigned char addr[16]);

/* policyd_domain_in_list - name (len bytes) equal to or below a listed domain */
bool policyd_domain_in_list(const struct config_list *l, const char *name, size_t len);

/* ---- protocol (policyd_proto.c) ---- */

/* The attributes policyd uses; all others are ignored (SMTPD_POLICY_README). */
enum policyd_attr {
	POLICYD_ATTR_REQUEST,
	POLICYD_ATTR_PROTOCOL_STATE,
	POLICYD_ATTR_PROTOCOL_NAME,
	POLICYD_ATTR_HELO_NAME,
	POLICYD_ATTR_QUEUE_ID,
	POLICYD_ATTR_SENDER,
	POLICYD_ATTR_RECIPIENT,
	POLICYD_ATTR_CLIENT_ADDRESS,
	POLICYD_ATTR_CLIENT_NAME,
	POLICYD_ATTR_INSTANCE,
	POLICYD_ATTR_SASL_USERNAME,
	POLICYD_ATTR_COUNT
};

struct policyd_request {
	char *attr[POLICYD_ATTR_COUNT];	/* NUL-terminated copies; NULL if absent */
	unsigned nattrs;		/* all attributes, known or not */
};

/* policyd_request_get - attribute value, "" when absent */
const char *policyd_request_get(const struct policyd_request *r, enum policyd_attr a);
/* policyd_request_clear - free the values */
void policyd_request_clear(struct policyd_request *r);

struct policyd_proto_limits {
	size_t line_size_limit;		/* one "name=value" line, without LF */
	size_t request_size_limit;	/* all lines of one request */
	unsigned attribute_count_limit;	/* lines of one request */
};

enum policyd_proto_status {
	POLICYD_PROTO_MORE,		/* need more bytes */
	POLICYD_PROTO_REQUEST,		/* a complete, valid request in p->req */
	POLICYD_PROTO_BAD_REQUEST,	/* a complete request, invalid: p->error */
	POLICYD_PROTO_FATAL,		/* framing lost: p->error; close */
};

struct policyd_proto {
	struct policyd_proto_limits lim;
	struct buf line;		/* the current partial line */
	size_t req_bytes;
	const char *error;		/* first error of this request (static) */
	bool fatal;
	struct policyd_request req;
};

void policyd_proto_init(struct policyd_proto *p, const struct policyd_proto_limits *lim);
void policyd_proto_clear(struct policyd_proto *p);
/*
 * policyd_proto_feed - consume bytes up to and including the end of one request.
 * Returns the number of bytes consumed; *st tells what happened.  After
 * REQUEST or BAD_REQUEST call policyd_proto_next before feeding the rest.
 */
size_t policyd_proto_feed(struct policyd_proto *p, const char *data, size_t len,
    enum policyd_proto_status *st);
/* policyd_proto_next - forget the request, keep the limits */
void policyd_proto_next(struct policyd_proto *p);
/* policyd_proto_idle - no partial request buffered */
bool policyd_proto_idle(const struct policyd_proto *p);

/* ---- outcome of the checks of one client/helo/sender (policyd_check.c) ---- */

struct policyd_identity_outcome {
	bool checked;
	enum spf_result result;
	char *domain;
	char *reason;
	char *explanation;		/* fail: exp= text, or NULL */
	char *received_spf;		/* "Received-SPF: ..." */
	char *authres;			/* "spf=... smtp.mailfrom=..." clause */
	unsigned lookups;
};

struct policyd_iprev_outcome {
	bool checked;
	enum iprev_result result;
	char *addr;			/* the client address as text */
	char *name;			/* pass: the confirming name */
	char *reason;
};

struct policyd_outcome {
	const char *skip_reason;	/* static; non-NULL: checks were skipped */
	struct policyd_identity_outcome helo, mfrom;
	struct policyd_iprev_outcome iprev;	/* when iprev_header or iprev_action */
};

void policyd_outcome_clear(struct policyd_outcome *o);

/* ---- action (policyd_action.c) ---- */

enum policyd_disposition {
	POLICYD_DISP_REJECT,
	POLICYD_DISP_DEFER,
	POLICYD_DISP_ACCEPT,		/* header or DUNNO */
};

/* What the log line and the tests need to know about a decision. */
struct policyd_decision {
	enum policyd_disposition disp;
	const char *identity;		/* "helo", "mailfrom", "iprev" or "none" */
	enum spf_result result;
	const char *result_word;	/* identity "iprev": its result; else NULL */
	const char *reason;
	struct buf action;		/* "550 5.7.23 ...", "PREPEND ...", "DUNNO" */
};

/*
 * policyd_action_policy - the reject policy of one identity: helo_reject or
 * mail_from_reject, made not_pass for a domain in reject_not_pass_domains
 */
int policyd_action_policy(const struct policyd_config *c, bool is_helo,
    const char *domain);
/* policyd_action_disposition - what a result of one identity does under c */
enum policyd_disposition policyd_action_disposition(const struct policyd_config *c,
    int reject_policy, enum spf_result r, bool null_sender);
/*
 * policyd_action_decide - the action for one request; *headers_sent is the
 * per-instance count of headers already prepended, advanced here.
 */
void policyd_action_decide(const struct policyd_config *c,
    const struct policyd_outcome *o, const struct policyd_request *req,
    unsigned *headers_sent, struct policyd_decision *d);
void policyd_decision_init(struct policyd_decision *d);
void policyd_decision_clear(struct policyd_decision *d);
/* policyd_action_sanitize - append text as printable ASCII (no CR/LF/controls) */
void policyd_action_sanitize(struct buf *out, const char *s, size_t max);

/* ---- checks (policyd_check.c) ---- */

struct policyd_check;
typedef void (*policyd_check_cb)(void *arg, struct policyd_outcome *o);

struct policyd_env {
	struct event_base *base;
	struct dns_resolver *dns;
};

/*
 * policyd_check_start - run the skips and SPF checks of req; cb runs exactly once
 * (possibly before this returns NULL) unless cancelled.
 */
struct policyd_check *policyd_check_start(const struct policyd_env *env,
    struct policyd_config *c, const struct policyd_request *req,
    policyd_check_cb cb, void *arg);
void policyd_check_cancel(struct policyd_check *k);

/* ---- PTR whitelist (policyd_ptrwl.c) ---- */

struct policyd_ptrwl;
/* name: the validated reverse name within a listed domain, or NULL */
typedef void (*policyd_ptrwl_cb)(void *arg, const char *name);
/*
 * policyd_ptrwl_start - validate the client's reverse name against domains; cb
 * runs exactly once (possibly before this returns NULL) unless cancelled.
 */
struct policyd_ptrwl *policyd_ptrwl_start(struct dns_resolver *dns,
    const struct config_list *domains, int family, const unsigned char addr[16],
    policyd_ptrwl_cb cb, void *arg);
void policyd_ptrwl_cancel(struct policyd_ptrwl *w);

/* ---- cache (policyd_cache.c) ---- */

struct policyd_cache;
struct policyd_cache_wait;
typedef void (*policyd_cache_cb)(void *arg, const struct policyd_outcome *o,
    unsigned *headers_sent);
/* The evaluator the cache calls on a miss (policyd_check_start in the daemon). */
typedef struct policyd_check *(*policyd_cache_eval)(const struct policyd_env *env,
    struct policyd_config *c, const struct policyd_request *req,
    policyd_check_cb cb, void *arg);

struct policyd_cache_stats {
	unsigned long hits, misses, joined, evaluations, evictions;
	size_t entries;
};

struct policyd_cache *policyd_cache_new(const struct policyd_env *env,
    policyd_cache_eval eval);
void policyd_cache_free(struct policyd_cache *cache);
/*
 * policyd_cache_get - outcome for req (instance + client + helo + sender): from
 * the instance, the TTL cache, an evaluation in flight, or a new one.  cb runs
 * exactly once unless cancelled; when it runs before this returns, NULL is
 * returned.
 */
struct policyd_cache_wait *policyd_cache_get(struct policyd_cache *cache,
    struct policyd_config *c, const struct policyd_request *req,
    policyd_cache_cb cb, void *arg);
void policyd_cache_cancel(struct policyd_cache *cache, struct policyd_cache_wait *w);
/* policyd_cache_flush - drop finished results (after a reload) */
void policyd_cache_flush(struct policyd_cache *cache);
void policyd_cache_stats(const struct policyd_cache *cache,
    struct policyd_cache_stats *st);
/* policyd_cache_set_clock - tests: seconds from a clock they control */
void policyd_cache_set_clock(struct policyd_cache *cache, long long (*now)(void));

/* ---- log (policyd_log.c) ---- */

/* policyd_log_verdict - one grep-parseable line per verdict */
void policyd_log_verdict(const struct policyd_config *c,
    const struct policyd_request *req, const struct policyd_decision *d);
/* policyd_log_bad_request - a malformed request from a peer */
void policyd_log_bad_request(const char *peer, const char *error, bool closing);

/* ---- metrics (policyd_metrics.c, common/metrics) ---- */

/* policyd_metrics_open - bind metrics_listen, map the counters; -1 and err */
int policyd_metrics_open(const struct policyd_config *c, struct buf *err);
/* policyd_metrics_verdict - count a verdict; started: metrics_now() at the request */
void policyd_metrics_verdict(const struct policyd_outcome *o,
    const struct policyd_decision *d, double started);
/* policyd_metrics_malformed - count the DEFER_IF_PERMIT of a malformed request */
void policyd_metrics_malformed(void);

/* ---- server, connections, listeners (policyd_server.c, _conn.c, _listen.c) ---- */

struct policyd_server;
struct policyd_conn;

struct policyd_server {
	struct event_base *base;
	struct policyd_env env;
	struct policyd_config *config;	/* current; connections take references */
	struct policyd_cache *cache;
	struct policyd_listener *listeners;
	struct policyd_conn *conns;	/* doubly linked */
	unsigned nconns;
	bool draining;
	const char *config_path;
	enum policyd_config_format config_format;
	const char *const *overrides;
	struct event *sig_hup, *sig_term, *sig_int, *drain_timer;
	struct event *watchdog;		/* the one process: WATCHDOG=1 (notify.h) */
	bool is_worker;			/* one of worker_processes: sockets not ours */
	/* worker_processes > 1: connections per worker, shared with the others */
	unsigned *worker_conns;		/* NULL in a single process */
	int nworkers, worker_slot;
	/* owner given to unix sockets at bind; (uid_t)-1: the process's own */
	uid_t sock_uid;
	gid_t sock_gid;
};

/* policyd_server_ready - the one process serves: READY=1 and the watchdog */
void policyd_server_ready(struct policyd_server *s);
/* policyd_listen_open - bind every "unix:/path" or "inet:host:port" of c */
int policyd_listen_open(struct policyd_server *s, const struct policyd_config *c);
/* policyd_listen_probe - -t: bind and release inet listeners, check unix paths */
int policyd_listen_probe(const struct policyd_config *c);
/*
 * policyd_listen_close - stop accepting; unlink unix sockets (not in a worker:
 * the master owns them)
 */
void policyd_listen_close(struct policyd_server *s);

/* policyd_conn_new - serve a connected socket */
struct policyd_conn *policyd_conn_new(struct policyd_server *s, int fd,
    const char *peer);
/* policyd_conn_drain - close now if idle, else after the request in flight */
void policyd_conn_drain(struct policyd_conn *c);
void policyd_conn_free(struct policyd_conn *c);
/* policyd_conn_next - the next connection of the server's list */
struct policyd_conn *policyd_conn_next(const struct policyd_conn *c);

/* policyd_server_init - loop, resolver and cache; config taken over */
int policyd_server_init(struct policyd_server *s, struct event_base *base,
    struct dns_resolver *dns, struct policyd_config *c);
/* policyd_server_signals - SIGHUP reloads, SIGTERM/SIGINT drain and stop */
void policyd_server_signals(struct policyd_server *s);
/* policyd_server_reload - load the config again; keep the old one on error */
int policyd_server_reload(struct policyd_server *s);
/* policyd_server_drain - stop accepting, finish requests in flight, exit the loop */
void policyd_server_drain(struct policyd_server *s);
/* policyd_server_conn_gone - bookkeeping when a connection ends */
void policyd_server_conn_gone(struct policyd_server *s);
/* policyd_server_conn_count - publish nconns to the other workers */
void policyd_server_conn_count(struct policyd_server *s);
void policyd_server_clear(struct policyd_server *s);

/* policyd_dns_new - resolver from the dns_* settings */
struct dns_resolver *policyd_dns_new(struct event_base *base,
    const struct policyd_config *c, const char *forwarder);

/* policyd_privs_owner - as root: unix sockets are to belong to c->user; -1 logged */
int policyd_privs_owner(struct policyd_server *s, const struct policyd_config *c);
/* policyd_privs_check - -t: the user exists and can read path; -1 logged */
int policyd_privs_check(const struct policyd_config *c, const char *path);
/* policyd_privs_drop - become c->user (required when running as root) */
int policyd_privs_drop(const struct policyd_config *c);

/* A worker that cannot start (its resolver) exits with this (EX_CONFIG). */
#define POLICYD_EXIT_CONFIG	PREFORK_EXIT_CONFIG

/*
 * policyd_master_run - with worker_processes > 1: fork the workers on the bound
 * listeners, then supervise them (restart, pass on SIGHUP and SIGTERM).
 * Returns 0 in each worker (ready for its own loop), 1 in the master once
 * every worker has exited after SIGTERM or SIGINT, -1 in the master once they
 * have exited because one could not start (POLICYD_EXIT_CONFIG).
 */
int policyd_master_run(struct policyd_server *s);

/* policyd_query_main - "policyd query ..." */
int policyd_query_main(int argc, char **argv);

#endif
