/*
 * fuzz_reinject_session.c - libFuzzer target for reinject's upstream session
 * (reinject/reinject_server.c) and downstream client (reinject_client.c),
 * the daemon's own code on its own libevent loop, driven by a scripted peer
 * on each side: upstream a socketpair handed to reinject_server_accept,
 * downstream a listener on 127.0.0.1 that reinject connects to.
 *
 * The input is a script of steps; each step is one op byte and one argument
 * byte, some with bytes after them:
 *   0 upstream: the next arg bytes, raw      1 downstream: same, raw
 *   2 upstream: canned command (arg)         3 downstream: canned reply (arg)
 *   4 upstream: canned message after 354     5 downstream: close the connection
 *   6 upstream: half-close (end of input)    7 nothing: just run the loop
 * After each step the loop runs until nothing moves.
 *
 * Invariant (RFC 5321 §4.1.1.4, §4.2.1; reinject(8): 250 only after
 * downstream accepted): a reply to the end of DATA that reinject gives
 * upstream as 2xx (the reply after its 354) is matched by a downstream
 * acceptance before it: downstream answered DATA with 354, then received
 * the whole message up to CRLF "." CRLF, and only then answered 2xx.  A
 * model of the downstream side (its pending requests, our replies) counts
 * those acceptances; a reply the model cannot place (unsolicited, early,
 * malformed) counts none on that connection.  The context has no resolver,
 * so the DKIM and DMARC stages sit out and no DMARC discard (the one 250 of
 * reinject's own) can come.  No crash, no leak: at the end
 * upstream closes and the session must be gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "reinject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_PENDING	64	/* downstream requests awaiting a reply */
#define FZ_LINE		4096	/* as reinject_client's reply line bound */
#define FZ_IDLE		3	/* loop passes without progress that end a step */
#define FZ_PASSES	400	/* bound on the passes of one step */

static const char *const fz_up_cmds[] = {
	"EHLO client.example", "HELO client.example", "MAIL FROM:<a@example.org>",
	"MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME", "MAIL FROM:<> SMTPUTF8",
	"RCPT TO:<b@example.net>", "RCPT TO:<c@example.net> NOTIFY=SUCCESS ORCPT=rfc822;c@example.net",
	"DATA", "RSET", "NOOP", "QUIT", "XFORWARD NAME=h.example ADDR=192.0.2.1",
	"VRFY x", "BDAT 10 LAST", "HELP", "DATA x",
};
#define FZ_MSG(s)	{ s, sizeof(s) - 1 }	/* a message may hold a NUL */
static const struct {
	const char *p;
	size_t n;
} fz_up_msgs[] = {
	FZ_MSG("Subject: x\r\n\r\nbody\r\n.\r\n"), FZ_MSG(".\r\n"), FZ_MSG("..x\r\n.\r\n"),
	FZ_MSG("From: a@example.org\r\n\r\nb\n.\r\nMAIL FROM:<e@example.org>\r\n.\r\n"),
	FZ_MSG("a\r.\r\nRCPT TO:<v@example.net>\r\n\r\n.\r\n"),
	FZ_MSG("x\r\n\0.\r\ny\r\n.\r\n"), FZ_MSG("Subject: y\r\n\r\nno end\r\n"),
};
static const char *const fz_down_replies[] = {
	"220 sink ESMTP", ("250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
	    "250-DSN\r\n250 XFORWARD NAME ADDR PROTO HELO"), "250 2.0.0 Ok", "354 go ahead",
	"451 4.3.0 later", "550 5.1.1 no", "552 5.3.4 too big", "554 5.5.1 none",
	"221 2.0.0 bye", "250 2.0.0 Ok: queued as X1", "421 4.4.2 closing", "334 x",
	"250-a\r\n251 b", "354-a\r\n354 b", "199 early", "250",
};

/* the downstream side as a server sees it */
struct fz_down {
	int fd;
	char pending[FZ_PENDING];	/* 'G'reeting, 'C'ommand, 'D'ATA, 'E'nd of data */
	size_t npending;
	bool desync;			/* a reply that fits nothing: no more acceptances */
	bool in_data;			/* after our 354 to DATA */
	char win[5];			/* last bytes of the message, for CRLF.CRLF */
	size_t nwin;
	struct buf cmd;			/* command line being received */
	struct buf reply;		/* our reply line being sent */
	int reply_code;			/* code of the reply's first line, 0 none */
	unsigned accepted;		/* acceptances on this connection */
};

/* the upstream side as a client sees it */
struct fz_up {
	int fd;
	struct buf line;		/* reply line being received */
	bool after_354;			/* the next final reply answers a message */
	unsigned accepted;		/* 2xx to a message */
};

static struct event_base *fz_base;
static struct reinject_conf fz_conf;
static struct reinject_ctx fz_ctx;
static int fz_listen = -1;
static unsigned fz_down_accepted;	/* over every downstream connection */
static char fz_spool[] = "/tmp/fuzz_reinject_session.XXXXXX";

/* fz_spool_remove - at exit: the spool directory (messages stay in memory) */
static void
fz_spool_remove(void)
{
	(void)rmdir(fz_spool);
}

/* fz_nonblock - O_NONBLOCK on fd */
static void
fz_nonblock(int fd)
{
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* LLVMFuzzerInitialize - one loop, configuration and listener for all runs */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char addr[64];
	struct buf err;

	(void)argc;
	(void)argv;
	log_open("fuzz_reinject_session", LOG_DEST_STDERR);
	buf_init(&err, 4096);
	if (reinject_conf_load(&fz_conf, NULL, &err) < 0 || !mkdtemp(fz_spool))
		abort();
	atexit(fz_spool_remove);
	buf_clear(&err);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fz_listen = socket(AF_INET, SOCK_STREAM, 0);
	if (fz_listen < 0 || bind(fz_listen, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fz_listen, 16) < 0 ||
	    getsockname(fz_listen, (struct sockaddr *)&sin, &len) < 0) {
		fprintf(stderr, "fuzz_reinject_session: no listener on 127.0.0.1 "
		    "(loopback down?): %s\n", strerror(errno));
		abort();
	}
	fz_nonblock(fz_listen);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	free(fz_conf.downstream);
	fz_conf.downstream = xstrdup(addr);
	free(fz_conf.spool_directory);
	fz_conf.spool_directory = xstrdup(fz_spool);
	fz_conf.spool_memory_limit = 1 << 20;
	fz_base = event_base_new();
	fz_ctx.base = fz_base;
	fz_ctx.conf = &fz_conf;
	return 0;
}

/* fz_down_push - a request downstream must answer */
static void
fz_down_push(struct fz_down *d, char kind)
{
	if (d->npending == FZ_PENDING) {
		d->desync = true;
		return;
	}
	d->pending[d->npending++] = kind;
}

/* fz_down_data_byte - one message byte; true at the end of data */
static bool
fz_down_data_byte(struct fz_down *d, char c)
{
	if (d->nwin == sizeof(d->win)) {
		memmove(d->win, d->win + 1, sizeof(d->win) - 1);
		d->nwin--;
	}
	d->win[d->nwin++] = c;
	return d->nwin == 5 && memcmp(d->win, "\r\n.\r\n", 5) == 0;
}

/* fz_down_received - bytes reinject sent downstream */
static void
fz_down_received(struct fz_down *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d->in_data) {
			if (fz_down_data_byte(d, p[i])) {
				d->in_data = false;
				fz_down_push(d, 'E');
			}
			continue;
		}
		buf_append_char(&d->cmd, p[i]);
		if (d->cmd.len >= 2 && memcmp(d->cmd.data + d->cmd.len - 2, "\r\n", 2) == 0) {
			fz_down_push(d, d->cmd.len == 6 &&
			    strncasecmp(d->cmd.data, "DATA", 4) == 0 ? 'D' : 'C');
			buf_reset(&d->cmd);
		}
	}
}

/* fz_down_answer - a complete reply of ours answers the oldest request */
static void
fz_down_answer(struct fz_down *d, int code)
{
	char kind;

	if (d->npending == 0) {
		d->desync = true;	/* unsolicited, or before the end of data */
		return;
	}
	kind = d->pending[0];
	memmove(d->pending, d->pending + 1, --d->npending);
	if (kind == 'D' && code == 354 && d->npending == 0) {
		d->in_data = true;
		memcpy(d->win, "\r\n", 2);	/* the DATA command's CRLF */
		d->nwin = 2;
	}
	if (kind == 'E' && code / 100 == 2 && !d->desync)
		d->accepted++;
}

/* fz_down_reply_line - one line of our reply (without its line end) */
static void
fz_down_reply_line(struct fz_down *d, const char *p, size_t n)
{
	int code;

	if (n < 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || (n > 3 && p[3] != ' ' && p[3] != '-') ||
	    memchr(p, '\0', n)) {
		d->desync = true;	/* reinject calls it malformed */
		return;
	}
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (d->reply_code && d->reply_code != code)
		d->desync = true;
	d->reply_code = code;
	if (n > 3 && p[3] == '-')
		return;
	d->reply_code = 0;
	fz_down_answer(d, code);
}

/* fz_down_sent - bytes we send downstream's way as its replies */
static void
fz_down_sent(struct fz_down *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (p[i] != '\n') {
			buf_append_char(&d->reply, p[i]);
			if (d->reply.len > FZ_LINE / 2)
				d->desync = true;	/* reinject: line too long */
			continue;
		}
		len = d->reply.len;
		if (len && d->reply.data[len - 1] == '\r')
			len--;
		fz_down_reply_line(d, d->reply.data, len);
		buf_reset(&d->reply);
	}
}

/* fz_down_reset - a new downstream connection (or none) */
static void
fz_down_reset(struct fz_down *d, int fd)
{
	if (d->fd >= 0)
		close(d->fd);
	fz_down_accepted += d->accepted;
	buf_reset(&d->cmd);
	buf_reset(&d->reply);
	d->fd = fd;
	d->npending = d->nwin = 0;
	d->desync = d->in_data = false;
	d->reply_code = 0;
	d->accepted = 0;
	if (fd >= 0) {
		int on = 1;

		/* our replies must reach reinject when we send them: with Nagle a
		 * small reply waits for the ACK of the one before, and reinject
		 * would read it only after its next command */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		fz_nonblock(fd);
		fz_down_push(d, 'G');
	}
}

/* fz_up_received - reinject's replies upstream */
static void
fz_up_received(struct fz_up *u, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *l;
		int code;

		buf_append_char(&u->line, p[i]);
		if (p[i] != '\n')
			continue;
		l = u->line.data;
		if (u->line.len < 5 || l[u->line.len - 2] != '\r')
			abort();	/* reinject's replies are CRLF lines */
		if (u->line.len == 5 || l[3] == ' ') {
			code = atoi(l);
			if (u->after_354 && code / 100 == 2)
				u->accepted++;
			u->after_354 = code == 354;
		}
		buf_reset(&u->line);
	}
}

/* fz_drain - read what is there on fd into the model; true when bytes came */
static bool
fz_drain(int fd, void (*fn)(void *, const char *, size_t), void *arg)
{
	char b[4096];
	bool moved = false;
	ssize_t n;

	while (fd >= 0 && (n = recv(fd, b, sizeof(b), 0)) > 0) {
		fn(arg, b, (size_t)n);
		moved = true;
	}
	return moved;
}

/* fz_up_fn, fz_down_fn - adapters for fz_drain */
static void
fz_up_fn(void *arg, const char *p, size_t n)
{
	fz_up_received(arg, p, n);
}

static void
fz_down_fn(void *arg, const char *p, size_t n)
{
	fz_down_received(arg, p, n);
}

/* fz_check - the invariant: no 2xx upstream without a downstream acceptance */
static void
fz_check(const struct fz_up *u, const struct fz_down *d)
{
	if (u->accepted > fz_down_accepted + d->accepted)
		abort();
}

/* fz_run - run the loop until nothing moved for idle passes; check after each */
static void
fz_run(struct fz_up *u, struct fz_down *d, int idle)
{
	for (int pass = 0, still = 0; pass < FZ_PASSES && still < idle; pass++) {
		int fd;
		bool moved;

		event_base_loop(fz_base, EVLOOP_NONBLOCK);
		moved = fz_drain(u->fd, fz_up_fn, u);
		moved |= fz_drain(d->fd, fz_down_fn, d);
		if ((fd = accept(fz_listen, NULL, NULL)) >= 0) {
			fz_down_reset(d, fd);
			moved = true;
		}
		fz_check(u, d);
		still = moved ? 0 : still + 1;
	}
}

/* fz_send - write to a peer, ignoring a closed one */
static void
fz_send(int fd, const char *p, size_t n)
{
	if (fd >= 0)
		(void)send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* fz_step - one op of the script; bytes used */
static size_t
fz_step(struct fz_up *u, struct fz_down *d, const uint8_t *p, size_t n)
{
	uint8_t op = p[0] & 7, arg = n > 1 ? p[1] : 0;
	size_t used = n > 1 ? 2 : 1, len = arg;
	char line[256];

	switch (op) {
	case 0:
	case 1:
		if (len > n - used)
			len = n - used;
		if (op == 0)
			fz_send(u->fd, (const char *)p + used, len);
		else if (d->fd >= 0) {
			fz_down_sent(d, (const char *)p + used, len);
			fz_send(d->fd, (const char *)p + used, len);
		}
		return used + len;
	case 2:
		snprintf(line, sizeof(line), "%s\r\n", fz_up_cmds[arg % ARRAY_LEN(fz_up_cmds)]);
		fz_send(u->fd, line, strlen(line));
		break;
	case 3:
		if (d->fd < 0)
			break;
		snprintf(line, sizeof(line), "%s\r\n",
		    fz_down_replies[arg % ARRAY_LEN(fz_down_replies)]);
		fz_down_sent(d, line, strlen(line));
		fz_send(d->fd, line, strlen(line));
		break;
	case 4:
		fz_send(u->fd, fz_up_msgs[arg % ARRAY_LEN(fz_up_msgs)].p,
		    fz_up_msgs[arg % ARRAY_LEN(fz_up_msgs)].n);
		break;
	case 5:
		fz_down_reset(d, -1);
		break;
	case 6:
		(void)shutdown(u->fd, SHUT_WR);
		break;
	default:
		break;
	}
	return used;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_up u = { .fd = -1 };
	struct fz_down d = { .fd = -1 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fz_nonblock(sv[0]);
	fz_nonblock(sv[1]);
	u.fd = sv[1];
	buf_init(&u.line, 1 << 16);
	buf_init(&d.cmd, 1 << 20);
	buf_init(&d.reply, FZ_LINE * 2);
	fz_down_accepted = 0;
	reinject_server_accept(&fz_ctx, sv[0], REINJECT_MODE_VERIFY, "fuzz");
	fz_run(&u, &d, FZ_IDLE);
	for (size_t i = 0; i < size;) {
		i += fz_step(&u, &d, data + i, size - i);
		fz_run(&u, &d, FZ_IDLE);
	}
	/* the end: upstream goes away; the session must follow */
	close(u.fd);
	u.fd = -1;
	fz_run(&u, &d, FZ_IDLE);
	fz_down_reset(&d, -1);
	for (int i = 0; i < FZ_PASSES && fz_ctx.sessions; i++)
		fz_run(&u, &d, 1);
	if (fz_ctx.sessions != 0)
		abort();	/* a session outlived both its peers */
	buf_clear(&u.line);
	buf_clear(&d.cmd);
	buf_clear(&d.reply);
	return 0;
}
