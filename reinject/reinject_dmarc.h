/*
 * reinject_dmarc.h - the DMARC pipeline stage of reinject: settings, the stage,
 * and the clause it hands to the Authentication-Results stage.
 *
 * Settings live in struct reinject_conf as member "dmarc"; the keys are
 * declared once here (REINJECT_DMARC_CONF_KEYS) so reinject_conf.c lists them
 * in its schema with one line and reinject.conf(5) documents them.
 */
#ifndef MAILAUTH_REINJECT_DMARC_H
#define MAILAUTH_REINJECT_DMARC_H

#include <stdbool.h>

#include "config.h"

struct reinject_msg;
struct reinject_stage;
struct authres_builder;

/* What reinject does with a message whose DMARC disposition is quarantine or
 * reject (RFC 9989 "Policy Enforcement Considerations": the receiver decides). */
enum reinject_dmarc_action {
	REINJECT_DMARC_ACCEPT,		/* relay with the Authentication-Results only */
	REINJECT_DMARC_TAG,		/* Subject prefix and a spam-flag field */
	REINJECT_DMARC_HOLD,		/* field that header_checks turns into HOLD */
	REINJECT_DMARC_REDIRECT,	/* field that header_checks turns into REDIRECT */
	REINJECT_DMARC_DISCARD,		/* 250, nothing relayed, logged */
	REINJECT_DMARC_REJECT,		/* 550 5.7.1 (before-queue mode: to the client) */
	REINJECT_DMARC_TEMPFAIL,	/* 451 4.7.1 (temperror only) */
	REINJECT_DMARC_REJECT_OR_HOLD,	/* reject before the queue (proxy, milter),
					 * hold after it: OpenDMARC's RejectFailures */
};

/* The field reinject adds for hold / redirect / tag; any copy arriving from
 * outside is removed first, so header_checks only ever sees ours. */
#define REINJECT_DMARC_FIELD	"X-Mailauth-DMARC"

struct reinject_dmarc_conf {
	bool enable;
	int quarantine_action;		/* enum reinject_dmarc_action */
	int reject_action;
	int temperror_action;		/* accept or tempfail */
	int from_error_disposition;	/* enum dmarc_disposition */
	char *tag_subject_prefix;
	char *tag_header;		/* "X-Spam-Flag: YES", or "" */
	struct config_list trusted_forwarders;	/* networks and domains */
	bool spf_self;			/* ignore header SPF results, evaluate always */
	struct config_list trusted_authserv_ids;	/* A-R ids trusted besides ours */
	bool legacy_pct;
	char *reject_text;
	bool required_headers;		/* RFC 5322 §3.6 counts enforced first */
	struct config_list ignore_from;	/* From domains not evaluated */
};

extern const struct config_enum reinject_dmarc_action_names[];
extern const struct config_enum reinject_dmarc_temperror_names[];
extern const struct config_enum reinject_dmarc_disposition_names[];

#define REINJECT_DMARC_CONF_KEYS(st, m) \
	CONFIG_KEY_BOOL("dmarc_enable", st, m.enable, "yes", \
	    "evaluate DMARC (RFC 9989) on verified mail"), \
	CONFIG_KEY_ENUM("dmarc_quarantine_action", st, m.quarantine_action, "tag", \
	    reinject_dmarc_action_names, \
	    "failing mail under p=quarantine: accept, tag, hold, redirect, discard, reject, reject_or_hold"), \
	CONFIG_KEY_ENUM("dmarc_reject_action", st, m.reject_action, "hold", \
	    reinject_dmarc_action_names, \
	    "failing mail under p=reject: accept, tag, hold, redirect, discard, reject, reject_or_hold"), \
	CONFIG_KEY_ENUM("dmarc_temperror_action", st, m.temperror_action, "accept", \
	    reinject_dmarc_temperror_names, "dmarc=temperror: accept or tempfail (451)"), \
	CONFIG_KEY_ENUM("dmarc_from_error_disposition", st, m.from_error_disposition, \
	    "reject", reinject_dmarc_disposition_names, \
	    "no usable From (dmarc=permerror): treated as this disposition"), \
	CONFIG_KEY_STRING("dmarc_tag_subject_prefix", st, m.tag_subject_prefix, \
	    "[SPAM]", "tag action: Subject prefix"), \
	CONFIG_KEY_STRING("dmarc_tag_header", st, m.tag_header, "X-Spam-Flag: YES", \
	    "tag action: field added (empty: none)"), \
	CONFIG_KEY_LIST("dmarc_trusted_forwarders", st, m.trusted_forwarders, "", \
	    "forwarders / list hosts (addr/len or domain) whose failures are not enforced"), \
	CONFIG_KEY_BOOL("dmarc_spf_self", st, m.spf_self, "no", \
	    "evaluate SPF here even when our MTA recorded a result"), \
	CONFIG_KEY_LIST("trusted_authserv_ids", st, m.trusted_authserv_ids, "", \
	    "authserv-ids besides ours whose A-R spf result (above the first Received) is used"), \
	CONFIG_KEY_BOOL("dmarc_legacy_pct", st, m.legacy_pct, "no", \
	    "apply RFC 7489 pct= sampling (removed by RFC 9989)"), \
	CONFIG_KEY_STRING("dmarc_reject_text", st, m.reject_text, \
	    "Email rejected per DMARC policy for", "reject action: reply text, domain appended"), \
	CONFIG_KEY_BOOL("dmarc_required_headers", st, m.required_headers, "no", \
	    "refuse (before the queue) or hold mail breaking the RFC 5322 section 3.6 field counts"), \
	CONFIG_KEY_LIST("dmarc_ignore_from_domains", st, m.ignore_from, "", \
	    "From domains whose mail DMARC does not evaluate")

extern const struct reinject_stage reinject_stage_dmarc;

/*
 * reinject_dmarc_authres_spf - when this stage had an SPF result (evaluated
 * here, or from a trusted Received-SPF or A-R field), its spf= clause, so
 * the A-R field and DMARC never disagree, and the result in m->spf; false
 * otherwise (the A-R stage then reports this hop's Received-SPF)
 * reinject_dmarc_authres - the dmarc= clause, when this stage evaluated
 */
bool reinject_dmarc_authres_spf(struct reinject_msg *m, struct authres_builder *b);
void reinject_dmarc_authres(const struct reinject_msg *m, struct authres_builder *b);

/*
 * reinject_dmarc_required - why the header section breaks RFC 5322 §3.6
 * (From and Date exactly once, the other fields of its table at most once,
 * a From with a domain), or NULL (reinject_dmarc_hdrs.c)
 */
const char *reinject_dmarc_required(const struct reinject_msg *m);
/* reinject_dmarc_ignored - every From domain is in dmarc_ignore_from_domains */
bool reinject_dmarc_ignored(const struct reinject_msg *m,
    const struct config_list *domains);

/* reinject_dmarccheck_main - "reinject dmarc-check DOMAIN [--dns addr@port]" */
int reinject_dmarccheck_main(int argc, char **argv);

/* reinject_dmarc_action_for - the action for a disposition/result (exposed for tests) */
enum reinject_dmarc_action reinject_dmarc_action_for(const struct reinject_dmarc_conf *c,
    int result, int disposition);

#endif
