/*
 * fuzz_reinject_foreign - libFuzzer target for the readers of foreign
 * configurations (reinject/reinject_foreign.c, reinject_opendkim.c,
 * reinject_opendmarc.c): the input is written to a file and read as an
 * opendkim.conf or opendmarc.conf, the format detected as `reinject -c` does.
 *
 * Invariant: the load returns 0 or -1; on -1 there is at least one error and
 * every error line names the file ("PATH:..."); every note line names it too;
 * on 0, the reinject.conf text that `reinject import` prints for the same
 * file loads as a reinject.conf without error (the translation is itself
 * valid).  Never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reinject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[] = "/tmp/fuzz-foreign-XXXXXX";

/* fuzz_lines_named - every line of b starts with "PATH" */
static bool
fuzz_lines_named(const struct buf *b)
{
	const char *p = buf_cstr(b), *end = p + b->len;
	size_t w = strlen(fuzz_path);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (len < w || memcmp(p, fuzz_path, w) != 0)
			return false;
		p += len + 1;
	}
	return true;
}

/* fuzz_write - the input into the file */
static void
fuzz_write(const uint8_t *data, size_t size)
{
	FILE *f = fopen(fuzz_path, "w");

	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

/* fuzz_import_loads - the printed translation is a valid reinject.conf */
static void
fuzz_import_loads(void)
{
	struct reinject_conf c;
	struct buf err, notes;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	buf_init(&err, 1 << 22);
	buf_init(&notes, 1 << 22);
	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	if (reinject_foreign_load(&c, fuzz_path, &notes, &err, out) < 0)
		abort();		/* the same file loaded a moment ago */
	fclose(out);
	config_free(&reinject_conf_schema, &c);
	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	buf_reset(&err);
	if (config_load_mem(&reinject_conf_schema, &c, "import", text, len, &err) < 0)
		abort();
	config_free(&reinject_conf_schema, &c);
	free(text);
	buf_clear(&err);
	buf_clear(&notes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct reinject_conf c;
	struct buf err, notes;
	int rc;

	if (!ready) {
		int fd = mkstemp(fuzz_path);

		if (fd < 0)
			abort();
		close(fd);
		ready = true;
	}
	fuzz_write(data, size);
	buf_init(&err, 1 << 22);
	buf_init(&notes, 1 << 22);
	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	rc = reinject_foreign_load(&c, fuzz_path, &notes, &err, NULL);
	if ((rc < 0 && err.len == 0) || (rc == 0 && err.len != 0) ||
	    err.overflow || !fuzz_lines_named(&err) || !fuzz_lines_named(&notes))
		abort();
	config_free(&reinject_conf_schema, &c);
	buf_clear(&err);
	buf_clear(&notes);
	if (rc == 0)
		fuzz_import_loads();
	return 0;
}
