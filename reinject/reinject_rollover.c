/*
 * reinject_rollover.c - DKIM key rollover in the workers (reinject_rollover.h):
 * load the plans beside the key files, ask DNS for each next selector's key
 * record (RFC 6376 §3.6.2.2) with the checks of reinject testkey, switch the
 * signing table entry once the published key matches (RFC 6376 §3.6.1), and
 * say when the old record can go.  Until the switch the current key keeps
 * signing: a signature must never name a record that is not published.
 * The switch is kept in a state file (reinject_rollover_store.c) so that a
 * restarted worker signs with the next key at once, checks the record
 * again, and keeps the keep-time clock of the first switch.
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
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dkim_table.h"
#include "dns.h"
#include "log.h"
#include "reinject.h"
#include "reinject_rollover.h"
#include "reinject_tools.h"

/* Room for the report of one check (reinject testkey's lines). */
#define ROLLOVER_REPORT_MAX	1024

/* Where a key is in its rollover. */
enum rollover_phase {
	ROLLOVER_WAITING,	/* signing with the old key, checking the record */
	ROLLOVER_RESUMED,	/* switched from the state file, checking again */
	ROLLOVER_SWITCHED,	/* signing with the next key, record seen */
};

struct rollover_key {
	struct reinject_rollover *ro;
	size_t index;			/* the signing table entry */
	char *domain, *old_selector, *plan_path;
	char *state_name;		/* NULL: the switch is not kept */
	struct reinject_rollover_plan plan;
	EVP_PKEY *key, *old_key;
	enum dkim_alg alg;
	char hash[REINJECT_ROLLOVER_HASH_HEX + 1];	/* of key's public half */
	struct dns_query *q;		/* pending lookup, or NULL */
	enum rollover_phase phase;
	bool resume, told;
	time_t switched_at;
	char last[ROLLOVER_REPORT_MAX];	/* the last report logged */
};

struct reinject_rollover {
	struct dkim_table *table;
	const struct reinject_conf *conf;
	struct dns_resolver *dns;
	struct event *timer;
	int dfd;			/* spool_directory, or -1 */
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

/* rollover_hash - hex SHA-256 of the public half of key (DER) */
static void
rollover_hash(EVP_PKEY *key, char *out)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int len = i2d_PUBKEY(key, &der);

	out[0] = '\0';
	if (len <= 0 || EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen * 2 != REINJECT_ROLLOVER_HASH_HEX) {
		OPENSSL_free(der);
		return;
	}
	OPENSSL_free(der);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* rollover_state_ours - is st the switch of rk's plan, with its key */
static bool
rollover_state_ours(const struct rollover_key *rk,
    const struct reinject_rollover_state *st)
{
	return strcasecmp(st->domain, rk->domain) == 0 &&
	    strcasecmp(st->old_selector, rk->old_selector) == 0 &&
	    strcasecmp(st->next_selector, rk->plan.selector) == 0 &&
	    rk->hash[0] != '\0' && strcmp(st->key_sha256, rk->hash) == 0;
}

/* rollover_state_read - 1 and st when a readable state file is there; a
 * bad one logged unless quiet */
static int
rollover_state_read(const struct rollover_key *rk,
    struct reinject_rollover_state *st, bool quiet)
{
	struct buf err;
	int r;

	if (rk->ro->dfd < 0 || rk->state_name == NULL)
		return 0;
	buf_init(&err, 4096);
	r = reinject_rollover_store_read(rk->ro->dfd, rk->ro->conf->spool_directory,
	    rk->state_name, st, &err);
	if (r < 0 && !quiet)
		log_error("dkim rollover: d=%s: bad state file, treated as absent: %s",
		    rk->domain, buf_cstr(&err));
	buf_clear(&err);
	return r;
}

/* rollover_state_load - a switch kept from before the restart, if ours */
static void
rollover_state_load(struct rollover_key *rk)
{
	struct reinject_rollover_state st;
	char name[REINJECT_ROLLOVER_PATH_MAX];

	if (reinject_rollover_store_name(rk->domain, rk->old_selector, name,
	    sizeof(name)) < 0) {
		log_warn("dkim rollover: d=%s s=%s: no state file name fits; the "
		    "switch is not kept across restarts", rk->domain, rk->old_selector);
		return;
	}
	rk->state_name = xstrdup(name);
	if (rollover_state_read(rk, &st, false) <= 0)
		return;
	if (!rollover_state_ours(rk, &st)) {
		log_info("dkim rollover: d=%s: %s/%s is for another key or "
		    "selector; ignored, replaced at the switch", rk->domain,
		    rk->ro->conf->spool_directory, name);
		return;
	}
	rk->resume = true;
	rk->switched_at = (time_t)st.switched_at;
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
	rk.old_key = cur->key;
	EVP_PKEY_up_ref(rk.old_key);
	rollover_hash(rk.key, rk.hash);
	rollover_state_load(&rk);
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
	/* the state files: never read or written as root (the run user's) */
	ro->dfd = -1;
	if (c->spool_directory != NULL && c->spool_directory[0] && geteuid() != 0)
		ro->dfd = open(c->spool_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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

/* rollover_state_fill - rk's switch as a state file */
static void
rollover_state_fill(const struct rollover_key *rk, struct reinject_rollover_state *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->domain, sizeof(st->domain), "%s", rk->domain);
	snprintf(st->old_selector, sizeof(st->old_selector), "%s", rk->old_selector);
	snprintf(st->next_selector, sizeof(st->next_selector), "%s", rk->plan.selector);
	snprintf(st->key_sha256, sizeof(st->key_sha256), "%s", rk->hash);
	st->switched_at = (long long)rk->switched_at;
}

/*
 * rollover_persist - keep the switch across restarts: the first worker's
 * file stays (renamed in without replacing), the others take its time
 */
static void
rollover_persist(struct rollover_key *rk)
{
	struct reinject_rollover_state st, now;
	struct buf err;
	int r = rollover_state_read(rk, &st, false), w = 1;

	if (rk->ro->dfd < 0 || rk->state_name == NULL || rk->hash[0] == '\0')
		return;
	if (r == 1 && rollover_state_ours(rk, &st)) {
		rk->switched_at = (time_t)st.switched_at;
		return;
	}
	rollover_state_fill(rk, &now);
	buf_init(&err, 4096);
	/* absent: never over another worker's; stale or bad: replaced */
	if ((w = reinject_rollover_store_write(rk->ro->dfd,
	    rk->ro->conf->spool_directory, rk->state_name, &now, r != 0, &err)) < 0)
		log_error("dkim rollover: d=%s: the switch is not kept across "
		    "restarts: %s", rk->domain, buf_cstr(&err));
	buf_clear(&err);
	if (w == 0 && rollover_state_read(rk, &st, true) == 1 &&
	    rollover_state_ours(rk, &st))
		rk->switched_at = (time_t)st.switched_at;
}

/* rollover_sync - take the time of the state file, where another worker's won */
static void
rollover_sync(struct rollover_key *rk)
{
	struct reinject_rollover_state st;

	/* every check interval: a bad file was said at the switch */
	if (rollover_state_read(rk, &st, true) == 1 && rollover_state_ours(rk, &st))
		rk->switched_at = (time_t)st.switched_at;
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
	rk->phase = ROLLOVER_SWITCHED;
	rk->switched_at = time(NULL);
	rollover_persist(rk);
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

/* rollover_fall_back - the record of a kept switch is gone: the old key again */
static void
rollover_fall_back(struct rollover_key *rk, const char *why)
{
	char when[64];
	struct buf err;

	rollover_when(rk->switched_at, when, sizeof(when));
	if (dkim_table_key_switch(rk->ro->table, rk->index, rk->old_selector,
	    rk->old_key, rk->alg) < 0)
		log_fatal("dkim rollover: d=%s: cannot switch back to s=%s",
		    rk->domain, rk->old_selector);
	rk->phase = ROLLOVER_WAITING;
	log_error("dkim rollover: d=%s: SIGNING WITH s=%s AGAIN: the record of "
	    "s=%s, seen matching at %s, is no longer published as it was: %s; "
	    "the switch waits for it again", rk->domain, rk->old_selector,
	    rk->plan.selector, when, why);
	buf_init(&err, 4096);
	if (rk->ro->dfd >= 0 && rk->state_name != NULL &&
	    reinject_rollover_store_remove(rk->ro->dfd, rk->ro->conf->spool_directory,
	    rk->state_name, &err) < 0)
		log_error("dkim rollover: d=%s: %s", rk->domain, buf_cstr(&err));
	buf_clear(&err);
	snprintf(rk->last, sizeof(rk->last), "%s", why);
}

/* rollover_recheck - the record of a switch kept across a restart */
static void
rollover_recheck(struct rollover_key *rk, int rc, const char *text)
{
	if (rc == REINJECT_TOOL_OK) {
		rk->phase = ROLLOVER_SWITCHED;
		log_info("dkim rollover: d=%s: the record of s=%s still matches %s",
		    rk->domain, rk->plan.selector, rk->plan.key_file);
		return;
	}
	/* not known either way: the next check asks again */
	if (rc == REINJECT_TOOL_DNS_ERROR) {
		if (strcmp(text, rk->last) != 0)
			log_warn("dkim rollover: d=%s: cannot check the record of s=%s "
			    "now: %s; still signing with s=%s", rk->domain,
			    rk->plan.selector, text, rk->plan.selector);
		snprintf(rk->last, sizeof(rk->last), "%s", text);
		return;
	}
	rollover_fall_back(rk, text);
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
	if (rk->phase == ROLLOVER_RESUMED) {
		rollover_recheck(rk, rc, text);
		return;
	}
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
	    "s=%s and %s in the signing configuration in place of s=%s, delete %s "
	    "and %s/%s, reload, then remove the record", rk->domain,
	    rk->old_selector, rk->domain, rk->plan.selector, rk->plan.key_file,
	    rk->old_selector, rk->plan_path, rk->ro->conf->spool_directory,
	    rk->state_name ? rk->state_name : "(no state file)");
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

		if (rk->phase == ROLLOVER_SWITCHED) {
			rollover_sync(rk);
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

/* rollover_begin - sign as the kept switch says, or wait for the record */
static void
rollover_begin(struct rollover_key *rk)
{
	char when[64];

	if (rk->resume && dkim_table_key_switch(rk->ro->table, rk->index,
	    rk->plan.selector, rk->key, rk->alg) == 0) {
		rk->phase = ROLLOVER_RESUMED;
		rollover_when(rk->switched_at, when, sizeof(when));
		log_info("dkim rollover: d=%s: signing with s=%s at once: the switch "
		    "from s=%s at %s is kept in %s/%s (dkim_rollover_keep_time runs "
		    "from then); checking its record again", rk->domain,
		    rk->plan.selector, rk->old_selector, when,
		    rk->ro->conf->spool_directory, rk->state_name);
		return;
	}
	log_info("dkim rollover: d=%s s=%s: next key s=%s (%s) waits for "
	    "its record %s._domainkey.%s, checked every %us", rk->domain,
	    rk->old_selector, rk->plan.selector, rk->plan.key_file,
	    rk->plan.selector, rk->domain, rk->ro->conf->dkim_rollover_check_interval);
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
	if (ro->dfd < 0)
		log_warn("dkim rollover: spool_directory %s cannot be opened; a "
		    "switch is not kept across restarts", ro->conf->spool_directory);
	for (size_t i = 0; i < ro->n; i++)
		rollover_begin(&ro->k[i]);
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
		EVP_PKEY_free(ro->k[i].old_key);
		free(ro->k[i].state_name);
		free(ro->k[i].domain);
		free(ro->k[i].old_selector);
		free(ro->k[i].plan_path);
	}
	if (ro->dfd >= 0)
		close(ro->dfd);
	free(ro->k);
	free(ro);
}
