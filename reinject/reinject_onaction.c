/*
 * reinject_onaction.c - what reinject does with a message for a DKIM
 * condition: OpenDKIM's On-BadSignature, On-DNSError, On-InternalError,
 * On-KeyNotFound, On-NoSignature, On-Security and On-SignatureError, as the
 * settings dkim_*_action and sign_error_action (reinject.conf(5)); and the
 * peer list (OpenDKIM's PeerList, peer_hosts) whose mail no stage touches.
 *
 * A verified message is classified as OpenDKIM does: a passing signature
 * (RFC 6376 §6.1) ends it; otherwise the first signature from the top
 * decides.  The action is mode-aware, because a 5xx means different things:
 *   accept      relay; the Authentication-Results field tells the result
 *   reject      proxy listener, milter: 550 with the RFC 7372 §3.1 code,
 *               the client is told and nothing is queued; after the queue
 *               (content_filter): hold, since a 5xx there makes Postfix
 *               bounce to a sender that may be forged
 *   tempfail    451 (RFC 3463: 4.4.3 for DNS, 4.3.0 otherwise): the MTA
 *               keeps the message and tries again
 *   discard     250, nothing relayed
 *   quarantine  X-Mailauth-DMARC: hold, the field etc/postfix/
 *               header_checks.dmarc turns into HOLD (milter: QUARANTINE)
 */
#include <stdio.h>
#include <string.h>

#include "dkim_table.h"
#include "reinject.h"

const struct config_enum reinject_onaction_names[] = {
	{ "accept", REINJECT_ONACTION_ACCEPT },
	{ "reject", REINJECT_ONACTION_REJECT },
	{ "tempfail", REINJECT_ONACTION_TEMPFAIL },
	{ "discard", REINJECT_ONACTION_DISCARD },
	{ "quarantine", REINJECT_ONACTION_QUARANTINE },
	{ NULL, 0 },
};

/* condition names as the log and the hold field give them */
static const char *const onaction_cond_names[] = {
	[REINJECT_ONCOND_NONE] = "none",
	[REINJECT_ONCOND_BAD_SIGNATURE] = "bad-signature",
	[REINJECT_ONCOND_DNS_ERROR] = "dns-error",
	[REINJECT_ONCOND_INTERNAL_ERROR] = "internal-error",
	[REINJECT_ONCOND_KEY_NOT_FOUND] = "key-not-found",
	[REINJECT_ONCOND_NO_SIGNATURE] = "no-signature",
	[REINJECT_ONCOND_SECURITY] = "security",
	[REINJECT_ONCOND_SIGNING_ERROR] = "signing-error",
};

/* reinject_onaction_before_queue - is the client still connected */
bool
reinject_onaction_before_queue(const struct reinject_msg *m)
{
	return m->mode == REINJECT_MODE_PROXY || m->mode == REINJECT_MODE_MILTER;
}

/*
 * onaction_security - refused as a security concern rather than broken:
 * policy (l= leaving content unsigned, x= expired, t= ahead) or an algorithm
 * or key size RFC 8301 forbids
 */
static bool
onaction_security(const struct reinject_dkim_res *d)
{
	return d->result == DKIM_RESULT_POLICY ||
	    strstr(d->reason, "(RFC 8301)") != NULL;
}

/* onaction_of - one signature's condition */
static enum reinject_oncond
onaction_of(const struct reinject_dkim_res *d)
{
	if (onaction_security(d))
		return REINJECT_ONCOND_SECURITY;
	switch (d->result) {
	case DKIM_RESULT_TEMPERROR:
		return REINJECT_ONCOND_DNS_ERROR;
	case DKIM_RESULT_PERMERROR:
		if (strcmp(d->reason, "no key record") == 0)
			return REINJECT_ONCOND_KEY_NOT_FOUND;
		return REINJECT_ONCOND_BAD_SIGNATURE;
	case DKIM_RESULT_NEUTRAL:	/* past dkim_signature_limit: not judged */
		return REINJECT_ONCOND_NONE;
	default:
		return REINJECT_ONCOND_BAD_SIGNATURE;
	}
}

/* reinject_onaction_classify - no pass: the first signature decides */
enum reinject_oncond
reinject_onaction_classify(const struct reinject_msg *m)
{
	if (m->ndkim == 0)
		return REINJECT_ONCOND_NO_SIGNATURE;
	for (size_t i = 0; i < m->ndkim; i++)
		if (m->dkim[i].result == DKIM_RESULT_PASS)
			return REINJECT_ONCOND_NONE;
	return onaction_of(&m->dkim[0]);
}

/* reinject_onaction_configured - the setting of a condition */
enum reinject_onaction
reinject_onaction_configured(const struct reinject_conf *c,
    enum reinject_oncond cond)
{
	int a;

	switch (cond) {
	case REINJECT_ONCOND_BAD_SIGNATURE: a = c->dkim_bad_signature_action; break;
	case REINJECT_ONCOND_DNS_ERROR: a = c->dkim_dns_error_action; break;
	case REINJECT_ONCOND_INTERNAL_ERROR: a = c->dkim_internal_error_action; break;
	case REINJECT_ONCOND_KEY_NOT_FOUND: a = c->dkim_key_not_found_action; break;
	case REINJECT_ONCOND_NO_SIGNATURE: a = c->dkim_no_signature_action; break;
	case REINJECT_ONCOND_SECURITY: a = c->dkim_security_action; break;
	case REINJECT_ONCOND_SIGNING_ERROR: a = c->sign_error_action; break;
	default: a = REINJECT_ONACTION_ACCEPT; break;
	}
	return (enum reinject_onaction)a;
}

/* onaction_hold - the field header_checks.dmarc (milter: QUARANTINE) holds on */
static void
onaction_hold(struct reinject_msg *m, enum reinject_oncond cond)
{
	char f[160];
	int n = snprintf(f, sizeof(f), "%s: hold (dkim %s)\r\n",
	    REINJECT_DMARC_FIELD, onaction_cond_names[cond]);

	if (n > 0 && (size_t)n < sizeof(f))
		reinject_msg_prepend(m, f, (size_t)n);
}

/* onaction_reject - 550 before the queue; hold after it (no forged bounce) */
static const char *
onaction_reject(struct reinject_msg *m, enum reinject_oncond cond)
{
	char text[128];

	if (!reinject_onaction_before_queue(m)) {
		onaction_hold(m, cond);
		return "hold";
	}
	snprintf(text, sizeof(text), "DKIM %s", onaction_cond_names[cond]);
	/* RFC 7372 §3.1: 5.7.20 no passing signature, 5.7.21 none acceptable */
	reinject_msg_reject(m, 550, cond == REINJECT_ONCOND_SECURITY ? "5.7.21" :
	    cond == REINJECT_ONCOND_SIGNING_ERROR ? "5.7.0" : "5.7.20", text);
	return "reject";
}

/* onaction_tempfail - 451: the MTA keeps the message */
static const char *
onaction_tempfail(struct reinject_msg *m, enum reinject_oncond cond)
{
	m->code = 451;
	snprintf(m->enh, sizeof(m->enh), "%s",
	    cond == REINJECT_ONCOND_DNS_ERROR ? "4.4.3" : "4.3.0");
	m->tempfail = cond == REINJECT_ONCOND_DNS_ERROR ?
	    "DKIM key lookup failed temporarily" : cond ==
	    REINJECT_ONCOND_SIGNING_ERROR ? "signing failed" :
	    "DKIM verification failed temporarily";
	return "tempfail";
}

/* reinject_onaction_apply - carry out action for cond */
const char *
reinject_onaction_apply(struct reinject_msg *m, enum reinject_onaction action,
    enum reinject_oncond cond)
{
	switch (action) {
	case REINJECT_ONACTION_REJECT:
		return onaction_reject(m, cond);
	case REINJECT_ONACTION_TEMPFAIL:
		return onaction_tempfail(m, cond);
	case REINJECT_ONACTION_DISCARD:
		m->action = REINJECT_ACTION_DISCARD;
		return "discard";
	case REINJECT_ONACTION_QUARANTINE:
		onaction_hold(m, cond);
		return "hold";
	case REINJECT_ONACTION_ACCEPT:
		break;
	}
	return "accept";
}

/* reinject_onaction_run - the configured action for cond, noted for the log */
void
reinject_onaction_run(struct reinject_msg *m, enum reinject_oncond cond)
{
	enum reinject_onaction a = reinject_onaction_configured(m->conf, cond);

	if (cond == REINJECT_ONCOND_NONE || a == REINJECT_ONACTION_ACCEPT)
		return;
	m->dkim_act = reinject_onaction_apply(m, a, cond);
}

/* reinject_onaction_peer - the client (XFORWARD or milter connect) in peer_hosts */
bool
reinject_onaction_peer(const struct reinject_msg *m)
{
	const char *addr = m->xf ? smtp_xforward_addr(m->xf) : NULL;

	if (m->ctx == NULL || m->ctx->peers == NULL || m->xf == NULL)
		return false;
	return dkim_table_host_match_text(m->ctx->peers,
	    m->xf->value[SMTP_XFWD_NAME], addr);
}
