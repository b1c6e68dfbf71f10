/*
 * reinject_arc.h - reinject's ARC stage (RFC 8617 chain validation): its
 * settings, declared once here (REINJECT_ARC_CONF_KEYS) so reinject_conf.c
 * lists them with one line and reinject.conf(5) documents them, and the
 * result the Authentication-Results stage reports.
 */
#ifndef MAILAUTH_REINJECT_ARC_H
#define MAILAUTH_REINJECT_ARC_H

#include <stdbool.h>
#include <stddef.h>

#include "arc.h"
#include "config.h"

struct reinject_msg;
struct authres_builder;

/* Which mail gets an ARC set (RFC 8617 §5.1) on its way out. */
enum reinject_arc_seal {
	REINJECT_ARC_SEAL_NONE,
	REINJECT_ARC_SEAL_SIGN,		/* mail on the sign path (sign listener, internal hosts) */
	REINJECT_ARC_SEAL_ALL,		/* every relayed message */
};

extern const struct config_enum reinject_arc_seal_names[];

struct reinject_arc_conf {
	bool enable;
	int seal;			/* enum reinject_arc_seal */
	char *seal_domain;		/* the SigningTable is asked for postmaster@ this; "" sign_domain */
	struct config_list seal_headers;	/* AMS h= names; empty: DKIM's default list */
	struct config_list seal_recipient_domains;	/* mail to these (or below) is sealed too */
	struct config_list trusted_sealers;	/* domains whose AAR may override a DMARC failure */
	int set_limit;
	int signature_limit;
	int dns_query_limit;
	size_t hash_size_limit;
};

#define REINJECT_ARC_CONF_KEYS(st, m) \
	CONFIG_KEY_BOOL("arc_enable", st, m.enable, "yes", \
	    "validate ARC chains (RFC 8617) on verified mail"), \
	CONFIG_KEY_INT("arc_set_limit", st, m.set_limit, "50", 1, ARC_SET_LIMIT, \
	    "ARC sets validated; a longer chain fails"), \
	CONFIG_KEY_INT("arc_signature_limit", st, m.signature_limit, "40", 2, 100, \
	    "AMS and AS verifications per message; a chain needing more fails"), \
	CONFIG_KEY_INT("arc_dns_query_limit", st, m.dns_query_limit, "20", 1, 100, \
	    "ARC key lookups per message; a chain needing more fails"), \
	CONFIG_KEY_SIZE("arc_hash_size_limit", st, m.hash_size_limit, "256m", 65536, \
	    1LL << 40, "bytes hashed for ARC per message; a chain needing more fails"), \
	CONFIG_KEY_ENUM("arc_seal", st, m.seal, "none", reinject_arc_seal_names, \
	    "add an ARC set to: none, sign (mail on the sign path) or all relayed mail"), \
	CONFIG_KEY_LIST("arc_seal_recipient_domains", st, m.seal_recipient_domains, "", \
	    "also seal mail with a recipient in one of these domains or below"), \
	CONFIG_KEY_STRING("arc_seal_domain", st, m.seal_domain, "", \
	    "sealing domain: its SigningTable key (postmaster@domain) seals; empty: sign_domain"), \
	CONFIG_KEY_LIST("arc_seal_headers", st, m.seal_headers, "", \
	    "header fields the ARC-Message-Signature covers; empty: the DKIM signing list"), \
	CONFIG_KEY_LIST("arc_trusted_sealers", st, m.trusted_sealers, "", \
	    "sealing domains whose ARC-Authentication-Results may lift a DMARC failure")

/* What the ARC stage found, for the A-R stage (and DMARC). */
struct reinject_arc_res {
	bool evaluated;
	enum arc_cv cv;
	unsigned oldest_pass;
	bool temporary;			/* fail from a DNS timeout or error */
	char reason[96];
	const struct arc_result *result;	/* the verifier's, until the pipeline is freed; or NULL */
	unsigned sealed;		/* the instance of the set added here, 0: not sealed */
	/* arc_trusted_sealers: the set that vouches for the From domain */
	unsigned vouch_instance;	/* 0: none */
	char vouch_sealer[256];
	char vouch_from[256];		/* the From domain it vouches for */
};

struct dmarc_verdict;

/*
 * reinject_arc_dmarc_override - a DMARC failure of the deciding From domain
 * that a trusted sealer vouches for (arc_trust_vouch, with that domain's
 * Organizational Domain and aspf=/adkim=): disposition none, override
 * trusted_forwarder (RFC 9990 PolicyOverrideType), the reason saying which
 * sealer; else unchanged
 */
void reinject_arc_dmarc_override(struct reinject_msg *m, struct dmarc_verdict *v);

/* reinject_arc_seals - does this message get an ARC set (arc_seal, arc_seal_recipient_domains) */
bool reinject_arc_seals(const struct reinject_msg *m);
/* reinject_arc_seal_rcpt - recipient addr (<> optional) is in arc_seal_recipient_domains */
bool reinject_arc_seal_rcpt(const struct reinject_arc_conf *c, struct span addr);

/* reinject_arc_verifier - the ARC stage's verifier for m (the seal's body hash), or NULL */
struct arc_verify *reinject_arc_verifier(const struct reinject_msg *m);

/* reinject_arc_log - ", arc=STATUS [oldest-pass=N] [(why)] [sealed i=N]" for the message's log line, if the stage ran */
void reinject_arc_log(const struct reinject_msg *m, struct buf *b);

/* reinject_arc_authres - the arc= clause (RFC 8617 §10.1, RFC 8601 reason= on fail), if the stage ran */
void reinject_arc_authres(const struct reinject_msg *m, struct authres_builder *b);

#endif
