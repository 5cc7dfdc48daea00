/* kraftsim: the invariants, checked after every step from the simulator's ground truth:
 * what each node's storage really holds (the flush image, or memory in memory mode),
 * what really left each node (frames at the moment they are sent), and the committed
 * log the simulator assembles from leaders' logs as their high watermarks move. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/restart.h"
#include "sim.h"

void
check_violation(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->violated)
		return;
	s->violated = true;
	va_start(ap, fmt);
	vsnprintf(s->violation, sizeof(s->violation), fmt, ap);
	va_end(ap);
}

static bool
qs_equal(const struct kr_quorum_state *a, const struct kr_quorum_state *b)
{
	return a->epoch == b->epoch && a->leader_id == b->leader_id && a->voted_id == b->voted_id &&
	       memcmp(a->voted_dir, b->voted_dir, KR_UUID_BYTES) == 0;
}

/* Walks a log's batches in order. */
struct walk {
	const struct kr_log *log;
	uint64_t next; /* offset of the next span to read */
	struct kr_log_span sp;
	uint32_t pos;
};

/* The next batch of the walk (NULL at the end), with its header. */
static const uint8_t *
walk_next(struct walk *w, struct kr_batch_hdr *h)
{
	const uint8_t *b;

	if (w->pos >= w->sp.len) {
		if (w->log == NULL ||
		    kr_log_read(w->log, w->next, KR_OFFSET_NONE, UINT32_MAX, &w->sp) != 0 ||
		    w->sp.len == 0)
			return NULL;
		w->pos = 0;
		w->next = w->sp.end_offset;
	}
	b = w->sp.data + w->pos;
	kr_batch_hdr_get(b, h);
	w->pos += h->length;
	return b;
}

static const char *
outcome_name(enum kr_log_recovery o)
{
	return o == KR_LOG_CLEAN ? "clean" : o == KR_LOG_TORN_TAIL ? "torn tail" : "mid-log damage";
}

/* A start's verdict against the ground truth (before the image follows the new log):
 * the quorum state is the last one persisted, or the one a crash interrupted; every
 * batch the node's flush jobs made durable is back byte for byte (but what it truncated
 * since: an interrupted job may have cut it), unless a fault damaged synced data; and
 * then whatever is missing lies below the repair target, so the node neither votes
 * nor counts toward commit before it has refetched it. */
void
check_recovery(struct sim *s, struct node *nd, const struct kr_restart *rs)
{
	const struct kr_quorum_state *q = &rs->qs;
	bool damaged = simfs_damaged(nd->fs) > 0;

	if (!qs_equal(q, &nd->disk) && !(nd->persist_cut && qs_equal(q, &nd->persist_qs))) {
		check_violation(s,
				"node %d: restarted with quorum state epoch %u voted %d leader %d: "
				"neither the last persisted (epoch %u voted %d leader %d) nor the "
				"one being persisted",
				nd->id, q->epoch, q->voted_id, q->leader_id, nd->disk.epoch,
				nd->disk.voted_id, nd->disk.leader_id);
		return;
	}
	if (s->o.memory)
		return;
	struct walk w = {.log = rs->log, .next = kr_log_start(rs->log)};
	struct kr_batch_hdr h = {0};
	const uint8_t *got = walk_next(&w, &h);
	/* after damage, the repair must cover all it acknowledged: every flushed batch not
	 * truncated since */
	uint64_t need = 0;

	if (nd->img.n > 0) {
		const struct image_batch *last = &nd->img.idx[nd->img.n - 1];

		need = last->base + last->count;
		if (need > nd->trunc_low)
			need = nd->trunc_low;
	}
	for (uint32_t i = 0; i < nd->img.n; i++) {
		const struct image_batch *b = &nd->img.idx[i];

		while (got != NULL && h.base_offset < b->base)
			got = walk_next(&w, &h);
		if (got != NULL && h.base_offset == b->base && h.length == b->len &&
		    memcmp(got, nd->img.bytes + b->pos, b->len) == 0)
			continue;
		/* truncated since its last flush job completed: a job cut short by the crash
		 * may have cut the files already */
		if (b->base + b->count > nd->trunc_low)
			return;
		if (!damaged)
			check_violation(s,
					"node %d: recovery lost offsets [%" PRIu64 ", %" PRIu64
					") (epoch %u), flushed and undamaged (recovery: %s, %s)",
					nd->id, b->base, b->base + b->count, b->epoch,
					outcome_name(rs->rep.outcome), rs->rep.reason);
		else if (rs->repair_target < need)
			check_violation(
				s,
				"node %d: offsets [%" PRIu64 ", %" PRIu64
				") (epoch %u) were flushed and are gone after damage, but the "
				"node would vote and count before refetching them up to %" PRIu64
				" (repair target %" PRIu64 "; recovery: %s, %s)",
				nd->id, b->base, b->base + b->count, b->epoch, need,
				rs->repair_target, outcome_name(rs->rep.outcome), rs->rep.reason);
		return;
	}
}

void
check_restart(struct sim *s, struct node *nd)
{
	(void)s;
	nd->vv.log = NULL; /* a new log: read its voter sets again */
	nd->left_end = KR_OFFSET_NONE;
	nd->seen_epoch = nd->disk.epoch;
	nd->last_hw = KR_OFFSET_NONE;
	nd->fatal = 0;
	nd->verified = 0;
	nd->hw_checked = 0;
	nd->leader_epoch = 0;
}

/* The quorum-state file is about to change to qs. */
void
check_persisted(struct sim *s, struct node *nd, const struct kr_quorum_state *qs)
{
	const struct kr_quorum_state *old = &nd->disk;

	if (qs->epoch < old->epoch)
		check_violation(s, "node %d: persisted epoch went back from %u to %u", nd->id,
				old->epoch, qs->epoch);
	if (qs->epoch == old->epoch && old->voted_id >= 0 && qs->voted_id != old->voted_id)
		check_violation(s, "node %d: voted for %d and then %d in epoch %u", nd->id,
				old->voted_id, qs->voted_id, qs->epoch);
	if (qs->voted_id >= 0 && qs->epoch > nd->vote_epoch)
		nd->vote_epoch = qs->epoch;
}

static uint32_t
msg_epoch(const struct kr_msg *m)
{
	switch (m->api) {
	case KR_API_VOTE:
		return m->u.vote.epoch;
	case KR_API_VOTE_RESP:
		return m->u.vote_resp.epoch;
	case KR_API_BEGIN_EPOCH:
		return m->u.begin_epoch.epoch;
	case KR_API_END_EPOCH:
		return m->u.end_epoch.epoch;
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		return m->u.epoch_resp.epoch;
	case KR_API_FETCH:
		return m->u.fetch.epoch;
	case KR_API_FETCH_RESP:
		return m->u.fetch_resp.epoch;
	case KR_API_FETCH_SNAPSHOT:
		return m->u.fetch_snapshot.epoch;
	case KR_API_FETCH_SNAPSHOT_RESP:
		return m->u.fetch_snapshot_resp.epoch;
	case KR_API_APPEND_RESP:
		return m->u.append_resp.epoch;
	case KR_API_READ_RESP:
		return m->u.read_resp.epoch;
	default:
		return 0;
	}
}

/* A control frame leaves: the epoch it carries, and a vote it grants or asks for as a
 * candidate, must already be in the quorum-state file. */
void
check_control_send(struct sim *s, struct node *nd, const struct kr_el_action *a)
{
	const struct kr_msg *m = &a->u.send.msg;

	if (m->api == KR_API_BEGIN_EPOCH_RESP && m->u.epoch_resp.error == KR_ERR_NONE &&
	    m->u.epoch_resp.epoch > nd->spoke_epoch)
		nd->spoke_epoch = m->u.epoch_resp.epoch;

	if (m->api == KR_API_VOTE_RESP && m->u.vote_resp.granted && !m->u.vote_resp.pre_vote) {
		/* ground truth: one candidate per epoch, across the node's crashes */
		uint32_t ep = m->u.vote_resp.epoch, k = nd->n_grants % SIM_GRANTS;

		for (uint32_t i = 0; i < SIM_GRANTS && i < nd->n_grants; i++)
			if (nd->grants[i].epoch == ep && nd->grants[i].to != a->u.send.to)
				check_violation(
					s,
					"node %d: granted its vote in epoch %u to %d and then "
					"to %d",
					nd->id, ep, nd->grants[i].to, a->u.send.to);
		nd->grants[k] = (struct grant){.epoch = ep, .to = a->u.send.to};
		nd->n_grants++;
	}
	if (s->o.no_send_checks)
		return;
	if (msg_epoch(m) > nd->disk.epoch)
		check_violation(s, "node %d: sent %s in epoch %u before persisting it (file: %u)",
				nd->id, kr_api_name(m->api), msg_epoch(m), nd->disk.epoch);
	if (m->api == KR_API_VOTE_RESP && m->u.vote_resp.granted && !m->u.vote_resp.pre_vote &&
	    (nd->disk.epoch != m->u.vote_resp.epoch || nd->disk.voted_id != a->u.send.to))
		check_violation(s,
				"node %d: granted its vote in epoch %u to %d before persisting it "
				"(file: epoch %u, voted %d)",
				nd->id, m->u.vote_resp.epoch, a->u.send.to, nd->disk.epoch,
				nd->disk.voted_id);
	if (m->api == KR_API_VOTE && !m->u.vote.pre_vote &&
	    (nd->disk.epoch != m->u.vote.epoch || nd->disk.voted_id != nd->id))
		check_violation(s, "node %d: asked for votes in epoch %u before persisting its own",
				nd->id, m->u.vote.epoch);
}

/* A dataplane frame leaves: the fence rule. No offset is reported (a Fetch) and no append
 * is acknowledged under epoch E once the node has voted, or run, in an epoch above E. */
void
check_dp_send(struct sim *s, struct node *nd, const struct kr_rp_action *a)
{
	const struct kr_msg *m = &a->u.send.msg;
	uint32_t e = msg_epoch(m);

	if (e > nd->disk.epoch)
		check_violation(s, "node %d: dataplane sent %s in epoch %u, not yet persisted (%u)",
				nd->id, kr_api_name(m->api), e, nd->disk.epoch);
	/* (a log the leader reset to start at the durable offset holds no batch ending there:
	 * it claims only what is committed already, below every leader's log start) */
	if (m->api == KR_API_FETCH && m->u.fetch.durable_offset != KR_OFFSET_NONE &&
	    m->u.fetch.durable_offset > 0 &&
	    !(s->o.snapshots && m->u.fetch.durable_offset == kr_log_start(nd->log))) {
		/* remember what it claims to hold, as its log is now (true when said: its
		 * storage may lose it later -- a crash in memory mode, damage on disk) */
		struct kr_log_span sp;
		struct kr_batch_hdr h;
		uint64_t d = m->u.fetch.durable_offset;

		if (kr_log_read(nd->log, d - 1, KR_OFFSET_NONE, UINT32_MAX, &sp) != 0 ||
		    sp.len == 0) {
			check_violation(
				s, "node %d reported durable offset %" PRIu64 " beyond its log",
				nd->id, d);
			return;
		}
		kr_batch_hdr_get(sp.data, &h);
		nd->claims[e % SIM_CLAIM_EPOCHS] = (struct claim){
			.end = d,
			.base = h.base_offset,
			.epoch = h.epoch,
			.crc = h.crc,
			.leader_epoch = e,
		};
		memcpy(nd->claims[e % SIM_CLAIM_EPOCHS].dir, nd->dir_id, KR_UUID_BYTES);
	}
	if ((m->api == KR_API_FETCH || m->api == KR_API_FETCH_SNAPSHOT) && e > nd->spoke_epoch)
		nd->spoke_epoch = e;
	if (m->api == KR_API_FETCH && nd->vote_epoch > e)
		check_violation(s,
				"fence rule: node %d reported offset %" PRIu64 " (durable %" PRIu64
				") under epoch %u after voting in epoch %u",
				nd->id, m->u.fetch.fetch_offset, m->u.fetch.durable_offset, e,
				nd->vote_epoch);
	if (m->api == KR_API_APPEND_RESP && m->u.append_resp.error == KR_ERR_NONE &&
	    nd->vote_epoch > e)
		check_violation(s,
				"fence rule: node %d acknowledged an append under epoch %u after "
				"voting in epoch %u",
				nd->id, e, nd->vote_epoch);
}

/* ---- voter sets, read from the logs ---- */

bool
sim_in_set(const struct kr_voter_set *set, const struct node *nd)
{
	return kr_voters_find_key(set, nd->id, nd->dir_id) >= 0;
}

/* A leader appended a voters record that changes the set: the rules it must have kept.
 * The last change is committed (one at a time), and the leader had committed a record of
 * its own epoch first (else an earlier leader's change may still be in flight: Raft's
 * known single-server change bug). */
static void
check_change_rules(struct sim *s, struct node *nd, const struct vview *v)
{
	uint32_t k = s->committed_n;
	bool own = false;

	if (v->prev_off != KR_OFFSET_NONE && v->prev_off >= s->committed_end)
		check_violation(s,
				"leader %d (epoch %u) appended a voter change at %" PRIu64
				" while the one at %" PRIu64
				" was not committed (committed end %" PRIu64 ")",
				nd->id, v->epoch, v->off, v->prev_off, s->committed_end);
	while (k > 0 && s->committed[k - 1].epoch >= v->epoch && !own)
		own = s->committed[--k].epoch == v->epoch && s->committed[k].base < v->off;
	if (!own)
		check_violation(s,
				"leader %d appended a voter change at %" PRIu64
				" in epoch %u before a record of its epoch was committed",
				nd->id, v->off, v->epoch);
}

const struct vview *
sim_voters(struct sim *s, struct node *nd)
{
	struct vview *v = &nd->vv;
	uint64_t end;

	if (nd->log == NULL)
		return v; /* never started: what it was last read as */
	end = kr_log_end(nd->log);
	if (v->log != nd->log || v->mutations != kr_log_mutations(nd->log) || v->scanned > end ||
	    v->scanned < kr_log_start(nd->log)) {
		v->log = nd->log;
		v->mutations = kr_log_mutations(nd->log);
		v->scanned = kr_log_start(nd->log);
		v->off = v->prev_off = KR_OFFSET_NONE;
		v->epoch = 0;
		/* before any voters record: the bootstrap set of an initial voter's directory;
		 * a joining directory knows none until it reads one, nor does a log whose
		 * start moved (retention, a reset): the set in force there came from records
		 * below it */
		v->set = nd->initial ? s->boot : (struct kr_voter_set){0};
		v->from_below = false;
		if (kr_log_start(nd->log) > 0 && nd->r->cfg.dynamic) {
			/* a log whose start moved (retention, a reset): the records before its
			 * first are gone. Everything below the start is committed: the set in
			 * force there is the committed one. What the node's core knows of it
			 * depends on its past, so until a record is read the checks that compare
			 * the two, or judge the next record as a change, wait (from_below) */
			uint64_t start = kr_log_start(nd->log);

			v->set = s->boot;
			for (uint32_t i = 0; i < s->committed_sets_n; i++)
				if (s->committed_sets[i].off < start)
					v->set = s->committed_sets[i].set;
			v->from_below = true;
		}
		v->prev = v->set;
	}
	while (v->scanned < end) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(nd->log, v->scanned, end, UINT32_MAX, &sp) != 0 || sp.len == 0)
			break;
		while (pos < sp.len) {
			const uint8_t *b = sp.data + pos;
			struct kr_batch_hdr h;
			struct kr_voter_set set;
			int rc;

			kr_batch_hdr_get(b, &h);
			pos += h.length;
			rc = kr_voters_batch_decode(b, &h, &set);
			if (rc == 0)
				continue;
			if (rc < 0) {
				check_violation(s,
						"node %d: its log holds a voters record at %" PRIu64
						" that does not decode",
						nd->id, h.base_offset);
				continue;
			}
			if (v->set.n > 0 && !v->from_below &&
			    kr_voters_diff(&v->set, &set, NULL) == KR_VOTERS_ILLEGAL)
				check_violation(s,
						"node %d: the voters record at %" PRIu64
						" changes more than one voter",
						nd->id, h.base_offset);
			v->prev = v->set;
			v->prev_off = v->off;
			v->from_below = false;
			v->set = set;
			v->off = h.base_offset;
			v->epoch = h.epoch;
			/* appended by this node as leader of the batch's epoch: a change it made */
			if (nd->r->role == KR_REPL_LEADER && nd->r->epoch == h.epoch &&
			    v->prev.n > 0 && kr_voters_diff(&v->prev, &set, NULL) != KR_VOTERS_SAME)
				check_change_rules(s, nd, v);
		}
		v->scanned = sp.end_offset;
	}
	return v;
}

/* ---- the committed log ---- */

static int64_t
committed_find(const struct sim *s, uint64_t base)
{
	uint32_t lo = sim_first_at(s->committed, s->committed_n, sizeof(*s->committed), base);

	return lo < s->committed_n && s->committed[lo].base == base ? (int64_t)lo : -1;
}

static void
committed_push(struct sim *s, const uint8_t *b, uint32_t commit_epoch)
{
	struct kr_batch_hdr h;
	struct committed_batch *cb;

	kr_batch_hdr_get(b, &h);
	if (s->committed_n == s->committed_cap) {
		s->committed_cap = s->committed_cap ? s->committed_cap * 2 : 1024;
		s->committed = realloc(s->committed, s->committed_cap * sizeof(*s->committed));
		if (s->committed == NULL)
			exit(2);
	}
	cb = &s->committed[s->committed_n++];
	*cb = (struct committed_batch){h.base_offset, h.record_count, h.epoch,	 commit_epoch,
				       h.crc,	      h.producer_id,  h.sequence};
	if (kr_voters_batch_decode(b, &h, &s->committed_set) == 1) {
		s->committed_set_off = h.base_offset;
		if (s->committed_sets_n == s->committed_sets_cap) {
			s->committed_sets_cap =
				s->committed_sets_cap ? s->committed_sets_cap * 2 : 16;
			s->committed_sets =
				realloc(s->committed_sets,
					s->committed_sets_cap * sizeof(*s->committed_sets));
			if (s->committed_sets == NULL)
				exit(2);
		}
		s->committed_sets[s->committed_sets_n++] =
			(struct committed_set){h.base_offset, s->committed_set};
	}
	if (!(h.attributes & KR_BATCH_A_CONTROL) && h.producer_id >= 1000 &&
	    h.producer_id < 1000 + SIM_CLIENTS_MAX && h.sequence < SIM_SEQ_MAX) {
		int c = (int)(h.producer_id - 1000);

		/* --snapshots: deduplication is promised within the window only (a retry
		 * later than that may be appended again), as the leader that took the retry
		 * judged it: by batch timestamps */
		bool late = s->o.snapshots && s->committed_at[c][h.sequence] >= 0 &&
			    s->committed_ts[c][h.sequence] < h.timestamp_us - s->dedup_window_us;

		if (s->committed_at[c][h.sequence] >= 0 && !late)
			check_violation(s,
					"client %d's append %" PRIu64
					" committed twice: at %" PRId64 " and %" PRIu64,
					c, h.sequence, s->committed_at[c][h.sequence],
					h.base_offset);
		else if (!late)
			s->committed_at[c][h.sequence] = (int64_t)h.base_offset;
		if (s->o.snapshots)
			s->committed_ts[c][h.sequence] = late ? INT64_MIN : h.timestamp_us;
		s->commits++;
	}
}

/* --snapshots: node nd's apply actor applied the batch h, and its state machine's digest
 * is now digest. Only committed batches are applied, and every node's state at a batch's
 * end equals the state the first node to get there had. */
void
check_applied(struct sim *s, struct node *nd, const struct kr_batch_hdr *h, uint64_t digest)
{
	int64_t k = committed_find(s, h->base_offset);

	if (k < 0 || h->base_offset + h->record_count > s->committed_end ||
	    s->committed[k].crc != h->crc) {
		check_violation(s,
				"node %d: applied the batch at %" PRIu64
				" (epoch %u), which is not "
				"the committed one there (committed end %" PRIu64 ")",
				nd->id, h->base_offset, h->epoch, s->committed_end);
		return;
	}
	if ((uint32_t)k >= s->digest_cap) {
		uint32_t cap = s->digest_cap ? s->digest_cap : 1024;

		while (cap <= (uint32_t)k)
			cap *= 2;
		s->digest_at = realloc(s->digest_at, cap * sizeof(*s->digest_at));
		s->digest_set = realloc(s->digest_set, cap * sizeof(*s->digest_set));
		if (s->digest_at == NULL || s->digest_set == NULL)
			exit(2);
		memset(s->digest_set + s->digest_cap, 0, (cap - s->digest_cap) * sizeof(bool));
		s->digest_cap = cap;
	}
	if (!s->digest_set[k]) {
		s->digest_set[k] = true;
		s->digest_at[k] = digest;
	} else if (s->digest_at[k] != digest) {
		check_violation(s,
				"node %d: its state after the batch at %" PRIu64
				" has digest %016" PRIx64 ", another node's had %016" PRIx64,
				nd->id, h->base_offset, digest, s->digest_at[k]);
	}
}

void
check_installed(struct sim *s, struct node *nd, uint64_t end, uint64_t digest)
{
	uint32_t k = sim_first_at(s->committed, s->committed_n, sizeof(*s->committed), end);

	/* the batch that ends at end: the one before the first at or past it */
	if (k == 0 || end > s->committed_end ||
	    s->committed[k - 1].base + s->committed[k - 1].count != end) {
		check_violation(s,
				"node %d: installed a snapshot ending at %" PRIu64
				", not at the end of a committed batch (committed end %" PRIu64 ")",
				nd->id, end, s->committed_end);
		return;
	}
	k--;
	if ((uint32_t)k >= s->digest_cap || !s->digest_set[k]) {
		struct kr_batch_hdr h = {.base_offset = s->committed[k].base,
					 .record_count = s->committed[k].count,
					 .crc = s->committed[k].crc};

		check_applied(s, nd, &h, digest); /* the first state known there */
		return;
	}
	if (s->digest_at[k] != digest)
		check_violation(s,
				"node %d: the snapshot it installed (ending at %" PRIu64
				") has digest %016" PRIx64 ", the state there was %016" PRIx64,
				nd->id, end, digest, s->digest_at[k]);
}

/* A leader's HW moved to hw: what it passes is committed, from its log. */
static void
committed_extend(struct sim *s, struct node *nd, uint64_t hw)
{
	uint64_t off = s->committed_end;

	while (off < hw && !s->violated) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(nd->log, off, hw, UINT32_MAX, &sp) != 0 || sp.len == 0 ||
		    sp.base_offset != off) {
			check_violation(s,
					"node %d: its HW %" PRIu64
					" is not at a batch end of its log "
					"(from %" PRIu64 ")",
					nd->id, hw, off);
			return;
		}
		while (pos < sp.len) {
			committed_push(s, sp.data + pos, nd->r->epoch);
			pos += kr_get_le32(sp.data + pos + 4);
		}
		off = sp.end_offset;
	}
	s->committed_end = hw;
}

/* The node's log from its verified point up to limit must be the committed log; what
 * says why the node must hold it. */
static void
verify_log(struct sim *s, struct node *nd, uint64_t limit, const char *what)
{
	uint64_t leo = kr_log_end(nd->log), off;
	int64_t k = -1; /* the previous batch's place: the next is most likely right after it */

	if (nd->verified > leo)
		nd->verified = leo; /* truncated: look again from there */
	if (limit > s->committed_end) {
		check_violation(s,
				"node %d believes offsets up to %" PRIu64
				" committed, beyond every leader's HW (%" PRIu64 ")",
				nd->id, limit, s->committed_end);
		return;
	}
	if (limit > leo) {
		check_violation(s,
				"node %d (dataplane %s in epoch %u, HW %" PRId64
				") %s up to %" PRIu64 " but its log ends at %" PRIu64,
				nd->id, nd->r->role == KR_REPL_LEADER ? "leader" : "not leader",
				nd->r->epoch, nd->r->hw == KR_OFFSET_NONE ? -1 : (int64_t)nd->r->hw,
				what, limit, leo);
		return;
	}
	off = nd->verified > kr_log_start(nd->log) ? nd->verified : kr_log_start(nd->log);
	while (off < limit && !s->violated) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(nd->log, off, limit, UINT32_MAX, &sp) != 0 || sp.len == 0) {
			check_violation(
				s, "node %d: committed offset %" PRIu64 " not at a batch start",
				nd->id, off);
			return;
		}
		while (pos < sp.len) {
			struct kr_batch_hdr h;

			kr_batch_hdr_get(sp.data + pos, &h);
			if (k >= 0 && (uint32_t)k + 1 < s->committed_n &&
			    s->committed[k + 1].base == h.base_offset)
				k++;
			else
				k = committed_find(s, h.base_offset);
			if (k < 0 || s->committed[k].epoch != h.epoch ||
			    s->committed[k].crc != h.crc) {
				check_violation(
					s,
					"committed prefixes differ: node %d holds epoch %u at "
					"offset %" PRIu64 ", the committed log %s %u",
					nd->id, h.epoch, h.base_offset,
					k < 0 ? "has no batch there; epoch" : "has epoch",
					k < 0 ? 0 : s->committed[k].epoch);
				return;
			}
			pos += h.length;
		}
		off = sp.end_offset;
	}
	nd->verified = limit > nd->verified ? limit : nd->verified;
}

/* Does voter (node v, directory dir) hold the batch (base, epoch, crc) that ends at hw on
 * leader l? Disk: the flush image, which survives crashes. Memory: the log of a running
 * node. Either way also what it reported holding, in l's epoch, when that was true:
 * storage can lose data the moment after a report (memory: a crash; disk: damage found
 * at restart) and no leader can know; kraftd promises no more than that. */
static bool
holds(struct sim *s, struct node *v, const uint8_t *dir, struct node *l, uint64_t hw, uint64_t base,
      uint32_t epoch, uint32_t crc)
{
	const struct claim *c = &v->claims[l->r->epoch % SIM_CLAIM_EPOCHS];
	bool same_dir = memcmp(v->dir_id, dir, KR_UUID_BYTES) == 0;

	for (int g = 0; g < SIM_OLD_DIRS && memcmp(c->dir, dir, KR_UUID_BYTES) != 0; g++)
		c = &v->old_claims[g][l->r->epoch % SIM_CLAIM_EPOCHS];
	struct kr_log_span sp;
	struct kr_batch_hdr h;

	/* a voter whose disk was formatted again holds nothing now, but what it reported
	 * before was true when said: its claims stand (those of that directory) */
	if (!s->o.memory && same_dir && sim_image_holds(&v->img, base, epoch, crc))
		return true;
	/* only a report made to this leader in its epoch acknowledges anything to it */
	if (c->end >= hw && v != l && c->leader_epoch == l->r->epoch &&
	    memcmp(c->dir, dir, KR_UUID_BYTES) == 0 &&
	    kr_log_read(l->log, c->base, KR_OFFSET_NONE, UINT32_MAX, &sp) == 0 && sp.len) {
		kr_batch_hdr_get(sp.data, &h);
		if (h.base_offset == c->base && h.epoch == c->epoch && h.crc == c->crc)
			return true; /* its log matched the leader's up to c->end */
	}
	if (!s->o.memory || !same_dir)
		return false;
	if (!v->up || kr_log_read(v->log, base, KR_OFFSET_NONE, UINT32_MAX, &sp) != 0 ||
	    sp.len == 0)
		return false;
	kr_batch_hdr_get(sp.data, &h);
	return h.base_offset == base && h.epoch == epoch && h.crc == crc;
}

struct logpos {
	uint32_t epoch;
	uint64_t end;
};

static bool
logpos_ge(struct logpos a, struct logpos b)
{
	return a.epoch > b.epoch || (a.epoch == b.epoch && a.end >= b.end);
}

/* Where a node's log ends after a crash (the image), or in memory. */
static struct logpos
image_pos(const struct node *v)
{
	const struct image *img = &v->img;

	if (img->n == 0)
		return (struct logpos){0, img->start};
	return (struct logpos){img->idx[img->n - 1].epoch,
			       img->idx[img->n - 1].base + img->idx[img->n - 1].count};
}

static struct logpos
memory_pos(const struct node *v)
{
	if (!v->up)
		return (struct logpos){0, 0};
	return (struct logpos){kr_log_last_epoch(v->log), kr_log_end(v->log)};
}

static bool
log_holds(const struct node *v, uint64_t base, uint32_t epoch, uint32_t crc)
{
	struct kr_log_span sp;
	struct kr_batch_hdr h;

	if (!v->up || kr_log_read(v->log, base, KR_OFFSET_NONE, UINT32_MAX, &sp) != 0 || !sp.len)
		return false;
	kr_batch_hdr_get(sp.data, &h);
	return h.base_offset == base && h.epoch == epoch && h.crc == crc;
}

/* Raft's commit rule exists so that no log lacking a committed entry can win an election.
 * Check that from ground truth when the HW moves: for every node that is a voter of the
 * set its own log holds in force and whose log lacks the batch at hw - 1, count the
 * voters of that set that would grant it their vote, each by the log it would have after
 * a crash (its image; memory mode: its memory, and an amnesiac or crashed node grants
 * nothing). A majority of its set means the commit was not safe. With voter changes this
 * holds because consecutive sets differ by one voter and each change commits before the
 * next: any majority of an older set meets a majority of the next, which holds its
 * record and so a newer log. */
static void
check_electable(struct sim *s, struct node *l, uint64_t hw, const struct kr_batch_hdr *x)
{
	for (int i = 0; i < s->n; i++) {
		struct node *v = &s->nodes[i];
		const struct kr_voter_set *set = &sim_voters(s, v)->set;
		struct logpos best = s->o.memory ? memory_pos(v)
				     : v->up	 ? memory_pos(v)
						 : image_pos(v);
		int grants = 0;

		if (!sim_in_set(set, v)) /* an observer: it never runs */
			continue;
		if (log_holds(v, x->base_offset, x->epoch, x->crc) ||
		    (!s->o.memory && !v->up &&
		     sim_image_holds(&v->img, x->base_offset, x->epoch, x->crc)))
			continue;
		if (!s->o.memory && v->up && logpos_ge(image_pos(v), best))
			best = image_pos(v); /* after a crash it might come back longer */
		for (int k = 0; k < set->n; k++) {
			struct node *w = set->v[k].id >= 1 && set->v[k].id <= s->n
						 ? &s->nodes[set->v[k].id - 1]
						 : NULL;

			/* a node that lost data votes for nobody until repaired; on disk the
			 * repair marker brings a stopped node back unable to vote; a voter
			 * whose disk was formatted again is another directory and never votes
			 * as this one */
			if (w == NULL || !sim_in_set(set, w) || (w->up && w->e.vote_blocked) ||
			    (!w->up && (s->o.memory || w->repair_target > 0)))
				continue;
			grants += logpos_ge(best, s->o.memory ? memory_pos(w) : image_pos(w));
		}
		if (grants >= (int)kr_voters_majority(set))
			check_violation(
				s,
				"leader %d (epoch %u) committed up to %" PRIu64 " (offset %" PRIu64
				", epoch %u), but node %d lacks it and could "
				"still win an election: %d voters' logs are no newer than its "
				"(epoch %u, end %" PRIu64 ")",
				l->id, l->r->epoch, hw, x->base_offset, x->epoch, v->id, grants,
				best.epoch, best.end);
	}
}

/* The leader's HW may not pass what a majority of the voters really holds: of the set in
 * force at the end of its log (the change appended, committed or not), each voter by its
 * directory, the leader only if it is one of them. */
static void
check_majority(struct sim *s, struct node *nd, uint64_t hw)
{
	const struct kr_voter_set *set = &sim_voters(s, nd)->set;
	struct kr_log_span sp;
	struct kr_batch_hdr h;
	int count = 0;

	if (hw == 0)
		return;
	if (kr_log_read(nd->log, hw - 1, KR_OFFSET_NONE, UINT32_MAX, &sp) != 0 || sp.len == 0) {
		check_violation(s, "leader %d: HW %" PRIu64 " beyond its log", nd->id, hw);
		return;
	}
	kr_batch_hdr_get(sp.data, &h);
	for (int i = 0; i < set->n; i++)
		if (set->v[i].id >= 1 && set->v[i].id <= s->n)
			count += holds(s, &s->nodes[set->v[i].id - 1], set->v[i].dir, nd, hw,
				       h.base_offset, h.epoch, h.crc);
	if (count < (int)kr_voters_majority(set))
		check_violation(s,
				"leader %d (epoch %u) moved its HW to %" PRIu64
				" but only %d of %d voters hold offset %" PRIu64 " %s",
				nd->id, nd->r->epoch, hw, count, set->n, hw - 1,
				s->o.memory ? "in memory" : "durably");
	check_electable(s, nd, hw, &h);
}

/* Voter changes, after each step of a node: its log read on (a change it appended as
 * leader is checked against the rules there); the set its core keeps in force is the one
 * its log holds; a leader has at most one change not yet committed; and a leader that
 * saw its own removal committed appends nothing more. */
static void
check_voter_sets(struct sim *s, struct node *nd)
{
	const struct vview *v = sim_voters(s, nd);
	struct kr_repl *r = nd->r;

	if (s->violated || !r->cfg.dynamic)
		return;
	/* the core's set in force: never one from before a truncation, nor a change it has
	 * not appended (a joining directory that has not read a record yet knows none) */
	if (v->set.n > 0 && !v->from_below && !kr_voters_equal(kr_vh_latest(&r->voters), &v->set))
		check_violation(s,
				"node %d: its core holds a set of %u voters in force (record at "
				"%" PRId64 "), but its log's last voters record is at %" PRId64
				" (%u voters)",
				nd->id, kr_vh_latest(&r->voters)->n,
				kr_vh_latest_offset(&r->voters) == KR_OFFSET_NONE
					? -1
					: (int64_t)kr_vh_latest_offset(&r->voters),
				v->off == KR_OFFSET_NONE ? -1 : (int64_t)v->off, v->set.n);
	if (r->role != KR_REPL_LEADER)
		return;
	if (v->prev_off != KR_OFFSET_NONE && v->prev_off >= s->committed_end &&
	    kr_voters_diff(&v->prev, &v->set, NULL) != KR_VOTERS_SAME)
		check_violation(s,
				"leader %d (epoch %u) has two voter changes pending: at %" PRIu64
				" and %" PRIu64 " (committed end %" PRIu64 ")",
				nd->id, r->epoch, v->prev_off, v->off, s->committed_end);
	if (nd->left_end != KR_OFFSET_NONE && nd->left_epoch == r->epoch) {
		if (kr_log_end(nd->log) > nd->left_end)
			check_violation(s,
					"leader %d (epoch %u) appended at %" PRIu64
					" after its own removal (record at %" PRIu64
					") was committed",
					nd->id, r->epoch, nd->left_end, v->off);
	} else if (v->set.n > 0 && !sim_in_set(&v->set, nd) && v->off != KR_OFFSET_NONE &&
		   r->hw != KR_OFFSET_NONE && r->hw > v->off) {
		nd->left_end = kr_log_end(nd->log);
		nd->left_epoch = r->epoch;
	}
}

void
check_step(struct sim *s, struct node *nd)
{
	struct kr_election *e = &nd->e;
	struct kr_repl *r = nd->r;

	if (!nd->up || s->violated)
		return;
	/* at most one leader per epoch: a control plane that leads an epoch its file holds
	 * (one that won in memory and died before the file said so left no trace: a sole
	 * voter wins in the step it starts running), or a dataplane that leads */
	bool leads = e->role == KR_ROLE_LEADER && nd->disk.epoch == e->epoch;

	if (leads || r->role == KR_REPL_LEADER) {
		uint32_t ep = leads ? e->epoch : r->epoch;

		if (ep >= s->epoch_leader_cap) {
			uint32_t cap = s->epoch_leader_cap ? s->epoch_leader_cap : 64;

			while (cap <= ep)
				cap *= 2;
			s->epoch_leader = realloc(s->epoch_leader, cap * sizeof(*s->epoch_leader));
			if (s->epoch_leader == NULL)
				exit(2);
			memset(s->epoch_leader + s->epoch_leader_cap, 0,
			       (cap - s->epoch_leader_cap) * sizeof(*s->epoch_leader));
			s->epoch_leader_cap = cap;
		}
		if (s->epoch_leader[ep].id != 0 && s->epoch_leader[ep].id != nd->id)
			check_violation(s, "two leaders in epoch %u: nodes %d and %d", ep,
					s->epoch_leader[ep].id, nd->id);
		s->epoch_leader[ep].id = nd->id;
		/* and one term: a leader whose dataplane led (could write) and that restarted
		 * never leads its epoch again, or it could write different records at offsets
		 * its first term used. (Winning and crashing before the file said so is no
		 * term: nothing was written.) */
		if (r->role == KR_REPL_LEADER && r->epoch == ep) {
			if (s->epoch_leader[ep].incarnation != 0 &&
			    s->epoch_leader[ep].incarnation != nd->incarnation)
				check_violation(s,
						"node %d led epoch %u again after restarting "
						"(incarnations %" PRIu64 " and %" PRIu64 ")",
						nd->id, ep, s->epoch_leader[ep].incarnation,
						nd->incarnation);
			s->epoch_leader[ep].incarnation = nd->incarnation;
		}
	}
	/* epochs never go back; what the node holds in memory is what its file says */
	if (e->epoch < nd->seen_epoch)
		check_violation(s, "node %d: epoch went back from %u to %u", nd->id, nd->seen_epoch,
				e->epoch);
	nd->seen_epoch = e->epoch;
	if (!kr_el_harness_busy(&nd->eh) && !nd->persisting &&
	    (e->epoch != nd->disk.epoch || e->voted_id != nd->disk.voted_id ||
	     e->leader_id != nd->disk.leader_id))
		check_violation(s,
				"node %d: in memory epoch %u voted %d leader %d, on disk epoch %u "
				"voted %d leader %d",
				nd->id, e->epoch, e->voted_id, e->leader_id, nd->disk.epoch,
				nd->disk.voted_id, nd->disk.leader_id);
	/* a node without the state to lead with leads only after it heard of no leader for a
	 * long while (election.h, KR_STAND_PATIENCE, counted from its start or the last time
	 * it followed one; on its own clock, which runs ahead of the world's by its jumps, so
	 * half of it here) */
	if (e->role == KR_ROLE_FOLLOWER)
		nd->followed_at = s->now;
	if (nd->stateless && (e->role == KR_ROLE_LEADER || r->role == KR_REPL_LEADER) &&
	    s->now - nd->followed_at < s->stand_patience_us / 2)
		check_violation(s,
				"node %d leads epoch %u without the state its log start needs "
				"(its snapshot there damaged, none installed since), %" PRId64
				" us after it started or last followed a leader",
				nd->id, e->epoch, s->now - nd->followed_at);
	/* a node's HW never goes down while it runs */
	if (r->hw != KR_OFFSET_NONE) {
		if (nd->last_hw != KR_OFFSET_NONE && r->hw < nd->last_hw)
			check_violation(s, "node %d: HW went down from %" PRIu64 " to %" PRIu64,
					nd->id, nd->last_hw, r->hw);
		nd->last_hw = r->hw;
	}
	/* BeginQuorumEpoch is re-sent until acknowledged: a leader counts a voter as
	 * acknowledged only once that voter has spoken in the leader's epoch */
	if (e->role == KR_ROLE_LEADER)
		for (int i = 0; i < e->cfg.n_voters; i++) {
			struct node *v = &s->nodes[e->cfg.voters[i] - 1];

			if (e->lead.acked[i] && v != nd && v->spoke_epoch < e->epoch)
				check_violation(s,
						"leader %d (epoch %u) counts node %d as having "
						"acknowledged "
						"its epoch, but node %d never spoke in epoch %u "
						"(highest: %u)",
						nd->id, e->epoch, v->id, v->id, e->epoch,
						v->spoke_epoch);
		}
	if (r->role == KR_REPL_LEADER) {
		/* A new leader of epoch E holds every entry committed in an epoch before E (a
		 * leader of an older epoch that has not heard of newer ones may lack newer
		 * commits: it can commit nothing more). */
		if (r->epoch != nd->leader_epoch) {
			uint32_t k = s->committed_n;

			while (k > 0 && s->committed[k - 1].commit_epoch >= r->epoch)
				k--;
			nd->leader_epoch = r->epoch;
			nd->verified = 0;
			verify_log(
				s, nd, k ? s->committed[k - 1].base + s->committed[k - 1].count : 0,
				"as a new leader must hold every entry committed before its epoch");
		}
		if (r->hw != KR_OFFSET_NONE && r->hw > nd->hw_checked) {
			check_majority(s, nd, r->hw);
			nd->hw_checked = r->hw;
		}
		if (r->hw != KR_OFFSET_NONE && r->hw > s->committed_end)
			committed_extend(s, nd, r->hw);
	}
	if (s->o.voter_changes || r->cfg.dynamic)
		check_voter_sets(s, nd);
	/* everything a node believes committed is the committed log */
	if (r->committed != KR_OFFSET_NONE)
		verify_log(s, nd, r->committed, "believes offsets committed");
	/* nothing in the fault model may make a dataplane give up (the invariants above
	 * say why first, when they can) */
	if (nd->fatal)
		check_violation(s, "node %d: its dataplane stopped itself: %s", nd->id,
				nd->fatal == KR_FATAL_TRUNCATE_BELOW_HW
					? "told to truncate committed records"
					: "storage failed");
}

void
check_ack(struct sim *s, int c, uint64_t seq, uint64_t base, bool dup)
{
	int64_t k;

	if (dup) { /* appended before, offset not known: checked at the end */
		s->acked_at[c][seq] = -2;
		return;
	}
	s->acked_at[c][seq] = (int64_t)base;
	k = committed_find(s, base);
	if (base >= s->committed_end || k < 0)
		check_violation(s,
				"client %d's append %" PRIu64 " acknowledged at offset %" PRIu64
				", which is not committed (committed end %" PRIu64 ")",
				c, seq, base, s->committed_end);
	else if (s->committed[k].pid != 1000 + (uint64_t)c || s->committed[k].seq != seq)
		check_violation(s,
				"client %d's append %" PRIu64 " acknowledged at offset %" PRIu64
				", which holds producer %" PRIu64 " seq %" PRIu64,
				c, seq, base, s->committed[k].pid, s->committed[k].seq);
}

/* The operator was told its change is done at offset: a committed voters record there
 * makes exactly that change. */
void
check_voters_answer(struct sim *s, const struct operator* op, uint64_t offset)
{
	const struct kr_voter_set *set = NULL;
	int k;

	for (uint32_t i = s->committed_sets_n; i > 0 && set == NULL; i--)
		if (s->committed_sets[i - 1].off == offset)
			set = &s->committed_sets[i - 1].set;
	if (set == NULL) {
		check_violation(s,
				"the operator was told its voter change is done at offset %" PRIu64
				", which is no committed voters record (committed end %" PRIu64 ")",
				offset, s->committed_end);
		return;
	}
	k = kr_voters_find_key(set, op->v.id, op->v.dir);
	if ((op->op == KR_VOTERS_OP_REMOVE && k >= 0) || (op->op != KR_VOTERS_OP_REMOVE && k < 0) ||
	    (op->op == KR_VOTERS_OP_UPDATE &&
	     (set->v[k].ep.ip != op->v.ep.ip || set->v[k].ep.port != op->v.ep.port)))
		check_violation(s,
				"the operator was told its change of voter %d (%s) is done at "
				"offset %" PRIu64 ", but the set committed there does not show it",
				op->v.id, sim_op_name(op->op), offset);
}

bool
check_liveness(struct sim *s, char *why, size_t n)
{
	struct node *l = NULL;
	const struct kr_voter_set *set;
	int following = 0;

	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up && nd->e.role == KR_ROLE_LEADER && nd->r->role == KR_REPL_LEADER &&
		    (l == NULL || nd->e.epoch > l->e.epoch))
			l = nd;
	}
	if (l == NULL) {
		snprintf(why, n, "no leader");
		return false;
	}
	set = &sim_voters(s, l)->set;
	if (!sim_in_set(set, l)) {
		snprintf(why, n, "leader %d is not a voter of its set (removed: it must resign)",
			 l->id);
		return false;
	}
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		following +=
			nd->up && sim_in_set(set, nd) && nd->e.epoch == l->e.epoch &&
			(nd == l || (nd->e.role == KR_ROLE_FOLLOWER && nd->e.leader_id == l->id));
	}
	if (following < (int)kr_voters_majority(set)) {
		snprintf(why, n, "leader %d followed by too few voters (%d of %u)", l->id,
			 following, set->n);
		return false;
	}
	if (s->op.inflight) {
		snprintf(why, n, "the operator's voter change is still pending");
		return false;
	}
	for (int c = 0; c < s->pf.n_clients; c++)
		if (s->clients[c].inflight || s->clients[c].attempts > 0) {
			snprintf(why, n, "client %d's append %" PRIu64 " still pending", c,
				 s->clients[c].seq);
			return false;
		}
	if (l->r->hw != kr_log_end(l->log)) {
		snprintf(why, n,
			 "leader %d has not committed its log (HW %" PRIu64 ", LEO %" PRIu64 ")",
			 l->id, l->r->hw, kr_log_end(l->log));
		return false;
	}
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up &&
		    (kr_log_end(nd->log) != kr_log_end(l->log) || nd->r->hw != l->r->hw)) {
			snprintf(why, n,
				 "node %d has not caught up (LEO %" PRIu64 ", HW %" PRIu64
				 "; leader %" PRIu64 ")",
				 nd->id, kr_log_end(nd->log), nd->r->hw, kr_log_end(l->log));
			return false;
		}
	}
	return true;
}

/* After the run: every acknowledged append sits in the committed log exactly once. */
void
check_final(struct sim *s)
{
	for (int c = 0; c < s->pf.n_clients && !s->violated; c++)
		for (uint64_t q = 0; q < s->clients[c].seq; q++) {
			int64_t at = s->acked_at[c][q], got = s->committed_at[c][q];

			if (at == -1)
				continue;
			if (got < 0)
				check_violation(s,
						"client %d's acknowledged append %" PRIu64
						" is not in the committed log",
						c, q);
			else if (at >= 0 && got != at &&
				 !(s->o.snapshots && s->committed_ts[c][q] == INT64_MIN))
				/* (--snapshots: a retry later than the dedup window may commit
				 * again, and either copy may be the one acknowledged; check_ack
				 * saw the acknowledged offset hold it) */
				check_violation(s,
						"client %d's append %" PRIu64
						" acknowledged at %" PRId64
						" but committed at %" PRId64,
						c, q, at, got);
		}
}

/* A KR_EV_VOTERS as the dataplane emits it: the set it names must be the one the node's
 * log holds in force at its end, read straight from the log (the last voters record, or
 * the bootstrap set without one), independently of the core's history. */
void
check_voters_event(struct sim *s, struct node *nd, const struct kr_event *ev)
{
	const struct vview *v = sim_voters(s, nd);
	struct kr_voter_set got = {0};

	if (ev->frame_len > 0 && kr_voters_record_decode(ev->frame, ev->frame_len, &got) != 0) {
		check_violation(s, "node %d reported a voter set that does not decode", nd->id);
		return;
	}
	if (v->off == KR_OFFSET_NONE && kr_log_start(nd->log) > 0 &&
	    (ev->offset == KR_OFFSET_NONE || ev->offset < kr_log_start(nd->log)))
		return; /* a record below the log start: the log no longer says */
	if (ev->offset != v->off || !kr_voters_equal(&got, &v->set))
		check_violation(s,
				"node %d reported the voter set of offset %" PRId64
				" (%u voters) in force, but its log's last voters record is at "
				"%" PRId64 " (%u voters)",
				nd->id, ev->offset == KR_OFFSET_NONE ? -1 : (int64_t)ev->offset,
				got.n, v->off == KR_OFFSET_NONE ? -1 : (int64_t)v->off, v->set.n);
}
