/* kraftd: where a node configured with controller.quorum.bootstrap.servers (no static
 * voters list) finds its voters and their addresses before its cores start.
 *
 * The cores and the dataplane's address book start from cfg->voter_ids and voter_addr;
 * from then on the set in force is the log's (include/kraft/voterset.h) and addresses
 * follow its endpoints. With bootstrap servers those arrays are filled here, from the
 * first of:
 *   1. the last voters record of this directory's own log (a node that has replicated
 *      one: a restart needs no other node, so a whole cluster can restart at once);
 *   2. the directory's bootstrap voters (kraftd format --standalone / --initial-controllers);
 *   3. a DESCRIBE_NODES answer from a bootstrap server's management listener (its
 *      dataplane port + kraftd.management.port.offset): the voters that node knows. Only a
 *      directory formatted to join and still empty gets here; it asks the servers in turn,
 *      500 ms each, until one answers (a cluster may start in any order), and SIGTERM or
 *      SIGINT stop it while it waits. The answer must carry this cluster's id and, with a
 *      cluster key, pass authentication.
 * A directory formatted for a static quorum (no bootstrap voters file) has no voter set
 * but its configuration's: it is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kraft/voterset.h"
#include "node_int.h"

#define ASK_US 500000	      /* each server gets this long to answer */
#define SAY_AGAIN_US 30000000 /* while no server answers, say so this often */

static void
take(struct kr_node_config *cfg, const struct kr_voter_set *s)
{
	cfg->n_voters = s->n;
	for (int i = 0; i < s->n; i++) {
		cfg->voter_ids[i] = s->v[i].id;
		cfg->voter_addr[i] = s->v[i].ep;
	}
}

static bool
stop_asked(void)
{
	sigset_t p;

	return sigpending(&p) == 0 &&
	       (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

/* One DESCRIBE_NODES to server, answered within ASK_US: the voters it names into s.
 * @return 0, -ETIMEDOUT, or -EXDEV (it belongs to another cluster). */
static int
ask(struct kn_node *n, int fd, struct kr_auth *auth, const struct kr_endpoint *server,
    uint32_t corr, struct kr_voter_set *s)
{
	const struct kr_node_config *cfg = &n->cfg;
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port =
					 htons((uint16_t)(server->port + cfg->mgmt_port_offset)),
				 .sin_addr.s_addr = htonl(server->ip)};
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE,
				 .correlation_id = corr,
				 .flags = auth->on ? KR_FRAME_F_AUTH : 0};
	struct kr_msg m = {.api = KR_API_DESCRIBE_NODES};
	static uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
	int64_t end = kn_now_us() + ASK_US;
	int len;

	/* asked as a client asks, with no cluster id: a node of another cluster answers too,
	 * and is known by its answer */
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	if (len < 0 || (auth->on && kr_auth_seal_next(auth, buf, (size_t)len, kn_wall_us()) != 0))
		return -EINVAL;
	(void)sendto(fd, buf, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to));
	for (int64_t now = kn_now_us(); now < end; now = kn_now_us()) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct kr_frame f;
		struct kr_msg r;
		ssize_t got;

		if (poll(&p, 1, (int)((end - now + 999) / 1000)) <= 0)
			continue;
		got = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (got <= 0 || from.sin_addr.s_addr != to.sin_addr.s_addr ||
		    from.sin_port != to.sin_port ||
		    kr_frame_decode(NULL, buf, (size_t)got, &f) != 0 ||
		    f.hdr.correlation_id != corr || f.hdr.api != KR_API_DESCRIBE_NODES_RESP)
			continue;
		if (memcmp(f.hdr.cluster_id, cfg->cluster_id, KR_UUID_BYTES) != 0)
			return -EXDEV;
		if (!kr_auth_accept(auth, buf, (size_t)got, f.auth != NULL, f.hdr.sender_id,
				    (uint64_t)from.sin_addr.s_addr << 16 | from.sin_port,
				    kn_wall_us()) ||
		    kr_msg_decode(&f, &r) != 0)
			continue;
		s->n = 0;
		for (unsigned i = 0; i < r.u.nodes_resp.n && s->n < KR_VOTERS_MAX; i++) {
			struct kr_node_info ni;

			if (kr_nodes_entry(&r.u.nodes_resp, i, &ni) != 0 ||
			    !(ni.flags & KR_NODE_F_VOTER))
				continue;
			s->v[s->n].id = ni.node_id;
			s->v[s->n].ep = (struct kr_endpoint){.ip = (uint32_t)ni.ip[0] << 24 |
								   ni.ip[1] << 16 | ni.ip[2] << 8 |
								   ni.ip[3],
							     .port = ni.port};
			s->n++;
		}
		return 0;
	}
	return -ETIMEDOUT;
}

/* Ask the bootstrap servers in turn until one names the voters. */
static int
ask_servers(struct kn_node *n, const struct kr_auth_keys *keys)
{
	struct kr_node_config *cfg = &n->cfg;
	char list[KR_VOTERS_MAX * 24] = "", ep[32], text[KR_VOTERS_TEXT_MAX];
	struct kr_auth auth;
	int64_t t0 = kn_now_us(), said = 0;
	uint32_t corr = 0;
	bool foreign[KR_VOTERS_MAX] = {false};
	int fd, rc = 1;

	for (int i = 0; i < cfg->n_bootstrap_servers; i++) {
		kr_endpoint_format(&cfg->bootstrap_servers[i], ep, sizeof(ep));
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 ep);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		kn_log(n, "start", "cannot open a socket to ask the bootstrap servers: %s",
		       strerror(errno));
		return 1;
	}
	kr_auth_init(&auth, keys, kn_wall_us());
	kn_log(n, "start",
	       "this directory knows no voters yet (formatted to join): asking the bootstrap "
	       "servers %s",
	       list);
	for (;;) {
		int64_t round = kn_now_us();

		for (int i = 0; i < cfg->n_bootstrap_servers; i++) {
			struct kr_voter_set s;
			int r;

			if (stop_asked()) {
				kn_log(n, "start",
				       "stopped by a signal before any bootstrap server "
				       "answered");
				rc = -1;
				goto out;
			}
			r = ask(n, fd, &auth, &cfg->bootstrap_servers[i], ++corr, &s);
			kr_endpoint_format(&cfg->bootstrap_servers[i], ep, sizeof(ep));
			if (r == -EXDEV && !foreign[i]) {
				foreign[i] = true;
				kn_log(n, "start",
				       "bootstrap server %s answered for another cluster: it is "
				       "not "
				       "asked again",
				       ep);
			}
			if (r != 0 || foreign[i] || s.n == 0)
				continue;
			take(cfg, &s);
			kr_voters_format(&s, false, text, sizeof(text));
			kn_log(n, "start",
			       "voters from bootstrap server %s after %" PRId64 " ms: %s", ep,
			       (kn_now_us() - t0) / 1000, text);
			rc = 0;
			goto out;
		}
		if (said == 0 || kn_now_us() - said >= SAY_AGAIN_US) {
			said = kn_now_us();
			kn_log(n, "start",
			       "no bootstrap server has answered in %" PRId64
			       " s (%s; their management ports are the dataplane port + %u%s): "
			       "asking again until one does",
			       (said - t0) / 1000000, list, cfg->mgmt_port_offset,
			       auth.on ? "; they must hold this node's cluster key" : "");
		}
		if (kn_now_us() - round < ASK_US) /* answers that named no voter: not a spin */
			usleep(ASK_US);
	}
out:
	close(fd);
	return rc;
}

int
kn_learn_voters(struct kn_node *n, const struct kr_auth_keys *keys)
{
	struct kr_node_config *cfg = &n->cfg;
	static struct kr_voter_history h; /* once per process, before any thread starts */
	char text[KR_VOTERS_TEXT_MAX];
	int rc;

	if (cfg->n_voters > 0)
		return 0;
	if (!n->has_boot) {
		kn_log(n, "start",
		       "refusing to start: controller.quorum.bootstrap.servers needs a directory "
		       "whose voters live in the log (kraftd format --standalone, "
		       "--initial-controllers, or formatted to join); %s was formatted for a "
		       "static quorum: give controller.quorum.voters",
		       cfg->log_dir);
		return 1;
	}
	rc = kr_vh_load(&h, n->log, &n->boot);
	if (rc != 0) {
		kn_log(n, "start", "refusing to start: the log's voters records do not read: %s",
		       strerror(-rc));
		return 1;
	}
	if (kr_vh_latest(&h)->n == 0)
		return ask_servers(n, keys);
	take(cfg, kr_vh_latest(&h));
	kr_voters_format(kr_vh_latest(&h), false, text, sizeof(text));
	kn_log(n, "start", "voters from this directory's %s: %s",
	       kr_vh_latest_offset(&h) != KR_OFFSET_NONE ? "log" : "bootstrap voters", text);
	return 0;
}
