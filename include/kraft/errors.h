/* kraftd: protocol error codes, the one table that gives their numbers, names and meanings.
 * The numbers are kraftd's own (u16 on the wire); names and meanings follow Kafka's. */
#ifndef KRAFT_ERRORS_H
#define KRAFT_ERRORS_H

#include <stdint.h>

/* X(name, number, meaning). Numbers are wire values: never reuse or renumber one. */
#define KR_ERROR_TABLE(X)                                                                          \
	X(NONE, 0, "no error")                                                                     \
	X(UNKNOWN_SERVER_ERROR, 1, "unexpected error on the server; see its log")                  \
	X(FENCED_LEADER_EPOCH, 2, "the request's epoch is older than the receiver's")              \
	X(UNKNOWN_LEADER_EPOCH, 3, "the request's epoch is newer than the receiver's")             \
	X(NOT_LEADER_OR_FOLLOWER, 4, "the receiver is not the leader; see the leader hint")        \
	X(INCONSISTENT_CLUSTER_ID, 5, "the request names another cluster id")                      \
	X(INVALID_REQUEST, 6, "the request is malformed or its fields are inconsistent")           \
	X(OFFSET_OUT_OF_RANGE, 7, "the offset is below the log start or past the log end")         \
	X(BROKER_NOT_AVAILABLE, 8, "the receiver is shutting down")                                \
	X(INVALID_VOTER_KEY, 9, "the request was meant for another voter (id or directory)")       \
	X(REQUEST_TIMED_OUT, 10, "the request did not complete in time")                           \
	X(MESSAGE_TOO_LARGE, 11, "the records do not fit in one batch")                            \
	X(LOG_FULL, 12, "the log reached its memory or disk cap; nothing was appended")            \
	X(OUT_OF_ORDER_SEQUENCE_NUMBER, 13,                                                        \
	  "this leader has not seen the producer's previous sequence (it may be deposed); retry")  \
	X(STORAGE_ERROR, 14, "the node hit a storage failure and acknowledges nothing more")       \
	X(INCONSISTENT_VOTER_SET, 15, "the request comes from a node with another voter set")      \
	X(BUSY, 16, "too many requests wait already (appends for commit, observers); retry")       \
	X(DUPLICATE_SEQUENCE_NUMBER, 17,                                                           \
	  "a retry of an append older than the leader remembers: it was appended before")          \
	X(UNSUPPORTED_VERSION, 18, "the cluster's voter set is static (controller.quorum.voters)") \
	X(DUPLICATE_VOTER, 19, "the node id is a voter already (under some directory id)")         \
	X(VOTER_NOT_FOUND, 20, "no such voter (node id and directory id), or the last one")        \
	X(ENDPOINT_UNREACHABLE, 21,                                                                \
	  "the voter's endpoint did not answer a PING from the node that took the change")         \
	X(SNAPSHOT_NOT_FOUND, 22, "the leader holds no snapshot of that id (any more)")            \
	X(POSITION_OUT_OF_RANGE, 23, "the byte position is past the end of the snapshot")

enum kr_error {
#define KR_ERROR_ENUM(name, num, text) KR_ERR_##name = num,
	KR_ERROR_TABLE(KR_ERROR_ENUM)
#undef KR_ERROR_ENUM
};

/** The error's name, such as "FENCED_LEADER_EPOCH"; "UNKNOWN_ERROR_CODE" if not in the table. */
const char *kr_error_name(uint16_t code);

/** The error's meaning in a short sentence; NULL if the code is not in the table. */
const char *kr_error_text(uint16_t code);

/** 1 if code is in the table (decoders refuse any other value), else 0. */
int kr_error_known(uint16_t code);

#endif /* KRAFT_ERRORS_H */
