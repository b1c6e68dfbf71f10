/*
 * fuzz_reinject_rollover - libFuzzer target for the key rollover plan reader
 * (reinject/reinject_rollover_file.c, the "<keyfile>.next" file of reinject
 * keygen --next).
 *
 * Invariant: the parse returns 0 or -1; on 0 the selector is 1 to 255
 * characters of letters, digits, '-', '_' and inner single dots, and the key
 * file an absolute path without NUL, both found in the input; on -1 there is
 * at least one error line and every one names the file ("p:" or "p: ").
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
	return 0;
}
