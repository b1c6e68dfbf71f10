/*
 * test_policyd_server.c - the daemon's loop over real sockets: a child process
 * runs listeners (unix socket in a temp dir and TCP on 127.0.0.1), connections,
 * cache and checks with dns_mem; the test speaks the policy protocol to it:
 * pipelined requests answered in order, keep-alive, a malformed request answered
 * without closing, an over-long line closing, SIGHUP with a bad and a good
 * config (connections kept), SIGTERM (clean exit, socket removed), a client
 * that reads its replies late (back-pressure, order kept), and
 * worker_processes = 2 (a master passing SIGHUP and SIGTERM on, replacing a
 * killed worker), and request_timeout ending a client that trickles bytes.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "policyd.h"
#include "util.h"

/* Test ports: 20300-20399 belong to policyd's tests. */
#define TEST_PORT_BASE	20310
#define TEST_PORT_SPAN	80
#define TEST_WAIT_MS	5000

static char dir[64], sock_path[128], conf_path[128];
static const char *extra_conf = "";
static int tcp_port;
static pid_t child;

/* server_main - the daemon's loop in the child, dns_mem zone */
static void
server_main(void)
{
	struct event_base *base = event_base_new();
	struct dns_resolver *dns = dns_mem_new(base);
	struct policyd_server s;
	struct policyd_config *c;
	struct buf err;

	log_open("test-policyd", LOG_DEST_STDERR);
	dns_mem_add_txt(dns, "example.org", "v=spf1 ip4:192.0.2.0/24 -all");
	dns_mem_add_txt(dns, "fail.example", "v=spf1 -all exp=why.fail.example");
	dns_mem_add_txt(dns, "why.fail.example", "Not allowed by %{d}");
	buf_init(&err, CONFIG_ERROR_LIMIT);
	c = policyd_config_load(conf_path, POLICYD_FORMAT_NATIVE, NULL, &err);
	if (c == NULL) {
		fprintf(stderr, "%s", buf_cstr(&err));
		_exit(3);
	}
	policyd_server_init(&s, base, dns, c);
	s.config_path = conf_path;
	s.config_format = POLICYD_FORMAT_NATIVE;
	/* signals first: the test sends them as soon as the sockets exist */
	policyd_server_signals(&s);
	if (policyd_listen_open(&s, c) < 0)
		_exit(4);
	if (c->worker_processes > 1 && policyd_master_run(&s) == 1) {
		policyd_server_clear(&s);	/* the master, after its workers */
		dns_resolver_free(dns);
		event_base_free(base);
		buf_clear(&err);
		_exit(0);
	}
	event_base_dispatch(base);
	policyd_server_clear(&s);
	dns_resolver_free(dns);
	event_base_free(base);
	buf_clear(&err);
	_exit(0);
}

/* write_conf - the server's configuration file */
static void
write_conf(const char *extra)
{
	FILE *f = fopen(conf_path, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "listen = unix:%s,\n    inet:127.0.0.1:%d\nreceiver_name = mx.test\n%s",
	    sock_path, tcp_port, extra);
	fclose(f);
}

/* connect_unix - a client connection to the unix listener */
static int
connect_unix(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_uint_lt(strlen(sock_path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* try_tcp - a client connection to the TCP listener, or -1 */
static int
try_tcp(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(tcp_port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return fd;
	close(fd);
	return -1;
}

/* connect_tcp - a client connection to the TCP listener */
static int
connect_tcp(void)
{
	int fd = try_tcp();

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* count_replies - "\n\n" terminators in text */
static int
count_replies(const char *s)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, "\n\n")) != NULL; p += 2)
		n++;
	return n;
}

/* exchange - send text, read until n replies arrived (or EOF / timeout) */
static char *
exchange(int fd, const char *text, size_t len, int n, bool *eof)
{
	struct buf in;
	char chunk[4096];

	buf_init(&in, 1 << 20);
	if (len > 0)
		ck_assert_int_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
	*eof = false;
	while (count_replies(buf_cstr(&in)) < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, TEST_WAIT_MS) <= 0)
			break;
		r = recv(fd, chunk, sizeof(chunk), 0);
		if (r <= 0) {
			*eof = true;
			break;
		}
		buf_append(&in, chunk, (size_t)r);
	}
	return buf_steal(&in);
}

/* request - one RCPT request */
static void
request(struct buf *b, const char *instance, const char *client, const char *sender,
    const char *rcpt)
{
	buf_printf(b, "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "protocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nhelo_name=\n"
	    "sender=%s\nrecipient=%s\nqueue_id=\ninstance=%s\nsize=0\n\n",
	    client, sender, rcpt, instance);
}

/* nth_reply - the i-th "action=..." line of text, without the blank line */
static char *
nth_reply(const char *text, int i)
{
	const char *p = text, *end;

	for (; i > 0 && p; i--) {
		p = strstr(p, "\n\n");
		if (p)
			p += 2;
	}
	ck_assert_ptr_nonnull(p);
	end = strstr(p, "\n\n");
	ck_assert_ptr_nonnull(end);
	return xmemdup0(p, (size_t)(end - p));
}

/* expect_reply - reply i starts with prefix */
static void
expect_reply(const char *text, int i, const char *prefix)
{
	char *r = nth_reply(text, i);

	ck_assert_msg(strncmp(r, prefix, strlen(prefix)) == 0,
	    "reply %d: \"%s\", want \"%s...\"", i, r, prefix);
	free(r);
}

/* free_port - a port of the range that can be bound now (parallel runs differ) */
static int
free_port(void)
{
	for (int i = 0; i < TEST_PORT_SPAN; i++) {
		int port = TEST_PORT_BASE + (int)((getpid() + i) % TEST_PORT_SPAN);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1, ok;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	ck_abort_msg("no free port in %d..%d", TEST_PORT_BASE, TEST_PORT_BASE + TEST_PORT_SPAN - 1);
	return -1;
}

static void
setup(void)
{
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/test_policyd_server_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/policyd.sock", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/policyd.conf", dir);
	tcp_port = free_port();
	write_conf(extra_conf);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		server_main();
	for (int i = 0; i < 500 && stat(sock_path, &st) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	/* the TCP listener is bound after the unix one: wait for it too */
	for (int i = 0, fd; i < 500; i++) {
		if ((fd = try_tcp()) >= 0) {
			close(fd);
			break;
		}
		usleep(10000);
	}
}

static void
teardown(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
	unlink(sock_path);
	unlink(conf_path);
	rmdir(dir);
}

START_TEST(server_answers_pipelined_requests_in_order_and_keeps_alive)
{
	struct buf req;
	int fd = connect_unix();
	bool eof;
	char *out;

	buf_init(&req, 1 << 16);
	request(&req, "A", "192.0.2.66", "x@fail.example", "r1@here");
	request(&req, "A", "192.0.2.66", "x@fail.example", "r2@here");
	buf_append_str(&req, "request=smtpd_access_policy\nprotocol_state=DATA\n\n");
	request(&req, "B", "192.0.2.1", "ok@example.org", "r1@here");
	request(&req, "B", "192.0.2.1", "ok@example.org", "r2@here");
	buf_append_str(&req, "request=smtpd_access_policy\nprotocol_state=RCPT\njunk\n\n");
	request(&req, "C", "127.0.0.1", "local@example.org", "r1@here");
	out = exchange(fd, req.data, req.len, 7, &eof);
	ck_assert_msg(count_replies(out) == 7, "replies: \"%s\"", out);
	ck_assert(!eof);
	expect_reply(out, 0, "action=550 5.7.23 Message rejected due to: Not allowed by fail.example.");
	expect_reply(out, 1, "action=550 5.7.23 ");
	expect_reply(out, 2, "action=DUNNO");
	expect_reply(out, 3, "action=PREPEND Received-SPF: pass");
	expect_reply(out, 4, "action=DUNNO");
	expect_reply(out, 5, "action=DEFER_IF_PERMIT 4.3.5 ");
	expect_reply(out, 6, "action=DUNNO");	/* 127.0.0.1: skip_addresses */
	ck_assert_ptr_nonnull(strstr(out, "identity=mailfrom"));
	free(out);
	/* the same connection serves the next request, sent in two pieces */
	buf_reset(&req);
	request(&req, "D", "192.0.2.1", "ok@example.org", "r1@here");
	out = exchange(fd, req.data, 10, 0, &eof);
	free(out);
	out = exchange(fd, req.data + 10, req.len - 10, 1, &eof);
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	free(out);
	close(fd);
	buf_clear(&req);
}
END_TEST

START_TEST(server_answers_a_client_that_half_closes)
{
	int fd = connect_unix();
	struct buf req;
	bool eof;
	char *out;

	buf_init(&req, 4096);
	request(&req, "HC", "192.0.2.66", "x@fail.example", "r1@here");
	request(&req, "HC", "192.0.2.66", "x@fail.example", "r2@here");
	buf_append_str(&req, "request=smtpd_access_policy\nprotocol_state=RC");
	ck_assert_int_eq(send(fd, req.data, req.len, MSG_NOSIGNAL), (ssize_t)req.len);
	shutdown(fd, SHUT_WR);
	/* both complete requests answered, the partial one dropped, then EOF */
	out = exchange(fd, NULL, 0, 3, &eof);
	ck_assert(eof);
	ck_assert_int_eq(count_replies(out), 2);
	expect_reply(out, 1, "action=550 5.7.23");
	free(out);
	close(fd);
	buf_clear(&req);
}
END_TEST

START_TEST(server_closes_on_over_long_line_only)
{
	int tcp = connect_tcp(), other = connect_unix();
	char junk[20000];
	struct buf req;
	bool eof;
	char *out;

	memset(junk, 'x', sizeof(junk));
	out = exchange(tcp, junk, sizeof(junk), 1, &eof);
	ck_assert(eof);
	ck_assert_str_eq(out, "");
	free(out);
	close(tcp);
	/* other connections are not disturbed */
	buf_init(&req, 4096);
	request(&req, "E", "192.0.2.1", "ok@example.org", "r1@here");
	out = exchange(other, req.data, req.len, 1, &eof);
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	free(out);
	close(other);
	buf_clear(&req);
}
END_TEST

START_TEST(server_reloads_on_sighup_and_keeps_connections)
{
	int fd = connect_unix();
	struct buf req;
	bool eof;
	char *out;
	int i;

	buf_init(&req, 4096);
	/* a broken file: the running configuration stays */
	write_conf("header_type = sometimes\n");
	kill(child, SIGHUP);
	usleep(100000);
	request(&req, "H1", "192.0.2.1", "ok@example.org", "r@here");
	out = exchange(fd, req.data, req.len, 1, &eof);
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	free(out);
	/* a good file: new messages get no header, on the same connection */
	write_conf("header_type = none\n");
	kill(child, SIGHUP);
	for (i = 0; i < 100; i++) {
		char inst[16];

		snprintf(inst, sizeof(inst), "H2-%d", i);
		buf_reset(&req);
		request(&req, inst, "192.0.2.1", "ok@example.org", "r@here");
		out = exchange(fd, req.data, req.len, 1, &eof);
		ck_assert(!eof);
		if (strncmp(out, "action=DUNNO", 12) == 0) {
			free(out);
			break;
		}
		free(out);
		usleep(20000);
	}
	ck_assert_int_lt(i, 100);
	close(fd);
	buf_clear(&req);
}
END_TEST

START_TEST(server_stops_cleanly_on_sigterm)
{
	int fd = connect_unix(), status;
	struct stat st;
	bool eof;
	char *out;

	kill(child, SIGTERM);
	/* the idle connection is closed by the drain */
	out = exchange(fd, NULL, 0, 1, &eof);
	ck_assert(eof);
	free(out);
	close(fd);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	child = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_ne(stat(sock_path, &st), 0);
}
END_TEST

START_TEST(server_keeps_order_when_the_client_reads_its_replies_late)
{
	enum { N = 60000 };
	struct buf req;
	size_t sent = 0, got = 0;
	char chunk[65536], last[256] = "";
	int fd = connect_unix(), replies = 0;
	bool reading = false;

	/* N small requests, then one RCPT: 3 MB in, 840 KB of replies out */
	buf_init(&req, 8 << 20);
	for (int i = 0; i < N; i++)
		buf_append_str(&req, "request=smtpd_access_policy\nprotocol_state=DATA\n\n");
	request(&req, "L", "192.0.2.1", "ok@example.org", "r@here");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* send until the server stops taking more (its replies pile up), then read */
	while (replies < N + 1) {
		struct pollfd p = { fd, (short)((reading ? POLLIN : 0) |
		    (sent < req.len ? POLLOUT : 0)), 0 };
		int rc = poll(&p, 1, reading ? TEST_WAIT_MS : 200);

		ck_assert_int_ge(rc, 0);
		if (rc == 0) {
			/* the server stopped reading: its replies are held for us */
			ck_assert_msg(!reading, "no progress");
			reading = true;
			continue;
		}
		if (p.revents & POLLOUT) {
			ssize_t w = send(fd, req.data + sent, req.len - sent, MSG_NOSIGNAL);

			if (w > 0)
				sent += (size_t)w;
		}
		if (p.revents & POLLIN) {
			ssize_t r = recv(fd, chunk, sizeof(chunk), 0);

			ck_assert_int_gt(r, 0);
			got += (size_t)r;
			for (ssize_t i = 0; i < r; i++) {
				size_t l = strlen(last);

				if (chunk[i] == '\n' && l > 0 && last[l - 1] == '\n') {
					replies++;
					if (replies < N + 1)
						last[0] = '\0';
				} else if (l + 1 < sizeof(last)) {
					last[l] = chunk[i];
					last[l + 1] = '\0';
				}
			}
		}
		if (sent == req.len)
			reading = true;
	}
	ck_assert(got > (size_t)N * 14);
	/* every DATA request got DUNNO (counted), the RCPT after them came last */
	ck_assert_msg(strncmp(last, "action=PREPEND Received-SPF: pass", 33) == 0,
	    "last reply: \"%s\"", last);
	close(fd);
	buf_clear(&req);
}
END_TEST

/* worker_pids - the children of the server process (its workers) */
static int
worker_pids(pid_t *pids, int max)
{
	char path[64], text[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)child, (int)child);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(text, sizeof(text), f) != NULL)
		for (char *t = strtok(text, " \n"); t && n < max; t = strtok(NULL, " \n"))
			pids[n++] = (pid_t)atoi(t);
	fclose(f);
	return n;
}

/* ask_new_connection - one request on a fresh connection, the reply */
static char *
ask_new_connection(const char *instance)
{
	struct buf req;
	int fd = connect_unix();
	bool eof;
	char *out;

	buf_init(&req, 4096);
	request(&req, instance, "192.0.2.1", "ok@example.org", "r@here");
	out = exchange(fd, req.data, req.len, 1, &eof);
	close(fd);
	buf_clear(&req);
	return out;
}

START_TEST(server_workers_answer_reload_restart_and_stop_with_the_master)
{
	pid_t pids[8], again[8];
	int fds[4], n, status, i, dunno;
	struct stat st;
	char inst[16];
	char *out;

	for (i = 0; i < 100 && worker_pids(pids, 8) < 2; i++)
		usleep(10000);
	ck_assert_int_eq(worker_pids(pids, 8), 2);
	/* connections held open at once are all served */
	for (i = 0; i < 4; i++)
		fds[i] = connect_unix();
	for (i = 0; i < 4; i++) {
		struct buf req;
		bool eof;

		buf_init(&req, 4096);
		snprintf(inst, sizeof(inst), "W%d", i);
		request(&req, inst, "192.0.2.1", "ok@example.org", "r@here");
		out = exchange(fds[i], req.data, req.len, 1, &eof);
		expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
		free(out);
		buf_clear(&req);
	}
	for (i = 0; i < 4; i++)
		close(fds[i]);
	/* a killed worker is replaced */
	kill(pids[0], SIGKILL);
	for (i = 0; i < 300; i++) {
		n = worker_pids(again, 8);
		if (n == 2 && again[0] != pids[0] && again[1] != pids[0])
			break;
		usleep(10000);
	}
	ck_assert_msg(i < 300, "killed worker %d not replaced", (int)pids[0]);
	out = ask_new_connection("W-after-kill");
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	free(out);
	/* SIGHUP to the master reaches every worker: 8 fresh connections in a row */
	write_conf("worker_processes = 2\nheader_type = none\n");
	kill(child, SIGHUP);
	for (i = 0, dunno = 0; i < 200 && dunno < 8; i++) {
		snprintf(inst, sizeof(inst), "R%d", i);
		out = ask_new_connection(inst);
		dunno = strncmp(out, "action=DUNNO", 12) == 0 ? dunno + 1 : 0;
		free(out);
		if (dunno == 0)
			usleep(10000);
	}
	ck_assert_int_eq(dunno, 8);
	/* workers started after the reload run the reloaded configuration */
	ck_assert_int_eq(worker_pids(pids, 8), 2);
	kill(pids[0], SIGKILL);
	kill(pids[1], SIGKILL);
	for (i = 0; i < 500; i++) {
		n = worker_pids(again, 8);
		if (n == 2 && again[0] != pids[0] && again[0] != pids[1] &&
		    again[1] != pids[0] && again[1] != pids[1])
			break;
		usleep(10000);
	}
	ck_assert_msg(i < 500, "killed workers not replaced");
	for (i = 0; i < 8; i++) {
		snprintf(inst, sizeof(inst), "A%d", i);
		out = ask_new_connection(inst);
		ck_assert_msg(strncmp(out, "action=DUNNO", 12) == 0,
		    "after a worker restart: \"%s\"", out);
		free(out);
	}
	/* SIGTERM to the master: workers drain, the master exits 0, socket gone */
	n = worker_pids(pids, 8);
	kill(child, SIGTERM);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	child = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_ne(stat(sock_path, &st), 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(kill(pids[i], 0) < 0, "worker %d still running", (int)pids[i]);
}
END_TEST

/* setup_workers - a server with two worker processes */
static void
setup_workers(void)
{
	extra_conf = "worker_processes = 2\n";
	setup();
	extra_conf = "";
}

/* setup_timeouts - a server with short idle_timeout and connection_timeout */
static void
setup_timeouts(void)
{
	extra_conf = "idle_timeout = 1s\nconnection_timeout = 2s\n";
	setup();
	extra_conf = "";
}

/* setup_request_timeout - request_timeout far below idle and connection timeouts */
static void
setup_request_timeout(void)
{
	extra_conf = "idle_timeout = 10s\nconnection_timeout = 60s\nrequest_timeout = 1s\n";
	setup();
	extra_conf = "";
}

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(server_closes_idle_connection_after_idle_timeout)
{
	int fd = connect_unix();
	long long t0 = now_ms(), dt;
	bool eof;
	char *out;

	out = exchange(fd, NULL, 0, 1, &eof);
	dt = now_ms() - t0;
	ck_assert(eof);
	ck_assert_str_eq(out, "");
	ck_assert_msg(dt >= 900 && dt < 4000, "closed after %lld ms", dt);
	free(out);
	close(fd);
}
END_TEST

START_TEST(server_ends_busy_connection_after_connection_timeout_with_replies_complete)
{
	int fd = connect_unix();
	long long t0 = now_ms(), dt;
	struct buf req;
	bool eof = false;
	int answered = 0;

	buf_init(&req, 4096);
	/* never idle for idle_timeout, yet closed at connection_timeout */
	while (!eof && now_ms() - t0 < 6000) {
		char *out, inst[16];

		snprintf(inst, sizeof(inst), "T%d", answered);
		buf_reset(&req);
		request(&req, inst, "192.0.2.1", "ok@example.org", "r@here");
		if (send(fd, req.data, req.len, MSG_NOSIGNAL) != (ssize_t)req.len)
			break;
		out = exchange(fd, NULL, 0, 1, &eof);
		if (count_replies(out) == 1) {
			expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
			answered++;
		}
		free(out);
		usleep(200000);
	}
	dt = now_ms() - t0;
	ck_assert_msg(dt >= 1900 && dt < 5000, "closed after %lld ms", dt);
	ck_assert_int_ge(answered, 5);
	close(fd);
	buf_clear(&req);
}
END_TEST

START_TEST(server_closes_a_trickling_client_at_request_timeout)
{
	int fd = connect_unix();
	long long t0 = now_ms(), dt;
	struct buf req;
	size_t sent = 0;
	bool closed = false;

	/* one byte every 200 ms: never idle for idle_timeout, never complete */
	buf_init(&req, 4096);
	request(&req, "S", "192.0.2.1", "ok@example.org", "r@here");
	while (sent < req.len && now_ms() - t0 < 8000) {
		struct pollfd p = { fd, POLLIN, 0 };
		char c;

		if (send(fd, req.data + sent, 1, MSG_NOSIGNAL) != 1 ||
		    (poll(&p, 1, 200) == 1 && recv(fd, &c, 1, 0) <= 0)) {
			closed = true;
			break;
		}
		sent++;
	}
	dt = now_ms() - t0;
	ck_assert_msg(closed, "still open after %lld ms, %zu bytes sent", dt, sent);
	ck_assert_msg(dt >= 900 && dt < 4000, "closed after %lld ms", dt);
	ck_assert_uint_lt(sent, req.len);
	close(fd);
	buf_clear(&req);
}
END_TEST

START_TEST(server_request_timeout_spares_complete_requests_and_idle_clients)
{
	int fd = connect_unix();
	struct buf req;
	bool eof;
	char *out;

	buf_init(&req, 4096);
	/* idle between requests for longer than request_timeout: still served */
	usleep(1500000);
	request(&req, "S1", "192.0.2.1", "ok@example.org", "r@here");
	out = exchange(fd, req.data, req.len, 1, &eof);
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	free(out);
	/* a request in two pieces well within the deadline */
	buf_reset(&req);
	request(&req, "S2", "192.0.2.1", "ok@example.org", "r@here");
	out = exchange(fd, req.data, 10, 0, &eof);
	free(out);
	usleep(300000);
	out = exchange(fd, req.data + 10, req.len - 10, 1, &eof);
	expect_reply(out, 0, "action=PREPEND Received-SPF: pass");
	ck_assert(!eof);
	free(out);
	close(fd);
	buf_clear(&req);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite *s = suite_create("policyd_server");
	TCase *tc = tcase_create("sockets");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_answers_pipelined_requests_in_order_and_keeps_alive);
	tcase_add_test(tc, server_answers_a_client_that_half_closes);
	tcase_add_test(tc, server_closes_on_over_long_line_only);
	tcase_add_test(tc, server_reloads_on_sighup_and_keeps_connections);
	tcase_add_test(tc, server_stops_cleanly_on_sigterm);
	tcase_add_test(tc, server_keeps_order_when_the_client_reads_its_replies_late);
	suite_add_tcase(s, tc);
	tc = tcase_create("workers");
	tcase_add_checked_fixture(tc, setup_workers, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_workers_answer_reload_restart_and_stop_with_the_master);
	suite_add_tcase(s, tc);
	tc = tcase_create("timeouts");
	tcase_add_checked_fixture(tc, setup_timeouts, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_closes_idle_connection_after_idle_timeout);
	tcase_add_test(tc, server_ends_busy_connection_after_connection_timeout_with_replies_complete);
	suite_add_tcase(s, tc);
	tc = tcase_create("request_timeout");
	tcase_add_checked_fixture(tc, setup_request_timeout, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_closes_a_trickling_client_at_request_timeout);
	tcase_add_test(tc, server_request_timeout_spares_complete_requests_and_idle_clients);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
