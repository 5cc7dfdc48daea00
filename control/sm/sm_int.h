/* kraftd: what the state machines (control/sm/) share inside the folder. */
#ifndef KRAFT_SM_INT_H
#define KRAFT_SM_INT_H

#include <stdint.h>

/* A 64-bit mixing step (splitmix64's finalizer): every input bit moves every output bit.
 * The digests fold records with it; kv also hashes keys with it. */
static inline uint64_t
sm_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

#endif /* KRAFT_SM_INT_H */
