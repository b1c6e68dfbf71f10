/*
 * reinject_stages.c - the ordered list of pipeline stages.
 *
 * verify (DKIM signatures, common/dkim) -> [dmarc] -> authres (the
 * Authentication-Results field, RFC 8601) -> sign (DKIM-Signature).
 * DMARC plugs in as one more entry between verify and authres: its stage reads
 * m->dkim and m->spf, adds its clause for authres and may set a verdict with
 * reinject_msg_reject() (or m->action = REINJECT_ACTION_DISCARD).  Signing
 * comes last so the signature covers every field the stages added.
 */
#include "reinject.h"

const struct reinject_stage *const reinject_stages[] = {
	&reinject_stage_verify,
	/* DMARC (RFC 9989) goes here: &reinject_stage_dmarc, */
	&reinject_stage_authres,
	&reinject_stage_sign,
};

const size_t reinject_nstages = ARRAY_LEN(reinject_stages);
