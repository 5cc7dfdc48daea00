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

/* One slot's step; a new status is said once. t0: when the slot's transfer began. */
static int64_t
step(struct kn_node *n, struct kr_xfer *x, const char *what, int32_t *seen, uint32_t *gen,
     int64_t *t0)
{
	char why[512] = "";
	int64_t did = kr_xfer_io_step(x, NULL, n->log_path, n->cfg.cluster_id, XFER_STEP_BYTES, why,
				      sizeof(why));
	int32_t st = kr_xfer_status(x);

	if (x->io_gen != *gen) { /* a new request taken up */
		*gen = x->io_gen;
		*t0 = kn_now_us();
	}
	if (st != *seen && kr_xfer_answered(x)) {
		*seen = st;
		if (st == KR_XFER_DONE) {
			uint64_t bytes = atomic_load(&x->in_size);
			double secs = (double)(kn_now_us() - *t0) / 1e6;

			kn_log(n, "snapshot",
			       "received snapshot %" PRIu64 "-%u from the leader: %" PRIu64
			       " bytes in %.3f s (%.1f MB/s, written, synced and checked), named; "
			       "installing it",
			       x->io_id.end_offset, x->io_id.epoch, bytes, secs,
			       secs > 0 ? (double)bytes / secs / 1e6 : 0.0);
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
	int32_t seen_out[KR_XFER_OUT_MAX], seen_in = KR_XFER_BUSY;
	uint32_t gen_out[KR_XFER_OUT_MAX] = {0}, gen_in = 0;
	int64_t t0_out[KR_XFER_OUT_MAX] = {0}, t0_in = 0;

	for (uint32_t i = 0; i < KR_XFER_OUT_MAX; i++)
		seen_out[i] = KR_XFER_BUSY;
	for (;;) {
		int64_t did = 0;
		bool open = n->xfer_in.io_mode != KR_XFER_IDLE;

		for (uint32_t i = 0; i < n->cfg.xfer_sends; i++) {
			did += step(n, &n->xfer_out[i], "sending a snapshot", &seen_out[i],
				    &gen_out[i], &t0_out[i]);
			open = open || n->xfer_out[i].io_mode != KR_XFER_IDLE;
		}
		did += step(n, &n->xfer_in, "taking the leader's snapshot", &seen_in, &gen_in,
			    &t0_in);
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
