/*
 * milter.h - the Sendmail 8 mail filter ("milter") protocol, version 6, from
 * the filter's side, as sendmail's and Postfix's clients speak it.
 *
 * Wire format (sendmail's libmilter/docs and include/libmilter/mfdef.h, the
 * de-facto specification; Postfix's src/milter/milter8.c is the other client):
 * every packet is a 4-byte network-order length, then that many bytes: one
 * command byte and its data.  Strings in the data are NUL-terminated; numbers
 * are 32-bit (16-bit for the CONNECT port) in network order.
 *
 * Pieces: milter_frame.c cuts packets out of a byte stream under a named size
 * limit; milter_cmd.c parses one packet into a command (table of per-command
 * parsers: a malformed packet is an error, never a half-filled command);
 * milter_reply.c builds the filter's replies; milter_optneg.c answers the
 * option negotiation (actions, protocol steps, no-reply flags, macro lists).
 *
 * Every parser takes (pointer, length); spans returned point into the packet.
 */
#ifndef MAILAUTH_MILTER_H
#define MAILAUTH_MILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "util.h"

/* The protocol version spoken (mfdef.h SMFI_PROT_VERSION). */
#define MILTER_VERSION			6
/* Oldest version whose negotiation packet we understand (3 words). */
#define MILTER_VERSION_MIN		2
/* Bytes of the length prefix (mfdef.h MILTER_LEN_BYTES). */
#define MILTER_LEN_BYTES		4
/* Largest body chunk either client sends (mfdef.h MILTER_CHUNK_SIZE). */
#define MILTER_CHUNK_SIZE		65535
/* Hard ceiling for any configured packet size limit: a header field of
 * Postfix's largest header_size_limit plus its name. */
#define MILTER_PACKET_SIZE_MAX		(16 * 1024 * 1024)
/* Smallest packet size limit that still carries a whole body chunk. */
#define MILTER_PACKET_SIZE_MIN		(MILTER_CHUNK_SIZE + 1)
/* Bound on NUL-separated arguments of MAIL and RCPT (address + ESMTP params). */
#define MILTER_ARG_LIMIT		32
/* Bound on name/value pairs in one MACRO packet. */
#define MILTER_MACRO_LIMIT		64

/* Commands, MTA to filter (mfdef.h SMFIC_*). */
enum milter_cmd_code {
	MILTER_CMD_ABORT = 'A',
	MILTER_CMD_BODY = 'B',
	MILTER_CMD_CONNECT = 'C',
	MILTER_CMD_MACRO = 'D',
	MILTER_CMD_EOB = 'E',
	MILTER_CMD_HELO = 'H',
	MILTER_CMD_QUIT_NC = 'K',
	MILTER_CMD_HEADER = 'L',
	MILTER_CMD_MAIL = 'M',
	MILTER_CMD_EOH = 'N',
	MILTER_CMD_OPTNEG = 'O',
	MILTER_CMD_QUIT = 'Q',
	MILTER_CMD_RCPT = 'R',
	MILTER_CMD_DATA = 'T',
	MILTER_CMD_UNKNOWN = 'U',
};

/* Replies, filter to MTA (mfdef.h SMFIR_*). */
enum milter_reply_code {
	MILTER_REPLY_ADDRCPT = '+',
	MILTER_REPLY_DELRCPT = '-',
	MILTER_REPLY_ACCEPT = 'a',
	MILTER_REPLY_CONTINUE = 'c',
	MILTER_REPLY_DISCARD = 'd',
	MILTER_REPLY_ADDHEADER = 'h',
	MILTER_REPLY_INSHEADER = 'i',
	MILTER_REPLY_CHGHEADER = 'm',
	MILTER_REPLY_PROGRESS = 'p',
	MILTER_REPLY_QUARANTINE = 'q',
	MILTER_REPLY_REJECT = 'r',
	MILTER_REPLY_TEMPFAIL = 't',
	MILTER_REPLY_REPLYCODE = 'y',
	MILTER_REPLY_OPTNEG = 'O',
};

/* Actions the filter may take (mfdef.h SMFIF_*). */
#define MILTER_ACT_ADDHDRS	0x00000001u
#define MILTER_ACT_CHGBODY	0x00000002u
#define MILTER_ACT_ADDRCPT	0x00000004u
#define MILTER_ACT_DELRCPT	0x00000008u
#define MILTER_ACT_CHGHDRS	0x00000010u
#define MILTER_ACT_QUARANTINE	0x00000020u
#define MILTER_ACT_CHGFROM	0x00000040u
#define MILTER_ACT_ADDRCPT_PAR	0x00000080u
#define MILTER_ACT_SETSYMLIST	0x00000100u

/* Protocol steps and flags (mfdef.h SMFIP_*): NO* skip a step, NR_* mean
 * "the filter sends no reply to this step". */
#define MILTER_P_NOCONNECT	0x00000001u
#define MILTER_P_NOHELO		0x00000002u
#define MILTER_P_NOMAIL		0x00000004u
#define MILTER_P_NORCPT		0x00000008u
#define MILTER_P_NOBODY		0x00000010u
#define MILTER_P_NOHDRS		0x00000020u
#define MILTER_P_NOEOH		0x00000040u
#define MILTER_P_NR_HDR		0x00000080u
#define MILTER_P_NOUNKNOWN	0x00000100u
#define MILTER_P_NODATA		0x00000200u
#define MILTER_P_SKIP		0x00000400u
#define MILTER_P_RCPT_REJ	0x00000800u
#define MILTER_P_NR_CONN	0x00001000u
#define MILTER_P_NR_HELO	0x00002000u
#define MILTER_P_NR_MAIL	0x00004000u
#define MILTER_P_NR_RCPT	0x00008000u
#define MILTER_P_NR_DATA	0x00010000u
#define MILTER_P_NR_UNKN	0x00020000u
#define MILTER_P_NR_EOH		0x00040000u
#define MILTER_P_NR_BODY	0x00080000u
#define MILTER_P_HDR_LEADSPC	0x00100000u

/* Macro list stages of the negotiation reply (mfdef.h SMFIM_*). */
enum milter_macro_stage {
	MILTER_MACROS_CONNECT = 0,
	MILTER_MACROS_HELO = 1,
	MILTER_MACROS_ENVFROM = 2,
	MILTER_MACROS_ENVRCPT = 3,
	MILTER_MACROS_DATA = 4,
	MILTER_MACROS_EOM = 5,
	MILTER_MACROS_EOH = 6,
	MILTER_MACROS_COUNT
};

/* ---- framing (milter_frame.c) ---- */

enum milter_frame_status {
	MILTER_FRAME_OK,	/* a whole packet is in out */
	MILTER_FRAME_MORE,	/* need more bytes */
	MILTER_FRAME_EMPTY,	/* length 0: no command byte */
	MILTER_FRAME_TOO_BIG,	/* length over the limit */
};

struct milter_packet {
	unsigned char cmd;
	struct span data;	/* after the command byte */
};

/*
 * milter_frame - the first packet of (p, len) when it is complete and at most
 * limit bytes long (command byte included); *used gets its size on the wire.
 * MILTER_FRAME_EMPTY and _TOO_BIG are decided from the length prefix alone,
 * before any of the data is buffered.
 */
enum milter_frame_status milter_frame(const char *p, size_t len, size_t limit,
    struct milter_packet *out, size_t *used);
/* milter_frame_status_str - reason text */
const char *milter_frame_status_str(enum milter_frame_status st);

/* ---- commands (milter_cmd.c) ---- */

enum milter_cmd_status {
	MILTER_CMD_OK,
	MILTER_CMD_BAD_COMMAND,		/* command byte not in the protocol */
	MILTER_CMD_SHORT,		/* data ends before a number */
	MILTER_CMD_UNTERMINATED,	/* a string without its NUL */
	MILTER_CMD_TRAILING,		/* bytes after the last field */
	MILTER_CMD_TOO_MANY,		/* over MILTER_ARG_LIMIT / _MACRO_LIMIT */
	MILTER_CMD_BAD_FAMILY,		/* CONNECT family not 4, 6, L or U */
	MILTER_CMD_BAD_VALUE,		/* an empty name, an odd macro list */
};

struct milter_optneg {
	uint32_t version;
	uint32_t actions;
	uint32_t protocol;
};

struct milter_macro {
	struct span name;	/* as sent: "i", "{auth_authen}" */
	struct span value;
};

struct milter_cmd {
	enum milter_cmd_code code;
	union {
		struct milter_optneg optneg;
		struct {
			unsigned char stage;	/* the command the macros go with */
			struct milter_macro v[MILTER_MACRO_LIMIT];
			size_t n;
		} macro;
		struct {
			struct span hostname;
			unsigned char family;	/* '4', '6', 'L' (unix), 'U' (unknown) */
			uint16_t port;
			struct span address;	/* empty for 'U' */
		} connect;
		struct span helo;
		struct {
			struct span v[MILTER_ARG_LIMIT];	/* v[0]: "<addr>" */
			size_t n;
		} args;			/* MAIL, RCPT */
		struct {
			struct span name;
			struct span value;
		} header;
		struct span body;	/* BODY, and EOB's optional last chunk */
		struct span unknown;	/* the SMTP command line */
	} u;
};

/* milter_cmd_parse - a packet into a command; out is only valid on OK */
enum milter_cmd_status milter_cmd_parse(const struct milter_packet *pk,
    struct milter_cmd *out);
/* milter_cmd_status_str - reason text */
const char *milter_cmd_status_str(enum milter_cmd_status st);
/* milter_macro_name_eq - a macro name equals want, with or without braces */
bool milter_macro_name_eq(struct span name, const char *want);

/* ---- replies (milter_reply.c): each appends one packet to out ---- */

/* milter_reply_simple - a reply without data (CONTINUE, ACCEPT, ...) */
void milter_reply_simple(struct buf *out, enum milter_reply_code code);
/* milter_reply_code - REPLYCODE "550 5.7.1 text"; CR, LF and NUL in text
 * become spaces, so the reply stays one line */
void milter_reply_code(struct buf *out, int code, const char *enh,
    const char *text);
/* milter_reply_header - ADDHEADER (index ignored), INSHEADER or CHGHEADER;
 * value as it goes into the message (CR LF folds become LF, as the clients
 * store header lines) */
void milter_reply_header(struct buf *out, enum milter_reply_code code,
    uint32_t index, struct span name, struct span value);
/* milter_reply_quarantine - QUARANTINE with its reason */
void milter_reply_quarantine(struct buf *out, const char *reason);
/* milter_reply_rcpt - ADDRCPT or DELRCPT of addr (as the MTA gave it: "<a@b>") */
void milter_reply_rcpt(struct buf *out, enum milter_reply_code code,
    struct span addr);

/* ---- negotiation (milter_optneg.c) ---- */

struct milter_want {
	uint32_t actions;	/* needed: negotiation fails without them */
	uint32_t actions_opt;	/* used where the MTA allows them */
	uint32_t steps_off;	/* NO* bits for steps the filter does not need */
	uint32_t no_reply;	/* NR_* bits wanted where the MTA offers them */
	uint32_t flags;		/* other bits wanted where offered (HDR_LEADSPC) */
	const char *macros[MILTER_MACROS_COUNT];	/* NULL: the MTA's default */
};

enum milter_optneg_status {
	MILTER_OPTNEG_OK,
	MILTER_OPTNEG_OLD_VERSION,	/* below MILTER_VERSION_MIN */
	MILTER_OPTNEG_NO_ACTIONS,	/* the MTA does not allow a needed action */
};

/*
 * milter_optneg_answer - our side of the negotiation: the reply packet in
 * out and the agreed options in *agreed (protocol bits: what both sides
 * use; a step's NR_* bit set there means no reply is sent for it)
 */
enum milter_optneg_status milter_optneg_answer(const struct milter_optneg *mta,
    const struct milter_want *want, struct milter_optneg *agreed,
    struct buf *out);
/* milter_optneg_status_str - reason text */
const char *milter_optneg_status_str(enum milter_optneg_status st);
/* milter_optneg_no_reply - the NR_* bit of a command, 0 for one always answered */
uint32_t milter_optneg_no_reply(enum milter_cmd_code code);

#endif
