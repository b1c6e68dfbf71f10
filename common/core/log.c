/*
 * log.c - logging to syslog (LOG_MAIL) or stderr.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_dest log_dest = LOG_DEST_STDERR;
static const char *log_ident = "mailauth";
static bool log_debug_on;
static pid_t log_pid;		/* the stderr prefix's pid; 0: ask again */
static pthread_once_t log_fork_once = PTHREAD_ONCE_INIT;

/* log_forked - a child has a pid of its own: ask for it at its next line */
static void
log_forked(void)
{
	log_pid = 0;
}

/* log_register_fork - forget the cached pid in every child of a fork */
static void
log_register_fork(void)
{
	pthread_atfork(NULL, NULL, log_forked);
}

/* log_open - choose the destination; ident names the program */
void
log_open(const char *ident, enum log_dest dest)
{
	log_ident = ident;
	log_dest = dest;
	log_pid = 0;
	if (dest == LOG_DEST_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_debug - enable log_debug output */
void
log_set_debug(bool on)
{
	log_debug_on = on;
}

static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	if (log_dest == LOG_DEST_SYSLOG) {
		char msg[4096];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (tag[0])
			syslog(prio, "%s: %s", tag, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	/* the line made whole first: one write(2) per line on unbuffered stderr,
	 * cut like the syslog branch */
	char line[4096];
	int n;

	if (log_pid == 0) {
		/* one getpid(2) per process instead of one per line */
		pthread_once(&log_fork_once, log_register_fork);
		log_pid = getpid();
	}
	n = snprintf(line, sizeof(line), "%s[%ld]: %s%s", log_ident,
	    (long)log_pid, tag, tag[0] ? ": " : "");
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;

	n = vsnprintf(line + len, sizeof(line) - 1 - len, fmt, ap);
	if (n > 0)
		len += (size_t)n < sizeof(line) - 1 - len ? (size_t)n : sizeof(line) - 2 - len;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
}

#define LOG_FN(name, prio, tag)				\
	void name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_emit(prio, tag, fmt, ap);		\
		va_end(ap);				\
	}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, "debug", fmt, ap);
	va_end(ap);
}

LOG_FN(log_info, LOG_INFO, "")
LOG_FN(log_warn, LOG_WARNING, "warning")
LOG_FN(log_error, LOG_ERR, "error")

/* log_fatal - configuration or start-up error: log and exit 78 (EX_CONFIG) */
void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "fatal", fmt, ap);
	va_end(ap);
	exit(EX_CONFIG);
}

/* log_error_lines - each non-empty line of text as an error line of its own */
void
log_error_lines(const char *prefix, const char *text)
{
	const char *p = text, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > 0)
			log_error("%s: %.*s", prefix, (int)n, p);
		p += n + (nl != NULL);
	}
}

/* log_panic - broken invariant: log and abort */
void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, "panic", fmt, ap);
	va_end(ap);
	abort();
}
