/*
 * reinject_tools.h - administrator subcommands: "reinject keygen" makes a DKIM
 * key pair and the DNS record to publish; "reinject testkey" checks a published
 * key record against the private key (reinject-keygen(8), reinject-testkey(8)).
 */
#ifndef MAILAUTH_REINJECT_TOOLS_H
#define MAILAUTH_REINJECT_TOOLS_H

#include <stdbool.h>
#include <stdio.h>
#include <sysexits.h>

#include <openssl/evp.h>

#include "dkim.h"

/* Exit codes of the tools (documented in the man pages): the verdicts of
 * testkey below 64, errors from sysexits.h. */
enum reinject_tool_exit {
	REINJECT_TOOL_OK = 0,		/* keygen: files written; testkey: key matches */
	REINJECT_TOOL_NO_RECORD = 3,	/* testkey: no TXT record (NXDOMAIN / no data) */
	REINJECT_TOOL_BAD_RECORD = 4,	/* testkey: record syntax, revoked, k= / h= / s= */
	REINJECT_TOOL_MISMATCH = 5,	/* testkey: published key differs from the private */
	REINJECT_TOOL_USAGE = EX_USAGE,	/* bad command line */
	REINJECT_TOOL_NOINPUT = EX_NOINPUT,	/* testkey: key file missing or unusable */
	REINJECT_TOOL_UNAVAILABLE = EX_UNAVAILABLE,	/* the resolver could not start */
	REINJECT_TOOL_SOFTWARE = EX_SOFTWARE,	/* keygen: key generation failed */
	REINJECT_TOOL_ERROR = EX_CANTCREAT,	/* keygen: a file exists or cannot be written */
	REINJECT_TOOL_DNS_ERROR = EX_TEMPFAIL,	/* testkey: SERVFAIL, timeout, DNSSEC bogus */
};

/* RFC 1035 §3.3.14 / §3.3: a TXT character-string holds at most 255 octets. */
#define REINJECT_TXT_STRING_MAX	255

/* reinject_keygen_main - "reinject keygen [-t rsa|ed25519] [-b bits] -d domain
 * -s selector [-D dir] [-f] [-y]" */
int reinject_keygen_main(int argc, char **argv);
/* reinject_testkey_main - "reinject testkey -d domain -s selector -k keyfile
 * [--dns addr@port] [--trust-anchor file] [--timeout ms]" */
int reinject_testkey_main(int argc, char **argv);

struct dns_resolver;
struct dns_answer;
struct event_base;

/*
 * reinject_testkey_answer - the checks of testkey on a TXT answer for the
 * key record: DNS errors, record syntax and tags, and whether the published
 * key is the public half of priv (named keyfile in messages); one line per
 * finding to out; returns an enum reinject_tool_exit
 */
int reinject_testkey_answer(const struct dns_answer *a, EVP_PKEY *priv,
    enum dkim_alg alg, const char *keyfile, FILE *out);

/* reinject_testkey_run - the check itself on a given resolver (tests use dns_mem);
 * the report goes to out; returns an enum reinject_tool_exit */
int reinject_testkey_run(struct event_base *base, struct dns_resolver *r,
    const char *domain, const char *selector, const char *keyfile, FILE *out);

/* reinject_keygen_zone_line - write "name IN TXT ( "..." "..." )" for value */
void reinject_keygen_zone_line(FILE *f, const char *name, const char *value);

#endif
