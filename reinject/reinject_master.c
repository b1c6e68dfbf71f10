/*
 * reinject_master.c - the supervising process: pre-forks worker_processes
 * workers on the shared listeners and keeps that many running
 * (common/core/prefork.c); this file is reinject's side of it.
 *
 * SIGHUP: re-read reinject.conf; if it is valid, start new workers with it and
 * send the old ones SIGTERM (they stop accepting and finish their sessions),
 * so no session is dropped; an invalid file is logged and the old settings
 * stay.  Listeners are bound once: a changed "listen" needs a restart.
 * SIGTERM/SIGINT: every worker drains, then the master exits.
 * Workers die with the master (PR_SET_PDEATHSIG), so a killed master never
 * leaves orphans holding the ports.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "prefork.h"
#include "reinject.h"

struct reinject_master {
	struct reinject_conf *conf;	/* the settings new workers start with */
	struct reinject_conf *initial;	/* the caller's, freed by the caller */
	const char *path;
};

/*
 * reinject_master_listeners - the sockets stay open across a reload (the
 * master no longer has the privileges to bind): nc must listen on exactly
 * the same addresses; each takes its socket by address and its new mode.
 * -1 and err otherwise.
 */
static int
reinject_master_listeners(const struct reinject_conf *old, struct reinject_conf *nc,
    struct buf *err)
{
	if (nc->nlisteners != old->nlisteners) {
		buf_printf(err, "listen: the addresses changed; that needs a restart\n");
		return -1;
	}
	for (size_t i = 0; i < nc->nlisteners; i++) {
		nc->listeners[i].fd = -1;
		for (size_t k = 0; k < old->nlisteners; k++)
			if (strcmp(nc->listeners[i].addr, old->listeners[k].addr) == 0)
				nc->listeners[i].fd = old->listeners[k].fd;
		if (nc->listeners[i].fd < 0) {
			buf_printf(err, "listen: %s is new; that needs a restart\n",
			    nc->listeners[i].addr);
			return -1;
		}
	}
	return 0;
}

/* reinject_master_reload - SIGHUP: new settings, new workers, old ones drain */
static enum prefork_reload
reinject_master_reload(void *arg, int *nworkers)
{
	struct reinject_master *ms = arg;
	struct reinject_conf *nc = xcalloc(1, sizeof(*nc));
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (reinject_conf_load(nc, ms->path, &err) < 0 ||
	    reinject_master_listeners(ms->conf, nc, &err) < 0 ||
	    reinject_worker_check(nc, &err) < 0) {
		log_error_lines("reload refused, keeping the running settings",
		    buf_cstr(&err));
		reinject_conf_free(nc);
		free(nc);
		buf_clear(&err);
		return PREFORK_RELOAD_REFUSED;
	}
	buf_clear(&err);
	/* the old workers run on their own copies (fork): release ours */
	if (ms->conf != ms->initial) {
		reinject_conf_free(ms->conf);
		free(ms->conf);
	}
	ms->conf = nc;
	*nworkers = nc->worker_processes;
	if (strcmp(nc->metrics_listen, ms->initial->metrics_listen) != 0)
		log_warn("reload: metrics_listen changed; it takes effect at the next restart");
	if (!metrics_conf_same(&nc->metrics, &ms->initial->metrics))
		log_warn("reload: a metrics_*_limit or metrics_idle_timeout changed; it "
		    "takes effect at the next restart");
	reinject_metrics_keys(nc);
	metrics_proc_reloaded();
	log_info("reloaded %s: starting %d workers", ms->path ? ms->path : "defaults",
	    nc->worker_processes);
	return PREFORK_RELOAD_REPLACE;
}

/* reinject_master_worker - a new worker: SIGHUP is the master's business */
static void
reinject_master_worker(void *arg, int slot)
{
	(void)arg;
	(void)slot;
	signal(SIGHUP, SIG_IGN);
	metrics_proc_worker();
}

/* reinject_master_drain - stopping: close our copies of the listeners, so
 * that once the workers closed theirs new connections are refused instead
 * of waiting in the backlog; workers leave after drain_timeout themselves */
static unsigned
reinject_master_drain(void *arg)
{
	struct reinject_master *ms = arg;

	for (size_t i = 0; i < ms->conf->nlisteners; i++)
		if (ms->conf->listeners[i].fd >= 0)
			close(ms->conf->listeners[i].fd);
	return 0;
}

/* reinject_master_tick - the master's timer: DMARC report sending */
static unsigned
reinject_master_tick(void *arg)
{
	struct reinject_master *ms = arg;

	return reinject_report_master_tick(ms->conf);
}

static const struct prefork_ops reinject_master_ops = {
	.reload = reinject_master_reload,
	.worker = reinject_master_worker,
	.drain = reinject_master_drain,
	.tick = reinject_master_tick,
	.wait = metrics_proc_wait,
	.restarted = metrics_proc_restarted,
};

/* reinject_master_run - prefork and supervise the workers */
int
reinject_master_run(struct reinject_conf *c, const char *conf_path)
{
	struct reinject_master ms = { .conf = c, .initial = c, .path = conf_path };
	struct prefork_config pc = {
		.ops = &reinject_master_ops, .arg = &ms,
		.nworkers = c->worker_processes, .death_signal = SIGKILL,
		.stop_on_config_exit = true,	/* a worker that cannot confine itself */
	};
	int slot, rc;

	signal(SIGPIPE, SIG_IGN);
	log_info("starting %d workers, downstream %s", c->worker_processes,
	    c->downstream);
	metrics_proc_master();
	if ((rc = prefork_run(&pc, &slot)) == 1)
		_exit(reinject_worker_run(ms.conf));
	if (ms.conf != c) {
		reinject_conf_free(ms.conf);
		free(ms.conf);
	}
	metrics_proc_close();
	log_info("stopped");
	return rc < 0 ? 1 : 0;
}
