/* kraftd's command-line tools: what kraftctl and kraftbench share. */
#ifndef KRAFT_TOOL_H
#define KRAFT_TOOL_H

#include <stdint.h>

/* The tool's name, for its error messages (set first thing in main). */
extern const char *kr_tool_name;

/** Monotonic nanoseconds. */
int64_t kr_tool_now_ns(void);

/** "NAME: message" on stderr, then exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void kr_tool_die(const char *fmt, ...);

#endif /* KRAFT_TOOL_H */
