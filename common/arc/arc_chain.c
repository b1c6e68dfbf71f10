/*
 * arc_chain.c - the ARC sets of a message, filed by instance as the fields
 * arrive (RFC 8617 §4.2.1, §5.2 steps 1-3), shared by the verifier and the
 * sealer.  Every ARC field is parsed, also after the chain is known to be
 * broken, so the sealer learns the highest instance (§5.1 step 2); at most
 * ARC_FIELD_COUNT * set_limit fields are read, the rest only counted.
 */
#include <stdlib.h>
#include <string.h>

#include "arc_int.h"

/* arc_chain_init - an empty chain; set_limit at most ARC_SET_LIMIT */
void
arc_chain_init(struct arc_chain *c, unsigned set_limit)
{
	memset(c, 0, sizeof(*c));
	c->set_limit = set_limit && set_limit <= ARC_SET_LIMIT ? set_limit : ARC_SET_LIMIT;
}

/* arc_chain_break - the chain cannot pass: keep the first reason */
static void
arc_chain_break(struct arc_chain *c, const char *why, bool limit)
{
	if (c->broken != NULL)
		return;
	c->broken = why;
	c->broken_limit = limit;
}

/* arc_chain_file - the set of instance i takes a parsed field; false if it already had one */
static bool
arc_chain_file(struct arc_chain *c, enum arc_field kind, unsigned i)
{
	if (i > c->max)
		c->max = i;
	if (i > c->set_limit) {
		arc_chain_break(c, "ARC instance above the set limit", c->set_limit < ARC_SET_LIMIT);
		return false;
	}
	if (c->sets[i] == NULL)
		c->sets[i] = xcalloc(1, sizeof(*c->sets[i]));
	if (i > c->n)
		c->n = i;
	if (c->sets[i]->count[kind]++ > 0) {
		arc_chain_break(c, "two ARC fields of one kind for an instance", false);
		return false;
	}
	return true;
}

/* arc_chain_add_aar - an ARC-Authentication-Results field */
static void
arc_chain_add_aar(struct arc_chain *c, const char *field, size_t len)
{
	struct arc_aar a;

	if (arc_aar_parse(&a, field, len) < 0)
		arc_chain_break(c, a.error, false);
	else if (arc_chain_file(c, ARC_FIELD_AAR, a.instance)) {
		c->sets[a.instance]->aar = a;
		return;
	}
	arc_aar_clear(&a);
}

/* arc_chain_add_ams - an ARC-Message-Signature field */
static void
arc_chain_add_ams(struct arc_chain *c, const char *field, size_t len)
{
	struct dkim_sig *s = xmalloc(sizeof(*s));

	if (dkim_sig_parse_kind(s, field, len, DKIM_SIG_KIND_AMS) < 0)
		arc_chain_break(c, s->error, false);
	else if (arc_chain_file(c, ARC_FIELD_AMS, s->instance)) {
		c->sets[s->instance]->ams = *s;
		free(s);
		return;
	}
	dkim_sig_clear(s);
	free(s);
}

/* arc_chain_add_seal - an ARC-Seal field */
static void
arc_chain_add_seal(struct arc_chain *c, const char *field, size_t len)
{
	struct arc_seal *s = xmalloc(sizeof(*s));

	if (arc_seal_parse(s, field, len) < 0)
		arc_chain_break(c, s->error, false);
	else if (arc_chain_file(c, ARC_FIELD_AS, s->instance)) {
		c->sets[s->instance]->seal = *s;
		free(s);
		return;
	}
	arc_seal_clear(s);
	free(s);
}

/* arc_chain_add - one ARC field of the message */
void
arc_chain_add(struct arc_chain *c, enum arc_field kind, const char *field, size_t len)
{
	if (++c->nfields > ARC_FIELD_COUNT * c->set_limit) {
		c->overflow = true;
		arc_chain_break(c, "more ARC fields than the set limit allows",
		    c->set_limit < ARC_SET_LIMIT);
		return;
	}
	if (kind == ARC_FIELD_AAR)
		arc_chain_add_aar(c, field, len);
	else if (kind == ARC_FIELD_AMS)
		arc_chain_add_ams(c, field, len);
	else if (kind == ARC_FIELD_AS)
		arc_chain_add_seal(c, field, len);
}

/* arc_chain_status - §5.2 steps 1-3: NULL when the chain may pass, else why it fails */
const char *
arc_chain_status(const struct arc_chain *c)
{
	if (c->broken)
		return c->broken;
	for (unsigned i = 1; i <= c->n; i++) {
		const struct arc_chain_set *s = c->sets[i];

		if (s == NULL || s->count[ARC_FIELD_AAR] != 1 || s->count[ARC_FIELD_AMS] != 1 ||
		    s->count[ARC_FIELD_AS] != 1)
			return "ARC instances are not 1..N each with one AAR, AMS and AS";
	}
	if (c->sets[c->n]->seal.cv == ARC_CV_FAIL)
		return "the latest ARC-Seal says cv=fail";
	if (c->sets[1]->seal.cv != ARC_CV_NONE)
		return "the first ARC-Seal does not say cv=none";
	for (unsigned i = 2; i <= c->n; i++)
		if (c->sets[i]->seal.cv != ARC_CV_PASS)
			return "an ARC-Seal after the first does not say cv=pass";
	return NULL;
}

/* arc_chain_fields - the raw fields of sets 1..n (complete sets only) */
void
arc_chain_fields(const struct arc_chain *c, unsigned n, struct arc_set_fields *out)
{
	for (unsigned k = 1; k <= n; k++) {
		const struct arc_chain_set *t = c->sets[k];

		out[k - 1].f[ARC_FIELD_AAR] = (struct span){ t->aar.field, t->aar.field_len };
		out[k - 1].f[ARC_FIELD_AMS] = (struct span){ t->ams.field, t->ams.field_len };
		out[k - 1].f[ARC_FIELD_AS] = (struct span){ t->seal.field, t->seal.field_len };
	}
}

/* arc_chain_clear - free the sets */
void
arc_chain_clear(struct arc_chain *c)
{
	for (unsigned i = 0; i <= ARC_SET_LIMIT; i++) {
		if (c->sets[i] == NULL)
			continue;
		arc_aar_clear(&c->sets[i]->aar);
		dkim_sig_clear(&c->sets[i]->ams);
		arc_seal_clear(&c->sets[i]->seal);
		free(c->sets[i]);
	}
	memset(c, 0, sizeof(*c));
}
