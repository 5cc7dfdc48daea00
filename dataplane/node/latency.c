/* kraftd: the latency histogram (include/kraft/latency.h). */
#include "kraft/latency.h"

/* Values below 2 * KR_LAT_SUB have a bucket each; above, the power of two of the value
 * picks a group of KR_LAT_SUB buckets and its next KR_LAT_SUB_BITS bits the bucket. */
static unsigned
bucket_of(uint64_t ns)
{
	unsigned e, b;

	if (ns < KR_LAT_SUB)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns); /* >= KR_LAT_SUB_BITS */
	b = (e - KR_LAT_SUB_BITS + 1) * KR_LAT_SUB +
	    (unsigned)((ns >> (e - KR_LAT_SUB_BITS)) & (KR_LAT_SUB - 1));
	return b < KR_LAT_BUCKETS ? b : KR_LAT_BUCKETS - 1;
}

uint64_t
kr_latency_bucket_top(unsigned b)
{
	unsigned shift;

	if (b < 2 * KR_LAT_SUB)
		return b;
	shift = b / KR_LAT_SUB - 1; /* the group's power of two, less KR_LAT_SUB_BITS */
	if (b == KR_LAT_BUCKETS - 1)
		return UINT64_MAX;
	return ((uint64_t)(KR_LAT_SUB + (b & (KR_LAT_SUB - 1)) + 1) << shift) - 1;
}

void
kr_latency_add(struct kr_latency *l, uint64_t ns)
{
	l->bucket[bucket_of(ns)]++;
	if (l->count == 0 || ns < l->min_ns)
		l->min_ns = ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
	l->count++;
}

uint64_t
kr_latency_quantile(const struct kr_latency *l, double q)
{
	uint64_t want, seen = 0;

	if (l->count == 0)
		return 0;
	want = (uint64_t)((double)(l->count - 1) * q);
	for (unsigned b = 0; b < KR_LAT_BUCKETS; b++) {
		seen += l->bucket[b];
		if (seen > want) {
			uint64_t hi = kr_latency_bucket_top(b);

			return hi < l->max_ns ? hi : l->max_ns;
		}
	}
	return l->max_ns;
}
