/* kraftd: the kernel's neighbour table (/proc/net/arp), for a DPDK node over AF_XDP whose
 * kernel owns ARP on the interface, and for kraftbench. */
#include <errno.h>
#include <stdio.h>

#include "kraft/node.h"

int
kn_kernel_neighbour(uint32_t ip, uint8_t mac[6])
{
	char line[256];
	FILE *f = fopen("/proc/net/arp", "r");
	int rc = -ENOENT;

	if (f == NULL)
		return -errno;
	while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
		unsigned a[4], m[6], flags;

		if (sscanf(line, "%u.%u.%u.%u 0x%*x 0x%x %x:%x:%x:%x:%x:%x", &a[0], &a[1], &a[2],
			   &a[3], &flags, &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 11 ||
		    !(flags & 0x2) || (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) != ip)
			continue;
		for (int k = 0; k < 6; k++)
			mac[k] = (uint8_t)m[k];
		rc = 0;
	}
	fclose(f);
	return rc;
}
