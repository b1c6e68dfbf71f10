/*
 * netaddr.h - IP addresses and CIDR prefixes (RFC 4632, RFC 4291 §2.3) as
 * the address lists of the programs use them: text parsed to a family and 16
 * address bytes (IPv4 in the first 4), a prefix length, and the match.
 * Callers keep their own rules on top (v4-mapped clients, brackets,
 * negation, host bits).
 */
#ifndef MAILAUTH_NETADDR_H
#define MAILAUTH_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct net_prefix {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;	/* 0..32 or 0..128 */
};

/* net_addr_parse - IPv4 or IPv6 text (p, len) into family and bytes; 0/-1 */
int net_addr_parse(const char *p, size_t len, int *family, unsigned char addr[16]);
/* net_prefix_parse - "addr" or "addr/len" (p, len); 0/-1 */
int net_prefix_parse(const char *p, size_t len, struct net_prefix *n);
/* net_prefix_match - the address is of n's family and agrees on n's prefix bits */
bool net_prefix_match(const struct net_prefix *n, int family, const unsigned char addr[16]);

#endif
