#ifndef LATHE_DEDUPE_KERNELS_H
#define LATHE_DEDUPE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// MinHash over 32-bit hash functions h_j(x) = a[j]*x + b[j] mod 2^32, where x is the high
/// 32 bits of each shingle hash: mins[j] = min over shingles of h_j(x), or UINT32_MAX when
/// there are none. `count` must be a multiple of 16 (pad a and b). Runs the widest vector
/// unit the CPU has (AVX-512, AVX2, else SSE2), chosen once when the library loads.
void lathe_minhash32(const uint64_t *shingles, size_t n, const uint32_t *a, const uint32_t *b,
                     size_t count, uint32_t *mins);

/// The bulk of whitespace collapsing: copies `src` to `dst` sixteen bytes at a time while each
/// block holds only word bytes and single spaces (no other byte below 0x21, no byte of 0x80 or
/// above, and with `json` no quote or backslash), with `lowercase` lowering A-Z, and stops at
/// the first block that holds anything else, before `count` bytes are read, or before `room`
/// are written. `*space` says whether the byte before the first was a space (or nothing was
/// written yet), since a space may not follow one; it is updated to the last byte copied.
/// Returns the bytes copied (as many read as written). Where SSE2 is missing it copies none,
/// and the caller's byte loop does all the work.
size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space);

#endif
