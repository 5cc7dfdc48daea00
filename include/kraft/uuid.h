/* kraftd: 128-bit ids (cluster id, directory id) and their text form, as Kafka prints a
 * Uuid: 22 characters of URL-safe base64 without padding. */
#ifndef KRAFT_UUID_H
#define KRAFT_UUID_H

#include <stdint.h>

#include "kraft/common.h"

/** Write id's text form and a NUL into out (KR_UUID_TEXT_LEN + 1 bytes). */
void kr_uuid_format(const uint8_t id[KR_UUID_BYTES], char out[KR_UUID_TEXT_LEN + 1]);

/**
 * Parse a 22-character text form (whole string). The all-zero id is refused, as Kafka
 * refuses it for cluster and directory ids.
 * @return 0, or -EINVAL (wrong length, a character outside the alphabet, non-zero
 *   padding bits, or the all-zero id).
 */
int kr_uuid_parse(const char *text, uint8_t id[KR_UUID_BYTES]);

/** Fill id from the kernel's random source; never all zero. @return 0 or -errno. */
int kr_uuid_random(uint8_t id[KR_UUID_BYTES]);

#endif /* KRAFT_UUID_H */
