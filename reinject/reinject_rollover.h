/*
 * reinject_rollover.h - DKIM key rollover (RFC 6376 §3.6.1, §6.1.2): a key
 * made by "reinject keygen --next" waits beside the current one until its
 * record is published; the workers then sign with it (reinject-keygen(8),
 * ROLLING A KEY OVER).
 *
 * The plan is a file beside the current key file, "<keyfile>.next":
 *
 *   # comments
 *   next_selector = rsa2027
 *   next_key_file = /etc/mailauth/keys/rsa2027.private
 *
 * Each worker loads the plans with its tables, asks DNS for the next
 * selector's record every dkim_rollover_check_interval (the checks of
 * reinject testkey) and switches the table entry to the next key once the
 * published record is that key's public half.  It logs the switch, and once
 * dkim_rollover_keep_time has passed, that the old record can be removed.
 */
#ifndef MAILAUTH_REINJECT_ROLLOVER_H
#define MAILAUTH_REINJECT_ROLLOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Bytes of a plan file read at most (two short settings and comments). */
#define REINJECT_ROLLOVER_FILE_MAX	4096
/* Longest next_key_file path. */
#define REINJECT_ROLLOVER_PATH_MAX	1024
/* Longest selector (a DNS name of at most 255 octets, RFC 1035 §2.3.4). */
#define REINJECT_ROLLOVER_SELECTOR_MAX	255

struct reinject_rollover_plan {
	char selector[REINJECT_ROLLOVER_SELECTOR_MAX + 1];
	char key_file[REINJECT_ROLLOVER_PATH_MAX + 1];
};

/*
 * reinject_rollover_parse - a plan file's text (p, len) into plan; 0, or
 * -1 with "name:line: why" in err (name names the file in messages)
 */
int reinject_rollover_parse(const char *p, size_t len, const char *name,
    struct reinject_rollover_plan *plan, struct buf *err);

struct reinject_rollover;
struct dkim_table;
struct event_base;
struct dns_resolver;
struct reinject_conf;

/*
 * reinject_rollover_load - the plans beside every key file of t, their next
 * keys loaded and checked; NULL with nothing to roll over, or on error
 * (then *failed and err "file:line: why")
 */
struct reinject_rollover *reinject_rollover_load(struct dkim_table *t,
    const struct reinject_conf *c, bool *failed, struct buf *err);
/* reinject_rollover_start - check now, then every dkim_rollover_check_interval */
void reinject_rollover_start(struct reinject_rollover *ro, struct event_base *base,
    struct dns_resolver *dns);
/* reinject_rollover_free - stop the checks, release the next keys */
void reinject_rollover_free(struct reinject_rollover *ro);

#endif
