/*
 * arctool.c - seal or verify one message with common/arc: the peer of the
 * ARC interop test (21-arc-interop.sh) and of the ARC benchmark.
 *
 *   arctool verify -n ADDR@PORT < msg
 *       keys through libunbound forwarding to ADDR@PORT (the private DNS
 *       server); prints "cv=<cv> sets=<N> oldest-pass=<k> (<reason>)";
 *       exit 0 on pass, 1 on fail or none, 2 on usage or input errors.
 *   arctool seal -d domain -s selector -k keyfile -c none|pass|fail
 *                -a "authserv-id; results" [-t timestamp] < msg
 *       prints the new ARC set followed by the message unchanged; exit 1
 *       when the message must not be sealed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "arc.h"
#include "dkim.h"
#include "dns.h"

#define TOOL_CHUNK	65536	/* bytes fed per call, as a socket read would */

/* tool_read - the whole input */
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

/* tool_done - the verifier's verdict */
static void
tool_done(void *arg, const struct arc_result *res)
{
	int *rc = arg;

	printf("cv=%s sets=%u oldest-pass=%u (%s)\n", arc_cv_str(res->cv), res->sets,
	    res->oldest_pass, res->reason);
	*rc = res->cv == ARC_CV_PASS ? 0 : 1;
}

/* tool_verify - the "verify" command */
static int
tool_verify(int argc, char **argv)
{
	const char *fwd[2] = { NULL, NULL }, *err = NULL;
	struct dns_unbound_config uc = { .timeout_ms = 5000 };
	struct event_base *base = event_base_new();
	struct dns_resolver *r;
	struct arc_verify *v;
	int opt, rc = 2;
	size_t len;
	char *msg;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			fwd[0] = optarg;
	if (fwd[0] == NULL) {
		fprintf(stderr, "usage: arctool verify -n addr@port < msg\n");
		return 2;
	}
	uc.forwarders = fwd;
	if ((r = dns_unbound_new(base, &uc, &err)) == NULL) {
		fprintf(stderr, "arctool: %s\n", err);
		return 2;
	}
	v = arc_verify_new(r, NULL);
	msg = tool_read(stdin, &len);
	for (size_t off = 0; off < len; off += TOOL_CHUNK)
		arc_verify_chunk(v, msg + off, len - off < TOOL_CHUNK ? len - off : TOOL_CHUNK);
	if (arc_verify_finish(v, tool_done, &rc) < 0)
		fprintf(stderr, "arctool: %s\n", arc_verify_error(v));
	else if (rc == 2)
		event_base_dispatch(base);
	arc_verify_free(v);
	dns_resolver_free(r);
	event_base_free(base);
	free(msg);
	return rc;
}

/* tool_cv - "none", "pass", "fail" */
static int
tool_cv(const char *s, enum arc_cv *cv)
{
	static const enum arc_cv all[] = { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

	for (size_t i = 0; i < 3; i++)
		if (strcmp(s, arc_cv_str(all[i])) == 0) {
			*cv = all[i];
			return 0;
		}
	return -1;
}

/* tool_seal_run - seal msg with c for cv and payload; prints set and message */
static int
tool_seal_run(const struct arc_sign_config *c, enum arc_cv cv, const char *payload)
{
	const char *err = NULL;
	struct arc_sign *s = arc_sign_new(c, &err);
	size_t len;
	char *msg, *set;

	if (s == NULL) {
		fprintf(stderr, "arctool: %s\n", err);
		return 2;
	}
	msg = tool_read(stdin, &len);
	for (size_t off = 0; off < len; off += TOOL_CHUNK)
		arc_sign_chunk(s, msg + off, len - off < TOOL_CHUNK ? len - off : TOOL_CHUNK);
	set = arc_sign_finish(s, cv, payload, &err);
	if (set == NULL)
		fprintf(stderr, "arctool: not sealed: %s\n", err);
	else {
		fputs(set, stdout);
		fwrite(msg, 1, len, stdout);
	}
	free(set);
	free(msg);
	arc_sign_free(s);
	return set ? 0 : 1;
}

/* tool_seal - the "seal" command */
static int
tool_seal(int argc, char **argv)
{
	struct arc_sign_config c;
	const char *keyfile = NULL, *payload = NULL;
	enum arc_cv cv = ARC_CV_NONE;
	struct buf err;
	int opt, rc;

	arc_sign_config_default(&c);
	while ((opt = getopt(argc, argv, "d:s:k:c:a:t:")) != -1) {
		if (opt == 'd')
			c.domain = optarg;
		else if (opt == 's')
			c.selector = optarg;
		else if (opt == 'k')
			keyfile = optarg;
		else if (opt == 'a')
			payload = optarg;
		else if (opt == 't')
			c.timestamp = (time_t)strtoll(optarg, NULL, 10);
		else if (opt != 'c' || tool_cv(optarg, &cv) < 0)
			keyfile = NULL, optind = argc;
	}
	buf_init(&err, 4096);
	if (keyfile == NULL || payload == NULL ||
	    (c.key = dkim_key_load_file(keyfile, true, &err)) == NULL) {
		fprintf(stderr, "usage: arctool seal -d dom -s sel -k keyfile -c cv -a payload "
		    "[-t ts] < msg\n%s\n", buf_cstr(&err));
		buf_clear(&err);
		return 2;
	}
	buf_clear(&err);
	rc = tool_seal_run(&c, cv, payload);
	EVP_PKEY_free(c.key);
	return rc;
}

/* main - dispatch to seal or verify */
int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return tool_verify(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "seal") == 0)
		return tool_seal(argc - 1, argv + 1);
	fprintf(stderr, "usage: arctool verify|seal ...\n");
	return 2;
}
