/*
 * reinject_foreign.h - the reader shared by the foreign configuration
 * formats reinject takes as they stand (opendkim.conf(5), opendmarc.conf(5)):
 * "Key value" lines, "#" comments anywhere, keys case-insensitive, each key
 * mapped by a table entry onto the reinject.conf setting with the same
 * meaning.  A key that cannot be honoured is an error "file:line: Key:
 * reason"; every line is read, so -t lists every error of a file at once.
 */
#ifndef MAILAUTH_REINJECT_FOREIGN_H
#define MAILAUTH_REINJECT_FOREIGN_H

#include <stdbool.h>
#include <stdio.h>

#include "reinject.h"

struct reinject_foreign_key;

struct reinject_foreign {
	struct reinject_conf *c;
	const char *format;		/* "OpenDKIM", in messages */
	const char *where;		/* file name, in messages */
	unsigned line;
	struct buf *notes, *err;
	FILE *out;			/* reinject import: the settings made */
	const struct reinject_foreign_key *keys;
	size_t nkeys;
	void *arg;			/* the format's own state */
	int rc;
};

typedef int (*reinject_foreign_map_fn)(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v);

struct reinject_foreign_key {
	const char *name;		/* as the foreign program spells it */
	reinject_foreign_map_fn map;
	const char *native;		/* target setting */
	const char *note;		/* the note, or the reason of a refusal */
};

/* reinject_foreign_err - "file:line: Key: message ("value")"; returns -1 */
int reinject_foreign_err(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *msg, struct span v);
/* reinject_foreign_note - "file:line: Key: note" into the notes (and import) */
void reinject_foreign_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *msg);
/* reinject_foreign_set - set a native key (printed by import); 0 or -1 */
int reinject_foreign_set(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *native, const char *p,
    size_t len);
/* reinject_foreign_force - set a native key the file did not name */
void reinject_foreign_force(struct reinject_foreign *s, const char *native,
    const char *value);

/* generic mappings */
int reinject_foreign_map_same(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v);
int reinject_foreign_map_bool(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v);
int reinject_foreign_map_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v);
int reinject_foreign_map_refuse(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v);

/* reinject_foreign_find - the table entry of a key name, or NULL */
const struct reinject_foreign_key *reinject_foreign_find(
    const struct reinject_foreign_key *keys, size_t n, struct span name);
/* reinject_foreign_run - every line of s->where through s->keys; 0 or -1 */
int reinject_foreign_run(struct reinject_foreign *s);
/* reinject_foreign_detect - first setting a key of the table, without "=" */
bool reinject_foreign_detect(const struct reinject_foreign_key *keys, size_t n,
    const char *p, size_t len);

/* reinject_foreign_misfit - settings of (p, len) whose key is not in keys */
size_t reinject_foreign_misfit(const struct reinject_foreign_key *keys, size_t n,
    const char *p, size_t len);

/* An OpenDKIM data set of names (reinject_opendkim_sets.c). */
struct reinject_opendkim_set {
	char **names;
	size_t n;
	bool overflow;			/* more names than a set may read */
	bool unbounded;			/* the result of a delta: base + the read set */
};

/* reinject_opendkim_set_read - csl:, file:, a path or a comma list; 0 or -1, e */
int reinject_opendkim_set_read(struct reinject_opendkim_set *set, struct span v,
    struct buf *e);
/* reinject_opendkim_set_has - is (p, len) in the set (case-insensitive) */
bool reinject_opendkim_set_has(const struct reinject_opendkim_set *set,
    const char *p, size_t len);
/* reinject_opendkim_set_delta - "*" (start from base), "+x", "-x", "x" applied */
void reinject_opendkim_set_delta(struct reinject_opendkim_set *set,
    const char *const *base);
/* reinject_opendkim_set_join - "a, b, c" appended to b */
void reinject_opendkim_set_join(const struct reinject_opendkim_set *set,
    struct buf *b);
void reinject_opendkim_set_clear(struct reinject_opendkim_set *set);

#define REINJECT_FOREIGN_NOTE(n, text) \
	{ n, reinject_foreign_map_note, NULL, text }
#define REINJECT_FOREIGN_REFUSE(n, text) \
	{ n, reinject_foreign_map_refuse, NULL, text }

#endif
