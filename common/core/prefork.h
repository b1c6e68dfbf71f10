/*
 * prefork.h - the supervising process of a pre-forking daemon: forks N
 * workers on listeners the caller bound, replaces a worker that dies (at most
 * one start per slot per PREFORK_RESPAWN_DELAY), and turns SIGHUP, SIGTERM
 * and SIGINT into the daemon's "reload", "start a worker" and "drain" steps.
 *
 * Each worker has a slot, 0 to nworkers - 1, that outlives its process: a
 * worker that dies is replaced in the same slot.  A reload either passes
 * SIGHUP on to the workers (they load the settings themselves) or starts a
 * new generation of workers in slots 0 to nworkers - 1 and sends the old
 * generation SIGTERM to drain; only the current generation is replaced.
 */
#ifndef MAILAUTH_PREFORK_H
#define MAILAUTH_PREFORK_H

#include <signal.h>
#include <stdbool.h>

/* Most workers of one generation. */
#define PREFORK_WORKER_LIMIT	64
/* A worker exiting with this status could not start (EX_CONFIG, sysexits.h). */
#define PREFORK_EXIT_CONFIG	78

/* what a reload did; the master acts on it */
enum prefork_reload {
	PREFORK_RELOAD_REFUSED,	/* the running workers stay as they are */
	PREFORK_RELOAD_SIGNAL,	/* pass SIGHUP to the workers: they reload */
	PREFORK_RELOAD_REPLACE,	/* start new workers; the old ones drain */
};

/* the daemon's side; arg is prefork_config's arg */
struct prefork_ops {
	/* reload - SIGHUP in the master; for REPLACE *nworkers may change */
	enum prefork_reload (*reload)(void *arg, int *nworkers);
	/* worker - in a new worker right after fork, signals still blocked */
	void (*worker)(void *arg, int slot);
	/* slot - a current worker is about to start in slot (up) or has gone */
	void (*slot)(void *arg, int slot, bool up);
	/* drain - stopping: close the master's listeners; seconds to wait for
	 * the workers before killing them, 0 to wait as long as they take */
	unsigned (*drain)(void *arg);
	/* tick - optional periodic work in the master while it is not
	 * stopping, called at least as often as it asks: seconds to the next
	 * call, 0 for no timed call (signals still call it) */
	unsigned (*tick)(void *arg);
	/* wait - optional: wait for one of the blocked signals of set instead
	 * of sigtimedwait (serving something meanwhile): the signal taken, or
	 * 0 after wait_ms (-1: no limit) */
	int (*wait)(void *arg, const sigset_t *set, long long wait_ms);
	/* restarted - optional: a current worker died and its slot will get
	 * a new one (not at a reload, a stop or a failed start) */
	void (*restarted)(void *arg, int slot);
};

struct prefork_config {
	const struct prefork_ops *ops;
	void *arg;
	int nworkers;		/* 1 to PREFORK_WORKER_LIMIT */
	int death_signal;	/* workers get it when the master dies */
	/* a worker exiting PREFORK_EXIT_CONFIG stops the master (exit -1) */
	bool stop_on_config_exit;
};

/*
 * prefork_run - start the workers and supervise them.  Returns 1 in a new
 * worker (its slot in *slot, the signal mask as before the call): the caller
 * runs the worker.  In the master returns after SIGTERM or SIGINT once every
 * worker has gone: 0, or -1 when a worker could not start.
 */
int prefork_run(const struct prefork_config *cfg, int *slot);

#endif
