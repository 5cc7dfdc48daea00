/* kraftd: properties text: the strict reader of kraftd's own files and the reader of
 * operators' files with java.util.Properties' rules (see include/kraft/props.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* ---- java.util.Properties' rules ---- */

#define SEEN_MAX 128

struct reader {
	char *err;
	size_t errlen;
	unsigned errors;
};

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

__attribute__((format(printf, 3, 4))) static void
say(struct reader *rd, unsigned line, const char *fmt, ...)
{
	size_t used = strlen(rd->err);
	va_list ap;

	if (++rd->errors > KR_PROPS_ERRORS_MAX || used + 1 >= rd->errlen)
		return;
	used += (size_t)snprintf(rd->err + used, rd->errlen - used,
				 "%sline %u: ", rd->errors > 1 ? "\n" : "", line);
	if (used >= rd->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(rd->err + used, rd->errlen - used, fmt, ap);
	va_end(ap);
	for (char *c = rd->err + used; *c; c++) /* one line per error, whatever a key holds */
		if ((unsigned char)*c < 0x20)
			*c = '?';
}

/* Append the UTF-8 bytes of code point u to out (at *n, below cap). */
static bool
put_utf8(char *out, size_t *n, size_t cap, unsigned u)
{
	uint8_t b[3];
	size_t k;

	if (u < 0x80) {
		b[0] = (uint8_t)u;
		k = 1;
	} else if (u < 0x800) {
		b[0] = (uint8_t)(0xc0 | u >> 6);
		b[1] = (uint8_t)(0x80 | (u & 0x3f));
		k = 2;
	} else {
		b[0] = (uint8_t)(0xe0 | u >> 12);
		b[1] = (uint8_t)(0x80 | (u >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (u & 0x3f));
		k = 3;
	}
	if (*n + k > cap)
		return false;
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

/* Read one escaped element of the logical line at *p (up to end) into out: the key
 * (stops at an unescaped '=', ':' or blank) or the value (to the end). Returns 0, or a
 * reason. */
static const char *
unescape(const char **p, const char *end, bool key, char *out, size_t cap)
{
	size_t n = 0;

	while (*p < end) {
		char c = *(*p)++;
		unsigned u = 0;

		if (key && (c == '=' || c == ':' || blank(c))) {
			(*p)--;
			break;
		}
		if (c == '\\' && *p < end) {
			c = *(*p)++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, (*p)++) {
					char h = *p < end ? **p : 'x';

					if (h >= '0' && h <= '9')
						u = u * 16 + (unsigned)(h - '0');
					else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
						u = u * 16 + (unsigned)((h | 0x20) - 'a' + 10);
					else
						return "a \\u escape needs four hex digits";
				}
				if (!put_utf8(out, &n, cap, u))
					return key ? "key too long" : "value too long";
				continue;
			}
			c = c == 't'   ? '\t'
			    : c == 'n' ? '\n'
			    : c == 'r' ? '\r'
			    : c == 'f' ? '\f'
				       : c;
		}
		if (n + 1 > cap)
			return key ? "key too long" : "value too long";
		out[n++] = c;
	}
	out[n] = '\0';
	return NULL;
}

int
kr_props_read(const char *text, size_t len, kr_props_fn fn, void *arg, char *err, size_t errlen)
{
	static char logical[KR_PROPS_LINE_MAX + 1];
	char key[KR_PROPS_KEY_MAX + 1], value[KR_PROPS_VALUE_MAX + 1];
	struct {
		char key[KR_PROPS_KEY_MAX + 1];
		unsigned line;
	} seen[SEEN_MAX];
	unsigned n_seen = 0, line = 0;
	struct reader rd = {.err = err, .errlen = errlen};
	size_t pos = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		say(&rd, 1, "the file contains a NUL byte");
		return -EINVAL;
	}
	while (pos < len) {
		size_t ln = 0;
		unsigned first = 0;
		bool more = true, comment = false, too_long = false;
		const char *p, *end, *why;

		/* a logical line: natural lines joined while one ends in an odd number of
		 * backslashes; a continuation's leading blanks are dropped */
		while (more && pos < len) {
			size_t a = pos, b, slashes = 0;

			line++;
			while (pos < len && text[pos] != '\n' && text[pos] != '\r')
				pos++;
			b = pos;
			if (pos < len && text[pos] == '\r')
				pos++;
			if (pos < len && text[pos] == '\n' && (pos == b || text[pos - 1] == '\r'))
				pos++;
			while (a < b && blank(text[a]))
				a++;
			if (ln == 0) {
				first = line;
				if (a == b) /* blank */
					break;
				comment = text[a] == '#' || text[a] == '!';
				if (comment) /* never continued */
					break;
			}
			while (slashes < b - a && text[b - 1 - slashes] == '\\')
				slashes++;
			more = slashes % 2 == 1;
			if (more)
				b--;
			if (ln + (b - a) > KR_PROPS_LINE_MAX) {
				too_long = true;
				continue;
			}
			memcpy(logical + ln, text + a, b - a);
			ln += b - a;
		}
		if (too_long) {
			say(&rd, first, "line longer than %d bytes", KR_PROPS_LINE_MAX);
			continue;
		}
		if (ln == 0 || comment)
			continue;
		p = logical;
		end = logical + ln;
		why = unescape(&p, end, true, key, sizeof(key) - 1);
		if (why == NULL) {
			while (p < end && blank(*p))
				p++;
			if (p < end && (*p == '=' || *p == ':'))
				p++;
			while (p < end && blank(*p))
				p++;
			why = unescape(&p, end, false, value, sizeof(value) - 1);
		}
		if (why == NULL && key[0] == '\0')
			why = "no key before the separator";
		if (why != NULL) {
			say(&rd, first, "%s", why);
			continue;
		}
		/* trailing blanks are not part of a value (Kafka trims them too) */
		for (size_t k = strlen(value); k > 0 && blank(value[k - 1]); k--)
			value[k - 1] = '\0';
		{
			unsigned i = 0;

			while (i < n_seen && strcmp(seen[i].key, key) != 0)
				i++;
			if (i < n_seen) {
				say(&rd, first, "%s given twice (first on line %u)", key,
				    seen[i].line);
				continue;
			}
			if (n_seen < SEEN_MAX) {
				memcpy(seen[n_seen].key, key, sizeof(key));
				seen[n_seen++].line = first;
			}
		}
		{
			char why2[512] = "";

			if (fn(arg, key, value, first, why2, sizeof(why2)) != 0)
				say(&rd, first, "%s", why2);
		}
	}
	if (rd.errors > KR_PROPS_ERRORS_MAX) {
		size_t used = strlen(err);

		if (used + 1 < errlen)
			snprintf(err + used, errlen - used, "\n... and %u more",
				 rd.errors - KR_PROPS_ERRORS_MAX);
	}
	return rd.errors > 0 ? -EINVAL : 0;
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
