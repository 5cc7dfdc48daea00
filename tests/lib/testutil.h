/* kraftd tests: temporary directories, file surgery (cut, flip), and batch builders. */
#ifndef KRAFT_TESTUTIL_H
#define KRAFT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Make a fresh empty directory under $TMPDIR (or /tmp); returns a static-lifetime copy
 * the caller frees with tu_rmtree_free(). Fails the test on error. */
char *tu_mkdtemp(void);
/* Remove the tree at path and free path. */
void tu_rmtree_free(char *path);

/* dir/name helpers; all fail the test on error. */
size_t tu_file_size(const char *dir, const char *name);
void tu_file_cut(const char *dir, const char *name, size_t len);
void tu_file_flip(const char *dir, const char *name, size_t pos, uint8_t mask);
void tu_file_write(const char *dir, const char *name, const void *buf, size_t len);
size_t tu_file_read(const char *dir, const char *name, void *buf, size_t cap);
int tu_file_exists(const char *dir, const char *name);

/* Build a batch of count records of value_len bytes each (values derived from base and
 * the record index) into buf; returns its length. Fails the test on error. */
uint32_t tu_batch(uint8_t *buf, size_t cap, uint64_t base, uint32_t epoch, uint32_t count,
		  uint32_t value_len);

/* Build a record section of count records (value i = fill byte + i) into buf; returns its
 * length. */
uint32_t tu_records(uint8_t *buf, size_t cap, uint32_t count, uint32_t value_len, uint8_t fill);

#endif
