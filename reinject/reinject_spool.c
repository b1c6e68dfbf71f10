/*
 * reinject_spool.c - message bytes in memory up to spool_memory_limit, then in
 * an unlinked temporary file of spool_directory (O_TMPFILE where the file
 * system has it, else mkstemp + unlink), so RSS stays flat for large mail and
 * nothing is left behind when the process dies.  Without a directory the
 * spool counts, and keeps the bytes in memory only while they fit its
 * memory limit: the milter front-end keeps no copy (the MTA has one) except
 * a small body a failure report is to include (report_failure_body).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reinject.h"

/* Write-behind buffer of the spool file. */
#define REINJECT_SPOOL_WBUF	(64 * 1024)

/* reinject_spool_init - empty spool */
void
reinject_spool_init(struct reinject_spool *sp, const char *dir,
    size_t memory_limit)
{
	memset(sp, 0, sizeof(*sp));
	buf_init(&sp->mem, memory_limit);
	sp->fd = -1;
	sp->dir = dir;
}

/* reinject_spool_open - create the unlinked file */
static int
reinject_spool_open(struct reinject_spool *sp)
{
	char path[4096];
	int fd;

	fd = open(sp->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/reinject.XXXXXX",
		    sp->dir) >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return -1;
	sp->fd = fd;
	sp->wbuf = xmalloc(REINJECT_SPOOL_WBUF);
	return 0;
}

/* reinject_spool_write_all - write(2) until done */
static int
reinject_spool_write_all(int fd, const char *p, size_t len)
{
	while (len) {
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

/* reinject_spool_flush - write out buffered bytes */
int
reinject_spool_flush(struct reinject_spool *sp)
{
	if (sp->error)
		return -1;
	if (sp->fd < 0 || sp->wlen == 0)
		return 0;
	if (reinject_spool_write_all(sp->fd, sp->wbuf, sp->wlen) < 0) {
		sp->error = errno ? errno : EIO;
		return -1;
	}
	sp->wlen = 0;
	return 0;
}

/* reinject_spool_spill - move the memory part into a new file */
static int
reinject_spool_spill(struct reinject_spool *sp)
{
	if (reinject_spool_open(sp) < 0 ||
	    reinject_spool_write_all(sp->fd, sp->mem.data ? sp->mem.data : "",
	    sp->mem.len) < 0) {
		sp->error = errno ? errno : EIO;
		return -1;
	}
	buf_clear(&sp->mem);
	return 0;
}

/* reinject_spool_write - append; -1 after a failure */
int
reinject_spool_write(struct reinject_spool *sp, const char *p, size_t len)
{
	if (sp->error)
		return -1;
	if (!sp->dir) {
		/* all or nothing: a cut copy would be read as the whole */
		if (sp->mem.max && !sp->dropped && buf_append(&sp->mem, p, len) < 0) {
			buf_clear(&sp->mem);
			sp->dropped = true;
		}
		sp->size += len;
		return 0;
	}
	if (sp->fd < 0 && buf_append(&sp->mem, p, len) == 0) {
		sp->size += len;
		return 0;
	}
	if (sp->fd < 0 && reinject_spool_spill(sp) < 0)
		return -1;
	sp->size += len;
	if (sp->wlen + len > REINJECT_SPOOL_WBUF && reinject_spool_flush(sp) < 0)
		return -1;
	if (len >= REINJECT_SPOOL_WBUF) {
		if (reinject_spool_write_all(sp->fd, p, len) < 0) {
			sp->error = errno ? errno : EIO;
			return -1;
		}
		return 0;
	}
	memcpy(sp->wbuf + sp->wlen, p, len);
	sp->wlen += len;
	return 0;
}

/* reinject_spool_read - up to n bytes at off */
ssize_t
reinject_spool_read(struct reinject_spool *sp, size_t off, char *p, size_t n)
{
	ssize_t r;

	if (off >= sp->size)
		return 0;
	if (!sp->dir && (!sp->mem.max || sp->dropped))
		return -1;	/* counted, not kept */
	if (n > sp->size - off)
		n = sp->size - off;
	if (sp->fd < 0) {
		memcpy(p, sp->mem.data + off, n);
		return (ssize_t)n;
	}
	do
		r = pread(sp->fd, p, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -1;	/* the file is shorter than what we wrote */
	return r;
}

/* reinject_spool_clear - release memory and the file */
void
reinject_spool_clear(struct reinject_spool *sp)
{
	buf_clear(&sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->wbuf);
	sp->fd = -1;
	sp->wbuf = NULL;
	sp->wlen = 0;
	sp->size = 0;
}
