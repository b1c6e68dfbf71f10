/*
 * fuzz_reinject_rollover - libFuzzer target for the key rollover plan reader
 * (reinject/reinject_rollover_file.c, the "<keyfile>.next" file of reinject
 * keygen --next) and the state file reader (reinject_rollover_state.c, the
 * switch kept across restarts); every input goes through both.
 *
 * Invariant: the parse returns 0 or -1; on 0 the selector is 1 to 255
 * characters of letters, digits, '-', '_' and inner single dots, and the key
 * file an absolute path without NUL, both found in the input; on -1 there is
 * at least one error line and every one names the file ("p:" or "p: ").
 * State file: 0 or -1; on 0 domain and selectors pass the same character
 * check, the hash is 64 lowercase hex digits, switched_at is 1 .. year 9999,
 * and formatting the result and parsing it again gives the same state; on
 * -1 every error line names the file.
 * Never a crash, never a read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reinject_rollover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_selector_ok - the selector characters the parser promises */
static bool
fuzz_selector_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REINJECT_ROLLOVER_SELECTOR_MAX || s[0] == '.' ||
	    s[n - 1] == '.' || strstr(s, "..") != NULL)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") == n;
}

/* fuzz_named - every line of the errors starts with "p:" */
static bool
fuzz_named(const struct buf *b)
{
	const char *p = buf_cstr(b), *end = p + b->len;

	if (b->len == 0)
		return false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (end - p < 2 || memcmp(p, "p:", 2) != 0)
			return false;
		p = nl ? nl + 1 : end;
	}
	return true;
}

/* fuzz_state_same - a and b hold the same switch */
static bool
fuzz_state_same(const struct reinject_rollover_state *a,
    const struct reinject_rollover_state *b)
{
	return strcmp(a->domain, b->domain) == 0 &&
	    strcmp(a->old_selector, b->old_selector) == 0 &&
	    strcmp(a->next_selector, b->next_selector) == 0 &&
	    strcmp(a->key_sha256, b->key_sha256) == 0 &&
	    a->switched_at == b->switched_at;
}

/* fuzz_state - the state file reader's invariant on one input */
static void
fuzz_state(const uint8_t *data, size_t size)
{
	struct reinject_rollover_state st, back;
	char text[REINJECT_ROLLOVER_STATE_MAX];
	struct buf err;
	int rc, n;

	buf_init(&err, 1 << 20);
	rc = reinject_rollover_state_parse((const char *)data, size, "p", &st, &err);
	if (rc == 0) {
		if (!fuzz_selector_ok(st.domain) || !fuzz_selector_ok(st.old_selector) ||
		    !fuzz_selector_ok(st.next_selector) ||
		    strlen(st.key_sha256) != REINJECT_ROLLOVER_HASH_HEX ||
		    strspn(st.key_sha256, "0123456789abcdef") != REINJECT_ROLLOVER_HASH_HEX ||
		    st.switched_at < 1 || st.switched_at > 253402300799LL)
			abort();
		n = reinject_rollover_state_format(&st, text, sizeof(text));
		buf_reset(&err);
		if (n < 0 || reinject_rollover_state_parse(text, (size_t)n, "p", &back,
		    &err) != 0 || !fuzz_state_same(&st, &back))
			abort();
	} else if (rc != -1 || !fuzz_named(&err))
		abort();
	buf_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reinject_rollover_plan plan;
	struct buf err;
	int rc;

	buf_init(&err, 1 << 20);
	rc = reinject_rollover_parse((const char *)data, size, "p", &plan, &err);
	if (rc == 0) {
		if (!fuzz_selector_ok(plan.selector) || plan.key_file[0] != '/' ||
		    memmem(data, size, plan.selector, strlen(plan.selector)) == NULL ||
		    memmem(data, size, plan.key_file, strlen(plan.key_file)) == NULL)
			abort();
	} else if (rc != -1 || !fuzz_named(&err))
		abort();
	buf_clear(&err);
	fuzz_state(data, size);
	return 0;
}
