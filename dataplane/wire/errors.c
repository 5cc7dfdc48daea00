/* kraftd: names and meanings of protocol error codes, from the table in errors.h. */
#include <stddef.h>

#include "kraft/errors.h"

static const struct {
	const char *name;
	const char *text;
} errors[] = {
#define KR_ERROR_ROW(n, num, t) [num] = {#n, t},
	KR_ERROR_TABLE(KR_ERROR_ROW)
#undef KR_ERROR_ROW
};

int
kr_error_known(uint16_t code)
{
	return code < sizeof(errors) / sizeof(errors[0]) && errors[code].name != NULL;
}

const char *
kr_error_name(uint16_t code)
{
	return kr_error_known(code) ? errors[code].name : "UNKNOWN_ERROR_CODE";
}

const char *
kr_error_text(uint16_t code)
{
	return kr_error_known(code) ? errors[code].text : NULL;
}
