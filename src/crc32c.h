/*
 * crc32c — CRC-32C (Castagnoli), the checksum that guards body-cache files
 * against damage (ext4 and btrfs use it for the same job). It must cost
 * little next to reading the file: on x86-64 with SSE4.2 it runs on the
 * CPU's crc32 instruction (several GB/s), elsewhere on a table.
 * Pure code, no I/O, thread-safe.
 */
#ifndef IMAPFS_CRC32C_H
#define IMAPFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue CRC (0 to start) over LEN bytes of DATA. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
