/*
 * spool.c - the spool's life: recovery at open, the broker thread's append, close.
 *
 * Opening a directory recovers what a previous process left: the
 * checkpoint says where replay starts; segments are listed and their
 * headers checked (a segment with a bad header or another spool's epoch
 * is renamed *.damaged and left alone); the last segment's torn tail, if
 * the process died in the middle of a write, is cut off. Writing always
 * starts a fresh segment. Appending is the only thing the broker thread
 * does per message: encode into a reused buffer, one write(2), publish
 * the new committed position. Contracts in spool.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "precis/crc32c.h"
#include "precis/error.h"
#include "spool.h"

struct seg_info {
	uint64_t segno;
	uint64_t size;
	uint64_t first_seq;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_info *x = a, *y = b;

	return x->segno < y->segno ? -1 : x->segno > y->segno;
}

/* read_checkpoint - parse the checkpoint file; false when absent or unreadable. */
static bool read_checkpoint(struct store__spool *s, uint64_t *epoch, struct store__pos *p)
{
	char buf[512], again[256];
	uint32_t crc;
	ssize_t n;
	int fd = openat(s->dir_fd, "checkpoint", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf,
	           "precis-store checkpoint 1\nepoch %" SCNx64 "\nseg %" SCNu64 "\noff %" SCNu64
	           "\nseq %" SCNu64 "\ncrc %" SCNx32,
	           epoch, &p->seg, &p->off, &p->seq, &crc) != 5)
		return false;
	store__spool_checkpoint_text(again, sizeof again, *epoch, p);
	return strcmp(again, buf) == 0;
}

/* list_segments - the seg-*.spool files of the directory, sorted; NULL + *n = 0 if none. */
static struct seg_info *list_segments(struct store__spool *s, size_t *n)
{
	struct seg_info *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	int fd = dup(s->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		uint64_t segno;
		char tail[16] = "";

		if (sscanf(e->d_name, "seg-%16" SCNx64 "%15s", &segno, tail) != 2 ||
		    strcmp(tail, ".spool") != 0 || strlen(e->d_name) != 26)
			continue;
		if (*n == cap) {
			struct seg_info *w = realloc(v, (cap ? 2 * cap : 16) * sizeof *w);

			if (!w)
				break;
			v = w;
			cap = cap ? 2 * cap : 16;
		}
		v[(*n)++] = (struct seg_info){segno, 0, 0};
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, seg_cmp);
	return v;
}

/* check_segment - read seg's header; false (after renaming it *.damaged) when it is bad. */
static bool check_segment(struct store__spool *s, struct seg_info *g, bool *epoch_known)
{
	uint8_t buf[STORE_SEG_HEADER_SIZE];
	struct store__seg_header h;
	char name[64], bad[80];
	struct stat st;
	bool ok = false;
	int fd;

	store__spool_seg_name(name, sizeof name, g->segno);
	fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 &&
	    pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf &&
	    store__seg_header_decode(buf, sizeof buf, &h) == PC_OK && h.segno == g->segno) {
		if (!*epoch_known) {
			s->epoch = h.epoch;
			*epoch_known = true;
		}
		ok = h.epoch == s->epoch;
		g->size = (uint64_t)st.st_size;
		g->first_seq = h.first_seq;
	}
	if (fd >= 0)
		close(fd);
	if (!ok) {
		snprintf(bad, sizeof bad, "%s.damaged", name);
		renameat(s->dir_fd, name, s->dir_fd, bad);
		pc_log(s->log, PC_LOG_ERR,
		       "spool %s: %s has a bad header or belongs to another spool; renamed to %s, "
		       "its records are not replayed",
		       s->dir, name, bad);
	}
	return ok;
}

/*
 * recover_tail - cut a torn record off the end of segment g and raise
 * *next_seq past its last record. PC_ERR_IO when the segment cannot be
 * read: then its tail is unknown, and cutting or reusing seqs could lose
 * records, so the spool does not open.
 */
static int recover_tail(struct store__spool *s, struct seg_info *g, uint64_t *next_seq, char *err,
                        size_t errlen)
{
	uint64_t end, last = 0;
	bool any;
	char name[64];
	int fd;

	store__spool_seg_name(name, sizeof name, g->segno);
	fd = openat(s->dir_fd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return PC_OK;
	if (store__spool_scan_tail(s, fd, g->size, &end, &last, &any) != PC_OK) {
		close(fd);
		return pc_errf(err, errlen, PC_ERR_IO, "cannot read %s/%s: %s", s->dir, name,
		               strerror(s->read_errno));
	}
	if (end < g->size) {
		pc_log(s->log, PC_LOG_WARNING,
		       "spool %s: %s ends in %" PRIu64 " bytes of a torn record; cut off", s->dir,
		       name, g->size - end);
		if (ftruncate(fd, (off_t)end) == 0)
			g->size = end;
	}
	close(fd);
	if (g->first_seq > *next_seq)
		*next_seq = g->first_seq;
	if (any && last + 1 > *next_seq)
		*next_seq = last + 1;
	return PC_OK;
}

/* new_segment - create segment segno for writing, starting at seq; becomes s->wfd. */
static int new_segment(struct store__spool *s, uint64_t segno, uint64_t seq, char *err,
                       size_t errlen)
{
	uint8_t h[STORE_SEG_HEADER_SIZE];
	struct store__seg_header sh = {s->epoch, segno, seq};
	char name[64];
	int fd;

	store__spool_seg_name(name, sizeof name, segno);
	fd = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot create %s/%s: %s", s->dir, name,
		               strerror(errno));
	store__seg_header_encode(h, &sh);
	if (write(fd, h, sizeof h) != (ssize_t)sizeof h) {
		int e = errno;

		close(fd);
		unlinkat(s->dir_fd, name, 0);
		return pc_errf(err, errlen, PC_ERR_IO, "cannot write %s/%s: %s", s->dir, name,
		               strerror(e));
	}
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = fd;
	s->wseg = segno;
	s->woff = sizeof h;
	atomic_fetch_add(&s->bytes, (uint64_t)sizeof h);
	pthread_mutex_lock(&s->lock);
	s->committed = (struct store__pos){segno, sizeof h, seq};
	pthread_mutex_unlock(&s->lock);
	return PC_OK;
}

static int lock_dir(struct store__spool *s, char *err, size_t errlen)
{
	char pid[32];
	int n;

	s->lock_fd = openat(s->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot open %s/lock: %s", s->dir,
		               strerror(errno));
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return pc_errf(err, errlen, PC_ERR_IO,
		               "spool directory %s is in use by another process (%s)", s->dir,
		               errno == EWOULDBLOCK ? "locked" : strerror(errno));
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pid, (size_t)n, 0) != n)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot write %s/lock", s->dir);
	return PC_OK;
}

/* recover - apply the checkpoint and the segments found to s; returns PC_OK or an error. */
static int recover(struct store__spool *s, char *err, size_t errlen)
{
	struct store__pos ck = {0, 0, 0};
	bool have_ck, epoch_known;
	struct seg_info *segs;
	size_t nseg, live = 0;
	uint64_t next_seq, last_segno, total = 0;
	int rc;

	have_ck = read_checkpoint(s, &s->epoch, &ck);
	epoch_known = have_ck;
	segs = list_segments(s, &nseg);
	for (size_t i = 0; i < nseg; i++) {
		if (check_segment(s, &segs[i], &epoch_known))
			segs[live++] = segs[i];
	}
	if (!epoch_known) {
		while (getrandom(&s->epoch, sizeof s->epoch, 0) != (ssize_t)sizeof s->epoch) {
			if (errno != EINTR) {
				free(segs);
				return pc_errf(err, errlen, PC_ERR_IO, "getrandom: %s",
				               strerror(errno));
			}
		}
	}
	next_seq = ck.seq;
	if (live > 0 && (rc = recover_tail(s, &segs[live - 1], &next_seq, err, errlen)) != PC_OK) {
		free(segs);
		return rc;
	}
	last_segno = live > 0 ? segs[live - 1].segno : 0;
	if (ck.seg > last_segno)
		last_segno = ck.seg;

	/* Where replay starts: the checkpoint, or the oldest segment still there. */
	s->rpos = (struct store__pos){last_segno + 1, STORE_SEG_HEADER_SIZE, next_seq};
	for (size_t i = 0; i < live; i++) {
		if (have_ck && segs[i].segno < ck.seg)
			continue;
		if (have_ck && segs[i].segno == ck.seg && ck.off >= STORE_SEG_HEADER_SIZE &&
		    ck.off <= segs[i].size)
			s->rpos = ck;
		else
			s->rpos = (struct store__pos){segs[i].segno, STORE_SEG_HEADER_SIZE,
			                              segs[i].first_seq};
		break;
	}
	for (size_t i = 0; i < live; i++) {
		char name[64];

		store__spool_seg_name(name, sizeof name, segs[i].segno);
		if (segs[i].segno < s->rpos.seg)
			unlinkat(s->dir_fd, name, 0); /* handled before the checkpoint */
		else
			total += segs[i].size;
	}
	free(segs);
	atomic_store(&s->bytes, total);
	s->first_seg = s->rpos.seg;
	s->synced_seg = s->rpos.seg;
	s->recovered_records = next_seq > s->rpos.seq ? next_seq - s->rpos.seq : 0;

	s->next_seq = next_seq;
	rc = new_segment(s, last_segno + 1, next_seq, err, errlen);
	if (rc != PC_OK)
		return rc;
	if (s->rpos.seg > s->wseg)
		s->rpos = s->committed;
	s->saved = s->rpos;
	/* Persist the epoch (and where replay starts) before any sample id is used. */
	return store__spool_checkpoint(s, &s->rpos, false) == PC_OK
	           ? PC_OK
	           : pc_errf(err, errlen, PC_ERR_IO, "cannot write %s/checkpoint", s->dir);
}

/* store__spool_open - contract in spool.h. */
int store__spool_open(struct store__spool *s, const char *dir, uint64_t max_bytes,
                      uint64_t seg_bytes, const struct pc_logger *log, char *err, size_t errlen)
{
	int rc;

	memset(s, 0, sizeof *s);
	s->dir_fd = s->lock_fd = s->wfd = s->rfd = s->qfd = -1;
	s->log = log;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->bytes, 0);
	if (seg_bytes < 4096 || max_bytes < 2 * seg_bytes)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "segment size must be >= 4k and at most half the spool size");
	s->max_bytes = max_bytes;
	s->seg_bytes = seg_bytes;
	s->dir = strdup(dir);
	if (!s->dir)
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot create %s: %s", dir,
		               strerror(errno));
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return pc_errf(err, errlen, PC_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
	rc = lock_dir(s, err, errlen);
	if (rc == PC_OK)
		rc = recover(s, err, errlen);
	return rc;
}

/* store__spool_close - contract in spool.h. */
void store__spool_close(struct store__spool *s)
{
	int *fds[] = {&s->wfd, &s->rfd, &s->qfd, &s->lock_fd, &s->dir_fd};

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(s->wbuf);
	free(s->rbuf);
	free(s->dir);
	s->wbuf = s->rbuf = NULL;
	s->dir = NULL;
	pthread_mutex_destroy(&s->lock);
}

/* write_all - write len bytes of p to fd; false (errno set) on failure. */
static bool write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* store__spool_append - contract in spool.h. */
int store__spool_append(struct store__spool *s, int64_t recv_ms, int qos, const char *topic,
                        size_t topic_len, const void *payload, size_t payload_len, uint64_t *seq,
                        char *err, size_t errlen)
{
	size_t size = store__record_size(topic_len, payload_len);
	bool rotate = s->woff > STORE_SEG_HEADER_SIZE && s->woff + size > s->seg_bytes;
	uint64_t need = size + (rotate ? STORE_SEG_HEADER_SIZE : 0);
	int rc;

	if (topic_len > UINT16_MAX || size - STORE_REC_HEADER_SIZE > STORE_REC_BODY_MAX)
		return pc_errf(err, errlen, PC_ERR_FULL, "record too large");
	if (atomic_load_explicit(&s->bytes, memory_order_relaxed) + need > s->max_bytes)
		return PC_ERR_FULL;
	if (size > s->wcap) {
		uint8_t *b = realloc(s->wbuf, size);

		if (!b)
			return pc_errf(err, errlen, PC_ERR_IO, "out of memory");
		s->wbuf = b;
		s->wcap = size;
	}
	if (rotate || s->wfd < 0) {
		rc = new_segment(s, s->wseg + 1, s->next_seq, err, errlen);
		if (rc != PC_OK)
			return rc;
	}
	store__record_encode(s->wbuf, s->next_seq, recv_ms, qos, topic, topic_len, payload,
	                     payload_len);
	if (!write_all(s->wfd, s->wbuf, size)) {
		int e = errno;

		if (ftruncate(s->wfd, (off_t)s->woff) != 0) {
			/* The segment may hold a torn record now: start a new one next time. */
			close(s->wfd);
			s->wfd = -1;
		}
		return pc_errf(err, errlen, PC_ERR_IO, "spool write: %s", strerror(e));
	}
	s->woff += size;
	atomic_fetch_add_explicit(&s->bytes, size, memory_order_relaxed);
	*seq = s->next_seq++;
	pthread_mutex_lock(&s->lock);
	s->committed = (struct store__pos){s->wseg, s->woff, s->next_seq};
	pthread_mutex_unlock(&s->lock);
	return PC_OK;
}
