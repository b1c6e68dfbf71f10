/*
 * log.h - logging to syslog (mail facility) or stderr.
 *
 * Three kinds of trouble (STYLE): log_warn for bad peer/DNS input (never fatal),
 * log_fatal for bad configuration at start-up (exit 78, EX_CONFIG), log_panic for a broken
 * invariant (abort).
 */
#ifndef MAILAUTH_LOG_H
#define MAILAUTH_LOG_H

/* the longest log line's text, escapes included; longer text is cut */
#define LOG_LINE_MAX	4096

#include <stdbool.h>
#include <stdarg.h>

enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_SYSLOG,
};

/* log_open - choose the destination; ident names the program */
void log_open(const char *ident, enum log_dest dest);
/* log_set_debug - enable log_debug output */
void log_set_debug(bool on);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* log_error_lines - one error line per line of text, each after "prefix: "
 * (a list of file:line messages never spans two log lines unprefixed) */
void log_error_lines(const char *prefix, const char *text);
void log_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
