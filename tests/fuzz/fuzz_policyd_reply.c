/*
 * fuzz_policyd_reply - libFuzzer target for policyd's replies: the action
 * text (policyd/policyd_action.c) built from SPF reasons, explanations fetched
 * from DNS (RFC 7208 §6.2), the request's names and reason_message, and the
 * Received-SPF and Authentication-Results clauses (common/spf/spf_header.c)
 * it prepends, written as policyd_conn.c writes them (SMTPD_POLICY_README).
 *
 * Input: one selector byte (results, settings), then NUL-separated fields:
 * reason, explanation, sender, HELO name, domain, reason_message.  Three
 * recipients of one message are answered.  Invariant for each reply: exactly
 * "action=<text>\n\n" with <text> non-empty printable ASCII (a tab may stay
 * from header folding) and no other line; a reject or defer within the 510
 * characters Postfix keeps of an SMTP reply (smtpd_check_reject) and never
 * with an empty "due to: ." reason; a Received-SPF PREPEND with its
 * envelope-from; the action within its buffer (never cut).  The daemon's
 * modules are built into the target (the fuzz build links libcommon only).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policyd/policyd_action.c"
#include "../../policyd/policyd_cidr.c"
#include "../../policyd/policyd_config.c"
#include "../../policyd/policyd_domain.c"
#include "../../policyd/policyd_proto.c"
#include "../../policyd/policyd_pyspf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FIELDS	6
/* reason_message's default (policyd.conf(5)) */
#define FUZZ_DEFAULT_MESSAGE	"Message {rejectdefer} due to: {spf}. Please see {url}"

static const enum spf_result fuzz_results[] = {
	SPF_RESULT_NONE, SPF_RESULT_NEUTRAL, SPF_RESULT_PASS, SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL, SPF_RESULT_TEMPERROR, SPF_RESULT_PERMERROR,
	SPF_RESULT_FAIL,
};

/* fuzz_fields - split (p, len) at NUL bytes into up to FUZZ_FIELDS strings */
static void
fuzz_fields(char *p, size_t len, const char *f[FUZZ_FIELDS])
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < FUZZ_FIELDS; i++)
		f[i] = "";
	for (size_t i = 0; i <= len && n < FUZZ_FIELDS; i++) {
		if (i < len && p[i] != '\0')
			continue;
		f[n++] = p + start;
		start = i + 1;
	}
}

/* fuzz_config - settings chosen by the selector, reason_message from the input */
static struct policyd_config *
fuzz_config(uint8_t sel, const char *message)
{
	static const char *const types[] = { "spf", "ar", "both", "none" };
	struct policyd_config *c = policyd_config_new();
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_set(&policyd_config_schema, c, "header_type", 11, types[sel & 3],
	    strlen(types[sel & 3]), &err);
	config_set(&policyd_config_schema, c, "enhanced_status_codes", 21,
	    (sel & 4) ? "no" : "yes", (sel & 4) ? 2 : 3, &err);
	config_set(&policyd_config_schema, c, "receiver_name", 13, "mx.test", 7, &err);
	if ((sel & 8) && message[0] != '\0')
		(void)config_set(&policyd_config_schema, c, "reason_message", 14, message,
		    strlen(message), &err);
	buf_clear(&err);
	return c;
}

/* fuzz_identity - an outcome as policyd_check_store makes it */
static void
fuzz_identity(struct policyd_identity_outcome *o, enum spf_result r, bool helo,
    const char *const f[FUZZ_FIELDS])
{
	struct spf_verdict v = { .result = r, .identity = helo ? SPF_IDENTITY_HELO :
	    SPF_IDENTITY_MAILFROM, .domain = f[4], .sender = f[2], .reason = f[0],
	    .explanation = r == SPF_RESULT_FAIL && f[1][0] ? f[1] : NULL };
	struct spf_request req = { .helo = f[3], .mail_from = f[2],
	    .receiver = "mx.test" };
	struct buf b;

	req.client.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &((struct sockaddr_in *)&req.client)->sin_addr);
	o->checked = true;
	o->result = r;
	o->domain = xstrdup(f[4]);
	o->reason = xstrdup(f[0]);
	o->explanation = v.explanation ? xstrdup(v.explanation) : NULL;
	buf_init(&b, SPF_HEADER_SIZE_MAX);
	if (spf_received_header_fold(&b, &v, &req, false, NULL) < 0)
		abort();
	o->received_spf = buf_steal(&b);
	if (spf_authres_clause(&b, &v) < 0)
		abort();
	o->authres = buf_steal(&b);
	buf_clear(&b);
}

/* fuzz_outcome_clear - free what fuzz_identity made (policyd_check.c is not built in) */
static void
fuzz_outcome_clear(struct policyd_identity_outcome *o)
{
	free(o->domain);
	free(o->reason);
	free(o->explanation);
	free(o->received_spf);
	free(o->authres);
	memset(o, 0, sizeof(*o));
}

/* fuzz_first_shown - the first byte of s a reply shows (CR and LF are dropped) */
static char
fuzz_first_shown(const char *s)
{
	while (*s == '\r' || *s == '\n')
		s++;
	return *s;
}

/* fuzz_check_reply - the invariants of one reply */
static void
fuzz_check_reply(const struct policyd_config *c, const struct policyd_decision *d,
    const char *const f[FUZZ_FIELDS])
{
	const char *a = buf_cstr(&d->action), *due;
	size_t len = d->action.len;
	struct buf reply;

	if (d->action.overflow || len == 0 || len > POLICYD_ACTION_SIZE_LIMIT)
		abort();
	buf_init(&reply, POLICYD_ACTION_SIZE_LIMIT + 16);
	buf_printf(&reply, "action=%s\n\n", a);	/* as policyd_conn_reply */
	if (reply.len != len + 9 || memchr(reply.data, '\n', reply.len - 2) != NULL)
		abort();
	buf_clear(&reply);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)a[i] < 0x20 && a[i] != '\t') || (unsigned char)a[i] >= 0x7f)
			abort();
	if (d->disp != POLICYD_DISP_ACCEPT) {
		size_t smtp = strncmp(a, "DEFER_IF_PERMIT ", 16) == 0 ? 4 + len - 16 : len;

		if (smtp > POLICYD_ACTION_REPLY_LIMIT)
			abort();
		/* the default message's reason is never empty (unless a text the
		 * fuzzer chose itself starts with a dot) */
		if (strcmp(c->reason_message, FUZZ_DEFAULT_MESSAGE) == 0 &&
		    (due = strstr(a, "due to: ")) != NULL && due[8] == '.' &&
		    fuzz_first_shown(f[0]) != '.' && fuzz_first_shown(f[1]) != '.')
			abort();
	}
	if (strncmp(a, "PREPEND Received-SPF: ", 22) == 0 &&
	    strstr(a, " envelope-from=") == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[FUZZ_FIELDS];
	struct policyd_outcome o = { 0 };
	struct policyd_request req = { 0 };
	struct policyd_config *c;
	unsigned headers_sent = 0;
	char *p;

	if (size < 1)
		return 0;
	p = xmemdup0(data + 1, size - 1);
	fuzz_fields(p, size - 1, f);
	c = fuzz_config(data[0], f[5]);
	fuzz_identity(&o.mfrom, fuzz_results[(data[0] >> 4) & 7], false, f);
	if (data[0] & 0x80)
		fuzz_identity(&o.helo, fuzz_results[(data[0] >> 3) & 7], true, f);
	req.attr[POLICYD_ATTR_SENDER] = xstrdup(f[2]);
	req.attr[POLICYD_ATTR_HELO_NAME] = xstrdup(f[3]);
	req.attr[POLICYD_ATTR_CLIENT_ADDRESS] = xstrdup("192.0.2.1");
	for (int rcpt = 0; rcpt < 3; rcpt++) {
		struct policyd_decision d;

		policyd_decision_init(&d);
		policyd_action_decide(c, &o, &req, &headers_sent, &d);
		fuzz_check_reply(c, &d, f);
		policyd_decision_clear(&d);
	}
	/* a skipped client's X-Comment carries the same names */
	o.skip_reason = "client in skip_addresses";
	headers_sent = 0;
	c->skip_action = POLICYD_SKIP_COMMENT;
	{
		struct policyd_decision d;

		policyd_decision_init(&d);
		policyd_action_decide(c, &o, &req, &headers_sent, &d);
		fuzz_check_reply(c, &d, f);
		policyd_decision_clear(&d);
	}
	fuzz_outcome_clear(&o.helo);
	fuzz_outcome_clear(&o.mfrom);
	policyd_request_clear(&req);
	policyd_config_unref(c);
	free(p);
	return 0;
}
