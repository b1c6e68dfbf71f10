/*
 * metrics_proc.c - the process's metrics map and endpoint (see metrics.h):
 * opened as root before the privilege drop, served by the pre-forking
 * master's wait (metrics_loop.c) or, in a single process, on its own event
 * loop; workers only count.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "metrics.h"

static struct metrics *metrics_proc_map;
static int metrics_proc_fd = -1;
static struct metrics_loop *metrics_proc_loop;
static struct metrics_http *metrics_proc_http;
static struct metrics_conf metrics_proc_conf;
/* a worker: the loop is the master's, kept but never used or freed (its
 * backend is shared with the master) */
static bool metrics_proc_in_worker;

/* metrics_proc_dns - the resolver's observer */
static void
metrics_proc_dns(void *arg, double seconds, bool timeout)
{
	metrics_dns_observe(arg, seconds, timeout);
}

/* metrics_proc_open - bind, map, observe DNS */
int
metrics_proc_open(const char *listen, const struct metrics_conf *mc,
    const struct metrics_family *fams, size_t nfams, struct buf *err)
{
	if (listen[0] == '\0')
		return 0;
	metrics_proc_conf = *mc;
	/* more waiting than may be served at once would only wait to be closed */
	if ((metrics_proc_fd = metrics_listen_bind(listen, mc->connection_limit, err)) < 0)
		return -1;
	if ((metrics_proc_map = metrics_new(fams, nfams, mc->series_limit)) == NULL) {
		buf_printf(err, "metrics: cannot map the shared counters\n");
		close(metrics_proc_fd);
		metrics_proc_fd = -1;
		return -1;
	}
	dns_set_observer(metrics_proc_dns, metrics_proc_map);
	log_info("metrics on http://%s/metrics", listen);
	return 0;
}

/* metrics_proc - the map or NULL */
struct metrics *
metrics_proc(void)
{
	return metrics_proc_map;
}

/* metrics_proc_master - the master's cell and loop */
void
metrics_proc_master(void)
{
	if (metrics_proc_map == NULL)
		return;
	metrics_attach(metrics_proc_map);
	metrics_proc_loop = metrics_loop_new(metrics_proc_map, metrics_proc_fd,
	    &metrics_proc_conf);
	if (metrics_proc_loop == NULL)
		log_error("metrics: not served");
}

/* metrics_proc_wait - serve while the master waits; sigtimedwait without metrics */
int
metrics_proc_wait(void *arg, const sigset_t *set, long long wait_ms)
{
	struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };
	int sig;

	(void)arg;
	if (metrics_proc_loop != NULL && !metrics_proc_in_worker)
		return metrics_loop_wait(metrics_proc_loop, set, wait_ms);
	sig = sigtimedwait(set, NULL, wait_ms < 0 ? NULL : &ts);
	return sig < 0 ? 0 : sig;
}

/* metrics_proc_restarted - a worker died and is replaced */
void
metrics_proc_restarted(void *arg, int slot)
{
	(void)arg;
	(void)slot;
	metrics_inc(metrics_proc_map, metrics_common(metrics_proc_map,
	    METRICS_WORKER_RESTARTS), 1);
}

/* metrics_proc_worker - a new worker: a cell, not the master's socket */
void
metrics_proc_worker(void)
{
	if (metrics_proc_map == NULL)
		return;
	metrics_attach(metrics_proc_map);
	if (metrics_proc_loop != NULL)
		metrics_loop_forget(metrics_proc_loop);
	else if (metrics_proc_fd >= 0)
		close(metrics_proc_fd);
	metrics_proc_in_worker = true;
	metrics_proc_fd = -1;
}

/* metrics_proc_serve - a single process serves the endpoint on its loop */
void
metrics_proc_serve(struct event_base *base)
{
	if (metrics_proc_map == NULL)
		return;
	metrics_attach(metrics_proc_map);
	metrics_proc_http = metrics_http_new(base, metrics_proc_fd, metrics_proc_map,
	    &metrics_proc_conf);
	if (metrics_proc_http == NULL)
		log_error("metrics: not served");
}

/* metrics_proc_reloaded - count a reload */
void
metrics_proc_reloaded(void)
{
	metrics_inc(metrics_proc_map, metrics_common(metrics_proc_map, METRICS_RELOADS), 1);
}

/* metrics_proc_sessions - the sessions gauge */
void
metrics_proc_sessions(int delta)
{
	metrics_gauge_add(metrics_proc_map, metrics_common(metrics_proc_map,
	    METRICS_SESSIONS), delta);
}

/* metrics_proc_close - free the server, the master's loop and the map */
void
metrics_proc_close(void)
{
	if (metrics_proc_map == NULL)
		return;
	metrics_http_free(metrics_proc_http);
	metrics_proc_http = NULL;
	if (!metrics_proc_in_worker) {
		metrics_loop_free(metrics_proc_loop);
		metrics_proc_loop = NULL;
	}
	dns_set_observer(NULL, NULL);
	metrics_free(metrics_proc_map);
	metrics_proc_map = NULL;
}

/* metrics_proc_probe - bind and release */
int
metrics_proc_probe(const char *listen, struct buf *err)
{
	int fd;

	if (listen[0] == '\0')
		return 0;
	if ((fd = metrics_listen_bind(listen, 1, err)) < 0)
		return -1;
	close(fd);
	return 0;
}
