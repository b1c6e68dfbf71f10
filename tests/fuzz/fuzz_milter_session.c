/*
 * fuzz_milter_session.c - libFuzzer target for reinject's milter session
 * (reinject/reinject_milter.c, reinject_milter_eom.c): the input is the byte
 * stream an MTA sends, written into one end of a socket pair whose other end
 * a session serves, on a real libevent loop with the real pipeline stages
 * (no resolver: the DNS stages sit out).
 *
 * Invariants: whatever the packets and their order (a body before MAIL, an
 * EOB without headers, ABORT anywhere, a second OPTNEG ...), every byte the
 * session sends back is a whole, well-formed reply packet with a reply
 * command, and once the MTA's side is closed the session ends and frees
 * everything (the worker's session count returns to zero; ASan's leak check
 * catches the rest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "milter.h"
#include "reinject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct reinject_conf fz_conf;
static struct reinject_ctx fz_ctx;

/* fz_init - settings (the defaults, a small packet limit, a redirect
 * recipient) and the loop, once */
static void
fz_init(void)
{
	struct buf err;

	if (fz_ctx.base)
		return;
	buf_init(&err, 4096);
	if (reinject_conf_load(&fz_conf, NULL, &err) < 0)
		abort();
	buf_clear(&err);
	fz_conf.milter_packet_size_limit = MILTER_PACKET_SIZE_MIN;
	/* recipients kept for redirect, up to the smallest limit and past it */
	free(fz_conf.milter_redirect_recipient);
	fz_conf.milter_redirect_recipient = xstrdup("quarantine@example.net");
	fz_conf.milter_recipient_size_limit = 1024;
	fz_ctx.base = event_base_new();
	fz_ctx.conf = &fz_conf;
}

/* fz_check_replies - what the session sent: whole reply packets only */
static void
fz_check_replies(struct buf *got)
{
	static const char codes[] = "+-abcdhimpqrtyO";
	size_t off = 0;

	while (off < got->len) {
		struct milter_packet pk;
		size_t used;

		if (milter_frame(got->data + off, got->len - off,
		    MILTER_PACKET_SIZE_MAX, &pk, &used) != MILTER_FRAME_OK)
			abort();	/* a partial or empty packet */
		if (!memchr(codes, pk.cmd, sizeof(codes) - 1))
			abort();	/* not a reply */
		off += used;
	}
}

/* fz_pump - run the loop once and collect what the session wrote */
static void
fz_pump(int fd, struct buf *got)
{
	char b[65536];
	ssize_t n;

	event_base_loop(fz_ctx.base, EVLOOP_NONBLOCK);
	while ((n = read(fd, b, sizeof(b))) > 0)
		buf_append(got, b, (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	size_t off = 0;
	struct buf got;

	fz_init();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	buf_init(&got, 64 * 1024 * 1024);
	reinject_milter_accept(&fz_ctx, sv[0], "fuzz");
	while (off < size) {
		ssize_t n = write(sv[1], data + off, size - off);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			break;
		fz_pump(sv[1], &got);
		if (fz_ctx.sessions == 0)
			break;	/* the session closed the connection */
	}
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 100 && fz_ctx.sessions; i++)
		fz_pump(sv[1], &got);
	if (fz_ctx.sessions != 0)
		abort();	/* the MTA is gone and the session is not */
	fz_check_replies(&got);
	buf_clear(&got);
	close(sv[1]);
	return 0;
}
