/* kraftd: properties text. A strict reader for the files kraftd writes itself (identity,
 * quorum state, bootstrap voters: key=value lines, '#' comments; anything else is
 * damage), and a reader of operators' files that follows java.util.Properties. */
#ifndef KRAFT_PROPS_H
#define KRAFT_PROPS_H

#include <stddef.h>
#include <stdint.h>

#define KR_PROPS_KEY_MAX 96
#define KR_PROPS_VALUE_MAX 1024 /* a voter list of KR_VOTERS_MAX entries with directory ids fits */
#define KR_PROPS_LINE_MAX 4096	/* a logical line (continuations joined) */
#define KR_PROPS_ERRORS_MAX 20	/* errors reported one by one; more are counted */

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

/**
 * Parse an operator's properties file as java.util.Properties reads it: a key ends at
 * the first unescaped '=', ':' or blank (space, tab, form feed); blanks and then one
 * '=' or ':' and more blanks separate it from the value; lines whose first non-blank is
 * '#' or '!' are comments; a line ending in an odd number of backslashes goes on in the
 * next (whose leading blanks are dropped); escapes \t \n \r \f \uXXXX (as UTF-8) and
 * \x for any other x; \n, \r and \r\n end lines. Unlike Java, trailing blanks of a value
 * are dropped (Kafka trims values too) and a key given twice is an error, not the last
 * one winning. fn is called for every key (its err is the reason alone). Every error is
 * reported, not only the first: err gets one "line N: reason" per line (up to
 * KR_PROPS_ERRORS_MAX, then "... and K more").
 * @return 0, or -EINVAL.
 */
int kr_props_read(const char *text, size_t len, kr_props_fn fn, void *arg, char *err,
		  size_t errlen);

/** Parse a whole decimal integer in [min, max]. @return 0 or -EINVAL / -ERANGE. */
int kr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

#endif /* KRAFT_PROPS_H */
