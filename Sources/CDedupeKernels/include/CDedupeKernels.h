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

#endif
