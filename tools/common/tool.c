/* kraftd's command-line tools: what kraftctl and kraftbench share (tool.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "tool.h"

const char *kr_tool_name = "kraftd-tool";

int64_t
kr_tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
kr_tool_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", kr_tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

struct kr_auth kr_tool_auth;

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
kr_tool_auth_load(const char *path)
{
	struct kr_auth_keys keys;
	char err[700];

	if (path == NULL)
		return;
	if (kr_auth_keys_load(path, NULL, &keys, err, sizeof(err)) != 0)
		kr_tool_die("--auth-key-file: %s", err);
	kr_auth_init(&kr_tool_auth, &keys, wall_us());
	sodium_memzero(&keys, sizeof(keys));
}

uint8_t
kr_tool_auth_flags(void)
{
	return kr_tool_auth.on ? KR_FRAME_F_AUTH : 0;
}

void
kr_tool_auth_seal(uint8_t *buf, size_t len)
{
	if (kr_tool_auth.on && kr_auth_seal_next(&kr_tool_auth, buf, len, wall_us()) != 0)
		kr_tool_die("cannot seal a request (%zu bytes)", len);
}

int
kr_tool_fragments(const uint8_t *msg, uint32_t len, uint32_t dgram, uint32_t *msg_id,
		  void (*send)(void *arg, uint8_t *frame, size_t n), void *arg)
{
	static uint8_t frame[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE, .flags = kr_tool_auth_flags()};
	struct kr_frame_peek pk;
	uint32_t fb = kr_frag_size(dgram, len, kr_tool_auth.on);
	struct kr_msg m;

	if (fb == 0 || dgram > sizeof(frame) || kr_frame_peek(msg, len, &pk) != 0)
		return -1;
	h.correlation_id = pk.correlation_id; /* each piece names the request */
	(*msg_id)++; /* a new message each time: the node keeps no part of an older one */
	for (uint32_t off = 0; off < len; off += fb) {
		int n;

		kr_frag_msg(&m, msg, len, fb, *msg_id, 0, off);
		n = kr_frame_encode(frame, dgram, &h, &m);
		if (n <= 0)
			return -1;
		send(arg, frame, (size_t)n);
	}
	return 0;
}

bool
kr_tool_auth_ok(const uint8_t *buf, size_t len, const struct kr_frame *f)
{
	uint64_t seq;
	uint32_t t;
	unsigned why;
	int64_t skew;

	if (!kr_tool_auth.on)
		return true;
	if (kr_auth_check(&kr_tool_auth.keys, buf, len, f->auth != NULL, &seq, &t, &why) != 0) {
		kr_tool_auth.drops[why]++;
		return false;
	}
	skew = (int64_t)t - wall_us() / 1000000;
	if (skew > KR_AUTH_FRESH_S || skew < -KR_AUTH_FRESH_S) {
		kr_tool_auth.drops[KR_AUTH_DROP_STALE]++;
		return false;
	}
	return true;
}
