/*
 * test_unbound_util.h - helpers shared by the tests that run libunbound
 * against a private unbound (tests/integration/dnsserver.sh) or against a
 * socket that never answers: the resolver, a bounded event loop, the silent
 * socket, and starting and stopping the server.
 */
#ifndef TEST_UNBOUND_UTIL_H
#define TEST_UNBOUND_UTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/event.h>

#include "dns.h"

/* resolver_to - libunbound resolver forwarding to fwd ("127.0.0.1@port") */
static inline struct dns_resolver *
resolver_to(struct event_base *base, const char *fwd, unsigned timeout_ms)
{
	const char *fwds[] = { fwd, NULL };
	struct dns_unbound_config cfg = { .forwarders = fwds, .timeout_ms = timeout_ms };
	const char *err = NULL;
	struct dns_resolver *r = dns_unbound_new(base, &cfg, &err);

	ck_assert_msg(r != NULL, "dns_unbound_new: %s", err ? err : "?");
	return r;
}

/* on_guard - timer: mark the guard expired */
static inline void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* run_loop - run the loop until *calls > 0 or ms milliseconds passed */
static inline void
run_loop(struct event_base *base, const int *calls, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	bool expired = false;
	struct event *guard = evtimer_new(base, on_guard, &expired);

	evtimer_add(guard, &tv);
	while (!expired && (calls == NULL || *calls == 0))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
}

/* sink_open - UDP socket on 127.0.0.1 that never answers; fwd: "127.0.0.1@port" */
static inline int
sink_open(char *fwd, size_t fwdsize)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(fwd, fwdsize, "127.0.0.1@%u", ntohs(sin.sin_port));
	return fd;
}

/* write_file - write text to path; 0/-1 */
static inline int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* test_src - the source tree (MAILAUTH_SRC, else the current directory) */
static inline const char *
test_src(void)
{
	const char *src = getenv("MAILAUTH_SRC");

	return src ? src : ".";
}

/* ub_server_zone - make dir (a mkdtemp template) and write text to dir/zone, named in zone; 0/-1 */
static inline int
ub_server_zone(char *dir, const char *text, char *zone, size_t zonesize)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(zone, zonesize, "%s/zone", dir);
	return write_file(zone, text);
}

/*
 * ub_server_run - start a private unbound in dir/srv on a port in ports,
 * serving the zone file zone; fwd gets "127.0.0.1@port".  0/-1.
 */
static inline int
ub_server_run(const char *dir, const char *ports, const char *zone, char *fwd,
    size_t fwdsize)
{
	char cmd[512];
	FILE *p;
	unsigned port = 0;

	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/dnsserver.sh start %s/srv %s %s",
	    test_src(), dir, ports, zone);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(p, "%u", &port) != 1)
		port = 0;
	if (pclose(p) != 0 || port == 0)
		return -1;
	snprintf(fwd, fwdsize, "127.0.0.1@%u", port);
	return 0;
}

/* ub_server_stop - stop the private unbound of dir, remove dir */
static inline void
ub_server_stop(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sh %s/tests/integration/dnsserver.sh stop %s/srv; rm -rf %s",
	    test_src(), dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "dns server cleanup failed\n");
}

#endif
