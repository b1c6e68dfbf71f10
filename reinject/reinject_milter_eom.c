/*
 * reinject_milter_eom.c - the outcome of the pipeline as milter replies at the
 * end of a message (libmilter smfi_chgheader, smfi_insheader, smfi_delrcpt,
 * smfi_addrcpt, smfi_quarantine, smfi_setreply semantics; Postfix
 * cleanup_milter.c applies them the same way).
 *
 *   discard             DISCARD
 *   temporary failure   REPLYCODE 4xx (the stage's 4xx code, else 451 4.3.0)
 *   reject (DMARC ...)  REPLYCODE 5xx with the enhanced code (RFC 3463)
 *   otherwise           fields the stages removed: CHGHEADER with an empty
 *                       value (deletes), index = the field's 1-based position
 *                       among fields of its name, highest first so the
 *                       indexes of the others do not move; fields the stages
 *                       prepended: INSHEADER at 0, 1, ... so they end up on
 *                       top in the order the SMTP listeners write them,
 *                       except a tagged Subject that replaces one the
 *                       message had: CHGHEADER of that field in place (the
 *                       first Subject: index 1), so the Subject keeps its
 *                       position; a hold mark (X-Mailauth-DMARC: hold) also
 *                       QUARANTINE (Postfix: the hold queue); a redirect
 *                       mark DELRCPT of every recipient and ADDRCPT of
 *                       milter_redirect_recipient when that is set, the
 *                       MTA agreed to both actions and every recipient was
 *                       kept, else QUARANTINE (Postfix's header_checks
 *                       never see fields a milter adds: held for review
 *                       rather than delivered); then CONTINUE.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "milter.h"
#include "reinject.h"

/* reinject_milter_eom_index - 1-based position of field i among its name */
static uint32_t
reinject_milter_eom_index(const struct reinject_msg *m, size_t i)
{
	struct span f = reinject_msg_field(m, i);
	char name[256];
	uint32_t n = 0;

	snprintf(name, sizeof(name), "%.*s", (int)m->hdrs[i].name_len, f.p);
	for (size_t j = 0; j <= i; j++)
		if (reinject_msg_field_is(m, j, name))
			n++;
	return n;
}

/* reinject_milter_eom_deletes - CHGHEADER "" for every removed field but
 * keep (a Subject changed in place instead) */
static void
reinject_milter_eom_deletes(const struct reinject_msg *m, size_t keep,
    struct buf *out)
{
	for (size_t k = m->nhdrs; k-- > 0;) {
		struct span f;

		if (!m->hdrs[k].removed || k == keep)
			continue;
		f = reinject_msg_field(m, k);
		milter_reply_header(out, MILTER_REPLY_CHGHEADER,
		    reinject_milter_eom_index(m, k),
		    (struct span){ f.p, m->hdrs[k].name_len }, SPAN_LIT(""));
	}
}

/* reinject_milter_eom_field_end - length of the field at p (folds included) */
static size_t
reinject_milter_eom_field_end(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\r' || p[i + 1] != '\n')
			continue;
		if (i + 2 == len || (p[i + 2] != ' ' && p[i + 2] != '\t'))
			return i + 2;
	}
	return len;
}

/* What a prepended field asks of the message beyond its own insertion. */
enum reinject_milter_eom_mark {
	REINJECT_MILTER_EOM_NONE,
	REINJECT_MILTER_EOM_HOLD,
	REINJECT_MILTER_EOM_REDIRECT,
};

/* reinject_milter_eom_mark_of - the field marks the message for hold or redirect */
static enum reinject_milter_eom_mark
reinject_milter_eom_mark_of(struct span name, struct span value)
{
	struct span v = span_trim(value);

	if (!span_eq_ci(name, REINJECT_DMARC_FIELD))
		return REINJECT_MILTER_EOM_NONE;
	if (v.len >= 4 && ascii_mem_eq_ci(v.p, "hold", 4))
		return REINJECT_MILTER_EOM_HOLD;
	if (v.len >= 8 && ascii_mem_eq_ci(v.p, "redirect", 8))
		return REINJECT_MILTER_EOM_REDIRECT;
	return REINJECT_MILTER_EOM_NONE;
}

/* reinject_milter_eom_prepends - does a prepended field carry this name */
static bool
reinject_milter_eom_prepends(const struct reinject_msg *m, const char *name)
{
	const char *p = m->prepend.data ? m->prepend.data : "";
	size_t len = m->prepend.len, off = 0, n = strlen(name);

	while (off < len) {
		size_t flen = reinject_milter_eom_field_end(p + off, len - off);

		if (flen > n && p[off + n] == ':' && ascii_mem_eq_ci(p + off, name, n))
			return true;
		off += flen;
	}
	return false;
}

/* reinject_milter_eom_tagged - the removed Subject a prepended one replaces
 * (the tag action), or SIZE_MAX */
static size_t
reinject_milter_eom_tagged(const struct reinject_msg *m)
{
	if (!reinject_milter_eom_prepends(m, "Subject"))
		return SIZE_MAX;
	for (size_t k = 0; k < m->nhdrs; k++)
		if (m->hdrs[k].removed && reinject_msg_field_is(m, k, "Subject"))
			return k;
	return SIZE_MAX;
}

/*
 * reinject_milter_eom_inserts - INSHEADER for every prepended field, CHGHEADER
 * for a Subject that replaces field tagged; the value keeps its leading
 * space when the MTA writes "name:" + value (HDR_LEADSPC), else the MTA adds
 * ": " itself; returns the strongest mark among them
 */
static enum reinject_milter_eom_mark
reinject_milter_eom_inserts(const struct reinject_msg *m, bool leadspc,
    size_t tagged, struct buf *out)
{
	const char *p = m->prepend.data ? m->prepend.data : "";
	size_t len = m->prepend.len, off = 0;
	uint32_t index = 0;
	enum reinject_milter_eom_mark mark = REINJECT_MILTER_EOM_NONE, fm;

	while (off < len) {
		size_t n = reinject_milter_eom_field_end(p + off, len - off);
		const char *colon = memchr(p + off, ':', n);
		struct span name, value;

		if (!colon)
			break;	/* the stages build every field with a colon */
		name = (struct span){ p + off, (size_t)(colon - (p + off)) };
		value = (struct span){ colon + 1, n - name.len - 1 };
		if (value.len >= 2 && value.p[value.len - 2] == '\r')
			value.len -= 2;	/* the final CR LF: the MTA ends the line */
		while (!leadspc && value.len && (*value.p == ' ' || *value.p == '\t')) {
			value.p++;
			value.len--;
		}
		if ((fm = reinject_milter_eom_mark_of(name, value)) > mark)
			mark = fm;
		if (tagged != SIZE_MAX && span_eq_ci(name, "Subject"))
			milter_reply_header(out, MILTER_REPLY_CHGHEADER,
			    reinject_milter_eom_index(m, tagged), name, value);
		else
			milter_reply_header(out, MILTER_REPLY_INSHEADER, index++,
			    name, value);
		off += n;
	}
	return mark;
}

/* reinject_milter_eom_redirect - DELRCPT each recipient, ADDRCPT the
 * redirect recipient; false (nothing written) when that cannot be done */
static bool
reinject_milter_eom_redirect(const struct reinject_msg *m,
    const struct reinject_milter_eom_in *in, struct buf *out)
{
	const char *to = m->conf->milter_redirect_recipient;
	char addr[1024];
	int n;

	if (!to || !to[0] || !in->rcpt_actions || !in->rcpts ||
	    in->rcpts->overflow || in->rcpts->len == 0)
		return false;
	n = snprintf(addr, sizeof(addr), "<%s>", to);
	if (n < 0 || (size_t)n >= sizeof(addr))
		return false;
	for (size_t off = 0; off < in->rcpts->len;) {
		const char *r = in->rcpts->data + off;
		size_t rlen = strlen(r);

		milter_reply_rcpt(out, MILTER_REPLY_DELRCPT, (struct span){ r, rlen });
		off += rlen + 1;
	}
	milter_reply_rcpt(out, MILTER_REPLY_ADDRCPT, (struct span){ addr, (size_t)n });
	return true;
}

/* reinject_milter_eom_changes - deletions, insertions, hold or redirect,
 * then CONTINUE */
static const char *
reinject_milter_eom_changes(const struct reinject_msg *m,
    const struct reinject_milter_eom_in *in, struct buf *out)
{
	size_t tagged = reinject_milter_eom_tagged(m);
	enum reinject_milter_eom_mark mark;

	reinject_milter_eom_deletes(m, tagged, out);
	mark = reinject_milter_eom_inserts(m, in->leadspc, tagged, out);
	if (mark == REINJECT_MILTER_EOM_REDIRECT &&
	    reinject_milter_eom_redirect(m, in, out)) {
		milter_reply_simple(out, MILTER_REPLY_CONTINUE);
		return "redirected";
	}
	if (mark != REINJECT_MILTER_EOM_NONE) {
		milter_reply_quarantine(out, "DMARC policy (dmarc_*_action = hold or redirect)");
		milter_reply_simple(out, MILTER_REPLY_CONTINUE);
		return "held";
	}
	milter_reply_simple(out, MILTER_REPLY_CONTINUE);
	return "accepted";
}

/* reinject_milter_eom - the finished message as milter replies */
const char *
reinject_milter_eom(const struct reinject_msg *m,
    const struct reinject_milter_eom_in *in, struct buf *out)
{
	if (m->action == REINJECT_ACTION_DISCARD) {
		milter_reply_simple(out, MILTER_REPLY_DISCARD);
		return "discarded";
	}
	if (m->tempfail) {
		/* a stage's own 4xx, else 451 4.3.0: never a 5xx for trouble */
		bool own = m->code >= 400 && m->code < 500;

		milter_reply_code(out, own ? m->code : 451, own ? m->enh : "4.3.0",
		    m->tempfail);
		return "deferred";
	}
	if (m->action == REINJECT_ACTION_REJECT) {
		milter_reply_code(out, m->code, m->enh, m->text);
		return "rejected";
	}
	return reinject_milter_eom_changes(m, in, out);
}
