/*
 * reinject_out.c - the message as sent downstream: the fields the stages added,
 * the kept header fields, then the spool (empty line and body), dot-stuffed
 * (RFC 5321 §4.5.2) and ended with "." CRLF (§4.1.1.4).  Filled in chunks as
 * the socket drains, so a large message never sits in memory.
 */
#include <string.h>

#include <event2/buffer.h>

#include "reinject.h"

/* Spool bytes read per refill. */
#define REINJECT_OUT_READ	(64 * 1024)

/* reinject_out_init - start at the first added field */
void
reinject_out_init(struct reinject_out *o, struct reinject_msg *m)
{
	memset(o, 0, sizeof(*o));
	o->m = m;
	o->bol = true;
}

/* reinject_out_stuff - dot-stuff (p, len) into dst, tracking *bol */
void
reinject_out_stuff(struct evbuffer *dst, const char *p, size_t len, bool *bol)
{
	const char *end;

	if (len == 0)
		return;		/* p may be NULL (an empty buffer) */
	end = p + len;

	while (p < end) {
		const char *nl;
		size_t n;

		if (*bol && *p == '.')
			evbuffer_add(dst, ".", 1);
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		evbuffer_add(dst, p, n);
		*bol = nl != NULL;
		p += n;
	}
}

/* reinject_out_headers - added fields and the kept ones */
static void
reinject_out_headers(struct reinject_out *o, struct evbuffer *dst)
{
	struct reinject_msg *m = o->m;

	reinject_out_stuff(dst, buf_cstr(&m->prepend), m->prepend.len, &o->bol);
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct span f = reinject_msg_field(m, i);

		if (!m->hdrs[i].removed)
			reinject_out_stuff(dst, f.p, f.len, &o->bol);
	}
	o->hdr_done = true;
}

/* reinject_out_fill - append up to about chunk bytes */
int
reinject_out_fill(struct reinject_out *o, struct evbuffer *dst, size_t chunk)
{
	char tmp[REINJECT_OUT_READ];
	size_t added = 0;

	if (o->done)
		return 1;
	if (!o->hdr_done)
		reinject_out_headers(o, dst);
	while (added < chunk && o->spool_off < o->m->spool.size) {
		ssize_t n = reinject_spool_read(&o->m->spool, o->spool_off, tmp,
		    sizeof(tmp));

		if (n <= 0)
			return -1;
		reinject_out_stuff(dst, tmp, (size_t)n, &o->bol);
		o->spool_off += (size_t)n;
		added += (size_t)n;
	}
	if (o->spool_off < o->m->spool.size)
		return 0;
	/* the decoder ends every line with CRLF; a last line without one is
	 * completed so "." stands on its own line */
	evbuffer_add(dst, o->bol ? ".\r\n" : "\r\n.\r\n", o->bol ? 3 : 5);
	o->done = true;
	return 1;
}
