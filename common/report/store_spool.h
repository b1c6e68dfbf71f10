/*
 * store_spool.h - bounded local spool for report rows the store refused
 * (store_spool.c).  Used by the batch writer only.
 */
#ifndef MAILAUTH_STORE_SPOOL_H
#define MAILAUTH_STORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_spool {
	const char *path;
	size_t size_limit;		/* bytes, header included */
	int64_t spooled, replayed, lost;	/* counters, rows */
};

/* store_spool_append - append rows; returns rows kept, the rest are counted
 * in lost and logged */
size_t store_spool_append(struct store_spool *sp, const struct store_row *rows,
    size_t n);
/* store_spool_replay - move spooled rows into st (newest first, each chunk
 * committed before it is cut off); rows moved, or -1 when st refused */
int64_t store_spool_replay(struct store_spool *sp, struct store *st);
/* store_spool_set_aside - rename an unreadable spool to PATH.bad */
void store_spool_set_aside(struct store_spool *sp);
/* store_spool_rows - rows waiting */
int64_t store_spool_rows(const struct store_spool *sp);

#endif
