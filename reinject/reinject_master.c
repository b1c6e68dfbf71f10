/*
 * reinject_master.c - the supervising process: pre-forks worker_processes
 * workers on the shared listeners and keeps that many running.
 *
 * SIGHUP: re-read reinject.conf; if it is valid, start new workers with it and
 * send the old ones SIGTERM (they stop accepting and finish their sessions),
 * so no session is dropped; an invalid file is logged and the old settings
 * stay.  Listeners are bound once: a changed "listen" needs a restart.
 * SIGTERM/SIGINT: every worker drains, then the master exits.
 * Workers die with the master (PR_SET_PDEATHSIG), so a killed master never
 * leaves orphans holding the ports.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "reinject.h"

/* Do not respawn a crashing worker more often than this (seconds). */
#define REINJECT_RESPAWN_DELAY	1
#define REINJECT_WORKER_LIMIT	64

static volatile sig_atomic_t reinject_master_hup, reinject_master_term,
    reinject_master_chld;

/* reinject_master_signal - record a signal for the main loop */
static void
reinject_master_signal(int sig)
{
	if (sig == SIGHUP)
		reinject_master_hup = 1;
	else if (sig == SIGCHLD)
		reinject_master_chld = 1;
	else
		reinject_master_term = 1;
}

struct reinject_master {
	pid_t pid[REINJECT_WORKER_LIMIT];
	unsigned generation[REINJECT_WORKER_LIMIT];
	unsigned gen;
	struct reinject_conf *conf;
	struct reinject_conf *initial;	/* the caller's, freed by the caller */
};

/* reinject_master_spawn - fork one worker into slot i */
static void
reinject_master_spawn(struct reinject_master *ms, int i)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		sigset_t none;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(reinject_worker_run(ms->conf));
	}
	ms->pid[i] = pid;
	ms->generation[i] = ms->gen;
}

/* reinject_master_reap - collect exited workers; respawn current ones */
static void
reinject_master_reap(struct reinject_master *ms, bool respawn)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < REINJECT_WORKER_LIMIT; i++) {
			if (ms->pid[i] != pid)
				continue;
			ms->pid[i] = 0;
			if (!respawn || reinject_master_term ||
			    ms->generation[i] != ms->gen ||
			    i >= ms->conf->worker_processes)
				break;
			log_warn("worker %ld exited (status %d); starting another",
			    (long)pid, st);
			sleep(REINJECT_RESPAWN_DELAY);
			reinject_master_spawn(ms, i);
			break;
		}
	}
}

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
static void
reinject_master_reload(struct reinject_master *ms, const char *path)
{
	struct reinject_conf *nc = xcalloc(1, sizeof(*nc));
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (reinject_conf_load(nc, path, &err) < 0 ||
	    reinject_master_listeners(ms->conf, nc, &err) < 0 ||
	    reinject_worker_check(nc, &err) < 0) {
		log_error("reload refused, keeping the running settings:\n%s",
		    buf_cstr(&err));
		reinject_conf_free(nc);
		free(nc);
		buf_clear(&err);
		return;
	}
	buf_clear(&err);
	/* the old workers run on their own copies (fork): release ours */
	if (ms->conf != ms->initial) {
		reinject_conf_free(ms->conf);
		free(ms->conf);
	}
	ms->conf = nc;
	ms->gen++;
	for (int i = 0; i < REINJECT_WORKER_LIMIT; i++)
		if (ms->pid[i])
			kill(ms->pid[i], SIGTERM);
	for (int i = 0; i < nc->worker_processes; i++) {
		int slot = i;

		while (slot < REINJECT_WORKER_LIMIT && ms->pid[slot])
			slot++;
		if (slot < REINJECT_WORKER_LIMIT)
			reinject_master_spawn(ms, slot);
	}
	log_info("reloaded %s: %d workers started", path ? path : "defaults",
	    nc->worker_processes);
}

/* reinject_master_alive - workers still running */
static int
reinject_master_alive(const struct reinject_master *ms)
{
	int n = 0;

	for (int i = 0; i < REINJECT_WORKER_LIMIT; i++)
		n += ms->pid[i] != 0;
	return n;
}

/* reinject_master_run - prefork and supervise the workers */
int
reinject_master_run(struct reinject_conf *c, const char *conf_path)
{
	struct reinject_master ms;
	struct sigaction sa;
	sigset_t block, old;

	memset(&ms, 0, sizeof(ms));
	ms.conf = ms.initial = c;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reinject_master_signal;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < c->worker_processes; i++)
		reinject_master_spawn(&ms, i);
	log_info("started: %d workers, downstream %s", c->worker_processes,
	    c->downstream);
	while (!reinject_master_term) {
		reinject_report_master_tick(ms.conf);
		sigsuspend(&old);
		if (reinject_master_chld) {
			reinject_master_chld = 0;
			reinject_master_reap(&ms, true);
		}
		if (reinject_master_hup) {
			reinject_master_hup = 0;
			reinject_master_reload(&ms, conf_path);
		}
	}
	/* close our copies of the listeners: once the workers closed theirs,
	 * new connections are refused instead of waiting in the backlog */
	for (size_t i = 0; i < ms.conf->nlisteners; i++)
		if (ms.conf->listeners[i].fd >= 0)
			close(ms.conf->listeners[i].fd);
	for (int i = 0; i < REINJECT_WORKER_LIMIT; i++)
		if (ms.pid[i])
			kill(ms.pid[i], SIGTERM);
	while (reinject_master_alive(&ms)) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno != EINTR)
			break;
		for (int i = 0; i < REINJECT_WORKER_LIMIT; i++)
			if (ms.pid[i] == pid)
				ms.pid[i] = 0;
	}
	if (ms.conf != c) {
		reinject_conf_free(ms.conf);
		free(ms.conf);
	}
	log_info("stopped");
	return 0;
}
