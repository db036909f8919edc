/*
 * spool_read.c - the worker's side of the spool: read, rewind, checkpoint, sync.
 *
 * The reader walks the segments in order through one buffered cursor,
 * reading a complete segment to its end and the segment being written
 * only up to the committed offset, so it never sees half a record. A
 * record that fails its checks is skipped up to the next intact one
 * (magic + length + CRC), and the records lost in between are counted
 * from the gap in their sequence numbers. Also here: the tail scan that
 * recovery uses on the last segment, and the quarantine file. Contracts
 * in spool.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "precis/crc32c.h"
#include "precis/error.h"
#include "spool.h"

#define READ_CHUNK (1u << 20)

void store__spool_seg_name(char *buf, size_t len, uint64_t segno)
{
	snprintf(buf, len, "seg-%016" PRIx64 ".spool", segno);
}

/*
 * fill - make the reader's buffer hold [off, off + need) of fd, reading
 * no further than limit. Returns the bytes available from off (less than
 * need when limit or the end of the file cuts it); 0 with s->read_errno
 * set when the buffer cannot grow (ENOMEM) or pread fails.
 */
static size_t fill(struct store__spool *s, int fd, uint64_t off, size_t need, uint64_t limit)
{
	size_t want, got = 0;

	if (off >= limit)
		return 0;
	if (off >= s->rbase && off + need <= s->rbase + s->rlen)
		return (size_t)(s->rbase + s->rlen - off);
	want = need > READ_CHUNK ? need : READ_CHUNK;
	if (want > limit - off)
		want = (size_t)(limit - off);
	if (want > s->rcap) {
		uint8_t *b = realloc(s->rbuf, want);

		if (!b) {
			s->read_errno = ENOMEM;
			return 0;
		}
		s->rbuf = b;
		s->rcap = want;
	}
	s->rbase = off;
	s->rlen = 0;
	while (got < want) {
		ssize_t n = pread(fd, s->rbuf + got, want - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->read_errno = errno;
			s->rlen = 0;
			return 0;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	s->rlen = got;
	return got;
}

/*
 * step - decode the record at off of fd (bytes before limit). PC_OK:
 * *r is it. PC_ERR_EMPTY: it is cut off by limit (only when limit may cut
 * a record: !boundary). PC_ERR_INVAL: it is damaged, and *next is where
 * the next candidate record starts (limit when there is none). With
 * boundary, limit ends whole records (a sealed segment, or the committed
 * offset of the one being written), so a record that claims to run past
 * it has a damaged length: it is skipped like any damage, and the intact
 * records after it are still read. PC_ERR_IO: the file could not be read
 * (errno in s->read_errno); nothing is known about the record, so nothing
 * is skipped.
 */
static int step(struct store__spool *s, int fd, uint64_t off, uint64_t limit, bool boundary,
                struct store__record *r, uint64_t *next)
{
	size_t avail;
	int rc;

	s->read_errno = 0;
	avail = fill(s, fd, off, STORE_REC_HEADER_SIZE, limit);
	if (s->read_errno)
		return PC_ERR_IO;
	rc = store__record_decode(s->rbuf + (off - s->rbase), avail, r);

	if (rc == PC_ERR_EMPTY && avail >= STORE_REC_HEADER_SIZE) {
		const uint8_t *h = s->rbuf + (off - s->rbase);
		size_t need = STORE_REC_HEADER_SIZE +
		              (size_t)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24);

		avail = fill(s, fd, off, need, limit);
		if (s->read_errno)
			return PC_ERR_IO;
		rc = store__record_decode(s->rbuf + (off - s->rbase), avail, r);
	}
	if (rc == PC_ERR_EMPTY && (boundary || off + avail < limit))
		rc = PC_ERR_INVAL; /* past a boundary, or the file ends before limit: damage */
	if (rc != PC_ERR_INVAL)
		return rc;
	for (uint64_t p = off;;) {
		size_t k;

		avail = fill(s, fd, p, READ_CHUNK, limit);
		if (s->read_errno)
			return PC_ERR_IO;
		if (avail == 0) {
			*next = limit;
			return PC_ERR_INVAL;
		}
		k = store__record_resync(s->rbuf + (p - s->rbase), avail);
		if (k < avail || p + avail >= limit) {
			*next = p + k;
			return PC_ERR_INVAL;
		}
		p += avail - 1;
	}
}

int store__spool_scan_tail(struct store__spool *s, int fd, uint64_t size, uint64_t *valid_end,
                           uint64_t *last_seq, bool *any)
{
	uint64_t off = STORE_SEG_HEADER_SIZE, next;
	struct store__record r;

	*valid_end = off;
	*any = false;
	s->rbase = s->rlen = 0;
	while (off < size) {
		int rc = step(s, fd, off, size, false, &r, &next);

		if (rc == PC_ERR_IO) {
			s->rbase = s->rlen = 0;
			return PC_ERR_IO;
		}
		if (rc == PC_ERR_EMPTY)
			break;
		if (rc == PC_ERR_INVAL) {
			off = next;
			continue;
		}
		*last_seq = r.seq;
		*any = true;
		off += r.size;
		*valid_end = off;
	}
	s->rbase = s->rlen = 0;
	return PC_OK;
}

/* open_seg - make s->rfd the reader's segment seg; false when its file is missing. */
static bool open_seg(struct store__spool *s, uint64_t seg)
{
	char name[64];

	if (s->rfd >= 0 && s->rfd_seg == seg)
		return true;
	if (s->rfd >= 0)
		close(s->rfd);
	s->rbase = s->rlen = 0;
	store__spool_seg_name(name, sizeof name, seg);
	s->rfd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
	s->rfd_seg = seg;
	return s->rfd >= 0;
}

/*
 * count_lost - the records from the reader's seq up to seq are gone. Each
 * is counted once, however often a rewind makes the reader pass it again.
 */
static void count_lost(struct store__spool *s, uint64_t seq)
{
	uint64_t from = s->rpos.seq > s->lost_upto ? s->rpos.seq : s->lost_upto;

	if (seq > from)
		s->lost += seq - from;
	if (seq > s->lost_upto)
		s->lost_upto = seq;
}

/* next_seg - move the reader to the start of the segment after its own. */
static void next_seg(struct store__spool *s, uint64_t last_seg)
{
	struct store__seg_header h;
	uint8_t buf[STORE_SEG_HEADER_SIZE];

	while (s->rpos.seg < last_seg) {
		s->rpos.seg++;
		s->rpos.off = STORE_SEG_HEADER_SIZE;
		if (!open_seg(s, s->rpos.seg))
			continue;
		if (pread(s->rfd, buf, sizeof buf, 0) == (ssize_t)sizeof buf &&
		    store__seg_header_decode(buf, sizeof buf, &h) == PC_OK) {
			count_lost(s, h.first_seq);
			s->rpos.seq = h.first_seq;
		}
		return;
	}
}

/* store__spool_committed - contract in spool.h. */
struct store__pos store__spool_committed(struct store__spool *s)
{
	struct store__pos p;

	pthread_mutex_lock(&s->lock);
	p = s->committed;
	pthread_mutex_unlock(&s->lock);
	return p;
}

/* store__spool_next - contract in spool.h. */
int store__spool_next(struct store__spool *s, struct store__record *r, struct store__pos *after)
{
	for (;;) {
		struct store__pos cm = store__spool_committed(s);
		uint64_t limit, next;
		struct stat st;
		int rc;

		if (s->rpos.seg > cm.seg || (s->rpos.seg == cm.seg && s->rpos.off >= cm.off))
			return PC_ERR_EMPTY;
		if (!open_seg(s, s->rpos.seg)) {
			next_seg(s, cm.seg);
			continue;
		}
		if (s->rpos.seg == cm.seg)
			limit = cm.off;
		else
			limit = fstat(s->rfd, &st) == 0 ? (uint64_t)st.st_size : 0;
		if (s->rpos.off >= limit) {
			next_seg(s, cm.seg);
			continue;
		}
		rc = step(s, s->rfd, s->rpos.off, limit, true, r, &next);
		if (rc == PC_ERR_IO) {
			/* Keep the position: the next call reopens the file and tries again. */
			if (!s->read_failing)
				pc_log(s->log, PC_LOG_ERR,
				       "spool %s: cannot read segment %" PRIu64
				       " at offset %" PRIu64 " (%s); retrying, nothing skipped",
				       s->dir, s->rpos.seg, s->rpos.off, strerror(s->read_errno));
			s->read_failing = true;
			close(s->rfd);
			s->rfd = -1;
			s->rbase = s->rlen = 0;
			return PC_ERR_IO;
		}
		s->read_failing = false;
		if (rc == PC_OK) {
			count_lost(s, r->seq);
			s->rpos.off += r->size;
			s->rpos.seq = r->seq + 1;
			*after = s->rpos;
			return PC_OK;
		}
		if (s->rpos.seg > s->damage_upto.seg ||
		    (s->rpos.seg == s->damage_upto.seg && s->rpos.off >= s->damage_upto.off)) {
			/* Logged once: a rewind passing the damage again says nothing new. */
			pc_log(s->log, PC_LOG_ERR,
			       "spool %s: damaged record in segment %" PRIu64 " at offset %" PRIu64
			       "; skipping %" PRIu64 " bytes",
			       s->dir, s->rpos.seg, s->rpos.off, next - s->rpos.off);
			s->damage_upto = (struct store__pos){s->rpos.seg, next, 0};
		}
		s->rpos.off = next;
	}
}

/* store__spool_position - contract in spool.h. */
struct store__pos store__spool_position(const struct store__spool *s)
{
	return s->rpos;
}

/* store__spool_rewind - contract in spool.h. */
void store__spool_rewind(struct store__spool *s, const struct store__pos *pos)
{
	s->rpos = *pos;
}

/* store__spool_take_lost - contract in spool.h. */
uint64_t store__spool_take_lost(struct store__spool *s)
{
	uint64_t n = s->lost;

	s->lost = 0;
	return n;
}

int store__spool_write_file(struct store__spool *s, const char *name, const void *data, size_t len,
                            bool sync)
{
	char tmp[80];
	const char *p = data;
	int fd, ok = 1;

	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return PC_ERR_IO;
	while (len > 0 && ok) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		if (ok) {
			p += n;
			len -= (size_t)n;
		}
	}
	if (ok && sync)
		ok = fdatasync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (ok)
		ok = renameat(s->dir_fd, tmp, s->dir_fd, name) == 0;
	if (ok && sync)
		ok = fsync(s->dir_fd) == 0;
	if (!ok)
		unlinkat(s->dir_fd, tmp, 0);
	return ok ? PC_OK : PC_ERR_IO;
}

size_t store__spool_checkpoint_text(char *buf, size_t len, uint64_t epoch,
                                    const struct store__pos *p)
{
	int n = snprintf(buf, len,
	                 "precis-store checkpoint 1\nepoch %016" PRIx64 "\nseg %" PRIu64
	                 "\noff %" PRIu64 "\nseq %" PRIu64 "\n",
	                 epoch, p->seg, p->off, p->seq);
	uint32_t crc = pc_crc32c(0, buf, (size_t)n);

	n += snprintf(buf + n, len - (size_t)n, "crc %08" PRIx32 "\n", crc);
	return (size_t)n;
}

/* store__spool_checkpoint - contract in spool.h. */
int store__spool_checkpoint(struct store__spool *s, const struct store__pos *done, bool sync)
{
	char text[256], name[64];
	size_t n = store__spool_checkpoint_text(text, sizeof text, s->epoch, done);

	if (store__spool_write_file(s, "checkpoint", text, n, sync) != PC_OK) {
		pc_log(s->log, PC_LOG_ERR, "spool %s: cannot write the checkpoint: %s", s->dir,
		       strerror(errno));
		return PC_ERR_IO;
	}
	s->saved = *done;
	for (; s->first_seg < done->seg; s->first_seg++) {
		struct stat st;

		store__spool_seg_name(name, sizeof name, s->first_seg);
		if (fstatat(s->dir_fd, name, &st, 0) != 0)
			continue;
		if (unlinkat(s->dir_fd, name, 0) == 0)
			atomic_fetch_sub(&s->bytes, (uint64_t)st.st_size);
		else
			pc_log(s->log, PC_LOG_ERR, "spool %s: cannot delete %s: %s", s->dir, name,
			       strerror(errno));
	}
	if (s->rfd >= 0 && s->rfd_seg < done->seg) {
		close(s->rfd);
		s->rfd = -1;
	}
	return PC_OK;
}

/* store__spool_sync - contract in spool.h. */
int store__spool_sync(struct store__spool *s)
{
	struct store__pos cm = store__spool_committed(s);
	bool created = cm.seg > s->synced_seg;
	char name[64];
	int rc = PC_OK;

	if (s->synced_seg < s->first_seg)
		s->synced_seg = s->first_seg;
	for (uint64_t seg = s->synced_seg; seg <= cm.seg; seg++) {
		int fd;

		store__spool_seg_name(name, sizeof name, seg);
		fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* deleted meanwhile */
		if (fdatasync(fd) != 0) {
			pc_log(s->log, PC_LOG_ERR, "spool %s: fdatasync %s: %s", s->dir, name,
			       strerror(errno));
			rc = PC_ERR_IO;
		}
		close(fd);
	}
	if (created && fsync(s->dir_fd) != 0)
		rc = PC_ERR_IO;
	s->synced_seg = cm.seg;
	return rc;
}

/* quarantine_failed - forget a rejected.spool that failed, so the next call opens it again. */
static int quarantine_failed(struct store__spool *s)
{
	if (s->qfd >= 0)
		close(s->qfd);
	s->qfd = -1;
	return PC_ERR_IO;
}

/* store__spool_quarantine - contract in spool.h. */
int store__spool_quarantine(struct store__spool *s, const struct store__record *r)
{
	size_t size = store__record_size(r->topic_len, r->payload_len);
	uint8_t *buf;
	int rc = PC_OK;

	if (s->qfd < 0) {
		struct stat st;

		s->qfd = openat(s->dir_fd, "rejected.spool",
		                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (s->qfd < 0 || fstat(s->qfd, &st) != 0)
			return quarantine_failed(s);
		s->qbytes = (uint64_t)st.st_size;
		if (s->qbytes == 0) {
			uint8_t h[STORE_SEG_HEADER_SIZE];
			struct store__seg_header sh = {s->epoch, 0, r->seq};

			store__seg_header_encode(h, &sh);
			if (write(s->qfd, h, sizeof h) != (ssize_t)sizeof h) {
				/* No torn header left for the next open to append records to. */
				int trunc = ftruncate(s->qfd, 0);

				(void)trunc;
				return quarantine_failed(s);
			}
			s->qbytes = sizeof h;
		}
	}
	if (s->qbytes + size > s->seg_bytes)
		return PC_ERR_FULL;
	buf = malloc(size);
	if (!buf)
		return PC_ERR_NOMEM;
	store__record_encode(buf, r->seq, r->recv_ms, r->qos, r->topic, r->topic_len, r->payload,
	                     r->payload_len);
	if (write(s->qfd, buf, size) != (ssize_t)size)
		rc = quarantine_failed(s);
	else
		s->qbytes += size;
	free(buf);
	return rc;
}
