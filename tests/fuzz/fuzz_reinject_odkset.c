/*
 * fuzz_reinject_odkset - libFuzzer target for the OpenDKIM data sets of
 * names (reinject/reinject_opendkim_sets.c: csl:, comma lists, the refused
 * types) and the header-list forms "*", "+name", "-name" applied to a base.
 * Inputs naming a file (file:, a leading "/") are skipped: the flat-file
 * reader is reached through fuzz_reinject_foreign.
 *
 * Invariant: a read succeeds or fails with a message; a set read holds at
 * most 256 names (the deltas add the base, never drop a name), each non-empty, without a comma or surrounding blanks, none
 * twice (case-insensitive); after the deltas no name is "*", every base
 * name is kept unless a "-name" entry removed it, and the joined text has
 * one ", " fewer than names.  Never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reinject_foreign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_base[] = { "From", "Subject", "To", NULL };

/* fuzz_check - the shape every set keeps (max: 256 read, plus the base) */
static void
fuzz_check(const struct reinject_opendkim_set *set, size_t max)
{
	if (set->n > max)
		abort();
	for (size_t i = 0; i < set->n; i++) {
		const char *n = set->names[i];
		size_t l = strlen(n);

		if (l == 0 || strchr(n, ',') || n[0] == ' ' || n[0] == '\t' ||
		    n[l - 1] == ' ' || n[l - 1] == '\t')
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(n, set->names[j]) == 0)
				abort();
	}
}

/* fuzz_removed - does the input hold "-name" (blanks allowed after "-") */
static bool
fuzz_removed(const struct span v, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < v.len; i++) {
		size_t j = i + 1;

		if (v.p[i] != '-')
			continue;
		while (j < v.len && (v.p[j] == ' ' || v.p[j] == '\t'))
			j++;
		if (j + n <= v.len && strncasecmp(v.p + j, name, n) == 0)
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span v = { (const char *)data, size };
	struct reinject_opendkim_set set;
	struct buf e, j;
	size_t commas = 0;
	bool star;

	if ((size && data[0] == '/') || (size >= 5 && strncasecmp(v.p, "file:", 5) == 0))
		return 0;
	buf_init(&e, 4096);
	if (reinject_opendkim_set_read(&set, v, &e) < 0) {
		if (e.len == 0)
			abort();
		reinject_opendkim_set_clear(&set);
		buf_clear(&e);
		return 0;
	}
	fuzz_check(&set, 256);
	star = reinject_opendkim_set_has(&set, "*", 1);
	reinject_opendkim_set_delta(&set, fuzz_base);
	fuzz_check(&set, 256 + 3);
	if (reinject_opendkim_set_has(&set, "*", 1))
		abort();
	for (size_t i = 0; star && fuzz_base[i]; i++)
		if (!reinject_opendkim_set_has(&set, fuzz_base[i], strlen(fuzz_base[i])) &&
		    !fuzz_removed(v, fuzz_base[i]))
			abort();
	buf_init(&j, 1 << 20);
	reinject_opendkim_set_join(&set, &j);
	for (const char *p = buf_cstr(&j); (p = strstr(p, ", ")) != NULL; p += 2)
		commas++;
	if (set.n && commas != set.n - 1)
		abort();
	buf_clear(&j);
	reinject_opendkim_set_clear(&set);
	buf_clear(&e);
	return 0;
}
