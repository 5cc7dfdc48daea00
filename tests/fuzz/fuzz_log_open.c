/* kraftd fuzz target: log recovery through the files. The input becomes segment files in
 * a private directory; the log is opened, read end to end, closed and opened again.
 * Input: byte 0 selects the layout (bit 0: the input carries its own segment header;
 * bit 1: the bytes after the first half go into a second segment), the rest is content.
 * Oracles: opening never fails; every batch read back checks out and the offsets run
 * from the log start to its end; after a torn tail was cut the next open is clean; mid-log
 * damage is reported again, identically, until something changes the log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kraft/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static void
write_file(uint64_t base, const uint8_t *hdr, const uint8_t *body, size_t len)
{
	char path[320];
	int fd;

	snprintf(path, sizeof(path), "%s/%020llu.log", dir, (unsigned long long)base);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (hdr && write(fd, hdr, KR_SEGMENT_HDR_BYTES) != KR_SEGMENT_HDR_BYTES) ||
	    (len && write(fd, body, len) != (ssize_t)len))
		abort();
	close(fd);
}

static void
clear_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) != 0)
			abort();
	closedir(d);
}

static void
remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

static void
read_back(const struct kr_log *log)
{
	struct kr_log_span sp;
	uint64_t next = kr_log_start(log);

	for (;;) {
		if (kr_log_read(log, next, KR_OFFSET_NONE, 1u << 20, &sp) != 0)
			abort();
		if (sp.len == 0)
			break;
		for (uint32_t pos = 0; pos < sp.len;) {
			struct kr_batch_hdr h;

			if (kr_batch_check(sp.data + pos, sp.len - pos, &h) != 0 ||
			    h.base_offset != next)
				abort();
			next += h.record_count;
			pos += h.length;
		}
	}
	if (next != kr_log_end(log))
		abort();
}

static void
open_check(struct kr_log_report *rep)
{
	struct kr_log_config c = {
		.dir = dir,
		.durability = KR_LOG_DISK,
		.segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
		.memory_bytes_max = 1ull << 30,
	};
	struct kr_log *log;
	char err[256];

	if (kr_log_open(&c, &log, rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "open: %s\n", err);
		abort();
	}
	read_back(log);
	kr_log_close(log);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kr_log_report r1, r2;
	uint8_t h[KR_SEGMENT_HDR_BYTES];

	if (size < 1 || size > 4 * KR_BATCH_BYTES_MAX)
		return 0;
	if (dir[0] == '\0') {
		/* tmpfs when there is one: the log fsyncs, and disks make that slow */
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
				   : getenv("TMPDIR")		 ? getenv("TMPDIR")
								 : "/tmp";

		snprintf(dir, sizeof(dir), "%s/kraft-fuzz-log-XXXXXX", base);
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(remove_dir);
	}
	clear_dir();

	uint8_t mode = data[0];
	const uint8_t *body = data + 1;
	size_t len = size - 1, first = (mode & 2) ? len / 2 : len;

	if (mode & 1) {
		write_file(0, NULL, body, first);
	} else {
		kr_log_segment_header(h, 0, 0, 0);
		write_file(0, h, body, first);
	}
	if (mode & 2) {
		struct kr_scan_result r;
		const uint8_t *b0 = (mode & 1) ? body + KR_SEGMENT_HDR_BYTES : body;
		size_t l0 =
			(mode & 1)
				? (first > KR_SEGMENT_HDR_BYTES ? first - KR_SEGMENT_HDR_BYTES : 0)
				: first;

		kr_log_scan(b0, l0, 0, 0, NULL, NULL, &r);
		kr_log_segment_header(h, r.end_offset, 0, 0);
		write_file(r.end_offset, h, body + first, len - first);
	}
	open_check(&r1);
	open_check(&r2);
	if (r1.outcome == KR_LOG_MID_CORRUPT) {
		if (r2.outcome != KR_LOG_MID_CORRUPT ||
		    r2.damage_start_offset != r1.damage_start_offset ||
		    r2.damage_end_offset != r1.damage_end_offset ||
		    r2.last_valid_end_offset != r1.last_valid_end_offset)
			abort();
	} else if (r2.outcome != KR_LOG_CLEAN) {
		abort();
	}
	return 0;
}
