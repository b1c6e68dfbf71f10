/*
 * sandbox.h - confine a worker once it has started: after its listeners,
 * keys, tables and resolver are set up, a seccomp filter leaves it the
 * system calls that serving connections needs (network, reading files such
 * as a reloaded configuration, and where asked writing its own spool files
 * and unlinking) and refuses the rest
 * with EPERM: no execve, no ptrace, no fork, no chmod, chown, rename (unless
 * asked) or link, no mount or namespace calls, no kill of other processes.  EPERM
 * rather than a kill: a refused call is an error the worker handles (a 4xx,
 * the mail stays queued), never a worker dying in a session.  Built without
 * libseccomp (meson option seccomp), sandbox_none.c leaves workers as they
 * are and says so.
 */
#ifndef MAILAUTH_SANDBOX_H
#define MAILAUTH_SANDBOX_H

#include <stdbool.h>

/* what a worker may do to files beyond reading them */
enum sandbox_flags {
	SANDBOX_WRITE_FILES = 1 << 0,	/* open for writing, create (a spool) */
	SANDBOX_UNLINK = 1 << 1,	/* unlink (spool files, sockets at exit) */
	SANDBOX_RENAME = 1 << 2,	/* rename (a state file put in place) */
};

/* sandbox_enter - confine this process from now on (flags: enum
 * sandbox_flags, 0: files are only read); 0, or -1 logged */
int sandbox_enter(unsigned flags);
/* sandbox_available - does sandbox_enter confine (built with seccomp) */
bool sandbox_available(void);

#endif
