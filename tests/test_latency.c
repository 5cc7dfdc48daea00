/* kraftd tests: the latency histogram: every quantile within one bucket (3.125 %) of
 * the exact one, every bucket's edges, and the edges of the range (empty, one sample,
 * the largest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/latency.h"

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
quantiles_are_within_one_bucket_of_the_exact_ones(void **state)
{
	static struct kr_latency l;
	static uint64_t v[100000];
	const double qs[] = {0, 0.5, 0.9, 0.99, 0.999, 1};
	uint64_t x = 88172645463325252ull;

	(void)state;
	memset(&l, 0, sizeof(l));
	for (size_t i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* spread over six decades, as real latencies are */
		v[i] = (x % 1000) * (1ull << (x >> 60) % 20) + 1;
		kr_latency_add(&l, v[i]);
	}
	qsort(v, 100000, sizeof(v[0]), cmp);
	for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t exact = v[(size_t)(99999 * qs[k])], got = kr_latency_quantile(&l, qs[k]);

		if (got < exact || (double)got > (double)exact * (1 + 1.0 / KR_LAT_SUB) + 1)
			fail_msg("q %.3f: exact %llu, histogram %llu", qs[k],
				 (unsigned long long)exact, (unsigned long long)got);
	}
	assert_int_equal(l.count, 100000);
	assert_int_equal(l.max_ns, v[99999]);
	assert_int_equal(l.min_ns, v[0]);
	assert_int_equal(kr_latency_quantile(&l, 1), v[99999]);
}

/* Each bucket holds exactly the values from the one before's top + 1 to its own top, and
 * its top is within 1/KR_LAT_SUB above its bottom. */
static void
buckets_tile_the_range(void **state)
{
	uint64_t bottom = 0;

	(void)state;
	for (unsigned b = 0; b + 1 < KR_LAT_BUCKETS; b++) {
		uint64_t top = kr_latency_bucket_top(b);
		struct kr_latency l;

		assert_true(top >= bottom);
		if ((double)top > (double)bottom * (1 + 1.0 / KR_LAT_SUB))
			fail_msg("bucket %u: [%llu, %llu] is wider than 1/%u", b,
				 (unsigned long long)bottom, (unsigned long long)top, KR_LAT_SUB);
		memset(&l, 0, sizeof(l));
		kr_latency_add(&l, bottom);
		kr_latency_add(&l, top);
		assert_int_equal(l.bucket[b], 2);
		bottom = top + 1;
	}
}

static void
empty_and_single_sample(void **state)
{
	struct kr_latency l;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(kr_latency_quantile(&l, 0.5), 0);
	kr_latency_add(&l, 12345);
	assert_int_equal(kr_latency_quantile(&l, 0), 12345);
	assert_int_equal(kr_latency_quantile(&l, 0.999), 12345);
	kr_latency_add(&l, UINT64_MAX); /* the last bucket holds anything larger */
	assert_int_equal(kr_latency_quantile(&l, 1), UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_are_within_one_bucket_of_the_exact_ones),
		cmocka_unit_test(buckets_tile_the_range),
		cmocka_unit_test(empty_and_single_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
