/*
 * reinject_doctor_report.c - the findings of "reinject doctor": collecting
 * them, their worst level, and the two outputs: one line per finding, or a
 * JSON object (RFC 8259) for scripts.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "reinject_doctor.h"
#include "util.h"

/* Longest finding text kept. */
#define DOCTOR_TEXT_MAX	1024

static const char *const doctor_level_names[] = {
	[DOCTOR_OK] = "ok", [DOCTOR_WARN] = "warn", [DOCTOR_FAIL] = "fail",
};

/* doctor_printable - names from DNS may hold anything: keep output clean */
static char *
doctor_printable(const char *s)
{
	char *c = xstrdup(s);

	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return c;
}

/* doctor_add - a finding */
void
doctor_add(struct doctor *d, enum doctor_level level, const char *check,
    const char *subject, const char *fix, const char *record, const char *fmt, ...)
{
	struct doctor_finding *f;
	struct buf text;
	va_list ap;

	buf_init(&text, DOCTOR_TEXT_MAX);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	d->f = xrealloc(d->f, (d->nf + 1) * sizeof(*d->f));
	f = &d->f[d->nf++];
	f->level = level;
	f->check = xstrdup(check);
	f->subject = doctor_printable(subject);
	f->text = doctor_printable(buf_cstr(&text));
	f->fix = fix ? doctor_printable(fix) : NULL;
	f->record = record ? doctor_printable(record) : NULL;
	buf_clear(&text);
}

/* doctor_worst - the worst level found */
enum doctor_level
doctor_worst(const struct doctor *d)
{
	enum doctor_level w = DOCTOR_OK;

	for (size_t i = 0; i < d->nf; i++)
		if (d->f[i].level > w)
			w = d->f[i].level;
	return w;
}

/* doctor_report_text - "LEVEL CHECK SUBJECT: TEXT; fix: ...; publish: ..." */
void
doctor_report_text(const struct doctor *d, FILE *out)
{
	for (size_t i = 0; i < d->nf; i++) {
		const struct doctor_finding *f = &d->f[i];

		fprintf(out, "%-4s %-10s %s: %s", doctor_level_names[f->level], f->check,
		    f->subject, f->text);
		if (f->fix)
			fprintf(out, "; fix: %s", f->fix);
		if (f->record)
			fprintf(out, "; publish: %s", f->record);
		fputc('\n', out);
	}
	fprintf(out, "result: %s\n", doctor_level_names[doctor_worst(d)]);
}

/* doctor_json_string - a JSON string (RFC 8259 §7), or null */
static void
doctor_json_string(FILE *out, const char *s)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* doctor_json_finding - one finding as an object */
static void
doctor_json_finding(FILE *out, const struct doctor_finding *f)
{
	fputs("{\"level\":", out);
	doctor_json_string(out, doctor_level_names[f->level]);
	fputs(",\"check\":", out);
	doctor_json_string(out, f->check);
	fputs(",\"subject\":", out);
	doctor_json_string(out, f->subject);
	fputs(",\"text\":", out);
	doctor_json_string(out, f->text);
	fputs(",\"fix\":", out);
	doctor_json_string(out, f->fix);
	fputs(",\"record\":", out);
	doctor_json_string(out, f->record);
	fputc('}', out);
}

/* doctor_report_json - {"domain":..,"result":..,"findings":[..]} */
void
doctor_report_json(const struct doctor *d, FILE *out)
{
	fputs("{\"domain\":", out);
	doctor_json_string(out, d->domain);
	fputs(",\"result\":", out);
	doctor_json_string(out, doctor_level_names[doctor_worst(d)]);
	fputs(",\"findings\":[", out);
	for (size_t i = 0; i < d->nf; i++) {
		if (i > 0)
			fputc(',', out);
		doctor_json_finding(out, &d->f[i]);
	}
	fputs("]}\n", out);
}
