/*
 * policyd_master.c - worker_processes above 1: the process that bound the
 * listeners forks that many workers on them and supervises them
 * (common/core/prefork.c); this file is policyd's side of it.
 *
 * Each worker is a whole policyd loop (its own connections, result cache and
 * resolver) accepting on the shared listeners.  Postfix's smtpd sends every
 * request of one SMTP session over one connection, and a connection stays with
 * the worker that accepted it, so the per-message deduplication (instance)
 * still sees every recipient of a message; the result cache kept across
 * transactions (cache_ttl) is per worker.  The master serves no connection:
 * SIGHUP reloads the master's copy of the configuration (workers started
 * later fork from it) and is passed to the workers, each of which loads the
 * configuration again; SIGTERM and SIGINT close the master's listeners
 * (removing unix sockets) and are passed on, each worker drains as a single
 * process does, and the master exits once all are gone, killing any still
 * running shutdown_timeout plus POLICYD_MASTER_GRACE later.  A worker that
 * dies otherwise is replaced in its slot, unless it could not start at all
 * (POLICYD_EXIT_CONFIG: the master then stops everything and exits 1);
 * workers get SIGTERM when the master dies (PR_SET_PDEATHSIG), so none is
 * left holding the sockets.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "prefork.h"

/* After shutdown_timeout, this long (seconds) before workers are killed. */
#define POLICYD_MASTER_GRACE		5

/* policyd_master_reload - SIGHUP: the master's copy, then the workers' */
static enum prefork_reload
policyd_master_reload(void *arg, int *nworkers)
{
	struct policyd_server *s = arg;

	(void)nworkers;
	if (policyd_server_reload(s) == 0)
		metrics_proc_reloaded();
	log_info("master: SIGHUP passed to the workers");
	return PREFORK_RELOAD_SIGNAL;
}

/* policyd_master_worker - a new worker: its slot, a fresh event backend */
static void
policyd_master_worker(void *arg, int slot)
{
	struct policyd_server *s = arg;

	s->worker_slot = slot;
	s->is_worker = true;
	metrics_proc_worker();
	/* also installs libevent's signal handlers again */
	if (event_reinit(s->base) < 0)
		log_fatal("event_reinit failed in a worker");
}

/* policyd_master_slot - a slot's connection count: 0 for a new worker,
 * UINT_MAX (never the least loaded) while the slot is empty */
static void
policyd_master_slot(void *arg, int slot, bool up)
{
	struct policyd_server *s = arg;

	__atomic_store_n(&s->worker_conns[slot], up ? 0 : UINT_MAX, __ATOMIC_RELAXED);
}

/* policyd_master_drain - stopping: close the listeners, bound the wait */
static unsigned
policyd_master_drain(void *arg)
{
	struct policyd_server *s = arg;

	policyd_listen_close(s);
	return s->config->shutdown_timeout + POLICYD_MASTER_GRACE;
}

static const struct prefork_ops policyd_master_ops = {
	.reload = policyd_master_reload,
	.worker = policyd_master_worker,
	.slot = policyd_master_slot,
	.drain = policyd_master_drain,
	.wait = metrics_proc_wait,
	.restarted = metrics_proc_restarted,
};

/* policyd_master_run - fork and supervise the workers */
int
policyd_master_run(struct policyd_server *s)
{
	struct prefork_config pc = {
		.ops = &policyd_master_ops, .arg = s,
		.nworkers = s->config->worker_processes,
		.death_signal = SIGTERM, .stop_on_config_exit = true,
	};
	int slot, rc;

	/* connections per worker, read by every worker when accepting */
	s->worker_conns = mmap(NULL, sizeof(unsigned) * POLICYD_WORKER_LIMIT,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->worker_conns == MAP_FAILED)
		log_fatal("mmap: %s", strerror(errno));
	/* UINT_MAX: no worker in the slot; the first forked must not take all */
	for (int i = 0; i < POLICYD_WORKER_LIMIT; i++)
		s->worker_conns[i] = UINT_MAX;
	s->nworkers = pc.nworkers;
	metrics_proc_master();
	rc = prefork_run(&pc, &slot);
	if (rc == 1)
		return 0;
	return rc < 0 ? -1 : 1;
}
