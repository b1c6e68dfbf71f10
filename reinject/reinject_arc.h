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

struct reinject_arc_conf {
	bool enable;
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
	    1LL << 40, "bytes hashed for ARC per message; a chain needing more fails")

/* What the ARC stage found, for the A-R stage (and DMARC). */
struct reinject_arc_res {
	bool evaluated;
	enum arc_cv cv;
	unsigned oldest_pass;
	char reason[96];
};

/* reinject_arc_authres - the arc= clause (RFC 8617 §10.1, RFC 8601), if the stage ran */
void reinject_arc_authres(const struct reinject_msg *m, struct authres_builder *b);

#endif
