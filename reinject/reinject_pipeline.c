/*
 * reinject_pipeline.c - runs the stages of reinject_stages.c over a message.
 *
 * Header fields and body bytes are fanned out to every stage as they arrive
 * (one pass, nothing buffered twice).  At the end of DATA the stages finish
 * one after the other; a stage may finish asynchronously (DNS).  The whole
 * finishing is bounded by dkim_timeout, so the reply to Postfix comes well
 * within its smtp_data_done_timeout: when it passes, the waiting stage records
 * a temporary outcome and the remaining stages run without waiting for
 * anything more.
 */
#include <event2/event.h>

#include "log.h"
#include "reinject.h"

/* reinject_pipeline_begin - start the stages for a new message */
void
reinject_pipeline_begin(struct reinject_msg *m)
{
	if (reinject_nstages > ARRAY_LEN(m->stage_state))
		log_panic("reinject_pipeline_begin: %zu stages, room for %zu",
		    reinject_nstages, ARRAY_LEN(m->stage_state));
	/* a peer's mail passes untouched, as OpenDKIM's PeerList */
	m->peer = reinject_onaction_peer(m);
	for (size_t i = 0; i < reinject_nstages; i++) {
		m->stage_state[i] = NULL;
		if (!m->peer)
			reinject_stages[i]->begin(m, &m->stage_state[i]);
	}
}

/* reinject_pipeline_header - one field to every stage */
void
reinject_pipeline_header(struct reinject_msg *m, struct span name,
    struct span field)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (m->stage_state[i] && reinject_stages[i]->header)
			reinject_stages[i]->header(m->stage_state[i], m, name, field);
}

/* reinject_pipeline_eoh - end of the header section to every stage */
void
reinject_pipeline_eoh(struct reinject_msg *m)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (m->stage_state[i] && reinject_stages[i]->eoh)
			reinject_stages[i]->eoh(m->stage_state[i], m);
}

/* reinject_pipeline_body - body bytes to every stage */
void
reinject_pipeline_body(struct reinject_msg *m, const char *p, size_t len)
{
	for (size_t i = 0; i < reinject_nstages; i++)
		if (m->stage_state[i] && reinject_stages[i]->body)
			reinject_stages[i]->body(m->stage_state[i], m, p, len);
}

/* reinject_pipeline_timeout - dkim_timeout passed while a stage waited */
static void
reinject_pipeline_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct reinject_msg *m = arg;
	size_t i = m->stage_next - 1;

	(void)fd;
	(void)ev;
	log_warn("stage %s: no answer within dkim_timeout (%u s)",
	    reinject_stages[i]->name, m->conf->dkim_timeout);
	m->stage_expired = true;
	if (reinject_stages[i]->timeout)
		reinject_stages[i]->timeout(m->stage_state[i], m);
	reinject_pipeline_next(m);	/* may free m */
}

/* reinject_pipeline_next - finish the next stage, or report completion */
void
reinject_pipeline_next(struct reinject_msg *m)
{
	while (m->stage_next < reinject_nstages) {
		size_t i = m->stage_next++;

		if (!m->stage_state[i] || !reinject_stages[i]->finish)
			continue;
		if (m->stage_expired) {
			/* the budget is spent: a stage that waits is timed out at once */
			struct timeval now = { 0, 0 };

			evtimer_add(m->stage_timer, &now);
		}
		reinject_stages[i]->finish(m->stage_state[i], m);
		return;	/* the stage calls us again, maybe already did */
	}
	if (m->stage_timer)
		event_del(m->stage_timer);
	if (m->done) {
		void (*done)(struct reinject_msg *, void *) = m->done;

		m->done = NULL;
		done(m, m->done_arg);
	}
}

/* reinject_pipeline_run - finish every stage in order, then done(m, arg) */
void
reinject_pipeline_run(struct reinject_msg *m,
    void (*done)(struct reinject_msg *, void *), void *arg)
{
	struct timeval tv = { (time_t)m->conf->dkim_timeout, 0 };

	m->done = done;
	m->done_arg = arg;
	m->stage_next = 0;
	m->stage_timer = evtimer_new(m->ctx->base, reinject_pipeline_timeout, m);
	evtimer_add(m->stage_timer, &tv);
	reinject_pipeline_next(m);
}

/* reinject_pipeline_free - free every stage state (cancels lookups) */
void
reinject_pipeline_free(struct reinject_msg *m)
{
	for (size_t i = 0; i < reinject_nstages; i++) {
		if (m->stage_state[i] && reinject_stages[i]->free)
			reinject_stages[i]->free(m->stage_state[i]);
		m->stage_state[i] = NULL;
	}
	if (m->stage_timer)
		event_free(m->stage_timer);
	m->stage_timer = NULL;
	m->done = NULL;
}
