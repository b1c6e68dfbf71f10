/*
 * reinject_foreign.c - the "Key value" reader shared by opendkim.conf(5) and
 * opendmarc.conf(5) (reinject_foreign.h): comments, key lookup, the generic
 * mappings, errors with file:line and notes.
 */
#include <stdlib.h>
#include <string.h>

#include "reinject_foreign.h"

/* reinject_foreign_err - "file:line: Key: message ("value")" */
int
reinject_foreign_err(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *msg, struct span v)
{
	buf_printf(s->err, "%s:%u: %s: %s (\"%.*s\")\n", s->where, s->line,
	    k->name, msg, (int)v.len, v.p);
	return -1;
}

/* reinject_foreign_note - "file:line: Key: note" */
void
reinject_foreign_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *msg)
{
	buf_printf(s->notes, "%s:%u: %s: %s\n", s->where, s->line, k->name, msg);
	if (s->out)
		fprintf(s->out, "#   %s\n", msg);
}

/* reinject_foreign_set - set a native key (and print it for import) */
int
reinject_foreign_set(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, const char *native, const char *p,
    size_t len)
{
	struct buf e;
	int rc;

	buf_init(&e, CONFIG_ERROR_LIMIT);
	rc = config_set(&reinject_conf_schema, s->c, native, strlen(native), p, len,
	    &e);
	if (rc < 0)
		reinject_foreign_err(s, k, buf_cstr(&e), (struct span){ p, len });
	else if (s->out)
		fprintf(s->out, "%s = %.*s\n", native, (int)len, p);
	buf_clear(&e);
	return rc;
}

/* reinject_foreign_force - a native key set for a default of the format */
void
reinject_foreign_force(struct reinject_foreign *s, const char *native,
    const char *value)
{
	config_set(&reinject_conf_schema, s->c, native, strlen(native), value,
	    strlen(value), s->err);
	if (s->out)
		fprintf(s->out, "%s = %s\n", native, value);
}

/* reinject_foreign_map_same - the value has the native syntax and meaning */
int
reinject_foreign_map_same(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	return reinject_foreign_set(s, k, k->native, v.p, v.len);
}

/* reinject_foreign_map_bool - yes/no, true/false, on/off, 1/0 */
int
reinject_foreign_map_bool(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	bool b;

	if (config_parse_bool(v.p, v.len, &b) < 0)
		return reinject_foreign_err(s, k, "not a boolean", v);
	return reinject_foreign_set(s, k, k->native, b ? "yes" : "no", b ? 3 : 2);
}

/* reinject_foreign_map_note - accepted; what takes its place is noted */
int
reinject_foreign_map_note(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	(void)v;
	reinject_foreign_note(s, k, k->note);
	return 0;
}

/* reinject_foreign_map_refuse - a key whose meaning cannot be honoured */
int
reinject_foreign_map_refuse(struct reinject_foreign *s,
    const struct reinject_foreign_key *k, struct span v)
{
	return reinject_foreign_err(s, k, k->note, v);
}

/* reinject_foreign_find - the table entry of a key name */
const struct reinject_foreign_key *
reinject_foreign_find(const struct reinject_foreign_key *keys, size_t n,
    struct span name)
{
	for (size_t i = 0; i < n; i++)
		if (span_eq_ci(name, keys[i].name))
			return &keys[i];
	return NULL;
}

/* foreign_split - comment stripped, key and value; false for an empty line */
static bool
foreign_split(const char *p, size_t len, struct span *name, struct span *value)
{
	const char *hash = memchr(p, '#', len);
	struct span t;
	size_t i = 0;

	if (hash)
		len = (size_t)(hash - p);
	t = span_trim((struct span){ p, len });
	if (t.len == 0)
		return false;
	while (i < t.len && t.p[i] != ' ' && t.p[i] != '\t')
		i++;
	*name = (struct span){ t.p, i };
	*value = span_trim((struct span){ t.p + i, t.len - i });
	return true;
}

/* foreign_line - one "Key value" line through the table */
static void
foreign_line(struct reinject_foreign *s, struct span name, struct span v)
{
	const struct reinject_foreign_key *k = reinject_foreign_find(s->keys,
	    s->nkeys, name);

	if (s->out)
		fprintf(s->out, "# %s:%u: %.*s %.*s\n", s->where, s->line,
		    (int)name.len, name.p, (int)v.len, v.p);
	if (k == NULL) {
		buf_printf(s->err, "%s:%u: %.*s: unknown or unsupported %s key\n",
		    s->where, s->line, (int)name.len, name.p, s->format);
		s->rc = -1;
		return;
	}
	if (v.len == 0 && k->map != reinject_foreign_map_note) {
		buf_printf(s->err, "%s:%u: %s: no value\n", s->where, s->line,
		    k->name);
		s->rc = -1;
		return;
	}
	if (k->map(s, k, v) < 0)
		s->rc = -1;
}

/* reinject_foreign_run - every line of the file through the table */
int
reinject_foreign_run(struct reinject_foreign *s)
{
	size_t len, i = 0;
	char *text = config_read_file(s->where, &len, s->err);

	if (text == NULL)
		return -1;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct span name, value;

		s->line++;
		if (foreign_split(text + i, end - i, &name, &value))
			foreign_line(s, name, value);
		i = end + 1;
	}
	free(text);
	return s->rc;
}

/* reinject_foreign_misfit - settings whose key the table does not know */
size_t
reinject_foreign_misfit(const struct reinject_foreign_key *keys, size_t n,
    const char *p, size_t len)
{
	size_t i = 0, bad = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		struct span name, value;

		if (foreign_split(p + i, end - i, &name, &value) &&
		    reinject_foreign_find(keys, n, name) == NULL)
			bad++;
		i = end + 1;
	}
	return bad;
}

/* reinject_foreign_detect - first setting a key of the table, without "=" */
bool
reinject_foreign_detect(const struct reinject_foreign_key *keys, size_t n,
    const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		struct span name, value;

		if (foreign_split(p + i, end - i, &name, &value))
			return !memchr(p + i, '=', end - i) &&
			    reinject_foreign_find(keys, n, name) != NULL;
		i = end + 1;
	}
	return false;
}

/* reinject_foreign_load - the file's format detected, then its reader */
int
reinject_foreign_load(struct reinject_conf *c, const char *path,
    struct buf *notes, struct buf *err, FILE *out)
{
	size_t len;
	char *text = config_read_file(path, &len, err);
	bool dkim, dmarc;

	if (text == NULL)
		return -1;
	dkim = reinject_opendkim_detect(text, len);
	dmarc = reinject_opendmarc_detect(text, len);
	/* both programs have Socket, Syslog, ...: the one knowing more keys */
	if (dkim && dmarc)
		dkim = reinject_opendkim_misfit(text, len) <=
		    reinject_opendmarc_misfit(text, len);
	free(text);
	if (dkim)
		return reinject_opendkim_load(c, path, notes, err, out);
	if (dmarc)
		return reinject_opendmarc_load(c, path, notes, err, out);
	buf_printf(err, "%s: neither an opendkim.conf nor an opendmarc.conf "
	    "(its first setting is no key of either)\n", path);
	return -1;
}

/* reinject_foreign_is - is path an opendkim.conf or an opendmarc.conf */
bool
reinject_foreign_is(const char *path)
{
	struct buf err;
	size_t len;
	char *text;
	bool r;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	text = config_read_file(path, &len, &err);
	buf_clear(&err);
	if (text == NULL)
		return false;
	r = reinject_opendkim_detect(text, len) ||
	    reinject_opendmarc_detect(text, len);
	free(text);
	return r;
}

/* reinject_foreign_import_main - "reinject import FILE...": 0, 1 on errors */
int
reinject_foreign_import_main(int argc, char **argv)
{
	struct reinject_conf c;
	struct buf err, notes;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: reinject import opendkim.conf|opendmarc.conf...\n");
		return 2;
	}
	buf_init(&err, CONFIG_ERROR_LIMIT);
	buf_init(&notes, CONFIG_ERROR_LIMIT);
	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	for (int i = 1; i < argc; i++) {
		printf("# reinject.conf equivalent of %s\n", argv[i]);
		if (reinject_foreign_load(&c, argv[i], &notes, &err, stdout) < 0)
			rc = 1;
	}
	fputs(buf_cstr(&err), stderr);
	config_free(&reinject_conf_schema, &c);
	buf_clear(&notes);
	buf_clear(&err);
	return rc;
}
