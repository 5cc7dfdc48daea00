/* kraftd test builds: a crash that loses what was not flushed (include/kraft/crashtest.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kraft/crashtest.h"
#include "kraft/fileio.h"

/* The record is rewritten in place, at its full size every time, never by a new file:
 * once it exists, recording needs no free space. A disk filled up by the log (the
 * chaos harness's ENOSPC fault) must not leave the record stale, lower than what was
 * really flushed: the next start would then cut flushed bytes, a loss of synced data
 * outside kraftd's fault budget that the node reports as mid-log corruption. */
#define RECORD_BYTES 16384

int
kr_crash_record(const char *data_dir, const char *log_dir)
{
	char text[RECORD_BYTES] = {0}, path[PATH_MAX + 64];
	size_t k = 0;
	int fd, rc;
	ssize_t w;
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(log_dir);

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL && k + 64 < sizeof(text)) {
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", log_dir, e->d_name);
		if (stat(path, &st) == 0)
			k += (size_t)snprintf(text + k, sizeof(text) - k, "%s %lld\n", e->d_name,
					      (long long)st.st_size);
	}
	closedir(d);
	snprintf(path, sizeof(path), "%s/%s", data_dir, KR_CRASH_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	/* the unused rest is zeros: a reader stops at the first */
	w = pwrite(fd, text, sizeof(text), 0);
	rc = w == (ssize_t)sizeof(text) ? 0 : w < 0 ? -errno : -EIO;
	close(fd);
	return rc;
}

int
kr_crash_cut(const char *data_dir, const char *log_dir, bool torn,
	     void (*say)(void *arg, const char *line), void *arg)
{
	char text[RECORD_BYTES + 1], path[PATH_MAX + 64], line_text[PATH_MAX + 200];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int len = kr_read_file(NULL, data_dir, KR_CRASH_FILE, text, sizeof(text) - 1);

	if (len == -ENOENT) {
		/* no record of flushed lengths: a directory last run without the option (its
		 * segments were flushed, but nobody wrote down how far). Cutting by an empty
		 * record would delete them all: refuse */
		d = opendir(log_dir);
		while (d != NULL && (e = readdir(d)) != NULL) {
			size_t nl = strlen(e->d_name);

			if (nl >= 5 && strcmp(e->d_name + nl - 4, ".log") == 0) {
				closedir(d);
				snprintf(line_text, sizeof(line_text),
					 "crash test: %s/%s is missing: the directory was last run "
					 "without --test-crash-cut, so how far its segments were "
					 "flushed is unknown; refusing to cut them",
					 data_dir, KR_CRASH_FILE);
				say(arg, line_text);
				return -ESTALE;
			}
		}
		if (d != NULL)
			closedir(d);
		len = 0;
	}
	if (len < 0)
		return len;
	text[len] = '\0';
	d = opendir(log_dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		char *line;
		long long keep = -1;

		if (nl < 5 || strcmp(e->d_name + nl - 4, ".log") != 0)
			continue;
		for (line = text; line != NULL && *line;
		     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
			if (strncmp(line, e->d_name, nl) == 0 && line[nl] == ' ')
				keep = atoll(line + nl + 1);
		snprintf(path, sizeof(path), "%s/%s", log_dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (keep < 0) {
			snprintf(line_text, sizeof(line_text),
				 "crash test: %s was never flushed: removed", e->d_name);
			say(arg, line_text);
			unlink(path);
		} else if (st.st_size > keep) {
			long long to = keep;
			uint32_t r;

			/* torn: a random part of what was written but never flushed survives */
			if (torn && getrandom(&r, sizeof(r), 0) == sizeof(r))
				to = keep + (long long)(r % (uint32_t)(st.st_size - keep));
			snprintf(line_text, sizeof(line_text),
				 "crash test: %s cut from %lld to %lld bytes (flushed: %lld)%s",
				 e->d_name, (long long)st.st_size, to, keep,
				 to > keep ? ", a torn tail left" : "");
			say(arg, line_text);
			if (truncate(path, to) != 0)
				return -errno;
		}
	}
	closedir(d);
	return 0;
}
