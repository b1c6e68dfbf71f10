/*
 * fuzz_spf.c - libFuzzer target for the SPF record parser and macro expander
 * (common/spf_record.c, common/spf_macro.c; RFC 7208 §4.6, §7).
 *
 * The first byte picks the client family and whether the text is an explain-string;
 * the rest is parsed as a record (after "v=spf1") and expanded as a macro-string.
 * Every domain-spec of a parsed record is expanded too.  Any input must give a
 * record or a reason, an expansion or a reason: never a crash, a leak, or a read
 * past the (pointer, length) input.  A reason is always a non-empty string.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	free(copy);
	return 0;
}
