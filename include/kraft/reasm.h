/* kraftd: messages larger than one datagram, sent as fragments and put back together
 * (issue 23, "Messages as large as Kafka's"). A message is a whole frame as
 * include/kraft/wire.h lays it out (header, body, trailer) of up to KR_MSG_MAX bytes; a
 * sender whose port cannot carry it in one datagram cuts it into fragments of frag_bytes
 * each (the last one shorter or equal) and sends each in a FRAGMENT frame of its own,
 * which names the message (the sender's msg_id), its length, the fragment's offset in it,
 * frag_bytes, and the sender's epoch. The receiver keeps the fragments here until the
 * message is whole, then decodes it as if it had come in one datagram (every check of a
 * frame applies to it then; each fragment's own frame was checked on arrival).
 *
 * Bounded and pure: the slots and their buffers are given at init (no allocation after
 * it), times are given (no clock), nothing is sent. What it refuses and drops is counted
 * by reason. A lost fragment leaves its message incomplete until it expires: the sender's
 * retry sends the whole message again under a new msg_id; nothing of a message is ever
 * handed on before all of it came.
 *
 * The rules, in the order they are checked:
 *   - a fragment must describe itself consistently: KR_FRAG_MIN <= frag_bytes < msg_len
 *     <= the slot size (a message that fits one fragment is sent whole), offset a multiple
 *     of frag_bytes below msg_len, and exactly min(frag_bytes, msg_len - offset) bytes;
 *   - a message is (sender, msg_id): a fragment naming another msg_len, frag_bytes or
 *     epoch than the first one of its message is refused (CONFLICT); one already held,
 *     or of one of the last KR_REASM_RECENT messages made whole, is a duplicate (counted,
 *     dropped: a late copy takes no slot);
 *   - a new message from a sender holding per_sender incomplete ones replaces its oldest
 *     (lowest msg_id, as the sender numbers them) if the new one is newer, else it is
 *     refused (STALE); a new message in a newer epoch than the sender's incomplete ones
 *     replaces them (their epoch is over);
 *   - a new message needs a free slot; if none is free, the slot least recently added to
 *     is taken if nothing came for it within quiet_us, else the fragment is refused (FULL):
 *     a flood of new messages cannot push out one that is arriving;
 *   - a slot nothing came for within timeout_us is given up (kr_reasm_expire; EXPIRED).
 */
#ifndef KRAFT_REASM_H
#define KRAFT_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "kraft/wire.h" /* struct kr_frag, KR_MSG_MAX, KR_FRAG_MIN */

enum kr_reasm_result {
	KR_REASM_HELD = 0, /* kept; the message is not whole yet */
	KR_REASM_DONE = 1, /* the message is whole: *msg, *msg_len; kr_reasm_release after */
	/* dropped, counted in stats.drops[]: */
	KR_REASM_BAD = -1,	/* the fragment does not describe itself consistently */
	KR_REASM_DUP = -2,	/* a fragment already held */
	KR_REASM_CONFLICT = -3, /* another msg_len, frag_bytes or epoch for its message */
	KR_REASM_STALE = -4,	/* older than the sender's incomplete messages, which fill
				 * its share, or of an older epoch than theirs */
	KR_REASM_FULL = -5,	/* no slot free, each one added to within quiet_us */
};
#define KR_REASM_DROP_KINDS 5

struct kr_reasm_stats {
	uint64_t done;			     /* messages made whole */
	uint64_t drops[KR_REASM_DROP_KINDS]; /* by -result - 1 */
	uint64_t replaced;		     /* incomplete ones given up for a newer one */
	uint64_t expired;		     /* incomplete ones nothing came for in time */
	uint64_t taken;			     /* quiet incomplete ones whose slot went to another */
};

enum kr_reasm_state { KR_REASM_FREE, KR_REASM_FILLING, KR_REASM_WHOLE };

struct kr_reasm_slot {
	uint64_t sender;  /* the caller's name for the sender (an address, a node id) */
	struct kr_frag f; /* msg_id, msg_len, frag_bytes and epoch of the message */
	uint32_t have;	  /* bytes held */
	int64_t last_us;  /* when a fragment was last added */
	uint8_t state;	  /* enum kr_reasm_state */
	uint8_t *buf;	  /* slot_bytes */
	uint64_t held[(KR_FRAGS_MAX + 63) / 64]; /* fragments held, by index */
};

#define KR_REASM_RECENT 64 /* messages made whole that late copies are recognised of */

struct kr_reasm {
	struct kr_reasm_slot *slots;
	uint32_t n_slots;
	uint32_t slot_bytes; /* the largest message it takes (<= KR_MSG_MAX) */
	uint32_t per_sender; /* incomplete messages one sender may have */
	int64_t quiet_us;    /* a slot quiet this long may be taken for another message */
	int64_t timeout_us;  /* a slot quiet this long is given up */
	struct kr_reasm_stats stats;
	struct {
		uint64_t sender;
		uint32_t msg_id;
		bool used;
	} recent[KR_REASM_RECENT]; /* the last messages made whole, a ring */
	uint32_t recent_next;
};

/** n slots of slot_bytes each (<= KR_MSG_MAX), in slots and mem (n * slot_bytes bytes),
 * both the caller's. @return 0, or -EINVAL for sizes or limits out of range. */
int kr_reasm_init(struct kr_reasm *r, struct kr_reasm_slot *slots, uint8_t *mem, uint32_t n,
		  uint32_t slot_bytes, uint32_t per_sender, int64_t quiet_us, int64_t timeout_us);

/** One fragment (its header f, its bytes data/len) from sender at now_us. On DONE, *msg
 * and *msg_len are the whole message, which stays in its slot until kr_reasm_release;
 * *slot names it. */
enum kr_reasm_result kr_reasm_put(struct kr_reasm *r, uint64_t sender, const struct kr_frag *f,
				  const uint8_t *data, uint32_t len, int64_t now_us,
				  const uint8_t **msg, uint32_t *msg_len, uint32_t *slot);

/** The whole message in slot has been read: the slot is free again. */
void kr_reasm_release(struct kr_reasm *r, uint32_t slot);

/** Give up incomplete messages nothing came for within timeout_us. @return how many. */
uint32_t kr_reasm_expire(struct kr_reasm *r, int64_t now_us);

/** When kr_reasm_expire will next give one up (INT64_MAX: nothing incomplete). */
int64_t kr_reasm_next_expiry(const struct kr_reasm *r);

/** Incomplete messages held now (telemetry, tests). */
uint32_t kr_reasm_filling(const struct kr_reasm *r);

/** A drop reason's name ("BAD", "DUP", ...). */
const char *kr_reasm_drop_name(enum kr_reasm_result res);

#endif
