/*
 * store_batch.h - the batch writer of the report store (store_batch.c): rows
 * queued by the message path, committed by one thread per process.
 */
#ifndef MAILAUTH_STORE_BATCH_H
#define MAILAUTH_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_spool.h"

struct store_batch_conf {
	size_t batch_limit;		/* rows per commit */
	unsigned interval_ms;		/* longest wait before a commit */
	size_t queue_limit;		/* rows waiting; more are lost (counted) */
	const char *spool_path;
	size_t spool_size_limit;
	unsigned retry_interval;	/* seconds between spool replays while failing */
};

struct store_batch_stats {
	int64_t queued, committed, spooled, replayed;
	int64_t dropped;		/* queue full */
	int64_t lost;			/* dropped + spool full or unwritable */
};

struct store_batch;

/* store_batch_new - start the writer (it opens the store itself, and again
 * after failures); NULL when the settings are inconsistent */
struct store_batch *store_batch_new(const struct store_conf *sc,
    const struct store_batch_conf *c);
/* store_batch_add - queue a copy of row; never waits for the database */
bool store_batch_add(struct store_batch *b, const struct store_row *row);
/* store_batch_flush - wait until the queue is committed or spooled */
void store_batch_flush(struct store_batch *b);
void store_batch_stats(struct store_batch *b, struct store_batch_stats *out);
/* store_batch_free - commit the queue, stop the thread, free */
void store_batch_free(struct store_batch *b);

#endif
