/* kraftd tests: sample records, batches and messages with a distinct value in every field,
 * shared by the unit tests and the fuzz seed-corpus generator (no cmocka here). */
#ifndef KRAFT_SAMPLES_H
#define KRAFT_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "kraft/wire.h"

/* Every API key, in table order, and how many there are. */
extern const unsigned smp_apis[];
extern const size_t smp_api_count;

/* The cluster identity the samples are encoded for. */
extern const struct kr_wire_ctx smp_ctx;

/* count records of value_len bytes (value i filled with fill + i). @return length, 0 if
 * it does not fit. */
uint32_t smp_records(uint8_t *buf, size_t cap, uint32_t count, uint32_t value_len, uint8_t fill);

/* One batch at base in epoch. @return its length, 0 on error. */
uint32_t smp_batch(uint8_t *buf, size_t cap, uint64_t base, uint32_t epoch, uint32_t count,
		   uint32_t value_len);

/* A header addressed as smp_ctx, from node 3, correlation 0xdeadbeef. */
void smp_hdr(struct kr_frame_hdr *h);

/* A message of api with distinct field values; records point into static buffers. */
void smp_msg(unsigned api, struct kr_msg *m);

/* smp_msg encoded as a frame. @return its length (negative on error). */
int smp_frame(unsigned api, uint8_t *buf, size_t cap, struct kr_msg *m);

#endif
