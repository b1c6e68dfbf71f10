/*
 * store_pgsql_none.c - built without libpq: report_store_type = pgsql is
 * refused with a clear message at start.
 */
#include "store.h"

/* store_pgsql_check - no PostgreSQL in this build */
int
store_pgsql_check(const struct store_conf *c, struct buf *err)
{
	(void)c;
	buf_printf(err, "report_store_type pgsql: this build has no PostgreSQL "
	    "support (libpq)\n");
	return -1;
}

/* store_pgsql_open - no PostgreSQL in this build */
struct store *
store_pgsql_open(const struct store_conf *c, struct buf *err)
{
	(void)c;
	buf_printf(err, "report store: this build has no PostgreSQL support (libpq)");
	return NULL;
}
