/*
 * main.c - policyd: Postfix policy delegation server answering SPF verdicts.
 *
 * policyd [-c config] [-F native|pyspf] [-o name=value] [-f] [-t] [-n] [-v]
 * policyd query --ip addr [--sender addr] [--helo name] [--identity helo|mailfrom]
 *     [--dns addr@port] [-c config]
 *
 * Parse the arguments, load the configuration, bind the listeners, drop
 * privileges, fork the workers if worker_processes asks for them, start the
 * resolver and run the loop (policyd(8)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "config_build.h"
#include "dns_probe.h"
#include "log.h"
#include "metrics.h"
#include "policyd.h"
#include "sandbox.h"
#include "util.h"

#define POLICYD_DEFAULT_CONFIG	MAILAUTH_SYSCONFDIR "/policyd.conf"
#define POLICYD_MAX_OVERRIDES	64

struct policyd_args {
	const char *config;
	enum policyd_config_format format;
	const char *overrides[POLICYD_MAX_OVERRIDES + 1];
	size_t noverrides;
	bool foreground, test, print, verbose;
};

#define POLICYD_USAGE \
	"usage: policyd [-c config] [-F native|pyspf] [-o name=value] [-f] [-t] [-n] [-v]\n" \
	"       policyd query --ip addr [--sender addr] [--helo name] " \
	"[--identity helo|mailfrom] [--dns addr@port] [-c config]\n" \
	"       policyd --help | --version\n" \
	"  -c config       configuration file (default " POLICYD_DEFAULT_CONFIG ")\n" \
	"  -F format       native or pyspf (pypolicyd-spf's policyd-spf.conf)\n" \
	"  -o name=value   override one setting\n" \
	"  -f              foreground, log to stderr\n" \
	"  -t              check the configuration as the run user, then exit\n" \
	"  -n              print the effective configuration\n" \
	"  -v              debug logging\n" \
	"exit status: 0 ok, 64 usage, 78 configuration or start-up error\n"

/* policyd_usage - the synopsis, exit 64 (EX_USAGE) */
static void __attribute__((noreturn))
policyd_usage(void)
{
	exit(cli_usage(POLICYD_USAGE));
}

/* policyd_args_parse - command line into a */
static void
policyd_args_parse(int argc, char **argv, struct policyd_args *a)
{
	int ch;

	a->config = POLICYD_DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:F:o:ftnv")) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 'F':
			if (strcmp(optarg, "native") == 0)
				a->format = POLICYD_FORMAT_NATIVE;
			else if (strcmp(optarg, "pyspf") == 0)
				a->format = POLICYD_FORMAT_PYSPF;
			else
				policyd_usage();
			break;
		case 'o':
			if (a->noverrides == POLICYD_MAX_OVERRIDES)
				policyd_usage();
			a->overrides[a->noverrides++] = optarg;
			break;
		case 'f': a->foreground = true; break;
		case 't': a->test = true; break;
		case 'n': a->print = true; break;
		case 'v': a->verbose = true; break;
		default: policyd_usage();
		}
	}
	if (optind != argc)
		policyd_usage();
}

/* policyd_start - bind, drop privileges, detach */
static void
policyd_start(struct policyd_server *s, struct event_base *base, bool foreground)
{
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (policyd_privs_owner(s, s->config) < 0 ||
	    policyd_listen_open(s, s->config) < 0)
		log_fatal("cannot open the listeners");
	if (policyd_metrics_open(s->config, &err) < 0) {
		log_error_lines("cannot start", buf_cstr(&err));
		log_fatal("cannot open the metrics listener");
	}
	buf_clear(&err);
	if (policyd_privs_drop(s->config) < 0)
		log_fatal("cannot drop privileges");
	if (!foreground) {
		if (daemon(0, 0) < 0)
			log_fatal("daemon: %m");
		if (event_reinit(base) < 0)
			log_fatal("event_reinit failed");
	}
}

int
main(int argc, char **argv)
{
	struct policyd_args a = { 0 };
	struct policyd_server s;
	struct policyd_config *c;
	struct event_base *base;
	struct buf err;
	int rc;

	if (argc > 1 && strcmp(argv[1], "query") == 0)
		return policyd_query_main(argc - 1, argv + 1);
	if ((rc = cli_std(argc, argv, "policyd", POLICYD_USAGE)) >= 0)
		return rc;
	policyd_args_parse(argc, argv, &a);
	log_open("policyd", a.foreground || a.test || a.print ? LOG_DEST_STDERR :
	    LOG_DEST_SYSLOG);
	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(a.config, a.format, a.overrides, &err);
	if (c == NULL) {
		/* the administrator sees the file:line list; syslog gets it too */
		fprintf(stderr, "%s", buf_cstr(&err));
		if (!(a.foreground || a.test || a.print))
			log_error_lines("bad configuration", buf_cstr(&err));
		log_fatal("bad configuration in %s; not started", a.config);
	}
	buf_clear(&err);
	log_set_debug(a.verbose || c->log_level >= 2);
	if (a.print)
		config_print(&policyd_config_schema, c, stdout);
	if (a.test || a.print) {
		/* -t: every problem in one run, as the run user where it matters */
		rc = EX_OK;
		if (a.test && policyd_listen_probe(c) < 0)
			rc = EX_CONFIG;
		if (a.test && metrics_proc_probe(c->metrics_listen, &err) < 0) {
			fprintf(stderr, "%s", buf_cstr(&err));
			rc = EX_CONFIG;
		}
		buf_reset(&err);
		if (a.test && policyd_privs_check(c, a.config) < 0)
			rc = EX_CONFIG;
		if (a.test && dns_probe_forwarders((const char *const *)c->dns_forwarders.items,
		    DNS_PROBE_TIMEOUT_MS, &err) < 0)
			fprintf(stderr, "%s", buf_cstr(&err));	/* a warning only */
		buf_clear(&err);
		policyd_config_unref(c);
		return rc;
	}
	base = event_base_new();
	policyd_server_init(&s, base, NULL, c);
	s.config_path = a.config;
	s.config_format = a.format;
	s.overrides = a.overrides;
	/* handlers first: a SIGHUP during start-up must not kill the daemon */
	policyd_server_signals(&s);
	policyd_start(&s, base, a.foreground);
	log_info("started (version %s)", cli_version_string());
	if (s.config->worker_processes > 1 &&
	    (rc = policyd_master_run(&s)) != 0) {
		/* the master: every worker has exited */
		log_info("stopped");
		metrics_proc_close();
		policyd_server_clear(&s);
		event_base_free(base);
		return rc < 0 ? POLICYD_EXIT_CONFIG : 0;
	}
	/* the one process, or a worker: each has its own resolver */
	s.env.dns = policyd_dns_new(base, s.config, NULL);
	if (s.env.dns == NULL && s.is_worker) {
		/* the master stops instead of starting another (EX_CONFIG) */
		log_error("cannot start the resolver");
		exit(POLICYD_EXIT_CONFIG);
	}
	if (s.env.dns == NULL)
		log_fatal("cannot start the resolver");
	if (!s.is_worker)
		metrics_proc_serve(base);
	/* sockets and resolver are set up; a reload only reads files; a single
	 * process removes its unix sockets at exit */
	if (sandbox_enter(s.is_worker ? 0 : SANDBOX_UNLINK) < 0) {
		if (s.is_worker)
			exit(POLICYD_EXIT_CONFIG);
		log_fatal("cannot confine the process");
	}
	if (!s.is_worker)
		policyd_server_ready(&s);
	event_base_dispatch(base);
	log_info("stopped");
	metrics_proc_close();
	policyd_server_clear(&s);
	dns_resolver_free(s.env.dns);
	event_base_free(base);
	return 0;
}
