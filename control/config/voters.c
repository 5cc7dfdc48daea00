/* kraftd: voter lists in text (include/kraft/voters.h): the one parser behind
 * controller.quorum.voters, kraftd format --initial-controllers and the bootstrap-voters
 * file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kraft/props.h"
#include "kraft/uuid.h"
#include "kraft/voters.h"

int
kr_endpoint_parse(const char *s, struct kr_endpoint *e)
{
	unsigned a[4];
	int64_t port;
	int n = 0;
	const char *colon = strrchr(s, ':');
	char host[16];

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (sscanf(host, "%3u.%3u.%3u.%3u%n", &a[0], &a[1], &a[2], &a[3], &n) != 4 ||
	    host[n] != '\0' || a[0] > 255 || a[1] > 255 || a[2] > 255 || a[3] > 255)
		return -EINVAL;
	for (const char *p = host; *p; p++)
		if (*p != '.' && (*p < '0' || *p > '9'))
			return -EINVAL;
	if (kr_parse_i64(colon + 1, 1, 65535, &port) != 0)
		return -EINVAL;
	e->ip = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	e->port = (uint16_t)port;
	return 0;
}

void
kr_endpoint_format(const struct kr_endpoint *e, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u:%u", e->ip >> 24, (e->ip >> 16) & 255, (e->ip >> 8) & 255,
		 e->ip & 255, e->port);
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* One entry, id@a.b.c.d:port[:DIR], into v. */
static int
parse_entry(char *item, bool with_dirs, const char *what, struct kr_voter *v, char *err,
	    size_t errlen)
{
	char *at = strchr(item, '@'), *dir = NULL;
	int64_t id;

	if (at == NULL)
		return fail(err, errlen, "%s: entry '%s' is not id@a.b.c.d:port%s", what, item,
			    with_dirs ? ":DIRECTORYID" : "");
	*at = '\0';
	if (kr_parse_i64(item, 0, INT32_MAX, &id) != 0)
		return fail(err, errlen, "%s: '%s' is not a node id (0..%d)", what, item,
			    INT32_MAX);
	if (with_dirs) {
		/* a.b.c.d:port:DIR: the directory id follows the second colon */
		char *c1 = strchr(at + 1, ':');

		dir = c1 ? strchr(c1 + 1, ':') : NULL;
		if (dir == NULL)
			return fail(err, errlen,
				    "%s: voter %s: '%s' has no directory id (id@a.b.c.d:port:"
				    "DIRECTORYID; kraftd random-uuid makes one)",
				    what, item, at + 1);
		*dir++ = '\0';
		if (kr_uuid_parse(dir, v->dir) != 0)
			return fail(err, errlen,
				    "%s: voter %s: directory id '%s' is not a 22-character id",
				    what, item, dir);
	} else {
		memset(v->dir, 0, KR_UUID_BYTES);
	}
	if (kr_endpoint_parse(at + 1, &v->ep) != 0) {
		const char *c1 = strchr(at + 1, ':');
		bool extra = !with_dirs && c1 != NULL && strchr(c1 + 1, ':') != NULL;

		return fail(err, errlen,
			    "%s: voter %s: '%s' is not an IPv4 address and port (a.b.c.d:port; "
			    "hostnames are not resolved)%s",
			    what, item, at + 1,
			    extra ? "; directory ids go to kraftd format --initial-controllers"
				  : "");
	}
	v->id = (int32_t)id;
	return 0;
}

int
kr_voters_parse(const char *text, bool with_dirs, const char *what, struct kr_voter_set *s,
		char *err, size_t errlen)
{
	const char *p = text;

	s->n = 0;
	while (*p) {
		char item[96];
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct kr_voter *v = &s->v[s->n];
		int rc;

		if (n == 0 || n >= sizeof(item))
			return fail(err, errlen, "%s: entry '%.*s' is empty or too long", what,
				    (int)n, p);
		if (s->n == KR_VOTERS_MAX)
			return fail(err, errlen, "%s: more than %d voters", what, KR_VOTERS_MAX);
		memcpy(item, p, n);
		item[n] = '\0';
		for (size_t k = n; k > 0 && (item[k - 1] == ' ' || item[k - 1] == '\t'); k--)
			item[k - 1] = '\0'; /* "1@a:9093 , 2@b:9093" */
		memset(v, 0, sizeof(*v));   /* padding too: voters compare byte for byte */
		rc = parse_entry(item, with_dirs, what, v, err, errlen);
		if (rc != 0)
			return rc;
		for (unsigned i = 0; i < s->n; i++) {
			char a[32];

			if (s->v[i].id == v->id)
				return fail(err, errlen, "%s: voter %d is listed twice", what,
					    v->id);
			kr_endpoint_format(&v->ep, a, sizeof(a));
			if (s->v[i].ep.ip == v->ep.ip && s->v[i].ep.port == v->ep.port)
				return fail(err, errlen, "%s: voters %d and %d share address %s",
					    what, s->v[i].id, v->id, a);
			if (with_dirs && memcmp(s->v[i].dir, v->dir, KR_UUID_BYTES) == 0)
				return fail(err, errlen,
					    "%s: voters %d and %d share a directory id (each "
					    "directory has its own)",
					    what, s->v[i].id, v->id);
		}
		s->n++;
		p += n;
		if (*p == ',') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0')
				return fail(err, errlen, "%s: trailing comma", what);
		}
	}
	return 0;
}

int
kr_voters_format(const struct kr_voter_set *s, bool with_dirs, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		char ep[32], dir[KR_UUID_TEXT_LEN + 1] = "";
		int n;

		kr_endpoint_format(&s->v[i].ep, ep, sizeof(ep));
		if (with_dirs)
			kr_uuid_format(s->v[i].dir, dir);
		n = snprintf(buf + k, cap - k, "%s%d@%s%s%s", i ? "," : "", s->v[i].id, ep,
			     with_dirs ? ":" : "", dir);
		if (n < 0 || (size_t)n >= cap - k)
			return -ENOSPC;
		k += (size_t)n;
	}
	return (int)k;
}

int
kr_voters_find(const struct kr_voter_set *s, int32_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return i;
	return -1;
}

void
kr_voters_ids(const struct kr_voter_set *s, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < s->n && k < cap; i++) {
		int n = snprintf(buf + k, cap - k, "%s%d", i ? "," : "", s->v[i].id);

		if (n < 0)
			return;
		k += (size_t)n;
	}
}
