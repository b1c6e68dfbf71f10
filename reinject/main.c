/*
 * main.c - reinject(8): parse the configuration, bind, drop privileges, run.
 *
 *   reinject [-c file] [-f] [-t] [-n] [-e] [-d]
 *   reinject keygen ...   reinject testkey ...   (DKIM key tools)
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli.h"
#include "config_build.h"
#include "dns.h"
#include "dns_probe.h"
#include "dkim_table.h"
#include "log.h"
#include "metrics.h"
#include "privs.h"
#include "reinject.h"

#define REINJECT_DEFAULT_CONF	MAILAUTH_SYSCONFDIR "/reinject.conf"


#define REINJECT_USAGE \
	"usage: reinject [-c config] [-f] [-t] [-n] [-e] [-d]\n" \
	"       reinject keygen|testkey|dmarc-check|doctor ... (--help for each)\n" \
	"       reinject --help | --version\n" \
	"  -c config  configuration file (default " REINJECT_DEFAULT_CONF ")\n" \
	"  -f         foreground, log to stderr (under a supervisor)\n" \
	"  -t         check the configuration, keys, tables, directories and\n" \
	"             listeners as the run user, then exit (0 or 78)\n" \
	"  -n         print the effective configuration\n" \
	"  -e         log to stderr\n" \
	"  -d         debug logging\n" \
	"exit status: 0 ok, 64 usage, 78 configuration or start-up error\n"

/* reinject_usage - print usage and exit 64 (EX_USAGE) */
static void __attribute__((noreturn))
reinject_usage(void)
{
	exit(cli_usage(REINJECT_USAGE));
}

/*
 * reinject_spool_dir - create the spool directory for user when missing.  An
 * existing one is left as it is.  The one made here is given to the user
 * through a descriptor opened without following a link, and only while it
 * is still root's directory: the parent may be writable by others, who could
 * swap the new directory for a link between mkdir and the chown.
 */
static void
reinject_spool_dir(const struct reinject_conf *c, const struct passwd *pw)
{
	const char *dir = c->spool_directory;
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return;
		log_fatal("spool_directory %s: %s", dir, strerror(errno));
	}
	if (pw == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		log_fatal("spool_directory %s: %s", dir, strerror(errno));
	if (st.st_uid != geteuid())
		log_fatal("spool_directory %s: replaced by another owner's directory "
		    "after it was made; not given to %s", dir, pw->pw_name);
	if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0)
		log_fatal("spool_directory %s: chown: %s", dir, strerror(errno));
	close(fd);
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

/* reinject_check_here - load everything a worker would, with our own ids */
static int
reinject_check_here(const struct reinject_conf *c, const char *path)
{
	struct passwd *me = getpwuid(geteuid());
	struct buf err;
	int rc, fd;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	/* the master reads it again on SIGHUP, as the run user */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		fprintf(stderr, "%s: not readable as user %s (read again on reload): %s\n",
		    path, me ? me->pw_name : "?", strerror(errno));
	else
		close(fd);
	rc = reinject_worker_check(c, &err);
	if (rc < 0)
		fprintf(stderr, "%s", buf_cstr(&err));
	buf_clear(&err);
	/* a forwarder that does not answer: a warning, the start is not refused */
	if (dns_probe_forwarders((const char *const *)c->dns_forwarders.items,
	    DNS_PROBE_TIMEOUT_MS, &err) < 0)
		fprintf(stderr, "%s", buf_cstr(&err));
	buf_clear(&err);
	if (access(c->spool_directory, W_OK | X_OK) < 0 && errno != ENOENT) {
		fprintf(stderr, "spool_directory %s: %s\n", c->spool_directory,
		    strerror(errno));
		rc = -1;
	}
	/* the report store, its spool and the failure report queue */
	if (reinject_report_check(c, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		rc = -1;
	}
	buf_clear(&err);
	return rc < 0 || fd < 0 ? EX_CONFIG : EX_OK;
}

/*
 * reinject_check - -t: load everything a worker would, report, exit.  As
 * root the check runs in a child that became user first: workers run as
 * that user, so a key only root can read must fail here as it would there.
 */
static int
reinject_check(struct reinject_conf *c, const char *path)
{
	struct passwd *pw;
	struct buf err;
	pid_t pid;
	int st, rc = EX_OK;

	/* every listener, before anything else can stop the check */
	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (reinject_listen_probe(c, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		rc = EX_CONFIG;
	}
	buf_reset(&err);
	if (metrics_proc_probe(c->metrics_listen, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		rc = EX_CONFIG;
	}
	buf_clear(&err);
	if (geteuid() != 0) {
		st = reinject_check_here(c, path);
		return st != EX_OK ? st : rc;
	}
	if ((pw = privs_user(c->user)) == NULL) {
		/* the rest is still checked, as root, to list every problem */
		reinject_check_here(c, path);
		return EX_CONFIG;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		return EX_OSERR;
	}
	if (pid == 0)
		_exit(privs_become(pw) < 0 ? EX_CONFIG : reinject_check_here(c, path));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return EX_OSERR;
	st = WIFEXITED(st) ? WEXITSTATUS(st) : EX_SOFTWARE;
	return st != EX_OK ? st : rc;
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
	if ((ch = cli_std(argc, argv, "reinject", REINJECT_USAGE)) >= 0)
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
			(void)reinject_check(&c, path);
		reinject_conf_free(&c);
		buf_clear(&err);
		return EX_CONFIG;
	}
	if (print || test) {
		ch = print ? 0 : reinject_check(&c, path);
		if (print)
			config_print(&reinject_conf_schema, &c, stdout);
		reinject_conf_free(&c);
		buf_clear(&err);
		return ch;
	}
	if (c.syslog && !to_stderr)
		log_open("reinject", LOG_DEST_SYSLOG);
	if (reinject_listen_open(&c, &err) < 0 || reinject_metrics_open(&c, &err) < 0) {
		log_error_lines("cannot start", buf_cstr(&err));
		log_fatal("not started");
	}
	reinject_drop(&c);
	/* as the run user, as the workers will: a table, key or DNS error stops
	 * the start-up here instead of workers dying and being restarted forever */
	if (reinject_worker_check(&c, &err) < 0) {
		log_error_lines("cannot start", buf_cstr(&err));
		log_fatal("not started");
	}
	reinject_startlog(&c);
	reinject_metrics_keys(&c);
	ch = reinject_master_run(&c, path);
	reinject_conf_free(&c);
	buf_clear(&err);
	return ch;
}
