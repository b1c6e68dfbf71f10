/*
 * test_reinject_foreign.c - opendkim.conf(5) and opendmarc.conf(5) read as
 * they stand: the guides' files (tests/data/migration, paths rewritten into a
 * temporary directory) and Debian's shipped files map onto reinject.conf
 * settings; reinject.conf overrides opendkim_config / opendmarc_config; every
 * refusal names file:line with its exact message, all of a file in one run;
 * reinject import prints the equivalent.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reinject.h"
#include "reinject_dmarc.h"

static char dir[] = "/tmp/reinject-odk-XXXXXX";

/* tmp_path - a file of the temporary directory (one of 8 static buffers) */
static const char *
tmp_path(const char *name)
{
	static char p[8][512];
	static unsigned n;
	char *r = p[n++ % 8];

	snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
	return r;
}

/* write_file - text into the temporary directory, "@" replaced by its path */
static const char *
write_file(const char *name, const char *text)
{
	FILE *f = fopen(tmp_path(name), "w");

	ck_assert_ptr_nonnull(f);
	for (const char *c = text; *c; c++)
		if (*c == '@' && c[1] == 'D')
			fputs(dir, f), c++;
		else
			fputc(*c, f);
	fclose(f);
	return tmp_path(name);
}

/* copy_data - tests/data/migration/NAME with /etc/opendkim rewritten */
static const char *
copy_data(const char *name)
{
	char src[512], line[1024];
	const char *root = getenv("MAILAUTH_SRC");
	FILE *in, *out;

	ck_assert_ptr_nonnull(root);
	snprintf(src, sizeof(src), "%s/tests/data/migration/%s", root, name);
	ck_assert_ptr_nonnull(in = fopen(src, "r"));
	ck_assert_ptr_nonnull(out = fopen(tmp_path(name), "w"));
	while (fgets(line, sizeof(line), in)) {
		char *p = strstr(line, "/etc/opendkim");

		if (p) {
			fprintf(out, "%.*s%s%s", (int)(p - line), line, dir,
			    p + strlen("/etc/opendkim"));
		} else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	return tmp_path(name);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	copy_data("TrustedHosts");
	copy_data("KeyTable");
	copy_data("SigningTable");
}

static void
teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* load - reinject_conf_load of path; returns its result, err kept */
static int
load(struct reinject_conf *c, const char *path, struct buf *err)
{
	buf_init(err, CONFIG_ERROR_LIMIT);
	return reinject_conf_load(c, path, err);
}

START_TEST(guide_config_a_maps_tables_hosts_and_canonicalization)
{
	struct reinject_conf c;
	struct buf err;
	char want[600];

	copy_data("opendkim-a.conf");
	ck_assert_msg(load(&c, tmp_path("opendkim-a.conf"), &err) == 0, "%s",
	    buf_cstr(&err));
	snprintf(want, sizeof(want), "%s/KeyTable", dir);
	ck_assert_str_eq(c.key_table, want);
	snprintf(want, sizeof(want), "refile:%s/SigningTable", dir);
	ck_assert_str_eq(c.signing_table, want);
	snprintf(want, sizeof(want), "refile:%s/TrustedHosts", dir);
	ck_assert_str_eq(c.internal_hosts, want);
	ck_assert_int_eq(c.sign_canonicalization, REINJECT_CANON_RELAXED_SIMPLE);
	/* a KeyTable is set: Selector and KeyFile are unused, as in OpenDKIM */
	ck_assert_str_eq(c.sign_selector, "");
	ck_assert_str_eq(c.sign_key_file, "");
	ck_assert_str_eq(c.listeners[0].addr, "127.0.0.1:10025");
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(guide_config_b_and_reinject_conf_override)
{
	struct reinject_conf c;
	struct buf err;
	const char *r;

	copy_data("opendkim-b.conf");
	r = write_file("reinject.conf", "opendkim_config = @D/opendkim-b.conf\n"
	    "internal_hosts = 192.0.2.0/24\nlisten = 127.0.0.1:10040 sign\n");
	ck_assert_msg(load(&c, r, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.internal_hosts, "192.0.2.0/24");
	ck_assert_int_eq(c.listeners[0].mode, REINJECT_MODE_SIGN);
	ck_assert_ptr_nonnull(strstr(c.signing_table, "refile:"));
	ck_assert_ptr_nonnull(strstr(c.key_table, "/KeyTable"));
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(debian_opendkim_conf_reads_unchanged)
{
	struct reinject_conf c;
	struct buf err;

	if (access("/etc/opendkim.conf", R_OK) != 0) {
		fprintf(stderr, "SKIP debian_opendkim_conf_reads_unchanged: "
		    "/etc/opendkim.conf absent (package opendkim)\n");
		return;
	}
	ck_assert_msg(load(&c, "/etc/opendkim.conf", &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_int_eq(c.sign_canonicalization, REINJECT_CANON_RELAXED_SIMPLE);
	ck_assert_uint_eq(c.oversign_headers.count, 1);
	ck_assert_str_eq(c.oversign_headers.items[0], "From");
	ck_assert(c.syslog);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(signing_options_and_mode_v)
{
	struct reinject_conf c;
	struct buf err;
	const char *p = write_file("o.conf", "Domain mydomain.example\n"
	    "Selector s1   # trailing comment\nKeyFile /k/s1.private\n"
	    "SubDomains yes\nCanonicalization simple\n"
	    "SignHeaders From,To,Subject\nOversignHeaders From,Subject\n"
	    "SignatureTTL 86400\nMultipleSignatures true\nAuthservID mx.example\n"
	    "MinimumKeyBits 1024\nSignatureAlgorithm rsa-sha256\n"
	    "RequireSafeKeys yes\nSendReports no\n");

	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.sign_domain, "mydomain.example");
	ck_assert_str_eq(c.sign_selector, "s1");
	ck_assert_str_eq(c.sign_key_file, "/k/s1.private");
	ck_assert(c.sign_subdomains);
	ck_assert(c.multiple_signatures);
	ck_assert_int_eq(c.sign_canonicalization, REINJECT_CANON_SIMPLE_SIMPLE);
	ck_assert_uint_eq(c.sign_headers.count, 3);
	ck_assert_uint_eq(c.oversign_headers.count, 2);
	ck_assert_uint_eq(c.signature_ttl, 86400);
	ck_assert_str_eq(c.authserv_id, "mx.example");
	ck_assert_int_eq(c.dkim_min_key_bits, 1024);
	reinject_conf_free(&c);
	buf_clear(&err);
	p = write_file("v.conf", "Mode v\nDomain mydomain.example\nSelector s1\n"
	    "KeyFile /k/s1.private\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.sign_domain, "");
	ck_assert_str_eq(c.sign_key_file, "");
	reinject_conf_free(&c);
	buf_clear(&err);
	p = write_file("m.conf", "MinimumKeyBits 2048\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dkim_min_key_bits, 2048);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* every refusal, with its exact message; all reported in one run */
static const char bad_text[] =
    "Mode s\n"
    "Domain refile:/etc/opendkim/domains\n"
    "SignatureAlgorithm rsa-sha1\n"
    "MinimumKeyBits 8192\n"
    "RequireSafeKeys no\n"
    "PeerList db:/etc/peers.db\n"
    "OmitHeaders ldap://ldap.example/o=x\n"
    "On-BadSignature maybe\n"
    "DNSTimeout soon\n"
    "Bogus 1\n"
    "ExternalIgnoreList db:/etc/x.db\n"
    "Canonicalization relaxed/fuzzy\n"
    "Selector a,b\n"
    "Selector\n"
    "Mode x\n"
    "SubDomains maybe\n"
    "SignHeaders From,X\001Y\n";

static const char *const bad_msgs[] = {
	":1: Mode: reinject always verifies mail from outside InternalHosts; use "
	    "\"sv\" (mail from InternalHosts is signed, not verified) (\"s\")\n",
	":2: Domain: domain patterns need a KeyTable and a refile: SigningTable "
	    "(\"refile:/etc/opendkim/domains\")\n",
	":3: SignatureAlgorithm: rsa-sha1 must not be used to sign (RFC 8301 "
	    "section 3.1) (\"rsa-sha1\")\n",
	":4: MinimumKeyBits: above 4096 bits no RSA key would verify (RFC 8301 "
	    "section 3.2) (\"8192\")\n",
	":5: RequireSafeKeys: reinject refuses key files readable by group or "
	    "other; chmod 600 them and remove this line (\"no\")\n",
	":6: PeerList: db:/etc/peers.db: data set type \"db:\" is not supported; "
	    "export it to a flat file (file:/path) (\"db:/etc/peers.db\")\n",
	":7: OmitHeaders: data set type \"ldap:\" is not supported here; use "
	    "csl:, file: or a comma-separated list (\"ldap://ldap.example/o=x\")\n",
	":8: On-BadSignature: not accept, discard, quarantine, reject or tempfail "
	    "(\"maybe\")\n",
	":9: DNSTimeout: not a number (\"soon\")\n",
	":10: Bogus: unknown or unsupported OpenDKIM key\n",
	":11: ExternalIgnoreList: db:/etc/x.db: data set type \"db:\" is not "
	    "supported; export it to a flat file (file:/path) (\"db:/etc/x.db\")\n",
	":12: Canonicalization: sign_canonicalization: bad value "
	    "\"relaxed/fuzzy\" (expected one of: simple/simple simple/relaxed "
	    "relaxed/simple relaxed/relaxed) (\"relaxed/fuzzy\")\n",
	":13: Selector: one value only here; several selectors or keys need a "
	    "KeyTable and a SigningTable (\"a,b\")\n",
	":14: Selector: no value\n",
	":15: Mode: not s, v or sv (\"x\")\n",
	":16: SubDomains: not a boolean (\"maybe\")\n",
	":17: SignHeaders: a control character in the value (\"From,X\001Y\")\n",
};

START_TEST(every_refusal_names_file_line_and_reason_in_one_run)
{
	struct reinject_conf c;
	struct buf err;
	const char *p = write_file("bad.conf", bad_text), *r;
	char want[1024];

	r = write_file("r.conf", "opendkim_config = @D/bad.conf\nno_such = 1\n");
	ck_assert_int_eq(load(&c, r, &err), -1);
	for (size_t i = 0; i < ARRAY_LEN(bad_msgs); i++) {
		snprintf(want, sizeof(want), "%s%s", p, bad_msgs[i]);
		ck_assert_msg(strstr(buf_cstr(&err), want) != NULL,
		    "want \"%s\" in \"%s\"", want, buf_cstr(&err));
	}
	/* reinject.conf's own error in the same run, once */
	snprintf(want, sizeof(want), "%s:2: unknown reinject.conf parameter "
	    "\"no_such\"", r);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&err), want));
	ck_assert_ptr_null(strstr(strstr(buf_cstr(&err), want) + 1, want));
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(detect_tells_opendkim_conf_from_reinject_conf)
{
	static const char a[] = "# c\n\nMode sv\n", b[] = "key_table = /x\n",
	    d[] = "KeyTable = /x\n", e[] = "Nonsense here\n";

	ck_assert(reinject_opendkim_detect(a, strlen(a)));
	ck_assert(!reinject_opendkim_detect(b, strlen(b)));
	ck_assert(!reinject_opendkim_detect(d, strlen(d)));
	ck_assert(!reinject_opendkim_detect(e, strlen(e)));
	ck_assert(!reinject_opendkim_detect("", 0));
}
END_TEST

START_TEST(import_prints_commented_equivalent_that_loads)
{
	struct reinject_conf c;
	struct buf err;
	const char *in = copy_data("opendkim-a.conf");
	char *text;
	size_t len;
	FILE *out = fopen(tmp_path("imported.conf"), "w");
	char want[600];

	struct buf notes;

	buf_init(&err, CONFIG_ERROR_LIMIT);
	buf_init(&notes, CONFIG_ERROR_LIMIT);
	memset(&c, 0, sizeof(c));
	config_init(&reinject_conf_schema, &c);
	ck_assert_int_eq(reinject_opendkim_load(&c, in, &notes, &err, out), 0);
	reinject_conf_free(&c);
	buf_clear(&notes);
	fclose(out);
	text = config_read_file(tmp_path("imported.conf"), &len, &err);
	ck_assert_ptr_nonnull(text);
	snprintf(want, sizeof(want), "# %s:6: SigningTable refile:%s/SigningTable\n"
	    "signing_table = refile:%s/SigningTable\n", in, dir, dir);
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, ":9: Socket inet:8891@localhost\n"
	    "#   reinject listens"));
	ck_assert_ptr_nonnull(strstr(text, "sign_canonicalization = relaxed/simple\n"));
	free(text);
	buf_clear(&err);
	/* the printed file is a valid reinject.conf with the same meaning */
	ck_assert_msg(load(&c, tmp_path("imported.conf"), &err) == 0, "%s",
	    buf_cstr(&err));
	snprintf(want, sizeof(want), "refile:%s/TrustedHosts", dir);
	ck_assert_str_eq(c.internal_hosts, want);
	ck_assert_str_eq(c.sign_key_file, "");
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST


/* list_is - the config list joined with ", " equals want */
static void
list_is(const struct config_list *l, const char *want)
{
	char got[1024] = "";
	size_t n = 0;

	for (size_t i = 0; i < l->count; i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", i ? ", " : "",
		    l->items[i]);
	ck_assert_str_eq(got, want);
}

/* On-*: OpenDKIM's words and abbreviations, On-Default, OpenDKIM's defaults */
START_TEST(on_actions_map_with_on_default_and_opendkim_defaults)
{
	struct reinject_conf c;
	struct buf err;
	const char *p = write_file("on.conf", "On-BadSignature q\n"
	    "On-Default reject\nOn-KeyNotFound Accept\nOn-NoSignature d\n");
	const char *r;

	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dkim_bad_signature_action, REINJECT_ONACTION_QUARANTINE);
	ck_assert_int_eq(c.dkim_key_not_found_action, REINJECT_ONACTION_ACCEPT);
	ck_assert_int_eq(c.dkim_no_signature_action, REINJECT_ONACTION_DISCARD);
	/* On-Default, wherever it stands, for the keys not given */
	ck_assert_int_eq(c.dkim_dns_error_action, REINJECT_ONACTION_REJECT);
	ck_assert_int_eq(c.dkim_internal_error_action, REINJECT_ONACTION_REJECT);
	ck_assert_int_eq(c.dkim_security_action, REINJECT_ONACTION_REJECT);
	/* On-Default does not set On-SignatureError: OpenDKIM's reject */
	ck_assert_int_eq(c.sign_error_action, REINJECT_ONACTION_REJECT);
	reinject_conf_free(&c);
	buf_clear(&err);
	/* without On-* keys: OpenDKIM's defaults; reinject.conf overrides */
	write_file("plain.conf", "Mode sv\n");
	r = write_file("r.conf", "opendkim_config = @D/plain.conf\n"
	    "dkim_internal_error_action = discard\n");
	ck_assert_msg(load(&c, r, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dkim_dns_error_action, REINJECT_ONACTION_TEMPFAIL);
	ck_assert_int_eq(c.dkim_internal_error_action, REINJECT_ONACTION_DISCARD);
	ck_assert_int_eq(c.dkim_bad_signature_action, REINJECT_ONACTION_ACCEPT);
	ck_assert_int_eq(c.sign_error_action, REINJECT_ONACTION_REJECT);
	list_is(&c.omit_headers, "Return-Path, Received, Comments, Keywords, Bcc, "
	    "Resent-Bcc, DKIM-Signature");
	reinject_conf_free(&c);
	buf_clear(&err);
	/* no opendkim.conf: reinject's own defaults */
	r = write_file("n.conf", "syslog = no\n");
	ck_assert_msg(load(&c, r, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dkim_dns_error_action, REINJECT_ONACTION_ACCEPT);
	ck_assert_int_eq(c.sign_error_action, REINJECT_ONACTION_TEMPFAIL);
	ck_assert_uint_eq(c.omit_headers.count, 0);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* PeerList, DNSTimeout, MaximumHeaders, MaximumSignaturesToVerify, AlwaysAddARHeader */
START_TEST(peers_timeouts_and_limits_map_onto_named_settings)
{
	struct reinject_conf c;
	struct buf err;
	const char *p;
	char want[600];

	write_file("peers", "10.0.0.0/8\n*.relay.example\n!10.9.9.9\n");
	p = write_file("l.conf", "PeerList refile:@D/peers\nDNSTimeout 7\n"
	    "MaximumHeaders 131072000\nMaximumSignaturesToVerify 3\n"
	    "AlwaysAddARHeader no\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	snprintf(want, sizeof(want), "refile:%s", tmp_path("peers"));
	ck_assert_str_eq(c.peer_hosts, want);
	ck_assert_uint_eq(c.dkim_timeout, 7);
	ck_assert_uint_eq(c.header_size_limit, 131072000);
	ck_assert_uint_ge(c.header_memory_limit, c.header_size_limit);
	ck_assert_int_eq(c.dkim_signature_limit, 3);
	reinject_conf_free(&c);
	buf_clear(&err);
	/* above what reinject evaluates: 10, the rest neutral; 0: not kept */
	p = write_file("l2.conf", "MaximumSignaturesToVerify 50\nDNSTimeout 0\n"
	    "MaximumHeaders 0\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dkim_signature_limit, 10);
	ck_assert_uint_eq(c.dkim_timeout, 60);
	ck_assert_uint_eq(c.header_size_limit, 1024 * 1024);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* Domain, SignHeaders, OversignHeaders, OmitHeaders: data sets and deltas */
START_TEST(domain_and_header_data_sets_as_opendkim_reads_them)
{
	struct reinject_conf c;
	struct buf err;
	const char *p;

	write_file("domains", "# signed domains\na.example\nb.example  # two\n");
	write_file("over", "From\nSubject\n");
	p = write_file("h.conf", "Domain file:@D/domains\nSelector s1\n"
	    "KeyFile /k/s1.private\nSignHeaders *,+List-Foo,-Subject,-Cc\n"
	    "OversignHeaders @D/over\nOmitHeaders *,+X-Spam-Status,-Bcc\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.sign_domain, "a.example, b.example");
	ck_assert(config_list_has_ci(&c.sign_headers, "List-Foo", 8));
	ck_assert(config_list_has_ci(&c.sign_headers, "from", 4));
	ck_assert(config_list_has_ci(&c.sign_headers, "reply-to", 8));
	ck_assert(!config_list_has_ci(&c.sign_headers, "Subject", 7));
	ck_assert(!config_list_has_ci(&c.sign_headers, "cc", 2));
	list_is(&c.oversign_headers, "From, Subject");
	list_is(&c.omit_headers, "Return-Path, Received, Comments, Keywords, "
	    "Resent-Bcc, DKIM-Signature, X-Spam-Status");
	reinject_conf_free(&c);
	buf_clear(&err);
	/* a list without From gets From (OpenDKIM adds it); csl: and ".";
	 * "+*" names no field, "-  To" removes To */
	p = write_file("h2.conf", "Domain csl:a.example,b.example\n"
	    "SignHeaders Subject,To\nOmitHeaders .\n"
	    "OversignHeaders *,+*,From,To,-  To\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.sign_domain, "a.example, b.example");
	list_is(&c.sign_headers, "Subject, To, From");
	list_is(&c.omit_headers, ".");
	list_is(&c.oversign_headers, "From");
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* OpenDMARC: RejectFailures mode-aware, IgnoreMailFrom, RequiredHeaders */
START_TEST(opendmarc_rejectfailures_ignoremailfrom_requiredheaders)
{
	struct reinject_conf c;
	struct buf err;
	const char *p = write_file("dm.conf", "RejectFailures true\n"
	    "IgnoreMailFrom a.example, B.example\nRequiredHeaders yes\n"
	    "IgnoreAuthenticatedClients true\n");

	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dmarc.reject_action, REINJECT_DMARC_REJECT_OR_HOLD);
	ck_assert_int_eq(c.dmarc.temperror_action, REINJECT_DMARC_TEMPFAIL);
	ck_assert_int_eq(c.dmarc.quarantine_action, REINJECT_DMARC_ACCEPT);
	list_is(&c.dmarc.ignore_from, "a.example, B.example");
	ck_assert(c.dmarc.required_headers);
	reinject_conf_free(&c);
	buf_clear(&err);
	p = write_file("dm2.conf", "RejectFailures false\nRequiredHeaders false\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dmarc.reject_action, REINJECT_DMARC_ACCEPT);
	ck_assert_int_eq(c.dmarc.temperror_action, REINJECT_DMARC_ACCEPT);
	ck_assert(!c.dmarc.required_headers);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(guide_opendmarc_conf_maps_dmarc_settings)
{
	struct reinject_conf c;
	struct buf err;
	const char *r;

	copy_data("opendmarc.conf");
	copy_data("opendkim-a.conf");
	r = write_file("reinject.conf", "opendkim_config = @D/opendkim-a.conf\n"
	    "opendmarc_config = @D/opendmarc.conf\n"
	    "dmarc_quarantine_action = tag\n");
	ck_assert_msg(load(&c, r, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_str_eq(c.authserv_id, "OpenDMARC");
	ck_assert_uint_eq(c.dmarc.trusted_authserv_ids.count, 1);
	ck_assert_str_eq(c.dmarc.trusted_authserv_ids.items[0], "mail.mydomain.example");
	/* RejectFailures true: rejected before the queue, held after it;
	 * SPFIgnoreResults false */
	ck_assert_int_eq(c.dmarc.reject_action, REINJECT_DMARC_REJECT_OR_HOLD);
	ck_assert(c.dmarc.required_headers);
	ck_assert(!c.dmarc.spf_self);
	/* reinject.conf overrides OpenDMARC's HoldQuarantinedMessages default */
	ck_assert_int_eq(c.dmarc.quarantine_action, REINJECT_DMARC_TAG);
	/* and both files were read */
	ck_assert_int_eq(c.sign_canonicalization, REINJECT_CANON_RELAXED_SIMPLE);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(opendmarc_defaults_enforce_nothing_and_ignorehosts_file)
{
	struct reinject_conf c;
	struct buf err;
	const char *p;

	write_file("ignore", "# relays\n192.0.2.0/24\n\n198.51.100.7/32 # one\n");
	p = write_file("d.conf", "Socket inet:8893@localhost\n"
	    "IgnoreHosts @D/ignore\nSPFIgnoreResults yes\n"
	    "HoldQuarantinedMessages true\nFailureReports false\n"
	    "AuthservID HOSTNAME\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	ck_assert_int_eq(c.dmarc.reject_action, REINJECT_DMARC_ACCEPT);
	ck_assert_int_eq(c.dmarc.quarantine_action, REINJECT_DMARC_HOLD);
	ck_assert(c.dmarc.spf_self);
	ck_assert_uint_eq(c.dmarc.trusted_forwarders.count, 2);
	ck_assert_str_eq(c.dmarc.trusted_forwarders.items[1], "198.51.100.7/32");
	ck_assert_str_eq(c.authserv_id, c.myhostname);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

START_TEST(debian_opendmarc_conf_reads_unchanged)
{
	struct reinject_conf c;
	struct buf err;

	if (access("/etc/opendmarc.conf", R_OK) != 0) {
		fprintf(stderr, "SKIP debian_opendmarc_conf_reads_unchanged: "
		    "/etc/opendmarc.conf absent (package opendmarc)\n");
		return;
	}
	/* its first key, PidFile, is OpenDKIM's too: told apart by the rest */
	ck_assert_msg(load(&c, "/etc/opendmarc.conf", &err) == 0, "%s",
	    buf_cstr(&err));
	ck_assert_int_eq(c.dmarc.reject_action, REINJECT_DMARC_ACCEPT);
	ck_assert(c.syslog);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

static const char odm_bad_text[] =
    "RejectFailures perhaps\n"
    "FailureReports true\n"
    "HistoryFile /var/run/opendmarc/opendmarc.dat\n"
    "SPFSelfValidate perhaps\n"
    "CopyFailuresTo postmaster@example.com\n"
    "IgnoreHosts /nonexistent/ignore\n"
    "TrustedAuthservIDs\n"
    "Frobnicate yes\n";

static const char *const odm_bad_msgs[] = {
	":1: RejectFailures: not a boolean (\"perhaps\")\n",
	":2: FailureReports: DMARC failure reports are not sent by this version "
	    "(\"true\")\n",
	":3: HistoryFile: aggregate report history is not written by this "
	    "version; opendmarc-import and opendmarc-reports need OpenDMARC "
	    "(\"/var/run/opendmarc/opendmarc.dat\")\n",
	":4: SPFSelfValidate: not a boolean (\"perhaps\")\n",
	":5: CopyFailuresTo: not supported: after the queue the recipients are "
	    "already with Postfix when DMARC is known; use dmarc_reject_action = "
	    "redirect and a header_checks REDIRECT, or BCC in header_checks "
	    "(\"postmaster@example.com\")\n",
	":6: IgnoreHosts: /nonexistent/ignore: cannot open: No such file or "
	    "directory (\"/nonexistent/ignore\")\n",
	":7: TrustedAuthservIDs: no value\n",
	":8: Frobnicate: unknown or unsupported OpenDMARC key\n",
};

START_TEST(every_opendmarc_refusal_names_file_line_and_reason)
{
	struct reinject_conf c;
	struct buf err;
	const char *p = write_file("odm-bad.conf", odm_bad_text);
	char want[1024];

	ck_assert_int_eq(load(&c, p, &err), -1);
	for (size_t i = 0; i < ARRAY_LEN(odm_bad_msgs); i++) {
		snprintf(want, sizeof(want), "%s%s", p, odm_bad_msgs[i]);
		ck_assert_msg(strstr(buf_cstr(&err), want) != NULL,
		    "want \"%s\" in \"%s\"", want, buf_cstr(&err));
	}
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* -t's table check: the host list's and the KeyTable's errors together */
START_TEST(table_and_host_list_errors_reported_together)
{
	struct reinject_conf c;
	struct buf err;
	const char *p;

	write_file("hosts", "127.0.0.1\nbad_host!\n10.0.0.0/33\n");
	write_file("kt", "k1 mydomain.example\nk2 mydomain.example:s2:/nonexistent\n");
	write_file("st", "*@mydomain.example k1\n");
	p = write_file("t.conf", "KeyTable @D/kt\nSigningTable refile:@D/st\n"
	    "InternalHosts refile:@D/hosts\n");
	ck_assert_msg(load(&c, p, &err) == 0, "%s", buf_cstr(&err));
	buf_reset(&err);
	ck_assert_int_eq(reinject_worker_check(&c, &err), -1);
	ck_assert_msg(strstr(buf_cstr(&err), "hosts:2: \"bad_host!\": not an "
	    "address") != NULL, "%s", buf_cstr(&err));
	ck_assert_msg(strstr(buf_cstr(&err), "hosts:3: \"10.0.0.0/33\": not an "
	    "address") != NULL, "%s", buf_cstr(&err));
	ck_assert_msg(strstr(buf_cstr(&err), "kt:1: key \"k1\": value must be") !=
	    NULL, "%s", buf_cstr(&err));
	ck_assert_msg(strstr(buf_cstr(&err), "kt:2: key \"k2\": ") != NULL, "%s",
	    buf_cstr(&err));
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

/* each bad entry of a named host list is its own line under file:line */
START_TEST(host_list_errors_each_under_the_conf_line)
{
	struct reinject_conf c;
	struct buf err;
	const char *p;
	char want[1024];

	write_file("eil", "bad_1!\n127.0.0.1\nbad_2!\n");
	p = write_file("e.conf", "Mode sv\nExternalIgnoreList refile:@D/eil\n");
	ck_assert_int_eq(load(&c, p, &err), -1);
	snprintf(want, sizeof(want), "%s:2: ExternalIgnoreList: %s:1: \"bad_1!\": "
	    "not an address, CIDR block or host name (\"refile:%s\")\n%s:2: "
	    "ExternalIgnoreList: %s:3: \"bad_2!\": not an address, CIDR block or "
	    "host name (\"refile:%s\")\n", p, tmp_path("eil"), tmp_path("eil"), p,
	    tmp_path("eil"), tmp_path("eil"));
	ck_assert_str_eq(buf_cstr(&err), want);
	reinject_conf_free(&c);
	buf_clear(&err);
}
END_TEST

static Suite *
odk_suite(void)
{
	Suite *s = suite_create("reinject_opendkim");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, guide_config_a_maps_tables_hosts_and_canonicalization);
	tcase_add_test(tc, guide_config_b_and_reinject_conf_override);
	tcase_add_test(tc, debian_opendkim_conf_reads_unchanged);
	tcase_add_test(tc, signing_options_and_mode_v);
	tcase_add_test(tc, every_refusal_names_file_line_and_reason_in_one_run);
	tcase_add_test(tc, detect_tells_opendkim_conf_from_reinject_conf);
	tcase_add_test(tc, import_prints_commented_equivalent_that_loads);
	tcase_add_test(tc, on_actions_map_with_on_default_and_opendkim_defaults);
	tcase_add_test(tc, peers_timeouts_and_limits_map_onto_named_settings);
	tcase_add_test(tc, domain_and_header_data_sets_as_opendkim_reads_them);
	tcase_add_test(tc, opendmarc_rejectfailures_ignoremailfrom_requiredheaders);
	tcase_add_test(tc, guide_opendmarc_conf_maps_dmarc_settings);
	tcase_add_test(tc, opendmarc_defaults_enforce_nothing_and_ignorehosts_file);
	tcase_add_test(tc, debian_opendmarc_conf_reads_unchanged);
	tcase_add_test(tc, every_opendmarc_refusal_names_file_line_and_reason);
	tcase_add_test(tc, table_and_host_list_errors_reported_together);
	tcase_add_test(tc, host_list_errors_each_under_the_conf_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(odk_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
