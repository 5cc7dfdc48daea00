/* kraftd: voters and their text form. A voter is (node id, directory id) with the
 * endpoint of its dataplane, as in Kafka's KIP-853: a node whose disk was replaced comes
 * back with a new directory id and is a different replica, which cannot vote as if it
 * still held its old log.
 *
 * Text form (controller.quorum.voters, kraftd format --initial-controllers, the
 * bootstrap-voters file), entries separated by commas (spaces after a comma allowed):
 *   id@a.b.c.d:port              without a directory id (controller.quorum.voters)
 *   id@a.b.c.d:port:DIRECTORYID  with one (22 characters, kraftd random-uuid)
 * Node ids are 0 .. 2^31-1, each listed once, each with its own address; hostnames are
 * not resolved.
 */
#ifndef KRAFT_VOTERS_H
#define KRAFT_VOTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"

struct kr_endpoint {
	uint32_t ip; /* host byte order */
	uint16_t port;
};

struct kr_voter {
	int32_t id;
	uint8_t dir[KR_UUID_BYTES]; /* all zero: not known (a static voter set) */
	struct kr_endpoint ep;
};

struct kr_voter_set {
	uint8_t n;
	struct kr_voter v[KR_VOTERS_MAX];
};

/* The longest text of a set: KR_VOTERS_MAX entries of id@a.b.c.d:port:DIR and commas. */
#define KR_VOTERS_TEXT_MAX (KR_VOTERS_MAX * 56)

/** "a.b.c.d:port" into e (the whole string). @return 0 or -EINVAL. */
int kr_endpoint_parse(const char *s, struct kr_endpoint *e);
/** e as "a.b.c.d:port" (buf of at least 22 bytes). */
void kr_endpoint_format(const struct kr_endpoint *e, char *buf, size_t n);

/**
 * Parse a voter list. with_dirs: every entry must carry a directory id; otherwise none
 * may. An empty text is an empty set (the caller decides whether that is allowed).
 * @return 0, or -EINVAL with err naming the entry and the problem (what names the list
 *   in the message, e.g. "controller.quorum.voters").
 */
int kr_voters_parse(const char *text, bool with_dirs, const char *what, struct kr_voter_set *s,
		    char *err, size_t errlen);

/** The text form of s (with directory ids if with_dirs). @return its length or -ENOSPC. */
int kr_voters_format(const struct kr_voter_set *s, bool with_dirs, char *buf, size_t cap);

/** Index of node id in s, or -1. */
int kr_voters_find(const struct kr_voter_set *s, int32_t id);

/** The ids of s as "1,2,3" (for messages). */
void kr_voters_ids(const struct kr_voter_set *s, char *buf, size_t cap);

#endif /* KRAFT_VOTERS_H */
