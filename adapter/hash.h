/*
 * hash.h — the two checksums the project uses, in one place:
 * FNV-1a 64 for hash tables and the state file's record check, CRC-32
 * (IEEE 802.3, as zlib's crc32) for saved pipeline blobs. Neither is
 * cryptographic. Written here rather than taken from zlib: a dozen lines
 * against a library dependency the binary does not otherwise need.
 */
#ifndef SW_HASH_H
#define SW_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * FNV-1a, 64-bit, of n bytes at p, with offset basis 1469598103934665603:
 * a digit short of the published one (14695981039346656037). Every copy of
 * it in this tree had that basis; it hashes as well, and the state file's
 * record check is written with it, so it stays (a state file written by an
 * earlier build must still read).
 */
uint64_t sw_fnv1a64(const void *p, size_t n);

/* CRC-32 (reflected, polynomial 0xEDB88320, initial and final xor ~0) of n bytes at p. */
uint32_t sw_crc32(const void *p, size_t n);

#endif
