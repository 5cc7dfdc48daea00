/* kraftd: strict properties-text reader (see include/kraft/props.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/props.h"

int
kr_props_parse(const char *text, size_t len, kr_props_fn fn, void *arg, char *err, size_t errlen)
{
	char key[KR_PROPS_KEY_MAX + 1], value[KR_PROPS_VALUE_MAX + 1];
	size_t pos = 0;
	unsigned line = 0;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "contains a NUL byte");
		return -EINVAL;
	}
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		const char *eq;
		size_t klen, vlen;
		int rc;

		pos += n + (nl ? 1 : 0);
		line++;
		while (n > 0 &&
		       (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r'))
			n--;
		if (n == 0 || start[0] == '#')
			continue;
		eq = memchr(start, '=', n);
		if (eq == NULL || eq == start) {
			snprintf(err, errlen, "line %u: expected key=value", line);
			return -EINVAL;
		}
		klen = (size_t)(eq - start);
		vlen = n - klen - 1;
		if (klen > KR_PROPS_KEY_MAX || vlen > KR_PROPS_VALUE_MAX) {
			snprintf(err, errlen, "line %u: key or value too long", line);
			return -EINVAL;
		}
		memcpy(key, start, klen);
		key[klen] = '\0';
		memcpy(value, eq + 1, vlen);
		value[vlen] = '\0';
		rc = fn(arg, key, value, line, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
kr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] == '\0' || s[0] == ' ' || s[0] == '+' || s[0] == '\t')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
