/* kraftd: the wire format. Every frame kraftd sends or accepts, peer or client, is laid
 * out here byte by byte; dataplane/wire/wire.c is the only code that reads or writes its
 * bytes (others peek through kr_frame_peek, decode through kr_frame_decode). */
#ifndef KRAFT_WIRE_H
#define KRAFT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"

/*
 * FRAMES
 *
 * A frame is one message: the UDP payload of one datagram (carried in Ethernet/IPv4/UDP,
 * so NICs, switches and tcpdump understand it), or, when it is larger than the port's
 * datagrams, of several: cut into FRAGMENT frames (below) and put back together by the
 * receiver before it is decoded. A message is at most KR_MSG_MAX bytes.
 * All integers are little-endian. Reserved bytes are written as zero and a decoder
 * refuses a frame whose reserved bytes are not zero, so they can be given a meaning
 * later without ambiguity.
 *
 *   offset size  field
 *        0    4  magic: the bytes 'K' 'R' 'F' 'T'
 *        4    1  format version: 6 (KR_WIRE_VERSION; 5 had no FRAGMENT, 4 no snapshots
 *                between nodes, 3 no VOTERS_CHANGE and hashed controller.quorum.voters
 *                in a dynamic cluster too, 2 no incarnation in FETCH_RESP, 1 no voter
 *                directory ids either)
 *        5    1  API key (KR_API_TABLE below)
 *        6    1  API version: 0 for every API today (KR_API_TABLE gives the maximum)
 *        7    1  flags: bit 0 KR_FRAME_F_AUTH, an authentication trailer follows the
 *                body; every other bit must be zero
 *        8   16  cluster id; all zero ("null") is allowed only on client APIs
 *       24    8  voter-set hash; 0 is allowed only on client APIs
 *       32    4  sender node id (signed; -1 for a client)
 *       36    4  correlation id: chosen by the requester, echoed in every response frame
 *       40    4  body length L, at most KR_WIRE_BODY_MAX
 *       44    4  CRC32C over bytes [0, 44) of the header followed by the L body bytes
 *       48    L  body, laid out per API below
 *     48+L   32  authentication trailer, present only with KR_FRAME_F_AUTH: key id,
 *                send time, sender sequence and a MAC over header, body and trailer
 *                (include/kraft/auth.h). The CRC does not cover it; nodes with a cluster
 *                key refuse frames without one (before any body is decoded).
 *
 * A datagram (or a message put together from fragments) holds exactly one frame: one
 * longer than 48 + L (+ 32) is refused as KR_WIRE_ETRAILING, a shorter one as
 * KR_WIRE_ETRUNCATED. A message put together from fragments carries no trailer of its
 * own (each fragment carried one) and is never itself a FRAGMENT.
 *
 * Checks, in this order (the first failing one is the frame's drop reason):
 * length >= 48, magic, version, L <= KR_WIRE_BODY_MAX, datagram length, CRC, API key,
 * API version, flags, then cluster id and voter-set hash against the receiver's.
 *
 * BODIES (offsets from the start of the body)
 *
 * Fixed-size bodies must have exactly their size. Epochs are u32, offsets u64 (at most
 * KR_OFFSET_MAX, or KR_OFFSET_NONE where a field says "or none"), node ids i32 (-1 none),
 * times i64 microseconds (-1 unknown), error codes u16 from include/kraft/errors.h.
 *
 * A voter is (node id, directory id) (include/kraft/voters.h). A directory id of all
 * zeros in the fields below means "any": a voter set formatted before directory ids.
 *
 * VOTE (1), 56 bytes: a candidate asks for a vote, or a prospective for a pre-vote.
 *    0  4 epoch            the candidate's epoch (a pre-vote: the prospective's epoch,
 *                          not bumped)
 *    4  4 last_epoch       epoch of the candidate's last log record (0 for an empty log)
 *    8  8 last_offset      the candidate's log end offset
 *   16  4 voter_id         the voter this request is meant for (-1: any)
 *   20  1 flags            bit 0 KR_VOTE_F_PRE_VOTE
 *   21  3 reserved
 *   24 16 candidate_dir    the candidate's directory id
 *   40 16 voter_dir        the directory id of the voter it is meant for: another
 *                          directory answers INVALID_VOTER_KEY and grants nothing
 *
 * VOTE_RESP (2), 12 bytes
 *    0  2 error
 *    2  1 flags            bit 0 KR_VOTE_RESP_F_GRANTED, bit 1 KR_VOTE_F_PRE_VOTE (echoed)
 *    3  1 reserved
 *    4  4 epoch            the responder's epoch
 *    8  4 leader_id        the leader the responder knows in that epoch, or -1
 *
 * BEGIN_EPOCH (3), 24 bytes: a new leader announces itself (re-sent until acknowledged).
 *    0  4 epoch
 *    4  4 leader_id
 *    8 16 voter_dir        the directory id of the voter it is meant for: another
 *                          directory answers INVALID_VOTER_KEY and changes nothing
 *
 * END_EPOCH (5), 12 + 4n bytes: a leader that steps down names its successors.
 *    0  4 epoch
 *    4  4 leader_id
 *    8  1 n                number of successors, at most KR_VOTERS_MAX
 *    9  3 reserved
 *   12 4n successors       voter ids, most caught-up first
 *
 * BEGIN_EPOCH_RESP (4) and END_EPOCH_RESP (6), 12 bytes
 *    0  2 error
 *    2  2 reserved
 *    4  4 epoch            the responder's epoch
 *    8  4 leader_id        the leader the responder knows, or -1
 *
 * FETCH (7), 72 bytes: a follower or observer pulls from the leader; also its heartbeat.
 *    0  4 epoch            the leader epoch the fetcher is in
 *    4  4 last_fetched_epoch  epoch of the fetcher's last record (0 for an empty log)
 *    8  8 fetch_offset     the fetcher's log end offset
 *   16  8 durable_offset   how far the fetcher's log is flushed (its LEO in memory mode)
 *   24  4 max_wait_us      how long the leader may park the fetch when there is nothing new
 *   28  4 max_bytes        how many record bytes the whole reply may carry
 *   32 16 replica_dir      the fetcher's directory id: a voter's only if it is the one
 *                          in the voter set, else the fetcher is an observer
 *   48  8 incarnation      grows with every start of the fetcher's node id, across
 *                          re-formats too (kept in the data directory, and at least the
 *                          start time in milliseconds): a leader drops a Fetch from an
 *                          earlier start than one it has seen from that node id (a
 *                          restarted or replaced node's old claims die with it)
 *   56  8 log_start_offset the fetcher's log start
 *   64  4 flags            bit 0 KR_FETCH_REQ_F_WANT_SNAPSHOT: the fetcher lacks the state
 *                          its log start needs (its snapshot there is damaged): a leader
 *                          with a snapshot ending at or past log_start_offset names it;
 *                          bit 1 KR_FETCH_REQ_F_STATE_AHEAD: the fetcher holds a snapshot
 *                          past its log end (it installed one and fetches the log below
 *                          it again): an empty log is no reason to name one
 *   68  4 reserved
 *
 * FETCH_RESP (8), 72 + R bytes: one frame of a reply; a reply may take several frames and
 * each stands alone: a follower appends a frame only if every field above is current and
 * its base offset is the follower's log end; anything else is dropped and the next Fetch
 * starts again from the log end.
 *    0  2 error
 *    2  2 frame_index      0 .. frame_count - 1
 *    4  2 frame_count      at least 1
 *    6  1 flags            bit 0 KR_FETCH_F_DIVERGING: diverging_* are valid, and the
 *                          frame carries no records and is the only frame; bit 1
 *                          KR_FETCH_F_SNAPSHOT: this log cannot serve the fetch position
 *                          (below its start, or a history deleted with its prefix):
 *                          diverging_end_offset and diverging_epoch name the leader's
 *                          newest snapshot, which the fetcher takes with FETCH_SNAPSHOT,
 *                          and base_offset and prev_epoch the leader's log start and the
 *                          epoch before it, where the fetcher's log goes on from; no
 *                          records, the only frame, never with bit 0
 *    7  1 reserved
 *    8  4 leader_id
 *   12  4 epoch            the leader's epoch
 *   16  8 base_offset      offset of the first record in this frame (or where it would be)
 *   24  8 high_watermark   or KR_OFFSET_NONE while a new leader does not know it yet
 *   32  8 log_start_offset
 *   40  8 diverging_end_offset
 *   48  4 diverging_epoch
 *   52  4 prev_epoch       epoch of the record just before base_offset (0 if none)
 *   56  4 records_len      R
 *   60  4 reserved
 *   64  8 incarnation      the fetcher's incarnation, echoed from the Fetch answered: a
 *                          fetcher takes a frame only if it names its own start, so a
 *                          late reply to an earlier start is refused whatever its
 *                          correlation id (correlation ids are 32 bits and restart
 *                          from a hash of the incarnation)
 *   72  R records          whole record batches (log.h), back to back
 *
 * APPEND (9), 24 + R bytes: a client appends records; the reply comes at commit.
 *    0  8 producer_id      chosen by the client; with sequence it makes retries safe
 *    8  8 sequence         per producer, starting at 0, +1 per append
 *   16  4 record_count     at least 1, at most KR_BATCH_RECORDS_MAX
 *   20  4 records_len      R
 *   24  R records          record_count records, each a u32 length and that many bytes
 *                          (the record section of a batch, log.h)
 *
 * APPEND_RESP (10), 24 bytes
 *    0  2 error
 *    2  1 flags            bit 0 KR_APPEND_F_OUTCOME_UNKNOWN: the leader lost office with
 *                          the append pending; it may or may not commit. Retry it.
 *    3  1 reserved
 *    4  4 leader_id        the leader (a hint when error is NOT_LEADER_OR_FOLLOWER), or -1
 *    8  4 epoch            the responder's epoch
 *   12  4 record_count
 *   16  8 base_offset      offset of the first record appended (KR_OFFSET_NONE on error)
 *
 * READ (11), 16 bytes: read committed records from any node.
 *    0  8 from_offset
 *    8  4 max_bytes
 *   12  4 max_wait_us      0: answer now; else wait up to this long for new commits
 *
 * READ_RESP (12), 40 + R bytes
 *    0  2 error
 *    2  2 reserved
 *    4  4 epoch            the responder's epoch
 *    8  8 high_watermark   or KR_OFFSET_NONE
 *   16  8 log_start_offset
 *   24  8 base_offset      offset of the first batch returned
 *   32  4 records_len      R
 *   36  4 reserved
 *   40  R records          whole record batches, all below the high watermark
 *
 * DESCRIBE_QUORUM (13), 0 bytes.
 *
 * DESCRIBE_QUORUM_RESP (14), 24 + 56(v + o) bytes
 *    0  2 error
 *    2  1 v                voters listed, at most KR_VOTERS_MAX
 *    3  1 o                observers listed, at most KR_OBSERVERS_MAX
 *    4  4 leader_id
 *    8  4 epoch
 *   12  1 pending          a voter change not yet committed: 0 none, else its op
 *                          (1 add, 2 remove, 3 update: enum kr_voters_op)
 *   13  3 reserved
 *   16  8 high_watermark   or KR_OFFSET_NONE
 *   24    replicas, voters first (the set in force at the leader's log end, the
 *         pending change's included), 56 bytes each:
 *          0  4 replica_id
 *          4  1 flags          bit 0 KR_REPLICA_F_PENDING: the voter the pending
 *                              change adds, removes (then listed as an observer) or moves
 *          5  3 reserved
 *          8 16 directory_id
 *         24  8 log_end_offset     or KR_OFFSET_NONE if never fetched
 *         32  8 durable_offset     or KR_OFFSET_NONE
 *         40  8 last_fetch_us      wall clock, microseconds since 1970, or -1
 *         48  8 last_caught_up_us  wall clock, or -1
 *
 * DESCRIBE_NODES (15), 0 bytes: a client (kraftctl) asks a node's management listener
 * for every node's addresses, so it can follow a leader hint to that node.
 *
 * DESCRIBE_NODES_RESP (16), 8 + 16n bytes
 *    0  1 n                nodes listed, at most KR_REPLICAS_MAX
 *    1  7 reserved
 *    8    nodes, 16 bytes each:
 *          0  4 node_id
 *          4  4 ipv4           the dataplane address (network order: a.b.c.d)
 *          8  2 port           the dataplane UDP port (nonzero)
 *         10  2 mgmt_port      the management listener's UDP port, same address
 *         12  1 flags          bit 0 KR_NODE_F_VOTER; bit 1 KR_NODE_F_SELF (the sender);
 *                              bit 2 KR_NODE_F_DATAPLANE: asked at the sender's dataplane
 *                              port, not its management listener (then the one entry is
 *                              the sender, so a client can say where to ask instead)
 *         13  3 reserved
 *
 * VOTERS_CHANGE (19), 32 bytes: a client (kraftctl) asks the leader to change the voter
 * set by one voter (include/kraft/voterset.h); answered once the change committed.
 *    0  1 op               1 add, 2 remove, 3 update the endpoint (enum kr_voters_op)
 *    1  3 reserved
 *    4  4 voter_id         0 .. 2^31-1
 *    8 16 directory_id
 *   24  4 ipv4             the voter's dataplane address (as a host-order number)
 *   28  2 port             its UDP port (0 for remove)
 *   30  2 reserved
 *
 * VOTERS_CHANGE_RESP (20), 24 bytes
 *    0  2 error            Kafka's names: NOT_LEADER_OR_FOLLOWER (leader hint),
 *                          REQUEST_TIMED_OUT, DUPLICATE_VOTER, VOTER_NOT_FOUND, ...
 *    2  1 flags            bit 0 KR_APPEND_F_OUTCOME_UNKNOWN: the leader lost office
 *                          before the change committed (it may or may not take effect)
 *    3  1 reserved
 *    4  4 leader_id        the leader the responder knows, or -1
 *    8  4 epoch            the responder's epoch
 *   12  4 reserved
 *   16  8 offset           the voters record's offset (KR_OFFSET_NONE on error)
 *
 * NODE_STATUS (21), 8 bytes: a client asks one node (its management listener) about its
 * own storage, answered by that node whatever its role.
 *    0  1 action           0 status only; 1 take a snapshot now (kraftctl snapshot)
 *    1  7 reserved
 *
 * NODE_STATUS_RESP (22), 72 bytes
 *    0  4 node_id
 *    4  2 error            NONE; for action 1: INVALID_REQUEST when the node has no state
 *                          machine
 *    6  1 flags            bit 0 KR_STATUS_F_APPLYING: a state machine is applied
 *    7  1 reserved
 *    8  8 log_start        the log's start and end offsets
 *   16  8 log_end
 *   24  8 committed        the largest HW the node knows (KR_OFFSET_NONE: none yet)
 *   32  8 applied          the state machine holds everything below (KR_OFFSET_NONE:
 *                          no state machine)
 *   40  8 snapshot_end     the newest snapshot written or loaded: its end offset (0: none)
 *   48  4 snapshot_epoch   ... and epoch
 *   52  4 reserved
 *   56  8 snapshot_bytes   ... and size of its file
 *   64  8 snapshots        snapshots written since the node started
 *
 * FETCH_SNAPSHOT (23), 56 bytes: a follower or observer told by a FETCH_RESP to take a
 * snapshot asks the leader for the bytes of its file from position on. Like a Fetch it
 * is the fetcher's heartbeat (check quorum, BeginQuorumEpoch acknowledged); it moves
 * neither its fetch offset nor its durable offset.
 *    0  4 epoch            the leader epoch the fetcher is in
 *    4  4 snapshot_epoch   the snapshot id, as FETCH_RESP named it: epoch (>= 1) ...
 *    8  8 snapshot_end     ... and end offset (exclusive, >= 1)
 *   16  8 position         the first byte wanted: the bytes the fetcher holds already
 *   24  4 max_bytes        how many bytes the whole reply may carry (>= 1)
 *   28  4 reserved
 *   32 16 replica_dir      the fetcher's directory id (as in FETCH)
 *   48  8 incarnation      the fetcher's start (as in FETCH)
 *
 * FETCH_SNAPSHOT_RESP (24), 56 + D bytes: one frame of a reply; a reply may take several
 * frames, each standing alone: a fetcher takes a frame's bytes only if it answers the
 * request in flight (or the one before), names the snapshot it fetches and the same
 * size, and starts exactly at the bytes it holds; anything else is dropped and the next
 * request starts again from there.
 *    0  2 error            SNAPSHOT_NOT_FOUND: the leader keeps no such snapshot (it
 *                          made a newer one, and deleted this one); POSITION_OUT_OF_RANGE:
 *                          position >= size. With an error D is 0.
 *    2  2 frame_index      0 .. frame_count - 1
 *    4  2 frame_count      at least 1
 *    6  2 reserved
 *    8  4 leader_id
 *   12  4 epoch            the leader's epoch
 *   16  8 snapshot_end     the snapshot id, echoed
 *   24  4 snapshot_epoch
 *   28  4 data_len         D
 *   32  8 size             the snapshot file's length in bytes (0 with an error)
 *   40  8 position         where in the file this frame's bytes start
 *   48  8 incarnation      the fetcher's, echoed (as in FETCH_RESP)
 *   56  D data             bytes [position, position + D) of the file; position + D <=
 *                          size
 *
 * PING (17), 0 to KR_PING_BYTES_MAX bytes: any payload. The node's dataplane port answers
 * at once, before the replication core, with PING_RESP (18) carrying the same payload:
 * kraftbench's measure of the raw round trip (the floor) over the same transport.
 *
 * FRAGMENT (25), 24 + D bytes: one piece of a message too large for one datagram. The
 * message is a whole frame, header to trailer, of up to KR_MSG_MAX bytes; each fragment
 * is a frame of its own, checked as any other (CRC, cluster, voter set, MAC) before its
 * bytes are kept. Once all have come (include/kraft/reasm.h), the message is decoded as
 * if it had come in one datagram. A client may send and receive them.
 *    0  4 msg_id           the sender's number for the message, rising (wrapping)
 *    4  4 msg_len          the whole message's bytes: frag_bytes < msg_len <= KR_MSG_MAX
 *    8  4 offset           of this fragment's bytes in the message: a multiple of
 *                          frag_bytes, below msg_len
 *   12  4 frag_bytes       the size of every fragment of the message but the last, at
 *                          least KR_FRAG_MIN
 *   16  4 epoch            the sender's epoch when it sent the message (0: a client)
 *   20  4 data_len         D = min(frag_bytes, msg_len - offset)
 *   24  D data             bytes [offset, offset + D) of the message
 */

#define KR_WIRE_MAGIC "KRFT"
/* 2: voter directory ids; 3: FETCH_RESP echoes the incarnation; 4: voter changes (the
 * VOTERS_CHANGE APIs, a dynamic cluster's frames hash its bootstrap set); 5: snapshots
 * between nodes (FETCH_RESP names one, FETCH_SNAPSHOT); 6: FRAGMENT */
#define KR_WIRE_VERSION 6
#define KR_WIRE_HDR_BYTES 48
#define KR_WIRE_AUTH_BYTES 32
/* The largest UDP payload over IPv4 (65535 - 20 - 8) bounds a whole frame. */
#define KR_WIRE_UDP_PAYLOAD_MAX 65507u
/* The largest message (a whole frame, sent in fragments where a datagram cannot carry
 * it): 1 MiB of body with its frame header and trailer, and room to spare for the
 * framing around a 1 MiB record batch. */
#define KR_MSG_MAX ((1u << 20) + 4096)
#define KR_WIRE_BODY_MAX (KR_MSG_MAX - KR_WIRE_HDR_BYTES - KR_WIRE_AUTH_BYTES)
/* The largest datagram a node's management listener relays (32 KiB of body): a client's
 * larger request goes as fragments of at most this, and so do the answers. */
#define KR_MGMT_DGRAM_MAX (KR_WIRE_HDR_BYTES + (32u << 10) + KR_WIRE_AUTH_BYTES)

#define KR_FRAME_F_AUTH 0x01u
#define KR_FRAME_F_ALL KR_FRAME_F_AUTH

/* X(name, key, max version, 1 if a client may send or receive it). */
#define KR_API_TABLE(X)                   \
	X(VOTE, 1, 0, 0)                  \
	X(VOTE_RESP, 2, 0, 0)             \
	X(BEGIN_EPOCH, 3, 0, 0)           \
	X(BEGIN_EPOCH_RESP, 4, 0, 0)      \
	X(END_EPOCH, 5, 0, 0)             \
	X(END_EPOCH_RESP, 6, 0, 0)        \
	X(FETCH, 7, 0, 0)                 \
	X(FETCH_RESP, 8, 0, 0)            \
	X(APPEND, 9, 0, 1)                \
	X(APPEND_RESP, 10, 0, 1)          \
	X(READ, 11, 0, 1)                 \
	X(READ_RESP, 12, 0, 1)            \
	X(DESCRIBE_QUORUM, 13, 0, 1)      \
	X(DESCRIBE_QUORUM_RESP, 14, 0, 1) \
	X(DESCRIBE_NODES, 15, 0, 1)       \
	X(DESCRIBE_NODES_RESP, 16, 0, 1)  \
	X(PING, 17, 0, 1)                 \
	X(PING_RESP, 18, 0, 1)            \
	X(VOTERS_CHANGE, 19, 0, 1)        \
	X(VOTERS_CHANGE_RESP, 20, 0, 1)   \
	X(NODE_STATUS, 21, 0, 1)          \
	X(NODE_STATUS_RESP, 22, 0, 1)     \
	X(FETCH_SNAPSHOT, 23, 0, 0)       \
	X(FETCH_SNAPSHOT_RESP, 24, 0, 0)  \
	X(FRAGMENT, 25, 0, 1)

enum kr_api {
#define KR_API_ENUM(name, key, maxv, client) KR_API_##name = key,
	KR_API_TABLE(KR_API_ENUM)
#undef KR_API_ENUM
		KR_API_LIMIT /* one past the largest key */
};

/* Codec results: 0 or a negative value from this table (never an errno). Each is a
 * distinct drop reason, so a receiver counts drops per reason. X(name, meaning). */
#define KR_WIRE_STATUS_TABLE(X)                                                       \
	X(OK, "decoded")                                                              \
	X(ETRUNCATED, "shorter than its header or its stated length")                 \
	X(EOVERSIZED, "stated body length above the limit")                           \
	X(ETRAILING, "bytes after the end of the frame")                              \
	X(EMAGIC, "not a kraftd frame (bad magic)")                                   \
	X(EVERSION, "unsupported frame format version")                               \
	X(ECRC, "CRC32C mismatch")                                                    \
	X(EAPI, "unknown API key")                                                    \
	X(EAPIVERSION, "unsupported API version")                                     \
	X(EFLAGS, "unknown flag bits")                                                \
	X(ECLUSTER, "frame from another cluster")                                     \
	X(EVOTERSET, "frame from a node with another voter set")                      \
	X(EBODYLEN, "body length wrong for its API")                                  \
	X(EFIELD, "a field out of range (reserved bytes, counts, flags, error code)") \
	X(EWRONGAPI, "body decoder given a frame of another API")                     \
	X(ENOSPACE, "encode buffer too small")

enum kr_wire_status {
#define KR_WIRE_STATUS_ENUM(name, text) KR_WIRE_##name,
	KR_WIRE_STATUS_TABLE(KR_WIRE_STATUS_ENUM)
#undef KR_WIRE_STATUS_ENUM
		KR_WIRE_STATUS_COUNT
};
/* Functions below return -KR_WIRE_Exxx; this keeps the table's order for counters. */

/** Name of a codec status, positive or negative ("ETRUNCATED"); "?" when out of range. */
const char *kr_wire_status_name(int status);
/** Meaning of a codec status in a few words. */
const char *kr_wire_status_text(int status);
/** Name of an API key ("FETCH"), or NULL if unknown. */
const char *kr_api_name(unsigned api);

/* The receiver's identity: what every frame is checked against. */
struct kr_wire_ctx {
	uint8_t cluster_id[KR_UUID_BYTES];
	/* Static clusters: a hash of controller.quorum.voters, which every peer frame must
	 * carry. Dynamic ones (dynamic set): a hash of the bootstrap set, the same on every
	 * initial voter, 0 on a directory formatted to join; the set in force comes from the
	 * log, so a peer frame carrying 0 is taken, and a node whose hash is 0 takes any. */
	uint64_t voter_set_hash;
	uint8_t dynamic;
	uint8_t flags; /* header flags of the frames this node encodes (KR_FRAME_F_AUTH) */
};

struct kr_frame_hdr {
	uint8_t api;
	uint8_t api_version;
	uint8_t flags;
	uint8_t cluster_id[KR_UUID_BYTES];
	uint64_t voter_set_hash;
	int32_t sender_id;
	uint32_t correlation_id;
};

/* A decoded frame: the header, and views into the caller's buffer (no copies). */
struct kr_frame {
	struct kr_frame_hdr hdr;
	const uint8_t *body;
	uint32_t body_len;
	const uint8_t *auth; /* the trailer, or NULL without KR_FRAME_F_AUTH */
};

/* ---- bodies ---- */

#define KR_VOTE_F_PRE_VOTE 0x01u
#define KR_VOTE_RESP_F_GRANTED 0x01u /* in VOTE_RESP */
#define KR_VOTE_RESP_F_PRE_VOTE 0x02u
#define KR_FETCH_F_DIVERGING 0x01u
#define KR_FETCH_F_SNAPSHOT 0x02u
#define KR_FETCH_REQ_F_WANT_SNAPSHOT 0x01u
#define KR_FETCH_REQ_F_STATE_AHEAD 0x02u
#define KR_APPEND_F_OUTCOME_UNKNOWN 0x01u

#define KR_VOTE_BYTES 56
#define KR_VOTE_RESP_BYTES 12
#define KR_BEGIN_EPOCH_BYTES 24
#define KR_END_EPOCH_FIXED_BYTES 12
#define KR_EPOCH_RESP_BYTES 12
#define KR_FETCH_BYTES 72
#define KR_FETCH_RESP_FIXED_BYTES 72
#define KR_APPEND_FIXED_BYTES 24
#define KR_APPEND_RESP_BYTES 24
#define KR_READ_BYTES 16
#define KR_VOTERS_CHANGE_BYTES 32
#define KR_VOTERS_CHANGE_RESP_BYTES 24
#define KR_NODE_STATUS_BYTES 8
#define KR_FETCH_SNAPSHOT_BYTES 56
#define KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES 56
#define KR_NODE_STATUS_RESP_BYTES 72
#define KR_STATUS_F_APPLYING 0x01u
#define KR_READ_RESP_FIXED_BYTES 40
#define KR_DESCRIBE_BYTES 0
#define KR_DESCRIBE_RESP_FIXED_BYTES 24
#define KR_REPLICA_INFO_BYTES 56
#define KR_NODES_RESP_FIXED_BYTES 8
#define KR_NODE_INFO_BYTES 16
#define KR_NODE_F_VOTER 0x01u
#define KR_NODE_F_SELF 0x02u
#define KR_NODE_F_DATAPLANE 0x04u
#define KR_NODE_F_ALL (KR_NODE_F_VOTER | KR_NODE_F_SELF | KR_NODE_F_DATAPLANE)
#define KR_PING_BYTES_MAX 1024
#define KR_FRAGMENT_FIXED_BYTES 24
/* The smallest fragment size a sender may cut a message into (every port kraftd runs on
 * carries more), so a message has at most KR_FRAGS_MAX fragments. */
#define KR_FRAG_MIN 256
#define KR_FRAGS_MAX ((KR_MSG_MAX + KR_FRAG_MIN - 1) / KR_FRAG_MIN)

struct kr_vote_req {
	uint32_t epoch;
	uint32_t last_epoch;
	uint64_t last_offset;
	int32_t voter_id;
	uint8_t pre_vote;
	uint8_t candidate_dir[KR_UUID_BYTES];
	uint8_t voter_dir[KR_UUID_BYTES];
};

struct kr_vote_resp {
	uint16_t error;
	uint8_t granted;
	uint8_t pre_vote;
	uint32_t epoch;
	int32_t leader_id;
};

struct kr_begin_epoch_req {
	uint32_t epoch;
	int32_t leader_id;
	uint8_t voter_dir[KR_UUID_BYTES];
};

struct kr_end_epoch_req {
	uint32_t epoch;
	int32_t leader_id;
	uint8_t n_successors;
	int32_t successors[KR_VOTERS_MAX];
};

/* BEGIN_EPOCH_RESP and END_EPOCH_RESP */
struct kr_epoch_resp {
	uint16_t error;
	uint32_t epoch;
	int32_t leader_id;
};

struct kr_fetch_req {
	uint32_t epoch;
	uint32_t last_fetched_epoch;
	uint64_t fetch_offset;
	uint64_t durable_offset;
	uint32_t max_wait_us;
	uint32_t max_bytes;
	uint8_t replica_dir[KR_UUID_BYTES];
	uint64_t incarnation;
	uint64_t log_start_offset;
	uint8_t want_snapshot; /* KR_FETCH_REQ_F_WANT_SNAPSHOT */
	uint8_t state_ahead;   /* KR_FETCH_REQ_F_STATE_AHEAD */
};

struct kr_fetch_resp {
	uint16_t error;
	uint16_t frame_index;
	uint16_t frame_count;
	uint8_t diverging;
	uint8_t snapshot; /* KR_FETCH_F_SNAPSHOT: diverging_* name the leader's snapshot */
	int32_t leader_id;
	uint32_t epoch;
	uint64_t base_offset;
	uint64_t high_watermark;
	uint64_t log_start_offset;
	uint64_t diverging_end_offset;
	uint32_t diverging_epoch;
	uint32_t prev_epoch;
	uint64_t incarnation;	/* the fetcher's, from the Fetch answered */
	const uint8_t *records; /* whole batches; a view into the frame when decoded */
	uint32_t records_len;
};

struct kr_fetch_snapshot_req {
	uint32_t epoch;
	struct kr_snap_id id;
	uint64_t position;
	uint32_t max_bytes;
	uint8_t replica_dir[KR_UUID_BYTES];
	uint64_t incarnation;
};

struct kr_fetch_snapshot_resp {
	uint16_t error;
	uint16_t frame_index;
	uint16_t frame_count;
	int32_t leader_id;
	uint32_t epoch;
	struct kr_snap_id id;
	uint64_t size;
	uint64_t position;
	uint64_t incarnation;
	const uint8_t *data; /* a view into the frame when decoded */
	uint32_t data_len;
};

struct kr_append_req {
	uint64_t producer_id;
	uint64_t sequence;
	uint32_t record_count;
	const uint8_t *records; /* record section: count x {u32 len, bytes} */
	uint32_t records_len;
};

struct kr_append_resp {
	uint16_t error;
	uint8_t outcome_unknown;
	int32_t leader_id;
	uint32_t epoch;
	uint32_t record_count;
	uint64_t base_offset;
};

struct kr_read_req {
	uint64_t from_offset;
	uint32_t max_bytes;
	uint32_t max_wait_us;
};

struct kr_read_resp {
	uint16_t error;
	uint32_t epoch;
	uint64_t high_watermark;
	uint64_t log_start_offset;
	uint64_t base_offset;
	const uint8_t *records; /* whole batches */
	uint32_t records_len;
};

#define KR_REPLICA_F_PENDING 1u

struct kr_replica_info {
	int32_t replica_id;
	uint8_t flags; /* KR_REPLICA_F_* */
	uint8_t directory_id[KR_UUID_BYTES];
	uint64_t log_end_offset;
	uint64_t durable_offset;
	int64_t last_fetch_us;
	int64_t last_caught_up_us;
};

struct kr_describe_resp {
	uint16_t error;
	uint8_t n_voters;
	uint8_t n_observers;
	int32_t leader_id;
	uint32_t epoch;
	uint8_t pending; /* a voter change not yet committed: its enum kr_voters_op, or 0 */
	uint64_t high_watermark;
	/* Voters, then observers. To encode, point replicas at n_voters + n_observers
	 * entries. A decoded message leaves replicas NULL and replica_bytes viewing the
	 * checked entries in the frame: read them with kr_describe_replica() (a decoded
	 * message re-encodes from that view). This keeps
	 * struct kr_msg small enough to sit in the cores' output arrays. */
	const struct kr_replica_info *replicas;
	const uint8_t *replica_bytes;
};

struct kr_node_info {
	int32_t node_id;
	uint8_t ip[4]; /* a.b.c.d */
	uint16_t port;
	uint16_t mgmt_port;
	uint8_t flags;
};

/* Like kr_describe_resp: encode from nodes, a decoded message views node_bytes (read
 * them with kr_nodes_entry()). */
struct kr_nodes_resp {
	uint8_t n;
	const struct kr_node_info *nodes;
	const uint8_t *node_bytes;
};

struct kr_voters_change_req {
	uint8_t op; /* enum kr_voters_op */
	int32_t voter_id;
	uint8_t directory_id[KR_UUID_BYTES];
	uint32_t ip; /* host order */
	uint16_t port;
};

struct kr_node_status_req {
	uint8_t action; /* 0 status, 1 snapshot now */
};

struct kr_node_status_resp {
	int32_t node_id;
	uint16_t error;
	uint8_t flags;
	uint64_t log_start, log_end, committed, applied;
	uint64_t snapshot_end;
	uint32_t snapshot_epoch;
	uint64_t snapshot_bytes;
	uint64_t snapshots;
};

struct kr_voters_change_resp {
	uint16_t error;
	uint8_t outcome_unknown;
	int32_t leader_id;
	uint32_t epoch;
	uint64_t offset;
};

/* A FRAGMENT's header: which message, where in it */
struct kr_frag {
	uint32_t msg_id;     /* the sender's number for the message (rising) */
	uint32_t msg_len;    /* the whole message's bytes */
	uint32_t offset;     /* of this fragment's bytes in the message */
	uint32_t frag_bytes; /* of every fragment but the last */
	uint32_t epoch;	     /* the sender's epoch when it sent the message (0: a client) */
};

/** Does a fragment of data_len bytes describe itself: a message it can be part of
 * (frag_bytes < msg_len <= KR_MSG_MAX, frag_bytes >= KR_FRAG_MIN), on a fragment boundary,
 * exactly as long as that place is? */
bool kr_frag_ok(const struct kr_frag *f, uint32_t data_len);

/* FRAGMENT: its header and a view of its bytes */
struct kr_fragment {
	struct kr_frag f;
	const uint8_t *data;
	uint32_t data_len;
};

/** The fragment size to cut a message of msg_len bytes into, for datagrams of cap bytes
 * (a FRAGMENT frame's header and body, and a trailer if one is sent): a multiple of 64,
 * at least KR_FRAG_MIN, below msg_len. 0: no such size (cap too small, or a message too
 * small or too large to be cut). */
uint32_t kr_frag_size(uint32_t cap, uint32_t msg_len, bool trailer);

/* PING and PING_RESP: a view of the payload. */
struct kr_ping {
	const uint8_t *payload;
	uint32_t len;
};

/* Any body, tagged by its API key. */
struct kr_msg {
	uint8_t api;
	union {
		struct kr_vote_req vote;
		struct kr_vote_resp vote_resp;
		struct kr_begin_epoch_req begin_epoch;
		struct kr_end_epoch_req end_epoch;
		struct kr_epoch_resp epoch_resp; /* BEGIN_EPOCH_RESP, END_EPOCH_RESP */
		struct kr_fetch_req fetch;
		struct kr_fetch_resp fetch_resp;
		struct kr_append_req append;
		struct kr_append_resp append_resp;
		struct kr_read_req read;
		struct kr_read_resp read_resp;
		struct kr_describe_resp describe_resp; /* DESCRIBE_QUORUM has no body */
		struct kr_nodes_resp nodes_resp;       /* DESCRIBE_NODES has no body */
		struct kr_ping ping;		       /* PING, PING_RESP */
		struct kr_voters_change_req voters_change;
		struct kr_voters_change_resp voters_change_resp;
		struct kr_node_status_req node_status;
		struct kr_node_status_resp node_status_resp;
		struct kr_fetch_snapshot_req fetch_snapshot;
		struct kr_fetch_snapshot_resp fetch_snapshot_resp;
		struct kr_fragment fragment;
	} u;
};

/* ---- calls ---- */

/* A frame's API key, flags and correlation id, read without checking the frame: what a
 * shell looks at before the core decodes it (which API it is, whether to seal it). */
struct kr_frame_peek {
	uint8_t api;
	uint8_t flags;
	uint32_t correlation_id;
};

/** @return 0 with *out filled, or -KR_WIRE_ETRUNCATED / -KR_WIRE_EMAGIC. */
int kr_frame_peek(const uint8_t *buf, size_t len, struct kr_frame_peek *out);

/**
 * Decode and check a frame's header, length and CRC, and (when ctx is not NULL) its
 * cluster id and voter-set hash against the receiver's. The body is not decoded.
 *
 * Peer APIs must carry exactly ctx's cluster id and voter-set hash. Client APIs may
 * carry a null (all-zero) cluster id and a zero voter-set hash, as Kafka clients
 * may omit the cluster id; a non-null one must match.
 *
 * @return 0 with *out filled (views into buf), or -KR_WIRE_Exxx: the drop reason.
 */
int kr_frame_decode(const struct kr_wire_ctx *ctx, const uint8_t *buf, size_t len,
		    struct kr_frame *out);

/**
 * Decode a frame's body into m, by the frame's API key. Views in m (records) point into
 * the frame's buffer. Checks the body's length, reserved bytes, flags, counts, error
 * code and (for records) that the records tile the stated length exactly.
 *
 * @return 0, or -KR_WIRE_Exxx.
 */
int kr_msg_decode(const struct kr_frame *f, struct kr_msg *m);

/**
 * Decode a body of one expected API: -KR_WIRE_EWRONGAPI if the frame is another one.
 * Used by handlers that were dispatched on the key already, and by the fuzz targets.
 */
int kr_msg_decode_as(const struct kr_frame *f, unsigned api, struct kr_msg *m);

/**
 * Encode a whole frame: header from h (its api field is ignored: m->api is used),
 * body from m, CRC. With KR_FRAME_F_AUTH in h->flags, KR_WIRE_AUTH_BYTES of zeros are
 * reserved after the body for the caller to fill.
 *
 * @return the frame length in bytes, or -KR_WIRE_ENOSPACE if cap is too small, or
 *   -KR_WIRE_EFIELD / -KR_WIRE_EAPI / -KR_WIRE_EFLAGS if m cannot be encoded
 *   (too many successors or replicas, an unknown key or flag).
 */
int kr_frame_encode(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, const struct kr_msg *m);

/**
 * kr_frame_encode without copying a FETCH_RESP's records or a FRAGMENT's data of at least
 * min_ext bytes (the zero-copy path: they go out from where they are, after the bytes
 * written here, and the CRC covers them): *ext and *ext_len name them. Any other
 * message, a smaller payload, or a frame with KR_FRAME_F_AUTH is encoded whole (*ext_len
 * 0). cap must hold the whole frame.
 * @return the bytes written to buf (the frame but *ext_len), or kr_frame_encode's errors.
 */
int kr_frame_encode_ext(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h,
			const struct kr_msg *m, uint32_t min_ext, const uint8_t **ext,
			uint32_t *ext_len);

/** m: the FRAGMENT carrying bytes [offset, offset + frag_bytes) of msg (a whole frame of
 * msg_len bytes, encoded without a trailer), the message msg_id of its sender, sent in
 * epoch (0: a client). Encode it with kr_frame_encode and seal it as any frame. */
void kr_frag_msg(struct kr_msg *m, const uint8_t *msg, uint32_t msg_len, uint32_t frag_bytes,
		 uint32_t msg_id, uint32_t epoch, uint32_t offset);

/**
 * Encode a frame around body bytes the caller already wrote at buf + KR_WIRE_HDR_BYTES
 * (the zero-copy path, and how tests build frames with deliberately bad bodies).
 *
 * @return the frame length, or -KR_WIRE_ENOSPACE / -KR_WIRE_EOVERSIZED / -KR_WIRE_EFLAGS.
 */
int kr_frame_seal(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, uint32_t body_len);

/**
 * Entry i of a decoded DESCRIBE_QUORUM_RESP (voters first, then observers).
 * @return 0, or -KR_WIRE_EFIELD if i is out of range or m has no decoded entries.
 */
int kr_describe_replica(const struct kr_describe_resp *m, unsigned i, struct kr_replica_info *out);

/** Entry i of a decoded DESCRIBE_NODES_RESP. @return 0, or -KR_WIRE_EFIELD. */
int kr_nodes_entry(const struct kr_nodes_resp *m, unsigned i, struct kr_node_info *out);

/**
 * Check that [p, p + len) is a well-formed record section of exactly count records,
 * each a u32 length and that many bytes.
 * @return 0, or -KR_WIRE_EFIELD.
 */
int kr_records_check(const uint8_t *p, uint32_t len, uint32_t count);

#endif /* KRAFT_WIRE_H */
