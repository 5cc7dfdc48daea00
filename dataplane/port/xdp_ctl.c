/* kraftd: kraftd's XDP program on an interface, by libbpf (include/kraft/xdp.h). The
 * program is loaded by DPDK's AF_XDP driver, so its maps are found by id from the
 * interface: attached program -> its map ids -> the map with the wanted name. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "kraft/common.h"
#include "kraft/xdp.h"

KR_TABLE_LOOKUP(kn_xdp_stat_name, KRAFTD_XDP_STAT_TABLE, KR_X_NAME)
KR_TABLE_LOOKUP(kn_xdp_stat_text, KRAFTD_XDP_STAT_TABLE, KR_X_TEXT)

__attribute__((format(printf, 3, 4))) static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	int rc = -errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : -EINVAL;
}

static int
ifindex_of(const char *ifname, char *err, size_t errlen)
{
	int i = (int)if_nametoindex(ifname);

	if (i == 0)
		return fail(err, errlen, "no interface %s: %s", ifname, strerror(errno));
	return i;
}

int
kn_xdp_attached(const char *ifname, uint32_t *id, char name[16], char *err, size_t errlen)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	int ifi = ifindex_of(ifname, err, errlen), fd;

	*id = 0;
	name[0] = '\0';
	if (ifi < 0)
		return ifi;
	if (bpf_xdp_query_id(ifi, 0, id) != 0)
		return fail(err, errlen, "%s: cannot query its XDP program", ifname);
	if (*id == 0)
		return 0;
	fd = bpf_prog_get_fd_by_id(*id);
	if (fd < 0)
		return fail(err, errlen, "%s: XDP program %u: %s", ifname, *id, strerror(errno));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(name, 16, "%s", info.name);
	close(fd);
	return 0;
}

int
kn_xdp_detach(const char *ifname, char *err, size_t errlen)
{
	uint32_t id;
	char name[16];
	int rc = kn_xdp_attached(ifname, &id, name, err, errlen);

	if (rc != 0 || id == 0)
		return rc;
	if (bpf_xdp_detach((int)if_nametoindex(ifname), 0, NULL) != 0)
		return fail(err, errlen, "%s: cannot remove XDP program %u (%s)", ifname, id, name);
	return 1;
}

/* An fd for the map called `want` of the program attached to ifname. */
static int
find_map(const char *ifname, const char *want, char *err, size_t errlen)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info), ids[16], id;
	char name[16];
	int rc = kn_xdp_attached(ifname, &id, name, err, errlen), pfd, found = -1;

	if (rc != 0)
		return rc;
	if (id == 0) {
		errno = ENOENT;
		return fail(err, errlen, "%s: no XDP program attached", ifname);
	}
	if (strcmp(name, "kraftd_xdp") != 0) {
		errno = EPERM;
		return fail(err, errlen, "%s: the XDP program attached is %s, not kraftd's", ifname,
			    name);
	}
	pfd = bpf_prog_get_fd_by_id(id);
	if (pfd < 0)
		return fail(err, errlen, "%s: XDP program %u: %s", ifname, id, strerror(errno));
	info.nr_map_ids = 16;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(pfd, &info, &len) != 0) {
		rc = fail(err, errlen, "%s: XDP program %u: %s", ifname, id, strerror(errno));
		close(pfd);
		return rc;
	}
	close(pfd);
	for (uint32_t i = 0; i < info.nr_map_ids && i < 16 && found < 0; i++) {
		struct bpf_map_info mi = {0};
		uint32_t ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(mfd, &mi, &ml) == 0 && strcmp(mi.name, want) == 0)
			found = mfd;
		else
			close(mfd);
	}
	if (found < 0) {
		errno = ENOENT;
		return fail(err, errlen, "%s: kraftd's XDP program has no map %s", ifname, want);
	}
	return found;
}

int
kn_xdp_set_ports(const char *ifname, const uint16_t *ports, unsigned n, char *err, size_t errlen)
{
	int fd = find_map(ifname, KRAFTD_XDP_PORTS_MAP, err, errlen), rc = 0;

	if (fd < 0)
		return fd;
	for (uint32_t k = 0; k < KN_XDP_PORTS_MAX && rc == 0; k++) {
		uint32_t v =
			k < n ? htons(ports[k]) : 0; /* as the program compares: network order */

		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) != 0)
			rc = fail(err, errlen, "%s: kraftd_ports[%u]: %s", ifname, k,
				  strerror(errno));
	}
	close(fd);
	return rc;
}

int
kn_xdp_stats(const char *ifname, uint64_t out[KN_XDP_STAT_COUNT], char *err, size_t errlen)
{
	int fd = find_map(ifname, KRAFTD_XDP_STATS_MAP, err, errlen),
	    ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (fd < 0)
		return fd;
	v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*v));
	for (uint32_t k = 0; k < KN_XDP_STAT_COUNT; k++) {
		out[k] = 0;
		if (v != NULL && bpf_map_lookup_elem(fd, &k, v) == 0)
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
	}
	free(v);
	close(fd);
	return 0;
}
