/* kraftd's command-line tools: what kraftctl and kraftbench share. */
#ifndef KRAFT_TOOL_H
#define KRAFT_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/auth.h"
#include "kraft/wire.h"

/* The tool's name, for its error messages (set first thing in main). */
extern const char *kr_tool_name;

/** Monotonic nanoseconds. */
int64_t kr_tool_now_ns(void);

/** "NAME: message" on stderr, then exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void kr_tool_die(const char *fmt, ...);

/* Authentication (--auth-key-file): the client's keys and sequence, and how many answers
 * failed the check. kr_tool_auth.on is false without a key. */
extern struct kr_auth kr_tool_auth;

/** Load the key file (dies with the reason if it is unusable); NULL: stay off. */
void kr_tool_auth_load(const char *path);

/** Header flags for requests (KR_FRAME_F_AUTH with a key). */
uint8_t kr_tool_auth_flags(void);

/** Seal an encoded request again before each send (a new sequence each time). */
void kr_tool_auth_seal(uint8_t *buf, size_t len);

/**
 * Is an answer (decoded header f of buf) authentic? With a key: a good MAC with one of the
 * keys and a fresh send time (answers are matched to requests by correlation id, so no
 * replay window). Failures are counted in kr_tool_auth.drops.
 */
bool kr_tool_auth_ok(const uint8_t *buf, size_t len, const struct kr_frame *f);

/**
 * A request larger than a datagram: msg (a whole frame of len bytes, encoded without a
 * trailer) cut into FRAGMENT frames for datagrams of dgram bytes, a new message *msg_id
 * (bumped), each frame handed to send (which seals it, with a key, and sends it).
 * @return 0, or -1 if it cannot be cut (too large, or datagrams too small).
 */
int kr_tool_fragments(const uint8_t *msg, uint32_t len, uint32_t dgram, uint32_t *msg_id,
		      void (*send)(void *arg, uint8_t *frame, size_t n), void *arg);

#endif /* KRAFT_TOOL_H */
