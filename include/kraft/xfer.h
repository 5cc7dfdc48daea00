/* kraftd: a snapshot transfer's bytes between the dataplane and the snapshot I/O thread.
 *
 * The poll thread never touches a snapshot file. Each transfer has a slot: a window of
 * cap bytes over the file's positions, a single-producer single-consumer ring whose two
 * ends are file positions (head: one past the last byte put; tail: the first byte not
 * yet taken), so memory per transfer is the window, never the file.
 *
 *   OUT (the leader sends a snapshot): the I/O thread reads the file ahead into the
 *       window (producer); the dataplane sends frames from it and releases what the
 *       fetcher asks past (consumer). A request for a position outside the window is a
 *       seek: the I/O thread starts again there.
 *   IN (a follower takes one): the dataplane copies each frame's bytes in (producer);
 *       the I/O thread writes them to the .part file (consumer), and once all size
 *       bytes are there it syncs the file, checks every chunk and the end (a snapshot
 *       damaged in flight, or another cluster's, is refused), renames it to its final
 *       name and syncs the directory: then the transfer is DONE and may be installed.
 *
 * Who writes what. The dataplane asks (req_*: written, then req_gen bumped with release
 * order); the I/O thread answers a request by setting size and status and then ack_gen
 * to the same number. While ack_gen != req_gen the dataplane neither reads nor releases
 * window bytes. For OUT the I/O thread sets head = tail = the position asked before it
 * answers; for IN the dataplane sets them to 0 before it asks (the I/O thread is idle on
 * that slot then). Bytes travel, never pointers: a frame the dataplane builds points into
 * the window only until it is encoded, and the I/O thread never writes below tail + cap.
 *
 * The I/O side (kr_xfer_io_step) is library code run by the node's snapshot I/O thread
 * and by kraftsim's actor on its simulated disks; the window calls below are pure.
 */
#ifndef KRAFT_XFER_H
#define KRAFT_XFER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/fs.h"
#include "kraft/snapshot.h"

/* IN: the written bytes are handed to the disk's writeback every this many */
#define KR_XFER_WRITEBACK_BYTES (8u << 20)

enum kr_xfer_mode {
	KR_XFER_IDLE = 0, /* no transfer: the I/O thread closes what it had open */
	KR_XFER_OUT,	  /* read the snapshot from req_pos on into the window */
	KR_XFER_IN,	  /* write the window to the snapshot's .part file, in_size bytes */
};

enum kr_xfer_status {
	KR_XFER_BUSY = 0, /* working (or not answered yet) */
	KR_XFER_DONE = 1, /* IN: the file is whole, checked, durable and named */
	/* otherwise a negative errno: -ENOENT (OUT: no such snapshot), -EBADMSG (IN: the
	 * bytes received are not a whole snapshot), -EXDEV (IN: another cluster's),
	 * -ENOSPC, -EIO ... */
};

struct kr_xfer {
	/* the dataplane's request: the fields, then req_gen; the I/O thread reads req_gen,
	 * the fields, and req_gen again (a request replaced meanwhile is read again) */
	_Atomic uint32_t req_gen;
	_Atomic uint8_t req_mode; /* enum kr_xfer_mode */
	_Atomic uint64_t req_end; /* the snapshot id */
	_Atomic uint32_t req_epoch;
	_Atomic uint64_t req_pos; /* OUT: where to read from */
	/* IN: the file's length as the leader says it, 0 until its first answer (stored
	 * after the request was answered, before the first byte is put) */
	_Atomic uint64_t in_size;
	/* the I/O thread's answer */
	_Atomic uint32_t ack_gen;
	_Atomic int32_t status; /* enum kr_xfer_status or -errno */
	_Atomic uint64_t size;	/* OUT: the file's length (with the answer) */
	/* the window */
	uint8_t *buf;
	uint32_t cap; /* a power of two */
	_Atomic uint64_t head;
	_Atomic uint64_t tail;
	/* the I/O thread's own (no one else reads them) */
	uint32_t io_gen;
	int io_h; /* the open file, or -1 */
	uint8_t io_mode;
	struct kr_snap_id io_id;
	uint64_t io_size;  /* OUT: the file's length */
	uint64_t io_wb;	   /* IN: bytes handed to writeback so far */
	uint32_t wb_every; /* IN: hand them over every this many (KR_XFER_WRITEBACK_BYTES) */
};

/** OUT, once answered: the file's length. */
static inline uint64_t
kr_xfer_size(const struct kr_xfer *x)
{
	return atomic_load_explicit(&x->size, memory_order_relaxed);
}

/** A slot with a window of cap bytes (a power of two, >= 4096) at buf. */
void kr_xfer_init(struct kr_xfer *x, uint8_t *buf, uint32_t cap);

/* ---- the dataplane's side (pure: no I/O, no clock) ---- */

/** Ask for mode on id (OUT: read from pos). Any earlier request is void. IN: once it is
 *  answered, kr_xfer_in_size, then kr_xfer_put from position 0 on. */
void kr_xfer_request(struct kr_xfer *x, enum kr_xfer_mode mode, struct kr_snap_id id, uint64_t pos);

/** IN: the file's length (from the leader's first answer). */
static inline void
kr_xfer_in_size(struct kr_xfer *x, uint64_t size)
{
	atomic_store_explicit(&x->in_size, size, memory_order_release);
}

/** Has the I/O thread answered the latest request? (then status and size are its) */
static inline bool
kr_xfer_answered(const struct kr_xfer *x)
{
	return atomic_load_explicit(&x->ack_gen, memory_order_acquire) ==
	       atomic_load_explicit(&x->req_gen, memory_order_relaxed);
}

static inline int32_t
kr_xfer_status(const struct kr_xfer *x)
{
	return atomic_load_explicit(&x->status, memory_order_acquire);
}

/**
 * OUT: the bytes at pos that are in the window, up to max, contiguous in memory (a view
 * ends at the ring's end: ask again from there). @return the length (0: none there yet),
 * with *p set; or -ERANGE if the request is not answered yet or pos is outside the
 * window (below tail, or past head: a seek is needed).
 */
int64_t kr_xfer_peek(const struct kr_xfer *x, uint64_t pos, uint32_t max, const uint8_t **p);

/** OUT: the fetcher holds everything below pos (tail <= pos <= head): the I/O thread may
 *  read over it. Views below pos are void from here. */
void kr_xfer_release(struct kr_xfer *x, uint64_t pos);

/** IN: room for this many more bytes. */
static inline uint32_t
kr_xfer_room(const struct kr_xfer *x)
{
	uint64_t h = atomic_load_explicit(&x->head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&x->tail, memory_order_acquire);

	return x->cap - (uint32_t)(h - t);
}

/** IN: append len bytes at the head. @return 0, or -ENOSPC (no room: nothing copied). */
int kr_xfer_put(struct kr_xfer *x, const uint8_t *p, uint32_t len);

/* ---- the I/O side ---- */

/**
 * One step of the I/O work on slot x, in directory dir of fs, for cluster_id: take up a
 * new request (close the old file; OUT: open and answer; IN: create the .part file),
 * then move at most budget bytes (OUT: read ahead into the window; IN: write the window
 * out), and for IN, once the file holds every byte, finish it (sync, check, rename, sync
 * the directory). Failures are answered in status (a damaged download's .part file is
 * removed). why (if not NULL) says what failed.
 * @return > 0 if it did something (bytes moved, a request taken up, a file finished),
 *   0 when there was nothing to do (the caller may sleep).
 */
int64_t kr_xfer_io_step(struct kr_xfer *x, const struct kr_fs *fs, const char *dir,
			const uint8_t *cluster_id, uint32_t budget, char *why, size_t why_len);

/** Close what the I/O side holds open (at shutdown). */
void kr_xfer_io_close(struct kr_xfer *x, const struct kr_fs *fs);

#endif /* KRAFT_XFER_H */
