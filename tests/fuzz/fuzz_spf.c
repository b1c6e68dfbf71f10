/*
 * fuzz_spf.c - libFuzzer target for the SPF record parser and macro expander
 * (common/spf/spf_record.c, common/spf/spf_macro.c; RFC 7208 §4.6, §7).
 *
 * The first byte picks the client family and whether the text is an explain-string;
 * the rest is parsed as a record (after "v=spf1") and expanded as a macro-string.
 * Every domain-spec of a parsed record is expanded too.  With bit 3 of the
 * selector set the record is also evaluated by the engine against a small
 * in-memory zone (synchronous answers).  Any input must give a
 * record or a reason, an expansion or a reason: never a crash, a leak, or a read
 * past the (pointer, length) input.  A reason is always a non-empty string.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_expand - expand (p, len); the output stays within its maximum */
static void
fuzz_expand(const char *p, size_t len, const struct spf_macro_ctx *ctx)
{
	struct buf out;
	const char *err = NULL;

	buf_init(&out, SPF_EXPAND_MAX);
	if (spf_macro_expand(p, len, ctx, &out, &err) < 0 && (err == NULL || *err == '\0'))
		abort();
	if (out.len > SPF_EXPAND_MAX)
		abort();
	buf_clear(&out);
}

/* fuzz_ctx - a context with the client family chosen by the selector byte */
static void
fuzz_ctx(uint8_t sel, struct sockaddr_storage *ss, struct spf_macro_ctx *ctx)
{
	memset(ss, 0, sizeof(*ss));
	if (sel & 1) {
		ss->ss_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::cb01", &((struct sockaddr_in6 *)ss)->sin6_addr);
	} else {
		ss->ss_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.3", &((struct sockaddr_in *)ss)->sin_addr);
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->sender = "strong-bad@email.example.com";
	ctx->local_part = "strong-bad";
	ctx->sender_domain = "email.example.com";
	ctx->domain = "email.example.com";
	ctx->client = ss;
	ctx->helo = "mx.example.org";
	ctx->validated_ptr = (sel & 4) ? "mx.example.org" : NULL;
	ctx->receiver = "mx.example.net";
	ctx->now = 1234567890;
	ctx->exp = (sel & 2) != 0;
}

/* fuzz_verdict - a reason always; an explanation exactly for fail (a default is set) */
static void
fuzz_verdict(void *arg, const struct spf_verdict *v)
{
	if (v->reason == NULL || v->reason[0] == '\0' ||
	    (v->result == SPF_RESULT_FAIL) != (v->explanation != NULL))
		abort();
	(*(int *)arg)++;
}

/* fuzz_eval - evaluate "v=spf1" + text for example.com with a few names around */
static void
fuzz_eval(const char *text, size_t len, const struct sockaddr_storage *ss)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct spf_request req = { 0 };
	char *rec = malloc(len + 6);
	int calls = 0;

	if (rec == NULL) {
		dns_resolver_free(r);
		return;
	}
	memcpy(rec, "v=spf1", 6);
	memcpy(rec + 6, text, len);
	dns_mem_add(r, "example.com", DNS_TYPE_TXT, 0, rec, len + 6);
	dns_mem_add_txt(r, "inc.example.com", "v=spf1 ip4:192.0.2.0/24 ~all");
	dns_mem_add_txt(r, "exp.example.com", "%{i} not allowed by %{d} (%{p})");
	dns_mem_add(r, "example.com", DNS_TYPE_MX, 10, "mx.example.com", 14);
	dns_mem_add_addr(r, "mx.example.com", "192.0.2.3");
	dns_mem_add_addr(r, "mx.example.com", "2001:db8::cb01");
	dns_mem_add(r, "3.2.0.192.in-addr.arpa", DNS_TYPE_PTR, 0, "mx.example.com", 14);
	dns_mem_set_rcode(r, "slow.example.com", 0, DNS_RCODE_TIMEOUT);
	req.client = *ss;
	req.helo = "mx.example.com";
	req.mail_from = "strong-bad@example.com";
	req.default_explanation = "see %{d}";
	if (spf_eval_start(r, NULL, NULL, &req, fuzz_verdict, &calls) != NULL || calls != 1)
		abort();
	free(rec);
	dns_resolver_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct spf_macro_ctx ctx;
	struct spf_record *rec;
	const char *err = NULL;
	const char *text;
	char *copy;

	if (size == 0)
		return 0;
	fuzz_ctx(data[0], &ss, &ctx);
	size--;
	/* an exact-size copy, so reading past the end is caught */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size);
	text = copy;
	fuzz_expand(text, size, &ctx);
	rec = spf_record_parse(text, size, &err);
	if (rec == NULL && (err == NULL || *err == '\0'))
		abort();
	if (rec != NULL) {
		ctx.exp = false;
		for (size_t i = 0; i < rec->nterms; i++)
			if (rec->terms[i].spec != NULL)
				fuzz_expand(rec->terms[i].spec, strlen(rec->terms[i].spec), &ctx);
		if (rec->redirect)
			fuzz_expand(rec->redirect, strlen(rec->redirect), &ctx);
		if (rec->exp)
			fuzz_expand(rec->exp, strlen(rec->exp), &ctx);
		spf_record_free(rec);
	}
	if (data[0] & 8)
		fuzz_eval(text, size, &ss);
	free(copy);
	return 0;
}
