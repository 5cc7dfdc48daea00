/* kraftd: what the replication core's files share (dataplane/repl.c, dataplane/recv_*.c).
 * Not a public interface. */
#ifndef KRAFT_REPL_INT_H
#define KRAFT_REPL_INT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kraft/bugs.h"
#include "kraft/errors.h"
#include "kraft/repl.h"

/* An invariant of the core: breaking it is a bug, and the node must not go on. */
#define RP_ASSERT(cond)                                                                        \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "kraftd: replication invariant broken at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond);                                    \
			abort();                                                               \
		}                                                                              \
	} while (0)

#define RP_NEVER INT64_MAX

/* Room left in out for n more actions. */
static inline bool
rp_room(const struct kr_rp_out *out, uint32_t n)
{
	return out->n + n <= KR_RP_OUT_MAX;
}

struct kr_rp_action *rp_emit(struct kr_rp_out *out, uint8_t type);
struct kr_msg *rp_send(struct kr_rp_out *out, int32_t to_node, uint64_t to_addr,
		       uint32_t correlation, unsigned api);
struct kr_event *rp_event(struct kr_rp_out *out, uint8_t type);
void rp_drop(struct kr_repl *r, enum kr_rp_drop why);
uint32_t rp_correlation(struct kr_repl *r);

/* The replica slot of (node, dir): a voter's if dir is that voter's (or the voter's is
 * not known), else an observer's (a free slot is taken if create), or NULL. */
struct kr_replica *rp_replica(struct kr_repl *r, int32_t node, const uint8_t dir[KR_UUID_BYTES],
			      bool create);
int rp_voter_index(const struct kr_repl *r, int32_t node);
/* Is this node a voter: its node id's entry names its directory, and it did not rejoin? */
bool rp_self_voter(const struct kr_repl *r);
/* Forget what a replica said (offsets, times, parked Fetch); keeps its key, kind and the
 * latest incarnation heard. */
void rp_replica_forget(struct kr_replica *rep);

void rp_voters_apply(struct kr_repl *r);

/* Raise the committed end this node knows (never lowers it). */
static inline void
rp_committed(struct kr_repl *r, uint64_t hw)
{
	if (hw != KR_OFFSET_NONE && (r->committed == KR_OFFSET_NONE || hw > r->committed)) {
		r->committed = hw;
		kr_vh_commit(&r->voters, hw);
		if (KR_BUG(VOTERS_AT_COMMIT))
			rp_voters_apply(r); /* the set takes effect only now */
	}
}

/* Leader: recompute the HW from durable offsets; commit what it passes. Returns whether
 * the HW moved (and rp_service then ran). */
bool rp_advance_hw(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Answer whatever is ready: parked fetches with news, committed appends, reads. */
void rp_service(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Leader: a reply to replica's Fetch at offset, built from the log now. Returns false
 * (and sends nothing) if out has no room for it. */
bool rp_fetch_reply(struct kr_repl *r, struct kr_replica *rep, const struct kr_fetch_key *k,
		    uint64_t offset, uint32_t max_bytes, struct kr_rp_out *out);
/* The checks a Fetch and a FetchSnapshot share (a leader, the epoch, the fetcher's start
 * and slot), and its liveness report (offset: how far it holds the log). @return
 * KR_ERR_NONE with *rep its slot, an error to answer, or RP_DROPPED (no answer). alive:
 * report it (always, but for a planted bug). */
#define RP_DROPPED UINT16_MAX
uint16_t rp_fetcher(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr, uint32_t epoch,
		    const uint8_t dir[KR_UUID_BYTES], uint64_t incarnation, uint64_t offset,
		    bool alive, int64_t now, struct kr_rp_out *out, struct kr_replica **rep);
/* Snapshots between nodes (dataplane/repl/recv_snapshot.c). Leader: does this Fetch's
 * position need the snapshot (the three cases: an empty fetcher; below the log start;
 * a history deleted with the prefix)? */
bool rp_fetch_needs_snapshot(const struct kr_repl *r, const struct kr_fetch_req *req);
/* Leader: rep fetches the log again, or went away: its sending slot (if any) is freed. */
void rp_xfer_out_end(struct kr_repl *r, const struct kr_replica *rep);
/* Leader leaving office: every sending slot is freed. */
void rp_xfer_out_stop(struct kr_repl *r);
/* Leader: parked snapshot requests whose bytes came, or whose time is up; idle slots. */
void rp_xfer_out_tick(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
int64_t rp_xfer_out_deadline(const struct kr_repl *r);
void rp_recv_fetch_snapshot(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
			    const struct kr_fetch_snapshot_req *req, int64_t now,
			    struct kr_rp_out *out);
/* Follower: FETCH_RESP named snapshot id (the leader's log starting at start, after
 * start_epoch): fetch it instead of the log. */
void rp_snap_begin(struct kr_repl *r, struct kr_snap_id id, uint64_t start, uint32_t start_epoch,
		   int64_t now, struct kr_rp_out *out);
/* Follower: give up the snapshot being fetched (the slot's .part file goes). */
void rp_snap_abort(struct kr_repl *r);
/* Follower taking a snapshot: the next FetchSnapshot, or the install once it is whole. */
void rp_send_fetch_snapshot(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
void rp_recv_fetch_snapshot_resp(struct kr_repl *r, const struct kr_frame_hdr *h,
				 const struct kr_fetch_snapshot_resp *resp, int64_t now,
				 struct kr_rp_out *out);
/* Follower: an answer (Fetch, FetchSnapshot) that says NOT_LEADER_OR_FOLLOWER or
 * FENCED_LEADER_EPOCH and names a newer epoch or another leader: KR_EV_EPOCH_SEEN. */
void rp_answer_names_leader(struct kr_repl *r, uint16_t error, uint32_t epoch, int32_t leader,
			    struct kr_rp_out *out);
/* Follower: the leader's heartbeat (a good answer of this epoch's leader). */
void rp_leader_heard(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Follower: start over at the leader's log start (start >= this log's end), without
 * the state below it. */
void rp_reset_to(struct kr_repl *r, uint64_t start, int64_t now, struct kr_rp_out *out);
/* A FETCH_RESP frame to addr answering the Fetch k names (fields after the key zero). */
struct kr_fetch_resp *rp_fetch_resp(struct kr_rp_out *out, uint64_t addr,
				    const struct kr_fetch_key *k);
/* Follower: KR_EV_CAUGHT_UP once this node durably holds the first HW its leader
 * reported and any repair target (the node may vote again from then on). */
void rp_caught_up_check(struct kr_repl *r, struct kr_rp_out *out);
/* Follower: flush, report, catch up after the log grew or shrank. */
void rp_log_changed(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Follower: send the next Fetch (to the leader, or to a voter while discovering). */
void rp_send_fetch(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Reads: answer a read now from the committed log. */
void rp_read_reply(struct kr_repl *r, uint64_t addr, uint32_t corr, uint64_t from,
		   uint32_t max_bytes, struct kr_rp_out *out);
/* Producers (dataplane/producers.c): the deduplication table. wall_us is the wall clock
 * now (now + wall_offset_us). */
void rp_producers_reset(struct kr_repl *r);
void rp_producers_rebuild(struct kr_repl *r, int64_t wall_us);
struct kr_producer *rp_producer_find(struct kr_repl *r, uint64_t pid);
/* Can a producer not in the table be taken in now without forgetting one that appended
 * within the window? */
bool rp_producer_room(const struct kr_repl *r, int64_t wall_us);
void rp_producer_record(struct kr_repl *r, uint64_t pid, uint64_t seq, uint64_t base,
			uint32_t count, int64_t batch_us, int64_t wall_us);

/* The voter set the log carries (dataplane/repl/voters.c). */
/* Read it from the log at start: 0, -EBADMSG (a bad voters record) or -EIO. */
int rp_voters_load(struct kr_repl *r);
/* Is the batch at b (header h) a voters record this log may take next? 0: not a voters
 * batch; 1: one, decoded into s; -EBADMSG: malformed, or more than one voter away. */
int rp_voters_check(const struct kr_repl *r, const uint8_t *b, const struct kr_batch_hdr *h,
		    struct kr_voter_set *s);
/* A voters record (checked by rp_voters_check) was appended at offset. The caller
 * reports the set in force (rp_voters_event) once its call's appends are done: one event
 * per call, however many records a Fetch reply carried. */
void rp_voters_appended(struct kr_repl *r, uint64_t offset, const struct kr_voter_set *s);
/* The log was truncated: undo the records above its end (an event if any). */
void rp_voters_truncated(struct kr_repl *r, struct kr_rp_out *out);
/* Leader of a dynamic cluster whose log holds no voters record: append the bootstrap
 * set's. 0 or the log's error. */
int rp_voters_write_boot(struct kr_repl *r, int64_t now, struct kr_rp_out *out);
/* Is the set in force the log's (a dynamic cluster that knows its set)? Otherwise the
 * configured voters count. */
bool rp_voters_known(const struct kr_repl *r);
/* Mark the replicas of the set in force as the voters (slots made for voters not seen
 * yet); every other slot is an observer's. Nothing for the configured voters. */
void rp_voters_apply(struct kr_repl *r);
/* Leader, the HW computed as h: a leader that removed itself tells the control plane
 * once the change committed (KR_EV_LEFT_VOTERS). */
void rp_voters_left(struct kr_repl *r, uint64_t h, struct kr_rp_out *out);
/* Tell the control plane the set in force at the log end (KR_EV_VOTERS). */
void rp_voters_event(struct kr_repl *r, struct kr_rp_out *out);
/* The record that removed this node committed as far as it knows: report the set again
 * (KR_EV_VOTERS, left_pending now 0) so its control plane stops running for leader. */
void rp_voters_left_service(struct kr_repl *r, struct kr_rp_out *out);

/* kr_log_read of up to max_bytes from offset (below upto); a first batch larger than
 * max_bytes is read whole when first is set (Kafka's rule: an answer carries at least
 * one batch, whatever its byte limit, so that the reader gets on): it goes alone, in a
 * frame of its own size, which the harness sends in fragments. */
int rp_read_first(const struct kr_repl *r, uint64_t offset, uint64_t upto, uint32_t max_bytes,
		  bool first, struct kr_log_span *span);

/* kr_repl_encode, with an authentication trailer or without one (a message sent in
 * fragments: each fragment carries its own). */
int rp_encode(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap,
	      bool trailer);
/* rp_encode leaving a FETCH_RESP's records or a FRAGMENT's data of at least KR_RP_EXT_MIN
 * bytes out of buf (kr_frame_encode_ext): they go out from *ext (zero copy). */
int rp_encode_ext(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap,
		  bool trailer, const uint8_t **ext, uint32_t *ext_len);

/* One frame: a datagram (whole_of RP_DATAGRAM), or a message put together from fragments
 * that sender id whole_of sent (no trailer: the fragments were authenticated). */
#define RP_DATAGRAM INT64_MIN
void rp_on_frame(struct kr_repl *r, const uint8_t *buf, size_t len, int32_t addr_node,
		 uint64_t addr, int64_t whole_of, int64_t now, struct kr_rp_out *out);

/* Handlers, one per received message type (dataplane/recv_*.c). */
void rp_recv_fragment(struct kr_repl *r, const struct kr_frame_hdr *h, int32_t addr_node,
		      uint64_t addr, const struct kr_fragment *frag, int64_t now,
		      struct kr_rp_out *out);
void rp_recv_fetch(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
		   const struct kr_fetch_req *req, int64_t now, struct kr_rp_out *out);
void rp_recv_fetch_resp(struct kr_repl *r, const struct kr_frame_hdr *h,
			const struct kr_fetch_resp *resp, int64_t now, struct kr_rp_out *out);
void rp_recv_append(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
		    const struct kr_append_req *req, int64_t now, struct kr_rp_out *out);
void rp_recv_read(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
		  const struct kr_read_req *req, int64_t now, struct kr_rp_out *out);
void rp_recv_voters_change(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
			   const struct kr_voters_change_req *req, int64_t now,
			   struct kr_rp_out *out);
/* Answer the waiting voter change once it committed, or once this node stopped leading
 * (outcome unknown). */
void rp_voters_service(struct kr_repl *r, struct kr_rp_out *out);
void rp_recv_describe(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr, int64_t now,
		      struct kr_rp_out *out);

#endif /* KRAFT_REPL_INT_H */
