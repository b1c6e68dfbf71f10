/*
 * dns_probe.h - -t: a test query to each DNS forwarder (dns_probe.c).
 */
#ifndef MAILAUTH_DNS_PROBE_H
#define MAILAUTH_DNS_PROBE_H

#include "buf.h"

/* Time a forwarder has to answer the -t test query. */
#define DNS_PROBE_TIMEOUT_MS	2000

/* dns_probe_forwarders - ask each forwarder once; -1 and one warning line
 * per silent or failing one in warn */
int dns_probe_forwarders(const char *const *fwd, unsigned timeout_ms, struct buf *warn);

#endif
