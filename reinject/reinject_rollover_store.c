/*
 * reinject_rollover_store.c - the key rollover state file on disk
 * (reinject_rollover.h): read, written atomically (a temporary file,
 * fsync, rename, then fsync of the directory) and removed, always relative
 * to the directory's descriptor and never through a symbolic link
 * (O_NOFOLLOW).  Workers run as the configured user, so the file is theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reinject_rollover.h"

/* Longest file name of a directory entry (POSIX NAME_MAX on Linux). */
#define STORE_NAME_MAX	255
/* Room kept in a name for the temporary file's "." and ".<pid>". */
#define STORE_TMP_ROOM	24

/* store_char_ok - a character of a domain or selector in a file name */
static bool
store_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* reinject_rollover_store_name - the state file's name for a key */
int
reinject_rollover_store_name(const char *domain, const char *selector,
    char *out, size_t size)
{
	int n = snprintf(out, size, "dkim-rollover.%s._domainkey.%s", selector,
	    domain);

	if (n < 0 || (size_t)n >= size || n > STORE_NAME_MAX - STORE_TMP_ROOM)
		return -1;
	for (const char *p = out; *p; p++)
		if (!store_char_ok(*p) || (p[0] == '.' && p[1] == '.'))
			return -1;
	return 0;
}

/* reinject_rollover_store_read - the state file, parsed */
int
reinject_rollover_store_read(int dfd, const char *dir, const char *name,
    struct reinject_rollover_state *st, struct buf *err)
{
	char text[REINJECT_ROLLOVER_STATE_MAX + 1], path[4096];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat sb;
	ssize_t n = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		n = read(fd, text, sizeof(text));
	else if (fd >= 0)
		errno = EINVAL;
	if (fd < 0 || n < 0) {
		buf_printf(err, "%s: %s\n", path, errno == ELOOP ?
		    "a symbolic link, not read" : errno == EINVAL ?
		    "not a regular file" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if ((size_t)n == sizeof(text)) {
		buf_printf(err, "%s: longer than %d bytes\n", path,
		    REINJECT_ROLLOVER_STATE_MAX);
		return -1;
	}
	return reinject_rollover_state_parse(text, (size_t)n, path, st, err) < 0 ?
	    -1 : 1;
}

/* store_fill - text into the temporary file, synced; 0 or -1 */
static int
store_fill(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return fsync(fd);
}

/* store_rename - tmp over name; 1, 0 when name is there and stays, -1 */
static int
store_rename(int dfd, const char *tmp, const char *name, bool replace)
{
	if (!replace) {
		if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
			return 1;
		if (errno == EEXIST)
			return 0;
		/* a file system without RENAME_NOREPLACE: look first */
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
	}
	return renameat(dfd, tmp, dfd, name) == 0 ? 1 : -1;
}

/* reinject_rollover_store_write - st as name, atomically */
int
reinject_rollover_store_write(int dfd, const char *dir, const char *name,
    const struct reinject_rollover_state *st, bool replace, struct buf *err)
{
	char text[REINJECT_ROLLOVER_STATE_MAX], tmp[STORE_NAME_MAX + 1];
	int len = reinject_rollover_state_format(st, text, sizeof(text));
	int fd, rc = -1, saved;

	snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (len >= 0 && fd >= 0 && store_fill(fd, text, (size_t)len) == 0)
		rc = store_rename(dfd, tmp, name, replace);
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc <= 0)
		(void)unlinkat(dfd, tmp, 0);
	if (rc < 0) {
		buf_printf(err, "%s/%s: cannot write it: %s\n", dir, name,
		    len < 0 ? "too long" : strerror(saved));
		return -1;
	}
	/* the rename itself on disk */
	(void)fsync(dfd);
	return rc;
}

/* reinject_rollover_store_remove - unlink name */
int
reinject_rollover_store_remove(int dfd, const char *dir, const char *name,
    struct buf *err)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	buf_printf(err, "%s/%s: cannot remove it: %s\n", dir, name, strerror(errno));
	return -1;
}
