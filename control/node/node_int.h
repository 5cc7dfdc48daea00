/* kraftd: what the control plane's node files share (control/node/): the control
 * thread's state, the management listener, the data directory's small files. Not a
 * public interface. */
#ifndef KRAFT_NODE_INT_H
#define KRAFT_NODE_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "kraft/node.h"

#define CLIENT_SLOTS 256 /* kraftctl requests in flight through the management relay */

struct client {
	struct sockaddr_in addr;
	uint32_t gen;
};

struct ctl {
	struct kn_node *n;
	struct kr_el_harness h; /* carries out the election core's actions (h.out) */
	struct client clients[CLIENT_SLOTS];
	uint32_t next_slot;
	uint32_t gen;
	int sigfd;
	int signals;
	bool shutdown_done;
	int status;
	struct kn_mgmt_msg mmsg;
	int64_t next_neighbours;
	/* the MACs handed to the dataplane, by voter address (kernel_neighbours) */
	struct {
		uint32_t ip;
		uint8_t mac[6];
	} neighbours[2 * KR_VOTERS_MAX];
	unsigned n_neighbours;
	/* role changes while no leader is found, summarized (op_transition) */
	struct {
		unsigned changes;  /* since the last leader */
		unsigned unlogged; /* of them, not logged one by one */
		int64_t since, said;
		char heard[128]; /* who answered the last (pre-)vote round */
	} quiet;
	int64_t refusal_second; /* refusal logs: at most REFUSALS_LOGGED per second */
	unsigned refusals_logged;
	uint64_t refusals_quiet;
	bool trace_votes;    /* KRAFTD_TRACE_VOTES=1: every (pre-)vote message in and out */
	struct kr_auth auth; /* the management listener's: client frames in, answers out */
	uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
};

/* ---- the management listener (mgmt.c) ---- */

/* Take kraftctl's requests: answer DESCRIBE_NODES, relay the others to the dataplane. */
void kn_mgmt_requests(struct ctl *c);
/* Send the dataplane's answers back to the clients that asked. */
void kn_mgmt_answers(struct ctl *c);

/* ---- the voters of a node with bootstrap servers (discover.c) ---- */

/* With controller.quorum.bootstrap.servers, fill n->cfg's voters and their addresses from
 * the directory (its log, its bootstrap voters) or from a bootstrap server, before the
 * cores start. Returns 0, 1 (refused, said why) or -1 (stopped by a signal). */
int kn_learn_voters(struct kn_node *n, const struct kr_auth_keys *keys);

/* ---- the control thread (control.c) ---- */

/* The harness over this thread's operations (before the core's first call). */
void kn_harness_init(struct ctl *c);
/* Carry out the election core's actions in c->h.out (a failed durable write: exit 3). */
void kn_carry_out(struct ctl *c);
/* The control thread: the loop, then the dataplane is told to flush and stop. */
void *kn_control_main(void *arg);
/* A log line naming the keys frames are sent and accepted with. */
void kn_log_keys(struct kn_node *n, const char *what, const struct kr_auth_keys *k);

#endif /* KRAFT_NODE_INT_H */
