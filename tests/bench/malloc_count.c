/*
 * malloc_count.c - LD_PRELOAD library counting a process's heap calls, for
 * policyd-profile.sh (allocations per request).
 *
 * Wraps malloc, calloc, realloc and free (the glibc entry points behind
 * them do the work) and counts the calls.  SIGUSR2 writes one line to
 * stderr:
 *   malloc_count: pid=N malloc=N calloc=N realloc=N free=N
 * The script sends it at the start and the end of the measured period and
 * divides the difference by the requests answered in between.  Only
 * async-signal-safe calls in the handler (write(2)); the counters are
 * relaxed atomics (the daemons are single-threaded, libunbound included).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

enum { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_FREE, MC_KINDS };

static unsigned long mc_count[MC_KINDS];

/* mc_bump - count one call */
static void
mc_bump(int kind)
{
	__atomic_fetch_add(&mc_count[kind], 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t size)
{
	mc_bump(MC_MALLOC);
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	mc_bump(MC_CALLOC);
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	mc_bump(MC_REALLOC);
	return __libc_realloc(p, size);
}

void
free(void *p)
{
	if (p != NULL)
		mc_bump(MC_FREE);
	__libc_free(p);
}

/* mc_put_num - append the decimal form of v at *o */
static void
mc_put_num(char *buf, size_t *o, unsigned long v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		buf[(*o)++] = tmp[--n];
}

/* mc_put_str - append a string at *o */
static void
mc_put_str(char *buf, size_t *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + *o, s, n);
	*o += n;
}

/* mc_report - SIGUSR2: the counters as one line on stderr */
static void
mc_report(int sig)
{
	static const char *const names[MC_KINDS] = { " malloc=", " calloc=",
		" realloc=", " free=" };
	char line[256];
	size_t o = 0;
	int saved = errno;

	(void)sig;
	mc_put_str(line, &o, "malloc_count: pid=");
	mc_put_num(line, &o, (unsigned long)getpid());
	for (int i = 0; i < MC_KINDS; i++) {
		mc_put_str(line, &o, names[i]);
		mc_put_num(line, &o, __atomic_load_n(&mc_count[i], __ATOMIC_RELAXED));
	}
	line[o++] = '\n';
	(void)!write(2, line, o);
	errno = saved;
}

/* mc_init - install the SIGUSR2 handler before main */
__attribute__((constructor)) static void
mc_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mc_report;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
}
