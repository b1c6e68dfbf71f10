/*
 * policyd_server.c - the daemon's state around the event loop: listeners,
 * connections, the result cache, the current configuration and the signals.
 *
 * SIGHUP loads the configuration again; on error the old one stays and the
 * error is logged.  Connections are not dropped: requests already in flight
 * finish with the configuration they started with, later ones use the new one.
 * Settings read only at start-up (listen, user, unix_socket_mode,
 * worker_processes, dns_*) keep
 * their old values until a restart, which is logged.  SIGTERM and SIGINT stop
 * accepting, let every request in flight get its reply, close idle
 * connections and leave the loop (at the latest after shutdown_timeout).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "policyd.h"
#include "util.h"

/* policyd_server_init - loop, resolver and cache; config taken over */
int
policyd_server_init(struct policyd_server *s, struct event_base *base,
    struct dns_resolver *dns, struct policyd_config *c)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->env.base = base;
	s->env.dns = dns;
	s->config = c;
	s->sock_uid = (uid_t)-1;
	s->sock_gid = (gid_t)-1;
	s->cache = policyd_cache_new(&s->env, policyd_check_start);
	return 0;
}

/* policyd_server_startup_changed - a setting only read at start-up differs */
static bool
policyd_server_startup_changed(const struct policyd_config *a,
    const struct policyd_config *b)
{
	static const char *const startup[] = { "listen", "user", "unix_socket_mode",
	    "worker_processes", "dns_forwarders", "dns_resolv_conf", "dns_timeout",
	    "dns_cache_size_limit", "metrics_listen", "metrics_header_size_limit",
	    "metrics_idle_timeout", "metrics_connection_limit", "metrics_series_limit" };
	struct buf va, vb;
	bool changed = false;

	buf_init(&va, CONFIG_LINE_LIMIT);
	buf_init(&vb, CONFIG_LINE_LIMIT);
	for (size_t i = 0; i < ARRAY_LEN(startup); i++) {
		const struct config_key *k = config_key_find(&policyd_config_schema,
		    startup[i], strlen(startup[i]));

		buf_reset(&va);
		buf_reset(&vb);
		config_format_value(k, a, &va);
		config_format_value(k, b, &vb);
		if (strcmp(buf_cstr(&va), buf_cstr(&vb)) != 0) {
			log_warn("reload: %s changed; it takes effect at the next restart",
			    startup[i]);
			changed = true;
		}
	}
	buf_clear(&va);
	buf_clear(&vb);
	return changed;
}

/* policyd_server_reload - load the config again; keep the old one on error */
int
policyd_server_reload(struct policyd_server *s)
{
	struct buf err;
	struct policyd_config *c;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(s->config_path, s->config_format, s->overrides, &err);
	if (c == NULL) {
		/* one log line: the file:line messages separated by "; " */
		while (err.len > 0 && err.data[err.len - 1] == '\n')
			buf_truncate(&err, err.len - 1);
		for (size_t i = 0; i < err.len; i++)
			if (err.data[i] == '\n')
				err.data[i] = ' ';
		log_error("reload failed, keeping the running configuration: %s",
		    buf_cstr(&err));
		buf_clear(&err);
		return -1;
	}
	buf_clear(&err);
	policyd_server_startup_changed(s->config, c);
	policyd_config_unref(s->config);
	s->config = c;
	policyd_cache_flush(s->cache);
	log_set_debug(c->log_level >= 2);
	log_info("configuration reloaded from %s", s->config_path ? s->config_path :
	    "(defaults)");
	return 0;
}

/* policyd_server_finish - leave the loop once draining and no connection is left */
static void
policyd_server_finish(struct policyd_server *s)
{
	if (s->draining && s->nconns == 0)
		event_base_loopexit(s->base, NULL);
}

/* policyd_server_conn_count - publish nconns to the other workers */
void
policyd_server_conn_count(struct policyd_server *s)
{
	if (s->worker_conns != NULL)
		__atomic_store_n(&s->worker_conns[s->worker_slot], s->nconns,
		    __ATOMIC_RELAXED);
}

/* policyd_server_conn_gone - bookkeeping when a connection ends */
void
policyd_server_conn_gone(struct policyd_server *s)
{
	policyd_server_conn_count(s);
	policyd_server_finish(s);
}

/* policyd_server_drain_timeout - requests in flight took too long */
static void
policyd_server_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct policyd_server *s = arg;

	(void)fd, (void)what;
	log_warn("shutdown_timeout reached with %u connections busy; exiting",
	    s->nconns);
	event_base_loopexit(s->base, NULL);
}

/* policyd_server_drain - stop accepting, finish requests in flight, exit */
void
policyd_server_drain(struct policyd_server *s)
{
	struct timeval tv = { (time_t)s->config->shutdown_timeout, 0 };
	struct policyd_conn *c, *next;

	if (s->draining)
		return;
	s->draining = true;
	policyd_listen_close(s);
	for (c = s->conns; c != NULL; c = next) {
		next = policyd_conn_next(c);
		policyd_conn_drain(c);
	}
	s->drain_timer = evtimer_new(s->base, policyd_server_drain_timeout, s);
	evtimer_add(s->drain_timer, &tv);
	policyd_server_finish(s);
}

/* policyd_server_signal - SIGHUP, SIGTERM, SIGINT from the loop */
static void
policyd_server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct policyd_server *s = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (!s->is_worker)
			notify_send("RELOADING=1");
		/* a worker's reload is counted once, by its master */
		if (policyd_server_reload(s) == 0 && s->worker_conns == NULL)
			metrics_proc_reloaded();
		if (!s->is_worker)
			notify_send("READY=1");
		return;
	}
	if (!s->is_worker)
		notify_send("STOPPING=1");
	log_info("signal %d: stopping after the requests in flight", (int)sig);
	policyd_server_drain(s);
}

/* policyd_server_watchdog - WATCHDOG=1 from the loop of the one process */
static void
policyd_server_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify_send("WATCHDOG=1");
}

/* policyd_server_ready - the one process serves: READY=1, and the watchdog */
void
policyd_server_ready(struct policyd_server *s)
{
	long long ms = notify_watchdog_ms();
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	notify_send("READY=1");
	if (ms < 0)
		return;
	s->watchdog = event_new(s->base, -1, EV_PERSIST, policyd_server_watchdog, s);
	if (s->watchdog != NULL)
		event_add(s->watchdog, &tv);
}

/* policyd_server_signals - SIGHUP reloads, SIGTERM/SIGINT drain and stop */
void
policyd_server_signals(struct policyd_server *s)
{
	signal(SIGPIPE, SIG_IGN);
	s->sig_hup = evsignal_new(s->base, SIGHUP, policyd_server_signal, s);
	s->sig_term = evsignal_new(s->base, SIGTERM, policyd_server_signal, s);
	s->sig_int = evsignal_new(s->base, SIGINT, policyd_server_signal, s);
	evsignal_add(s->sig_hup, NULL);
	evsignal_add(s->sig_term, NULL);
	evsignal_add(s->sig_int, NULL);
}

/* policyd_server_clear - free connections, listeners, cache and config */
void
policyd_server_clear(struct policyd_server *s)
{
	s->draining = false;	/* no loopexit from the frees below */
	while (s->conns != NULL)
		policyd_conn_free(s->conns);
	policyd_listen_close(s);
	if (s->watchdog) {
		event_free(s->watchdog);
		s->watchdog = NULL;
	}
	policyd_cache_free(s->cache);
	s->cache = NULL;
	if (s->sig_hup) {
		event_free(s->sig_hup);
		event_free(s->sig_term);
		event_free(s->sig_int);
	}
	if (s->drain_timer)
		event_free(s->drain_timer);
	policyd_config_unref(s->config);
	s->config = NULL;
}
