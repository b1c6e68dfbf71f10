/*
 * metrics.h - counters, gauges and histograms shared by the processes of a
 * pre-forking daemon, and their Prometheus text exposition (format 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/) over HTTP.
 *
 * The values live in one anonymous MAP_SHARED mapping made before the fork,
 * so every worker, the master and the workers started later see the same
 * map.  The map holds a registry of series (a family and its label set) and
 * one cell of values per process: a process claims a free cell (or the cell
 * of a process that has exited) and adds to it with atomic operations only,
 * so no worker waits for another and no system call is made.  A scrape sums
 * the cells: counters and histograms of every cell (what an exited worker
 * counted stays counted), gauges of the cells whose process still runs.
 *
 * A daemon declares its families once in a table; the families every daemon
 * has (reloads, worker restarts, DNS lookups, sessions) come first, from
 * METRICS_FAMILIES_COMMON.  Every function takes m == NULL (metrics off) and
 * then does nothing.
 */
#ifndef MAILAUTH_METRICS_H
#define MAILAUTH_METRICS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

/* Processes with a cell: every worker of a generation and the draining ones
 * (prefork), the master.  The series a map holds is metrics_series_limit. */
#define METRICS_CELL_LIMIT	272
/* One series' label text, e.g. identity="helo",result="pass". */
#define METRICS_LABELS_SIZE	256
/* Upper bounds of one histogram's buckets (+Inf comes on top). */
#define METRICS_BUCKET_LIMIT	16
/* Bound on one exposition: this many bytes per series the map may hold
 * (a counter's line is at most ~350; a histogram's 18 lines share it). */
#define METRICS_TEXT_PER_SERIES	2048

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,	/* seconds; buckets, +Inf, sum */
};

struct metrics_family {
	const char *name;	/* "mailauth_dns_lookup_seconds" */
	const char *help;
	enum metrics_type type;
	const double *bounds;	/* HISTOGRAM: increasing upper bounds (s) */
	size_t nbounds;		/* at most METRICS_BUCKET_LIMIT */
};

/* Bucket bounds for latencies of a request, a message and a DNS lookup (s). */
#define METRICS_LATENCY_BUCKETS	13
extern const double metrics_latency_bounds[METRICS_LATENCY_BUCKETS];

/* The families of every daemon, first in its table, in this order. */
enum metrics_common {
	METRICS_RELOADS,
	METRICS_WORKER_RESTARTS,
	METRICS_DNS_LOOKUP,
	METRICS_DNS_TIMEOUTS,
	METRICS_SESSIONS,
	METRICS_COMMON_COUNT
};
#define METRICS_FAMILIES_COMMON \
	{ "mailauth_reloads_total", "Reloads (SIGHUP) that took effect.", \
	    METRICS_COUNTER, NULL, 0 }, \
	{ "mailauth_worker_restarts_total", \
	    "Workers that died and were started again by the master.", \
	    METRICS_COUNTER, NULL, 0 }, \
	{ "mailauth_dns_lookup_seconds", "Time from a DNS query to its answer.", \
	    METRICS_HISTOGRAM, metrics_latency_bounds, METRICS_LATENCY_BUCKETS }, \
	{ "mailauth_dns_timeouts_total", "DNS queries without an answer in time.", \
	    METRICS_COUNTER, NULL, 0 }, \
	{ "mailauth_sessions_in_flight", "Client connections being served now.", \
	    METRICS_GAUGE, NULL, 0 }

struct metrics;

/*
 * metrics_new - the shared map for the families fams[0..nfams) (which must
 * outlive it; the first METRICS_COMMON_COUNT are METRICS_FAMILIES_COMMON),
 * holding series_limit series, with the label-less series of every common
 * family registered.  Before the fork.  The calling process has no cell
 * until metrics_attach.  NULL if mmap fails.
 */
struct metrics *metrics_new(const struct metrics_family *fams, size_t nfams,
    int series_limit);
/* metrics_text_limit - the bound on m's exposition (metrics_collect's out) */
size_t metrics_text_limit(const struct metrics *m);
/* metrics_free - unmap (the map stays for other processes that have it) */
void metrics_free(struct metrics *m);
/*
 * metrics_attach - the calling process takes a cell of its own: a free one
 * or one whose process has exited (its gauges are reset).  In a new worker
 * before it confines itself, in the master and in a single process after
 * the last fork of start-up.  -1 when every cell is taken (values dropped).
 */
int metrics_attach(struct metrics *m);
/*
 * metrics_series - the id of the series (fam, labels), registered on first
 * use; labels as metrics_label_append writes them, "" for none.  -1 when the
 * registry is full (metrics_series_limit; nothing is counted for it then).
 */
int metrics_series(struct metrics *m, unsigned fam, const char *labels);
/* metrics_label_append - name="value" with the value escaped, comma before when not first */
void metrics_label_append(struct buf *b, const char *name, const char *value);

/* metrics_inc - add n to counter series id of this process's cell */
void metrics_inc(struct metrics *m, int id, uint64_t n);
/* metrics_gauge_add - add delta to gauge series id */
void metrics_gauge_add(struct metrics *m, int id, int64_t delta);
/* metrics_observe - one observation of seconds in histogram series id */
void metrics_observe(struct metrics *m, int id, double seconds);
/* metrics_common - the label-less series of common family c */
int metrics_common(const struct metrics *m, enum metrics_common c);
/* metrics_now - a monotonic clock in seconds, for latencies */
double metrics_now(void);
/* metrics_dns_observe - the DNS observer (dns.h): the lookup histogram and timeouts */
void metrics_dns_observe(struct metrics *m, double seconds, bool timeout);

/*
 * metrics_collect - the exposition of every series, summed over the cells.
 * 0, or -1 when out is full (make it metrics_text_limit(m) bytes).
 */
int metrics_collect(const struct metrics *m, struct buf *out);

/* ---- the text format (metrics_text.c) ---- */

/* One series and its values summed over the cells (a counter or gauge: v[0];
 * a histogram: the count of each bucket, of +Inf, then the sum in µs). */
struct metrics_sample {
	unsigned fam;
	const char *labels;
	const uint64_t *v;
};

/*
 * metrics_text_write - # HELP, # TYPE and the samples of each family that has
 * series, families in table order, series in the order given.  0 or -1
 * (out full).
 */
int metrics_text_write(const struct metrics_family *fams, size_t nfams,
    const struct metrics_sample *s, size_t n, struct buf *out);

/* ---- the listener and the HTTP server (metrics_http.c) ---- */

struct event_base;
struct metrics_http;

/*
 * The endpoint's limits, settings of both daemons (reinject.conf(5),
 * policyd.conf(5)), declared once here for both settings tables by
 * METRICS_CONFIG_KEYS(struct, member); read at start-up only.
 */
struct metrics_conf {
	size_t header_limit;		/* bytes of a request line and header */
	unsigned idle_timeout;		/* s a scrape connection may idle or stall */
	int connection_limit;		/* scrape connections open at once */
	int series_limit;		/* series the shared map holds */
};
#define METRICS_CONFIG_KEYS(st, f) \
	CONFIG_KEY_SIZE("metrics_header_size_limit", st, f.header_limit, "8k", 512, \
	    1048576, "bytes of a scrape's request line and header; more gets 400 " \
	    "and a close"), \
	CONFIG_KEY_TIME("metrics_idle_timeout", st, f.idle_timeout, "10s", 1, 3600, \
	    "close a scrape connection idle or stalled this long"), \
	CONFIG_KEY_INT("metrics_connection_limit", st, f.connection_limit, "16", 1, \
	    1024, "scrape connections open at once; one more is closed at once"), \
	CONFIG_KEY_INT("metrics_series_limit", st, f.series_limit, "512", 64, 4096, \
	    "series (a family and one label set) the shared map holds; past it " \
	    "a new series is not counted")

/* metrics_conf_same - a and b set the same limits (a reload changes none) */
bool metrics_conf_same(const struct metrics_conf *a, const struct metrics_conf *b);

/*
 * metrics_listen_bind - a listening TCP socket for "addr:port" ("[v6]:port")
 * with backlog connections waiting to be accepted; -1 with a line in err
 * (the reason, and what to do for a bind error).
 */
int metrics_listen_bind(const char *spec, int backlog, struct buf *err);
/* metrics_listen_check - a config check (config.h): "" or a numeric addr:port */
int metrics_listen_check(const void *field, struct buf *err);
/*
 * metrics_http_new - serve GET /metrics from m on the listening socket fd
 * (taken over) on base within the limits of mc; any other path is 404, any
 * other method 501.
 */
struct metrics_http *metrics_http_new(struct event_base *base, int fd,
    struct metrics *m, const struct metrics_conf *mc);
/* metrics_http_free - stop serving, close the socket and the connections */
void metrics_http_free(struct metrics_http *h);

/* ---- the master's wait (metrics_loop.c) ---- */

struct metrics_loop;

/*
 * metrics_loop_new - an event loop of its own that serves m on fd (taken
 * over) for a pre-forking master (prefork_ops.wait).  NULL on error.
 */
struct metrics_loop *metrics_loop_new(struct metrics *m, int fd,
    const struct metrics_conf *mc);
/*
 * metrics_loop_wait - serve until one of the blocked signals of set is
 * pending (taken, and returned) or wait_ms passed (0; -1: no limit)
 */
int metrics_loop_wait(struct metrics_loop *l, const sigset_t *set, long long wait_ms);
/*
 * metrics_loop_forget - in a new worker: close the master's listening
 * socket and signal descriptor; the master's loop is left alone (its
 * backend is shared with the master)
 */
void metrics_loop_forget(struct metrics_loop *l);
/* metrics_loop_free - in the master: stop serving, close and free everything */
void metrics_loop_free(struct metrics_loop *l);

/* ---- the process's metrics (metrics_proc.c) ---- */

/*
 * A daemon has one map and one endpoint; these keep them for the process,
 * so that the pre-forking master's hooks and the code that counts need not
 * carry them.  Without metrics_proc_open (metrics_listen empty) every call
 * does nothing and metrics_proc() is NULL.
 */

/*
 * metrics_proc_open - before the privilege drop: bind listen ("" : off),
 * make the map of fams, observe DNS lookups; serve within the limits of mc
 * (copied).  0, or -1 with err.
 */
int metrics_proc_open(const char *listen, const struct metrics_conf *mc,
    const struct metrics_family *fams, size_t nfams, struct buf *err);
/* metrics_proc - the process's map, NULL when off */
struct metrics *metrics_proc(void);
/* metrics_proc_master - a pre-forking master: its cell, its serving loop */
void metrics_proc_master(void);
/* metrics_proc_wait - prefork_ops.wait: serve while waiting, or sigtimedwait */
int metrics_proc_wait(void *arg, const sigset_t *set, long long wait_ms);
/* metrics_proc_restarted - prefork_ops.restarted: count the restart */
void metrics_proc_restarted(void *arg, int slot);
/* metrics_proc_worker - in a new worker: its own cell, the master's socket closed */
void metrics_proc_worker(void);
/* metrics_proc_serve - a single process: its cell, the endpoint on base */
void metrics_proc_serve(struct event_base *base);
/* metrics_proc_reloaded - a reload took effect */
void metrics_proc_reloaded(void);
/* metrics_proc_sessions - delta sessions in flight */
void metrics_proc_sessions(int delta);
/* metrics_proc_close - at exit: stop serving, free what this process may free */
void metrics_proc_close(void);
/* metrics_proc_probe - -t: listen can be bound (bound and released); -1 with err */
int metrics_proc_probe(const char *listen, struct buf *err);

#endif
