/*
 * test_reinject_util.h - the harness the test_reinject_*.c stage tests share:
 * a "world" of settings, event loop and in-memory resolver (dns_mem.c), and
 * a message run through the real pipeline (reinject_pipeline.c) as the SMTP
 * front-end would feed it after XFORWARD.
 */
#ifndef TEST_REINJECT_UTIL_H
#define TEST_REINJECT_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "reinject.h"

/* Our authserv-id and host name in every world. */
#define OUR_ID "mx.ours.example"

struct world {
	struct event_base *base;
	struct dns_resolver *dns;
	struct reinject_conf conf;
	struct reinject_ctx ctx;
	struct smtp_xforward xf;
	int done;
};

/*
 * world_setup - settings (our ids, spool /tmp, then the lines of extra and of
 * setting, either NULL), an event base and an empty in-memory resolver that
 * answers from the loop when async, else at once
 */
static inline void
world_setup(struct world *w, const char *extra, const char *setting, bool async)
{
	struct buf err;
	char text[2048];

	memset(w, 0, sizeof(*w));
	config_init(&reinject_conf_schema, &w->conf);
	snprintf(text, sizeof(text), "authserv_id = %s\nmyhostname = %s\n"
	    "spool_directory = /tmp\n%s%s\n", OUR_ID, OUR_ID, extra ? extra : "",
	    setting ? setting : "");
	buf_init(&err, 4096);
	ck_assert_msg(config_load_mem(&reinject_conf_schema, &w->conf, "test", text,
	    strlen(text), &err) == 0, "%s", buf_cstr(&err));
	buf_clear(&err);
	w->base = event_base_new();
	w->dns = dns_mem_new(async ? w->base : NULL);
	w->ctx.base = w->base;
	w->ctx.conf = &w->conf;
	w->ctx.dns = w->dns;
}

/* world_free - release */
static inline void
world_free(struct world *w)
{
	smtp_xforward_clear(&w->xf);
	dns_resolver_free(w->dns);
	event_base_free(w->base);
	config_free(&reinject_conf_schema, &w->conf);
}

/* world_done - the pipeline finished: count it */
static inline void
world_done(struct reinject_msg *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
}

/* world_feed - the message text, line by line with LF made CRLF */
static inline void
world_feed(struct reinject_msg *m, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char line[1024];

		snprintf(line, sizeof(line), "%.*s\r\n", (int)n, text);
		reinject_msg_line(m, line, n + 2);
		text += n + (nl ? 1 : 0);
	}
}

/*
 * world_begin - a message of w from sender, client addr with HELO helo
 * (XFORWARD; helo may be NULL) and queue id TESTQID, to one recipient;
 * the caller may set more fields before world_finish
 */
static inline struct reinject_msg *
world_begin(struct world *w, const char *helo, const char *addr, const char *sender,
    bool sign)
{
	struct reinject_msg *m;

	smtp_xforward_clear(&w->xf);
	memset(&w->xf, 0, sizeof(w->xf));
	w->xf.value[SMTP_XFWD_HELO] = helo ? xstrdup(helo) : NULL;
	w->xf.value[SMTP_XFWD_ADDR] = xstrdup(addr);
	w->xf.value[SMTP_XFWD_IDENT] = xstrdup("TESTQID");
	w->done = 0;
	m = reinject_msg_new(&w->ctx);
	m->sender = sender;
	m->nrcpt = 1;
	m->xf = &w->xf;
	m->sign = sign;
	return m;
}

/* world_finish - text through the pipeline as m; the finished message (the caller frees it) */
static inline struct reinject_msg *
world_finish(struct world *w, struct reinject_msg *m, const char *text)
{
	reinject_pipeline_begin(m);
	world_feed(m, text);
	ck_assert_int_eq(reinject_msg_end(m), 0);
	reinject_pipeline_run(m, world_done, &w->done);
	if (!w->done)
		event_base_dispatch(w->base);
	ck_assert_int_eq(w->done, 1);
	return m;
}

/* world_run - world_begin and world_finish in one */
static inline struct reinject_msg *
world_run(struct world *w, const char *helo, const char *addr, const char *sender,
    bool sign, const char *text)
{
	return world_finish(w, world_begin(w, helo, addr, sender, sign), text);
}

#endif
