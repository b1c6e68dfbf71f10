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
 *
 * The switch is kept across restarts and reloads in a state file of
 * spool_directory (the directory the daemon may write; the key directory is
 * usually read-only), "dkim-rollover.<old selector>._domainkey.<domain>":
 *
 *   domain = example.org
 *   old_selector = rsa2026
 *   next_selector = rsa2027
 *   next_key_sha256 = <hex SHA-256 of the next public key, DER>
 *   switched_at = 1796212345
 *
 * switched_at is when the record was first seen matching; the keep time
 * runs from then.  The first worker to switch writes it (a temporary file
 * renamed into place without replacing one another worker wrote); the
 * others take its time.  A worker that starts with a state file for the
 * same key signs with the next key at once and checks the record again: if
 * it is gone, it says so loudly, signs with the old key again and removes
 * the state.  A state file that cannot be read is logged and treated as
 * absent.
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

/* Bytes of a state file read at most. */
#define REINJECT_ROLLOVER_STATE_MAX	2048
/* Hex digits of next_key_sha256. */
#define REINJECT_ROLLOVER_HASH_HEX	64
/* Longest domain (RFC 1035 §2.3.4). */
#define REINJECT_ROLLOVER_DOMAIN_MAX	255

struct reinject_rollover_state {
	char domain[REINJECT_ROLLOVER_DOMAIN_MAX + 1];
	char old_selector[REINJECT_ROLLOVER_SELECTOR_MAX + 1];
	char next_selector[REINJECT_ROLLOVER_SELECTOR_MAX + 1];
	char key_sha256[REINJECT_ROLLOVER_HASH_HEX + 1];
	long long switched_at;		/* seconds since the epoch */
};

/*
 * reinject_rollover_state_parse - a state file's text (p, len) into st; 0,
 * or -1 with "name:line: why" in err
 */
int reinject_rollover_state_parse(const char *p, size_t len, const char *name,
    struct reinject_rollover_state *st, struct buf *err);
/* reinject_rollover_state_format - st as the file's text; its length, or -1
 * when it does not fit size */
int reinject_rollover_state_format(const struct reinject_rollover_state *st,
    char *out, size_t size);

/*
 * reinject_rollover_store_name - "dkim-rollover.<selector>._domainkey.<domain>"
 * into out; -1 when that is no usable file name
 */
int reinject_rollover_store_name(const char *domain, const char *selector,
    char *out, size_t size);
/*
 * reinject_rollover_store_read - the state file name of directory dfd (dir
 * names it in messages): 1 read into st, 0 absent, -1 unreadable or refused
 * (err "file:line: why")
 */
int reinject_rollover_store_read(int dfd, const char *dir, const char *name,
    struct reinject_rollover_state *st, struct buf *err);
/*
 * reinject_rollover_store_write - st as name in dfd: a temporary file,
 * synced, renamed into place, never through a link.  replace false: a file
 * that is there stays (0).  1 written, -1 and err.
 */
int reinject_rollover_store_write(int dfd, const char *dir, const char *name,
    const struct reinject_rollover_state *st, bool replace, struct buf *err);
/* reinject_rollover_store_remove - unlink name of dfd; 0, or -1 and err */
int reinject_rollover_store_remove(int dfd, const char *dir, const char *name,
    struct buf *err);

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
