/*
 * config.c - table-driven "name = value" configuration (Postfix main.cf syntax).
 *
 * Values are parsed per key type (see config.h); the file reader splits logical
 * lines, looks each name up in the program's table and reports every error with
 * file and line.  Printing goes through the same table, so -n output can be read
 * back as a configuration file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

#define FIELD(dst, k, type) ((type *)(void *)((char *)(dst) + (k)->offset))
#define CFIELD(dst, k, type) \
	((const type *)(const void *)((const char *)(dst) + (k)->offset))

static const char *const config_type_names[] = {
	[CONFIG_BOOL] = "bool", [CONFIG_INT] = "int", [CONFIG_TIME] = "time",
	[CONFIG_SIZE] = "size", [CONFIG_STRING] = "string", [CONFIG_LIST] = "list",
	[CONFIG_ENUM] = "enum",
};

/* config_is_blank - SP or HTAB */
static bool
config_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* config_parse_bool - yes/no, true/false, on/off, 1/0 (case-insensitive) */
int
config_parse_bool(const char *p, size_t len, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	struct span s = { p, len };

	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (span_eq_ci(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (span_eq_ci(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* config_parse_number - integer with an optional unit suffix from units */
static int
config_parse_number(const char *p, size_t len, const char *units,
    const long long *mult, long long *out)
{
	char tmp[64], *end;
	long long v, m = 1;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (units != NULL) {
		const char *u = strchr(units, tmp[len - 1] | 0x20);

		if (len > 1 && tmp[len - 1] != '\0' && u != NULL) {
			m = mult[u - units];
			tmp[--len] = '\0';
		}
	}
	if (tmp[0] == '+' || config_is_blank(tmp[0]))
		return -1;
	errno = 0;
	v = strtoll(tmp, &end, units != NULL ? 10 : 0);
	if (errno != 0 || end == tmp || *end != '\0')
		return -1;
	if (v != 0 && (v > LLONG_MAX / m || v < LLONG_MIN / m))
		return -1;
	*out = v * m;
	return 0;
}

/* config_range_error - message for a number outside min..max */
static int
config_range_error(const struct config_key *k, long long v, struct buf *err)
{
	buf_printf(err, "%s: value %lld out of range %lld..%lld", k->name, v,
	    k->min, k->max);
	return -1;
}

/* config_set_number - INT, TIME and SIZE values */
static int
config_set_number(const struct config_key *k, void *dst, const char *p,
    size_t len, struct buf *err)
{
	static const long long time_mult[] = { 1, 60, 3600, 86400 };
	static const long long size_mult[] = { 1024, 1024 * 1024 };
	const char *units = NULL;
	const long long *mult = NULL;
	long long v;

	if (k->type == CONFIG_TIME) {
		units = "smhd";
		mult = time_mult;
	} else if (k->type == CONFIG_SIZE) {
		units = "km";
		mult = size_mult;
	}
	if (config_parse_number(p, len, units, mult, &v) < 0) {
		buf_printf(err, "%s: bad %s value \"%.*s\"", k->name,
		    config_type_names[k->type], (int)len, p);
		return -1;
	}
	if (v < k->min || v > k->max)
		return config_range_error(k, v, err);
	if (k->type == CONFIG_INT)
		*FIELD(dst, k, int) = (int)v;
	else if (k->type == CONFIG_TIME)
		*FIELD(dst, k, unsigned) = (unsigned)v;
	else
		*FIELD(dst, k, size_t) = (size_t)v;
	return 0;
}

/* config_list_clear - free the items of a list */
static void
config_list_clear(struct config_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

/* config_set_list - split on commas and blanks */
static void
config_set_list(struct config_list *l, const char *p, size_t len)
{
	size_t i = 0;

	config_list_clear(l);
	while (i < len) {
		size_t start;

		while (i < len && (p[i] == ',' || config_is_blank(p[i])))
			i++;
		start = i;
		while (i < len && p[i] != ',' && !config_is_blank(p[i]))
			i++;
		if (i > start) {
			/* one more slot keeps items NULL-terminated (config.h) */
			l->items = xrealloc(l->items, (l->count + 2) * sizeof(char *));
			l->items[l->count++] = xmemdup0(p + start, i - start);
			l->items[l->count] = NULL;
		}
	}
}

/* config_set_enum - one of the key's names, case-insensitive */
static int
config_set_enum(const struct config_key *k, void *dst, const char *p, size_t len,
    struct buf *err)
{
	struct span s = { p, len };

	for (const struct config_enum *e = k->enums; e->name != NULL; e++) {
		if (span_eq_ci(s, e->name)) {
			*FIELD(dst, k, int) = e->value;
			return 0;
		}
	}
	buf_printf(err, "%s: bad value \"%.*s\" (expected one of:", k->name,
	    (int)len, p);
	for (const struct config_enum *e = k->enums; e->name != NULL; e++)
		buf_printf(err, " %s", e->name);
	buf_append_str(err, ")");
	return -1;
}

/* config_set_value - parse (p, len) into the field of key k */
static int
config_set_value(const struct config_key *k, void *dst, const char *p, size_t len,
    struct buf *err)
{
	bool b;

	switch (k->type) {
	case CONFIG_BOOL:
		if (config_parse_bool(p, len, &b) < 0) {
			buf_printf(err, "%s: bad boolean \"%.*s\" (expected yes or no)",
			    k->name, (int)len, p);
			return -1;
		}
		*FIELD(dst, k, bool) = b;
		return 0;
	case CONFIG_INT:
	case CONFIG_TIME:
	case CONFIG_SIZE:
		return config_set_number(k, dst, p, len, err);
	case CONFIG_STRING:
		free(*FIELD(dst, k, char *));
		*FIELD(dst, k, char *) = xmemdup0(p, len);
		return 0;
	case CONFIG_LIST:
		config_set_list(FIELD(dst, k, struct config_list), p, len);
		return 0;
	case CONFIG_ENUM:
		return config_set_enum(k, dst, p, len, err);
	}
	log_panic("config: key %s has unknown type %d", k->name, (int)k->type);
}

/* config_set_key - parse (p, len) into the field of key k, then its check */
static int
config_set_key(const struct config_key *k, void *dst, const char *p, size_t len,
    struct buf *err)
{
	if (config_set_value(k, dst, p, len, err) < 0)
		return -1;
	if (k->check != NULL && k->check((const char *)dst + k->offset, err) < 0)
		return -1;
	return 0;
}

/* config_key_find - the key called (name, len), or NULL */
const struct config_key *
config_key_find(const struct config_schema *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		if (strlen(s->keys[i].name) == len &&
		    memcmp(s->keys[i].name, name, len) == 0)
			return &s->keys[i];
	}
	return NULL;
}

/* config_set - parse value (p, len) into the key called name */
int
config_set(const struct config_schema *s, void *dst, const char *name,
    size_t nlen, const char *p, size_t len, struct buf *err)
{
	const struct config_key *k = config_key_find(s, name, nlen);

	if (k == NULL) {
		buf_printf(err, "unknown %s parameter \"%.*s\"", s->name, (int)nlen,
		    name);
		return -1;
	}
	return config_set_key(k, dst, p, len, err);
}

/* config_init - set every key of dst to its default */
void
config_init(const struct config_schema *s, void *dst)
{
	struct buf err;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	for (size_t i = 0; i < s->nkeys; i++) {
		const struct config_key *k = &s->keys[i];

		if (k->type == CONFIG_STRING)
			*FIELD(dst, k, char *) = NULL;
		else if (k->type == CONFIG_LIST)
			*FIELD(dst, k, struct config_list) = (struct config_list){ 0, NULL };
		if (config_set_key(k, dst, k->def, strlen(k->def), &err) < 0)
			log_panic("%s: bad default: %s", s->name, buf_cstr(&err));
	}
	buf_clear(&err);
}

/* config_free - release the strings and lists of dst */
void
config_free(const struct config_schema *s, void *dst)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		const struct config_key *k = &s->keys[i];

		if (k->type == CONFIG_STRING) {
			free(*FIELD(dst, k, char *));
			*FIELD(dst, k, char *) = NULL;
		} else if (k->type == CONFIG_LIST) {
			config_list_clear(FIELD(dst, k, struct config_list));
		}
	}
}

/* Logical-line reader state. */
struct config_lines_ctx {
	const char *where;
	bool continuation;
	bool hash_anywhere;
	config_line_cb cb;
	void *arg;
	struct buf *err;
	struct buf logical;		/* current logical line */
	unsigned start_line;
	int rc;
};

/* config_lines_flush - hand the pending logical line to the callback */
static void
config_lines_flush(struct config_lines_ctx *c)
{
	struct span all, name, value;
	const char *eq;
	struct config_line l;

	if (c->logical.len == 0)
		return;
	all = span_trim((struct span){ c->logical.data, c->logical.len });
	eq = memchr(all.p, '=', all.len);
	if (c->logical.overflow) {
		buf_printf(c->err, "%s:%u: line longer than %d bytes\n", c->where,
		    c->start_line, CONFIG_LINE_LIMIT);
		c->rc = -1;
	} else if (eq == NULL) {
		buf_printf(c->err, "%s:%u: missing \"=\" in \"%.*s\"\n", c->where,
		    c->start_line, (int)(all.len > 60 ? 60 : all.len), all.p);
		c->rc = -1;
	} else {
		name = span_trim((struct span){ all.p, (size_t)(eq - all.p) });
		value = span_trim((struct span){ eq + 1,
		    all.len - (size_t)(eq + 1 - all.p) });
		l = (struct config_line){ c->where, c->start_line, name.p, name.len,
		    value.p, value.len };
		if (name.len == 0) {
			buf_printf(c->err, "%s:%u: missing parameter name\n", c->where,
			    c->start_line);
			c->rc = -1;
		} else if (c->cb(c->arg, &l, c->err) < 0) {
			c->rc = -1;
		}
	}
	buf_reset(&c->logical);
}

/* config_lines_one - process one physical line */
static void
config_lines_one(struct config_lines_ctx *c, const char *p, size_t len,
    unsigned lineno)
{
	struct span t;
	const char *hash;

	if (len && p[len - 1] == '\r')
		len--;
	if (c->hash_anywhere && (hash = memchr(p, '#', len)) != NULL)
		len = (size_t)(hash - p);
	t = span_trim((struct span){ p, len });
	if (t.len == 0 || t.p[0] == '#')
		return;		/* blank and comment lines never end a logical line */
	if (c->continuation && config_is_blank(p[0]) && c->logical.len > 0) {
		buf_append_char(&c->logical, ' ');
		buf_append(&c->logical, t.p, t.len);
		return;
	}
	config_lines_flush(c);
	c->start_line = lineno;
	buf_append(&c->logical, t.p, t.len);
}

/* config_lines - split text into logical "name = value" lines */
int
config_lines(const char *where, const char *p, size_t len, bool continuation,
    bool hash_anywhere, config_line_cb cb, void *arg, struct buf *err)
{
	struct config_lines_ctx c = { where, continuation, hash_anywhere, cb, arg,
	    err, { 0 }, 0, 0 };
	unsigned lineno = 0;
	size_t i = 0;

	buf_init(&c.logical, CONFIG_LINE_LIMIT);
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;

		lineno++;
		if (memchr(p + i, '\0', end - i) != NULL) {
			buf_printf(err, "%s:%u: NUL byte in line\n", where, lineno);
			c.rc = -1;
		} else {
			config_lines_one(&c, p + i, end - i, lineno);
		}
		i = end + 1;
	}
	config_lines_flush(&c);
	buf_clear(&c.logical);
	return c.rc;
}

/* Arguments of config_load_line. */
struct config_load_ctx {
	const struct config_schema *s;
	void *dst;
};

/* config_load_line - set one key from a logical line */
static int
config_load_line(void *arg, const struct config_line *l, struct buf *err)
{
	struct config_load_ctx *c = arg;
	struct buf msg;
	int rc;

	buf_init(&msg, CONFIG_ERROR_LIMIT);
	rc = config_set(c->s, c->dst, l->name, l->nlen, l->value, l->vlen, &msg);
	if (rc < 0)
		buf_printf(err, "%s:%u: %s\n", l->where, l->lineno, buf_cstr(&msg));
	buf_clear(&msg);
	return rc;
}

/* config_load_mem - apply "name = value" text to dst */
int
config_load_mem(const struct config_schema *s, void *dst, const char *where,
    const char *p, size_t len, struct buf *err)
{
	struct config_load_ctx c = { s, dst };
	int rc = config_lines(where, p, len, true, false, config_load_line, &c, err);

	if (rc == 0 && s->validate != NULL && s->validate(dst, err) < 0) {
		buf_append_char(err, '\n');
		rc = -1;
	}
	return rc;
}

/* config_read_file - whole file into a NUL-terminated heap string */
char *
config_read_file(const char *path, size_t *len, struct buf *err)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		buf_printf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, 16 * 1024 * 1024);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_append(&b, chunk, (size_t)n) < 0)
			break;
	}
	close(fd);
	if (n < 0 || b.overflow) {
		buf_printf(err, "%s: cannot read: %s\n", path,
		    n < 0 ? strerror(errno) : "file too large");
		buf_clear(&b);
		return NULL;
	}
	*len = b.len;
	return buf_steal(&b);
}

/* config_load_file - config_load_mem on a file's contents */
int
config_load_file(const struct config_schema *s, void *dst, const char *path,
    struct buf *err)
{
	size_t len;
	char *text = config_read_file(path, &len, err);
	int rc;

	if (text == NULL)
		return -1;
	rc = config_load_mem(s, dst, path, text, len, err);
	free(text);
	return rc;
}

/* config_format_time - seconds with the largest exact suffix */
static void
config_format_time(unsigned v, struct buf *out)
{
	if (v != 0 && v % 86400 == 0)
		buf_printf(out, "%ud", v / 86400);
	else if (v != 0 && v % 3600 == 0)
		buf_printf(out, "%uh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		buf_printf(out, "%um", v / 60);
	else
		buf_printf(out, "%us", v);
}

/* config_format_value - the value of key k in dst, in file syntax */
void
config_format_value(const struct config_key *k, const void *dst, struct buf *out)
{
	const struct config_list *l;
	const char *str;

	switch (k->type) {
	case CONFIG_BOOL:
		buf_append_str(out, *CFIELD(dst, k, bool) ? "yes" : "no");
		break;
	case CONFIG_INT:
		buf_printf(out, k->octal ? "0%o" : "%d", *CFIELD(dst, k, int));
		break;
	case CONFIG_TIME:
		config_format_time(*CFIELD(dst, k, unsigned), out);
		break;
	case CONFIG_SIZE:
		buf_printf(out, "%zu", *CFIELD(dst, k, size_t));
		break;
	case CONFIG_STRING:
		str = *CFIELD(dst, k, char *);
		buf_append_str(out, str ? str : "");
		break;
	case CONFIG_LIST:
		l = CFIELD(dst, k, struct config_list);
		for (size_t i = 0; i < l->count; i++)
			buf_printf(out, "%s%s", i ? ", " : "", l->items[i]);
		break;
	case CONFIG_ENUM:
		for (const struct config_enum *e = k->enums; e->name; e++) {
			if (e->value == *CFIELD(dst, k, int)) {
				buf_append_str(out, e->name);
				break;
			}
		}
		break;
	}
}

/* config_print - "name = value" for every key (effective settings) */
void
config_print(const struct config_schema *s, const void *dst, FILE *out)
{
	struct buf v;

	buf_init(&v, CONFIG_LINE_LIMIT);
	for (size_t i = 0; i < s->nkeys; i++) {
		buf_reset(&v);
		config_format_value(&s->keys[i], dst, &v);
		fprintf(out, "%s = %s\n", s->keys[i].name, buf_cstr(&v));
	}
	buf_clear(&v);
}

/* config_print_keys - every key with type, default and doc */
void
config_print_keys(const struct config_schema *s, FILE *out)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		const struct config_key *k = &s->keys[i];

		fprintf(out, "%s (%s, default \"%s\"): %s\n", k->name,
		    config_type_names[k->type], k->def, k->doc);
	}
}

/* config_list_has_ci - case-insensitive membership */
bool
config_list_has_ci(const struct config_list *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->count; i++) {
		if (strlen(l->items[i]) == len && ascii_mem_eq_ci(l->items[i], s, len))
			return true;
	}
	return false;
}
