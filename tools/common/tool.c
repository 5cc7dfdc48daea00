/* kraftd's command-line tools: what kraftctl and kraftbench share (tool.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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
