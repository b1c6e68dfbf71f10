/*
 * policyd_action.c - from SPF results to a Postfix access(5) action.
 *
 * Per identity, the configured reject policy (helo_reject, mail_from_reject)
 * and permerror_reject / temperror_defer give a disposition; HELO is decided
 * first, then MAIL FROM, as pypolicyd-spf does.  Codes are those of RFC 7372
 * §3.2: 5.7.23 (SPF validation failed), 5.7.24 (SPF validation error), 4.7.24
 * for a temporary error.  Accepted mail gets one header per message: the
 * per-instance counter headers_sent makes later recipients of the same
 * transaction answer DUNNO instead of prepending again.  Every text taken from
 * DNS (exp=) or the request is reduced to printable ASCII on one line, so it
 * cannot end the reply early or inject another protocol line.  Texts that
 * must be shortened are cut with "..." and are never empty: a reject or defer
 * fits the 510 characters Postfix keeps of a reply, a header is never cut.
 * iprev (RFC 8601 §3): iprev_action refuses a client whose reverse DNS is not
 * forward-confirmed (RFC 7372 §3.3: 5.7.25, never on a temporary error),
 * and iprev_header adds "iprev=" to the Authentication-Results field.
 */
#include <limits.h>
#include <string.h>

#include "policyd.h"
#include "util.h"

/*
 * Upper bound on the action text.  The largest is a PREPEND of
 * Authentication-Results: 32 bytes, an authserv-id of at most
 * POLICYD_ACTION_TEXT_LIMIT and a clause of at most SPF_HEADER_SIZE_MAX; so
 * no header is ever cut.
 */
#define POLICYD_ACTION_SIZE_LIMIT	8192
/* Bound on one substituted text (exp= can be long, RFC 7208 §6.2). */
#define POLICYD_ACTION_TEXT_LIMIT	800
/*
 * Postfix cuts the text of a reject or defer at 510 characters without a
 * mark (smtpd_check_reject, RFC 5321 §4.5.3.1.5: 512 with CRLF); ours is cut
 * before, with "...", so the reply says that it was.
 */
#define POLICYD_ACTION_REPLY_LIMIT	510

/* policyd_decision_init - empty decision */
void
policyd_decision_init(struct policyd_decision *d)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->action, POLICYD_ACTION_SIZE_LIMIT);
}

/* policyd_decision_clear - release storage */
void
policyd_decision_clear(struct policyd_decision *d)
{
	buf_clear(&d->action);
}

/*
 * policyd_action_sanitize - append text as printable ASCII on one line (a
 * control or non-ASCII character becomes one '?'); text over max bytes is cut
 * between characters and ends in "..."
 */
void
policyd_action_sanitize(struct buf *out, const char *s, size_t max)
{
	size_t len = s != NULL ? strnlen(s, max + 1) : 0;
	bool cut = len > max;

	if (cut) {
		len = max > 3 ? max - 3 : 0;
		/* not inside a UTF-8 sequence (at most 3 bytes back) */
		for (int k = 0; k < 3 && len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80; k++)
			len--;
	}
	for (size_t i = 0, cont = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t run = 0;

		/* printable ASCII goes in whole runs */
		while (i + run < len && (unsigned char)s[i + run] >= 0x20 &&
		    (unsigned char)s[i + run] < 0x7f)
			run++;
		if (run > 0) {
			buf_append(out, s + i, run);
			i += run - 1;
			cont = 0;
			continue;
		}
		if (cont > 0 && (c & 0xc0) == 0x80) {
			cont--;		/* one '?' per UTF-8 character, at its lead byte */
			continue;
		}
		cont = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (c == '\r' || c == '\n')
			continue;	/* header folding: the tab or space after stays */
		buf_append_char(out, (c < 0x20 && c != '\t') || c >= 0x7f ? '?' : (char)c);
	}
	if (cut)
		buf_append_str(out, "...");
}

/* policyd_action_policy - helo_reject / mail_from_reject, or not_pass for a listed domain */
int
policyd_action_policy(const struct policyd_config *c, bool is_helo, const char *domain)
{
	int policy = is_helo ? c->helo_reject : c->mail_from_reject;

	/* pypolicyd-spf's Reject_Not_Pass_Domains: a receiver policy per domain */
	if (policy != POLICYD_REJECT_NO_CHECK && domain != NULL &&
	    policyd_domain_in_list(&c->reject_not_pass_domains, domain, strlen(domain)))
		return POLICYD_REJECT_NOT_PASS;
	return policy;
}

/* policyd_action_disposition - what a result of one identity does under c */
enum policyd_disposition
policyd_action_disposition(const struct policyd_config *c, int policy,
    enum spf_result r, bool null_sender)
{
	enum policyd_disposition d = POLICYD_DISP_ACCEPT;

	if (policy == POLICYD_REJECT_NEVER || policy == POLICYD_REJECT_NO_CHECK ||
	    (policy == POLICYD_REJECT_NULL && !null_sender))
		return POLICYD_DISP_ACCEPT;
	switch (r) {
	case SPF_RESULT_FAIL:
		d = POLICYD_DISP_REJECT;
		break;
	case SPF_RESULT_SOFTFAIL:
		if (policy == POLICYD_REJECT_SOFTFAIL || policy == POLICYD_REJECT_NOT_PASS)
			d = POLICYD_DISP_REJECT;
		break;
	case SPF_RESULT_NEUTRAL:
		if (policy == POLICYD_REJECT_NOT_PASS)
			d = POLICYD_DISP_REJECT;
		break;
	case SPF_RESULT_PERMERROR:
		if (c->permerror_reject)
			d = POLICYD_DISP_REJECT;
		break;
	case SPF_RESULT_TEMPERROR:
		if (c->temperror_defer)
			d = POLICYD_DISP_DEFER;
		break;
	default:
		break;
	}
	return c->test_only ? POLICYD_DISP_ACCEPT : d;
}

/* The facts a reason_message can refer to. */
struct policyd_action_ctx {
	const struct policyd_config *c;
	const struct policyd_request *req;
	const struct policyd_identity_outcome *o;
	bool is_helo;
	enum policyd_disposition disp;
	const char *reason;		/* o->reason, or the receiver-policy text */
};

/* policyd_action_url - {url}: pypolicyd-spf's explanation link */
static void
policyd_action_url(struct buf *out, const struct policyd_action_ctx *x)
{
	const char *id = x->is_helo ?
	    policyd_request_get(x->req, POLICYD_ATTR_HELO_NAME) :
	    policyd_request_get(x->req, POLICYD_ATTR_SENDER);

	buf_printf(out, "https://www.open-spf.org/Why?s=%s;id=", x->is_helo ?
	    "helo" : "mfrom");
	policyd_action_sanitize(out, id, POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(out, ";ip=");
	policyd_action_sanitize(out, policyd_request_get(x->req,
	    POLICYD_ATTR_CLIENT_ADDRESS), POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(out, ";r=");
	policyd_action_sanitize(out, x->c->hide_receiver ? "<UNKNOWN>" :
	    policyd_config_receiver(x->c), POLICYD_ACTION_TEXT_LIMIT);
}

/* policyd_action_result_text - "SPF <result>", said when a reason says nothing */
static const char *
policyd_action_result_text(enum spf_result r)
{
	static const char *const text[] = {
		[SPF_RESULT_NONE] = "SPF none", [SPF_RESULT_NEUTRAL] = "SPF neutral",
		[SPF_RESULT_PASS] = "SPF pass", [SPF_RESULT_FAIL] = "SPF fail",
		[SPF_RESULT_SOFTFAIL] = "SPF softfail",
		[SPF_RESULT_TEMPERROR] = "SPF temperror",
		[SPF_RESULT_PERMERROR] = "SPF permerror",
	};

	if ((size_t)r < ARRAY_LEN(text) && text[r] != NULL)
		return text[r];
	return "SPF check";
}

/*
 * policyd_action_reason_text - append {spf} (the explanation, else the
 * reason) or {reason}; what sanitizes to nothing (CR LF only, say) gives
 * "SPF <result>" instead, so a refusal never reads "due to: ."
 */
static void
policyd_action_reason_text(struct buf *out, const struct policyd_action_ctx *x,
    bool explanation)
{
	size_t before = out->len;

	if (explanation && x->o->explanation != NULL)
		policyd_action_sanitize(out, x->o->explanation, POLICYD_ACTION_TEXT_LIMIT);
	if (out->len == before)
		policyd_action_sanitize(out, x->reason, POLICYD_ACTION_TEXT_LIMIT);
	if (out->len == before)
		buf_append_str(out, policyd_action_result_text(x->o->result));
}

/* policyd_action_placeholder - expand {name}; false when name is unknown */
static bool
policyd_action_placeholder(struct buf *out, const char *name, size_t len,
    const struct policyd_action_ctx *x)
{
	const char *v;
	struct span n = { name, len };

	if (span_eq_ci(n, "rejectdefer"))
		v = x->disp == POLICYD_DISP_DEFER ? "deferred" : "rejected";
	else if (span_eq_ci(n, "spf") || span_eq_ci(n, "reason")) {
		policyd_action_reason_text(out, x, span_eq_ci(n, "spf"));
		return true;
	} else if (span_eq_ci(n, "result"))
		v = spf_result_str(x->o->result);
	else if (span_eq_ci(n, "identity"))
		v = x->is_helo ? "helo" : "mailfrom";
	else if (span_eq_ci(n, "domain"))
		v = x->o->domain;
	else if (span_eq_ci(n, "ip"))
		v = policyd_request_get(x->req, POLICYD_ATTR_CLIENT_ADDRESS);
	else if (span_eq_ci(n, "url")) {
		policyd_action_url(out, x);
		return true;
	} else
		return false;
	policyd_action_sanitize(out, v, POLICYD_ACTION_TEXT_LIMIT);
	return true;
}

/* policyd_action_message - expand reason_message */
static void
policyd_action_message(struct buf *out, const struct policyd_action_ctx *x)
{
	const char *m = x->c->reason_message;

	for (size_t i = 0; m[i] != '\0'; i++) {
		const char *close = m[i] == '{' ? strchr(m + i, '}') : NULL;

		if (close != NULL && policyd_action_placeholder(out, m + i + 1,
		    (size_t)(close - m - i - 1), x)) {
			i = (size_t)(close - m);
			continue;
		}
		policyd_action_sanitize(out, (char[]){ m[i], 0 }, 1);
	}
}

/*
 * policyd_action_refuse - "550 5.7.23 ..." or "DEFER_IF_PERMIT 4.7.24 ...";
 * as an SMTP reply ("550 " or "450 " and the rest) within
 * POLICYD_ACTION_REPLY_LIMIT
 */
static void
policyd_action_refuse(struct policyd_decision *d, const struct policyd_action_ctx *x)
{
	bool defer = x->disp == POLICYD_DISP_DEFER;
	const char *dsn = NULL;
	struct buf text;

	if (x->c->enhanced_status_codes)
		dsn = defer ? "4.7.24 " : x->o->result == SPF_RESULT_PERMERROR ?
		    "5.7.24 " : "5.7.23 ";
	buf_init(&text, POLICYD_ACTION_SIZE_LIMIT);
	buf_append_str(&text, dsn != NULL ? dsn : "");
	policyd_action_message(&text, x);
	buf_append_str(&d->action, defer ? "DEFER_IF_PERMIT " : "550 ");
	/* "550 " / "450 " take 4 of the reply's characters */
	policyd_action_sanitize(&d->action, buf_cstr(&text),
	    POLICYD_ACTION_REPLY_LIMIT - 4);
	buf_clear(&text);
}

/* policyd_action_fill - identity, result and reason of the decision */
static void
policyd_action_fill(struct policyd_decision *d, const struct policyd_action_ctx *x)
{
	d->disp = x->disp;
	d->identity = x->is_helo ? "helo" : "mailfrom";
	d->result = x->o->result;
	d->reason = x->reason;
}

/* policyd_action_identity - reject or defer on one identity's result */
static bool
policyd_action_identity(struct policyd_decision *d, const struct policyd_config *c,
    const struct policyd_request *req, const struct policyd_identity_outcome *o,
    bool is_helo)
{
	bool null_sender = policyd_request_get(req, POLICYD_ATTR_SENDER)[0] == '\0';
	struct policyd_action_ctx x = { c, req, o, is_helo, POLICYD_DISP_ACCEPT,
	    o->reason };
	int policy;

	if (!o->checked)
		return false;
	policy = policyd_action_policy(c, is_helo, o->domain);
	x.disp = policyd_action_disposition(c, policy, o->result, null_sender);
	if (x.disp == POLICYD_DISP_ACCEPT)
		return false;
	if (policy != (is_helo ? c->helo_reject : c->mail_from_reject) &&
	    (o->result == SPF_RESULT_SOFTFAIL || o->result == SPF_RESULT_NEUTRAL))
		x.reason = o->result == SPF_RESULT_SOFTFAIL ?
		    "Receiver policy for SPF softfail" : "Receiver policy for SPF neutral";
	policyd_action_fill(d, &x);
	policyd_action_refuse(d, &x);
	return true;
}

/* policyd_action_iprev - reject or defer a client without forward-confirmed reverse DNS */
static bool
policyd_action_iprev(struct policyd_decision *d, const struct policyd_config *c,
    const struct policyd_outcome *o)
{
	const struct policyd_iprev_outcome *ip = &o->iprev;
	bool defer;

	if (!ip->checked || ip->result == IPREV_RESULT_PASS ||
	    c->iprev_action == POLICYD_IPREV_NONE || c->test_only)
		return false;
	/* a lookup that failed says nothing about the client: never reject on it */
	defer = c->iprev_action == POLICYD_IPREV_DEFER ||
	    ip->result == IPREV_RESULT_TEMPERROR;
	d->disp = defer ? POLICYD_DISP_DEFER : POLICYD_DISP_REJECT;
	d->identity = "iprev";
	d->result = SPF_RESULT_NONE;
	d->result_word = iprev_result_str(ip->result);
	d->reason = ip->reason;
	buf_append_str(&d->action, defer ? (c->enhanced_status_codes ?
	    "DEFER_IF_PERMIT 4.7.25 " : "DEFER_IF_PERMIT ") :
	    (c->enhanced_status_codes ? "550 5.7.25 " : "550 "));
	buf_append_str(&d->action, "Reverse DNS of ");
	policyd_action_sanitize(&d->action, ip->addr, POLICYD_ACTION_TEXT_LIMIT);
	buf_printf(&d->action, " is not forward-confirmed (iprev=%s: ",
	    iprev_result_str(ip->result));
	policyd_action_sanitize(&d->action, ip->reason, POLICYD_ACTION_TEXT_LIMIT);
	buf_append_char(&d->action, ')');
	return true;
}

/* policyd_action_skip - DUNNO, or the X-Comment pypolicyd-spf prepends */
static void
policyd_action_skip(struct policyd_decision *d, const struct policyd_config *c,
    const struct policyd_outcome *o, const struct policyd_request *req,
    unsigned *headers_sent)
{
	const char *sender = policyd_request_get(req, POLICYD_ATTR_SENDER);

	d->disp = POLICYD_DISP_ACCEPT;
	d->identity = "none";
	d->result = SPF_RESULT_NONE;
	d->reason = o->skip_reason;
	if (c->skip_action != POLICYD_SKIP_COMMENT || *headers_sent > 0) {
		buf_append_str(&d->action, "DUNNO");
		return;
	}
	*headers_sent = UINT_MAX;
	buf_append_str(&d->action, "PREPEND X-Comment: SPF skipped for ");
	policyd_action_sanitize(&d->action, o->skip_reason, POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(&d->action, " - client-ip=");
	policyd_action_sanitize(&d->action, policyd_request_get(req,
	    POLICYD_ATTR_CLIENT_ADDRESS), POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(&d->action, "; helo=");
	policyd_action_sanitize(&d->action, policyd_request_get(req,
	    POLICYD_ATTR_HELO_NAME), POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(&d->action, "; envelope-from=");
	policyd_action_sanitize(&d->action, sender[0] ? sender : "<>",
	    POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(&d->action, "; receiver=");
	policyd_action_sanitize(&d->action, c->hide_receiver ? "<UNKNOWN>" :
	    policyd_config_receiver(c), POLICYD_ACTION_TEXT_LIMIT);
}

/* policyd_action_header_of - the identity whose result the header reports */
static const struct policyd_identity_outcome *
policyd_action_header_of(const struct policyd_outcome *o, bool *is_helo)
{
	/* MAIL FROM is the identity DMARC uses; HELO only when it says more */
	if (o->mfrom.checked && (o->mfrom.result != SPF_RESULT_NONE ||
	    !o->helo.checked || o->helo.result == SPF_RESULT_NONE)) {
		*is_helo = false;
		return &o->mfrom;
	}
	*is_helo = true;
	return o->helo.checked ? &o->helo : NULL;
}

/* The header fields an instance gets, in order (one per policy answer). */
enum policyd_hdr_kind {
	POLICYD_HDR_END,
	POLICYD_HDR_SPF,		/* Received-SPF */
	POLICYD_HDR_AR,			/* Authentication-Results: spf= [iprev=] */
	POLICYD_HDR_AR_IPREV,		/* Authentication-Results: iprev= only */
};

/* policyd_action_header_kind - the i-th header of an instance under c */
static enum policyd_hdr_kind
policyd_action_header_kind(const struct policyd_config *c, bool iprev, unsigned i)
{
	static const enum policyd_hdr_kind seq[][2][3] = {
		[POLICYD_HEADER_SPF] = { { POLICYD_HDR_SPF }, { POLICYD_HDR_SPF,
		    POLICYD_HDR_AR_IPREV } },
		[POLICYD_HEADER_AR] = { { POLICYD_HDR_AR }, { POLICYD_HDR_AR } },
		[POLICYD_HEADER_BOTH] = { { POLICYD_HDR_SPF, POLICYD_HDR_AR },
		    { POLICYD_HDR_SPF, POLICYD_HDR_AR } },
		[POLICYD_HEADER_NONE] = { { POLICYD_HDR_END }, { POLICYD_HDR_AR_IPREV } },
	};

	return i < 2 ? seq[c->header_type][iprev][i] : POLICYD_HDR_END;
}

/* policyd_action_iprev_clause - "iprev=RESULT (why) policy.iprev=ADDR" (RFC 8601 §2.7.3) */
static void
policyd_action_iprev_clause(struct buf *out, const struct policyd_iprev_outcome *ip)
{
	bool v6 = strchr(ip->addr, ':') != NULL;

	buf_printf(out, "iprev=%s (", iprev_result_str(ip->result));
	policyd_action_sanitize(out, ip->result == IPREV_RESULT_PASS && ip->name ?
	    ip->name : ip->reason, POLICYD_ACTION_TEXT_LIMIT);
	/* an IPv6 address is no RFC 2045 token: quoted */
	buf_printf(out, ") policy.iprev=%s", v6 ? "\"" : "");
	policyd_action_sanitize(out, ip->addr, POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(out, v6 ? "\"" : "");
}

/* policyd_action_authres - "Authentication-Results: id; spf=... [; iprev=...]" */
static void
policyd_action_authres(struct buf *out, const struct policyd_config *c,
    const struct policyd_identity_outcome *h, const struct policyd_outcome *o,
    bool with_spf)
{
	bool iprev = c->iprev_header && o->iprev.checked;

	buf_append_str(out, "Authentication-Results: ");
	policyd_action_sanitize(out, policyd_config_authserv_id(c), POLICYD_ACTION_TEXT_LIMIT);
	buf_append_str(out, "; ");
	if (with_spf)
		policyd_action_sanitize(out, h->authres, POLICYD_ACTION_SIZE_LIMIT);
	if (with_spf && iprev)
		buf_append_str(out, "; ");
	if (iprev)
		policyd_action_iprev_clause(out, &o->iprev);
}

/* policyd_action_header - the next header of this instance, or DUNNO */
static void
policyd_action_header(struct policyd_decision *d, const struct policyd_config *c,
    const struct policyd_outcome *o, const struct policyd_request *req,
    unsigned *headers_sent)
{
	bool is_helo = false;
	const struct policyd_identity_outcome *h = policyd_action_header_of(o, &is_helo);
	struct policyd_action_ctx x = { c, req, h, is_helo, POLICYD_DISP_ACCEPT,
	    h ? h->reason : NULL };
	enum policyd_hdr_kind kind;

	if (h == NULL) {
		d->disp = POLICYD_DISP_ACCEPT;
		d->identity = "none";
		d->result = SPF_RESULT_NONE;
		d->reason = "no identity to check";
		buf_append_str(&d->action, "DUNNO");
		return;
	}
	policyd_action_fill(d, &x);
	kind = policyd_action_header_kind(c, c->iprev_header && o->iprev.checked,
	    *headers_sent);
	if (kind == POLICYD_HDR_END) {
		buf_append_str(&d->action, "DUNNO");
		return;
	}
	(*headers_sent)++;
	buf_append_str(&d->action, "PREPEND ");
	if (kind == POLICYD_HDR_SPF)
		policyd_action_sanitize(&d->action, h->received_spf,
		    POLICYD_ACTION_SIZE_LIMIT);
	else
		policyd_action_authres(&d->action, c, h, o, kind == POLICYD_HDR_AR);
}

/* policyd_action_restriction - a pass restriction class, as pypolicyd-spf answers it */
static bool
policyd_action_restriction(struct policyd_decision *d, const struct policyd_config *c,
    const struct policyd_outcome *o)
{
	const struct policyd_identity_outcome *id = NULL;
	const char *class = NULL;

	/* MAIL FROM's first; HELO's even when MAIL FROM would reject (policyd-spf.conf(5)) */
	if (o->mfrom.checked && o->mfrom.result == SPF_RESULT_PASS &&
	    c->mail_from_pass_restriction[0] != '\0') {
		id = &o->mfrom;
		class = c->mail_from_pass_restriction;
	} else if (o->helo.checked && o->helo.result == SPF_RESULT_PASS &&
	    c->helo_pass_restriction[0] != '\0') {
		id = &o->helo;
		class = c->helo_pass_restriction;
	}
	if (id == NULL)
		return false;
	d->disp = POLICYD_DISP_ACCEPT;
	d->identity = id == &o->helo ? "helo" : "mailfrom";
	d->result = id->result;
	d->reason = id->reason;
	buf_append_str(&d->action, class);
	return true;
}

/* policyd_action_decide - the action for one request */
void
policyd_action_decide(const struct policyd_config *c,
    const struct policyd_outcome *o, const struct policyd_request *req,
    unsigned *headers_sent, struct policyd_decision *d)
{
	buf_reset(&d->action);
	d->result_word = NULL;
	if (o->skip_reason != NULL)
		policyd_action_skip(d, c, o, req, headers_sent);
	else if (!policyd_action_iprev(d, c, o) &&
	    !policyd_action_restriction(d, c, o) &&
	    !policyd_action_identity(d, c, req, &o->helo, true) &&
	    !policyd_action_identity(d, c, req, &o->mfrom, false))
		policyd_action_header(d, c, o, req, headers_sent);
}
