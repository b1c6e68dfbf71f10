/*
 * reinject_stages.c - the ordered list of pipeline stages.
 *
 * verify (DKIM signatures, common/dkim) -> arc (the ARC chain, RFC 8617,
 * common/arc) -> [dmarc] -> [iprev] -> authres (the Authentication-Results
 * field, RFC 8601) -> sign (DKIM-Signature) -> arcseal (an ARC set, RFC 8617
 * §5.1).
 * DMARC (reinject_dmarc.c) sits between verify and authres: it reads m->dkim
 * and the SPF evidence, hands its clause to authres (reinject_dmarc_authres)
 * and may set a verdict with reinject_msg_reject() (or m->action =
 * REINJECT_ACTION_DISCARD).  iprev (reinject_iprev.c) checks the client's
 * reverse DNS and hands its clause to authres too.  A new stage is one more
 * entry here.  Signing comes last so the signature covers every field the
 * stages added.
 */
#include "reinject.h"

const struct reinject_stage *const reinject_stages[] = {
	&reinject_stage_verify,
	&reinject_stage_arc,		/* RFC 8617, reinject_arc.c */
	&reinject_stage_dmarc,		/* RFC 9989, reinject_dmarc.c */
	&reinject_stage_iprev,		/* RFC 8601 §3, reinject_iprev.c */
	&reinject_stage_authres,
	&reinject_stage_sign,
	&reinject_stage_arcseal,	/* RFC 8617 §5.1, reinject_arcseal.c */
};

const size_t reinject_nstages = ARRAY_LEN(reinject_stages);
