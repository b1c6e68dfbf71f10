/*
 * prefork.c - pre-fork N workers on inherited listeners and supervise them
 * (see prefork.h).
 *
 * The master serves no connection.  It keeps SIGHUP, SIGTERM, SIGINT and
 * SIGCHLD blocked and takes them with sigtimedwait(), so no work happens in a
 * signal handler and a respawn delay needs no second timer.  Every process it
 * started is in a table with its slot and generation; a worker of the current
 * generation that dies is logged and started again in its slot, never sooner
 * than PREFORK_RESPAWN_DELAY after the slot's previous start, so a worker
 * that crashes at once does not turn the master into a fork loop.  Workers of
 * an earlier generation (draining after a reload) are only collected.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "prefork.h"

/* Do not start a slot's worker again sooner than this after its last start (s). */
#define PREFORK_RESPAWN_DELAY	1
/* Processes tracked at once: the current generation and draining ones. */
#define PREFORK_PROC_LIMIT	(4 * PREFORK_WORKER_LIMIT)

struct prefork_proc {
	pid_t pid;		/* 0: a free entry */
	int slot;
	unsigned gen;
};

struct prefork {
	const struct prefork_config *cfg;
	struct prefork_proc proc[PREFORK_PROC_LIMIT];
	long long started[PREFORK_WORKER_LIMIT];	/* ms of the slot's last start */
	bool pending[PREFORK_WORKER_LIMIT];	/* the slot's worker is to start */
	int nworkers;
	unsigned gen;
	pid_t self;
	sigset_t set, old_mask;
	bool stopping, failed;
	long long kill_at;	/* ms after which draining workers are killed, 0 never */
	int slot;		/* in a new worker: its slot */
	long long watchdog_ms, watchdog_at;	/* WATCHDOG=1 interval and next, -1 off */
};

/* prefork_now_ms - monotonic milliseconds */
static long long
prefork_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* prefork_noop - a handler, so that no signal taken by sigtimedwait is discarded */
static void
prefork_noop(int sig)
{
	(void)sig;
}

/* prefork_signals - block the signals the master takes; keep the old mask */
static void
prefork_signals(struct prefork *pf)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prefork_noop;
	sigemptyset(&pf->set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&pf->set, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &pf->set, &pf->old_mask);
}

/* prefork_child - in a new worker: default signals, the daemon's set-up, old mask */
static void
prefork_child(struct prefork *pf, int slot)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };

	prctl(PR_SET_PDEATHSIG, pf->cfg->death_signal);
	if (getppid() != pf->self)
		_exit(0);	/* the master is already gone */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	pf->slot = slot;
	if (pf->cfg->ops->worker != NULL)
		pf->cfg->ops->worker(pf->cfg->arg, slot);
	/* a signal pending since the fork now reaches the worker's handler */
	sigprocmask(SIG_SETMASK, &pf->old_mask, NULL);
}

/* prefork_slot - tell the daemon a slot's worker starts or has gone */
static void
prefork_slot(struct prefork *pf, int slot, bool up)
{
	if (pf->cfg->ops->slot != NULL)
		pf->cfg->ops->slot(pf->cfg->arg, slot, up);
}

/* prefork_free_proc - an unused process entry, or NULL */
static struct prefork_proc *
prefork_free_proc(struct prefork *pf)
{
	for (int i = 0; i < PREFORK_PROC_LIMIT; i++)
		if (pf->proc[i].pid == 0)
			return &pf->proc[i];
	return NULL;
}

/* prefork_spawn - start the worker of slot; true in that worker */
static bool
prefork_spawn(struct prefork *pf, int slot)
{
	struct prefork_proc *p = prefork_free_proc(pf);
	pid_t pid;

	pf->started[slot] = prefork_now_ms();
	pf->pending[slot] = false;
	if (p == NULL) {
		log_error("slot %d: too many workers still draining; trying again",
		    slot);
		pf->pending[slot] = true;
		return false;
	}
	prefork_slot(pf, slot, true);
	if ((pid = fork()) < 0) {
		log_error("slot %d: fork: %s; trying again", slot, strerror(errno));
		prefork_slot(pf, slot, false);
		pf->pending[slot] = true;
		return false;
	}
	if (pid == 0) {
		prefork_child(pf, slot);
		return true;
	}
	*p = (struct prefork_proc){ .pid = pid, .slot = slot, .gen = pf->gen };
	log_info("worker %ld started in slot %d", (long)pid, slot);
	return false;
}

/* prefork_kill - send sig to every worker, or to the current generation only */
static void
prefork_kill(const struct prefork *pf, int sig, bool current_only)
{
	for (int i = 0; i < PREFORK_PROC_LIMIT; i++)
		if (pf->proc[i].pid > 0 && (!current_only || pf->proc[i].gen == pf->gen))
			kill(pf->proc[i].pid, sig);
}

/* prefork_alive - workers still running, of every generation */
static int
prefork_alive(const struct prefork *pf)
{
	int n = 0;

	for (int i = 0; i < PREFORK_PROC_LIMIT; i++)
		n += pf->proc[i].pid > 0;
	return n;
}

/* prefork_stop - SIGTERM, SIGINT or a worker that cannot start: drain all */
static void
prefork_stop(struct prefork *pf)
{
	unsigned secs;

	if (pf->stopping)
		return;
	pf->stopping = true;
	notify_send("STOPPING=1");
	secs = pf->cfg->ops->drain(pf->cfg->arg);
	pf->kill_at = secs ? prefork_now_ms() + 1000LL * secs : 0;
	log_info("stopping: %d workers finish their work", prefork_alive(pf));
	prefork_kill(pf, SIGTERM, false);
}

/* prefork_gone - a current worker exited with status st: log, schedule its slot */
static void
prefork_gone(struct prefork *pf, const struct prefork_proc *p, int st)
{
	prefork_slot(pf, p->slot, false);
	if (pf->stopping)
		return;
	if (pf->cfg->stop_on_config_exit && WIFEXITED(st) &&
	    WEXITSTATUS(st) == PREFORK_EXIT_CONFIG) {
		log_error("worker %ld (slot %d) could not start; stopping",
		    (long)p->pid, p->slot);
		pf->failed = true;
		prefork_stop(pf);
		return;
	}
	if (WIFSIGNALED(st))
		log_error("worker %ld (slot %d) killed by signal %d; starting another",
		    (long)p->pid, p->slot, WTERMSIG(st));
	else
		log_error("worker %ld (slot %d) exited with status %d; starting another",
		    (long)p->pid, p->slot, WEXITSTATUS(st));
	pf->pending[p->slot] = true;
	if (pf->cfg->ops->restarted != NULL)
		pf->cfg->ops->restarted(pf->cfg->arg, p->slot);
}

/* prefork_reap - collect every exited worker */
static void
prefork_reap(struct prefork *pf)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < PREFORK_PROC_LIMIT; i++) {
			struct prefork_proc p = pf->proc[i];

			if (p.pid != pid)
				continue;
			pf->proc[i].pid = 0;
			if (p.gen == pf->gen)
				prefork_gone(pf, &p, st);
			else
				log_debug("worker %ld of an earlier generation has exited",
				    (long)pid);
			break;
		}
	}
}

/* prefork_respawn - start the slots whose delay has passed; true in a worker */
static bool
prefork_respawn(struct prefork *pf, long long *wait_ms)
{
	long long now = prefork_now_ms();

	for (int i = 0; i < pf->nworkers && !pf->stopping; i++) {
		long long due = pf->started[i] + 1000LL * PREFORK_RESPAWN_DELAY;

		if (!pf->pending[i])
			continue;
		if (now < due) {
			if (*wait_ms < 0 || due - now < *wait_ms)
				*wait_ms = due - now;
			continue;
		}
		if (prefork_spawn(pf, i))
			return true;
	}
	return false;
}

/* prefork_replace - a reload's new generation in slots 0 to n - 1; true in a worker */
static bool
prefork_replace(struct prefork *pf, int n)
{
	if (n < 1 || n > PREFORK_WORKER_LIMIT) {
		log_error("reload: %d workers asked for; keeping %d", n, pf->nworkers);
		n = pf->nworkers;
	}
	prefork_kill(pf, SIGTERM, true);
	for (int i = 0; i < pf->nworkers; i++)
		prefork_slot(pf, i, false);
	pf->gen++;
	pf->nworkers = n;
	/* the new generation takes slots 0 to n - 1, whatever the draining
	 * workers hold: a slot is replaced only while below nworkers */
	for (int i = 0; i < n; i++)
		if (prefork_spawn(pf, i))
			return true;
	return false;
}

/* prefork_reload - SIGHUP: the daemon reloads; true in a new worker */
static bool
prefork_reload(struct prefork *pf)
{
	int n = pf->nworkers;

	enum prefork_reload r;

	if (pf->stopping)
		return false;
	notify_send("RELOADING=1");
	r = pf->cfg->ops->reload(pf->cfg->arg, &n);
	notify_send("READY=1");
	switch (r) {
	case PREFORK_RELOAD_SIGNAL:
		prefork_kill(pf, SIGHUP, true);
		return false;
	case PREFORK_RELOAD_REPLACE:
		return prefork_replace(pf, n);
	case PREFORK_RELOAD_REFUSED:
		break;
	}
	return false;
}

/* prefork_wait - the next signal, or 0 after wait_ms (-1: no limit) */
static int
prefork_wait(struct prefork *pf, long long wait_ms)
{
	struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };
	int sig;

	if (pf->cfg->ops->wait != NULL)
		return pf->cfg->ops->wait(pf->cfg->arg, &pf->set, wait_ms);
	sig = sigtimedwait(&pf->set, NULL, wait_ms < 0 ? NULL : &ts);
	return sig < 0 ? 0 : sig;
}

/* prefork_deadline - stopping: kill the workers left at kill_at; ms to it */
static long long
prefork_deadline(struct prefork *pf)
{
	long long now = prefork_now_ms();

	if (!pf->stopping || pf->kill_at == 0)
		return -1;
	if (now < pf->kill_at)
		return pf->kill_at - now;
	log_warn("%d workers still running after the drain time; killing them",
	    prefork_alive(pf));
	prefork_kill(pf, SIGKILL, false);
	pf->kill_at = 0;
	return -1;
}

/* prefork_tick - the daemon's periodic work; shortens *wait_ms to its next */
static void
prefork_tick(struct prefork *pf, long long *wait_ms)
{
	unsigned secs;

	if (pf->stopping || pf->cfg->ops->tick == NULL)
		return;
	secs = pf->cfg->ops->tick(pf->cfg->arg);
	if (secs > 0 && (*wait_ms < 0 || (long long)secs * 1000 < *wait_ms))
		*wait_ms = (long long)secs * 1000;
}

/* prefork_watchdog - WATCHDOG=1 when due; wait_ms shortened to the next one */
static void
prefork_watchdog(struct prefork *pf, long long *wait_ms)
{
	long long now, left;

	if (pf->watchdog_ms < 0)
		return;
	now = prefork_now_ms();
	if (now >= pf->watchdog_at) {
		notify_send("WATCHDOG=1");
		pf->watchdog_at = now + pf->watchdog_ms;
	}
	left = pf->watchdog_at - now;
	if (*wait_ms < 0 || *wait_ms > left)
		*wait_ms = left;
}

/* prefork_loop - supervise until every worker is gone; true in a new worker */
static bool
prefork_loop(struct prefork *pf)
{
	for (;;) {
		long long wait_ms = prefork_deadline(pf);
		int sig;

		if (prefork_respawn(pf, &wait_ms))
			return true;
		if (pf->stopping && prefork_alive(pf) == 0)
			return false;
		prefork_tick(pf, &wait_ms);
		prefork_watchdog(pf, &wait_ms);
		sig = prefork_wait(pf, wait_ms);
		if (sig == SIGCHLD)
			prefork_reap(pf);
		else if (sig == SIGHUP && prefork_reload(pf))
			return true;
		else if (sig == SIGTERM || sig == SIGINT)
			prefork_stop(pf);
	}
}

/* prefork_run - start the workers and supervise them (see prefork.h) */
int
prefork_run(const struct prefork_config *cfg, int *slot)
{
	static struct prefork pf;

	memset(&pf, 0, sizeof(pf));
	pf.cfg = cfg;
	pf.self = getpid();
	pf.nworkers = cfg->nworkers;
	if (pf.nworkers < 1 || pf.nworkers > PREFORK_WORKER_LIMIT)
		log_panic("prefork: %d workers", pf.nworkers);
	prefork_signals(&pf);
	for (int i = 0; i < pf.nworkers; i++)
		if (prefork_spawn(&pf, i))
			goto worker;
	log_info("%d worker processes started", pf.nworkers);
	pf.watchdog_ms = notify_watchdog_ms();
	notify_send("READY=1");
	if (prefork_loop(&pf))
		goto worker;
	sigprocmask(SIG_SETMASK, &pf.old_mask, NULL);
	return pf.failed ? -1 : 0;
worker:
	*slot = pf.slot;
	return 1;
}
