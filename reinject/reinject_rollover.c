/*
 * reinject_rollover.c - DKIM key rollover in the workers (reinject_rollover.h):
 * load the plans beside the key files, ask DNS for each next selector's key
 * record (RFC 6376 §3.6.2.2) with the checks of reinject testkey, switch the
 * signing table entry once the published key matches (RFC 6376 §3.6.1), and
 * say when the old record can go.  Until the switch the current key keeps
 * signing: a signature must never name a record that is not published.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dkim_table.h"
#include "dns.h"
#include "log.h"
#include "reinject.h"
#include "reinject_rollover.h"
#include "reinject_tools.h"

/* Room for the report of one check (reinject testkey's lines). */
#define ROLLOVER_REPORT_MAX	1024

struct rollover_key {
	struct reinject_rollover *ro;
	size_t index;			/* the signing table entry */
	char *domain, *old_selector, *plan_path;
	struct reinject_rollover_plan plan;
	EVP_PKEY *key;
	enum dkim_alg alg;
	struct dns_query *q;		/* pending lookup, or NULL */
	bool switched, told;
	time_t switched_at;
	char last[ROLLOVER_REPORT_MAX];	/* the last report logged */
};

struct reinject_rollover {
	struct dkim_table *table;
	const struct reinject_conf *conf;
	struct dns_resolver *dns;
	struct event *timer;
	size_t n;
	struct rollover_key *k;
};

/* rollover_read - the plan file's text; 1 read, 0 no plan, -1 error */
static int
rollover_read(const char *path, char *out, size_t size, size_t *len,
    struct buf *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	ssize_t n;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, out, size)) < 0) {
		buf_printf(err, "%s: %s\n", path, fd < 0 ? strerror(errno) :
		    "not a regular file, or unreadable");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if ((size_t)n == size) {
		buf_printf(err, "%s: longer than %zu bytes\n", path, size - 1);
		return -1;
	}
	*len = (size_t)n;
	return 1;
}

/* rollover_key_load - the next key of plan, checked like the current one */
static int
rollover_key_load(struct rollover_key *rk, const struct dkim_table_key_info *cur,
    struct buf *err)
{
	char why[DKIM_TABLE_ERR_MAX];

	if (strcasecmp(rk->plan.selector, cur->selector) == 0) {
		buf_printf(err, "%s: next_selector %s is the current selector\n",
		    rk->plan_path, rk->plan.selector);
		return -1;
	}
	rk->alg = cur->alg;
	rk->key = dkim_table_key_load_file(rk->plan.key_file, true, &rk->alg, NULL,
	    why, sizeof(why));
	if (rk->key == NULL) {
		buf_printf(err, "%s: next_key_file: %s (the next key must be a %s "
		    "key, as the current one)\n", rk->plan_path, why,
		    dkim_alg_str(cur->alg));
		return -1;
	}
	return 0;
}

/* rollover_plan - the plan beside one key file, if any; -1 on error */
static int
rollover_plan(struct reinject_rollover *ro, size_t i,
    const struct dkim_table_key_info *cur, struct buf *err)
{
	char text[REINJECT_ROLLOVER_FILE_MAX + 1], path[REINJECT_ROLLOVER_PATH_MAX + 8];
	struct rollover_key rk = { .ro = ro, .index = i };
	size_t len = 0;
	int r;

	if (snprintf(path, sizeof(path), "%s.next", cur->path) >= (int)sizeof(path))
		return 0;
	if ((r = rollover_read(path, text, sizeof(text), &len, err)) <= 0)
		return r;
	rk.plan_path = path;
	if (reinject_rollover_parse(text, len, path, &rk.plan, err) < 0 ||
	    rollover_key_load(&rk, cur, err) < 0)
		return -1;
	rk.plan_path = xstrdup(path);
	rk.domain = xstrdup(cur->domain);
	rk.old_selector = xstrdup(cur->selector);
	ro->k = xrealloc(ro->k, (ro->n + 1) * sizeof(*ro->k));
	ro->k[ro->n++] = rk;
	return 0;
}

/* reinject_rollover_load - the plans beside every key file of t */
struct reinject_rollover *
reinject_rollover_load(struct dkim_table *t, const struct reinject_conf *c,
    bool *failed, struct buf *err)
{
	struct reinject_rollover *ro = xcalloc(1, sizeof(*ro));
	struct dkim_table_key_info k;

	*failed = false;
	ro->table = t;
	ro->conf = c;
	for (size_t i = 0; t != NULL && dkim_table_key_get(t, i, &k) == 0; i++) {
		/* a per-domain ("%") or inline key has no file to sit beside */
		if (k.path == NULL || k.key == NULL || strchr(k.domain, '%'))
			continue;
		if (rollover_plan(ro, i, &k, err) < 0)
			*failed = true;
	}
	if (*failed || ro->n == 0) {
		reinject_rollover_free(ro);
		return NULL;
	}
	return ro;
}

/* rollover_when - "2026-12-14 13:00 UTC" */
static void
rollover_when(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M UTC",
	    &tm) == 0)
		snprintf(out, size, "@%lld", (long long)t);
}

/* rollover_switch - the record matches: sign with the next key from now on */
static void
rollover_switch(struct rollover_key *rk)
{
	char until[64];

	if (dkim_table_key_switch(rk->ro->table, rk->index, rk->plan.selector,
	    rk->key, rk->alg) < 0) {
		log_error("dkim rollover: d=%s: cannot switch to s=%s", rk->domain,
		    rk->plan.selector);
		return;
	}
	rk->switched = true;
	rk->switched_at = time(NULL);
	rollover_when(rk->switched_at + (time_t)rk->ro->conf->dkim_rollover_keep_time,
	    until, sizeof(until));
	log_info("dkim rollover: d=%s: switched from s=%s to s=%s: the published "
	    "record matches %s; keep %s._domainkey.%s published until %s "
	    "(dkim_rollover_keep_time)", rk->domain, rk->old_selector,
	    rk->plan.selector, rk->plan.key_file, rk->old_selector, rk->domain, until);
}

/* rollover_report - testkey's lines as one log phrase */
static void
rollover_report(char *text)
{
	size_t len = strlen(text);

	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	for (char *p = text; *p; p++)
		if (*p == '\n')
			*p = ';';
}

/* rollover_answer - the next selector's record: switch, or say why not */
static void
rollover_answer(void *arg, const struct dns_answer *a)
{
	struct rollover_key *rk = arg;
	char text[ROLLOVER_REPORT_MAX] = "";
	FILE *out = fmemopen(text, sizeof(text) - 1, "w");
	int rc = REINJECT_TOOL_DNS_ERROR;

	rk->q = NULL;
	if (out != NULL) {
		rc = reinject_testkey_answer(a, rk->key, rk->alg, rk->plan.key_file, out);
		fclose(out);
	}
	rollover_report(text);
	if (rc == REINJECT_TOOL_OK) {
		rollover_switch(rk);
		return;
	}
	if (strcmp(text, rk->last) != 0)
		log_info("dkim rollover: d=%s: not switching to s=%s yet: %s; still "
		    "signing with s=%s", rk->domain, rk->plan.selector, text,
		    rk->old_selector);
	snprintf(rk->last, sizeof(rk->last), "%s", text);
}

/* rollover_tell - once the keep time is over, say the old record may go */
static void
rollover_tell(struct rollover_key *rk)
{
	if (rk->told || time(NULL) < rk->switched_at +
	    (time_t)rk->ro->conf->dkim_rollover_keep_time)
		return;
	rk->told = true;
	log_info("dkim rollover: d=%s: %s._domainkey.%s can be removed now: name "
	    "s=%s and %s in the signing configuration in place of s=%s, delete %s, "
	    "reload, then remove the record", rk->domain, rk->old_selector,
	    rk->domain, rk->plan.selector, rk->plan.key_file, rk->old_selector,
	    rk->plan_path);
}

/* rollover_check - one round: look up what still waits, tell what is due */
static void
rollover_check(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_rollover *ro = arg;
	struct timeval tv = { (time_t)ro->conf->dkim_rollover_check_interval, 0 };
	char name[2 * DKIM_TABLE_DOMAIN_MAX + 16];

	(void)fd;
	(void)ev;
	for (size_t i = 0; i < ro->n; i++) {
		struct rollover_key *rk = &ro->k[i];

		if (rk->switched) {
			rollover_tell(rk);
			continue;
		}
		if (rk->q != NULL)
			continue;
		snprintf(name, sizeof(name), "%s._domainkey.%s", rk->plan.selector,
		    rk->domain);
		/* the answer may come before dns_query returns (cached) */
		rk->q = dns_query(ro->dns, name, DNS_TYPE_TXT, rollover_answer, rk);
	}
	evtimer_add(ro->timer, &tv);
}

/* reinject_rollover_start - check now, then every dkim_rollover_check_interval */
void
reinject_rollover_start(struct reinject_rollover *ro, struct event_base *base,
    struct dns_resolver *dns)
{
	struct timeval now = { 0, 0 };

	if (ro == NULL)
		return;
	if (dns == NULL) {
		log_error("dkim rollover: no resolver; signing stays with the "
		    "current keys");
		return;
	}
	ro->dns = dns;
	for (size_t i = 0; i < ro->n; i++)
		log_info("dkim rollover: d=%s s=%s: next key s=%s (%s) waits for "
		    "its record %s._domainkey.%s, checked every %us", ro->k[i].domain,
		    ro->k[i].old_selector, ro->k[i].plan.selector,
		    ro->k[i].plan.key_file, ro->k[i].plan.selector, ro->k[i].domain,
		    ro->conf->dkim_rollover_check_interval);
	ro->timer = evtimer_new(base, rollover_check, ro);
	evtimer_add(ro->timer, &now);
}

/* reinject_rollover_free - stop the checks, release the next keys */
void
reinject_rollover_free(struct reinject_rollover *ro)
{
	if (ro == NULL)
		return;
	if (ro->timer)
		event_free(ro->timer);
	for (size_t i = 0; i < ro->n; i++) {
		if (ro->k[i].q)
			dns_cancel(ro->dns, ro->k[i].q);
		EVP_PKEY_free(ro->k[i].key);
		free(ro->k[i].domain);
		free(ro->k[i].old_selector);
		free(ro->k[i].plan_path);
	}
	free(ro->k);
	free(ro);
}
