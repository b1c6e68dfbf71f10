/*
 * reinject_failure_send.c - sending the DMARC failure reports (RFC 9991)
 * the workers queued in report_failure_directory: one pass, started by the
 * master's tick every report_failure_interval, one pass at a time (a lock
 * file).  Oldest first, each queue file is
 *   - skipped while still being written, dropped when malformed or older
 *     than report_failure_lifetime;
 *   - dropped when its policy domain had report_failure_rate_limit reports
 *     in this hour (RFC 9991 "DMARC Failure Reports": rate limiting).  With
 *     report_enable the count is the fleet's, in the report store (a count
 *     is taken before sending, atomically below the limit, and given back
 *     when the report is not sent); this host's own counts are kept in the
 *     file "rate" of the directory too, and used alone when the store is
 *     down (logged);
 *   - sent to each ruf= mailto destination that is not on
 *     report_ignore_mailto, whose size limit the report fits, and that
 *     is in the policy domain's Organizational Domain or confirmed by
 *     "<domain>._report._dmarc.<host>" (RFC 9991 "Verifying External
 *     Destinations", through RFC 9990's procedure with ruf=);
 *   - kept for the next pass when DNS or the relay fail for now.
 * Every outcome is logged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "reinject.h"
#include "reinject_report.h"
#include "report.h"
#include "report_failure.h"
#include "store.h"

/* Our bound on queue files looked at in one pass (the queue holds at most
 * report_failure_queue_limit; a longer listing is read in later passes). */
#define FSEND_SCAN_LIMIT	100000
/* The counts file and the lock file in the queue directory. */
#define FSEND_RATE		"rate"
#define FSEND_RATE_NEW		"rate.new"
#define FSEND_LOCK		"lock"

struct fsend {
	const struct reinject_conf *c;
	int dirfd;
	int64_t now, hour;
	struct event_base *base;
	struct dns_resolver *dns;
	struct report_rate rate;
	struct store *st;		/* the fleet's counts; NULL: the file only */
	char from[300];
	int sent, dropped, kept;
};

/* fsend_read - the whole file name (at most limit bytes) into out; its
 * modification time in *mtime; -1 on error or when larger */
static int
fsend_read(struct fsend *s, const char *name, size_t limit, struct buf *out,
    int64_t *mtime)
{
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char chunk[65536];
	ssize_t n = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > limit) {
		close(fd);
		return -1;
	}
	*mtime = (int64_t)st.st_mtime;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 &&
	    buf_append(out, chunk, (size_t)n) == 0)
		;
	close(fd);
	return n < 0 || out->overflow ? -1 : 0;
}

/* fsend_drop - remove a queue file, with the reason in the log */
static void
fsend_drop(struct fsend *s, const char *name, const char *domain, const char *why)
{
	log_warn("dmarc failure report %s (%s): %s; dropped", name, domain[0] ? domain : "-",
	    why);
	unlinkat(s->dirfd, name, 0);
	s->dropped++;
}

/* fsend_verify - run the destination check of one ruf= host to its end */
static void
fsend_verify(struct fsend *s, const char *domain, const char *dest,
    struct report_verify *v)
{
	report_verify_start_tag(v, s->dns, domain, dest, true);
	while (!v->done && event_base_loop(s->base, EVLOOP_ONCE) == 0)
		;
	if (!v->done) {
		report_verify_cancel(v);
		v->done = true;
		v->result = REPORT_VERIFY_TEMP;
	}
}

/* A report's recipients after the checks. */
struct fsend_dest {
	const char *to[DMARC_URI_LIMIT * DMARC_URI_LIMIT];
	size_t nto;
	bool temp;
	struct report_rua ruf, over[DMARC_URI_LIMIT];
};

/* fsend_add - one confirmed URI as a recipient, unless suppressed or the
 * report is over its size limit */
static void
fsend_add(struct fsend *s, struct fsend_dest *d, const struct report_uri *u,
    size_t size, const char *domain)
{
	if (reinject_report_ignored(s->c, u)) {
		log_info("dmarc failure report %s: %s is on report_ignore_mailto", domain,
		    u->addr);
		return;
	}
	if (u->size_limit && size > u->size_limit) {
		log_warn("dmarc failure report %s: %zu bytes, over the limit %llu of %s: "
		    "not sent there", domain, size, (unsigned long long)u->size_limit,
		    u->addr);
		return;
	}
	for (size_t i = 0; i < d->nto; i++)
		if (strcasecmp(d->to[i], u->addr) == 0)
			return;
	if (d->nto < ARRAY_LEN(d->to))
		d->to[d->nto++] = u->addr;
}

/* fsend_dests - the confirmed recipients of a report of size bytes */
static void
fsend_dests(struct fsend *s, const struct report_fjob *j, size_t size,
    struct fsend_dest *d)
{
	struct report_verify v;

	memset(d, 0, sizeof(*d));
	report_rua_parse(j->ruf, strlen(j->ruf), &d->ruf);
	for (size_t i = 0; i < d->ruf.n; i++) {
		const struct report_uri *u = &d->ruf.uri[i];

		fsend_verify(s, j->domain, u->domain, &v);
		if (v.result == REPORT_VERIFY_TEMP) {
			d->temp = true;
			continue;
		}
		if (v.result == REPORT_VERIFY_NO) {
			log_warn("dmarc failure report %s: %s is not confirmed by "
			    "%s._report._dmarc.%s: not sent there", j->domain, u->addr,
			    j->domain, u->domain);
			continue;
		}
		if (!v.has_override) {
			fsend_add(s, d, u, size, j->domain);
			continue;
		}
		d->over[i] = v.override;
		for (size_t k = 0; k < d->over[i].n; k++)
			fsend_add(s, d, &d->over[i].uri[k], size, j->domain);
	}
}

/* fsend_deliver - To: and the report to the relay; the relay's answer */
static enum report_smtp_result
fsend_deliver(struct fsend *s, const char *name, const struct report_fjob *j,
    const struct fsend_dest *d)
{
	struct report_smtp relay = { s->c->report.relay, s->c->myhostname,
	    s->c->report.send_timeout };
	struct buf msg, why;
	enum report_smtp_result rc;

	buf_init(&msg, j->msg_len + 64 * DMARC_URI_SIZE_LIMIT);
	buf_init(&why, 1024);
	buf_append_str(&msg, "To: ");
	for (size_t i = 0; i < d->nto; i++)
		buf_printf(&msg, "%s<%s>", i ? ",\r\n " : "", d->to[i]);
	buf_append_str(&msg, "\r\n");
	buf_append(&msg, j->msg, j->msg_len);
	switch ((rc = report_smtp_send(&relay, s->from, d->to, d->nto, msg.data, msg.len,
	    &why))) {
	case REPORT_SMTP_SENT:
		log_info("dmarc failure report %s (%s): sent to %zu recipients, %zu bytes",
		    name, j->domain, d->nto, msg.len);
		report_rate_count(&s->rate, j->domain, s->hour);
		unlinkat(s->dirfd, name, 0);
		s->sent++;
		break;
	case REPORT_SMTP_TEMPFAIL:
		log_warn("dmarc failure report %s (%s): %s; kept for the next pass", name,
		    j->domain, buf_cstr(&why));
		s->kept++;
		break;
	case REPORT_SMTP_PERMFAIL:
		fsend_drop(s, name, j->domain, buf_cstr(&why));
		break;
	}
	buf_clear(&msg);
	buf_clear(&why);
	return rc;
}

/* fsend_store_down - log the store's error; the file alone from now on */
static void
fsend_store_down(struct fsend *s)
{
	log_warn("report store: %s; failure report rates counted by this host "
	    "alone (file %s) for this pass", store_error(s->st), FSEND_RATE);
	store_close(s->st);
	s->st = NULL;
}

/* fsend_rate_take - may one more report go to domain this hour: the
 * fleet's count in the store (taken now), else this host's file */
static bool
fsend_rate_take(struct fsend *s, const char *domain, bool *taken)
{
	int limit = s->c->report.failure_rate_limit, rc;

	*taken = false;
	if (s->st && (rc = store_rate_take(s->st, domain, s->hour, limit)) >= 0) {
		*taken = rc == 1;
		return *taken;
	}
	if (s->st)
		fsend_store_down(s);
	return report_rate_allows(&s->rate, domain, s->hour, (unsigned)limit);
}

/* fsend_rate_return - give back the store's count of a report not sent */
static void
fsend_rate_return(struct fsend *s, const char *domain)
{
	if (s->st && store_rate_return(s->st, domain, s->hour) < 0)
		fsend_store_down(s);
}

/* fsend_job - a parsed, due queue file: rate limit, destinations, send */
static void
fsend_job(struct fsend *s, const char *name, const struct report_fjob *j)
{
	struct fsend_dest *d;
	bool taken, sent = false;

	if (!fsend_rate_take(s, j->domain, &taken)) {
		fsend_drop(s, name, j->domain, "report_failure_rate_limit reached this hour");
		return;
	}
	d = xmalloc(sizeof(*d));
	fsend_dests(s, j, j->msg_len + 64 * DMARC_URI_SIZE_LIMIT, d);
	if (d->nto)
		sent = fsend_deliver(s, name, j, d) == REPORT_SMTP_SENT;
	else if (d->temp) {
		log_warn("dmarc failure report %s (%s): a destination could not be "
		    "verified (DNS); kept for the next pass", name, j->domain);
		s->kept++;
	} else
		fsend_drop(s, name, j->domain, "no usable ruf= destination");
	if (taken && !sent)
		fsend_rate_return(s, j->domain);
	free(d);
}

/* fsend_file - one queue file */
static void
fsend_file(struct fsend *s, const char *name)
{
	const struct reinject_report_conf *r = &s->c->report;
	size_t limit = s->c->header_size_limit * 2 + r->failure_body_size_limit +
	    (256 * 1024);
	struct report_fjob *j = xmalloc(sizeof(*j));
	struct buf text;
	int64_t mtime = 0;
	enum report_fjob_status st = REPORT_FJOB_BAD;

	buf_init(&text, limit);
	if (fsend_read(s, name, limit, &text, &mtime) == 0)
		st = report_fjob_parse(text.data ? text.data : "", text.len, j);
	if (st == REPORT_FJOB_OK && s->now - mtime > (int64_t)r->failure_lifetime)
		fsend_drop(s, name, j->domain, "not sent within report_failure_lifetime");
	else if (st == REPORT_FJOB_OK)
		fsend_job(s, name, j);
	else if (st == REPORT_FJOB_BAD)
		fsend_drop(s, name, "", "unreadable or malformed queue file");
	else if (s->now - mtime > (int64_t)r->failure_lifetime)
		fsend_drop(s, name, "", "left unfinished by its writer");
	buf_clear(&text);
	free(j);
}

/* fsend_cmp - queue file names in order of arrival (time first) */
static int
fsend_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	long long tx = atoll(x), ty = atoll(y);

	return tx != ty ? (tx < ty ? -1 : 1) : strcmp(x, y);
}

/* fsend_names - the queue files, oldest first; count in *n */
static char **
fsend_names(struct fsend *s, size_t *n)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((e = readdir(d)) != NULL && *n < FSEND_SCAN_LIMIT) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".arf") != 0)
			continue;
		if (*n == cap)
			v = xrealloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), fsend_cmp);
	return v;
}

/* fsend_rate_load - the counts of this hour from the "rate" file */
static void
fsend_rate_load(struct fsend *s)
{
	struct buf t;
	int64_t mtime;

	buf_init(&t, 64u << 20);
	if (fsend_read(s, FSEND_RATE, t.max, &t, &mtime) == 0)
		report_rate_load(&s->rate, t.data ? t.data : "", t.len, s->hour);
	buf_clear(&t);
}

/* fsend_rate_save - the counts back, replaced at once (rename) */
static void
fsend_rate_save(struct fsend *s)
{
	struct buf t;
	int fd = openat(s->dirfd, FSEND_RATE_NEW, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	bool ok;

	if (fd < 0) {
		log_error("report_failure_directory: %s: %s", FSEND_RATE_NEW, strerror(errno));
		return;
	}
	buf_init(&t, 64u << 20);
	report_rate_save(&s->rate, &t);
	ok = !t.overflow && write(fd, t.data ? t.data : "", t.len) == (ssize_t)t.len;
	close(fd);
	if (!ok || renameat(s->dirfd, FSEND_RATE_NEW, s->dirfd, FSEND_RATE) < 0)
		log_error("report_failure_directory: cannot save the hourly counts");
	buf_clear(&t);
}

/* fsend_run - the pass over the queue files, under the lock */
static void
fsend_run(struct fsend *s)
{
	size_t n;
	char **names = fsend_names(s, &n);

	fsend_rate_load(s);
	for (size_t i = 0; i < n; i++) {
		fsend_file(s, names[i]);
		free(names[i]);
	}
	free(names);
	fsend_rate_save(s);
	if (s->sent || s->dropped || s->kept)
		log_info("failure reports: %d sent, %d dropped, %d kept for later", s->sent,
		    s->dropped, s->kept);
}

/* fsend_store_open - with report_enable, the store holding the fleet's
 * counts; when it cannot be opened, the file alone (logged) */
static void
fsend_store_open(struct fsend *s)
{
	struct store_conf sc;
	struct buf err;

	if (!s->c->report.enable)
		return;
	reinject_report_store_conf(s->c, &sc);
	buf_init(&err, 1024);
	if (!(s->st = store_open(&sc, &err)))
		log_warn("%s; failure report rates counted by this host alone (file %s) "
		    "for this pass", buf_cstr(&err), FSEND_RATE);
	buf_clear(&err);
}

/* reinject_failure_send_due - one pass over the queue */
int
reinject_failure_send_due(const struct reinject_conf *c, long long now)
{
	struct fsend s = { .c = c, .now = now, .hour = now / 3600 };
	int lock, rc = -1;

	s.dirfd = open(c->report.failure_directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (s.dirfd < 0) {
		log_error("report_failure_directory %s: %s", c->report.failure_directory,
		    strerror(errno));
		return -1;
	}
	lock = openat(s.dirfd, FSEND_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0) {
		snprintf(s.from, sizeof(s.from), "%s", c->report.email);
		if (!s.from[0])
			snprintf(s.from, sizeof(s.from), "dmarc-noreply@%s", c->myhostname);
		s.base = event_base_new();
		if ((s.dns = reinject_worker_dns(s.base, c)) != NULL) {
			fsend_store_open(&s);
			fsend_run(&s);
			store_close(s.st);
			dns_resolver_free(s.dns);
			rc = 0;
		}
		event_base_free(s.base);
	} else
		rc = lock >= 0 && errno == EWOULDBLOCK ? 0 : -1;	/* a pass runs */
	if (lock >= 0)
		close(lock);
	report_rate_clear(&s.rate);
	close(s.dirfd);
	return rc;
}
