/* kraftd: a strict reader of Java-style properties text (key=value lines, '#' comments),
 * for the identity file, the quorum-state file and node configuration. */
#ifndef KRAFT_PROPS_H
#define KRAFT_PROPS_H

#include <stddef.h>
#include <stdint.h>

#define KR_PROPS_KEY_MAX 96
#define KR_PROPS_VALUE_MAX 1024 /* a voter list of KR_VOTERS_MAX entries with directory ids fits */

/* Called once per key=value line. Return 0 to go on, or a negative errno to stop with
 * that error (write the reason into err). */
typedef int (*kr_props_fn)(void *arg, const char *key, const char *value, unsigned line, char *err,
			   size_t errlen);

/**
 * Parse text: blank lines and lines starting with '#' are skipped; every other line must
 * be key=value with a non-empty key. No whitespace is trimmed around '=' except
 * trailing spaces, tabs and '\r'. A NUL byte, an over-long key or value, or a line
 * without '=' is an error.
 * @return 0, the callback's error, or -EINVAL with err saying which line and why.
 */
int kr_props_parse(const char *text, size_t len, kr_props_fn fn, void *arg, char *err,
		   size_t errlen);

/** Parse a whole decimal integer in [min, max]. @return 0 or -EINVAL / -ERANGE. */
int kr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif /* KRAFT_PROPS_H */
