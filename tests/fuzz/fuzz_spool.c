/*
 * fuzz_spool.c - the store's spool record reader: the record codec
 * (plugins/store/spool_format.c), the tail scan recovery runs on the last
 * segment (store__spool_scan_tail, spool_read.c), and the whole path a
 * restarted store takes over a segment it finds on disk: store__spool_open
 * (spool.c: recovery) and store__spool_next until the reader has caught up.
 *
 * Input: the bytes of one segment file. Properties: a segment header that
 * decodes re-encodes to the same fields and bytes (its reserved word aside);
 * walking the records from offset 48 in memory (decode; on damage resync to
 * the next candidate; stop at a record cut off by the end) only ever decodes
 * records that lie inside the buffer, each re-encoding to exactly its own
 * bytes, and resync always moves forward to a place where decode sees no
 * damage; the tail scan, run on a memfd holding the input, ends where that
 * walk ends, with the same last seq; and a spool directory holding the input
 * as its only segment opens, and its reader returns exactly the records the
 * same walk finds in what recovery kept of the segment (the input cut after
 * its last good record), in order, byte for byte (none when the header is
 * bad: the segment is then set aside). The directory is made once, under
 * /dev/shm when it exists, and emptied after each input.
 *
 * The reader is compared with the walk of the kept bytes in which a record
 * cut off by their end counts as damage (the reader knows the kept bytes
 * end on a record boundary), and every good record of the walk of the
 * whole input must be among them: a damaged record before an intact one
 * may claim a length that reaches past the cut, and the reader used to
 * take it for a torn tail and never replay the intact record after it
 * (regressions/spool/damaged-length-past-the-cut).
 */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "precis/error.h"
#include "spool.h"
#include "spool_format.h"

/* Segment numbers past this are not tried on disk: the next one would wrap around. */
#define SEGNO_MAX (UINT64_C(1) << 48)

/* What the walk in memory found: the good records' offsets and sizes, in order. */
struct walk {
	size_t end; /* after the last good record (48 when none) */
	size_t n, cap;
	size_t *off, *size;
};

static void walk(const uint8_t *buf, size_t len, bool boundary, struct walk *w)
{
	size_t off = STORE_SEG_HEADER_SIZE;
	uint8_t *again = NULL;

	w->end = off;
	while (off < len) {
		struct store__record r;
		int rc = store__record_decode(buf + off, len - off, &r);

		FUZZ_CHECK(rc == PC_OK || rc == PC_ERR_EMPTY || rc == PC_ERR_INVAL);
		if (rc == PC_ERR_EMPTY && !boundary)
			break;
		if (rc == PC_ERR_EMPTY)
			rc = PC_ERR_INVAL; /* past a record boundary: a damaged length */
		if (rc == PC_ERR_INVAL) {
			size_t k = store__record_resync(buf + off, len - off);

			FUZZ_CHECK(k >= 1 && k <= len - off);
			if (k < len - off)
				FUZZ_CHECK(store__record_decode(buf + off + k, len - off - k, &r) !=
				           PC_ERR_INVAL);
			off += k;
			continue;
		}
		FUZZ_CHECK(r.size >= STORE_REC_HEADER_SIZE + STORE_REC_FIXED_SIZE);
		FUZZ_CHECK(r.size <= len - off);
		FUZZ_CHECK((const uint8_t *)r.topic >= buf + off &&
		           (const uint8_t *)r.topic + r.topic_len <= buf + off + r.size);
		FUZZ_CHECK(r.payload >= buf + off &&
		           r.payload + r.payload_len <= buf + off + r.size);
		FUZZ_CHECK(store__record_size(r.topic_len, r.payload_len) == r.size);
		again = realloc(again, r.size);
		FUZZ_CHECK(again);
		FUZZ_CHECK(store__record_encode(again, r.seq, r.recv_ms, r.qos, r.topic,
		                                r.topic_len, r.payload, r.payload_len) == r.size);
		FUZZ_CHECK(memcmp(again, buf + off, r.size) == 0);
		if (w->n == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 16;
			w->off = realloc(w->off, w->cap * sizeof *w->off);
			w->size = realloc(w->size, w->cap * sizeof *w->size);
			FUZZ_CHECK(w->off && w->size);
		}
		w->off[w->n] = off;
		w->size[w->n++] = r.size;
		off += r.size;
		w->end = off;
	}
	free(again);
}

/* The last good record's seq, from the walk. */
static uint64_t last_seq(const uint8_t *buf, const struct walk *w)
{
	struct store__record r;

	FUZZ_CHECK(store__record_decode(buf + w->off[w->n - 1], w->size[w->n - 1], &r) == PC_OK);
	return r.seq;
}

static void check_tail_scan(const uint8_t *buf, size_t size, const struct walk *w)
{
	static int fd = -1;
	struct store__spool s;
	uint64_t end, seq = 0;
	bool any;

	if (fd < 0) {
		fd = memfd_create("fuzz_spool", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(pwrite(fd, buf, size, 0) == (ssize_t)size);
	memset(&s, 0, sizeof s);
	s.dir_fd = s.lock_fd = s.wfd = s.rfd = s.qfd = -1;
	FUZZ_CHECK(store__spool_scan_tail(&s, fd, size, &end, &seq, &any) == PC_OK);
	FUZZ_CHECK(end == w->end && any == (w->n > 0));
	FUZZ_CHECK(!any || seq == last_seq(buf, w));
	free(s.rbuf);
}

static char dir_path[256];

static void remove_dir(void)
{
	rmdir(dir_path);
}

/* The spool directory, made at the first call and removed (empty) at exit. */
static const char *spool_dir(void)
{
	if (!dir_path[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		snprintf(dir_path, sizeof dir_path, "%s/fuzz_spool.XXXXXX", base);
		FUZZ_CHECK(mkdtemp(dir_path));
		atexit(remove_dir);
	}
	return dir_path;
}

/* Remove every file of the spool directory (it holds no subdirectories). */
static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	FUZZ_CHECK(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			FUZZ_CHECK(unlinkat(dirfd(d), e->d_name, 0) == 0);
	closedir(d);
}

static void check_reader(const uint8_t *buf, size_t size, const struct walk *w, bool header_ok)
{
	const char *dir = spool_dir();
	struct store__spool s;
	struct store__record r;
	struct store__pos after;
	struct store__seg_header h;
	char path[512], err[256];
	size_t n = 0;
	int fd, rc;

	if (header_ok) {
		FUZZ_CHECK(store__seg_header_decode(buf, size, &h) == PC_OK);
		if (h.segno >= SEGNO_MAX)
			return;
	} else {
		h.segno = 1;
	}
	snprintf(path, sizeof path, "%s/seg-%016" PRIx64 ".spool", dir, h.segno);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, buf, size) == (ssize_t)size);
	close(fd);

	FUZZ_CHECK(store__spool_open(&s, dir, UINT64_C(1) << 30, UINT64_C(1) << 20, NULL, err,
	                             sizeof err) == PC_OK);
	while ((rc = store__spool_next(&s, &r, &after)) == PC_OK) {
		FUZZ_CHECK(header_ok && n < w->n);
		FUZZ_CHECK(r.size == w->size[n]);
		FUZZ_CHECK(
		    memcmp((const uint8_t *)r.topic - STORE_REC_HEADER_SIZE - STORE_REC_FIXED_SIZE,
		           buf + w->off[n], r.size) == 0);
		n++;
	}
	FUZZ_CHECK(rc == PC_ERR_EMPTY);
	FUZZ_CHECK(n == (header_ok ? w->n : 0));
	store__spool_close(&s);
	empty_dir(dir);
}

/* LLVMFuzzerTestOneInput - contract in fuzz.h; the input is the one described at the top. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = calloc(1, size ? size : 1), hdr[STORE_SEG_HEADER_SIZE];
	struct store__seg_header h, h2;
	struct walk w = {0}, kept = {0};
	bool header_ok;

	FUZZ_CHECK(buf);
	if (size)
		memcpy(buf, data, size);
	header_ok = store__seg_header_decode(buf, size, &h) == PC_OK;
	if (header_ok) {
		/* The reserved word is not checked (only covered by the CRC): all but it and
		 * the CRC re-encode to the same bytes, and the encoding decodes to the same. */
		store__seg_header_encode(hdr, &h);
		FUZZ_CHECK(memcmp(hdr, buf, 40) == 0);
		FUZZ_CHECK(store__seg_header_decode(hdr, sizeof hdr, &h2) == PC_OK);
		FUZZ_CHECK(h2.epoch == h.epoch && h2.segno == h.segno &&
		           h2.first_seq == h.first_seq);
	}
	if (size > STORE_SEG_HEADER_SIZE) {
		walk(buf, size, false, &w);
		check_tail_scan(buf, size, &w);
		walk(buf, w.end, true, &kept);
		/* Nothing recovery kept is skipped: every good record is read. */
		for (size_t i = 0, j = 0; i < w.n; i++) {
			while (j < kept.n && kept.off[j] < w.off[i])
				j++;
			FUZZ_CHECK(j < kept.n && kept.off[j] == w.off[i]);
		}
		check_reader(buf, size, &kept, header_ok);
	}
	free(w.off);
	free(w.size);
	free(kept.off);
	free(kept.size);
	free(buf);
	return 0;
}
