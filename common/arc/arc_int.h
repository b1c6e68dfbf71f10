/*
 * arc_int.h - internals shared by the arc_*.c files (unit tests and the
 * fuzz target include it to test the pieces).
 */
#ifndef MAILAUTH_ARC_INT_H
#define MAILAUTH_ARC_INT_H

#include "arc.h"
#include "dkim_int.h"

/* The three ARC header fields (RFC 8617 §4.1). */
enum arc_field {
	ARC_FIELD_AAR,		/* ARC-Authentication-Results */
	ARC_FIELD_AMS,		/* ARC-Message-Signature */
	ARC_FIELD_AS,		/* ARC-Seal */
	ARC_FIELD_COUNT,
	ARC_FIELD_OTHER = ARC_FIELD_COUNT,
};

/* ---- arc_aar.c ---- */

/* An ARC-Authentication-Results field (RFC 8617 §4.1.1). */
struct arc_aar {
	char *field;			/* owned raw field, with CRLF */
	size_t field_len;
	unsigned instance;
	char *payload;			/* after "i=n;", trimmed, unfolded: authserv-id; results */
	const char *error;
};

/* arc_field_kind - which ARC field a raw field is, by its name */
enum arc_field arc_field_kind(const char *field, size_t len);
/* arc_aar_parse - parse an AAR; 0, or -1 with aar->error */
int arc_aar_parse(struct arc_aar *aar, const char *field, size_t len);
/* arc_aar_clear - free what arc_aar_parse allocated */
void arc_aar_clear(struct arc_aar *aar);

/* ---- arc_seal.c ---- */

/* An ARC-Seal field (RFC 8617 §4.1.3). */
struct arc_seal {
	char *field;			/* owned raw field, with CRLF */
	size_t field_len;
	struct tagvalue_list tags;	/* spans into field */
	unsigned instance;
	enum arc_cv cv;
	enum dkim_alg alg;
	char *d, *s;			/* d= lower-cased, s= */
	unsigned char b[DKIM_SIG_B_MAX];
	size_t blen;
	size_t b_raw_off, b_raw_len;	/* b= raw value inside field, to blank */
	time_t t;			/* -1 when absent */
	const char *error;
};

/* arc_seal_parse - parse an ARC-Seal; 0, or -1 with seal->error */
int arc_seal_parse(struct arc_seal *seal, const char *field, size_t len);
/* arc_seal_clear - free what arc_seal_parse allocated */
void arc_seal_clear(struct arc_seal *seal);
/* arc_cv_parse - "none", "pass", "fail" (case-sensitive, RFC 6376 §3.2 values); 0/-1 */
int arc_cv_parse(struct span v, enum arc_cv *cv);

/* The raw fields of one complete ARC set, for the seal's signing input. */
struct arc_set_fields {
	struct span f[ARC_FIELD_COUNT];
};

/*
 * arc_seal_input - RFC 8617 §5.1.1: the sets 1..n in increasing instance,
 * each AAR, AMS, AS, relaxed; the AS of set n with its b= value (b_off,
 * b_len) blanked and without its final CRLF.  0/-1 (out overflow).
 */
int arc_seal_input(const struct arc_set_fields *sets, size_t n, size_t b_off,
    size_t b_len, struct buf *out);

/* ---- arc_chain.c ---- */

/* One ARC set as filed by instance. */
struct arc_chain_set {
	unsigned count[ARC_FIELD_COUNT];	/* fields of each kind seen */
	struct arc_aar aar;
	struct dkim_sig ams;
	struct arc_seal seal;
};

struct arc_chain {
	unsigned set_limit;
	struct arc_chain_set *sets[ARC_SET_LIMIT + 1];	/* by instance; [0] unused */
	unsigned nfields;		/* ARC fields seen */
	unsigned n;			/* highest instance filed (<= set_limit) */
	unsigned max;			/* highest instance seen in any parsed field */
	const char *broken;		/* first reason the chain cannot pass, or NULL */
	bool broken_limit;		/* broken by a limit */
	bool overflow;			/* more ARC fields than were read */
};

/* arc_chain_init - an empty chain; set_limit 0 or above ARC_SET_LIMIT means ARC_SET_LIMIT */
void arc_chain_init(struct arc_chain *c, unsigned set_limit);
/* arc_chain_add - one ARC field of the message */
void arc_chain_add(struct arc_chain *c, enum arc_field kind, const char *field, size_t len);
/* arc_chain_status - §5.2 steps 1-3 (sets present): NULL when it may pass, else why it fails */
const char *arc_chain_status(const struct arc_chain *c);
/* arc_chain_fields - the raw fields of the complete sets 1..n */
void arc_chain_fields(const struct arc_chain *c, unsigned n, struct arc_set_fields *out);
/* arc_chain_clear - free the sets */
void arc_chain_clear(struct arc_chain *c);

#endif
