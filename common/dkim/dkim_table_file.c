/*
 * dkim_table_file.c - OpenDKIM data set reader (opendkim(8) "DATA SETS" a, b, i, j,
 * m): flat files of "key value" lines with "#" comments and blank lines, refile:
 * pattern files, and comma-separated lists.  Database back-ends (db:, dsn:, ldap:,
 * lua:, memcache:, erlang:) are refused with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dkim_table_int.h"

/* dkim_table_file_err - "file:line: message" into err */
void
dkim_table_file_err(char *err, size_t errsz, const struct dkim_table_line *l,
    const char *fmt, ...)
{
	char msg[DKIM_TABLE_FILE_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errsz, "%s:%u: %s", l->file, l->lineno, msg);
}

/* prefix_is - does s start with p? */
static bool
prefix_is(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* dkim_table_file_spec - classify a data set spec; *rest = path or list text */
int
dkim_table_file_spec(const char *spec, enum dkim_table_spec *kind,
    const char **rest, char *err, size_t errsz)
{
	static const char *const unsupported[] = { "db:", "dsn:", "ldap:", "ldaps:",
	    "ldapi:", "lua:", "memcache:", "erlang:", "mdb:", "repute:", "socket:" };

	for (size_t i = 0; i < ARRAY_LEN(unsupported); i++)
		if (prefix_is(spec, unsupported[i])) {
			snprintf(err, errsz, "%s: data set type \"%s\" is not supported; "
			    "export it to a flat file (file:/path)", spec, unsupported[i]);
			return -1;
		}
	if (prefix_is(spec, "file:")) {
		*kind = DKIM_TABLE_SPEC_FILE;
		*rest = spec + 5;
	} else if (prefix_is(spec, "refile:")) {
		*kind = DKIM_TABLE_SPEC_REFILE;
		*rest = spec + 7;
	} else if (prefix_is(spec, "csl:")) {
		*kind = DKIM_TABLE_SPEC_LIST;
		*rest = spec + 4;
	} else if (spec[0] == '/' || prefix_is(spec, "./") || prefix_is(spec, "../")) {
		*kind = DKIM_TABLE_SPEC_FILE;
		*rest = spec;
	} else {
		*kind = DKIM_TABLE_SPEC_LIST;
		*rest = spec;
	}
	if (*kind != DKIM_TABLE_SPEC_LIST && **rest == '\0') {
		snprintf(err, errsz, "%s: no file name in data set", spec);
		return -1;
	}
	return 0;
}

/* split_line - strip the comment, split into first word and the rest */
static bool
split_line(char *s, size_t n, struct dkim_table_line *l)
{
	char *hash = memchr(s, '#', n);
	struct span t;
	size_t i = 0;

	if (hash != NULL)
		n = (size_t)(hash - s);
	t = span_trim((struct span){ s, n });
	if (t.len == 0)
		return false;
	while (i < t.len && t.p[i] != ' ' && t.p[i] != '\t')
		i++;
	l->key = (struct span){ t.p, i };
	l->value = span_trim((struct span){ t.p + i, t.len - i });
	return true;
}

/* dkim_table_file_open - a regular file for reading; a FIFO never blocks; NULL and err */
static FILE *
dkim_table_file_open(const char *path, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		snprintf(err, errsz, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* dkim_table_file_read - call fn for each line of a flat file */
int
dkim_table_file_read(const char *path, dkim_table_line_fn fn, void *arg,
    char *err, size_t errsz)
{
	char line[DKIM_TABLE_LINE_MAX + 2];
	struct dkim_table_line l = { .file = path };
	int rc = 0;
	FILE *f = dkim_table_file_open(path, err, errsz);

	if (f == NULL)
		return -1;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);	/* a local file: NUL bytes end the line */

		l.lineno++;
		if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
			dkim_table_file_err(err, errsz, &l,
			    "line longer than %d characters", DKIM_TABLE_LINE_MAX);
			rc = -1;
		} else if (split_line(line, n, &l))
			rc = fn(arg, &l, err, errsz);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errsz, "%s: read error: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

/* dkim_table_file_read_list - call fn for each item of a comma-separated list */
int
dkim_table_file_read_list(const char *list, dkim_table_line_fn fn, void *arg,
    char *err, size_t errsz)
{
	struct dkim_table_line l = { .file = "(inline list)" };
	const char *p = list;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct span t = span_trim((struct span){ p, n });

		l.lineno++;
		if (t.len > 0) {
			l.key = t;
			l.value = (struct span){ t.p + t.len, 0 };
			for (size_t i = 0; i < t.len; i++)
				if (t.p[i] == ' ' || t.p[i] == '\t') {
					l.key.len = i;
					l.value = span_trim((struct span){ t.p + i,
					    t.len - i });
					break;
				}
			if (fn(arg, &l, err, errsz) < 0)
				return -1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}
