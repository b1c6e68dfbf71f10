/*
 * authres.h - Authentication-Results header fields, RFC 8601.
 *
 * Builder: one header field with the authserv-id (RFC 8601 §2.2) and a
 * resinfo per method (§2.7), folded at clause boundaries.  Parser: the
 * authserv-id of an existing field (skipping CFWS, RFC 5322 §3.2.2), so a
 * filter can remove fields that claim its own id (RFC 8601 §5), and the
 * method results (§2.2 resinfo) for consumers such as DMARC.  Also the leading
 * result word and key=value pairs of a Received-SPF field (RFC 7208 §9.1).
 */
#ifndef MAILAUTH_AUTHRES_H
#define MAILAUTH_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "util.h"

/* Bound on the resinfo clauses a parsed field yields. */
#define AUTHRES_RESULT_LIMIT	32
/* Bound on the properties of one resinfo. */
#define AUTHRES_PROP_LIMIT	8
/* RFC 5322 §2.1.1: fold before 78 characters where possible. */
#define AUTHRES_FOLD_WIDTH	78

/* ---- builder ---- */

struct authres_builder {
	struct buf out;		/* "Authentication-Results: id;\r\n\t..." */
	size_t nclauses;
	size_t col;		/* column of the current line */
};

/* authres_begin - start a field for authserv_id */
void authres_begin(struct authres_builder *b, const char *authserv_id);
/*
 * authres_add - add "method=result (comment) ptype.prop=value ..."; props is a
 * NULL-terminated list of "ptype.prop", "value" pairs (values are quoted when
 * they are not RFC 2045 tokens); comment may be NULL.  A first pair named
 * "reason" is the RFC 8601 §2.7 reasonspec (reason="...").
 */
void authres_add(struct authres_builder *b, const char *method,
    const char *result, const char *comment, const char *const *props);
/* authres_finish - "none" when nothing was added; field with CRLF; -1 overflow */
int authres_finish(struct authres_builder *b);
/* authres_clear - release storage */
void authres_clear(struct authres_builder *b);

/* ---- parser ---- */

struct authres_prop {
	struct span ptype;	/* "header", "smtp", "policy", "body" */
	struct span name;	/* "d", "mailfrom", ... */
	struct span value;	/* unquoted when it was a quoted-string */
};

struct authres_result {
	struct span method;	/* "dkim" (version dropped) */
	struct span result;	/* "pass" */
	size_t nprops;
	struct authres_prop props[AUTHRES_PROP_LIMIT];
};

struct authres_parsed {
	struct span authserv_id;
	size_t nresults;
	struct authres_result results[AUTHRES_RESULT_LIMIT];
	bool none;		/* "; none" */
};

/*
 * authres_parse - parse a field body (after "Authentication-Results:").
 * Returns 0 when at least the authserv-id was found, -1 otherwise; results
 * past the limit are dropped.
 */
int authres_parse(const char *p, size_t len, struct authres_parsed *out);
/* authres_claims_id - does the field body claim authserv_id (case-insensitive) */
bool authres_claims_id(const char *p, size_t len, const char *authserv_id);

/* ---- Received-SPF ---- */

struct authres_spf {
	struct span result;	/* pass, fail, softfail, neutral, none, temperror, permerror */
	struct span mailfrom;	/* envelope-from= */
	struct span helo;	/* helo= */
	struct span identity;	/* identity= (mailfrom or helo) */
	struct span client_ip;	/* client-ip= */
};

/* authres_spf_parse - Received-SPF field body; -1 if no known result word */
int authres_spf_parse(const char *p, size_t len, struct authres_spf *out);

#endif
