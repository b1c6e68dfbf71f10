/*
 * config.h - table-driven parser for "name = value" configuration files.
 *
 * The syntax is that of Postfix's main.cf (postconf(5)): one "name = value" per
 * logical line; a line starting with whitespace continues the previous logical
 * line; lines whose first non-blank character is "#" and blank lines are
 * ignored.  A "#" elsewhere is part of the value, as in main.cf.
 *
 * Each program declares its settings once, in a table of struct config_key: name,
 * type, default (as text, parsed like a file value), limits, and a one-line doc.
 * The table writes into a program-defined destination struct through field
 * offsets, so the module knows nothing about any program.  Every unknown key and
 * every bad value is an error naming file and line; all errors of a file are
 * reported, not only the first.
 *
 * Destination field types, per key type:
 *   CONFIG_BOOL    bool          yes/no, true/false, on/off, 1/0
 *   CONFIG_INT     int           decimal (0x.. hex, 0.. octal), min..max;
 *                                CONFIG_KEY_OCTAL prints it back in octal
 *   CONFIG_TIME    unsigned      seconds; suffix s, m, h or d; min..max seconds
 *   CONFIG_SIZE    size_t        bytes; suffix k or m (1024-based); min..max
 *   CONFIG_STRING  char *        owned copy; may be empty
 *   CONFIG_LIST    struct config_list   items separated by commas and/or blanks
 *   CONFIG_ENUM    int           one of the names of the key's enum table
 */
#ifndef MAILAUTH_CONFIG_H
#define MAILAUTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"

/* Bound on one logical line (a value with its continuations) and on the error text. */
#define CONFIG_LINE_LIMIT	65536
#define CONFIG_ERROR_LIMIT	8192

enum config_type {
	CONFIG_BOOL,
	CONFIG_INT,
	CONFIG_TIME,
	CONFIG_SIZE,
	CONFIG_STRING,
	CONFIG_LIST,
	CONFIG_ENUM,
};

struct config_enum {
	const char *name;
	int value;
};

/* items is NULL-terminated, or NULL when the list is empty */
struct config_list {
	size_t count;
	char **items;
};

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;		/* default, in file syntax */
	size_t offset;			/* of the field in the destination struct */
	long long min, max;		/* INT, TIME, SIZE */
	const struct config_enum *enums;	/* ENUM: terminated by a NULL name */
	const char *doc;		/* one line, for -n listings and key lists */
	bool octal;			/* INT: printed in octal (file modes) */
	/*
	 * Optional: check the parsed field (e.g. each item of a list); append a
	 * message without file:line to err and return -1 to reject the line.
	 */
	int (*check)(const void *field, struct buf *err);
};

#define CONFIG_KEY_BOOL(n, st, f, def, doc) \
	{ n, CONFIG_BOOL, def, offsetof(st, f), 0, 1, NULL, doc, false, NULL }
#define CONFIG_KEY_INT(n, st, f, def, lo, hi, doc) \
	{ n, CONFIG_INT, def, offsetof(st, f), lo, hi, NULL, doc, false, NULL }
#define CONFIG_KEY_OCTAL(n, st, f, def, lo, hi, doc) \
	{ n, CONFIG_INT, def, offsetof(st, f), lo, hi, NULL, doc, true, NULL }
#define CONFIG_KEY_TIME(n, st, f, def, lo, hi, doc) \
	{ n, CONFIG_TIME, def, offsetof(st, f), lo, hi, NULL, doc, false, NULL }
#define CONFIG_KEY_SIZE(n, st, f, def, lo, hi, doc) \
	{ n, CONFIG_SIZE, def, offsetof(st, f), lo, hi, NULL, doc, false, NULL }
#define CONFIG_KEY_STRING(n, st, f, def, doc) \
	{ n, CONFIG_STRING, def, offsetof(st, f), 0, 0, NULL, doc, false, NULL }
#define CONFIG_KEY_LIST(n, st, f, def, doc) \
	{ n, CONFIG_LIST, def, offsetof(st, f), 0, 0, NULL, doc, false, NULL }
#define CONFIG_KEY_STRING_CHECK(n, st, f, def, fn, doc) \
	{ n, CONFIG_STRING, def, offsetof(st, f), 0, 0, NULL, doc, false, fn }
#define CONFIG_KEY_LIST_CHECK(n, st, f, def, fn, doc) \
	{ n, CONFIG_LIST, def, offsetof(st, f), 0, 0, NULL, doc, false, fn }
#define CONFIG_KEY_ENUM(n, st, f, def, tab, doc) \
	{ n, CONFIG_ENUM, def, offsetof(st, f), 0, 0, tab, doc, false, NULL }

struct config_schema {
	const char *name;		/* "policyd.conf": used in messages */
	const struct config_key *keys;
	size_t nkeys;
	/*
	 * Optional cross-key check run after a file is loaded: append a message to
	 * err (no file:line, the problem is not on one line) and return -1.
	 */
	int (*validate)(const void *dst, struct buf *err);
};

/* config_init - set every key of dst to its default; panics on a bad default */
void config_init(const struct config_schema *s, void *dst);
/* config_free - release the strings and lists of dst */
void config_free(const struct config_schema *s, void *dst);

/* config_key_find - the key called (name, len), or NULL */
const struct config_key *config_key_find(const struct config_schema *s,
    const char *name, size_t len);

/*
 * config_set - parse value (p, len) into the key called name.  Returns 0, or -1
 * with a message (without file:line) appended to err.
 */
int config_set(const struct config_schema *s, void *dst, const char *name,
    size_t nlen, const char *p, size_t len, struct buf *err);

/*
 * config_load_mem - apply the "name = value" text (p, len) to dst (which holds
 * defaults or earlier values).  where names the text in messages ("file").
 * Returns 0, or -1 with one "where:line: message" line per error in err; dst may
 * then be partly updated: load into a fresh struct and swap on success.
 */
int config_load_mem(const struct config_schema *s, void *dst, const char *where,
    const char *p, size_t len, struct buf *err);
/* config_load_file - config_load_mem on a file's contents */
int config_load_file(const struct config_schema *s, void *dst, const char *path,
    struct buf *err);

/*
 * Logical lines, for readers of other formats built on the same rules
 * (continuation lines optional).  cb returns 0 to go on, -1 after it appended an
 * error; config_lines returns -1 if any callback did.
 */
struct config_line {
	const char *where;
	unsigned lineno;		/* of the first physical line */
	const char *name;		/* trimmed, not NUL-terminated */
	size_t nlen;
	const char *value;		/* trimmed, continuations joined by one space */
	size_t vlen;
};
typedef int (*config_line_cb)(void *arg, const struct config_line *l,
    struct buf *err);
int config_lines(const char *where, const char *p, size_t len, bool continuation,
    bool hash_anywhere, config_line_cb cb, void *arg, struct buf *err);

/* config_read_file - whole file into a NUL-terminated heap string; NULL + err */
char *config_read_file(const char *path, size_t *len, struct buf *err);

/* config_format_value - the value of key k in dst, in file syntax */
void config_format_value(const struct config_key *k, const void *dst,
    struct buf *out);
/* config_print - "name = value" for every key (effective settings) */
void config_print(const struct config_schema *s, const void *dst, FILE *out);
/* config_print_keys - every key with type, default and doc */
void config_print_keys(const struct config_schema *s, FILE *out);

/* config_parse_bool - yes/no, true/false, on/off, 1/0 (case-insensitive) */
int config_parse_bool(const char *p, size_t len, bool *out);
/* config_list_has_ci - case-insensitive membership */
bool config_list_has_ci(const struct config_list *l, const char *s, size_t len);

#endif
