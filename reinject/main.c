/*
 * main.c - reinject(8): parse the configuration, bind, drop privileges, run.
 *
 *   reinject [-c file] [-f] [-t] [-n] [-e] [-d]
 *   reinject keygen ...   reinject testkey ...   (DKIM key tools)
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "config_build.h"
#include "dns.h"
#include "dkim_table.h"
#include "log.h"
#include "privs.h"
#include "reinject.h"

#define REINJECT_DEFAULT_CONF	MAILAUTH_SYSCONFDIR "/reinject.conf"


/* reinject_usage - print usage and exit 2 */
static void
reinject_usage(void)
{
	fprintf(stderr, "usage: reinject [-c config] [-f] [-t] [-n] [-e] [-d]\n"
	    "       reinject keygen ... | reinject testkey ...\n");
	exit(2);
}

/* reinject_spool_dir - create the spool directory for user when missing */
static void
reinject_spool_dir(const struct reinject_conf *c, const struct passwd *pw)
{
	struct stat st;

	if (stat(c->spool_directory, &st) == 0)
		return;
	if (mkdir(c->spool_directory, 0700) < 0)
		log_fatal("spool_directory %s: %s", c->spool_directory, strerror(errno));
	if (pw && chown(c->spool_directory, pw->pw_uid, pw->pw_gid) < 0)
		log_fatal("spool_directory %s: chown: %s", c->spool_directory,
		    strerror(errno));
}

/* reinject_drop - run as the configured user (when started as root) */
static void
reinject_drop(const struct reinject_conf *c)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		reinject_spool_dir(c, NULL);
		return;
	}
	if (!(pw = privs_user(c->user)))
		log_fatal("reinject.conf user: cannot run as \"%s\"", c->user);
	reinject_spool_dir(c, pw);
	if (privs_become(pw) < 0)
		log_fatal("cannot give up root");
}

/* reinject_check - -t: load everything a worker would, report, exit */
static int
reinject_check(const struct reinject_conf *c)
{
	struct buf err;
	int rc;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	rc = reinject_worker_check(c, &err);
	if (rc < 0)
		fprintf(stderr, "%s", buf_cstr(&err));
	buf_clear(&err);
	return rc < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *path = REINJECT_DEFAULT_CONF;
	bool test = false, print = false, to_stderr = false, debug = false;
	struct reinject_conf c;
	struct buf err;
	int ch;

	if ((ch = reinject_subcmd(argc, argv)) >= 0)
		return ch;
	while ((ch = getopt(argc, argv, "c:ftned")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': to_stderr = true; break;	/* foreground under a supervisor */
		case 't': test = true; break;
		case 'n': print = true; break;
		case 'e': to_stderr = true; break;
		case 'd': debug = true; break;
		default: reinject_usage();
		}
	}
	if (optind != argc)
		reinject_usage();
	log_open("reinject", LOG_DEST_STDERR);
	log_set_debug(debug);
	buf_init(&err, CONFIG_ERROR_LIMIT);
	/* a missing file is an error, the default one too: an admin's file
	 * must never be silently replaced by the built-in defaults (-c /dev/null
	 * asks for those) */
	if (reinject_conf_load(&c, path, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		/* -t: the tables' and host lists' errors too, in the same run */
		if (test)
			(void)reinject_check(&c);
		return 1;
	}
	if (print || test) {
		ch = print ? 0 : reinject_check(&c);
		if (print)
			config_print(&reinject_conf_schema, &c, stdout);
		reinject_conf_free(&c);
		buf_clear(&err);
		return ch;
	}
	if (c.syslog && !to_stderr)
		log_open("reinject", LOG_DEST_SYSLOG);
	if (reinject_listen_open(&c, &err) < 0)
		log_fatal("%s", buf_cstr(&err));
	reinject_drop(&c);
	/* as the run user, as the workers will: a table, key or DNS error stops
	 * the start-up here instead of workers dying and being restarted forever */
	if (reinject_worker_check(&c, &err) < 0)
		log_fatal("%s", buf_cstr(&err));
	ch = reinject_master_run(&c, path);
	reinject_conf_free(&c);
	buf_clear(&err);
	return ch;
}
