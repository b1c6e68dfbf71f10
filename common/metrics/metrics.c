/*
 * metrics.c - the shared map of series and per-process cells (see metrics.h).
 *
 * Layout: a registry of metrics_series_limit series (family, label text,
 * offset of its values), then METRICS_CELL_LIMIT cells, each an owner pid
 * and the 64-bit values of every series: one per series and the buckets of
 * each histogram family on top (the daemons' histograms have no labels,
 * one series each), so the series run out first.  The sizes are set when
 * the map is made, at start-up.  A series is added under a spin lock in
 * the map (a few stores; no process sleeps holding it) and published by a
 * release store of the series count, so a scrape reads the registry
 * without the lock.  A
 * value is only changed by atomic adds in the cell of the process that
 * changes it.  Gauges are signed deltas kept modulo 2^64.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct metrics_entry {
	uint32_t fam;
	uint32_t base;		/* first value in each cell */
	char labels[METRICS_LABELS_SIZE];
};

struct metrics_cell {
	int32_t owner;		/* pid; 0: never taken */
	uint64_t v[];		/* value_limit of them */
};

struct metrics_map {
	uint32_t lock;		/* registry writers */
	uint32_t nseries;	/* published with release */
	uint32_t nvalues;
	struct metrics_entry series[];	/* series_limit of them, then the cells */
};

struct metrics {
	struct metrics_map *map;
	size_t map_size;
	char *cells;		/* in the map, after the registry */
	size_t cell_size;
	uint32_t series_limit, value_limit;
	const struct metrics_family *fams;
	size_t nfams;
	int cell;		/* this process's, -1: none */
	pid_t pid;		/* of the process that took the cell */
	int common[METRICS_COMMON_COUNT];
};

/* metrics_cell - cell c of the map */
static struct metrics_cell *
metrics_cell(const struct metrics *m, int c)
{
	return (struct metrics_cell *)(void *)(m->cells + (size_t)c * m->cell_size);
}

/* metrics_width - values one series of family f takes */
static uint32_t
metrics_width(const struct metrics_family *f)
{
	return f->type == METRICS_HISTOGRAM ? (uint32_t)f->nbounds + 2 : 1;
}

/* metrics_lock - take the registry lock (held for a few stores only) */
static void
metrics_lock(struct metrics_map *map)
{
	while (__atomic_exchange_n(&map->lock, 1, __ATOMIC_ACQUIRE) != 0)
		;
}

/* metrics_unlock - release the registry lock */
static void
metrics_unlock(struct metrics_map *map)
{
	__atomic_store_n(&map->lock, 0, __ATOMIC_RELEASE);
}

/* metrics_find - the series (fam, labels) among the first n, or -1 */
static int
metrics_find(const struct metrics_map *map, uint32_t n, unsigned fam, const char *labels)
{
	for (uint32_t i = 0; i < n; i++)
		if (map->series[i].fam == fam && strcmp(map->series[i].labels, labels) == 0)
			return (int)i;
	return -1;
}

/* metrics_add - append the series under the lock; -1 when full */
static int
metrics_add(struct metrics *m, unsigned fam, const char *labels)
{
	struct metrics_map *map = m->map;
	uint32_t n = map->nseries, w = metrics_width(&m->fams[fam]);
	int id = metrics_find(map, n, fam, labels);

	if (id >= 0)
		return id;
	if (n == m->series_limit || map->nvalues + w > m->value_limit)
		return -1;
	map->series[n].fam = fam;
	map->series[n].base = map->nvalues;
	snprintf(map->series[n].labels, sizeof(map->series[n].labels), "%s", labels);
	map->nvalues += w;
	__atomic_store_n(&map->nseries, n + 1, __ATOMIC_RELEASE);
	return (int)n;
}

/* metrics_series - find or register (see metrics.h) */
int
metrics_series(struct metrics *m, unsigned fam, const char *labels)
{
	uint32_t n;
	int id;

	if (m == NULL || fam >= m->nfams || strlen(labels) >= METRICS_LABELS_SIZE)
		return -1;
	n = __atomic_load_n(&m->map->nseries, __ATOMIC_ACQUIRE);
	if ((id = metrics_find(m->map, n, fam, labels)) >= 0)
		return id;
	metrics_lock(m->map);
	id = metrics_add(m, fam, labels);
	metrics_unlock(m->map);
	return id;
}

/* metrics_layout - the sizes of a map of series_limit series; the registry's */
static size_t
metrics_layout(struct metrics *m, uint32_t series_limit)
{
	size_t regsize;

	m->series_limit = series_limit;
	m->value_limit = series_limit;
	for (size_t i = 0; i < m->nfams; i++)
		m->value_limit += metrics_width(&m->fams[i]) - 1;
	m->cell_size = sizeof(struct metrics_cell) + m->value_limit * sizeof(uint64_t);
	regsize = sizeof(struct metrics_map) + series_limit * sizeof(struct metrics_entry);
	regsize = (regsize + 63) & ~(size_t)63;	/* the cells' values stay aligned */
	m->map_size = regsize + METRICS_CELL_LIMIT * m->cell_size;
	return regsize;
}

/* metrics_new - the map, with the label-less series of every family */
struct metrics *
metrics_new(const struct metrics_family *fams, size_t nfams, int series_limit)
{
	struct metrics *m;
	size_t regsize;

	for (size_t i = 0; i < nfams; i++)
		if (fams[i].type == METRICS_HISTOGRAM && fams[i].nbounds > METRICS_BUCKET_LIMIT)
			log_panic("metrics: %s has more than %d buckets", fams[i].name,
			    METRICS_BUCKET_LIMIT);
	m = xcalloc(1, sizeof(*m));
	m->fams = fams;
	m->nfams = nfams;
	m->cell = -1;
	regsize = metrics_layout(m, series_limit > 0 ? (uint32_t)series_limit : 1);
	m->map = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->map == MAP_FAILED) {
		log_error("metrics: mmap of %zu bytes: %s", m->map_size, strerror(errno));
		free(m);
		return NULL;
	}
	m->cells = (char *)m->map + regsize;
	for (size_t i = 0; i < METRICS_COMMON_COUNT && i < nfams; i++)
		m->common[i] = metrics_series(m, (unsigned)i, "");
	return m;
}

/* metrics_free - unmap */
void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	munmap(m->map, m->map_size);
	free(m);
}

/* metrics_text_limit - bytes an exposition of a full registry may take */
size_t
metrics_text_limit(const struct metrics *m)
{
	return (size_t)m->series_limit * METRICS_TEXT_PER_SERIES;
}

/* metrics_alive - the cell's owner still runs (EPERM: it does, as another user) */
static bool
metrics_alive(const struct metrics *m, int32_t owner)
{
	if (owner == 0)
		return false;
	if (owner == m->pid)
		return true;
	return kill((pid_t)owner, 0) == 0 || errno == EPERM;
}

/* metrics_reset_gauges - the gauges of cell c: its last owner's sessions are gone */
static void
metrics_reset_gauges(struct metrics *m, struct metrics_cell *c)
{
	uint32_t n = __atomic_load_n(&m->map->nseries, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++)
		if (m->fams[m->map->series[i].fam].type == METRICS_GAUGE)
			__atomic_store_n(&c->v[m->map->series[i].base], 0, __ATOMIC_RELAXED);
}

/* metrics_attach - claim a free cell or a dead process's (see metrics.h) */
int
metrics_attach(struct metrics *m)
{
	pid_t self = getpid();

	if (m == NULL)
		return 0;
	m->cell = -1;
	m->pid = self;
	for (int i = 0; i < METRICS_CELL_LIMIT; i++) {
		struct metrics_cell *c = metrics_cell(m, i);
		int32_t owner = __atomic_load_n(&c->owner, __ATOMIC_ACQUIRE);

		if (owner != 0 && (owner == self || metrics_alive(m, owner)))
			continue;
		if (!__atomic_compare_exchange_n(&c->owner, &owner, (int32_t)self, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		metrics_reset_gauges(m, c);
		m->cell = i;
		return 0;
	}
	log_error("metrics: all %d cells taken; this process's values are not counted",
	    METRICS_CELL_LIMIT);
	return -1;
}

/* metrics_value - the address of value k of series id in this process's cell */
static uint64_t *
metrics_value(struct metrics *m, int id, uint32_t k)
{
	if (m == NULL || m->cell < 0 || id < 0 ||
	    (uint32_t)id >= __atomic_load_n(&m->map->nseries, __ATOMIC_ACQUIRE))
		return NULL;
	return &metrics_cell(m, m->cell)->v[m->map->series[id].base + k];
}

/* metrics_inc - add n to a counter */
void
metrics_inc(struct metrics *m, int id, uint64_t n)
{
	uint64_t *v = metrics_value(m, id, 0);

	if (v != NULL)
		__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

/* metrics_gauge_add - add delta to a gauge (two's complement) */
void
metrics_gauge_add(struct metrics *m, int id, int64_t delta)
{
	metrics_inc(m, id, (uint64_t)delta);
}

/* metrics_observe - count seconds in its bucket, add it to the sum (µs) */
void
metrics_observe(struct metrics *m, int id, double seconds)
{
	const struct metrics_family *f;
	uint64_t *v = metrics_value(m, id, 0);
	size_t b = 0;

	if (v == NULL)
		return;
	f = &m->fams[m->map->series[id].fam];
	if (f->type != METRICS_HISTOGRAM)
		return;
	if (!(seconds >= 0))
		seconds = 0;	/* NaN or a clock step back */
	while (b < f->nbounds && seconds > f->bounds[b])
		b++;
	__atomic_fetch_add(&v[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v[f->nbounds + 1], (uint64_t)(seconds * 1e6 + 0.5),
	    __ATOMIC_RELAXED);
}

/* metrics_common - the label-less series of a common family */
int
metrics_common(const struct metrics *m, enum metrics_common c)
{
	return m == NULL ? -1 : m->common[c];
}

/* metrics_now - monotonic seconds */
double
metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* metrics_dns_observe - one DNS lookup done: its time; a timeout counted too */
void
metrics_dns_observe(struct metrics *m, double seconds, bool timeout)
{
	metrics_observe(m, metrics_common(m, METRICS_DNS_LOOKUP), seconds);
	if (timeout)
		metrics_inc(m, metrics_common(m, METRICS_DNS_TIMEOUTS), 1);
}

/* The owners of the cells as a scrape found them, and which of them ran. */
struct metrics_owners {
	int32_t pid[METRICS_CELL_LIMIT];
	bool live[METRICS_CELL_LIMIT];
};

/*
 * metrics_gauge_counts - a cell's gauges count: its owner ran when the scrape
 * looked, or a new process took the cell since (it reset the gauges first)
 */
static bool
metrics_gauge_counts(const struct metrics_owners *o, int c, int32_t owner)
{
	return o->live[c] || owner != o->pid[c];
}

/* metrics_sum - series i's values summed over the cells into v */
static void
metrics_sum(const struct metrics *m, uint32_t i, const struct metrics_owners *o,
    uint64_t *v)
{
	const struct metrics_entry *e = &m->map->series[i];
	const struct metrics_family *f = &m->fams[e->fam];
	uint32_t w = metrics_width(f);

	memset(v, 0, w * sizeof(*v));
	for (int c = 0; c < METRICS_CELL_LIMIT; c++) {
		const struct metrics_cell *cell = metrics_cell(m, c);
		int32_t owner = __atomic_load_n(&cell->owner, __ATOMIC_ACQUIRE);

		if (owner == 0 || (f->type == METRICS_GAUGE &&
		    !metrics_gauge_counts(o, c, owner)))
			continue;
		for (uint32_t k = 0; k < w; k++)
			v[k] += __atomic_load_n(&cell->v[e->base + k],
			    __ATOMIC_RELAXED);
	}
}

/* metrics_collect - sum every series and write the exposition */
int
metrics_collect(const struct metrics *m, struct buf *out)
{
	uint32_t n = __atomic_load_n(&m->map->nseries, __ATOMIC_ACQUIRE);
	struct metrics_sample *s = xcalloc(n ? n : 1, sizeof(*s));
	uint64_t *vals = xcalloc(m->value_limit, sizeof(*vals));
	struct metrics_owners o;
	int rc;

	for (int c = 0; c < METRICS_CELL_LIMIT; c++) {
		o.pid[c] = __atomic_load_n(&metrics_cell(m, c)->owner, __ATOMIC_ACQUIRE);
		o.live[c] = metrics_alive(m, o.pid[c]);
	}
	for (uint32_t i = 0; i < n; i++) {
		s[i].fam = m->map->series[i].fam;
		s[i].labels = m->map->series[i].labels;
		s[i].v = vals + m->map->series[i].base;
		metrics_sum(m, i, &o, vals + m->map->series[i].base);
	}
	rc = metrics_text_write(m->fams, m->nfams, s, n, out);
	free(vals);
	free(s);
	return rc;
}

/* metrics_label_append - name="value", escaping \, " and newline (text format) */
void
metrics_label_append(struct buf *b, const char *name, const char *value)
{
	if (b->len > 0)
		buf_append_char(b, ',');
	buf_printf(b, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_append_char(b, '\\');
		if (*p == '\n')
			buf_append_str(b, "\\n");
		else
			buf_append_char(b, *p);
	}
	buf_append_char(b, '"');
}
