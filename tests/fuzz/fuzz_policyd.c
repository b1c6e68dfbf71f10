/*
 * fuzz_policyd.c - libFuzzer target for policyd's inputs: the policy delegation
 * protocol parser (bytes from any local client) and the configuration readers
 * (policyd.conf through common/config, pypolicyd-spf's policyd-spf.conf).
 *
 * The protocol bytes are parsed twice, whole and in chunks of the size the
 * first byte selects: both runs must report the same requests with the same
 * attributes (the parser must not depend on how reads split the stream), and
 * the limits must hold.  The daemon's modules are built into the target here
 * (the fuzz build links libcommon only).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policyd/policyd_cidr.c"
#include "../../policyd/policyd_config.c"
#include "../../policyd/policyd_domain.c"
#include "../../policyd/policyd_proto.c"
#include "../../policyd/policyd_pyspf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits so that the fuzzer reaches them. */
static const struct policyd_proto_limits fuzz_limits = { 64, 512, 12 };

#define FUZZ_MAX_EVENTS	64

struct fuzz_run {
	size_t n;
	enum policyd_proto_status st[FUZZ_MAX_EVENTS];
	unsigned long sig[FUZZ_MAX_EVENTS];	/* hash of the attributes kept */
};

/* fuzz_sig - a hash of the request's known attributes */
static unsigned long
fuzz_sig(const struct policyd_request *r)
{
	unsigned long h = 5381;

	for (size_t i = 0; i < POLICYD_ATTR_COUNT; i++) {
		const char *v = r->attr[i] ? r->attr[i] : "\x01";

		for (; *v; v++)
			h = h * 33 + (unsigned char)*v;
		h = h * 33 + i;
	}
	return h;
}

/* fuzz_feed - parse p in chunks of at most chunk bytes */
static void
fuzz_feed(const char *p, size_t len, size_t chunk, struct fuzz_run *run)
{
	struct policyd_proto pr;
	size_t off = 0;

	memset(run, 0, sizeof(*run));
	policyd_proto_init(&pr, &fuzz_limits);
	while (off < len && run->n < FUZZ_MAX_EVENTS) {
		size_t n = len - off < chunk ? len - off : chunk;

		while (n > 0 && run->n < FUZZ_MAX_EVENTS) {
			enum policyd_proto_status st;
			size_t used = policyd_proto_feed(&pr, p + off, n, &st);

			if (used > n || pr.line.len > fuzz_limits.line_size_limit ||
			    pr.req_bytes > fuzz_limits.request_size_limit)
				abort();
			off += used;
			n -= used;
			if (st == POLICYD_PROTO_MORE)
				break;
			run->st[run->n] = st;
			run->sig[run->n++] = st == POLICYD_PROTO_REQUEST ? fuzz_sig(&pr.req) : 0;
			if (st == POLICYD_PROTO_FATAL) {
				off = len;
				break;
			}
			policyd_proto_next(&pr);
		}
	}
	policyd_proto_clear(&pr);
}

/* fuzz_config - the bytes as policyd.conf and as policyd-spf.conf */
static void
fuzz_config(const char *p, size_t len)
{
	struct policyd_config *c = policyd_config_new();
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	(void)config_load_mem(&policyd_config_schema, c, "fuzz", p, len, &err);
	policyd_config_unref(c);
	c = policyd_config_new();
	buf_reset(&err);
	(void)policyd_pyspf_detect(p, len);
	(void)policyd_pyspf_load(c, "fuzz", p, len, &err);
	policyd_config_unref(c);
	buf_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run whole, split;
	size_t chunk;
	char *p;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x0f) + 1;
	p = xmemdup0(data + 1, size - 1);	/* exactly sized: overreads are caught */
	fuzz_feed(p, size - 1, size, &whole);
	fuzz_feed(p, size - 1, chunk, &split);
	if (whole.n != split.n || memcmp(whole.st, split.st, sizeof(whole.st)) != 0 ||
	    memcmp(whole.sig, split.sig, sizeof(whole.sig)) != 0)
		abort();
	if (data[0] & 0x80)
		fuzz_config(p, size - 1);
	free(p);
	return 0;
}
