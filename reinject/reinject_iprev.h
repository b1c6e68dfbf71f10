/*
 * reinject_iprev.h - the iprev pipeline stage of reinject (RFC 8601 §3):
 * settings, the stage, its per-worker result cache and the clause it hands
 * to the Authentication-Results stage.
 *
 * Settings live in struct reinject_conf as member "iprev"; the keys are
 * declared once here (REINJECT_IPREV_CONF_KEYS) and documented in
 * reinject.conf(5).
 */
#ifndef MAILAUTH_REINJECT_IPREV_H
#define MAILAUTH_REINJECT_IPREV_H

#include <stdbool.h>

#include "config.h"

struct reinject_msg;
struct reinject_stage;
struct authres_builder;

/* What reinject does with a client whose reverse DNS is not forward-confirmed. */
enum reinject_iprev_action {
	REINJECT_IPREV_NONE,	/* report in Authentication-Results only */
	REINJECT_IPREV_TAG,	/* add an X-Mailauth-Iprev field */
	REINJECT_IPREV_DEFER,	/* 450 4.7.25 */
	REINJECT_IPREV_REJECT,	/* 550 5.7.25 (RFC 7372 §3.3); temperror: 451 4.7.25 */
};

/* The field of the tag action; copies arriving from outside are removed. */
#define REINJECT_IPREV_FIELD	"X-Mailauth-Iprev"

struct reinject_iprev_conf {
	bool enable;
	int action;			/* enum reinject_iprev_action */
	int name_limit;			/* PTR names checked (IPREV_NAME_LIMIT) */
	unsigned cache_ttl;		/* seconds a result is reused; 0: no cache */
	int cache_size_limit;		/* results kept per worker */
};

extern const struct config_enum reinject_iprev_action_names[];

#define REINJECT_IPREV_CONF_KEYS(st, m) \
	CONFIG_KEY_BOOL("iprev_enable", st, m.enable, "yes", \
	    "check the client's reverse DNS (iprev, RFC 8601) on verified mail"), \
	CONFIG_KEY_ENUM("iprev_action", st, m.action, "none", reinject_iprev_action_names, \
	    "client without forward-confirmed reverse DNS: none, tag, defer, reject"), \
	CONFIG_KEY_INT("iprev_name_limit", st, m.name_limit, "10", 1, 32, \
	    "PTR names of the client checked for an address back to it"), \
	CONFIG_KEY_TIME("iprev_cache_ttl", st, m.cache_ttl, "300s", 0, 86400, \
	    "how long a worker reuses a client's iprev result; 0: no cache"), \
	CONFIG_KEY_INT("iprev_cache_size_limit", st, m.cache_size_limit, "1024", 1, 1000000, \
	    "iprev results a worker keeps")

extern const struct reinject_stage reinject_stage_iprev;

/* reinject_iprev_authres - the iprev= clause, when the stage evaluated */
void reinject_iprev_authres(const struct reinject_msg *m, struct authres_builder *b);

#endif
