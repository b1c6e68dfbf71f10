/*
 * store.c - the report store's backend-independent calls: open by type, then
 * every call through the backend's store_ops (store.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* store_path_check - the file when it exists, else its directory, usable */
int
store_path_check(const char *what, const char *path, struct buf *err)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!path[0]) {
		buf_printf(err, "%s: empty path\n", what);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			buf_printf(err, "%s %s: not a regular file\n", what, path);
			return -1;
		}
		if (access(path, R_OK | W_OK) < 0) {
			buf_printf(err, "%s %s: %s\n", what, path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		buf_printf(err, "%s %s: %s\n", what, path, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash == path ? 1 :
	    slash - path) : 1, slash ? path : ".");
	if (access(dir, W_OK | X_OK) < 0) {
		buf_printf(err, "%s %s: cannot be created in %s: %s\n", what, path, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* store_check - the settings, without opening the store */
int
store_check(const struct store_conf *c, struct buf *err)
{
	switch (c->type) {
	case STORE_SQLITE:
		return store_path_check("report_store", c->path, err);
	case STORE_PGSQL:
		return store_pgsql_check(c, err);
	}
	buf_printf(err, "report_store_type: unknown type\n");
	return -1;
}

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

/* store_rate_key - domain in lower case into out (size) */
static void
store_rate_key(const char *domain, char *out, size_t size)
{
	size_t i = 0;

	for (; domain[i] && i + 1 < size; i++)
		out[i] = (char)tolower((unsigned char)domain[i]);
	out[i] = '\0';
}

/* store_rate_take - count one failure report if below limit */
int
store_rate_take(struct store *st, const char *domain, int64_t hour, int64_t limit)
{
	char key[DMARC_DOMAIN_SIZE];

	if (limit < 1)
		return 0;
	store_rate_key(domain, key, sizeof(key));
	return st->ops->rate_take(st, key, hour, limit);
}

/* store_rate_return - uncount a failure report not sent */
int
store_rate_return(struct store *st, const char *domain, int64_t hour)
{
	char key[DMARC_DOMAIN_SIZE];

	store_rate_key(domain, key, sizeof(key));
	return st->ops->rate_return(st, key, hour);
}
