/* kraftd fuzz target: the quorum-state, identity and bootstrap-voters file parsers
 * (FUZZ_FILE 0, 1, 2).
 * Oracle: whatever parses, encodes to text that parses to the same values. */
#include <stdlib.h>
#include <string.h>

#include "kraft/datadir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[KR_DATADIR_FILE_MAX], err[256];
	int n;

	if (size > KR_DATADIR_FILE_MAX)
		return 0;
#if FUZZ_FILE == 0
	struct kr_quorum_state a, b;

	if (kr_quorum_state_decode((const char *)data, size, &a, err, sizeof(err)) != 0)
		return 0;
	n = kr_quorum_state_encode(&a, text, sizeof(text));
	if (n < 0 || kr_quorum_state_decode(text, (size_t)n, &b, err, sizeof(err)) != 0 ||
	    a.epoch != b.epoch || a.leader_id != b.leader_id || a.voted_id != b.voted_id ||
	    memcmp(a.voted_dir, b.voted_dir, sizeof(a.voted_dir)) != 0)
		abort();
#elif FUZZ_FILE == 2
	struct kr_voter_set a, b;

	if (kr_bootstrap_decode((const char *)data, size, &a, err, sizeof(err)) != 0)
		return 0;
	n = kr_bootstrap_encode(&a, text, sizeof(text));
	if (n < 0 || kr_bootstrap_decode(text, (size_t)n, &b, err, sizeof(err)) != 0 ||
	    a.n != b.n || memcmp(a.v, b.v, sizeof(a.v[0]) * a.n) != 0)
		abort();
#else
	struct kr_identity a, b;

	if (kr_identity_decode((const char *)data, size, &a, err, sizeof(err)) != 0)
		return 0;
	n = kr_identity_encode(&a, text, sizeof(text));
	if (n < 0 || kr_identity_decode(text, (size_t)n, &b, err, sizeof(err)) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
#endif
	return 0;
}
