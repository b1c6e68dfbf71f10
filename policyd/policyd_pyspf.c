/*
 * policyd_pyspf.c - read pypolicyd-spf's policyd-spf.conf (policyd-spf.conf(5),
 * spf-engine 3.x) so an administrator can switch without editing it.
 *
 * Syntax as spf-engine reads it: "Name = value" lines, "#" starts a comment
 * anywhere, no continuation lines.  Each documented key is mapped onto the
 * native setting with the same meaning (table below).  Keys whose feature
 * policyd does not implement are an error when they ask for that feature (a
 * silently dropped whitelist or restriction would change verdicts); keys of the
 * milter front end are ignored.  Native policyd.conf keys may be mixed in.
 */
#include <ctype.h>
#include <string.h>

#include "policyd.h"
#include "util.h"

struct pyspf_key;
typedef int (*pyspf_map_fn)(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err);

struct pyspf_key {
	const char *name;		/* as spf-engine spells it */
	pyspf_map_fn map;
	const char *native;		/* target setting, for the simple mappings */
};

/* pyspf_set - set a native key from text */
static int
pyspf_set(struct policyd_config *c, const char *native, const char *p, size_t len,
    struct buf *err)
{
	return config_set(&policyd_config_schema, c, native, strlen(native), p, len,
	    err);
}

/* pyspf_map_same - value syntax already native (numbers, lists, text) */
static int
pyspf_map_same(struct policyd_config *c, const struct pyspf_key *k, struct span v,
    struct buf *err)
{
	return pyspf_set(c, k->native, v.p, v.len, err);
}

/* pyspf_map_reject - HELO_reject / Mail_From_reject values */
static int
pyspf_map_reject(struct policyd_config *c, const struct pyspf_key *k, struct span v,
    struct buf *err)
{
	static const struct { const char *py, *native; } map[] = {
		{ "Fail", "fail" }, { "Softfail", "softfail" },
		{ "SPF_Not_Pass", "not_pass" }, { "Null", "null" },
		{ "False", "never" }, { "No_Check", "no_check" },
	};

	for (size_t i = 0; i < ARRAY_LEN(map); i++) {
		if (span_eq_ci(v, map[i].py))
			return pyspf_set(c, k->native, map[i].native,
			    strlen(map[i].native), err);
	}
	buf_printf(err, "%s: bad value \"%.*s\" (Fail, Softfail, SPF_Not_Pass, Null, "
	    "False or No_Check)", k->name, (int)v.len, v.p);
	return -1;
}

/* pyspf_map_truefalse - PermError_reject / TempError_Defer: True or False */
static int
pyspf_map_truefalse(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	if (span_eq_ci(v, "True"))
		return pyspf_set(c, k->native, "yes", 3, err);
	if (span_eq_ci(v, "False"))
		return pyspf_set(c, k->native, "no", 2, err);
	buf_printf(err, "%s: bad value \"%.*s\" (True or False)", k->name,
	    (int)v.len, v.p);
	return -1;
}

/* pyspf_map_yesno - SPF_Enhanced_Status_Codes: "No" turns it off */
static int
pyspf_map_yesno(struct policyd_config *c, const struct pyspf_key *k, struct span v,
    struct buf *err)
{
	bool on = !span_eq_ci(v, "No");

	return pyspf_set(c, k->native, on ? "yes" : "no", on ? 3 : 2, err);
}

/* pyspf_map_hide - Hide_Receiver: any value but "No" hides (policyd-spf.conf(5)) */
static int
pyspf_map_hide(struct policyd_config *c, const struct pyspf_key *k, struct span v,
    struct buf *err)
{
	return pyspf_map_yesno(c, k, v, err);
}

/* pyspf_map_testonly - TestOnly: 0 means test mode (never reject) */
static int
pyspf_map_testonly(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	if (v.len == 1 && (v.p[0] == '0' || v.p[0] == '1'))
		return pyspf_set(c, "test_only", v.p[0] == '0' ? "yes" : "no",
		    v.p[0] == '0' ? 3 : 2, err);
	buf_printf(err, "%s: bad value \"%.*s\" (0 or 1)", k->name, (int)v.len, v.p);
	return -1;
}

/* pyspf_map_debug - debugLevel -1..5 onto log_level 0..5 */
static int
pyspf_map_debug(struct policyd_config *c, const struct pyspf_key *k, struct span v,
    struct buf *err)
{
	if (v.len == 2 && v.p[0] == '-' && v.p[1] == '1')
		return pyspf_set(c, "log_level", "0", 1, err);
	return pyspf_map_same(c, k, v, err);
}

/* pyspf_map_header - Header_Type: SPF, AR or None */
static int
pyspf_map_header(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	if (span_eq_ci(v, "SPF") || span_eq_ci(v, "AR") || span_eq_ci(v, "None"))
		return pyspf_set(c, k->native, v.p, v.len, err);
	buf_printf(err, "%s: bad value \"%.*s\" (SPF, AR or None)", k->name,
	    (int)v.len, v.p);
	return -1;
}

/* pyspf_map_authserv - Authserv_Id: HOSTNAME means the host name */
static int
pyspf_map_authserv(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	if (span_eq_ci(v, "HOSTNAME"))
		return pyspf_set(c, k->native, "", 0, err);
	return pyspf_map_same(c, k, v, err);
}

/* pyspf_map_whitelist - Whitelist: trusted relays, skipped like skip_addresses */
static int
pyspf_map_whitelist(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	struct config_list *l = &c->skip_addresses;
	struct buf all;
	int rc;

	(void)k;
	buf_init(&all, CONFIG_LINE_LIMIT);
	for (size_t i = 0; i < l->count; i++)
		buf_printf(&all, "%s,", l->items[i]);
	buf_append(&all, v.p, v.len);
	rc = pyspf_set(c, "skip_addresses", all.data, all.len, err);
	buf_clear(&all);
	return rc;
}

/* pyspf_map_ignore - accepted, no effect (milter front end, log details) */
static int
pyspf_map_ignore(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	(void)c, (void)k, (void)v, (void)err;
	return 0;
}

/* pyspf_map_unsupported - fine when off, an error when it asks for the feature */
static int
pyspf_map_unsupported(struct policyd_config *c, const struct pyspf_key *k,
    struct span v, struct buf *err)
{
	(void)c;
	if (v.len == 0 || span_eq_ci(v, "False") || span_eq_ci(v, "None"))
		return 0;
	buf_printf(err, "%s = %.*s: not supported by policyd (remove the line, or "
	    "see policyd.conf(5))", k->name, (int)v.len, v.p);
	return -1;
}

static const struct pyspf_key pyspf_keys[] = {
	{ "debugLevel", pyspf_map_debug, "log_level" },
	{ "TestOnly", pyspf_map_testonly, NULL },
	{ "defaultSeedOnly", pyspf_map_testonly, NULL },
	{ "HELO_reject", pyspf_map_reject, "helo_reject" },
	{ "Mail_From_reject", pyspf_map_reject, "mail_from_reject" },
	{ "PermError_reject", pyspf_map_truefalse, "permerror_reject" },
	{ "TempError_Defer", pyspf_map_truefalse, "temperror_defer" },
	{ "skip_addresses", pyspf_map_same, "skip_addresses" },
	{ "Whitelist", pyspf_map_whitelist, NULL },
	{ "HELO_Whitelist", pyspf_map_same, "whitelist_helo_names" },
	{ "Domain_Whitelist", pyspf_map_same, "whitelist_spf_domains" },
	{ "Domain_Whitelist_PTR", pyspf_map_same, "whitelist_ptr_domains" },
	{ "Reject_Not_Pass_Domains", pyspf_map_same, "reject_not_pass_domains" },
	{ "HELO_pass_restriction", pyspf_map_same, "helo_pass_restriction" },
	{ "Mail_From_pass_restriction", pyspf_map_same, "mail_from_pass_restriction" },
	{ "SPF_Enhanced_Status_Codes", pyspf_map_yesno, "enhanced_status_codes" },
	{ "Header_Type", pyspf_map_header, "header_type" },
	{ "Hide_Receiver", pyspf_map_hide, "hide_receiver" },
	{ "Authserv_Id", pyspf_map_authserv, "authserv_id" },
	{ "Lookup_Time", pyspf_map_same, "spf_lookup_timeout" },
	{ "Void_Limit", pyspf_map_same, "spf_void_limit" },
	{ "Reason_Message", pyspf_map_same, "reason_message" },
	/* whitelist checks run within spf_lookup_timeout */
	{ "Whitelist_Lookup_Time", pyspf_map_ignore, NULL },
	/* policyd always logs the queue id */
	{ "QueueID", pyspf_map_ignore, NULL },
	/* milter front end only */
	{ "Socket", pyspf_map_ignore, NULL },
	{ "PidFile", pyspf_map_ignore, NULL },
	{ "UserID", pyspf_map_ignore, NULL },
	{ "UMask", pyspf_map_ignore, NULL },
	{ "InternalHosts", pyspf_map_ignore, NULL },
	{ "IntHosts", pyspf_map_ignore, NULL },
	{ "MacroList", pyspf_map_ignore, NULL },
	/* features policyd does not have */
	{ "No_Mail", pyspf_map_unsupported, NULL },
	{ "Mock", pyspf_map_unsupported, NULL },
	{ "Prospective", pyspf_map_unsupported, NULL },
	{ "Per_User", pyspf_map_unsupported, NULL },
};

/* policyd_pyspf_key_name - the i-th pypolicyd-spf key known, NULL past the end */
const char *
policyd_pyspf_key_name(size_t i)
{
	return i < ARRAY_LEN(pyspf_keys) ? pyspf_keys[i].name : NULL;
}

/* pyspf_key_find - exact (case-sensitive, as spf-engine) key lookup */
static const struct pyspf_key *
pyspf_key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(pyspf_keys); i++) {
		if (strlen(pyspf_keys[i].name) == len &&
		    memcmp(pyspf_keys[i].name, name, len) == 0)
			return &pyspf_keys[i];
	}
	return NULL;
}

/* pyspf_detect_line - a key with an upper-case letter is not a native key */
static int
pyspf_detect_line(void *arg, const struct config_line *l, struct buf *err)
{
	bool *found = arg;

	(void)err;
	for (size_t i = 0; i < l->nlen; i++) {
		if (isupper((unsigned char)l->name[i]))
			*found = true;
	}
	return 0;
}

/* policyd_pyspf_detect - does text look like a pypolicyd-spf policyd-spf.conf? */
bool
policyd_pyspf_detect(const char *text, size_t len)
{
	struct buf err;
	bool found = false;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	config_lines("detect", text, len, false, true, pyspf_detect_line, &found, &err);
	buf_clear(&err);
	return found;
}

/* pyspf_load_line - map one pypolicyd-spf line (or a native key) */
static int
pyspf_load_line(void *arg, const struct config_line *l, struct buf *err)
{
	struct policyd_config *c = arg;
	const struct pyspf_key *k = pyspf_key_find(l->name, l->nlen);
	struct buf msg;
	int rc;

	buf_init(&msg, CONFIG_ERROR_LIMIT);
	if (k != NULL)
		rc = k->map(c, k, (struct span){ l->value, l->vlen }, &msg);
	else
		rc = config_set(&policyd_config_schema, c, l->name, l->nlen, l->value,
		    l->vlen, &msg);
	if (rc < 0)
		buf_printf(err, "%s:%u: %s\n", l->where, l->lineno, buf_cstr(&msg));
	buf_clear(&msg);
	return rc;
}

/* policyd_pyspf_load - map the pypolicyd-spf keys of text onto c */
int
policyd_pyspf_load(struct policyd_config *c, const char *where, const char *text,
    size_t len, struct buf *err)
{
	/*
	 * spf-engine's own defaults differ from policyd's for TempError_Defer
	 * (False) and for skipped clients (an X-Comment header): a file that does
	 * not set them means what it meant there.
	 */
	c->temperror_defer = false;
	c->skip_action = POLICYD_SKIP_COMMENT;
	return config_lines(where, text, len, false, true, pyspf_load_line, c, err);
}
