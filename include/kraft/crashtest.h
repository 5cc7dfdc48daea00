/* kraftd test builds: a crash that loses what was not flushed. kill -9 keeps the page
 * cache, so what a process wrote survives it even unflushed; a test build records, after
 * every successful flush, each segment file's length, and a start with --test-crash-cut
 * cuts every segment back to it (--test-crash-torn keeps a random part of the unflushed
 * tail: a torn write).
 *
 * <data dir>/crash-test-flushed: one line per segment file, "<file name> <length>\n",
 * then zeros to 16 KiB, rewritten in place after each flush (so that a full disk cannot
 * leave it stale: the next start would cut flushed bytes). A start with the option writes it at once (so a
 * crash-test directory always has one); a start without it removes it (its lengths are
 * stale from then on), and a start with the option that finds segments but no record
 * refuses to cut them.
 */
#ifndef KRAFT_CRASHTEST_H
#define KRAFT_CRASHTEST_H

#include <stdbool.h>

#define KR_CRASH_FILE "crash-test-flushed"

/** Record the lengths of log_dir's segment files in data_dir. @return 0 or -errno. */
int kr_crash_record(const char *data_dir, const char *log_dir);

/**
 * Cut log_dir's segment files back to the lengths recorded in data_dir (torn: keep a
 * random part of each unflushed tail); say() gets a line for each file touched.
 * @return 0, -ESTALE (segments but no record: refused, and said why) or -errno.
 */
int kr_crash_cut(const char *data_dir, const char *log_dir, bool torn,
		 void (*say)(void *arg, const char *line), void *arg);

#endif /* KRAFT_CRASHTEST_H */
