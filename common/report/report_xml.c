/*
 * report_xml.c - one RFC 9990 aggregate report as XML: report_metadata,
 * policy_published (the last configuration seen in the period, RFC 9990
 * "Changes in Policy During Reporting Period"; discovery_method "treewalk",
 * RFC 9989 "DNS Tree Walk"), and one record per group of identical rows
 * ("Contents of the record element" .. "Contents of the reason element").
 * Elements follow the order of the RFC's schema; optional elements with no
 * value are left out; every value is escaped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define REPORT_XML_NS	"urn:ietf:params:xml:ns:dmarc-2.0"

/* report_xml_escape - append s with & < > " ' escaped */
void
report_xml_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_append_str(out, "&amp;"); break;
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		case '\'': buf_append_str(out, "&apos;"); break;
		default: buf_append_char(out, *s);
		}
	}
}

/* xml_el - <name>value</name> at an indent */
static void
xml_el(struct buf *out, int indent, const char *name, const char *value)
{
	buf_printf(out, "%*s<%s>", indent, "", name);
	report_xml_escape(out, value);
	buf_printf(out, "</%s>\n", name);
}

/* xml_opt - xml_el when value is not empty */
static void
xml_opt(struct buf *out, int indent, const char *name, const char *value)
{
	if (value && value[0])
		xml_el(out, indent, name, value);
}

/* xml_metadata - report_metadata */
static void
xml_metadata(struct buf *out, const struct report_meta *m, const char *rid)
{
	buf_append_str(out, "  <report_metadata>\n");
	xml_el(out, 4, "org_name", m->org_name);
	xml_el(out, 4, "email", m->email);
	xml_opt(out, 4, "extra_contact_info", m->extra_contact_info);
	xml_el(out, 4, "report_id", rid);
	buf_printf(out, "    <date_range>\n      <begin>%" PRId64 "</begin>\n"
	    "      <end>%" PRId64 "</end>\n    </date_range>\n", m->begin, m->end - 1);
	xml_opt(out, 4, "error", m->error);
	xml_opt(out, 4, "generator", m->generator);
	buf_append_str(out, "  </report_metadata>\n");
}

/* xml_policy - policy_published, defaults filled as RFC 9989 defines them */
static void
xml_policy(struct buf *out, const char *domain, const struct store_row *p)
{
	buf_append_str(out, "  <policy_published>\n");
	xml_el(out, 4, "domain", domain);
	xml_el(out, 4, "discovery_method", "treewalk");
	xml_el(out, 4, "p", p->p[0] ? p->p : "none");
	xml_opt(out, 4, "sp", p->sp);
	xml_opt(out, 4, "np", p->np);
	xml_el(out, 4, "adkim", p->adkim[0] ? p->adkim : "r");
	xml_el(out, 4, "aspf", p->aspf[0] ? p->aspf : "r");
	xml_el(out, 4, "fo", p->fo[0] ? p->fo : "0");
	xml_el(out, 4, "testing", p->testing[0] ? p->testing : "n");
	buf_append_str(out, "  </policy_published>\n");
}

/* xml_dkim - one <dkim> per "result domain selector" item, in stored order */
static void
xml_dkim(struct buf *out, const char *list)
{
	char item[512], res[32], dom[300], sel[200];
	int n = 0;

	while (*list && n < REPORT_DKIM_PER_ROW_LIMIT) {
		size_t len = strcspn(list, ";");

		snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) ? len : 0), list);
		list += len + (list[len] == ';');
		if (sscanf(item, "%31s %299s %199s", res, dom, sel) != 3)
			continue;
		buf_append_str(out, "      <dkim>\n");
		xml_el(out, 8, "domain", dom);
		xml_el(out, 8, "selector", strcmp(sel, "-") ? sel : "");
		xml_el(out, 8, "result", res);
		buf_append_str(out, "      </dkim>\n");
		n++;
	}
}

/* xml_spf - the SPF result; scope only for mfrom (the schema has no helo) */
static void
xml_spf(struct buf *out, const struct store_group *g)
{
	if (!g->spf_domain[0])
		return;
	buf_append_str(out, "      <spf>\n");
	xml_el(out, 8, "domain", g->spf_domain);
	if (strcmp(g->spf_scope, "mfrom") == 0)
		xml_el(out, 8, "scope", "mfrom");
	xml_el(out, 8, "result", g->spf_result);
	buf_append_str(out, "      </spf>\n");
}

/* xml_record - one grouped row */
static int
xml_record(void *arg, const struct store_group *g)
{
	struct buf *out = arg;

	buf_append_str(out, "  <record>\n    <row>\n");
	xml_el(out, 6, "source_ip", g->source_ip);
	buf_printf(out, "      <count>%" PRId64 "</count>\n", g->count);
	buf_append_str(out, "      <policy_evaluated>\n");
	xml_el(out, 8, "disposition", g->disposition);
	xml_el(out, 8, "dkim", g->dkim_align);
	xml_el(out, 8, "spf", g->spf_align);
	if (g->reason[0]) {
		buf_append_str(out, "        <reason>\n");
		xml_el(out, 10, "type", g->reason);
		xml_opt(out, 10, "comment", g->reason_comment);
		buf_append_str(out, "        </reason>\n");
	}
	buf_append_str(out, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	xml_el(out, 6, "header_from", g->header_from);
	xml_opt(out, 6, "envelope_from", g->envelope_from);
	xml_opt(out, 6, "envelope_to", g->envelope_to);
	buf_append_str(out, "    </identifiers>\n    <auth_results>\n");
	xml_dkim(out, g->dkim);
	xml_spf(out, g);
	buf_append_str(out, "    </auth_results>\n  </record>\n");
	return out->overflow ? 1 : 0;
}

/* report_xml_build - the whole report of domain for m's period */
int
report_xml_build(struct store *st, const struct report_meta *m, const char *domain,
    struct buf *out)
{
	struct store_row pol;
	char rid[STORE_ID_SIZE];
	size_t head;
	int found;

	buf_reset(out);
	if ((found = store_policy(st, domain, m->begin, m->end, &pol)) <= 0) {
		buf_printf(out, found < 0 ? "%s" : "no records for %s in this period",
		    found < 0 ? store_error(st) : domain);
		return -1;
	}
	report_id(rid, sizeof(rid), domain, m->begin, m->submitter);
	buf_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback%s>\n"
	    "  <version>1.0</version>\n", m->no_namespace ? "" :
	    " xmlns=\"" REPORT_XML_NS "\"");
	xml_metadata(out, m, rid);
	xml_policy(out, domain, &pol);
	head = out->len;
	if (store_groups(st, domain, m->begin, m->end, xml_record, out) < 0 ||
	    out->overflow || out->len == head) {
		const char *why = out->overflow ? "report larger than its size limit" :
		    out->len == head ? "no records" : store_error(st);

		buf_reset(out);
		buf_printf(out, "%s: %s", domain, why);
		return -1;
	}
	buf_append_str(out, "</feedback>\n");
	return out->overflow ? -1 : 0;
}
