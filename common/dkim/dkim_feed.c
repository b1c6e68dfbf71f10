/*
 * dkim_feed.c - the message feeder shared by DKIM and ARC signing and
 * verification (RFC 6376 §3.7 and §5.4-5.5 take header fields and the body
 * from the same message; RFC 8617 §5.1-5.2 reuse them for the AMS).
 *
 * A feeder takes a message either as raw chunks (split by msg_parser) or as
 * complete header fields and body bytes, never both.  It stores the fields
 * (bounded by the header limits), puts the body through its set of body
 * hashers and keeps the first input error (sticky): after it every call
 * returns -1.  Its owner adds what is its own through three hooks: a stored
 * field (DKIM-Signature or ARC field parsing), the end of the header section
 * (key lookups), and body bytes about to be hashed (a cost limit).
 */
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"

/* dkim_feed_init - an empty feeder for owner arg; hooks borrowed, may be NULL */
void
dkim_feed_init(struct dkim_feed *f, const struct msg_limits *lim, unsigned msg_flags,
    const struct dkim_feed_hooks *hooks, void *arg)
{
	static const struct dkim_feed_hooks none;

	memset(f, 0, sizeof(*f));
	if (lim)
		f->msg = *lim;
	msg_limits_fill(&f->msg);
	f->msg_flags = msg_flags;
	f->hooks = hooks ? hooks : &none;
	f->arg = arg;
}

/* dkim_feed_fail - record the first input error; -1 */
int
dkim_feed_fail(struct dkim_feed *f, const char *why)
{
	if (f->error == NULL)
		f->error = why;
	return -1;
}

/* dkim_feed_field - one complete raw field whose name is nlen bytes; 0/-1 */
static int
dkim_feed_field(struct dkim_feed *f, const char *field, size_t len, size_t nlen)
{
	if (f->error || f->finished)
		return -1;
	if (f->eoh_done && !f->late_headers)
		return dkim_feed_fail(f, "header field after the end of the header section");
	if (f->hdrs.n >= f->msg.header_count_limit)
		return dkim_feed_fail(f, "too many header fields");
	if (len > f->msg.header_size_limit + 2)
		return dkim_feed_fail(f, "header field too large");
	dkim_hdrs_add(&f->hdrs, field, len, nlen);
	if (f->hooks->header)
		f->hooks->header(f->arg, field, len, nlen);
	return 0;
}

/* dkim_feed_header - one complete raw field (folding and final CRLF included); 0/-1 */
int
dkim_feed_header(struct dkim_feed *f, const char *field, size_t len)
{
	return dkim_feed_field(f, field, len, dkim_hdr_name_len(field, len));
}

/* dkim_feed_eoh - end of the header section, once; 0/-1 */
int
dkim_feed_eoh(struct dkim_feed *f)
{
	if (f->error)
		return -1;
	if (f->eoh_done)
		return 0;
	f->eoh_done = true;
	return f->hooks->eoh ? f->hooks->eoh(f->arg) : 0;
}

/* dkim_feed_hash - body bytes through every hasher of set, counted */
static void
dkim_feed_hash(struct dkim_feed *f, struct dkim_bodyhash_set *set, const char *p, size_t len)
{
	f->body_hashed += (uint64_t)len * set->n;
	dkim_bodyhash_update(set, p, len);
}

/* dkim_feed_body - body bytes, any split; 0/-1 */
int
dkim_feed_body(struct dkim_feed *f, const char *p, size_t len)
{
	if (f->error || f->finished)
		return -1;
	if (!f->eoh_done && dkim_feed_eoh(f) < 0)
		return -1;
	if (f->hooks->body == NULL || f->hooks->body(f->arg, len)) {
		dkim_feed_hash(f, &f->bhs, p, len);
		return 0;
	}
	/* the owner left these bytes out: only the hasher it keeps for others goes on */
	if (f->keep)
		dkim_feed_hash(f, &(struct dkim_bodyhash_set){ &f->keep, 1 }, p, len);
	return 0;
}

/* dkim_feed_cb_header - msg callback: a field */
static int
dkim_feed_cb_header(void *arg, struct span name, struct span field)
{
	/* the splitter's name is the one dkim_hdr_name_len finds: before the
	 * colon, WSP trimmed */
	return dkim_feed_field(arg, field.p, field.len, name.len);
}

/* dkim_feed_cb_eoh - msg callback: end of header section */
static int
dkim_feed_cb_eoh(void *arg)
{
	return dkim_feed_eoh(arg);
}

/* dkim_feed_cb_body - msg callback: body bytes */
static int
dkim_feed_cb_body(void *arg, const char *p, size_t len)
{
	return dkim_feed_body(arg, p, len);
}

static const struct msg_callbacks dkim_feed_msg_cb = {
	dkim_feed_cb_header, dkim_feed_cb_eoh, dkim_feed_cb_body,
};

/* dkim_feed_chunk - raw message bytes, any split; 0/-1 */
int
dkim_feed_chunk(struct dkim_feed *f, const char *p, size_t len)
{
	if (f->error || f->finished)
		return -1;
	if (f->mp == NULL)
		f->mp = msg_parser_new(&f->msg, f->msg_flags, &dkim_feed_msg_cb, f);
	if (msg_parser_feed(f->mp, p, len) < 0)
		return dkim_feed_fail(f, msg_parser_error(f->mp));
	return 0;
}

/* dkim_feed_finish - end of message: pending parser state, end of header, final digests; 0/-1 */
int
dkim_feed_finish(struct dkim_feed *f)
{
	if (f->error || f->finished)
		return -1;
	if (f->mp && msg_parser_finish(f->mp) < 0)
		return dkim_feed_fail(f, msg_parser_error(f->mp));
	if (!f->eoh_done && dkim_feed_eoh(f) < 0)
		return -1;
	f->finished = true;
	dkim_bodyhash_final(&f->bhs);
	return 0;
}

/* dkim_feed_clear - free the parser, the fields and the hashers */
void
dkim_feed_clear(struct dkim_feed *f)
{
	msg_parser_free(f->mp);
	f->mp = NULL;
	dkim_hdrs_clear(&f->hdrs);
	dkim_bodyhash_clear(&f->bhs);
}
