/*
 * spf_records.c - the v=spf1 TXT records (RFC 7208 §4.5) an evaluation
 * retrieved at the checked domain, kept within a fixed bound for the
 * SPF-DNS field of failure reports (RFC 6591 §3.1).
 */
#include <string.h>

#include "spf.h"

/* spf_records_add - keep record (p, len) whole if it fits */
bool
spf_records_add(struct spf_records *r, const char *p, size_t len)
{
	if (r->n >= SPF_RECORDS_LIMIT || len > sizeof(r->text) - r->used)
		return false;
	memcpy(r->text + r->used, p, len);
	r->off[r->n] = r->used;
	r->len[r->n++] = len;
	r->used += len;
	return true;
}
