#include "CDedupeKernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>

size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space) {
    const __m128i spaceByte = _mm_set1_epi8(0x20), below = _mm_set1_epi8(0x21);
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i beforeA = _mm_set1_epi8('A' - 1), afterZ = _mm_set1_epi8('Z' + 1);
    size_t done = 0;
    unsigned previous = *space ? 1 : 0;
    while (done + 16 <= count && done + 16 <= room) {
        __m128i v = _mm_loadu_si128((const __m128i *)(src + done));
        unsigned spaces = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, spaceByte));
        // A signed compare: bytes of 0x80 and above are negative, so they are "below" too.
        __m128i stops = _mm_cmplt_epi8(v, below);
        if (json) stops = _mm_or_si128(stops, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if ((unsigned)_mm_movemask_epi8(stops) != spaces || (spaces & (spaces << 1 | previous)) != 0) break;
        if (lowercase) {
            __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, beforeA), _mm_cmplt_epi8(v, afterZ));
            v = _mm_or_si128(v, _mm_and_si128(upper, spaceByte));
        }
        _mm_storeu_si128((__m128i *)(dst + done), v);
        previous = spaces >> 15;
        done += 16;
    }
    if (done > 0) *space = (int)previous;
    return done;
}

#else

size_t lathe_collapse_words(const uint8_t *src, size_t count, uint8_t *dst, size_t room, int lowercase, int json,
                            int *space) {
    (void)src; (void)count; (void)dst; (void)room; (void)lowercase; (void)json; (void)space;
    return 0;
}

#endif
