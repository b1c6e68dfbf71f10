/*
 * policy_echo.c - the floor of a policy server on this machine: it answers
 * every request (lines up to an empty line, SMTPD_POLICY_README) with
 * "action=DUNNO" and does nothing else.  One process, epoll, one read(2)
 * per readable connection and one write(2) per reply, the least system
 * calls a server of one outstanding request per connection can make.
 * policy_load -n policy_echo against it gives the kernel's and the loop's
 * cost of a request/reply pair, which no policyd change can go below.
 *
 *   policy_echo PORT        listens on 127.0.0.1:PORT until killed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_MAX_EVENTS	64
#define ECHO_BUF_SIZE	65536
#define ECHO_REPLY	"action=DUNNO\n\n"

/* echo_listen - a listening socket on 127.0.0.1:port, or -1 */
static int
echo_listen(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0)
		return -1;
	return fd;
}

/* echo_requests - complete requests ("\n\n") in what was read; the partial
 * one's tail kept in *carry (1 when the data ended in '\n') */
static int
echo_requests(const char *p, size_t n, int *carry)
{
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			*carry = 0;
			continue;
		}
		if (*carry)
			count++;
		*carry = !*carry;
	}
	return count;
}

/* echo_serve - answer what one connection sent; -1: close it */
static int
echo_serve(int fd, int *carry)
{
	static char buf[ECHO_BUF_SIZE];
	ssize_t n = read(fd, buf, sizeof(buf));
	int k;

	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	for (k = echo_requests(buf, (size_t)n, carry); k > 0; k--)
		if (write(fd, ECHO_REPLY, sizeof(ECHO_REPLY) - 1) < 0)
			return -1;
	return 0;
}

/* echo_accept - a new connection into the epoll set */
static void
echo_accept(int ep, int lfd, int *carry, int ncarry)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK), one = 1;
	struct epoll_event ev = { .events = EPOLLIN };

	if (fd < 0)
		return;
	if (fd >= ncarry) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	carry[fd] = 0;
	ev.data.fd = fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int
main(int argc, char **argv)
{
	static int carry[4096];
	struct epoll_event ev = { .events = EPOLLIN }, evs[ECHO_MAX_EVENTS];
	int lfd, ep;

	if (argc != 2 || (lfd = echo_listen(atoi(argv[1]))) < 0) {
		fprintf(stderr, "usage: policy_echo PORT (and a free port)\n");
		return 2;
	}
	ep = epoll_create1(0);
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, ECHO_MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd)
				echo_accept(ep, lfd, carry, 4096);
			else if (echo_serve(fd, &carry[fd]) < 0)
				close(fd);
		}
	}
}
