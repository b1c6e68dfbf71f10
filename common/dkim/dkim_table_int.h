/*
 * dkim_table_int.h - internals shared by the dkim_table_*.c files: the OpenDKIM
 * data set reader (opendkim(8) "DATA SETS": flat files, refile:, csl:, inline
 * comma-separated lists) and the SigningTable matchers.
 */
#ifndef MAILAUTH_DKIM_TABLE_INT_H
#define MAILAUTH_DKIM_TABLE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Room for the part of an error message after "file:line: ". */
#define DKIM_TABLE_FILE_MSG_MAX	768

enum dkim_table_spec {
	DKIM_TABLE_SPEC_FILE,	/* "file:/p" or "/p", "./p", "../p" */
	DKIM_TABLE_SPEC_REFILE,	/* "refile:/p": wildcard patterns */
	DKIM_TABLE_SPEC_LIST,	/* "csl:a,b" or an inline "a,b" */
};

/* One meaningful line: comment stripped, key = first word, value = the rest. */
struct dkim_table_line {
	const char *file;	/* path, or "(inline list)" */
	unsigned lineno;	/* line, or item number in an inline list */
	struct span key;
	struct span value;	/* empty when the line has one word */
};

typedef int (*dkim_table_line_fn)(void *arg, const struct dkim_table_line *l,
    char *err, size_t errsz);

/* dkim_table_file_spec - classify a data set spec; *rest = path or list text */
int dkim_table_file_spec(const char *spec, enum dkim_table_spec *kind,
    const char **rest, char *err, size_t errsz);
/* dkim_table_file_read - call fn for each line of a flat file */
int dkim_table_file_read(const char *path, dkim_table_line_fn fn, void *arg,
    char *err, size_t errsz);
/* dkim_table_file_read_list - call fn for each item of a comma-separated list */
int dkim_table_file_read_list(const char *list, dkim_table_line_fn fn, void *arg,
    char *err, size_t errsz);
/* dkim_table_file_err - "file:line: message" into err */
void dkim_table_file_err(char *err, size_t errsz, const struct dkim_table_line *l,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* dkim_table_sign_glob - OpenDKIM refile wildcard match ("*" any run), ASCII ci */
bool dkim_table_sign_glob(struct span pat, struct span s);
/*
 * dkim_table_sign_candidates - the plain SigningTable keys for user@domain in
 * OpenDKIM's order; fn is called for each until it returns true.
 */
bool dkim_table_sign_candidates(struct span user, struct span domain,
    bool (*fn)(void *arg, struct span key), void *arg);

#include <openssl/evp.h>

#include "dkim_table.h"

/* A KeyTable entry.  A key whose path holds "%" is loaded per domain on use. */
struct tkey {
	char *name;
	char *domain;		/* "%" = the sender's domain */
	char *selector;
	char *path;		/* NULL for an inline key */
	char *source;		/* path or inline text, for conflict checks */
	bool declared;
	enum dkim_alg alg;
	EVP_PKEY *key;		/* NULL while the path holds "%" */
	unsigned lineno;
	struct tkey_cache *cache;
	size_t ncache;
};

struct tkey_cache {
	char *path;
	EVP_PKEY *key;
	enum dkim_alg alg;
};

/* A SigningTable entry. */
struct sentry {
	char *pattern;
	char *keyname;		/* "%" = the sender's domain */
	char *signer;		/* i= template, or NULL */
	unsigned lineno;
};

struct dkim_table {
	struct tkey *keys;
	size_t nkeys;
	struct sentry *ents;
	size_t nents;
	bool refile;
	bool multiple;
	struct dkim_table_key_opts key_opts;
	char *key_file;		/* names for messages */
	char *sign_file;
};

/* dkim_table_find_key - a KeyTable entry by name */
struct tkey *dkim_table_find_key(const struct dkim_table *t, const char *name,
    size_t len);

#endif
