#include "CDedupeKernels.h"

typedef uint32_t lanes16 __attribute__((vector_size(64)));

// One clone per instruction set; the loader's ifunc resolver picks the best for this CPU, so
// the same binary runs everywhere and uses AVX-512 where it exists. A block of 16 functions
// stays in registers while every shingle of the document streams past it.
__attribute__((target_clones("avx512f", "avx2", "default")))
void lathe_minhash32(const uint64_t *shingles, size_t n, const uint32_t *a, const uint32_t *b,
                     size_t count, uint32_t *mins) {
    for (size_t j = 0; j < count; j += 16) {
        lanes16 va, vb, m;
        __builtin_memcpy(&va, a + j, sizeof va);
        __builtin_memcpy(&vb, b + j, sizeof vb);
        m = (lanes16){0} - 1;
        for (size_t i = 0; i < n; i++) {
            uint32_t x = (uint32_t)(shingles[i] >> 32);
            lanes16 h = va * x + vb;
            m = __builtin_elementwise_min(h, m);
        }
        __builtin_memcpy(mins + j, &m, sizeof m);
    }
}
