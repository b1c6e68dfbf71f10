/*
 * test_reinject_milter.c - the end-of-message replies of the milter front-end
 * (reinject_milter_eom.c): deletions by per-name index, insertions on top in
 * order, a tagged Subject changed in place, hold as QUARANTINE, redirect as
 * DELRCPT/ADDRCPT (or QUARANTINE when it cannot be done), reject / tempfail
 * / discard as final replies; and the milter's spool without a directory,
 * which keeps a body for failure reports only while it fits its limit.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"
#include "reinject.h"

static struct reinject_conf conf;
static struct reinject_ctx ctx;
static const struct reinject_milter_eom_in leadspc = { .leadspc = true };
static const struct reinject_milter_eom_in no_leadspc = { .leadspc = false };

/* msg - a message from lines, as the milter session feeds it */
static struct reinject_msg *
msg(const char *const *lines)
{
	struct reinject_msg *m;
	struct buf err;

	buf_init(&err, 1024);
	ck_assert_int_eq(reinject_conf_load(&conf, NULL, &err), 0);
	buf_clear(&err);
	ctx.conf = &conf;
	m = reinject_msg_new(&ctx);
	for (size_t i = 0; lines[i]; i++)
		reinject_msg_line(m, lines[i], strlen(lines[i]));
	ck_assert_int_eq(reinject_msg_end(m), 0);
	return m;
}

/* done - free message and settings */
static void
done(struct reinject_msg *m)
{
	reinject_msg_free(m);
	reinject_conf_free(&conf);
}

/* expect - the next packet in (p, len) at *off has command c and data d */
static void
expect(const struct buf *b, size_t *off, char c, const char *d, size_t dlen)
{
	struct milter_packet pk;
	size_t used;

	ck_assert_int_eq(milter_frame(b->data + *off, b->len - *off, 1 << 20,
	    &pk, &used), MILTER_FRAME_OK);
	ck_assert_int_eq(pk.cmd, c);
	ck_assert_uint_eq(pk.data.len, dlen);
	ck_assert(memcmp(pk.data.p, d, dlen) == 0);
	*off += used;
}

/* expect_held - the mark inserted, QUARANTINE, CONTINUE: nothing else */
static void
expect_held(const struct buf *b)
{
	struct milter_packet pk;
	size_t off = 0, used;
	static const char want[] = "iqc";

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(milter_frame(b->data + off, b->len - off, 1 << 20,
		    &pk, &used), MILTER_FRAME_OK);
		ck_assert_int_eq(pk.cmd, want[i]);
		off += used;
	}
	ck_assert_uint_eq(off, b->len);
}

static const char *const lines_ar[] = {
	"From: a@example.org\r\n",
	"Authentication-Results: other.example; dkim=pass\r\n",
	"authentication-results: mx.example; spf=pass\r\n",
	"Subject: x\r\n",
	"Authentication-Results: mx.example;\r\n dkim=pass\r\n",
	"\r\n",
	"body\r\n",
	NULL,
};

START_TEST(milter_eom_deletes_by_name_index_highest_first_then_inserts_on_top)
{
	struct reinject_msg *m = msg(lines_ar);
	struct buf b;
	size_t off = 0;
	static const char f1[] = "Authentication-Results: mx.example;\r\n\tdkim=none\r\n";
	static const char f2[] = "DKIM-Signature: v=1; d=example.org\r\n";

	ck_assert_uint_eq(m->nhdrs, 5);
	m->hdrs[2].removed = true;
	m->hdrs[4].removed = true;
	reinject_msg_prepend(m, f1, strlen(f1));
	reinject_msg_prepend(m, f2, strlen(f2));
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "accepted");
	expect(&b, &off, 'm', "\0\0\0\3Authentication-Results\0", 28);
	expect(&b, &off, 'm', "\0\0\0\2authentication-results\0", 28);
	expect(&b, &off, 'i', "\0\0\0\0DKIM-Signature\0 v=1; d=example.org", 39);
	expect(&b, &off, 'i', "\0\0\0\1Authentication-Results\0 mx.example;\n\tdkim=none",
	    51);
	expect(&b, &off, 'c', "", 0);
	ck_assert_uint_eq(off, b.len);
	/* without HDR_LEADSPC the MTA adds ": " itself */
	buf_reset(&b);
	off = 0;
	m->hdrs[2].removed = m->hdrs[4].removed = false;
	reinject_milter_eom(m, &no_leadspc, &b);
	expect(&b, &off, 'i', "\0\0\0\0DKIM-Signature\0v=1; d=example.org", 38);
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_eom_hold_mark_quarantines)
{
	struct reinject_msg *m = msg(lines_ar);
	struct buf b;
	size_t off = 0;
	static const char f[] = "X-Mailauth-DMARC: hold (dmarc=fail p=reject)\r\n";

	reinject_msg_prepend(m, f, strlen(f));
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "held");
	expect(&b, &off, 'i', "\0\0\0\0X-Mailauth-DMARC\0 hold (dmarc=fail p=reject)", 49);
	ck_assert_int_eq(b.data[off + 4], 'q');
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_eom_redirect_mark_quarantines_too)
{
	struct reinject_msg *m = msg(lines_ar);
	struct buf b;
	static const char f[] = "X-Mailauth-DMARC: redirect (dmarc=fail p=reject)\r\n";

	reinject_msg_prepend(m, f, strlen(f));
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "held");
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_eom_tag_changes_subject_in_place)
{
	struct reinject_msg *m = msg(lines_ar);
	struct buf b;
	size_t off = 0;
	static const char subj[] = "Subject: [SPAM] x\r\n";
	static const char flag[] = "X-Spam-Flag: YES\r\n";

	/* what dmarc_tag does: the old Subject removed, the tagged one and
	 * the flag prepended */
	m->hdrs[3].removed = true;
	reinject_msg_prepend(m, subj, strlen(subj));
	reinject_msg_prepend(m, flag, strlen(flag));
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "accepted");
	expect(&b, &off, 'i', "\0\0\0\0X-Spam-Flag\0 YES", 21);
	expect(&b, &off, 'm', "\0\0\0\1Subject\0 [SPAM] x", 22);
	expect(&b, &off, 'c', "", 0);
	ck_assert_uint_eq(off, b.len);
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_eom_tag_without_subject_inserts_one)
{
	static const char *const lines[] = { "From: a@example.org\r\n", "\r\n",
		"b\r\n", NULL };
	struct reinject_msg *m = msg(lines);
	struct buf b;
	size_t off = 0;
	static const char subj[] = "Subject: [SPAM]\r\n";

	reinject_msg_prepend(m, subj, strlen(subj));
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "accepted");
	expect(&b, &off, 'i', "\0\0\0\0Subject\0 [SPAM]", 20);
	expect(&b, &off, 'c', "", 0);
	buf_clear(&b);
	done(m);
}
END_TEST

/* redirect_msg - a message with the redirect mark and a redirect recipient */
static struct reinject_msg *
redirect_msg(void)
{
	struct reinject_msg *m = msg(lines_ar);
	static const char f[] = "X-Mailauth-DMARC: redirect (dmarc=fail)\r\n";

	free(conf.milter_redirect_recipient);
	conf.milter_redirect_recipient = xstrdup("quarantine@example.net");
	reinject_msg_prepend(m, f, strlen(f));
	return m;
}

START_TEST(milter_eom_redirect_replaces_every_recipient)
{
	struct reinject_msg *m = redirect_msg();
	struct buf b, rcpts;
	size_t off = 0;
	struct reinject_milter_eom_in in = { .leadspc = true, .rcpt_actions = true,
		.rcpts = &rcpts };

	buf_init(&rcpts, 1024);
	buf_append(&rcpts, "<a@example.net>\0<B@example.net>\0", 32);
	buf_init(&b, 65536);
	ck_assert_str_eq(reinject_milter_eom(m, &in, &b), "redirected");
	expect(&b, &off, 'i', "\0\0\0\0X-Mailauth-DMARC\0 redirect (dmarc=fail)", 44);
	expect(&b, &off, '-', "<a@example.net>", 16);
	expect(&b, &off, '-', "<B@example.net>", 16);
	expect(&b, &off, '+', "<quarantine@example.net>", 25);
	expect(&b, &off, 'c', "", 0);
	ck_assert_uint_eq(off, b.len);
	/* the MTA did not allow the recipient actions: held instead */
	buf_reset(&b);
	in.rcpt_actions = false;
	ck_assert_str_eq(reinject_milter_eom(m, &in, &b), "held");
	expect_held(&b);
	/* recipients over milter_recipient_size_limit: held, never half done */
	buf_reset(&b);
	in.rcpt_actions = true;
	rcpts.overflow = true;
	ck_assert_str_eq(reinject_milter_eom(m, &in, &b), "held");
	expect_held(&b);
	buf_clear(&rcpts);
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_eom_final_replies)
{
	struct reinject_msg *m = msg(lines_ar);
	struct buf b;
	size_t off = 0;
	static const char rej[] = "550 5.7.1 Email rejected per DMARC policy for example.org";

	buf_init(&b, 65536);
	reinject_msg_reject(m, 550, "5.7.1", "Email rejected per DMARC policy for example.org");
	reinject_msg_prepend(m, "X-A: b\r\n", 8);	/* not applied: refused */
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "rejected");
	expect(&b, &off, 'y', rej, sizeof(rej));
	ck_assert_uint_eq(off, b.len);
	buf_reset(&b);
	off = 0;
	/* trouble after a refusal is still only a temporary failure */
	m->tempfail = "signing key unusable";
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "deferred");
	expect(&b, &off, 'y', "451 4.3.0 signing key unusable", 31);
	buf_reset(&b);
	off = 0;
	m->code = 451;
	snprintf(m->enh, sizeof(m->enh), "4.7.1");
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "deferred");
	expect(&b, &off, 'y', "451 4.7.1 signing key unusable", 31);
	buf_reset(&b);
	off = 0;
	m->code = 0;
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "deferred");
	expect(&b, &off, 'y', "451 4.3.0 signing key unusable", 31);
	buf_reset(&b);
	off = 0;
	m->action = REINJECT_ACTION_DISCARD;
	ck_assert_str_eq(reinject_milter_eom(m, &leadspc, &b), "discarded");
	expect(&b, &off, 'd', "", 0);
	buf_clear(&b);
	done(m);
}
END_TEST

START_TEST(milter_spool_keeps_the_body_only_within_its_limit)
{
	struct reinject_spool sp;
	char out[32];

	/* no limit: counted, none kept */
	reinject_spool_init(&sp, NULL, 0);
	ck_assert_int_eq(reinject_spool_write(&sp, "\r\nbody", 6), 0);
	ck_assert_uint_eq(sp.size, 6);
	ck_assert_int_eq(reinject_spool_read(&sp, 0, out, sizeof(out)), -1);
	reinject_spool_clear(&sp);
	/* within the limit: kept whole, across writes */
	reinject_spool_init(&sp, NULL, 10);
	ck_assert_int_eq(reinject_spool_write(&sp, "\r\nbo", 4), 0);
	ck_assert_int_eq(reinject_spool_write(&sp, "dy\r\n", 4), 0);
	ck_assert_int_eq(reinject_spool_read(&sp, 0, out, sizeof(out)), 8);
	ck_assert(memcmp(out, "\r\nbody\r\n", 8) == 0);
	ck_assert_int_eq(reinject_spool_read(&sp, 2, out, 3), 3);
	ck_assert(memcmp(out, "bod", 3) == 0);
	/* past it: nothing kept (never a cut body), still counted */
	ck_assert_int_eq(reinject_spool_write(&sp, "more", 4), 0);
	ck_assert_uint_eq(sp.size, 12);
	ck_assert_int_eq(reinject_spool_read(&sp, 0, out, sizeof(out)), -1);
	ck_assert_int_eq(reinject_spool_write(&sp, "x", 1), 0);
	ck_assert_int_eq(reinject_spool_read(&sp, 0, out, sizeof(out)), -1);
	reinject_spool_clear(&sp);
}
END_TEST

static Suite *
reinject_milter_suite(void)
{
	Suite *s = suite_create("reinject_milter");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, milter_eom_deletes_by_name_index_highest_first_then_inserts_on_top);
	tcase_add_test(tc, milter_eom_hold_mark_quarantines);
	tcase_add_test(tc, milter_eom_redirect_mark_quarantines_too);
	tcase_add_test(tc, milter_eom_tag_changes_subject_in_place);
	tcase_add_test(tc, milter_eom_tag_without_subject_inserts_one);
	tcase_add_test(tc, milter_eom_redirect_replaces_every_recipient);
	tcase_add_test(tc, milter_eom_final_replies);
	tcase_add_test(tc, milter_spool_keeps_the_body_only_within_its_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reinject_milter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
