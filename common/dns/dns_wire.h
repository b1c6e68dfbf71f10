/*
 * dns_wire.h - decode DNS response packets (RFC 1035 §4.1) into dns.h answers.
 *
 * Used by the libunbound backend (ub_resolve_event hands over the raw packet)
 * and by the fuzz target.  The decoder trusts nothing in the packet: every
 * length is checked against the packet end, compression pointers must point
 * strictly backwards, names are bounded by RFC 1035 §2.3.4.
 */
#ifndef MAILAUTH_DNS_WIRE_H
#define MAILAUTH_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define DNS_WIRE_HEADER_SIZE 12		/* RFC 1035 §4.1.1 */
#define DNS_WIRE_NAME_MAX 255		/* octets of a wire name, RFC 1035 §2.3.4 */
#define DNS_WIRE_LABEL_MAX 63		/* octets of a label, RFC 1035 §2.3.4 */
/* presentation form: every octet may become "\DDD", plus the NUL */
#define DNS_WIRE_NAME_TEXT_SIZE (4 * DNS_WIRE_NAME_MAX + 1)
/* CNAME links followed inside one answer (unbound itself stops at 11) */
#define DNS_WIRE_CNAME_LIMIT 16

#define DNS_WIRE_RCODE_NOERROR 0	/* RFC 1035 §4.1.1 */
#define DNS_WIRE_RCODE_NXDOMAIN 3
#define DNS_WIRE_CLASS_IN 1		/* RFC 1035 §3.2.4 */
#define DNS_WIRE_TYPE_CNAME 5		/* RFC 1035 §3.2.2 */

/*
 * dns_wire_name - decode the (possibly compressed) name at *off in pkt into
 * text: lower case, labels joined by '.', no trailing dot (the root is ""),
 * octets outside [!-~] and '.' '\' inside labels written as \DDD.  On success
 * *off moves past the name as it is stored at *off.  -1 on a malformed name.
 */
int dns_wire_name(const uint8_t *pkt, size_t len, size_t *off,
    char out[DNS_WIRE_NAME_TEXT_SIZE], size_t *out_len);

/*
 * dns_wire_parse - fill o (initialised by dns_answer_owned_init) with the
 * records of qtype answering the packet's question, CNAMEs followed, and set
 * o->ans.rcode from the header.  -1 on a malformed packet (o may hold some
 * records then; the caller clears it).
 */
int dns_wire_parse(const uint8_t *pkt, size_t len, enum dns_type qtype,
    struct dns_answer_owned *o);

#endif
