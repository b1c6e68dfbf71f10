/*
 * metrics_loop.c - a pre-forking master's wait that also serves the metrics
 * (prefork_ops.wait).  The master keeps its signals blocked and takes them
 * one at a time; here they are read from a signalfd(2) watched by an event
 * loop of the master's own, beside the HTTP server, so a scrape is answered
 * while the master waits and a signal still ends the wait at once.  A new
 * worker inherits the loop's descriptors: metrics_loop_forget closes the
 * listening socket and the signalfd there and leaves the backend alone
 * (an epoll instance shared with the master: removing events from it in
 * the worker would remove them in the master too).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

struct metrics_loop {
	struct event_base *base;
	struct metrics_http *http;
	int fd;			/* the listening socket */
	int sigfd;		/* -1 until the first wait */
	struct event *sigev, *timer;
};

/* metrics_loop_wake - a signal is pending or the wait is over: leave the loop */
static void
metrics_loop_wake(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_loop *l = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(l->base);
}

/* metrics_loop_new - the master's loop serving m on fd */
struct metrics_loop *
metrics_loop_new(struct metrics *m, int fd, const struct metrics_conf *mc)
{
	struct metrics_loop *l = xcalloc(1, sizeof(*l));

	l->fd = fd;
	l->sigfd = -1;
	if ((l->base = event_base_new()) == NULL ||
	    (l->timer = evtimer_new(l->base, metrics_loop_wake, l)) == NULL ||
	    (l->http = metrics_http_new(l->base, fd, m, mc)) == NULL) {
		log_error("metrics: cannot set up the master's loop");
		if (l->timer)
			event_free(l->timer);
		if (l->base)
			event_base_free(l->base);
		free(l);
		return NULL;
	}
	return l;
}

/* metrics_loop_signals - the signalfd of set, watched by the loop */
static int
metrics_loop_signals(struct metrics_loop *l, const sigset_t *set)
{
	if (l->sigfd >= 0)
		return 0;
	l->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0) {
		log_error("metrics: signalfd: %s", strerror(errno));
		return -1;
	}
	l->sigev = event_new(l->base, l->sigfd, EV_READ | EV_PERSIST, metrics_loop_wake, l);
	if (l->sigev == NULL || event_add(l->sigev, NULL) < 0)
		log_panic("metrics: cannot watch the signalfd");
	return 0;
}

/* metrics_loop_take - a pending signal of the set, or 0 */
static int
metrics_loop_take(struct metrics_loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		return (int)si.ssi_signo;
	return 0;
}

/* metrics_loop_wait - serve scrapes until a signal or wait_ms (see metrics.h) */
int
metrics_loop_wait(struct metrics_loop *l, const sigset_t *set, long long wait_ms)
{
	double until = metrics_now() + (double)wait_ms / 1000;
	int sig;

	if (metrics_loop_signals(l, set) < 0) {
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };

		sig = sigtimedwait(set, NULL, wait_ms < 0 ? NULL : &ts);
		return sig < 0 ? 0 : sig;
	}
	while ((sig = metrics_loop_take(l)) == 0) {
		double left = until - metrics_now();

		if (wait_ms >= 0 && left <= 0)
			return 0;
		if (wait_ms >= 0) {
			struct timeval tv = { (time_t)left,
			    (suseconds_t)((left - (double)(time_t)left) * 1e6) };

			evtimer_add(l->timer, &tv);
		}
		event_base_loop(l->base, EVLOOP_ONCE);
		evtimer_del(l->timer);
	}
	return sig;
}

/* metrics_loop_free - the master's loop, its server and its descriptors */
void
metrics_loop_free(struct metrics_loop *l)
{
	if (l == NULL)
		return;
	metrics_http_free(l->http);
	if (l->sigev)
		event_free(l->sigev);
	event_free(l->timer);
	event_base_free(l->base);
	if (l->sigfd >= 0)
		close(l->sigfd);
	free(l);
}

/* metrics_loop_forget - in a new worker: close what the master's loop holds open */
void
metrics_loop_forget(struct metrics_loop *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	if (l->sigfd >= 0)
		close(l->sigfd);
}
