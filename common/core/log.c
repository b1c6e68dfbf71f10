/*
 * log.c - logging to syslog (LOG_MAIL) or stderr.  One call is one line:
 * control characters in the text (a CR or LF in a header value, a DNS
 * name, a library's error string) are written as \n, \r or \xHH, so no
 * message spans two lines and no data forges a line of its own.
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

/* log_escape_char - c as written in a log line, into e[4]; its length */
static size_t
log_escape_char(unsigned char c, char e[4])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\n' || c == '\r') {
		e[0] = '\\';
		e[1] = c == '\n' ? 'n' : 'r';
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		e[0] = '\\';
		e[1] = 'x';
		e[2] = hex[c >> 4];
		e[3] = hex[c & 15];
		return 4;
	}
	e[0] = (char)c;
	return 1;
}

/* log_escape - in with its control characters escaped into out, cut at size */
static void
log_escape(char *out, size_t size, const char *in)
{
	size_t o = 0, n;
	char e[4];

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		n = log_escape_char(*p, e);
		if (o + n >= size)
			break;
		memcpy(out + o, e, n);
		o += n;
	}
	out[o] = '\0';
}

/* log_emit - format, escape, and write one line */
static void
log_emit(int prio, const char *tag, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX], msg[LOG_LINE_MAX];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(msg, sizeof(msg), raw);
	if (log_dest == LOG_DEST_SYSLOG) {
		if (tag[0])
			syslog(prio, "%s: %s", tag, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	/* the line made whole first: one write(2) per line on unbuffered stderr */
	char line[LOG_LINE_MAX + 128];

	if (log_pid == 0) {
		/* one getpid(2) per process instead of one per line */
		pthread_once(&log_fork_once, log_register_fork);
		log_pid = getpid();
	}
	int n = snprintf(line, sizeof(line) - 1, "%s[%ld]: %s%s%s", log_ident,
	    (long)log_pid, tag, tag[0] ? ": " : "", msg);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;

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
