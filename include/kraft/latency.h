/* kraftd: a latency histogram (log-linear: 32 buckets per power of two of nanoseconds,
 * exact below 64 ns, so any quantile is within 1/32 = 3.1 % above the true value), for
 * the leader's commit latency and kraftbench. Fixed size, no allocation. */
#ifndef KRAFT_LATENCY_H
#define KRAFT_LATENCY_H

#include <stdint.h>

#define KR_LAT_SUB_BITS 5 /* 2^5 = 32 buckets per power of two */
#define KR_LAT_SUB (1u << KR_LAT_SUB_BITS)
#define KR_LAT_BUCKETS ((64 - KR_LAT_SUB_BITS + 1) * KR_LAT_SUB)

struct kr_latency {
	uint64_t count;
	uint64_t max_ns;
	uint64_t min_ns;
	uint64_t bucket[KR_LAT_BUCKETS];
};

void kr_latency_add(struct kr_latency *l, uint64_t ns);
/** The upper edge of the bucket holding the sample of rank q (0 <= q <= 1), never above
 * the largest sample; 0 when empty. */
uint64_t kr_latency_quantile(const struct kr_latency *l, double q);

/** The largest value bucket b holds (ns). */
uint64_t kr_latency_bucket_top(unsigned b);

#endif /* KRAFT_LATENCY_H */
