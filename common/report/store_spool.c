/*
 * store_spool.c - the bounded local spool of the report store: rows the
 * database refused (down, locked, full) are appended here and replayed into
 * it later.  Mail never waits for this: only the batch writer's thread writes.
 *
 * Format: a 16-byte header "MASPOOL1%07zu\n" naming the row size, then whole
 * struct store_row images.  Every worker process appends under flock(LOCK_EX);
 * replay takes rows from the end and truncates after each committed chunk, so
 * a failure part-way never stores a row twice.  Rows past size_limit, rows that
 * cannot be written (disk full) and rows of a spool with another row size are
 * lost: counted and logged, never the mail.  The file is opened with
 * O_NOFOLLOW.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_spool.h"
#include "util.h"

#define SPOOL_HEADER_SIZE	16
/* rows per replay transaction */
#define SPOOL_REPLAY_CHUNK	64

/* spool_header - the header for this build's row size */
static void
spool_header(char *h)
{
	char tmp[SPOOL_HEADER_SIZE + 1];

	snprintf(tmp, sizeof(tmp), "MASPOOL1%07zu\n", sizeof(struct store_row));
	memcpy(h, tmp, SPOOL_HEADER_SIZE);
}

/* spool_open - open and lock; -1 (errno) on failure */
static int
spool_open(const char *path, int flags)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* spool_write_all - write n bytes at off; 0 or -1 */
static int
spool_write_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w, n -= (size_t)w, off += w;
	}
	return 0;
}

/* spool_prepare - size of a valid spool (header written when empty); -1 */
static off_t
spool_prepare(int fd)
{
	struct stat sb;
	char want[SPOOL_HEADER_SIZE], have[SPOOL_HEADER_SIZE];

	if (fstat(fd, &sb) < 0)
		return -1;
	spool_header(want);
	if (sb.st_size < SPOOL_HEADER_SIZE) {
		if (ftruncate(fd, 0) < 0 || spool_write_all(fd, want, sizeof(want), 0) < 0)
			return -1;
		return SPOOL_HEADER_SIZE;
	}
	if (pread(fd, have, sizeof(have), 0) != (ssize_t)sizeof(have) ||
	    memcmp(have, want, sizeof(want)) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* a torn last row (crash during a write) is dropped */
	return sb.st_size - (sb.st_size - SPOOL_HEADER_SIZE) %
	    (off_t)sizeof(struct store_row);
}

/* store_spool_append - append rows; rows kept, the rest counted as lost */
size_t
store_spool_append(struct store_spool *sp, const struct store_row *rows, size_t n)
{
	int fd = spool_open(sp->path, O_RDWR | O_CREAT);
	off_t size;
	size_t room, k = 0;

	if (fd < 0 || (size = spool_prepare(fd)) < 0) {
		log_error("report spool %s: %s", sp->path, strerror(errno));
		goto out;
	}
	room = (size_t)size >= sp->size_limit ? 0 :
	    (sp->size_limit - (size_t)size) / sizeof(struct store_row);
	k = n < room ? n : room;
	if (k && spool_write_all(fd, rows, k * sizeof(*rows), size) < 0) {
		log_error("report spool %s: %s", sp->path, strerror(errno));
		/* keep whole rows only: back to the size before this append */
		if (ftruncate(fd, size) < 0)
			log_error("report spool %s: truncate: %s", sp->path, strerror(errno));
		k = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	sp->spooled += (int64_t)k;
	if (k < n) {
		sp->lost += (int64_t)(n - k);
		log_error("report spool %s: %zu report records lost (%lld in all)",
		    sp->path, n - k, (long long)sp->lost);
	}
	return k;
}

/* spool_replay_chunk - the last rows of the file into the store, then cut
 * them off; rows moved, 0 at the end, -1 when the store refused */
static ssize_t
spool_replay_chunk(struct store_spool *sp, int fd, off_t size, struct store *st,
    struct store_row *buf)
{
	size_t rows = (size_t)(size - SPOOL_HEADER_SIZE) / sizeof(struct store_row);
	size_t n = rows < SPOOL_REPLAY_CHUNK ? rows : SPOOL_REPLAY_CHUNK, ok = 0;
	off_t at = size - (off_t)(n * sizeof(struct store_row));

	if (n == 0)
		return 0;
	if (pread(fd, buf, n * sizeof(*buf), at) != (ssize_t)(n * sizeof(*buf)))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (store_row_valid(&buf[i]))
			buf[ok++] = buf[i];
	if (ok < n) {
		sp->lost += (int64_t)(n - ok);
		log_error("report spool %s: %zu damaged records dropped", sp->path, n - ok);
	}
	if (store_put(st, buf, ok) < 0)
		return -1;
	if (ftruncate(fd, at) < 0)
		log_panic("report spool %s: truncate after replay: %s", sp->path,
		    strerror(errno));
	sp->replayed += (int64_t)ok;
	return (ssize_t)n;
}

/* store_spool_replay - move every spooled row into st; rows moved or -1 */
int64_t
store_spool_replay(struct store_spool *sp, struct store *st)
{
	struct store_row *buf;
	int64_t moved = 0;
	ssize_t n;
	off_t size;
	int fd = spool_open(sp->path, O_RDWR);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((size = spool_prepare(fd)) < 0) {
		log_error("report spool %s: not a spool of this version; set aside as "
		    "%s.bad", sp->path, sp->path);
		store_spool_set_aside(sp);
		close(fd);
		return -1;
	}
	buf = xmalloc(SPOOL_REPLAY_CHUNK * sizeof(*buf));
	while ((n = spool_replay_chunk(sp, fd, size, st, buf)) > 0) {
		moved += n;
		size -= (off_t)((size_t)n * sizeof(struct store_row));
	}
	free(buf);
	close(fd);
	return n < 0 ? -1 : moved;
}

/* store_spool_set_aside - rename a spool that cannot be read to PATH.bad */
void
store_spool_set_aside(struct store_spool *sp)
{
	char bad[4096];

	if ((size_t)snprintf(bad, sizeof(bad), "%s.bad", sp->path) < sizeof(bad))
		(void)rename(sp->path, bad);
}

/* store_spool_rows - rows waiting in the spool (for tests and status) */
int64_t
store_spool_rows(const struct store_spool *sp)
{
	struct stat sb;
	int fd = open(sp->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) < 0 || sb.st_size < SPOOL_HEADER_SIZE) {
		close(fd);
		return 0;
	}
	close(fd);
	return (sb.st_size - SPOOL_HEADER_SIZE) / (off_t)sizeof(struct store_row);
}
