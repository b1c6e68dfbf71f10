/*
 * dkimtool.c - sign or verify one message file with common/dkim, keys served
 * from a static table through the in-memory resolver; the peer of the interop
 * tests (20-dkim-interop.sh) and of the benchmark script.
 *
 *   dkimtool sign [-c hdr/body] [-t timestamp] [-o always|present|none]
 *                 -S domain:selector:keyfile ... < msg > signed
 *   dkimtool sign [-c hdr/body] ... -K keytable -T signingtable -F sender < msg
 *       prints the DKIM-Signature fields (one per -S, dual signing; or one per
 *       signer the OpenDKIM-format tables give for the sender) followed by the
 *       message unchanged.
 *   dkimtool verify -z zonefile < msg
 *       zonefile lines: "selector._domainkey.domain TXT-value" (value to the end
 *       of the line).  Prints one line per signature:
 *       "<result> <fail-reason|-> d=<d> s=<s> a=<a> <reason>";
 *       exit 0 when there is at least one signature and every one passed, 1 when
 *       any did not, 2 on usage or input errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dkim_table.h"
#include "dns.h"
#include "log.h"

#define TOOL_CHUNK	65536	/* bytes fed per call, as a socket read would */
#define TOOL_SIGNERS_MAX	4

/* tool_read - the whole input (a test tool: the message is at most tens of MiB) */
static char *
tool_read(FILE *f, size_t *len)
{
	size_t cap = 1 << 20, n = 0, r;
	char *p = xmalloc(cap);

	while ((r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			p = xrealloc(p, cap *= 2);
	}
	*len = n;
	return p;
}

/* tool_canon - "relaxed/simple" into the two enums */
static int
tool_canon(const char *s, enum dkim_canon *h, enum dkim_canon *b)
{
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);

	if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
		*h = DKIM_CANON_RELAXED;
	else if (hl == 6 && strncmp(s, "simple", 6) == 0)
		*h = DKIM_CANON_SIMPLE;
	else
		return -1;
	if (slash == NULL || strcmp(slash + 1, "simple") == 0)
		*b = DKIM_CANON_SIMPLE;		/* RFC 6376 §3.5 c= default body */
	else if (strcmp(slash + 1, "relaxed") == 0)
		*b = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

/* tool_sign_one - one signature over the message */
static char *
tool_sign_one(struct dkim_sign_config *c, const char *msg, size_t len)
{
	const char *err = NULL;
	struct dkim_sign *s = dkim_sign_new(c, &err);
	char *field = NULL;

	if (s == NULL) {
		fprintf(stderr, "dkimtool: %s\n", err);
		return NULL;
	}
	for (size_t off = 0; off < len; off += TOOL_CHUNK)
		if (dkim_sign_chunk(s, msg + off, len - off < TOOL_CHUNK ? len - off :
		    TOOL_CHUNK) < 0)
			break;
	field = dkim_sign_finish(s, &err);
	if (field == NULL)
		fprintf(stderr, "dkimtool: sign: %s\n", err ? err : "failed");
	dkim_sign_free(s);
	return field;
}

/* tool_signer - "domain:selector:keyfile" into a loaded key */
static int
tool_signer(const char *spec, struct dkim_sign_config *c, EVP_PKEY **key)
{
	char err[DKIM_TABLE_ERR_MAX], *dup = xstrdup(spec);
	char *sel = strchr(dup, ':'), *file = sel ? strchr(sel + 1, ':') : NULL;
	struct dkim_table_key_opts lax = { .allow_insecure = true };

	if (file == NULL) {
		fprintf(stderr, "dkimtool: -S takes domain:selector:keyfile\n");
		free(dup);
		return -1;
	}
	*sel++ = '\0';
	*file++ = '\0';
	*key = dkim_table_key_load_file(file, false, &c->alg, &lax, err, sizeof(err));
	if (*key == NULL) {
		fprintf(stderr, "dkimtool: %s\n", err);
		free(dup);
		return -1;
	}
	c->key = *key;
	c->domain = xstrdup(dup);
	c->selector = xstrdup(sel);
	free(dup);
	return 0;
}

/* tool_table - signers for sender from OpenDKIM-format tables, into c[] */
static int
tool_table(const char *kt, const char *st, const char *sender,
    struct dkim_table **t, struct dkim_sign_config *c, size_t *n,
    EVP_PKEY **keys)
{
	struct dkim_table_config tc = { .key_table = kt, .signing_table = st,
	    .key_opts = { .allow_insecure = true } };
	char err[DKIM_TABLE_ERR_MAX];
	struct dkim_signers sg;

	if ((*t = dkim_table_load(&tc, err, sizeof(err))) == NULL ||
	    dkim_table_lookup(*t, span_from_cstr(sender), &sg, err, sizeof(err)) < 0) {
		fprintf(stderr, "dkimtool: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < sg.n && *n < TOOL_SIGNERS_MAX; i++, (*n)++) {
		dkim_sign_config_default(&c[*n]);
		c[*n].key = keys[*n] = sg.v[i].key;
		EVP_PKEY_up_ref(keys[*n]);
		c[*n].alg = sg.v[i].alg;
		c[*n].domain = xstrdup(sg.v[i].domain);
		c[*n].selector = xstrdup(sg.v[i].selector);
		c[*n].identity = sg.v[i].identity[0] ? xstrdup(sg.v[i].identity) : NULL;
	}
	return 0;
}

/* tool_sign - the "sign" command */
static int
tool_sign(int argc, char **argv)
{
	struct dkim_sign_config base, c[TOOL_SIGNERS_MAX];
	EVP_PKEY *keys[TOOL_SIGNERS_MAX] = { NULL };
	char *fields[TOOL_SIGNERS_MAX] = { NULL };
	const char *kt = NULL, *st = NULL, *sender = NULL;
	struct dkim_table *table = NULL;
	size_t n = 0, len;
	char *msg;
	int opt, rc = 0;

	memset(c, 0, sizeof(c));
	dkim_sign_config_default(&base);
	while ((opt = getopt(argc, argv, "c:t:o:S:K:T:F:")) != -1) {
		if (opt == 'K' || opt == 'T' || opt == 'F') {
			*(opt == 'K' ? &kt : opt == 'T' ? &st : &sender) = optarg;
			continue;
		}
		if (opt == 'c' && tool_canon(optarg, &base.header_canon,
		    &base.body_canon) == 0)
			continue;
		if (opt == 't') {
			base.timestamp = (time_t)strtoll(optarg, NULL, 10);
			continue;
		}
		if (opt == 'o') {
			base.oversign_mode = strcmp(optarg, "always") == 0 ?
			    DKIM_OVERSIGN_ALWAYS : strcmp(optarg, "none") == 0 ?
			    DKIM_OVERSIGN_NONE : DKIM_OVERSIGN_IF_PRESENT;
			continue;
		}
		if (opt == 'S' && n < TOOL_SIGNERS_MAX) {
			c[n] = base;
			if (tool_signer(optarg, &c[n], &keys[n]) < 0)
				return 2;
			n++;
			continue;
		}
		fprintf(stderr, "usage: dkimtool sign [-c h/b] [-t ts] [-o mode] "
		    "-S d:s:keyfile ... | -K keytable -T signingtable -F sender\n");
		return 2;
	}
	if (kt != NULL && (st == NULL || sender == NULL ||
	    tool_table(kt, st, sender, &table, c, &n, keys) < 0))
		return 2;
	/* options given after -S still apply to every signer */
	for (size_t i = 0; i < n; i++) {
		c[i].header_canon = base.header_canon;
		c[i].body_canon = base.body_canon;
		c[i].timestamp = base.timestamp;
		c[i].oversign_mode = base.oversign_mode;
	}
	msg = tool_read(stdin, &len);
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((fields[i] = tool_sign_one(&c[i], msg, len)) == NULL)
			rc = 1;
	for (size_t i = n; rc == 0 && i-- > 0;)	/* last -S ends up nearest the body */
		fputs(fields[i], stdout);
	if (rc == 0)
		fwrite(msg, 1, len, stdout);
	for (size_t i = 0; i < n; i++) {
		free(fields[i]);
		EVP_PKEY_free(keys[i]);
		free((char *)c[i].domain);
		free((char *)c[i].selector);
		free((char *)c[i].identity);
	}
	dkim_table_free(table);
	free(msg);
	return rc;
}

/* tool_zone - "name value" lines into the in-memory resolver */
static int
tool_zone(struct dns_resolver *r, const char *path)
{
	char line[DKIM_KEY_RECORD_MAX + 512];
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "dkimtool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' '), *end = line + strlen(line);

		while (end > line && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		if (line[0] == '#' || sp == NULL)
			continue;
		*sp = '\0';
		dns_mem_add_txt(r, line, sp + 1);
	}
	fclose(f);
	return 0;
}

struct tool_verdict {
	bool done;
	int rc;
};

/* tool_report - the verifier's callback: one line per signature */
static void
tool_report(void *arg, const struct dkim_sig_result *res, size_t count)
{
	struct tool_verdict *v = arg;

	v->done = true;
	v->rc = count == 0 ? 1 : 0;
	if (count == 0)
		printf("none - no signature\n");
	for (size_t i = 0; i < count; i++) {
		const struct dkim_sig_result *r = &res[i];

		printf("%s %s d=%s s=%s a=%s %s\n", dkim_result_str(r->result),
		    r->result == DKIM_RESULT_FAIL ? dkim_fail_str(r->fail) : "-",
		    r->domain, r->selector, r->algorithm, r->reason);
		if (r->result != DKIM_RESULT_PASS)
			v->rc = 1;
	}
}

/* tool_verify - the "verify" command */
static int
tool_verify(int argc, char **argv)
{
	struct tool_verdict verdict = { .rc = 2 };
	struct dns_resolver *r = dns_mem_new(NULL);
	struct dkim_verify *v;
	size_t len;
	char *msg;
	int opt;

	while ((opt = getopt(argc, argv, "z:")) != -1)
		if (opt != 'z' || tool_zone(r, optarg) < 0) {
			fprintf(stderr, "usage: dkimtool verify -z zonefile < msg\n");
			dns_resolver_free(r);
			return 2;
		}
	msg = tool_read(stdin, &len);
	v = dkim_verify_new(r, NULL);
	for (size_t off = 0; off < len; off += TOOL_CHUNK)
		if (dkim_verify_chunk(v, msg + off, len - off < TOOL_CHUNK ?
		    len - off : TOOL_CHUNK) < 0)
			break;
	if (dkim_verify_finish(v, tool_report, &verdict) < 0 || !verdict.done) {
		fprintf(stderr, "dkimtool: verify: %s\n", dkim_verify_error(v) ?
		    dkim_verify_error(v) : "no result");
		verdict.rc = 2;
	}
	dkim_verify_free(v);
	dns_resolver_free(r);
	free(msg);
	return verdict.rc;
}

/* main - dispatch to sign or verify */
int
main(int argc, char **argv)
{
	log_open("dkimtool", LOG_DEST_STDERR);
	if (argc >= 2 && strcmp(argv[1], "sign") == 0)
		return tool_sign(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return tool_verify(argc - 1, argv + 1);
	fprintf(stderr, "usage: dkimtool sign|verify ...\n");
	return 2;
}
