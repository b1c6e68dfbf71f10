/*
 * policyd_master.c - worker_processes above 1: the process that bound the
 * listeners forks that many workers on them and supervises them.
 *
 * Each worker is a whole policyd loop (its own connections, result cache and
 * resolver) accepting on the shared listeners.  Postfix's smtpd sends every
 * request of one SMTP session over one connection, and a connection stays with
 * the worker that accepted it, so the per-message deduplication (instance)
 * still sees every recipient of a message; the result cache kept across
 * transactions (cache_ttl) is per worker.  The master serves no connection:
 * SIGHUP is passed to the workers (each loads the configuration again);
 * SIGTERM and SIGINT close the master's listeners (removing unix sockets) and
 * are passed on, each worker drains as a single process does, and the master
 * exits once all are gone, killing any still running shutdown_timeout plus
 * POLICYD_MASTER_GRACE later.  A worker that dies otherwise is replaced (at
 * most one per POLICYD_MASTER_RESPAWN_DELAY), unless it could not start at
 * all (POLICYD_EXIT_CONFIG: the master then stops everything and exits 1);
 * workers get SIGTERM when the master dies (PR_SET_PDEATHSIG), so none is
 * left holding the sockets.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "policyd.h"

/* Do not replace a dying worker more often than this (seconds). */
#define POLICYD_MASTER_RESPAWN_DELAY	1
/* After shutdown_timeout, this long (seconds) before workers are killed. */
#define POLICYD_MASTER_GRACE		5

static volatile sig_atomic_t policyd_master_hup, policyd_master_term,
    policyd_master_chld, policyd_master_alrm;
/* a worker could not start: stop rather than start it again and again */
static bool policyd_master_failed;

struct policyd_master {
	pid_t pid[POLICYD_WORKER_LIMIT];
	int nworkers;
	pid_t self;
	sigset_t old_mask;		/* restored in the workers */
};

/* policyd_master_signal - record a signal for the supervision loop */
static void
policyd_master_signal(int sig)
{
	if (sig == SIGHUP)
		policyd_master_hup = 1;
	else if (sig == SIGCHLD)
		policyd_master_chld = 1;
	else if (sig == SIGALRM)
		policyd_master_alrm = 1;
	else
		policyd_master_term = 1;
}

/* policyd_master_handlers - catch the signals the loop handles, blocked */
static void
policyd_master_handlers(struct policyd_master *ms)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGALRM };
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = policyd_master_signal;
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &ms->old_mask);
}

/*
 * policyd_master_spawn - fork the worker of slot i; true in the worker, which
 * then owns a fresh event backend with libevent's signal handlers again
 */
static bool
policyd_master_spawn(struct policyd_server *s, struct policyd_master *ms, int i)
{
	pid_t pid;

	/* a new worker starts with no connection (set before it can accept) */
	__atomic_store_n(&s->worker_conns[i], 0, __ATOMIC_RELAXED);
	pid = fork();
	if (pid < 0) {
		__atomic_store_n(&s->worker_conns[i], UINT_MAX, __ATOMIC_RELAXED);
		log_error("fork: %s", strerror(errno));
		return false;
	}
	if (pid > 0) {
		ms->pid[i] = pid;
		return false;
	}
	s->worker_slot = i;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != ms->self)
		_exit(0);	/* the master is already gone */
	if (event_reinit(s->base) < 0)
		log_fatal("event_reinit failed in a worker");
	signal(SIGCHLD, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	/* a signal pending since the fork now reaches libevent's handler */
	sigprocmask(SIG_SETMASK, &ms->old_mask, NULL);
	s->is_worker = true;
	return true;
}

/* policyd_master_kill - send sig to every running worker */
static void
policyd_master_kill(const struct policyd_master *ms, int sig)
{
	for (int i = 0; i < ms->nworkers; i++)
		if (ms->pid[i] > 0)
			kill(ms->pid[i], sig);
}

/* policyd_master_alive - workers still running */
static int
policyd_master_alive(const struct policyd_master *ms)
{
	int n = 0;

	for (int i = 0; i < ms->nworkers; i++)
		n += ms->pid[i] > 0;
	return n;
}

/* policyd_master_reap - collect exited workers; true in a replacement worker */
static bool
policyd_master_reap(struct policyd_server *s, struct policyd_master *ms)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < ms->nworkers; i++) {
			if (ms->pid[i] != pid)
				continue;
			ms->pid[i] = 0;
			__atomic_store_n(&s->worker_conns[i], UINT_MAX, __ATOMIC_RELAXED);
			if (policyd_master_term)
				break;
			if (WIFEXITED(st) && WEXITSTATUS(st) == POLICYD_EXIT_CONFIG) {
				log_error("worker %ld could not start; stopping", (long)pid);
				policyd_master_failed = true;
				policyd_master_term = 1;
				break;
			}
			if (WIFSIGNALED(st))
				log_error("worker %ld killed by signal %d; starting another",
				    (long)pid, WTERMSIG(st));
			else
				log_error("worker %ld exited with status %d; starting "
				    "another", (long)pid, WEXITSTATUS(st));
			sleep(POLICYD_MASTER_RESPAWN_DELAY);
			if (policyd_master_spawn(s, ms, i))
				return true;
			break;
		}
	}
	return false;
}

/* policyd_master_stop - close the listeners, drain the workers, wait for them */
static void
policyd_master_stop(struct policyd_server *s, struct policyd_master *ms)
{
	log_info("stopping: %d workers finish their requests in flight",
	    policyd_master_alive(ms));
	policyd_listen_close(s);
	policyd_master_kill(ms, SIGTERM);
	alarm(s->config->shutdown_timeout + POLICYD_MASTER_GRACE);
	while (policyd_master_alive(ms) > 0) {
		sigsuspend(&ms->old_mask);
		if (policyd_master_chld) {
			policyd_master_chld = 0;
			policyd_master_reap(s, ms);
		}
		if (policyd_master_alrm) {
			policyd_master_alrm = 0;
			log_warn("%d workers still running after shutdown_timeout; "
			    "killing them", policyd_master_alive(ms));
			policyd_master_kill(ms, SIGKILL);
		}
	}
	alarm(0);
	sigprocmask(SIG_SETMASK, &ms->old_mask, NULL);
}

/* policyd_master_run - fork and supervise the workers */
int
policyd_master_run(struct policyd_server *s)
{
	static struct policyd_master ms;

	memset(&ms, 0, sizeof(ms));
	ms.self = getpid();
	ms.nworkers = s->config->worker_processes;
	/* connections per worker, read by every worker when accepting */
	s->worker_conns = mmap(NULL, sizeof(unsigned) * POLICYD_WORKER_LIMIT,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->worker_conns == MAP_FAILED)
		log_fatal("mmap: %s", strerror(errno));
	/* UINT_MAX: no worker in the slot; the first forked must not take all */
	for (int i = 0; i < POLICYD_WORKER_LIMIT; i++)
		s->worker_conns[i] = i < ms.nworkers ? 0 : UINT_MAX;
	s->nworkers = ms.nworkers;
	policyd_master_handlers(&ms);
	for (int i = 0; i < ms.nworkers; i++)
		if (policyd_master_spawn(s, &ms, i))
			return 0;
	log_info("master: %d worker processes started", ms.nworkers);
	while (!policyd_master_term) {
		sigsuspend(&ms.old_mask);
		if (policyd_master_chld) {
			policyd_master_chld = 0;
			if (policyd_master_reap(s, &ms))
				return 0;
		}
		if (policyd_master_hup) {
			policyd_master_hup = 0;
			/* the master's copy too: workers started later fork from it */
			policyd_server_reload(s);
			log_info("master: SIGHUP passed to the workers");
			policyd_master_kill(&ms, SIGHUP);
		}
	}
	policyd_master_stop(s, &ms);
	return policyd_master_failed ? -1 : 1;
}
