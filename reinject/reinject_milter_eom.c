/*
 * reinject_milter_eom.c - the outcome of the pipeline as milter replies at the
 * end of a message (libmilter smfi_chgheader, smfi_insheader,
 * smfi_quarantine, smfi_setreply semantics; Postfix cleanup_milter.c applies
 * them the same way).
 *
 *   discard             DISCARD
 *   temporary failure   REPLYCODE 4xx (the stage's 4xx code, else 451 4.3.0)
 *   reject (DMARC ...)  REPLYCODE 5xx with the enhanced code (RFC 3463)
 *   otherwise           fields the stages removed: CHGHEADER with an empty
 *                       value (deletes), index = the field's 1-based position
 *                       among fields of its name, highest first so the
 *                       indexes of the others do not move; fields the stages
 *                       prepended: INSHEADER at 0, 1, ... so they end up on
 *                       top in the order the SMTP listeners write them;
 *                       a hold mark (X-Mailauth-DMARC: hold) also QUARANTINE
 *                       (Postfix: the hold queue); so does a redirect mark,
 *                       as Postfix's header_checks never see fields a
 *                       milter adds and nothing else would act on it: held
 *                       for review rather than delivered; then CONTINUE.
 */
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

/* reinject_milter_eom_deletes - CHGHEADER "" for every removed field */
static void
reinject_milter_eom_deletes(const struct reinject_msg *m, struct buf *out)
{
	for (size_t k = m->nhdrs; k-- > 0;) {
		struct span f;

		if (!m->hdrs[k].removed)
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

/* reinject_milter_eom_is_hold - the field marks the message for hold (or redirect) */
static bool
reinject_milter_eom_is_hold(struct span name, struct span value)
{
	struct span v = span_trim(value);

	if (!span_eq_ci(name, REINJECT_DMARC_FIELD))
		return false;
	return (v.len >= 4 && ascii_mem_eq_ci(v.p, "hold", 4)) ||
	    (v.len >= 8 && ascii_mem_eq_ci(v.p, "redirect", 8));
}

/*
 * reinject_milter_eom_inserts - INSHEADER for every prepended field; the
 * value keeps its leading space when the MTA writes "name:" + value
 * (HDR_LEADSPC), else the MTA adds ": " itself; true when one asks for hold
 */
static bool
reinject_milter_eom_inserts(const struct reinject_msg *m, bool leadspc,
    struct buf *out)
{
	const char *p = m->prepend.data ? m->prepend.data : "";
	size_t len = m->prepend.len, off = 0;
	uint32_t index = 0;
	bool hold = false;

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
		hold |= reinject_milter_eom_is_hold(name, value);
		milter_reply_header(out, MILTER_REPLY_INSHEADER, index++, name, value);
		off += n;
	}
	return hold;
}

/* reinject_milter_eom - the finished message as milter replies */
const char *
reinject_milter_eom(const struct reinject_msg *m, bool leadspc, struct buf *out)
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
	reinject_milter_eom_deletes(m, out);
	if (reinject_milter_eom_inserts(m, leadspc, out)) {
		milter_reply_quarantine(out, "DMARC policy (dmarc_*_action = hold or redirect)");
		milter_reply_simple(out, MILTER_REPLY_CONTINUE);
		return "held";
	}
	milter_reply_simple(out, MILTER_REPLY_CONTINUE);
	return "accepted";
}
