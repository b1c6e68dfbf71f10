/*
 * dkim_table_host.c - InternalHosts / ExternalIgnoreList / PeerList host lists in
 * OpenDKIM's form (opendkim.conf(5) PeerList): host names, ".domain" for a domain
 * and its subdomains, IPv4 and IPv6 addresses (square brackets allowed), CIDR
 * blocks, and "!" for "not".  As OpenDKIM does, names are tried first (the host,
 * then each parent domain), then the address; the most precise entry wins and, on
 * a tie, the negation.  An IPv4-mapped IPv6 address is also tried as IPv4.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dkim_table.h"
#include "dkim_table_int.h"
#include "log.h"
#include "netaddr.h"

struct host_name {
	char *name;		/* lower case; ".domain" or "host" */
	bool neg;
	unsigned lineno;
};

struct host_net {
	struct net_prefix net;
	bool neg;
	unsigned lineno;
};

struct dkim_hostlist {
	struct host_name *names;
	size_t nnames;
	struct host_net *nets;
	size_t nnets;
};

/* host_valid_name - letters, digits, "-", "_" and dots, as DNS host names use */
static bool
host_valid_name(struct span s)
{
	if (s.len == 0 || s.len > DKIM_TABLE_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* host_bits_clear - are the bits after prefix zero? */
static bool
host_bits_clear(const unsigned char *a, unsigned prefix, unsigned total)
{
	for (unsigned bit = prefix; bit < total; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* host_mask - clear the bits after prefix */
static void
host_mask(unsigned char *a, unsigned prefix, unsigned total)
{
	for (unsigned bit = prefix; bit < total; bit++)
		a[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
}

/* host_parse_prefix - "/N" after an address; -1 when malformed */
static int
host_parse_prefix(struct span s, unsigned max)
{
	unsigned v = 0;

	if (s.len < 2 || s.len > 4 || s.p[0] != '/')
		return -1;
	for (size_t i = 1; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	return v <= max ? (int)v : -1;
}

/* host_add_net - an address or CIDR entry; 1 when it is not one */
static int
host_add_net(struct dkim_hostlist *hl, const struct dkim_table_line *l,
    struct span s, bool neg, char *err, size_t errsz)
{
	struct host_net n = { .neg = neg, .lineno = l->lineno };
	struct span a = s, rest = { s.p + s.len, 0 };
	const char *slash;
	int prefix;

	if (s.len > 0 && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.len);

		if (close == NULL)
			goto bad;
		a = (struct span){ s.p + 1, (size_t)(close - s.p - 1) };
		rest = (struct span){ close + 1, s.len - (size_t)(close + 1 - s.p) };
	} else if ((slash = memchr(s.p, '/', s.len)) != NULL) {
		a = (struct span){ s.p, (size_t)(slash - s.p) };
		rest = (struct span){ slash, s.len - a.len };
	}
	if (net_addr_parse(a.p, a.len, &n.net.family, n.net.addr) < 0) {
		if (s.p[0] != '[' && rest.len == 0)
			return 1;	/* not an address: a host name */
		goto bad;
	}
	n.net.prefix = n.net.family == AF_INET ? 32 : 128;
	if (rest.len > 0) {
		if ((prefix = host_parse_prefix(rest, n.net.prefix)) < 0)
			goto bad;
		/* OpenDKIM masks the host bits; so do we, but say so */
		if (!host_bits_clear(n.net.addr, (unsigned)prefix, n.net.prefix)) {
			host_mask(n.net.addr, (unsigned)prefix, n.net.prefix);
			log_warn("%s:%u: \"%.*s\": host bits set after the /%d "
			    "prefix; read as the block they belong to", l->file,
			    l->lineno, (int)s.len, s.p, prefix);
		}
		n.net.prefix = (unsigned)prefix;
	}
	hl->nets = xrealloc(hl->nets, (hl->nnets + 1) * sizeof(*hl->nets));
	hl->nets[hl->nnets++] = n;
	return 0;
bad:
	dkim_table_file_err(err, errsz, l, "\"%.*s\": not an address, CIDR block or "
	    "host name", (int)s.len, s.p);
	return -1;
}

/* host_conflict - the same entry listed both with and without "!" */
static int
host_conflict(const struct dkim_hostlist *hl, const struct dkim_table_line *l,
    char *err, size_t errsz)
{
	if (hl->nnets > 0) {
		const struct host_net *b = &hl->nets[hl->nnets - 1];

		for (size_t i = 0; i + 1 < hl->nnets; i++) {
			const struct host_net *a = &hl->nets[i];

			if (a->net.family == b->net.family && a->net.prefix == b->net.prefix &&
			    memcmp(a->net.addr, b->net.addr, 16) == 0 && a->neg != b->neg) {
				dkim_table_file_err(err, errsz, l, "\"%.*s\" "
				    "contradicts line %u", (int)l->key.len,
				    l->key.p, a->lineno);
				return -1;
			}
		}
	}
	return 0;
}

/* host_add_line - one entry of the list */
static int
host_add_line(void *arg, const struct dkim_table_line *l, char *err, size_t errsz)
{
	struct dkim_hostlist *hl = arg;
	struct span s = l->key;
	bool neg = false;
	size_t nnets = hl->nnets;
	int rc;

	if (l->value.len > 0) {
		dkim_table_file_err(err, errsz, l, "unexpected \"%.*s\" after the host "
		    "entry (one host, address or block per line)",
		    (int)l->value.len, l->value.p);
		return -1;
	}
	if (s.p[0] == '!') {
		neg = true;
		s.p++, s.len--;
	}
	if (s.len == 0) {
		dkim_table_file_err(err, errsz, l, "\"!\" without a host");
		return -1;
	}
	/* "*.example.com" (refile: style) is ".example.com": every subdomain */
	if (s.len > 2 && s.p[0] == '*' && s.p[1] == '.')
		s.p++, s.len--;
	rc = host_add_net(hl, l, s, neg, err, errsz);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return nnets < hl->nnets ? host_conflict(hl, l, err, errsz) : 0;
	if (!host_valid_name(s)) {
		dkim_table_file_err(err, errsz, l, "\"%.*s\": not an address, CIDR "
		    "block or host name", (int)s.len, s.p);
		return -1;
	}
	for (size_t i = 0; i < hl->nnames; i++)
		if (strlen(hl->names[i].name) == s.len &&
		    ascii_mem_eq_ci(hl->names[i].name, s.p, s.len) &&
		    hl->names[i].neg != neg) {
			dkim_table_file_err(err, errsz, l, "\"%.*s\" contradicts line %u",
			    (int)l->key.len, l->key.p, hl->names[i].lineno);
			return -1;
		}
	hl->names = xrealloc(hl->names, (hl->nnames + 1) * sizeof(*hl->names));
	hl->names[hl->nnames].name = xmemdup0(s.p, s.len);
	for (char *c = hl->names[hl->nnames].name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	hl->names[hl->nnames].neg = neg;
	hl->names[hl->nnames].lineno = l->lineno;
	hl->nnames++;
	return 0;
}

/* dkim_table_host_load - a host list from a data set spec */
struct dkim_hostlist *
dkim_table_host_load(const char *spec, char *err, size_t errsz)
{
	struct dkim_hostlist *hl;
	enum dkim_table_spec kind;
	const char *rest;
	int rc;

	if (dkim_table_file_spec(spec, &kind, &rest, err, errsz) < 0)
		return NULL;
	hl = xcalloc(1, sizeof(*hl));
	/* refile: host lists hold the same entries, "*." patterns included */
	if (kind == DKIM_TABLE_SPEC_FILE || kind == DKIM_TABLE_SPEC_REFILE)
		rc = dkim_table_file_read(rest, host_add_line, hl, err, errsz);
	else
		rc = dkim_table_file_read_list(rest, host_add_line, hl, err, errsz);
	if (rc < 0) {
		dkim_table_host_free(hl);
		return NULL;
	}
	return hl;
}

/* dkim_table_host_free - release a host list */
void
dkim_table_host_free(struct dkim_hostlist *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i].name);
	free(l->names);
	free(l->nets);
	free(l);
}

/* dkim_table_host_count - number of entries */
size_t
dkim_table_host_count(const struct dkim_hostlist *l)
{
	return l->nnames + l->nnets;
}

/* host_name_lookup - -1 absent, 0 negated, 1 listed */
static int
host_name_lookup(const struct dkim_hostlist *l, const char *name, size_t len)
{
	int found = -1;

	for (size_t i = 0; i < l->nnames; i++)
		if (strlen(l->names[i].name) == len &&
		    ascii_mem_eq_ci(l->names[i].name, name, len)) {
			if (l->names[i].neg)
				return 0;
			found = 1;
		}
	return found;
}

/* host_match_name - the host, then ".parent" for each parent domain */
static int
host_match_name(const struct dkim_hostlist *l, const char *host)
{
	size_t len = strlen(host);
	const char *p = host;
	int r;

	if (len > 0 && host[len - 1] == '.')
		len--;
	while (p != NULL && p < host + len) {
		if ((r = host_name_lookup(l, p, len - (size_t)(p - host))) >= 0)
			return r;
		p = memchr(p + 1, '.', len - (size_t)(p + 1 - host));
	}
	return -1;
}

/* host_match_net - the longest matching block; on a tie the negation */
static int
host_match_net(const struct dkim_hostlist *l, int family, const unsigned char *a)
{
	int best = -1;
	unsigned best_prefix = 0;

	for (size_t i = 0; i < l->nnets; i++) {
		const struct host_net *n = &l->nets[i];

		if (!net_prefix_match(&n->net, family, a))
			continue;
		if (best < 0 || n->net.prefix > best_prefix ||
		    (n->net.prefix == best_prefix && n->neg)) {
			best = n->neg ? 0 : 1;
			best_prefix = n->net.prefix;
		}
	}
	return best;
}

/* dkim_table_host_match - is the client in the list? */
bool
dkim_table_host_match(const struct dkim_hostlist *l, const char *hostname,
    int family, const void *addr)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const unsigned char *a = addr;
	int r = -1;

	if (hostname != NULL && *hostname != '\0' && strcmp(hostname, "unknown") != 0)
		r = host_match_name(l, hostname);
	if (r < 0 && addr != NULL && (family == AF_INET || family == AF_INET6)) {
		r = host_match_net(l, family, a);
		if (r < 0 && family == AF_INET6 && memcmp(a, v4mapped, 12) == 0)
			r = host_match_net(l, AF_INET, a + 12);
	}
	return r == 1;
}

/* dkim_table_host_match_text - the same with the address in text form */
bool
dkim_table_host_match_text(const struct dkim_hostlist *l, const char *hostname,
    const char *addr)
{
	unsigned char bin[16];
	int family = 0;
	struct span s = { NULL, 0 };

	if (addr != NULL) {
		s = span_from_cstr(addr);
		if (s.len >= 5 && ascii_mem_eq_ci(s.p, "IPv6:", 5))
			s.p += 5, s.len -= 5;
		if (s.len >= 2 && s.p[0] == '[' && s.p[s.len - 1] == ']')
			s.p++, s.len -= 2;
	}
	if (net_addr_parse(s.p, s.len, &family, bin) < 0)
		return dkim_table_host_match(l, hostname, 0, NULL);
	return dkim_table_host_match(l, hostname, family, bin);
}
