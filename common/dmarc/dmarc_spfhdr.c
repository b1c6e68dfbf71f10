/*
 * dmarc_spfhdr.c - which SPF result recorded in the header may DMARC use?
 *
 * The rule (also in reinject(8)): Postfix's smtpd writes its own Received field
 * on top of the header it received, and the fields its policy service asks to
 * PREPEND (policyd's Received-SPF, RFC 7208 §9.1) above that.  So the fields
 * above the first Received field were written by our MTA in this hop; nothing a
 * sender writes can get there.  Among them we use the topmost Received-SPF, or
 * else the topmost Authentication-Results field (RFC 8601 §2.2) carrying our
 * authserv-id or one of the trusted_authserv_ids (OpenDMARC's TrustedAuthservIDs,
 * e.g. a filter on this host that runs before us) whose spf clause is about this
 * transaction; a field with any other authserv-id is never used.  About this
 * transaction means:
 *  - identity=mailfrom with an envelope-from whose domain equals the envelope
 *    sender's domain (A-R: smtp.mailfrom), for a non-null sender;
 *  - for the null sender only: identity=helo with helo= equal to the HELO name
 *    we saw (or identity=mailfrom for postmaster@<helo>, RFC 7208 §2.4);
 *  - a client-ip=, when present, must be the client's address.
 * Anything else: not found, and the caller evaluates SPF itself.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "dmarc.h"

/* The identity a Received-SPF or A-R spf clause states. */
struct kv {
	struct span identity, envelope_from, helo, client_ip, mailfrom, smtp_helo;
};

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

/* spfhdr_from_received_spf - judge a Received-SPF field body (common/authres) */
static bool
spfhdr_from_received_spf(struct span v, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	struct authres_spf spf;
	struct kv kv = { 0 };
	int r;

	if (authres_spf_parse(v.p, v.len, &spf) != 0 ||
	    (r = spf_result_from_str(spf.result.p, spf.result.len)) < 0) {
		out->why = "Received-SPF without a result";
		return false;
	}
	kv.identity = spf.identity;
	kv.envelope_from = spf.mailfrom;
	kv.helo = spf.helo;
	kv.client_ip = spf.client_ip;
	out->result = (enum spf_result)r;
	out->source = "Received-SPF";
	return spfhdr_judge(&kv, mail_from, helo, client_ip, out);
}

/* spfhdr_from_authres - judge the spf clause of our Authentication-Results */
static bool
spfhdr_from_authres(struct span v, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	struct authres_parsed *ap = xmalloc(sizeof(*ap));
	bool ok = false;
	int r = -1;

	out->why = "trusted Authentication-Results has no spf result";
	if (authres_parse(v.p, v.len, ap) == 0) {
		for (size_t i = 0; i < ap->nresults && r < 0; i++) {
			const struct authres_result *res = &ap->results[i];
			struct kv kv = { 0 };

			if (!span_eq_ci(res->method, "spf") ||
			    (r = spf_result_from_str(res->result.p, res->result.len)) < 0)
				continue;
			for (size_t k = 0; k < res->nprops; k++) {
				const struct authres_prop *pr = &res->props[k];

				if (!span_eq_ci(pr->ptype, "smtp"))
					continue;
				if (span_eq_ci(pr->name, "mailfrom"))
					kv.mailfrom = pr->value;
				else if (span_eq_ci(pr->name, "helo"))
					kv.smtp_helo = pr->value;
			}
			out->result = (enum spf_result)r;
			out->source = "Authentication-Results";
			ok = spfhdr_judge(&kv, mail_from, helo, client_ip, out);
		}
	}
	free(ap);
	return ok;
}

/* spfhdr_trusted_ar - an A-R field body whose authserv-id is ours or trusted */
static bool
spfhdr_trusted_ar(struct span v, const char *authserv_id,
    char *const *trusted, size_t ntrusted)
{
	if (authserv_id && *authserv_id &&
	    authres_claims_id(v.p, v.len, authserv_id))
		return true;
	for (size_t k = 0; k < ntrusted; k++)
		if (trusted[k] && *trusted[k] &&
		    authres_claims_id(v.p, v.len, trusted[k]))
			return true;
	return false;
}

/* dmarc_spfhdr_find_trusted - as dmarc_spfhdr_find, also trusting these ids */
void
dmarc_spfhdr_find_trusted(const struct dmarc_header *h, size_t n,
    const char *authserv_id, char *const *trusted, size_t ntrusted,
    const char *mail_from, const char *helo, const char *client_ip,
    struct dmarc_spfhdr *out)
{
	size_t top = 0;
	int rspf = -1;
	bool ok = false, seen_ar = false;

	memset(out, 0, sizeof(*out));
	while (top < n && !span_eq_ci(h[top].name, "Received")) {
		if (rspf < 0 && span_eq_ci(h[top].name, "Received-SPF"))
			rspf = (int)top;
		top++;
	}
	if (rspf >= 0)
		ok = spfhdr_from_received_spf(h[rspf].value, mail_from, helo,
		    client_ip, out);
	for (size_t i = 0; rspf < 0 && !ok && i < top; i++) {
		struct dmarc_spfhdr t;

		if (!span_eq_ci(h[i].name, "Authentication-Results") ||
		    !spfhdr_trusted_ar(h[i].value, authserv_id, trusted, ntrusted))
			continue;
		memset(&t, 0, sizeof(t));
		ok = spfhdr_from_authres(h[i].value, mail_from, helo, client_ip, &t);
		if (ok || !seen_ar)
			*out = t;
		seen_ar = true;
	}
	if (rspf < 0 && !seen_ar)
		out->why = "no SPF result above the first Received field";
	out->found = ok;
	if (ok)
		out->why = "added by our MTA in this hop (above the first Received)";
}

/* dmarc_spfhdr_find - the SPF result our own MTA recorded in this hop, if any */
void
dmarc_spfhdr_find(const struct dmarc_header *h, size_t n,
    const char *authserv_id, const char *mail_from, const char *helo,
    const char *client_ip, struct dmarc_spfhdr *out)
{
	dmarc_spfhdr_find_trusted(h, n, authserv_id, NULL, 0, mail_from, helo,
	    client_ip, out);
}
