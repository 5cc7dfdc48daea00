/* kraftd: CRC32C (Castagnoli), the checksum of frames, record batches and state files. */
#ifndef KRAFT_CRC32C_H
#define KRAFT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/**
 * Extend a CRC32C over len bytes of buf.
 *
 * Start with crc = 0; to checksum a message in pieces, pass the previous result back:
 * kr_crc32c(kr_crc32c(0, a, na), b, nb) == kr_crc32c(0, a||b, na + nb).
 * Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise.
 *
 * @return the CRC32C of everything fed so far.
 */
uint32_t kr_crc32c(uint32_t crc, const void *buf, size_t len);

/** The table implementation, exposed so tests can check it against the hardware one. */
uint32_t kr_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/** 1 if kr_crc32c() uses the CPU instruction, 0 if it uses the table. */
int kr_crc32c_hw_available(void);

#endif /* KRAFT_CRC32C_H */
