/*
 * reinject_dmarc_hdrs.c - the header checks the DMARC stage makes before it
 * evaluates, as OpenDMARC's RequiredHeaders and IgnoreMailFrom:
 *   dmarc_required_headers     the field counts of RFC 5322 §3.6 (table
 *                              below: From and Date exactly once, the others
 *                              at most once) and a From with a domain
 *   dmarc_ignore_from_domains  mail whose From domains are all listed is not
 *                              evaluated (no dmarc= clause, no action)
 * A header section that was not parsed (m->raw) is not counted: its DMARC
 * verdict still comes from the evaluation (reinject_dmarc.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mailaddr.h"
#include "reinject.h"
#include "reinject_dmarc.h"

/* RFC 5322 §3.6, the table of field counts: min and max occurrences */
static const struct { const char *name; unsigned min, max; } dmarc_hdrs_counts[] = {
	{ "From", 1, 1 }, { "Date", 1, 1 }, { "Sender", 0, 1 },
	{ "Reply-To", 0, 1 }, { "To", 0, 1 }, { "Cc", 0, 1 }, { "Bcc", 0, 1 },
	{ "Message-ID", 0, 1 }, { "In-Reply-To", 0, 1 }, { "References", 0, 1 },
	{ "Subject", 0, 1 },
};

/* dmarc_hdrs_count - fields called name, removed ones left out */
static unsigned
dmarc_hdrs_count(const struct reinject_msg *m, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->nhdrs; i++)
		if (!m->hdrs[i].removed && reinject_msg_field_is(m, i, name))
			n++;
	return n;
}

/* dmarc_hdrs_from - the From field's addresses; false when none parses */
static bool
dmarc_hdrs_from(const struct reinject_msg *m, struct mailaddr_list *l)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span v;

		if (m->hdrs[i].removed || !reinject_msg_field_is(m, i, "From"))
			continue;
		v = reinject_msg_field_value(m, i);
		return mailaddr_parse_list(v.p, v.len, l) == 0 && l->count > 0;
	}
	return false;
}

/* reinject_dmarc_required - why the header breaks RFC 5322 §3.6, or NULL */
const char *
reinject_dmarc_required(const struct reinject_msg *m)
{
	static char why[64];
	struct mailaddr_list l;

	if (m->raw)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(dmarc_hdrs_counts); i++) {
		unsigned n = dmarc_hdrs_count(m, dmarc_hdrs_counts[i].name);

		if (n < dmarc_hdrs_counts[i].min || n > dmarc_hdrs_counts[i].max) {
			snprintf(why, sizeof(why), "%u %s fields", n,
			    dmarc_hdrs_counts[i].name);
			return why;
		}
	}
	if (!dmarc_hdrs_from(m, &l) || !l.addr[0].domain[0])
		return "no domain in From";
	return NULL;
}

/* dmarc_hdrs_listed - is domain in the list (case-insensitive) */
static bool
dmarc_hdrs_listed(const char *domain, const struct config_list *domains)
{
	for (size_t i = 0; i < domains->count; i++)
		if (strcasecmp(domain, domains->items[i]) == 0)
			return true;
	return false;
}

/* dmarc_hdrs_all_listed - a From field whose every domain is listed */
static bool
dmarc_hdrs_all_listed(struct span v, const struct config_list *domains)
{
	struct mailaddr_list l;

	if (mailaddr_parse_list(v.p, v.len, &l) != 0 || l.count == 0)
		return false;
	for (size_t i = 0; i < l.count; i++)
		if (!dmarc_hdrs_listed(l.addr[i].domain, domains))
			return false;
	return true;
}

/*
 * reinject_dmarc_ignored - every domain of every From field is listed (no
 * From, or one that does not parse: false, so a listed domain cannot hide
 * another From from the evaluation)
 */
bool
reinject_dmarc_ignored(const struct reinject_msg *m,
    const struct config_list *domains)
{
	bool any = false;

	if (m->raw)
		return false;
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].removed || !reinject_msg_field_is(m, i, "From"))
			continue;
		if (!dmarc_hdrs_all_listed(reinject_msg_field_value(m, i), domains))
			return false;
		any = true;
	}
	return any;
}
