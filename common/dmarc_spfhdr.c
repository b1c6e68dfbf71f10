/*
 * dmarc_spfhdr.c - which SPF result recorded in the header may DMARC use?
 *
 * The rule (also in reinject(8)): Postfix's smtpd writes its own Received field
 * on top of the header it received, and the fields its policy service asks to
 * PREPEND (policyd's Received-SPF, RFC 7208 §9.1) above that.  So the fields
 * above the first Received field were written by our MTA in this hop; nothing a
 * sender writes can get there.  Among them we use the topmost Received-SPF, or
 * else an Authentication-Results field (RFC 8601 §2.2) carrying our authserv-id,
 * and only when it is about this transaction:
 *  - identity=mailfrom with an envelope-from whose domain equals the envelope
 *    sender's domain (A-R: smtp.mailfrom), for a non-null sender;
 *  - for the null sender only: identity=helo with helo= equal to the HELO name
 *    we saw (or identity=mailfrom for postmaster@<helo>, RFC 7208 §2.4);
 *  - a client-ip=, when present, must be the client's address.
 * Anything else: not found, and the caller evaluates SPF itself.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dmarc.h"

struct kv {
	struct span identity, envelope_from, helo, client_ip, mailfrom, smtp_helo;
};

static const struct {
	const char *name;
	enum spf_result r;
} spf_names[] = {
	{ "pass", SPF_RESULT_PASS }, { "fail", SPF_RESULT_FAIL },
	{ "softfail", SPF_RESULT_SOFTFAIL }, { "neutral", SPF_RESULT_NEUTRAL },
	{ "none", SPF_RESULT_NONE }, { "temperror", SPF_RESULT_TEMPERROR },
	{ "permerror", SPF_RESULT_PERMERROR },
};

/* spfhdr_result - an SPF result word; -1 when unknown */
static int
spfhdr_result(struct span w)
{
	for (size_t i = 0; i < ARRAY_LEN(spf_names); i++)
		if (span_eq_ci(w, spf_names[i].name))
			return (int)spf_names[i].r;
	return -1;
}

/* spfhdr_word - the leading token of s (up to blank, ";", "(" or "=") */
static struct span
spfhdr_word(struct span s, size_t *end)
{
	size_t i = 0;

	while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\r' ||
	    s.p[i] == '\n'))
		i++;
	size_t b = i;
	while (i < s.len && !strchr(" \t\r\n;(=", s.p[i]))
		i++;
	*end = i;
	return (struct span){ s.p + b, i - b };
}

/* spfhdr_unquote - strip surrounding quotes and a trailing comment */
static struct span
spfhdr_unquote(struct span v)
{
	v = span_trim(v);
	if (v.len >= 2 && v.p[0] == '"') {
		const char *q = memchr(v.p + 1, '"', v.len - 1);

		if (q)
			return (struct span){ v.p + 1, (size_t)(q - v.p - 1) };
	}
	for (size_t i = 0; i < v.len; i++)
		if (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == '(')
			return (struct span){ v.p, i };
	return v;
}

/* spfhdr_pairs - key=value pairs separated by ";" or blanks, into kv */
static void
spfhdr_pairs(struct span s, struct kv *kv)
{
	size_t i = 0;

	while (i < s.len) {
		size_t k0, k1, v0, v1;
		bool q = false;

		while (i < s.len && strchr(" \t\r\n;", s.p[i]))
			i++;
		if (i < s.len && s.p[i] == '(') {	/* comment */
			while (i < s.len && s.p[i] != ')')
				i++;
			i++;
			continue;
		}
		k0 = i;
		while (i < s.len && !strchr(" \t\r\n;=", s.p[i]))
			i++;
		k1 = i;
		if (i >= s.len || s.p[i] != '=') {
			i++;
			continue;
		}
		v0 = ++i;
		while (i < s.len && (q || !strchr(" \t\r\n;", s.p[i]))) {
			if (s.p[i] == '"')
				q = !q;
			i++;
		}
		v1 = i;
		struct span key = { s.p + k0, k1 - k0 };
		struct span val = spfhdr_unquote((struct span){ s.p + v0, v1 - v0 });
		if (span_eq_ci(key, "identity"))
			kv->identity = val;
		else if (span_eq_ci(key, "envelope-from"))
			kv->envelope_from = val;
		else if (span_eq_ci(key, "helo"))
			kv->helo = val;
		else if (span_eq_ci(key, "client-ip"))
			kv->client_ip = val;
		else if (span_eq_ci(key, "smtp.mailfrom"))
			kv->mailfrom = val;
		else if (span_eq_ci(key, "smtp.helo"))
			kv->smtp_helo = val;
	}
}

/* addr_domain - the domain of an address or a bare domain */
static struct span
addr_domain(struct span a)
{
	if (a.len && a.p[0] == '<')
		a.p++, a.len--;
	if (a.len && a.p[a.len - 1] == '>')
		a.len--;
	for (size_t i = a.len; i > 0; i--)
		if (a.p[i - 1] == '@')
			return (struct span){ a.p + i, a.len - i };
	return a;
}

/* ip_eq - same address in text form (normalised through inet_pton) */
static bool
ip_eq(struct span a, const char *b)
{
	char t[INET6_ADDRSTRLEN + 1];
	unsigned char x[16], y[16];
	int af = strchr(b, ':') ? AF_INET6 : AF_INET;

	if (a.len >= sizeof(t))
		return false;
	memcpy(t, a.p, a.len);
	t[a.len] = '\0';
	if (inet_pton(af, t, x) != 1 || inet_pton(af, b, y) != 1)
		return false;
	return memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
}

/* span_domain_eq - span equals C string as a domain */
static bool
span_domain_eq(struct span a, const char *b)
{
	char t[DMARC_DOMAIN_SIZE];

	if (a.len == 0 || a.len >= sizeof(t))
		return false;
	memcpy(t, a.p, a.len);
	t[a.len] = '\0';
	return dmarc_domain_eq(t, b);
}

/* spfhdr_judge - does the stated identity match this transaction? */
static bool
spfhdr_judge(const struct kv *kv, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	bool null_sender = mail_from == NULL || *mail_from == '\0';
	const char *at = null_sender ? NULL : strrchr(mail_from, '@');
	const char *env_dom = at ? at + 1 : mail_from;
	struct span ef = kv->envelope_from.len ? kv->envelope_from : kv->mailfrom;
	struct span hl = kv->helo.len ? kv->helo : kv->smtp_helo;
	bool helo_id = span_eq_ci(kv->identity, "helo") ||
	    (kv->identity.len == 0 && ef.len == 0 && hl.len);

	if (kv->client_ip.len && (client_ip == NULL || !ip_eq(kv->client_ip, client_ip))) {
		out->why = "client-ip differs from the client";
		return false;
	}
	if (null_sender) {
		if (helo == NULL || *helo == '\0') {
			out->why = "null sender without HELO name";
			return false;
		}
		if ((helo_id && span_domain_eq(hl, helo)) ||
		    (!helo_id && span_domain_eq(addr_domain(ef), helo))) {
			out->identity = SPF_IDENTITY_HELO;
			snprintf(out->domain, sizeof(out->domain), "%s", helo);
			return true;
		}
		out->why = "null sender: no HELO identity matching our HELO";
		return false;
	}
	if (helo_id || !span_domain_eq(addr_domain(ef), env_dom)) {
		out->why = "not the MAIL FROM identity of this envelope sender";
		return false;
	}
	out->identity = SPF_IDENTITY_MAILFROM;
	snprintf(out->domain, sizeof(out->domain), "%s", env_dom);
	return true;
}

/* spfhdr_from_received_spf - judge a Received-SPF field body */
static bool
spfhdr_from_received_spf(struct span v, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	struct kv kv = { 0 };
	size_t end;
	int r = spfhdr_result(spfhdr_word(v, &end));

	if (r < 0) {
		out->why = "Received-SPF without a result";
		return false;
	}
	spfhdr_pairs((struct span){ v.p + end, v.len - end }, &kv);
	out->result = (enum spf_result)r;
	out->source = "Received-SPF";
	return spfhdr_judge(&kv, mail_from, helo, client_ip, out);
}

/* spfhdr_from_authres - judge our Authentication-Results field body */
static bool
spfhdr_from_authres(struct span v, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	const char *p = v.p, *e = v.p + v.len;

	while (p < e) {
		const char *semi = memchr(p, ';', (size_t)(e - p));
		struct span part = span_trim((struct span){ p, (size_t)((semi ? semi : e) - p) });
		size_t end;

		if (part.len > 4 && ascii_mem_eq_ci(part.p, "spf=", 4)) {
			struct kv kv = { 0 };
			struct span rest = { part.p + 4, part.len - 4 };
			int r = spfhdr_result(spfhdr_word(rest, &end));

			if (r < 0)
				break;
			spfhdr_pairs((struct span){ rest.p + end, rest.len - end }, &kv);
			out->result = (enum spf_result)r;
			out->source = "Authentication-Results";
			return spfhdr_judge(&kv, mail_from, helo, client_ip, out);
		}
		p = semi ? semi + 1 : e;
	}
	out->why = "our Authentication-Results has no spf result";
	return false;
}

/* authres_is_ours - does the A-R body start with our authserv-id? */
static bool
authres_is_ours(struct span v, const char *id)
{
	size_t end;
	struct span w;

	if (id == NULL || *id == '\0')
		return false;
	w = spfhdr_word(v, &end);
	return span_eq_ci(w, id);
}

/* dmarc_spfhdr_find - the SPF result our own MTA recorded in this hop, if any */
void
dmarc_spfhdr_find(const struct dmarc_header *h, size_t n,
    const char *authserv_id, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	int rspf = -1, ar = -1;
	bool ok;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (span_eq_ci(h[i].name, "Received"))
			break;
		if (rspf < 0 && span_eq_ci(h[i].name, "Received-SPF"))
			rspf = (int)i;
		if (ar < 0 && span_eq_ci(h[i].name, "Authentication-Results") &&
		    authres_is_ours(h[i].value, authserv_id))
			ar = (int)i;
	}
	if (rspf >= 0)
		ok = spfhdr_from_received_spf(h[rspf].value, mail_from, helo,
		    client_ip, out);
	else if (ar >= 0)
		ok = spfhdr_from_authres(h[ar].value, mail_from, helo, client_ip, out);
	else {
		out->why = "no SPF result above the first Received field";
		ok = false;
	}
	out->found = ok;
	if (ok)
		out->why = "added by our MTA in this hop (above the first Received)";
}
