/*
 * store.c - the report store's backend-independent calls: open by type, then
 * every call through the backend's store_ops (store.h).
 */
#include <stdlib.h>

#include "store.h"

/* store_open - open (and create or upgrade) the store; NULL and err */
struct store *
store_open(const struct store_conf *c, struct buf *err)
{
	if (c->period <= 0) {
		buf_printf(err, "report store: period must be positive");
		return NULL;
	}
	switch (c->type) {
	case STORE_SQLITE:
		return store_sqlite_open(c, err);
	case STORE_PGSQL:
		return store_pgsql_open(c, err);
	}
	buf_printf(err, "report store: unknown type");
	return NULL;
}

/* store_close - close and free */
void
store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

/* store_error - text of the last error */
const char *
store_error(const struct store *st)
{
	return buf_cstr(&st->err);
}

/* store_period_of - the start of the period holding t (UTC-aligned) */
int64_t
store_period_of(const struct store *st, int64_t t)
{
	return t - (((t % st->conf.period) + st->conf.period) % st->conf.period);
}

/* store_put - all of rows in one transaction */
int
store_put(struct store *st, const struct store_row *rows, size_t n)
{
	return n ? st->ops->put(st, rows, n) : 0;
}

/* store_periods - (domain, period) pairs with records */
int
store_periods(struct store *st, int64_t before, store_period_cb cb, void *arg)
{
	return st->ops->periods(st, before, cb, arg);
}

/* store_groups - the grouped rows of one report */
int
store_groups(struct store *st, const char *domain, int64_t begin, int64_t end,
    store_group_cb cb, void *arg)
{
	return st->ops->groups(st, domain, begin, end, cb, arg);
}

/* store_policy - the last policy seen */
int
store_policy(struct store *st, const char *domain, int64_t begin, int64_t end,
    struct store_row *out)
{
	return st->ops->policy(st, domain, begin, end, out);
}

/* store_claim - take a report for owner */
int
store_claim(struct store *st, const char *domain, int64_t begin, int64_t end,
    const char *report_id, const char *owner, int64_t now, int64_t stale)
{
	return st->ops->claim(st, domain, begin, end, report_id, owner, now, stale);
}

/* store_mark_sent - the claimed report went out */
int
store_mark_sent(struct store *st, const char *domain, int64_t begin, int64_t now)
{
	return st->ops->finish(st, domain, begin, "sent", now);
}

/* store_mark_failed - the claimed report is given up */
int
store_mark_failed(struct store *st, const char *domain, int64_t begin, int64_t now)
{
	return st->ops->finish(st, domain, begin, "failed", now);
}

/* store_release - give a claimed report back for a later attempt */
int
store_release(struct store *st, const char *domain, int64_t begin, int64_t retry_at)
{
	return st->ops->release(st, domain, begin, retry_at);
}

/* store_purge - delete old records of sent reports */
int64_t
store_purge(struct store *st, int64_t before)
{
	return st->ops->purge(st, before);
}
