/* kraftd: the latency histogram (include/kraft/latency.h). */
#include "kraft/latency.h"

static unsigned
bucket_of(uint64_t ns)
{
	unsigned e, b;

	if (ns < 8)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns); /* >= 3 */
	b = e * 8 + (unsigned)((ns >> (e - 3)) & 7);
	return b < KR_LAT_BUCKETS ? b : KR_LAT_BUCKETS - 1;
}

uint64_t
kr_latency_bucket_top(unsigned b)
{
	unsigned e = b / 8;

	return e < 3 ? b : ((8ull + (b & 7) + 1) << (e - 3)) - 1;
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
