/*
 * reinject_log.c - one log line per message, so an administrator can follow
 * it from Postfix's upstream queue id (XFORWARD IDENT) to the downstream one:
 *   IDENT: from=<s>, nrcpt=N, size=S, client=NAME[ADDR], if_addr=A (milter),
 *   dkim=..., spf=..., arc=STATUS [oldest-pass=N] [(why)] [sealed i=N],
 *   dmarc=RESULT p=POLICY disposition=D header.from=DOMAIN action=A,
 *   signed=..., action=relayed|held|tagged|redirected|deferred|rejected|discarded,
 *   downstream=<reply>, queued_as=ID
 * (the format is documented in reinject(8), LOGGING).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "reinject.h"

/* reinject_log_dkim - "pass d=.. s=..; fail d=.. (why)" */
static void
reinject_log_dkim(const struct reinject_msg *m, struct buf *b)
{
	if (m->ndkim == 0) {
		buf_append_str(b, m->sign ? "" : ", dkim=none");
		return;
	}
	buf_append_str(b, ", dkim=");
	for (size_t i = 0; i < m->ndkim; i++) {
		const struct reinject_dkim_res *d = &m->dkim[i];

		buf_printf(b, "%s%s d=%s s=%s", i ? "; " : "",
		    dkim_result_str(d->result), d->domain, d->selector);
		if (d->result != DKIM_RESULT_PASS && d->reason[0])
			buf_printf(b, " (%s)", d->reason);
	}
}

/* reinject_log_action - what was really done: a relayed message may be held,
 * tagged or redirected by its DMARC action */
static const char *
reinject_log_action(const struct reinject_msg *m, const char *action)
{
	static const struct { const char *dmarc, *done; } map[] = {
		{ "hold", "held" }, { "tag", "tagged" }, { "redirect", "redirected" },
	};

	/* "accepted": what the milter front-end says for relayed */
	if (strcmp(action, "relayed") != 0 && strcmp(action, "accepted") != 0)
		return action;
	if (m->dkim_act && strcmp(m->dkim_act, "hold") == 0)
		return "held";
	if (m->dmarc_act == NULL)
		return action;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(m->dmarc_act, map[i].dmarc) == 0)
			return map[i].done;
	return action;
}

/* reinject_log_message - the per-message line */
void
reinject_log_message(const struct reinject_msg *m, const char *action,
    const struct smtp_reply *down, const char *why)
{
	const struct smtp_xforward *xf = m->xf;
	const char *ident = xf->value[SMTP_XFWD_IDENT];
	struct buf b;

	buf_init(&b, 8192);
	buf_printf(&b, "%s: from=<%s>, nrcpt=%u, size=%zu",
	    ident ? ident : "NOQUEUE", m->sender ? m->sender : "", m->nrcpt, m->size);
	if (xf->value[SMTP_XFWD_NAME] || xf->value[SMTP_XFWD_ADDR])
		buf_printf(&b, ", client=%s[%s]",
		    xf->value[SMTP_XFWD_NAME] ? xf->value[SMTP_XFWD_NAME] : "unknown",
		    smtp_xforward_addr(xf) ? smtp_xforward_addr(xf) : "unknown");
	if (m->if_addr)
		buf_printf(&b, ", if_addr=%s", m->if_addr);
	reinject_log_dkim(m, &b);
	if (m->spf.len)
		buf_printf(&b, ", spf=%s", buf_cstr(&m->spf));
	reinject_arc_log(m, &b);
	if (m->dmarc_log[0])
		buf_printf(&b, ", dmarc=%s", m->dmarc_log);
	if (m->dkim_act)
		buf_printf(&b, ", dkim_action=%s", m->dkim_act);
	if (m->peer)
		buf_append_str(&b, ", peer=yes");
	if (m->signed_by.len)
		buf_printf(&b, ", signed=%s", buf_cstr(&m->signed_by));
	buf_printf(&b, ", action=%s", reinject_log_action(m, action));
	if (down) {
		struct span id = smtp_reply_queue_id(down);

		buf_append_str(&b, ", downstream=");
		smtp_reply_oneline(down, &b);
		if (id.len)
			buf_printf(&b, ", queued_as=%.*s", (int)id.len, id.p);
	} else if (why) {
		buf_printf(&b, ", reason=%s", why);
	}
	log_info("%s", buf_cstr(&b));
	buf_clear(&b);
	/* the line is the message's one account: the metrics count the same */
	reinject_metrics_message(m, reinject_log_action(m, action), down);
}
