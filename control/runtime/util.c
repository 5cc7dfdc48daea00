/* kraftd: what the node's three threads share: clocks, log lines, rings, wakeups. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "kraft/node.h"

int64_t
kn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
kn_now_us(void)
{
	return kn_now_ns() / 1000;
}

int64_t
kn_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
kn_log(struct kn_node *n, const char *plane, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	int64_t w = kn_wall_us();
	time_t secs = (time_t)(w / 1000000);
	size_t k;
	va_list ap;

	gmtime_r(&secs, &tm);
	k = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	k += (size_t)snprintf(line + k, sizeof(line) - k,
			      ".%06lldZ node=%d epoch=%u role=%s leader=%d %s: ",
			      (long long)(w % 1000000), n->cfg.node_id, atomic_load(&n->log_epoch),
			      kr_role_name((unsigned)atomic_load(&n->log_role)),
			      atomic_load(&n->log_leader), plane);
	if (k < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + k, sizeof(line) - k, fmt, ap);
		va_end(ap);
	}
	k = strnlen(line, sizeof(line) - 2);
	line[k++] = '\n';
	/* one write per line: lines of the three threads never interleave */
	if (write(STDERR_FILENO, line, k) < 0) {
		/* nowhere left to say it */
	}
}

struct rte_ring *
kn_ring_new(const char *name, unsigned esize, unsigned count)
{
	ssize_t sz = rte_ring_get_memsize_elem(esize, count);
	void *mem;

	if (sz < 0)
		return NULL;
	mem = aligned_alloc(RTE_CACHE_LINE_SIZE, ((size_t)sz + RTE_CACHE_LINE_SIZE - 1) &
							 ~(size_t)(RTE_CACHE_LINE_SIZE - 1));
	if (mem == NULL)
		return NULL;
	memset(mem, 0, (size_t)sz);
	if (rte_ring_init(mem, name, count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
		free(mem);
		return NULL;
	}
	return mem;
}

void
kn_ring_push(struct rte_ring *r, const void *elem, unsigned esize, uint64_t *full)
{
	bool counted = false;

	while (rte_ring_sp_enqueue_elem(r, (void *)(uintptr_t)elem, esize) != 0) {
		if (!counted)
			(*full)++;
		counted = true;
		sched_yield();
	}
}

bool
kn_ring_try_push(struct rte_ring *r, const void *elem, unsigned esize, uint64_t *full)
{
	if (rte_ring_sp_enqueue_elem(r, (void *)(uintptr_t)elem, esize) == 0)
		return true;
	(*full)++;
	return false;
}

void
kn_wake_always(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only when its counter is full: it is awake anyway */
	}
}

bool
kn_ring_pending(const struct rte_ring *r)
{
	return __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
}

unsigned
kn_ring_free(const struct rte_ring *r)
{
	uint32_t prod = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
	uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
	uint32_t used = (prod - cons) & r->mask;

	return used >= r->capacity ? 0 : r->capacity - used;
}

void
kn_wake(int fd, atomic_bool *sleeping)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(sleeping))
		kn_wake_always(fd);
}
