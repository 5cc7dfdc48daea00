/* kraftd: the snapshot I/O thread (docs/DESIGN.md §5, "Snapshots between nodes").
 *
 * The dataplane's replication core asks for transfers through slots (include/kraft/xfer.h):
 * as a leader it has a slot read a snapshot ahead into its window, as a follower it has
 * the receiving slot write what arrives into a .part file, check it whole and name it.
 * This thread does that I/O with the library's step (kr_xfer_io_step: the same code
 * kraftsim's I/O actor runs), so the poll thread never touches a snapshot file. It sleeps
 * on its eventfd while no transfer is open, and polls every millisecond while one is
 * (a window waiting for the dataplane to release or fill it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kraft/node.h"
#include "node_int.h"

#define XFER_STEP_BYTES (1u << 20) /* per slot and step: slots take turns */
#define XFER_POLL_MS 1		   /* a transfer open: look again this soon */
#define XFER_IDLE_MS 200	   /* none: the dataplane's wake, or this */

int
kn_xfer_open(struct kn_node *n)
{
	uint32_t w = n->cfg.xfer_window, slots = n->cfg.xfer_sends;

	n->xfer_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->xfer_mem = aligned_alloc(4096, (size_t)w * (slots + 1));
	if (n->xfer_wake < 0 || n->xfer_mem == NULL) {
		kn_log(n, "start", "cannot make the snapshot transfer windows (%u x %u bytes)",
		       slots + 1, w);
		return 1;
	}
	for (uint32_t i = 0; i < slots; i++)
		kr_xfer_init(&n->xfer_out[i], n->xfer_mem + (size_t)w * i, w);
	kr_xfer_init(&n->xfer_in, n->xfer_mem + (size_t)w * slots, w);
	return 0;
}

void
kn_xfer_close(struct kn_node *n)
{
	for (uint32_t i = 0; i < n->cfg.xfer_sends; i++)
		kr_xfer_io_close(&n->xfer_out[i], NULL);
	kr_xfer_io_close(&n->xfer_in, NULL);
	free(n->xfer_mem);
	n->xfer_mem = NULL;
	if (n->xfer_wake >= 0)
		close(n->xfer_wake);
	n->xfer_wake = -1;
}

/* What the I/O thread keeps of one slot's transfer, for its log */
struct slot_log {
	int32_t seen;	   /* the status last said */
	uint32_t gen;	   /* the request it belongs to */
	int64_t t0;	   /* when that request was taken up */
	int64_t t_written; /* IN: when its last byte was written (0: not yet) */
};

/* One slot's step; a new status is said once. */
static int64_t
step(struct kn_node *n, struct kr_xfer *x, const char *what, struct slot_log *sl)
{
	char why[512] = "";
	uint64_t size = atomic_load(&x->in_size);
	int64_t did;
	int32_t st;

	/* every byte written: what this step does is sync, check and name */
	if (x->io_mode == KR_XFER_IN && x->io_gen == sl->gen && size != 0 &&
	    atomic_load(&x->tail) == size && sl->t_written == 0)
		sl->t_written = kn_now_us();
	did = kr_xfer_io_step(x, NULL, n->log_path, n->cfg.cluster_id, XFER_STEP_BYTES, why,
			      sizeof(why));
	st = kr_xfer_status(x);
	if (x->io_gen != sl->gen) { /* a new request taken up */
		sl->gen = x->io_gen;
		sl->t0 = kn_now_us();
		sl->t_written = 0;
	}
	if (st != sl->seen && kr_xfer_answered(x)) {
		sl->seen = st;
		if (st == KR_XFER_DONE) {
			int64_t now = kn_now_us();
			double secs = (double)(now - sl->t0) / 1e6;
			double tail = sl->t_written ? (double)(now - sl->t_written) / 1e6 : 0;

			kn_log(n, "snapshot",
			       "received snapshot %" PRIu64 "-%u from the leader: %" PRIu64
			       " bytes in %.3f s (%.1f MB/s, written, synced and checked: %.3f s "
			       "taking and writing, %.3f s syncing, checking and naming), named; "
			       "installing it",
			       x->io_id.end_offset, x->io_id.epoch, size, secs,
			       secs > 0 ? (double)size / secs / 1e6 : 0.0, secs - tail, tail);
		} else if (st < 0) {
			kn_log(n, "snapshot", "%s: %s", what, why[0] ? why : strerror(-st));
		}
	}
	return did;
}

void *
kn_xfer_main(void *arg)
{
	struct kn_node *n = arg;
	struct slot_log out[KR_XFER_OUT_MAX], in = {.seen = KR_XFER_BUSY};

	for (uint32_t i = 0; i < KR_XFER_OUT_MAX; i++)
		out[i] = (struct slot_log){.seen = KR_XFER_BUSY};
	for (;;) {
		int64_t did = 0;
		bool open = n->xfer_in.io_mode != KR_XFER_IDLE;

		for (uint32_t i = 0; i < n->cfg.xfer_sends; i++) {
			did += step(n, &n->xfer_out[i], "sending a snapshot", &out[i]);
			open = open || n->xfer_out[i].io_mode != KR_XFER_IDLE;
		}
		did += step(n, &n->xfer_in, "taking the leader's snapshot", &in);
		if (did > 0)
			continue;
		if (atomic_load(&n->dp_done))
			break;
		atomic_store(&n->xfer_sleeping, true);
		atomic_thread_fence(memory_order_seq_cst); /* kn_wake's other half */
		kn_nap(n->xfer_wake, open ? XFER_POLL_MS : XFER_IDLE_MS);
		atomic_store(&n->xfer_sleeping, false);
	}
	return NULL;
}
