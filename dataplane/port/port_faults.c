/* kraftd: the port fault layer of test builds (include/kraft/port_faults.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/fileio.h"
#include "kraft/port_faults.h"

#define HELD_MAX 256
#define HELD_BYTES 9216 /* larger datagrams (kernel UDP only) are never delayed */

struct held {
	int64_t due_us;
	uint64_t addr;
	uint32_t len;
	uint8_t data[HELD_BYTES];
};

struct kn_faults {
	unsigned drop, dup, delay; /* parts per million */
	unsigned delay_us;
	uint64_t rng;
	unsigned n_held;
	struct kn_fault_stats stats;
	struct held out; /* the one kn_faults_due handed out */
	struct held held[HELD_MAX];
};

struct kn_faults *
kn_faults_new(void)
{
	struct kn_faults *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->rng = 0x9E3779B97F4A7C15ull;
		f->delay_us = 1000; /* the default: no change to log at start */
	}
	return f;
}

void
kn_faults_free(struct kn_faults *f)
{
	free(f);
}

static unsigned
roll(struct kn_faults *f, unsigned n) /* 0 .. n-1, xorshift64 */
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return n ? (unsigned)(f->rng % n) : 0;
}

bool
kn_faults_reload(struct kn_faults *f, const char *dir, char *text, size_t textlen)
{
	char buf[256];
	unsigned drop = 0, dup = 0, delay = 0, delay_us = 1000;
	double pc;
	int len = kr_read_file(NULL, dir, "test-port-faults", buf, sizeof(buf) - 1);

	if (len > 0) {
		buf[len] = '\0';
		for (char *t = strtok(buf, " \t\n"); t != NULL; t = strtok(NULL, " \t\n")) {
			unsigned v;
			/* percentages, decimals allowed (a message in hundreds of fragments
			 * needs losses well below 1 %): kept in parts per million */
			unsigned ppm =
				sscanf(t, "%*[a-z_]=%lf", &pc) == 1 && pc > 0
					? (pc >= 100 ? 1000000u : (unsigned)(pc * 10000 + 0.5))
					: 0;

			if (strncmp(t, "drop=", 5) == 0)
				drop = ppm;
			else if (strncmp(t, "dup=", 4) == 0)
				dup = ppm;
			else if (strncmp(t, "delay=", 6) == 0)
				delay = ppm;
			else if (sscanf(t, "delay_us=%u", &v) == 1)
				delay_us = v > 1000000 ? 1000000 : v;
		}
	}
	if (drop == f->drop && dup == f->dup && delay == f->delay && delay_us == f->delay_us)
		return false;
	f->drop = drop;
	f->dup = dup;
	f->delay = delay;
	f->delay_us = delay_us;
	snprintf(text, textlen,
		 "drop %g %%, duplicate %g %%, delay %g %% by up to %u us (dropped %llu, "
		 "duplicated %llu, delayed %llu so far)",
		 drop / 1e4, dup / 1e4, delay / 1e4, delay_us, (unsigned long long)f->stats.dropped,
		 (unsigned long long)f->stats.duplicated, (unsigned long long)f->stats.delayed);
	return true;
}

bool
kn_faults_active(const struct kn_faults *f)
{
	return f->drop || f->dup || f->delay;
}

int
kn_faults_rx(struct kn_faults *f, const struct kn_rx *rx, int64_t now_us)
{
	if (roll(f, 1000000) < f->drop) {
		f->stats.dropped++;
		return 0;
	}
	if (roll(f, 1000000) < f->delay && rx->len <= HELD_BYTES) {
		struct held *h;

		if (f->n_held == HELD_MAX) {
			f->stats.overflow++;
			return 1;
		}
		h = &f->held[f->n_held++];
		h->due_us = now_us + roll(f, f->delay_us + 1);
		h->addr = rx->addr;
		h->len = rx->len;
		memcpy(h->data, rx->data, rx->len);
		f->stats.delayed++;
		return 0;
	}
	if (roll(f, 1000000) < f->dup) {
		f->stats.duplicated++;
		return 2;
	}
	return 1;
}

bool
kn_faults_due(struct kn_faults *f, int64_t now_us, struct kn_rx *out)
{
	for (unsigned i = 0; i < f->n_held; i++) {
		if (f->held[i].due_us > now_us)
			continue;
		f->out = f->held[i];
		f->held[i] = f->held[--f->n_held]; /* order among the held: random anyway */
		*out = (struct kn_rx){.data = f->out.data, .len = f->out.len, .addr = f->out.addr};
		return true;
	}
	return false;
}

const struct kn_fault_stats *
kn_faults_stats(const struct kn_faults *f)
{
	return &f->stats;
}
