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
 *
 * With bit 4 set, the next two bytes build a hostile sender for the
 * evaluation (bit 3 implied): a local part of up to 10 KB of dots, pluses,
 * quotes and the like (past the 4096-byte macro buffer), and a domain that is
 * plain, one label over 63 octets, a name over 253, or the null sender.
 * Then every evaluation must end with a result and a non-empty reason without
 * "(null)", and the Received-SPF built from it (as policyd does, one line)
 * must be one line of printable ASCII with exactly one envelope-from, no
 * empty "; ;" pair, within SPF_HEADER_SIZE_MAX; folded, its lines end only
 * in CRLF TAB.  The domain-spec expansions of a domain-spec always succeed
 * and give at most 253 octets once truncated (RFC 7208 §7.3).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fuzz_expand - expand (p, len); the output stays within its maximum, and a
 * domain-spec that is valid syntax expands at any value length
 */
static void
fuzz_expand(const char *p, size_t len, const struct spf_macro_ctx *ctx)
{
	struct buf out;
	const char *err = NULL;
	int rc;

	buf_init(&out, SPF_EXPAND_MAX);
	rc = spf_macro_expand(p, len, ctx, &out, &err);
	if (rc < 0 && (err == NULL || *err == '\0'))
		abort();
	if (out.len > SPF_EXPAND_MAX)
		abort();
	if (rc == 0 && !ctx->exp) {
		spf_domain_truncate(&out);
		if (out.len > SPF_DOMAIN_MAX && memchr(out.data, '.', out.len) != NULL)
			abort();
	}
	if (rc < 0 && !ctx->exp && spf_macro_check(p, len, false, NULL, &err) == 0 &&
	    strcmp(err, "no client address for macro") != 0)
		abort();	/* valid syntax: only a missing client can fail */
	buf_clear(&out);
}

/* Hostile bytes a local part may carry (RFC 5321 quoted local parts). */
static const char fuzz_local_alphabet[] = "a.+-=_/%\"\\ (),;:x0~\x7f\xc3\xa9.";

/* fuzz_sender - a local part and domain shaped by two selector bytes */
static char *
fuzz_sender(uint8_t len_sel, uint8_t dom_sel)
{
	size_t local = (size_t)len_sel * 40, n = 0;
	size_t dom = (size_t)(dom_sel >> 2) * 8;
	char *s = malloc(local + 2 * (dom + 130) + 16);

	if (s == NULL)
		abort();
	if ((dom_sel & 3) == 3) {
		s[0] = '\0';		/* null sender: postmaster@HELO */
		return s;
	}
	for (size_t i = 0; i < local; i++)
		s[n++] = fuzz_local_alphabet[(i * (len_sel | 1) + i / 7) %
		    (sizeof(fuzz_local_alphabet) - 1)];
	s[n++] = '@';
	if ((dom_sel & 3) == 1)		/* one label over 63 octets */
		for (size_t i = 0; i < dom + 64; i++)
			s[n++] = 'l';
	else if ((dom_sel & 3) == 2)	/* a name over 253 octets */
		for (size_t i = 0; i < dom + 130; i++) {
			s[n++] = 'd';
			s[n++] = '.';
		}
	if ((dom_sel & 3) != 0)
		s[n++] = '.';
	memcpy(s + n, "example.com", 12);
	return s;
}

/* fuzz_header_bare - h with the insides of quoted-strings and comments as 'x' */
static char *
fuzz_header_bare(const char *h)
{
	char *b = xstrdup(h);
	bool quoted = false;
	int depth = 0;

	for (char *p = b; *p; p++) {
		bool inside = quoted || depth > 0;

		if (inside && *p == '\\' && p[1] != '\0') {
			p[0] = p[1] = 'x';
			p++;
		} else if (depth == 0 && *p == '"') {
			quoted = !quoted;
		} else if (!quoted && *p == '(') {
			depth++;
		} else if (!quoted && depth > 0 && *p == ')') {
			depth--;
		} else if (inside) {
			*p = 'x';
		}
	}
	return b;
}

/* fuzz_header_check - the invariants of a Received-SPF built from a verdict */
static void
fuzz_header_check(const struct spf_verdict *v, const char *mail_from, bool null_text)
{
	struct sockaddr_storage ss = { 0 };
	struct spf_request req = { .helo = "mx.example.com", .mail_from = mail_from,
	    .receiver = "mx.example.net" };
	struct buf b;
	const char *h, *p;
	char *bare;
	int n = 0;

	ss.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.3", &((struct sockaddr_in *)&ss)->sin_addr);
	req.client = ss;
	buf_init(&b, SPF_HEADER_SIZE_MAX);
	if (spf_received_header_fold(&b, v, &req, false, NULL) < 0)
		abort();
	h = buf_cstr(&b);
	for (p = h; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();	/* one line, printable */
	bare = fuzz_header_bare(h);
	for (p = bare; (p = strstr(p, " envelope-from=")) != NULL; p++)
		n++;
	if (n != 1 || strstr(bare, "; ;") != NULL || strstr(bare, ";;") != NULL ||
	    (!null_text && strstr(h, "(null)")))
		abort();
	free(bare);
	buf_reset(&b);
	if (spf_received_header(&b, v, &req, false) < 0)
		abort();
	for (p = buf_cstr(&b); (p = strpbrk(p, "\r\n")) != NULL; p += 3)
		if (strncmp(p, "\r\n\t", 3) != 0)
			abort();
	buf_reset(&b);
	if (spf_authres_clause(&b, v) < 0)
		abort();
	buf_clear(&b);
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

struct fuzz_eval_arg {
	int calls;
	const char *mail_from;
	bool hostile;		/* the default explanation may be too long to keep */
	bool null_text;		/* the input itself says "(null)" */
};

/* fuzz_verdict - a reason always; an explanation exactly for fail (a default is set) */
static void
fuzz_verdict(void *arg, const struct spf_verdict *v)
{
	struct fuzz_eval_arg *a = arg;

	if (v->reason == NULL || v->reason[0] == '\0' ||
	    (!a->null_text && strstr(v->reason, "(null)")) ||
	    (int)v->result < 0 || v->result > SPF_RESULT_PERMERROR)
		abort();
	if (v->explanation != NULL && v->result != SPF_RESULT_FAIL)
		abort();
	if (!a->hostile && (v->result == SPF_RESULT_FAIL) != (v->explanation != NULL))
		abort();
	fuzz_header_check(v, a->mail_from, a->null_text);
	a->calls++;
}

/* fuzz_eval - evaluate "v=spf1" + text for example.com with a few names around */
static void
fuzz_eval(const char *text, size_t len, const struct sockaddr_storage *ss,
    const char *mail_from)
{
	struct dns_resolver *r = dns_mem_new(NULL);
	struct spf_request req = { 0 };
	char *rec = malloc(len + 6);
	struct fuzz_eval_arg arg = { 0, mail_from, strcmp(mail_from,
	    "strong-bad@example.com") != 0, memmem(text, len, "(null)", 6) != NULL };

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
	req.mail_from = mail_from;
	req.default_explanation = arg.hostile ? "%{l} may not use %{o}" : "see %{d}";
	if (spf_eval_start(r, NULL, NULL, &req, fuzz_verdict, &arg) != NULL ||
	    arg.calls != 1)
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

	size_t skip = 1;
	char *sender = NULL, *local = NULL;

	if (size == 0)
		return 0;
	fuzz_ctx(data[0], &ss, &ctx);
	if ((data[0] & 16) && size >= 3) {
		sender = fuzz_sender(data[1], data[2]);
		skip = 3;
		if (sender[0] != '\0') {	/* the expander sees the hostile parts too */
			const char *at = strrchr(sender, '@');

			local = xmemdup0(sender, (size_t)(at - sender));
			ctx.sender = sender;
			ctx.local_part = local;
			ctx.sender_domain = at + 1;
		}
	}
	size -= skip;
	/* an exact-size copy, so reading past the end is caught */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data + skip, size);
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
	if ((data[0] & 8) || sender != NULL)
		fuzz_eval(text, size, &ss, sender ? sender : "strong-bad@example.com");
	free(copy);
	free(sender);
	free(local);
	return 0;
}
