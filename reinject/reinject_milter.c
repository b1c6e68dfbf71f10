/*
 * reinject_milter.c - the milter front-end: a session speaking the Sendmail 8
 * milter protocol, version 6 (common/milter), to Postfix (smtpd_milters,
 * non_smtpd_milters) or sendmail (INPUT_MAIL_FILTER), feeding the same
 * pipeline as the SMTP listeners.
 *
 * What XFORWARD gives the SMTP listeners comes from the protocol here: the
 * client name and address from CONNECT, HELO, MAIL FROM, and the macros i
 * (queue id), {auth_authen}, {daemon_name}, {client_addr} and {if_addr}
 * ({daemon_addr} from Postfix).  {daemon_name} listed in milter_sign_daemons
 * marks our own users' mail (signed, never refused for SPF); the receiving
 * address goes into the log line.
 * Header fields and body chunks are fed to the message as the lines the SMTP
 * listeners would have received (reinject_msg.c).  At the end of the message
 * the stages finish (asynchronous DNS) and reinject_milter_eom.c turns the
 * outcome into replies.
 *
 * Negotiation asks only for the steps and macros used, and for no reply to
 * every step before the end of the message where the MTA offers it, so a
 * message costs one round trip.  Every failure of ours (a malformed packet,
 * a limit, the per-message time) ends in a temporary failure: a 4xx reply,
 * or the connection closed, which an MTA configured as documented
 * (milter_default_action = tempfail) turns into a 4xx too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "dkim_table.h"
#include "log.h"
#include "mailaddr.h"
#include "metrics.h"
#include "milter.h"
#include "reinject.h"

/* Macros asked for per stage (Postfix and sendmail send these when listed). */
/* {if_addr} is sendmail's; Postfix has {daemon_addr} (3.2 and later) only */
#define REINJECT_MILTER_MACROS_CONNECT	\
	"j {daemon_name} {client_addr} {if_addr} {daemon_addr}"
#define REINJECT_MILTER_MACROS_ENVFROM	"i {auth_authen}"
#define REINJECT_MILTER_MACROS_EOM	"i"

struct reinject_milter {
	struct reinject_ctx *ctx;
	struct bufferevent *bev;
	char peer[160];
	struct milter_optneg agreed;
	bool negotiated;
	/* connection and transaction, as XFORWARD would carry them */
	struct smtp_xforward xf;
	char *daemon;			/* {daemon_name}: milter_sign_daemons */
	char *if_addr;			/* {if_addr} or {daemon_addr}: where mail came in */
	char *sender;
	unsigned nrcpt;
	char rcpt_domain[MAILADDR_DOMAIN_SIZE];	/* first recipient's (envelope_to) */
	bool seal_rcpt;			/* a recipient in arc_seal_recipient_domains */
	struct buf rcpts;		/* as sent, NUL-ended, for redirect */
	bool auth;			/* {auth_authen} non-empty */
	unsigned char auth_stage;	/* the MACRO stage auth and i came with */
	unsigned char ident_stage;
	/* message */
	struct reinject_msg *msg;
	bool eoh;
	bool waiting;			/* SPF or the stages running: no reads */
	struct event *msg_timer;	/* milter_message_timeout */
	struct event *done_ev;		/* answer outside the pipeline's call chain */
	/* SPF of the transaction (reinject_milter_spf.c) */
	struct reinject_milter_spf spf;
	unsigned char spf_wait;		/* RCPT or EOB waiting for it, or 0 */
	struct event *spf_ev;		/* resume outside the resolver's call chain */
	struct buf out;
};

typedef int (*reinject_milter_fn)(struct reinject_milter *,
    const struct milter_cmd *);

static void reinject_milter_free(struct reinject_milter *s);
static void reinject_milter_read(struct bufferevent *bev, void *arg);
static void reinject_milter_spf_ready(void *arg);

/* reinject_milter_send - queue the replies built in s->out */
static void
reinject_milter_send(struct reinject_milter *s)
{
	if (s->out.overflow)
		log_panic("reinject_milter_send: reply buffer overflow");
	bufferevent_write(s->bev, s->out.data, s->out.len);
	buf_reset(&s->out);
}

/* reinject_milter_step_reply - CONTINUE unless the step was agreed no-reply */
static void
reinject_milter_step_reply(struct reinject_milter *s, enum milter_cmd_code c)
{
	if (s->agreed.protocol & milter_optneg_no_reply(c))
		return;
	milter_reply_simple(&s->out, MILTER_REPLY_CONTINUE);
	reinject_milter_send(s);
}

/* reinject_milter_set - replace a string value with (p, len) */
static void
reinject_milter_set(char **dst, struct span v)
{
	free(*dst);
	*dst = xmemdup0(v.p, v.len);
}

/* reinject_milter_end_msg - forget the message (abort, new transaction) */
static void
reinject_milter_end_msg(struct reinject_milter *s)
{
	reinject_msg_free(s->msg);
	s->msg = NULL;
	s->eoh = false;
	s->waiting = false;
	evtimer_del(s->msg_timer);
	evtimer_del(s->done_ev);
}

/* reinject_milter_end_mail - forget the transaction */
static void
reinject_milter_end_mail(struct reinject_milter *s)
{
	reinject_milter_end_msg(s);
	reinject_milter_spf_clear(&s->spf);
	s->spf_wait = 0;
	evtimer_del(s->spf_ev);
	free(s->sender);
	s->sender = NULL;
	s->nrcpt = 0;
	s->rcpt_domain[0] = '\0';
	s->seal_rcpt = false;
	buf_reset(&s->rcpts);
	s->auth = false;
	free(s->xf.value[SMTP_XFWD_IDENT]);
	s->xf.value[SMTP_XFWD_IDENT] = NULL;
}

/* reinject_milter_internal - is the client in InternalHosts */
static bool
reinject_milter_internal(const struct reinject_milter *s)
{
	const char *addr = s->xf.value[SMTP_XFWD_ADDR];

	/* no address (a local submission of unknown family): the name alone */
	return s->ctx->internal &&
	    dkim_table_host_match_text(s->ctx->internal,
	    s->xf.value[SMTP_XFWD_NAME], addr);
}

/* reinject_milter_own - our own users' mail: SASL login, an internal client,
 * or a daemon listed in milter_sign_daemons (OpenDKIM's MTA setting, e.g.
 * Postfix's submission service with milter_macro_daemon_name=ORIGINATING) */
static bool
reinject_milter_own(const struct reinject_milter *s)
{
	const struct config_list *d = &s->ctx->conf->milter_sign_daemons;

	return s->auth || reinject_milter_internal(s) ||
	    (s->daemon && config_list_has_ci(d, s->daemon, strlen(s->daemon)));
}

/* reinject_milter_keep - bytes of the body kept for failure reports: with
 * report_failure_body, as many as report_failure_body_size_limit allows
 * (and the empty line before the body); else none */
static size_t
reinject_milter_keep(const struct reinject_conf *c)
{
	if (!c->dmarc.enable || !c->report.failure_enable || !c->report.failure_body)
		return 0;
	return c->report.failure_body_size_limit + 2;
}

/* reinject_milter_msg - the message, begun at its first header or body byte */
static struct reinject_msg *
reinject_milter_msg(struct reinject_milter *s)
{
	struct reinject_msg *m;
	struct timeval tv = { (time_t)s->ctx->conf->milter_message_timeout, 0 };

	if (s->msg)
		return s->msg;
	m = s->msg = reinject_msg_new(s->ctx);
	/* the MTA keeps the message: stream it through the stages, spool none
	 * but a body small enough for a failure report */
	reinject_spool_clear(&m->spool);
	reinject_spool_init(&m->spool, NULL, reinject_milter_keep(s->ctx->conf));
	m->sender = s->sender ? s->sender : "";
	m->nrcpt = s->nrcpt;
	m->rcpt_domain = s->rcpt_domain;
	m->arc_seal_rcpt = s->seal_rcpt;
	m->xf = &s->xf;
	m->mode = REINJECT_MODE_MILTER;
	m->if_addr = s->if_addr;
	/* as OpenDKIM: sign for SASL-authenticated and internal clients and
	 * the daemons of MTA */
	m->sign = s->ctx->sign_table && reinject_milter_own(s);
	reinject_pipeline_begin(m);
	evtimer_add(s->msg_timer, &tv);
	return m;
}

/* reinject_milter_on_optneg - agree on version, actions, steps and macros */
static int
reinject_milter_on_optneg(struct reinject_milter *s, const struct milter_cmd *c)
{
	struct milter_want w = { 0 };
	enum milter_optneg_status st;

	w.actions = MILTER_ACT_ADDHDRS | MILTER_ACT_CHGHDRS |
	    MILTER_ACT_QUARANTINE;
	/* redirect needs both; without them it holds, as before */
	if (s->ctx->conf->milter_redirect_recipient[0])
		w.actions_opt = MILTER_ACT_ADDRCPT | MILTER_ACT_DELRCPT;
	w.steps_off = MILTER_P_NODATA | MILTER_P_NOUNKNOWN;
	w.no_reply = MILTER_P_NR_CONN | MILTER_P_NR_HELO | MILTER_P_NR_MAIL |
	    MILTER_P_NR_DATA | MILTER_P_NR_UNKN | MILTER_P_NR_EOH |
	    MILTER_P_NR_BODY | MILTER_P_NR_HDR;
	/* RCPT is answered only when an SPF fail may refuse it */
	if (s->ctx->conf->milter_spf_reject != REINJECT_MILTER_SPF_RCPT)
		w.no_reply |= MILTER_P_NR_RCPT;
	w.flags = MILTER_P_HDR_LEADSPC;
	w.macros[MILTER_MACROS_CONNECT] = REINJECT_MILTER_MACROS_CONNECT;
	w.macros[MILTER_MACROS_ENVFROM] = REINJECT_MILTER_MACROS_ENVFROM;
	w.macros[MILTER_MACROS_EOM] = REINJECT_MILTER_MACROS_EOM;
	st = milter_optneg_answer(&c->u.optneg, &w, &s->agreed, &s->out);
	if (st != MILTER_OPTNEG_OK) {
		log_warn("milter %s: negotiation: %s", s->peer,
		    milter_optneg_status_str(st));
		return -1;
	}
	s->negotiated = true;
	reinject_milter_send(s);
	return 0;
}

/* reinject_milter_forget_connect - the connect macros of the last connection */
static void
reinject_milter_forget_connect(struct reinject_milter *s)
{
	free(s->daemon);
	free(s->if_addr);
	s->daemon = s->if_addr = NULL;
}

/*
 * reinject_milter_macro_forget - a stage's new macros replace the values its
 * last ones set (libmilter keeps one set per stage): a login or queue id
 * from the previous transaction must not stick to this one
 */
static void
reinject_milter_macro_forget(struct reinject_milter *s, unsigned char stage)
{
	if (s->auth_stage == stage)
		s->auth = false;
	if (s->ident_stage == stage) {
		free(s->xf.value[SMTP_XFWD_IDENT]);
		s->xf.value[SMTP_XFWD_IDENT] = NULL;
	}
	if (stage == MILTER_CMD_CONNECT)
		reinject_milter_forget_connect(s);
}

/* reinject_milter_macro_one - one macro into the session's inputs */
static void
reinject_milter_macro_one(struct reinject_milter *s, unsigned char stage,
    const struct milter_macro *mc)
{
	if (milter_macro_name_eq(mc->name, "i")) {
		reinject_milter_set(&s->xf.value[SMTP_XFWD_IDENT], mc->value);
		s->ident_stage = stage;
	} else if (milter_macro_name_eq(mc->name, "auth_authen")) {
		s->auth = mc->value.len > 0;
		s->auth_stage = stage;
	}
	else if (milter_macro_name_eq(mc->name, "daemon_name"))
		reinject_milter_set(&s->daemon, mc->value);
	else if (milter_macro_name_eq(mc->name, "if_addr") && mc->value.len)
		reinject_milter_set(&s->if_addr, mc->value);
	else if (milter_macro_name_eq(mc->name, "daemon_addr") && mc->value.len &&
	    !s->if_addr)
		reinject_milter_set(&s->if_addr, mc->value);
	else if (milter_macro_name_eq(mc->name, "client_addr") &&
	    !s->xf.value[SMTP_XFWD_ADDR] && mc->value.len)
		reinject_milter_set(&s->xf.value[SMTP_XFWD_ADDR], mc->value);
}

/* reinject_milter_on_macro - macros for the next command; no reply */
static int
reinject_milter_on_macro(struct reinject_milter *s, const struct milter_cmd *c)
{
	for (size_t i = 0; i < c->u.macro.n; i++) {
		if (c->u.macro.v[i].value.len >
		    s->ctx->conf->milter_macro_size_limit) {
			log_warn("milter %s: macro %.*s over milter_macro_size_limit",
			    s->peer, (int)c->u.macro.v[i].name.len,
			    c->u.macro.v[i].name.p);
			return -1;
		}
	}
	reinject_milter_macro_forget(s, c->u.macro.stage);
	for (size_t i = 0; i < c->u.macro.n; i++)
		reinject_milter_macro_one(s, c->u.macro.stage, &c->u.macro.v[i]);
	return 0;
}

/* reinject_milter_on_connect - client name and address; without an inet
 * address, the {client_addr} the connect macros (sent just before) gave */
static int
reinject_milter_on_connect(struct reinject_milter *s, const struct milter_cmd *c)
{
	char *macro_addr = s->xf.value[SMTP_XFWD_ADDR];

	s->xf.value[SMTP_XFWD_ADDR] = NULL;
	smtp_xforward_clear(&s->xf);
	reinject_milter_end_mail(s);
	reinject_milter_set(&s->xf.value[SMTP_XFWD_NAME], c->u.connect.hostname);
	if (c->u.connect.family == '4' || c->u.connect.family == '6') {
		reinject_milter_set(&s->xf.value[SMTP_XFWD_ADDR],
		    c->u.connect.address);
		free(macro_addr);
	} else {
		s->xf.value[SMTP_XFWD_ADDR] = macro_addr;
	}
	reinject_milter_step_reply(s, MILTER_CMD_CONNECT);
	return 0;
}

/* reinject_milter_on_helo - the HELO/EHLO name */
static int
reinject_milter_on_helo(struct reinject_milter *s, const struct milter_cmd *c)
{
	reinject_milter_set(&s->xf.value[SMTP_XFWD_HELO], c->u.helo);
	reinject_milter_step_reply(s, MILTER_CMD_HELO);
	return 0;
}

/*
 * reinject_milter_spf_wanted - evaluate SPF from MAIL FROM: to refuse, or for
 * DMARC, which then takes this result (evaluated once per transaction); as
 * policyd after permit_mynetworks and permit_sasl_authenticated, our own
 * users' mail is never refused for SPF
 */
static bool
reinject_milter_spf_wanted(const struct reinject_milter *s)
{
	const struct reinject_conf *c = s->ctx->conf;

	if (reinject_milter_own(s))
		return false;
	return c->milter_spf_reject != REINJECT_MILTER_SPF_NO || c->dmarc.enable;
}

/* reinject_milter_on_mail - a new transaction; the reverse path without <> */
static int
reinject_milter_on_mail(struct reinject_milter *s, const struct milter_cmd *c)
{
	struct span a = c->u.args.v[0];

	reinject_milter_end_msg(s);
	s->nrcpt = 0;
	s->rcpt_domain[0] = '\0';
	s->seal_rcpt = false;
	if (a.len >= 2 && a.p[0] == '<' && a.p[a.len - 1] == '>') {
		a.p++;
		a.len -= 2;
	}
	reinject_milter_set(&s->sender, a);
	buf_reset(&s->rcpts);
	reinject_milter_spf_clear(&s->spf);
	if (reinject_milter_spf_wanted(s))
		reinject_milter_spf_start(&s->spf, s->ctx, &s->xf, s->sender,
		    reinject_milter_spf_ready, s);
	reinject_milter_step_reply(s, MILTER_CMD_MAIL);
	return 0;
}

/* reinject_milter_wait - no more commands until SPF answered */
static void
reinject_milter_wait(struct reinject_milter *s, unsigned char what)
{
	s->spf_wait = what;
	s->waiting = true;
	bufferevent_disable(s->bev, EV_READ);
}

/* reinject_milter_rcpt_reply - RCPT: refused for an SPF fail, else CONTINUE */
static void
reinject_milter_rcpt_reply(struct reinject_milter *s)
{
	if (s->ctx->conf->milter_spf_reject == REINJECT_MILTER_SPF_RCPT &&
	    reinject_milter_spf_refuse(&s->spf, &s->out)) {
		log_info("%s: spf %s: RCPT refused: %s", s->xf.value[SMTP_XFWD_IDENT] ?
		    s->xf.value[SMTP_XFWD_IDENT] : "NOQUEUE",
		    spf_result_str(s->spf.result), s->spf.text);
		reinject_milter_send(s);
		return;
	}
	reinject_milter_step_reply(s, MILTER_CMD_RCPT);
}

/* reinject_milter_on_step - RCPT (counted; may wait for SPF), DATA, UNKNOWN */
static int
reinject_milter_on_step(struct reinject_milter *s, const struct milter_cmd *c)
{
	if (c->code != MILTER_CMD_RCPT) {
		reinject_milter_step_reply(s, c->code);
		return 0;
	}
	if (s->nrcpt++ == 0 && c->u.args.n)
		reinject_report_rcpt_domain(c->u.args.v[0].p, c->u.args.v[0].len,
		    s->rcpt_domain, sizeof(s->rcpt_domain));
	if (c->u.args.n > 0) {
		s->seal_rcpt |= reinject_arc_seal_rcpt(&s->ctx->conf->arc, c->u.args.v[0]);
		if (s->ctx->conf->milter_redirect_recipient[0]) {
			/* over milter_recipient_size_limit the sticky flag makes
			 * redirect hold instead */
			buf_append(&s->rcpts, c->u.args.v[0].p, c->u.args.v[0].len);
			buf_append_char(&s->rcpts, '\0');
		}
	}
	if (s->ctx->conf->milter_spf_reject == REINJECT_MILTER_SPF_RCPT &&
	    reinject_milter_spf_pending(&s->spf)) {
		reinject_milter_wait(s, MILTER_CMD_RCPT);
		return 0;
	}
	reinject_milter_rcpt_reply(s);
	return 0;
}

/* reinject_milter_on_header - one field, as the line(s) it was received as */
static int
reinject_milter_on_header(struct reinject_milter *s, const struct milter_cmd *c)
{
	struct reinject_msg *m = reinject_milter_msg(s);
	struct span v = c->u.header.value;
	struct buf f;
	bool leadspc = s->agreed.protocol & MILTER_P_HDR_LEADSPC;

	buf_init(&f, c->u.header.name.len + 2 * v.len + 8);
	buf_append(&f, c->u.header.name.p, c->u.header.name.len);
	buf_append_str(&f, leadspc ? ":" : ": ");
	/* the MTA keeps folds as LF; on the wire, and for DKIM, they are CR LF */
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '\n' && (i == 0 || v.p[i - 1] != '\r'))
			buf_append_char(&f, '\r');
		buf_append_char(&f, v.p[i]);
	}
	buf_append_str(&f, "\r\n");
	reinject_msg_line(m, f.data, f.len);
	buf_clear(&f);
	reinject_milter_step_reply(s, MILTER_CMD_HEADER);
	return 0;
}

/* reinject_milter_eoh_line - the empty line ending the header section, once */
static void
reinject_milter_eoh_line(struct reinject_milter *s)
{
	struct reinject_msg *m = reinject_milter_msg(s);

	if (s->eoh)
		return;
	s->eoh = true;
	reinject_msg_line(m, "\r\n", 2);
}

/* reinject_milter_on_eoh - end of the header section */
static int
reinject_milter_on_eoh(struct reinject_milter *s, const struct milter_cmd *c)
{
	(void)c;
	reinject_milter_eoh_line(s);
	reinject_milter_step_reply(s, MILTER_CMD_EOH);
	return 0;
}

/* reinject_milter_on_body - a body chunk (CR LF lines, split anywhere) */
static int
reinject_milter_on_body(struct reinject_milter *s, const struct milter_cmd *c)
{
	reinject_milter_eoh_line(s);
	if (c->u.body.len)
		reinject_msg_line(s->msg, c->u.body.p, c->u.body.len);
	reinject_milter_step_reply(s, MILTER_CMD_BODY);
	return 0;
}

/* reinject_milter_final - send the final reply of the message and log it */
static void
reinject_milter_final(struct reinject_milter *s)
{
	struct reinject_msg *m = s->msg;
	const uint32_t rcpt = MILTER_ACT_ADDRCPT | MILTER_ACT_DELRCPT;
	struct reinject_milter_eom_in in = {
		.leadspc = s->agreed.protocol & MILTER_P_HDR_LEADSPC,
		.rcpt_actions = (s->agreed.actions & rcpt) == rcpt,
		.rcpts = &s->rcpts,
	};
	const char *action = reinject_milter_eom(m, &in, &s->out);

	reinject_log_message(m, action, NULL, m->tempfail ? m->tempfail :
	    m->action == REINJECT_ACTION_REJECT ? m->text : NULL);
	reinject_milter_send(s);
	reinject_milter_end_msg(s);
	bufferevent_enable(s->bev, EV_READ);
}

/* reinject_milter_answer - answer, then go on with what the MTA sent since */
static void
reinject_milter_answer(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_milter *s = arg;

	(void)fd;
	(void)ev;
	reinject_milter_final(s);
	reinject_milter_read(s->bev, s);	/* may free s */
}

/* reinject_milter_stages_done - the pipeline finished: answer from the loop,
 * as the stage that called us may still use the message after we return */
static void
reinject_milter_stages_done(struct reinject_msg *m, void *arg)
{
	struct reinject_milter *s = arg;
	struct timeval now = { 0, 0 };

	(void)m;
	evtimer_add(s->done_ev, &now);
}

/* reinject_milter_spf_refused - end of DATA: refuse for SPF; true if so */
static bool
reinject_milter_spf_refused(struct reinject_milter *s)
{
	const char *enh = "";
	int code;

	if (s->ctx->conf->milter_spf_reject != REINJECT_MILTER_SPF_DATA ||
	    (code = reinject_milter_spf_refusal(&s->spf, &enh)) == 0)
		return false;
	if (code >= 500) {
		reinject_msg_reject(s->msg, code, enh, s->spf.text);
		return true;
	}
	s->msg->tempfail = s->spf.text;
	s->msg->code = code;
	snprintf(s->msg->enh, sizeof(s->msg->enh), "%s", enh);
	return true;
}

/* reinject_milter_eob_finish - SPF known: refuse, or finish the stages */
static void
reinject_milter_eob_finish(struct reinject_milter *s)
{
	struct reinject_msg *m = s->msg;

	if (reinject_msg_end(m) < 0 || m->spool.error)
		m->tempfail = "Insufficient system storage: spool write failed";
	if (reinject_milter_spf_refused(s) || m->tempfail ||
	    m->action != REINJECT_ACTION_RELAY) {
		reinject_milter_final(s);
		return;
	}
	reinject_milter_spf_give(&s->spf, m);
	/* no more commands until we answered: the MTA sends none either */
	s->waiting = true;
	bufferevent_disable(s->bev, EV_READ);
	reinject_pipeline_run(m, reinject_milter_stages_done, s);
}

/* reinject_milter_on_eob - end of message: SPF, the stages, then answer */
static int
reinject_milter_on_eob(struct reinject_milter *s, const struct milter_cmd *c)
{
	if (c->u.body.len)
		reinject_milter_on_body(s, c);
	reinject_milter_eoh_line(s);
	/* a refusal at end of DATA and DMARC both need the verdict */
	if (reinject_milter_spf_pending(&s->spf)) {
		reinject_milter_wait(s, MILTER_CMD_EOB);
		return 0;
	}
	reinject_milter_eob_finish(s);
	return 0;
}

/* reinject_milter_spf_resume - SPF answered what RCPT or EOB waited for */
static void
reinject_milter_spf_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_milter *s = arg;
	unsigned char what = s->spf_wait;

	(void)fd;
	(void)ev;
	s->spf_wait = 0;
	s->waiting = false;
	if (what == MILTER_CMD_RCPT)
		reinject_milter_rcpt_reply(s);
	else if (what == MILTER_CMD_EOB)
		reinject_milter_eob_finish(s);
	if (s->waiting)
		return;		/* the stages run now */
	bufferevent_enable(s->bev, EV_READ);
	reinject_milter_read(s->bev, s);	/* may free s */
}

/* reinject_milter_spf_ready - SPF verdict: resume from the loop if waiting */
static void
reinject_milter_spf_ready(void *arg)
{
	struct reinject_milter *s = arg;
	struct timeval now = { 0, 0 };

	if (s->spf_wait)
		evtimer_add(s->spf_ev, &now);
}

/* reinject_milter_on_abort - the MTA abandoned the message; no reply */
static int
reinject_milter_on_abort(struct reinject_milter *s, const struct milter_cmd *c)
{
	(void)c;
	reinject_milter_end_mail(s);
	return 0;
}

/* reinject_milter_on_quit_nc - QUIT_NC: a new connection follows on this one */
static int
reinject_milter_on_quit_nc(struct reinject_milter *s, const struct milter_cmd *c)
{
	(void)c;
	reinject_milter_end_mail(s);
	smtp_xforward_clear(&s->xf);
	reinject_milter_forget_connect(s);
	return 0;
}

/* reinject_milter_on_quit - close */
static int
reinject_milter_on_quit(struct reinject_milter *s, const struct milter_cmd *c)
{
	(void)s;
	(void)c;
	return 1;
}

static const struct {
	enum milter_cmd_code code;
	bool before_optneg;		/* allowed before the negotiation */
	reinject_milter_fn fn;
} reinject_milter_table[] = {
	{ MILTER_CMD_OPTNEG, true, reinject_milter_on_optneg },
	{ MILTER_CMD_MACRO, false, reinject_milter_on_macro },
	{ MILTER_CMD_CONNECT, false, reinject_milter_on_connect },
	{ MILTER_CMD_HELO, false, reinject_milter_on_helo },
	{ MILTER_CMD_MAIL, false, reinject_milter_on_mail },
	{ MILTER_CMD_RCPT, false, reinject_milter_on_step },
	{ MILTER_CMD_DATA, false, reinject_milter_on_step },
	{ MILTER_CMD_UNKNOWN, false, reinject_milter_on_step },
	{ MILTER_CMD_HEADER, false, reinject_milter_on_header },
	{ MILTER_CMD_EOH, false, reinject_milter_on_eoh },
	{ MILTER_CMD_BODY, false, reinject_milter_on_body },
	{ MILTER_CMD_EOB, false, reinject_milter_on_eob },
	{ MILTER_CMD_ABORT, true, reinject_milter_on_abort },
	{ MILTER_CMD_QUIT, true, reinject_milter_on_quit },
	{ MILTER_CMD_QUIT_NC, true, reinject_milter_on_quit_nc },
};

/* reinject_milter_dispatch - one parsed command; 1 to close, -1 on error */
static int
reinject_milter_dispatch(struct reinject_milter *s, const struct milter_cmd *c)
{
	for (size_t i = 0; i < ARRAY_LEN(reinject_milter_table); i++) {
		if (reinject_milter_table[i].code != c->code)
			continue;
		if (!s->negotiated && !reinject_milter_table[i].before_optneg) {
			log_warn("milter %s: command '%c' before negotiation",
			    s->peer, c->code);
			return -1;
		}
		return reinject_milter_table[i].fn(s, c);
	}
	log_panic("reinject_milter_dispatch: command '%c' parsed, not handled",
	    c->code);
}

/* reinject_milter_packet - frame, parse, dispatch the next packet; 0 for
 * more, 1 to wait for bytes, -1 to close */
static int
reinject_milter_packet(struct reinject_milter *s, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), used = 0, need;
	const char *p = (const char *)evbuffer_pullup(in,
	    avail < MILTER_LEN_BYTES ? (ssize_t)avail : MILTER_LEN_BYTES);
	struct milter_packet pk;
	struct milter_cmd c;
	enum milter_frame_status fs;
	enum milter_cmd_status cs;
	int rc;

	fs = milter_frame(p, avail < MILTER_LEN_BYTES ? avail : MILTER_LEN_BYTES,
	    s->ctx->conf->milter_packet_size_limit, &pk, &used);
	if (fs == MILTER_FRAME_MORE && avail >= MILTER_LEN_BYTES) {
		need = MILTER_LEN_BYTES + ((size_t)(unsigned char)p[0] << 24 |
		    (size_t)(unsigned char)p[1] << 16 |
		    (size_t)(unsigned char)p[2] << 8 | (unsigned char)p[3]);
		if (avail < need)
			return 1;
		p = (const char *)evbuffer_pullup(in, (ssize_t)need);
		fs = milter_frame(p, need, s->ctx->conf->milter_packet_size_limit,
		    &pk, &used);
	}
	if (fs == MILTER_FRAME_MORE)
		return 1;
	if (fs != MILTER_FRAME_OK) {
		log_warn("milter %s: %s", s->peer, milter_frame_status_str(fs));
		return -1;
	}
	if ((cs = milter_cmd_parse(&pk, &c)) != MILTER_CMD_OK) {
		log_warn("milter %s: command '%c': %s", s->peer, pk.cmd,
		    milter_cmd_status_str(cs));
		return -1;
	}
	rc = reinject_milter_dispatch(s, &c);
	evbuffer_drain(in, used);
	return rc < 0 ? -1 : rc == 1 ? -1 : 0;
}

/* reinject_milter_read - handle every complete packet */
static void
reinject_milter_read(struct bufferevent *bev, void *arg)
{
	struct reinject_milter *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int rc = 0;

	while (!s->waiting && (rc = reinject_milter_packet(s, in)) == 0)
		;
	if (rc < 0)
		reinject_milter_free(s);
}

/* reinject_milter_event - EOF, error or idle timeout */
static void
reinject_milter_event(struct bufferevent *bev, short what, void *arg)
{
	struct reinject_milter *s = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_warn("milter %s: timeout", s->peer);
	else if (s->msg)
		log_info("milter %s: connection lost in a message", s->peer);
	reinject_milter_free(s);
}

/* reinject_milter_expired - milter_message_timeout passed */
static void
reinject_milter_expired(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_milter *s = arg;

	(void)fd;
	(void)ev;
	log_warn("milter %s: message not done within milter_message_timeout "
	    "(%u s)", s->peer, s->ctx->conf->milter_message_timeout);
	if (!s->waiting) {
		reinject_milter_free(s);	/* the MTA's default action applies */
		return;
	}
	s->spf_wait = 0;	/* an EOB waiting for SPF is answered here */
	evtimer_del(s->spf_ev);
	s->msg->tempfail = "Message checks not done in time";
	s->msg->code = 451;
	snprintf(s->msg->enh, sizeof(s->msg->enh), "4.4.3");
	reinject_pipeline_free(s->msg);	/* cancels the lookups */
	reinject_milter_answer(-1, 0, s);
}

/* reinject_milter_free - close the connection */
static void
reinject_milter_free(struct reinject_milter *s)
{
	reinject_milter_end_mail(s);
	smtp_xforward_clear(&s->xf);
	reinject_milter_forget_connect(s);
	buf_clear(&s->rcpts);
	event_free(s->msg_timer);
	event_free(s->done_ev);
	event_free(s->spf_ev);
	bufferevent_free(s->bev);
	buf_clear(&s->out);
	s->ctx->sessions--;
	metrics_proc_sessions(-1);
	s->ctx->milter_sessions--;
	free(s);
}

/* reinject_milter_accept - start a milter session on an accepted socket */
void
reinject_milter_accept(struct reinject_ctx *ctx, int fd, const char *peer)
{
	struct reinject_milter *s;
	struct timeval tv = { (time_t)ctx->conf->command_timeout, 0 };

	if (ctx->milter_sessions >= (unsigned)ctx->conf->milter_connection_limit ||
	    ctx->draining) {
		/* no reply is defined before negotiation: the MTA's default
		 * action (tempfail, as documented) applies */
		log_warn("milter %s: milter_connection_limit (%d) reached",
		    peer, ctx->conf->milter_connection_limit);
		evutil_closesocket(fd);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	/* the largest reply: headers of the message, with their packets */
	buf_init(&s->out, ctx->conf->header_size_limit + 512 * 1024);
	buf_init(&s->rcpts, ctx->conf->milter_recipient_size_limit);
	s->msg_timer = evtimer_new(ctx->base, reinject_milter_expired, s);
	s->done_ev = evtimer_new(ctx->base, reinject_milter_answer, s);
	s->spf_ev = evtimer_new(ctx->base, reinject_milter_spf_resume, s);
	s->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, reinject_milter_read, NULL,
	    reinject_milter_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	ctx->sessions++;
	metrics_proc_sessions(1);
	ctx->milter_sessions++;
}
