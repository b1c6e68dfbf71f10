/*
 * reinject_server.c - the upstream SMTP session (RFC 5321 §4.1, §4.3.2),
 * served to Postfix's smtp client, mirrored on a downstream session.
 *
 * Commands are dispatched from a table of (verb, preconditions, handler), as
 * OpenSMTPD does.  Pipelined commands (RFC 2920) are handled one at a time in
 * order: a handler that needs downstream's answer parks the session (WAIT)
 * until the answer is relayed, then the next buffered command runs, so replies
 * keep their order.  The downstream session is opened at the first MAIL FROM
 * (RFC 5321 §3.3: the transaction start), so MAIL and each RCPT get
 * downstream's own reply, and is kept for the next transactions.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dkim_table.h"
#include "log.h"
#include "mailaddr.h"
#include "metrics.h"
#include "reinject.h"

enum reinject_sstate {
	RS_CMD,		/* reading commands */
	RS_WAIT,	/* a handler waits for downstream */
	RS_DATA,	/* reading the message */
	RS_CLOSING,	/* flushing the last reply */
};

struct reinject_session {
	struct reinject_ctx *ctx;
	struct bufferevent *bev;
	enum reinject_mode mode;
	enum reinject_sstate state;
	char peer[128];
	unsigned errors;
	bool helo;
	bool esmtp;
	bool skip_line;			/* discarding an over-long command line */
	struct smtp_xforward xf;
	/* transaction */
	bool in_mail;
	char *sender;
	char *mail_arg;			/* MAIL argument until downstream's EHLO is known */
	size_t mail_arg_len;
	unsigned nrcpt, nrcpt_ok;
	char rcpt_domain[MAILADDR_DOMAIN_SIZE];	/* first accepted recipient's */
	char rcpt_next[MAILADDR_DOMAIN_SIZE];	/* the one downstream is asked */
	bool seal_rcpt;			/* an accepted recipient in arc_seal_recipient_domains */
	bool seal_rcpt_pending;		/* the RCPT awaiting downstream's answer is one */
	struct buf cmd;			/* command line being mirrored */
	struct reinject_client *down;
	struct reinject_msg *msg;
	struct reinject_data data;
	bool data_active;
};

/* Stop reading from the client when this much input waits unprocessed. */
#define REINJECT_SERVER_READ_HIGH	(256 * 1024)

typedef void (*reinject_server_fn)(struct reinject_session *s, struct span arg);

/* Preconditions of a command (RFC 5321 §4.1.4 order of commands). */
#define RS_NEED_HELO	0x01
#define RS_NEED_MAIL	0x02
#define RS_NO_MAIL	0x04

static void reinject_server_ehlo(struct reinject_session *, struct span);
static void reinject_server_helo(struct reinject_session *, struct span);
static void reinject_server_xforward(struct reinject_session *, struct span);
static void reinject_server_mail(struct reinject_session *, struct span);
static void reinject_server_rcpt(struct reinject_session *, struct span);
static void reinject_server_data(struct reinject_session *, struct span);
static void reinject_server_rset(struct reinject_session *, struct span);
static void reinject_server_noop(struct reinject_session *, struct span);
static void reinject_server_quit(struct reinject_session *, struct span);
static void reinject_server_unimpl(struct reinject_session *, struct span);
static void reinject_server_help(struct reinject_session *, struct span);
static void reinject_server_next(struct reinject_session *s);
static void reinject_server_free(struct reinject_session *s);

static const struct {
	enum smtp_verb verb;
	unsigned need;
	reinject_server_fn fn;
} reinject_server_cmds[] = {
	{ SMTP_VERB_EHLO, 0, reinject_server_ehlo },
	{ SMTP_VERB_HELO, 0, reinject_server_helo },
	{ SMTP_VERB_XFORWARD, RS_NEED_HELO | RS_NO_MAIL, reinject_server_xforward },
	{ SMTP_VERB_MAIL, RS_NEED_HELO | RS_NO_MAIL, reinject_server_mail },
	{ SMTP_VERB_RCPT, RS_NEED_MAIL, reinject_server_rcpt },
	{ SMTP_VERB_DATA, RS_NEED_MAIL, reinject_server_data },
	{ SMTP_VERB_RSET, 0, reinject_server_rset },
	{ SMTP_VERB_NOOP, 0, reinject_server_noop },
	{ SMTP_VERB_QUIT, 0, reinject_server_quit },
	{ SMTP_VERB_HELP, 0, reinject_server_help },
	{ SMTP_VERB_VRFY, 0, reinject_server_unimpl },
	{ SMTP_VERB_EXPN, 0, reinject_server_unimpl },
	{ SMTP_VERB_BDAT, 0, reinject_server_unimpl },
	{ SMTP_VERB_STARTTLS, 0, reinject_server_unimpl },
	{ SMTP_VERB_AUTH, 0, reinject_server_unimpl },
	{ SMTP_VERB_ETRN, 0, reinject_server_unimpl },
};

/* reinject_server_reply - one reply line (text may hold "\n") */
static void
reinject_server_reply(struct reinject_session *s, int code, const char *enh,
    const char *text)
{
	struct buf b;

	buf_init(&b, 65536);
	smtp_reply_format(&b, code, enh, text);
	bufferevent_write(s->bev, b.data, b.len);
	buf_clear(&b);
	if (code >= 500)
		s->errors++;
}

/* reinject_server_relay - downstream's reply, enhanced code kept */
static void
reinject_server_relay(struct reinject_session *s, const struct smtp_reply *r)
{
	struct buf b;

	buf_init(&b, 65536);
	smtp_reply_relay(&b, r);
	bufferevent_write(s->bev, b.data, b.len);
	buf_clear(&b);
}

/* reinject_server_timeouts - arm the upstream read timeout for the state */
static void
reinject_server_timeouts(struct reinject_session *s)
{
	const struct reinject_conf *c = s->ctx->conf;
	struct timeval tv = { (time_t)(s->state == RS_DATA ? c->data_timeout :
	    c->command_timeout), 0 };

	if (s->state == RS_WAIT)
		bufferevent_set_timeouts(s->bev, NULL, &tv);	/* downstream bounds it */
	else
		bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* reinject_server_enter - switch state */
static void
reinject_server_enter(struct reinject_session *s, enum reinject_sstate st)
{
	s->state = st;
	reinject_server_timeouts(s);
}

/* reinject_server_mail_forget - drop the saved MAIL argument */
static void
reinject_server_mail_forget(struct reinject_session *s)
{
	free(s->mail_arg);
	s->mail_arg = NULL;
	s->mail_arg_len = 0;
}

/* reinject_server_end_mail - forget the transaction (and XFORWARD, as Postfix) */
static void
reinject_server_end_mail(struct reinject_session *s)
{
	s->in_mail = false;
	free(s->sender);
	s->sender = NULL;
	reinject_server_mail_forget(s);
	s->nrcpt = s->nrcpt_ok = 0;
	s->rcpt_domain[0] = '\0';
	s->seal_rcpt = s->seal_rcpt_pending = false;
	if (s->data_active)
		reinject_data_clear(&s->data);
	s->data_active = false;
	reinject_msg_free(s->msg);
	s->msg = NULL;
	smtp_xforward_clear(&s->xf);
}

/* ---- downstream helpers ---- */

/* reinject_server_down_ok - downstream answered: relay and go on */
static void
reinject_server_down_relay(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	(void)failed;
	reinject_server_relay(s, r);
	reinject_server_next(s);
}

/* reinject_server_down_rset - abort a downstream transaction, then cb */
static void
reinject_server_down_rset(struct reinject_session *s, reinject_client_cb cb)
{
	if (s->down && reinject_client_ready(s->down))
		reinject_client_command(s->down, "RSET", cb, s);
	else
		cb(s, NULL, true);
}

/* ---- commands ---- */

/* reinject_server_greet - the EHLO (capabilities) or HELO reply */
static void
reinject_server_greet(struct reinject_session *s)
{
	char text[1024];

	s->helo = true;
	if (!s->esmtp) {
		reinject_server_reply(s, 250, NULL, s->ctx->conf->myhostname);
		return;
	}
	snprintf(text, sizeof(text), "%s\nPIPELINING\nSIZE %zu\n"
	    "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\n"
	    "ENHANCEDSTATUSCODES\n8BITMIME\nDSN\nSMTPUTF8",
	    s->ctx->conf->myhostname, s->ctx->conf->message_size_limit);
	reinject_server_reply(s, 250, NULL, text);
}

/* reinject_server_greet_done - downstream transaction reset: greet */
static void
reinject_server_greet_done(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	(void)r;
	(void)failed;
	reinject_server_greet(s);
	reinject_server_next(s);
}

/* reinject_server_hello - RFC 5321 §4.1.1.1: EHLO/HELO reset a transaction */
static void
reinject_server_hello(struct reinject_session *s, struct span arg, bool esmtp)
{
	if (!arg.len) {
		reinject_server_reply(s, 501, "5.5.4", "Syntax: EHLO hostname");
		return;
	}
	s->esmtp = esmtp;
	if (!s->in_mail) {
		reinject_server_greet(s);
		return;
	}
	reinject_server_end_mail(s);
	reinject_server_enter(s, RS_WAIT);
	reinject_server_down_rset(s, reinject_server_greet_done);
}

/* reinject_server_ehlo - announce what we pass through */
static void
reinject_server_ehlo(struct reinject_session *s, struct span arg)
{
	reinject_server_hello(s, arg, true);
}

/* reinject_server_helo - plain SMTP */
static void
reinject_server_helo(struct reinject_session *s, struct span arg)
{
	reinject_server_hello(s, arg, false);
}

/* reinject_server_xforward - XFORWARD_README */
static void
reinject_server_xforward(struct reinject_session *s, struct span arg)
{
	const char *why = smtp_xforward_parse(arg, &s->xf);

	if (why)
		reinject_server_reply(s, 501, "5.5.4", why);
	else
		reinject_server_reply(s, 250, "2.0.0", "Ok");
}

/* reinject_server_mail_check - upstream's MAIL parameters valid and in our limits */
static int
reinject_server_mail_check(struct reinject_session *s, const struct smtp_path *p,
    const char **why)
{
	uint64_t size = 0;

	for (size_t i = 0; i < p->nparams; i++) {
		const struct smtp_param *prm = &p->params[i];

		if ((*why = smtp_param_check(prm, false, &size)))
			return 555;
		if (smtp_param_kind(prm->key) == SMTP_PARAM_SIZE &&
		    size > s->ctx->conf->message_size_limit) {
			*why = "Message size exceeds fixed limit";
			return 552;
		}
	}
	return 0;
}

/* reinject_server_param_is_8bit - BODY=8BITMIME (RFC 6152 §2) */
static bool
reinject_server_param_is_8bit(const struct smtp_param *prm)
{
	return prm->value.len == 8 &&
	    strncasecmp(prm->value.p, "8BITMIME", 8) == 0;
}

/*
 * reinject_server_param_forward - may prm go to a downstream announcing ext?
 * Returns 1 to pass it, 0 to drop it silently, -1 when the transaction needs
 * an extension downstream lacks (*enh, *why say which).
 *
 * Refusals are temporary on purpose: the downstream is the administrator's own
 * re-injection smtpd, so a missing extension is a configuration error to fix
 * (smtputf8_enable = yes, no smtpd_discard_ehlo_keywords), and the message
 * must stay queued in Postfix until then, neither bounced nor mangled:
 * - SMTPUTF8 (RFC 6531 §3.2, §3.4): the mail must not be sent to a server
 *   without SMTPUTF8, and we do not downgrade.  X.6.7 is RFC 6531's code for
 *   it; Postfix's smtp client uses 5.6.7 in the same situation ("SMTPUTF8 is
 *   required, but was not offered").  Class 4 (RFC 3463 §3.1: persistent
 *   transient) keeps it queued.
 * - BODY=8BITMIME (RFC 6152 §3): 8-bit content may only be relayed to a
 *   server without 8BITMIME after conversion to 7 bit, which would break DKIM
 *   signatures; we do not convert: RFC 3463 X.6.3 "Conversion required but
 *   not supported", class 4 for the same reason.
 * - RET, ENVID, NOTIFY, ORCPT to a server without DSN: RFC 3461 §4 lets the
 *   relaying MTA drop them (and issue a "relayed" DSN where NOTIFY=SUCCESS
 *   asked for one); dropped here.  With Postfix downstream this never happens:
 *   its smtpd announces DSN.
 * - SIZE (RFC 1870 §6) and BODY=7BIT only without their extension: dropped.
 */
static int
reinject_server_param_forward(const struct smtp_param *prm, unsigned ext,
    const char **enh, const char **why)
{
	switch (smtp_param_kind(prm->key)) {
	case SMTP_PARAM_SMTPUTF8:
		if (ext & SMTP_EXT_SMTPUTF8)
			return 1;
		*enh = "4.6.7";
		*why = "SMTPUTF8 is required, but was not offered by the downstream";
		return -1;
	case SMTP_PARAM_BODY:
		if (ext & SMTP_EXT_8BITMIME)
			return 1;
		if (!reinject_server_param_is_8bit(prm))
			return 0;
		*enh = "4.6.3";
		*why = "8BITMIME is required, but was not offered by the downstream";
		return -1;
	case SMTP_PARAM_SIZE:
		return (ext & SMTP_EXT_SIZE) != 0;
	case SMTP_PARAM_RET:
	case SMTP_PARAM_ENVID:
	case SMTP_PARAM_NOTIFY:
	case SMTP_PARAM_ORCPT:
		return (ext & SMTP_EXT_DSN) != 0;
	case SMTP_PARAM_UNKNOWN:
		break;
	}
	return 1;
}

/* reinject_server_param_add - append " KEY[=VALUE]" to the command */
static void
reinject_server_param_add(struct reinject_session *s, const struct smtp_param *prm)
{
	buf_printf(&s->cmd, " %.*s", (int)prm->key.len, prm->key.p);
	if (prm->has_value)
		buf_printf(&s->cmd, "=%.*s", (int)prm->value.len, prm->value.p);
}

/*
 * reinject_server_mail_line - the MAIL command for downstream, its parameters
 * filtered by downstream's EHLO; false with *enh, *why when it cannot go.
 */
static bool
reinject_server_mail_line(struct reinject_session *s, unsigned ext,
    const char **enh, const char **why)
{
	struct smtp_path p;
	struct span arg = { s->mail_arg, s->mail_arg_len };

	buf_reset(&s->cmd);
	if (smtp_path_parse(arg, "FROM", &p) != SMTP_PATH_OK) {
		/* parsed once already in reinject_server_mail */
		*enh = "4.3.0";
		*why = "Internal error";
		return false;
	}
	buf_printf(&s->cmd, "MAIL FROM:<%.*s>", (int)p.addr.len, p.addr.p);
	for (size_t i = 0; i < p.nparams; i++) {
		int fw = reinject_server_param_forward(&p.params[i], ext, enh, why);

		if (fw < 0)
			return false;
		if (fw > 0)
			reinject_server_param_add(s, &p.params[i]);
	}
	return true;
}

/* reinject_server_mail_sent - downstream's answer to MAIL */
static void
reinject_server_mail_done(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	if (!failed && smtp_reply_class(r) == 2)
		s->in_mail = true;
	else {
		free(s->sender);
		s->sender = NULL;
	}
	reinject_server_down_relay(s, r, failed);
}

/* reinject_server_mail_send - MAIL downstream (XFORWARD first if we have it) */
static void
reinject_server_mail_send(struct reinject_session *s)
{
	reinject_client_command(s->down, buf_cstr(&s->cmd),
	    reinject_server_mail_done, s);
}

/* reinject_server_xforward_done - downstream's answer to XFORWARD */
static void
reinject_server_xforward_done(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	if (failed || smtp_reply_class(r) != 2) {
		free(s->sender);
		s->sender = NULL;
		reinject_server_relay(s, r);
		reinject_server_next(s);
		return;
	}
	reinject_server_mail_send(s);
}

/* reinject_server_ready - downstream is connected: XFORWARD, then MAIL */
static void
reinject_server_ready(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;
	const struct smtp_ehlo *e;
	const char *enh = NULL, *why = NULL;
	struct buf xf;
	bool ok;

	if (failed) {
		reinject_server_mail_forget(s);
		free(s->sender);
		s->sender = NULL;
		reinject_server_relay(s, r);
		reinject_server_next(s);
		return;
	}
	e = reinject_client_ehlo(s->down);
	ok = reinject_server_mail_line(s, e->ext, &enh, &why);
	reinject_server_mail_forget(s);
	if (!ok) {
		log_warn("%s: from=<%s>: refused at MAIL: %s", s->peer, s->sender, why);
		free(s->sender);
		s->sender = NULL;
		reinject_server_reply(s, 451, enh, why);
		reinject_server_next(s);
		return;
	}
	buf_init(&xf, 8192);
	if ((e->ext & SMTP_EXT_XFORWARD) &&
	    smtp_xforward_format(&s->xf, e->xforward, &xf) > 0) {
		reinject_client_command(s->down, buf_cstr(&xf),
		    reinject_server_xforward_done, s);
	} else {
		reinject_server_mail_send(s);
	}
	buf_clear(&xf);
}

/* reinject_server_mail - RFC 5321 §4.1.1.2, parameters checked and mirrored */
static void
reinject_server_mail(struct reinject_session *s, struct span arg)
{
	struct smtp_path p;
	enum smtp_path_status st = smtp_path_parse(arg, "FROM", &p);
	const char *why = NULL;
	int code;

	if (st != SMTP_PATH_OK) {
		reinject_server_reply(s, st == SMTP_PATH_TOO_MANY_PARAMS ? 555 : 501,
		    st == SMTP_PATH_TOO_LONG ? "5.1.7" : "5.5.4",
		    smtp_path_status_str(st));
		return;
	}
	if ((code = reinject_server_mail_check(s, &p, &why))) {
		reinject_server_reply(s, code, code == 552 ? "5.3.4" : "5.5.4", why);
		return;
	}
	s->sender = xstrndup(p.addr.p, p.addr.len);
	/* the command is built once downstream's EHLO is known */
	reinject_server_mail_forget(s);
	s->mail_arg = xstrndup(arg.p, arg.len);
	s->mail_arg_len = arg.len;
	reinject_server_enter(s, RS_WAIT);
	if (!s->down)
		s->down = reinject_client_new(s->ctx, s->ctx->conf->downstream);
	if (reinject_client_ready(s->down))
		reinject_server_ready(s, NULL, false);
	else
		reinject_client_connect(s->down, reinject_server_ready, s);
}

/* reinject_server_rcpt_done - downstream's per-recipient answer, relayed */
static void
reinject_server_rcpt_done(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	if (!failed && smtp_reply_class(r) == 2) {
		if (s->nrcpt_ok++ == 0)
			memcpy(s->rcpt_domain, s->rcpt_next, sizeof(s->rcpt_domain));
		s->seal_rcpt |= s->seal_rcpt_pending;
	}
	reinject_server_down_relay(s, r, failed);
}

/* reinject_server_rcpt - RFC 5321 §4.1.1.3 with NOTIFY/ORCPT (RFC 3461) */
static void
reinject_server_rcpt(struct reinject_session *s, struct span arg)
{
	struct smtp_path p;
	enum smtp_path_status st = smtp_path_parse(arg, "TO", &p);
	unsigned ext;

	if (st != SMTP_PATH_OK) {
		reinject_server_reply(s, st == SMTP_PATH_TOO_MANY_PARAMS ? 555 : 501,
		    st == SMTP_PATH_TOO_LONG ? "5.1.3" : "5.5.4",
		    smtp_path_status_str(st));
		return;
	}
	if (s->nrcpt >= (unsigned)s->ctx->conf->recipient_limit) {
		/* RFC 5321 §4.5.3.1.10: the client sends the rest later */
		reinject_server_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (!reinject_client_ready(s->down)) {
		reinject_server_reply(s, 451, "4.4.2", "Downstream connection lost");
		return;
	}
	ext = reinject_client_ehlo(s->down)->ext;
	buf_reset(&s->cmd);
	buf_printf(&s->cmd, "RCPT TO:<%.*s>", (int)p.addr.len, p.addr.p);
	for (size_t i = 0; i < p.nparams; i++) {
		const char *enh, *why = smtp_param_check(&p.params[i], true, NULL);

		if (why) {
			reinject_server_reply(s, 555, "5.5.4", why);
			return;
		}
		/* NOTIFY/ORCPT only: never refused, dropped without DSN */
		if (reinject_server_param_forward(&p.params[i], ext, &enh, &why) > 0)
			reinject_server_param_add(s, &p.params[i]);
	}
	s->nrcpt++;
	reinject_report_rcpt_domain(p.addr.p, p.addr.len, s->rcpt_next,
	    sizeof(s->rcpt_next));
	s->seal_rcpt_pending = reinject_arc_seal_rcpt(&s->ctx->conf->arc, p.addr);
	reinject_server_enter(s, RS_WAIT);
	reinject_client_command(s->down, buf_cstr(&s->cmd),
	    reinject_server_rcpt_done, s);
}

/* reinject_server_internal - is the original client in InternalHosts */
static bool
reinject_server_internal(struct reinject_session *s)
{
	const char *addr = smtp_xforward_addr(&s->xf);

	if (!s->ctx->internal || !addr)
		return false;
	return dkim_table_host_match_text(s->ctx->internal,
	    s->xf.value[SMTP_XFWD_NAME], addr);
}

static void reinject_server_data_line(void *arg, const char *p, size_t len);

/* reinject_server_data - RFC 5321 §4.1.1.4: 354, then read the message */
static void
reinject_server_data(struct reinject_session *s, struct span arg)
{
	struct reinject_msg *m;

	if (arg.len) {
		reinject_server_reply(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (!s->nrcpt_ok) {
		reinject_server_reply(s, 554, "5.5.1", "Error: no valid recipients");
		return;
	}
	if (!reinject_client_ready(s->down)) {
		reinject_server_reply(s, 451, "4.4.2", "Downstream connection lost");
		return;
	}
	m = s->msg = reinject_msg_new(s->ctx);
	m->sender = s->sender;
	m->nrcpt = s->nrcpt_ok;
	m->rcpt_domain = s->rcpt_domain;
	m->arc_seal_rcpt = s->seal_rcpt;
	m->xf = &s->xf;
	m->mode = s->mode;
	/* without signing keys, internal mail is verified like any other */
	m->sign = s->ctx->sign_table &&
	    (s->mode == REINJECT_MODE_SIGN || reinject_server_internal(s));
	reinject_pipeline_begin(m);
	reinject_data_init(&s->data, s->ctx->conf, reinject_server_data_line, s);
	s->data_active = true;
	reinject_server_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	reinject_server_enter(s, RS_DATA);
}

/* reinject_server_rset_done - downstream reset too */
static void
reinject_server_rset_done(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;

	(void)r;
	(void)failed;
	reinject_server_reply(s, 250, "2.0.0", "Ok");
	reinject_server_next(s);
}

/* reinject_server_rset - RFC 5321 §4.1.1.5, mirrored */
static void
reinject_server_rset(struct reinject_session *s, struct span arg)
{
	(void)arg;
	reinject_server_end_mail(s);
	reinject_server_enter(s, RS_WAIT);
	reinject_server_down_rset(s, reinject_server_rset_done);
}

/* reinject_server_noop - RFC 5321 §4.1.1.9 */
static void
reinject_server_noop(struct reinject_session *s, struct span arg)
{
	(void)arg;
	reinject_server_reply(s, 250, "2.0.0", "Ok");
}

/* reinject_server_help - RFC 5321 §4.1.1.8 */
static void
reinject_server_help(struct reinject_session *s, struct span arg)
{
	(void)arg;
	reinject_server_reply(s, 214, "2.0.0", "reinject content filter; see RFC 5321");
}

/* reinject_server_unimpl - RFC 5321 §4.2.4: 502 for what we do not offer */
static void
reinject_server_unimpl(struct reinject_session *s, struct span arg)
{
	(void)arg;
	reinject_server_reply(s, 502, "5.5.1", "Error: command not implemented");
}

/* reinject_server_quit - RFC 5321 §4.1.1.10, mirrored downstream */
static void
reinject_server_quit(struct reinject_session *s, struct span arg)
{
	(void)arg;
	reinject_server_end_mail(s);
	reinject_client_free(s->down);	/* sends QUIT when idle */
	s->down = NULL;
	reinject_server_reply(s, 221, "2.0.0", "Bye");
	reinject_server_enter(s, RS_CLOSING);
}

/* ---- end of DATA ---- */

/* reinject_server_finish_reply - answer upstream, log, end the transaction */
static void
reinject_server_finish(struct reinject_session *s, const char *action,
    const struct smtp_reply *down, int code, const char *enh, const char *text)
{
	if (down)
		reinject_server_relay(s, down);
	else
		reinject_server_reply(s, code, enh, text);
	reinject_log_message(s->msg, action, down, down ? NULL : text);
	reinject_server_end_mail(s);
	reinject_server_next(s);
}

/* reinject_server_sent - downstream's reply to the message */
static void
reinject_server_sent(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;
	int cls = smtp_reply_class(r);

	reinject_server_finish(s, failed ? "deferred" : cls == 2 ? "relayed" :
	    cls == 4 ? "deferred" : "rejected", r, 0, NULL, NULL);
}

/* reinject_server_dropped - after a local verdict, downstream was reset */
static void
reinject_server_dropped(void *arg, const struct smtp_reply *r, bool failed)
{
	struct reinject_session *s = arg;
	struct reinject_msg *m = s->msg;

	(void)r;
	(void)failed;
	if (m->action == REINJECT_ACTION_DISCARD)
		reinject_server_finish(s, "discarded", NULL, 250, "2.0.0",
		    "Ok: discarded");
	else if (m->tempfail)
		reinject_server_finish(s, "deferred", NULL, m->code, m->enh, m->tempfail);
	else
		reinject_server_finish(s, "rejected", NULL, m->code, m->enh, m->text);
}

/* reinject_server_stages_done - stages finished: relay, or refuse */
static void
reinject_server_stages_done(struct reinject_msg *m, void *arg)
{
	struct reinject_session *s = arg;

	if (m->tempfail && m->code == 0) {
		m->code = 451;
		snprintf(m->enh, sizeof(m->enh), "4.3.0");
	}
	if (m->tempfail || m->action != REINJECT_ACTION_RELAY) {
		reinject_server_down_rset(s, reinject_server_dropped);
		return;
	}
	if (!s->down || !reinject_client_ready(s->down)) {
		m->tempfail = "downstream connection lost";
		m->code = 451;
		snprintf(m->enh, sizeof(m->enh), "4.4.2");
		reinject_server_dropped(s, NULL, true);
		return;
	}
	reinject_client_data(s->down, m, reinject_server_sent, s);
}

/* reinject_server_data_check - decoder and spool verdicts, most serious first */
static void
reinject_server_data_check(struct reinject_session *s)
{
	struct reinject_data *d = &s->data;
	struct reinject_msg *m = s->msg;

	m->size = d->size;
	if (d->too_big)
		reinject_msg_reject(m, 552, "5.3.4", "Message size exceeds fixed limit");
	else if (d->bare_nl && d->bare_action == REINJECT_BARE_NL_REFUSE)
		reinject_msg_reject(m, 550, "5.6.0",
		    "Message contains bare CR or LF (bare_newline_action = refuse)");
	else if (d->long_line && d->long_action == REINJECT_LONG_LINE_REFUSE)
		reinject_msg_reject(m, 550, "5.6.0",
		    "Message line longer than 998 octets (long_line_action = refuse)");
	else if (d->nul && d->nul_action == REINJECT_NUL_REFUSE)
		reinject_msg_reject(m, 550, "5.6.0",
		    "Message contains NUL characters (nul_byte_action = refuse)");
	else if (d->nul)
		log_info("%s: from=<%s>: NUL characters left out of the message",
		    s->peer, s->sender);
	if (reinject_msg_end(m) < 0 || m->spool.error) {
		log_warn("%s: spool %s: %s", s->peer, s->ctx->conf->spool_directory,
		    strerror(m->spool.error));
		m->tempfail = "Insufficient system storage: spool write failed";
		m->code = 452;
		snprintf(m->enh, sizeof(m->enh), "4.3.1");
	}
}

/* reinject_server_data_end - ".": run the stages, then downstream */
static void
reinject_server_data_end(struct reinject_session *s)
{
	reinject_server_data_check(s);
	reinject_server_enter(s, RS_WAIT);
	if (s->msg->tempfail || s->msg->action != REINJECT_ACTION_RELAY) {
		reinject_server_stages_done(s->msg, s);
		return;
	}
	reinject_pipeline_run(s->msg, reinject_server_stages_done, s);
}

/* reinject_server_data_line - a decoded line into the message */
static void
reinject_server_data_line(void *arg, const char *p, size_t len)
{
	struct reinject_session *s = arg;

	reinject_msg_line(s->msg, p, len);
}

/* reinject_server_data_input - message bytes from the socket */
static void
reinject_server_data_input(struct reinject_session *s, struct evbuffer *in)
{
	while (s->state == RS_DATA && evbuffer_get_length(in)) {
		struct evbuffer_iovec v;
		size_t used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		used = reinject_data_feed(&s->data, v.iov_base, v.iov_len);
		evbuffer_drain(in, used);
		if (s->data.done)
			reinject_server_data_end(s);
	}
}

/* ---- command dispatch ---- */

/* reinject_server_dispatch - preconditions, then the handler */
static void
reinject_server_dispatch(struct reinject_session *s, const char *line, size_t n)
{
	struct smtp_cmd c;
	enum smtp_cmd_status st = smtp_cmd_parse(line, n, &c);

	if (st == SMTP_CMD_NUL || st == SMTP_CMD_BAD_CHAR) {
		reinject_server_reply(s, 500, "5.5.2", "Error: bad character in command");
		return;
	}
	for (size_t i = 0; st == SMTP_CMD_OK && i < ARRAY_LEN(reinject_server_cmds); i++) {
		unsigned need = reinject_server_cmds[i].need;

		if (reinject_server_cmds[i].verb != c.verb)
			continue;
		if ((need & RS_NEED_HELO) && !s->helo)
			reinject_server_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		else if ((need & RS_NEED_MAIL) && !s->in_mail)
			reinject_server_reply(s, 503, "5.5.1", "Error: need MAIL command");
		else if ((need & RS_NO_MAIL) && s->in_mail)
			reinject_server_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		else
			reinject_server_cmds[i].fn(s, c.arg);
		return;
	}
	reinject_server_reply(s, 500, "5.5.2", "Error: command not recognized");
}

/* reinject_server_command - take one command line off the input */
static bool
reinject_server_command(struct reinject_session *s, struct evbuffer *in)
{
	size_t limit = (size_t)s->ctx->conf->line_length_limit, n;
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
	char *line;

	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > limit) {
			/* enforce the limit before accumulating (STYLE) */
			evbuffer_drain(in, evbuffer_get_length(in));
			s->skip_line = true;
		}
		return false;
	}
	if (s->skip_line || (size_t)eol.pos > limit) {
		evbuffer_drain(in, (size_t)eol.pos + n);
		s->skip_line = false;
		reinject_server_reply(s, 500, "5.5.2", "Error: command line too long");
		return true;
	}
	line = xmalloc((size_t)eol.pos + 1);
	evbuffer_remove(in, line, (size_t)eol.pos);
	evbuffer_drain(in, n);
	n = (size_t)eol.pos;
	if (n && line[n - 1] == '\r')
		n--;
	reinject_server_dispatch(s, line, n);
	free(line);
	return true;
}

/* reinject_server_next - process buffered input in the current state */
static void
reinject_server_next(struct reinject_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	if (s->state == RS_WAIT)
		reinject_server_enter(s, RS_CMD);
	while (s->state == RS_CMD || s->state == RS_DATA) {
		if (s->errors >= (unsigned)s->ctx->conf->error_limit) {
			reinject_server_reply(s, 421, "4.7.0", "Error: too many errors");
			reinject_server_enter(s, RS_CLOSING);
			break;
		}
		if (s->state == RS_DATA) {
			reinject_server_data_input(s, in);
			break;
		}
		if (!reinject_server_command(s, in))
			break;
	}
	if (s->state == RS_CLOSING && !evbuffer_get_length(bufferevent_get_output(s->bev)))
		reinject_server_free(s);
}

/* ---- socket events ---- */

/* reinject_server_read - bytes arrived */
static void
reinject_server_read(struct bufferevent *bev, void *arg)
{
	struct reinject_session *s = arg;

	(void)bev;
	if (s->state == RS_CMD || s->state == RS_DATA)
		reinject_server_next(s);
}

/* reinject_server_write - output drained */
static void
reinject_server_write(struct bufferevent *bev, void *arg)
{
	struct reinject_session *s = arg;

	(void)bev;
	if (s->state == RS_CLOSING)
		reinject_server_free(s);
}

/* reinject_server_event - EOF, error or timeout */
static void
reinject_server_event(struct bufferevent *bev, short what, void *arg)
{
	struct reinject_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		char text[300];

		log_info("%s: timeout in %s", s->peer,
		    s->state == RS_DATA ? "DATA" : "command");
		snprintf(text, sizeof(text), "%s Error: timeout exceeded",
		    s->ctx->conf->myhostname);
		reinject_server_reply(s, 421, "4.4.2", text);
		reinject_server_end_mail(s);
		reinject_client_free(s->down);	/* no 250 given: the mail stays queued */
		s->down = NULL;
		bufferevent_disable(s->bev, EV_READ);
		reinject_server_enter(s, RS_CLOSING);
		return;
	} else if (s->in_mail) {
		log_info("%s: lost connection in a transaction", s->peer);
	}
	reinject_server_free(s);
}

/* reinject_server_free - close both sides; an open downstream transaction is
 * dropped with its connection, so nothing is delivered without our 250 */
static void
reinject_server_free(struct reinject_session *s)
{
	reinject_server_end_mail(s);
	reinject_client_free(s->down);
	bufferevent_free(s->bev);
	buf_clear(&s->cmd);
	s->ctx->sessions--;
	metrics_proc_sessions(-1);
	log_debug("%s: disconnect", s->peer);
	free(s);
}

/* reinject_server_accept - start a session on an accepted socket */
void
reinject_server_accept(struct reinject_ctx *ctx, int fd, enum reinject_mode mode,
    const char *peer)
{
	struct reinject_session *s = xcalloc(1, sizeof(*s));
	char text[300];
	int on = 1;

	/* replies are small writes answered by the peer's next command: without
	 * this, Nagle and delayed ACKs cost tens of milliseconds per exchange */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	s->ctx = ctx;
	s->mode = mode;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	buf_init(&s->cmd, 65536);
	s->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, reinject_server_read, reinject_server_write,
	    reinject_server_event, s);
	/* pipelined input waits in the socket, not in our memory */
	bufferevent_setwatermark(s->bev, EV_READ, 0, REINJECT_SERVER_READ_HIGH);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	ctx->sessions++;
	metrics_proc_sessions(1);
	if (ctx->sessions > (unsigned)ctx->conf->session_limit || ctx->draining) {
		snprintf(text, sizeof(text), "%s Error: too many sessions",
		    ctx->conf->myhostname);
		reinject_server_reply(s, 421, "4.3.2", text);
		reinject_server_enter(s, RS_CLOSING);
		return;
	}
	snprintf(text, sizeof(text), "%s ESMTP reinject", ctx->conf->myhostname);
	reinject_server_reply(s, 220, NULL, text);
	reinject_server_enter(s, RS_CMD);
}
