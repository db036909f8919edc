/*
 * spool.h - the store's on-disk spool: every accepted message, until it is in MongoDB.
 *
 * The broker thread appends one record per accepted message (one write(2)
 * into the page cache, so a broker killed with SIGKILL loses nothing it
 * acknowledged) and the worker reads them back in order, writes them to
 * MongoDB, and moves a checkpoint past them; segments wholly before the
 * checkpoint are deleted. The spool is therefore the store's queue: bounded
 * by max_bytes, durable, and replayed from the checkpoint at every start.
 * Byte layout in spool_format.h; files in the spool directory:
 *
 *   seg-<16 hex>.spool   segments, numbered upwards, one written at a time
 *   checkpoint           "everything before (segment, offset, seq) is handled"
 *   rejected.spool       records MongoDB refused (kept for an operator)
 *   lock                 flock'ed by the process using the directory
 *
 * Threads: store__spool_append (and store__spool_full) on the broker
 * thread only; store__spool_next, _rewind, _checkpoint, _sync,
 * _quarantine and _take_lost on the worker only; open and close on the
 * broker thread while no worker runs. The hand-over between the two is the
 * committed position, under a mutex held for a few instructions.
 */
#ifndef PRECIS_STORE_SPOOL_H
#define PRECIS_STORE_SPOOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "precis/log.h"
#include "spool_format.h"

/* A place in the spool: segment, byte offset, and the seq of the record there. */
struct store__pos {
	uint64_t seg;
	uint64_t off;
	uint64_t seq;
};

struct store__spool {
	char *dir;
	int dir_fd;
	int lock_fd;
	uint64_t max_bytes;
	uint64_t seg_bytes;
	uint64_t epoch; /* random, fixed for the life of the directory */
	const struct pc_logger *log;

	/* Writer (broker thread). */
	int wfd;
	uint64_t wseg, woff, next_seq;
	uint8_t *wbuf;
	size_t wcap;

	/* Shared. */
	pthread_mutex_t lock;
	struct store__pos committed; /* after the last complete record; under lock */
	atomic_uint_fast64_t bytes;  /* size of the segment files still present */

	/* Reader (worker). */
	struct store__pos rpos;
	int rfd;
	uint64_t rfd_seg;
	uint8_t *rbuf;
	size_t rcap, rlen;
	uint64_t rbase;                /* file offset of rbuf[0] */
	uint64_t first_seg;            /* lowest segment number still on disk */
	uint64_t synced_seg;           /* segments below this one are fdatasync'ed */
	uint64_t lost;                 /* records lost to damage, not yet taken */
	uint64_t lost_upto;            /* seqs below this are counted in lost already */
	struct store__pos damage_upto; /* damage before this (seg, off) is logged already */
	int read_errno;                /* the last read failure of step (spool_read.c) */
	bool read_failing;             /* logged that reading fails; cleared by a good read */
	struct store__pos saved;       /* the checkpoint on disk */
	int qfd;                       /* rejected.spool, opened on first use */
	uint64_t qbytes;

	/* What recovery found at open, for the log and the counters. */
	uint64_t recovered_records; /* records after the checkpoint */
};

/*
 * store__spool_open - use dir (created, mode 0700, if missing; its parent
 * must exist) with at most max_bytes of segments of seg_bytes each
 * (4 KiB <= seg_bytes, 2 * seg_bytes <= max_bytes). Takes the directory's
 * lock (a second process gets PC_ERR_IO "in use"), reads the checkpoint,
 * truncates a torn record at the end of the last segment, and starts a new
 * segment for writing. The reader starts at the checkpoint: everything
 * after it is replayed. log is used from both threads and must outlive s.
 * Returns PC_OK, PC_ERR_INVAL (bad sizes), PC_ERR_IO or PC_ERR_NOMEM with
 * detail. Call store__spool_close either way.
 */
int store__spool_open(struct store__spool *s, const char *dir, uint64_t max_bytes,
                      uint64_t seg_bytes, const struct pc_logger *log, char *err, size_t errlen);

/* store__spool_close - close every file and free s's memory (the files stay). */
void store__spool_close(struct store__spool *s);

/*
 * store__spool_append - append one record (broker thread). Returns PC_OK
 * with its seq in *seq, PC_ERR_FULL when it would take the spool over
 * max_bytes (nothing written), or PC_ERR_IO when the write failed
 * (nothing kept; the errno text in (err, errlen)).
 */
int store__spool_append(struct store__spool *s, int64_t recv_ms, int qos, const char *topic,
                        size_t topic_len, const void *payload, size_t payload_len, uint64_t *seq,
                        char *err, size_t errlen);

/*
 * store__spool_committed - the position after the last complete record
 * (any thread). committed.seq is the seq the next record will get.
 */
struct store__pos store__spool_committed(struct store__spool *s);

/*
 * store__spool_next - the next record after the reader's position
 * (worker). Returns PC_OK with *r pointing into the reader's buffer
 * (valid until the next call or rewind) and *after the position after it,
 * or PC_ERR_EMPTY when the reader has caught up with the writer. Damaged
 * records are skipped, logged and counted (store__spool_take_lost). A
 * failed read (EIO, ENOMEM) returns PC_ERR_IO, logged once per streak,
 * with the position kept: the next call tries the same record again.
 */
int store__spool_next(struct store__spool *s, struct store__record *r, struct store__pos *after);

/* store__spool_position - the reader's position (worker). */
struct store__pos store__spool_position(const struct store__spool *s);

/* store__spool_rewind - move the reader back (or forward) to pos (worker). */
void store__spool_rewind(struct store__spool *s, const struct store__pos *pos);

/*
 * store__spool_checkpoint - record that everything before done is handled:
 * write the checkpoint file (through a rename; with sync, fdatasync'ed
 * first), then delete the segments wholly before done.seg (worker).
 * Returns PC_OK or PC_ERR_IO (logged; the old checkpoint stays).
 */
int store__spool_checkpoint(struct store__spool *s, const struct store__pos *done, bool sync);

/*
 * store__spool_sync - fdatasync every segment written since the last call
 * (worker), so a power failure cannot lose what was appended before it.
 * Returns PC_OK or PC_ERR_IO (logged).
 */
int store__spool_sync(struct store__spool *s);

/*
 * store__spool_quarantine - append r to rejected.spool unless that file
 * would grow past seg_bytes (worker). Returns PC_OK, PC_ERR_FULL or
 * PC_ERR_IO.
 */
int store__spool_quarantine(struct store__spool *s, const struct store__record *r);

/* store__spool_take_lost - records found damaged since the last call (worker). */
uint64_t store__spool_take_lost(struct store__spool *s);

/* ---- shared by spool.c and spool_read.c only ---- */

/* store__spool_seg_name - "seg-<16 hex>.spool" of segment segno into buf. */
void store__spool_seg_name(char *buf, size_t len, uint64_t segno);

/*
 * store__spool_scan_tail - find the end of the last intact record of the
 * segment open as fd (size bytes long), and that record's seq (*any false
 * when there is none). Damage before intact records is skipped over.
 * Uses the reader's buffer. Returns PC_OK, or PC_ERR_IO when fd cannot be
 * read (nothing is then known about its tail).
 */
int store__spool_scan_tail(struct store__spool *s, int fd, uint64_t size, uint64_t *valid_end,
                           uint64_t *last_seq, bool *any);

/* store__spool_write_file - replace the file name in the spool directory by data, via a rename. */
int store__spool_write_file(struct store__spool *s, const char *name, const void *data, size_t len,
                            bool sync);

/* store__spool_checkpoint_text - the checkpoint file's text for epoch and p into buf. */
size_t store__spool_checkpoint_text(char *buf, size_t len, uint64_t epoch,
                                    const struct store__pos *p);

#endif
