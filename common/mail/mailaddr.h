/*
 * mailaddr.h - RFC 5322 address-list parser for From (and other address fields).
 *
 * Implements RFC 5322 §3.4 (address, mailbox, name-addr, angle-addr, group,
 * addr-spec), §3.2 (quoted strings, comments, CFWS, atoms) and the obsolete
 * syntax of §4.4 that real mail still carries (obs-route "@a,@b:", empty list
 * elements, obs-phrase with dots, CFWS around dots).  UTF-8 is accepted in atoms
 * and quoted strings (RFC 6532).  A domain is returned as lower-case A-labels
 * (RFC 5890 §2.3.2.1; U-labels are Punycode-encoded, RFC 3492) without a trailing
 * dot; a domain literal ([192.0.2.1]) is returned with literal = true.
 *
 * The parser takes (pointer, length), allocates nothing and never reads past len.
 */
#ifndef MAILAUTH_MAILADDR_H
#define MAILAUTH_MAILADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Our bound on addresses accepted in one field; more is an error. */
#define MAILADDR_LIMIT		16
/* Our bound on comment nesting (RFC 5322 §3.2.2 allows any depth). */
#define MAILADDR_COMMENT_DEPTH	8
/* RFC 5321 §4.5.3.1.1 local-part 64 octets; we keep a little more for quoting. */
#define MAILADDR_LOCAL_SIZE	128
/* RFC 1035 §2.3.4: 253 octets of text, plus NUL */
#define MAILADDR_DOMAIN_SIZE	256

struct mailaddr {
	char local[MAILADDR_LOCAL_SIZE];	/* unquoted local part, truncated if longer */
	char domain[MAILADDR_DOMAIN_SIZE];	/* A-labels, lower case; "" when none */
	bool literal;				/* domain is a domain-literal */
	bool in_group;
};

struct mailaddr_list {
	size_t count;
	struct mailaddr addr[MAILADDR_LIMIT];
	size_t groups;				/* groups seen (maybe empty) */
	const char *reason;			/* static text when parsing failed */
	size_t error_offset;
};

/*
 * mailaddr_parse_list - parse an address-list field body (p, len), folded or not.
 * Returns 0, or -1 with reason and error_offset set (then count holds the
 * addresses parsed before the error).  An empty body or an empty group gives 0
 * with count == 0.
 */
int mailaddr_parse_list(const char *p, size_t len, struct mailaddr_list *out);

/*
 * mailaddr_domain_to_ascii - normalise a domain: lower-case ASCII labels, U-labels
 * to "xn--" A-labels, trailing dot removed.  Returns 0, or -1 when the name is
 * not a usable host name (empty label, label > 63, name > 253, bad characters).
 */
int mailaddr_domain_to_ascii(const char *p, size_t len, char out[MAILADDR_DOMAIN_SIZE]);

#endif
