/*
 * store_batch.c - the batch writer of the report store.  Workers hand rows to
 * store_batch_add(), which only copies the row into a bounded queue under a
 * mutex; one thread commits them every batch_limit rows or interval_ms, so no
 * message ever waits for the database.  When the store cannot be opened or a
 * commit fails, the batch goes to the spool (store_spool.c), replayed after the
 * next good commit or every retry_interval seconds.  A full queue (the writer
 * is stuck) loses the row: counted and logged, never the mail.
 *
 * Loss bound on SIGKILL: the rows still in the queue, that is at most the rows
 * of the last interval_ms, capped by queue_limit; committed batches and the
 * spool survive (reinject.conf(5), "REPORT STORE").
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_batch.h"
#include "util.h"

struct store_batch {
	struct store_batch_conf conf;
	struct store_conf store_conf;
	struct store *store;		/* thread only */
	struct store_spool spool;	/* thread only */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct store_row **queue;	/* ring of queue_limit */
	size_t head, len;
	bool stop, busy, flush;
	time_t next_replay;
	struct store_batch_stats stats;	/* under lock */
	char *path, *spool_path;
};

/* batch_now_plus - the absolute time ms from now */
static struct timespec
batch_now_plus(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* batch_take - wait for a batch (or stop), move up to batch_limit rows out */
static size_t
batch_take(struct store_batch *b, struct store_row *out)
{
	struct timespec until = batch_now_plus(b->conf.interval_ms);
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->stop && !b->flush && b->len < b->conf.batch_limit) {
		if (pthread_cond_timedwait(&b->wake, &b->lock, &until) == ETIMEDOUT)
			break;
	}
	while (n < b->conf.batch_limit && b->len) {
		struct store_row *r = b->queue[b->head];

		out[n++] = *r;
		free(r);
		b->head = (b->head + 1) % b->conf.queue_limit;
		b->len--;
	}
	b->busy = n > 0;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* batch_store - the store, opened (again) when needed; NULL while it fails */
static struct store *
batch_store(struct store_batch *b)
{
	struct buf err;

	if (b->store)
		return b->store;
	buf_init(&err, 1024);
	b->store = store_open(&b->store_conf, &err);
	if (!b->store)
		log_error("%s", buf_cstr(&err));
	buf_clear(&err);
	return b->store;
}

/* batch_replay - spooled rows back into a working store */
static void
batch_replay(struct store_batch *b, bool now)
{
	time_t t = time(NULL);
	int64_t n;

	if (!now && t < b->next_replay)
		return;
	b->next_replay = t + (time_t)b->conf.retry_interval;
	if (!batch_store(b) || store_spool_rows(&b->spool) == 0)
		return;
	if ((n = store_spool_replay(&b->spool, b->store)) > 0)
		log_info("report spool %s: %lld records replayed", b->spool.path,
		    (long long)n);
}

/* batch_commit - one batch into the store, or into the spool */
static void
batch_commit(struct store_batch *b, const struct store_row *rows, size_t n)
{
	bool ok = false;

	if (n && batch_store(b)) {
		ok = store_put(b->store, rows, n) == 0;
		if (!ok)
			log_error("report store: %s; %zu records spooled",
			    store_error(b->store), n);
	}
	if (n && !ok)
		store_spool_append(&b->spool, rows, n);
	batch_replay(b, ok);
	pthread_mutex_lock(&b->lock);
	if (ok)
		b->stats.committed += (int64_t)n;
	b->stats.spooled = b->spool.spooled;
	b->stats.replayed = b->spool.replayed;
	b->stats.lost = b->stats.dropped + b->spool.lost;
	b->busy = false;
	if (b->len == 0)
		b->flush = false;
	pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
}

/* batch_main - the writer thread */
static void *
batch_main(void *arg)
{
	struct store_batch *b = arg;
	struct store_row *rows = xmalloc(b->conf.batch_limit * sizeof(*rows));
	bool stop;

	do {
		size_t n = batch_take(b, rows);

		batch_commit(b, rows, n);
		pthread_mutex_lock(&b->lock);
		stop = b->stop && b->len == 0;
		pthread_mutex_unlock(&b->lock);
	} while (!stop);
	free(rows);
	store_close(b->store);
	b->store = NULL;
	return NULL;
}

/* store_batch_new - start the writer thread; NULL on a bad setting */
struct store_batch *
store_batch_new(const struct store_conf *sc, const struct store_batch_conf *c)
{
	struct store_batch *b;

	if (c->batch_limit == 0 || c->queue_limit < c->batch_limit || c->interval_ms == 0)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->conf = *c;
	b->store_conf = *sc;
	/* own copies: the caller's settings may be reloaded and freed */
	b->store_conf.path = b->path = xstrdup(sc->path);
	b->conf.spool_path = b->spool.path = b->spool_path = xstrdup(c->spool_path);
	b->spool.size_limit = c->spool_size_limit;
	b->queue = xcalloc(c->queue_limit, sizeof(*b->queue));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->wake, NULL);
	pthread_cond_init(&b->idle, NULL);
	if (pthread_create(&b->thread, NULL, batch_main, b) != 0) {
		free(b->path);
		free(b->spool_path);
		free(b->queue);
		free(b);
		return NULL;
	}
	return b;
}

/* store_batch_add - queue a copy of row; false (counted) when the queue is full */
bool
store_batch_add(struct store_batch *b, const struct store_row *row)
{
	struct store_row *copy = malloc(sizeof(*copy));
	bool ok;

	pthread_mutex_lock(&b->lock);
	ok = copy && b->len < b->conf.queue_limit;
	if (ok) {
		*copy = *row;
		b->queue[(b->head + b->len) % b->conf.queue_limit] = copy;
		b->len++;
		b->stats.queued++;
		if (b->len >= b->conf.batch_limit)
			pthread_cond_signal(&b->wake);
	} else {
		b->stats.dropped++;
		b->stats.lost++;
	}
	pthread_mutex_unlock(&b->lock);
	if (!ok) {
		free(copy);
		log_error("report store queue full (%zu): a report record is lost",
		    b->conf.queue_limit);
	}
	return ok;
}

/* store_batch_flush - wait until every queued row is committed or spooled */
void
store_batch_flush(struct store_batch *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->len || b->busy) {
		b->flush = true;
		pthread_cond_signal(&b->wake);
		pthread_cond_wait(&b->idle, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

/* store_batch_stats - the counters */
void
store_batch_stats(struct store_batch *b, struct store_batch_stats *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->stats;
	pthread_mutex_unlock(&b->lock);
}

/* store_batch_free - commit what is queued, stop the thread, free */
void
store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	for (size_t i = 0; i < b->len; i++)
		free(b->queue[(b->head + i) % b->conf.queue_limit]);
	free(b->queue);
	free(b->path);
	free(b->spool_path);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->wake);
	pthread_cond_destroy(&b->idle);
	free(b);
}
