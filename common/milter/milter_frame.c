/*
 * milter_frame.c - cut milter packets out of a byte stream.
 *
 * A packet is a 4-byte network-order length and that many bytes, the first
 * of them the command (libmilter mfdef.h MILTER_LEN_BYTES).  The length is
 * checked against the caller's limit before any data is waited for, so a
 * peer cannot make us buffer more than the limit; a length of 0 has no
 * command byte and is refused.
 */
#include "milter.h"

/* milter_frame_len - the big-endian length prefix */
static uint32_t
milter_frame_len(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	    (uint32_t)u[2] << 8 | (uint32_t)u[3];
}

/* milter_frame - the first complete packet of (p, len) */
enum milter_frame_status
milter_frame(const char *p, size_t len, size_t limit, struct milter_packet *out,
    size_t *used)
{
	uint32_t n;

	*used = 0;
	if (len < MILTER_LEN_BYTES)
		return MILTER_FRAME_MORE;
	n = milter_frame_len(p);
	if (n == 0)
		return MILTER_FRAME_EMPTY;
	if (n > limit)
		return MILTER_FRAME_TOO_BIG;
	if (len - MILTER_LEN_BYTES < n)
		return MILTER_FRAME_MORE;
	out->cmd = (unsigned char)p[MILTER_LEN_BYTES];
	out->data.p = p + MILTER_LEN_BYTES + 1;
	out->data.len = n - 1;
	*used = MILTER_LEN_BYTES + (size_t)n;
	return MILTER_FRAME_OK;
}

/* milter_frame_status_str - reason text */
const char *
milter_frame_status_str(enum milter_frame_status st)
{
	switch (st) {
	case MILTER_FRAME_OK:
		return "ok";
	case MILTER_FRAME_MORE:
		return "incomplete packet";
	case MILTER_FRAME_EMPTY:
		return "packet of length 0";
	case MILTER_FRAME_TOO_BIG:
		return "packet over the size limit";
	}
	return "?";
}
