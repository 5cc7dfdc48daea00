/* kraftd: the small files of a node's data directory, beside those of datadir.h:
 *
 *   <dir>/incarnation     this node's last start: one decimal number and a newline. Each
 *                         start takes max(that + 1, the wall clock in milliseconds), so
 *                         starts grow across re-formats too (the Fetch carries it).
 *   <dir>/repair-target   an unfinished repair of mid-log damage: the offset the node
 *                         must refetch up to before it votes or counts toward commit.
 *                         Written before anything discards the damaged range; removed
 *                         once the node caught up with a leader.
 *   <dir>/unsafe-admit    kraftd unsafe-admit was run (any content): the next start
 *                         votes at once, and removes it.
 * Replaced atomically (temp file, fsync, rename, fsync dir); removed durably. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "kraft/fileio.h"
#include "kraft/props.h"
#include "node_int.h"

int
kn_marker_read(const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	int64_t x;
	int len = kr_read_file(NULL, dir, name, buf, sizeof(buf) - 1);

	if (len < 0)
		return len;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	if (kr_parse_i64(buf, 0, INT64_MAX, &x) != 0)
		return -EBADMSG;
	*v = (uint64_t)x;
	return 0;
}

int
kn_marker_write(const char *dir, const char *name, uint64_t v)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);

	return kr_write_file_atomic(NULL, dir, name, buf, (size_t)len);
}

int
kn_marker_remove(const char *dir, const char *name)
{
	char p[KR_CONFIG_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (unlink(p) != 0)
		return errno == ENOENT ? 0 : -errno;
	return kr_fsync_dir(NULL, dir);
}

bool
kn_marker_exists(const char *dir, const char *name)
{
	char p[KR_CONFIG_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}
