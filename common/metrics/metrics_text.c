/*
 * metrics_text.c - the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): for each
 * family "# HELP", "# TYPE", then one line per sample; a histogram gives
 * cumulative _bucket lines with le="bound" ending with le="+Inf", then _sum
 * and _count.  Label values come escaped (metrics_label_append); HELP text
 * is escaped here (backslash, newline).  The output buffer's sticky
 * overflow flag is checked once at the end.
 */
#include <inttypes.h>
#include <stdio.h>

#include "metrics.h"

/* metrics_text_help - the HELP and TYPE lines of family f */
static void
metrics_text_help(const struct metrics_family *f, struct buf *out)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	buf_printf(out, "# HELP %s ", f->name);
	for (const char *p = f->help; *p; p++) {
		if (*p == '\\')
			buf_append_str(out, "\\\\");
		else if (*p == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *p);
	}
	buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
}

/* metrics_text_name - name, suffix and the label set with extra appended */
static void
metrics_text_name(const struct metrics_family *f, const char *suffix,
    const char *labels, const char *extra, struct buf *out)
{
	bool any = labels[0] != '\0' || extra[0] != '\0';

	buf_printf(out, "%s%s", f->name, suffix);
	if (!any)
		return;
	buf_printf(out, "{%s%s%s}", labels, labels[0] && extra[0] ? "," : "", extra);
}

/* metrics_text_histogram - the cumulative buckets, sum and count of one series */
static void
metrics_text_histogram(const struct metrics_family *f, const struct metrics_sample *s,
    struct buf *out)
{
	char le[48];
	uint64_t cum = 0;

	for (size_t b = 0; b <= f->nbounds; b++) {
		cum += s->v[b];
		if (b < f->nbounds)
			snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[b]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		metrics_text_name(f, "_bucket", s->labels, le, out);
		buf_printf(out, " %" PRIu64 "\n", cum);
	}
	metrics_text_name(f, "_sum", s->labels, "", out);
	buf_printf(out, " %.6f\n", (double)s->v[f->nbounds + 1] / 1e6);
	metrics_text_name(f, "_count", s->labels, "", out);
	buf_printf(out, " %" PRIu64 "\n", cum);
}

/* metrics_text_sample - the lines of one series */
static void
metrics_text_sample(const struct metrics_family *f, const struct metrics_sample *s,
    struct buf *out)
{
	if (f->type == METRICS_HISTOGRAM) {
		metrics_text_histogram(f, s, out);
		return;
	}
	metrics_text_name(f, "", s->labels, "", out);
	if (f->type == METRICS_GAUGE)
		buf_printf(out, " %" PRId64 "\n", (int64_t)s->v[0]);
	else
		buf_printf(out, " %" PRIu64 "\n", s->v[0]);
}

/* metrics_text_write - every family with series, in table order */
int
metrics_text_write(const struct metrics_family *fams, size_t nfams,
    const struct metrics_sample *s, size_t n, struct buf *out)
{
	for (size_t f = 0; f < nfams; f++) {
		bool head = false;

		for (size_t i = 0; i < n; i++) {
			if (s[i].fam != f)
				continue;
			if (!head)
				metrics_text_help(&fams[f], out);
			head = true;
			metrics_text_sample(&fams[f], &s[i], out);
		}
	}
	return out->overflow ? -1 : 0;
}
