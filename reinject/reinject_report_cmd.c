/*
 * reinject_report_cmd.c - "reinject report": what the report store holds and
 * what would be sent, for an operator, before reporting is switched on.
 *
 *   reinject report [-c file] list               periods, domains, counts, state
 *   reinject report [-c file] show DOMAIN [P]    the RFC 9990 XML of a report
 *   reinject report [-c file] [-d DIR] generate DOMAIN [P]
 *                                                the .xml.gz under its RFC name
 *   reinject report [-c file] mail DOMAIN [P]    the whole message
 *   reinject report [-c file] send [--dry-run]   send every report due now
 *                                                (dry run: print them instead)
 *
 * P is a period's start as listed (seconds since 1970) or YYYY-MM-DD (UTC);
 * by default the last period that has ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config_build.h"
#include "reinject.h"
#include "reinject_report.h"
#include "report.h"
#include "store.h"

#define REPORT_CMD_DEFAULT_CONF	MAILAUTH_SYSCONFDIR "/reinject.conf"

struct report_cmd {
	struct reinject_conf conf;
	struct store *st;
	const char *dir;		/* generate: output directory */
};

/* cmd_usage - print usage; exit status 2 */
static int
cmd_usage(void)
{
	fprintf(stderr, "usage: reinject report [-c config] list\n"
	    "       reinject report [-c config] show DOMAIN [PERIOD]\n"
	    "       reinject report [-c config] [-d DIR] generate DOMAIN [PERIOD]\n"
	    "       reinject report [-c config] mail DOMAIN [PERIOD]\n"
	    "       reinject report [-c config] send [--dry-run]\n");
	return 2;
}

/* cmd_period - PERIOD as a start time: digits, or YYYY-MM-DD (UTC) */
static int
cmd_period(const char *s, int64_t *out)
{
	struct tm tm;
	char *end;
	long long v;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* cmd_print_period - one line of "list" */
static int
cmd_print_period(void *arg, const struct store_period *p)
{
	char when[32];
	time_t t = (time_t)p->begin;
	struct tm tm;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%lld %s %s %lld %s\n", (long long)p->begin, when, p->policy_domain,
	    (long long)p->messages, p->state[0] ? p->state : "open");
	return 0;
}

/* cmd_xml - the report of domain for the period at begin into xml */
static int
cmd_xml(struct report_cmd *rc, const char *domain, int64_t begin, struct buf *xml,
    struct report_meta *m, char *ebuf, size_t esize)
{
	reinject_report_meta(&rc->conf, begin, m, ebuf, esize);
	buf_init(xml, rc->conf.report.xml_size_limit);
	if (report_xml_build(rc->st, m, domain, xml) < 0) {
		fprintf(stderr, "reinject report: %s\n", buf_cstr(xml));
		buf_clear(xml);
		return -1;
	}
	return 0;
}

/* cmd_write - generate: DIR/NAME.xml.gz, created, never overwritten */
static int
cmd_write(struct report_cmd *rc, const char *domain, const struct report_meta *m,
    const struct buf *xml)
{
	char name[1024], path[4096];
	struct buf gz;
	int fd, ok;

	if (report_filename(name, sizeof(name), domain, m) < 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", rc->dir, name) >= sizeof(path))
		return -1;
	buf_init(&gz, rc->conf.report.xml_size_limit);
	if (report_gzip(xml->data, xml->len, &gz) < 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644)) < 0) {
		fprintf(stderr, "reinject report: %s: %s\n", path, strerror(errno));
		buf_clear(&gz);
		return -1;
	}
	ok = write(fd, gz.data, gz.len) == (ssize_t)gz.len;
	ok = close(fd) == 0 && ok;
	buf_clear(&gz);
	if (!ok)
		fprintf(stderr, "reinject report: %s: write failed\n", path);
	else
		printf("%s\n", path);
	return ok ? 0 : -1;
}

/* cmd_mail - the message as it would be sent, recipients from rua= */
static int
cmd_mail(struct report_cmd *rc, const char *domain, const struct report_meta *m,
    const struct buf *xml)
{
	struct report_rua rua;
	struct store_row pol;
	const char *to[DMARC_URI_LIMIT];
	struct report_mail rm = { m, domain, to, 0, xml->data, xml->len, time(NULL) };
	struct buf msg;
	int rc_ = -1;

	if (store_policy(rc->st, domain, m->begin, m->end, &pol) <= 0)
		return -1;
	report_rua_parse(pol.rua, strlen(pol.rua), &rua);
	for (size_t i = 0; i < rua.n; i++)
		to[rm.nto++] = rua.uri[i].addr;
	if (rm.nto == 0) {
		fprintf(stderr, "reinject report: %s published no usable rua= mailto: URI\n",
		    domain);
		return -1;
	}
	buf_init(&msg, rc->conf.report.xml_size_limit);
	if (report_mail_build(&rm, &msg) == 0) {
		fwrite(msg.data, 1, msg.len, stdout);
		rc_ = 0;
	}
	buf_clear(&msg);
	return rc_;
}

/* cmd_last_period - the last period that has ended */
static int64_t
cmd_last_period(const struct report_cmd *rc)
{
	int64_t now = (int64_t)time(NULL);

	return store_period_of(rc->st, now) - rc->conf.report.period;
}

/* cmd_report - show / generate / mail */
static int
cmd_report(struct report_cmd *rc, const char *verb, int argc, char **argv)
{
	struct report_meta m;
	struct buf xml;
	char ebuf[300];
	int64_t begin;
	int r;

	if (argc < 1 || argc > 2)
		return cmd_usage();
	begin = cmd_last_period(rc);
	if (argc == 2 && cmd_period(argv[1], &begin) < 0)
		return cmd_usage();
	begin = store_period_of(rc->st, begin);
	if (cmd_xml(rc, argv[0], begin, &xml, &m, ebuf, sizeof(ebuf)) < 0)
		return 1;
	if (strcmp(verb, "show") == 0)
		r = fwrite(xml.data, 1, xml.len, stdout) == xml.len ? 0 : -1;
	else if (strcmp(verb, "generate") == 0)
		r = cmd_write(rc, argv[0], &m, &xml);
	else
		r = cmd_mail(rc, argv[0], &m, &xml);
	buf_clear(&xml);
	return r < 0 ? 1 : 0;
}

/* cmd_open - settings and store */
static int
cmd_open(struct report_cmd *rc, const char *path)
{
	struct store_conf sc;
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	if (reinject_conf_load(&rc->conf, access(path, F_OK) == 0 ||
	    strcmp(path, REPORT_CMD_DEFAULT_CONF) ? path : NULL, &err) < 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		buf_clear(&err);
		return -1;
	}
	reinject_report_store_conf(&rc->conf, &sc);
	if (!(rc->st = store_open(&sc, &err)))
		fprintf(stderr, "reinject report: %s\n", buf_cstr(&err));
	buf_clear(&err);
	return rc->st ? 0 : -1;
}

/* reinject_report_main - "reinject report ..." */
int
reinject_report_main(int argc, char **argv)
{
	struct report_cmd rc;
	const char *path = REPORT_CMD_DEFAULT_CONF;
	int ch, r;

	memset(&rc, 0, sizeof(rc));
	rc.dir = ".";
	optind = 1;
	while ((ch = getopt(argc, argv, "+c:d:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else if (ch == 'd')
			rc.dir = optarg;
		else
			return cmd_usage();
	}
	if (optind >= argc)
		return cmd_usage();
	if (cmd_open(&rc, path) < 0)
		return 1;
	if (strcmp(argv[optind], "list") == 0 && optind + 1 == argc)
		r = store_periods(rc.st, INT64_MAX, cmd_print_period, NULL) < 0 ? 1 : 0;
	else if (strcmp(argv[optind], "send") == 0 && optind + 1 == argc)
		r = reinject_report_send_due(&rc.conf, time(NULL), false, stdout) < 0;
	else if (strcmp(argv[optind], "send") == 0 && optind + 2 == argc &&
	    strcmp(argv[optind + 1], "--dry-run") == 0)
		r = reinject_report_send_due(&rc.conf, time(NULL), true, stdout) < 0;
	else if (strcmp(argv[optind], "show") == 0 ||
	    strcmp(argv[optind], "generate") == 0 || strcmp(argv[optind], "mail") == 0)
		r = cmd_report(&rc, argv[optind], argc - optind - 1, argv + optind + 1);
	else
		r = cmd_usage();
	if (r == 1 && strcmp(argv[optind], "list") == 0)
		fprintf(stderr, "reinject report: %s\n", store_error(rc.st));
	store_close(rc.st);
	reinject_conf_free(&rc.conf);
	return r;
}
