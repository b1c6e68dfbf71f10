/*
 * sandbox_seccomp.c - the worker's seccomp filter (see sandbox.h), an
 * allow-list: every system call not named here fails with EPERM, and the
 * kernel logs the refusal (SECCOMP_FILTER_FLAG_LOG, audit log) where
 * kernel.seccomp.actions_logged includes errno.  socket() is allowed for
 * AF_UNIX (syslog), AF_INET and AF_INET6 only, ioctl() for FIONREAD,
 * FIONBIO and TCGETS only, prlimit64() for reading only, open() and
 * openat() for reading only unless the worker writes files (reinject's
 * spool), unlink() and rename() only where asked.  no_new_privs is
 * set with the filter.  Names unknown on this architecture are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED	1
#endif
#endif

/* what a started worker calls: I/O, the event loop, DNS and SMTP sockets,
 * memory, time, signals; files in sandbox_files() */
static const char *const sandbox_allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "lseek", "close", "close_range", "fstat", "stat", "lstat",
	"newfstatat", "statx", "fstatfs", "statfs", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
	"getdents64",
	"fcntl", "dup", "dup2", "dup3", "pipe", "pipe2", "eventfd", "eventfd2",
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	"socketpair", "connect", "accept", "accept4", "bind", "listen",
	"getsockname", "getpeername", "setsockopt", "getsockopt", "sendto",
	"recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"sigaltstack", "clock_gettime", "clock_getres", "clock_nanosleep",
	"nanosleep", "gettimeofday", "time", "getpid", "gettid", "getppid",
	"getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid",
	"getresgid", "getrandom", "futex", "set_robust_list", "get_robust_list",
	"set_tid_address", "rseq", "restart_syscall", "sched_yield",
	"sched_getaffinity", "getrlimit", "uname", "sysinfo", "getcwd",
	"exit", "exit_group", "tgkill", "fsync", "fdatasync", "ftruncate",
	"fallocate", "fadvise64",
#ifdef SANDBOX_SANITIZED
	/* the sanitizers' leak check at exit stops the world with a traced
	 * clone; sanitized builds are for tests only */
	"clone", "clone3", "ptrace", "wait4", "waitpid", "prctl",
	"sched_setaffinity",
#endif
};

/* sandbox_allow - allow name without conditions; unknown names are skipped */
static int
sandbox_allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* sandbox_conditional - socket, ioctl and prlimit64 with their arguments checked */
static int
sandbox_conditional(scmp_filter_ctx ctx)
{
	static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const unsigned long requests[] = { FIONREAD, FIONBIO, TCGETS };

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i], 0)) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)requests[i], 0)) < 0)
			return -1;
	/* reading a limit (new limit NULL), never setting one */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	    SCMP_A2(SCMP_CMP_EQ, 0, 0));
}

/* sandbox_files - open() and openat() for reading only unless
 * SANDBOX_WRITE_FILES; unlink() and unlinkat() only with SANDBOX_UNLINK,
 * rename(), renameat() and renameat2() only with SANDBOX_RENAME */
static int
sandbox_files(scmp_filter_ctx ctx, unsigned flags)
{
	const scmp_datum_t writing = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
	int rc;

	if (flags & SANDBOX_WRITE_FILES)
		rc = sandbox_allow(ctx, "open") < 0 ? -1 : sandbox_allow(ctx, "openat");
	else if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, writing, 0))) == 0 &&
	    seccomp_syscall_resolve_name("open") != __NR_SCMP_ERROR)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    seccomp_syscall_resolve_name("open"), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, writing, 0));
	if (rc == 0 && (flags & SANDBOX_UNLINK))
		rc = sandbox_allow(ctx, "unlink") < 0 ? -1 : sandbox_allow(ctx, "unlinkat");
	if (rc == 0 && (flags & SANDBOX_RENAME))
		rc = sandbox_allow(ctx, "rename") < 0 || sandbox_allow(ctx,
		    "renameat") < 0 ? -1 : sandbox_allow(ctx, "renameat2");
	return rc;
}

/* sandbox_enter - build and load the filter (see sandbox.h) */
int
sandbox_enter(unsigned flags)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = ctx == NULL ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < sizeof(sandbox_allowed) /
	    sizeof(sandbox_allowed[0]); i++)
		rc = sandbox_allow(ctx, sandbox_allowed[i]);
	if (rc == 0)
		rc = sandbox_conditional(ctx);
	if (rc == 0)
		rc = sandbox_files(ctx, flags);
	/* refusals in the kernel's audit log; an older kernel lacks the flag */
	if (rc == 0)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (ctx != NULL)
		seccomp_release(ctx);
	if (rc < 0) {
		log_error("cannot apply the seccomp filter: %s", strerror(-rc));
		return -1;
	}
	log_debug("worker confined by its seccomp filter");
	return 0;
}

/* sandbox_available - yes */
bool
sandbox_available(void)
{
	return true;
}
