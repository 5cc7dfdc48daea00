/* kraftd fuzz target: an operator's configuration file, read with java.util.Properties'
 * rules and checked key by key (kr_config_parse), then finished (kr_config_finish).
 * Oracle: no crash or overrun (ASan); a refusal always says why, every reason naming
 * its line ("line N: ..."), and a file that is accepted, read again, gives the same
 * configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kr_node_config a, b;
	char err[4096];

	kr_config_defaults(&a);
	if (kr_config_parse(&a, (const char *)data, size, err, sizeof(err)) != 0) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		for (const char *nl = strchr(err, '\n'); nl != NULL; nl = strchr(nl + 1, '\n'))
			if (strncmp(nl + 1, "line ", 5) != 0 && strncmp(nl + 1, "... and ", 8) != 0)
				abort();
		return 0;
	}
	kr_config_defaults(&b);
	if (kr_config_parse(&b, (const char *)data, size, err, sizeof(err)) != 0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (kr_config_finish(&a, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();
	return 0;
}
