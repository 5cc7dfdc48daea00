/* kraftd: the apply thread and the snapshot writer (include/kraft/node.h).
 *
 * The dataplane hands the apply thread spans of committed batches in log memory (the apply
 * ring: pointers, under the lifetime rule of include/kraft/planes.h); the apply thread
 * applies them in order through the applier (include/kraft/applier.h) and publishes how
 * far it has released them. When a snapshot is due (Kafka's byte and time triggers, or
 * kraftctl snapshot) it freezes an image between two spans and hands it to the writer,
 * which writes it as a snapshot file at its own pace, and then lets the cleaner
 * decide how far the log start may move (docs/DESIGN.md §5, "Retention follows snapshots").
 * Neither thread touches the log itself. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "kraft/applier.h"
#include "kraft/fileio.h"
#include "kraft/node.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"

/* The apply thread sleeps at most this long: the time trigger and kraftctl snapshot are
 * looked at this often at least. */
#define APPLY_NAP_MS 200
/* The writer's nap between cleaner runs. */
#define WRITER_NAP_MS 1000
/* Both threads run at SCHED_IDLE: they take only CPU time nothing else wants, so a
 * snapshot's copy and write never delay the dataplane or a client sharing its cores
 * (measured: at normal priority a 1 GB kv snapshot put the commit p99 from 5 us to 4 ms
 * on 2 cores, docs/BENCHMARKS.md). On a machine whose every core is busy, applying lags
 * and the log is held up to the memory cap (LOG_FULL beyond). */
static void
run_idle(struct kn_node *n, const char *who)
{
	struct sched_param p = {.sched_priority = 0};
	int rc = pthread_setschedparam(pthread_self(), SCHED_IDLE, &p);

	if (rc != 0)
		kn_log(n, who, "cannot run at SCHED_IDLE (%s): at normal priority instead",
		       strerror(rc));
}

static void
snap_publish(struct kn_node *n, struct kr_snap_id id)
{
	char path[sizeof(n->log_path) + KR_SNAP_NAME_MAX + 2], name[KR_SNAP_NAME_MAX];
	struct stat st;

	kr_snap_name(id, false, name);
	snprintf(path, sizeof(path), "%s/%s", n->log_path, name);
	atomic_store(&n->snap_bytes, stat(path, &st) == 0 ? (uint64_t)st.st_size : 0);
	atomic_store(&n->snap_epoch, id.epoch);
	atomic_store(&n->snap_end, id.end_offset);
}

int
kn_apply_open(struct kn_node *n)
{
	const struct kr_node_config *cfg = &n->cfg;
	const struct kr_sm_ops *ops = kr_sm_find(cfg->state_machine);
	struct kr_sm_loaded l;
	int rc;

	n->apply_from = KR_OFFSET_NONE;
	if (ops == NULL) {
		kn_log(n, "start", "no state machine (kraftd.state.machine=none): no snapshots");
		return 0;
	}
	if (cfg->durability == KR_LOG_MEMORY) {
		/* it remembers nothing of an earlier life, its snapshots included */
		rc = kr_mkdir_durable(NULL, n->log_path);
		if (rc == 0 && (rc = kr_snap_remove_all(NULL, n->log_path)) > 0) {
			kn_log(n, "start",
			       "memory mode: removed %d snapshots of an earlier life (the node "
			       "starts empty)",
			       rc);
			rc = 0;
		}
		if (rc != 0) {
			kn_log(n, "start", "refusing to start: %s (snapshots): %s", n->log_path,
			       strerror(-rc));
			return 1;
		}
	}
	rc = kr_snap_remove_parts(NULL, n->log_path);
	if (rc > 0)
		kn_log(n, "start", "removed %d unfinished snapshot files (.snapshot.part)", rc);
	n->applier = calloc(1, sizeof(*n->applier));
	if (n->applier == NULL || kr_applier_init(n->applier, ops, cfg->dedup_window_us) != 0) {
		kn_log(n, "start", "out of memory for the state machine");
		return 1;
	}
	rc = kr_applier_load(n->applier, NULL, n->log_path, cfg->cluster_id, kn_wall_us(), &l);
	for (unsigned i = 0; i < l.damaged && i < KR_SM_SNAPSHOTS_TRIED; i++)
		kn_log(n, "start", "snapshot passed over: %s", l.why[i]);
	if (rc == 0) {
		snap_publish(n, l.meta.id);
		kn_log(n, "start",
		       "state machine %s: loaded snapshot %" PRIu64 "-%u (%" PRIu64
		       " bytes, %u producers, %s voter set); the log is applied from %" PRIu64,
		       ops->name, l.meta.id.end_offset, l.meta.id.epoch,
		       atomic_load(&n->snap_bytes), l.producers,
		       l.voters_len ? "its" : "the static", n->applier->next);
		kr_sm_loaded_free(ops, &l);
	} else if (rc == -ENOENT) {
		kn_log(n, "start", "state machine %s: %s; it starts empty at offset 0", ops->name,
		       l.damaged ? "no whole snapshot" : "no snapshot");
	} else {
		kn_log(n, "start", "refusing to start: loading a snapshot from %s: %s", n->log_path,
		       strerror(-rc));
		return 1;
	}
	if (n->applier->next < kr_log_start(n->log)) {
		kn_log(n, "start",
		       "the log starts at %" PRIu64 ", past the state machine's %" PRIu64
		       " (the snapshot there is damaged or gone): the state machine waits for "
		       "the leader's snapshot; this node asks for one, and stands for no "
		       "election until it has it (unless no leader is heard of for %d election "
		       "timeouts)",
		       kr_log_start(n->log), n->applier->next, KR_STAND_PATIENCE);
		n->stateless = true;
		return 0;
	}
	n->apply_from = n->applier->next;
	atomic_store(&n->apply_released, n->apply_from);
	atomic_store(&n->applying, true);
	return 0;
}

void
kn_apply_close(struct kn_node *n)
{
	if (n->applier == NULL)
		return;
	kr_applier_image_free(&n->snap_img);
	kr_applier_free(n->applier);
	free(n->applier);
	n->applier = NULL;
}

/* Sleep until fd (an eventfd) is written or ms pass; consume what was written. */
void
kn_nap(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, ms) > 0) {
		ssize_t r = read(fd, &v, sizeof(v)); /* nothing there (EAGAIN): no matter */

		(void)r;
	}
}

/* ---- the apply thread ---- */

/* The dataplane installed a snapshot taken from the leader (a span without data, ending
 * at its end): the state is that snapshot's now, and applying goes on from its end.
 * @return whether applying goes on. */
static bool
load_installed(struct kn_node *n, const struct kn_apply_span *sp)
{
	const struct kr_sm_ops *ops = n->applier->ops;
	struct kr_sm_loaded l;
	int rc;

	kr_applier_free(n->applier);
	rc = kr_applier_init(n->applier, ops, n->cfg.dedup_window_us);
	if (rc == 0)
		rc = kr_applier_load(n->applier, NULL, n->log_path, n->cfg.cluster_id, kn_wall_us(),
				     &l);
	atomic_store(&n->applying, false);
	if (rc != 0 || l.meta.id.end_offset < sp->end) {
		kn_log(n, "apply",
		       "cannot load the snapshot installed from the leader (%" PRIu64 "-%u): %s; "
		       "nothing more is applied this run",
		       sp->end, sp->batches,
		       rc != 0 ? strerror(-rc) : "an older one is the newest whole one");
		if (rc == 0)
			kr_sm_loaded_free(ops, &l);
		return false;
	}
	snap_publish(n, l.meta.id);
	atomic_store(&n->applying, true);
	kn_log(n, "apply",
	       "state machine %s: loaded the snapshot %" PRIu64 "-%u installed from the leader "
	       "(%u producers); applying from %" PRIu64,
	       ops->name, l.meta.id.end_offset, l.meta.id.epoch, l.producers, n->applier->next);
	kr_sm_loaded_free(ops, &l);
	return true;
}

/* Apply a span's batches. @return false once the applier refused one (it stops there:
 * the state would no longer be the log's). */
static bool
apply_span(struct kn_node *n, const struct kn_apply_span *sp)
{
	uint32_t pos = 0;

	while (pos + KR_BATCH_HDR_BYTES <= sp->len) {
		struct kr_batch_hdr h;
		int rc;

		kr_batch_hdr_get(sp->data + pos, &h);
		rc = kr_applier_batch(n->applier, sp->data + pos, h.length);
		if (rc != 0) {
			n->apply_stats.refused++;
			kn_log(n, "apply",
			       "the state machine refused the batch at offset %" PRIu64
			       " (%s; it holds everything below %" PRIu64
			       "): nothing more is applied this run",
			       h.base_offset, strerror(-rc), n->applier->next);
			return false;
		}
		n->apply_stats.batches++;
		n->apply_stats.bytes += h.length;
		pos += h.length;
	}
	n->apply_stats.spans++;
	return true;
}

/* Freeze an image for the writer if a snapshot is due and the writer is free. */
static void
maybe_snapshot(struct kn_node *n, int64_t *since)
{
	struct kr_applier *a = n->applier;
	int64_t now = kn_now_us(), t0;
	uint32_t req = atomic_load_explicit(&n->snap_req, memory_order_relaxed);
	bool force;
	int rc;

	if (atomic_load_explicit(&n->snap_done, memory_order_acquire) != req)
		return; /* the writer is busy: the next look comes after it */
	force = atomic_exchange(&n->snap_force, false);
	if (!force &&
	    !kr_applier_due(a, n->cfg.snapshot_bytes, n->cfg.snapshot_interval_us, *since, now))
		return;
	if (a->next == 0 || a->next == a->snapshot.end_offset) {
		if (force)
			kn_log(n, "apply",
			       "snapshot asked for: nothing applied since the last one (%" PRIu64
			       ")",
			       a->next);
		return;
	}
	t0 = kn_now_ns();
	rc = kr_applier_freeze(a, n->cfg.cluster_id, &n->snap_img);
	if (rc != 0) {
		kn_log(n, "apply", "cannot freeze the state for a snapshot: %s", strerror(-rc));
		return;
	}
	n->apply_stats.freeze_ns += (uint64_t)(kn_now_ns() - t0);
	*since = now;
	atomic_store_explicit(&n->snap_req, req + 1, memory_order_release);
	kn_wake_always(n->writer_wake);
}

void *
kn_apply_main(void *arg)
{
	struct kn_node *n = arg;
	int64_t since = kn_now_us();
	bool going = true;

	run_idle(n, "apply");
	for (;;) {
		struct kn_apply_span sp;
		bool got = false;

		/* a few spans, then a look at the snapshot triggers */
		for (int i = 0; i < 16 && rte_ring_sc_dequeue_elem(n->apply, &sp, sizeof(sp)) == 0;
		     i++) {
			got = true;
			if (sp.data == NULL)
				going = load_installed(n, &sp);
			else if (going)
				going = apply_span(n, &sp);
			atomic_store_explicit(&n->apply_released, sp.end, memory_order_release);
		}
		if (going)
			maybe_snapshot(n, &since);
		if (got)
			continue;
		if (atomic_load(&n->dp_done) && !kn_ring_pending(n->apply))
			break;
		atomic_store(&n->apply_sleeping, true);
		atomic_thread_fence(memory_order_seq_cst); /* kn_wake's other half */
		if (!kn_ring_pending(n->apply) && !atomic_load(&n->dp_done) &&
		    !atomic_load(&n->snap_force))
			kn_nap(n->apply_wake, APPLY_NAP_MS);
		atomic_store(&n->apply_sleeping, false);
	}
	atomic_store(&n->apply_done, true);
	kn_wake_always(n->writer_wake);
	return NULL;
}

/* ---- the snapshot writer ---- */

/* The writer's pace: its file writes go through the real file system with a pause after
 * each, so the bytes written since the image began stay at or under snapshot_rate per
 * second. Only the writer thread uses it. */
static struct {
	uint64_t rate;
	int64_t t0_us;
	uint64_t bytes;
	atomic_bool *stop; /* the node is stopping: the write gives up (-ECANCELED) */
} pace;
static struct kr_fs_ops paced_ops;
static struct kr_fs paced_fs;

static int64_t
paced_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	int64_t r;

	if (atomic_load_explicit(pace.stop, memory_order_relaxed))
		return -ECANCELED;
	r = kr_fs_posix()->ops->pwrite(ctx, h, buf, len, off);

	if (r > 0 && pace.rate > 0) {
		int64_t due, now;

		pace.bytes += (uint64_t)r;
		due = pace.t0_us + (int64_t)((double)pace.bytes * 1e6 / (double)pace.rate);
		now = kn_now_us();
		if (due > now) {
			struct timespec ts = {(due - now) / 1000000, (due - now) % 1000000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	return r;
}

/* The cleaner (include/kraft/snapshot.h, THE CLEANER): one step per run; the dataplane's
 * next published log size judges the next. */
static void
clean(struct kn_node *n)
{
	const struct kr_node_config *cfg = &n->cfg;
	struct kr_snap_clean_step st;
	int rc = kr_snap_clean(NULL, n->log_path, atomic_load(&n->log_bytes), cfg->retention_bytes,
			       cfg->retention_ms, kn_wall_us(), &st);

	if (rc < 0) {
		kn_log(n, "snapshot", "retention: %s: %s", n->log_path, strerror(-rc));
		return;
	}
	if (rc == 0)
		return;
	if (st.target > atomic_load(&n->log_start_req))
		atomic_store(&n->log_start_req, st.target);
	kn_log(n, "snapshot",
	       "retention: removed snapshot %" PRIu64 "-%u (%" PRIu64
	       " bytes); the log may start at %" PRIu64 " (log and snapshots held %" PRIu64
	       " bytes)",
	       st.removed.end_offset, st.removed.epoch, st.removed_bytes, st.target, st.total);
}

void *
kn_writer_main(void *arg)
{
	struct kn_node *n = arg;
	uint32_t done = atomic_load(&n->snap_done);
	uint8_t *piece = malloc(KR_SNAP_CHUNK_MAX);

	run_idle(n, "snapshot");
	paced_ops = *kr_fs_posix()->ops;
	paced_ops.pwrite = paced_pwrite;
	paced_fs = (struct kr_fs){.ops = &paced_ops, .ctx = kr_fs_posix()->ctx};
	pace.rate = n->cfg.snapshot_rate;
	pace.stop = &n->apply_done;
	for (;;) {
		uint32_t req = atomic_load_explicit(&n->snap_req, memory_order_acquire);

		if (req == done) {
			if (atomic_load(&n->apply_done))
				break;
			kn_nap(n->writer_wake, WRITER_NAP_MS);
			clean(n);
			continue;
		}
		struct kr_applier_image *img = &n->snap_img;
		int64_t t0 = kn_now_ns();
		int rc = piece == NULL ? -ENOMEM : 0;

		pace.t0_us = kn_now_us();
		pace.bytes = 0;
		if (rc == 0)
			rc = kr_applier_write(img, &paced_fs, n->log_path, piece,
					      KR_SNAP_CHUNK_MAX);
		n->apply_stats.snapshot_ns += (uint64_t)(kn_now_ns() - t0);
		if (rc == 0) {
			snap_publish(n, img->meta.id);
			n->apply_stats.snapshots++;
			atomic_fetch_add(&n->snap_count, 1);
			n->apply_stats.snapshot_bytes += atomic_load(&n->snap_bytes);
			kn_log(n, "snapshot",
			       "wrote snapshot %" PRIu64 "-%u: %" PRIu64 " bytes in %.1f ms",
			       img->meta.id.end_offset, img->meta.id.epoch,
			       atomic_load(&n->snap_bytes), (double)(kn_now_ns() - t0) / 1e6);
		} else {
			n->apply_stats.snapshot_failed++;
			kn_log(n, "snapshot",
			       "cannot write snapshot %" PRIu64 "-%u into %s: %s (nothing of it is "
			       "left; the next one is tried when due)",
			       img->meta.id.end_offset, img->meta.id.epoch, n->log_path,
			       strerror(-rc));
		}
		kr_applier_image_free(img);
		done = req;
		atomic_store_explicit(&n->snap_done, done, memory_order_release);
		kn_wake(n->apply_wake, &n->apply_sleeping);
		if (rc == 0)
			clean(n);
	}
	free(piece);
	return NULL;
}
