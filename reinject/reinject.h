/*
 * reinject.h - the after-queue SMTP content filter: shared declarations.
 *
 * Upstream (Postfix's smtp client, the "scan" transport of FILTER_README) talks
 * to reinject_server.c; each transaction is mirrored on a downstream session to
 * Postfix's second smtpd (reinject_client.c).  DATA is decoded once
 * (reinject_data.c), split into header fields and body (common/msg), hashed by
 * the pipeline stages (reinject_stages.c) and spooled (reinject_spool.c);
 * at the end the stages finish, and the message is streamed downstream
 * (reinject_out.c).  Upstream gets 250 only after downstream's 250.
 */
#ifndef MAILAUTH_REINJECT_H
#define MAILAUTH_REINJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "metrics.h"
#include "msg.h"
#include "reinject_arc.h"
#include "reinject_dmarc.h"
#include "reinject_iprev.h"
#include "reinject_report.h"
#include "smtp.h"
#include "spf.h"

struct event_base;
struct bufferevent;
struct evbuffer;
struct event;
struct dkim_table;
struct dkim_hostlist;
struct dns_resolver;

/* Postfix's smtp_data_done_timeout default (postconf(5)): our final reply
 * must come well before it, or Postfix redelivers and duplicates. */
#define REINJECT_POSTFIX_DATA_DONE_TIMEOUT	600
/* Bound on DKIM results kept per message (common/dkim caps signatures too). */
#define REINJECT_DKIM_RESULT_LIMIT	DKIM_SIG_LIMIT
/* Bound on listeners in one configuration. */
#define REINJECT_LISTEN_LIMIT	16

/* ---- configuration (reinject_conf.c) ---- */

enum reinject_mode {
	REINJECT_MODE_VERIFY,	/* verify; sign only mail from InternalHosts */
	REINJECT_MODE_SIGN,	/* sign everything (submission listener) */
	REINJECT_MODE_MILTER,	/* milter front-end (reinject_milter.c) */
	REINJECT_MODE_PROXY,	/* verify, before the queue (smtpd_proxy_filter) */
};

/*
 * What to do with a message for a DKIM condition (OpenDKIM's On-* keys,
 * reinject_onaction.c).  Mode-aware: reject is a 5xx where the client is
 * still connected (proxy listener, milter) and a hold after the queue,
 * where a 5xx would bounce to a sender that may be forged.
 */
enum reinject_onaction {
	REINJECT_ONACTION_ACCEPT,	/* relay (the A-R field tells the result) */
	REINJECT_ONACTION_REJECT,	/* 550 before the queue, hold after it */
	REINJECT_ONACTION_TEMPFAIL,	/* 451: the MTA keeps the message */
	REINJECT_ONACTION_DISCARD,	/* 250, nothing relayed */
	REINJECT_ONACTION_QUARANTINE,	/* hold (X-Mailauth-DMARC: hold; milter QUARANTINE) */
};

/* The DKIM conditions that have an action (OpenDKIM's On-* names). */
enum reinject_oncond {
	REINJECT_ONCOND_NONE,		/* a signature passed: nothing to do */
	REINJECT_ONCOND_BAD_SIGNATURE,	/* fail, a malformed signature/key, an unparsed header */
	REINJECT_ONCOND_DNS_ERROR,	/* key lookup failed temporarily */
	REINJECT_ONCOND_INTERNAL_ERROR,	/* the verifier could not take the message */
	REINJECT_ONCOND_KEY_NOT_FOUND,	/* no key record */
	REINJECT_ONCOND_NO_SIGNATURE,	/* unsigned */
	REINJECT_ONCOND_SECURITY,	/* refused as unsafe: l= leaves content unsigned, weak key, x=/t= */
	REINJECT_ONCOND_SIGNING_ERROR,	/* a message to sign could not be signed */
};

enum reinject_bare_nl {
	REINJECT_BARE_NL_NORMALIZE,	/* a bare CR or LF becomes CRLF */
	REINJECT_BARE_NL_REFUSE,	/* 550 5.6.0 at the end of DATA */
};

enum reinject_nul {
	REINJECT_NUL_STRIP,		/* a NUL byte is left out */
	REINJECT_NUL_REFUSE,		/* 550 5.6.0 at the end of DATA */
};

enum reinject_milter_spf_mode {
	REINJECT_MILTER_SPF_NO,		/* SPF only feeds A-R and DMARC */
	REINJECT_MILTER_SPF_RCPT,	/* a fail refuses each RCPT (550 5.7.23) */
	REINJECT_MILTER_SPF_DATA,	/* a fail refuses at the end of DATA */
};

enum reinject_long_line {
	REINJECT_LONG_LINE_FOLD,	/* break before signing */
	REINJECT_LONG_LINE_REFUSE,	/* 550 5.6.0 at the end of DATA */
};

struct reinject_listener {
	char *addr;		/* "127.0.0.1:10025", "[::1]:10025" */
	enum reinject_mode mode;
	int fd;
};

/* header/body canonicalisation of the signatures made (RFC 6376 §3.4) */
enum reinject_canon {
	REINJECT_CANON_SIMPLE_SIMPLE,
	REINJECT_CANON_SIMPLE_RELAXED,
	REINJECT_CANON_RELAXED_SIMPLE,
	REINJECT_CANON_RELAXED_RELAXED,
};

struct reinject_conf {
	struct config_list listen;
	char *downstream;
	char *myhostname;
	char *authserv_id;
	int worker_processes;
	char *metrics_listen;		/* "" or addr:port (common/metrics) */
	struct metrics_conf metrics;	/* the endpoint's limits */
	char *user;
	char *spool_directory;
	size_t spool_memory_limit;
	size_t message_size_limit;
	size_t header_size_limit;
	size_t header_memory_limit;
	int line_length_limit;
	int recipient_limit;
	int session_limit;
	int error_limit;
	unsigned command_timeout;
	unsigned data_timeout;
	unsigned downstream_connect_timeout;
	unsigned downstream_command_timeout;
	unsigned downstream_data_timeout;
	unsigned dkim_timeout;
	unsigned drain_timeout;
	int bare_newline_action;
	int long_line_action;
	int nul_byte_action;
	/* signing (common/dkim_table) */
	char *key_table;
	char *signing_table;
	char *internal_hosts;
	char *sign_domain;
	char *sign_selector;
	char *sign_key_file;
	bool multiple_signatures;
	/* signing options (reinject_sign.c) */
	bool sign_subdomains;
	int sign_canonicalization;		/* enum reinject_canon */
	struct config_list sign_headers;
	struct config_list oversign_headers;
	unsigned signature_ttl;
	int dkim_min_key_bits;
	int dkim_signature_limit;
	struct config_list omit_headers;
	char *peer_hosts;
	/* actions for DKIM conditions (enum reinject_onaction, by reinject_oncond) */
	int dkim_bad_signature_action;
	int dkim_dns_error_action;
	int dkim_internal_error_action;
	int dkim_key_not_found_action;
	int dkim_no_signature_action;
	int dkim_security_action;
	int sign_error_action;
	/* key rollover (reinject_rollover.c) */
	unsigned dkim_rollover_check_interval;
	unsigned dkim_rollover_keep_time;
	/* foreign configuration read first (reinject_opendkim.c) */
	char *opendkim_config;
	char *opendmarc_config;
	/* DNS */
	char *dns_resolv_conf;
	struct config_list dns_forwarders;
	bool syslog;
	/* ARC stage settings (reinject_arc.h) */
	struct reinject_arc_conf arc;
	/* milter front-end (reinject_milter.c) */
	size_t milter_packet_size_limit;
	size_t milter_macro_size_limit;
	int milter_connection_limit;
	unsigned milter_message_timeout;
	int milter_spf_reject;		/* enum reinject_milter_spf_mode */
	bool milter_spf_temperror_tempfail;
	char *milter_redirect_recipient;	/* redirect: the new recipient */
	size_t milter_recipient_size_limit;
	struct config_list milter_sign_daemons;	/* {daemon_name}s signed */
	/* DMARC stage settings (reinject_dmarc.h) */
	struct reinject_dmarc_conf dmarc;
	/* iprev stage settings (reinject_iprev.h) */
	struct reinject_iprev_conf iprev;
	/* DMARC report settings (reinject_report.h) */
	struct reinject_report_conf report;
	/* derived by reinject_conf_load, not keys */
	struct reinject_listener listeners[REINJECT_LISTEN_LIMIT];
	size_t nlisteners;
};

extern const struct config_schema reinject_conf_schema;

/* reinject_conf_load - defaults, then path (if any); 0 or -1 with messages in err */
int reinject_conf_load(struct reinject_conf *c, const char *path, struct buf *err);
/*
 * Foreign configurations read as they stand (reinject_opendkim.c,
 * reinject_opendmarc.c, reinject_foreign.c).  _detect: (p, len) is that
 * program's file rather than a reinject.conf (its first setting is one of
 * the program's keys, without "=").  _load: apply the file to c, each key
 * mapped to the reinject.conf setting with the same meaning; process
 * settings are accepted with a note in notes, a key that cannot be honoured
 * is an error "file:line: Key: reason" in err, every line is read; with out,
 * the settings made are also printed there as reinject.conf lines, each
 * after its source line as a comment (reinject import).  0 or -1.
 */
bool reinject_opendkim_detect(const char *p, size_t len);
int reinject_opendkim_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out);
bool reinject_opendmarc_detect(const char *p, size_t len);
/* _misfit: how many settings of (p, len) that program does not know */
size_t reinject_opendkim_misfit(const char *p, size_t len);
size_t reinject_opendmarc_misfit(const char *p, size_t len);
int reinject_opendmarc_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out);
/* reinject_foreign_load - the file's format detected, then its _load */
int reinject_foreign_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out);
/* reinject_foreign_is - is path an opendkim.conf or an opendmarc.conf */
bool reinject_foreign_is(const char *path);
/* reinject_foreign_import_main - "reinject import FILE...": exit status */
int reinject_foreign_import_main(int argc, char **argv);

/* reinject_conf_free - release */
void reinject_conf_free(struct reinject_conf *c);

/* ---- runtime context shared by a worker's sessions ---- */

struct reinject_ctx {
	struct event_base *base;
	const struct reinject_conf *conf;
	struct dns_resolver *dns;
	struct dkim_table *sign_table;		/* NULL: signing not configured */
	struct dkim_hostlist *internal;		/* NULL: no InternalHosts */
	struct dkim_hostlist *peers;		/* NULL: no peer_hosts (PeerList) */
	unsigned sessions;
	size_t header_bytes;	/* header bytes held by all messages (header_memory_limit) */
	bool trim_pending;	/* a large message ended: return memory (reinject_msg.c) */
	time_t trimmed;		/* when memory was last returned */
	unsigned milter_sessions;		/* of sessions, milter connections */
	bool draining;
};

/* ---- spool (reinject_spool.c) ---- */

struct reinject_spool {
	struct buf mem;		/* up to spool_memory_limit */
	int fd;			/* unlinked file once past it, else -1 */
	const char *dir;
	char *wbuf;		/* write-behind buffer for the file */
	size_t wlen;
	size_t size;		/* bytes written in total */
	int error;		/* errno of the first failure, sticky */
	bool dropped;		/* dir NULL: more than memory_limit came, none kept */
};

/* reinject_spool_init - dir NULL: count the bytes, and keep them in memory
 * while they fit memory_limit (0: keep none); past it, none are kept */
void reinject_spool_init(struct reinject_spool *sp, const char *dir,
    size_t memory_limit);
/* reinject_spool_write - append; -1 after a failure (sticky, see error) */
int reinject_spool_write(struct reinject_spool *sp, const char *p, size_t len);
/* reinject_spool_flush - write out buffered bytes; 0 or -1 */
int reinject_spool_flush(struct reinject_spool *sp);
/* reinject_spool_read - up to n bytes at off; bytes read, 0 at end, -1 */
ssize_t reinject_spool_read(struct reinject_spool *sp, size_t off, char *p,
    size_t n);
void reinject_spool_clear(struct reinject_spool *sp);

/* ---- the message (reinject_msg.c) ---- */

struct reinject_hdr {
	size_t off, len;	/* raw field in hdrbuf, CRLF included */
	size_t name_len;
	bool removed;
};

struct reinject_dkim_res {
	enum dkim_result result;
	char domain[256];
	char selector[64];
	char b[DKIM_B_PREFIX_LEN + 1];
	char reason[96];
};

/* A stage's verdict, for DMARC dispositions: the last stage to set one wins. */
enum reinject_action {
	REINJECT_ACTION_RELAY,		/* pass the message on */
	REINJECT_ACTION_REJECT,		/* answer code/enh/text, nothing relayed */
	REINJECT_ACTION_DISCARD,	/* answer 250, nothing relayed */
};

/*
 * An SPF result a front-end already has for this envelope (the milter's, from
 * MAIL FROM): the DMARC stage takes it instead of evaluating SPF again.
 */
struct reinject_spf_given {
	bool known;
	enum spf_result result;
	enum spf_identity identity;
	char domain[256];
};

struct reinject_msg {
	struct reinject_ctx *ctx;
	const struct reinject_conf *conf;
	/* envelope, borrowed from the session */
	const char *sender;
	unsigned nrcpt;
	const char *rcpt_domain;	/* first recipient's domain (RFC 9990
					 * envelope_to), or NULL */
	const struct smtp_xforward *xf;
	enum reinject_mode mode;	/* of the listener */
	bool sign;			/* listener sign, or internal client */
	bool arc_seal_rcpt;		/* a recipient in arc_seal_recipient_domains */
	struct reinject_spf_given spf_given;	/* from the front-end, or !known */
	struct spf_records spf_records;	/* the SPF records of the result DMARC
					 * used (RFC 6591 SPF-DNS); n 0: none */
	const char *if_addr;		/* milter {if_addr}: where it came in, or NULL */
	/* header section */
	struct buf hdrbuf;		/* its len is charged to ctx->header_bytes */
	struct buf hdrpend;		/* raw lines of the field the parser still holds */
	struct reinject_hdr *hdrs;
	size_t nhdrs, hdrcap;
	bool eoh;
	struct buf prepend;		/* fields added above the header section */
	/* body */
	struct msg_parser *parser;
	bool raw;			/* header syntax error: rest passed unparsed */
	const char *raw_why;		/* static: why */
	struct msg_scan from_scan;	/* raw: From fields of the unparsed part */
	bool raw_dropping;		/* raw: the field of this line is being removed */
	struct reinject_spool spool;
	size_t size;			/* message bytes received (unstuffed) */
	/* results */
	struct reinject_dkim_res dkim[REINJECT_DKIM_RESULT_LIMIT];
	size_t ndkim;
	struct buf signed_by;		/* "d=.. s=.." of signatures added, for the log */
	struct buf spf;			/* result of policyd's Received-SPF, or "" */
	struct reinject_arc_res arc;	/* the ARC stage's chain status */
	char dmarc_log[384];		/* "pass p=reject disposition=none from=..", or "" */
	const char *dmarc_act;		/* static: the DMARC action taken, or NULL */
	const char *dkim_act;		/* static: the DKIM On-* action taken, or NULL */
	bool peer;			/* client in peer_hosts: no stage runs */
	double started;			/* metrics_now() at reinject_msg_new */
	/* verdict */
	enum reinject_action action;
	int code;			/* REJECT: reply code */
	char enh[16];
	char text[256];
	const char *tempfail;		/* internal trouble: 451 4.3.0 with this */
	/* pipeline bookkeeping */
	void *stage_state[8];
	size_t stage_next;
	struct event *stage_timer;
	bool stage_expired;		/* dkim_timeout passed */
	void (*done)(struct reinject_msg *m, void *arg);
	void *done_arg;
};

struct reinject_msg *reinject_msg_new(struct reinject_ctx *ctx);
void reinject_msg_free(struct reinject_msg *m);
/* reinject_msg_line - one decoded message line including its CRLF */
void reinject_msg_line(struct reinject_msg *m, const char *p, size_t len);
/* reinject_msg_end - all lines seen: flush parser and spool; 0 or -1 */
int reinject_msg_end(struct reinject_msg *m);
/* reinject_msg_prepend - add a complete field (with CRLF) above the others */
void reinject_msg_prepend(struct reinject_msg *m, const char *field, size_t len);
/* reinject_msg_field - header i as a span (raw, CRLF included) */
struct span reinject_msg_field(const struct reinject_msg *m, size_t i);
/* reinject_msg_field_is - is header i called name */
bool reinject_msg_field_is(const struct reinject_msg *m, size_t i,
    const char *name);
/* reinject_msg_field_value - header i's body after the colon */
struct span reinject_msg_field_value(const struct reinject_msg *m, size_t i);
/* reinject_msg_reject - a stage's verdict to refuse the message */
void reinject_msg_reject(struct reinject_msg *m, int code, const char *enh,
    const char *text);

/* reinject_verify_result - a signature's result as reported (l= with body
 * bytes after it: policy, not pass) (reinject_verify.c) */
void reinject_verify_result(struct reinject_dkim_res *d, const struct dkim_sig_result *r);

/* ---- pipeline stages (reinject_stages.c, reinject_pipeline.c) ---- */

struct reinject_stage {
	const char *name;
	/* begin - at DATA; *st is the stage's state, NULL to sit the message out */
	void (*begin)(struct reinject_msg *m, void **st);
	/* header - one raw field as it arrives */
	void (*header)(void *st, struct reinject_msg *m, struct span name,
	    struct span field);
	/* eoh - end of the header section */
	void (*eoh)(void *st, struct reinject_msg *m);
	/* body - body bytes as they arrive */
	void (*body)(void *st, struct reinject_msg *m, const char *p, size_t len);
	/* finish - end of message: call reinject_pipeline_next(m) when done
	 * (possibly before returning) */
	void (*finish)(void *st, struct reinject_msg *m);
	/* timeout - dkim_timeout passed during finish: record a temporary
	 * outcome; the stage must not call reinject_pipeline_next any more */
	void (*timeout)(void *st, struct reinject_msg *m);
	void (*free)(void *st);
};

extern const struct reinject_stage *const reinject_stages[];
extern const size_t reinject_nstages;

extern const struct reinject_stage reinject_stage_verify;
extern const struct reinject_stage reinject_stage_arc;
extern const struct reinject_stage reinject_stage_arcseal;
extern const struct reinject_stage reinject_stage_authres;
extern const struct reinject_stage reinject_stage_sign;

/* reinject_pipeline_begin - start the stages for a new message */
void reinject_pipeline_begin(struct reinject_msg *m);
/* reinject_pipeline_header / _eoh / _body - fan-out to the stages */
void reinject_pipeline_header(struct reinject_msg *m, struct span name,
    struct span field);
void reinject_pipeline_eoh(struct reinject_msg *m);
void reinject_pipeline_body(struct reinject_msg *m, const char *p, size_t len);
/* reinject_pipeline_run - finish every stage in order, then done(m, arg) */
void reinject_pipeline_run(struct reinject_msg *m,
    void (*done)(struct reinject_msg *, void *), void *arg);
/* reinject_pipeline_next - called by a stage's finish when it is done */
void reinject_pipeline_next(struct reinject_msg *m);
/* reinject_pipeline_free - free every stage state (cancels lookups) */
void reinject_pipeline_free(struct reinject_msg *m);

/* ---- DKIM condition actions (reinject_onaction.c) ---- */

extern const struct config_enum reinject_onaction_names[];
/* reinject_onaction_before_queue - is the client still connected (proxy, milter) */
bool reinject_onaction_before_queue(const struct reinject_msg *m);
/* reinject_onaction_classify - the condition of a verified message's results */
enum reinject_oncond reinject_onaction_classify(const struct reinject_msg *m);
/* reinject_onaction_configured - the action the settings give a condition */
enum reinject_onaction reinject_onaction_configured(const struct reinject_conf *c,
    enum reinject_oncond cond);
/* reinject_onaction_apply - carry out action for cond, mode-aware; its name */
const char *reinject_onaction_apply(struct reinject_msg *m,
    enum reinject_onaction action, enum reinject_oncond cond);
/* reinject_onaction_run - the configured action for cond (none: nothing) */
void reinject_onaction_run(struct reinject_msg *m, enum reinject_oncond cond);
/* reinject_onaction_peer - is the message's client in peer_hosts */
bool reinject_onaction_peer(const struct reinject_msg *m);

/* ---- DATA decoding (reinject_data.c) ---- */

struct reinject_data {
	struct buf line;	/* current line, unterminated */
	bool cr;		/* previous byte was a CR not yet resolved */
	bool in_body;		/* past the empty line ending the header section */
	bool done;		/* CRLF "." CRLF seen */
	bool unstuffed;		/* the current line was folded: its start is handled */
	bool after_bare;	/* the current line follows a bare CR or LF, so
				 * "." CRLF on it is content, not the end */
	bool bare_nl;		/* a bare CR or LF was seen */
	bool nul;		/* a NUL byte was seen */
	bool line_nul;		/* ... in the current line: it is not "." */
	bool nul_lead;		/* ... before its first byte: no stuffing dot */
	bool long_line;		/* a line over SMTP_TEXT_LINE_LIMIT was seen */
	bool too_big;		/* message_size_limit exceeded */
	size_t size;
	size_t size_limit;
	enum reinject_bare_nl bare_action;
	enum reinject_long_line long_action;
	enum reinject_nul nul_action;
	void (*line_cb)(void *arg, const char *p, size_t len);
	void *arg;
};

void reinject_data_init(struct reinject_data *d, const struct reinject_conf *c,
    void (*line_cb)(void *, const char *, size_t), void *arg);
/* reinject_data_feed - consume bytes; returns bytes used (stops after ".CRLF") */
size_t reinject_data_feed(struct reinject_data *d, const char *p, size_t len);
void reinject_data_clear(struct reinject_data *d);

/* ---- output to downstream (reinject_out.c) ---- */

struct reinject_out {
	struct reinject_msg *m;
	size_t hdr_next;	/* next header index to write */
	bool hdr_done;
	size_t spool_off;
	bool bol;		/* at the beginning of a line (dot-stuffing) */
	bool done;
};

void reinject_out_init(struct reinject_out *o, struct reinject_msg *m);
/* reinject_out_fill - append up to about chunk bytes, dot-stuffed; 1 when
 * the final ".CRLF" was written, 0 for more, -1 on a spool read error */
int reinject_out_fill(struct reinject_out *o, struct evbuffer *dst, size_t chunk);
/* reinject_out_stuff - dot-stuff (p, len) into dst, tracking *bol */
void reinject_out_stuff(struct evbuffer *dst, const char *p, size_t len,
    bool *bol);

/* ---- downstream client (reinject_client.c) ---- */

struct reinject_client;
typedef void (*reinject_client_cb)(void *arg, const struct smtp_reply *r,
    bool failed);

struct reinject_client *reinject_client_new(struct reinject_ctx *ctx,
    const char *peer_label);
void reinject_client_free(struct reinject_client *c);
/* reinject_client_ready - connected and greeted (for mirroring RSET/QUIT) */
bool reinject_client_ready(const struct reinject_client *c);
/* reinject_client_ehlo - the downstream's capabilities (valid when ready) */
const struct smtp_ehlo *reinject_client_ehlo(const struct reinject_client *c);
/* reinject_client_connect - connect, greet, EHLO; cb gets the EHLO reply or a
 * synthesised 4xx with failed = true */
void reinject_client_connect(struct reinject_client *c, reinject_client_cb cb,
    void *arg);
/* reinject_client_command - send one line (no CRLF), wait for its reply */
void reinject_client_command(struct reinject_client *c, const char *line,
    reinject_client_cb cb, void *arg);
/* reinject_client_data - DATA, the message, ".": cb gets the final reply */
void reinject_client_data(struct reinject_client *c, struct reinject_msg *m,
    reinject_client_cb cb, void *arg);

/* ---- upstream server (reinject_server.c) ---- */

/* reinject_server_accept - start a session on an accepted socket */
void reinject_server_accept(struct reinject_ctx *ctx, int fd,
    enum reinject_mode mode, const char *peer);

/* ---- milter front-end (reinject_milter.c, reinject_milter_eom.c) ---- */

/* reinject_milter_accept - start a milter session on an accepted socket */
void reinject_milter_accept(struct reinject_ctx *ctx, int fd, const char *peer);
/* SPF of one transaction, evaluated from connect/HELO/MAIL FROM. */
struct reinject_milter_spf {
	struct spf_eval *eval;
	bool in_call;		/* inside spf_eval_start: the verdict may come first */
	bool done;
	bool evaluated;		/* done by an evaluation (not for want of input) */
	enum spf_result result;
	enum spf_identity identity;
	char domain[256];	/* the domain checked */
	struct spf_records records;	/* its v=spf1 records, for failure reports */
	bool temperror_tempfail;	/* a temperror is refused with 451 4.7.24 */
	char text[600];		/* reply text of a fail or temperror */
	void (*cb)(void *arg);	/* the verdict came after spf_eval_start returned */
	void *arg;
};

/* reinject_milter_spf_start - begin for this transaction; cb when done later */
void reinject_milter_spf_start(struct reinject_milter_spf *sp,
    struct reinject_ctx *ctx, const struct smtp_xforward *xf,
    const char *sender, void (*cb)(void *), void *arg);
/* reinject_milter_spf_clear - cancel and forget */
void reinject_milter_spf_clear(struct reinject_milter_spf *sp);
/* reinject_milter_spf_pending - started and not done */
bool reinject_milter_spf_pending(const struct reinject_milter_spf *sp);
/* reinject_milter_spf_refusal - a fail: 550 5.7.23; a temperror when so
 * configured: 451 4.7.24 (RFC 7372 §3.2); else 0 */
int reinject_milter_spf_refusal(const struct reinject_milter_spf *sp,
    const char **enh);
/* reinject_milter_spf_refuse - the refusal as a REPLYCODE into out; true if any */
bool reinject_milter_spf_refuse(const struct reinject_milter_spf *sp,
    struct buf *out);
/* reinject_milter_spf_give - hand an evaluated result to the message, so the
 * pipeline does not evaluate SPF a second time */
void reinject_milter_spf_give(const struct reinject_milter_spf *sp,
    struct reinject_msg *m);
/* What the end of a message needs from the milter session. */
struct reinject_milter_eom_in {
	bool leadspc;			/* HDR_LEADSPC agreed */
	bool rcpt_actions;		/* ADDRCPT and DELRCPT agreed */
	const struct buf *rcpts;	/* recipients as sent, each NUL-ended */
};
/* reinject_milter_eom - the finished message as milter replies (modifications
 * and the final reply) appended to out; returns the action for the log */
const char *reinject_milter_eom(const struct reinject_msg *m,
    const struct reinject_milter_eom_in *in, struct buf *out);

/* ---- per-message log line (reinject_log.c) ---- */

void reinject_log_message(const struct reinject_msg *m, const char *action,
    const struct smtp_reply *down, const char *why);

/* ---- processes (reinject_worker.c, reinject_master.c) ---- */

/* reinject_worker_run - a worker's event loop; returns the exit status */
int reinject_worker_run(const struct reinject_conf *c);
/* reinject_master_run - prefork and supervise the workers */
int reinject_master_run(struct reinject_conf *c, const char *conf_path);
/* reinject_subcmd - "reinject keygen|testkey ..."; -1 when not a subcommand */
int reinject_subcmd(int argc, char **argv);
/* reinject_worker_tables - signing tables and InternalHosts; -1 and err */
int reinject_worker_tables(const struct reinject_conf *c, struct dkim_table **t,
    struct dkim_hostlist **h, struct buf *err);
/* reinject_worker_peers - peer_hosts loaded (NULL when empty); -1 and err */
int reinject_worker_peers(const struct reinject_conf *c, struct dkim_hostlist **p,
    struct buf *err);
/* reinject_worker_check - tables, keys, InternalHosts and resolver load; -1 and err */
int reinject_worker_check(const struct reinject_conf *c, struct buf *err);
/* reinject_worker_dns - the resolver for DKIM/DMARC lookups; NULL (logged) on error */
struct dns_resolver *reinject_worker_dns(struct event_base *base,
    const struct reinject_conf *c);
/* reinject_listen_open - bind every listener; -1 and a message in err */
int reinject_listen_open(struct reinject_conf *c, struct buf *err);
/* ---- metrics (reinject_metrics.c, common/metrics) ---- */

/* reinject_metrics_open - bind metrics_listen, map the counters; -1 and err */
int reinject_metrics_open(const struct reinject_conf *c, struct buf *err);
/* reinject_metrics_keys - every configured key's signatures series, at 0 */
void reinject_metrics_keys(const struct reinject_conf *c);
/* reinject_metrics_key - the series counting a key's signatures (-1: off) */
int reinject_metrics_key(const char *domain, const char *selector);
/* reinject_metrics_signed - one signature made with the key of series id */
void reinject_metrics_signed(int id);
/* reinject_metrics_dmarc - one DMARC verdict (result, disposition) */
void reinject_metrics_dmarc(int result, int disposition);
/* reinject_metrics_message - a message's final reply, action as logged */
void reinject_metrics_message(const struct reinject_msg *m, const char *action,
    const struct smtp_reply *down);

/* reinject_startlog - start-up lines: listeners, signing keys, DNS (reinject_startlog.c) */
void reinject_startlog(const struct reinject_conf *c);
/* reinject_listen_probe - bind and release every listener (-t); -1 and err */
int reinject_listen_probe(struct reinject_conf *c, struct buf *err);

#endif
