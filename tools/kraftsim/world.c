/* kraftsim: the simulated world of one seed -- rings, clocks, the network, storage,
 * clients and faults -- around the node's own code: kr_election_* and kr_repl_* with
 * the ring handlers kr_control_on_event, kr_control_command and kr_repl_on_cmd. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/applier.h"
#include "kraft/datadir.h"
#include "kraft/errors.h"
#include "kraft/fileio.h"
#include "kraft/le.h"
#include "kraft/restart.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"
#include "sim.h"

#define NEVER INT64_MAX
#define HEAL_LIMIT_US (2 * 1000 * 1000) /* the liveness phase must end within this */

/* Timeouts of the simulated cluster (microseconds): a fast LAN cluster. */
#define T_ELECTION 10000
#define T_FETCH 20000
#define T_BACKOFF 10000
#define T_REQUEST 4000
#define T_WAIT 4000
#define T_RETRY 8000
#define T_CLIENT 30000

/* A frame's API key for the trace (0 if it is no frame). */
static unsigned
peek_api(const uint8_t *b, size_t len)
{
	struct kr_frame_peek p;

	return kr_frame_peek(b, len, &p) == 0 ? p.api : 0;
}

static void *
xcalloc(size_t n, size_t k)
{
	void *p = calloc(n ? n : 1, k ? k : 1);

	if (p == NULL) {
		fprintf(stderr, "kraftsim: out of memory\n");
		exit(2);
	}
	return p;
}

static uint64_t
rnd(struct sim *s, uint64_t n)
{
	return n ? sim_rand(&s->rng) % n : 0;
}

static int64_t
rnd_between(struct sim *s, int64_t lo, int64_t hi)
{
	return hi > lo ? lo + (int64_t)rnd(s, (uint64_t)(hi - lo + 1)) : lo;
}

static bool
chance(struct sim *s, double p)
{
	return p > 0 && (double)(sim_rand(&s->rng) >> 11) * 0x1.0p-53 < p;
}

const char *const sim_fault_names[SIM_FAULT_KINDS] = {
	"crash", "split", "one-way", "isolate", "pause", "jump", "storage", "reformat", "thread",
};

static const char *
plane_name(int64_t plane)
{
	return plane == 0 ? "control" : plane == 1 ? "dataplane" : "flush";
}

/* One event as a line a person can read: what happened, to whom, and the numbers that
 * matter for it. */
static void
trace_format(const struct trace_rec *t, char *buf, size_t n)
{
	static const char *const drop_why[] = {"at random", "by a cut link",
					       "at a stopped or full receiver"};
	static const char *const part_what[] = {"?", "splits the cluster", "cuts one way",
						"isolates the leader"};
	int at = snprintf(buf, n, "t=%" PRId64 " n%d ", t->t, t->node);
	char *p = buf + (at > 0 && (size_t)at < n ? at : 0);
	size_t left = n - (size_t)(p - buf);

	switch (t->kind) {
	case TR_CTL_EVENT:
		if (t->a == KR_EV_PACKET)
			snprintf(p, left, "control takes %s from n%d", kr_api_name((unsigned)t->c),
				 t->b);
		else
			snprintf(p, left,
				 "control takes %s (node %d, epoch %" PRId64 ", offset %" PRId64
				 ")",
				 kr_event_name((unsigned)t->a), t->b, t->c, t->d);
		break;
	case TR_CTL_TICK:
		snprintf(p, left, "control timer fires (%s, epoch %" PRId64 ")",
			 kr_role_name((unsigned)t->a), t->c);
		break;
	case TR_PERSIST:
		snprintf(p, left, "quorum state durable: epoch %d voted %d leader %" PRId64, t->a,
			 t->b, t->c);
		break;
	case TR_TRANSITION:
		snprintf(p, left, "%s -> %s in epoch %" PRId64 " (%s)",
			 kr_role_name((unsigned)t->a), kr_role_name((unsigned)t->b), t->c,
			 kr_why_name((unsigned)t->d));
		break;
	case TR_CMD:
	case TR_DP_CMD:
		if (t->a == KR_CMD_SEND) {
			snprintf(p, left, "%s %s to n%d%s%s",
				 t->kind == TR_CMD ? "control hands the dataplane"
						   : "dataplane transmits",
				 kr_api_name((unsigned)t->c), t->b, t->d > 0 ? ": refused, " : "",
				 t->d > 0 ? kr_refusal_text((unsigned)t->d) : "");
			break;
		}
		snprintf(p, left, "%s %s (node %d, epoch %" PRId64 ", seq %" PRId64 ")",
			 t->kind == TR_CMD ? "control sends" : "dataplane takes",
			 kr_cmd_name((unsigned)t->a), t->b, t->c, t->d);
		break;
	case TR_DP_PACKET:
		snprintf(p, left, "dataplane takes %s from %s%d (%d bytes)",
			 kr_api_name((unsigned)t->c), t->a < 0 ? "client " : "n",
			 t->a < 0 ? -t->a - 1 : t->a, t->b);
		break;
	case TR_DP_TICK:
		snprintf(p, left, "dataplane timer fires (%s, epoch %" PRId64 ")",
			 (const char *[]){"fenced", "leader", "follower", "unattached",
					  "failed"}[t->a >= 0 && t->a <= KR_REPL_FAILED ? t->a : 0],
			 t->c);
		break;
	case TR_DP_DURABLE:
		snprintf(p, left, "dataplane hears flush %d: durable up to %" PRId64, t->a, t->c);
		break;
	case TR_FLUSH:
		snprintf(p, left, "flush job %d %s up to %" PRId64 "%s%s", t->a,
			 t->b ? "done" : "taken", t->c, t->d ? ": " : "",
			 t->d ? strerror((int)-t->d) : "");
		break;
	case TR_STORAGE: {
		static const char *const what[] = {"?",
						   "the next segment sync fails",
						   "disk full",
						   "disk no longer full",
						   "?",
						   "a bit flipped on the disk",
						   "a page's last write was lost",
						   "another page's write landed on a page"};

		snprintf(p, left, "STORAGE FAULT: %s (byte %" PRId64 ")",
			 what[t->a >= 0 && t->a <= 7 ? t->a : 0], t->c);
		break;
	}
	case TR_REFORMAT:
		snprintf(p, left, "DISK WIPED and formatted again: an observer from now on");
		break;
	case TR_VOTERS_SEND:
		snprintf(p, left, "operator asks it to %s voter %d (correlation %" PRId64 ")",
			 sim_op_name((unsigned)t->a), t->b, t->c);
		break;
	case TR_VOTERS_ANSWER:
		snprintf(p, left, "operator hears: %s%s, offset %" PRId64,
			 kr_error_name((unsigned)t->a), t->b ? " (outcome unknown)" : "", t->c);
		break;
	case TR_EXIT:
		snprintf(p, left, "EXITS: a durable write or sync failed");
		break;
	case TR_APPLY:
		snprintf(p, left,
			 "apply actor applies %d batches, offsets [%" PRId64 ", %" PRId64 ")", t->a,
			 t->c, t->d);
		break;
	case TR_SNAPSHOT:
		snprintf(p, left, "snapshot %" PRId64 "-%" PRId64 " written: %s", t->c, t->d,
			 t->a == 0 ? "ok" : strerror(-t->a));
		break;
	case TR_RETAIN:
		snprintf(p, left, "retention: the log now starts at %" PRId64, t->c);
		break;
	case TR_CLEAN:
		snprintf(p, left,
			 "cleaner removed snapshot ending %" PRId64
			 "; the log may start at %" PRId64,
			 t->c, t->d);
		break;
	case TR_INSTALL:
		snprintf(p, left, "apply actor loads the installed snapshot %" PRId64 "-%" PRId64,
			 t->c, t->d);
		break;
	case TR_SNAP_DAMAGE:
		snprintf(p, left, "restart finds its newest snapshot (ending %" PRId64 ") damaged",
			 t->c);
		break;
	case TR_XFER:
		snprintf(p, left, "snapshot download %" PRId64 ": %s", t->c,
			 t->a == 1 ? "whole, checked, named" : strerror(-t->a));
		break;
	case TR_REFUSED:
		snprintf(p, left, "start refused: %s", strerror(-t->a));
		break;
	case TR_SEND:
		snprintf(p, left, "sends %s to %s%d (correlation %" PRId64 ", %" PRId64 " bytes)",
			 kr_api_name((unsigned)t->a), t->b > SIM_NODES_MAX ? "address " : "n", t->b,
			 t->c, t->d);
		break;
	case TR_DROP:
		snprintf(p, left, "message to n%d lost %s", t->a,
			 drop_why[t->b >= 0 && t->b < 3 ? t->b : 0]);
		break;
	case TR_CORRUPT:
		snprintf(p, left, "message to n%d: bit %d flipped in flight", t->a, t->b);
		break;
	case TR_CRASH:
		snprintf(p, left, "CRASHES for %d us (unflushed data lost)", t->a);
		break;
	case TR_RESTART:
		if (t->b)
			snprintf(p, left,
				 "RESTARTS (start %d; log ends at %" PRId64
				 "; no vote until refetched to %" PRId64 ")",
				 t->a, t->c, t->d);
		else
			snprintf(p, left, "RESTARTS (start %d; log ends at %" PRId64 ")", t->a,
				 t->c);
		break;
	case TR_PAUSE:
		snprintf(p, left, "PAUSED until t=%" PRId64, t->c);
		break;
	case TR_RESUME:
		snprintf(p, left, "resumes");
		break;
	case TR_PLANE_PAUSE:
		snprintf(p, left, "%s thread PAUSED alone until t=%" PRId64, plane_name(t->a),
			 t->c);
		break;
	case TR_PLANE_RESUME:
		snprintf(p, left, "%s thread resumes", plane_name(t->a));
		break;
	case TR_PARTITION:
		snprintf(p, left, "network %s%s until t=%" PRId64,
			 part_what[t->a >= 0 && t->a < 4 ? t->a : 0],
			 t->a == 2 ? " (see faults)" : "", t->c);
		break;
	case TR_HEAL:
		snprintf(p, left, "every fault healed");
		break;
	case TR_JUMP:
		snprintf(p, left, "clock jumps to offset %+" PRId64 " us", t->c);
		break;
	case TR_CLIENT_SEND:
		snprintf(p, left, "client %d sends append %" PRId64 " (correlation %d)", t->a, t->c,
			 t->b);
		break;
	case TR_CLIENT_ACK:
		snprintf(p, left,
			 "client %d acknowledged: append %" PRId64 " at offset %" PRId64 "%s", t->a,
			 t->c, t->d, t->b ? " (duplicate)" : "");
		break;
	case TR_CLIENT_RETRY:
		snprintf(p, left, "client %d retries append %" PRId64, t->a, t->c);
		break;
	case TR_LIVENESS:
		snprintf(p, left, "liveness phase: no more faults");
		break;
	case TR_SABOTAGE:
		snprintf(p, left, "SABOTAGE %s (leader n%d)", sabotage_name(t->a), t->b);
		break;
	default:
		snprintf(p, left, "event %u: %d %d %" PRId64 " %" PRId64, t->kind, t->a, t->b, t->c,
			 t->d);
	}
}

void
sim_trace(struct sim *s, uint16_t kind, int node, int32_t a, int32_t b, int64_t c, int64_t d)
{
	struct trace_rec *t = &s->trace[s->trace_n++ % SIM_TRACE];

	t->t = s->now;
	t->kind = kind;
	t->node = (int16_t)node;
	t->a = a;
	t->b = b;
	t->c = c;
	t->d = d;
	if (s->o.verbose) { /* formatted at once only when asked for */
		char line[256];

		trace_format(t, line, sizeof(line));
		printf("  %s\n", line);
	}
}

/* ---- rings ---- */

static void
ring_init(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	r->items = xcalloc(SIM_RING_CAP, sizeof(*r->items));
}

static void
ring_clear(struct ring *r)
{
	r->head = r->n = 0;
	r->bl_head = r->bl_n = 0;
}

static void
ring_free(struct ring *r)
{
	free(r->items);
	free(r->backlog);
}

/* In order: an element is never ready before the one ahead of it. */
static void
ring_push(struct sim *s, struct ring *r, const struct ring_item *it)
{
	struct ring_item x = *it;
	int64_t at = s->now + rnd(s, (uint64_t)s->pf.ring_delay_us + 1);

	if (r->n > 0) {
		int64_t last = r->items[(r->head + r->n - 1) % SIM_RING_CAP].at;

		if (at < last)
			at = last;
	}
	x.at = at;
	if (r->n < SIM_RING_CAP && r->bl_n == 0) {
		r->items[(r->head + r->n++) % SIM_RING_CAP] = x;
		return;
	}
	/* full: the producer holds it until there is room */
	r->full_events++;
	if (r->bl_n == r->bl_cap) {
		uint32_t cap = r->bl_cap ? r->bl_cap * 2 : 16;
		struct ring_item *b = xcalloc(cap, sizeof(*b));

		for (uint32_t i = 0; i < r->bl_n; i++)
			b[i] = r->backlog[(r->bl_head + i) % r->bl_cap];
		free(r->backlog);
		r->backlog = b;
		r->bl_cap = cap;
		r->bl_head = 0;
	}
	r->backlog[(r->bl_head + r->bl_n++) % r->bl_cap] = x;
}

static int64_t
ring_ready_at(const struct ring *r)
{
	return r->n ? r->items[r->head].at : NEVER;
}

static struct ring_item
ring_pop(struct sim *s, struct ring *r)
{
	struct ring_item it = r->items[r->head];

	r->head = (r->head + 1) % SIM_RING_CAP;
	r->n--;
	if (r->bl_n > 0) { /* room again: the blocked producer's next element goes in */
		struct ring_item x = r->backlog[r->bl_head];

		r->bl_head = (r->bl_head + 1) % r->bl_cap;
		r->bl_n--;
		if (x.at < s->now)
			x.at = s->now;
		r->items[(r->head + r->n++) % SIM_RING_CAP] = x;
	}
	return it;
}

/* ---- storage: the image of what the flush thread made durable ---- */

uint32_t
sim_first_at(const void *batches, uint32_t n, size_t stride, uint64_t base)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t b;

		memcpy(&b, (const uint8_t *)batches + mid * stride, sizeof(b));
		if (b < base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool
sim_image_holds(const struct image *img, uint64_t base, uint32_t epoch, uint32_t crc)
{
	uint32_t lo = sim_first_at(img->idx, img->n, sizeof(*img->idx), base);

	return lo < img->n && img->idx[lo].base == base && img->idx[lo].epoch == epoch &&
	       img->idx[lo].crc == crc;
}

static void
image_add(struct image *img, const uint8_t *b, uint32_t len)
{
	struct kr_batch_hdr h;

	kr_batch_hdr_get(b, &h);
	if (img->len + len > img->cap) {
		uint32_t cap = img->cap ? img->cap * 2 : 65536;

		while (cap < img->len + len)
			cap *= 2;
		img->bytes = realloc(img->bytes, cap);
		if (img->bytes == NULL)
			exit(2);
		img->cap = cap;
	}
	if (img->n == img->idx_cap) {
		img->idx_cap = img->idx_cap ? img->idx_cap * 2 : 256;
		img->idx = realloc(img->idx, img->idx_cap * sizeof(*img->idx));
		if (img->idx == NULL)
			exit(2);
	}
	memcpy(img->bytes + img->len, b, len);
	img->idx[img->n++] =
		(struct image_batch){h.base_offset, h.record_count, h.epoch, h.crc, img->len, len};
	img->len += len;
}

/* The flush thread wrote the log up to upto: the image follows memory there (cut back to
 * where a truncation since the last flush left the log, then extended). */
static void
image_sync(struct node *nd, uint64_t upto)
{
	struct image *img = &nd->img;
	uint64_t start = kr_log_start(nd->log), off;

	if (start != img->start) { /* reset to a later start: nothing below it is kept */
		img->n = img->len = 0;
		img->start = start;
	}
	while (img->n > 0 &&
	       img->idx[img->n - 1].base + img->idx[img->n - 1].count > nd->trunc_low) {
		img->n--;
		img->len = img->idx[img->n].pos;
	}
	off = img->n ? img->idx[img->n - 1].base + img->idx[img->n - 1].count : img->start;
	while (off < upto) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(nd->log, off, upto, UINT32_MAX, &sp) != 0 || sp.len == 0)
			break;
		while (pos < sp.len) {
			uint32_t len = kr_get_le32(sp.data + pos + 4);

			image_add(img, sp.data + pos, len);
			pos += len;
		}
		off = sp.end_offset;
	}
	nd->trunc_low = kr_log_end(nd->log);
}

/* Retention deleted segments from memory (the next flush job removes their files, a crash
 * may cut it short): the image no longer promises what lies below the log start. */
static void
image_trim(struct node *nd)
{
	struct image *img = &nd->img;
	uint64_t start = kr_log_start(nd->log);
	uint32_t k = 0;

	while (k < img->n && img->idx[k].base + img->idx[k].count <= start)
		k++;
	if (k == 0)
		return;
	uint32_t cut = k < img->n ? img->idx[k].pos : img->len;

	memmove(img->bytes, img->bytes + cut, img->len - cut);
	memmove(img->idx, img->idx + k, (img->n - k) * sizeof(*img->idx));
	img->n -= k;
	img->len -= cut;
	for (uint32_t i = 0; i < img->n; i++)
		img->idx[i].pos -= cut;
	img->start = start;
}

/* After a start: the image is the recovered log (kr_log_open made it all durable). */
static void
image_reset(struct node *nd)
{
	nd->img.n = nd->img.len = 0;
	nd->img.start = kr_log_start(nd->log);
	nd->trunc_low = 0;
	image_sync(nd, kr_log_end(nd->log));
}

/* ---- the network ---- */

static bool
dg_before(const struct datagram *a, const struct datagram *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
net_push(struct sim *s, struct datagram d)
{
	uint32_t i;

	if (s->net_n == s->net_cap) {
		s->net_cap = s->net_cap ? s->net_cap * 2 : 1024;
		s->net = realloc(s->net, s->net_cap * sizeof(*s->net));
		if (s->net == NULL)
			exit(2);
	}
	i = s->net_n++;
	while (i > 0 && dg_before(&d, &s->net[(i - 1) / 2])) {
		s->net[i] = s->net[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->net[i] = d;
}

static struct datagram
net_pop(struct sim *s)
{
	struct datagram top = s->net[0], last = s->net[--s->net_n];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= s->net_n)
			break;
		if (c + 1 < s->net_n && dg_before(&s->net[c + 1], &s->net[c]))
			c++;
		if (!dg_before(&s->net[c], &last))
			break;
		s->net[i] = s->net[c];
		i = c;
	}
	if (s->net_n > 0)
		s->net[i] = last;
	return top;
}

/* net_send, for a frame whose last ext_len bytes stay in log (zero copy): each copy
 * on the network pins them until net_take reads them. A copy that will be damaged on the
 * way is read at once (the bit may fall in them). */
static void
net_send_ext(struct sim *s, int32_t from, uint64_t to, const uint8_t *bytes, size_t len,
	     const uint8_t *ext, uint32_t ext_len, struct kr_log *log)
{
	int copies = 1;

	if (from > 0 && to <= SIM_NODES_MAX && s->cut[from][to]) {
		sim_trace(s, TR_DROP, from, (int32_t)to, 1, 0, 0);
		return;
	}
	if (chance(s, s->pf.p_drop)) {
		sim_trace(s, TR_DROP, from, (int32_t)to, 0, 0, 0);
		return;
	}
	if (chance(s, s->pf.p_dup))
		copies = 2;
	for (int i = 0; i < copies; i++) {
		int64_t late =
			chance(s, s->pf.p_late) ? (int64_t)rnd(s, (uint64_t)s->pf.late_us) : 0;
		struct datagram d = {
			.at = s->now + s->pf.delay_us +
			      (int64_t)rnd(s, (uint64_t)s->pf.jitter_us + 1) + late,
			.seq = s->net_seq++,
			.from = from,
			.to = to,
			.len = (uint16_t)(len + ext_len),
			.bytes = xcalloc(1, len + ext_len),
		};
		bool corrupt = len + ext_len > 0 && chance(s, s->pf.p_corrupt);

		memcpy(d.bytes, bytes, len);
		if (ext_len > 0 && !corrupt && (d.pin = kr_log_pin(log, ext, ext_len)) != NULL) {
			d.ext = ext;
			d.ext_len = ext_len;
			d.pin_log = log;
		} else if (ext_len > 0) {
			memcpy(d.bytes + len, ext, ext_len);
		}
		if (corrupt) { /* one bit flips on the way */
			uint64_t bit = rnd(s, (uint64_t)(len + ext_len) * 8);

			d.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			d.corrupt = true;
			sim_trace(s, TR_CORRUPT, from, (int32_t)to, (int32_t)bit, 0, 0);
		}
		net_push(s, d);
	}
}

static void
net_send(struct sim *s, int32_t from, uint64_t to, const uint8_t *bytes, size_t len)
{
	net_send_ext(s, from, to, bytes, len, NULL, 0, NULL);
}

/* A datagram as it leaves the sender: the bytes still in its log read now, its pin gone. */
static void
net_take(struct datagram *d)
{
	if (d->pin_log == NULL)
		return;
	memcpy(d->bytes + d->len - d->ext_len, d->ext, d->ext_len);
	kr_log_unpin(d->pin_log, d->pin);
	d->pin_log = NULL;
}

/* Every datagram still pointing into log: read now (its node stops, the log goes). */
static void
net_take_all(struct sim *s, const struct kr_log *log)
{
	for (uint32_t i = 0; i < s->net_n; i++)
		if (log == NULL || s->net[i].pin_log == log)
			net_take(&s->net[i]);
}

/* ---- nodes ---- */

static void harnesses(struct sim *s, struct node *nd);

static int64_t
local(const struct sim *s, const struct node *nd)
{
	return s->now + nd->clock_offset;
}

static int64_t
global(const struct node *nd, int64_t t)
{
	return t == NEVER || t == INT64_MIN ? t : t - nd->clock_offset;
}

static bool may_lose(struct sim *s, const struct node *nd);

/* What node nd's restart path is told: its data directory on its simulated disk. */
static struct kr_restart_config
restart_config(const struct sim *s, const struct node *nd)
{
	return (struct kr_restart_config){
		.fs = simfs_fs(nd->fs),
		.dir = nd->dir,
		.cluster_id = s->wire.cluster_id,
		.node_id = nd->id,
		.durability = s->o.memory ? KR_LOG_MEMORY : KR_LOG_DISK,
		.segment_bytes = SIM_SEGMENT_BYTES,
		.memory_bytes_max = 1ull << 32,
		.wall_ms = (uint64_t)(SIM_WALL0 + local(s, nd)) / 1000,
	};
}

/* ---- the apply actor (--snapshots) ---- */

#define SIM_DEDUP_WINDOW_US 300000  /* short: the log start moves within a run */
#define SIM_RETENTION_BYTES 8192    /* the log and the snapshots: the cleaner always acts */
#define SIM_SPAN_BYTES 4096	    /* spans of a few batches: applying interleaves */
#define SIM_SNAP_CHANCE 0.03	    /* after a span, a snapshot */
#define SIM_SNAP_DAMAGE_CHANCE 0.25 /* a restart finds its newest snapshot damaged */
#define SIM_XFER_STALL_CHANCE 0.05  /* after a step of the snapshot I/O actor, a stall */

static void
apply_stop(struct node *nd)
{
	if (nd->ap != NULL) {
		kr_applier_free(nd->ap);
		free(nd->ap);
		nd->ap = NULL;
	}
	nd->span_n = nd->span_head = 0;
	nd->handed = KR_OFFSET_NONE;
}

/* As kraftd's start (kn_apply_open): a memory-mode node forgets its snapshots, .part files
 * go, the newest whole snapshot is loaded; a log that starts past it cannot be applied. */
static void
apply_boot(struct sim *s, struct node *nd, const char *logdir)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);
	struct kr_sm_loaded l;
	int rc;

	apply_stop(nd);
	nd->log_start_req = 0; /* the cleaner's request dies with the process */
	nd->boot_snap = (struct kr_snap_id){0, 0};
	nd->install = (struct kr_snap_id){0, 0};
	nd->stateless = false;
	if (!s->o.snapshots)
		return;
	snprintf(nd->logdir, sizeof(nd->logdir), "%.*s", (int)sizeof(nd->logdir) - 1, logdir);
	if (s->o.memory) {
		if (kr_mkdir_durable(fs, nd->logdir) != 0 || kr_snap_remove_all(fs, nd->logdir) < 0)
			return; /* a full disk: this start applies nothing */
		nd->snap_high = 0;
	}
	(void)kr_snap_remove_parts(fs, nd->logdir);
	nd->ap = xcalloc(1, sizeof(*nd->ap));
	if (kr_applier_init(nd->ap, &kr_sm_digest, SIM_DEDUP_WINDOW_US) != 0)
		exit(2);
	rc = kr_applier_load(nd->ap, fs, nd->logdir, s->wire.cluster_id, SIM_WALL0 + local(s, nd),
			     &l);
	if (rc == 0) {
		nd->boot_snap = l.meta.id;
		kr_sm_loaded_free(&kr_sm_digest, &l);
	} else if (rc != -ENOENT && !nd->storage_fault) {
		check_violation(s, "node %d: loading a snapshot failed: %s", nd->id, strerror(-rc));
	}
	if (nd->ap->next < kr_log_start(nd->log)) {
		if (kr_log_start(nd->log) > nd->reset_floor && !nd->snap_damaged)
			check_violation(s,
					"node %d: restarted with its log starting at %" PRIu64
					", past every whole snapshot (the newest it loads ends at "
					"%" PRIu64 ")",
					nd->id, kr_log_start(nd->log), nd->ap->next);
		/* it waits for the leader's snapshot, and stands for no election meanwhile */
		nd->stateless = true;
		apply_stop(nd);
		return;
	}
	nd->handed = nd->released = nd->ap->next;
	nd->seen_start = kr_log_start(nd->log);
}

/* The dataplane's side, after each step (kraftd's apply_feed and retention): release what
 * the apply actor released, delete what the cleaner allows, hand new spans. */
static void dp_run(struct sim *s, struct node *nd);

static void
dp_apply_side(struct sim *s, struct node *nd)
{
	uint64_t c = nd->r->committed, start = kr_log_start(nd->log);

	if (!s->o.snapshots)
		return;
	if (start > nd->seen_start) { /* a reset or an install (retention runs below) */
		if (start > nd->reset_floor && start > nd->snap_high)
			nd->reset_floor = start;
		image_trim(nd); /* what its files held below the start may go at any flush */
	}
	kr_log_reader_released(nd->log, nd->released);
	while (c != KR_OFFSET_NONE) {
		enum kr_retain r =
			kr_log_retain_step(nd->log, nd->log_start_req, c,
					   SIM_WALL0 + local(s, nd) - SIM_DEDUP_WINDOW_US,
					   kr_vh_latest_offset(&nd->r->voters));

		if (r == KR_RETAIN_NONE)
			break;
		if (r == KR_RETAIN_VOTERS) {
			if (kr_repl_voters_renew(nd->r, local(s, nd), &nd->rh.out) == 1)
				dp_run(s, nd);
			break;
		}
		s->retained++;
		image_trim(nd);
		sim_trace(s, TR_RETAIN, nd->id, 0, 0, (int64_t)kr_log_start(nd->log), 0);
		if (kr_log_start(nd->log) > nd->snap_high &&
		    kr_log_start(nd->log) > nd->reset_floor)
			check_violation(
				s,
				"node %d: retention moved its log start to %" PRIu64
				", past every snapshot it keeps (the newest ends at %" PRIu64 ")",
				nd->id, kr_log_start(nd->log), nd->snap_high);
	}
	nd->seen_start = kr_log_start(nd->log);
	if (nd->install.end_offset != 0)
		return; /* the apply actor loads the installed snapshot first */
	while (nd->handed != KR_OFFSET_NONE && c != KR_OFFSET_NONE && nd->span_n < SIM_SPANS) {
		struct kr_log_span sp;
		int rc = kr_log_hand_span(nd->log, &nd->handed, c, SIM_SPAN_BYTES, &sp);

		if (rc == -ERANGE) { /* a reset past it: the leader's snapshot would be needed */
			nd->handed = KR_OFFSET_NONE;
			break;
		}
		if (rc == 0)
			break;
		nd->spans[(nd->span_head + nd->span_n++) % SIM_SPANS] = (struct sim_span){
			.data = sp.data,
			.len = sp.len,
			.base = sp.base_offset,
			.end = sp.end_offset,
			.at = s->now + rnd_between(s, 0, s->pf.ring_delay_us),
		};
	}
}

static int64_t
apply_next(const struct sim *s, const struct node *nd)
{
	if (nd->install.end_offset != 0)
		return s->now; /* the ring's next element: load the installed snapshot */
	return nd->span_n > 0 ? nd->spans[nd->span_head].at : NEVER;
}

/* A snapshot the dataplane installed (KR_RP_INSTALLED): what was handed before stands for
 * nothing now; the state is the snapshot's, which must be the ground truth at its end,
 * and applying goes on from there. */
static void
apply_install(struct sim *s, struct node *nd)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);
	struct kr_snap_id id = nd->install;
	struct kr_sm_loaded l;
	int rc;

	nd->install = (struct kr_snap_id){0, 0};
	apply_stop(nd);
	nd->ap = xcalloc(1, sizeof(*nd->ap));
	if (kr_applier_init(nd->ap, &kr_sm_digest, SIM_DEDUP_WINDOW_US) != 0)
		exit(2);
	rc = kr_applier_load(nd->ap, fs, nd->logdir, s->wire.cluster_id, SIM_WALL0 + local(s, nd),
			     &l);
	if (rc != 0 || l.meta.id.end_offset < id.end_offset) {
		if (!nd->storage_fault && !simfs_full(nd->fs))
			check_violation(s,
					"node %d: the snapshot it installed (%" PRIu64
					"-%u) does not load: %s",
					nd->id, id.end_offset, id.epoch,
					rc != 0 ? strerror(-rc) : "an older one came first");
		if (rc == 0)
			kr_sm_loaded_free(&kr_sm_digest, &l);
		apply_stop(nd);
		return;
	}
	sim_trace(s, TR_INSTALL, nd->id, 0, 0, (int64_t)l.meta.id.end_offset, l.meta.id.epoch);
	check_installed(s, nd, l.meta.id.end_offset, nd->ap->ops->digest(nd->ap->sm));
	kr_sm_loaded_free(&kr_sm_digest, &l);
	nd->handed = nd->released = nd->ap->next;
	s->installs++;
}

/* A snapshot of the applier's state now, written through kraftd's own writer on the
 * node's disk; then a step of the cleaner (kraftd's writer thread). */
static void
apply_snapshot(struct sim *s, struct node *nd)
{
	static uint8_t piece[KR_SM_PIECE_MIN];
	const struct kr_fs *fs = simfs_fs(nd->fs);
	struct kr_applier_image img;
	struct kr_snap_clean_step st;
	int rc;

	if (kr_applier_freeze(nd->ap, s->wire.cluster_id, &img) != 0)
		return;
	if (img.meta.id.end_offset > s->committed_end)
		check_violation(s,
				"node %d: a snapshot ending at %" PRIu64
				", past the committed end %" PRIu64,
				nd->id, img.meta.id.end_offset, s->committed_end);
	rc = kr_applier_write(&img, fs, nd->logdir, piece, sizeof(piece));
	sim_trace(s, TR_SNAPSHOT, nd->id, rc, 0, (int64_t)img.meta.id.end_offset,
		  img.meta.id.epoch);
	if (rc == 0) {
		s->snapshots++;
		if (img.meta.id.end_offset > nd->snap_high)
			nd->snap_high = img.meta.id.end_offset;
		/* the writer publishes it; the dataplane names it to fetchers from then on */
		kr_repl_snapshot(nd->r, img.meta.id);
	} else if (!nd->storage_fault && !simfs_full(nd->fs)) {
		check_violation(s, "node %d: writing a snapshot failed: %s", nd->id, strerror(-rc));
	}
	kr_applier_image_free(&img);
	rc = kr_snap_clean(fs, nd->logdir, kr_log_bytes(nd->log), SIM_RETENTION_BYTES, -1,
			   SIM_WALL0 + local(s, nd), &st);
	if (rc == 1) {
		sim_trace(s, TR_CLEAN, nd->id, 0, 0, (int64_t)st.removed.end_offset,
			  (int64_t)st.target);
		if (st.target > nd->log_start_req)
			nd->log_start_req = st.target;
	}
}

static void
apply_step(struct sim *s, struct node *nd)
{
	struct sim_span sp;
	uint32_t pos = 0, n = 0;

	if (nd->install.end_offset != 0) {
		apply_install(s, nd);
		return;
	}
	sp = nd->spans[nd->span_head];

	nd->span_head = (nd->span_head + 1) % SIM_SPANS;
	nd->span_n--;
	while (nd->ap != NULL && pos + KR_BATCH_HDR_BYTES <= sp.len) {
		struct kr_batch_hdr h;
		int rc;

		kr_batch_hdr_get(sp.data + pos, &h);
		rc = kr_applier_batch(nd->ap, sp.data + pos, h.length);
		if (rc != 0) {
			check_violation(s,
					"node %d: the applier refused the batch at %" PRIu64 ": %s",
					nd->id, h.base_offset, strerror(-rc));
			return;
		}
		check_applied(s, nd, &h, nd->ap->ops->digest(nd->ap->sm));
		pos += h.length;
		n++;
	}
	nd->released = sp.end;
	sim_trace(s, TR_APPLY, nd->id, (int32_t)n, 0, (int64_t)sp.base, (int64_t)sp.end);
	if (nd->ap != NULL && nd->ap->next > nd->ap->snapshot.end_offset &&
	    chance(s, SIM_SNAP_CHANCE))
		apply_snapshot(s, nd);
}

/* ---- the snapshot I/O actor (--snapshots) ---- */

/* The node's transfer slots, empty, as a start makes them (the windows are the node's). */
static void
xfer_reset(struct sim *s, struct node *nd)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);

	for (int i = 0; i < SIM_XFER_OUT; i++) {
		if (nd->xfer_ready)
			kr_xfer_io_close(&nd->xo[i], fs);
		kr_xfer_init(&nd->xo[i], nd->xbuf[i], SIM_XFER_WIN);
	}
	if (nd->xfer_ready)
		kr_xfer_io_close(&nd->xi, fs);
	kr_xfer_init(&nd->xi, nd->xbuf[SIM_XFER_OUT], SIM_XFER_WIN);
	nd->xfer_ready = true;
	nd->xfer_at = NEVER;
	nd->xi_status = KR_XFER_BUSY;
	(void)s;
}

static bool
xfer_busy(const struct kr_xfer *x)
{
	return atomic_load(&x->req_gen) != x->io_gen || x->io_mode != KR_XFER_IDLE;
}

/* When the I/O actor runs next: soon after a request, then while a transfer is open. */
static int64_t
xfer_next(struct sim *s, struct node *nd)
{
	bool busy = xfer_busy(&nd->xi);

	if (!s->o.snapshots)
		return NEVER;
	for (int i = 0; i < SIM_XFER_OUT && !busy; i++)
		busy = xfer_busy(&nd->xo[i]);
	if (!busy)
		return NEVER;
	if (nd->xfer_at == NEVER)
		nd->xfer_at = s->now + rnd_between(s, 5, 300);
	return nd->xfer_at;
}

static bool
snap_was_damaged(const struct sim *s, uint64_t end)
{
	for (uint32_t i = 0; i < s->snap_damaged_n && i < 32; i++)
		if (s->snap_damaged_ends[i] == end)
			return true;
	return false;
}

static void
xfer_step(struct sim *s, struct node *nd)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);
	char why[256];
	int64_t did = 0;
	int32_t st;

	for (int i = 0; i < SIM_XFER_OUT; i++)
		did += kr_xfer_io_step(&nd->xo[i], fs, nd->logdir, s->wire.cluster_id, 700, why,
				       sizeof(why));
	did += kr_xfer_io_step(&nd->xi, fs, nd->logdir, s->wire.cluster_id, 700, why, sizeof(why));
	/* a download refused as damaged: its bytes were not the leader's file, unless the
	 * file itself was damaged (the sim damages only a restarting node's snapshots) */
	st = kr_xfer_status(&nd->xi);
	if (st != nd->xi_status && kr_xfer_answered(&nd->xi)) {
		nd->xi_status = st;
		if (st == KR_XFER_DONE || st < 0)
			sim_trace(s, TR_XFER, nd->id, st, 0, (int64_t)nd->xi.io_id.end_offset, 0);
		if (st == -EBADMSG && !snap_was_damaged(s, nd->xi.io_id.end_offset))
			check_violation(
				s,
				"node %d: a snapshot downloaded (%" PRIu64
				") is not a whole snapshot, and no snapshot file was damaged",
				nd->id, nd->xi.io_id.end_offset);
	}
	nd->xfer_at = did > 0 ? s->now + rnd_between(s, 5, 300) : s->now + 2000;
	/* now and then the I/O thread is slow for a while (a busy disk, descheduled): a
	 * transfer then outlasts the fetch timeout, and must still be each side's heartbeat */
	if (did > 0 && chance(s, SIM_XFER_STALL_CHANCE))
		nd->xfer_at = s->now + rnd_between(s, 1000, 4 * T_FETCH);
}

/* `kraftd format` of nd's directory: an initial voter's (--initial-controllers, every
 * voter with directory id bytes i + 1), or a joining one (an observer, or a voter's disk
 * formatted again), whose directory id is drawn from the seed. */
static void
node_format(struct sim *s, struct node *nd, bool initial)
{
	struct kr_voter_set set = {.n = (uint8_t)s->o.nodes};
	struct kr_identity id;
	uint8_t dir_id[KR_UUID_BYTES];
	char err[256];

	for (int i = 0; i < s->o.nodes; i++) {
		set.v[i].id = i + 1;
		memset(set.v[i].dir, i + 1, KR_UUID_BYTES);
		set.v[i].ep = (struct kr_endpoint){.ip = 0x0a000000u + (uint32_t)i + 1,
						   .port = 9093}; /* 10.0.0.i+1: never used */
	}
	for (int i = 0; i < KR_UUID_BYTES; i += 8) {
		uint64_t r = sim_rand(&s->rng) | 0x8080808080808080ull; /* never one of those */

		memcpy(dir_id + i, &r, 8);
	}
	if (kr_datadir_format(simfs_fs(nd->fs), nd->dir, s->wire.cluster_id, nd->id,
			      initial ? &set : NULL, dir_id, false, &id, err, sizeof(err)) != 0) {
		fprintf(stderr, "kraftsim: format %s: %s\n", nd->dir, err);
		exit(2);
	}
	s->boot = set;
	memcpy(nd->dir_id, id.directory_id, KR_UUID_BYTES);
	nd->initial = initial;
}

/* Disk, --snapshots: a restart may find the newest snapshot file damaged (a latent fault
 * in synced data). The loader passes it over; with no older one at the log start, the
 * node lacks its state until it installs a leader's. Never two such nodes at once (each
 * still votes, but one without state may not lead: a majority of them could elect no
 * one). */
static void
snap_damage(struct sim *s, struct node *nd, const char *logdir)
{
	struct kr_snap_id ids[1];
	char path[4200], name[KR_SNAP_NAME_MAX];
	const struct kr_fs *fs = simfs_fs(nd->fs);
	uint64_t len;
	bool is_dir;
	int n;

	if (!s->o.snapshots || s->o.memory || !chance(s, SIM_SNAP_DAMAGE_CHANCE))
		return;
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].up && s->nodes[i].stateless)
			return;
	n = kr_snap_list(fs, logdir, ids, 1);
	if (n <= 0)
		return;
	kr_snap_name(ids[0], false, name);
	if (snprintf(path, sizeof(path), "%s/%s", logdir, name) >= (int)sizeof(path) ||
	    fs->ops->stat(fs->ctx, path, &is_dir, &len) != 0 || len < 2)
		return;
	if (simfs_corrupt(nd->fs, path, rnd(s, len), SIMFS_BIT_FLIP) != 0)
		return;
	nd->snap_damaged = true;
	s->snap_damaged_ends[s->snap_damaged_n++ % 32] = ids[0].end_offset;
	sim_trace(s, TR_SNAP_DAMAGE, nd->id, 0, 0, (int64_t)ids[0].end_offset, 0);
}

/* A start, through kraftd's own restart path (include/kraft/restart.h) on the node's
 * simulated disk: identity and quorum state, a new incarnation, the markers, the log's
 * recovery; its verdict is checked against the ground truth before anything else. */
static void
node_boot(struct sim *s, struct node *nd)
{
	int nv = s->o.nodes;
	struct kr_restart_config cfg = restart_config(s, nd);
	struct kr_restart rs;
	struct kr_election_config ec = {
		.node_id = nd->id,
		.n_voters = (uint8_t)nv,
		.election_timeout_us = T_ELECTION,
		.fetch_timeout_us = T_FETCH,
		.election_backoff_max_us = T_BACKOFF,
		.request_timeout_us = T_REQUEST,
		.shutdown_timeout_us = T_FETCH,
	};
	struct kr_repl_config rc = {
		.node_id = nd->id,
		.wire = s->wire,
		.n_voters = (uint8_t)nv,
		.memory_mode = s->o.memory,
		.fetch_max_wait_us = T_WAIT,
		.fetch_max_bytes = 4096,
		.frame_records_max = 512,
		.reply_frames_max = 8,
		.fetch_retry_us = T_RETRY,
		.fetch_backoff_us = 1000,
		.liveness_interval_us = 2000,
		.dedup_window_us = s->o.snapshots ? SIM_DEDUP_WINDOW_US : 0,
	};
	struct kr_election_start st = {0};
	char err[512];
	int rv;

	rv = kr_restart_identify(&cfg, &rs, err, sizeof(err));
	if (rv == 0)
		rv = kr_restart_recover(&cfg, &rs, err, sizeof(err));
	if (rv != 0) {
		/* only a full disk may stop a start: it is tried again later */
		sim_trace(s, TR_REFUSED, nd->id, rv, 0, 0, 0);
		if (!simfs_full(nd->fs))
			check_violation(s, "node %d: start refused: %s", nd->id, err);
		nd->restart_at = s->now + rnd_between(s, s->pf.down_min_us, s->pf.down_max_us);
		return;
	}
	nd->log = rs.log;
	check_recovery(s, nd, &rs);
	snap_damage(s, nd, rs.log_path);
	apply_boot(s, nd, rs.log_path);
	if (s->o.snapshots) {
		xfer_reset(s, nd);
		rc.xfer_out = nd->xo;
		rc.n_xfer_out = SIM_XFER_OUT;
		rc.xfer_in = &nd->xi;
	}
	if (s->o.dgram) { /* what a start had being put together is gone with it */
		s->whole += nd->reasm.stats.done;
		if (nd->reasm_mem == NULL)
			nd->reasm_mem = xcalloc(SIM_REASM_SLOTS, SIM_REASM_SLOT_BYTES);
		if (kr_reasm_init(&nd->reasm, nd->reasm_slots, nd->reasm_mem, SIM_REASM_SLOTS,
				  SIM_REASM_SLOT_BYTES, SIM_REASM_PER_SENDER, T_FETCH / 8,
				  T_FETCH / 2) != 0) {
			fprintf(stderr, "kraftsim: bad reassembly config\n");
			exit(2);
		}
		rc.reasm = &nd->reasm;
	}
	simfs_clear_damage(nd->fs);
	image_reset(nd);
	nd->storage_fault = simfs_full(nd->fs);
	for (int i = 0; i < nv; i++) {
		ec.voters[i] = rc.voters[i] = i + 1;
		memset(ec.voter_dirs[i], i + 1, KR_UUID_BYTES);
		memset(rc.voter_dirs[i], i + 1, KR_UUID_BYTES);
	}
	memcpy(ec.directory_id, rs.id.directory_id, KR_UUID_BYTES);
	memcpy(rc.directory_id, rs.id.directory_id, KR_UUID_BYTES);
	ec.joining = kr_voters_find(&rs.boot, nd->id) < 0 ||
		     memcmp(rs.boot.v[kr_voters_find(&rs.boot, nd->id)].dir, rs.id.directory_id,
			    KR_UUID_BYTES) != 0;
	rc.joining = ec.joining;
	rc.dynamic = rs.has_boot;
	rc.boot = rs.boot; /* empty for a joining directory: it learns the set from the log */
	rc.incarnation = rs.incarnation;
	rc.repair_target = rs.repair_target;
	/* the nodes it knows beyond its set: the configured voters, and with voter changes
	 * every node (as controller.quorum.bootstrap.servers would list them) */
	for (int i = 0; i < (s->o.voter_changes ? s->n : nv); i++)
		ec.known[ec.n_known++] = i + 1;
	if (s->o.voter_changes)
		for (int i = 0; i < s->n; i++)
			rc.bootstrap[rc.n_bootstrap++] = i + 1;
	if (kr_repl_init(nd->r, &rc, nd->log) != 0) {
		fprintf(stderr, "kraftsim: bad replication config\n");
		exit(2);
	}
	nd->r->wall_offset_us = SIM_WALL0;
	if (s->o.auth)
		kr_repl_auth(nd->r, &s->keys, local(s, nd) + SIM_WALL0);
	kr_repl_snapshot(nd->r, nd->boot_snap);
	if (nd->stateless)
		kr_repl_want_snapshot(nd->r);
	kr_restart_election(&rs, &cfg, ec.joining, &st);
	st.stand_blocked = nd->stateless;
	/* the first start is not simulated: every directory starts as if the cluster's
	 * first election were behind it (a rejoin is then a core bug) */
	st.first_start = false;
	st.rng_seed = sim_rand(&s->rng);
	nd->incarnation = rs.incarnation;
	nd->repair_target = rs.repair_target;
	nd->disk = rs.qs;
	nd->trunc_low = kr_log_end(nd->log);
	harnesses(s, nd);
	nd->persisting = false;
	nd->flushing = false;
	nd->fl.out = false;
	nd->exiting = false;
	ring_clear(&nd->events);
	ring_clear(&nd->cmds);
	ring_clear(&nd->durable);
	ring_clear(&nd->flushes);
	nd->rx_head = nd->rx_n = 0;
	nd->up = true;
	nd->paused = false;
	nd->restart_at = NEVER;
	nd->starts++;
	nd->followed_at = s->now;
	nd->disturbed_at = s->now;
	for (int i = 0; i < SIM_NODES_MAX; i++)
		nd->fetch_taken_at[i] = -NEVER;
	check_restart(s, nd);
	if (kr_election_init(&nd->e, &ec, &st, local(s, nd), &nd->eh.out) != 0) {
		fprintf(stderr, "kraftsim: bad election config\n");
		exit(2);
	}
}

/* Where each batch of a stopped node's durable log lies: file and byte position. */
struct held_batch {
	char path[64];
	uint64_t pos, len;
};

struct held_files {
	char dir[32];
	char names[64][32];
	int n;
};

static int
held_one(void *arg, const char *name)
{
	struct held_files *h = arg;
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".log") == 0 && h->n < 64)
		snprintf(h->names[h->n++], sizeof(h->names[0]), "%s", name);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Damage found at a start: a latent fault in synced data (a flipped bit, a page whose
 * last write was lost, a page another page's write landed on), inside the fault
 * budget: in the bytes of a batch before the log's last one, so a valid batch always
 * follows it, and not in what the newest flush job wrote. Damage with nothing valid
 * after it, or in the newest job's bytes, cannot be told from a torn write and is
 * outside the budget (include/kraft/log.h, docs/RELIABILITY.md). */
static void
damage_disk(struct sim *s, struct node *nd)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);
	struct held_files h = {.n = 0};
	struct held_batch *b = NULL;
	uint32_t n = 0, cap = 0, k, m = 0;
	enum simfs_damage kind = (enum simfs_damage)(1 + rnd(s, 3));
	uint64_t off, page, synced_end;

	snprintf(h.dir, sizeof(h.dir), "%s/%s", nd->dir, KR_LOG_SUBDIR);
	if (fs->ops->list(fs->ctx, h.dir, held_one, &h) != 0)
		return;
	qsort(h.names, (size_t)h.n, sizeof(h.names[0]), name_cmp);
	for (int i = 0; i < h.n; i++) {
		char path[64];
		uint64_t len, pos = KR_SEGMENT_HDR_BYTES;
		const uint8_t *d;

		snprintf(path, sizeof(path), "%s/%s", h.dir, h.names[i]);
		d = simfs_held(nd->fs, path, &len);
		while (d != NULL && pos + KR_BATCH_HDR_BYTES <= len) {
			uint32_t blen = kr_get_le32(d + pos + 4);

			if (blen < KR_BATCH_HDR_BYTES || pos + blen > len)
				break;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				b = realloc(b, cap * sizeof(*b));
				if (b == NULL)
					exit(2);
			}
			snprintf(b[n].path, sizeof(b[n].path), "%s", path);
			b[n].pos = pos;
			b[n++].len = blen;
			pos += blen;
		}
	}
	/* in the last segment, only what its header says is synced: the newest flush job's
	 * bytes are the tail kraftd takes a completed sync's word for (log.h) */
	if (n > 0) {
		uint64_t len;
		const uint8_t *d = simfs_held(nd->fs, b[n - 1].path, &len);

		synced_end = KR_SEGMENT_HDR_BYTES + (uint64_t)kr_get_le32(d + 12);
		for (m = 0; m + 1 < n && (strcmp(b[m].path, b[n - 1].path) != 0 ||
					  b[m].pos + b[m].len <= synced_end);
		     m++)
			;
	}
	if (m == 0) {
		free(b);
		return;
	}
	k = (uint32_t)rnd(s, m); /* a batch before the last one, and synced */
	off = b[k].pos + rnd(s, b[k].len);
	page = off / SIMFS_PAGE * SIMFS_PAGE;
	/* a whole page only if it holds no segment header and lies in what is synced */
	if (kind != SIMFS_BIT_FLIP &&
	    (page == 0 || (strcmp(b[k].path, b[n - 1].path) == 0 &&
			   page + SIMFS_PAGE > b[m - 1].pos + b[m - 1].len)))
		kind = SIMFS_BIT_FLIP;
	if (simfs_corrupt(nd->fs, b[k].path, off, kind) == 0)
		sim_trace(s, TR_STORAGE, nd->id, 4 + (int32_t)kind, 0, (int64_t)off, 0);
	free(b);
}

/* The process dies. What it was doing with the disk stops at a random point: a persist
 * or flush job in progress gets that far (any number of its operations), then the disk
 * keeps what the crash model says. */
static void
node_crash(struct sim *s, struct node *nd, int64_t down_us)
{
	const struct kr_fs *fs = simfs_fs(nd->fs);
	char err[256];

	nd->persist_cut = nd->persisting;
	if (nd->persisting) {
		/* its time goes to its two syncs (the primary copy's, then the mirror's,
		 * each after its write): the crash falls in one of them, its write done and
		 * kept or not as the crash model draws (one more pair comes first when the
		 * mirror lags: the crash then falls in that pair or the primary's) */
		simfs_set_budget(nd->fs, rnd(s, 2) ? 1 : 3);
		kr_quorum_state_store(fs, nd->dir, &nd->persist_qs, err, sizeof(err));
	}
	if (nd->fl.out && nd->flushing) {
		simfs_set_budget(nd->fs, (int64_t)rnd(s, 16));
		kr_log_job_run(&nd->fl.job);
	}
	nd->up = false;
	nd->persisting = false;
	nd->flushing = false;
	nd->fl.out = false;
	for (int k = 0; k < SIM_PLANES; k++) {
		nd->plane_until[k] = NEVER;
		nd->plane_steps[k] = 0;
	}
	nd->restart_at = s->now + down_us;
	if (s->o.snapshots)
		xfer_reset(s, nd); /* the I/O thread dies too: its files are closed */
	nd->install = (struct kr_snap_id){0, 0};
	apply_stop(nd);		  /* before the log goes: its spans point into it */
	net_take_all(s, nd->log); /* so do its datagrams still on the way */
	kr_log_close(nd->log);
	nd->log = NULL;
	simfs_crash(nd->fs);
	for (uint32_t i = 0; i < nd->rx_n; i++)
		free(nd->rx[(nd->rx_head + i) % SIM_RX_CAP].bytes);
	nd->rx_n = 0;
	sim_trace(s, TR_CRASH, nd->id, (int32_t)down_us, 0, 0, 0);
}

/* The node exits (status 3: a durable write or sync failed, the dataplane fail-stopped)
 * and comes back after a while, as a supervisor would bring it back. */
static void
node_exit(struct sim *s, struct node *nd)
{
	sim_trace(s, TR_EXIT, nd->id, 0, 0, 0, 0);
	node_crash(s, nd, rnd_between(s, s->pf.down_min_us, s->pf.down_max_us));
}

/* A disk wiped and formatted again without --initial-controllers, as an operator
 * replacing a failed disk would: the node comes back with a new directory id, an
 * observer, its votes and log gone (until the operator, with --voter-changes, removes
 * the old directory and adds the new one). Only while every set that holds it keeps a
 * majority without it. */
static void
node_reformat(struct sim *s, struct node *nd)
{
	if (!may_lose(s, nd))
		return;
	if (nd->up)
		node_crash(s, nd, rnd_between(s, s->pf.down_min_us, s->pf.down_max_us));
	simfs_wipe(nd->fs);
	nd->snap_damaged = false; /* its snapshots went with the disk */
	/* the old directory's reports stay true of when they were made (a directory wiped
	 * again before it reported anything adds nothing) */
	bool reported = false;

	for (int k = 0; k < SIM_CLAIM_EPOCHS; k++)
		reported = reported || nd->claims[k].end != 0;
	if (reported) {
		memmove(nd->old_claims[1], nd->old_claims[0],
			(SIM_OLD_DIRS - 1) * sizeof(nd->old_claims[0]));
		memcpy(nd->old_claims[0], nd->claims, sizeof(nd->claims));
	}
	memset(nd->claims, 0, sizeof(nd->claims));
	node_format(s, nd, false);
	nd->snap_high = nd->reset_floor = 0;
	nd->log_start_req = 0;
	nd->img.n = nd->img.len = 0;
	nd->img.start = 0;
	nd->disk = (struct kr_quorum_state){.leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};
	nd->persist_cut = false;
	nd->repair_target = 0;
	nd->full_until = NEVER;
	/* a new directory is a new replica: no vote of the old one binds it (the fence
	 * rule); what the old one said stays true of when it was said (claims, spoke) */
	nd->vote_epoch = 0;
	sim_trace(s, TR_REFORMAT, nd->id, 0, 0, 0, 0);
}

/* ---- the control actor ---- */

/* The election core's operations, as the node's control thread carries them out, with
 * the simulator's checks and traces. A persist takes a drawn fsync time: the first call
 * starts it ("not yet"), the call after busy_until writes the quorum-state file on the
 * node's disk (kraftd's own kr_quorum_state_store) and completes; a crash meanwhile gets
 * any part of the way through the write (node_crash). */
static int
el_persist(void *arg, const struct kr_quorum_state *qs)
{
	struct node *nd = arg;
	struct sim *s = nd->sim;
	char err[256];
	int rc;

	if (!nd->persisting) {
		nd->persisting = true;
		nd->persist_qs = *qs;
		nd->busy_until = s->now + rnd_between(s, s->pf.fsync_min_us, s->pf.fsync_max_us);
		return -EAGAIN;
	}
	nd->persisting = false;
	rc = kr_quorum_state_store(simfs_fs(nd->fs), nd->dir, qs, err, sizeof(err));
	if (rc != 0)
		return rc == -EAGAIN ? -EIO : rc; /* the node exits (status 3) */
	check_persisted(s, nd, qs);		  /* against what the file held */
	nd->disk = *qs;
	sim_trace(s, TR_PERSIST, nd->id, (int32_t)qs->epoch, qs->voted_id, qs->leader_id, 0);
	return 0;
}

static int
el_command(void *arg, const struct kr_el_action *a, const struct kr_cmd *cmd)
{
	struct node *nd = arg;
	struct sim *s = nd->sim;
	struct ring_item it = {.u.cmd = *cmd};

	if (a->type == KR_EL_SEND)
		check_control_send(s, nd, a);
	sim_trace(s, TR_CMD, nd->id, cmd->type, cmd->node,
		  cmd->type == KR_CMD_SEND ? peek_api(cmd->frame, cmd->frame_len) : cmd->epoch,
		  cmd->type == KR_CMD_SEND && a->type == KR_EL_SEND &&
				  a->u.send.msg.api == KR_API_VOTE_RESP
			  ? a->u.send.refusal
			  : cmd->seq);
	ring_push(s, &nd->cmds, &it);
	return 0;
}

static int
el_rejoin(void *arg, const struct kr_el_action *a)
{
	struct node *nd = arg;

	(void)a;
	/* the simulated directories start past their first start (first_start is never set
	 * here): a rejoin would be a core bug */
	check_violation(nd->sim, "node %d rejoined, though no first start was simulated", nd->id);
	return 0;
}

static void
el_unblocked(void *arg)
{
	struct node *nd = arg;
	struct kr_restart_config cfg = restart_config(nd->sim, nd);

	/* the shell removes the repair marker, as kraftd's control thread does */
	if (kr_restart_repaired(&cfg) != 0 && !nd->storage_fault)
		check_violation(nd->sim, "node %d: cannot remove the repair marker", nd->id);
	nd->repair_target = 0;
}

/* A leader resigned for check quorum: a majority of its voters (itself included) must
 * not have had a request (a Fetch, or a FetchSnapshot: a transfer is a heartbeat too)
 * taken by its dataplane within the window (less a margin at both ends: the liveness
 * events are rate-limited, and one taken just now may not have reached the control
 * thread yet), unless it was not running all along (a pause, a stopped thread) or its
 * clock jumped (its window then ended early). */
static void
check_quorum_resign(struct sim *s, struct node *nd)
{
	const struct kr_election *e = &nd->e;
	int64_t window = T_FETCH * 3 / 2, slack = 2 * 2000 + 1000; /* liveness interval x2 */
	uint32_t fresh = e->voter_index >= 0; /* itself, unless it removed itself */

	if (nd->disturbed_at == NEVER || nd->disturbed_at > s->now - window)
		return;
	for (int i = 0; i < e->cfg.n_voters; i++) {
		int32_t v = e->cfg.voters[i];

		if (v == nd->id || v < 1 || v > s->n)
			continue;
		if ((kr_uuid_is_zero(e->cfg.voter_dirs[i]) ||
		     memcmp(e->cfg.voter_dirs[i], s->nodes[v - 1].dir_id, KR_UUID_BYTES) == 0) &&
		    nd->fetch_taken_at[v - 1] > s->now - (window - slack) &&
		    nd->fetch_taken_at[v - 1] < s->now - slack) /* its event seen by now */
			fresh++;
	}
	if (fresh >= e->majority)
		check_violation(s,
				"leader %d resigned for check quorum, but %u of its voters (itself "
				"included if one) had a request taken between %" PRId64
				" and %" PRId64 " us before",
				nd->id, fresh, window - slack, slack);
}

static void
el_transition(void *arg, const struct kr_el_action *a)
{
	struct node *nd = arg;
	struct sim *s = nd->sim;

	if (a->u.transition.to == KR_ROLE_CANDIDATE)
		s->elections++;
	if (a->u.transition.why == KR_WHY_CHECK_QUORUM)
		check_quorum_resign(s, nd);
	sim_trace(s, TR_TRANSITION, nd->id, a->u.transition.from, a->u.transition.to,
		  a->u.transition.epoch, a->u.transition.why);
}

static const struct kr_el_ops el_ops = {
	.persist = el_persist,
	.command = el_command,
	.rejoin = el_rejoin,
	.unblocked = el_unblocked,
	.transition = el_transition,
};

static int64_t
control_next(const struct sim *s, const struct node *nd)
{
	int64_t t;

	if (kr_el_harness_busy(&nd->eh))
		return nd->persisting ? nd->busy_until : s->now;
	t = ring_ready_at(&nd->events);
	if (global(nd, kr_election_next_deadline(&nd->e)) < t)
		t = global(nd, kr_election_next_deadline(&nd->e));
	return t;
}

static void
control_step(struct sim *s, struct node *nd)
{
	struct ring_item it;
	uint64_t encode_errors = nd->eh.encode_errors;

	if (kr_el_harness_busy(&nd->eh)) {
		int rc = kr_el_harness_step(&nd->eh); /* one action a step */

		if (nd->eh.encode_errors != encode_errors)
			check_violation(s, "node %d: a control action would not encode", nd->id);
		if (rc < 0 && rc != -EAGAIN) {
			/* a durable write failed: kraftd exits at once (status 3) */
			if (!nd->storage_fault)
				check_violation(s, "node %d: persisting failed: %s", nd->id,
						strerror(-rc));
			nd->exiting = true;
		}
		return;
	}
	kr_el_harness_step(&nd->eh); /* empties the output */
	if (ring_ready_at(&nd->events) <= s->now) {
		it = ring_pop(s, &nd->events);
		sim_trace(s, TR_CTL_EVENT, nd->id, it.u.ev.type, it.u.ev.node,
			  it.u.ev.type == KR_EV_PACKET ? peek_api(it.u.ev.frame, it.u.ev.frame_len)
						       : it.u.ev.epoch,
			  (int64_t)it.u.ev.offset);
		kr_control_on_event(&nd->e, &s->wire, &it.u.ev, local(s, nd), &nd->eh.out);
	} else {
		sim_trace(s, TR_CTL_TICK, nd->id, nd->e.role, 0, nd->e.epoch, 0);
		kr_election_tick(&nd->e, local(s, nd), &nd->eh.out);
	}
}

/* ---- the dataplane actor ---- */

static int64_t
dp_next(const struct sim *s, const struct node *nd)
{
	int64_t t = ring_ready_at(&nd->cmds), d;

	if (ring_ready_at(&nd->durable) < t)
		t = ring_ready_at(&nd->durable);
	if (nd->rx_n > 0)
		t = s->now;
	d = global(nd, kr_repl_next_deadline(nd->r));
	if (d == INT64_MIN)
		d = s->now;
	return d < t ? d : t;
}

/* Frames a node refused as damaged: undecodable, or failing authentication (not a
 * replay: the network duplicates good datagrams). */
static uint64_t
bad_frames(const struct node *nd)
{
	const uint64_t *a = nd->r->auth.drops;

	return nd->r->stats.drops[KR_RP_DROP_DECODE] + a[KR_AUTH_DROP_MISSING] +
	       a[KR_AUTH_DROP_UNKNOWN_KEY] + a[KR_AUTH_DROP_BAD_MAC];
}

/* The replication core's operations, as the node's dataplane thread carries them out. */
static uint8_t tx_buf[KR_WIRE_UDP_PAYLOAD_MAX]; /* one frame at a time: net_send copies */
static uint8_t msg_big[KR_MSG_MAX];		/* one message in fragments at a time, likewise */

static uint8_t *
rp_tx_begin(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap)
{
	struct node *nd = arg;

	nd->tx_to = to_node >= 0 ? (uint64_t)to_node : to_addr;
	*cap = nd->sim->o.dgram ? nd->sim->o.dgram : sizeof(tx_buf);
	return tx_buf;
}

static void
rp_tx_end(void *arg, uint32_t len)
{
	struct node *nd = arg;
	struct sim *s = nd->sim;
	const struct kr_rp_action *a = nd->sending;

	nd->sending = NULL;
	if (len == 0)
		return;
	if (a != NULL)
		sim_trace(s, TR_SEND, nd->id, a->u.send.msg.api, (int32_t)nd->tx_to,
			  a->u.send.correlation, len);
	net_send(s, nd->id, nd->tx_to, tx_buf, len);
}

/* --zero-copy: the records stay in the log until the datagram leaves the network. */
static void
rp_tx_end_ext(void *arg, uint32_t len, const uint8_t *ext, uint32_t ext_len)
{
	struct node *nd = arg;
	struct sim *s = nd->sim;
	const struct kr_rp_action *a = nd->sending;

	nd->sending = NULL;
	if (a != NULL)
		sim_trace(s, TR_SEND, nd->id, a->u.send.msg.api, (int32_t)nd->tx_to,
			  a->u.send.correlation, len + ext_len);
	s->zero_copy_frames++;
	net_send_ext(s, nd->id, nd->tx_to, tx_buf, len, ext, ext_len, nd->log);
}

static int
rp_event(void *arg, const struct kr_event *ev)
{
	struct node *nd = arg;
	struct ring_item it = {.u.ev = *ev};

	/* a storage failure the simulator caused stops the node, as kraftd's control thread
	 * does (status 3); any other fail-stop is a violation, checked after the step */
	if (ev->type == KR_EV_FATAL && ev->seq == KR_FATAL_STORAGE && nd->storage_fault)
		nd->exiting = true;
	else if (ev->type == KR_EV_FATAL)
		nd->fatal = ev->seq;
	if (ev->type == KR_EV_VOTERS)
		check_voters_event(nd->sim, nd, ev);
	if (ev->type == KR_EV_STATE_RESTORED)
		nd->stateless = nd->snap_damaged = false;
	ring_push(nd->sim, &nd->events, &it);
	return 0;
}

static void
rp_flush(void *arg, const struct kr_rp_flush *f)
{
	(void)arg;
	(void)f; /* group commit: the next flush job takes everything appended by then */
}

static void
rp_sending(void *arg, const struct kr_rp_action *a)
{
	struct node *nd = arg;

	check_dp_send(nd->sim, nd, a);
	nd->sending = a;
}

/* The dataplane installed a snapshot: the apply actor loads it (its ring's next element). */
static void
rp_installed(void *arg, struct kr_snap_id id)
{
	struct node *nd = arg;

	nd->install = id;
	if (id.end_offset > nd->snap_high)
		nd->snap_high = id.end_offset; /* durable under its name before the install */
}

static const struct kr_rp_ops rp_ops = {
	.tx_begin = rp_tx_begin,
	.tx_end = rp_tx_end,
	.event = rp_event,
	.flush = rp_flush,
	.sending = rp_sending,
	.installed = rp_installed,
};

/* --zero-copy: the same, the records handed over where the log holds them */
static const struct kr_rp_ops *
rp_ops_for(bool zero_copy)
{
	static struct kr_rp_ops zc;

	if (!zero_copy)
		return &rp_ops;
	zc = rp_ops;
	zc.tx_end_ext = rp_tx_end_ext;
	return &zc;
}

/* A node's harnesses, fresh at each start. */
static void
harnesses(struct sim *s, struct node *nd)
{
	nd->sim = s;
	nd->eh = (struct kr_el_harness){.e = &nd->e, .wire = &s->wire, .ops = &el_ops, .arg = nd};
	s->fragmented += nd->rh.fragmented; /* the last start's */
	nd->rh = (struct kr_rp_harness){.r = nd->r, .ops = rp_ops_for(s->o.zero_copy), .arg = nd};
	if (s->o.dgram) {
		nd->rh.big = msg_big;
		nd->rh.big_cap = sizeof(msg_big);
	}
}

static void
dp_run(struct sim *s, struct node *nd)
{
	uint64_t encode_errors = nd->rh.encode_errors;

	kr_rp_harness_run(&nd->rh, local(s, nd));
	if (nd->rh.encode_errors != encode_errors)
		check_violation(s, "node %d: a frame would not encode or seal (%d)", nd->id,
				nd->rh.last_error);
	if (kr_log_end(nd->log) < nd->trunc_low)
		nd->trunc_low = kr_log_end(nd->log);
}

/* Carry out the core's actions; then, as the node's dataplane loop does, take a flush job
 * if none is out and the log needs one (disk mode), and hand it to the flush actor. */
static void
dp_actions(struct sim *s, struct node *nd)
{
	struct ring_item it;
	int rc;

	dp_run(s, nd);
	dp_apply_side(s, nd);
	if (s->o.memory)
		return;
	rc = kr_rp_flush_begin(&nd->rh, nd->log, &nd->fl, local(s, nd), &it.u.flush);
	if (rc == 1) {
		sim_trace(s, TR_FLUSH, nd->id, (int32_t)it.u.flush.gen, 0, (int64_t)it.u.flush.upto,
			  0);
		ring_push(s, &nd->flushes, &it);
	} else if (rc < 0) {
		dp_run(s, nd); /* the core failed: its FATAL event */
	}
}

/* Sabotage: give an idle node's control actor an action as if its core had produced it
 * (it runs through the same steps and checks as any other), or have its dataplane carry
 * one out now. */
void
sim_inject_control(struct sim *s, struct node *nd, const struct kr_el_action *a)
{
	(void)s;
	nd->eh.out.a[0] = *a;
	nd->eh.out.n = 1;
	nd->eh.next = 0;
}

void
sim_inject_dp(struct sim *s, struct node *nd, const struct kr_rp_action *a)
{
	nd->rh.out.a[0] = *a;
	nd->rh.out.n = 1;
	nd->rh.next = 0;
	dp_actions(s, nd);
}

/* Sabotage: a frame from node `from` waits at node `to`'s port, past every fault. */
void
sim_inject_frame(struct sim *s, struct node *from, struct node *to, uint32_t corr,
		 const struct kr_msg *m)
{
	uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_frame_hdr h = {.sender_id = from->id, .correlation_id = corr};
	int len;

	memcpy(h.cluster_id, s->wire.cluster_id, KR_UUID_BYTES);
	h.voter_set_hash = s->wire.voter_set_hash;
	h.flags = s->wire.flags;
	len = kr_frame_encode(buf, sizeof(buf), &h, m);
	if (len < 0 || to->rx_n == SIM_RX_CAP)
		return;
	{ /* sealed as from's dataplane would */
		struct kr_frame_peek p;

		if (kr_frame_peek(buf, (size_t)len, &p) == 0 && (p.flags & KR_FRAME_F_AUTH) &&
		    kr_auth_seal_next(&from->r->auth, buf, (size_t)len,
				      local(s, from) + from->r->wall_offset_us) != 0)
			return;
	}
	to->rx[(to->rx_head + to->rx_n++) % SIM_RX_CAP] = (struct datagram){
		.at = s->now,
		.from = from->id,
		.to = (uint64_t)to->id,
		.len = (uint16_t)len,
		.bytes = xcalloc(1, (size_t)len),
	};
	memcpy(to->rx[(to->rx_head + to->rx_n - 1) % SIM_RX_CAP].bytes, buf, (size_t)len);
}

static uint64_t
repl_drops(const struct kr_repl *r)
{
	uint64_t n = 0;

	for (int i = 0; i < KR_RP_DROP_COUNT; i++)
		n += r->stats.drops[i];
	return n;
}

/* Ground truth for check quorum: when a leader's dataplane took a Fetch or a
 * FetchSnapshot of its epoch from the current start and directory of a node. */
static void
note_fetch_taken(struct sim *s, struct node *nd, const struct datagram *d)
{
	const struct node *from = &s->nodes[d->from - 1];
	struct kr_frame f;
	struct kr_msg m;
	const uint8_t *dir;
	uint32_t epoch;
	uint64_t inc;

	if (kr_frame_decode(NULL, d->bytes, d->len, &f) != 0 || kr_msg_decode(&f, &m) != 0)
		return;
	if (m.api == KR_API_FETCH) {
		epoch = m.u.fetch.epoch, dir = m.u.fetch.replica_dir, inc = m.u.fetch.incarnation;
	} else if (m.api == KR_API_FETCH_SNAPSHOT) {
		epoch = m.u.fetch_snapshot.epoch, dir = m.u.fetch_snapshot.replica_dir;
		inc = m.u.fetch_snapshot.incarnation;
	} else {
		return;
	}
	if (epoch == nd->r->epoch && inc == from->incarnation &&
	    memcmp(dir, from->dir_id, KR_UUID_BYTES) == 0)
		nd->fetch_taken_at[d->from - 1] = s->now;
}

static void
dp_step(struct sim *s, struct node *nd)
{
	struct ring_item it;

	if (ring_ready_at(&nd->cmds) <= s->now) {
		it = ring_pop(s, &nd->cmds);
		sim_trace(s, TR_DP_CMD, nd->id, it.u.cmd.type, it.u.cmd.node,
			  it.u.cmd.type == KR_CMD_SEND
				  ? peek_api(it.u.cmd.frame, it.u.cmd.frame_len)
				  : it.u.cmd.epoch,
			  it.u.cmd.seq);
		kr_repl_on_cmd(nd->r, &it.u.cmd, local(s, nd), &nd->rh.out);
	} else if (ring_ready_at(&nd->durable) <= s->now) {
		it = ring_pop(s, &nd->durable);
		sim_trace(s, TR_DP_DURABLE, nd->id, (int32_t)it.u.flush.gen, 0,
			  (int64_t)it.u.flush.upto, 0);
		if (kr_rp_flush_end(&nd->rh, nd->log, &nd->fl, local(s, nd)) == 0)
			image_sync(nd, kr_log_durable_end(nd->log));
		else if (!nd->storage_fault)
			check_violation(s, "node %d: a flush job failed: %s", nd->id,
					nd->fl.job.err);
	} else if (nd->rx_n > 0) {
		struct datagram d = nd->rx[nd->rx_head];
		int32_t from_node = d.from > 0 ? d.from : KR_NODE_NONE;
		uint64_t addr =
			d.from > 0 ? (uint64_t)d.from : SIM_CLIENT_ADDR + (uint64_t)(-d.from - 1);
		uint64_t malformed = bad_frames(nd);
		bool corrupt = d.corrupt != s->mislabel_next;

		nd->rx_head = (nd->rx_head + 1) % SIM_RX_CAP;
		nd->rx_n--;
		sim_trace(s, TR_DP_PACKET, nd->id, d.from, d.len, peek_api(d.bytes, d.len), 0);
		uint64_t drops = repl_drops(nd->r);
		bool leading = nd->r->role == KR_REPL_LEADER;

		kr_repl_on_packet(nd->r, d.bytes, d.len, from_node, addr, local(s, nd),
				  &nd->rh.out);
		/* taken: not dropped (authentication refuses replays of duplicates) */
		if (!corrupt && from_node > 0 && leading && repl_drops(nd->r) == drops)
			note_fetch_taken(s, nd, &d);
		/* every damaged datagram is counted as malformed (or, with a key, failing its
		 * MAC) and dropped; no good one is (a good one may be refused as a replay) */
		s->mislabel_next = false;
		if ((bad_frames(nd) != malformed) != corrupt)
			check_violation(s, "node %d: a %s datagram from %d was %s", nd->id,
					corrupt ? "damaged" : "well-formed", d.from,
					corrupt ? "not refused as malformed"
						: "refused as malformed");
		dp_actions(s, nd); /* before the buffer goes: actions may point into it */
		free(d.bytes);
		return;
	} else {
		sim_trace(s, TR_DP_TICK, nd->id, nd->r->role, 0, nd->r->epoch, 0);
		kr_repl_tick(nd->r, local(s, nd), &nd->rh.out);
	}
	dp_actions(s, nd);
}

/* ---- the flush actor (disk mode) ---- */

static int64_t
flush_next(const struct node *nd)
{
	return nd->flushing ? nd->flush_done_at : ring_ready_at(&nd->flushes);
}

/* The node's flush thread: takes the job, and after a drawn fsync time carries it out
 * on the disk (kr_log_job_run: kraftd's own writes and syncs) and hands it back. A crash
 * before then gets any part of the way through it (node_crash). */
static void
flush_step(struct sim *s, struct node *nd)
{
	struct ring_item it;

	if (!nd->flushing) {
		it = ring_pop(s, &nd->flushes);
		nd->flushing = true;
		nd->flush_done_at = s->now + rnd_between(s, s->pf.fsync_min_us, s->pf.fsync_max_us);
		(void)it;
		return;
	}
	kr_log_job_run(&nd->fl.job);
	nd->flushing = false;
	it.u.flush = (struct kr_rp_flush){.upto = nd->fl.job.end, .gen = nd->fl.gen};
	sim_trace(s, TR_FLUSH, nd->id, (int32_t)nd->fl.gen, 1, (int64_t)nd->fl.job.end,
		  nd->fl.job.rc);
	ring_push(s, &nd->durable, &it);
}

/* ---- clients ---- */

/* A node a client starts with: one of the initial voters (with voter changes any node:
 * the voters may all be others by now, as a client's bootstrap list names them all). */
static int32_t
random_node(struct sim *s)
{
	return 1 + (int32_t)rnd(s, (uint64_t)(s->o.voter_changes ? s->n : s->o.nodes));
}

static int32_t current_leader(const struct sim *s);

/* A valid batch image at out (cap bytes) with offsets near where the log ends now and
 * the current epoch: a record value recovery must never take for the log's own data.
 * Returns its length, or 0. */
static uint32_t
batch_image(struct sim *s, uint8_t *out, size_t cap)
{
	int32_t l = current_leader(s);
	uint8_t inner[12];
	struct kr_batch_hdr ih = {
		.base_offset = s->committed_end + rnd(s, 6),
		.epoch = l > 0 ? s->nodes[l - 1].e.epoch : 1,
		.producer_id = 0x5eed,
	};
	int n;

	kr_put_le32(inner, 8);
	kr_put_le64(inner + 4, sim_rand(&s->rng));
	n = kr_batch_build(out, cap, &ih, inner, sizeof(inner), 1);
	return n > 0 ? (uint32_t)n : 0;
}

static void
client_send(struct sim *s, struct client *c)
{
	uint8_t rec[16 + 128], buf[384];
	struct kr_msg m = {.api = KR_API_APPEND};
	struct kr_frame_hdr h;
	uint32_t img = 0;
	int len;

	/* one record: (client, seq), sometimes followed by a batch image */
	if (chance(s, s->pf.p_image))
		img = batch_image(s, rec + 16, sizeof(rec) - 16);
	kr_put_le32(rec, 12 + img);
	kr_put_le32(rec + 4, (uint32_t)c->idx);
	kr_put_le64(rec + 8, c->seq);
	m.u.append = (struct kr_append_req){.producer_id = c->pid,
					    .sequence = c->seq,
					    .record_count = 1,
					    .records = rec,
					    .records_len = 16 + img};
	memset(&h, 0, sizeof(h));
	h.sender_id = KR_NODE_NONE;
	h.correlation_id = ++c->corr;
	h.flags = s->wire.flags;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	if (s->o.auth)
		kr_auth_seal_next(&s->client_auth, buf, (size_t)len, s->now + SIM_WALL0);
	c->inflight = true;
	c->timeout_at = s->now + T_CLIENT;
	c->attempts++;
	sim_trace(s, TR_CLIENT_SEND, c->target, c->idx, (int32_t)c->corr, (int64_t)c->seq, 0);
	net_send(s, -(c->idx + 1), (uint64_t)c->target, buf, (size_t)len);
}

static void
client_retry(struct sim *s, struct client *c, int32_t hint)
{
	c->inflight = false;
	c->target = hint > 0 && hint <= s->n ? hint : random_node(s);
	c->next_at = s->now + 200 + (int64_t)rnd(s, 2000);
	sim_trace(s, TR_CLIENT_RETRY, c->target, c->idx, 0, (int64_t)c->seq, 0);
}

static void
client_step(struct sim *s, struct client *c)
{
	if (c->inflight) { /* timed out: the same append, somewhere else */
		client_retry(s, c, KR_NODE_NONE);
		return;
	}
	client_send(s, c);
}

static int64_t
client_next(const struct client *c)
{
	if (c->inflight)
		return c->timeout_at;
	return c->done && c->attempts == 0 ? NEVER : c->next_at;
}

static void
client_hears(struct sim *s, struct client *c, const uint8_t *b, size_t len)
{
	struct kr_frame f;
	struct kr_msg m;
	const struct kr_append_resp *a = &m.u.append_resp;

	if (kr_frame_decode(&s->wire, b, len, &f) != 0 || kr_msg_decode(&f, &m) != 0 ||
	    m.api != KR_API_APPEND_RESP || !c->inflight || f.hdr.correlation_id != c->corr)
		return; /* stale or foreign: the client waits on */
	if (a->error == KR_ERR_NONE || a->error == KR_ERR_DUPLICATE_SEQUENCE_NUMBER) {
		bool dup = a->error != KR_ERR_NONE;

		sim_trace(s, TR_CLIENT_ACK, f.hdr.sender_id, c->idx, dup, (int64_t)c->seq,
			  (int64_t)a->base_offset);
		check_ack(s, c->idx, c->seq, a->base_offset, dup);
		s->acks++;
		c->seq++;
		c->inflight = false;
		c->attempts = 0;
		c->target = f.hdr.sender_id;
		c->next_at = s->now + (int64_t)rnd(s, (uint64_t)s->pf.think_us + 1);
		if (c->seq >= SIM_SEQ_MAX)
			c->done = true;
		return;
	}
	/* NOT_LEADER (maybe "outcome unknown"), BUSY, LOG_FULL, and OUT_OF_ORDER from a
	 * leader that has not seen the acknowledged predecessor (a deposed one): the same
	 * append again. Were it a real loss, the committed log and liveness checks fail. */
	client_retry(s, c,
		     a->error == KR_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER ? KR_NODE_NONE : a->leader_id);
}

/* ---- the operator: voter changes ---- */

static struct node *
node_by_id(struct sim *s, int32_t id)
{
	return id >= 1 && id <= s->n ? &s->nodes[id - 1] : NULL;
}

static bool set_survives(const struct sim *s, const struct kr_voter_set *set, const struct node *nd,
			 bool strict);

/* set with the change (op, v) made, into out, as a leader would make it; false if that
 * leader would refuse it. */
static bool
op_apply(const struct kr_voter_set *set, uint8_t op, const struct kr_voter *v,
	 struct kr_voter_set *out)
{
	int k = kr_voters_find_key(set, v->id, v->dir);

	*out = *set;
	switch (op) {
	case KR_VOTERS_OP_ADD:
		if (kr_voters_find(set, v->id) >= 0 || set->n >= KR_VOTERS_MAX)
			return false;
		out->v[out->n++] = *v;
		return true;
	case KR_VOTERS_OP_REMOVE:
		if (k < 0 || set->n == 1)
			return false;
		memmove(&out->v[k], &out->v[k + 1], (size_t)(out->n - k - 1) * sizeof(out->v[0]));
		out->n--;
		return true;
	default:
		if (k < 0)
			return false;
		out->v[k].ep = v->ep;
		return true;
	}
}

/* Is the operator's datagram with this correlation id still on its way: in the network, or
 * queued at a node whose dataplane has not taken it (a paused node or thread holds it for
 * as long as the pause, and pauses can follow one another: seed 2106383) */
static bool
op_datagram_waits(const struct sim *s, uint32_t corr)
{
	struct kr_frame_peek p;

	for (uint32_t i = 0; i < s->net_n; i++)
		if (s->net[i].from == -(SIM_OPERATOR + 1) &&
		    kr_frame_peek(s->net[i].bytes, s->net[i].len, &p) == 0 &&
		    p.correlation_id == corr)
			return true;
	for (int n = 0; n < s->n; n++) {
		const struct node *nd = &s->nodes[n];

		for (uint32_t k = 0; k < nd->rx_n; k++) {
			const struct datagram *d = &nd->rx[(nd->rx_head + k) % SIM_RX_CAP];

			if (d->from == -(SIM_OPERATOR + 1) &&
			    kr_frame_peek(d->bytes, d->len, &p) == 0 && p.correlation_id == corr)
				return true;
		}
	}
	return false;
}

/* May the operator's request i still be taken by some leader? Until the latest a datagram
 * can arrive, and for as long as it waits anywhere. */
static bool
op_asked_live(const struct sim *s, uint32_t i)
{
	return s->op.asked[i].until != 0 &&
	       (s->op.asked[i].until > s->now || op_datagram_waits(s, s->op.asked[i].corr));
}

/* Does next (made by some change) keep a majority that can vote without nd, and so does
 * what each change the operator asked for lately would make of it? */
static bool
next_survives(struct sim *s, const struct kr_voter_set *next, const struct node *nd, bool strict)
{
	struct kr_voter_set after;

	if ((nd == NULL || sim_in_set(next, nd)) && !set_survives(s, next, nd, strict))
		return false;
	for (uint32_t i = 0; i < SIM_ASKED; i++)
		if (op_asked_live(s, i) &&
		    op_apply(next, s->op.asked[i].op, &s->op.asked[i].v, &after) &&
		    (nd == NULL || sim_in_set(&after, nd)) && !set_survives(s, &after, nd, strict))
			return false;
	return true;
}

/* Would every set the change (op, v) can make, from any set in force now, keep a
 * majority that can vote without nd (NULL: none), and what the operator's other recent
 * requests would make of those (a late one is taken after a later one)? strict as
 * set_survives. */
static bool
op_survives(struct sim *s, uint8_t op, const struct kr_voter *v, const struct node *nd, bool strict)
{
	struct kr_voter_set next;

	if (op_apply(&s->committed_set, op, v, &next) && !next_survives(s, &next, nd, strict))
		return false;
	for (int i = 0; i < s->n; i++) {
		const struct kr_voter_set *set = &sim_voters(s, &s->nodes[i])->set;

		if (set->n > 0 && op_apply(set, op, v, &next) &&
		    !next_survives(s, &next, nd, strict))
			return false;
	}
	return true;
}

/* The next change, chosen as an operator who just looked at the leader's set would: the
 * old directory of a replaced disk out first, then a node in or a voter out, or an
 * endpoint moved; never one that leaves a set without a majority that can vote, made
 * from any set in force now (a fault budget, as for crashes). */
static bool
op_choose(struct sim *s, struct operator* op)
{
	int32_t l = current_leader(s);
	const struct kr_voter_set *cur =
		l > 0 ? &sim_voters(s, &s->nodes[l - 1])->set : &s->committed_set;
	int stale[KR_VOTERS_MAX], ns = 0, cand[SIM_NODES_MAX], nc = 0;
	uint64_t pick = rnd(s, 10);
	int k;

	if (cur->n == 0)
		return false;
	for (int i = 0; i < cur->n; i++) {
		struct node *w = node_by_id(s, cur->v[i].id);

		if (w != NULL && !sim_in_set(cur, w))
			stale[ns++] = i; /* its disk was formatted again */
	}
	for (int i = 0; i < s->n; i++)
		if (kr_voters_find(cur, s->nodes[i].id) < 0)
			cand[nc++] = i;
	if (ns > 0 && pick < 6) {
		op->op = KR_VOTERS_OP_REMOVE;
		op->v = cur->v[stale[rnd(s, (uint64_t)ns)]];
	} else if (nc > 0 && cur->n < KR_VOTERS_MAX && (pick < 5 || cur->n == 1)) {
		struct node *a = &s->nodes[cand[rnd(s, (uint64_t)nc)]];

		op->op = KR_VOTERS_OP_ADD;
		op->v = (struct kr_voter){
			.id = a->id, .ep = {.ip = 0x0a000000u + (uint32_t)a->id, .port = 9093}};
		memcpy(op->v.dir, a->dir_id, KR_UUID_BYTES);
	} else if (pick < 8 && cur->n > 1) {
		op->op = KR_VOTERS_OP_REMOVE;
		op->v = cur->v[rnd(s, cur->n)];
	} else {
		op->op = KR_VOTERS_OP_UPDATE;
		k = (int)rnd(s, cur->n);
		op->v = cur->v[k];
		op->v.ep.port = op->v.ep.port == 9093 ? 9094 : 9093;
	}
	return op_survives(s, op->op, &op->v, NULL, false);
}

static void
op_send(struct sim *s, struct operator* op)
{
	uint8_t buf[256];
	struct kr_msg m = {.api = KR_API_VOTERS_CHANGE};
	struct kr_frame_hdr h;
	int len;

	m.u.voters_change = (struct kr_voters_change_req){
		.op = op->op, .voter_id = op->v.id, .ip = op->v.ep.ip, .port = op->v.ep.port};
	memcpy(m.u.voters_change.directory_id, op->v.dir, KR_UUID_BYTES);
	memset(&h, 0, sizeof(h));
	h.sender_id = KR_NODE_NONE;
	h.correlation_id = ++op->corr;
	h.flags = s->wire.flags;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	if (len <= 0) {
		check_violation(s, "the operator's VOTERS_CHANGE would not encode (%d)", len);
		return;
	}
	if (s->o.auth)
		kr_auth_seal_next(&s->client_auth, buf, (size_t)len, s->now + SIM_WALL0);
	op->inflight = true;
	op->timeout_at = s->now + op->patience_us;
	op->sent++;
	/* it may be taken until the latest a datagram can arrive, or be answered; in a slot
	 * whose request can no longer be taken (all 64 live: the oldest, never seen) */
	uint32_t slot = op->n_asked++ % SIM_ASKED;

	for (uint32_t k = 0; k < SIM_ASKED && op_asked_live(s, slot); k++)
		slot = (slot + 1) % SIM_ASKED;
	op->asked[slot] = (typeof(op->asked[0])){
		.op = op->op,
		.v = op->v,
		.until = s->now + 2 * (s->pf.late_us + s->pf.delay_us + s->pf.jitter_us) +
			 op->patience_us,
		.corr = op->corr};
	sim_trace(s, TR_VOTERS_SEND, op->target, op->op, op->v.id, op->corr, 0);
	net_send(s, -(SIM_OPERATOR + 1), (uint64_t)op->target, buf, (size_t)len);
}

static void
op_step(struct sim *s, struct operator* op)
{
	int32_t l = current_leader(s);

	if (op->inflight) { /* no answer in time: it may or may not happen; on to the next */
		op->inflight = false;
		op->unknown++;
		op->next_at = s->now + (int64_t)rnd(s, (uint64_t)op->every_us + 1);
		return;
	}
	/* the leader, as describe shows it, or now and then any node (it points onwards) */
	op->target = l > 0 && rnd(s, 5) > 0 ? l : 1 + (int32_t)rnd(s, (uint64_t)s->n);
	if (op_choose(s, op))
		op_send(s, op);
	else
		op->next_at = s->now + (int64_t)rnd(s, (uint64_t)op->every_us + 1);
}

static int64_t
op_next(const struct sim *s, const struct operator* op)
{
	if (!op->on)
		return NEVER;
	if (op->inflight)
		return op->timeout_at;
	return s->healing ? NEVER : op->next_at;
}

static void
op_hears(struct sim *s, struct operator* op, const uint8_t *b, size_t len)
{
	struct kr_frame f;
	struct kr_msg m;
	const struct kr_voters_change_resp *a = &m.u.voters_change_resp;

	if (kr_frame_decode(&s->wire, b, len, &f) != 0 || kr_msg_decode(&f, &m) != 0 ||
	    m.api != KR_API_VOTERS_CHANGE_RESP || !op->inflight || f.hdr.correlation_id != op->corr)
		return; /* stale or foreign */
	sim_trace(s, TR_VOTERS_ANSWER, f.hdr.sender_id, a->error, a->outcome_unknown,
		  a->offset == KR_OFFSET_NONE ? -1 : (int64_t)a->offset, 0);
	op->inflight = false;
	op->next_at = s->now + (int64_t)rnd(s, (uint64_t)op->every_us + 1);
	if (a->error == KR_ERR_NONE) {
		op->done++;
		op->removed_leader += op->op == KR_VOTERS_OP_REMOVE && f.hdr.sender_id == op->v.id;
		check_voters_answer(s, op, a->offset);
	} else if (a->outcome_unknown) {
		op->unknown++;
	} else {
		op->refused++;
	}
}

/* ---- faults ---- */

static int32_t
current_leader(const struct sim *s)
{
	int32_t l = KR_NODE_NONE;
	uint32_t best = 0;

	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];

		if (nd->up && nd->e.role == KR_ROLE_LEADER && (l < 0 || nd->e.epoch > best)) {
			l = nd->id;
			best = nd->e.epoch;
		}
	}
	return l;
}

/* A node that lost data (memory mode: its whole log; disk: a damaged range) may not vote
 * until it has caught up with a leader, so a majority of such nodes can never elect
 * one: kraftd promises safety always and liveness only while a majority keeps its log.
 * Faults that lose data stop short of that. */
/* Do the voters of set, but nd (NULL: none), still form a majority that can vote? A
 * voter whose node holds another directory now counts as lost. For a fault (strict), so
 * does one that is no voter of its own log's set (a node just added, or named by a
 * change its log has not got): it votes on its log only and never runs, and a newer log
 * there (an observer that followed a leader the others did not) can refuse every
 * candidate. A change the operator considers counts the node it adds. */
static bool
set_survives(const struct sim *s, const struct kr_voter_set *set, const struct node *nd,
	     bool strict)
{
	int ok = 0;

	for (int i = 0; i < set->n; i++) {
		struct node *w = set->v[i].id >= 1 && set->v[i].id <= s->n
					 ? (struct node *)&s->nodes[set->v[i].id - 1]
					 : NULL;

		/* a storage fault is a crash to come: the node exits on it, and comes back
		 * without its log (memory) or, on disk, perhaps with a repair marker that
		 * blocks its vote (seed 6612673: a voter re-formatted while another's failing
		 * sync was still to come; two of three voters then lost their votes) */
		if (w == NULL || w == nd || !sim_in_set(set, w) || !w->up || w->e.vote_blocked ||
		    w->storage_fault ||
		    (strict && !sim_in_set(&sim_voters((struct sim *)s, w)->set, w)))
			continue;
		ok++;
	}
	return ok >= (int)kr_voters_majority(set);
}

/* Every set that is or may come into force: the committed one and what each node's log
 * holds (an uncommitted change included). */
static bool
sets_survive(struct sim *s, const struct node *nd)
{
	if (nd != NULL && sim_in_set(&s->committed_set, nd) &&
	    !set_survives(s, &s->committed_set, nd, true))
		return false;
	for (int i = 0; i < s->n; i++) {
		const struct kr_voter_set *set = &sim_voters(s, &s->nodes[i])->set;

		if (set->n > 0 && (nd == NULL || sim_in_set(set, nd)) &&
		    !set_survives(s, set, nd, true))
			return false;
	}
	/* and what the changes the operator asked for lately can still make (struct
	 * operator) */
	for (uint32_t i = 0; i < SIM_ASKED; i++)
		if (op_asked_live(s, i) &&
		    !op_survives(s, s->op.asked[i].op, &s->op.asked[i].v, nd, true))
			return false;
	return true;
}

static bool
may_lose(struct sim *s, const struct node *nd)
{
	return sets_survive(s, nd);
}

static void
inject_fault(struct sim *s)
{
	uint32_t total = 0, pick;
	int kind = 0;
	struct node *nd;
	int32_t leader = current_leader(s);

	for (int i = 0; i < SIM_FAULT_KINDS; i++)
		total += s->pf.weights[i];
	if (total == 0)
		return; /* --faults left every kind out: messages and disks misbehave alone */
	pick = (uint32_t)rnd(s, total);
	while (pick >= s->pf.weights[kind])
		pick -= s->pf.weights[kind++];
	nd = &s->nodes[rnd(s, (uint64_t)s->n)];
	if ((kind == 0 || kind == 4) && leader > 0 && chance(s, 0.5))
		nd = &s->nodes[leader - 1]; /* the leader, half of the time */
	if (kind == 0 && chance(s, 0.5)) {
		/* or, half of the time, a node in the middle of a durable write (a persist or a
		 * flush job), where a crash tests what the write promised */
		int k = (int)rnd(s, (uint64_t)s->n);

		for (int i = 0; i < s->n; i++) {
			struct node *w = &s->nodes[(k + i) % s->n];

			if (w->up && (w->persisting || w->flushing)) {
				nd = w;
				break;
			}
		}
	}
	switch (kind) {
	case 0: /* crash (memory mode: it loses its log) */
		if (nd->up && (!s->o.memory || may_lose(s, nd)))
			node_crash(s, nd, rnd_between(s, s->pf.down_min_us, s->pf.down_max_us));
		break;
	case 1: /* symmetric split into two groups */
		for (int a = 1; a <= s->n; a++)
			for (int b = 1; b <= s->n; b++)
				if (a != b && ((rnd(s, 2) == 0) != (rnd(s, 2) == 0)))
					s->cut[a][b] = s->cut[b][a] = true;
		s->heal_at = s->now + rnd_between(s, T_ELECTION, 10 * T_ELECTION);
		sim_trace(s, TR_PARTITION, 0, 1, 0, s->heal_at, 0);
		break;
	case 2: { /* one way */
		int a = 1 + (int)rnd(s, (uint64_t)s->n), b = 1 + (int)rnd(s, (uint64_t)s->n);

		if (a != b)
			s->cut[a][b] = true;
		s->heal_at = s->now + rnd_between(s, T_ELECTION, 10 * T_ELECTION);
		sim_trace(s, TR_PARTITION, a, 2, b, s->heal_at, 0);
		break;
	}
	case 3: /* isolate the leader both ways */
		if (leader > 0) {
			for (int b = 1; b <= s->n; b++)
				if (b != leader)
					s->cut[leader][b] = s->cut[b][leader] = true;
			s->heal_at = s->now + rnd_between(s, T_ELECTION, 10 * T_ELECTION);
			sim_trace(s, TR_PARTITION, leader, 3, 0, s->heal_at, 0);
		}
		break;
	case 4: /* pause */
		if (nd->up && !nd->paused) {
			nd->paused = true;
			nd->paused_until = s->now + rnd_between(s, 1000, s->pf.pause_max_us);
			nd->disturbed_at = NEVER; /* until it resumes */
			sim_trace(s, TR_PAUSE, nd->id, 0, 0, nd->paused_until, 0);
		}
		break;
	case 5: /* clock jump, forward and bounded */
		nd->clock_offset += rnd_between(s, 1, s->pf.jump_max_us);
		nd->disturbed_at = s->now;
		sim_trace(s, TR_JUMP, nd->id, 0, 0, nd->clock_offset, 0);
		break;
	case 6: /* storage: a segment sync that fails (disk mode), or a full disk */
		/* the node exits on it: in memory mode that loses its log, a crash's budget; on
		 * disk it may come back with a repair marker (its flushed bound ran ahead of a
		 * failed job) and not vote until a leader repairs it: the same budget (seed
		 * 1502153: two of three voters in repair, no leader possible). A sole voter is
		 * its own repair: it takes the fault as before */
		if (!nd->up || nd->storage_fault ||
		    ((s->o.memory || s->o.nodes > 1) && !may_lose(s, nd)))
			break;
		nd->storage_fault = true;
		if (!s->o.memory && rnd(s, 2) == 0) {
			simfs_arm(nd->fs, SIMFS_SYNC_FAILS);
			sim_trace(s, TR_STORAGE, nd->id, 1, 0, 0, 0);
			break;
		}
		simfs_set_full(nd->fs, true);
		nd->full_until = s->now + rnd_between(s, s->pf.down_min_us, s->pf.down_max_us);
		sim_trace(s, TR_STORAGE, nd->id, 2, 0, 0, 0);
		break;
	case 7: /* a disk replaced and formatted again (joining: an observer from now on) */
		node_reformat(s, nd);
		break;
	default: { /* one thread stops alone: descheduled, stuck in a page fault, a debugger */
		int k = (int)rnd(s, s->o.memory ? 2 : 3);

		if (!nd->up || nd->plane_until[k] != NEVER)
			break;
		nd->plane_until[k] = s->now + rnd_between(s, 1000, s->pf.plane_pause_max_us);
		nd->disturbed_at = NEVER; /* until it resumes */
		sim_trace(s, TR_PLANE_PAUSE, nd->id, k, 0, nd->plane_until[k], 0);
		break;
	}
	}
}

static void
heal_all(struct sim *s)
{
	memset(s->cut, 0, sizeof(s->cut));
	s->heal_at = NEVER;
}

static int64_t
world_next(const struct sim *s)
{
	int64_t t = s->healing ? NEVER : s->next_fault;

	if (s->heal_at < t)
		t = s->heal_at;
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];

		if (!nd->up && nd->restart_at < t)
			t = nd->restart_at;
		if (nd->up && nd->paused && nd->paused_until < t)
			t = nd->paused_until;
		if (nd->full_until < t)
			t = nd->full_until;
		for (int k = 0; k < SIM_PLANES; k++)
			if (nd->plane_until[k] < t)
				t = nd->plane_until[k];
	}
	return t;
}

static void
world_step(struct sim *s)
{
	if (s->heal_at <= s->now) {
		heal_all(s);
		sim_trace(s, TR_HEAL, 0, 0, 0, 0, 0);
		return;
	}
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!nd->up && nd->restart_at <= s->now) {
			if (!s->o.memory && !s->healing && chance(s, s->pf.p_damage) &&
			    may_lose(s, nd))
				damage_disk(s, nd);
			node_boot(s, nd);
			if (nd->up)
				sim_trace(s, TR_RESTART, nd->id, (int32_t)nd->starts,
					  nd->repair_target > 0, (int64_t)kr_log_end(nd->log),
					  (int64_t)nd->repair_target);
			return;
		}
		if (nd->up && nd->paused && nd->paused_until <= s->now) {
			nd->paused = false;
			nd->disturbed_at = s->now;
			sim_trace(s, TR_RESUME, nd->id, 0, 0, 0, 0);
			return;
		}
		if (nd->full_until <= s->now) {
			simfs_set_full(nd->fs, false);
			nd->full_until = NEVER;
			sim_trace(s, TR_STORAGE, nd->id, 3, 0, 0, 0);
			return;
		}
		for (int k = 0; k < SIM_PLANES; k++)
			if (nd->plane_until[k] <= s->now) {
				nd->plane_until[k] = NEVER;
				nd->disturbed_at = s->now;
				/* half the time only a short slice, then descheduled again: the
				 * backlog its rings hold is then handled a piece at a time */
				if (!s->healing && rnd(s, 2) == 0) {
					nd->plane_steps[k] = 1 + (uint32_t)rnd(s, 3);
					nd->plane_again_us[k] =
						rnd_between(s, 100, s->pf.plane_pause_max_us);
				}
				sim_trace(s, TR_PLANE_RESUME, nd->id, k, 0, 0, 0);
				return;
			}
	}
	if (!s->healing && s->next_fault <= s->now) {
		inject_fault(s);
		s->next_fault = s->now + 1 + (int64_t)rnd(s, 2 * (uint64_t)s->pf.fault_every_us);
	}
}

/* The liveness phase: every fault ends and everything comes back. */
static void
start_healing(struct sim *s)
{
	s->healing = true;
	heal_all(s);
	s->pf.p_drop = s->pf.p_dup = s->pf.p_late = s->pf.p_corrupt = 0;
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!nd->up)
			nd->restart_at = s->now;
		if (nd->paused)
			nd->paused_until = s->now;
		if (nd->full_until != NEVER)
			nd->full_until = s->now;
		for (int k = 0; k < SIM_PLANES; k++)
			if (nd->plane_until[k] != NEVER)
				nd->plane_until[k] = s->now;
	}
	for (int c = 0; c < s->pf.n_clients; c++)
		s->clients[c].done = true;
	sim_trace(s, TR_LIVENESS, 0, 0, 0, 0, 0);
}

/* ---- setup and the loop ---- */

static void
draw_profile(struct sim *s)
{
	static const double drops[] = {0, 0.001, 0.01, 0.05};
	struct profile *p = &s->pf;

	p->p_drop = drops[rnd(s, 4)];
	p->p_dup = rnd(s, 3) == 0 ? 0.02 : 0;
	p->p_late = (double[]){0, 0.002, 0.02, 0.1}[rnd(s, 4)];
	p->p_damage = (double[]){0, 0, 0.2, 0.5}[rnd(s, 4)];
	p->p_image = (double[]){0, 0.1, 0.5}[rnd(s, 3)];
	p->late_us = rnd_between(s, T_ELECTION, 10 * T_ELECTION);
	p->delay_us = rnd_between(s, 20, 200);
	p->jitter_us = rnd(s, 2) ? rnd_between(s, 0, 100) : rnd_between(s, 100, 2000);
	p->ring_delay_us = rnd_between(s, 0, 50);
	p->fsync_min_us = rnd_between(s, 10, 200);
	p->fsync_max_us = p->fsync_min_us + rnd_between(s, 0, 3000);
	p->fault_every_us = rnd_between(s, 5000, 60000);
	p->down_min_us = rnd_between(s, 1000, 10000);
	p->down_max_us = p->down_min_us + rnd_between(s, 0, 100000);
	p->pause_max_us = rnd_between(s, 2000, 4 * T_FETCH);
	p->jump_max_us = rnd_between(s, 100, 2 * T_ELECTION);
	for (int i = 0; i < SIM_FAULT_KINDS; i++)
		p->weights[i] = (uint32_t)rnd(s, 5);
	p->plane_pause_max_us = rnd_between(s, 2000, 4 * T_ELECTION);
	p->weights[0] += 1;			  /* crashes in every run */
	for (int i = 0; i < SIM_FAULT_KINDS; i++) /* drawn first: a seed's other faults stay */
		if (s->o.faults & (1u << i))
			p->weights[i] = 0;
	p->n_clients = 1 + (int)rnd(s, SIM_CLIENTS_MAX);
	p->think_us = rnd_between(s, 0, 3000);
	p->p_corrupt = (double[]){0, 0, 0.001, 0.01}[rnd(s, 4)];
}

void
sim_print_faults(const struct sim *s, FILE *f)
{
	const struct profile *p = &s->pf;

	fprintf(f,
		"seed %" PRIu64 ": %d voters, %d observers, %s; drop %.3f dup %.2f corrupt %.3f "
		"late %.3f (<= %" PRId64 " us) damage %.1f images %.1f delay %" PRId64 "+%" PRId64
		" us; ring delay %" PRId64 " us; fsync %" PRId64 "-%" PRId64
		" us; a fault every ~%" PRId64 " us (crash %u, split %u, one-way %u, "
		"isolate leader %u, pause %u, clock jump %u, storage %u, re-format %u, one "
		"thread %u); down "
		"%" PRId64 "-%" PRId64 " us; pause <= %" PRId64 " us (one thread <= %" PRId64
		" us); jump <= %" PRId64 " us; %d clients\n",
		s->seed, s->o.nodes, s->o.observers, s->o.memory ? "memory" : "disk", p->p_drop,
		p->p_dup, p->p_corrupt, p->p_late, p->late_us, p->p_damage, p->p_image, p->delay_us,
		p->jitter_us, p->ring_delay_us, p->fsync_min_us, p->fsync_max_us, p->fault_every_us,
		p->weights[0], p->weights[1], p->weights[2], p->weights[3], p->weights[4],
		p->weights[5], p->weights[6], p->weights[7], p->weights[8], p->down_min_us,
		p->down_max_us, p->pause_max_us, p->plane_pause_max_us, p->jump_max_us,
		p->n_clients);
}

void
sim_print_trace(const struct sim *s, FILE *f)
{
	uint64_t from = s->trace_n > SIM_TRACE ? s->trace_n - SIM_TRACE : 0;

	int faults = 0;

	fprintf(f, "faults in force at t=%" PRId64 ":", s->now);
	for (int i = 0; i < s->n; i++) {
		const struct node *nd = &s->nodes[i];

		if (!nd->up)
			faults += fprintf(f, " n%d down", nd->id) > 0;
		else if (nd->paused)
			faults += fprintf(f, " n%d paused", nd->id) > 0;
		for (int k = 0; k < SIM_PLANES; k++)
			if (nd->up && nd->plane_until[k] != NEVER)
				faults += fprintf(f, " n%d %s thread paused", nd->id,
						  plane_name(k)) > 0;
		if (nd->clock_offset)
			faults += fprintf(f, " n%d clock+%" PRId64 " us", nd->id,
					  nd->clock_offset) > 0;
	}
	for (int a = 1; a <= s->n; a++)
		for (int b = 1; b <= s->n; b++)
			if (s->cut[a][b])
				faults += fprintf(f, " cut %d->%d", a, b) > 0;
	fprintf(f, "%s\n", faults ? "" : " none");
	if (s->o.voter_changes)
		for (int i = 0; i < s->n; i++) {
			struct node *nd = (struct node *)&s->nodes[i];
			const struct vview *v = sim_voters((struct sim *)s, nd);
			char ids[64];

			kr_voters_ids(&v->set, ids, sizeof(ids));
			fprintf(f,
				"  n%d: %s, %s epoch %u%s, log end %" PRIu64 " (last epoch %u),"
				" voters {%s} (record at %" PRId64 ")%s%s\n",
				nd->id, nd->up ? "up" : "down", kr_role_name(nd->e.role),
				nd->e.epoch, nd->e.vote_blocked ? " vote-blocked" : "",
				nd->log ? kr_log_end(nd->log) : 0,
				nd->log ? kr_log_last_epoch(nd->log) : 0, ids,
				v->off == KR_OFFSET_NONE ? -1 : (int64_t)v->off,
				sim_in_set(&v->set, nd) ? "" : ", not one of them",
				nd->e.left_pending ? ", its removal pending" : "");
		}
	fprintf(f, "last events:\n");
	for (uint64_t i = from; i < s->trace_n; i++) {
		const struct trace_rec *t = &s->trace[i % SIM_TRACE];

		char line[256];

		trace_format(t, line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
}

void
sim_tally(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		s->fragmented += s->nodes[i].rh.fragmented;
		s->whole += s->nodes[i].reasm.stats.done;
	}
}

void
sim_free(struct sim *s)
{
	if (s == NULL)
		return;
	if (sim_current == s)
		sim_current = NULL;
	net_take_all(s, NULL); /* before the logs go */
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		apply_stop(nd);
		if (s->o.snapshots && nd->fs != NULL)
			xfer_reset(s, nd);
		kr_log_close(nd->log);
		kr_log_job_free(&nd->fl.job);
		simfs_free(nd->fs);
		free(nd->r);
		ring_free(&nd->events);
		ring_free(&nd->cmds);
		ring_free(&nd->durable);
		ring_free(&nd->flushes);
		for (uint32_t k = 0; k < nd->rx_n; k++)
			free(nd->rx[(nd->rx_head + k) % SIM_RX_CAP].bytes);
		free(nd->rx);
		free(nd->img.bytes);
		free(nd->img.idx);
		free(nd->reasm_mem);
	}
	for (uint32_t i = 0; i < s->net_n; i++)
		free(s->net[i].bytes);
	free(s->net);
	free(s->committed);
	free(s->committed_sets);
	free(s->epoch_leader);
	free(s->digest_at);
	free(s->digest_set);
	for (int c = 0; c < SIM_CLIENTS_MAX; c++) {
		free(s->committed_ts[c]);
		free(s->acked_at[c]);
		free(s->committed_at[c]);
	}
	free(s);
}

/* Which actor runs next: the earliest, ties in a fixed order. */
const struct sim *sim_current;

enum { A_NONE, A_WORLD, A_NET, A_CLIENT, A_OPERATOR, A_CONTROL, A_DP, A_FLUSH, A_APPLY, A_XFER };

/* A thread of nd took a step: if its slice is over, it stops again. */
static void
plane_stepped(struct sim *s, struct node *nd, int k)
{
	if (nd->plane_steps[k] == 0 || --nd->plane_steps[k] > 0 || !nd->up)
		return;
	if (s->healing) {
		nd->plane_again_us[k] = 0;
		return;
	}
	nd->plane_until[k] = s->now + nd->plane_again_us[k];
	nd->plane_again_us[k] = 0;
	nd->disturbed_at = NEVER; /* until it resumes */
	sim_trace(s, TR_PLANE_PAUSE, nd->id, k, 0, nd->plane_until[k], 0);
}

int
sim_run(const struct sim_opts *o, uint64_t seed, struct sim **out)
{
	struct sim *s = xcalloc(1, sizeof(*s));
	int64_t heal_started = 0, last_now = 0;
	uint64_t still = 0; /* steps since the clock last moved */

	sim_current = s;
	s->o = *o;
	s->seed = seed;
	s->rng = seed * 0x2545F4914F6CDD1Dull + 1;
	s->n = o->nodes + o->observers;
	for (int i = 0; i < 16; i++)
		s->wire.cluster_id[i] = (uint8_t)(0xA0 + i);
	s->wire.voter_set_hash = 0x5151;
	if (o->auth) {
		char err[128];

		if (kr_auth_key_parse(
			    "5151515151515151515151515151515151515151515151515151515151515151",
			    &s->keys.keys[0], err, sizeof(err)) != 0) {
			fprintf(stderr, "kraftsim: %s\n", err);
			exit(2);
		}
		s->wire.flags = KR_FRAME_F_AUTH;
		kr_auth_init(&s->client_auth, &s->keys, SIM_WALL0);
	}
	s->heal_at = NEVER;
	s->dedup_window_us = o->snapshots ? SIM_DEDUP_WINDOW_US : 0;
	draw_profile(s);
	s->next_fault = s->pf.fault_every_us;
	s->now = 1000000;
	for (int c = 0; c < SIM_CLIENTS_MAX; c++) {
		s->acked_at[c] = xcalloc(SIM_SEQ_MAX, sizeof(int64_t));
		s->committed_at[c] = xcalloc(SIM_SEQ_MAX, sizeof(int64_t));
		if (o->snapshots)
			s->committed_ts[c] = xcalloc(SIM_SEQ_MAX, sizeof(int64_t));
		for (int k = 0; k < SIM_SEQ_MAX; k++)
			s->acked_at[c][k] = s->committed_at[c][k] = -1;
	}
	for (int c = 0; c < s->pf.n_clients; c++) {
		struct client *cl = &s->clients[c];

		cl->idx = c;
		cl->pid = 1000 + (uint64_t)c;
		cl->target = random_node(s);
		cl->next_at = s->now + (int64_t)rnd(s, 1000);
	}
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		nd->id = i + 1;
		nd->left_end = KR_OFFSET_NONE;
		nd->disk = (struct kr_quorum_state){.leader_id = KR_NODE_NONE,
						    .voted_id = KR_NODE_NONE};
		nd->r = xcalloc(1, sizeof(*nd->r));
		nd->rx = xcalloc(SIM_RX_CAP, sizeof(*nd->rx));
		nd->fs = simfs_new(&s->rng);
		nd->full_until = NEVER;
		for (int k = 0; k < SIM_PLANES; k++)
			nd->plane_until[k] = NEVER;
		snprintf(nd->dir, sizeof(nd->dir), "/n%d", nd->id);
		node_format(s, nd, true);
		ring_init(&nd->events);
		ring_init(&nd->cmds);
		ring_init(&nd->durable);
		ring_init(&nd->flushes);
		node_boot(s, nd);
	}
	s->committed_set = s->boot;
	s->committed_set_off = KR_OFFSET_NONE;
	s->stand_patience_us = (int64_t)KR_STAND_PATIENCE * T_ELECTION;
	if (o->voter_changes) { /* drawn last: the other draws of a seed stay as they were */
		s->op.on = true;
		s->op.every_us = rnd_between(s, 1000, 30000);
		s->op.patience_us = chance(s, 0.3) ? rnd_between(s, 1000, 5000) : T_CLIENT;
		s->op.next_at = s->now + (int64_t)rnd(s, (uint64_t)s->op.every_us);
	}
	if (o->verbose || o->show_profile)
		sim_print_faults(s, stdout);

	while (!s->violated) {
		int64_t best = NEVER, t;
		int kind = A_NONE, who = 0;

		if (!s->healing && s->steps >= o->steps) {
			start_healing(s);
			heal_started = s->now;
		}
		if (s->healing) {
			char why[256];

			if (check_liveness(s, why, sizeof(why)))
				break;
			if (s->now > heal_started + HEAL_LIMIT_US) {
				check_violation(s, "liveness: %s within %d us of healing", why,
						HEAL_LIMIT_US);
				break;
			}
		}
		t = world_next(s);
		if (t < best) {
			best = t;
			kind = A_WORLD;
		}
		if (s->net_n > 0 && s->net[0].at < best) {
			best = s->net[0].at;
			kind = A_NET;
		}
		for (int c = 0; c < s->pf.n_clients; c++)
			if ((t = client_next(&s->clients[c])) < best) {
				best = t;
				kind = A_CLIENT;
				who = c;
			}
		if ((t = op_next(s, &s->op)) < best) {
			best = t;
			kind = A_OPERATOR;
		}
		for (int i = 0; i < s->n; i++) {
			struct node *nd = &s->nodes[i];

			if (!nd->up || nd->paused)
				continue;
			if (nd->plane_until[0] == NEVER && (t = control_next(s, nd)) < best) {
				best = t;
				kind = A_CONTROL;
				who = i;
			}
			if (nd->plane_until[1] == NEVER && (t = dp_next(s, nd)) < best) {
				best = t;
				kind = A_DP;
				who = i;
			}
			if (!o->memory && nd->plane_until[2] == NEVER &&
			    (t = flush_next(nd)) < best) {
				best = t;
				kind = A_FLUSH;
				who = i;
			}
			if ((t = apply_next(s, nd)) < best) {
				best = t;
				kind = A_APPLY;
				who = i;
			}
			if ((t = xfer_next(s, nd)) < best) {
				best = t;
				kind = A_XFER;
				who = i;
			}
		}
		if (kind == A_NONE) {
			check_violation(s, "the world stopped: nothing left to do");
			break;
		}
		if (best > s->now)
			s->now = best;
		if (s->now != last_now) {
			last_now = s->now;
			still = 0;
		} else if (++still > 100000) {
			check_violation(
				s, "livelock: 100000 steps without time moving (actor %d, node %d)",
				kind, kind >= A_CONTROL ? who + 1 : 0);
			break;
		}
		s->steps++;
		if (s->steps == o->abort_at_step)
			abort(); /* what a core's assertion does */
		switch (kind) {
		case A_WORLD:
			world_step(s);
			break;
		case A_NET: {
			struct datagram d = net_pop(s);

			net_take(&d);
			if (d.to >= SIM_CLIENT_ADDR) {
				int c = (int)(d.to - SIM_CLIENT_ADDR);

				if (c < s->pf.n_clients)
					client_hears(s, &s->clients[c], d.bytes, d.len);
				else if (c == SIM_OPERATOR)
					op_hears(s, &s->op, d.bytes, d.len);
				free(d.bytes);
			} else {
				struct node *nd = &s->nodes[d.to - 1];

				if (!nd->up || nd->rx_n == SIM_RX_CAP) {
					sim_trace(s, TR_DROP, d.from, (int32_t)d.to, 2, 0, 0);
					free(d.bytes);
				} else {
					nd->rx[(nd->rx_head + nd->rx_n++) % SIM_RX_CAP] = d;
				}
			}
			break;
		}
		case A_CLIENT:
			client_step(s, &s->clients[who]);
			break;
		case A_OPERATOR:
			op_step(s, &s->op);
			break;
		case A_CONTROL:
			control_step(s, &s->nodes[who]);
			check_step(s, &s->nodes[who]);
			plane_stepped(s, &s->nodes[who], 0);
			break;
		case A_DP:
			dp_step(s, &s->nodes[who]);
			check_step(s, &s->nodes[who]);
			plane_stepped(s, &s->nodes[who], 1);
			break;
		case A_FLUSH:
			flush_step(s, &s->nodes[who]);
			check_step(s, &s->nodes[who]);
			plane_stepped(s, &s->nodes[who], 2);
			break;
		case A_APPLY:
			apply_step(s, &s->nodes[who]);
			break;
		case A_XFER:
			xfer_step(s, &s->nodes[who]);
			break;
		}
		if (kind >= A_CONTROL && s->nodes[who].exiting && s->nodes[who].up)
			node_exit(s, &s->nodes[who]);
		if (o->sabotage)
			sabotage_try(s);
	}
	if (!s->violated)
		check_final(s);
	*out = s;
	return s->violated ? 1 : 0;
}
