/* kraftxdp: kraftd's XDP program on an interface: what is attached, its counters, the
 * ports it steers; remove a stale one; or load it without DPDK (its libbpf skeleton) to
 * see what it would steer. Run it in the interface's network namespace. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "kraft/props.h"
#include "kraft/xdp.h"
#include "kraftd_xdp.skel.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftxdp COMMAND IFACE [args]\n"
		"  show IFACE               the XDP program attached (id and name)\n"
		"  stats IFACE [--json]     kraftd's program's counters on IFACE\n"
		"  ports IFACE PORT...      steer these UDP ports to AF_XDP (kraftd does this "
		"itself)\n"
		"  detach IFACE             remove the attached XDP program (a stale one after a "
		"crash)\n"
		"  load IFACE [PORT]        attach kraftd's program without DPDK (from this "
		"binary's\n"
		"                           skeleton), steering PORT; with no AF_XDP socket its\n"
		"                           datagrams count as no_socket and go to the kernel\n"
		"Exit 0 done, 1 failed (the reason is printed), 2 bad arguments.\n");
}

static int
cmd_load(const char *ifname, int argc, char **argv)
{
	struct kraftd_xdp *skel = kraftd_xdp__open_and_load();
	char err[256];
	int ifi = (int)if_nametoindex(ifname), rc;

	if (skel == NULL) {
		fprintf(stderr, "kraftxdp: cannot load the program: %s\n", strerror(errno));
		return 1;
	}
	if (ifi == 0) {
		fprintf(stderr, "kraftxdp: no interface %s\n", ifname);
		kraftd_xdp__destroy(skel);
		return 1;
	}
	rc = bpf_xdp_attach(ifi, bpf_program__fd(skel->progs.kraftd_xdp),
			    XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (rc != 0) {
		fprintf(stderr, "kraftxdp: attach to %s: %s (kraftxdp detach %s removes one)\n",
			ifname, strerror(-rc), ifname);
		kraftd_xdp__destroy(skel);
		return 1;
	}
	kraftd_xdp__destroy(skel); /* the attachment keeps the program */
	if (argc > 0) {
		int64_t p;
		uint16_t port;

		if (kr_parse_i64(argv[0], 1, 65535, &p) != 0) {
			fprintf(stderr, "kraftxdp: '%s' is not a UDP port\n", argv[0]);
			return 2;
		}
		port = (uint16_t)p;
		if (kn_xdp_set_ports(ifname, &port, 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "kraftxdp: %s\n", err);
			return 1;
		}
	}
	printf("kraftd_xdp attached to %s\n", ifname);
	return 0;
}

int
main(int argc, char **argv)
{
	char err[256], name[16];
	uint32_t id;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "show") == 0) {
		if (kn_xdp_attached(argv[2], &id, name, err, sizeof(err)) != 0) {
			fprintf(stderr, "kraftxdp: %s\n", err);
			return 1;
		}
		if (id == 0)
			printf("%s: no XDP program\n", argv[2]);
		else
			printf("%s: XDP program %u (%s)\n", argv[2], id, name);
		return 0;
	}
	if (strcmp(argv[1], "stats") == 0) {
		uint64_t st[KN_XDP_STAT_COUNT];
		int json = argc > 3 && strcmp(argv[3], "--json") == 0;

		if (kn_xdp_stats(argv[2], st, err, sizeof(err)) != 0) {
			fprintf(stderr, "kraftxdp: %s\n", err);
			return 1;
		}
		for (unsigned i = 0; i < KN_XDP_STAT_COUNT; i++) {
			if (json)
				printf("%s\"%s\": %llu", i ? ", " : "{", kn_xdp_stat_name(i),
				       (unsigned long long)st[i]);
			else
				printf("%-10s %12llu  %s\n", kn_xdp_stat_name(i),
				       (unsigned long long)st[i], kn_xdp_stat_text(i));
		}
		if (json)
			printf("}\n");
		return 0;
	}
	if (strcmp(argv[1], "ports") == 0) {
		uint16_t ports[KN_XDP_PORTS_MAX];
		unsigned n = 0;

		for (int i = 3; i < argc && n < KN_XDP_PORTS_MAX; i++) {
			int64_t p;

			if (kr_parse_i64(argv[i], 1, 65535, &p) != 0) {
				fprintf(stderr, "kraftxdp: '%s' is not a UDP port\n", argv[i]);
				return 2;
			}
			ports[n++] = (uint16_t)p;
		}
		if (kn_xdp_set_ports(argv[2], ports, n, err, sizeof(err)) != 0) {
			fprintf(stderr, "kraftxdp: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "detach") == 0) {
		rc = kn_xdp_detach(argv[2], err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "kraftxdp: %s\n", err);
			return 1;
		}
		printf("%s: %s\n", argv[2], rc ? "XDP program removed" : "no XDP program");
		return 0;
	}
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argv[2], argc - 3, argv + 3);
	usage(stderr);
	return 2;
}
