/*
 * milter_optneg.c - the filter's side of option negotiation (SMFIC_OPTNEG).
 *
 * The MTA offers a version, the actions it allows and the protocol bits it
 * understands; the filter answers with the version spoken, the actions it
 * will use and the protocol bits it sets (libmilter's mi_engine/st_optionneg
 * and Postfix milter8.c, milter8_negotiate, behave so):
 *   - steps the filter does not need are switched off with NO* bits;
 *   - NR_* bits are set only where offered: the MTA then expects no reply
 *     to that step, which saves one round trip per step and per header;
 *   - version 6 may append, per stage, a list of macros wanted
 *     (SMFIF_SETSYMLIST must then be among the actions).
 */
#include <string.h>

#include "milter.h"

/* milter_optneg_u32 - append a network-order word */
static void
milter_optneg_u32(struct buf *out, uint32_t v)
{
	char w[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	buf_append(out, w, sizeof(w));
}

/* milter_optneg_has_macros - any macro list asked for */
static bool
milter_optneg_has_macros(const struct milter_want *want)
{
	for (size_t i = 0; i < MILTER_MACROS_COUNT; i++)
		if (want->macros[i])
			return true;
	return false;
}

/* milter_optneg_packet - the OPTNEG reply with the macro lists */
static void
milter_optneg_packet(const struct milter_optneg *agreed,
    const struct milter_want *want, bool lists, struct buf *out)
{
	size_t start = out->len;
	uint32_t n;

	milter_optneg_u32(out, 0);
	buf_append_char(out, (char)MILTER_REPLY_OPTNEG);
	milter_optneg_u32(out, agreed->version);
	milter_optneg_u32(out, agreed->actions);
	milter_optneg_u32(out, agreed->protocol);
	for (uint32_t i = 0; lists && i < MILTER_MACROS_COUNT; i++) {
		if (!want->macros[i])
			continue;
		milter_optneg_u32(out, i);
		buf_append(out, want->macros[i], strlen(want->macros[i]) + 1);
	}
	if (out->overflow)
		return;
	n = (uint32_t)(out->len - start - MILTER_LEN_BYTES);
	out->data[start] = (char)(n >> 24);
	out->data[start + 1] = (char)(n >> 16);
	out->data[start + 2] = (char)(n >> 8);
	out->data[start + 3] = (char)n;
}

/* milter_optneg_answer - our side of the negotiation */
enum milter_optneg_status
milter_optneg_answer(const struct milter_optneg *mta,
    const struct milter_want *want, struct milter_optneg *agreed,
    struct buf *out)
{
	uint32_t actions = want->actions | (mta->actions & want->actions_opt);
	bool lists = milter_optneg_has_macros(want) && mta->version >= 6 &&
	    (mta->actions & MILTER_ACT_SETSYMLIST);

	if (mta->version < MILTER_VERSION_MIN)
		return MILTER_OPTNEG_OLD_VERSION;
	if ((mta->actions & want->actions) != want->actions)
		return MILTER_OPTNEG_NO_ACTIONS;
	if (lists)
		actions |= MILTER_ACT_SETSYMLIST;
	agreed->version = mta->version < MILTER_VERSION ? mta->version :
	    MILTER_VERSION;
	agreed->actions = actions;
	/* an MTA that cannot skip a step sends it anyway: we cope */
	agreed->protocol = mta->protocol &
	    (want->steps_off | want->no_reply | want->flags);
	milter_optneg_packet(agreed, want, lists, out);
	return MILTER_OPTNEG_OK;
}

/* milter_optneg_status_str - reason text */
const char *
milter_optneg_status_str(enum milter_optneg_status st)
{
	switch (st) {
	case MILTER_OPTNEG_OK:
		return "ok";
	case MILTER_OPTNEG_OLD_VERSION:
		return "protocol version too old";
	case MILTER_OPTNEG_NO_ACTIONS:
		return "the MTA does not allow the actions needed";
	}
	return "?";
}

/* milter_optneg_no_reply - the NR_* bit of a command */
uint32_t
milter_optneg_no_reply(enum milter_cmd_code code)
{
	switch (code) {
	case MILTER_CMD_CONNECT:
		return MILTER_P_NR_CONN;
	case MILTER_CMD_HELO:
		return MILTER_P_NR_HELO;
	case MILTER_CMD_MAIL:
		return MILTER_P_NR_MAIL;
	case MILTER_CMD_RCPT:
		return MILTER_P_NR_RCPT;
	case MILTER_CMD_DATA:
		return MILTER_P_NR_DATA;
	case MILTER_CMD_UNKNOWN:
		return MILTER_P_NR_UNKN;
	case MILTER_CMD_EOH:
		return MILTER_P_NR_EOH;
	case MILTER_CMD_BODY:
		return MILTER_P_NR_BODY;
	case MILTER_CMD_HEADER:
		return MILTER_P_NR_HDR;
	default:
		return 0;
	}
}
