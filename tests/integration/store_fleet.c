/*
 * store_fleet.c - one "host" of a fleet writing DMARC report records into the
 * store, as reinject's workers do (through the batch writer).
 *
 *   store-fleet TYPE STORE SPOOL ROWS DOMAINS TIME
 *
 * TYPE sqlite or pgsql; STORE the file or conninfo; ROWS rows spread over
 * DOMAINS policy domains d<N>.fleet.example (rua=mailto:dmarc@ the same
 * domain), all at TIME.  Prints the writer's counters; exit 0 when every
 * row was committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_batch.h"

#define SET(f, v)	snprintf((f), sizeof(f), "%s", (v))

/* fleet_row - row i */
static void
fleet_row(struct store_row *r, long i, int domains, long long t)
{
	memset(r, 0, sizeof(*r));
	r->time = t;
	snprintf(r->policy_domain, sizeof(r->policy_domain), "d%d.fleet.example",
	    (int)(i % domains));
	SET(r->header_from, r->policy_domain);
	SET(r->envelope_from, r->policy_domain);
	snprintf(r->source_ip, sizeof(r->source_ip), "192.0.2.%d", (int)(i % 3) + 1);
	SET(r->disposition, "none");
	SET(r->dkim_align, "fail");
	SET(r->spf_align, "pass");
	SET(r->p, "none");
	SET(r->adkim, "r");
	SET(r->aspf, "r");
	SET(r->testing, "n");
	SET(r->psd, "u");
	SET(r->fo, "0");
	snprintf(r->rua, sizeof(r->rua), "mailto:dmarc@%s", r->policy_domain);
	SET(r->spf_domain, r->policy_domain);
	SET(r->spf_scope, "mfrom");
	SET(r->spf_result, "pass");
}

int
main(int argc, char **argv)
{
	struct store_conf sc = { STORE_SQLITE, NULL, 60, 5000 };
	struct store_batch_conf bc = { 100, 50, 100000, NULL, 64u << 20, 1 };
	struct store_batch_stats s;
	struct store_batch *b;
	struct store_row r;
	long rows;
	int domains;

	if (argc != 7)
		return 2;
	sc.type = strcmp(argv[1], "pgsql") == 0 ? STORE_PGSQL : STORE_SQLITE;
	sc.path = argv[2];
	bc.spool_path = argv[3];
	rows = atol(argv[4]);
	domains = atoi(argv[5]);
	if (!(b = store_batch_new(&sc, &bc)))
		return 1;
	for (long i = 0; i < rows; i++) {
		fleet_row(&r, i, domains, atoll(argv[6]));
		store_batch_add(b, &r);
	}
	store_batch_flush(b);
	store_batch_stats(b, &s);
	store_batch_free(b);
	printf("committed %lld spooled %lld replayed %lld lost %lld\n",
	    (long long)s.committed, (long long)s.spooled, (long long)s.replayed,
	    (long long)s.lost);
	return s.committed == rows ? 0 : 1;
}
