/*
 * reinject_failure.c - reinject's side of DMARC failure reports (RFC 9991),
 * in the worker: after the DMARC stage decided, each evaluated From domain
 * whose policy record has ruf= (and no psd=y: RFC 9991 "DMARC Failure
 * Reports") and whose fo= asks for a report (report_fail_due) gets one
 * report, built here with the message's header section (local parts
 * redacted as report_failure_local_part says, RFC 9991 "Privacy
 * Considerations") and, with report_failure_body, its body.  The report is
 * written as a queue file into report_failure_directory (at most
 * report_failure_queue_limit waiting); the master's sender verifies the
 * destinations, applies the hourly rate limit and hands it to the relay.
 * Reports are never made about reports (multipart/report, or an aggregate
 * report's Subject): two receivers would answer each other for ever.
 * Nothing here fails or delays the message beyond one small local write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_build.h"
#include "log.h"
#include "reinject.h"
#include "reinject_report.h"
#include "report.h"
#include "report_failure.h"

const struct config_enum reinject_report_redact_modes[] = {
	{ "keep", REPORT_REDACT_KEEP },
	{ "hash", REPORT_REDACT_HASH },
	{ "remove", REPORT_REDACT_REMOVE },
	{ NULL, 0 },
};

/* Room for the report's own fields and parts besides the original. */
#define FAILURE_REPORT_ALLOWANCE	(64 * 1024)
/* Queue file names end so; others in the directory are not ours. */
#define FAILURE_SUFFIX			".arf"

/* the queue directory, opened before the sandbox; -1 when off */
static int failure_dirfd = -1;
static unsigned failure_seq;

/* reinject_failure_worker_start - open (create) the queue directory */
void
reinject_failure_worker_start(const struct reinject_conf *c)
{
	const char *dir = c->report.failure_directory;

	if (!c->report.failure_enable || failure_dirfd >= 0)
		return;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		log_error("report_failure_directory %s: %s", dir, strerror(errno));
	failure_dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (failure_dirfd < 0)
		log_error("report_failure_directory %s: %s; no failure reports", dir,
		    strerror(errno));
}

/* reinject_failure_check - the queue directory, or (before the workers
 * created it) its parent, writable and searchable */
int
reinject_failure_check(const struct reinject_conf *c, struct buf *err)
{
	const char *dir = c->report.failure_directory;
	const char *slash = strrchr(dir, '/');
	char parent[4096];
	struct stat st;

	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			buf_printf(err, "report_failure_directory %s: not a directory\n", dir);
			return -1;
		}
		if (access(dir, W_OK | X_OK) == 0)
			return 0;
		buf_printf(err, "report_failure_directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash == dir ? 1 :
	    slash - dir) : 1, slash ? dir : ".");
	if (errno == ENOENT && access(parent, W_OK | X_OK) == 0)
		return 0;
	buf_printf(err, "report_failure_directory %s: cannot be created: %s\n", dir,
	    strerror(errno));
	return -1;
}

/* failure_queued - queue files waiting now */
static long
failure_queued(void)
{
	int fd = openat(failure_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	long n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), sl = strlen(FAILURE_SUFFIX);

		n += l > sl && strcmp(e->d_name + l - sl, FAILURE_SUFFIX) == 0;
	}
	closedir(d);
	return n;
}

/* failure_has_ci - does (p, len) hold s, ASCII case ignored */
static bool
failure_has_ci(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (ascii_mem_eq_ci(p + i, s, n))
			return true;
	return false;
}

/* failure_is_report - is m a report itself (ARF, DSN, an aggregate report) */
static bool
failure_is_report(const struct reinject_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span v;

		if (m->hdrs[i].removed)
			continue;
		v = reinject_msg_field_value(m, i);
		if (reinject_msg_field_is(m, i, "Subject") &&
		    report_subject_is_report(v.p, v.len))
			return true;
		if (reinject_msg_field_is(m, i, "Content-Type") &&
		    failure_has_ci(v.p, v.len, "multipart/report"))
			return true;
	}
	return false;
}

/* failure_facts - what fo= is decided on, for From domain i */
static void
failure_facts(const struct dmarc_verdict *v, size_t i, const struct dmarc_input *in,
    const struct dmarc_record *pr, struct report_fail_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->fo = pr->fo;
	f->dkim_aligned_pass = v->domains[i].dkim_aligned;
	f->spf_aligned_pass = v->domains[i].spf_aligned;
	for (size_t k = 0; k < in->ndkim; k++)
		if (in->dkim[k].result == DMARC_AUTH_FAIL ||
		    in->dkim[k].result == DMARC_AUTH_PERMERROR ||
		    in->dkim[k].result == DMARC_AUTH_POLICY)
			f->dkim_failed = true;
	f->spf_failed = in->spf == SPF_RESULT_FAIL;
}

/* failure_delivery - the RFC 6591 §3.1 Delivery-Result of the action taken */
static const char *
failure_delivery(const struct reinject_msg *m)
{
	const char *a = m->dmarc_act ? m->dmarc_act : "accept";

	if (strcmp(a, "accept") == 0)
		return "delivered";
	if (strcmp(a, "reject") == 0)
		return "reject";
	if (strcmp(a, "quarantine") == 0)
		return "spam";
	if (strcmp(a, "tempfail") == 0)
		return "other";
	return "policy";
}

/* failure_headers - the header section, local parts redacted */
static void
failure_headers(const struct reinject_msg *m, const struct reinject_conf *c,
    struct buf *out)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span f;

		if (m->hdrs[i].removed)
			continue;
		f = reinject_msg_field(m, i);
		report_redact(f.p, f.len, (enum report_redact_mode)c->report.failure_local_part,
		    c->report.failure_hash_key, out);
	}
}

/* failure_body - the body (after the empty line) from the spool, when wanted
 * and small enough; false: the header section only */
static bool
failure_body(const struct reinject_msg *m, const struct reinject_conf *c,
    struct buf *out)
{
	char chunk[16384];
	size_t off = 0;
	ssize_t n;

	/* the milter's spool has no directory: it holds the body only when
	 * it kept it (reading fails otherwise) */
	if (!c->report.failure_body || m->raw ||
	    m->size > c->report.failure_body_size_limit)
		return false;
	while ((n = reinject_spool_read((struct reinject_spool *)&m->spool, off, chunk,
	    sizeof(chunk))) > 0) {
		buf_append(out, chunk, (size_t)n);
		off += (size_t)n;
	}
	if (n < 0 || out->overflow)
		return false;
	/* the spool starts with the empty line that ends the header section */
	if (out->len >= 2 && memcmp(out->data, "\r\n", 2) == 0) {
		memmove(out->data, out->data + 2, out->len - 2);
		buf_truncate(out, out->len - 2);
	}
	return true;
}

/* failure_ruf - the record's ruf= URIs joined by blanks, controls replaced */
static void
failure_ruf(const struct dmarc_record *pr, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < pr->nruf && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i ? " " : "", pr->ruf[i]);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* failure_write - the queue file of report body msg for policy domain */
static int
failure_write(const char *domain, const char *ruf, const struct buf *msg,
    char *name, size_t nsize)
{
	struct buf file;
	ssize_t w = 0;
	size_t off = 0;
	int fd, rc = -1;

	snprintf(name, nsize, "%lld.%ld.%u%s", (long long)time(NULL), (long)getpid(),
	    failure_seq++, FAILURE_SUFFIX);
	buf_init(&file, msg->len + STORE_RUA_SIZE + 1024);
	if (report_fjob_format(&file, domain, ruf, msg->data, msg->len) < 0)
		goto out;
	fd = openat(failure_dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	while (off < file.len && (w = write(fd, file.data + off, file.len - off)) > 0)
		off += (size_t)w;
	if (off == file.len)
		rc = 0;
	else
		unlinkat(failure_dirfd, name, 0);
	close(fd);
out:
	buf_clear(&file);
	return rc;
}

/* failure_message_id - a fresh Message-ID (random: no one can guess the
 * MIME boundary made from it) */
static void
failure_message_id(const struct reinject_conf *c, char *out, size_t size)
{
	unsigned char r[8] = { 0 };
	char hex[17];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r[0] ^= (unsigned char)failure_seq;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	snprintf(out, size, "%lld.%s.%u@%s", (long long)time(NULL), hex, failure_seq,
	    c->myhostname);
}

/* failure_fill - the report's facts for From domain i */
static void
failure_fill(struct report_failure *f, const struct reinject_msg *m,
    const struct dmarc_verdict *v, size_t i, const struct dmarc_report_record *rec,
    const char *email)
{
	const struct reinject_conf *c = m->conf;
	const struct dmarc_domain_result *d = &v->domains[i];

	f->from = email;
	f->reporting_mta = c->myhostname;
	f->user_agent = "mailauth-reinject/" MAILAUTH_VERSION;
	f->authserv_id = c->authserv_id[0] ? c->authserv_id : c->myhostname;
	f->policy_domain = d->walk.policy_domain;
	f->header_from = d->from_domain;
	f->org_domain = d->walk.org_domain;
	f->source_ip = rec->source_ip;
	f->envelope_id = m->xf ? m->xf->value[SMTP_XFWD_IDENT] : NULL;
	f->delivery_result = failure_delivery(m);
	f->dmarc_result = dmarc_result_str(d->result);
	f->dkim_aligned_pass = d->dkim_aligned;
	f->spf_aligned_pass = d->spf_aligned;
	f->spf_result = spf_result_str(rec->spf_result);
	f->spf_domain = rec->spf_domain;
	f->spf_records = &m->spf_records;
	f->dkim = rec->dkim;
	f->ndkim = rec->ndkim;
	f->arrival = time(NULL);
}

/* failure_queue - build and queue the report of From domain i */
static void
failure_queue(const struct reinject_msg *m, const struct dmarc_verdict *v, size_t i,
    const struct dmarc_input *in, enum report_fail_kind kind)
{
	const struct reinject_conf *c = m->conf;
	const struct dmarc_domain_result *d = &v->domains[i];
	struct dmarc_report_record *rec = xmalloc(sizeof(*rec));
	struct report_failure f = { .kind = kind };
	struct buf hdr, body, mf, msg;
	char mid[256], email[300], ruf[STORE_RUA_SIZE], name[128];
	const char *qid;
	size_t max = c->header_size_limit * 2 + c->report.failure_body_size_limit +
	    FAILURE_REPORT_ALLOWANCE;

	dmarc_report_fill(rec, v, i, in, NULL);
	snprintf(email, sizeof(email), "%s", c->report.email[0] ? c->report.email : "");
	if (!email[0])
		snprintf(email, sizeof(email), "dmarc-noreply@%s", c->myhostname);
	failure_fill(&f, m, v, i, rec, email);
	qid = f.envelope_id ? f.envelope_id : "NOQUEUE";
	buf_init(&hdr, c->header_size_limit * 2 + 1024);
	buf_init(&body, c->report.failure_body_size_limit + 1024);
	buf_init(&mf, 2048);
	buf_init(&msg, max);
	failure_headers(m, c, &hdr);
	report_redact(in->mail_from ? in->mail_from : "", in->mail_from ?
	    strlen(in->mail_from) : 0, (enum report_redact_mode)c->report.failure_local_part,
	    c->report.failure_hash_key, &mf);
	f.mail_from = buf_cstr(&mf);
	f.headers = hdr.data ? hdr.data : "";
	f.headers_len = hdr.len;
	if (failure_body(m, c, &body)) {
		f.body = body.data ? body.data : "";
		f.body_len = body.len;
	}
	failure_message_id(c, mid, sizeof(mid));
	f.message_id = mid;
	failure_ruf(dmarc_walk_policy_record(&d->walk), ruf, sizeof(ruf));
	if (hdr.overflow || report_failure_build(&f, &msg) < 0)
		log_warn("%s: dmarc failure report for %s: too large; not sent", qid,
		    d->walk.policy_domain);
	else if (failure_write(d->walk.policy_domain, ruf, &msg, name, sizeof(name)) < 0)
		log_warn("%s: dmarc failure report for %s: cannot write %s/%s: %s; not sent",
		    qid, d->walk.policy_domain, c->report.failure_directory, name,
		    strerror(errno));
	else
		log_info("%s: dmarc failure report for %s queued as %s (Auth-Failure: %s, "
		    "%zu bytes)", qid, d->walk.policy_domain, name, report_fail_kind_str(kind),
		    msg.len);
	buf_clear(&hdr);
	buf_clear(&body);
	buf_clear(&mf);
	buf_clear(&msg);
	free(rec);
}

/* failure_domain - the report From domain i asks for, or NONE */
static enum report_fail_kind
failure_domain(const struct dmarc_verdict *v, size_t i, const struct dmarc_input *in)
{
	const struct dmarc_domain_result *d = &v->domains[i];
	const struct dmarc_record *pr = dmarc_walk_policy_record(&d->walk);
	struct report_fail_facts facts;

	if (!pr || !pr->nruf || pr->psd == DMARC_PSD_Y ||
	    d->walk.source == DMARC_SOURCE_PSD ||
	    (d->result != DMARC_RESULT_PASS && d->result != DMARC_RESULT_FAIL))
		return REPORT_FAIL_NONE;
	failure_facts(v, i, in, pr, &facts);
	return report_fail_due(&facts);
}

/* reinject_failure_record - queue the reports the policy records ask for */
void
reinject_failure_record(const struct reinject_msg *m, const struct dmarc_verdict *v,
    const struct dmarc_input *in)
{
	long queued;

	if (failure_dirfd < 0 || !v->evaluated || failure_is_report(m))
		return;
	for (size_t i = 0; i < v->ndomains; i++) {
		enum report_fail_kind kind = failure_domain(v, i, in);

		if (kind == REPORT_FAIL_NONE)
			continue;
		queued = failure_queued();
		if (queued < 0 || queued >= m->conf->report.failure_queue_limit) {
			log_warn("dmarc failure report for %s dropped: %s",
			    v->domains[i].walk.policy_domain, queued < 0 ?
			    "the queue directory cannot be read" :
			    "report_failure_queue_limit reached");
			continue;
		}
		failure_queue(m, v, i, in, kind);
	}
}
