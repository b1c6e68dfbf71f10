/*
 * fuzz_reinject_conf - libFuzzer target for the configuration files: the
 * "name = value" reader (common/core/config.c, postconf(5) syntax) with
 * reinject.conf's table and checks (reinject/reinject_conf.c) and, when the
 * first byte's low bit is set, policyd.conf's (policyd/policyd_config.c).
 *
 * Invariant: a load either succeeds with every value within its key's limits
 * (INT, TIME and SIZE within min..max, an ENUM one of its names, strings and
 * lists present, the listeners derived) and every numeric value read back
 * the same from its printed form, or fails with messages that each name the
 * file and a line of the input ("fuzz.conf:N: ...") or, for a cross-key
 * check, a key ("listen: ...", "dkim_timeout + ...").  Never a crash.  The
 * files under test are built into the target (coverage); the rest of
 * reinject (the DMARC setting names) comes from its library.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../reinject/reinject_conf.c"
#include "../../policyd/policyd_cidr.c"
#include "../../policyd/policyd_config.c"
#include "../../policyd/policyd_domain.c"
#include "../../policyd/policyd_pyspf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_WHERE	"fuzz.conf"
#define FUZZ_FIELD(dst, k, type)	((type *)((char *)(dst) + (k)->offset))

/* fuzz_enum_ok - v is one of the key's names */
static bool
fuzz_enum_ok(const struct config_key *k, int v)
{
	for (const struct config_enum *e = k->enums; e->name != NULL; e++)
		if (e->value == v)
			return true;
	return false;
}

/* fuzz_value_ok - one field within its key's limits */
static bool
fuzz_value_ok(const struct config_key *k, void *dst)
{
	switch (k->type) {
	case CONFIG_BOOL:
		return true;
	case CONFIG_INT:
		return *FUZZ_FIELD(dst, k, int) >= k->min && *FUZZ_FIELD(dst, k, int) <= k->max;
	case CONFIG_TIME:
		return *FUZZ_FIELD(dst, k, unsigned) >= k->min &&
		    *FUZZ_FIELD(dst, k, unsigned) <= k->max;
	case CONFIG_SIZE:
		return *FUZZ_FIELD(dst, k, size_t) >= (size_t)k->min &&
		    *FUZZ_FIELD(dst, k, size_t) <= (size_t)k->max;
	case CONFIG_STRING:
		return *FUZZ_FIELD(dst, k, char *) != NULL;
	case CONFIG_LIST: {
		const struct config_list *l = FUZZ_FIELD(dst, k, struct config_list);

		for (size_t i = 0; i < l->count; i++)
			if (l->items[i] == NULL || l->items[i][0] == '\0')
				return false;
		return l->count == 0 || l->items[l->count] == NULL;
	}
	case CONFIG_ENUM:
		return fuzz_enum_ok(k, *FUZZ_FIELD(dst, k, int));
	}
	return false;
}

/* fuzz_round_trip - a numeric value reads back the same from its printed form */
static bool
fuzz_round_trip(const struct config_schema *s, const struct config_key *k,
    void *dst, void *scratch)
{
	struct buf text, err;
	bool ok;

	if (k->type != CONFIG_INT && k->type != CONFIG_TIME && k->type != CONFIG_SIZE &&
	    k->type != CONFIG_BOOL && k->type != CONFIG_ENUM)
		return true;
	buf_init(&text, 256);
	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_format_value(k, dst, &text);
	ok = config_set(s, scratch, k->name, strlen(k->name), text.data ? text.data : "",
	    text.len, &err) == 0;
	if (ok && k->type == CONFIG_SIZE)
		ok = *FUZZ_FIELD(scratch, k, size_t) == *FUZZ_FIELD(dst, k, size_t);
	else if (ok && k->type == CONFIG_TIME)
		ok = *FUZZ_FIELD(scratch, k, unsigned) == *FUZZ_FIELD(dst, k, unsigned);
	else if (ok && k->type == CONFIG_BOOL)
		ok = *FUZZ_FIELD(scratch, k, bool) == *FUZZ_FIELD(dst, k, bool);
	else if (ok)
		ok = *FUZZ_FIELD(scratch, k, int) == *FUZZ_FIELD(dst, k, int);
	buf_clear(&text);
	buf_clear(&err);
	return ok;
}

/* fuzz_lines - physical lines of the input (a last line without LF counts) */
static unsigned
fuzz_lines(const char *p, size_t len)
{
	unsigned n = 1;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n')
			n++;
	return n;
}

/* fuzz_message_ok - "fuzz.conf:N: ..." with N a line of the input, or "key..." */
static bool
fuzz_message_ok(const struct config_schema *s, const char *m, size_t len,
    unsigned lines)
{
	size_t w = strlen(FUZZ_WHERE), n = 0;
	unsigned long line = 0;

	if (len > w + 2 && strncmp(m, FUZZ_WHERE ":", w + 1) == 0) {
		for (n = w + 1; n < len && m[n] >= '0' && m[n] <= '9'; n++)
			line = line * 10 + (unsigned long)(m[n] - '0');
		return n > w + 1 && n + 1 < len && m[n] == ':' && m[n + 1] == ' ' &&
		    line >= 1 && line <= lines;
	}
	while (n < len && m[n] != ':' && m[n] != ' ')
		n++;
	return n > 0 && config_key_find(s, m, n) != NULL;
}

/* fuzz_errors_ok - every line of err is a located message; at least one */
static bool
fuzz_errors_ok(const struct config_schema *s, const struct buf *err, unsigned lines)
{
	const char *p = buf_cstr(err), *end = p + err->len;

	if (err->len == 0)
		return false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!fuzz_message_ok(s, p, len, lines))
			return false;
		p += len + 1;
	}
	return true;
}

/* fuzz_load - load text with schema s into dst (defaults set) and check */
static void
fuzz_load(const struct config_schema *s, void *dst, void *scratch, const char *p,
    size_t len, bool reinject)
{
	struct buf err;

	/* large enough for every message: a cut list is not what is checked */
	buf_init(&err, 1 << 22);
	if (config_load_mem(s, dst, FUZZ_WHERE, p, len, &err) < 0) {
		if (err.overflow || !fuzz_errors_ok(s, &err, fuzz_lines(p, len)))
			abort();
		buf_clear(&err);
		return;
	}
	for (size_t i = 0; i < s->nkeys; i++)
		if (!fuzz_value_ok(&s->keys[i], dst) ||
		    !fuzz_round_trip(s, &s->keys[i], dst, scratch))
			abort();
	if (reinject) {
		struct reinject_conf *c = dst;

		buf_reset(&err);
		if (reinject_conf_listeners(&c->listen, c->listeners, &c->nlisteners,
		    &err) < 0 || c->nlisteners == 0)
			abort();	/* validate accepted what the loader refuses */
	}
	buf_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p;

	if (size < 1)
		return 0;
	p = xmemdup0(data + 1, size - 1);	/* exactly sized: overreads are caught */
	if (data[0] & 1) {
		struct policyd_config *c = policyd_config_new();
		struct policyd_config *scratch = policyd_config_new();

		fuzz_load(&policyd_config_schema, c, scratch, p, size - 1, false);
		policyd_config_unref(c);
		policyd_config_unref(scratch);
	} else {
		struct reinject_conf c, scratch;

		memset(&c, 0, sizeof(c));
		memset(&scratch, 0, sizeof(scratch));
		config_init(&reinject_conf_schema, &c);
		config_init(&reinject_conf_schema, &scratch);
		fuzz_load(&reinject_conf_schema, &c, &scratch, p, size - 1, true);
		config_free(&reinject_conf_schema, &c);
		config_free(&reinject_conf_schema, &scratch);
	}
	free(p);
	return 0;
}
