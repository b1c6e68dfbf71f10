/*
 * policy_load.c - load generator for Postfix policy delegation servers
 * (SMTPD_POLICY_README protocol: name=value lines, an empty line ends a
 * request; the reply is action=... then an empty line).
 *
 * Opens C concurrent connections (TCP, or a unix-domain socket as Postfix
 * uses under its queue directory), and on each one sends Postfix-style
 * RCPT requests back to back (one outstanding request per connection, as
 * Postfix's smtpd does), varying instance, client address, HELO name and
 * sender domain deterministically so that two servers see the same stream.
 * After a warm-up period it measures for a fixed time and prints requests/s
 * and latency percentiles (p50, p90, p99, max) plus a count of reply
 * actions, as one "key=value" line that the bench script parses.  With
 * -n NAME it also reads the CPU time (utime + stime, /proc/PID/stat) of every
 * process whose comm is NAME at the start and the end of the measured period
 * and prints the server's CPU time per request: a figure that other load on
 * the machine does not distort the way it distorts requests/s.
 *
 * Identity space: sender domain s<D>.bench.example (D < -D domains), HELO
 * mx.s<D>.bench.example, client 192.0.2.<n> / 198.51.100.<n> from a pool of
 * -i addresses; with -u every transaction gets a fresh client address
 * (10.x.y.z) so a result cache keyed on the identity never hits while the
 * DNS answers stay the same.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONNS 1024		/* -c upper bound */
#define LOAD_REQ_SIZE 2048		/* one request, Postfix sends < 1 KiB */
#define LOAD_REPLY_SIZE 4096		/* one reply; longer is an error */
#define LOAD_MAX_SAMPLES (8u << 20)	/* latency samples kept (64 MiB) */
#define LOAD_ACTION_KINDS 8		/* distinct reply actions counted */

struct load_opts {
	int conns;		/* concurrent connections */
	double seconds;		/* measured period */
	double warmup;		/* period before measuring */
	int rcpts;		/* recipients (requests) per instance */
	int ips;		/* client address pool size */
	int domains;		/* sender domain count */
	bool unique_ip;		/* fresh client address per transaction */
	const char *cpu_comm;	/* account the CPU of processes named this */
	struct sockaddr_storage addr;	/* AF_INET or AF_UNIX */
	socklen_t addrlen;
};

struct load_conn {
	int fd;
	uint64_t seq;		/* transaction counter on this connection */
	int rcpt;		/* recipient index within the transaction */
	uint64_t sent_ns;	/* when the outstanding request was sent */
	size_t rlen;		/* bytes of reply read so far */
	char reply[LOAD_REPLY_SIZE];
};

struct load_action {
	char name[48];
	uint64_t count;
};

struct load_stats {
	uint64_t requests;
	uint64_t errors;
	uint32_t *samples;	/* latency in microseconds */
	size_t nsamples;
	struct load_action actions[LOAD_ACTION_KINDS];
};

/* load_now_ns - monotonic clock in nanoseconds */
static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* load_usage - print the command line and exit */
static void load_usage(void)
{
	fprintf(stderr, "usage: policy_load [-c conns] [-d seconds] [-w warmup]"
		" [-r rcpts] [-i ips] [-D domains] [-u] [-n comm] host:port|unix:path\n");
	exit(2);
}

/* load_parse_unix - "unix:/path" into opts->addr */
static int load_parse_unix(struct load_opts *o, const char *path)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&o->addr;
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path))
		return -1;
	memset(&o->addr, 0, sizeof(o->addr));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	o->addrlen = (socklen_t)sizeof(*sun);
	return 0;
}

/* load_parse_addr - IPv4 host:port or unix:/path into opts->addr */
static int load_parse_addr(struct load_opts *o, const char *arg)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&o->addr;
	char host[64];
	const char *colon = strrchr(arg, ':');
	size_t hlen;
	long port;

	if (strncmp(arg, "unix:", 5) == 0)
		return load_parse_unix(o, arg + 5);
	if (colon == NULL || (hlen = (size_t)(colon - arg)) >= sizeof(host))
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	memset(&o->addr, 0, sizeof(o->addr));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	o->addrlen = (socklen_t)sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

/* load_parse_opts - command line into options */
static void load_parse_opts(struct load_opts *o, int argc, char **argv)
{
	int ch;

	*o = (struct load_opts){ .conns = 20, .seconds = 10, .warmup = 2,
		.rcpts = 2, .ips = 16, .domains = 20 };
	while ((ch = getopt(argc, argv, "c:d:w:r:i:D:un:")) != -1) {
		switch (ch) {
		case 'c': o->conns = atoi(optarg); break;
		case 'd': o->seconds = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'r': o->rcpts = atoi(optarg); break;
		case 'i': o->ips = atoi(optarg); break;
		case 'D': o->domains = atoi(optarg); break;
		case 'u': o->unique_ip = true; break;
		case 'n': o->cpu_comm = optarg; break;
		default: load_usage();
		}
	}
	if (optind + 1 != argc || load_parse_addr(o, argv[optind]) < 0)
		load_usage();
	if (o->conns < 1 || o->conns > LOAD_MAX_CONNS || o->seconds <= 0 ||
	    o->warmup < 0 || o->rcpts < 1 || o->ips < 1 || o->ips > 250 ||
	    o->domains < 1)
		load_usage();
}

/* load_client_addr - the claimed client address of a transaction */
static void load_client_addr(const struct load_opts *o, int conn,
	uint64_t seq, char *out, size_t size)
{
	uint64_t n = seq * (uint64_t)o->conns + (uint64_t)conn;

	if (o->unique_ip) {
		snprintf(out, size, "10.%u.%u.%u", (unsigned)((n >> 16) & 255),
			(unsigned)((n >> 8) & 255), (unsigned)(n & 255));
		return;
	}
	/* half the pool in the domains' ip4: range, half outside it */
	n = (n * 7) % (uint64_t)o->ips;
	if (n % 2 == 0)
		snprintf(out, size, "192.0.2.%u", (unsigned)(n / 2 + 1));
	else
		snprintf(out, size, "198.51.100.%u", (unsigned)(n / 2 + 1));
}

/* load_format_request - one RCPT request with the attributes of smtpd 3.7 */
static int load_format_request(const struct load_opts *o, int conn,
	const struct load_conn *c, char *buf, size_t size)
{
	char ip[32];
	uint64_t n = c->seq * (uint64_t)o->conns + (uint64_t)conn;
	unsigned dom = (unsigned)((n * 13) % (uint64_t)o->domains);
	int len;

	load_client_addr(o, conn, c->seq, ip, sizeof(ip));
	len = snprintf(buf, size,
		"request=smtpd_access_policy\n"
		"protocol_state=RCPT\n"
		"protocol_name=ESMTP\n"
		"client_address=%s\n"
		"client_name=unknown\n"
		"reverse_client_name=unknown\n"
		"client_port=%u\n"
		"helo_name=mx.s%u.bench.example\n"
		"sender=user%u@s%u.bench.example\n"
		"recipient=rcpt%d@example.net\n"
		"recipient_count=%d\n"
		"queue_id=\n"
		"instance=%x.%" PRIx64 ".%x\n"
		"size=0\n"
		"etrn_domain=\n"
		"stress=\n"
		"sasl_method=\n"
		"sasl_username=\n"
		"sasl_sender=\n"
		"ccert_subject=\n"
		"ccert_issuer=\n"
		"ccert_fingerprint=\n"
		"ccert_pubkey_fingerprint=\n"
		"encryption_protocol=\n"
		"encryption_cipher=\n"
		"encryption_keysize=0\n"
		"server_address=127.0.0.1\n"
		"server_port=25\n"
		"policy_context=\n"
		"compatibility_level=3.6\n"
		"mail_version=3.7.11\n"
		"\n",
		ip, 40000u + (unsigned)conn, dom, (unsigned)(n % 1000), dom,
		c->rcpt, c->rcpt, (unsigned)conn, c->seq, (unsigned)getpid());
	return len > 0 && (size_t)len < size ? len : -1;
}

/* load_write_all - write a whole request on a blocking socket */
static int load_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* load_send - send the next request of a connection */
static int load_send(const struct load_opts *o, int i, struct load_conn *c)
{
	char req[LOAD_REQ_SIZE];
	int len = load_format_request(o, i, c, req, sizeof(req));

	if (len < 0)
		return -1;
	c->rlen = 0;
	c->sent_ns = load_now_ns();
	return load_write_all(c->fd, req, (size_t)len);
}

/* load_connect - open one connection to the server */
static int load_connect(const struct load_opts *o)
{
	int fd = socket(o->addr.ss_family, SOCK_STREAM, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (o->addr.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* load_count_action - tally the first word of a reply's action */
static void load_count_action(struct load_stats *st, const char *reply,
	size_t len)
{
	const char *p = reply, *end = reply + len;
	size_t n = 0;
	int i;

	if (len > 7 && memcmp(p, "action=", 7) == 0)
		p += 7;
	while (p + n < end && p[n] != ' ' && p[n] != '\n' && n < 47)
		n++;
	for (i = 0; i < LOAD_ACTION_KINDS; i++) {
		struct load_action *a = &st->actions[i];

		if (a->name[0] == '\0') {
			memcpy(a->name, p, n);
			a->name[n] = '\0';
		}
		if (strlen(a->name) == n && memcmp(a->name, p, n) == 0) {
			a->count++;
			return;
		}
	}
}

/* load_reply_done - length of a complete reply ("...\n\n"), 0 if partial */
static size_t load_reply_done(const struct load_conn *c)
{
	size_t i;

	for (i = 1; i < c->rlen; i++)
		if (c->reply[i] == '\n' && c->reply[i - 1] == '\n')
			return i + 1;
	return 0;
}

/* load_on_readable - read reply bytes; on a full reply record and resend */
static int load_on_readable(const struct load_opts *o, int i,
	struct load_conn *c, struct load_stats *st, bool measuring)
{
	ssize_t n = read(c->fd, c->reply + c->rlen, sizeof(c->reply) - c->rlen);
	size_t done;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	c->rlen += (size_t)n;
	if ((done = load_reply_done(c)) == 0)
		return c->rlen == sizeof(c->reply) ? -1 : 0;
	if (done != c->rlen)
		return -1;		/* one request outstanding: no extra bytes */
	if (measuring) {
		uint64_t us = (load_now_ns() - c->sent_ns) / 1000u;

		st->requests++;
		if (st->nsamples < LOAD_MAX_SAMPLES)
			st->samples[st->nsamples++] = us > UINT32_MAX ?
				UINT32_MAX : (uint32_t)us;
		load_count_action(st, c->reply, done);
	}
	if (++c->rcpt >= o->rcpts) {
		c->rcpt = 0;
		c->seq++;
	}
	return load_send(o, i, c);
}

/* load_proc_cpu - utime + stime in clock ticks of one /proc/PID/stat */
static unsigned long long load_proc_cpu(const char *pid, const char *comm)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	size_t n, clen = strlen(comm);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid ..." - comm may hold spaces: use the last ')' */
	p = strchr(buf, '(');
	if (p == NULL || strncmp(p + 1, comm, clen) != 0 || p[1 + clen] != ')')
		return 0;
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u"
	    " %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* load_cpu_ticks - CPU ticks used so far by all processes named comm */
static unsigned long long load_cpu_ticks(const char *comm)
{
	unsigned long long sum = 0;
	struct dirent *de;
	DIR *d;

	if (comm == NULL || (d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			sum += load_proc_cpu(de->d_name, comm);
	closedir(d);
	return sum;
}

/* load_cmp_u32 - qsort comparator */
static int load_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* load_pct - percentile of sorted samples in milliseconds */
static double load_pct(const struct load_stats *st, double q)
{
	size_t k;

	if (st->nsamples == 0)
		return 0;
	k = (size_t)(q * (double)(st->nsamples - 1) + 0.5);
	return st->samples[k] / 1000.0;
}

/* load_report - print the one-line result */
static void load_report(const struct load_opts *o, struct load_stats *st,
	double elapsed, unsigned long long cpu_ticks)
{
	double cpu_s = (double)cpu_ticks / (double)sysconf(_SC_CLK_TCK);
	int i;

	qsort(st->samples, st->nsamples, sizeof(*st->samples), load_cmp_u32);
	printf("conns=%d seconds=%.2f requests=%" PRIu64 " errors=%" PRIu64
		" rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f actions=",
		o->conns, elapsed, st->requests, st->errors,
		st->requests / elapsed, load_pct(st, 0.50), load_pct(st, 0.90),
		load_pct(st, 0.99), load_pct(st, 1.0));
	for (i = 0; i < LOAD_ACTION_KINDS && st->actions[i].name[0]; i++)
		printf("%s%s:%" PRIu64, i ? "," : "", st->actions[i].name,
			st->actions[i].count);
	if (o->cpu_comm != NULL && st->requests > 0)
		printf(" server_cpu_s=%.2f cpu_us_per_req=%.1f", cpu_s,
			cpu_s * 1e6 / (double)st->requests);
	printf("\n");
}

/* load_all_answered - has every connection completed a transaction? */
static bool load_all_answered(const struct load_opts *o,
	const struct load_conn *conns)
{
	int i;

	for (i = 0; i < o->conns; i++)
		if (conns[i].seq == 0)
			return false;
	return true;
}

/*
 * load_run - the poll loop: warm-up, then the measured period.  Measuring
 * starts when the warm-up time is over and every connection has completed
 * one transaction, so that a server's start-up cost per connection (a
 * spawned interpreter) is not counted as request latency.
 */
static int load_run(const struct load_opts *o, struct load_conn *conns,
	struct pollfd *pfd, struct load_stats *st)
{
	uint64_t warm_end = load_now_ns() + (uint64_t)(o->warmup * 1e9);
	uint64_t measure_at = 0, end = UINT64_MAX;
	unsigned long long cpu0 = 0;
	int i, alive = o->conns;

	while (alive > 0) {
		uint64_t now = load_now_ns();

		if (measure_at == 0 && now >= warm_end &&
		    load_all_answered(o, conns)) {
			measure_at = now;
			end = now + (uint64_t)(o->seconds * 1e9);
			cpu0 = load_cpu_ticks(o->cpu_comm);
		}
		if (now >= end)
			break;
		if (poll(pfd, (nfds_t)o->conns, 100) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < o->conns; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (load_on_readable(o, i, &conns[i], st,
			    measure_at != 0) < 0) {
				st->errors++;
				close(pfd[i].fd);
				pfd[i].fd = -1;
				alive--;
			}
		}
	}
	if (measure_at == 0) {
		fprintf(stderr, "policy_load: connections failed during warm-up\n");
		return 1;
	}
	load_report(o, st, (double)(load_now_ns() - measure_at) / 1e9,
		load_cpu_ticks(o->cpu_comm) - cpu0);
	return alive == o->conns ? 0 : 1;
}

/* main - connect, send the first request on every connection, run */
int main(int argc, char **argv)
{
	struct load_opts o;
	struct load_stats st = { 0 };
	struct load_conn *conns;
	struct pollfd *pfd;
	int i;

	load_parse_opts(&o, argc, argv);
	conns = calloc((size_t)o.conns, sizeof(*conns));
	pfd = calloc((size_t)o.conns, sizeof(*pfd));
	st.samples = malloc(LOAD_MAX_SAMPLES * sizeof(*st.samples));
	if (conns == NULL || pfd == NULL || st.samples == NULL) {
		fprintf(stderr, "policy_load: out of memory\n");
		return 2;
	}
	for (i = 0; i < o.conns; i++) {
		conns[i].fd = load_connect(&o);
		if (conns[i].fd < 0 || load_send(&o, i, &conns[i]) < 0) {
			fprintf(stderr, "policy_load: connect/send: %s\n",
				strerror(errno));
			return 2;
		}
		pfd[i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
	}
	return load_run(&o, conns, pfd, &st);
}
